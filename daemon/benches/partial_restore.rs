//! Partial restore against a full restore of the same clip on the simulated LTO-8 drive:
//! modeled tape seconds (locate, read, …) for one second of a long synthetic transport
//! stream at its start, middle and end, and for the whole file. Each partial is split into
//! locating (moving to the range: longitudinal distance at locate speed, which no reader can
//! avoid) and the rest (reading, probing), with the number of locates. Each run starts with
//! the cartridge unloaded, so no run inherits the head position of the one before.
//!
//! `TAPELIB_BENCH_BYTES` (default 2 GiB) sets the clip size; `TAPELIB_BENCH_DIR` the scratch
//! directory (default the system temp dir).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tapelib_daemon::api::DaemonState;
use tapelib_daemon::catalog::Catalog;
use tapelib_daemon::config::DaemonConfig;
use tapelib_daemon::engine::Engine;
use tapelib_daemon::library::TapeLibrary;
use tapelib_daemon::request::{
    ArchiveParams, PartialRange, PartialRestoreParams, PartialSelection, Priority, RequestKind,
    RequestResult, RequestState, RestoreParams,
};
use tapelib_media::synthetic::{timecode, write_ts, FPS};

/// A constant-size, all-intra transport stream of about `bytes` (at least 8 s).
fn make_clip(path: &Path, bytes: u64) -> (u64, u64) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let seconds = (bytes / (4 << 20)).max(8);
    let frames = seconds * FPS;
    let packets = (bytes / 188 / frames).max(2);
    let mut f = std::io::BufWriter::with_capacity(4 << 20, std::fs::File::create(path).unwrap());
    write_ts(&mut f, frames, |_| packets).unwrap();
    f.flush().unwrap();
    (frames, std::fs::metadata(path).unwrap().len())
}

fn open(dir: &Path) -> (Engine, PathBuf) {
    let mut c = DaemonConfig::simulate_default(dir);
    c.limits.ready_poll_interval = Duration::from_millis(5);
    c.libraries[0]
        .simulator
        .as_mut()
        .unwrap()
        .inline
        .as_mut()
        .unwrap()
        .time_scale = 0.0;
    let mut restore = c.servers["demo"].clone();
    restore.root = dir.join("restore");
    c.servers.insert("restore".into(), restore);
    for s in c.servers.values() {
        std::fs::create_dir_all(&s.root).unwrap();
    }
    let catalog = Catalog::open(&c.catalog).unwrap();
    for g in &c.groups {
        if catalog.get_group(&g.name).unwrap().is_none() {
            catalog
                .create_group(
                    &tapelib_daemon::catalog::TapeGroup {
                        name: g.name.clone(),
                        description: String::new(),
                        generation: g.generation,
                        created: time::OffsetDateTime::now_utc(),
                    },
                    "bench",
                )
                .unwrap();
        }
    }
    let lib = TapeLibrary::open(&c.libraries[0], &c.limits, catalog.clone()).unwrap();
    lib.refresh_inventory().unwrap();
    let demo = dir.join("demo");
    let state = Arc::new(DaemonState::new(c, catalog, vec![Arc::new(lib)]));
    (Engine::start(state).unwrap(), demo)
}

fn run(engine: &Engine, kind: RequestKind) -> tapelib_daemon::request::RequestRecord {
    let id = engine.submit(kind, Priority::DEFAULT, "bench").unwrap().id;
    loop {
        let r = engine.requests().get(id).unwrap();
        if r.state.is_terminal() {
            assert_eq!(r.state, RequestState::Completed, "{r:?}");
            return r;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Modeled seconds the tape spent on everything but loading and unloading, and the part of
/// them spent locating.
fn tape_seconds(engine: &Engine, tape: &str) -> (f64, f64) {
    let sim = engine.state().libraries[0].simulator().unwrap().clone();
    let s = sim.stats().cartridges[tape].modeled_seconds.clone();
    (
        s.rewind + s.locate + s.space + s.read + s.write + s.erase + s.format,
        s.locate,
    )
}

/// Every run starts from a cartridge in its slot, as a request to an idle library would: the
/// head's position left by the previous run would otherwise bias the next run's locates.
fn unload(engine: &Engine, tape: &str) {
    let lib = &engine.state().libraries[0];
    for d in lib.drives() {
        if d.loaded.as_deref() == Some(tape) {
            lib.unmount(&d.name).unwrap();
        }
    }
}

fn locates(engine: &Engine, tape: &str) -> u64 {
    let sim = engine.state().libraries[0].simulator().unwrap().clone();
    sim.stats().cartridges[tape].locates
}

fn main() {
    let bytes = std::env::var("TAPELIB_BENCH_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2u64 << 30);
    let base = std::env::var_os("TAPELIB_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::tempdir_in(&base).unwrap();
    let (engine, demo) = open(dir.path());
    let (frames, size) = make_clip(&demo.join("clip/prog.ts"), bytes);
    println!(
        "partial restore benchmark: {} MiB clip, {} s at {FPS} fps, simulated LTO-8",
        size >> 20,
        frames / FPS
    );
    run(
        &engine,
        RequestKind::Archive(ArchiveParams {
            collection: "bench".into(),
            name: "prog".into(),
            source_server: "demo".into(),
            file_path_root: None,
            files: vec!["clip".into()],
            group: "default".into(),
            comments: String::new(),
            delete_on_source: false,
        }),
    );
    let tape = engine
        .state()
        .catalog
        .list_instances("bench", "prog")
        .unwrap()[0]
        .tapes[0]
        .clone();

    unload(&engine, &tape);
    let before = tape_seconds(&engine, &tape).0;
    run(
        &engine,
        RequestKind::Restore(RestoreParams {
            collection: "bench".into(),
            name: "prog".into(),
            instance: None,
            destination_server: "restore".into(),
            file_path_root: Some("full".into()),
            overwrite: false,
        }),
    );
    let full = tape_seconds(&engine, &tape).0 - before;
    println!("{:<22} {:>9.2} modeled s", "full restore", full);
    println!(
        "{:<22} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8}",
        "", "total s", "% full", "locate s", "other s", "% full", "locates"
    );
    for (what, at) in [
        ("1 s at the start", 0),
        ("1 s in the middle", frames / 2),
        ("1 s at the end", frames - FPS),
    ] {
        unload(&engine, &tape);
        let before = tape_seconds(&engine, &tape);
        let n_before = locates(&engine, &tape);
        let r = run(
            &engine,
            RequestKind::PartialRestore(PartialRestoreParams {
                collection: "bench".into(),
                name: "prog".into(),
                instance: None,
                destination_server: "restore".into(),
                file_path_root: Some(format!("part{at}")),
                overwrite: false,
                items: Vec::new(),
                format: 5,
                selection: vec![PartialSelection::File {
                    source_file: "clip/prog.ts".into(),
                    destination_file: "cut.ts".into(),
                    ranges: vec![PartialRange::Timecode {
                        begin: timecode(at),
                        end: timecode(at + FPS - 1),
                    }],
                }],
            }),
        );
        let (t, locate) = tape_seconds(&engine, &tape);
        let (t, locate) = (t - before.0, locate - before.1);
        let n = locates(&engine, &tape) - n_before;
        let read = match &r.result {
            Some(RequestResult::PartialRestore { bytes_read, .. }) => *bytes_read,
            _ => 0,
        };
        println!(
            "{what:<22} {t:>9.2} {:>8.2}% {locate:>9.2} {:>9.3} {:>8.2}% {n:>8}   read {:.3} % of the file",
            100.0 * t / full,
            t - locate,
            100.0 * (t - locate) / full,
            100.0 * read as f64 / size as f64
        );
    }
}
