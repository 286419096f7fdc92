//! The state directory: reopening gives the same library.

mod library_common;

use library_common::*;
use tapelib_scsi::DataPhase;
use tapelib_sim::config::{CartridgeConfig, FaultSpec, MediaOp, SlotRef};
use tapelib_sim::library::Library;

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
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    panic!("{device} does not settle");
}

fn element_status_bytes(lib: &Library) -> Vec<u8> {
    drain_unit_attention(lib, CHANGER);
    let cdb = read_element_status_cdb(0, true, 0, 0xFFFF, true, 0xFFFF);
    let (c, d) = cmd_in(lib, CHANGER, &cdb, 0xFFFF);
    assert_good(&c);
    d
}

#[test]
fn reopen_gives_the_same_library() {
    let dir = tempfile::tempdir().unwrap();
    let record: Vec<u8> = (0..512u32).map(|i| (i * 7 % 251) as u8).collect();
    let (contents, status, moves) = {
        let lib = open_small(dir.path());
        drain_unit_attention(&lib, CHANGER);
        assert_good(&move_medium(&lib, SLOT1, DRIVE1));
        // drive0 unloads its cartridge, which stays in the drive, ejected.
        assert_good(&settle(&lib, "drive0", &[0x1B, 0, 0, 0, 0, 0]));
        // drive1 writes a record and a synchronous filemark.
        settle(&lib, "drive1", &[0, 0, 0, 0, 0, 0]);
        let c = lib
            .execute(
                "drive1",
                &[0x0A, 0, 0, 0x02, 0x00, 0],
                DataPhase::Out(&record),
            )
            .unwrap();
        assert_good(&c);
        assert_good(&cmd(&lib, "drive1", &[0x10, 0, 0, 0, 1, 0]));
        lib.operator_insert("NEW001L9", Some(IE2)).unwrap();
        assert_eq!(sense_of(&move_medium(&lib, IE1, SLOT2)), (6, 0x28, 0x01));
        assert_good(&move_medium(&lib, IE1, SLOT2));
        assert_good(&cmd(&lib, CHANGER, &[0x1E, 0, 0, 0, 1, 0]));
        lib.inject_fault(FaultSpec::RobotMoveFailure { count: Some(5) })
            .unwrap();
        lib.inject_fault(FaultSpec::MediaError {
            barcode: "A00002L7".into(),
            partition: 0,
            block: 3,
            op: MediaOp::Read,
        })
        .unwrap();
        let status = element_status_bytes(&lib);
        let stats = lib.stats();
        assert_eq!(stats.drives["drive1"].bytes_written, 512);
        (lib.contents(), status, stats.robot.moves)
    };
    let state = std::fs::read_to_string(dir.path().join("state.json")).unwrap();
    assert!(state.contains("NEW001L9"));
    assert!(!dir.path().join("state.json.tmp").exists());
    assert!(dir.path().join("cartridges/A00001L8").is_dir());

    let lib = open_small(dir.path());
    assert_eq!(lib.contents(), contents);
    assert_eq!(element_status_bytes(&lib), status);
    assert_eq!(lib.stats().robot.moves, moves);
    // Drive statistics survive the restart too.
    assert_eq!(lib.stats().drives["drive1"].bytes_written, 512);
    // drive1 is still loaded and reads the record back; drive0's cartridge is ready to pull.
    assert_good(&settle(&lib, "drive1", &[0x01, 0, 0, 0, 0, 0]));
    let mut buf = vec![0u8; 512];
    let c = lib
        .execute(
            "drive1",
            &[0x08, 0, 0, 0x02, 0x00, 0],
            DataPhase::In(&mut buf),
        )
        .unwrap();
    assert_good(&c);
    assert_eq!(buf, record);
    lib.clear_faults();
    assert_good(&move_medium(&lib, DRIVE0, SLOT4));
    assert_eq!(sense_of(&move_medium(&lib, DRIVE1, SLOT1)), (5, 0x44, 0x81));
}

#[test]
fn configuration_changes_on_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let lib = open_small(dir.path());
        drain_unit_attention(&lib, CHANGER);
        assert_good(&move_medium(&lib, SLOT1, SLOT2));
    }
    let mut config = small_config();
    let add = |barcode: &str, slot| CartridgeConfig {
        barcode: barcode.into(),
        generation: None,
        slot: Some(slot),
        write_protect: false,
        capacity: None,
    };
    // Slot 4 looks free but is held as the home of drive0's cartridge: NEW004L8 stays outside.
    // Slot 2 is taken in the saved state: NEW002L8 stays outside too.
    config.cartridges.push(add("NEW004L8", SlotRef::Storage(4)));
    config.cartridges.push(add("NEW002L8", SlotRef::Storage(2)));
    // A00001L8 is configured in slot 1 but the saved state says slot 2: the state wins.
    let lib = Library::open(config, dir.path()).unwrap();
    let contents = lib.contents();
    assert_eq!(contents.find("A00001L8").unwrap().address, SLOT2);
    assert!(contents.find("NEW004L8").is_none());
    assert!(contents.find("NEW002L8").is_none());
    assert_eq!(
        contents.outside,
        vec!["NEW002L8".to_string(), "NEW004L8".to_string()]
    );
    assert_eq!(contents.find("B00001L8").unwrap().source, Some(SLOT4));
    // An operator can bring it in.
    lib.operator_insert("NEW002L8", None).unwrap();
    assert_eq!(lib.contents().outside, vec!["NEW004L8".to_string()]);

    // Fewer storage slots than the saved state uses: cartridges of vanished slots go outside,
    // and drive0's cartridge, whose home vanished, gets a new one that is free.
    drop(lib);
    let mut config = small_config();
    config.storage_slots = 2;
    config.cartridges.retain(|c| c.barcode != "A00002L7");
    let lib = Library::open(config, dir.path()).unwrap();
    let contents = lib.contents();
    assert!(contents.outside.contains(&"A00002L7".to_string()));
    assert!(contents.find("A00002L7").is_none());
    assert_eq!(contents.find("B00001L8").unwrap().source, Some(SLOT1));
    let slot1 = contents
        .elements
        .iter()
        .find(|e| e.address == SLOT1)
        .unwrap();
    assert!(slot1.barcode.is_none());
}

#[test]
fn corrupt_state_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    drop(open_small(dir.path()));
    std::fs::write(dir.path().join("state.json"), b"{ not json").unwrap();
    assert!(matches!(
        Library::open(small_config(), dir.path()),
        Err(tapelib_sim::library::SimError::State { .. })
    ));
}

#[test]
fn image_export_and_import() {
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let lib = open_small(dir.path());
    lib.export_cartridge_image("A00001L8", out.path()).unwrap();
    assert!(matches!(
        lib.export_cartridge_image("B00001L8", out.path()),
        Err(tapelib_sim::library::SimError::CartridgeInDrive(_))
    ));
    assert!(matches!(
        lib.export_cartridge_image("ZZZ999L8", out.path()),
        Err(tapelib_sim::library::SimError::UnknownCartridge(_))
    ));
    lib.import_cartridge_image(out.path(), "IMP001L8", false, None)
        .unwrap();
    assert_eq!(lib.contents().outside, vec!["IMP001L8".to_string()]);
    assert!(lib
        .import_cartridge_image(out.path(), "IMP001L8", false, None)
        .is_err());
    lib.operator_insert("IMP001L8", None).unwrap();
    assert!(lib.stats().cartridges.contains_key("IMP001L8"));
}
