//! Volume check in the manner of the reference checker: labels, the chain of data-partition
//! indexes, extents inside the written area, and index-partition consistency; optionally
//! rewriting a missing or stale index-partition index from the newest data-partition index.

use tracing::info;

use super::mount::{coherency_hint, last_index, read_labels};
use super::sync::read_index_at;
use super::{MountOptions, Volume};
use crate::device::TapeDevice;
use crate::error::{LtfsError, Result};
use crate::index::{IndexLocation, ValidationContext};

/// Findings of [`check`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CheckReport {
    /// Both labels read and agree.
    pub labels_ok: bool,
    /// Data-partition indexes from the newest back along `previousgenerationlocation`:
    /// location and generation.
    pub data_partition_chain: Vec<(IndexLocation, u64)>,
    /// The last index on the index partition: location and generation.
    pub index_partition_index: Option<(IndexLocation, u64)>,
    /// Index partition generation ≥ data partition generation and pointing back at it.
    pub consistent: bool,
    /// Everything found wrong, in words.
    pub problems: Vec<String>,
    /// The index partition was rewritten.
    pub repaired: bool,
}

/// Checks the volume on `device`; with `repair`, writes a missing or stale index-partition
/// index from the newest data-partition index.
pub fn check<D: TapeDevice>(device: &mut D, repair: bool) -> Result<CheckReport> {
    let mut report = CheckReport::default();
    let labels = match read_labels(device) {
        Ok(l) => l,
        Err(e @ LtfsError::Device { .. }) => return Err(e),
        Err(e) => {
            report.problems.push(format!("labels: {e}"));
            return Ok(report);
        }
    };
    report.labels_ok = true;
    let bs = labels.label.blocksize as usize;
    let dp_letter = labels.label.data_partition;
    let ip_letter = labels.label.index_partition;
    let dp_hint = coherency_hint(device, labels.dp, &labels.label);
    let Some(dp_last) = last_index(device, labels.dp, dp_letter, bs, dp_hint)? else {
        report
            .problems
            .push("no readable index on the data partition".into());
        return Ok(report);
    };
    if dp_last.unindexed_blocks > 0 {
        report.problems.push(format!(
            "{} blocks after the last data-partition index belong to no index",
            dp_last.unindexed_blocks
        ));
    }
    let newest = dp_last.index;
    let ctx = ValidationContext {
        index_partition: ip_letter,
        data_partition: dp_letter,
        blocksize: bs as u64,
        index_partition_end: None,
        data_partition_end: Some(newest.location.start_block),
    };
    if let Err(e) = newest.validate(&ctx) {
        report.problems.push(format!("newest index: {e}"));
    }
    if newest.volume_uuid != labels.label.volume_uuid {
        report
            .problems
            .push("newest index belongs to another volume".into());
    }
    // Walk the pointer chain on the data partition.
    report
        .data_partition_chain
        .push((newest.location, newest.generation));
    let (mut generation, mut previous) = (newest.generation, newest.previous);
    while let Some(loc) = previous.filter(|p| p.partition == dp_letter) {
        match read_index_at(device, labels.dp, loc.start_block, bs) {
            Ok(ix) => {
                if ix.location != loc {
                    report.problems.push(format!(
                        "index at block {} says it is at {:?}",
                        loc.start_block, ix.location
                    ));
                    break;
                }
                if ix.generation >= generation {
                    report.problems.push(format!(
                        "generation {} at block {} does not precede generation {generation}",
                        ix.generation, loc.start_block
                    ));
                    break;
                }
                if ix.volume_uuid != labels.label.volume_uuid {
                    report.problems.push(format!(
                        "index at block {} has another volume UUID",
                        loc.start_block
                    ));
                }
                report.data_partition_chain.push((loc, ix.generation));
                generation = ix.generation;
                previous = ix.previous;
            }
            Err(e @ LtfsError::Device { .. }) => return Err(e),
            Err(e) => {
                report.problems.push(format!(
                    "index at block {} unreadable: {e}",
                    loc.start_block
                ));
                break;
            }
        }
    }
    let ip_hint = coherency_hint(device, labels.ip, &labels.label);
    let ip_last = last_index(device, labels.ip, ip_letter, bs, ip_hint)?;
    report.index_partition_index = ip_last
        .as_ref()
        .map(|l| (l.index.location, l.index.generation));
    report.consistent = ip_last.as_ref().is_some_and(|l| {
        l.index.generation >= newest.generation && l.index.previous == Some(newest.location)
    });
    if !report.consistent {
        report.problems.push(match &report.index_partition_index {
            None => "no index on the index partition".into(),
            Some((_, g)) => format!(
                "index partition holds generation {g}, data partition generation {}",
                newest.generation
            ),
        });
        if repair {
            let (mut volume, _) = Volume::mount(&mut *device, MountOptions::default())?;
            volume.write_index_partition()?;
            report.repaired = true;
            report.consistent = true;
            info!(generation = newest.generation, "index partition rewritten");
        }
    }
    Ok(report)
}
