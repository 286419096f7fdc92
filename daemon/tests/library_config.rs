//! The daemon configuration: good and bad files, and the `--simulate` default.

mod library_common;

use std::time::Duration;

use tapelib_daemon::catalog::{Catalog, TapeState};
use tapelib_daemon::config::{ConfigError, DaemonConfig, DeviceRef};
use tapelib_daemon::library::TapeLibrary;

const GOOD: &str = r#"
catalog = "var/catalog"

[listen]
grpc = "0.0.0.0:50051"
rest = "127.0.0.1:8765"
unix_socket = "run/tapelibd.sock"

[limits]
max_running_requests = 4
drive_ready_timeout = "5m"
motion_timeout = "20m 30s"

[servers.media]
root = "/srv/media"

[servers.scratch]
root = "scratch"

[[group]]
name = "news"
description = "News archive"
generation = 8

[[library]]
name = "main"
changer = { sg = "/dev/sg5" }

[[library.drive]]
name = "left"
device = { sg = "/dev/tape/by-id/scsi-3500110a00123456-sg" }
element = 256

[[library.drive]]
device = { sg = "/dev/sg3" }

[[library]]
name = "sim"
changer = { sim = "changer0" }

[library.simulator]
state_dir = "sim-state"
connect = true

[[library.drive]]
device = { sim = "drive0" }
"#;

#[test]
fn parses_a_full_file_and_resolves_relative_paths() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tapelibd.toml");
    std::fs::write(&path, GOOD).unwrap();
    let c = DaemonConfig::from_file(&path).unwrap();
    assert_eq!(c.catalog, dir.path().join("var/catalog"));
    assert_eq!(c.listen.grpc.unwrap().port(), 50051);
    assert_eq!(
        c.listen.unix_socket.as_deref(),
        Some(dir.path().join("run/tapelibd.sock").as_path())
    );
    assert_eq!(c.limits.max_running_requests, 4);
    assert_eq!(c.limits.drive_ready_timeout, Duration::from_secs(300));
    assert_eq!(c.limits.motion_timeout, Duration::from_secs(20 * 60 + 30));
    assert_eq!(c.limits.status_timeout, Duration::from_secs(30), "default");
    assert_eq!(c.limits.scsi_timeouts().motion, Duration::from_secs(1230));
    assert_eq!(c.servers["media"].root.to_str(), Some("/srv/media"));
    assert_eq!(c.servers["scratch"].root, dir.path().join("scratch"));
    assert_eq!(c.groups[0].generation, Some(8));
    let main = c.library("main").unwrap();
    assert_eq!(main.changer, DeviceRef::Sg("/dev/sg5".into()));
    assert_eq!(main.drives[0].element, Some(256));
    assert_eq!(main.drive_name(0), "left");
    assert_eq!(main.drive_name(1), "drive1");
    let sim = c.library("sim").unwrap().simulator.as_ref().unwrap();
    assert!(sim.connect);
    assert_eq!(sim.state_dir, dir.path().join("sim-state"));

    // What is written reads back the same.
    let text = c.to_toml_string().unwrap();
    assert_eq!(DaemonConfig::from_toml_str(&text).unwrap(), c);
}

fn invalid_field(text: &str) -> String {
    match DaemonConfig::from_toml_str(text) {
        Err(ConfigError::Invalid { field, .. }) => field,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn bad_files_name_the_line_or_the_field() {
    // Syntax error on line 3.
    match DaemonConfig::from_toml_str("catalog = \"c\"\n[listen]\ngrpc = \n") {
        Err(ConfigError::Parse { line, .. }) => assert_eq!(line, 3),
        other => panic!("{other:?}"),
    }
    // Unknown field.
    let e =
        DaemonConfig::from_toml_str("catalog = \"c\"\n\n[limits]\nmax_runing = 3\n").unwrap_err();
    assert!(matches!(e, ConfigError::Parse { line: 4, .. }), "{e}");
    assert!(e.to_string().contains("max_runing"), "{e}");
    // A duration that is not one.
    let e = DaemonConfig::from_toml_str("catalog = \"c\"\n[limits]\nmotion_timeout = \"soon\"\n")
        .unwrap_err();
    assert!(matches!(e, ConfigError::Parse { line: 3, .. }), "{e}");
    // Missing catalog.
    assert!(matches!(
        DaemonConfig::from_toml_str("[listen]\n"),
        Err(ConfigError::Parse { .. })
    ));

    let lib = |body: &str| format!("catalog = \"c\"\n[[library]]\nname = \"l\"\n{body}");
    assert_eq!(
        invalid_field(&lib(
            "changer = { sim = \"changer0\" }\n[[library.drive]]\ndevice = { sg = \"/dev/sg1\" }\n"
        )),
        "library[0].changer"
    );
    assert_eq!(
        invalid_field(&lib("changer = { sg = \"/dev/sg0\" }\ndrive = []\n")),
        "library[0].drive"
    );
    assert_eq!(
        invalid_field(&lib(
            "changer = { sg = \"/dev/sg0\" }\n[[library.drive]]\ndevice = { sg = \"/dev/sg1\" }\n[[library.drive]]\nname = \"drive0\"\ndevice = { sg = \"/dev/sg2\" }\n"
        )),
        "library[0].drive[1].name"
    );
    assert_eq!(
        invalid_field(&lib(
            "changer = { sg = \"/dev/sg0\" }\n[[library.drive]]\ndevice = { sg = \"/dev/sg0\" }\n"
        )),
        "library[0].drive[0].device"
    );
    assert_eq!(
        invalid_field(&lib(
            "changer = { sg = \"/dev/sg0\" }\n[[library.drive]]\ndevice = { sg = \"/dev/sg1\" }\nelement = 256\n[[library.drive]]\ndevice = { sg = \"/dev/sg2\" }\nelement = 256\n"
        )),
        "library[0].drive[1].element"
    );
    assert_eq!(
        invalid_field(&lib(
            "changer = { sim = \"changer0\" }\n[library.simulator]\nstate_dir = \"s\"\n[[library.drive]]\ndevice = { sim = \"drive0\" }\n"
        )),
        "library[0].simulator.config_file"
    );
    assert_eq!(
        invalid_field("catalog = \"c\"\n[limits]\ndrive_ready_timeout = \"0s\"\n"),
        "limits.drive_ready_timeout"
    );
    assert_eq!(
        invalid_field("catalog = \"c\"\n[[group]]\nname = \"a b\"\n"),
        "group[0].name"
    );

    // Errors from a file name the file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "catalog = 3\n").unwrap();
    let e = DaemonConfig::from_file(&path).unwrap_err();
    assert!(
        e.to_string().contains("bad.toml") && e.to_string().contains("line 1"),
        "{e}"
    );
    assert!(matches!(
        DaemonConfig::from_file(dir.path().join("missing.toml")),
        Err(ConfigError::Io { .. })
    ));
}

#[test]
fn simulate_default_is_valid_and_opens() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = DaemonConfig::simulate_default(dir.path());
    c.validate().unwrap();
    assert_eq!(c.catalog, dir.path().join("catalog"));
    assert_eq!(c.listen.grpc.unwrap().to_string(), "127.0.0.1:50051");
    assert_eq!(c.listen.rest.unwrap().to_string(), "127.0.0.1:8765");
    assert!(c.servers.contains_key("demo"));
    let text = c.to_toml_string().unwrap();
    assert_eq!(DaemonConfig::from_toml_str(&text).unwrap(), c);

    let lib = &mut c.libraries[0];
    let sim = lib.simulator.as_mut().unwrap().inline.as_mut().unwrap();
    assert_eq!(sim.drives.len(), 4);
    assert_eq!(sim.storage_slots, 48);
    assert_eq!(sim.ie_slots, 4);
    assert_eq!(sim.cartridges.len(), 25);
    assert!(sim.time_scale > 0.0);
    // Instant time for the test.
    sim.time_scale = 0.0;

    let catalog = Catalog::temporary().unwrap();
    let opened = TapeLibrary::open(lib, &library_common::limits(), catalog.clone()).unwrap();
    assert_eq!(opened.drives().len(), 4);
    let tapes = catalog.list_tapes(None, 100).unwrap().items;
    assert_eq!(tapes.len(), 25);
    assert_eq!(
        tapes
            .iter()
            .filter(|t| t.state == TapeState::Disabled)
            .count(),
        1,
        "the cleaning cartridge"
    );
    assert!(tapes
        .iter()
        .filter(|t| t.state == TapeState::Active)
        .all(|t| t.generation == Some(8)));
}
