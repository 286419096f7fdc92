//! Shared helpers for the drive tests: a drive with a fresh cartridge and CDB shorthands.
#![allow(dead_code)]

use std::path::Path;

use tapelib_scsi::transport::{Completion, DataPhase, ScsiStatus};
use tapelib_sim::cartridge::{Cartridge, CartridgeSpec};
use tapelib_sim::drive::{DriveSpec, Personality, SimDrive};
use tapelib_sim::media::{LtoGeneration, MediaKind};
use tapelib_sim::timing::TimeModel;

pub struct Rig {
    pub drive: SimDrive,
    pub dir: tempfile::TempDir,
}

pub fn spec(generation: LtoGeneration) -> DriveSpec {
    DriveSpec {
        generation,
        personality: Personality::Ibm,
        serial: "1013000123".into(),
        vendor: None,
        product: None,
    }
}

pub fn new_cart(dir: &Path, barcode: &str, capacity: Option<u64>) -> Cartridge {
    let mut s = CartridgeSpec::from_barcode(barcode).expect("barcode with media suffix");
    s.capacity_bytes = capacity;
    Cartridge::create(&dir.join(barcode), s).expect("create cartridge")
}

/// A drive of `generation` holding a new cartridge `barcode`, unit attentions consumed.
pub fn rig(generation: LtoGeneration, barcode: &str, capacity: Option<u64>) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let mut drive = SimDrive::new(spec(generation), TimeModel::instant());
    drive
        .insert(new_cart(dir.path(), barcode, capacity))
        .unwrap();
    settle(&mut drive);
    Rig { drive, dir }
}

/// Issues TEST UNIT READY until no unit attention is pending.
pub fn settle(drive: &mut SimDrive) {
    for _ in 0..4 {
        let c = cmd(drive, &[0, 0, 0, 0, 0, 0]);
        if c.status == ScsiStatus::GOOD || sense(&c).0 != 6 {
            return;
        }
    }
}

pub fn cmd(drive: &mut SimDrive, cdb: &[u8]) -> Completion {
    drive.execute(cdb, DataPhase::None)
}

pub fn read_in(drive: &mut SimDrive, cdb: &[u8], len: usize) -> (Completion, Vec<u8>) {
    let mut buf = vec![0u8; len];
    let c = drive.execute(cdb, DataPhase::In(&mut buf));
    buf.truncate(c.transferred);
    (c, buf)
}

pub fn write_out(drive: &mut SimDrive, cdb: &[u8], data: &[u8]) -> Completion {
    drive.execute(cdb, DataPhase::Out(data))
}

/// (sense key, ASC, ASCQ) of a completion (0,0,0 when GOOD).
pub fn sense(c: &Completion) -> (u8, u8, u8) {
    if c.sense.len() < 14 {
        return (0, 0, 0);
    }
    (c.sense[2] & 0x0f, c.sense[12], c.sense[13])
}

pub fn info(c: &Completion) -> i32 {
    assert!(
        c.sense[0] & 0x80 != 0,
        "VALID bit expected in {:02x?}",
        c.sense
    );
    i32::from_be_bytes([c.sense[3], c.sense[4], c.sense[5], c.sense[6]])
}

pub fn flags(c: &Completion) -> (bool, bool, bool) {
    let b = c.sense[2];
    (b & 0x80 != 0, b & 0x40 != 0, b & 0x20 != 0)
}

pub fn good(c: &Completion) {
    assert_eq!(c.status, ScsiStatus::GOOD, "sense {:02x?}", c.sense);
}

pub fn len3(n: u32) -> [u8; 3] {
    let b = n.to_be_bytes();
    [b[1], b[2], b[3]]
}

pub fn write6(n: u32) -> [u8; 6] {
    let l = len3(n);
    [0x0A, 0, l[0], l[1], l[2], 0]
}

pub fn write6_fixed(blocks: u32) -> [u8; 6] {
    let l = len3(blocks);
    [0x0A, 1, l[0], l[1], l[2], 0]
}

pub fn read6(n: u32, sili: bool) -> [u8; 6] {
    let l = len3(n);
    [0x08, if sili { 2 } else { 0 }, l[0], l[1], l[2], 0]
}

pub fn read6_fixed(blocks: u32) -> [u8; 6] {
    let l = len3(blocks);
    [0x08, 1, l[0], l[1], l[2], 0]
}

pub fn wfm(n: u32, immed: bool) -> [u8; 6] {
    let l = len3(n);
    [0x10, u8::from(immed), l[0], l[1], l[2], 0]
}

pub fn space6(code: u8, count: i32) -> [u8; 6] {
    let b = count.to_be_bytes();
    [0x11, code, b[1], b[2], b[3], 0]
}

pub fn space16(code: u8, count: i64) -> [u8; 16] {
    let mut c = [0u8; 16];
    c[0] = 0x91;
    c[1] = code;
    c[4..12].copy_from_slice(&count.to_be_bytes());
    c
}

pub fn locate16(partition: u8, block: u64, cp: bool) -> [u8; 16] {
    let mut c = [0u8; 16];
    c[0] = 0x92;
    c[1] = if cp { 0x02 } else { 0 };
    c[3] = partition;
    c[4..12].copy_from_slice(&block.to_be_bytes());
    c
}

pub fn locate10(partition: u8, block: u32, cp: bool) -> [u8; 10] {
    let mut c = [0u8; 10];
    c[0] = 0x2B;
    c[1] = if cp { 0x02 } else { 0 };
    c[3..7].copy_from_slice(&block.to_be_bytes());
    c[8] = partition;
    c
}

pub const REWIND: [u8; 6] = [0x01, 0, 0, 0, 0, 0];
pub const TUR: [u8; 6] = [0, 0, 0, 0, 0, 0];

/// (partition, block, BOP, EOP) from READ POSITION long form.
pub fn position(drive: &mut SimDrive) -> (u32, u64, bool, bool) {
    let (c, b) = read_in(drive, &[0x34, 0x06, 0, 0, 0, 0, 0, 0, 0, 0], 32);
    good(&c);
    (
        u32::from_be_bytes(b[4..8].try_into().unwrap()),
        u64::from_be_bytes(b[8..16].try_into().unwrap()),
        b[0] & 0x80 != 0,
        b[0] & 0x40 != 0,
    )
}

pub fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Writes variable records of the given sizes, each filled from its index.
pub fn write_records(drive: &mut SimDrive, sizes: &[usize]) {
    for (i, &n) in sizes.iter().enumerate() {
        let c = write_out(drive, &write6(n as u32), &pattern(i as u8, n));
        good(&c);
    }
}

/// MODE SELECT(6) with a block descriptor setting the block length.
pub fn set_block_length(drive: &mut SimDrive, len: u32) -> Completion {
    let mut p = vec![0u8, 0, 0x10, 8, 0, 0, 0, 0, 0];
    p.extend_from_slice(&len3(len));
    write_out(drive, &[0x15, 0x10, 0, 0, p.len() as u8, 0], &p)
}

/// Partitions the medium into two: MODE SELECT page 0x11 (IDP, sizes in MB) + FORMAT MEDIUM.
pub fn two_partitions(drive: &mut SimDrive, p0_mb: u16) {
    let mut p = vec![0u8, 0, 0x10, 0];
    p.extend_from_slice(&[0x11, 0x0A, 1, 1, 0x20 | 0x18, 0x03, 6, 0]);
    p.extend_from_slice(&p0_mb.to_be_bytes());
    p.extend_from_slice(&0xFFFFu16.to_be_bytes());
    good(&write_out(drive, &[0x15, 0x10, 0, 0, p.len() as u8, 0], &p));
    good(&cmd(drive, &[0x04, 0, 0x01, 0, 0, 0]));
}

pub fn gen_kind(barcode: &str) -> MediaKind {
    MediaKind::from_barcode(barcode).unwrap()
}
