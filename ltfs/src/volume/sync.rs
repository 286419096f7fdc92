//! Writing indexes: to the data partition on sync, to the index partition at unmount, with the
//! Volume Coherency Information that lets the next mount trust them.

use tracing::{debug, info};
use uuid::Uuid;

use super::records::{RecordReader, RecordWriter};
use super::{Volume, CREATOR, FIRST_INDEX_CONSTRUCT};
use crate::device::TapeDevice;
use crate::error::{LtfsError, Result};
use crate::index::{parse_index, write_index, Index, IndexLocation};
use crate::mam::{ApplicationAttributes, VolumeCoherency};
use crate::time::LtfsTime;

/// Writes an index construct — filemark, the index in `blocksize` records, filemark — starting
/// at block `at` of physical partition `partition` (LTFS 2.4 §8.2). The index's `location` must
/// already say `at + 1`. Returns the block after the closing filemark and whether early warning
/// was reported.
pub(crate) fn write_index_construct<D: TapeDevice + ?Sized>(
    device: &mut D,
    partition: u8,
    at: u64,
    index: &Index,
    blocksize: usize,
) -> Result<(u64, bool)> {
    device.locate(partition, at)?;
    let mut ew = device.write_filemarks(1, true)? == crate::WriteOutcome::EarlyWarning;
    let mut w = RecordWriter::new(&mut *device, blocksize);
    if let Err(e) = write_index(index, &mut w) {
        return Err(w.error.take().unwrap_or(LtfsError::Io {
            context: "serializing an index",
            source: e,
        }));
    }
    let (records, index_ew) = w.finish()?;
    ew |= index_ew;
    // Synchronous filemark: the index is on the medium before we report success (SSC-4 7.12).
    ew |= device.write_filemarks(1, false)? == crate::WriteOutcome::EarlyWarning;
    debug!(
        partition,
        at,
        records,
        generation = index.generation,
        "index written"
    );
    Ok((at + 2 + records, ew))
}

/// Reads and parses the index whose first record is at `block` of physical `partition`.
pub(crate) fn read_index_at<D: TapeDevice + ?Sized>(
    device: &mut D,
    partition: u8,
    block: u64,
    blocksize: usize,
) -> Result<Index> {
    device.locate(partition, block)?;
    let mut r = RecordReader::new(&mut *device, blocksize);
    match parse_index(&mut r) {
        Ok(index) => Ok(index),
        Err(e) => Err(match r.error.take() {
            Some(device_error) => device_error,
            None => LtfsError::Index(e),
        }),
    }
}

/// Writes the Volume Coherency Information of one partition with the current volume change
/// reference (LTFS 2.4 §9.3.2).
pub(crate) fn write_vci<D: TapeDevice + ?Sized>(
    device: &mut D,
    partition: u8,
    generation: u64,
    block: u64,
    volume_uuid: Uuid,
) -> Result<()> {
    let vcr = device.volume_change_reference()?.unwrap_or(0);
    VolumeCoherency {
        volume_change_reference: vcr,
        generation,
        block,
        volume_uuid,
        version: 1,
    }
    .write(device, partition)
}

pub(crate) fn application_attributes(volume_name: &str, barcode: &str) -> ApplicationAttributes {
    ApplicationAttributes {
        vendor: "TAPELIB".to_owned(),
        name: "tapelib".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        volume_name: volume_name.to_owned(),
        barcode: barcode.to_owned(),
    }
}

impl<D: TapeDevice> Volume<D> {
    /// Writes the index to the data partition as a new generation if anything changed since
    /// the last one (LTFS 2.4 §6.3).
    pub fn sync(&mut self) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        self.check_writable()?;
        let at = self.data_append_block()?;
        let location = IndexLocation {
            partition: self.label.data_partition,
            start_block: at + 1,
        };
        self.index.generation += 1;
        self.index.previous = Some(self.last_dp_index);
        self.index.location = location;
        self.index.update_time = LtfsTime::now();
        self.index.creator = CREATOR.to_owned();
        let (end, ew) =
            write_index_construct(&mut self.device, self.dp, at, &self.index, self.blocksize)?;
        self.early_warning |= ew;
        self.dp_append = Some(end);
        self.last_dp_index = location;
        self.dirty = false;
        self.ip_current = false;
        self.bytes_since_sync = 0;
        self.files_since_sync = 0;
        write_vci(
            &mut self.device,
            self.dp,
            self.index.generation,
            location.start_block,
            self.index.volume_uuid,
        )?;
        info!(
            generation = self.index.generation,
            block = at + 1,
            "index synced to data partition"
        );
        Ok(())
    }

    /// Writes outstanding changes to the data partition, the final index to the index partition
    /// (same generation, pointing back at the data-partition copy), and the MAM attributes;
    /// then hands the device back.
    pub fn unmount(mut self) -> Result<D> {
        if self.read_only {
            return Ok(self.device);
        }
        self.sync()?;
        if !self.ip_current {
            self.write_index_partition()?;
        }
        Ok(self.device)
    }

    /// Copies the current index to the index partition, overwriting the previous one.
    pub(crate) fn write_index_partition(&mut self) -> Result<()> {
        // Files a foreign writer placed on the index partition must survive: append after them
        // instead of overwriting (LTFS 2.4 §6.6 data placement).
        let ip_letter = self.label.index_partition;
        let ip_has_data = has_extents_on(&self.index, ip_letter);
        let at = if ip_has_data {
            self.device.locate_end_of_data(self.ip)?
        } else {
            FIRST_INDEX_CONSTRUCT
        };
        let mut ip_index = self.index.clone_header_for(IndexLocation {
            partition: ip_letter,
            start_block: at + 1,
        });
        ip_index.previous = Some(self.last_dp_index);
        // The copy shares the tree of the in-memory index; only the header differs.
        std::mem::swap(&mut ip_index.root, &mut self.index.root);
        let written =
            write_index_construct(&mut self.device, self.ip, at, &ip_index, self.blocksize);
        std::mem::swap(&mut ip_index.root, &mut self.index.root);
        written?;
        let uuid = self.index.volume_uuid;
        let generation = self.index.generation;
        write_vci(&mut self.device, self.ip, generation, at + 1, uuid)?;
        write_vci(
            &mut self.device,
            self.dp,
            generation,
            self.last_dp_index.start_block,
            uuid,
        )?;
        let name = self.index.volume_name.clone().unwrap_or_default();
        application_attributes(&name, &self.vol1.barcode).write(&mut self.device)?;
        self.ip_current = true;
        info!(generation, "index written to index partition");
        Ok(())
    }

    pub(crate) fn data_append_block(&mut self) -> Result<u64> {
        match self.dp_append {
            Some(b) => Ok(b),
            None => {
                let b = self.device.locate_end_of_data(self.dp)?;
                self.dp_append = Some(b);
                Ok(b)
            }
        }
    }
}

fn has_extents_on(index: &Index, letter: char) -> bool {
    let mut stack = vec![&index.root];
    while let Some(d) = stack.pop() {
        for e in d.entries.values() {
            match e {
                crate::index::Entry::Directory(sub) => stack.push(sub),
                crate::index::Entry::File(f) => {
                    if f.extents.iter().any(|x| x.partition == letter) {
                        return true;
                    }
                }
            }
        }
    }
    false
}

impl Index {
    /// A copy of everything but the directory tree (left empty), relocated.
    pub(crate) fn clone_header_for(&self, location: IndexLocation) -> Index {
        Index {
            creator: self.creator.clone(),
            comment: self.comment.clone(),
            volume_uuid: self.volume_uuid,
            generation: self.generation,
            update_time: self.update_time,
            location,
            previous: self.previous,
            allow_policy_update: self.allow_policy_update,
            data_placement_policy: self.data_placement_policy.clone(),
            highest_file_uid: self.highest_file_uid,
            volume_lock_state: self.volume_lock_state.clone(),
            volume_name: self.volume_name.clone(),
            root: Default::default(),
            unknown: self.unknown.clone(),
        }
    }
}
