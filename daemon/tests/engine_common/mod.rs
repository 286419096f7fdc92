//! An engine on the built-in simulated library (time scale 0) in a temp dir, for tests that
//! run operations in process.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tapelib_daemon::api::DaemonState;
use tapelib_daemon::catalog::{Catalog, TapeGroup};
use tapelib_daemon::config::DaemonConfig;
use tapelib_daemon::engine::Engine;
use tapelib_daemon::library::TapeLibrary;
use tapelib_daemon::request::{Priority, RequestKind, RequestRecord, RequestState};

pub struct Harness {
    // Dropped first: the engine and the simulator flush into `dir`.
    pub engine: Engine,
    pub dir: tempfile::TempDir,
}

pub fn config(
    dir: &Path,
    tweak: impl FnOnce(&mut tapelib_sim::config::LibraryConfig),
) -> DaemonConfig {
    let mut c = DaemonConfig::simulate_default(dir);
    c.limits.ready_poll_interval = Duration::from_millis(5);
    c.limits.drive_ready_timeout = Duration::from_secs(20);
    let sim = c.libraries[0]
        .simulator
        .as_mut()
        .and_then(|s| s.inline.as_mut())
        .expect("inline simulator");
    sim.time_scale = 0.0;
    tweak(sim);
    let mut dst = c.servers["demo"].clone();
    dst.root = dir.join("restore");
    c.servers.insert("restore".into(), dst);
    for s in c.servers.values() {
        std::fs::create_dir_all(&s.root).expect("server root");
    }
    c
}

pub fn start_with(dir: tempfile::TempDir, config: DaemonConfig) -> Harness {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let catalog = Catalog::open(&config.catalog).expect("catalog");
    for g in &config.groups {
        if catalog.get_group(&g.name).expect("group").is_none() {
            catalog
                .create_group(
                    &TapeGroup {
                        name: g.name.clone(),
                        description: g.description.clone(),
                        generation: g.generation,
                        created: time::OffsetDateTime::now_utc(),
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
    let state = Arc::new(DaemonState::new(config, catalog, libs));
    let engine = Engine::start(state).expect("engine");
    Harness { engine, dir }
}

pub fn start(tweak: impl FnOnce(&mut tapelib_sim::config::LibraryConfig)) -> Harness {
    let dir = tempfile::tempdir().expect("tempdir");
    let c = config(dir.path(), tweak);
    start_with(dir, c)
}

impl Harness {
    pub fn demo(&self) -> PathBuf {
        self.dir.path().join("demo")
    }

    pub fn restore_root(&self) -> PathBuf {
        self.dir.path().join("restore")
    }

    pub fn submit(&self, kind: RequestKind) -> u64 {
        self.engine
            .submit(kind, Priority::DEFAULT, "test")
            .expect("submit")
            .id
    }

    pub fn wait(&self, id: u64) -> RequestRecord {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let r = self.engine.requests().get(id).expect("request");
            if r.state.is_terminal() {
                return r;
            }
            assert!(
                Instant::now() < deadline,
                "request {id} did not finish: {r:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn run(&self, kind: RequestKind) -> RequestRecord {
        let id = self.submit(kind);
        self.wait(id)
    }

    pub fn run_ok(&self, kind: RequestKind) -> RequestRecord {
        let r = self.run(kind);
        assert_eq!(r.state, RequestState::Completed, "{r:?}");
        r
    }

    pub fn library(&self) -> &Arc<TapeLibrary> {
        &self.engine.state().libraries[0]
    }
}

/// Writes `files` (relative path, content) under `root`.
pub fn write_files(root: &Path, files: &[(&str, Vec<u8>)]) {
    for (p, data) in files {
        let path = root.join(p);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, data).expect("write");
    }
}

/// Deterministic pseudo-random bytes.
pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}
