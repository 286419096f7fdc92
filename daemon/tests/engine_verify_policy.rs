//! The scheduled verify policy in process: tapes holding data are verified by requests the
//! daemon submits itself (actor "scheduler"), never-verified and oldest-verified first,
//! tapes verified within the period are left alone, never more verifies at once than the
//! policy's drives, and none submitted while a client request is pending or running.

mod engine_common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use engine_common::{bytes, config, write_files, Harness};
use tapelib_daemon::api::DaemonState;
use tapelib_daemon::catalog::{Catalog, TapeGroup};
use tapelib_daemon::config::{DaemonConfig, GroupConfig};
use tapelib_daemon::engine::Engine;
use tapelib_daemon::library::TapeLibrary;
use tapelib_daemon::request::{
    ArchiveParams, Priority, RequestKind, RequestRecord, RequestState, Requests, RestoreParams,
    VerifyParams,
};
use time::OffsetDateTime;

const GROUPS: [&str; 5] = ["never", "old100", "old40", "old35", "recent"];

/// Opens the catalog and libraries of `config`, lets `before` act on the catalog (e.g. queue
/// requests), then starts the engine.
fn start_engine(
    dir: tempfile::TempDir,
    config: DaemonConfig,
    before: impl FnOnce(&Catalog),
) -> Harness {
    let catalog = Catalog::open(&config.catalog).expect("catalog");
    for g in &config.groups {
        if catalog.get_group(&g.name).expect("group").is_none() {
            catalog
                .create_group(
                    &TapeGroup {
                        name: g.name.clone(),
                        description: String::new(),
                        generation: g.generation,
                        created: OffsetDateTime::now_utc(),
                    },
                    "test",
                )
                .expect("create group");
        }
    }
    let mut libs = Vec::new();
    for lc in &config.libraries {
        let lib = TapeLibrary::open(lc, &config.limits, catalog.clone()).expect("library");
        lib.refresh_inventory().expect("inventory");
        libs.push(Arc::new(lib));
    }
    before(&catalog);
    let state = Arc::new(DaemonState::new(config, catalog, libs));
    Harness {
        engine: Engine::start(state).expect("engine"),
        dir,
    }
}

fn base_config(dir: &std::path::Path) -> DaemonConfig {
    let mut c = config(dir, |_| {});
    for g in GROUPS {
        c.groups.push(GroupConfig {
            name: g.into(),
            description: String::new(),
            generation: None,
        });
    }
    c
}

fn restore(name: &str, root: &str) -> RequestKind {
    RequestKind::Restore(RestoreParams {
        collection: "c".into(),
        name: name.into(),
        instance: None,
        destination_server: "restore".into(),
        file_path_root: Some(root.into()),
        overwrite: true,
    })
}

fn all_requests(h: &Harness) -> Vec<RequestRecord> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = h
            .engine
            .requests()
            .list(cursor.as_ref(), 500)
            .expect("list");
        out.extend(page.items);
        match page.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    out.sort_by_key(|r| r.id);
    out
}

fn verify_barcode(r: &RequestRecord) -> Option<&str> {
    match &r.kind {
        RequestKind::Verify(VerifyParams::Tape { barcode }) => Some(barcode),
        _ => None,
    }
}

#[test]
fn scheduled_verifies_run_oldest_first_within_budget_and_only_when_idle() {
    // One object per group: each group writes its own tape.
    let dir = tempfile::tempdir().expect("tempdir");
    let c = base_config(dir.path());
    let h = start_engine(dir, c, |_| {});
    let mut tapes = Vec::new();
    for (i, g) in GROUPS.iter().enumerate() {
        write_files(&h.demo(), &[(&format!("{g}/f"), bytes(i as u64, 20_000))]);
        let r = h.run_ok(RequestKind::Archive(ArchiveParams {
            collection: "c".into(),
            name: g.to_string(),
            source_server: "demo".into(),
            file_path_root: None,
            files: vec![g.to_string()],
            group: g.to_string(),
            comments: String::new(),
            delete_on_source: false,
        }));
        tapes.push(r.barcodes[0].clone());
    }
    let catalog = h.engine.state().catalog.clone();
    let now = OffsetDateTime::now_utc();
    for (barcode, days) in tapes
        .iter()
        .zip([None, Some(100), Some(40), Some(35), Some(10)])
    {
        catalog
            .update_tape(barcode, |t| {
                t.verified = days.map(|d| now - time::Duration::days(d));
                Ok(())
            })
            .expect("set verified");
    }
    let Harness { engine, dir } = h;
    drop(engine);
    drop(catalog);

    // The same daemon with the policy on, and client restores queued before it starts.
    let mut c = base_config(dir.path());
    c.verify.enabled = true;
    c.verify.period = Duration::from_secs(30 * 24 * 3600);
    c.verify.check_interval = Duration::from_millis(10);
    c.verify.max_drives = 2;
    let h = start_engine(dir, c, |catalog| {
        let requests = Requests::new(catalog.clone());
        for (i, g) in GROUPS.iter().enumerate() {
            requests
                .submit(restore(g, &format!("r{i}")), Priority::DEFAULT, "operator")
                .expect("queue a restore");
        }
    });
    let due = &tapes[..4];
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let verified = due.iter().all(|b| {
            h.engine
                .state()
                .catalog
                .get_tape(b)
                .expect("tape")
                .expect("known")
                .verified
                > Some(now)
        });
        let active = h.engine.requests().active().expect("active");
        if verified && active.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "due tapes not verified: {active:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Nothing else is due: the policy stays quiet.
    std::thread::sleep(Duration::from_millis(200));

    let all = all_requests(&h);
    let scheduled: Vec<&RequestRecord> = all.iter().filter(|r| r.actor == "scheduler").collect();
    let order: Vec<&str> = scheduled.iter().filter_map(|r| verify_barcode(r)).collect();
    assert_eq!(order, due.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(scheduled.len(), 4, "{scheduled:?}");
    for r in &scheduled {
        assert_eq!(r.state, RequestState::Completed, "{r:?}");
    }
    let recent = h
        .engine
        .state()
        .catalog
        .get_tape(&tapes[4])
        .expect("tape")
        .expect("known");
    assert!(
        recent.verified < Some(now),
        "verified within the period: left alone"
    );

    // Never more than two at once: count scheduled verifies alive at each submission.
    let span = |r: &RequestRecord| (r.submitted, r.ended.expect("ended"));
    for s in &scheduled {
        let alive = scheduled
            .iter()
            .filter(|o| {
                let (from, to) = span(o);
                from <= s.submitted && s.submitted < to
            })
            .count();
        assert!(alive <= 2, "{alive} scheduled verifies at once");
    }
    // None submitted while a client request was pending or running.
    let clients: Vec<&RequestRecord> = all.iter().filter(|r| r.actor != "scheduler").collect();
    assert!(clients.iter().any(|r| r.actor == "operator"));
    for s in &scheduled {
        for c in &clients {
            let (from, to) = span(c);
            assert!(
                !(from <= s.submitted && s.submitted < to),
                "verify {} submitted while request {} ({}) was active",
                s.id,
                c.id,
                c.actor
            );
        }
    }
    // The audit log names the scheduler as the submitter.
    let audit = h
        .engine
        .state()
        .catalog
        .list_audit(None, 10_000)
        .expect("audit")
        .items;
    assert!(
        audit.iter().filter(|e| e.actor == "scheduler").count() >= 4,
        "{audit:?}"
    );
}
