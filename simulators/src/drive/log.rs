//! LOG SENSE (SPC-4): supported pages 0x00, device status 0x11, TapeAlert response 0x12,
//! volume statistics 0x17, TapeAlert 0x2E and tape capacity 0x31.

use tapelib_scsi::transport::{Completion, DataPhase};

use super::{data_in, MediumState, SimDrive};
use crate::sense::invalid_cdb_field;

const SUPPORTED: [u8; 6] = [0x00, 0x11, 0x12, 0x17, 0x2E, 0x31];

/// One log parameter: code, control byte, value.
struct Param {
    code: u16,
    control: u8,
    value: Vec<u8>,
}

fn param(code: u16, value: Vec<u8>) -> Param {
    // Control byte: binary format and linking (LBIN/FORMAT AND LINKING = 11b).
    Param {
        code,
        control: 0x03,
        value,
    }
}

fn ascii_param(code: u16, s: &str, len: usize) -> Param {
    let mut v: Vec<u8> = s.bytes().take(len).collect();
    v.resize(len, b' ');
    // ASCII format and linking (01b).
    Param {
        code,
        control: 0x01,
        value: v,
    }
}

pub(crate) fn log_sense(drive: &mut SimDrive, cdb: &[u8], data: DataPhase<'_>) -> Completion {
    let offered = data.len();
    if cdb[1] & 0x02 != 0 {
        return invalid_cdb_field(1, Some(1), offered);
    }
    if cdb[1] & 0x01 != 0 {
        return invalid_cdb_field(1, Some(0), offered);
    }
    let pc = cdb[2] >> 6;
    let page = cdb[2] & 0x3F;
    let subpage = cdb[3];
    let pointer = u16::from_be_bytes([cdb[5], cdb[6]]);
    let alloc = usize::from(u16::from_be_bytes([cdb[7], cdb[8]]));
    if subpage != 0 {
        return invalid_cdb_field(3, None, offered);
    }
    if !SUPPORTED.contains(&page) {
        return invalid_cdb_field(2, Some(5), offered);
    }
    let Some(values) = page_values(page, pc) else {
        // The page has no values of this kind: INVALID FIELD IN CDB at the PC field.
        return invalid_cdb_field(2, Some(7), offered);
    };
    let params: Vec<Param> = match (page, values) {
        (0x00, _) => {
            let mut b = vec![0x00, 0x00, 0, SUPPORTED.len() as u8];
            b.extend_from_slice(&SUPPORTED);
            return data_in(data, &b, alloc);
        }
        (0x2E, Values::Current) => {
            let flags = drive.alerts();
            // Reading the TapeAlert page clears the flags it reported (SSC-4 TapeAlert).
            drive.tapealert = 0;
            tape_alert_flags(flags)
        }
        // After a reset no flag is set.
        (0x2E, Values::Default) => tape_alert_flags(0),
        (0x12, values) => {
            let flags = if values == Values::Current {
                drive.alerts()
            } else {
                0
            };
            // Flag 1 is the most significant bit of the first byte.
            vec![param(0x0000, flags.reverse_bits().to_be_bytes().to_vec())]
        }
        (0x17, Values::Current) => volume_statistics(drive),
        (0x31, Values::Current) => tape_capacity(drive),
        (0x11, Values::Current) => vec![param(0x0000, device_status(drive).to_vec())],
        // Default values: what the page holds in a drive just reset, with no medium.
        (0x17, Values::Default) => vec![param(0x0000, vec![0])],
        (0x31, Values::Default) => (1..=4).map(|n| param(n, vec![0; 4])).collect(),
        (0x11, Values::Default) => vec![param(0x0000, vec![0x01, 0x20, 0, 0])],
        _ => return invalid_cdb_field(2, Some(5), offered),
    };
    let mut b = vec![page, 0, 0, 0];
    for p in params.iter().filter(|p| p.code >= pointer) {
        b.extend_from_slice(&p.code.to_be_bytes());
        b.push(p.control);
        b.push(p.value.len() as u8);
        b.extend_from_slice(&p.value);
    }
    let len = (b.len() - 4).min(0xFFFF) as u16;
    b[2..4].copy_from_slice(&len.to_be_bytes());
    data_in(data, &b, alloc)
}

/// Which values a LOG SENSE returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Values {
    Current,
    Default,
}

/// The values page `page` returns for page control `pc` (SPC-4 LOG SENSE: 00b threshold,
/// 01b cumulative, 10b default threshold, 11b default cumulative), `None` where the page
/// has none of that kind.
///
/// - Supported pages (00h) is the same list whatever the PC.
/// - TapeAlert (2Eh) flags are compared against a threshold of one: threshold values are the
///   flags themselves, as tapeinfo reads them with PC = 00b; default values are all clear.
/// - TapeAlert response (12h), device status (11h), volume statistics (17h) and tape capacity
///   (31h) hold state and counters without threshold comparison (ETC = 0): cumulative and
///   default cumulative values only.
fn page_values(page: u8, pc: u8) -> Option<Values> {
    match (page, pc) {
        (0x00, _) => Some(Values::Current),
        (0x2E, 0b00 | 0b01) => Some(Values::Current),
        (0x2E, 0b10 | 0b11) => Some(Values::Default),
        (_, 0b01) => Some(Values::Current),
        (_, 0b11) => Some(Values::Default),
        _ => None,
    }
}

/// Parameters 0001h..=0040h of the TapeAlert page, one flag each.
fn tape_alert_flags(flags: u64) -> Vec<Param> {
    (1..=64u16)
        .map(|n| param(n, vec![u8::from(flags & (1u64 << (n - 1)) != 0)]))
        .collect()
}

/// Very high frequency data of the device status page (SSC-4).
fn device_status(drive: &SimDrive) -> [u8; 4] {
    let present = drive.cart.is_some();
    let loaded = present && drive.state == MediumState::Loaded;
    let wp = drive.cart.as_ref().is_some_and(|c| c.write_protected());
    let mut b = [0u8; 4];
    b[0] = if loaded { 0x20 } else { 0 } // MACC
        | if wp { 0x08 } else { 0 } // WRTP
        | if drive.faults.cleaning_required { 0x04 } else { 0 } // CRQST
        | 0x01; // DINIT
    b[1] = if !loaded { 0x20 } else { 0 } // RAA: the robot may act
        | if present { 0x10 } else { 0 } // MPRSNT
        | if loaded { 0x02 | 0x01 } else { 0 }; // MTHRD, MOUNTED
    b[2] = 0; // no activity
    b[3] = if drive.alerts() != 0 { 0x01 } else { 0 }; // TAFC
    b
}

fn volume_statistics(drive: &SimDrive) -> Vec<Param> {
    let Some(c) = drive.cart.as_ref() else {
        return vec![param(0x0000, vec![0])];
    };
    let s = c.stats();
    vec![
        param(0x0000, vec![1]), // page valid
        param(
            0x0001,
            (c.load_count().min(u64::from(u32::MAX)) as u32)
                .to_be_bytes()
                .to_vec(),
        ),
        param(0x0002, s.records_written.to_be_bytes().to_vec()),
        param(0x0007, s.records_read.to_be_bytes().to_vec()),
        // Total native capacity and total used native capacity, in MB (10^6 bytes).
        param(0x0016, mb(total_capacity(c)).to_be_bytes().to_vec()),
        param(0x0017, mb(total_used(c)).to_be_bytes().to_vec()),
        // VOLUME SERIAL NUMBER and VOLUME BARCODE (SSC-4 volume statistics): the volume
        // identifier (VOLSER) as the application recorded it, never the medium serial.
        ascii_param(0x0040, &c.volume_identifier(), 32),
        ascii_param(0x0042, &c.volume_identifier(), 32),
        param(0x0080, vec![u8::from(c.write_protected())]),
    ]
}

/// Tape capacity page (0x31): remaining and maximum capacity of partitions 0 and 1, MiB.
fn tape_capacity(drive: &SimDrive) -> Vec<Param> {
    let mib = |b: u64| {
        ((b >> 20).min(u64::from(u32::MAX)) as u32)
            .to_be_bytes()
            .to_vec()
    };
    match drive.cart.as_ref() {
        Some(c) => vec![
            param(0x0001, mib(c.remaining_bytes(0))),
            param(0x0002, mib(c.remaining_bytes(1))),
            param(0x0003, mib(c.effective_capacity(0))),
            param(0x0004, mib(c.effective_capacity(1))),
        ],
        None => (1..=4).map(|n| param(n, vec![0; 4])).collect(),
    }
}

fn mb(bytes: u64) -> u32 {
    (bytes / 1_000_000).min(u64::from(u32::MAX)) as u32
}

fn total_capacity(c: &crate::cartridge::Cartridge) -> u64 {
    (0..c.partition_count())
        .map(|p| c.partition_capacity(p))
        .sum()
}

fn total_used(c: &crate::cartridge::Cartridge) -> u64 {
    (0..c.partition_count()).map(|p| c.space_used(p)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_control_by_page() {
        for pc in 0..4 {
            assert_eq!(page_values(0x00, pc), Some(Values::Current));
        }
        assert_eq!(page_values(0x2E, 0), Some(Values::Current));
        assert_eq!(page_values(0x2E, 2), Some(Values::Default));
        for page in [0x11, 0x12, 0x17, 0x31] {
            assert_eq!(page_values(page, 0), None);
            assert_eq!(page_values(page, 1), Some(Values::Current));
            assert_eq!(page_values(page, 2), None);
            assert_eq!(page_values(page, 3), Some(Values::Default));
        }
    }
}
