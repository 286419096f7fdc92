//! MOVE MEDIUM, EXCHANGE MEDIUM and the rules around them (SMC-3 6.3, 6.6).

mod library_common;

use library_common::*;
use tapelib_sim::config::FaultSpec;

const UNLOAD: [u8; 6] = [0x1B, 0, 0, 0, 0, 0];

/// Unloads a drive until it reports GOOD (the first commands may see UNIT ATTENTIONs).
fn unload(lib: &tapelib_sim::library::Library, drive: &str) {
    for _ in 0..6 {
        if cmd(lib, drive, &UNLOAD).status.is_good() {
            return;
        }
    }
    panic!("{drive} does not unload");
}

#[test]
fn storage_to_drive_and_back() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open_small(dir.path());
    assert_good(&move_medium(&lib, SLOT1, DRIVE1));
    let d = element(&lib, DRIVE1);
    assert!(d.full() && d.svalid);
    assert_eq!(d.source, SLOT1);
    assert_eq!(d.voltag.as_deref(), Some("A00001L8"));
    assert!(!element(&lib, SLOT1).full());
    assert_eq!(lib.contents().find("A00001L8").unwrap().name, "drive1");
    // The drive threaded it: the robot may not pull it before an unload.
    let c = move_medium(&lib, DRIVE1, SLOT1);
    assert_eq!(sense_of(&c), (5, 0x44, 0x81));
    assert!(element(&lib, DRIVE1).full());
    unload(&lib, "drive1");
    assert_good(&move_medium(&lib, DRIVE1, SLOT2));
    let s = element(&lib, SLOT2);
    assert!(s.full() && s.svalid);
    // Back from a drive, the source is the slot the cartridge originally came from.
    assert_eq!(s.source, SLOT1);
    assert_eq!(lib.stats().robot.moves, 2);
}

#[test]
fn source_empty_destination_full() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open_small(dir.path());
    assert_eq!(sense_of(&move_medium(&lib, SLOT2, SLOT4)), (5, 0x3B, 0x0E));
    assert_eq!(sense_of(&move_medium(&lib, SLOT1, SLOT3)), (5, 0x3B, 0x0D));
    assert_eq!(sense_of(&move_medium(&lib, SLOT1, DRIVE0)), (5, 0x3B, 0x0D));
    // Nothing moved.
    assert_eq!(element(&lib, SLOT1).voltag.as_deref(), Some("A00001L8"));
    assert_eq!(element(&lib, SLOT3).voltag.as_deref(), Some("A00002L7"));
    assert_eq!(lib.stats().robot.moves, 0);
}

#[test]
fn invalid_addresses_and_fields() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open_small(dir.path());
    let c = move_medium(&lib, 5000, SLOT2);
    assert_eq!(sense_of(&c), (5, 0x21, 0x01));
    assert_eq!(field_pointer(&c), Some((true, 4)));
    let c = move_medium(&lib, SLOT1, 999);
    assert_eq!(field_pointer(&c), Some((true, 6)));
    // The transport is not a source or destination.
    assert_eq!(
        sense_of(&move_medium(&lib, SLOT1, TRANSPORT)),
        (5, 0x21, 0x01)
    );
    // Unknown transport address.
    let c = cmd(
        &lib,
        CHANGER,
        &[0xA5, 0, 0, 9, 0x10, 0, 0x10, 1, 0, 0, 0, 0],
    );
    assert_eq!(sense_of(&c), (5, 0x21, 0x01));
    assert_eq!(field_pointer(&c), Some((true, 2)));
    // INVERT is refused with a pointer to byte 10 bit 0.
    let c = cmd(
        &lib,
        CHANGER,
        &[0xA5, 0, 0, 1, 0x10, 0, 0x10, 1, 0, 0, 1, 0],
    );
    assert_eq!(sense_of(&c), (5, 0x24, 0x00));
    assert_eq!(&c.sense[15..18], &[0xC8, 0x00, 0x0A]);
    // Short CDB: invalid field; unknown opcode: invalid command operation code.
    let c = cmd(&lib, CHANGER, &[0xA5, 0, 0, 1, 0x10, 0]);
    assert_eq!(sense_of(&c), (5, 0x24, 0x00));
    let c = cmd(&lib, CHANGER, &[0x28, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(sense_of(&c), (5, 0x20, 0x00));
    assert_eq!(field_pointer(&c), Some((true, 0)));
}

#[test]
fn mtx_eepos_bits_and_default_transport_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open_small(dir.path());
    // Transport address 0 (default transport), eepos 01b in the control byte.
    let c = cmd(
        &lib,
        CHANGER,
        &[0xA5, 0, 0, 0, 0x10, 0x00, 0x10, 0x01, 0, 0, 0, 0x40],
    );
    assert_good(&c);
    let c = cmd(
        &lib,
        CHANGER,
        &[0xA5, 0, 0, 1, 0x10, 0x01, 0x00, 0x11, 0, 0, 0, 0xC0],
    );
    assert_good(&c);
    assert_eq!(element(&lib, IE2).voltag.as_deref(), Some("A00001L8"));
    // Moved there by the robot: ImpExp is 0.
    assert!(!element(&lib, IE2).impexp());
}

#[test]
fn exchange_medium() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open_small(dir.path());
    // Swap slot 1 and slot 3 (second destination = source).
    let c = cmd(
        &lib,
        CHANGER,
        &[0xA6, 0, 0, 1, 0x10, 0x00, 0x10, 0x02, 0x10, 0x00, 0, 0],
    );
    assert_good(&c);
    assert_eq!(element(&lib, SLOT1).voltag.as_deref(), Some("A00002L7"));
    assert_eq!(element(&lib, SLOT3).voltag.as_deref(), Some("A00001L8"));
    assert_eq!(element(&lib, SLOT3).source, SLOT1);
    assert!(!element(&lib, TRANSPORT).full());
    // Three-way: slot1 -> slot3, slot3 -> slot2.
    let c = cmd(
        &lib,
        CHANGER,
        &[0xA6, 0, 0, 1, 0x10, 0x00, 0x10, 0x02, 0x10, 0x01, 0, 0],
    );
    assert_good(&c);
    assert_eq!(element(&lib, SLOT2).voltag.as_deref(), Some("A00001L8"));
    assert_eq!(element(&lib, SLOT3).voltag.as_deref(), Some("A00002L7"));
    assert!(!element(&lib, SLOT1).full());
    assert_eq!(lib.stats().robot.exchanges, 2);
    // First destination empty: source empty error; second destination full: destination full.
    let c = cmd(
        &lib,
        CHANGER,
        &[0xA6, 0, 0, 1, 0x10, 0x02, 0x10, 0x00, 0x10, 0x03, 0, 0],
    );
    assert_eq!(sense_of(&c), (5, 0x3B, 0x0E));
    let c = cmd(
        &lib,
        CHANGER,
        &[0xA6, 0, 0, 1, 0x10, 0x02, 0x10, 0x01, 0x00, 0x10, 0, 0],
    );
    assert_eq!(sense_of(&c), (5, 0x3B, 0x0D));
}

#[test]
fn robot_failure_leaves_the_cartridge_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open_small(dir.path());
    lib.inject_fault(FaultSpec::RobotMoveFailure { count: Some(2) })
        .unwrap();
    for _ in 0..2 {
        assert_eq!(sense_of(&move_medium(&lib, SLOT1, SLOT2)), (4, 0x15, 0x01));
        assert!(element(&lib, SLOT1).full());
        assert!(!element(&lib, SLOT2).full());
    }
    assert_good(&move_medium(&lib, SLOT1, SLOT2));
    let stats = lib.stats();
    assert_eq!((stats.robot.moves, stats.robot.failed_moves), (1, 2));
    // The changer's TapeAlert page shows flag 1 once, then it is cleared.
    let page = |lib: &tapelib_sim::library::Library| {
        let (c, d) = cmd_in(
            lib,
            CHANGER,
            &[0x4D, 0, 0x6E, 0, 0, 0, 0, 0x01, 0x44, 0],
            0x144,
        );
        assert_good(&c);
        d
    };
    let d = page(&lib);
    assert_eq!(&d[..4], &[0x2E, 0, 0x01, 0x40]);
    assert_eq!(&d[4..9], &[0x00, 0x01, 0x03, 0x01, 0x01]);
    assert_eq!(page(&lib)[8], 0);
    // Until cleared, an unlimited robot fault fails every move.
    lib.inject_fault(FaultSpec::RobotMoveFailure { count: None })
        .unwrap();
    for _ in 0..3 {
        assert_eq!(sense_of(&move_medium(&lib, SLOT2, SLOT1)).0, 4);
    }
    lib.clear_faults();
    assert_good(&move_medium(&lib, SLOT2, SLOT1));
}

#[test]
fn cleaning_cartridge_into_a_drive() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open_small(dir.path());
    assert_good(&move_medium(&lib, IE1, DRIVE1));
    // A cleaning cartridge is ejected by the drive once done: the robot may take it back.
    assert_good(&move_medium(&lib, DRIVE1, IE1));
    assert_eq!(element(&lib, IE1).voltag.as_deref(), Some("CLN001L1"));
}

#[test]
fn drive_failure_shows_except() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open_small(dir.path());
    lib.inject_fault(FaultSpec::DriveFailure { drive: 1 })
        .unwrap();
    let d = element(&lib, DRIVE1);
    assert!(d.except());
    assert_eq!((d.asc, d.ascq), (0x44, 0x00));
    assert!(!element(&lib, DRIVE0).except());
    lib.clear_faults();
    assert!(!element(&lib, DRIVE1).except());
}
