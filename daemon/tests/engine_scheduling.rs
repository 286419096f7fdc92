//! Scheduling in process: batching on one mount, priority order, cancel of pending and
//! running requests, and a drive that fails.

mod engine_common;

use std::time::{Duration, Instant};

use engine_common::{bytes, start, write_files, Harness};
use tapelib_daemon::catalog::TapeGroup;
use tapelib_daemon::library::DriveStatus;
use tapelib_daemon::request::{
    ArchiveParams, CancelOutcome, EjectParams, Priority, RequestKind, RequestState, RestoreParams,
};
use tapelib_sim::config::{CartridgeConfig, FaultSpec, SlotRef};

fn archive(name: &str, group: &str) -> RequestKind {
    RequestKind::Archive(ArchiveParams {
        collection: "c".into(),
        name: name.into(),
        source_server: "demo".into(),
        file_path_root: None,
        files: vec![name.to_string()],
        group: group.into(),
        comments: String::new(),
        delete_on_source: false,
    })
}

fn restore(name: &str) -> RequestKind {
    RequestKind::Restore(RestoreParams {
        collection: "c".into(),
        name: name.into(),
        instance: None,
        destination_server: "restore".into(),
        file_path_root: Some(format!("r-{name}")),
        overwrite: false,
    })
}

fn all_drives(h: &Harness, up: bool) {
    for d in h.library().drives() {
        if up {
            h.library().set_drive_up(&d.name).unwrap();
        } else {
            h.library().set_drive_down(&d.name, "test").unwrap();
        }
    }
    h.engine.poke();
}

fn unload_all(h: &Harness) {
    for d in h.library().drives() {
        if d.loaded.is_some() {
            h.library().unmount(&d.name).unwrap();
        }
    }
}

fn group(h: &Harness, name: &str) {
    h.engine
        .state()
        .catalog
        .create_group(
            &TapeGroup {
                name: name.into(),
                description: String::new(),
                generation: None,
                created: time::OffsetDateTime::now_utc(),
            },
            "test",
        )
        .unwrap();
}

#[test]
fn restores_of_one_tape_share_one_mount() {
    let h = start(|_| {});
    let names: Vec<String> = (0..5).map(|i| format!("o{i}")).collect();
    for (i, n) in names.iter().enumerate() {
        write_files(&h.demo(), &[(n.as_str(), bytes(i as u64, 200_000))]);
        h.run_ok(archive(n, "default"));
    }
    let tapes: std::collections::HashSet<String> = names
        .iter()
        .map(|n| h.engine.state().catalog.list_instances("c", n).unwrap()[0].tapes[0].clone())
        .collect();
    assert_eq!(tapes.len(), 1, "all objects on one tape: {tapes:?}");
    let tape = tapes.into_iter().next().unwrap();
    all_drives(&h, false);
    unload_all(&h);
    let sim = h.library().simulator().unwrap().clone();
    let before = sim.stats().cartridges[&tape].loads;
    let ids: Vec<u64> = names.iter().map(|n| h.submit(restore(n))).collect();
    all_drives(&h, true);
    for id in &ids {
        assert_eq!(h.wait(*id).state, RequestState::Completed);
    }
    let after = sim.stats().cartridges[&tape].loads;
    assert_eq!(after - before, 1, "five restores, one mount");
    for (i, n) in names.iter().enumerate() {
        let got = std::fs::read(h.restore_root().join(format!("r-{n}")).join(n)).unwrap();
        assert_eq!(got, bytes(i as u64, 200_000));
    }
}

#[test]
fn higher_priority_runs_first() {
    let h = start(|_| {});
    for (i, g) in ["g1", "g2", "g3"].iter().enumerate() {
        group(&h, g);
        let name = format!("p{i}");
        write_files(&h.demo(), &[(name.as_str(), bytes(i as u64, 1000))]);
        h.run_ok(archive(&name, g));
    }
    all_drives(&h, false);
    unload_all(&h);
    let ids: Vec<u64> = [(0, 10), (1, 90), (2, 50)]
        .iter()
        .map(|(i, p)| {
            h.engine
                .submit(restore(&format!("p{i}")), Priority::new(*p).unwrap(), "t")
                .unwrap()
                .id
        })
        .collect();
    // One drive only: the three run one after the other.
    h.library().set_drive_up("drive0").unwrap();
    h.engine.poke();
    let recs: Vec<_> = ids.iter().map(|id| h.wait(*id)).collect();
    let started = |i: usize| recs[i].started.expect("started");
    assert!(started(1) < started(2), "90 before 50");
    assert!(started(2) < started(0), "50 before 10");
}

#[test]
fn cancel_pending_at_once_and_running_at_a_safe_point() {
    let h = start(|sim| {
        for i in 1..=4u16 {
            sim.cartridges.push(CartridgeConfig {
                barcode: format!("IE{i:04}L8"),
                generation: None,
                slot: Some(SlotRef::ImportExport(i)),
                write_protect: false,
                capacity: None,
            });
        }
    });
    write_files(&h.demo(), &[("x", bytes(1, 10))]);
    all_drives(&h, false);
    let id = h.submit(archive("x", "default"));
    match h.engine.cancel(id, "op").unwrap() {
        CancelOutcome::Cancelled(r) => assert_eq!(r.state, RequestState::Cancelled),
        other => panic!("{other:?}"),
    }
    assert!(h
        .engine
        .state()
        .catalog
        .get_object("c", "x")
        .unwrap()
        .is_none());
    // An eject waiting for a free I/E element is running; the cancel lands at its next check.
    let id = h.submit(RequestKind::Eject(EjectParams {
        barcodes: vec!["TL0003L8".into()],
        comment: String::new(),
    }));
    let deadline = Instant::now() + Duration::from_secs(20);
    while h.engine.requests().get(id).unwrap().state != RequestState::Running {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    match h.engine.cancel(id, "op").unwrap() {
        CancelOutcome::Requested(r) => assert!(r.cancel_requested),
        CancelOutcome::Cancelled(r) => panic!("running request cancelled at once: {r:?}"),
    }
    let r = h.wait(id);
    assert_eq!(r.state, RequestState::Cancelled, "{r:?}");
    let t = h
        .engine
        .state()
        .catalog
        .get_tape("TL0003L8")
        .unwrap()
        .unwrap();
    assert!(t.online, "the tape stayed in the library: {t:?}");
}

#[test]
fn a_drive_failure_puts_it_down_and_the_request_runs_on_another_drive() {
    let h = start(|_| {});
    let sim = h.library().simulator().unwrap().clone();
    sim.inject_fault(FaultSpec::DriveFailure { drive: 0 })
        .unwrap();
    write_files(&h.demo(), &[("f", bytes(5, 100_000))]);
    let r = h.run_ok(archive("f", "default"));
    assert!(r.attempts >= 2, "{r:?}");
    match h.library().drive_status("drive0").unwrap() {
        DriveStatus::Down { reason } => assert!(!reason.is_empty()),
        s => panic!("drive0 is {s:?}"),
    }
    h.run_ok(restore("f"));
    assert_eq!(
        std::fs::read(h.restore_root().join("r-f/f")).unwrap(),
        bytes(5, 100_000)
    );
}
