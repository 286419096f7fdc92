//! One partition of a cartridge on disk: an append-only data file holding the records back to
//! back, and beside it an index file of fixed-size entries (one per object: record or filemark)
//! so any block can be located in O(1).
//!
//! Index entry (24 bytes, little-endian): kind u8, 3 reserved, length u32, data offset u64,
//! CRC-32 of the record u32, CRC-32 of the 20 bytes before it u32 (detects torn entries).
//!
//! Write ordering: index bytes are only written after the data they describe was handed to the
//! kernel, so an index entry on disk never points past data that was not at least written; after
//! a crash the tail is re-validated (lengths and CRCs) on open.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::CartridgeError;

/// Size of one index entry on disk.
pub const INDEX_ENTRY_LEN: usize = 24;
/// Bytes of small records buffered before the data file is written out. Records at least
/// this large bypass the buffer and go to the file in one write, without a copy.
const DATA_BUFFER: usize = 64 * 1024;
/// Index bytes buffered before they are written out.
const INDEX_BUFFER: usize = 64 * 1024;
/// Tail entries whose record CRC is re-checked on open.
const TAIL_CHECK: usize = 8;

/// What an object in a partition is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    Record,
    Filemark,
}

/// One index entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    pub kind: ObjectKind,
    pub length: u32,
    pub offset: u64,
    pub crc: u32,
}

impl IndexEntry {
    fn encode(&self) -> [u8; INDEX_ENTRY_LEN] {
        let mut b = [0u8; INDEX_ENTRY_LEN];
        b[0] = match self.kind {
            ObjectKind::Record => b'R',
            ObjectKind::Filemark => b'F',
        };
        b[4..8].copy_from_slice(&self.length.to_le_bytes());
        b[8..16].copy_from_slice(&self.offset.to_le_bytes());
        b[16..20].copy_from_slice(&self.crc.to_le_bytes());
        let ec = crc32fast::hash(&b[..20]);
        b[20..24].copy_from_slice(&ec.to_le_bytes());
        b
    }

    fn decode(b: &[u8]) -> Option<IndexEntry> {
        let b: &[u8; INDEX_ENTRY_LEN] = b.try_into().ok()?;
        let stored = u32::from_le_bytes([b[20], b[21], b[22], b[23]]);
        if crc32fast::hash(&b[..20]) != stored || b[1..4] != [0, 0, 0] {
            return None;
        }
        let kind = match b[0] {
            b'R' => ObjectKind::Record,
            b'F' => ObjectKind::Filemark,
            _ => return None,
        };
        Some(IndexEntry {
            kind,
            length: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
            offset: u64::from_le_bytes([b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]]),
            crc: u32::from_le_bytes([b[16], b[17], b[18], b[19]]),
        })
    }

    fn end(&self) -> u64 {
        self.offset + u64::from(self.length)
    }
}

/// A partition's data and index files, with the index held in memory.
#[derive(Debug)]
pub struct PartitionStore {
    number: u8,
    data_path: PathBuf,
    index_path: PathBuf,
    /// Writer side of the data file (appends).
    data: BufWriter<File>,
    /// Reader side of the data file (pread).
    reader: File,
    index: File,
    entries: Vec<IndexEntry>,
    /// Index entries not yet written to the index file.
    pending_index: Vec<u8>,
    /// Entries already in the index file.
    index_written: usize,
    /// Data bytes handed to the kernel.
    data_written: u64,
    /// Total data bytes (written or buffered).
    data_len: u64,
    /// Scratch buffer for reads into a buffer shorter than the record.
    scratch: Vec<u8>,
    /// Filemarks in the partition.
    filemarks: u64,
}

fn io_err(path: &Path, source: std::io::Error) -> CartridgeError {
    CartridgeError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl PartitionStore {
    /// File names of partition `n` inside a cartridge directory.
    pub fn paths(dir: &Path, n: u8) -> (PathBuf, PathBuf) {
        (
            dir.join(format!("p{n}.data")),
            dir.join(format!("p{n}.idx")),
        )
    }

    /// Opens (creating if needed) partition `n` in `dir`, recovering from a torn tail.
    pub fn open(dir: &Path, n: u8) -> Result<PartitionStore, CartridgeError> {
        let (data_path, index_path) = Self::paths(dir, n);
        let open = |p: &Path| {
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(p)
                .map_err(|e| io_err(p, e))
        };
        let data_file = open(&data_path)?;
        let mut index = open(&index_path)?;
        let mut raw = Vec::new();
        index
            .read_to_end(&mut raw)
            .map_err(|e| io_err(&index_path, e))?;
        let data_file_len = data_file
            .metadata()
            .map_err(|e| io_err(&data_path, e))?
            .len();

        // Entries must be well formed and contiguous, and their data present.
        let mut entries = Vec::with_capacity(raw.len() / INDEX_ENTRY_LEN);
        let mut expected_offset = 0u64;
        for chunk in raw.chunks_exact(INDEX_ENTRY_LEN) {
            match IndexEntry::decode(chunk) {
                Some(e) if e.offset == expected_offset && e.end() <= data_file_len => {
                    expected_offset = e.end();
                    entries.push(e);
                }
                _ => break,
            }
        }
        let reader = data_file.try_clone().map_err(|e| io_err(&data_path, e))?;
        // Re-check the record CRCs at the tail: data written just before a crash may be torn.
        let mut keep = entries.len();
        let mut buf = Vec::new();
        let mut checked = 0;
        while keep > 0 && checked < TAIL_CHECK {
            let e = entries[keep - 1];
            checked += 1;
            if e.kind == ObjectKind::Filemark {
                break;
            }
            buf.resize(e.length as usize, 0);
            let ok =
                reader.read_exact_at(&mut buf, e.offset).is_ok() && crc32fast::hash(&buf) == e.crc;
            if ok {
                break;
            }
            tracing::warn!(
                partition = n,
                block = keep - 1,
                "dropping torn record at the tail"
            );
            keep -= 1;
        }
        let dropped = raw.len() / INDEX_ENTRY_LEN != keep || raw.len() % INDEX_ENTRY_LEN != 0;
        entries.truncate(keep);
        let data_len = entries.last().map_or(0, IndexEntry::end);
        if dropped || data_file_len != data_len {
            if dropped {
                tracing::warn!(
                    partition = n,
                    kept = keep,
                    "recovered partition index after a torn tail"
                );
            }
            index
                .set_len((keep * INDEX_ENTRY_LEN) as u64)
                .map_err(|e| io_err(&index_path, e))?;
            data_file
                .set_len(data_len)
                .map_err(|e| io_err(&data_path, e))?;
        }
        let mut data_file = data_file;
        use std::io::Seek;
        data_file
            .seek(std::io::SeekFrom::Start(data_len))
            .map_err(|e| io_err(&data_path, e))?;
        index
            .seek(std::io::SeekFrom::Start((keep * INDEX_ENTRY_LEN) as u64))
            .map_err(|e| io_err(&index_path, e))?;
        let filemarks = entries
            .iter()
            .filter(|e| e.kind == ObjectKind::Filemark)
            .count() as u64;
        Ok(PartitionStore {
            filemarks,
            number: n,
            data_path,
            index_path,
            data: BufWriter::with_capacity(DATA_BUFFER, data_file),
            reader,
            index,
            index_written: entries.len(),
            entries,
            pending_index: Vec::with_capacity(INDEX_BUFFER),
            data_written: data_len,
            data_len,
            scratch: Vec::new(),
        })
    }

    /// Partition number.
    pub fn number(&self) -> u8 {
        self.number
    }

    /// Number of objects (records and filemarks): the block address of end of data.
    pub fn len(&self) -> u64 {
        self.entries.len() as u64
    }

    /// Whether the partition holds nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes of record data stored.
    pub fn data_bytes(&self) -> u64 {
        self.data_len
    }

    /// Number of filemarks in the partition.
    pub fn filemark_count(&self) -> u64 {
        self.filemarks
    }

    /// The index entry of `block`.
    pub fn entry(&self, block: u64) -> Option<IndexEntry> {
        self.entries.get(usize::try_from(block).ok()?).copied()
    }

    /// All index entries.
    pub fn entries(&self) -> &[IndexEntry] {
        &self.entries
    }

    /// Number of filemarks in blocks `0..block` (for READ POSITION's file number).
    pub fn filemarks_before(&self, block: u64) -> u64 {
        let end = (block as usize).min(self.entries.len());
        self.entries[..end]
            .iter()
            .filter(|e| e.kind == ObjectKind::Filemark)
            .count() as u64
    }

    fn flush_data(&mut self) -> Result<(), CartridgeError> {
        self.data.flush().map_err(|e| io_err(&self.data_path, e))?;
        self.data_written = self.data_len;
        Ok(())
    }

    fn flush_index(&mut self) -> Result<(), CartridgeError> {
        if self.pending_index.is_empty() {
            return Ok(());
        }
        // Data first: an index entry must never describe bytes the kernel has not seen.
        self.flush_data()?;
        self.index
            .write_all(&self.pending_index)
            .map_err(|e| io_err(&self.index_path, e))?;
        self.index_written += self.pending_index.len() / INDEX_ENTRY_LEN;
        self.pending_index.clear();
        Ok(())
    }

    /// Hands every buffered byte to the kernel (no fsync).
    pub fn flush(&mut self) -> Result<(), CartridgeError> {
        self.flush_index()?;
        self.flush_data()
    }

    /// Makes everything written so far durable: data first, then the index.
    pub fn sync(&mut self) -> Result<(), CartridgeError> {
        self.flush()?;
        self.data
            .get_ref()
            .sync_data()
            .map_err(|e| io_err(&self.data_path, e))?;
        self.index
            .sync_data()
            .map_err(|e| io_err(&self.index_path, e))
    }

    /// Drops every object from `block` on (a write at `block` replaces everything after it).
    pub fn truncate(&mut self, block: u64) -> Result<(), CartridgeError> {
        let block = usize::try_from(block).unwrap_or(usize::MAX);
        if block >= self.entries.len() {
            return Ok(());
        }
        self.flush()?;
        let data_len = self.entries.get(block).map_or(self.data_len, |e| e.offset);
        let dropped_marks = self.entries[block..]
            .iter()
            .filter(|e| e.kind == ObjectKind::Filemark)
            .count() as u64;
        self.filemarks -= dropped_marks;
        self.entries.truncate(block);
        self.data
            .get_ref()
            .set_len(data_len)
            .map_err(|e| io_err(&self.data_path, e))?;
        use std::io::Seek;
        self.data
            .get_mut()
            .seek(std::io::SeekFrom::Start(data_len))
            .map_err(|e| io_err(&self.data_path, e))?;
        self.index
            .set_len((block * INDEX_ENTRY_LEN) as u64)
            .map_err(|e| io_err(&self.index_path, e))?;
        self.index
            .seek(std::io::SeekFrom::Start((block * INDEX_ENTRY_LEN) as u64))
            .map_err(|e| io_err(&self.index_path, e))?;
        self.index_written = block;
        self.data_len = data_len;
        self.data_written = data_len;
        Ok(())
    }

    fn push(&mut self, entry: IndexEntry) -> Result<(), CartridgeError> {
        if entry.kind == ObjectKind::Filemark {
            self.filemarks += 1;
        }
        self.entries.push(entry);
        self.pending_index.extend_from_slice(&entry.encode());
        if self.pending_index.len() >= INDEX_BUFFER {
            self.flush_index()?;
        }
        Ok(())
    }

    /// Writes a record at `block`, truncating everything from `block` on first.
    pub fn write_record(&mut self, block: u64, data: &[u8]) -> Result<(), CartridgeError> {
        let length =
            u32::try_from(data.len()).map_err(|_| CartridgeError::RecordTooLarge(data.len()))?;
        self.truncate(block)?;
        if block > self.len() {
            return Err(CartridgeError::BeyondEndOfData {
                partition: self.number,
                block,
            });
        }
        let entry = IndexEntry {
            kind: ObjectKind::Record,
            length,
            offset: self.data_len,
            crc: crc32fast::hash(data),
        };
        self.data
            .write_all(data)
            .map_err(|e| io_err(&self.data_path, e))?;
        self.data_len += u64::from(length);
        self.push(entry)
    }

    /// Writes `count` filemarks at `block`, truncating everything from `block` on first.
    pub fn write_filemarks(&mut self, block: u64, count: u64) -> Result<(), CartridgeError> {
        self.truncate(block)?;
        if block > self.len() {
            return Err(CartridgeError::BeyondEndOfData {
                partition: self.number,
                block,
            });
        }
        for _ in 0..count {
            self.push(IndexEntry {
                kind: ObjectKind::Filemark,
                length: 0,
                offset: self.data_len,
                crc: 0,
            })?;
        }
        Ok(())
    }

    /// Reads the record at `block` into `buf` (as much as fits) and returns the record's full
    /// length. The CRC of the whole record is checked.
    pub fn read_record(&mut self, block: u64, buf: &mut [u8]) -> Result<usize, CartridgeError> {
        let e = self.entry(block).ok_or(CartridgeError::BeyondEndOfData {
            partition: self.number,
            block,
        })?;
        if e.kind != ObjectKind::Record {
            return Err(CartridgeError::NotARecord {
                partition: self.number,
                block,
            });
        }
        if e.end() > self.data_written {
            self.flush_data()?;
        }
        let len = e.length as usize;
        let crc = if buf.len() >= len {
            let dst = &mut buf[..len];
            self.reader
                .read_exact_at(dst, e.offset)
                .map_err(|err| io_err(&self.data_path, err))?;
            crc32fast::hash(dst)
        } else {
            self.scratch.resize(len, 0);
            self.reader
                .read_exact_at(&mut self.scratch, e.offset)
                .map_err(|err| io_err(&self.data_path, err))?;
            buf.copy_from_slice(&self.scratch[..buf.len()]);
            crc32fast::hash(&self.scratch)
        };
        if crc != e.crc {
            return Err(CartridgeError::CrcMismatch {
                partition: self.number,
                block,
            });
        }
        Ok(len)
    }

    /// Removes every object and the files' contents.
    pub fn clear(&mut self) -> Result<(), CartridgeError> {
        self.pending_index.clear();
        self.flush_data()?;
        self.entries.clear();
        self.filemarks = 0;
        self.index_written = 0;
        self.data_len = 0;
        self.data_written = 0;
        self.data
            .get_ref()
            .set_len(0)
            .map_err(|e| io_err(&self.data_path, e))?;
        use std::io::Seek;
        self.data
            .get_mut()
            .seek(std::io::SeekFrom::Start(0))
            .map_err(|e| io_err(&self.data_path, e))?;
        self.index
            .set_len(0)
            .map_err(|e| io_err(&self.index_path, e))?;
        self.index
            .seek(std::io::SeekFrom::Start(0))
            .map_err(|e| io_err(&self.index_path, e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_round_trip_and_torn_detection() {
        let e = IndexEntry {
            kind: ObjectKind::Record,
            length: 7,
            offset: 1 << 40,
            crc: 0xdead_beef,
        };
        let b = e.encode();
        assert_eq!(IndexEntry::decode(&b), Some(e));
        let mut bad = b;
        bad[9] ^= 1;
        assert_eq!(IndexEntry::decode(&bad), None);
        assert_eq!(IndexEntry::decode(&b[..10]), None);
    }

    #[test]
    fn write_read_truncate() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = PartitionStore::open(dir.path(), 0).unwrap();
        p.write_record(0, b"hello").unwrap();
        p.write_filemarks(1, 2).unwrap();
        p.write_record(3, b"world!").unwrap();
        assert_eq!(p.len(), 4);
        let mut buf = [0u8; 16];
        assert_eq!(p.read_record(3, &mut buf).unwrap(), 6);
        assert_eq!(&buf[..6], b"world!");
        let mut small = [0u8; 2];
        assert_eq!(p.read_record(0, &mut small).unwrap(), 5);
        assert_eq!(&small, b"he");
        assert!(matches!(
            p.read_record(1, &mut buf),
            Err(CartridgeError::NotARecord { .. })
        ));
        assert_eq!(p.filemarks_before(4), 2);
        p.write_record(1, b"x").unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p.data_bytes(), 6);
        p.sync().unwrap();
        drop(p);
        let mut p = PartitionStore::open(dir.path(), 0).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p.read_record(1, &mut buf).unwrap(), 1);
        assert!(matches!(
            p.write_record(5, b"gap"),
            Err(CartridgeError::BeyondEndOfData { .. })
        ));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        #[test]
        fn index_decode_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..48)) {
            if let Some(e) = IndexEntry::decode(&bytes) {
                proptest::prop_assert_eq!(e.encode().to_vec(), bytes);
            }
        }

        #[test]
        fn index_round_trip(
            fm in proptest::prelude::any::<bool>(),
            length in proptest::prelude::any::<u32>(),
            offset in proptest::prelude::any::<u64>(),
            crc in proptest::prelude::any::<u32>(),
        ) {
            let e = IndexEntry {
                kind: if fm { ObjectKind::Filemark } else { ObjectKind::Record },
                length,
                offset,
                crc,
            };
            proptest::prop_assert_eq!(IndexEntry::decode(&e.encode()), Some(e));
        }
    }
}
