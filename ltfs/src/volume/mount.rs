//! Mounting: labels of both partitions, then the newest consistent index — straight from the
//! Volume Coherency Information when it is current, otherwise by reading the last index of each
//! partition; after a crash the last data-partition index is used (LTFS 2.4 §9.3, §6.4).

use tracing::{info, warn};

use super::sync::read_index_at;
use super::{SyncPolicy, Volume, FIRST_INDEX_CONSTRUCT};
use crate::device::{ReadOutcome, TapeDevice};
use crate::error::{LtfsError, Result};
use crate::index::{Index, IndexLocation, ValidationContext};
use crate::label::{LtfsLabel, Vol1Label, MAX_LABEL_LEN};
use crate::mam::VolumeCoherency;

/// Mount settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MountOptions {
    pub sync_policy: SyncPolicy,
    /// Never write to the medium (no recovery write, no unmount index).
    pub read_only: bool,
}

/// Which copy of the index was mounted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexSource {
    IndexPartition,
    DataPartition,
}

/// What a mount after an interrupted session recovered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// The data-partition index mounted instead of the index partition's.
    pub data_partition_index: IndexLocation,
    pub generation: u64,
    /// Generation found on the index partition, if any index was readable there.
    pub index_partition_generation: Option<u64>,
    /// Records written after the last index, which no index describes.
    pub unindexed_blocks: u64,
}

/// How a volume was mounted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountReport {
    pub generation: u64,
    pub source: IndexSource,
    /// The Volume Coherency Information was current and led straight to the index.
    pub used_coherency_information: bool,
    pub recovered: Option<Recovery>,
}

/// The two partitions' labels, checked against each other.
pub(crate) struct Labels {
    pub label: LtfsLabel,
    pub vol1: Vol1Label,
    pub ip: u8,
    pub dp: u8,
}

fn read_label_on<D: TapeDevice + ?Sized>(
    device: &mut D,
    partition: u8,
) -> Result<(Vol1Label, LtfsLabel)> {
    let mut buf = vec![0u8; MAX_LABEL_LEN * 16];
    device.locate(partition, 0)?;
    let record =
        |device: &mut D, buf: &mut [u8], block: u64, what: &'static str| -> Result<usize> {
            match device.read_record(buf) {
                Ok(ReadOutcome::Data(n)) => Ok(n),
                Ok(ReadOutcome::Filemark) => Err(LtfsError::Layout {
                    partition,
                    block,
                    found: "filemark",
                    expected: what,
                }),
                Ok(ReadOutcome::EndOfData) => Err(LtfsError::Layout {
                    partition,
                    block,
                    found: "end of data",
                    expected: what,
                }),
                Err(LtfsError::RecordTooLong { .. }) => Err(LtfsError::Layout {
                    partition,
                    block,
                    found: "oversized record",
                    expected: what,
                }),
                Err(e) => Err(e),
            }
        };
    let filemark = |device: &mut D, buf: &mut [u8], block: u64| -> Result<()> {
        match device.read_record(buf) {
            Ok(ReadOutcome::Filemark) => Ok(()),
            Ok(_) | Err(LtfsError::RecordTooLong { .. }) => Err(LtfsError::Layout {
                partition,
                block,
                found: "record",
                expected: "filemark after label",
            }),
            Err(e) => Err(e),
        }
    };
    let n = record(device, &mut buf, 0, "VOL1 label")?;
    let vol1 = Vol1Label::decode(buf.get(..n).unwrap_or(&[]))?;
    filemark(device, &mut buf, 1)?;
    let n = record(device, &mut buf, 2, "XML label")?;
    let label = LtfsLabel::parse(buf.get(..n).unwrap_or(&[]))?;
    filemark(device, &mut buf, 3)?;
    Ok((vol1, label))
}

/// Reads and compares the labels of both partitions and maps letters to physical partitions
/// from each label's own `location` (LTFS 2.4 §8.1.2).
pub(crate) fn read_labels<D: TapeDevice + ?Sized>(device: &mut D) -> Result<Labels> {
    let count = device.partition_count()?;
    if count != 2 {
        return Err(LtfsError::LabelMismatch(format!(
            "medium has {count} partitions, LTFS needs 2"
        )));
    }
    let (vol1_0, label_0) = read_label_on(device, 0)?;
    let (vol1_1, label_1) = read_label_on(device, 1)?;
    if vol1_0 != vol1_1 {
        return Err(LtfsError::LabelMismatch("VOL1 barcodes differ".into()));
    }
    if !label_0.same_volume(&label_1) {
        return Err(LtfsError::LabelMismatch(
            "XML labels differ beyond their location".into(),
        ));
    }
    if label_0.location == label_1.location {
        return Err(LtfsError::LabelMismatch(
            "both labels claim the same partition".into(),
        ));
    }
    let ip = if label_0.location == label_0.index_partition {
        0
    } else {
        1
    };
    Ok(Labels {
        vol1: vol1_0,
        ip,
        dp: 1 - ip,
        label: if ip == 0 { label_1 } else { label_0 },
    })
}

/// The last index construct on a partition, found by walking back from end of data: the
/// closing filemark, the records, the opening filemark. Records after the last closing
/// filemark (data written after the last index) are skipped and counted.
pub(crate) struct LastIndex {
    pub index: Index,
    pub unindexed_blocks: u64,
}

pub(crate) fn find_last_index<D: TapeDevice + ?Sized>(
    device: &mut D,
    partition: u8,
    letter: char,
    blocksize: usize,
) -> Result<Option<LastIndex>> {
    let end = device.locate_end_of_data(partition)?;
    let mut buf = vec![0u8; blocksize];
    // Whether block `b` is a filemark; oversized records are data, not filemarks.
    let mut is_filemark = |device: &mut D, b: u64| -> Result<bool> {
        device.locate(partition, b)?;
        match device.read_record(&mut buf) {
            Ok(outcome) => Ok(outcome == ReadOutcome::Filemark),
            Err(LtfsError::RecordTooLong { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    };
    let mut cursor = end; // search strictly below this block
    let mut closing_seen: Option<u64> = None;
    while cursor > FIRST_INDEX_CONSTRUCT + 1 {
        // The closing filemark: the last filemark below the cursor.
        let close = match closing_seen.take() {
            Some(c) => c,
            None => {
                let mut b = cursor - 1;
                loop {
                    if is_filemark(device, b)? {
                        break b;
                    }
                    if b <= FIRST_INDEX_CONSTRUCT {
                        return Ok(None);
                    }
                    b -= 1;
                }
            }
        };
        // The opening filemark: the previous filemark.
        let mut open = close;
        loop {
            if open <= FIRST_INDEX_CONSTRUCT {
                return Ok(None);
            }
            open -= 1;
            if is_filemark(device, open)? {
                break;
            }
        }
        if close - open >= 2 {
            match read_index_at(device, partition, open + 1, blocksize) {
                Ok(index)
                    if index.location
                        == (IndexLocation {
                            partition: letter,
                            start_block: open + 1,
                        }) =>
                {
                    let unindexed_blocks = end.saturating_sub(close + 1);
                    return Ok(Some(LastIndex {
                        index,
                        unindexed_blocks,
                    }));
                }
                Ok(_) => warn!(
                    partition,
                    block = open + 1,
                    "index location does not match its place"
                ),
                Err(LtfsError::Device { op, source }) => {
                    return Err(LtfsError::Device { op, source })
                }
                Err(e) => warn!(partition, block = open + 1, error = %e, "not an index"),
            }
        }
        // The opening filemark may itself close an earlier construct.
        closing_seen = Some(open);
        cursor = open + 1;
    }
    Ok(None)
}

/// The last index construct on a partition, reading forward from a known index at
/// `known_start` (for example the one the coherency information names). Reading forward streams
/// over data instead of locating block by block, which matters after a crash that left
/// gigabytes unindexed. `None` when the known index is not where it should be.
pub(crate) fn scan_forward_for_last_index<D: TapeDevice + ?Sized>(
    device: &mut D,
    partition: u8,
    letter: char,
    blocksize: usize,
    known_start: u64,
) -> Result<Option<LastIndex>> {
    let expected = |start| IndexLocation {
        partition: letter,
        start_block: start,
    };
    let mut best = match read_index_at(device, partition, known_start, blocksize) {
        Ok(index) if index.location == expected(known_start) => index,
        Ok(_) => return Ok(None),
        Err(e @ LtfsError::Device { .. }) => return Err(e),
        Err(_) => return Ok(None),
    };
    let mut buf = vec![0u8; blocksize];
    // The parser stops at the end of the document; the closing filemark is still ahead.
    let mut in_index = true;
    let mut after_best: Option<u64> = None;
    loop {
        match device.read_record(&mut buf) {
            Ok(ReadOutcome::Data(_)) | Err(LtfsError::RecordTooLong { .. }) => {}
            Ok(ReadOutcome::Filemark) => {
                let next = device.position()?.block;
                if in_index {
                    in_index = false;
                    after_best = Some(next);
                    continue;
                }
                // An opening filemark: an index construct may follow.
                match read_index_at(device, partition, next, blocksize) {
                    Ok(index)
                        if index.location == expected(next)
                            && index.generation > best.generation =>
                    {
                        best = index;
                        in_index = true;
                        after_best = None;
                    }
                    Err(e @ LtfsError::Device { .. }) => return Err(e),
                    _ => device.locate(partition, next)?,
                }
            }
            Ok(ReadOutcome::EndOfData) => break,
            Err(e) => return Err(e),
        }
    }
    let end = device.position()?.block;
    // An index without its closing filemark was torn by a crash: fall back to searching.
    let Some(after) = after_best.filter(|_| !in_index) else {
        return Ok(None);
    };
    Ok(Some(LastIndex {
        index: best,
        unindexed_blocks: end.saturating_sub(after),
    }))
}

/// The last index of a partition: forward from `hint` when one is given and valid, otherwise
/// backward from end of data.
pub(crate) fn last_index<D: TapeDevice + ?Sized>(
    device: &mut D,
    partition: u8,
    letter: char,
    blocksize: usize,
    hint: Option<u64>,
) -> Result<Option<LastIndex>> {
    if let Some(start) = hint {
        if let Some(found) =
            scan_forward_for_last_index(device, partition, letter, blocksize, start)?
        {
            return Ok(Some(found));
        }
    }
    find_last_index(device, partition, letter, blocksize)
}

/// The index start block the coherency information of a partition names, if it belongs to this
/// volume (its volume change reference may be stale: the block is only a starting point).
pub(crate) fn coherency_hint<D: TapeDevice + ?Sized>(
    device: &mut D,
    partition: u8,
    label: &LtfsLabel,
) -> Option<u64> {
    match VolumeCoherency::read(device, partition) {
        Ok(Some(v)) if v.volume_uuid == label.volume_uuid => Some(v.block),
        _ => None,
    }
}

impl<D: TapeDevice> Volume<D> {
    /// Mounts the LTFS volume on `device`.
    pub fn mount(mut device: D, options: MountOptions) -> Result<(Self, MountReport)> {
        let Labels {
            label,
            vol1,
            ip,
            dp,
        } = read_labels(&mut device)?;
        let blocksize = label.blocksize as usize;
        let ip_letter = label.index_partition;
        let dp_letter = label.data_partition;

        let fast = try_coherent_index(&mut device, &label, ip, dp, blocksize)?;
        let (index, last_dp_index, report, dirty) = match fast {
            Some((index, dp_loc)) => {
                let report = MountReport {
                    generation: index.generation,
                    source: IndexSource::IndexPartition,
                    used_coherency_information: true,
                    recovered: None,
                };
                (index, dp_loc, report, false)
            }
            None => {
                let dp_hint = coherency_hint(&mut device, dp, &label);
                let dp_last = last_index(&mut device, dp, dp_letter, blocksize, dp_hint)?
                    .ok_or_else(|| LtfsError::NoIndex("no index on the data partition".into()))?;
                let ip_hint = coherency_hint(&mut device, ip, &label);
                let ip_last = last_index(&mut device, ip, ip_letter, blocksize, ip_hint)?;
                let dp_loc = dp_last.index.location;
                let dp_gen = dp_last.index.generation;
                match ip_last {
                    Some(ipx)
                        if ipx.index.generation >= dp_gen
                            && ipx.index.previous == Some(dp_loc)
                            && ipx.index.volume_uuid == label.volume_uuid =>
                    {
                        let report = MountReport {
                            generation: ipx.index.generation,
                            source: IndexSource::IndexPartition,
                            used_coherency_information: false,
                            recovered: None,
                        };
                        (ipx.index, dp_loc, report, false)
                    }
                    other => {
                        let recovery = Recovery {
                            data_partition_index: dp_loc,
                            generation: dp_gen,
                            index_partition_generation: other.map(|o| o.index.generation),
                            unindexed_blocks: dp_last.unindexed_blocks,
                        };
                        warn!(
                            ?recovery,
                            "index partition is stale; recovered from the data partition"
                        );
                        let report = MountReport {
                            generation: dp_gen,
                            source: IndexSource::DataPartition,
                            used_coherency_information: false,
                            recovered: Some(recovery),
                        };
                        (dp_last.index, dp_loc, report, false)
                    }
                }
            }
        };
        if index.volume_uuid != label.volume_uuid {
            return Err(LtfsError::NoIndex(format!(
                "index belongs to volume {}, label says {}",
                index.volume_uuid, label.volume_uuid
            )));
        }
        // Data of a generation precedes its data-partition index (LTFS 2.4 §6.3).
        let ctx = ValidationContext {
            index_partition: ip_letter,
            data_partition: dp_letter,
            blocksize: blocksize as u64,
            index_partition_end: (report.source == IndexSource::IndexPartition)
                .then_some(index.location.start_block),
            data_partition_end: Some(last_dp_index.start_block),
        };
        index.validate(&ctx)?;
        let ip_current = report.recovered.is_none();
        info!(
            barcode = %vol1.barcode,
            generation = report.generation,
            source = ?report.source,
            "volume mounted"
        );
        let volume = Volume {
            device,
            label,
            vol1,
            index,
            ip,
            dp,
            blocksize,
            dp_append: None,
            last_dp_index,
            dirty,
            ip_current,
            policy: options.sync_policy,
            bytes_since_sync: 0,
            files_since_sync: 0,
            early_warning: false,
            read_only: options.read_only,
            buf: Vec::new(),
        };
        Ok((volume, report))
    }
}

/// The fast path: both partitions' coherency information carries the medium's current volume
/// change reference and the same generation, and the index partition's index it points at
/// points back at the data partition's.
fn try_coherent_index<D: TapeDevice + ?Sized>(
    device: &mut D,
    label: &LtfsLabel,
    ip: u8,
    dp: u8,
    blocksize: usize,
) -> Result<Option<(Index, IndexLocation)>> {
    let Some(vcr) = device.volume_change_reference()? else {
        return Ok(None);
    };
    let (ip_vci, dp_vci) = match (
        VolumeCoherency::read(device, ip),
        VolumeCoherency::read(device, dp),
    ) {
        (Ok(Some(a)), Ok(Some(b))) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            warn!(error = %e, "unreadable volume coherency information");
            return Ok(None);
        }
        _ => return Ok(None),
    };
    let current = ip_vci.volume_change_reference == vcr
        && dp_vci.volume_change_reference == vcr
        && ip_vci.volume_uuid == label.volume_uuid
        && dp_vci.volume_uuid == label.volume_uuid
        && ip_vci.generation == dp_vci.generation;
    if !current {
        return Ok(None);
    }
    let dp_loc = IndexLocation {
        partition: label.data_partition,
        start_block: dp_vci.block,
    };
    match read_index_at(device, ip, ip_vci.block, blocksize) {
        Ok(index)
            if index.generation == ip_vci.generation
                && index.location.partition == label.index_partition
                && index.location.start_block == ip_vci.block
                && index.previous == Some(dp_loc) =>
        {
            Ok(Some((index, dp_loc)))
        }
        Ok(_) => Ok(None),
        Err(e @ LtfsError::Device { .. }) => Err(e),
        Err(e) => {
            warn!(error = %e, "index named by the coherency information is unusable");
            Ok(None)
        }
    }
}
