//! Archive and restore throughput through the whole stack (engine, LTFS, SCSI commands, the
//! simulated library at time scale 0), against a plain copy of the same bytes between
//! directories on the same disk, measured in the same run.
//!
//! `TAPELIB_BENCH_BYTES` (default 8 GiB) sets the data size; `TAPELIB_BENCH_DIR` the scratch
//! directory (default the system temp dir). Peak disk use is about four times the data size.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tapelib_daemon::api::DaemonState;
use tapelib_daemon::catalog::{Catalog, TapeGroup};
use tapelib_daemon::config::DaemonConfig;
use tapelib_daemon::engine::Engine;
use tapelib_daemon::library::TapeLibrary;
use tapelib_daemon::request::{
    ArchiveParams, DeleteParams, Priority, RequestKind, RequestState, RestoreParams,
};

const MIB: u64 = 1 << 20;

fn env_bytes() -> u64 {
    std::env::var("TAPELIB_BENCH_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8 << 30)
}

/// Fills `path` with `len` pseudo-random bytes (incompressible, cheap to make).
fn make_file(path: &Path, len: u64, seed: u64) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut f = std::io::BufWriter::with_capacity(4 << 20, std::fs::File::create(path).unwrap());
    let mut x = seed | 1;
    let mut buf = vec![0u8; MIB as usize];
    let mut left = len;
    while left > 0 {
        for c in buf.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            c.copy_from_slice(&x.to_le_bytes());
        }
        let n = left.min(MIB) as usize;
        f.write_all(&buf[..n]).unwrap();
        left -= n as u64;
    }
    f.into_inner().unwrap().sync_all().unwrap();
}

/// Copies every file under `from` to `to` (the baseline), syncing each.
fn plain_copy(from: &Path, to: &Path) -> Duration {
    let t = Instant::now();
    let mut stack = vec![from.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let rel = p.strip_prefix(from).unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else {
                let dst = to.join(rel);
                std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
                std::fs::copy(&p, &dst).unwrap();
                std::fs::File::open(&dst).unwrap().sync_all().unwrap();
            }
        }
    }
    t.elapsed()
}

struct Bench {
    engine: Engine,
    demo: PathBuf,
    restore: PathBuf,
}

fn open(dir: &Path) -> Bench {
    let mut c = DaemonConfig::simulate_default(dir);
    c.limits.ready_poll_interval = Duration::from_millis(5);
    let sim = c.libraries[0]
        .simulator
        .as_mut()
        .unwrap()
        .inline
        .as_mut()
        .unwrap();
    sim.time_scale = 0.0;
    let mut restore = c.servers["demo"].clone();
    restore.root = dir.join("restore");
    c.servers.insert("restore".into(), restore);
    for s in c.servers.values() {
        std::fs::create_dir_all(&s.root).unwrap();
    }
    let catalog = Catalog::open(&c.catalog).unwrap();
    for g in ["bench-a", "bench-b"] {
        catalog
            .create_group(
                &TapeGroup {
                    name: g.into(),
                    description: String::new(),
                    generation: None,
                    created: time::OffsetDateTime::now_utc(),
                },
                "bench",
            )
            .unwrap();
    }
    let lib = TapeLibrary::open(&c.libraries[0], &c.limits, catalog.clone()).unwrap();
    lib.refresh_inventory().unwrap();
    let state = Arc::new(DaemonState::new(c, catalog, vec![Arc::new(lib)]));
    Bench {
        engine: Engine::start(state).unwrap(),
        demo: dir.join("demo"),
        restore: dir.join("restore"),
    }
}

impl Bench {
    fn run_all(&self, kinds: Vec<RequestKind>) -> Duration {
        let t = Instant::now();
        let ids: Vec<u64> = kinds
            .into_iter()
            .map(|k| {
                self.engine
                    .submit(k, Priority::DEFAULT, "bench")
                    .unwrap()
                    .id
            })
            .collect();
        for id in ids {
            loop {
                let r = self.engine.requests().get(id).unwrap();
                if r.state.is_terminal() {
                    assert_eq!(r.state, RequestState::Completed, "{r:?}");
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        t.elapsed()
    }
}

fn archive(name: &str, files: &[&str], group: &str) -> RequestKind {
    RequestKind::Archive(ArchiveParams {
        collection: "bench".into(),
        name: name.into(),
        source_server: "demo".into(),
        file_path_root: None,
        files: files.iter().map(|s| s.to_string()).collect(),
        group: group.into(),
        comments: String::new(),
        delete_on_source: false,
    })
}

fn restore(name: &str) -> RequestKind {
    RequestKind::Restore(RestoreParams {
        collection: "bench".into(),
        name: name.into(),
        instance: None,
        destination_server: "restore".into(),
        file_path_root: Some(name.into()),
        overwrite: false,
    })
}

fn rate(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

fn report(what: &str, bytes: u64, ours: Duration, copy: Duration) {
    println!(
        "{what:<34} {:>9.1} MB/s  ({:>7.2} s)   plain copy {:>9.1} MB/s   ratio {:.2}",
        rate(bytes, ours),
        ours.as_secs_f64(),
        rate(bytes, copy),
        copy.as_secs_f64() / ours.as_secs_f64()
    );
}

fn main() {
    let total = env_bytes();
    let base = std::env::var_os("TAPELIB_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::tempdir_in(&base).unwrap();
    let b = open(dir.path());
    println!(
        "tapelib archive/restore benchmark: {} MiB, scratch in {}",
        total / MIB,
        dir.path().display()
    );

    // One file.
    make_file(&b.demo.join("one/data.bin"), total, 1);
    let copy = plain_copy(&b.demo.join("one"), &dir.path().join("copy"));
    std::fs::remove_dir_all(dir.path().join("copy")).unwrap();
    let a = b.run_all(vec![archive("one", &["one"], "bench-a")]);
    report("archive 1 file", total, a, copy);
    let r = b.run_all(vec![restore("one")]);
    report("restore 1 file", total, r, copy);
    std::fs::remove_dir_all(b.restore.join("one")).unwrap();
    std::fs::remove_dir_all(b.demo.join("one")).unwrap();
    b.run_all(vec![RequestKind::Delete(DeleteParams {
        collection: "bench".into(),
        name: "one".into(),
        instance: None,
    })]);

    // 1 MiB files.
    let n = (total / MIB).max(1);
    for i in 0..n {
        make_file(
            &b.demo.join(format!("many/{:03}/{i:06}.bin", i / 512)),
            MIB,
            i + 7,
        );
    }
    let copy = plain_copy(&b.demo.join("many"), &dir.path().join("copy"));
    std::fs::remove_dir_all(dir.path().join("copy")).unwrap();
    let a = b.run_all(vec![archive("many", &["many"], "bench-a")]);
    report(&format!("archive {n} files of 1 MiB"), n * MIB, a, copy);
    let r = b.run_all(vec![restore("many")]);
    report(&format!("restore {n} files of 1 MiB"), n * MIB, r, copy);
    std::fs::remove_dir_all(b.restore.join("many")).unwrap();

    // Two drives at once: two halves into two groups (two tapes, two drives).
    let half = n / 2;
    let halves: Vec<String> = (0..n / 512 + 1).map(|d| format!("many/{d:03}")).collect();
    let (first, second) = halves.split_at(halves.len() / 2);
    let first: Vec<&str> = first.iter().map(String::as_str).collect();
    let second: Vec<&str> = second.iter().map(String::as_str).collect();
    fn existing<'a>(root: &Path, v: &[&'a str]) -> Vec<&'a str> {
        v.iter()
            .copied()
            .filter(|p| root.join(p).exists())
            .collect()
    }
    let (fa, fb) = (existing(&b.demo, &first), existing(&b.demo, &second));
    if !fa.is_empty() && !fb.is_empty() {
        let t = b.run_all(vec![
            archive("p-a", &fa, "bench-a"),
            archive("p-b", &fb, "bench-b"),
        ]);
        let drives: Vec<String> = b
            .engine
            .requests()
            .list(None, 10)
            .unwrap()
            .items
            .iter()
            .filter(|r| matches!(&r.kind, RequestKind::Archive(p) if p.name.starts_with("p-")))
            .flat_map(|r| r.barcodes.clone())
            .collect();
        println!(
            "{:<34} {:>9.1} MB/s  ({:>7.2} s)   tapes {}",
            "archive on two drives (aggregate)",
            rate(n * MIB, t),
            t.as_secs_f64(),
            drives.join(",")
        );
        let _ = half;
    }
}
