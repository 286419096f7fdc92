//! The socket transport: same bytes as in process, reconnection after a restart, the operator
//! side (`ctl`) and clean shutdown.

mod socket_common;

use std::time::Duration;

use socket_common::{ctl, SimServer, CONFIG};
use tapelib_scsi::transport::{Completion, DataPhase, ScsiTransport, TransportError};
use tapelib_sim::client::{SimControlClient, SimSocketTransport};
use tapelib_sim::config::{FaultSpec, LibraryConfig};
use tapelib_sim::library::Library;
use tapelib_sim::server::Server;

const T: Duration = Duration::from_secs(30);

/// One step of a replayed command sequence.
struct Step {
    cdb: Vec<u8>,
    out: Option<Vec<u8>>,
    alloc: usize,
}

fn step(cdb: &[u8], alloc: usize) -> Step {
    Step {
        cdb: cdb.to_vec(),
        out: None,
        alloc,
    }
}

fn step_out(cdb: &[u8], data: Vec<u8>) -> Step {
    Step {
        cdb: cdb.to_vec(),
        out: Some(data),
        alloc: 0,
    }
}

/// A sequence touching changer and drive: inquiry, element status, moves, writes, reads past
/// the end, positions, log and mode pages, attributes, and a few malformed CDBs.
fn sequence() -> Vec<(&'static str, Step)> {
    let rec = |n: u8| (0..5000u32).map(|i| (i as u8) ^ n).collect::<Vec<u8>>();
    vec![
        ("changer0", step(&[0x12, 0, 0, 0, 0x38, 0], 0x38)),
        ("changer0", step(&[0x12, 1, 0x80, 0, 0xff, 0], 0xff)),
        ("changer0", step(&[0x00, 0, 0, 0, 0, 0], 0)),
        ("changer0", step(&[0x00, 0, 0, 0, 0, 0], 0)),
        ("changer0", step(&[0x1a, 0x08, 0x1d, 0, 0x88, 0], 0x88)),
        (
            "changer0",
            step(&[0xb8, 0x10, 0, 0, 0xff, 0xff, 0, 0, 0x40, 0, 0, 0], 0x4000),
        ),
        // Truncated by the allocation length.
        (
            "changer0",
            step(&[0xb8, 0x12, 0x10, 0, 0, 4, 0, 0, 0, 60, 0, 0], 60),
        ),
        // MOVE MEDIUM slot 1 -> drive 1.
        (
            "changer0",
            step(&[0xa5, 0, 0, 1, 0x10, 0x00, 0x01, 0x01, 0, 0, 0, 0], 0),
        ),
        // Unsupported opcode and a bad field.
        ("changer0", step(&[0xff, 0, 0, 0, 0, 0], 0)),
        ("changer0", step(&[0x12, 0, 0x80, 0, 0xff, 0], 0xff)),
        ("drive0", step(&[0x00, 0, 0, 0, 0, 0], 0)),
        ("drive0", step(&[0x00, 0, 0, 0, 0, 0], 0)),
        ("drive0", step(&[0x12, 0, 0, 0, 0x60, 0], 0x60)),
        ("drive0", step(&[0x05, 0, 0, 0, 0, 0], 6)),
        ("drive0", step(&[0x01, 0, 0, 0, 0, 0], 0)),
        ("drive0", step_out(&[0x0a, 0, 0, 0x13, 0x88, 0], rec(1))),
        ("drive0", step_out(&[0x0a, 0, 0, 0x13, 0x88, 0], rec(2))),
        ("drive0", step(&[0x10, 0, 0, 0, 1, 0], 0)),
        ("drive0", step_out(&[0x0a, 0, 0, 0x13, 0x88, 0], rec(3))),
        ("drive0", step(&[0x34, 6, 0, 0, 0, 0, 0, 0, 0, 0], 32)),
        ("drive0", step(&[0x01, 0, 0, 0, 0, 0], 0)),
        // Read with a larger and a smaller allocation than the record (ILI, residue).
        ("drive0", step(&[0x08, 0, 0, 0x20, 0, 0], 0x2000)),
        ("drive0", step(&[0x08, 0, 0, 0x01, 0, 0], 0x100)),
        ("drive0", step(&[0x08, 0, 0, 0x20, 0, 0], 0x2000)),
        ("drive0", step(&[0x08, 0, 0, 0x20, 0, 0], 0x2000)),
        ("drive0", step(&[0x08, 0, 0, 0x20, 0, 0], 0x2000)),
        ("drive0", step(&[0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0], 20)),
        (
            "drive0",
            step(&[0x4d, 0, 0x57, 0, 0, 0, 0, 0x40, 0, 0], 0x4000),
        ),
        (
            "drive0",
            step(&[0x4d, 0, 0x6e, 0, 0, 0, 0, 0x40, 0, 0], 0x4000),
        ),
        ("drive0", step(&[0x1a, 0, 0x11, 0, 0xff, 0], 0xff)),
        (
            "drive0",
            step(
                &[0x8c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0],
                0x1000,
            ),
        ),
        ("drive0", step(&[0x3f, 0, 0, 0, 0, 0], 0)),
        ("drive1", step(&[0x00, 0, 0, 0, 0, 0], 0)),
        ("drive1", step(&[0x00, 0, 0, 0, 0, 0], 0)),
        ("drive1", step(&[0x12, 1, 0x83, 0, 0xff, 0], 0xff)),
    ]
}

/// Runs the sequence and records every completion with the bytes that came back.
fn replay<F: FnMut(&str) -> Box<dyn ScsiTransport>>(mut open: F) -> Vec<(Completion, Vec<u8>)> {
    let mut results = Vec::new();
    let mut transports: std::collections::BTreeMap<&str, Box<dyn ScsiTransport>> =
        Default::default();
    for (device, s) in sequence() {
        let t = transports.entry(device).or_insert_with(|| open(device));
        let mut buf = vec![0u8; s.alloc];
        let data = match (&s.out, s.alloc) {
            (Some(out), _) => DataPhase::Out(out),
            (None, 0) => DataPhase::None,
            (None, _) => DataPhase::In(&mut buf),
        };
        let mut c = t.execute(&s.cdb, data, T).unwrap();
        // Time taken is the only field allowed to differ.
        c.duration = None;
        buf.truncate(c.transferred.min(buf.len()));
        results.push((c, buf));
    }
    results
}

#[test]
fn in_process_and_socket_give_identical_bytes() {
    let config = LibraryConfig::from_toml_str(CONFIG).unwrap();
    let dir_a = tempfile::tempdir().unwrap();
    let lib_a = Library::open(config.clone(), dir_a.path()).unwrap();
    let in_process = replay(|d| Box::new(lib_a.transport(d).unwrap()));

    let sim = SimServer::start(CONFIG);
    let socket = replay(|d| Box::new(SimSocketTransport::connect(sim.dir(), d).unwrap()));
    assert_eq!(in_process.len(), socket.len());
    for (i, (a, b)) in in_process.iter().zip(&socket).enumerate() {
        assert_eq!(a, b, "step {i} differs");
    }
    // The sequence did real work: records came back and errors were reported.
    assert!(in_process.iter().any(|(_, d)| d.len() == 5000));
    assert!(in_process.iter().any(|(c, _)| !c.status.is_good()));
}

#[test]
fn transport_reconnects_once_after_a_restart() {
    let mut sim = SimServer::start(CONFIG);
    let mut t = SimSocketTransport::connect(sim.socket(), "changer0").unwrap();
    let mut buf = [0u8; 36];
    let c = t
        .execute(&[0x12, 0, 0, 0, 36, 0], DataPhase::In(&mut buf), T)
        .unwrap();
    assert!(c.status.is_good());
    assert_eq!(c.transferred, 36);
    assert_eq!(buf[0] & 0x1f, 8);

    sim.kill9();
    sim.spawn();
    let mut buf2 = [0u8; 36];
    let c = t
        .execute(&[0x12, 0, 0, 0, 36, 0], DataPhase::In(&mut buf2), T)
        .unwrap();
    assert!(c.status.is_good());
    assert_eq!(buf, buf2);

    // With the server gone for good the error says where it tried.
    sim.kill9();
    let err = t
        .execute(&[0x00; 6], DataPhase::None, T)
        .expect_err("no server");
    match err {
        TransportError::Connection(m) => assert!(m.contains("tapelib-sim.sock"), "{m}"),
        other => panic!("unexpected error {other:?}"),
    }
}

#[test]
fn unknown_device_and_bad_cdb_are_errors_not_panics() {
    let sim = SimServer::start(CONFIG);
    let mut t = SimSocketTransport::connect(sim.dir(), "drive9").unwrap();
    let err = t.execute(&[0; 6], DataPhase::None, T).unwrap_err();
    assert!(err.to_string().contains("drive9"), "{err}");
    let mut t = SimSocketTransport::connect(sim.dir(), "drive0").unwrap();
    assert!(matches!(
        t.execute(&[], DataPhase::None, T),
        Err(TransportError::InvalidCdb(0))
    ));
    // The connection is still usable.
    let mut buf = [0u8; 6];
    let c = t
        .execute(&[0x05, 0, 0, 0, 0, 0], DataPhase::In(&mut buf), T)
        .unwrap();
    assert_eq!(c.transferred + c.residual, 6);
}

#[test]
fn ctl_insert_remove_faults_stats_contents_and_images() {
    let sim = SimServer::start(CONFIG);
    let dir = sim.dir();

    let out = ctl(dir, &["insert", "IMP001L8", "--slot", "1"]);
    assert!(
        out.contains("inserted IMP001L8 into I/E element 16"),
        "{out}"
    );
    let json: serde_json::Value = serde_json::from_str(&ctl(dir, &["--json", "contents"])).unwrap();
    let ie = json["elements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["address"] == 16)
        .unwrap();
    assert_eq!(ie["barcode"], "IMP001L8");
    let table = ctl(dir, &["contents"]);
    assert!(
        table.contains("IMP001L8") && table.contains("A00005L8"),
        "{table}"
    );

    let out = ctl(dir, &["remove", "--slot", "1"]);
    assert!(out.contains("removed IMP001L8"), "{out}");

    // Faults: typed, visible in the contents, cleared again.
    ctl(dir, &["fault", "add", "drive-failure", "--drive", "1"]);
    ctl(
        dir,
        &[
            "fault",
            "add",
            "media-error",
            "--barcode",
            "A00001L8",
            "--block",
            "7",
            "--op",
            "read",
        ],
    );
    let mut client = SimControlClient::connect(dir).unwrap();
    let contents = client.contents().unwrap();
    assert!(contents
        .faults
        .contains(&FaultSpec::DriveFailure { drive: 1 }));
    assert_eq!(contents.faults.len(), 2);
    // Options that do not describe the fault are refused by the CLI.
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_tapelib-sim"))
        .args(["ctl", "--state-dir"])
        .arg(dir)
        .args(["fault", "add", "drive-failure", "--barcode", "X"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    ctl(dir, &["fault", "clear"]);
    assert!(client.contents().unwrap().faults.is_empty());

    // Stats over the socket count what was done over the socket.
    let mut t = SimSocketTransport::connect(dir, "drive0").unwrap();
    for _ in 0..3 {
        let _ = t.execute(&[0; 6], DataPhase::None, T).unwrap();
    }
    let rec = vec![7u8; 1000];
    let c = t
        .execute(&[0x0a, 0, 0, 0x03, 0xe8, 0], DataPhase::Out(&rec), T)
        .unwrap();
    assert!(c.status.is_good(), "{:02x?}", c.sense);
    let stats = client.stats().unwrap();
    assert_eq!(stats.drives["drive0"].records_written, 1);
    assert_eq!(stats.drives["drive0"].bytes_written, 1000);
    let table = ctl(dir, &["stats"]);
    assert!(
        table.contains("drive0") && table.contains("A00005L8"),
        "{table}"
    );
    let json: serde_json::Value = serde_json::from_str(&ctl(dir, &["stats", "--json"])).unwrap();
    assert_eq!(json["drives"]["drive0"]["bytes_written"], 1000);

    // Export a cartridge, import the image under a new barcode, insert it.
    let out_dir = tempfile::tempdir().unwrap();
    let img = out_dir.path().join("img");
    ctl(dir, &["export-image", "A00002L8", img.to_str().unwrap()]);
    assert!(img.is_dir());
    ctl(
        dir,
        &[
            "import-image",
            img.to_str().unwrap(),
            "--barcode",
            "CPY002L8",
        ],
    );
    let at = client.insert("CPY002L8", None).unwrap();
    assert_eq!(at, 16);
    assert_eq!(
        client
            .contents()
            .unwrap()
            .find("CPY002L8")
            .map(|e| e.address),
        Some(16)
    );
    assert!(client.insert("NOPE", None).is_err());
}

#[test]
fn in_process_server_serves_and_shuts_down() {
    let dir = tempfile::tempdir().unwrap();
    let lib = Library::open(LibraryConfig::from_toml_str(CONFIG).unwrap(), dir.path()).unwrap();
    let handle = Server::bind(lib.clone(), dir.path())
        .unwrap()
        .spawn()
        .unwrap();
    // A second server on the same directory is refused while the first is live.
    assert!(Server::bind(lib.clone(), dir.path()).is_err());
    for name in ["changer0", "drive0", "drive1"] {
        assert!(dir.path().join("dev").join(name).is_file());
    }
    let mut c = SimControlClient::connect(dir.path()).unwrap();
    assert_eq!(c.device_names().unwrap(), ["changer0", "drive0", "drive1"]);
    handle.shutdown();
    assert!(!dir.path().join("tapelib-sim.sock").exists());
    // A stale socket file (from a killed server) is replaced.
    let _stale = std::os::unix::net::UnixListener::bind(dir.path().join("tapelib-sim.sock"));
    drop(_stale);
    let handle = Server::bind(lib, dir.path()).unwrap().spawn().unwrap();
    handle.shutdown();
}

#[test]
fn serve_stops_cleanly_on_sigterm() {
    let mut sim = SimServer::start(CONFIG);
    assert!(
        sim.terminate(),
        "serve did not exit successfully on SIGTERM"
    );
    assert!(!sim.socket().exists());
    // The state survives: a new server reads it back.
    sim.spawn();
    let mut c = SimControlClient::connect(sim.dir()).unwrap();
    assert_eq!(
        c.contents().unwrap().find("A00001L8").map(|e| e.address),
        Some(4096)
    );
}
