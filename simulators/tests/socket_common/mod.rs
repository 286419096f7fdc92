//! Shared harness of the socket, interop, robustness and durability tests: a `tapelib-sim serve`
//! process per test (killed on drop), the interposer library, and the third-party tools.

#![allow(dead_code)]

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// A mid-size test library: 10 slots, 2 I/E slots, two IBM LTO-8 drives, cartridges in slots 1-4,
/// a cleaning cartridge in slot 6 and one cartridge already in drive 0.
pub const CONFIG: &str = r#"
storage_slots = 10
ie_slots = 2
time_scale = 0.0

[changer]
vendor = "IBM"
product = "3573-TL"
serial = "SIMLIB0001"

[[drive]]
generation = "LTO-8"
personality = "IBM"
serial = "1013000001"

[[drive]]
generation = "LTO-8"
personality = "IBM"
serial = "1013000002"

[[cartridge]]
barcode = "A00001L8"
slot = 1

[[cartridge]]
barcode = "A00002L8"
slot = 2

[[cartridge]]
barcode = "A00003L7"
slot = 3

[[cartridge]]
barcode = "A00004L8"
slot = 4

[[cartridge]]
barcode = "CLN001L1"
slot = 6

[[cartridge]]
barcode = "A00005L8"
slot = "drive:0"
"#;

/// A `tapelib-sim serve` child process with its own state directory; killed when dropped.
pub struct SimServer {
    pub child: Option<Child>,
    pub state: tempfile::TempDir,
    pub config: PathBuf,
}

impl SimServer {
    /// Starts a server on a new state directory with `config`.
    pub fn start(config: &str) -> SimServer {
        let state = tempfile::Builder::new()
            .prefix("tapelib-sim-test-")
            .tempdir()
            .expect("temp dir");
        let config_path = state.path().join("library.toml");
        std::fs::write(&config_path, config).expect("write config");
        let mut s = SimServer {
            child: None,
            state,
            config: config_path,
        };
        s.spawn();
        s
    }

    pub fn dir(&self) -> &Path {
        self.state.path()
    }

    pub fn socket(&self) -> PathBuf {
        self.dir().join("tapelib-sim.sock")
    }

    pub fn device(&self, name: &str) -> PathBuf {
        self.dir().join("dev").join(name)
    }

    /// Starts (or restarts) the server process on the same state directory.
    pub fn spawn(&mut self) {
        let child = Command::new(env!("CARGO_BIN_EXE_tapelib-sim"))
            .arg("serve")
            .arg("--config")
            .arg(&self.config)
            .arg("--state-dir")
            .arg(self.dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tapelib-sim serve");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if UnixStream::connect(self.socket()).is_ok() {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("tapelib-sim serve exited early: {status}");
            }
            assert!(Instant::now() < deadline, "server did not come up");
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
        // SAFETY: signalling our own child by pid.
        unsafe { libc::kill(c.id() as libc::pid_t, libc::SIGTERM) };
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

    /// Runs `program args` with the interposer preloaded against this server.
    pub fn run_tool(&self, program: &Path, args: &[&str]) -> Output {
        Command::new(program)
            .args(args)
            .env("LD_PRELOAD", shim())
            .env("TAPELIB_SIM_STATE_DIR", self.dir())
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", program.display()))
    }

    /// Like [`SimServer::run_tool`], insisting on success; returns stdout.
    pub fn tool_ok(&self, program: &Path, args: &[&str]) -> String {
        let out = self.run_tool(program, args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{} {args:?} failed ({}):\nstdout:\n{stdout}\nstderr:\n{}",
            program.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Runs `tapelib-sim ctl --state-dir DIR args...`, insisting on success; returns stdout.
pub fn ctl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_tapelib-sim"))
        .arg("ctl")
        .arg("--state-dir")
        .arg(dir)
        .args(args)
        .output()
        .expect("run tapelib-sim ctl");
    assert!(
        out.status.success(),
        "ctl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

static SHIM: Mutex<Option<PathBuf>> = Mutex::new(None);

/// `target/<profile>/libtapelib_sgshim.so`, built first when missing or older than its sources
/// (`cargo test` does not build other packages' cdylibs).
pub fn shim() -> PathBuf {
    let mut cached = SHIM.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = cached.as_ref() {
        return p.clone();
    }
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_tapelib-sim"));
    let out_dir = exe.parent().expect("binary directory").to_path_buf();
    let so = out_dir.join("libtapelib_sgshim.so");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sources = [
        manifest.join("sgshim/src/lib.rs"),
        manifest.join("sgshim/src/sg.rs"),
        manifest.join("sgshim/Cargo.toml"),
        manifest.join("src/protocol.rs"),
    ];
    let newest = sources
        .iter()
        .filter_map(|p| p.metadata().and_then(|m| m.modified()).ok())
        .max()
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let built = so.metadata().and_then(|m| m.modified()).ok();
    if !matches!(built, Some(t) if t >= newest) {
        let profile = out_dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("debug")
            .to_owned();
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "-p", "tapelib-sgshim"])
            .current_dir(manifest);
        match profile.as_str() {
            "debug" => {}
            "release" => {
                cmd.arg("--release");
            }
            other => {
                cmd.args(["--profile", other]);
            }
        }
        // Build into the same target directory as this test binary.
        if let Some(target) = out_dir.parent() {
            cmd.env("CARGO_TARGET_DIR", target);
        }
        let status = cmd.status().expect("run cargo build -p tapelib-sgshim");
        assert!(status.success(), "cargo build -p tapelib-sgshim failed");
        assert!(so.is_file(), "{} missing after the build", so.display());
    }
    *cached = Some(so.clone());
    so
}

/// Finds a third-party tool. When it is missing the test fails if `TAPELIB_REQUIRE_INTEROP=1`,
/// otherwise it says why it skips and the caller returns.
pub fn tool(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/usr/bin", "/sbin", "/bin"].map(PathBuf::from));
    if let Some(found) = dirs.iter().map(|d| d.join(name)).find(|p| p.is_file()) {
        return Some(found);
    }
    if std::env::var("TAPELIB_REQUIRE_INTEROP").as_deref() == Ok("1") {
        panic!("{name} is required (TAPELIB_REQUIRE_INTEROP=1) but not installed");
    }
    eprintln!("skipping: {name} is not installed (install mtx / sg3-utils to run this test)");
    None
}
