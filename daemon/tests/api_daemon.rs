//! The real `tapelibd` binary against an in-process simulated library: gRPC calls,
//! `tapectl` output and a clean stop on SIGTERM.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tapelib_daemon::auth::client::Target;
use tapelib_daemon::catalog::Catalog;
use tapelib_proto::v1::library_service_client::LibraryServiceClient;
use tapelib_proto::v1::request_service_client::RequestServiceClient;
use tapelib_proto::v1::system_service_client::SystemServiceClient;
use tapelib_proto::v1::{
    DivaError, DivaStatusCode, DriveState, GetInventoryRequest, GetRequestRequest, GetTapeRequest,
    GetVersionRequest, HealthRequest, HealthStatus, ListDrivesRequest, ListGroupsRequest,
    ListServersRequest, ListTapesRequest, PageRequest, SetDriveStateRequest, TapeContent,
};
use tonic::transport::Channel;

const SIM: &str = r#"
storage_slots = 8
ie_slots = 2
time_scale = 0.0

[changer]
vendor = "TAPELIB"
product = "SIMLIB"
serial = "LIB0001"
revision = "0100"

[[drive]]
generation = "LTO-8"
serial = "1013000001"

[[drive]]
generation = "LTO-8"
serial = "1013000002"

[[cartridge]]
barcode = "A00001L8"
slot = 1

[[cartridge]]
barcode = "A00002L8"
slot = 2

[[cartridge]]
barcode = "A00003L8"
slot = 3

[[cartridge]]
barcode = "A00004L8"
slot = 4

[[cartridge]]
barcode = "CLN001CU"
slot = 8

[[cartridge]]
barcode = "B00001L8"
slot = "drive:1"
"#;

/// Every barcode of `SIM`, sorted.
const BARCODES: [&str; 6] = [
    "A00001L8", "A00002L8", "A00003L8", "A00004L8", "B00001L8", "CLN001CU",
];
const DRIVE0: u32 = 256;
const DRIVE1: u32 = 257;
const FIRST_SLOT: u32 = 4096;

/// A running `tapelibd`; killed when dropped if it is still running.
struct Daemon {
    child: Child,
    addr: String,
    dir: tempfile::TempDir,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A port free right now: bind port 0, note the port, release it.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

fn write_config(dir: &Path, port: u16) -> PathBuf {
    std::fs::write(dir.join("sim.toml"), SIM).expect("write simulator config");
    std::fs::create_dir_all(dir.join("demo")).expect("server root");
    let config = format!(
        r#"
catalog = "catalog"

[listen]
grpc = "127.0.0.1:{port}"
unix_socket = "tapelibd.sock"

[limits]
ready_poll_interval = "5ms"
drive_ready_timeout = "10s"

[servers.demo]
root = "demo"

[[group]]
name = "archive"
description = "test group"

[[library]]
name = "lib0"
changer = {{ sim = "changer0" }}

[library.simulator]
state_dir = "sim"
config_file = "sim.toml"

[[library.drive]]
device = {{ sim = "drive0" }}

[[library.drive]]
device = {{ sim = "drive1" }}
"#
    );
    let path = dir.join("tapelibd.toml");
    std::fs::write(&path, config).expect("write daemon config");
    path
}

async fn start() -> Daemon {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let config = write_config(dir.path(), port);
    let child = Command::new(env!("CARGO_BIN_EXE_tapelibd"))
        .arg("--config")
        .arg(&config)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("tapelibd starts");
    let mut daemon = Daemon {
        child,
        addr: format!("http://127.0.0.1:{port}"),
        dir,
    };
    wait_healthy(&mut daemon).await;
    daemon
}

async fn wait_healthy(daemon: &mut Daemon) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(Some(status)) = daemon.child.try_wait() {
            panic!("tapelibd exited early: {status}");
        }
        if let Ok(channel) = Channel::from_shared(daemon.addr.clone())
            .expect("address")
            .connect()
            .await
        {
            let mut client = SystemServiceClient::new(channel);
            if client.health(HealthRequest {}).await.is_ok() {
                return;
            }
        }
        assert!(Instant::now() < deadline, "tapelibd never answered Health");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A channel over the daemon's local socket, where this process (the daemon's own user)
/// is sysadmin without a token.
async fn channel(daemon: &Daemon) -> Channel {
    tapelib_daemon::auth::client::connect(&Target::Socket(daemon.dir.path().join("tapelibd.sock")))
        .await
        .expect("connect")
}

fn tapectl(daemon: &Daemon, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_tapectl"))
        .arg("--socket")
        .arg(daemon.dir.path().join("tapelibd.sock"))
        .env("XDG_CONFIG_HOME", daemon.dir.path().join("config"))
        .args(args)
        .output()
        .expect("tapectl runs");
    assert!(
        out.status.success(),
        "tapectl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_and_tapectl_against_the_daemon() {
    let daemon = start().await;
    let ch = channel(&daemon).await;
    let mut system = SystemServiceClient::new(ch.clone());
    let mut library = LibraryServiceClient::new(ch);

    let version = system
        .get_version(GetVersionRequest {})
        .await
        .expect("version")
        .into_inner();
    assert_eq!(version.api_version, "tapelib.v1");
    assert_eq!(version.version, env!("CARGO_PKG_VERSION"));

    // The inventory is the simulator's configuration.
    let inv = library
        .get_inventory(GetInventoryRequest {
            library: String::new(),
            refresh: true,
        })
        .await
        .expect("inventory")
        .into_inner();
    assert_eq!(inv.libraries.len(), 1);
    let lib = &inv.libraries[0];
    assert_eq!(lib.name, "lib0");
    assert_eq!(lib.vendor.trim(), "TAPELIB");
    assert_eq!(lib.serial, "LIB0001");
    assert_eq!(lib.slots.len(), 8);
    assert_eq!(lib.import_export.len(), 2);
    assert_eq!(lib.drives.len(), 2);
    let slot_barcodes: Vec<(u32, &str)> = lib
        .slots
        .iter()
        .filter(|e| e.full)
        .map(|e| (e.address - FIRST_SLOT + 1, e.barcode.as_str()))
        .collect();
    assert_eq!(
        slot_barcodes,
        [
            (1, "A00001L8"),
            (2, "A00002L8"),
            (3, "A00003L8"),
            (4, "A00004L8"),
            (8, "CLN001CU")
        ]
    );
    let drives: Vec<(u32, &str, bool, &str)> = lib
        .drives
        .iter()
        .map(|e| (e.address, e.drive_name.as_str(), e.full, e.barcode.as_str()))
        .collect();
    assert_eq!(
        drives,
        [
            (DRIVE0, "drive0", false, ""),
            (DRIVE1, "drive1", true, "B00001L8")
        ]
    );
    let err = library
        .get_inventory(GetInventoryRequest {
            library: "nope".into(),
            refresh: false,
        })
        .await
        .expect_err("unknown library");
    assert_eq!(err.code(), tonic::Code::NotFound);

    // Paging walks every tape once, in barcode order.
    let mut seen = Vec::new();
    for page in 1..=3 {
        let resp = library
            .list_tapes(ListTapesRequest {
                page: Some(PageRequest { page, size: 2 }),
                ..ListTapesRequest::default()
            })
            .await
            .expect("list tapes")
            .into_inner();
        let info = resp.page.expect("page info");
        assert_eq!((info.page, info.size, info.total_items), (page, 2, 6));
        assert_eq!(info.has_more, page < 3);
        seen.extend(resp.tapes.into_iter().map(|t| (t.barcode, t.content)));
    }
    let barcodes: Vec<&str> = seen.iter().map(|(b, _)| b.as_str()).collect();
    assert_eq!(barcodes, BARCODES);
    assert_eq!(
        seen.last().map(|(_, c)| *c),
        Some(TapeContent::Cleaning as i32)
    );
    let cleaning = library
        .list_tapes(ListTapesRequest {
            content: TapeContent::Cleaning as i32,
            ..ListTapesRequest::default()
        })
        .await
        .expect("filtered")
        .into_inner();
    assert_eq!(cleaning.tapes.len(), 1);

    let tape = library
        .get_tape(GetTapeRequest {
            barcode: "B00001L8".into(),
        })
        .await
        .expect("known tape")
        .into_inner()
        .tape
        .expect("tape");
    let location = tape.location.expect("location");
    assert_eq!(
        (location.element_address, location.drive.as_str()),
        (DRIVE1, "drive1")
    );

    // An unknown tape carries its DIVA code in the details.
    let err = library
        .get_tape(GetTapeRequest {
            barcode: "ZZZ999L8".into(),
        })
        .await
        .expect_err("unknown tape");
    assert_eq!(err.code(), tonic::Code::NotFound);
    let diva = DivaError::from_status(&err).expect("DIVA details");
    assert_eq!(
        diva.status_code(),
        Ok(DivaStatusCode::DivaErrTapeDoesntExist)
    );
    assert!(diva.message.contains("ZZZ999L8"), "{}", diva.message);

    // DOWN with a reason, visible in ListDrives and Health; then UP again.
    let down = library
        .set_drive_state(SetDriveStateRequest {
            drive: "drive0".into(),
            state: DriveState::Down as i32,
            reason: "head cleaning overdue".into(),
        })
        .await
        .expect("down")
        .into_inner()
        .drive
        .expect("drive");
    assert_eq!(down.state, DriveState::Down as i32);
    assert_eq!(down.state_reason, "head cleaning overdue");
    let listed = library
        .list_drives(ListDrivesRequest::default())
        .await
        .expect("drives")
        .into_inner()
        .drives;
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].state, DriveState::Down as i32);
    assert_eq!(listed[1].loaded_barcode, "B00001L8");
    let health = system
        .health(HealthRequest {})
        .await
        .expect("health")
        .into_inner();
    assert_eq!(health.status, HealthStatus::Degraded as i32);
    let table = tapectl(&daemon, &["drives"]);
    let row = table
        .lines()
        .find(|l| l.starts_with("drive0"))
        .expect("drive0 row");
    assert!(
        row.contains("DOWN") && row.contains("head cleaning overdue"),
        "{table}"
    );
    let up = library
        .set_drive_state(SetDriveStateRequest {
            drive: "drive0".into(),
            state: DriveState::Up as i32,
            reason: String::new(),
        })
        .await
        .expect("up")
        .into_inner()
        .drive
        .expect("drive");
    assert_eq!(up.state, DriveState::Up as i32);
    let health = system
        .health(HealthRequest {})
        .await
        .expect("health")
        .into_inner();
    assert_eq!(health.status, HealthStatus::Serving as i32);

    let err = library
        .set_drive_state(SetDriveStateRequest {
            drive: "drive0".into(),
            state: DriveState::Unspecified as i32,
            reason: String::new(),
        })
        .await
        .expect_err("unspecified state");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    let err = library
        .set_drive_state(SetDriveStateRequest {
            drive: "drive9".into(),
            state: DriveState::Down as i32,
            reason: String::new(),
        })
        .await
        .expect_err("unknown drive");
    assert_eq!(
        DivaError::from_status(&err).expect("details").status_code(),
        Ok(DivaStatusCode::DivaErrComponentNotFound)
    );

    let groups = library
        .list_groups(ListGroupsRequest::default())
        .await
        .expect("groups")
        .into_inner()
        .groups;
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].name, "archive");
    let servers = library
        .list_servers(ListServersRequest::default())
        .await
        .expect("servers")
        .into_inner()
        .servers;
    assert_eq!(servers.len(), 1);
    assert!(servers[0].online);

    // The request service answers with DIVA codes.
    let err = RequestServiceClient::new(channel(&daemon).await)
        .get_request(GetRequestRequest { request_id: 1 })
        .await
        .expect_err("no request submitted yet");
    assert_eq!(err.code(), tonic::Code::NotFound);
    assert_eq!(
        DivaError::from_status(&err).expect("DIVA details").name,
        "DIVA_ERR_NO_SUCH_REQUEST"
    );

    // tapectl: JSON for scripts, tables for people.
    let status: serde_json::Value =
        serde_json::from_str(&tapectl(&daemon, &["status", "--json"])).expect("JSON status");
    let lib = &status["libraries"][0];
    assert_eq!(lib["name"], "lib0");
    assert_eq!(lib["slots"].as_array().map(Vec::len), Some(8));
    assert_eq!(lib["slots"][0]["barcode"], "A00001L8");
    assert_eq!(lib["import_export"].as_array().map(Vec::len), Some(2));
    assert_eq!(lib["drives"][1]["barcode"], "B00001L8");
    assert_eq!(lib["drives"][1]["drive_name"], "drive1");
    let table = tapectl(&daemon, &["drives"]);
    let mut lines = table.lines();
    assert!(lines.next().is_some_and(|h| h.starts_with("NAME")));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(
        rows[0].starts_with("drive0") && rows[0].contains("UP"),
        "{table}"
    );
    assert!(
        rows[1].starts_with("drive1") && rows[1].contains("B00001L8"),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_cleanly_and_the_catalog_reopens() {
    let mut daemon = start().await;
    let pid = nix::unistd::Pid::from_raw(i32::try_from(daemon.child.id()).expect("pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = daemon.child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "tapelibd ignored SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "exit status {status}");

    let catalog = Catalog::open(daemon.dir.path().join("catalog")).expect("catalog reopens");
    for barcode in BARCODES {
        assert!(
            catalog.get_tape(barcode).expect("read").is_some(),
            "{barcode} missing"
        );
    }
    assert!(catalog.get_group("archive").expect("read").is_some());
}
