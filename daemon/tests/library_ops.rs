//! Opening a simulated library, drive mapping, inventory in the catalog, medium moves.

mod library_common;

use std::sync::Arc;

use library_common::*;
use tapelib_daemon::catalog::{Catalog, ElementKind, TapeLocation, TapeState};
use tapelib_daemon::library::{DriveStatus, LibraryError, TapeLibrary};
use tapelib_sim::config::FaultSpec;

#[test]
fn opens_and_maps_drives_by_serial() {
    let dir = tempfile::tempdir().unwrap();
    // Configured in the reverse order of the changer's elements: the serials decide.
    let catalog = Catalog::temporary().unwrap();
    let lib = TapeLibrary::open(
        &library_config(dir.path(), &["drive1", "drive0"], &[]),
        &limits(),
        catalog,
    )
    .unwrap();
    let drives = lib.drives();
    assert_eq!(drives.len(), 2);
    assert_eq!(drives[0].name, "drive0");
    assert_eq!(drives[0].device, "sim:drive1");
    assert_eq!(drives[0].element, DRIVE1);
    assert_eq!(drives[0].identity.serial.as_deref(), Some("HU10000002"));
    assert_eq!(drives[0].loaded.as_deref(), Some("B00001L8"));
    assert_eq!(drives[1].element, DRIVE0);
    assert_eq!(drives[1].identity.serial.as_deref(), Some("1013000001"));
    assert_eq!(drives[1].loaded, None);
    assert!(drives.iter().all(|d| d.status == DriveStatus::Up));
    let id = lib.changer_identity();
    assert_eq!(id.vendor, "TAPELIB");
    assert_eq!(id.product, "SIMLIB");
    assert_eq!(id.serial, "LIB0001");
    let ident = lib.identify().unwrap();
    assert_eq!(ident.drives.len(), 2);
    assert_eq!(ident.drives[1].1.lto_generation, Some(8));
}

#[test]
fn explicit_element_that_does_not_exist_is_an_error_naming_both_sides() {
    let dir = tempfile::tempdir().unwrap();
    let err = TapeLibrary::open(
        &library_config(
            dir.path(),
            &["drive0", "drive1"],
            &[Some(DRIVE0), Some(300)],
        ),
        &limits(),
        Catalog::temporary().unwrap(),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, LibraryError::DriveUnmatched { .. }), "{text}");
    assert!(text.contains("HU10000002"), "{text}");
    assert!(text.contains("256=1013000001"), "{text}");
    assert!(text.contains("configured element 300"), "{text}");
}

#[test]
fn two_drives_on_one_element_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = TapeLibrary::open(
        &library_config(
            dir.path(),
            &["drive0", "drive1"],
            &[Some(DRIVE0), Some(DRIVE0)],
        ),
        &limits(),
        Catalog::temporary().unwrap(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            LibraryError::DriveElementTwice {
                element: DRIVE0,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn inventory_goes_into_the_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open(dir.path());
    let cat = lib.catalog().clone();
    let rec = cat.get_library("lib0").unwrap().expect("library record");
    assert_eq!(rec.serial, "LIB0001");
    let count = |k| rec.elements.iter().filter(|e| e.kind == k).count();
    assert_eq!(count(ElementKind::Storage), 8);
    assert_eq!(count(ElementKind::ImportExport), 2);
    assert_eq!(count(ElementKind::Drive), 2);

    let a1 = cat.get_tape("A00001L8").unwrap().unwrap();
    assert_eq!(a1.location, TapeLocation::Slot(SLOT1));
    assert_eq!(a1.library.as_deref(), Some("lib0"));
    assert_eq!(a1.generation, Some(8));
    assert!(a1.scratch && a1.online);
    assert_eq!(
        cat.get_tape("A00003L7").unwrap().unwrap().generation,
        Some(7)
    );
    assert_eq!(
        cat.get_tape("A00004M8").unwrap().unwrap().generation,
        Some(8)
    );
    let b = cat.get_tape("B00001L8").unwrap().unwrap();
    assert_eq!(b.location, TapeLocation::Drive(DRIVE1));
    let cln = cat.get_tape("CLN001CU").unwrap().unwrap();
    assert_eq!(cln.generation, None);
    assert!(!cln.scratch);
    assert_eq!(cln.state, TapeState::Disabled);
    assert_eq!(cln.state_reason.as_deref(), Some("cleaning cartridge"));

    // An operator inserts a new cartridge, another one leaves through the I/E station.
    let sim = lib.simulator().unwrap().clone();
    sim.operator_insert("N00001L8", Some(IE1)).unwrap();
    lib.refresh_inventory().unwrap();
    // A cartridge waiting in the I/E station is not the archive's until it is taken in.
    assert_eq!(cat.get_tape("N00001L8").unwrap(), None);
    let slot = lib.move_to_slot("N00001L8", None).unwrap();
    assert_eq!(
        cat.get_tape("N00001L8").unwrap().unwrap().location,
        TapeLocation::Slot(slot)
    );

    let ie = lib.move_to_ie("A00002L8", None).unwrap();
    assert_eq!(
        cat.get_tape("A00002L8").unwrap().unwrap().location,
        TapeLocation::ImportExport(ie)
    );
    assert_eq!(sim.operator_remove(ie).unwrap(), "A00002L8");
    lib.refresh_inventory().unwrap();
    let gone = cat.get_tape("A00002L8").unwrap().unwrap();
    assert_eq!(gone.location, TapeLocation::Outside);
    assert!(!gone.online);
    assert_eq!(gone.library, None);
}

#[test]
fn mount_and_unmount_move_the_tape_once_each_way() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open(dir.path());
    let sim = lib.simulator().unwrap().clone();
    let before = sim.stats();

    let out = lib.mount("A00001L8", "drive0").unwrap();
    assert_eq!(out.element, DRIVE0);
    assert_eq!(out.source, Some(SLOT1));
    assert_eq!(out.displaced, None);
    let mid = sim.stats();
    assert_eq!(mid.robot.moves, before.robot.moves + 1);
    assert_eq!(
        mid.drives["drive0"].loads,
        before.drives["drive0"].loads + 1
    );
    assert_eq!(
        lib.drive("drive0").unwrap().loaded.as_deref(),
        Some("A00001L8")
    );
    let t = lib.catalog().get_tape("A00001L8").unwrap().unwrap();
    assert_eq!(t.location, TapeLocation::Drive(DRIVE0));
    assert_eq!(t.mounts, 1);
    // The drive answers medium commands now.
    let pos = lib
        .with_drive("drive0", "read position", |d| d.read_position())
        .unwrap();
    assert_eq!(pos.block, 0);

    // Mounting what is already there moves nothing.
    let again = lib.mount("A00001L8", "drive0").unwrap();
    assert_eq!(again.source, None);
    assert_eq!(sim.stats().robot.moves, mid.robot.moves);

    let un = lib.unmount("drive0").unwrap();
    assert_eq!(un.barcode, "A00001L8");
    assert_eq!(un.slot, SLOT1, "back to its home slot");
    let after = sim.stats();
    assert_eq!(after.robot.moves, mid.robot.moves + 1);
    assert_eq!(
        after.drives["drive0"].unloads,
        mid.drives["drive0"].unloads + 1
    );
    assert_eq!(lib.drive("drive0").unwrap().loaded, None);
    assert_eq!(
        lib.catalog()
            .get_tape("A00001L8")
            .unwrap()
            .unwrap()
            .location,
        TapeLocation::Slot(SLOT1)
    );
    assert!(matches!(
        lib.unmount("drive0"),
        Err(LibraryError::DriveEmpty { .. })
    ));
    assert!(matches!(
        lib.mount("NOSUCH", "drive0"),
        Err(LibraryError::TapeNotFound { .. })
    ));
    assert!(matches!(
        lib.mount("A00001L8", "drive9"),
        Err(LibraryError::UnknownDrive { .. })
    ));
    assert!(matches!(
        lib.mount("B00001L8", "drive0"),
        Err(LibraryError::TapeInDrive { ref drive, .. }) if drive == "drive1"
    ));
}

#[test]
fn mount_into_an_occupied_drive_returns_the_other_tape_first() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open(dir.path());
    let sim = lib.simulator().unwrap().clone();
    let before = sim.stats();
    let out = lib.mount("A00002L8", "drive1").unwrap();
    let (displaced, slot) = out.displaced.expect("B00001L8 left the drive");
    assert_eq!(displaced, "B00001L8");
    assert_eq!(out.source, Some(SLOT2));
    let after = sim.stats();
    assert_eq!(after.robot.moves, before.robot.moves + 2);
    assert_eq!(
        after.drives["drive1"].unloads,
        before.drives["drive1"].unloads + 1
    );
    assert_eq!(
        after.drives["drive1"].loads,
        before.drives["drive1"].loads + 1
    );
    let cat = lib.catalog();
    assert_eq!(
        cat.get_tape("B00001L8").unwrap().unwrap().location,
        TapeLocation::Slot(slot)
    );
    assert_eq!(
        cat.get_tape("A00002L8").unwrap().unwrap().location,
        TapeLocation::Drive(DRIVE1)
    );
    assert_eq!(sim.contents().find("B00001L8").unwrap().address, slot);
}

#[test]
fn hardware_failure_puts_the_drive_down() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open(dir.path());
    let sim = lib.simulator().unwrap().clone();
    lib.mount("A00001L8", "drive0").unwrap();
    sim.inject_fault(FaultSpec::DriveFailure { drive: 0 })
        .unwrap();

    let err = lib.unmount("drive0").unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(
            err,
            LibraryError::Drive {
                element: Some(DRIVE0),
                ..
            }
        ),
        "{text}"
    );
    assert!(
        text.contains("1013000001") && text.contains("A00001L8"),
        "{text}"
    );
    match lib.drive_status("drive0").unwrap() {
        DriveStatus::Down { reason } => assert!(reason.contains("unload"), "{reason}"),
        DriveStatus::Up => panic!("drive should be DOWN"),
    }
    assert!(matches!(
        lib.mount("A00002L8", "drive0"),
        Err(LibraryError::DriveDown { .. })
    ));
    // The other drive is unaffected.
    lib.mount("A00002L8", "drive1").unwrap();

    // Once repaired, an operator brings the drive back.
    sim.clear_faults();
    lib.set_drive_up("drive0").unwrap();
    assert_eq!(lib.unmount("drive0").unwrap().slot, SLOT1);
}

#[test]
fn hardware_error_during_drive_work_puts_the_drive_down() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open(dir.path());
    let sim = lib.simulator().unwrap().clone();
    lib.mount("A00001L8", "drive0").unwrap();
    sim.inject_fault(FaultSpec::DriveFailure { drive: 0 })
        .unwrap();
    let err = lib
        .with_drive("drive0", "rewind", |d| d.rewind())
        .unwrap_err();
    assert!(matches!(err, LibraryError::Drive { .. }), "{err}");
    assert!(matches!(
        lib.drive_status("drive0").unwrap(),
        DriveStatus::Down { .. }
    ));
}

#[test]
fn concurrent_mounts_on_two_drives() {
    let dir = tempfile::tempdir().unwrap();
    let lib = Arc::new(open(dir.path()));
    let sim = lib.simulator().unwrap().clone();
    let before = sim.stats();
    let jobs: Vec<_> = [("A00001L8", "drive0"), ("A00003L7", "drive1")]
        .into_iter()
        .map(|(barcode, drive)| {
            let lib = Arc::clone(&lib);
            std::thread::spawn(move || lib.mount(barcode, drive))
        })
        .collect();
    for j in jobs {
        j.join().unwrap().unwrap();
    }
    let after = sim.stats();
    // drive1 gave back B00001L8 first: three moves in all.
    assert_eq!(after.robot.moves, before.robot.moves + 3);
    assert_eq!(
        lib.drive("drive0").unwrap().loaded.as_deref(),
        Some("A00001L8")
    );
    assert_eq!(
        lib.drive("drive1").unwrap().loaded.as_deref(),
        Some("A00003L7")
    );
    let jobs: Vec<_> = ["drive0", "drive1"]
        .into_iter()
        .map(|drive| {
            let lib = Arc::clone(&lib);
            std::thread::spawn(move || lib.unmount(drive))
        })
        .collect();
    for j in jobs {
        j.join().unwrap().unwrap();
    }
    assert!(lib.drives().iter().all(|d| d.loaded.is_none()));
    assert_eq!(sim.stats().robot.moves, before.robot.moves + 5);
}

#[test]
fn unmount_returns_the_tape_to_the_slot_it_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open(dir.path());
    let sim = lib.simulator().unwrap().clone();
    lib.mount("A00002L8", "drive0").unwrap();
    // Slot 2 is the home, not the first empty slot (5).
    assert_eq!(lib.unmount("drive0").unwrap().slot, SLOT2);

    // A cartridge unloaded in place is threaded again without a robot move.
    lib.mount("A00002L8", "drive0").unwrap();
    lib.with_drive("drive0", "unload", |d| d.unload()).unwrap();
    let moves = sim.stats().robot.moves;
    let loads = sim.stats().drives["drive0"].loads;
    let out = lib.mount("A00002L8", "drive0").unwrap();
    assert_eq!(out.source, None);
    assert_eq!(sim.stats().robot.moves, moves);
    assert_eq!(sim.stats().drives["drive0"].loads, loads + 1);
}

#[test]
fn a_drive_the_changer_reports_in_exception_opens_down() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = library_config(dir.path(), &["drive0", "drive1"], &[]);
    let sim = config.simulator.as_mut().unwrap().inline.as_mut().unwrap();
    sim.faults.push(FaultSpec::DriveFailure { drive: 0 });
    let lib = TapeLibrary::open(&config, &limits(), Catalog::temporary().unwrap()).unwrap();
    match lib.drive_status("drive0").unwrap() {
        DriveStatus::Down { reason } => assert!(reason.contains("exception"), "{reason}"),
        DriveStatus::Up => panic!("drive0 should be DOWN"),
    }
    assert_eq!(lib.drive_status("drive1").unwrap(), DriveStatus::Up);
}

#[test]
fn a_failed_robot_move_keeps_its_context_and_leaves_the_drive_up() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open(dir.path());
    let sim = lib.simulator().unwrap().clone();
    sim.inject_fault(FaultSpec::RobotMoveFailure { count: Some(1) })
        .unwrap();
    let err = lib.mount("A00001L8", "drive0").unwrap_err();
    match &err {
        LibraryError::Move {
            barcode, from, to, ..
        } => {
            assert_eq!(barcode.as_deref(), Some("A00001L8"));
            assert_eq!((*from, *to), (SLOT1, DRIVE0));
        }
        other => panic!("expected a move error, got {other}"),
    }
    assert!(err.to_string().contains("A00001L8"), "{err}");
    assert_eq!(lib.drive_status("drive0").unwrap(), DriveStatus::Up);
    assert_eq!(
        lib.catalog()
            .get_tape("A00001L8")
            .unwrap()
            .unwrap()
            .location,
        TapeLocation::Slot(SLOT1)
    );
    // The fault was for one move only.
    lib.mount("A00001L8", "drive0").unwrap();
}
