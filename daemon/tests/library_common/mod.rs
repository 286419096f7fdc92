//! A small simulated library for the library tests: time scale 0, state in a temp dir.
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use tapelib_daemon::catalog::Catalog;
use tapelib_daemon::config::{DeviceRef, DriveConfig, LibraryConfig, Limits, SimulatorConfig};
use tapelib_daemon::library::TapeLibrary;
use tapelib_sim::config::LibraryConfig as SimConfig;

/// 8 slots, 2 I/E slots, two LTO-8 drives; four data cartridges in slots 1..4, a cleaning
/// cartridge in slot 8 and one data cartridge in drive 1.
pub const SIM: &str = r#"
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
personality = "HP"
serial = "HU10000002"

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
barcode = "A00004M8"
slot = 4

[[cartridge]]
barcode = "CLN001CU"
slot = 8

[[cartridge]]
barcode = "B00001L8"
slot = "drive:1"
"#;

pub const DRIVE0: u16 = 256;
pub const DRIVE1: u16 = 257;
pub const SLOT1: u16 = 4096;
pub const SLOT2: u16 = 4097;
pub const IE1: u16 = 16;

pub fn sim_config() -> SimConfig {
    SimConfig::from_toml_str(SIM).expect("simulator config parses")
}

/// The daemon's view: drives by serial unless `elements` gives addresses.
pub fn library_config(
    state_dir: &Path,
    devices: &[&str],
    elements: &[Option<u16>],
) -> LibraryConfig {
    LibraryConfig {
        name: "lib0".into(),
        simulator: Some(SimulatorConfig {
            state_dir: state_dir.to_path_buf(),
            connect: false,
            config_file: None,
            inline: Some(sim_config()),
        }),
        changer: DeviceRef::Sim("changer0".into()),
        drives: devices
            .iter()
            .enumerate()
            .map(|(i, d)| DriveConfig {
                name: None,
                device: DeviceRef::Sim(d.to_string()),
                element: elements.get(i).copied().flatten(),
            })
            .collect(),
    }
}

pub fn limits() -> Limits {
    Limits {
        ready_poll_interval: Duration::from_millis(5),
        drive_ready_timeout: Duration::from_secs(10),
        ..Limits::default()
    }
}

pub fn open(state_dir: &Path) -> TapeLibrary {
    let catalog = Catalog::temporary().expect("catalog");
    TapeLibrary::open(
        &library_config(state_dir, &["drive0", "drive1"], &[]),
        &limits(),
        catalog,
    )
    .expect("library opens")
}
