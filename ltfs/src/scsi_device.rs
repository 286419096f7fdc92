//! [`TapeDevice`] for a SCSI tape drive, through `tapelib_scsi::Drive`'s typed operations only.
//!
//! This module is the one place where LTFS meets the SCSI layer; it never builds a CDB, so the
//! LTFS crate stays ignorant of opcodes while every real or simulated drive can carry a volume.

use tapelib_scsi::drive::{
    Drive, DriveError, IndexPartitionSize, ReadOutcome as DriveRead, WriteOutcome as DriveWrite,
};
use tapelib_scsi::error::ErrorCategory;
use tapelib_scsi::spc::attribute::{Attribute, AttributeFormat};
use tapelib_scsi::ScsiTransport;

use crate::device::{MamAttribute, MamFormat, Position, ReadOutcome, TapeDevice, WriteOutcome};
use crate::error::{LtfsError, Result};

/// MAM attribute 0009h, the volume change reference the drive maintains (SPC-4 7.4.2.2).
const VOLUME_CHANGE_REFERENCE: u16 = 0x0009;

/// Index partition size when the drive cannot report the medium's capacity. LTO drives round
/// partition sizes up to whole wrap pairs; about 38 GB is what LTO-5..9 give for two wraps.
const DEFAULT_INDEX_PARTITION_MB: u32 = 38_000;

fn device_err(op: &'static str, e: DriveError) -> LtfsError {
    LtfsError::device(op, e)
}

/// SSC-4 write append error (50/00): a drive in append-only mode refuses to overwrite until
/// ALLOW OVERWRITE names the position (SSC-4 7.1, "allow overwrite").
fn is_append_refusal(e: &DriveError) -> bool {
    matches!(e, DriveError::Scsi(s) if s.sense().is_some_and(|s| s.asc == 0x50))
}

impl<T: ScsiTransport> TapeDevice for Drive<T> {
    fn position(&mut self) -> Result<Position> {
        let p = self
            .read_position()
            .map_err(|e| device_err("read position", e))?;
        if p.bpu {
            return Err(LtfsError::device(
                "read position",
                DriveError::Unexpected("drive reports block position unknown".into()),
            ));
        }
        let partition = u8::try_from(p.partition).map_err(|_| {
            LtfsError::device(
                "read position",
                DriveError::Unexpected(format!("partition {} out of range", p.partition)),
            )
        })?;
        Ok(Position {
            partition,
            block: p.block,
        })
    }

    fn locate(&mut self, partition: u8, block: u64) -> Result<()> {
        Drive::locate(self, partition, block).map_err(|e| device_err("locate", e))
    }

    fn locate_end_of_data(&mut self, partition: u8) -> Result<u64> {
        Drive::locate_end_of_data(self, partition)
            .map_err(|e| device_err("locate end of data", e))?;
        Ok(TapeDevice::position(self)?.block)
    }

    fn read_record(&mut self, buf: &mut [u8]) -> Result<ReadOutcome> {
        match self.read_block(buf) {
            Ok(DriveRead::Data(n)) => Ok(ReadOutcome::Data(n)),
            Ok(DriveRead::Filemark) => Ok(ReadOutcome::Filemark),
            // End of partition while reading means nothing more is recorded there.
            Ok(DriveRead::EndOfData) | Ok(DriveRead::EndOfPartition) => Ok(ReadOutcome::EndOfData),
            Err(DriveError::RecordTooLarge {
                record_size,
                buffer,
            }) => Err(LtfsError::RecordTooLong {
                length: usize::try_from(record_size).unwrap_or(usize::MAX),
                capacity: buffer,
            }),
            Err(e) => Err(device_err("read", e)),
        }
    }

    fn write_record(&mut self, data: &[u8]) -> Result<WriteOutcome> {
        let outcome = match self.write_block(data) {
            Err(e) if is_append_refusal(&e) => {
                let here = TapeDevice::position(self)?;
                self.allow_overwrite(here.partition, here.block)
                    .map_err(|e| device_err("allow overwrite", e))?;
                self.write_block(data)
            }
            r => r,
        };
        match outcome {
            Ok(DriveWrite::Written) => Ok(WriteOutcome::Written),
            Ok(DriveWrite::EarlyWarning) => Ok(WriteOutcome::EarlyWarning),
            Err(e) => Err(device_err("write", e)),
        }
    }

    fn write_filemarks(&mut self, count: u32, immediate: bool) -> Result<WriteOutcome> {
        match Drive::write_filemarks(self, count, immediate) {
            Ok(DriveWrite::Written) => Ok(WriteOutcome::Written),
            Ok(DriveWrite::EarlyWarning) => Ok(WriteOutcome::EarlyWarning),
            Err(e) => Err(device_err("write filemarks", e)),
        }
    }

    fn partition_count(&mut self) -> Result<u8> {
        let n = Drive::partition_count(self).map_err(|e| device_err("partition count", e))?;
        Ok(u8::try_from(n).unwrap_or(u8::MAX))
    }

    fn format_two_partitions(&mut self) -> Result<()> {
        let index_mb = match self.native_capacity_mb() {
            // A twentieth of the medium, at most the usual two-wrap size: small test media
            // still get a data partition worth having.
            Ok(total) if total > 0 => u32::try_from((total / 20).max(1))
                .map_or(DEFAULT_INDEX_PARTITION_MB, |mb| {
                    mb.min(DEFAULT_INDEX_PARTITION_MB)
                }),
            _ => DEFAULT_INDEX_PARTITION_MB,
        };
        self.format_partitioned(IndexPartitionSize::Megabytes(index_mb))
            .map_err(|e| device_err("format", e))?;
        Drive::locate(self, 0, 0).map_err(|e| device_err("locate", e))
    }

    fn read_attribute(&mut self, partition: u8, id: u16) -> Result<Option<MamAttribute>> {
        let attr = Drive::read_attribute(self, partition, id)
            .map_err(|e| device_err("read attribute", e))?;
        Ok(attr.map(|a| MamAttribute {
            id: a.id,
            format: match a.format {
                AttributeFormat::Ascii => MamFormat::Ascii,
                AttributeFormat::Text => MamFormat::Text,
                AttributeFormat::Binary | AttributeFormat::Reserved => MamFormat::Binary,
            },
            value: a.value,
        }))
    }

    fn write_attribute(&mut self, partition: u8, attribute: &MamAttribute) -> Result<()> {
        let a = Attribute {
            id: attribute.id,
            read_only: false,
            format: match attribute.format {
                MamFormat::Binary => AttributeFormat::Binary,
                MamFormat::Ascii => AttributeFormat::Ascii,
                MamFormat::Text => AttributeFormat::Text,
            },
            value: attribute.value.clone(),
        };
        self.write_attributes(partition, std::slice::from_ref(&a))
            .map_err(|e| device_err("write attribute", e))
    }

    fn volume_change_reference(&mut self) -> Result<Option<u64>> {
        match Drive::read_attribute(self, 0, VOLUME_CHANGE_REFERENCE) {
            Ok(Some(a)) if !a.value.is_empty() && a.value.len() <= 8 => Ok(Some(
                a.value
                    .iter()
                    .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)),
            )),
            Ok(_) => Ok(None),
            // Drives without MAM access (or without this attribute) simply have no VCR.
            Err(e) if e.category() == Some(ErrorCategory::IllegalRequest) => Ok(None),
            Err(e) => Err(device_err("read volume change reference", e)),
        }
    }

    fn set_up(&mut self, max_record: usize, compression: bool) -> Result<()> {
        let limits = self
            .read_block_limits()
            .map_err(|e| device_err("read block limits", e))?;
        if (limits.max_block_length as usize) < max_record {
            return Err(LtfsError::device(
                "read block limits",
                DriveError::Unexpected(format!(
                    "drive records are at most {} bytes, the volume needs {max_record}",
                    limits.max_block_length
                )),
            ));
        }
        self.set_block_size(0)
            .map_err(|e| device_err("set variable block mode", e))?;
        self.set_compression(compression)
            .map_err(|e| device_err("set compression", e))
    }
}
