//! The import/export station: operator access, UNIT ATTENTION, door, lock (SMC-3 6.8, SPC-4).

mod library_common;

use library_common::*;
use tapelib_sim::config::FaultSpec;
use tapelib_sim::library::SimError;

const TUR: [u8; 6] = [0, 0, 0, 0, 0, 0];

#[test]
fn operator_insert_raises_unit_attention() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open_small(dir.path());
    drain_unit_attention(&lib, CHANGER);
    let at = lib.operator_insert("NEW001L9", None).unwrap();
    assert_eq!(at, IE2);
    // The next command (not INQUIRY) reports 06/28/01 once.
    let (c, _) = cmd_in(&lib, CHANGER, &[0x12, 0, 0, 0, 36, 0], 36);
    assert_good(&c);
    assert_eq!(sense_of(&cmd(&lib, CHANGER, &TUR)), (6, 0x28, 0x01));
    assert_good(&cmd(&lib, CHANGER, &TUR));
    let e = element(&lib, IE2);
    assert!(e.full() && e.impexp() && e.access());
    assert_eq!(e.voltag.as_deref(), Some("NEW001L9"));
    // REQUEST SENSE delivers and clears a pending unit attention too.
    assert_eq!(lib.operator_remove(IE2).unwrap(), "NEW001L9");
    let (c, s) = cmd_in(&lib, CHANGER, &[0x03, 0, 0, 0, 18, 0], 18);
    assert_good(&c);
    assert_eq!((s[0], s[2] & 0x0f, s[12], s[13]), (0x70, 6, 0x28, 0x01));
    let (_, s) = cmd_in(&lib, CHANGER, &[0x03, 0, 0, 0, 18, 0], 18);
    assert_eq!((s[2] & 0x0f, s[12], s[13]), (0, 0, 0));
    assert_good(&cmd(&lib, CHANGER, &TUR));
    assert_eq!(lib.contents().outside, vec!["NEW001L9".to_string()]);
}

#[test]
fn operator_errors() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open_small(dir.path());
    assert!(matches!(
        lib.operator_insert("X00001L8", Some(IE1)),
        Err(SimError::Operator(_))
    ));
    assert!(matches!(
        lib.operator_insert("A00001L8", None),
        Err(SimError::Operator(_))
    ));
    assert!(matches!(
        lib.operator_insert("NOSUFFIX", None),
        Err(SimError::InvalidBarcode(_))
    ));
    assert!(matches!(
        lib.operator_insert("bad/code", None),
        Err(SimError::InvalidBarcode(_))
    ));
    assert!(matches!(
        lib.operator_remove(IE2),
        Err(SimError::Operator(_))
    ));
    assert!(matches!(
        lib.operator_remove(SLOT1),
        Err(SimError::Operator(_))
    ));
    lib.operator_insert("X00001L8", None).unwrap();
    assert!(matches!(
        lib.operator_insert("X00002L8", None),
        Err(SimError::Operator(_))
    ));
}

#[test]
fn prevent_removal_locks_the_mail_slot() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open_small(dir.path());
    drain_unit_attention(&lib, CHANGER);
    assert_good(&cmd(&lib, CHANGER, &[0x1E, 0, 0, 0, 1, 0]));
    assert!(lib.contents().prevent_removal);
    assert!(matches!(
        lib.operator_remove(IE1),
        Err(SimError::Operator(_))
    ));
    assert!(element(&lib, IE1).full());
    // Opening a full station is refused while prevented: 05/53/02.
    let c = cmd(&lib, CHANGER, &[0x1B, 0, 0, 16, 0, 0]);
    assert_eq!(sense_of(&c), (5, 0x53, 0x02));
    // The robot still uses it.
    assert_good(&move_medium(&lib, IE1, SLOT2));
    assert_good(&cmd(&lib, CHANGER, &[0x1E, 0, 0, 0, 0, 0]));
    assert_good(&move_medium(&lib, SLOT2, IE1));
    assert_eq!(lib.operator_remove(IE1).unwrap(), "CLN001L1");
    // Only PREVENT 00b/01b are valid for a changer.
    let c = cmd(&lib, CHANGER, &[0x1E, 0, 0, 0, 2, 0]);
    assert_eq!(sense_of(&c), (6, 0x28, 0x01));
    let c = cmd(&lib, CHANGER, &[0x1E, 0, 0, 0, 2, 0]);
    assert_eq!(sense_of(&c), (5, 0x24, 0x00));
}

#[test]
fn open_door_makes_ie_inaccessible() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open_small(dir.path());
    drain_unit_attention(&lib, CHANGER);
    assert_good(&cmd(&lib, CHANGER, &[0x1B, 0, 0, 16, 0, 0]));
    assert!(!element(&lib, IE1).access());
    assert!(element(&lib, SLOT1).access());
    assert_eq!(sense_of(&move_medium(&lib, IE1, SLOT2)), (5, 0x3B, 0x11));
    assert_eq!(sense_of(&move_medium(&lib, SLOT1, IE2)), (5, 0x3B, 0x11));
    assert_good(&cmd(&lib, CHANGER, &[0x1B, 0, 0, 16, 1, 0]));
    assert!(element(&lib, IE1).access());
    assert_good(&move_medium(&lib, SLOT1, IE2));
    // Not an I/E address; unknown action code.
    assert_eq!(
        sense_of(&cmd(&lib, CHANGER, &[0x1B, 0, 0x10, 0, 0, 0])),
        (5, 0x21, 0x01)
    );
    assert_eq!(
        sense_of(&cmd(&lib, CHANGER, &[0x1B, 0, 0, 16, 7, 0])),
        (5, 0x24, 0x00)
    );
}

#[test]
fn door_open_fault() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open_small(dir.path());
    drain_unit_attention(&lib, CHANGER);
    lib.inject_fault(FaultSpec::IeDoorOpen).unwrap();
    assert!(!element(&lib, IE1).access());
    assert_eq!(sense_of(&move_medium(&lib, IE1, SLOT2)), (5, 0x3B, 0x11));
    // Closing by command does not help while the fault holds the door.
    assert_good(&cmd(&lib, CHANGER, &[0x1B, 0, 0, 16, 1, 0]));
    assert!(!element(&lib, IE1).access());
    assert_eq!(lib.contents().faults, vec![FaultSpec::IeDoorOpen]);
    lib.clear_faults();
    assert!(element(&lib, IE1).access());
    assert_good(&move_medium(&lib, IE1, SLOT2));
}

#[test]
fn power_on_unit_attention() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = small_config();
    config.changer.power_on_unit_attention = true;
    let lib = tapelib_sim::library::Library::open(config, dir.path()).unwrap();
    assert_eq!(sense_of(&cmd(&lib, CHANGER, &TUR)), (6, 0x29, 0x00));
    assert_good(&cmd(&lib, CHANGER, &TUR));
    lib.inject_fault(FaultSpec::PowerOnReset {
        device: Some(CHANGER.into()),
    })
    .unwrap();
    assert_eq!(sense_of(&cmd(&lib, CHANGER, &TUR)), (6, 0x29, 0x00));
    assert_good(&cmd(&lib, CHANGER, &TUR));
}
