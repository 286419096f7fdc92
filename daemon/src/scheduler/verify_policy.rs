//! Which tapes the scheduled verify policy verifies next: due tapes (never verified, or
//! verified longer ago than the period), oldest-verified first, no more at once than the
//! policy's drive budget, and nothing while client work is queued or running.

use time::OffsetDateTime;

/// The actor of requests the daemon submits on its own.
pub const SCHEDULER_ACTOR: &str = "scheduler";

/// A tape the policy could verify: it holds data and can be read now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyCandidate {
    pub barcode: String,
    pub verified: Option<OffsetDateTime>,
}

/// What is queued or running now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ActiveWork {
    /// Pending or running requests submitted by anyone but the scheduler.
    pub client_requests: usize,
    /// Pending or running verifies the scheduler submitted.
    pub scheduled_verifies: usize,
}

/// The limits of the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyLimits {
    pub period: time::Duration,
    pub max_drives: usize,
    pub only_when_idle: bool,
}

/// The barcodes to submit verifies for now, in order. `busy` lists tapes a pending or
/// running verify already covers.
pub fn tapes_to_verify(
    candidates: &[VerifyCandidate],
    busy: &[String],
    active: ActiveWork,
    limits: VerifyLimits,
    now: OffsetDateTime,
) -> Vec<String> {
    if limits.only_when_idle && active.client_requests > 0 {
        return Vec::new();
    }
    let room = limits.max_drives.saturating_sub(active.scheduled_verifies);
    if room == 0 {
        return Vec::new();
    }
    let mut due: Vec<&VerifyCandidate> = candidates
        .iter()
        .filter(|c| !busy.contains(&c.barcode))
        .filter(|c| c.verified.is_none_or(|v| now - v >= limits.period))
        .collect();
    // Never verified first, then oldest; barcode breaks ties so the order is stable.
    due.sort_by(|a, b| {
        (a.verified.is_some(), a.verified, &a.barcode).cmp(&(
            b.verified.is_some(),
            b.verified,
            &b.barcode,
        ))
    });
    due.into_iter()
        .take(room)
        .map(|c| c.barcode.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    fn tape(barcode: &str, days_ago: Option<i64>) -> VerifyCandidate {
        VerifyCandidate {
            barcode: barcode.into(),
            verified: days_ago.map(|d| now() - Duration::days(d)),
        }
    }

    fn limits(max_drives: usize) -> VerifyLimits {
        VerifyLimits {
            period: Duration::days(30),
            max_drives,
            only_when_idle: true,
        }
    }

    #[test]
    fn never_verified_first_then_oldest_and_only_due_ones() {
        let tapes = [
            tape("A3", Some(40)),
            tape("A1", Some(10)),
            tape("A2", None),
            tape("A4", Some(400)),
            tape("A0", None),
            tape("A5", Some(30)),
        ];
        let got = tapes_to_verify(&tapes, &[], ActiveWork::default(), limits(10), now());
        assert_eq!(got, ["A0", "A2", "A4", "A3", "A5"]);
        let got = tapes_to_verify(&tapes, &[], ActiveWork::default(), limits(2), now());
        assert_eq!(got, ["A0", "A2"]);
    }

    #[test]
    fn the_drive_budget_counts_scheduled_verifies_in_flight() {
        let tapes = [tape("A1", None), tape("A2", None), tape("A3", None)];
        let busy = vec!["A1".to_string()];
        let active = ActiveWork {
            client_requests: 0,
            scheduled_verifies: 1,
        };
        assert_eq!(
            tapes_to_verify(&tapes, &busy, active, limits(2), now()),
            ["A2"]
        );
        assert!(tapes_to_verify(&tapes, &busy, active, limits(1), now()).is_empty());
    }

    #[test]
    fn client_work_holds_the_policy_back_unless_told_otherwise() {
        let tapes = [tape("A1", None)];
        let active = ActiveWork {
            client_requests: 1,
            scheduled_verifies: 0,
        };
        assert!(tapes_to_verify(&tapes, &[], active, limits(1), now()).is_empty());
        let mut l = limits(1);
        l.only_when_idle = false;
        assert_eq!(tapes_to_verify(&tapes, &[], active, l, now()), ["A1"]);
    }
}
