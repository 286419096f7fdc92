//! INQUIRY, MODE SENSE, LOG SENSE, REPORT LUNS, INITIALIZE ELEMENT STATUS, POSITION TO ELEMENT
//! on the changer, and arbitrary CDBs.

mod library_common;

use library_common::*;
use proptest::prelude::*;
use tapelib_scsi::{DataPhase, ScsiStatus};

#[test]
fn standard_inquiry() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open_small(dir.path());
    // mtx's INQUIRY: 12 00 00 00 38 00.
    let (c, d) = cmd_in(&lib, CHANGER, &[0x12, 0, 0, 0, 0x38, 0], 0x38);
    assert_good(&c);
    assert_eq!(d.len(), 56);
    assert_eq!(d[0], 0x08, "medium changer");
    assert_eq!(usize::from(d[4]) + 5, 56);
    assert_eq!(&d[8..16], b"TAPELIB ");
    assert_eq!(&d[16..32], b"SIMLIB          ");
    assert_eq!(&d[32..36], b"0100");
    // Short allocation.
    let (c, d) = cmd_in(&lib, CHANGER, &[0x12, 0, 0, 0, 5, 0], 96);
    assert_good(&c);
    assert_eq!(d.len(), 5);
    assert_eq!(c.residual, 91);
}

#[test]
fn vpd_pages() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open_small(dir.path());
    let (c, d) = cmd_in(&lib, CHANGER, &[0x12, 1, 0x00, 0, 255, 0], 255);
    assert_good(&c);
    assert_eq!(d, [0x08, 0x00, 0x00, 0x03, 0x00, 0x80, 0x83]);
    let (_, d) = cmd_in(&lib, CHANGER, &[0x12, 1, 0x80, 0, 255, 0], 255);
    assert_eq!(&d[..4], &[0x08, 0x80, 0x00, 7]);
    assert_eq!(&d[4..], b"LIB0001");
    let (_, d) = cmd_in(&lib, CHANGER, &[0x12, 1, 0x83, 0, 255, 0], 255);
    assert_eq!(&d[..2], &[0x08, 0x83]);
    let page_len = usize::from(u16::from_be_bytes([d[2], d[3]]));
    assert_eq!(page_len + 4, d.len());
    // One T10 vendor ID designator, ASCII, LU association.
    assert_eq!(&d[4..8], &[0x02, 0x01, 0x00, 31]);
    assert_eq!(&d[8..39], b"TAPELIB SIMLIB          LIB0001");
    // Unsupported page, page code without EVPD, CMDDT.
    for cdb in [[0x12, 1, 0xB0, 0, 255, 0], [0x12, 0, 0x80, 0, 255, 0]] {
        let (c, _) = cmd_in(&lib, CHANGER, &cdb, 255);
        assert_eq!(sense_of(&c), (5, 0x24, 0x00));
        assert_eq!(field_pointer(&c), Some((true, 2)));
    }
    let (c, _) = cmd_in(&lib, CHANGER, &[0x12, 2, 0, 0, 255, 0], 255);
    assert_eq!(field_pointer(&c), Some((true, 1)));
}

#[test]
fn mode_sense_element_address_assignment() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open_small(dir.path());
    drain_unit_attention(&lib, CHANGER);
    // mtx's MODE SENSE(6): 1A 08 1D 00 88 00.
    let (c, d) = cmd_in(&lib, CHANGER, &[0x1A, 0x08, 0x1D, 0, 0x88, 0], 0x88);
    assert_good(&c);
    assert_eq!(
        d,
        [
            23, 0, 0, 0, // header: mode data length, no block descriptors
            0x1D, 0x12, // page code, page length
            0x00, 0x01, 0x00, 0x01, // transport 1, one
            0x10, 0x00, 0x00, 0x04, // storage 4096, four
            0x00, 0x10, 0x00, 0x02, // I/E 16, two
            0x01, 0x00, 0x00, 0x02, // drives 256, two
            0x00, 0x00
        ]
    );
    // MODE SENSE(10) of all pages: 1D, 1E, 1F.
    let (c, d) = cmd_in(
        &lib,
        CHANGER,
        &[0x5A, 0x08, 0x3F, 0, 0, 0, 0, 0x01, 0x00, 0],
        256,
    );
    assert_good(&c);
    assert_eq!(usize::from(u16::from_be_bytes([d[0], d[1]])) + 2, d.len());
    let mut p = 8;
    let mut pages = Vec::new();
    while p + 2 <= d.len() {
        pages.push((d[p], d[p + 1]));
        p += 2 + usize::from(d[p + 1]);
    }
    assert_eq!(pages, [(0x1D, 0x12), (0x1E, 0x02), (0x1F, 0x12)]);
    // Device capabilities: storage, I/E and drives store media and reach each other.
    let (_, d) = cmd_in(&lib, CHANGER, &[0x1A, 0x08, 0x1F, 0, 0xFF, 0], 255);
    assert_eq!(&d[4..12], &[0x1F, 0x12, 0x0E, 0x00, 0x00, 0x0E, 0x0E, 0x0E]);
    // Changeable values: nothing can be changed.
    let (_, d) = cmd_in(&lib, CHANGER, &[0x1A, 0x08, 0x5D, 0, 0xFF, 0], 255);
    assert_eq!(&d[4..6], &[0x1D, 0x12]);
    assert!(d[6..].iter().all(|&b| b == 0));
    // Unknown page.
    let (c, _) = cmd_in(&lib, CHANGER, &[0x1A, 0x08, 0x0F, 0, 0xFF, 0], 255);
    assert_eq!(sense_of(&c), (5, 0x24, 0x00));
    assert_eq!(field_pointer(&c), Some((true, 2)));
}

#[test]
fn log_sense_supported_pages_and_report_luns() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open_small(dir.path());
    drain_unit_attention(&lib, CHANGER);
    let (c, d) = cmd_in(&lib, CHANGER, &[0x4D, 0, 0x40, 0, 0, 0, 0, 0, 64, 0], 64);
    assert_good(&c);
    assert_eq!(d, [0x00, 0x00, 0x00, 0x02, 0x00, 0x2E]);
    // TapeAlert with PC = 00 (tapeinfo) answers all 64 flags, none set.
    let (c, d) = cmd_in(
        &lib,
        CHANGER,
        &[0x4D, 0, 0x2E, 0, 0, 0, 0, 0x01, 0x44, 0],
        0x144,
    );
    assert_good(&c);
    assert_eq!(d.len(), 4 + 64 * 5);
    assert!(d[4..].chunks(5).enumerate().all(|(i, p)| {
        u16::from_be_bytes([p[0], p[1]]) == i as u16 + 1 && p[3] == 1 && p[4] == 0
    }));
    let (c, _) = cmd_in(&lib, CHANGER, &[0x4D, 0, 0x31, 0, 0, 0, 0, 0, 64, 0], 64);
    assert_eq!(sense_of(&c), (5, 0x24, 0x00));
    let (c, d) = cmd_in(&lib, CHANGER, &[0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0], 64);
    assert_good(&c);
    assert_eq!(d, [0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
}

#[test]
fn inventory_and_position() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open_small(dir.path());
    drain_unit_attention(&lib, CHANGER);
    assert_good(&cmd(&lib, CHANGER, &[0x07, 0, 0, 0, 0, 0]));
    assert_good(&cmd(
        &lib,
        CHANGER,
        &[0x37, 1, 0x10, 0x00, 0, 0, 0, 2, 0, 0],
    ));
    let c = cmd(&lib, CHANGER, &[0x37, 1, 0x20, 0x00, 0, 0, 0, 2, 0, 0]);
    assert_eq!(sense_of(&c), (5, 0x21, 0x01));
    assert_eq!(lib.stats().robot.inventories, 2);
    assert_good(&cmd(
        &lib,
        CHANGER,
        &[0x2B, 0, 0, 1, 0x01, 0x00, 0, 0, 0, 0],
    ));
    let c = cmd(&lib, CHANGER, &[0x2B, 0, 0, 1, 0x0F, 0x00, 0, 0, 0, 0]);
    assert_eq!(sense_of(&c), (5, 0x21, 0x01));
    assert_eq!(field_pointer(&c), Some((true, 4)));
    let c = cmd(&lib, CHANGER, &[0x2B, 0, 0, 1, 0x01, 0x00, 0, 0, 1, 0]);
    assert_eq!(sense_of(&c), (5, 0x24, 0x00));
}

#[test]
fn unknown_device_is_the_only_error() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open_small(dir.path());
    assert!(lib
        .execute("drive2", &[0, 0, 0, 0, 0, 0], DataPhase::None)
        .is_err());
    assert!(lib
        .execute("drive01", &[0, 0, 0, 0, 0, 0], DataPhase::None)
        .is_err());
    assert!(lib.execute("", &[], DataPhase::None).is_err());
    let c = lib.execute(CHANGER, &[], DataPhase::None).unwrap();
    assert_eq!(sense_of(&c), (5, 0x20, 0x00));
    assert_eq!(lib.device_names(), ["changer0", "drive0", "drive1"]);
}

/// One library for all cases: the random commands also form random sequences.
fn shared_library() -> &'static (
    tempfile::TempDir,
    std::sync::Arc<tapelib_sim::library::Library>,
) {
    static LIB: std::sync::OnceLock<(
        tempfile::TempDir,
        std::sync::Arc<tapelib_sim::library::Library>,
    )> = std::sync::OnceLock::new();
    LIB.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let lib = open_small(dir.path());
        (dir, lib)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Any CDB and data phase: the changer answers with a status, never a panic, and never
    /// claims more data than offered.
    #[test]
    fn arbitrary_cdbs_never_panic(
        cdb in proptest::collection::vec(any::<u8>(), 0..20),
        opcode in prop::sample::select(vec![
            0x00u8, 0x03, 0x07, 0x12, 0x1A, 0x1B, 0x1E, 0x2B, 0x37, 0x4D, 0x5A, 0xA0, 0xA5,
            0xA6, 0xB8,
        ]),
        use_known in any::<bool>(),
        alloc in 0usize..2048,
    ) {
        let lib = &shared_library().1;
        let mut cdb = cdb;
        if use_known && !cdb.is_empty() {
            cdb[0] = opcode;
        }
        let mut buf = vec![0u8; alloc];
        let c = lib.execute(CHANGER, &cdb, DataPhase::In(&mut buf)).unwrap();
        prop_assert!(c.transferred <= alloc);
        prop_assert_eq!(c.transferred + c.residual, alloc);
        if c.status == ScsiStatus::CHECK_CONDITION {
            prop_assert!(c.sense.len() >= 18);
        } else {
            prop_assert_eq!(c.status, ScsiStatus::GOOD);
        }
        // The library is still consistent: every cartridge is somewhere once.
        let contents = lib.contents();
        let mut barcodes: Vec<String> =
            contents.elements.iter().filter_map(|e| e.barcode.clone()).collect();
        barcodes.extend(contents.outside.clone());
        barcodes.sort();
        prop_assert_eq!(barcodes, vec!["A00001L8", "A00002L7", "B00001L8", "CLN001L1"]);
    }
}
