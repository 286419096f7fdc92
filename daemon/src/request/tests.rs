use super::*;
use crate::catalog::records::strategies::timestamp;
use crate::catalog::Catalog;
use proptest::prelude::*;

fn restore() -> RequestKind {
    RequestKind::Restore(RestoreParams {
        collection: "c".into(),
        name: "n".into(),
        instance: None,
        destination_server: "dest".into(),
        file_path_root: Some("in".into()),
        overwrite: false,
    })
}

fn archive() -> RequestKind {
    RequestKind::Archive(ArchiveParams {
        collection: "c".into(),
        name: "n".into(),
        source_server: "src".into(),
        file_path_root: None,
        files: vec!["a.mxf".into(), "folder".into()],
        group: "g1".into(),
        comments: String::new(),
        delete_on_source: false,
    })
}

fn p(n: i64) -> Priority {
    Priority::new(n).expect("valid priority")
}

#[test]
fn priority_is_validated() {
    assert_eq!(p(0), Priority::MIN);
    assert_eq!(p(100), Priority::MAX);
    assert!(matches!(
        Priority::new(101),
        Err(RequestError::InvalidPriority(101))
    ));
    assert!(matches!(
        Priority::new(-1),
        Err(RequestError::InvalidPriority(-1))
    ));
    assert!(serde_json::from_str::<Priority>("101").is_err());
    assert!(serde_json::from_str::<Priority>("-5").is_err());
    assert_eq!(serde_json::from_str::<Priority>("42").ok(), Some(p(42)));
    assert_eq!(
        RequestError::InvalidPriority(200).diva_status(),
        DivaStatusCode::DivaErrInvalidParameter
    );
}

#[test]
fn state_machine() {
    use RequestState::*;
    let all = RequestState::ALL;
    for from in all {
        for to in all {
            let allowed = can_transition(from, to);
            if from.is_terminal() {
                assert!(!allowed, "{from:?} -> {to:?}");
            }
            if from == to {
                assert!(!allowed, "{from:?} -> {to:?}");
            }
        }
    }
    assert!(can_transition(Pending, Cancelled));
    assert!(!can_transition(Pending, Completed));
    assert!(can_transition(Running, Pending));
    assert!(!can_transition(Unspecified, Pending));
    assert!(!can_transition(Pending, Unspecified));
    let now = OffsetDateTime::UNIX_EPOCH;
    let mut r = RequestRecord::new(1, restore(), p(50), "op", now);
    r.transition(Running, now).expect("start");
    assert_eq!((r.attempts, r.started), (1, Some(now)));
    r.finish(Completed, DivaStatusCode::DivaOk, None, now)
        .expect("finish");
    assert_eq!(
        (r.progress, r.ended, r.phase.as_str()),
        (100, Some(now), "completed")
    );
    assert!(matches!(
        r.transition(Running, now),
        Err(RequestError::InvalidTransition { .. })
    ));
    let mut r = RequestRecord::new(2, restore(), p(50), "op", now);
    assert!(r
        .finish(Running, DivaStatusCode::DivaOk, None, now)
        .is_err());
}

#[test]
fn progress_percentage() {
    let mut r = RequestRecord::new(1, restore(), p(50), "op", OffsetDateTime::UNIX_EPOCH);
    r.set_progress(0, 0);
    assert_eq!(r.progress, 0);
    r.set_progress(1, 3);
    assert_eq!(r.progress, 33);
    r.set_progress(u64::MAX - 1, u64::MAX);
    assert_eq!(r.progress, 99);
    r.set_progress(10, 5);
    assert_eq!(r.progress, 100);
}

#[test]
fn parameters_are_validated() {
    let mut bad = archive();
    if let RequestKind::Archive(a) = &mut bad {
        a.files.clear();
    }
    let e = bad.validate().expect_err("no files");
    assert!(matches!(
        e,
        RequestError::InvalidParameter { field: "files", .. }
    ));
    assert_eq!(e.diva_status(), DivaStatusCode::DivaErrInvalidParameter);
    let bad = RequestKind::Eject(EjectParams {
        barcodes: vec!["".into()],
        comment: String::new(),
    });
    assert!(bad.validate().is_err());
    let bad = RequestKind::PartialRestore(PartialRestoreParams {
        collection: "c".into(),
        name: "n".into(),
        instance: None,
        destination_server: "d".into(),
        file_path_root: None,
        overwrite: true,
        items: vec![PartialItem {
            source_path: "f".into(),
            destination_path: None,
            range: Some(ByteRange {
                offset: u64::MAX,
                length: Some(2),
            }),
        }],
        format: 0,
        selection: Vec::new(),
    });
    assert!(matches!(
        bad.validate(),
        Err(RequestError::InvalidParameter {
            field: "items.range",
            ..
        })
    ));
    assert!(archive().validate().is_ok());
    assert!(restore().validate().is_ok());
    assert!(restore().resumable());
    assert!(!archive().resumable());
}

#[test]
fn submit_persists_before_returning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cat");
    let id = {
        let rq = Requests::new(Catalog::open(&path).expect("open"));
        let id = rq.submit(archive(), p(70), "alice").expect("submit");
        assert!(rq
            .submit(
                RequestKind::Insert(InsertParams {
                    library: " ".into(),
                    ie_addresses: vec![],
                }),
                p(1),
                "alice"
            )
            .is_err());
        id
        // Dropped without an explicit flush: submit already made it durable.
    };
    let rq = Requests::new(Catalog::open(&path).expect("reopen"));
    let r = rq.get(id).expect("persisted");
    assert_eq!(r.kind, archive());
    assert_eq!(r.priority, p(70));
    assert_eq!(r.state, RequestState::Pending);
    assert_eq!(r.actor, "alice");
    assert_eq!(rq.list(None, 10).expect("list").items.len(), 1);
    assert_eq!(rq.active().expect("active").len(), 1);
    let next = rq.submit(restore(), p(10), "bob").expect("submit");
    assert_eq!(next, id + 1);
    assert!(matches!(
        rq.get(999),
        Err(RequestError::NotFound { id: 999 })
    ));
}

#[test]
fn lifecycle_cancel_and_priority() {
    let rq = Requests::new(Catalog::temporary().expect("open"));
    let a = rq.submit(restore(), p(10), "op").expect("submit");
    let b = rq.submit(restore(), p(10), "op").expect("submit");

    let r = rq.change_priority(a, p(90), "op").expect("priority");
    assert_eq!(r.priority, p(90));
    match rq.cancel(a, "op").expect("cancel") {
        CancelOutcome::Cancelled(r) => {
            assert_eq!(r.state, RequestState::Cancelled);
            assert!(r.ended.is_some());
        }
        other => panic!("expected Cancelled, got {other:?}"),
    }
    let e = rq.cancel(a, "op").expect_err("terminal");
    assert_eq!(e.diva_status(), DivaStatusCode::DivaErrNotCancelable);

    rq.start(b, "mounting").expect("start");
    let e = rq.change_priority(b, p(1), "op").expect_err("running");
    assert!(matches!(e, RequestError::NotPending { .. }));
    let r = rq.progress(b, "reading", 50, 200).expect("progress");
    assert_eq!((r.progress, r.phase.as_str()), (25, "reading"));
    match rq.cancel(b, "op").expect("cancel") {
        CancelOutcome::Requested(r) => {
            assert!(r.cancel_requested);
            assert_eq!(r.state, RequestState::Running);
        }
        other => panic!("expected Requested, got {other:?}"),
    }
    let r = rq
        .finish(
            b,
            RequestState::Cancelled,
            DivaStatusCode::DivaOk,
            Some("cancelled between files"),
        )
        .expect("finish");
    assert_eq!(r.state, RequestState::Cancelled);
    assert!(rq.active().expect("active").is_empty());
    assert!(matches!(
        rq.progress(b, "late", 1, 1),
        Err(RequestError::InvalidTransition { .. })
    ));
    assert!(matches!(
        rq.cancel(77, "op"),
        Err(RequestError::NotFound { id: 77 })
    ));

    let c = rq.submit(restore(), p(10), "op").expect("submit");
    rq.start(c, "mounting").expect("start");
    let r = rq.requeue(c, "drive 2 down").expect("requeue");
    assert_eq!((r.state, r.started), (RequestState::Pending, None));
    rq.start(c, "mounting").expect("start again");
    let r = rq
        .finish(
            c,
            RequestState::Aborted,
            DivaStatusCode::DivaErrObjectOffline,
            Some("tape ejected"),
        )
        .expect("abort");
    assert_eq!(r.attempts, 2);
    assert_eq!(r.status.name(), "DIVA_ERR_OBJECT_OFFLINE");

    let audit = rq.catalog().list_audit(None, 1000).expect("audit").items;
    assert!(audit.iter().any(|e| e.action == "request.priority"));
    assert!(
        audit
            .iter()
            .filter(|e| e.action == "request.submit")
            .count()
            == 3
    );
}

#[test]
fn concurrent_submits_get_unique_ids() {
    let rq = Requests::new(Catalog::temporary().expect("open"));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let rq = rq.clone();
            std::thread::spawn(move || {
                (0..10)
                    .map(|_| rq.submit(restore(), p(50), "op").expect("submit"))
                    .collect::<Vec<u64>>()
            })
        })
        .collect();
    let mut ids: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("thread"))
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, (1..=40).collect::<Vec<u64>>());
    assert_eq!(rq.active().expect("active").len(), 40);
}

#[test]
fn recovery_after_restart_leaves_nothing_running() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cat");
    let (restore_id, archive_id, cancel_id, pending_id, done_id) = {
        let rq = Requests::new(Catalog::open(&path).expect("open"));
        let r = rq.submit(restore(), p(50), "op").expect("submit");
        let a = rq.submit(archive(), p(50), "op").expect("submit");
        let c = rq.submit(restore(), p(50), "op").expect("submit");
        let pend = rq.submit(archive(), p(50), "op").expect("submit");
        let d = rq.submit(restore(), p(50), "op").expect("submit");
        for id in [r, a, c, d] {
            rq.start(id, "running").expect("start");
        }
        rq.cancel(c, "op").expect("cancel");
        rq.finish(d, RequestState::Completed, DivaStatusCode::DivaOk, None)
            .expect("finish");
        rq.catalog().flush().expect("flush");
        (r, a, c, pend, d)
    };
    let rq = Requests::new(Catalog::open(&path).expect("reopen"));
    let mut done = rq.recover_after_restart().expect("recover");
    done.sort_by_key(|r| r.id);
    let actions: Vec<_> = done.iter().map(|r| (r.id, r.action)).collect();
    assert_eq!(
        actions,
        vec![
            (restore_id, RecoveryAction::Resumed),
            (archive_id, RecoveryAction::Aborted),
            (cancel_id, RecoveryAction::Cancelled),
        ]
    );
    let r = rq.get(restore_id).expect("get");
    assert_eq!(r.state, RequestState::Pending);
    let a = rq.get(archive_id).expect("get");
    assert_eq!(a.state, RequestState::Aborted);
    assert_eq!(a.status, DivaStatusCode::DivaErrInternal);
    assert!(a
        .abort_reason
        .as_deref()
        .unwrap_or("")
        .contains("restarted"));
    assert_eq!(
        rq.get(cancel_id).expect("get").state,
        RequestState::Cancelled
    );
    assert_eq!(
        rq.get(pending_id).expect("get").state,
        RequestState::Pending
    );
    assert_eq!(rq.get(done_id).expect("get").state, RequestState::Completed);
    let active = rq.active().expect("active");
    assert!(active.iter().all(|r| r.state == RequestState::Pending));
    assert_eq!(active.len(), 2);
    // A second recovery finds nothing to do.
    assert!(rq.recover_after_restart().expect("recover").is_empty());
}

/// Names that pass validation (no blank-only strings).
fn name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_.-]{1,16}"
}

fn kind() -> impl Strategy<Value = RequestKind> {
    let opt_id = proptest::option::of(any::<u64>());
    prop_oneof![
        (
            name(),
            name(),
            name(),
            proptest::collection::vec(name(), 1..4),
            any::<bool>()
        )
            .prop_map(|(c, n, g, files, del)| RequestKind::Archive(ArchiveParams {
                collection: c,
                name: n,
                source_server: "src".into(),
                file_path_root: None,
                files,
                group: g,
                comments: "x".into(),
                delete_on_source: del,
            })),
        (name(), name(), opt_id.clone(), any::<bool>()).prop_map(|(c, n, instance, overwrite)| {
            RequestKind::Restore(RestoreParams {
                collection: c,
                name: n,
                instance,
                destination_server: "dst".into(),
                file_path_root: Some("r".into()),
                overwrite,
            })
        }),
        (name(), 0u64..1 << 62, proptest::option::of(1u64..1 << 62)).prop_map(
            |(c, offset, length)| {
                RequestKind::PartialRestore(PartialRestoreParams {
                    collection: c.clone(),
                    name: c,
                    instance: None,
                    destination_server: "d".into(),
                    file_path_root: None,
                    overwrite: false,
                    items: vec![PartialItem {
                        source_path: "f".into(),
                        destination_path: Some("g".into()),
                        range: Some(ByteRange { offset, length }),
                    }],
                    format: 0,
                    selection: Vec::new(),
                })
            }
        ),
        (name(), opt_id.clone()).prop_map(|(c, i)| RequestKind::Copy(CopyParams {
            collection: c.clone(),
            name: c.clone(),
            source_instance: i,
            group: c,
        })),
        (name(), opt_id.clone()).prop_map(|(c, instance)| RequestKind::Delete(DeleteParams {
            collection: c.clone(),
            name: c,
            instance,
        })),
        (name(), proptest::collection::vec(any::<u16>(), 0..4)).prop_map(|(library, ie)| {
            RequestKind::Insert(InsertParams {
                library,
                ie_addresses: ie,
            })
        }),
        proptest::collection::vec(name(), 1..3).prop_map(|barcodes| RequestKind::Eject(
            EjectParams {
                barcodes,
                comment: "c".into()
            }
        )),
        (name(), proptest::option::of(name()), any::<bool>()).prop_map(
            |(barcode, target_group, empty)| {
                RequestKind::Repack(RepackParams {
                    barcode,
                    target_group,
                    retire: if empty {
                        RepackRetire::Empty
                    } else {
                        RepackRetire::Scratch
                    },
                })
            }
        ),
        proptest::collection::vec(name(), 1..3).prop_map(|barcodes| RequestKind::Export(
            ExportParams {
                barcodes,
                comment: String::new()
            }
        )),
        (
            proptest::collection::vec(name(), 1..3),
            name(),
            proptest::option::of(name()),
            any::<bool>()
        )
            .prop_map(|(barcodes, group, collection, verify)| {
                RequestKind::Import(ImportParams {
                    barcodes,
                    group,
                    document: None,
                    collection,
                    on_conflict: ImportConflict::AddInstance,
                    verify,
                })
            }),
        (name(), opt_id).prop_map(|(c, instance)| RequestKind::Verify(VerifyParams::Object {
            collection: c.clone(),
            name: c,
            instance,
        })),
        name().prop_map(|barcode| RequestKind::Verify(VerifyParams::Tape { barcode })),
    ]
}

fn state() -> impl Strategy<Value = RequestState> {
    proptest::sample::select(RequestState::ALL.to_vec())
}

prop_compose! {
    fn record()(
        id in any::<u64>(),
        kind in kind(),
        priority in 0i64..=100,
        state in state(),
        phase in ".{0,16}",
        bytes_done in any::<u64>(),
        bytes_total in any::<u64>(),
        status in 1000u16..=1040,
        abort_reason in proptest::option::of(".{0,16}"),
        cancel_requested in any::<bool>(),
        attempts in any::<u32>(),
        submitted in timestamp(),
        started in proptest::option::of(timestamp()),
        ended in proptest::option::of(timestamp()),
    ) -> RequestRecord {
        let mut r = RequestRecord::new(id, kind, Priority::new(priority).unwrap_or_default(), "op", submitted);
        r.state = state;
        r.phase = phase;
        r.set_progress(bytes_done, bytes_total);
        r.status = DivaStatusCode::from_code(i32::from(status)).unwrap_or(DivaStatusCode::DivaErrUnknown);
        r.abort_reason = abort_reason;
        r.cancel_requested = cancel_requested;
        r.attempts = attempts;
        r.started = started;
        r.ended = ended;
        r
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn record_roundtrips_through_json(r in record()) {
        let bytes = serde_json::to_vec(&r).expect("encode");
        let back: RequestRecord = serde_json::from_slice(&bytes).expect("decode");
        prop_assert_eq!(back, r);
    }

    #[test]
    fn valid_kinds_validate(k in kind()) {
        prop_assert!(k.validate().is_ok(), "{:?}", k);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = serde_json::from_slice::<RequestRecord>(&bytes);
        let _ = serde_json::from_slice::<RequestKind>(&bytes);
    }

    #[test]
    fn progress_is_a_percentage(done in any::<u64>(), total in any::<u64>()) {
        let mut r = RequestRecord::new(1, restore(), Priority::DEFAULT, "op", OffsetDateTime::UNIX_EPOCH);
        r.set_progress(done, total);
        prop_assert!(r.progress <= 100);
        if total > 0 && done >= total { prop_assert_eq!(r.progress, 100); }
        if total > 0 && done < total { prop_assert!(r.progress < 100); }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Submit(i64),
    Start(usize),
    Cancel(usize),
    Finish(usize, RequestState),
    Requeue(usize),
    Priority(usize, i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0i64..=100).prop_map(Op::Submit),
        (0usize..8).prop_map(Op::Start),
        (0usize..8).prop_map(Op::Cancel),
        (0usize..8, state()).prop_map(|(i, s)| Op::Finish(i, s)),
        (0usize..8).prop_map(Op::Requeue),
        (0usize..8, 0i64..=100).prop_map(|(i, p)| Op::Priority(i, p)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Whatever sequence of operations runs, refused ones change nothing, the active index
    /// holds exactly the non-terminal requests, and recovery leaves none RUNNING.
    #[test]
    fn active_index_tracks_states(ops in proptest::collection::vec(op(), 1..30)) {
        let rq = Requests::new(Catalog::temporary().expect("open"));
        let mut ids: Vec<u64> = Vec::new();
        for o in ops {
            let pick = |i: usize| ids.get(i % ids.len().max(1)).copied().unwrap_or(1);
            let before = ids.first().map(|_| rq.list(None, 100).expect("list").items);
            let result = match o {
                Op::Submit(pr) => rq.submit(restore(), p(pr), "op").map(|id| ids.push(id)),
                Op::Start(i) => rq.start(pick(i), "run").map(drop),
                Op::Cancel(i) => rq.cancel(pick(i), "op").map(drop),
                Op::Finish(i, s) => rq.finish(pick(i), s, DivaStatusCode::DivaOk, None).map(drop),
                Op::Requeue(i) => rq.requeue(pick(i), "retry").map(drop),
                Op::Priority(i, pr) => rq.change_priority(pick(i), p(pr), "op").map(drop),
            };
            if result.is_err() {
                if let Some(before) = before {
                    prop_assert_eq!(rq.list(None, 100).expect("list").items, before);
                }
            }
            let all = rq.list(None, 100).expect("list").items;
            let mut expected: Vec<u64> = all.iter().filter(|r| !r.state.is_terminal()).map(|r| r.id).collect();
            expected.sort_unstable();
            let active: Vec<u64> = rq.active().expect("active").iter().map(|r| r.id).collect();
            prop_assert_eq!(active, expected);
        }
        rq.recover_after_restart().expect("recover");
        let all = rq.list(None, 100).expect("list").items;
        prop_assert!(all.iter().all(|r| r.state != RequestState::Running));
    }
}
