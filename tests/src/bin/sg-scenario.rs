//! Runs the SCSI scenario through the real SG_IO path: `tapelib_scsi::SgDevice` on a simulator's
//! device files. Start it with `LD_PRELOAD=libtapelib_sgshim.so` and `TAPELIB_SIM_STATE_DIR`
//! (the interposer must live in the process that issues the ioctl).
//!
//! Usage: `sg-scenario STATE_DIR`. Prints one JSON object on stdout: `{"ok":true,"report":...}`
//! or `{"ok":false,"step":...,"message":...}`; exits 0 only when every step passed.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use tapelib_scsi::SgDevice;
use tapelib_sim::client::SimControlClient;
use tapelib_tests::scenario;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("TAPELIB_TEST_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let result = run();
    let (ok, json) = match result {
        Ok(Ok(report)) => (true, serde_json::json!({ "ok": true, "report": report })),
        Ok(Err(e)) => (
            false,
            serde_json::json!({ "ok": false, "step": e.step, "message": e.message }),
        ),
        Err(e) => (
            false,
            serde_json::json!({ "ok": false, "step": "setup", "message": format!("{e:#}") }),
        ),
    };
    println!("{json}");
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn run() -> anyhow::Result<Result<scenario::ScenarioReport, scenario::ScenarioError>> {
    let dir = PathBuf::from(
        std::env::args_os()
            .nth(1)
            .context("usage: sg-scenario STATE_DIR")?,
    );
    let dev = dir.join("dev");
    let changer = SgDevice::open(dev.join("changer0"))
        .with_context(|| format!("opening {}", dev.join("changer0").display()))?;
    let drive = SgDevice::open(dev.join("drive0"))
        .with_context(|| format!("opening {}", dev.join("drive0").display()))?;
    let mut operator = SimControlClient::connect(&dir)
        .with_context(|| format!("connecting to the simulator in {}", dir.display()))?;
    Ok(scenario::run(changer, drive, &mut operator))
}
