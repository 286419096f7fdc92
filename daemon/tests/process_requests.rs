//! Archives and restores through a real tapelibd that is killed (SIGKILL) at random points
//! and started again on the same catalog while the simulated library keeps running in its
//! own process; and the same operations over the real SG_IO path.

mod process_common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use process_common::{bytes, sim_config, state, write_files, Devices, Lab};
use tapelib_proto::v1::{DivaError, DivaStatusCode, ListObjectsRequest, PageRequest, RequestState};

/// Small, fast xorshift so a failing run can be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Files of object `name`: (path relative to the object, content).
fn object_files(seed: u64, rng: &mut Rng) -> Vec<(String, Vec<u8>)> {
    let n = 1 + rng.below(3);
    (0..n)
        .map(|i| {
            let len = 1 + rng.below(384 * 1024) as usize;
            (format!("f{i}.bin"), bytes(seed * 16 + i, len))
        })
        .collect()
}

/// Checks that what lies under `root` is exactly `files` of object `name`.
fn assert_restored(root: &Path, name: &str, files: &[(String, Vec<u8>)], what: &str) {
    for (p, data) in files {
        let path = root.join(name).join(p);
        let got =
            std::fs::read(&path).unwrap_or_else(|e| panic!("{what}: {}: {e}", path.display()));
        assert!(
            got == *data,
            "{what}: {} differs ({} bytes, expected {}; crc {:08x} vs {:08x})",
            path.display(),
            got.len(),
            data.len(),
            crc32fast::hash(&got),
            crc32fast::hash(data)
        );
    }
}

/// Restores `name` into a fresh folder and compares every byte and checksum.
async fn verify_object(lab: &Lab, name: &str, files: &[(String, Vec<u8>)], tag: &str) {
    let info = lab.object(name).await.expect("object info");
    let mut by_path: BTreeMap<&str, (u64, u32)> = BTreeMap::new();
    for f in &info.files {
        by_path.insert(f.path.as_str(), (f.size_bytes, f.crc32));
    }
    for (p, data) in files {
        let key = format!("{name}/{p}");
        assert_eq!(
            by_path.get(key.as_str()),
            Some(&(data.len() as u64, crc32fast::hash(data))),
            "catalog entry of {key}: {info:?}"
        );
    }
    let root = format!("verify-{tag}");
    let id = lab
        .submit_restore(name, &root)
        .await
        .expect("submit restore");
    let r = lab.wait(id).await;
    assert_eq!(
        state(&r),
        RequestState::Completed,
        "verify restore of {name}: {r:?}"
    );
    assert_restored(&lab.restore_root().join(&root), name, files, "verify");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_at_random_points_loses_nothing() {
    const RUNS: u64 = 20;
    let mut lab = Lab::new(&sim_config(2, 6, ""), 2, Devices::Socket);
    lab.start().await;
    let mut rng = Rng(0x5eed_cafe_f00d_0001);
    // Objects the catalog holds, with their source bytes.
    let mut archived: BTreeMap<String, Vec<(String, Vec<u8>)>> = BTreeMap::new();
    let mut outcomes: BTreeMap<&'static str, usize> = BTreeMap::new();
    for run in 0..RUNS {
        let name = format!("obj{run:02}");
        let files = object_files(run + 1, &mut rng);
        let named: Vec<(String, Vec<u8>)> = files
            .iter()
            .map(|(p, d)| (format!("{name}/{p}"), d.clone()))
            .collect();
        write_files(
            &lab.demo(),
            &named
                .iter()
                .map(|(p, d)| (p.as_str(), d.clone()))
                .collect::<Vec<_>>(),
        );
        let archive = lab
            .submit_archive(&name, &[name.as_str()])
            .await
            .expect("archive");
        // A restore of an earlier object runs alongside on the other drive.
        let restore = match archived
            .keys()
            .nth(rng.below(archived.len().max(1) as u64) as usize)
        {
            Some(prev) => {
                let prev = prev.clone();
                let root = format!("run{run:02}");
                Some((
                    lab.submit_restore(&prev, &root).await.expect("restore"),
                    prev,
                    root,
                ))
            }
            None => None,
        };
        tokio::time::sleep(Duration::from_millis(rng.below(250))).await;
        lab.kill9();
        lab.start().await;

        // Every request ends, none is left RUNNING or PENDING.
        let a = lab.wait(archive).await;
        match state(&a) {
            RequestState::Completed => {
                *outcomes.entry("archive completed").or_default() += 1;
                archived.insert(name.clone(), files.clone());
            }
            RequestState::Aborted => {
                *outcomes.entry("archive aborted").or_default() += 1;
                assert!(
                    !a.abort_reason.is_empty(),
                    "aborted without a reason: {a:?}"
                );
                // Not in the catalog: a later archive of the same name must be accepted.
                let e = lab
                    .object(&name)
                    .await
                    .expect_err("aborted archive left an object");
                assert_eq!(
                    DivaError::from_status(&e).expect("details").status_code(),
                    Ok(DivaStatusCode::DivaErrObjectDoesntExist)
                );
            }
            other => panic!("run {run}: archive ended {other:?}: {a:?}"),
        }
        if let Some((id, prev, root)) = restore {
            let r = lab.wait(id).await;
            match state(&r) {
                RequestState::Completed => {
                    *outcomes.entry("restore completed").or_default() += 1;
                    assert_restored(
                        &lab.restore_root().join(&root),
                        &prev,
                        &archived[&prev],
                        &format!("run {run} restore"),
                    );
                }
                RequestState::Aborted => {
                    *outcomes.entry("restore aborted").or_default() += 1;
                    assert!(
                        !r.abort_reason.is_empty(),
                        "aborted without a reason: {r:?}"
                    );
                }
                other => panic!("run {run}: restore ended {other:?}: {r:?}"),
            }
        }
    }
    eprintln!("outcomes over {RUNS} kills: {outcomes:?}");
    // The catalog holds exactly the completed archives.
    let listed = lab
        .objects()
        .list_objects(ListObjectsRequest {
            page: Some(PageRequest { page: 1, size: 100 }),
            collection: process_common::COLLECTION.into(),
            ..Default::default()
        })
        .await
        .expect("ListObjects")
        .into_inner()
        .objects;
    let names: Vec<String> = listed
        .iter()
        .filter_map(|o| o.object.as_ref().map(|r| r.name.clone()))
        .collect();
    assert_eq!(names, archived.keys().cloned().collect::<Vec<_>>());
    // Every object in the catalog restores with its bytes: no instance points at data that
    // is not on tape.
    for (name, files) in &archived {
        verify_object(&lab, name, files, "final").await;
    }
    assert!(lab.terminate().success());
}

/// Kills tapelibd while request `id` is RUNNING; returns the request after the restart.
async fn kill_while_running(lab: &mut Lab, id: u64) -> tapelib_proto::v1::RequestInfo {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let r = lab.request(id).await;
        if state(&r) == RequestState::Running {
            break;
        }
        assert!(
            !process_common::is_terminal(r.state),
            "request ended before it could be interrupted: {r:?}"
        );
        assert!(std::time::Instant::now() < deadline, "never RUNNING: {r:?}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    lab.kill9();
    lab.start().await;
    // Resumed (PENDING, then RUNNING again) or ended; `wait` fails if it stays unfinished.
    let r = lab.wait(id).await;
    match state(&r) {
        RequestState::Completed => {}
        RequestState::Aborted => assert!(!r.abort_reason.is_empty(), "{r:?}"),
        other => panic!("interrupted request ended {other:?}: {r:?}"),
    }
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_requests_are_resumed_or_aborted_after_a_crash() {
    let mut lab = Lab::new(&sim_config(1, 3, ""), 1, Devices::Socket);
    lab.start().await;
    // Big enough to be caught RUNNING at time scale 0.
    let files: Vec<(String, Vec<u8>)> = (0..8)
        .map(|i| (format!("f{i}.bin"), bytes(100 + i, 4 << 20)))
        .collect();
    let named: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(p, d)| (format!("big/{p}"), d.clone()))
        .collect();
    write_files(
        &lab.demo(),
        &named
            .iter()
            .map(|(p, d)| (p.as_str(), d.clone()))
            .collect::<Vec<_>>(),
    );
    let id = lab.submit_archive("big", &["big"]).await.expect("archive");
    let r = kill_while_running(&mut lab, id).await;
    if state(&r) == RequestState::Aborted {
        // Archive it again, uninterrupted, for the restore below.
        let id = lab.submit_archive("big", &["big"]).await.expect("archive");
        let r = lab.wait(id).await;
        assert_eq!(state(&r), RequestState::Completed, "{r:?}");
    }
    let id = lab
        .submit_restore("big", "interrupted")
        .await
        .expect("restore");
    let r = kill_while_running(&mut lab, id).await;
    if state(&r) == RequestState::Completed {
        assert_restored(
            &lab.restore_root().join("interrupted"),
            "big",
            &files,
            "resumed",
        );
    } else {
        // Nothing half-written under the final names.
        for (p, data) in &files {
            let path = lab.restore_root().join("interrupted/big").join(p);
            if let Ok(got) = std::fs::read(&path) {
                assert!(got == *data, "{} left half-written", path.display());
            }
        }
    }
    verify_object(&lab, "big", &files, "after").await;
    assert!(lab.terminate().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_and_restore_over_sg_io() {
    let mut lab = Lab::new(&sim_config(2, 2, ""), 2, Devices::SgIo);
    lab.start().await;
    let drives = lab
        .library()
        .list_drives(tapelib_proto::v1::ListDrivesRequest::default())
        .await
        .expect("drives")
        .into_inner()
        .drives;
    assert_eq!(drives.len(), 2);
    assert!(
        drives
            .iter()
            .all(|d| d.device.ends_with(&format!("dev/{}", d.name))),
        "{drives:?}"
    );
    let files: Vec<(String, Vec<u8>)> = vec![
        ("a.bin".into(), bytes(7, 1_000_000)),
        ("sub/b.bin".into(), bytes(8, 4096)),
        ("empty".into(), Vec::new()),
    ];
    let named: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(p, d)| (format!("sg/{p}"), d.clone()))
        .collect();
    write_files(
        &lab.demo(),
        &named
            .iter()
            .map(|(p, d)| (p.as_str(), d.clone()))
            .collect::<Vec<_>>(),
    );
    let id = lab.submit_archive("sg", &["sg"]).await.expect("archive");
    let r = lab.wait(id).await;
    assert_eq!(state(&r), RequestState::Completed, "{r:?}");
    verify_object(&lab, "sg", &files, "sg").await;
    assert!(lab.terminate().success());
}
