//! INQUIRY and VPD pages (SPC-4), REPORT LUNS, READ BLOCK LIMITS and
//! REPORT DENSITY SUPPORT (SSC-4).

use tapelib_scsi::transport::{Completion, DataPhase};

use super::{data_in, Personality, SimDrive};
use crate::media::{can_read, can_write, LtoGeneration, MediaKind};
use crate::sense::{invalid_cdb_field, key, SenseBuilder};

/// Maximum block length the drive accepts (8 MiB, as LTO drives report).
pub const MAX_BLOCK_LENGTH: u32 = 0x80_0000;

fn padded(s: &str, len: usize) -> Vec<u8> {
    let mut v: Vec<u8> = s
        .bytes()
        .filter(|b| (0x20..0x7f).contains(b))
        .take(len)
        .collect();
    v.resize(len, b' ');
    v
}

/// Vendor identification (8 bytes) of the drive.
pub fn vendor(drive: &SimDrive) -> Vec<u8> {
    let default = match drive.spec.personality {
        Personality::Ibm => "IBM",
        Personality::Hp => "HP",
    };
    padded(drive.spec.vendor.as_deref().unwrap_or(default), 8)
}

/// Product identification (16 bytes) of the drive.
pub fn product(drive: &SimDrive) -> Vec<u8> {
    let n = drive.spec.generation.number();
    let default = match drive.spec.personality {
        Personality::Ibm => format!("ULT3580-TD{n}"),
        Personality::Hp => format!("Ultrium {n}-SCSI"),
    };
    padded(drive.spec.product.as_deref().unwrap_or(&default), 16)
}

fn revision(drive: &SimDrive) -> Vec<u8> {
    padded(&format!("S{}01", drive.spec.generation.number()), 4)
}

/// NAA 5 (IEEE registered) identifier from the vendor's OUI and the serial (SPC-4 7.8.6.6.4).
fn naa_identifier(drive: &SimDrive) -> [u8; 8] {
    let oui: u64 = match drive.spec.personality {
        Personality::Ibm => 0x00_50_76,
        Personality::Hp => 0x00_14_38,
    };
    let vs = u64::from(crc32fast::hash(drive.spec.serial.as_bytes())) & 0xF_FFFF_FFFF;
    ((5u64 << 60) | (oui << 36) | vs).to_be_bytes()
}

pub(crate) fn inquiry(drive: &mut SimDrive, cdb: &[u8], data: DataPhase<'_>) -> Completion {
    let alloc = usize::from(u16::from_be_bytes([cdb[3], cdb[4]]));
    let evpd = cdb[1] & 0x01 != 0;
    let page = cdb[2];
    let bytes = if !evpd {
        if page != 0 {
            return invalid_cdb_field(2, None, data.len());
        }
        let mut b = vec![0u8; 56];
        b[0] = 0x01; // peripheral qualifier 0, sequential-access device
        b[1] = 0x80; // RMB
        b[2] = 0x06; // SPC-4
        b[3] = 0x12; // HISUP, response data format 2
        b[4] = (b.len() - 5) as u8;
        b[7] = 0x02; // CMDQUE
        b[8..16].copy_from_slice(&vendor(drive));
        b[16..32].copy_from_slice(&product(drive));
        b[32..36].copy_from_slice(&revision(drive));
        b
    } else {
        match page {
            0x00 => vec![0x01, 0x00, 0x00, 3, 0x00, 0x80, 0x83],
            0x80 => {
                let serial = padded(&drive.spec.serial, drive.spec.serial.len().clamp(1, 250));
                let mut b = vec![0x01, 0x80, 0x00, serial.len() as u8];
                b.extend_from_slice(&serial);
                b
            }
            0x83 => {
                let mut b = vec![0x01, 0x83, 0, 0];
                // T10 vendor ID designator: code set ASCII, association LU, type 1.
                let mut t10 = vendor(drive);
                t10.extend_from_slice(&product(drive));
                t10.extend_from_slice(drive.spec.serial.as_bytes());
                t10.truncate(250);
                b.extend_from_slice(&[0x02, 0x01, 0x00, t10.len() as u8]);
                b.extend_from_slice(&t10);
                // NAA designator: code set binary, association LU, type 3.
                b.extend_from_slice(&[0x01, 0x03, 0x00, 0x08]);
                b.extend_from_slice(&naa_identifier(drive));
                let len = (b.len() - 4) as u16;
                b[2..4].copy_from_slice(&len.to_be_bytes());
                b
            }
            _ => return invalid_cdb_field(2, None, data.len()),
        }
    };
    data_in(data, &bytes, alloc)
}

pub(crate) fn report_luns(cdb: &[u8], data: DataPhase<'_>) -> Completion {
    let alloc = u32::from_be_bytes([cdb[6], cdb[7], cdb[8], cdb[9]]) as usize;
    if cdb[2] > 0x02 {
        return invalid_cdb_field(2, None, data.len());
    }
    let mut b = vec![0u8; 16];
    b[3] = 8; // one LUN: LUN 0
    data_in(data, &b, alloc)
}

pub(crate) fn read_block_limits(cdb: &[u8], data: DataPhase<'_>) -> Completion {
    if cdb[1] & 0x01 != 0 {
        // MLOI: the maximum logical object identifier (SSC-4, READ BLOCK LIMITS).
        let mut b = vec![0u8; 20];
        b[12..20].copy_from_slice(&u64::from(u32::MAX).to_be_bytes());
        return data_in(data, &b, 20);
    }
    let mut b = vec![0u8; 6];
    b[1..4].copy_from_slice(&MAX_BLOCK_LENGTH.to_be_bytes()[1..]);
    b[4..6].copy_from_slice(&1u16.to_be_bytes());
    data_in(data, &b, 6)
}

struct DensityInfo {
    bits_per_mm: u32,
    tracks: u16,
    name: &'static str,
}

fn density_info(kind: MediaKind) -> DensityInfo {
    let (bits_per_mm, tracks, name) = match kind {
        MediaKind::Data { m8: true, .. } => (19107, 5376, "U-732"),
        MediaKind::Data { generation, .. } => match generation {
            LtoGeneration::Lto5 => (15142, 1280, "U-516"),
            LtoGeneration::Lto6 => (15142, 2176, "U-616"),
            LtoGeneration::Lto7 => (19107, 3584, "U-716"),
            LtoGeneration::Lto8 => (20668, 6656, "U-816"),
            LtoGeneration::Lto9 => (21850, 8960, "U-916"),
        },
        MediaKind::Cleaning => (0, 0, "CLEANING"),
    };
    DensityInfo {
        bits_per_mm,
        tracks,
        name,
    }
}

fn density_descriptor(drive: &SimDrive, kind: MediaKind) -> Vec<u8> {
    let info = density_info(kind);
    let gen = drive.spec.generation;
    let mut d = vec![0u8; 52];
    d[0] = kind.density_code();
    d[1] = kind.density_code();
    let own = kind.generation() == Some(gen) && !matches!(kind, MediaKind::Data { m8: true, .. });
    d[2] = if can_write(gen, kind) { 0x80 } else { 0 } | if own { 0x20 } else { 0 };
    d[5..8].copy_from_slice(&info.bits_per_mm.to_be_bytes()[1..]);
    d[8..10].copy_from_slice(&127u16.to_be_bytes()); // 12.7 mm
    d[10..12].copy_from_slice(&info.tracks.to_be_bytes());
    let mb = (kind.native_capacity_bytes() / 1_000_000).min(u64::from(u32::MAX)) as u32;
    d[12..16].copy_from_slice(&mb.to_be_bytes());
    d[16..24].copy_from_slice(&padded("LTO-CVE", 8));
    d[24..32].copy_from_slice(&padded(info.name, 8));
    d[32..52].copy_from_slice(&padded(&format!("LTO-{}", gen_label(kind)), 20));
    d
}

fn gen_label(kind: MediaKind) -> String {
    match kind {
        MediaKind::Data { m8: true, .. } => "7 M8".into(),
        MediaKind::Data { generation, .. } => generation.number().to_string(),
        MediaKind::Cleaning => "CLN".into(),
    }
}

pub(crate) fn report_density_support(
    drive: &mut SimDrive,
    cdb: &[u8],
    data: DataPhase<'_>,
) -> Completion {
    let alloc = usize::from(u16::from_be_bytes([cdb[7], cdb[8]]));
    let offered = data.len();
    if cdb[1] & 0x02 != 0 {
        return medium_type_support(drive, cdb[1] & 0x01 != 0, alloc, data);
    }
    let kinds: Vec<MediaKind> = if cdb[1] & 0x01 != 0 {
        if let Err(c) = drive.check_ready(offered) {
            return c;
        }
        match drive.cart.as_ref() {
            Some(c) => vec![c.kind()],
            None => return SenseBuilder::new(key::NOT_READY, 0x3A, 0).check(offered),
        }
    } else {
        let mut v = readable_kinds(drive.spec.generation);
        v.sort_by_key(|k| std::cmp::Reverse(k.density_code()));
        v
    };
    let mut b = vec![0u8; 4];
    for k in kinds {
        b.extend_from_slice(&density_descriptor(drive, k));
    }
    let len = (b.len() - 2) as u16;
    b[0..2].copy_from_slice(&len.to_be_bytes());
    data_in(data, &b, alloc)
}

/// Data media kinds a drive of `gen` reads, in no particular order.
fn readable_kinds(gen: LtoGeneration) -> Vec<MediaKind> {
    let m8 = MediaKind::Data {
        generation: LtoGeneration::Lto7,
        m8: true,
    };
    LtoGeneration::ALL
        .into_iter()
        .map(MediaKind::data)
        .chain(std::iter::once(m8))
        .filter(|k| can_read(gen, *k))
        .collect()
}

/// Medium type descriptors (SSC-4 REPORT DENSITY SUPPORT with MEDIUM TYPE = 1): one per
/// medium type the drive accepts, in ascending order of the MEDIUM TYPE value, which is the
/// one MODE SENSE reports in its header (00h data, 01h cleaning). With MEDIA = 1 only the
/// loaded medium's type is reported, with the density the medium is recorded in.
fn medium_type_support(
    drive: &mut SimDrive,
    media: bool,
    alloc: usize,
    data: DataPhase<'_>,
) -> Completion {
    let offered = data.len();
    let gen = drive.spec.generation;
    let data_type = MediaKind::data(gen).medium_type_code();
    let cleaning_type = MediaKind::Cleaning.medium_type_code();
    let mut descriptors: Vec<(u8, Vec<u8>, u16, &str)> = Vec::new();
    if media {
        if let Err(c) = drive.check_ready(offered) {
            return c;
        }
        let Some(kind) = drive.cart.as_ref().map(|c| c.kind()) else {
            return SenseBuilder::new(key::NOT_READY, 0x3A, 0).check(offered);
        };
        let length = kind.generation().unwrap_or(gen).tape_length_m() as u16;
        descriptors.push((
            kind.medium_type_code(),
            vec![kind.density_code()],
            length,
            "data",
        ));
    } else {
        let mut codes: Vec<u8> = readable_kinds(gen)
            .iter()
            .map(|k| k.density_code())
            .collect();
        codes.sort_unstable();
        codes.dedup();
        descriptors.push((data_type, codes, gen.tape_length_m() as u16, "data"));
        // Cleaning media are accepted (and ejected after cleaning): no density applies.
        descriptors.push((cleaning_type, Vec::new(), 0, "cleaning"));
        descriptors.sort_by_key(|d| d.0);
    }
    let mut b = vec![0u8; 4];
    for (medium_type, codes, length, what) in descriptors {
        let mut d = vec![0u8; 56];
        d[0] = medium_type;
        d[2..4].copy_from_slice(&52u16.to_be_bytes());
        // At most nine primary density codes, ascending; unused bytes stay zero.
        let n = codes.len().min(9);
        d[4] = n as u8;
        d[5..5 + n].copy_from_slice(&codes[..n]);
        d[14..16].copy_from_slice(&127u16.to_be_bytes()); // 12.7 mm, in tenths of mm
        d[16..18].copy_from_slice(&length.to_be_bytes());
        d[20..28].copy_from_slice(&padded("LTO-CVE", 8));
        d[28..36].copy_from_slice(&padded(&format!("LTO-{}", gen.number()), 8));
        d[36..56].copy_from_slice(&padded(&format!("Ultrium {what}"), 20));
        b.extend_from_slice(&d);
    }
    let len = (b.len() - 2) as u16;
    b[0..2].copy_from_slice(&len.to_be_bytes());
    data_in(data, &b, alloc)
}
