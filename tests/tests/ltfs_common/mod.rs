//! A small in-process simulated library driven as the daemon drives it: the changer moves
//! cartridges with MOVE MEDIUM, drives are `tapelib_scsi::Drive<SimTransport>`, LTFS runs on top.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tapelib_scsi::error::ErrorCategory;
use tapelib_scsi::{Changer, Drive, Inventory};
use tapelib_sim::config::LibraryConfig;
use tapelib_sim::library::Library;
use tapelib_sim::stats::DriveStats;
use tapelib_sim::transport::SimTransport;

/// One LTO-8 drive, eight slots, two I/E slots; time scale 0 (instant).
pub const CONFIG: &str = r#"
storage_slots = 8
ie_slots = 2
time_scale = 0.0

[changer]
vendor = "TAPELIB"
product = "SIMLIB"
serial = "LIB0001"
revision = "0100"

[[drive]]
generation = "LTO-8"
serial = "1013000001"

[[cartridge]]
barcode = "LTF001L8"
slot = 1
capacity = 8589934592

[[cartridge]]
barcode = "LTF002L8"
slot = 2
capacity = 8589934592
"#;

pub const DRIVE: &str = "drive0";

pub struct SimLibrary {
    /// Keeps the library's state directory alive.
    pub dir: tempfile::TempDir,
    pub library: Arc<Library>,
    pub changer: Changer<SimTransport>,
}

impl SimLibrary {
    pub fn open() -> SimLibrary {
        Self::open_with(CONFIG)
    }

    pub fn open_with(config: &str) -> SimLibrary {
        Self::open_in(config, None)
    }

    /// A library whose state lives in a new temporary directory under `parent` (default: the
    /// system temporary directory).
    pub fn open_in(config: &str, parent: Option<&Path>) -> SimLibrary {
        let dir = match parent {
            Some(p) => tempfile::tempdir_in(p),
            None => tempfile::tempdir(),
        }
        .expect("temporary directory");
        let config = LibraryConfig::from_toml_str(config).expect("configuration parses");
        let library = Library::open(config, dir.path()).expect("library opens");
        let mut changer = Changer::new(SimTransport::new(Arc::clone(&library), "changer0"));
        changer.identify().expect("changer INQUIRY");
        SimLibrary {
            dir,
            library,
            changer,
        }
    }

    /// READ ELEMENT STATUS. A UNIT ATTENTION (an operator insert raises 28/01, SMC-3 6.1) is
    /// consumed by the command that reports it; the inventory is read again, as the daemon does.
    pub fn inventory(&mut self) -> Inventory {
        let mut attentions = 0;
        loop {
            match self.changer.inventory() {
                Ok(inv) => return inv,
                Err(e)
                    if matches!(e.category(), ErrorCategory::UnitAttention(_))
                        && attentions < 4 =>
                {
                    attentions += 1;
                }
                Err(e) => panic!("inventory: {e}"),
            }
        }
    }

    /// Element address of the drive, as READ ELEMENT STATUS reports it.
    pub fn drive_address(&mut self) -> u16 {
        let inv = self.inventory();
        inv.drives.first().expect("one drive").state.address
    }

    /// Element address of the storage or I/E element holding `barcode`.
    pub fn element_of(&mut self, barcode: &str) -> u16 {
        let inv = self.inventory();
        inv.storage
            .iter()
            .chain(inv.import_export.iter().map(|e| &e.state))
            .chain(inv.drives.iter().map(|d| &d.state))
            .find(|e| e.full && e.barcode.as_deref() == Some(barcode))
            .map(|e| e.address)
            .unwrap_or_else(|| panic!("{barcode} not in the library"))
    }

    /// An empty storage slot.
    pub fn free_slot(&mut self) -> u16 {
        let inv = self.inventory();
        inv.storage
            .iter()
            .find(|e| !e.full)
            .map(|e| e.address)
            .expect("a free slot")
    }

    /// MOVE MEDIUM from wherever `barcode` is to the drive; returns the ready drive.
    pub fn load(&mut self, barcode: &str) -> Drive<SimTransport> {
        let from = self.element_of(barcode);
        let to = self.drive_address();
        self.changer.move_medium(from, to).expect("move to drive");
        let mut drive = self.drive();
        drive.set_poll_interval(Duration::from_millis(1));
        drive
            .wait_ready(Duration::from_secs(10))
            .expect("drive ready after load");
        drive
    }

    /// A fresh `Drive` on the drive's transport (as a restarted daemon would open it).
    pub fn drive(&self) -> Drive<SimTransport> {
        Drive::new(SimTransport::new(Arc::clone(&self.library), DRIVE))
    }

    /// Unloads the drive and moves its cartridge back to a free slot.
    pub fn unload(&mut self, mut drive: Drive<SimTransport>) {
        drive.unload().expect("UNLOAD");
        let from = self.drive_address();
        let to = self.free_slot();
        self.changer.move_medium(from, to).expect("move to slot");
    }

    pub fn drive_stats(&self) -> DriveStats {
        self.library
            .stats()
            .drives
            .get(DRIVE)
            .cloned()
            .expect("drive statistics")
    }
}

/// The shared LTFS reference sample (a missing sample fails the test).
pub fn sample_dir() -> PathBuf {
    tapelib_sim::testing::reference_sample_dir().unwrap()
}

/// A deterministic byte stream of `len` bytes: byte `i` depends only on `seed` and `i`, so
/// any buffer sizes give the same stream and [`Pattern::at`] can check any range.
pub struct Pattern {
    seed: u64,
    offset: u64,
    len: u64,
}

impl Pattern {
    pub fn new(seed: u64, len: u64) -> Pattern {
        Pattern {
            seed,
            offset: 0,
            len,
        }
    }

    /// Bytes `[offset, offset + len)` of stream `seed`.
    pub fn at(seed: u64, offset: u64, len: usize) -> Vec<u8> {
        let mut v = vec![0u8; len];
        fill(seed, offset, &mut v);
        v
    }

    pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
        Pattern::at(seed, 0, len)
    }
}

/// splitmix64 of the word index: cheap and without visible period.
fn word(seed: u64, index: u64) -> [u8; 8] {
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(index.wrapping_mul(0xBF58_476D_1CE4_E5B9));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)).to_le_bytes()
}

fn fill(seed: u64, offset: u64, buf: &mut [u8]) {
    let mut pos = offset;
    let mut i = 0;
    while i < buf.len() {
        let w = word(seed, pos / 8);
        let skip = (pos % 8) as usize;
        let n = (8 - skip).min(buf.len() - i);
        buf[i..i + n].copy_from_slice(&w[skip..skip + n]);
        i += n;
        pos += n as u64;
    }
}

impl Read for Pattern {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.len - self.offset;
        let n = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        fill(self.seed, self.offset, &mut buf[..n]);
        self.offset += n as u64;
        Ok(n)
    }
}
