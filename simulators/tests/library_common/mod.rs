//! Helpers shared by the library and changer tests: a small library, command runners, and small
//! readers for sense data and element status written independently of tapelib-scsi's decoders.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use tapelib_scsi::{Completion, DataPhase, ScsiStatus};
use tapelib_sim::config::LibraryConfig;
use tapelib_sim::library::Library;

/// A small library: 4 storage slots, 2 I/E slots, 2 drives, default address map.
pub const SMALL: &str = r#"
storage_slots = 4
ie_slots = 2

[changer]
vendor = "TAPELIB"
product = "SIMLIB"
serial = "LIB0001"
revision = "0100"

[[drive]]
generation = "LTO-8"
serial = "1013000001"

[[drive]]
generation = "LTO-8"
personality = "HP"
serial = "HU10000002"

[[cartridge]]
barcode = "A00001L8"
slot = 1

[[cartridge]]
barcode = "A00002L7"
slot = 3

[[cartridge]]
barcode = "CLN001L1"
slot = "ie:1"

[[cartridge]]
barcode = "B00001L8"
slot = "drive:0"
"#;

pub const CHANGER: &str = "changer0";
pub const TRANSPORT: u16 = 1;
pub const IE1: u16 = 16;
pub const IE2: u16 = 17;
pub const DRIVE0: u16 = 256;
pub const DRIVE1: u16 = 257;
pub const SLOT1: u16 = 4096;
pub const SLOT2: u16 = 4097;
pub const SLOT3: u16 = 4098;
pub const SLOT4: u16 = 4099;

pub fn small_config() -> LibraryConfig {
    LibraryConfig::from_toml_str(SMALL).expect("small config parses")
}

pub fn open_small(dir: &Path) -> Arc<Library> {
    Library::open(small_config(), dir).expect("library opens")
}

/// Runs a command without data.
pub fn cmd(lib: &Library, device: &str, cdb: &[u8]) -> Completion {
    lib.execute(device, cdb, DataPhase::None)
        .expect("known device")
}

/// Runs a data-in command with a buffer of `alloc` bytes; returns the bytes transferred.
pub fn cmd_in(lib: &Library, device: &str, cdb: &[u8], alloc: usize) -> (Completion, Vec<u8>) {
    let mut buf = vec![0u8; alloc];
    let c = lib
        .execute(device, cdb, DataPhase::In(&mut buf))
        .expect("known device");
    buf.truncate(c.transferred);
    (c, buf)
}

/// (key, ASC, ASCQ) of fixed-format sense.
pub fn sense_of(c: &Completion) -> (u8, u8, u8) {
    assert_eq!(
        c.status,
        ScsiStatus::CHECK_CONDITION,
        "expected CHECK CONDITION: {c:?}"
    );
    let s = &c.sense;
    assert!(s.len() >= 14, "sense too short: {s:02x?}");
    assert_eq!(s[0] & 0x7f, 0x70, "fixed format, current");
    (s[2] & 0x0f, s[12], s[13])
}

/// Sense-key-specific field pointer: (C/D, byte).
pub fn field_pointer(c: &Completion) -> Option<(bool, u16)> {
    let s = &c.sense;
    if s.len() < 18 || s[15] & 0x80 == 0 {
        return None;
    }
    Some((s[15] & 0x40 != 0, u16::from_be_bytes([s[16], s[17]])))
}

pub fn assert_good(c: &Completion) {
    assert_eq!(c.status, ScsiStatus::GOOD, "expected GOOD: {c:?}");
}

/// Clears pending UNIT ATTENTIONs with TEST UNIT READY.
pub fn drain_unit_attention(lib: &Library, device: &str) {
    for _ in 0..8 {
        if cmd(lib, device, &[0, 0, 0, 0, 0, 0]).status == ScsiStatus::GOOD {
            return;
        }
    }
    panic!("unit attention does not clear");
}

pub fn move_medium(lib: &Library, source: u16, dest: u16) -> Completion {
    let s = source.to_be_bytes();
    let d = dest.to_be_bytes();
    cmd(
        lib,
        CHANGER,
        &[0xA5, 0, 0, 0, s[0], s[1], d[0], d[1], 0, 0, 0, 0],
    )
}

pub fn read_element_status_cdb(
    type_code: u8,
    voltag: bool,
    start: u16,
    count: u16,
    dvcid: bool,
    alloc: u32,
) -> [u8; 12] {
    let s = start.to_be_bytes();
    let n = count.to_be_bytes();
    let a = alloc.to_be_bytes();
    [
        0xB8,
        type_code | if voltag { 0x10 } else { 0 },
        s[0],
        s[1],
        n[0],
        n[1],
        u8::from(dvcid),
        a[1],
        a[2],
        a[3],
        0,
        0,
    ]
}

/// One decoded element descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desc {
    pub type_code: u8,
    pub address: u16,
    pub flags: u8,
    pub asc: u8,
    pub ascq: u8,
    pub svalid: bool,
    pub source: u16,
    pub medium_type: u8,
    pub voltag: Option<String>,
    pub identifier: Option<(u8, u8, Vec<u8>)>,
}

impl Desc {
    pub fn full(&self) -> bool {
        self.flags & 0x01 != 0
    }
    pub fn except(&self) -> bool {
        self.flags & 0x04 != 0
    }
    pub fn access(&self) -> bool {
        self.flags & 0x08 != 0
    }
    pub fn impexp(&self) -> bool {
        self.flags & 0x02 != 0
    }
}

/// Decoded element status data: (first address, count, byte count, descriptors).
#[derive(Debug, Clone)]
pub struct Report {
    pub first: u16,
    pub available: u16,
    pub byte_count: u32,
    pub descriptors: Vec<Desc>,
}

/// Reads element status data (SMC-3 6.10), stopping cleanly at the end of a truncated buffer.
pub fn parse_report(d: &[u8]) -> Report {
    assert!(d.len() >= 8, "header");
    let be16 = |b: &[u8], i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
    let be24 = |b: &[u8], i: usize| u32::from_be_bytes([0, b[i], b[i + 1], b[i + 2]]);
    let mut r = Report {
        first: be16(d, 0),
        available: be16(d, 2),
        byte_count: be24(d, 5),
        descriptors: Vec::new(),
    };
    let mut p = 8;
    while p + 8 <= d.len() {
        let type_code = d[p];
        let pvoltag = d[p + 1] & 0x80 != 0;
        let dlen = usize::from(be16(d, p + 2));
        let bytes = be24(d, p + 5) as usize;
        assert!(dlen > 0);
        let mut q = p + 8;
        let end = (p + 8 + bytes).min(d.len());
        while q + dlen <= end {
            let e = &d[q..q + dlen];
            let mut off = 12;
            let voltag = pvoltag.then(|| {
                let t = String::from_utf8_lossy(&e[12..44]).trim_end().to_string();
                off += 36;
                t
            });
            let identifier = (e.len() >= off + 4 && e[off + 3] > 0).then(|| {
                let l = usize::from(e[off + 3]);
                (
                    e[off] & 0x0f,
                    e[off + 1] & 0x0f,
                    e[off + 4..off + 4 + l].to_vec(),
                )
            });
            r.descriptors.push(Desc {
                type_code,
                address: be16(e, 0),
                flags: e[2],
                asc: e[4],
                ascq: e[5],
                svalid: e[9] & 0x80 != 0,
                source: be16(e, 10),
                medium_type: e[9] & 0x07,
                voltag,
                identifier,
            });
            q += dlen;
        }
        p += 8 + bytes;
    }
    r
}

/// READ ELEMENT STATUS of every element with volume tags, decoded.
pub fn all_elements(lib: &Library) -> Vec<Desc> {
    let cdb = read_element_status_cdb(0, true, 0, 0xFFFF, false, 0xFFFF);
    let (c, d) = cmd_in(lib, CHANGER, &cdb, 0xFFFF);
    assert_good(&c);
    parse_report(&d).descriptors
}

pub fn element(lib: &Library, address: u16) -> Desc {
    all_elements(lib)
        .into_iter()
        .find(|d| d.address == address)
        .expect("element exists")
}
