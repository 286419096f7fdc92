//! The tape device seen by LTFS: variable-length records, filemarks, two partitions and MAM.
//!
//! The trait mirrors SSC-4 sequential access semantics so that a SCSI drive implements it with
//! its typed commands only: one call is one record (variable block mode), block numbers are
//! logical object identifiers in which filemarks count (SSC-4 4.2.6), reading a filemark moves
//! past it, and reading at end of data reports [`ReadOutcome::EndOfData`] (BLANK CHECK) and
//! leaves the position there.

use crate::error::Result;

/// A position on the medium: physical partition number and logical object identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub partition: u8,
    pub block: u64,
}

/// What a READ found at the current position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOutcome {
    /// A record of this many bytes was transferred into the buffer; position is past it.
    Data(usize),
    /// A filemark; position is past it (SSC-4 4.2.9, FILEMARK bit in sense).
    Filemark,
    /// End of data (BLANK CHECK, SSC-4 4.2.5); position stays at end of data.
    EndOfData,
}

/// How a WRITE or WRITE FILEMARKS ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    Written,
    /// Written, but the medium is past the early-warning point (EOM bit, SSC-4 4.2.3).
    EarlyWarning,
}

/// Format of a MAM attribute value (SPC-4 7.4.2.1, table "attribute format").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MamFormat {
    Binary,
    Ascii,
    Text,
}

impl MamFormat {
    /// The 2-bit FORMAT code.
    pub fn code(self) -> u8 {
        match self {
            MamFormat::Binary => 0,
            MamFormat::Ascii => 1,
            MamFormat::Text => 2,
        }
    }

    /// Decodes a FORMAT code (the low two bits of the header byte).
    pub fn from_code(code: u8) -> Option<Self> {
        match code & 0x03 {
            0 => Some(MamFormat::Binary),
            1 => Some(MamFormat::Ascii),
            2 => Some(MamFormat::Text),
            _ => None,
        }
    }
}

/// One MAM attribute: identifier, format and raw value bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MamAttribute {
    pub id: u16,
    pub format: MamFormat,
    pub value: Vec<u8>,
}

/// A sequential-access device with two partitions and medium auxiliary memory.
///
/// Errors are reported as [`crate::LtfsError::Device`] carrying the device's own error, except
/// a record longer than the read buffer, which is [`crate::LtfsError::RecordTooLong`].
pub trait TapeDevice {
    /// Current partition and logical block (READ POSITION).
    fn position(&mut self) -> Result<Position>;
    /// Moves to a block of a partition (LOCATE(16)). Locating to end of data is allowed;
    /// locating beyond it is an error.
    fn locate(&mut self, partition: u8, block: u64) -> Result<()>;
    /// Moves to end of data of a partition (SPACE to end of data, SSC-4 7.9) and returns its block.
    fn locate_end_of_data(&mut self, partition: u8) -> Result<u64>;
    /// Reads one record into `buf` (variable block mode READ).
    fn read_record(&mut self, buf: &mut [u8]) -> Result<ReadOutcome>;
    /// Writes one record; everything after it on the partition is lost (SSC-4 4.2.12).
    fn write_record(&mut self, data: &[u8]) -> Result<WriteOutcome>;
    /// Writes `count` filemarks. `immediate` returns before the buffer reaches the medium;
    /// `false` also flushes previously written records (SSC-4 7.12, IMMED bit).
    fn write_filemarks(&mut self, count: u32, immediate: bool) -> Result<WriteOutcome>;
    /// Number of partitions on the mounted medium.
    fn partition_count(&mut self) -> Result<u8>;
    /// Repartitions the medium into two partitions (0 small index partition, 1 data partition)
    /// and leaves it positioned at partition 0 block 0; all data is lost.
    fn format_two_partitions(&mut self) -> Result<()>;
    /// Reads one MAM attribute of a partition; `None` when the attribute is not present.
    fn read_attribute(&mut self, partition: u8, id: u16) -> Result<Option<MamAttribute>>;
    /// Writes one MAM attribute of a partition.
    fn write_attribute(&mut self, partition: u8, attribute: &MamAttribute) -> Result<()>;
    /// The medium's volume change reference (MAM attribute 0x0009), if the device offers one.
    fn volume_change_reference(&mut self) -> Result<Option<u64>>;
    /// Prepares the device for LTFS: variable block mode, maximum record `max_record` bytes,
    /// data compression on or off.
    fn set_up(&mut self, max_record: usize, compression: bool) -> Result<()>;
}

impl<T: TapeDevice + ?Sized> TapeDevice for &mut T {
    fn position(&mut self) -> Result<Position> {
        (**self).position()
    }
    fn locate(&mut self, partition: u8, block: u64) -> Result<()> {
        (**self).locate(partition, block)
    }
    fn locate_end_of_data(&mut self, partition: u8) -> Result<u64> {
        (**self).locate_end_of_data(partition)
    }
    fn read_record(&mut self, buf: &mut [u8]) -> Result<ReadOutcome> {
        (**self).read_record(buf)
    }
    fn write_record(&mut self, data: &[u8]) -> Result<WriteOutcome> {
        (**self).write_record(data)
    }
    fn write_filemarks(&mut self, count: u32, immediate: bool) -> Result<WriteOutcome> {
        (**self).write_filemarks(count, immediate)
    }
    fn partition_count(&mut self) -> Result<u8> {
        (**self).partition_count()
    }
    fn format_two_partitions(&mut self) -> Result<()> {
        (**self).format_two_partitions()
    }
    fn read_attribute(&mut self, partition: u8, id: u16) -> Result<Option<MamAttribute>> {
        (**self).read_attribute(partition, id)
    }
    fn write_attribute(&mut self, partition: u8, attribute: &MamAttribute) -> Result<()> {
        (**self).write_attribute(partition, attribute)
    }
    fn volume_change_reference(&mut self) -> Result<Option<u64>> {
        (**self).volume_change_reference()
    }
    fn set_up(&mut self, max_record: usize, compression: bool) -> Result<()> {
        (**self).set_up(max_record, compression)
    }
}
