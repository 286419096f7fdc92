//! Batching of pending work by tape and ordering of reads on a tape.

use std::collections::HashMap;

use super::queue::{PendingWork, RequestQueue, Target};
use crate::catalog::TapePosition;

/// All pending work for one tape, served by one mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TapeBatch {
    pub barcode: String,
    /// Work in the order it runs on the tape (see `order_by_position`).
    pub items: Vec<PendingWork>,
}

impl TapeBatch {
    pub fn ids(&self) -> Vec<u64> {
        self.items.iter().map(|w| w.id).collect()
    }
}

/// Pending work split into what the scheduler hands out, each list in queue order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batches {
    /// One batch per tape, ordered by the best-ranked work they contain.
    pub tapes: Vec<TapeBatch>,
    /// Work that needs some drive but no particular tape.
    pub any_drive: Vec<PendingWork>,
    /// Work that needs no drive.
    pub no_drive: Vec<PendingWork>,
}

fn position_of(w: &PendingWork) -> Option<TapePosition> {
    match &w.target {
        Target::Tape { position, .. } => *position,
        _ => None,
    }
}

/// Orders the work of one mount: positioned reads in ascending (partition, block) so the
/// tape moves one way (SSC-4 LOCATE is cheapest forward), then work without a position in
/// the order given (the sort is stable, so queue order breaks ties).
pub fn order_by_position(items: &mut [PendingWork]) {
    items.sort_by_key(|w| match position_of(w) {
        Some(p) => (0u8, p.partition, p.block),
        None => (1u8, 0, 0),
    });
}

/// Groups the queue by tape. A batch ranks where its best work ranks in the queue, so a
/// high-priority restore also brings forward the lower-priority work on the same tape
/// (one mount instead of two).
pub fn group_by_tape(queue: &RequestQueue) -> Batches {
    let mut out = Batches::default();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for w in queue.iter() {
        match &w.target {
            Target::Tape { barcode, .. } => match index.get(barcode.as_str()) {
                Some(&i) => {
                    if let Some(b) = out.tapes.get_mut(i) {
                        b.items.push(w.clone());
                    }
                }
                None => {
                    index.insert(barcode.as_str(), out.tapes.len());
                    out.tapes.push(TapeBatch {
                        barcode: barcode.clone(),
                        items: vec![w.clone()],
                    });
                }
            },
            Target::AnyDrive => out.any_drive.push(w.clone()),
            Target::NoDrive => out.no_drive.push(w.clone()),
        }
    }
    for b in &mut out.tapes {
        order_by_position(&mut b.items);
    }
    out
}
