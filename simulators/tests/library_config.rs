//! Configuration parsing and validation.

use tapelib_sim::config::{
    ConfigError, DrivePersonality, DvcidFormat, FaultSpec, LibraryConfig, MediaOp, SlotRef,
};
use tapelib_sim::media::{LtoGeneration, MediaKind};

fn invalid(text: &str) -> (String, String) {
    match LibraryConfig::from_toml_str(text) {
        Err(ConfigError::Invalid { field, message }) => (field, message),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

const ONE_DRIVE: &str = "[[drive]]\ngeneration = 8\nserial = \"D1\"\n";

#[test]
fn defaults_are_a_mid_size_library() {
    let c = LibraryConfig::default();
    c.validate().unwrap();
    assert_eq!(c.storage_slots, 40);
    assert_eq!(c.ie_slots, 4);
    assert_eq!(c.drives.len(), 2);
    assert_eq!(
        (
            c.addresses.transport,
            c.addresses.import_export,
            c.addresses.drive,
            c.addresses.storage
        ),
        (1, 16, 256, 4096)
    );
    assert_eq!(c.time_scale, 0.0);
    // An empty file is the default library.
    assert_eq!(LibraryConfig::from_toml_str("").unwrap(), c);
}

#[test]
fn example_file_parses() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/library.toml");
    let c = LibraryConfig::from_file(path).unwrap();
    assert_eq!(c.drives.len(), 2);
    assert_eq!(c.drives[1].personality, DrivePersonality::Hp);
    assert_eq!(c.cartridges.len(), 6);
    let test01 = c.cartridges.iter().find(|x| x.barcode == "TEST01").unwrap();
    assert_eq!(
        test01.media_kind(),
        Some(MediaKind::data(LtoGeneration::Lto8))
    );
    assert_eq!(test01.capacity, Some(100_000_000));
    let spare = c
        .cartridges
        .iter()
        .find(|x| x.barcode == "SPARE1L8")
        .unwrap();
    assert_eq!(spare.slot, None);
    assert_eq!(c.faults.len(), 1);
}

#[test]
fn full_config_fields() {
    let c = LibraryConfig::from_toml_str(
        r#"
time_scale = 0.5
storage_slots = 10
ie_slots = 1
[changer]
vendor = "HP"
product = "MSL G3 Series"
serial = "DEC123"
revision = "9.10"
dvcid = "vendor-product-serial"
power_on_unit_attention = true
[addresses]
transport = 0
import_export = 10
drive = 1
storage = 1000
[[drive]]
generation = "LTO-9"
personality = "HP"
serial = "HU1"
vendor = "HP"
product = "Ultrium 9-SCSI"
[[drive]]
generation = "L7"
serial = "HU2"
[[cartridge]]
barcode = "X00001M8"
slot = "drive:1"
[[cartridge]]
barcode = "CLN007"
slot = "ie:1"
[[cartridge]]
barcode = "ODD"
generation = 6
slot = 10
write_protect = true
[[fault]]
kind = "robot-move-failure"
count = 2
[[fault]]
kind = "cartridge-full"
barcode = "ODD"
after_bytes = 4096
[[fault]]
kind = "media-error"
barcode = "ODD"
block = 5
op = "write"
[[fault]]
kind = "ie-door-open"
[[fault]]
kind = "power-on-reset"
device = "drive1"
"#,
    )
    .unwrap();
    assert_eq!(c.time_scale, 0.5);
    assert_eq!(c.changer.dvcid, DvcidFormat::VendorProductSerial);
    assert!(c.changer.power_on_unit_attention);
    assert_eq!(c.drives[0].generation, LtoGeneration::Lto9);
    assert_eq!(c.drives[1].generation, LtoGeneration::Lto7);
    assert_eq!(c.drives[1].personality, DrivePersonality::Ibm);
    assert_eq!(c.cartridges[0].slot, Some(SlotRef::Drive(1)));
    assert_eq!(
        c.cartridges[0].media_kind(),
        Some(MediaKind::Data {
            generation: LtoGeneration::Lto7,
            m8: true
        })
    );
    assert_eq!(c.cartridges[1].media_kind(), Some(MediaKind::Cleaning));
    assert_eq!(c.cartridges[1].slot, Some(SlotRef::ImportExport(1)));
    assert_eq!(
        c.cartridges[2].media_kind(),
        Some(MediaKind::data(LtoGeneration::Lto6))
    );
    assert!(c.cartridges[2].write_protect);
    assert_eq!(c.faults[0], FaultSpec::RobotMoveFailure { count: Some(2) });
    assert_eq!(
        c.faults[2],
        FaultSpec::MediaError {
            barcode: "ODD".into(),
            partition: 0,
            block: 5,
            op: MediaOp::Write
        }
    );
    assert_eq!(c.faults[3], FaultSpec::IeDoorOpen);
    assert_eq!(c.storage_address(10), Some(1009));
    assert_eq!(c.ie_address(1), Some(10));
    assert_eq!(c.drive_address(1), Some(2));
    assert_eq!(c.storage_address(11), None);
    // Serialized and parsed back: the same configuration.
    let text = c.to_toml_string().unwrap();
    assert_eq!(LibraryConfig::from_toml_str(&text).unwrap(), c);
}

#[test]
fn syntax_errors_carry_the_line() {
    let text = "storage_slots = 4\nie_slots = 1\n[changer\nvendor = \"X\"\n";
    match LibraryConfig::from_toml_str(text) {
        Err(ConfigError::Parse { line, .. }) => assert_eq!(line, 3),
        other => panic!("{other:?}"),
    }
    // A field of the wrong type names its line too.
    let text = "storage_slots = 4\n\n[[drive]]\ngeneration = \"LTO-4\"\nserial = \"x\"\n";
    match LibraryConfig::from_toml_str(text) {
        Err(ConfigError::Parse { line, message, .. }) => {
            assert_eq!(line, 4);
            assert!(message.contains("LTO-4"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // Unknown fields are refused, not ignored.
    let text = "storage_slot = 4\n";
    match LibraryConfig::from_toml_str(text) {
        Err(ConfigError::Parse { line, message, .. }) => {
            assert_eq!(line, 1);
            assert!(message.contains("storage_slot"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    match LibraryConfig::from_toml_str("[[cartridge]]\nbarcode = \"A1L8\"\nslot = \"ie:x\"\n") {
        Err(ConfigError::Parse { line: 3, .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_file_is_an_io_error() {
    match LibraryConfig::from_file("/nonexistent/library.toml") {
        Err(ConfigError::Io { path, .. }) => assert!(path.contains("nonexistent")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn duplicate_barcodes() {
    let (field, msg) = invalid(&format!(
        "{ONE_DRIVE}[[cartridge]]\nbarcode = \"A00001L8\"\nslot = 1\n[[cartridge]]\nbarcode = \"A00001L8\"\nslot = 2\n"
    ));
    assert_eq!(field, "cartridge[1]");
    assert!(msg.contains("duplicate barcode"), "{msg}");
}

#[test]
fn slot_out_of_range_and_taken() {
    let (field, msg) = invalid(&format!(
        "storage_slots = 2\n{ONE_DRIVE}[[cartridge]]\nbarcode = \"A00001L8\"\nslot = 3\n"
    ));
    assert_eq!(field, "cartridge[0].slot");
    assert!(msg.contains("out of range"), "{msg}");
    let (_, msg) = invalid(&format!(
        "ie_slots = 1\n{ONE_DRIVE}[[cartridge]]\nbarcode = \"A00001L8\"\nslot = \"ie:2\"\n"
    ));
    assert!(msg.contains("ie:2"), "{msg}");
    let (_, msg) = invalid(&format!(
        "{ONE_DRIVE}[[cartridge]]\nbarcode = \"A00001L8\"\nslot = \"drive:1\"\n"
    ));
    assert!(msg.contains("drive:1"), "{msg}");
    let (_, msg) = invalid(&format!(
        "{ONE_DRIVE}[[cartridge]]\nbarcode = \"A00001L8\"\nslot = 0\n"
    ));
    assert!(msg.contains("out of range"), "{msg}");
    let (_, msg) = invalid(&format!(
        "{ONE_DRIVE}[[cartridge]]\nbarcode = \"A00001L8\"\nslot = 2\n[[cartridge]]\nbarcode = \"A00002L8\"\nslot = 2\n"
    ));
    assert!(msg.contains("already holds"), "{msg}");
}

#[test]
fn more_cartridges_than_places() {
    let mut text = format!("storage_slots = 1\nie_slots = 0\n{ONE_DRIVE}");
    for (i, slot) in ["1", "\"drive:0\"", "1"].iter().enumerate() {
        text.push_str(&format!(
            "[[cartridge]]\nbarcode = \"C0000{i}L8\"\nslot = {slot}\n"
        ));
    }
    let (field, msg) = invalid(&text);
    assert_eq!(field, "cartridge");
    assert!(
        msg.contains("3 cartridges") && msg.contains("only 2"),
        "{msg}"
    );
}

#[test]
fn overlapping_address_ranges() {
    let (field, msg) = invalid(&format!(
        "storage_slots = 10\n[addresses]\nstorage = 250\ndrive = 256\n{ONE_DRIVE}"
    ));
    assert!(
        field.contains("addresses.drive") && field.contains("addresses.storage"),
        "{field}"
    );
    assert!(msg.contains("overlap"), "{msg}");
    let (field, _) = invalid(&format!("[addresses]\ntransport = 16\n{ONE_DRIVE}"));
    assert!(field.contains("transport"), "{field}");
    let (field, msg) = invalid(&format!(
        "storage_slots = 100\n[addresses]\nstorage = 65500\n{ONE_DRIVE}"
    ));
    assert_eq!(field, "addresses.storage");
    assert!(msg.contains("16 bits"), "{msg}");
}

#[test]
fn other_validation_errors() {
    let (field, _) = invalid("[[cartridge]]\nbarcode = \"NOSUFFIX\"\nslot = 1\n");
    assert_eq!(field, "cartridge[0]");
    let (field, _) = invalid("[[cartridge]]\nbarcode = \"HAS SPACE L8\"\n");
    assert_eq!(field, "cartridge[0]");
    let (field, _) = invalid("storage_slots = 0\n");
    assert_eq!(field, "storage_slots");
    let (field, _) = invalid("time_scale = -1.0\n");
    assert_eq!(field, "time_scale");
    let (field, _) = invalid(&format!(
        "{ONE_DRIVE}[[fault]]\nkind = \"drive-failure\"\ndrive = 1\n"
    ));
    assert_eq!(field, "fault[0]");
    let (field, _) = invalid(&format!(
        "{ONE_DRIVE}[[fault]]\nkind = \"power-on-reset\"\ndevice = \"drive7\"\n"
    ));
    assert_eq!(field, "fault[0]");
    let (field, _) = invalid(&format!(
        "{ONE_DRIVE}[[drive]]\ngeneration = 8\nserial = \"D1\"\n"
    ));
    assert_eq!(field, "drive[1].serial");
    let (field, _) = invalid("[changer]\nvendor = \"TOO LONG VENDOR\"\n");
    assert_eq!(field, "changer.vendor");
    // Syntax-level faults: an unknown kind.
    match LibraryConfig::from_toml_str("[[fault]]\nkind = \"meteor-strike\"\n") {
        Err(ConfigError::Parse { line, message, .. }) => {
            assert!((1..=2).contains(&line), "{line}");
            assert!(message.contains("meteor-strike"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}
