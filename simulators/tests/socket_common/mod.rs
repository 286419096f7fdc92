//! Shared harness of the socket, interop, robustness and durability tests: a `tapelib-sim serve`
//! process per test (killed on drop), the interposer library, and the third-party tools.

#![allow(dead_code)]

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tapelib_sim::testing;

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

/// A `tapelib-sim serve` child process with its own state directory; killed when dropped
/// ([`tapelib_sim::testing::SimServer`] with this package's binary and the interposer).
pub struct SimServer(testing::SimServer);

impl Deref for SimServer {
    type Target = testing::SimServer;
    fn deref(&self) -> &testing::SimServer {
        &self.0
    }
}

impl DerefMut for SimServer {
    fn deref_mut(&mut self) -> &mut testing::SimServer {
        &mut self.0
    }
}

impl SimServer {
    /// Starts a server on a new state directory with `config`.
    pub fn start(config: &str) -> SimServer {
        let binary = Path::new(env!("CARGO_BIN_EXE_tapelib-sim"));
        SimServer(testing::SimServer::start(binary, config).unwrap_or_else(|e| panic!("{e}")))
    }

    /// Starts (or restarts) the server process on the same state directory.
    pub fn spawn(&mut self) {
        self.0.spawn().unwrap_or_else(|e| panic!("{e}"));
    }

    /// Runs `program args` with the interposer preloaded against this server.
    pub fn run_tool(&self, program: &Path, args: &[&str]) -> Output {
        self.preloaded(program, &shim())
            .args(args)
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

/// `target/<profile>/libtapelib_sgshim.so`, built when stale (`cargo test` does not build other
/// packages' cdylibs).
pub fn shim() -> PathBuf {
    testing::artifacts().unwrap_or_else(|e| panic!("{e}")).shim
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
