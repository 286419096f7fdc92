//! Restarting the library: cartridges in drives are restored, not loaded again; cartridge
//! statistics follow the modeled time; home slots of cartridges configured into drives; one
//! process per state directory.

mod library_common;

use library_common::*;
use tapelib_scsi::DataPhase;
use tapelib_sim::library::{Library, SimError};

/// MAM LOAD COUNT (0003h) of the cartridge in `device`, read with READ ATTRIBUTE.
fn load_count(lib: &Library, device: &str) -> u64 {
    let cdb = [0x8C, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x03, 0, 0, 0x01, 0, 0, 0];
    let (c, d) = cmd_in(lib, device, &cdb, 256);
    assert_good(&c);
    // Header (4), then id 0003h, format, length 8, value.
    assert_eq!(&d[4..6], &[0x00, 0x03]);
    u64::from_be_bytes(d[9..17].try_into().unwrap())
}

/// The unit attentions `device` reports, in order, until it answers TEST UNIT READY.
fn unit_attentions(lib: &Library, device: &str) -> Vec<(u8, u8)> {
    let mut seen = Vec::new();
    for _ in 0..8 {
        let c = cmd(lib, device, &[0, 0, 0, 0, 0, 0]);
        if c.status.is_good() {
            return seen;
        }
        let (k, asc, ascq) = sense_of(&c);
        if k != 6 {
            // NOT READY (an ejected cartridge) ends the unit attentions too.
            return seen;
        }
        seen.push((asc, ascq));
    }
    panic!("unit attentions do not clear: {seen:?}");
}

#[test]
fn restart_restores_cartridges_without_loading_them() {
    let dir = tempfile::tempdir().unwrap();
    let (count, drive_loads, cart_loads) = {
        let lib = open_small(dir.path());
        // The configured cartridge was loaded once: power on, then "medium may have changed".
        assert_eq!(unit_attentions(&lib, "drive0"), vec![(0x29, 0), (0x28, 0)]);
        let stats = lib.stats();
        (
            load_count(&lib, "drive0"),
            stats.drives["drive0"].loads,
            stats.cartridges["B00001L8"].loads,
        )
    };
    assert_eq!(count, 1);
    for _ in 0..3 {
        let lib = open_small(dir.path());
        // A restart is a reset, not a new medium.
        assert_eq!(unit_attentions(&lib, "drive0"), vec![(0x29, 0)]);
        assert_eq!(load_count(&lib, "drive0"), count);
        let stats = lib.stats();
        assert_eq!(stats.drives["drive0"].loads, drive_loads);
        assert_eq!(stats.cartridges["B00001L8"].loads, cart_loads);
    }
}

#[test]
fn restart_keeps_an_unloaded_cartridge_ejected() {
    let dir = tempfile::tempdir().unwrap();
    {
        let lib = open_small(dir.path());
        drain_unit_attention(&lib, "drive0");
        assert_good(&cmd(&lib, "drive0", &[0x1B, 0, 0, 0, 0, 0]));
    }
    let lib = open_small(dir.path());
    assert_eq!(unit_attentions(&lib, "drive0"), vec![(0x29, 0)]);
    // Still ejected: NOT READY, and the robot may take it.
    assert_eq!(
        sense_of(&cmd(&lib, "drive0", &[0, 0, 0, 0, 0, 0])),
        (2, 0x3A, 0)
    );
    drain_unit_attention(&lib, CHANGER);
    assert_good(&move_medium(&lib, DRIVE0, SLOT4));
    let stats = lib.stats();
    assert_eq!(stats.cartridges["B00001L8"].loads, 1);
    assert_eq!(stats.cartridges["B00001L8"].unloads, 1);
}

#[test]
fn cartridge_statistics_include_modeled_time() {
    let dir = tempfile::tempdir().unwrap();
    {
        let lib = open_small(dir.path());
        drain_unit_attention(&lib, "drive0");
        let record = vec![0x42u8; 4096];
        let c = lib
            .execute(
                "drive0",
                &[0x0A, 0, 0, 0x10, 0x00, 0],
                DataPhase::Out(&record),
            )
            .unwrap();
        assert_good(&c);
        assert_good(&cmd(&lib, "drive0", &[0x10, 0, 0, 0, 1, 0]));
        assert_good(&cmd(&lib, "drive0", &[0x1B, 0, 0, 0, 0, 0]));
        drain_unit_attention(&lib, CHANGER);
        assert_good(&move_medium(&lib, DRIVE0, SLOT4));
        let stats = lib.stats();
        let drive = &stats.drives["drive0"].modeled_seconds;
        let cart = &stats.cartridges["B00001L8"].modeled_seconds;
        // Everything the drive did, it did with this cartridge.
        for (name, d, c) in [
            ("load", drive.load, cart.load),
            ("write", drive.write, cart.write),
            ("unload", drive.unload, cart.unload),
        ] {
            assert!(c > 0.0, "{name}: cartridge {c}");
            assert!((d - c).abs() < 1e-9, "{name}: drive {d}, cartridge {c}");
        }
    }
    // The figures are in the cartridge's metadata, so they survive a restart.
    let lib = open_small(dir.path());
    let cart = &lib.stats().cartridges["B00001L8"].modeled_seconds;
    assert!(cart.load > 0.0 && cart.write > 0.0 && cart.unload > 0.0);
}

/// (SVALID, source) of drive0's element.
fn drive0_source(lib: &Library) -> (bool, u16) {
    let cdb = read_element_status_cdb(4, false, DRIVE0, 1, false, 1024);
    let (c, d) = cmd_in(lib, CHANGER, &cdb, 1024);
    assert_good(&c);
    let r = parse_report(&d);
    (r.descriptors[0].svalid, r.descriptors[0].source)
}

/// Whether storage slot `address` reports a cartridge.
fn slot_full(lib: &Library, address: u16) -> bool {
    let cdb = read_element_status_cdb(2, false, address, 1, false, 1024);
    let (c, d) = cmd_in(lib, CHANGER, &cdb, 1024);
    assert_good(&c);
    parse_report(&d).descriptors[0].full()
}

#[test]
fn configured_drive_cartridge_has_a_reserved_empty_home() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let home = {
        let lib = open_small(a.path());
        drain_unit_attention(&lib, CHANGER);
        let (svalid, home) = drive0_source(&lib);
        assert!(svalid);
        assert!(!slot_full(&lib, home), "the home slot is empty");
        // Another cartridge cannot be put there while drive0's cartridge is away.
        assert_eq!(sense_of(&move_medium(&lib, SLOT1, home)), (5, 0x3B, 0x0D));
        assert_good(&move_medium(&lib, SLOT1, SLOT2));
        home
    };
    // The same on another run and after a restart.
    assert_eq!(drive0_source(&open_small(b.path())), (true, home));
    let lib = open_small(a.path());
    drain_unit_attention(&lib, CHANGER);
    assert_eq!(drive0_source(&lib), (true, home));
    assert_eq!(sense_of(&move_medium(&lib, SLOT2, home)), (5, 0x3B, 0x0D));
    // `mtx unload` without a slot: the cartridge goes home, and the slot is an ordinary slot
    // again once it has left.
    drain_unit_attention(&lib, "drive0");
    assert_good(&cmd(&lib, "drive0", &[0x1B, 0, 0, 0, 0, 0]));
    assert_good(&move_medium(&lib, DRIVE0, home));
    assert_good(&move_medium(&lib, home, SLOT1));
    assert_good(&move_medium(&lib, SLOT2, home));
}

#[test]
fn a_state_directory_is_opened_once() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open_small(dir.path());
    match Library::open(small_config(), dir.path()) {
        Err(e @ SimError::StateDirInUse(_)) => {
            let text = e.to_string();
            assert!(
                text.contains(&dir.path().display().to_string()),
                "names the directory: {text}"
            );
        }
        other => panic!("second open: {other:?}"),
    }
    assert!(dir.path().join("lock").exists());
    drop(lib);
    // Released with the library.
    let lib = open_small(dir.path());
    drain_unit_attention(&lib, CHANGER);
}
