//! The SCSI scenario (`tapelib_tests::scenario`) run three ways against the simulator: in
//! process, over the simulator socket, and through SG_IO with the interposer in a child process.

use tapelib_sim::client::{SimControlClient, SimSocketTransport};
use tapelib_sim::config::LibraryConfig;
use tapelib_sim::library::Library;
use tapelib_sim::testing::{artifacts, SimServer};
use tapelib_tests::scenario::{self, ScenarioReport, CONFIG, STEPS};

/// Checks a report covers every step and carries the values the configuration implies.
fn check_report(report: &ScenarioReport) {
    assert_eq!(report.steps, STEPS, "steps completed");
    let fact = |step: &str, key: &str| {
        report
            .facts
            .get(step)
            .and_then(|f| f.get(key))
            .map(String::as_str)
            .unwrap_or_else(|| panic!("fact {step}.{key} missing in {report:#?}"))
    };
    assert_eq!(fact("inventory", "drive0_serial"), "1013000001");
    assert_eq!(fact("drive_identify", "serial"), "1013000001");
    assert_eq!(fact("drive_identify", "generation"), "8");
    assert_eq!(fact("variable_block_mode", "block_size"), "0");
    assert_eq!(fact("read_position", "block"), "9");
    assert_eq!(fact("record_too_large", "record_size"), "262144");
    assert_eq!(fact("mam", "label"), "tapelib scenario label");
    assert_ne!(fact("mam", "vcr_before"), fact("mam", "vcr_after"));
    assert_eq!(fact("import_export", "moved_to"), {
        let c = LibraryConfig::from_toml_str(CONFIG).expect("config");
        c.storage_address(5).expect("slot 5").to_string()
    });
}

#[test]
fn scenario_in_process() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = LibraryConfig::from_toml_str(CONFIG).expect("config");
    let library = Library::open(config, dir.path()).expect("open library");
    let changer = library.transport("changer0").expect("changer");
    let drive = library.transport("drive0").expect("drive");
    let mut operator = library.clone();
    let report = scenario::run(changer, drive, &mut operator).unwrap_or_else(|e| panic!("{e}"));
    check_report(&report);
}

#[test]
fn scenario_over_socket() {
    let a = artifacts().expect("build tapelib-sim");
    let server = SimServer::start(&a.sim, CONFIG).expect("start server");
    let changer = SimSocketTransport::connect(server.dir(), "changer0").expect("changer");
    let drive = SimSocketTransport::connect(server.dir(), "drive0").expect("drive");
    let mut operator = SimControlClient::connect(server.dir()).expect("control");
    let report = scenario::run(changer, drive, &mut operator).unwrap_or_else(|e| panic!("{e}"));
    check_report(&report);
}

#[test]
fn scenario_over_sg_io() {
    let a = artifacts().expect("build tapelib-sim and the interposer");
    let server = SimServer::start(&a.sim, CONFIG).expect("start server");
    let out = server
        .preloaded(env!("CARGO_BIN_EXE_sg-scenario").as_ref(), &a.shim)
        .arg(server.dir())
        .output()
        .expect("run sg-scenario");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let json: serde_json::Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("sg-scenario output is not JSON ({e}):\n{stdout}\n{stderr}"));
    assert!(
        out.status.success() && json["ok"] == true,
        "sg-scenario failed ({}): {json}\nstderr:\n{stderr}",
        out.status
    );
    let report: ScenarioReport =
        serde_json::from_value(json["report"].clone()).expect("report in the output");
    check_report(&report);
}

/// The scenario checks values, not just success: a library that differs from the configuration
/// it expects (another drive serial) fails at the first step that reads it.
#[test]
fn scenario_detects_a_library_that_differs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let altered = CONFIG.replace("serial = \"1013000001\"", "serial = \"1013009999\"");
    assert_ne!(altered, CONFIG);
    let config = LibraryConfig::from_toml_str(&altered).expect("config");
    let library = Library::open(config, dir.path()).expect("open library");
    let changer = library.transport("changer0").expect("changer");
    let drive = library.transport("drive0").expect("drive");
    let mut operator = library.clone();
    let err = scenario::run(changer, drive, &mut operator).expect_err("must fail");
    assert_eq!(err.step, "inventory", "{err}");
    assert!(err.message.contains("DVCID serial of drive 0"), "{err}");
    assert!(err.message.contains("1013009999"), "{err}");
}
