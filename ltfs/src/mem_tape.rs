//! An in-memory two-partition tape for tests and tools.
//!
//! [`MemTape`] follows the SSC-4 rules LTFS depends on: blocks are variable-length records or
//! filemarks numbered together, a write discards everything after it on the partition, reading
//! at end of data reports BLANK CHECK ([`ReadOutcome::EndOfData`]) without moving, writes past
//! the early-warning point report it, and writes past capacity fail. It also keeps a MAM
//! attribute store per partition and a volume change reference that moves on every write.

use std::collections::BTreeMap;

use crate::device::{MamAttribute, Position, ReadOutcome, TapeDevice, WriteOutcome};
use crate::error::{LtfsError, Result};

/// Errors of the in-memory tape, in SSC terms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MemTapeError {
    #[error("partition {0} does not exist")]
    NoSuchPartition(u8),
    /// LOCATE beyond end of data (BLANK CHECK, SSC-4 7.6).
    #[error("blank check: block {block} is beyond end of data {end} on partition {partition}")]
    BlankCheck { partition: u8, block: u64, end: u64 },
    /// The record does not fit in the partition (VOLUME OVERFLOW, SSC-4 4.2.3).
    #[error("volume overflow on partition {0}")]
    VolumeOverflow(u8),
    #[error("record of {0} bytes exceeds the maximum record size {1}")]
    RecordTooLarge(usize, usize),
    #[error("write protected")]
    WriteProtected,
}

#[derive(Debug, Clone)]
enum Block {
    Record(Vec<u8>),
    Filemark,
}

#[derive(Debug, Clone, Default)]
struct Partition {
    blocks: Vec<Block>,
    used_bytes: u64,
}

/// Cost in bytes accounted for a filemark against capacity.
const FILEMARK_COST: u64 = 0;

/// An in-memory tape cartridge loaded in a drive.
#[derive(Debug, Clone)]
pub struct MemTape {
    partitions: Vec<Partition>,
    capacities: Vec<u64>,
    early_warning: u64,
    position: Position,
    attributes: BTreeMap<(u8, u16), MamAttribute>,
    volume_change_reference: u64,
    max_record: usize,
    write_protected: bool,
    offers_vcr: bool,
}

impl MemTape {
    /// A blank single-partition tape of `capacity` bytes; early warning `early_warning` bytes
    /// before the end of each partition.
    pub fn new(capacity: u64, early_warning: u64) -> Self {
        MemTape {
            partitions: vec![Partition::default()],
            capacities: vec![capacity],
            early_warning,
            position: Position {
                partition: 0,
                block: 0,
            },
            attributes: BTreeMap::new(),
            volume_change_reference: 0,
            max_record: 8 * 1024 * 1024,
            write_protected: false,
            offers_vcr: true,
        }
    }

    /// A blank tape already split into two partitions of the given capacities.
    pub fn with_partitions(index_capacity: u64, data_capacity: u64, early_warning: u64) -> Self {
        let mut tape = MemTape::new(index_capacity + data_capacity, early_warning);
        tape.partitions = vec![Partition::default(), Partition::default()];
        tape.capacities = vec![index_capacity, data_capacity];
        tape
    }

    /// Sets the volume change reference (as if the cartridge came from elsewhere).
    pub fn set_volume_change_reference(&mut self, value: u64) {
        self.volume_change_reference = value;
    }

    /// Makes [`TapeDevice::volume_change_reference`] report `None`, like a drive without one.
    pub fn set_offers_volume_change_reference(&mut self, offers: bool) {
        self.offers_vcr = offers;
    }

    /// Write-protects the cartridge.
    pub fn set_write_protected(&mut self, protected: bool) {
        self.write_protected = protected;
    }

    /// End of data (number of blocks) of a partition.
    pub fn end_of_data(&self, partition: u8) -> Option<u64> {
        self.partitions
            .get(usize::from(partition))
            .map(|p| p.blocks.len() as u64)
    }

    /// Bytes of record data stored on a partition.
    pub fn used_bytes(&self, partition: u8) -> Option<u64> {
        self.partitions
            .get(usize::from(partition))
            .map(|p| p.used_bytes)
    }

    /// The record stored at a block, `None` for a filemark or a block beyond end of data.
    pub fn record(&self, partition: u8, block: u64) -> Option<&[u8]> {
        let p = self.partitions.get(usize::from(partition))?;
        match p.blocks.get(usize::try_from(block).ok()?)? {
            Block::Record(r) => Some(r),
            Block::Filemark => None,
        }
    }

    /// Whether the block is a filemark.
    pub fn is_filemark(&self, partition: u8, block: u64) -> bool {
        let Some(p) = self.partitions.get(usize::from(partition)) else {
            return false;
        };
        let Ok(i) = usize::try_from(block) else {
            return false;
        };
        matches!(p.blocks.get(i), Some(Block::Filemark))
    }

    /// Cuts a partition at `block`: everything from it on is erased (a crash simulation helper).
    pub fn truncate(&mut self, partition: u8, block: u64) -> Result<()> {
        let p = self.partition_mut(partition)?;
        let keep = usize::try_from(block)
            .unwrap_or(usize::MAX)
            .min(p.blocks.len());
        p.blocks.truncate(keep);
        p.used_bytes = p
            .blocks
            .iter()
            .map(|b| match b {
                Block::Record(r) => r.len() as u64,
                Block::Filemark => FILEMARK_COST,
            })
            .sum();
        Ok(())
    }

    /// Removes a MAM attribute.
    pub fn remove_attribute(&mut self, partition: u8, id: u16) {
        self.attributes.remove(&(partition, id));
    }

    fn partition_mut(&mut self, partition: u8) -> Result<&mut Partition> {
        self.partitions
            .get_mut(usize::from(partition))
            .ok_or_else(|| LtfsError::device("partition", MemTapeError::NoSuchPartition(partition)))
    }

    fn append(&mut self, block: Block, op: &'static str) -> Result<WriteOutcome> {
        if self.write_protected {
            return Err(LtfsError::device(op, MemTapeError::WriteProtected));
        }
        let Position {
            partition,
            block: at,
        } = self.position;
        let capacity = self
            .capacities
            .get(usize::from(partition))
            .copied()
            .unwrap_or(0);
        let early_warning = self.early_warning;
        let p = self.partition_mut(partition)?;
        // SSC-4 4.2.12: writing discards every logical object after the current position.
        let at_index = usize::try_from(at)
            .unwrap_or(usize::MAX)
            .min(p.blocks.len());
        for gone in p.blocks.drain(at_index..) {
            if let Block::Record(r) = gone {
                p.used_bytes -= r.len() as u64;
            }
        }
        let cost = match &block {
            Block::Record(r) => r.len() as u64,
            Block::Filemark => FILEMARK_COST,
        };
        if p.used_bytes + cost > capacity {
            return Err(LtfsError::device(
                op,
                MemTapeError::VolumeOverflow(partition),
            ));
        }
        p.used_bytes += cost;
        p.blocks.push(block);
        let past_ew = p.used_bytes > capacity.saturating_sub(early_warning);
        self.position.block = at_index as u64 + 1;
        self.volume_change_reference += 1;
        Ok(if past_ew {
            WriteOutcome::EarlyWarning
        } else {
            WriteOutcome::Written
        })
    }
}

impl TapeDevice for MemTape {
    fn position(&mut self) -> Result<Position> {
        Ok(self.position)
    }

    fn locate(&mut self, partition: u8, block: u64) -> Result<()> {
        let end = self
            .end_of_data(partition)
            .ok_or_else(|| LtfsError::device("locate", MemTapeError::NoSuchPartition(partition)))?;
        if block > end {
            // SSC-4: the drive stops at end of data and reports BLANK CHECK.
            self.position = Position {
                partition,
                block: end,
            };
            return Err(LtfsError::device(
                "locate",
                MemTapeError::BlankCheck {
                    partition,
                    block,
                    end,
                },
            ));
        }
        self.position = Position { partition, block };
        Ok(())
    }

    fn locate_end_of_data(&mut self, partition: u8) -> Result<u64> {
        let end = self.end_of_data(partition).ok_or_else(|| {
            LtfsError::device(
                "space to end of data",
                MemTapeError::NoSuchPartition(partition),
            )
        })?;
        self.position = Position {
            partition,
            block: end,
        };
        Ok(end)
    }

    fn read_record(&mut self, buf: &mut [u8]) -> Result<ReadOutcome> {
        let Position { partition, block } = self.position;
        let p = self
            .partitions
            .get(usize::from(partition))
            .ok_or_else(|| LtfsError::device("read", MemTapeError::NoSuchPartition(partition)))?;
        let Some(entry) = usize::try_from(block).ok().and_then(|i| p.blocks.get(i)) else {
            return Ok(ReadOutcome::EndOfData);
        };
        let outcome = match entry {
            Block::Filemark => ReadOutcome::Filemark,
            Block::Record(r) => {
                let Some(dst) = buf.get_mut(..r.len()) else {
                    // SSC-4 4.2.22 ILI: the position still moves past the record.
                    self.position.block += 1;
                    return Err(LtfsError::RecordTooLong {
                        length: r.len(),
                        capacity: buf.len(),
                    });
                };
                dst.copy_from_slice(r);
                ReadOutcome::Data(r.len())
            }
        };
        self.position.block += 1;
        Ok(outcome)
    }

    fn write_record(&mut self, data: &[u8]) -> Result<WriteOutcome> {
        if data.len() > self.max_record {
            return Err(LtfsError::device(
                "write",
                MemTapeError::RecordTooLarge(data.len(), self.max_record),
            ));
        }
        self.append(Block::Record(data.to_vec()), "write")
    }

    fn write_filemarks(&mut self, count: u32, _immediate: bool) -> Result<WriteOutcome> {
        let mut outcome = WriteOutcome::Written;
        for _ in 0..count {
            if self.append(Block::Filemark, "write filemarks")? == WriteOutcome::EarlyWarning {
                outcome = WriteOutcome::EarlyWarning;
            }
        }
        Ok(outcome)
    }

    fn partition_count(&mut self) -> Result<u8> {
        Ok(u8::try_from(self.partitions.len()).unwrap_or(u8::MAX))
    }

    fn format_two_partitions(&mut self) -> Result<()> {
        if self.write_protected {
            return Err(LtfsError::device(
                "format medium",
                MemTapeError::WriteProtected,
            ));
        }
        let total: u64 = self.capacities.iter().sum();
        // LTO drives give the index partition a small fixed share; 1/20 here.
        let index = (total / 20).max(16 * 1024 * 1024).min(total / 2);
        self.capacities = vec![index, total - index];
        self.partitions = vec![Partition::default(), Partition::default()];
        self.position = Position {
            partition: 0,
            block: 0,
        };
        self.volume_change_reference += 1;
        Ok(())
    }

    fn read_attribute(&mut self, partition: u8, id: u16) -> Result<Option<MamAttribute>> {
        Ok(self.attributes.get(&(partition, id)).cloned())
    }

    fn write_attribute(&mut self, partition: u8, attribute: &MamAttribute) -> Result<()> {
        if self.write_protected {
            return Err(LtfsError::device(
                "write attribute",
                MemTapeError::WriteProtected,
            ));
        }
        if usize::from(partition) >= self.partitions.len() {
            return Err(LtfsError::device(
                "write attribute",
                MemTapeError::NoSuchPartition(partition),
            ));
        }
        self.attributes
            .insert((partition, attribute.id), attribute.clone());
        Ok(())
    }

    fn volume_change_reference(&mut self) -> Result<Option<u64>> {
        Ok(self.offers_vcr.then_some(self.volume_change_reference))
    }

    fn set_up(&mut self, max_record: usize, _compression: bool) -> Result<()> {
        self.max_record = max_record;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tape() -> MemTape {
        MemTape::with_partitions(1 << 20, 1 << 20, 1024)
    }

    #[test]
    fn write_read_filemark_and_end_of_data() {
        let mut t = tape();
        t.write_record(b"abc").unwrap();
        t.write_filemarks(1, false).unwrap();
        t.locate(0, 0).unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(t.read_record(&mut buf).unwrap(), ReadOutcome::Data(3));
        assert_eq!(&buf[..3], b"abc");
        assert_eq!(t.read_record(&mut buf).unwrap(), ReadOutcome::Filemark);
        assert_eq!(t.position().unwrap().block, 2);
        assert_eq!(t.read_record(&mut buf).unwrap(), ReadOutcome::EndOfData);
        assert_eq!(t.position().unwrap().block, 2);
    }

    #[test]
    fn write_truncates_everything_after() {
        let mut t = tape();
        for r in [b"a", b"b", b"c"] {
            t.write_record(r).unwrap();
        }
        t.locate(0, 1).unwrap();
        t.write_record(b"x").unwrap();
        assert_eq!(t.end_of_data(0), Some(2));
        assert_eq!(t.record(0, 1), Some(&b"x"[..]));
        assert_eq!(t.used_bytes(0), Some(2));
    }

    #[test]
    fn locate_beyond_end_of_data_is_blank_check() {
        let mut t = tape();
        t.write_record(b"a").unwrap();
        assert!(t.locate(0, 1).is_ok());
        let err = t.locate(0, 2).unwrap_err();
        assert!(matches!(err, LtfsError::Device { .. }));
        assert!(t.locate(2, 0).is_err());
    }

    #[test]
    fn early_warning_then_overflow() {
        let mut t = MemTape::with_partitions(100, 100, 30);
        assert_eq!(t.write_record(&[0; 60]).unwrap(), WriteOutcome::Written);
        assert_eq!(
            t.write_record(&[0; 20]).unwrap(),
            WriteOutcome::EarlyWarning
        );
        assert!(t.write_record(&[0; 30]).is_err());
    }

    #[test]
    fn short_buffer_reports_record_too_long_and_moves_on() {
        let mut t = tape();
        t.write_record(b"abcdef").unwrap();
        t.locate(0, 0).unwrap();
        let mut buf = [0u8; 2];
        assert!(matches!(
            t.read_record(&mut buf),
            Err(LtfsError::RecordTooLong {
                length: 6,
                capacity: 2
            })
        ));
        assert_eq!(t.position().unwrap().block, 1);
    }

    #[test]
    fn mam_store_and_vcr() {
        let mut t = tape();
        let vcr = t.volume_change_reference().unwrap().unwrap();
        t.write_record(b"a").unwrap();
        assert!(t.volume_change_reference().unwrap().unwrap() > vcr);
        let attr = MamAttribute {
            id: 0x0800,
            format: crate::device::MamFormat::Ascii,
            value: b"TAPELIB ".to_vec(),
        };
        t.write_attribute(1, &attr).unwrap();
        assert_eq!(t.read_attribute(1, 0x0800).unwrap(), Some(attr));
        assert_eq!(t.read_attribute(0, 0x0800).unwrap(), None);
    }

    #[test]
    fn format_makes_two_empty_partitions() {
        let mut t = MemTape::new(1 << 30, 1 << 20);
        t.write_record(b"a").unwrap();
        t.format_two_partitions().unwrap();
        assert_eq!(t.partition_count().unwrap(), 2);
        assert_eq!(t.end_of_data(0), Some(0));
        assert_eq!(t.end_of_data(1), Some(0));
    }
}
