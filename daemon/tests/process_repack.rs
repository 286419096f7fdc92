//! Repack through a real tapelibd that is killed (SIGKILL) at random points while the
//! simulated library keeps running in its own process: after every restart each live
//! object still has an instance, the repack resumes (or is submitted again, as an operator
//! would) and completes, and every object restores byte for byte.

mod process_common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use process_common::{bytes, sim_config, state, write_files, Devices, Lab};
use tapelib_proto::v1::{
    ListObjectsRequest, PageRequest, RequestState, SubmitDeleteRequest, SubmitRepackRequest,
};

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

type Files = Vec<(String, Vec<u8>)>;

async fn archive(lab: &Lab, name: &str, files: &Files) {
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
    let id = lab.submit_archive(name, &[name]).await.expect("archive");
    let r = lab.wait(id).await;
    assert_eq!(state(&r), RequestState::Completed, "archive {name}: {r:?}");
}

async fn submit_repack(lab: &Lab, barcode: &str) -> u64 {
    lab.requests()
        .submit_repack(SubmitRepackRequest {
            barcode: barcode.into(),
            ..Default::default()
        })
        .await
        .expect("SubmitRepack")
        .into_inner()
        .request_id
}

/// The tapes of every instance of each object.
async fn instance_tapes(lab: &Lab, names: &[String]) -> BTreeMap<String, Vec<Vec<String>>> {
    let mut out = BTreeMap::new();
    for name in names {
        let info = lab.object(name).await.expect("object info");
        let tapes = info
            .instances
            .iter()
            .map(|i| i.tapes.iter().map(|t| t.barcode.clone()).collect())
            .collect();
        out.insert(name.clone(), tapes);
    }
    out
}

/// Restores `name` under `root` and compares every byte.
async fn assert_restores(lab: &Lab, name: &str, files: &Files, root: &str) {
    let id = lab.submit_restore(name, root).await.expect("restore");
    let r = lab.wait(id).await;
    assert_eq!(state(&r), RequestState::Completed, "restore {name}: {r:?}");
    for (p, data) in files {
        let path = lab.restore_root().join(root).join(name).join(p);
        let got = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            got == *data,
            "{}: {} bytes (crc {:08x}), expected {} ({:08x})",
            path.display(),
            got.len(),
            crc32fast::hash(&got),
            data.len(),
            crc32fast::hash(data)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repack_killed_at_random_points_never_loses_an_object() {
    const RUNS: u64 = 12;
    let started = Instant::now();
    let mut lab = Lab::new(&sim_config(2, 8, ""), 2, Devices::Socket);
    // A short index interval and a small buffer: several commits per repack of little data.
    let config = std::fs::read_to_string(lab.config_path()).expect("config");
    std::fs::write(
        lab.config_path(),
        config.replacen(
            "[limits]\n",
            "[limits]\nrepack_sync_bytes = 250000\nrepack_buffer_bytes = 65536\n",
            1,
        ),
    )
    .expect("config");
    lab.start().await;
    let mut rng = Rng(0x5eed_4e9a_c0de_0008);
    let mut live: BTreeMap<String, Files> = BTreeMap::new();
    for i in 0..12u64 {
        let name = format!("r{i:02}");
        let files: Files = (0..1 + rng.below(3))
            .map(|f| {
                let len = 1 + rng.below(300 * 1024) as usize;
                (format!("f{f}.bin"), bytes(i * 16 + f, len))
            })
            .collect();
        archive(&lab, &name, &files).await;
        live.insert(name, files);
    }
    // About 30 % deleted: their space is what repack reclaims.
    for name in ["r01", "r04", "r07", "r10"] {
        let id = lab
            .requests()
            .submit_delete(SubmitDeleteRequest {
                object: Some(process_common::object_ref(name)),
                ..Default::default()
            })
            .await
            .expect("delete")
            .into_inner()
            .request_id;
        assert_eq!(state(&lab.wait(id).await), RequestState::Completed);
        live.remove(name);
    }
    let names: Vec<String> = live.keys().cloned().collect();
    let mut outcomes: BTreeMap<&'static str, usize> = BTreeMap::new();
    for run in 0..RUNS {
        // The tape holding most instances is repacked; its objects move to another.
        let before = instance_tapes(&lab, &names).await;
        let mut count: BTreeMap<&str, usize> = BTreeMap::new();
        for insts in before.values() {
            for t in insts.iter().flatten() {
                *count.entry(t.as_str()).or_default() += 1;
            }
        }
        let source = count
            .iter()
            .max_by_key(|(_, n)| **n)
            .map(|(t, _)| t.to_string())
            .expect("a tape with instances");
        let id = submit_repack(&lab, &source).await;
        tokio::time::sleep(Duration::from_millis(rng.below(400))).await;
        lab.kill9();
        lab.start().await;

        // Right after the restart no object is without an instance.
        let after = instance_tapes(&lab, &names).await;
        for (name, insts) in &after {
            assert!(
                !insts.is_empty(),
                "run {run}: {name} has no instance after the restart"
            );
        }
        let r = lab.wait(id).await;
        match state(&r) {
            RequestState::Completed => *outcomes.entry("completed").or_default() += 1,
            RequestState::Aborted => {
                // The operator submits the repack again; it picks up what is left.
                *outcomes.entry("aborted, resubmitted").or_default() += 1;
                assert!(!r.abort_reason.is_empty(), "{r:?}");
                let again = submit_repack(&lab, &source).await;
                let r = lab.wait(again).await;
                assert_eq!(state(&r), RequestState::Completed, "run {run}: {r:?}");
            }
            other => panic!("run {run}: repack ended {other:?}: {r:?}"),
        }
        // Nothing is left on the source, and everything restores byte for byte.
        let moved = instance_tapes(&lab, &names).await;
        for (name, insts) in &moved {
            assert_eq!(insts.len(), 1, "run {run}: {name}: {insts:?}");
            assert!(
                !insts[0].contains(&source),
                "run {run}: {name} still on {source}"
            );
        }
        for (name, files) in &live {
            assert_restores(&lab, name, files, &format!("run{run:02}")).await;
        }
        std::fs::remove_dir_all(lab.restore_root().join(format!("run{run:02}"))).ok();
    }
    eprintln!(
        "repack outcomes over {RUNS} kills: {outcomes:?} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
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
    let listed: Vec<String> = listed
        .iter()
        .filter_map(|o| o.object.as_ref().map(|r| r.name.clone()))
        .collect();
    assert_eq!(listed, names);
    assert!(lab.terminate().success());
}
