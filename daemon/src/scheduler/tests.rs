use std::collections::HashSet;

use proptest::prelude::*;
use time::OffsetDateTime;

use super::*;
use crate::catalog::TapePosition;
use crate::request::Priority;

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(secs)
}

fn work(id: u64, prio: i64, secs: i64, target: Target) -> PendingWork {
    PendingWork {
        id,
        priority: Priority::new(prio).unwrap_or_default(),
        submitted: at(secs),
        target,
    }
}

fn read(barcode: &str, partition: u8, block: u64) -> Target {
    Target::Tape {
        barcode: barcode.into(),
        position: Some(TapePosition { partition, block }),
    }
}

fn drive(id: &str, loaded: Option<&str>, busy: bool, last: Option<i64>) -> DriveView {
    DriveView {
        id: id.into(),
        status: DriveStatus::Up,
        loaded: loaded.map(str::to_string),
        busy,
        last_used: last.map(at),
    }
}

fn none() -> HashSet<String> {
    HashSet::new()
}

#[test]
fn queue_orders_by_priority_then_age_then_id() {
    let mut q = RequestQueue::new();
    q.push(work(1, 10, 5, Target::AnyDrive));
    q.push(work(2, 90, 9, Target::AnyDrive));
    q.push(work(3, 10, 1, Target::AnyDrive));
    q.push(work(4, 90, 9, Target::AnyDrive));
    let order: Vec<u64> = q.iter().map(|w| w.id).collect();
    assert_eq!(order, [2, 4, 3, 1]);
    assert!(q.change_priority(1, Priority::MAX));
    assert!(!q.change_priority(99, Priority::MAX));
    assert_eq!(q.peek().map(|w| w.id), Some(1));
    assert_eq!(q.remove(2).map(|w| w.id), Some(2));
    assert_eq!(q.remove(2), None);
    // Re-pushing an id replaces it.
    q.push(work(3, 0, 1, Target::NoDrive));
    assert_eq!(q.len(), 3);
    let drained: Vec<u64> = std::iter::from_fn(|| q.pop()).map(|w| w.id).collect();
    assert_eq!(drained, [1, 4, 3]);
    assert!(q.is_empty());
}

#[test]
fn batches_gather_a_tape_and_order_reads_by_position() {
    let mut q = RequestQueue::new();
    q.push(work(1, 50, 1, read("A", 1, 900)));
    q.push(work(2, 50, 2, read("B", 1, 10)));
    q.push(work(3, 10, 3, read("A", 1, 100)));
    q.push(work(4, 10, 4, read("A", 0, 5000)));
    q.push(work(
        5,
        10,
        5,
        Target::Tape {
            barcode: "A".into(),
            position: None,
        },
    ));
    q.push(work(6, 80, 6, Target::AnyDrive));
    q.push(work(7, 80, 7, Target::NoDrive));
    let b = group_by_tape(&q);
    assert_eq!(b.tapes.len(), 2);
    assert_eq!(b.tapes[0].barcode, "A");
    assert_eq!(b.tapes[0].ids(), [4, 3, 1, 5]);
    assert_eq!(b.tapes[1].ids(), [2]);
    assert_eq!(b.any_drive.iter().map(|w| w.id).collect::<Vec<_>>(), [6]);
    assert_eq!(b.no_drive.iter().map(|w| w.id).collect::<Vec<_>>(), [7]);
}

#[test]
fn drive_choice_prefers_loaded_then_empty_then_lru() {
    let drives = vec![
        drive("d0", Some("X"), false, Some(30)),
        drive("d1", None, false, Some(20)),
        drive("d2", None, false, Some(10)),
        drive("d3", Some("A"), false, Some(40)),
        drive("d4", Some("Y"), false, Some(5)),
    ];
    assert_eq!(
        choose_drive(&drives, "A", &none()),
        DriveChoice::Loaded { drive: "d3".into() }
    );
    // Least recently used empty drive.
    assert_eq!(
        choose_drive(&drives, "B", &none()),
        DriveChoice::Empty { drive: "d2".into() }
    );
    let full: Vec<DriveView> = drives
        .iter()
        .filter(|d| d.loaded.is_some())
        .cloned()
        .collect();
    assert_eq!(
        choose_drive(&full, "B", &none()),
        DriveChoice::Swap {
            drive: "d4".into(),
            unload: "Y".into()
        }
    );
    // Y is wanted by pending work: unload X instead.
    let keep: HashSet<String> = ["Y".to_string()].into();
    assert_eq!(
        choose_drive(&full, "B", &keep),
        DriveChoice::Swap {
            drive: "d0".into(),
            unload: "X".into()
        }
    );
    // DOWN and busy drives are skipped; a tape in a busy drive waits.
    let mut down = full.clone();
    for d in &mut down {
        if d.id == "d0" {
            d.status = DriveStatus::Down {
                reason: "unload failed".into(),
            };
        }
        if d.id == "d4" {
            d.busy = true;
        }
    }
    assert_eq!(
        choose_drive(&down, "B", &none()),
        DriveChoice::Swap {
            drive: "d3".into(),
            unload: "A".into()
        }
    );
    assert_eq!(
        choose_drive(&down, "Y", &none()),
        DriveChoice::TapeInUse { drive: "d4".into() }
    );
    let keep: HashSet<String> = ["A".to_string()].into();
    assert_eq!(choose_drive(&down, "B", &keep), DriveChoice::NoDrive);
    assert_eq!(
        choose_drive_any(&drives, &none()),
        DriveChoice::Empty { drive: "d2".into() }
    );
    // Never-used drives count as least recently used.
    let fresh = vec![
        drive("a", None, false, Some(1)),
        drive("b", None, false, None),
    ];
    assert_eq!(
        choose_drive_any(&fresh, &none()),
        DriveChoice::Empty { drive: "b".into() }
    );
}

#[test]
fn plan_batches_one_mount_per_tape_and_respects_priority() {
    let mut q = RequestQueue::new();
    q.push(work(1, 10, 1, read("A", 0, 300)));
    q.push(work(2, 10, 2, read("A", 0, 100)));
    q.push(work(3, 10, 3, read("A", 0, 200)));
    q.push(work(4, 90, 4, read("B", 0, 1)));
    q.push(work(5, 50, 5, Target::AnyDrive));
    q.push(work(6, 50, 6, read("C", 0, 1)));
    q.push(work(7, 50, 7, Target::NoDrive));
    let drives = vec![
        drive("d0", None, false, Some(1)),
        drive("d1", Some("A"), false, Some(2)),
        drive("d2", Some("Z"), false, Some(0)),
    ];
    let p = plan(&q, &drives);
    let got: Vec<(&str, Option<&str>, Vec<u64>)> = p
        .assignments
        .iter()
        .map(|a| {
            (
                a.drive.as_str(),
                a.barcode.as_deref(),
                a.items.iter().map(|w| w.id).collect(),
            )
        })
        .collect();
    // B (90) first, on the empty drive; then the archive (50) swaps out Z (not wanted);
    // C (50) finds no drive left; A (10) uses the drive that already holds it, all three
    // reads in one mount in block order.
    assert_eq!(
        got,
        vec![
            ("d0", Some("B"), vec![4]),
            ("d2", None, vec![5]),
            ("d1", Some("A"), vec![2, 3, 1]),
        ]
    );
    assert_eq!(
        p.assignments[1].choice,
        DriveChoice::Swap {
            drive: "d2".into(),
            unload: "Z".into()
        }
    );
    assert_eq!(p.no_drive.iter().map(|w| w.id).collect::<Vec<_>>(), [7]);
}

fn arb_target() -> impl Strategy<Value = Target> {
    prop_oneof![
        6 => ("[A-E]", proptest::option::of((0u8..2, 0u64..10_000))).prop_map(|(b, pos)| Target::Tape {
            barcode: b,
            position: pos.map(|(partition, block)| TapePosition { partition, block }),
        }),
        1 => Just(Target::AnyDrive),
        1 => Just(Target::NoDrive),
    ]
}

fn arb_queue() -> impl Strategy<Value = RequestQueue> {
    proptest::collection::vec((0i64..=100, 0i64..50, arb_target()), 0..40).prop_map(|items| {
        let mut q = RequestQueue::new();
        for (i, (p, s, t)) in items.into_iter().enumerate() {
            q.push(work(i as u64, p, s, t));
        }
        q
    })
}

fn arb_drives() -> impl Strategy<Value = Vec<DriveView>> {
    proptest::collection::vec(
        (
            proptest::option::of("[A-H]"),
            any::<bool>(),
            any::<bool>(),
            proptest::option::of(0i64..100),
        ),
        0..6,
    )
    .prop_map(|ds| {
        let mut seen = HashSet::new();
        ds.into_iter()
            .enumerate()
            .map(|(i, (loaded, busy, down, last))| {
                // A tape is in at most one drive.
                let loaded = loaded.filter(|t| seen.insert(t.clone()));
                DriveView {
                    id: format!("d{i}"),
                    status: if down {
                        DriveStatus::Down {
                            reason: "hardware error".into(),
                        }
                    } else {
                        DriveStatus::Up
                    },
                    loaded,
                    busy,
                    last_used: last.map(at),
                }
            })
            .collect()
    })
}

fn key(w: &PendingWork) -> (std::cmp::Reverse<Priority>, OffsetDateTime, u64) {
    (std::cmp::Reverse(w.priority), w.submitted, w.id)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn pops_in_priority_then_age_order(mut q in arb_queue(), changes in proptest::collection::vec((0u64..40, 0i64..=100), 0..10), removes in proptest::collection::vec(0u64..40, 0..10)) {
        for (id, p) in changes {
            let was = q.contains(id);
            prop_assert_eq!(q.change_priority(id, Priority::new(p).unwrap_or_default()), was);
        }
        for id in removes {
            let was = q.contains(id);
            prop_assert_eq!(q.remove(id).is_some(), was);
            prop_assert!(!q.contains(id));
        }
        let n = q.len();
        let popped: Vec<PendingWork> = std::iter::from_fn(|| q.pop()).collect();
        prop_assert_eq!(popped.len(), n);
        for pair in popped.windows(2) {
            prop_assert!(key(&pair[0]) < key(&pair[1]));
            prop_assert!(pair[0].priority >= pair[1].priority);
            if pair[0].priority == pair[1].priority {
                prop_assert!(pair[0].submitted <= pair[1].submitted);
            }
        }
    }

    #[test]
    fn batches_partition_the_queue(q in arb_queue()) {
        let b = group_by_tape(&q);
        let mut ids: Vec<u64> = b.tapes.iter().flat_map(|t| t.ids())
            .chain(b.any_drive.iter().map(|w| w.id))
            .chain(b.no_drive.iter().map(|w| w.id))
            .collect();
        ids.sort_unstable();
        let mut expected: Vec<u64> = q.iter().map(|w| w.id).collect();
        expected.sort_unstable();
        prop_assert_eq!(ids, expected);
        let barcodes: HashSet<&str> = b.tapes.iter().map(|t| t.barcode.as_str()).collect();
        prop_assert_eq!(barcodes.len(), b.tapes.len());
        let order: Vec<u64> = q.iter().map(|w| w.id).collect();
        let rank = |id: u64| order.iter().position(|&x| x == id).unwrap_or(usize::MAX);
        let mut best_prev = 0usize;
        for t in &b.tapes {
            let mut seen_unpositioned = false;
            let mut last: Option<TapePosition> = None;
            for w in &t.items {
                match &w.target {
                    Target::Tape { barcode, position } => {
                        prop_assert_eq!(barcode, &t.barcode);
                        match position {
                            Some(p) => {
                                prop_assert!(!seen_unpositioned, "positioned after unpositioned");
                                prop_assert!(!matches!(last, Some(l) if l > *p));
                                last = Some(*p);
                            }
                            None => seen_unpositioned = true,
                        }
                    }
                    other => prop_assert!(false, "non-tape work in a batch: {:?}", other),
                }
            }
            // Batches come in the order of their best-ranked work.
            let best = t.items.iter().map(|w| rank(w.id)).min().unwrap_or(usize::MAX);
            prop_assert!(best >= best_prev);
            best_prev = best;
        }
    }

    #[test]
    fn drive_choice_invariants(drives in arb_drives(), barcode in "[A-H]", keep in proptest::collection::hash_set("[A-H]", 0..4)) {
        let holder = drives.iter().find(|d| d.loaded.as_deref() == Some(barcode.as_str()));
        let choice = choose_drive(&drives, &barcode, &keep);
        let get = |id: &str| drives.iter().find(|d| d.id == id);
        match &choice {
            DriveChoice::Loaded { drive } => {
                let d = get(drive).expect("known drive");
                prop_assert!(d.available());
                prop_assert_eq!(d.loaded.as_deref(), Some(barcode.as_str()));
            }
            DriveChoice::TapeInUse { drive } => {
                let d = get(drive).expect("known drive");
                prop_assert!(!d.available());
                prop_assert_eq!(d.loaded.as_deref(), Some(barcode.as_str()));
            }
            DriveChoice::Empty { drive } => {
                prop_assert!(holder.is_none());
                let d = get(drive).expect("known drive");
                prop_assert!(d.available() && d.loaded.is_none());
                // The least recently used of the empty ones.
                for o in drives.iter().filter(|o| o.available() && o.loaded.is_none()) {
                    prop_assert!(d.last_used <= o.last_used);
                }
            }
            DriveChoice::Swap { drive, unload } => {
                prop_assert!(holder.is_none());
                prop_assert!(!drives.iter().any(|o| o.available() && o.loaded.is_none()));
                let d = get(drive).expect("known drive");
                prop_assert!(d.available());
                prop_assert_eq!(d.loaded.as_deref(), Some(unload.as_str()));
                prop_assert!(!keep.contains(unload));
                for o in drives.iter().filter(|o| o.available() && o.loaded.as_ref().is_some_and(|t| !keep.contains(t))) {
                    prop_assert!(d.last_used <= o.last_used);
                }
            }
            DriveChoice::NoDrive => {
                prop_assert!(holder.is_none());
                prop_assert!(!drives.iter().any(|o| o.available() && !matches!(&o.loaded, Some(t) if keep.contains(t))));
            }
        }
    }

    #[test]
    fn plan_never_double_books(q in arb_queue(), drives in arb_drives()) {
        let p = plan(&q, &drives);
        let mut used_drives = HashSet::new();
        let mut used_tapes = HashSet::new();
        let mut ids = HashSet::new();
        for a in &p.assignments {
            prop_assert!(used_drives.insert(a.drive.clone()), "drive twice");
            let d = drives.iter().find(|d| d.id == a.drive).expect("known drive");
            prop_assert!(d.available(), "DOWN or busy drive used");
            if let Some(b) = &a.barcode {
                prop_assert!(used_tapes.insert(b.clone()), "tape twice");
                // A tape already in another drive is never loaded elsewhere.
                if let Some(h) = drives.iter().find(|d| d.loaded.as_deref() == Some(b.as_str())) {
                    prop_assert_eq!(&h.id, &a.drive);
                    prop_assert_eq!(&a.choice, &DriveChoice::Loaded { drive: a.drive.clone() });
                }
            }
            prop_assert!(!a.items.is_empty());
            for w in &a.items {
                prop_assert!(ids.insert(w.id), "work twice");
                prop_assert_eq!(q.get(w.id), Some(w));
                match (&w.target, &a.barcode) {
                    (Target::Tape { barcode, .. }, Some(b)) => prop_assert_eq!(barcode, b),
                    (Target::AnyDrive, None) => {}
                    other => prop_assert!(false, "mismatched target {:?}", other),
                }
            }
            // A swap never unloads a tape that pending work wants.
            if let DriveChoice::Swap { unload, .. } = &a.choice {
                let wanted = q.iter().any(|w| matches!(&w.target, Target::Tape { barcode, .. } if barcode == unload));
                prop_assert!(!wanted, "unloaded a wanted tape");
            }
        }
        prop_assert!(used_drives.len() <= drives.iter().filter(|d| d.available()).count());
        // With an idle UP empty drive left over, nothing drive-bound that could run waits.
        let idle_left = drives.iter().any(|d| d.available() && d.loaded.is_none() && !used_drives.contains(&d.id));
        if idle_left {
            for w in q.iter() {
                let runnable = match &w.target {
                    Target::AnyDrive => true,
                    Target::Tape { barcode, .. } => !drives.iter().any(|d| d.loaded.as_deref() == Some(barcode.as_str())),
                    Target::NoDrive => false,
                };
                if runnable {
                    prop_assert!(ids.contains(&w.id), "work {} left waiting with an idle drive", w.id);
                }
            }
        }
    }
}
