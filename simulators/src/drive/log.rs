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
    // Only current (01b) values exist; TapeAlert also answers PC=00 (tapeinfo asks so).
    if pc != 1 && !(pc == 0 && page == 0x2E) {
        return invalid_cdb_field(2, Some(7), offered);
    }
    let params: Vec<Param> = match page {
        0x00 => {
            let mut b = vec![0x00, 0x00, 0, SUPPORTED.len() as u8];
            b.extend_from_slice(&SUPPORTED);
            return data_in(data, &b, alloc);
        }
        0x2E => {
            let flags = drive.alerts();
            // Reading the TapeAlert page clears the flags it reported (SSC-4 TapeAlert).
            drive.tapealert = 0;
            (1..=64u16)
                .map(|n| param(n, vec![u8::from(flags & (1u64 << (n - 1)) != 0)]))
                .collect()
        }
        0x12 => {
            let flags = drive.alerts();
            // Flag 1 is the most significant bit of the first byte.
            vec![param(0x0000, flags.reverse_bits().to_be_bytes().to_vec())]
        }
        0x17 => volume_statistics(drive),
        0x31 => tape_capacity(drive),
        0x11 => vec![param(0x0000, device_status(drive).to_vec())],
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
        ascii_param(0x0040, &c.medium_serial(), 32),
        ascii_param(0x0042, c.barcode(), 32),
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
