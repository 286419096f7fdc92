//! Priority queue of pending work: higher priority first, then older first, then lower id.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};

use time::OffsetDateTime;

use crate::catalog::TapePosition;
use crate::request::Priority;

/// What a piece of work needs in order to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A given tape in a drive; `position` is where the read starts, when known.
    Tape {
        barcode: String,
        position: Option<TapePosition>,
    },
    /// Any drive; the tape is chosen when the work runs (archive into a group).
    AnyDrive,
    /// No drive: robot-only or catalog-only work.
    NoDrive,
}

/// One pending request as the scheduler sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingWork {
    pub id: u64,
    pub priority: Priority,
    pub submitted: OffsetDateTime,
    pub target: Target,
}

/// Sort key: priority descending, then submission time, then id.
type Rank = (Reverse<Priority>, i128, u64);

fn rank(w: &PendingWork) -> Rank {
    (
        Reverse(w.priority),
        w.submitted.unix_timestamp_nanos(),
        w.id,
    )
}

/// Pending work ordered by priority, then age.
#[derive(Debug, Clone, Default)]
pub struct RequestQueue {
    ordered: BTreeMap<Rank, PendingWork>,
    by_id: HashMap<u64, Rank>,
}

impl RequestQueue {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds work; work with the same id replaces the old entry.
    pub fn push(&mut self, work: PendingWork) {
        self.remove(work.id);
        let r = rank(&work);
        self.by_id.insert(work.id, r);
        self.ordered.insert(r, work);
    }

    /// The next work to run.
    pub fn peek(&self) -> Option<&PendingWork> {
        self.ordered.values().next()
    }

    pub fn pop(&mut self) -> Option<PendingWork> {
        let (r, w) = self.ordered.pop_first()?;
        debug_assert_eq!(r, rank(&w));
        self.by_id.remove(&w.id);
        Some(w)
    }

    /// Removes work (cancel of a pending request, or taken by a drive).
    pub fn remove(&mut self, id: u64) -> Option<PendingWork> {
        let r = self.by_id.remove(&id)?;
        self.ordered.remove(&r)
    }

    /// Changes the priority of queued work; false when the id is not queued.
    pub fn change_priority(&mut self, id: u64, priority: Priority) -> bool {
        match self.remove(id) {
            Some(mut w) => {
                w.priority = priority;
                self.push(w);
                true
            }
            None => false,
        }
    }

    pub fn get(&self, id: u64) -> Option<&PendingWork> {
        self.by_id.get(&id).and_then(|r| self.ordered.get(r))
    }

    pub fn contains(&self, id: u64) -> bool {
        self.by_id.contains_key(&id)
    }

    /// Work in run order.
    pub fn iter(&self) -> impl Iterator<Item = &PendingWork> {
        self.ordered.values()
    }

    pub fn len(&self) -> usize {
        self.ordered.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ordered.is_empty()
    }
}
