//! READ ELEMENT STATUS layouts, byte for byte (SMC-3 6.10).

mod library_common;

use library_common::*;

/// A primary volume tag: 32 bytes space padded, 2 reserved, 2 sequence (SMC-3 6.10.7).
fn tag(barcode: &str) -> Vec<u8> {
    let mut t = barcode.as_bytes().to_vec();
    t.resize(32, b' ');
    t.extend([0, 0, 0, 0]);
    t
}

/// Storage descriptor: address, flags, ASC/ASCQ 0, byte 9, source, tag, identifier header.
fn storage_desc(address: u16, full: Option<&str>, byte9: u8, source: u16) -> Vec<u8> {
    let mut d = address.to_be_bytes().to_vec();
    d.push(if full.is_some() { 0x09 } else { 0x08 }); // ACCESS (+ FULL)
    d.extend([0, 0, 0, 0, 0, 0]);
    d.push(byte9);
    d.extend(source.to_be_bytes());
    d.extend(full.map_or_else(|| vec![0u8; 36], tag));
    d.extend([0, 0, 0, 0]);
    d
}

#[test]
fn storage_page_with_voltag_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open_small(dir.path());
    let cdb = read_element_status_cdb(2, true, SLOT1, 10, false, 1024);
    let (c, d) = cmd_in(&lib, CHANGER, &cdb, 1024);
    assert_good(&c);
    let mut expected = vec![
        0x10, 0x00, // first element address reported
        0x00, 0x04, // number of elements available
        0x00, 0x00, 0x00, 0xD8, // reserved, byte count of report available: 8 + 4 * 52
        0x02, 0x80, 0x00, 0x34, // storage, PVOLTAG, descriptor length 52
        0x00, 0x00, 0x00, 0xD0, // reserved, byte count of descriptor data 208
    ];
    expected.extend(storage_desc(SLOT1, Some("A00001L8"), 0x01, 0));
    expected.extend(storage_desc(SLOT2, None, 0x00, 0));
    expected.extend(storage_desc(SLOT3, Some("A00002L7"), 0x01, 0));
    expected.extend(storage_desc(SLOT4, None, 0x00, 0));
    assert_eq!(d, expected);
    assert_eq!(c.transferred, 224);
    assert_eq!(c.residual, 1024 - 224);
}

#[test]
fn storage_page_without_voltag() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open_small(dir.path());
    let cdb = read_element_status_cdb(2, false, 0, 2, false, 512);
    let (c, d) = cmd_in(&lib, CHANGER, &cdb, 512);
    assert_good(&c);
    let expected = [
        0x10, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x28, // 8 + 2 * 16
        0x02, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x20, // no PVOLTAG, length 16
        0x10, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0, 0, 0, 0, 0x10,
        0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0, 0, 0, 0,
    ];
    assert_eq!(d, expected);
}

#[test]
fn allocation_length_truncates_data_not_header_counts() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open_small(dir.path());
    // Room for the headers and one descriptor and a half.
    let alloc = 8 + 8 + 52 + 20;
    let cdb = read_element_status_cdb(2, true, SLOT1, 10, false, alloc);
    let (c, d) = cmd_in(&lib, CHANGER, &cdb, 4096);
    assert_good(&c);
    assert_eq!(d.len(), alloc as usize);
    assert_eq!(c.residual, 4096 - alloc as usize);
    let r = parse_report(&d);
    // The counts describe the whole report, as if nothing were cut.
    assert_eq!(r.available, 4);
    assert_eq!(r.byte_count, 0xD8);
    assert_eq!(&d[13..16], &[0x00, 0x00, 0xD0]);
    assert_eq!(r.descriptors.len(), 1);
    assert_eq!(r.descriptors[0].voltag.as_deref(), Some("A00001L8"));
    // Only 8 bytes: the header alone still says how much there is (mtx re-asks with that size).
    let cdb = read_element_status_cdb(2, true, SLOT1, 10, false, 8);
    let (c, d) = cmd_in(&lib, CHANGER, &cdb, 8);
    assert_good(&c);
    assert_eq!(d, [0x10, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0xD8]);
    // A buffer smaller than the allocation length bounds the transfer too.
    let cdb = read_element_status_cdb(2, true, SLOT1, 10, false, 1024);
    let (c, d) = cmd_in(&lib, CHANGER, &cdb, 30);
    assert_good(&c);
    assert_eq!(d.len(), 30);
}

#[test]
fn start_address_and_count_select_elements() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open_small(dir.path());
    let cdb = read_element_status_cdb(2, true, SLOT3, 10, false, 1024);
    let (_, d) = cmd_in(&lib, CHANGER, &cdb, 1024);
    let r = parse_report(&d);
    assert_eq!(r.first, SLOT3);
    assert_eq!(r.available, 2);
    let addrs: Vec<u16> = r.descriptors.iter().map(|x| x.address).collect();
    assert_eq!(addrs, [SLOT3, SLOT4]);
    // A start address between elements reports those above it.
    let cdb = read_element_status_cdb(4, false, 200, 1, false, 1024);
    let (_, d) = cmd_in(&lib, CHANGER, &cdb, 1024);
    let r = parse_report(&d);
    assert_eq!(r.first, DRIVE0);
    assert_eq!(r.descriptors.len(), 1);
    // Nothing at or above the start address: invalid element address.
    let cdb = read_element_status_cdb(2, false, SLOT4 + 1, 1, false, 1024);
    let (c, _) = cmd_in(&lib, CHANGER, &cdb, 1024);
    assert_eq!(sense_of(&c), (5, 0x21, 0x01));
    assert_eq!(field_pointer(&c), Some((true, 2)));
}

#[test]
fn all_types_in_address_order_one_page_per_type() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open_small(dir.path());
    let cdb = read_element_status_cdb(0, true, 0, 100, false, 4096);
    let (c, d) = cmd_in(&lib, CHANGER, &cdb, 4096);
    assert_good(&c);
    let r = parse_report(&d);
    assert_eq!(r.first, TRANSPORT);
    assert_eq!(r.available, 9);
    assert_eq!(r.byte_count as usize, d.len() - 8);
    let seen: Vec<(u8, u16)> = r
        .descriptors
        .iter()
        .map(|x| (x.type_code, x.address))
        .collect();
    assert_eq!(
        seen,
        [
            (1, TRANSPORT),
            (3, IE1),
            (3, IE2),
            (4, DRIVE0),
            (4, DRIVE1),
            (2, SLOT1),
            (2, SLOT2),
            (2, SLOT3),
            (2, SLOT4)
        ]
    );
    // I/E: the configured cleaning cartridge; import and export enabled, accessible.
    let ie1 = &r.descriptors[1];
    assert!(ie1.full() && ie1.access() && !ie1.impexp());
    assert_eq!(ie1.flags & 0x30, 0x30);
    assert_eq!(ie1.medium_type, 2, "cleaning");
    assert_eq!(ie1.voltag.as_deref(), Some("CLN001L1"));
    // Drive 0 holds the configured cartridge; transport is empty.
    assert!(r.descriptors[3].full());
    assert_eq!(r.descriptors[3].voltag.as_deref(), Some("B00001L8"));
    // A cartridge configured into a drive gets a home slot, so `mtx unload` knows where to go:
    // the highest free slot the configuration does not name.
    assert!(r.descriptors[3].svalid);
    assert_eq!(r.descriptors[3].source, SLOT4);
    assert!(!r.descriptors[0].full());
    assert_eq!(r.descriptors[0].flags, 0);
}

#[test]
fn dvcid_serial_identifiers_on_drives() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open_small(dir.path());
    let cdb = read_element_status_cdb(4, false, 0, 2, true, 1024);
    let (c, d) = cmd_in(&lib, CHANGER, &cdb, 1024);
    assert_good(&c);
    // Descriptor length: 12 + 4 + 10 (serial).
    assert_eq!(&d[8..12], &[0x04, 0x00, 0x00, 26]);
    let drive0 = &d[16..42];
    assert_eq!(
        drive0,
        [
            // SVALID, data medium; home slot: the highest free storage slot (slot 4).
            &[0x01, 0x00, 0x09, 0, 0, 0, 0, 0, 0, 0x81, 0x10, 0x03][..],
            &[0x02, 0x00, 0x00, 10][..],
            b"1013000001"
        ]
        .concat()
    );
    let r = parse_report(&d);
    assert_eq!(
        r.descriptors[1].identifier,
        Some((2, 0, b"HU10000002".to_vec()))
    );
    // VolTag and DVCID together: the identifier follows the tag.
    let cdb = read_element_status_cdb(4, true, 0, 2, true, 1024);
    let (_, d) = cmd_in(&lib, CHANGER, &cdb, 1024);
    assert_eq!(&d[10..12], &[0x00, 62]);
    let r = parse_report(&d);
    assert_eq!(r.descriptors[0].voltag.as_deref(), Some("B00001L8"));
    assert_eq!(
        r.descriptors[0].identifier,
        Some((2, 0, b"1013000001".to_vec()))
    );
    // Without DVCID the identifier length is 0.
    let cdb = read_element_status_cdb(4, false, 0, 2, false, 1024);
    let (_, d) = cmd_in(&lib, CHANGER, &cdb, 1024);
    assert_eq!(&d[10..12], &[0x00, 16]);
    assert!(parse_report(&d)
        .descriptors
        .iter()
        .all(|x| x.identifier.is_none()));
}

#[test]
fn dvcid_vendor_product_serial() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = small_config();
    config.changer.dvcid = tapelib_sim::config::DvcidFormat::VendorProductSerial;
    let lib = tapelib_sim::library::Library::open(config, dir.path()).unwrap();
    let cdb = read_element_status_cdb(4, false, 0, 1, true, 1024);
    let (_, d) = cmd_in(&lib, CHANGER, &cdb, 1024);
    let r = parse_report(&d);
    let (code_set, id_type, id) = r.descriptors[0].identifier.clone().unwrap();
    assert_eq!((code_set, id_type, id.len()), (2, 1, 34));
    // Vendor and product are what the drive itself reports in INQUIRY.
    let (c, inq) = cmd_in(&lib, "drive0", &[0x12, 0, 0, 0, 36, 0], 36);
    assert_good(&c);
    assert_eq!(&id[..24], &inq[8..32]);
    assert_eq!(&id[24..], b"1013000001");
}

#[test]
fn bad_element_type_is_an_invalid_field() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open_small(dir.path());
    let cdb = read_element_status_cdb(5, false, 0, 1, false, 64);
    let (c, _) = cmd_in(&lib, CHANGER, &cdb, 64);
    assert_eq!(sense_of(&c), (5, 0x24, 0x00));
    assert_eq!(field_pointer(&c), Some((true, 1)));
}
