//! Repack of a tape holding many objects, 30 % of them deleted, through the whole stack on
//! the simulated LTO-8 library at time scale 0: real throughput of the live bytes copied,
//! and modeled tape time against the lower bound (live bytes ÷ native rate, plus one robot
//! move and load of each tape), with two drives (streaming) and with one (disk cache).
//!
//! `TAPELIB_BENCH_REPACK_BYTES` (default 4 GiB) sets the data on the source tape,
//! `TAPELIB_BENCH_REPACK_OBJECTS` (default 2,000) the number of objects and
//! `TAPELIB_BENCH_DIR` the scratch directory (default the system temp dir). Each case
//! needs about three times the data size on disk.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tapelib_daemon::api::DaemonState;
use tapelib_daemon::catalog::{Catalog, TapeGroup};
use tapelib_daemon::config::DaemonConfig;
use tapelib_daemon::engine::Engine;
use tapelib_daemon::library::TapeLibrary;
use tapelib_daemon::request::{
    ArchiveParams, DeleteParams, Priority, RepackParams, RepackRetire, RequestKind, RequestState,
};
use tapelib_sim::media::LtoGeneration;
use tapelib_sim::stats::LibraryStats;
use tapelib_sim::timing::TimeModel;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Fills `path` with `len` pseudo-random bytes (incompressible, cheap to make).
fn make_file(path: &Path, len: u64, seed: u64) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let mut x = seed | 1;
    let mut left = len;
    let mut buf = vec![0u8; 1 << 16];
    while left > 0 {
        for c in buf.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            c.copy_from_slice(&x.to_le_bytes());
        }
        let n = left.min(buf.len() as u64) as usize;
        f.write_all(&buf[..n]).unwrap();
        left -= n as u64;
    }
    f.flush().unwrap();
}

fn open(dir: &Path, drives: usize) -> Engine {
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
    sim.drives.truncate(drives);
    c.libraries[0].drives.truncate(drives);
    for s in c.servers.values() {
        std::fs::create_dir_all(&s.root).unwrap();
    }
    let catalog = Catalog::open(&c.catalog).unwrap();
    for g in ["default", "dest"] {
        if catalog.get_group(g).unwrap().is_none() {
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
    }
    let lib = TapeLibrary::open(&c.libraries[0], &c.limits, catalog.clone()).unwrap();
    lib.refresh_inventory().unwrap();
    let state = Arc::new(DaemonState::new(c, catalog, vec![Arc::new(lib)]));
    Engine::start(state).unwrap()
}

fn run_all(engine: &Engine, kinds: Vec<RequestKind>) {
    let ids: Vec<u64> = kinds
        .into_iter()
        .map(|k| engine.submit(k, Priority::DEFAULT, "bench").unwrap().id)
        .collect();
    for id in ids {
        loop {
            let r = engine.requests().get(id).unwrap();
            if r.state.is_terminal() {
                assert_eq!(r.state, RequestState::Completed, "{r:?}");
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

fn archive(name: &str, group: &str) -> RequestKind {
    RequestKind::Archive(ArchiveParams {
        collection: "bench".into(),
        name: name.into(),
        source_server: "demo".into(),
        file_path_root: None,
        files: vec![name.into()],
        group: group.into(),
        comments: String::new(),
        delete_on_source: false,
    })
}

fn stats(engine: &Engine) -> LibraryStats {
    engine.state().libraries[0].simulator().unwrap().stats()
}

/// Modeled seconds between two snapshots: the robot's, and each drive's as (loading,
/// everything else).
fn modeled(before: &LibraryStats, after: &LibraryStats) -> (f64, Vec<(f64, f64)>) {
    let robot = after.robot.modeled_seconds - before.robot.modeled_seconds;
    let drives = after
        .drives
        .iter()
        .map(|(name, d)| {
            let b = before
                .drives
                .get(name)
                .map(|b| b.modeled_seconds.clone())
                .unwrap_or_default();
            let load = d.modeled_seconds.load - b.load;
            (load, d.modeled_seconds.total() - b.total() - load)
        })
        .collect();
    (robot, drives)
}

/// Archives the objects, deletes 30 %, then repacks the tape; returns the line to print.
fn case(base: &Path, drives: usize, bytes: u64, objects: u64) -> String {
    let dir = tempfile::tempdir_in(base).unwrap();
    let engine = open(dir.path(), drives);
    let demo = dir.path().join("demo");
    // A formatted tape of the destination group: formatting is not repack work.
    make_file(&demo.join("seed/seed.bin"), 4096, 1);
    run_all(&engine, vec![archive("seed", "dest")]);
    let size = (bytes / objects).max(1);
    for i in 0..objects {
        make_file(&demo.join(format!("o{i:05}/data.bin")), size, i + 2);
    }
    // One after the other, so that every object lands on one tape.
    for i in 0..objects {
        run_all(&engine, vec![archive(&format!("o{i:05}"), "default")]);
    }
    std::fs::remove_dir_all(&demo).unwrap();
    let catalog = &engine.state().catalog;
    let source = catalog.list_instances("bench", "o00000").unwrap()[0].tapes[0].clone();
    let deleted: Vec<u64> = (0..objects).filter(|i| i % 10 < 3).collect();
    run_all(
        &engine,
        deleted
            .iter()
            .map(|i| {
                RequestKind::Delete(DeleteParams {
                    collection: "bench".into(),
                    name: format!("o{i:05}"),
                    instance: None,
                })
            })
            .collect(),
    );
    let live = (objects - deleted.len() as u64) * size;
    let on_source = catalog.instances_on_tape(&source).unwrap().len() as u64;
    assert_eq!(
        on_source,
        objects - deleted.len() as u64,
        "objects on {source}"
    );
    // Both tapes start in their slots: the repack pays one mount of each.
    let lib = &engine.state().libraries[0];
    for d in lib.drives() {
        if d.loaded.is_some() {
            lib.unmount(&d.name).unwrap();
        }
    }
    let before = stats(&engine);
    let t = Instant::now();
    run_all(
        &engine,
        vec![RequestKind::Repack(RepackParams {
            barcode: source.clone(),
            target_group: Some("dest".into()),
            retire: RepackRetire::Empty,
        })],
    );
    let real = t.elapsed();
    let after = stats(&engine);
    let (robot, per_drive) = modeled(&before, &after);
    // The repack mounts its tapes one after the other (robot moves and loads add up);
    // then the drives read and write side by side.
    let used: Vec<(f64, f64)> = per_drive
        .into_iter()
        .filter(|(l, s)| *l + *s > 0.0)
        .collect();
    let loads: f64 = used.iter().map(|(l, _)| l).sum();
    let busiest = used.iter().map(|(_, s)| *s).fold(0.0, f64::max);
    let model = robot + loads + busiest;
    let tm = TimeModel::instant();
    let g = LtoGeneration::Lto8;
    let bound = live as f64 / g.native_rate_bytes_per_sec() as f64
        + 2.0 * (tm.robot_move_seconds() + tm.load_seconds(g));
    let drives_used = used.len();
    drop(engine);
    format!(
        "{drives} drive(s): {:>8.1} MB/s of live bytes ({:.2} s real)   modeled {:>8.1} s (robot {robot:.1} s, loads {loads:.1} s, {drives_used} drive(s) busy, busiest {busiest:.1} s more)   bound {bound:>7.1} s   ratio {:.2}",
        live as f64 / 1e6 / real.as_secs_f64(),
        real.as_secs_f64(),
        model,
        model / bound
    )
}

fn main() {
    let bytes = env_u64("TAPELIB_BENCH_REPACK_BYTES", 4 << 30);
    let objects = env_u64("TAPELIB_BENCH_REPACK_OBJECTS", 2000).max(10);
    let base = std::env::var_os("TAPELIB_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    println!(
        "tapelib repack benchmark: {} MiB in {objects} objects, 30 % deleted, simulated LTO-8, time scale 0",
        bytes >> 20
    );
    // `TAPELIB_BENCH_REPACK_DRIVES=2` runs only the two-drive case (the one-drive case
    // takes much longer on large data).
    let cases: Vec<usize> = std::env::var("TAPELIB_BENCH_REPACK_DRIVES")
        .ok()
        .map(|v| v.split(',').filter_map(|d| d.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![2, 1]);
    for drives in cases {
        println!("{}", case(&base, drives, bytes, objects));
    }
}
