//! Scheduler logic, free of threads and I/O so that its ordering rules can be tested
//! exhaustively: the priority queue (priority, then age), batching of pending work per
//! tape (one mount serves every request for that tape), read ordering by position on tape,
//! drive choice that avoids needless unloads, and the tapes the scheduled verify policy
//! picks.

mod batch;
mod drives;
mod plan;
mod queue;
mod verify_policy;

pub use batch::{group_by_tape, order_by_position, Batches, TapeBatch};
pub use drives::{choose_drive, choose_drive_any, DriveChoice, DriveStatus, DriveView};
pub use plan::{plan, Assignment, Plan};
pub use queue::{PendingWork, RequestQueue, Target};
pub use verify_policy::{
    tapes_to_verify, ActiveWork, VerifyCandidate, VerifyLimits, SCHEDULER_ACTOR,
};

#[cfg(test)]
mod tests;
