//! Helpers for tests that run the simulator as a process: a `tapelib-sim serve` child with its
//! own state directory (killed on drop), and the `tapelib-sim` binary and the SG_IO interposer
//! located (and built when needed) in the target directory of the running test.

use std::io;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::server::SOCKET_NAME;

/// Failures of the test harness itself (not of the simulator under test).
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },
    #[error("{0}")]
    Failed(String),
}

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> HarnessError {
    let what = what.into();
    move |source| HarnessError::Io { what, source }
}

/// Artifacts of the workspace, next to the running executable: `target/<profile>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifacts {
    /// `tapelib-sim` (the server and `ctl`).
    pub sim: PathBuf,
    /// `libtapelib_sgshim.so` (the SG_IO interposer).
    pub shim: PathBuf,
}

static ARTIFACTS: Mutex<Option<Artifacts>> = Mutex::new(None);

/// The profile directory holding the running executable (`target/debug/deps/x` → `target/debug`).
fn profile_dir() -> Result<PathBuf, HarnessError> {
    let exe = std::env::current_exe().map_err(io_err("locating the running executable"))?;
    let mut dir = exe
        .parent()
        .ok_or_else(|| HarnessError::Failed(format!("{} has no parent", exe.display())))?
        .to_path_buf();
    if dir
        .file_name()
        .is_some_and(|n| n == "deps" || n == "examples")
    {
        dir.pop();
    }
    Ok(dir)
}

/// Builds (once per process; cargo makes it a no-op when fresh) the `tapelib-sim` binary and
/// the interposer into the profile directory of the running test, and returns their paths.
/// `cargo test` builds neither for another package's tests, nor cdylibs at all.
pub fn artifacts() -> Result<Artifacts, HarnessError> {
    let mut cached = ARTIFACTS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(a) = cached.as_ref() {
        return Ok(a.clone());
    }
    let dir = profile_dir()?;
    let profile = dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("debug")
        .to_owned();
    let target = dir
        .parent()
        .ok_or_else(|| HarnessError::Failed(format!("{} has no parent", dir.display())))?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "-p",
        "tapelib-sim",
        "--bin",
        "tapelib-sim",
        "-p",
        "tapelib-sgshim",
        "--lib",
    ])
    .current_dir(env!("CARGO_MANIFEST_DIR"))
    .env("CARGO_TARGET_DIR", target)
    .stdin(Stdio::null());
    match profile.as_str() {
        "debug" => {}
        "release" => {
            cmd.arg("--release");
        }
        other => {
            cmd.args(["--profile", other]);
        }
    }
    let status = cmd.status().map_err(io_err(
        "running cargo build -p tapelib-sim -p tapelib-sgshim",
    ))?;
    if !status.success() {
        return Err(HarnessError::Failed(format!(
            "cargo build -p tapelib-sim -p tapelib-sgshim: {status}"
        )));
    }
    let a = Artifacts {
        sim: dir.join("tapelib-sim"),
        shim: dir.join("libtapelib_sgshim.so"),
    };
    for p in [&a.sim, &a.shim] {
        if !p.is_file() {
            return Err(HarnessError::Failed(format!(
                "{} missing after the build",
                p.display()
            )));
        }
    }
    *cached = Some(a.clone());
    Ok(a)
}

/// A `tapelib-sim serve` child process with its own state directory; killed when dropped.
pub struct SimServer {
    pub child: Option<Child>,
    pub state: tempfile::TempDir,
    pub config: PathBuf,
    pub binary: PathBuf,
}

impl SimServer {
    /// Starts `binary serve` on a new state directory with `config` (TOML text) and waits until
    /// its socket answers.
    pub fn start(binary: &Path, config: &str) -> Result<SimServer, HarnessError> {
        let state = tempfile::Builder::new()
            .prefix("tapelib-sim-test-")
            .tempdir()
            .map_err(io_err("creating a state directory"))?;
        let config_path = state.path().join("library.toml");
        std::fs::write(&config_path, config).map_err(io_err("writing the configuration"))?;
        let mut s = SimServer {
            child: None,
            state,
            config: config_path,
            binary: binary.to_path_buf(),
        };
        s.spawn()?;
        Ok(s)
    }

    pub fn dir(&self) -> &Path {
        self.state.path()
    }

    pub fn socket(&self) -> PathBuf {
        self.dir().join(SOCKET_NAME)
    }

    pub fn device(&self, name: &str) -> PathBuf {
        self.dir().join("dev").join(name)
    }

    /// Starts (or restarts) the server process on the same state directory.
    pub fn spawn(&mut self) -> Result<(), HarnessError> {
        let child = Command::new(&self.binary)
            .arg("serve")
            .arg("--config")
            .arg(&self.config)
            .arg("--state-dir")
            .arg(self.state.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(io_err(format!("starting {} serve", self.binary.display())))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if UnixStream::connect(self.socket()).is_ok() {
                return Ok(());
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                self.child = None;
                return Err(HarnessError::Failed(format!(
                    "tapelib-sim serve exited early: {status}"
                )));
            }
            if Instant::now() >= deadline {
                self.kill9();
                return Err(HarnessError::Failed(
                    "server did not come up in 30 s".into(),
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server with SIGKILL (no flush, no cleanup), as a crash would.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stops the server with SIGTERM and waits; returns whether it exited cleanly.
    pub fn terminate(&mut self) -> bool {
        let Some(mut c) = self.child.take() else {
            return false;
        };
        let Ok(pid) = libc::pid_t::try_from(c.id()) else {
            let _ = c.kill();
            let _ = c.wait();
            return false;
        };
        // SAFETY: signalling our own child by pid; it has not been reaped yet.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = c.try_wait() {
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                let _ = c.wait();
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A command for `program` with the interposer `shim` preloaded against this server.
    pub fn preloaded(&self, program: &Path, shim: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("LD_PRELOAD", shim)
            .env("TAPELIB_SIM_STATE_DIR", self.dir())
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `tapelib-sim ctl --state-dir DIR args...`.
    pub fn ctl(&self, args: &[&str]) -> Result<Output, HarnessError> {
        Command::new(&self.binary)
            .arg("ctl")
            .arg("--state-dir")
            .arg(self.dir())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(io_err("running tapelib-sim ctl"))
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// The LTFS volume written by the reference implementation that the project's tests share:
/// `$TAPELIB_SHARED_DIR/fixtures/ltfs-reference-sample`, by default the `shared/` directory
/// beside the repository. Missing is an error, never a reason to skip.
pub fn reference_sample_dir() -> Result<PathBuf, HarnessError> {
    let shared = std::env::var_os("TAPELIB_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let dir = shared.join("fixtures/ltfs-reference-sample");
    if dir.is_dir() {
        Ok(dir)
    } else {
        Err(HarnessError::Failed(format!(
            "LTFS reference sample not found at {} (set TAPELIB_SHARED_DIR)",
            dir.display()
        )))
    }
}
