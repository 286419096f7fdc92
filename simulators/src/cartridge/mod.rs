//! Cartridges stored on disk, one directory per cartridge (`<state>/cartridges/<barcode>`):
//!
//! - `meta.json`: identity, partition layout, MAM, the drive-maintained counters (load count,
//!   volume change reference), statistics and injected faults;
//! - `p<N>.data` / `p<N>.idx`: each partition's records and their index ([`partition`]).
//!
//! Nothing is preallocated: files grow with the data written.

pub mod mam;
pub mod partition;
pub mod reference;

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::media::MediaKind;
use crate::stats::CartridgeStats;
use mam::{ascii_padded, format, id, Mam, MamAttribute};
pub use partition::{IndexEntry, ObjectKind, PartitionStore};

/// Highest number of partitions a cartridge may be formatted with.
pub const MAX_PARTITIONS: u8 = 2;
/// Room a filemark takes on the modeled medium (a real one closes a data set; counting it
/// keeps a tape of filemarks from being endless).
pub const FILEMARK_SPACE: u64 = 4096;
const META_FILE: &str = "meta.json";
const META_VERSION: u32 = 1;

/// Errors of the cartridge store.
#[derive(Debug, thiserror::Error)]
pub enum CartridgeError {
    #[error("I/O on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cartridge metadata {path} is unreadable: {reason}")]
    Meta { path: PathBuf, reason: String },
    #[error("cartridge already exists in {0}")]
    AlreadyExists(PathBuf),
    #[error("CRC mismatch in partition {partition} block {block}")]
    CrcMismatch { partition: u8, block: u64 },
    #[error("partition {partition} block {block} is beyond end of data")]
    BeyondEndOfData { partition: u8, block: u64 },
    #[error("partition {partition} block {block} is a filemark, not a record")]
    NotARecord { partition: u8, block: u64 },
    #[error("partition {0} does not exist")]
    NoSuchPartition(u8),
    #[error("record of {0} bytes is too large")]
    RecordTooLarge(usize),
    #[error("invalid partition layout: {0}")]
    InvalidPartitioning(String),
    #[error("reference layout in {path}: {reason}")]
    ReferenceLayout { path: PathBuf, reason: String },
}

/// What a cartridge is made from: barcode, media kind, write protect tab, capacity override.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartridgeSpec {
    pub barcode: String,
    pub kind: MediaKind,
    pub write_protected: bool,
    /// Total native capacity override (bytes), for tests that fill a tape.
    pub capacity_bytes: Option<u64>,
}

impl CartridgeSpec {
    /// A spec whose media kind comes from the barcode suffix.
    pub fn from_barcode(barcode: &str) -> Option<CartridgeSpec> {
        Some(CartridgeSpec {
            barcode: barcode.to_string(),
            kind: MediaKind::from_barcode(barcode)?,
            write_protected: false,
            capacity_bytes: None,
        })
    }

    /// Total capacity in bytes.
    pub fn total_capacity(&self) -> u64 {
        self.capacity_bytes
            .unwrap_or_else(|| self.kind.native_capacity_bytes())
    }
}

/// Faults injected into one cartridge.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartridgeFaults {
    /// (partition, block) whose read fails with MEDIUM ERROR 03/11/00.
    pub read_errors: BTreeSet<(u8, u64)>,
    /// (partition, block) whose write fails with MEDIUM ERROR 03/0C/00.
    pub write_errors: BTreeSet<(u8, u64)>,
    /// The cartridge holds at most this many bytes in all (early warning, then overflow).
    pub full_after_bytes: Option<u64>,
}

impl CartridgeFaults {
    /// Whether nothing is injected.
    pub fn is_empty(&self) -> bool {
        self.read_errors.is_empty()
            && self.write_errors.is_empty()
            && self.full_after_bytes.is_none()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CartridgeMeta {
    version: u32,
    spec: CartridgeSpec,
    /// Capacity of each partition in bytes; its length is the partition count.
    partition_capacities: Vec<u64>,
    load_count: u64,
    volume_change_reference: u32,
    initialization_count: u16,
    mam: Mam,
    stats: CartridgeStats,
    faults: CartridgeFaults,
    /// The serial number the manufacturer gave the medium (MAM 0401h); older metadata has
    /// none and gets the derived one.
    #[serde(default)]
    medium_serial: Option<String>,
}

/// A cartridge: its partitions on disk and its metadata.
#[derive(Debug)]
pub struct Cartridge {
    dir: PathBuf,
    meta: CartridgeMeta,
    partitions: Vec<PartitionStore>,
    /// The host may have seen the current volume change reference: the next write changes it.
    vcr_observed: bool,
}

fn io_err(path: &Path, source: std::io::Error) -> CartridgeError {
    CartridgeError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Cartridge {
    /// Creates a new, blank, single-partition cartridge in `dir` (created if missing).
    pub fn create(dir: &Path, spec: CartridgeSpec) -> Result<Cartridge, CartridgeError> {
        if dir.join(META_FILE).exists() {
            return Err(CartridgeError::AlreadyExists(dir.to_path_buf()));
        }
        fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        let mut mam = Mam::default();
        if !spec.barcode.is_empty() {
            mam.set(
                0,
                MamAttribute {
                    id: id::BARCODE,
                    format: format::ASCII,
                    read_only: false,
                    value: ascii_padded(&spec.barcode, 32),
                },
            );
        }
        let total = spec.total_capacity();
        let serial = manufacturer_serial(&spec.barcode);
        let meta = CartridgeMeta {
            version: META_VERSION,
            spec,
            partition_capacities: vec![total],
            load_count: 0,
            volume_change_reference: 1,
            initialization_count: 0,
            mam,
            stats: CartridgeStats::default(),
            faults: CartridgeFaults::default(),
            medium_serial: Some(serial),
        };
        let partitions = vec![PartitionStore::open(dir, 0)?];
        let mut c = Cartridge {
            dir: dir.to_path_buf(),
            meta,
            partitions,
            vcr_observed: true,
        };
        c.save_meta(true)?;
        Ok(c)
    }

    /// Opens the cartridge stored in `dir`, recovering partitions from a torn tail.
    pub fn open(dir: &Path) -> Result<Cartridge, CartridgeError> {
        let path = dir.join(META_FILE);
        let raw = fs::read(&path).map_err(|e| io_err(&path, e))?;
        let meta: CartridgeMeta =
            serde_json::from_slice(&raw).map_err(|e| CartridgeError::Meta {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        let count = meta.partition_capacities.len();
        if count == 0 || count > usize::from(MAX_PARTITIONS) {
            return Err(CartridgeError::Meta {
                path,
                reason: format!("{count} partitions"),
            });
        }
        let partitions = (0..count as u8)
            .map(|n| PartitionStore::open(dir, n))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Cartridge {
            dir: dir.to_path_buf(),
            meta,
            partitions,
            vcr_observed: true,
        })
    }

    fn save_meta(&mut self, durable: bool) -> Result<(), CartridgeError> {
        let path = self.dir.join(META_FILE);
        let tmp = self.dir.join("meta.json.tmp");
        let json = serde_json::to_vec_pretty(&self.meta).map_err(|e| CartridgeError::Meta {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let mut f = fs::File::create(&tmp).map_err(|e| io_err(&tmp, e))?;
        f.write_all(&json).map_err(|e| io_err(&tmp, e))?;
        if durable {
            f.sync_all().map_err(|e| io_err(&tmp, e))?;
        }
        fs::rename(&tmp, &path).map_err(|e| io_err(&path, e))?;
        if durable {
            if let Ok(d) = fs::File::open(&self.dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }

    /// The directory the cartridge lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What the cartridge was made from.
    pub fn spec(&self) -> &CartridgeSpec {
        &self.meta.spec
    }

    pub fn barcode(&self) -> &str {
        &self.meta.spec.barcode
    }

    pub fn kind(&self) -> MediaKind {
        self.meta.spec.kind
    }

    pub fn write_protected(&self) -> bool {
        self.meta.spec.write_protected
    }

    /// Slides the write-protect tab (persisted).
    pub fn set_write_protected(&mut self, protected: bool) -> Result<(), CartridgeError> {
        self.meta.spec.write_protected = protected;
        self.save_meta(true)
    }

    /// Statistics of this cartridge.
    pub fn stats(&self) -> &CartridgeStats {
        &self.meta.stats
    }

    pub fn stats_mut(&mut self) -> &mut CartridgeStats {
        &mut self.meta.stats
    }

    /// Injected faults.
    pub fn faults(&self) -> &CartridgeFaults {
        &self.meta.faults
    }

    /// Injected faults, to change them (persisted at the next metadata save or flush).
    pub fn faults_mut(&mut self) -> &mut CartridgeFaults {
        &mut self.meta.faults
    }

    /// Number of partitions (1 or 2).
    pub fn partition_count(&self) -> u8 {
        self.partitions.len() as u8
    }

    fn store(&self, p: u8) -> Result<&PartitionStore, CartridgeError> {
        self.partitions
            .get(usize::from(p))
            .ok_or(CartridgeError::NoSuchPartition(p))
    }

    fn store_mut(&mut self, p: u8) -> Result<&mut PartitionStore, CartridgeError> {
        self.partitions
            .get_mut(usize::from(p))
            .ok_or(CartridgeError::NoSuchPartition(p))
    }

    /// Objects in partition `p` (the block address of end of data); 0 if it does not exist.
    pub fn object_count(&self, p: u8) -> u64 {
        self.store(p).map_or(0, PartitionStore::len)
    }

    /// Index entry of `block` in partition `p`.
    pub fn object(&self, p: u8, block: u64) -> Option<IndexEntry> {
        self.store(p).ok()?.entry(block)
    }

    /// Index entries of partition `p`.
    pub fn objects(&self, p: u8) -> &[IndexEntry] {
        self.store(p).map_or(&[], PartitionStore::entries)
    }

    /// Filemarks in blocks `0..block` of partition `p`.
    pub fn filemarks_before(&self, p: u8, block: u64) -> u64 {
        self.store(p).map_or(0, |s| s.filemarks_before(block))
    }

    /// Record bytes stored in partition `p`.
    pub fn used_bytes(&self, p: u8) -> u64 {
        self.store(p).map_or(0, PartitionStore::data_bytes)
    }

    /// Space taken in partition `p`: record bytes plus [`FILEMARK_SPACE`] per filemark.
    pub fn space_used(&self, p: u8) -> u64 {
        self.store(p).map_or(0, |s| {
            s.data_bytes() + s.filemark_count().saturating_mul(FILEMARK_SPACE)
        })
    }

    /// Space taken in partition `p` by the objects before `block`.
    pub fn space_used_before(&self, p: u8, block: u64) -> u64 {
        match self.object(p, block) {
            Some(e) => {
                e.offset
                    + self
                        .filemarks_before(p, block)
                        .saturating_mul(FILEMARK_SPACE)
            }
            None => self.space_used(p),
        }
    }

    /// Nominal capacity of partition `p` in bytes.
    pub fn partition_capacity(&self, p: u8) -> u64 {
        self.meta
            .partition_capacities
            .get(usize::from(p))
            .copied()
            .unwrap_or(0)
    }

    /// Capacity of partition `p` after the "full after N bytes" fault.
    pub fn effective_capacity(&self, p: u8) -> u64 {
        let cap = self.partition_capacity(p);
        match self.meta.faults.full_after_bytes {
            Some(limit) => {
                let others: u64 = (0..self.partition_count())
                    .filter(|&q| q != p)
                    .map(|q| self.space_used(q))
                    .sum();
                cap.min(limit.saturating_sub(others))
            }
            None => cap,
        }
    }

    /// Bytes stored in partition `p` beyond which writes report early warning: 5% of the
    /// capacity is kept in reserve, at most 16 GiB.
    pub fn early_warning_at(&self, p: u8) -> u64 {
        let cap = self.effective_capacity(p);
        cap - (cap / 20).min(16 << 30)
    }

    /// Bytes still free in partition `p`.
    pub fn remaining_bytes(&self, p: u8) -> u64 {
        self.effective_capacity(p)
            .saturating_sub(self.used_bytes(p))
    }

    /// Changes the volume change reference if the host may have seen its current value:
    /// called before every change to the medium (SPC-4 MAM: it changes whenever the medium
    /// is written).
    fn note_write(&mut self) -> Result<(), CartridgeError> {
        if self.vcr_observed {
            self.meta.volume_change_reference =
                self.meta.volume_change_reference.wrapping_add(1).max(1);
            self.vcr_observed = false;
            self.save_meta(false)?;
        }
        Ok(())
    }

    /// Writes a record at `block` of partition `p`, replacing everything from there on.
    pub fn write_record(&mut self, p: u8, block: u64, data: &[u8]) -> Result<(), CartridgeError> {
        self.store(p)?;
        self.note_write()?;
        self.store_mut(p)?.write_record(block, data)?;
        let s = &mut self.meta.stats;
        s.records_written += 1;
        s.bytes_written += data.len() as u64;
        Ok(())
    }

    /// Writes `count` filemarks at `block` of partition `p`, replacing everything from there on.
    pub fn write_filemarks(&mut self, p: u8, block: u64, count: u64) -> Result<(), CartridgeError> {
        self.store(p)?;
        self.note_write()?;
        self.store_mut(p)?.write_filemarks(block, count)
    }

    /// Erases partition `p` from `block` to its end.
    pub fn erase_from(&mut self, p: u8, block: u64) -> Result<(), CartridgeError> {
        self.store(p)?;
        self.note_write()?;
        self.store_mut(p)?.truncate(block)
    }

    /// Reads the record at `block` of partition `p` into `buf`; returns the record's length.
    pub fn read_record(
        &mut self,
        p: u8,
        block: u64,
        buf: &mut [u8],
    ) -> Result<usize, CartridgeError> {
        let n = self.store_mut(p)?.read_record(block, buf)?;
        let s = &mut self.meta.stats;
        s.records_read += 1;
        s.bytes_read += n.min(buf.len()) as u64;
        Ok(n)
    }

    /// Reformats the cartridge with partitions of the given sizes (bytes), erasing everything.
    pub fn format(&mut self, sizes: &[u64]) -> Result<(), CartridgeError> {
        if sizes.is_empty() || sizes.len() > usize::from(MAX_PARTITIONS) {
            return Err(CartridgeError::InvalidPartitioning(format!(
                "{} partitions",
                sizes.len()
            )));
        }
        let total = self.meta.spec.total_capacity();
        if sizes.iter().sum::<u64>() > total || sizes.contains(&0) {
            return Err(CartridgeError::InvalidPartitioning(format!(
                "sizes {sizes:?} do not fit {total} bytes"
            )));
        }
        self.vcr_observed = true;
        self.note_write()?;
        for p in &mut self.partitions {
            p.clear()?;
        }
        // Drop partitions beyond the new count, files included.
        while self.partitions.len() > sizes.len() {
            if let Some(p) = self.partitions.pop() {
                let (d, i) = PartitionStore::paths(&self.dir, p.number());
                drop(p);
                let _ = fs::remove_file(d);
                let _ = fs::remove_file(i);
            }
        }
        while self.partitions.len() < sizes.len() {
            let n = self.partitions.len() as u8;
            let mut p = PartitionStore::open(&self.dir, n)?;
            p.clear()?;
            self.partitions.push(p);
        }
        self.meta.partition_capacities = sizes.to_vec();
        self.meta.initialization_count = self.meta.initialization_count.saturating_add(1);
        // Host attributes of removed partitions go with them.
        let count = self.partition_count();
        self.meta.mam.partitions.retain(|p, _| *p < count);
        self.sync()
    }

    /// Hands buffered data to the kernel without fsync.
    pub fn flush(&mut self) -> Result<(), CartridgeError> {
        for p in &mut self.partitions {
            p.flush()?;
        }
        Ok(())
    }

    /// Makes every write so far durable (data, index, then metadata).
    pub fn sync(&mut self) -> Result<(), CartridgeError> {
        for p in &mut self.partitions {
            p.sync()?;
        }
        self.save_meta(true)
    }

    /// Counts a load (MAM LOAD COUNT) and persists it.
    pub fn record_load(&mut self) -> Result<(), CartridgeError> {
        self.meta.load_count += 1;
        self.meta.stats.loads += 1;
        self.save_meta(false)
    }

    /// Counts an unload and makes everything durable.
    pub fn record_unload(&mut self) -> Result<(), CartridgeError> {
        self.meta.stats.unloads += 1;
        self.sync()
    }

    pub fn load_count(&self) -> u64 {
        self.meta.load_count
    }

    pub fn initialization_count(&self) -> u16 {
        self.meta.initialization_count
    }

    /// The volume change reference as the host reads it (marks it seen).
    pub fn volume_change_reference(&mut self) -> u32 {
        self.vcr_observed = true;
        self.meta.volume_change_reference
    }

    /// The volume change reference without marking it seen.
    pub fn peek_volume_change_reference(&self) -> u32 {
        self.meta.volume_change_reference
    }

    /// Stored (host) MAM attributes.
    pub fn mam(&self) -> &Mam {
        &self.meta.mam
    }

    /// Stores a host attribute (an empty value deletes it) and persists the MAM.
    pub fn set_attribute(
        &mut self,
        partition: u8,
        attr: MamAttribute,
    ) -> Result<(), CartridgeError> {
        self.store(partition)?;
        self.meta.mam.set(partition, attr);
        self.save_meta(false)
    }

    /// The medium serial number (MAM 0401h): the cartridge's own serial, set when it was made
    /// and unrelated to the barcode label, as the cartridge memory of LTO media carries it.
    pub fn medium_serial(&self) -> String {
        self.meta
            .medium_serial
            .clone()
            .unwrap_or_else(|| manufacturer_serial(self.barcode()))
    }

    /// The volume identifier as the application wrote it into MAM BARCODE (0806h, partition
    /// 0, trailing spaces removed), or the cartridge's barcode label when none is written.
    pub fn volume_identifier(&self) -> String {
        self.meta
            .mam
            .get(0, id::BARCODE)
            .map(|a| String::from_utf8_lossy(&a.value).trim_end().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| self.barcode().to_string())
    }

    /// Attributes the medium itself carries (read-only, SPC-4 MAM).
    pub fn medium_attributes(&self) -> Vec<MamAttribute> {
        let ro = |id, format, value| MamAttribute {
            id,
            format,
            read_only: true,
            value,
        };
        vec![
            ro(
                id::MEDIUM_MANUFACTURER,
                format::ASCII,
                ascii_padded("TAPELIB", 8),
            ),
            ro(
                id::MEDIUM_SERIAL_NUMBER,
                format::ASCII,
                ascii_padded(&self.medium_serial(), 32),
            ),
            ro(
                id::MEDIUM_DENSITY_CODE,
                format::BINARY,
                vec![self.kind().density_code()],
            ),
            ro(
                id::MAM_CAPACITY,
                format::BINARY,
                16384u64.to_be_bytes().to_vec(),
            ),
            ro(
                id::MEDIUM_TYPE,
                format::BINARY,
                vec![self.kind().medium_type_code()],
            ),
        ]
    }

    /// Exports the cartridge in the LTFS reference file-backend layout (see [`reference`]).
    pub fn export_reference_layout(&mut self, out_dir: &Path) -> Result<(), CartridgeError> {
        reference::export(self, out_dir)
    }

    /// Creates a cartridge in `dest_dir` from a reference file-backend layout in `src_dir`.
    pub fn import_reference_layout(
        src_dir: &Path,
        dest_dir: &Path,
        spec: CartridgeSpec,
    ) -> Result<Cartridge, CartridgeError> {
        reference::import(src_dir, dest_dir, spec)
    }

    pub(crate) fn set_volume_change_reference(&mut self, vcr: u32) {
        self.meta.volume_change_reference = vcr;
    }
}

/// A manufacturer serial number for a new medium: ten characters, upper-case hex after a
/// two-letter maker prefix, deterministic for a barcode so that recreated state is stable.
fn manufacturer_serial(barcode: &str) -> String {
    format!("TL{:08X}", crc32fast::hash(barcode.as_bytes()))
}
