//! SSC-4 command descriptor blocks (SSC-4 clause 6 and 7; opcodes in SSC-4 table 9).

pub const REWIND: u8 = 0x01;
pub const FORMAT_MEDIUM: u8 = 0x04;
pub const READ_BLOCK_LIMITS: u8 = 0x05;
pub const READ_6: u8 = 0x08;
pub const WRITE_6: u8 = 0x0a;
pub const SET_CAPACITY: u8 = 0x0b;
pub const WRITE_FILEMARKS_6: u8 = 0x10;
pub const SPACE_6: u8 = 0x11;
pub const ERASE_6: u8 = 0x19;
pub const LOAD_UNLOAD: u8 = 0x1b;
pub const LOCATE_10: u8 = 0x2b;
pub const READ_POSITION: u8 = 0x34;
pub const REPORT_DENSITY_SUPPORT: u8 = 0x44;
pub const ALLOW_OVERWRITE: u8 = 0x82;
pub const SPACE_16: u8 = 0x91;
pub const LOCATE_16: u8 = 0x92;

fn be24(v: u32) -> [u8; 3] {
    let b = v.to_be_bytes();
    [b[1], b[2], b[3]]
}

/// Options of LOAD UNLOAD (SSC-4 7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoadUnload {
    pub load: bool,
    /// Keep the medium in the drive without threading (load) / unthread but keep (unload).
    pub hold: bool,
    /// Unload: position at end of tape first (not used by LTO).
    pub eot: bool,
    pub immed: bool,
}

pub fn load_unload(o: LoadUnload) -> [u8; 6] {
    let b4 = (u8::from(o.hold) << 3) | (u8::from(o.eot) << 2) | u8::from(o.load);
    [LOAD_UNLOAD, u8::from(o.immed), 0, 0, b4, 0]
}

/// REWIND (SSC-4 7.6).
pub fn rewind(immed: bool) -> [u8; 6] {
    [REWIND, u8::from(immed), 0, 0, 0, 0]
}

/// READ(6) (SSC-4 6.4). Fixed mode: `length` counts blocks; variable: bytes. SILI suppresses
/// the ILI CHECK CONDITION for short records (variable mode only).
pub fn read_6(fixed: bool, sili: bool, length: u32) -> [u8; 6] {
    let l = be24(length);
    [
        READ_6,
        (u8::from(sili) << 1) | u8::from(fixed),
        l[0],
        l[1],
        l[2],
        0,
    ]
}

/// WRITE(6) (SSC-4 6.9).
pub fn write_6(fixed: bool, length: u32) -> [u8; 6] {
    let l = be24(length);
    [WRITE_6, u8::from(fixed), l[0], l[1], l[2], 0]
}

/// WRITE FILEMARKS(6) (SSC-4 6.10). `immed` returns before the filemarks are on the medium
/// (no buffer flush); a count of 0 with `immed = false` flushes the buffer.
pub fn write_filemarks_6(count: u32, immed: bool) -> [u8; 6] {
    let c = be24(count);
    [WRITE_FILEMARKS_6, u8::from(immed), c[0], c[1], c[2], 0]
}

/// SPACE code (SSC-4 table 41).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpaceCode {
    Blocks = 0,
    Filemarks = 1,
    SequentialFilemarks = 2,
    EndOfData = 3,
}

/// SPACE(6) (SSC-4 6.8); negative counts move backwards (24-bit two's complement). Counts
/// outside ±2^23 are clamped: use SPACE(16) for those.
pub fn space_6(code: SpaceCode, count: i32) -> [u8; 6] {
    let c = count.clamp(-(1 << 23), (1 << 23) - 1);
    let c = be24(c as u32);
    [SPACE_6, code as u8, c[0], c[1], c[2], 0]
}

/// SPACE(16) (SSC-4 6.9).
pub fn space_16(code: SpaceCode, count: i64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[0] = SPACE_16;
    b[1] = code as u8;
    b[4..12].copy_from_slice(&count.to_be_bytes());
    b
}

/// LOCATE(10) (SSC-4 7.4): to logical block `block`, changing to `partition` when given.
pub fn locate_10(block: u32, partition: Option<u8>, immed: bool) -> [u8; 10] {
    let a = block.to_be_bytes();
    [
        LOCATE_10,
        (u8::from(partition.is_some()) << 1) | u8::from(immed),
        0,
        a[0],
        a[1],
        a[2],
        a[3],
        0,
        partition.unwrap_or(0),
        0,
    ]
}

/// Destination type of LOCATE(16) (SSC-4 table 38).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LocateDestination {
    LogicalObject = 0,
    LogicalFile = 1,
    EndOfData = 3,
}

/// LOCATE(16) (SSC-4 7.5).
pub fn locate_16(
    dest: LocateDestination,
    identifier: u64,
    partition: Option<u8>,
    immed: bool,
) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[0] = LOCATE_16;
    b[1] = ((dest as u8) << 3) | (u8::from(partition.is_some()) << 1) | u8::from(immed);
    b[3] = partition.unwrap_or(0);
    b[4..12].copy_from_slice(&identifier.to_be_bytes());
    b
}

/// ERASE(6) (SSC-4 6.3): `long` erases to the end of the partition (hours on LTO).
pub fn erase_6(long: bool, immed: bool) -> [u8; 6] {
    [ERASE_6, (u8::from(immed) << 1) | u8::from(long), 0, 0, 0, 0]
}

/// FORMAT field of FORMAT MEDIUM (SSC-4 table 17).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FormatField {
    /// Default format: one partition.
    Default = 0,
    /// Partition per the medium partition mode page.
    Partition = 1,
    /// Default format, then partition.
    DefaultThenPartition = 2,
}

/// FORMAT MEDIUM (SSC-4 6.2), without a parameter list.
pub fn format_medium(format: FormatField, verify: bool, immed: bool) -> [u8; 6] {
    [
        FORMAT_MEDIUM,
        (u8::from(verify) << 1) | u8::from(immed),
        format as u8,
        0,
        0,
        0,
    ]
}

/// ALLOW OVERWRITE field (SSC-4 table 36).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AllowOverwrite {
    Disabled = 0,
    CurrentPosition = 1,
    Format = 2,
}

/// ALLOW OVERWRITE (SSC-4 7.1): needed before overwriting with append-only mode on.
pub fn allow_overwrite(mode: AllowOverwrite, partition: u8, logical_object: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[0] = ALLOW_OVERWRITE;
    b[2] = mode as u8;
    b[3] = partition;
    b[4..12].copy_from_slice(&logical_object.to_be_bytes());
    b
}

/// SET CAPACITY (SSC-4 6.7): `proportion` of the native capacity in 1/65535 units.
pub fn set_capacity(proportion: u16, immed: bool) -> [u8; 6] {
    let p = proportion.to_be_bytes();
    [SET_CAPACITY, u8::from(immed), 0, p[0], p[1], 0]
}

/// READ BLOCK LIMITS (SSC-4 7.7).
pub fn read_block_limits() -> [u8; 6] {
    [READ_BLOCK_LIMITS, 0, 0, 0, 0, 0]
}

/// REPORT DENSITY SUPPORT (SSC-4 7.8): `media` restricts to the loaded medium,
/// `medium_type` asks for medium type descriptors instead of density descriptors.
pub fn report_density_support(media: bool, medium_type: bool, alloc: u16) -> [u8; 10] {
    let a = alloc.to_be_bytes();
    [
        REPORT_DENSITY_SUPPORT,
        (u8::from(medium_type) << 1) | u8::from(media),
        0,
        0,
        0,
        0,
        0,
        a[0],
        a[1],
        0,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn motion_cdbs() {
        let l = LoadUnload {
            load: true,
            immed: true,
            ..Default::default()
        };
        assert_eq!(load_unload(l), [0x1b, 1, 0, 0, 1, 0]);
        let u = LoadUnload {
            hold: true,
            eot: true,
            ..Default::default()
        };
        assert_eq!(load_unload(u), [0x1b, 0, 0, 0, 0x0c, 0]);
        assert_eq!(rewind(true), [0x01, 1, 0, 0, 0, 0]);
        assert_eq!(erase_6(true, false), [0x19, 1, 0, 0, 0, 0]);
        assert_eq!(erase_6(false, true), [0x19, 2, 0, 0, 0, 0]);
    }

    #[test]
    fn read_write_cdbs() {
        assert_eq!(read_6(false, true, 0x40000), [0x08, 2, 0x04, 0, 0, 0]);
        assert_eq!(read_6(true, false, 3), [0x08, 1, 0, 0, 3, 0]);
        assert_eq!(write_6(false, 524288), [0x0a, 0, 0x08, 0, 0, 0]);
        assert_eq!(write_filemarks_6(1, true), [0x10, 1, 0, 0, 1, 0]);
    }

    #[test]
    fn space_cdbs() {
        assert_eq!(
            space_6(SpaceCode::Filemarks, -1),
            [0x11, 1, 0xff, 0xff, 0xff, 0]
        );
        assert_eq!(space_6(SpaceCode::Blocks, 5), [0x11, 0, 0, 0, 5, 0]);
        assert_eq!(space_6(SpaceCode::EndOfData, 0), [0x11, 3, 0, 0, 0, 0]);
        assert_eq!(
            space_6(SpaceCode::Blocks, i32::MIN),
            [0x11, 0, 0x80, 0, 0, 0]
        );
        let s = space_16(SpaceCode::Filemarks, -2);
        assert_eq!(s[1], 1);
        assert_eq!(&s[4..12], &(-2i64).to_be_bytes());
        assert_eq!(&s[12..], &[0, 0, 0, 0]);
    }

    #[test]
    fn locate_cdbs() {
        assert_eq!(
            locate_10(0x01020304, Some(1), false),
            [0x2b, 0x02, 0, 1, 2, 3, 4, 0, 1, 0]
        );
        let l = locate_16(LocateDestination::LogicalObject, 5, Some(1), true);
        assert_eq!(&l[..4], &[0x92, 0x03, 0, 1]);
        assert_eq!(&l[4..12], &5u64.to_be_bytes());
        let e = locate_16(LocateDestination::EndOfData, 0, None, false);
        assert_eq!(e[1], 0x18);
    }

    #[test]
    fn other_cdbs() {
        assert_eq!(
            format_medium(FormatField::Partition, false, true),
            [0x04, 1, 1, 0, 0, 0]
        );
        let a = allow_overwrite(AllowOverwrite::CurrentPosition, 1, 99);
        assert_eq!(&a[..4], &[0x82, 0, 1, 1]);
        assert_eq!(&a[4..12], &99u64.to_be_bytes());
        assert_eq!(set_capacity(0x8000, false), [0x0b, 0, 0, 0x80, 0, 0]);
        assert_eq!(
            report_density_support(true, false, 0x2000),
            [0x44, 1, 0, 0, 0, 0, 0, 0x20, 0, 0]
        );
        assert_eq!(read_block_limits(), [5, 0, 0, 0, 0, 0]);
    }
}
