//! Faults reach the part of the library they affect.

mod library_common;

use library_common::*;
use tapelib_scsi::DataPhase;
use tapelib_sim::config::{FaultSpec, MediaOp};
use tapelib_sim::library::{Library, SimError};

/// Sends `cdb` until it stops reporting UNIT ATTENTION or NOT READY (becoming ready).
fn settle(lib: &Library, device: &str, cdb: &[u8]) -> tapelib_scsi::Completion {
    for _ in 0..20 {
        let c = cmd(lib, device, cdb);
        if c.status.is_good() {
            return c;
        }
        let (k, _, _) = sense_of(&c);
        if k != 6 && k != 2 {
            return c;
        }
    }
    panic!("{device} does not settle");
}

fn write(lib: &Library, device: &str, data: &[u8]) -> tapelib_scsi::Completion {
    let n = (data.len() as u32).to_be_bytes();
    lib.execute(
        device,
        &[0x0A, 0, n[1], n[2], n[3], 0],
        DataPhase::Out(data),
    )
    .unwrap()
}

#[test]
fn write_protect_follows_the_cartridge_into_a_drive() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open_small(dir.path());
    lib.inject_fault(FaultSpec::WriteProtect {
        barcode: "A00001L8".into(),
    })
    .unwrap();
    drain_unit_attention(&lib, CHANGER);
    assert_good(&move_medium(&lib, SLOT1, DRIVE1));
    settle(&lib, "drive1", &[0, 0, 0, 0, 0, 0]);
    assert_eq!(
        sense_of(&write(&lib, "drive1", &[1u8; 64])),
        (7, 0x27, 0x00)
    );
    lib.clear_faults();
    assert_good(&write(&lib, "drive1", &[1u8; 64]));
}

#[test]
fn media_error_on_a_loaded_cartridge() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open_small(dir.path());
    settle(&lib, "drive0", &[0, 0, 0, 0, 0, 0]);
    for i in 0..3u8 {
        assert_good(&write(&lib, "drive0", &[i; 100]));
    }
    lib.inject_fault(FaultSpec::MediaError {
        barcode: "B00001L8".into(),
        partition: 0,
        block: 1,
        op: MediaOp::Read,
    })
    .unwrap();
    assert_good(&cmd(&lib, "drive0", &[0x01, 0, 0, 0, 0, 0]));
    let read = |lib: &Library| {
        let mut buf = [0u8; 100];
        lib.execute("drive0", &[0x08, 0, 0, 0, 100, 0], DataPhase::In(&mut buf))
            .unwrap()
    };
    assert_good(&read(&lib));
    assert_eq!(sense_of(&read(&lib)), (3, 0x11, 0x00));
    assert!(matches!(
        lib.inject_fault(FaultSpec::WriteProtect {
            barcode: "NOPE01L8".into()
        }),
        Err(SimError::UnknownCartridge(_))
    ));
}

#[test]
fn drive_faults_and_power_on_reset() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open_small(dir.path());
    settle(&lib, "drive0", &[0, 0, 0, 0, 0, 0]);
    lib.inject_fault(FaultSpec::PowerOnReset { device: None })
        .unwrap();
    assert_eq!(
        sense_of(&cmd(&lib, "drive0", &[0, 0, 0, 0, 0, 0])),
        (6, 0x29, 0x00)
    );
    assert_eq!(
        sense_of(&cmd(&lib, CHANGER, &[0, 0, 0, 0, 0, 0])),
        (6, 0x29, 0x00)
    );
    lib.inject_fault(FaultSpec::DriveFailure { drive: 0 })
        .unwrap();
    assert_eq!(sense_of(&cmd(&lib, "drive0", &[0x01, 0, 0, 0, 0, 0])).0, 4);
    assert!(matches!(
        lib.inject_fault(FaultSpec::DriveFailure { drive: 5 }),
        Err(SimError::InvalidFault(_))
    ));
    assert!(matches!(
        lib.inject_fault(FaultSpec::PowerOnReset {
            device: Some("drive5".into())
        }),
        Err(SimError::UnknownDevice(_))
    ));
    lib.clear_faults();
    assert!(lib.contents().faults.is_empty());
    assert_good(&settle(&lib, "drive0", &[0x01, 0, 0, 0, 0, 0]));
}

#[test]
fn configured_faults_apply_from_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = small_config();
    config
        .faults
        .push(FaultSpec::RobotMoveFailure { count: Some(1) });
    config.faults.push(FaultSpec::IeDoorOpen);
    let lib = Library::open(config.clone(), dir.path()).unwrap();
    drain_unit_attention(&lib, CHANGER);
    assert_eq!(sense_of(&move_medium(&lib, SLOT1, SLOT2)), (4, 0x15, 0x01));
    assert!(!element(&lib, IE1).access());
    lib.clear_faults();
    drop(lib);
    // Cleared faults stay cleared after a restart: the saved state wins over the configuration.
    let lib = Library::open(config, dir.path()).unwrap();
    drain_unit_attention(&lib, CHANGER);
    assert!(element(&lib, IE1).access());
    assert_good(&move_medium(&lib, SLOT1, SLOT2));
}

#[test]
fn statistics() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open_small(dir.path());
    drain_unit_attention(&lib, CHANGER);
    assert_good(&move_medium(&lib, SLOT1, DRIVE1));
    let stats = lib.stats();
    assert_eq!(stats.robot.moves, 1);
    assert!(stats.robot.modeled_seconds > 0.0);
    assert_eq!(stats.drives.len(), 2);
    assert_eq!(stats.drives["drive1"].loads, 1);
    assert_eq!(stats.cartridges.len(), 4);
    assert_eq!(stats.cartridges["A00001L8"].loads, 1);
    let json = serde_json::to_string(&lib.contents()).unwrap();
    assert!(json.contains("\"drive1\""));
}
