//! READ ELEMENT STATUS responses laid out byte by byte from SMC-3 6.11, in the shapes IBM-,
//! HP- and Quantum-style libraries send (different address maps, DVCID forms, alternate tags,
//! padded descriptors, truncation).

use tapelib_scsi::smc::element_status::{ElementStatus, ElementStatusPage, VolumeTag};
use tapelib_scsi::smc::ElementType;
use tapelib_scsi::DecodeError;

/// 36-byte volume tag: identifier space padded to 32, 2 reserved, sequence number.
fn tag(id: &str, seq: u16) -> Vec<u8> {
    let mut t = vec![b' '; 32];
    t[..id.len()].copy_from_slice(id.as_bytes());
    t.extend_from_slice(&[0, 0]);
    t.extend_from_slice(&seq.to_be_bytes());
    t
}

/// The 12 fixed bytes of a descriptor.
fn base(
    address: u16,
    flags: u8,
    asc: u8,
    ascq: u8,
    b6: u8,
    b7: u8,
    source: Option<u16>,
) -> Vec<u8> {
    let mut d = address.to_be_bytes().to_vec();
    d.extend_from_slice(&[flags, 0, asc, ascq, b6, b7, 0]);
    match source {
        Some(s) => {
            d.push(0x80);
            d.extend_from_slice(&s.to_be_bytes());
        }
        None => d.extend_from_slice(&[0, 0, 0]),
    }
    d
}

fn page(
    element_type: u8,
    voltag_flags: u8,
    descriptor_length: u16,
    descriptors: &[Vec<u8>],
) -> Vec<u8> {
    let body: Vec<u8> = descriptors
        .iter()
        .flat_map(|d| {
            let mut d = d.clone();
            d.resize(usize::from(descriptor_length), 0);
            d
        })
        .collect();
    let mut p = vec![element_type, voltag_flags];
    p.extend_from_slice(&descriptor_length.to_be_bytes());
    p.push(0);
    p.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    p.extend_from_slice(&body);
    p
}

fn response(first: u16, count: u16, pages: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = pages.concat();
    let mut r = first.to_be_bytes().to_vec();
    r.extend_from_slice(&count.to_be_bytes());
    r.push(0);
    r.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    r.extend_from_slice(&body);
    r
}

/// IBM style: drives from 0x100 with a type 1 DVCID (IBM, ULT3580-TD8, 10-char serial).
fn ibm_drive(
    address: u16,
    full: bool,
    source: Option<u16>,
    barcode: &str,
    serial: &str,
) -> Vec<u8> {
    let mut d = base(address, 0x08 | u8::from(full), 0, 0, 0x30, 0, source);
    d.extend(tag(barcode, 0));
    d.extend_from_slice(&[0x02, 0x01, 0x00, 34]);
    d.extend_from_slice(b"IBM     ULT3580-TD8     ");
    d.extend_from_slice(format!("{serial:<10}").as_bytes());
    d
}

#[test]
fn ibm_style_drives_with_t10_dvcid() {
    let drives = [
        ibm_drive(0x100, true, Some(0x1003), "A00004L8", "1013005678"),
        ibm_drive(0x101, false, None, "", "10130056"),
    ];
    let r = response(0x100, 2, &[page(4, 0x80, 86, &drives)]);
    let s = ElementStatus::decode(&r).unwrap();
    assert!(!s.truncated);
    assert_eq!(s.header.first_element_address, 0x100);
    let p = &s.pages[0];
    assert_eq!(
        (p.element_type, p.pvoltag, p.avoltag, p.descriptor_length),
        (ElementType::DataTransfer, true, false, 86)
    );
    let d0 = &p.descriptors[0];
    assert!(d0.full && d0.access && d0.svalid);
    assert_eq!(d0.source_address, Some(0x1003));
    assert_eq!(d0.barcode(), Some("A00004L8"));
    let bus = d0.bus.unwrap();
    assert!(bus.id_valid && bus.lu_valid && !bus.not_bus);
    let id = d0.device_id.as_ref().unwrap();
    assert_eq!(
        (id.code_set, id.identifier_type, id.identifier.len()),
        (2, 1, 34)
    );
    assert_eq!(id.vendor().as_deref(), Some("IBM"));
    assert_eq!(id.product().as_deref(), Some("ULT3580-TD8"));
    assert_eq!(id.serial().as_deref(), Some("1013005678"));
    let d1 = &p.descriptors[1];
    assert!(!d1.full && d1.primary_tag.is_none() && d1.source_address.is_none());
    assert_eq!(
        d1.device_id.as_ref().unwrap().serial().as_deref(),
        Some("10130056")
    );
}

#[test]
fn ibm_style_storage_and_import_export() {
    let slots = [
        {
            let mut d = base(0x1000, 0x09, 0, 0, 0, 0, None);
            d.extend(tag("A00001L8", 0));
            d
        },
        {
            let mut d = base(0x1001, 0x08, 0, 0, 0, 0, None);
            d.extend(tag("", 0));
            d
        },
        {
            // Except with ASC/ASCQ 30/03 (cleaning cartridge installed) and reserved bits set.
            let mut d = base(0x1002, 0x0D | 0x02 | 0x30, 0x30, 0x03, 0xff, 0xff, None);
            d.extend(tag("CLN001L1", 7));
            d
        },
    ];
    let ie = [{
        // Full, ImpExp, Access, ExEnab, InEnab.
        let mut d = base(0x0010, 0x3B, 0, 0, 0, 0, None);
        d.extend(tag("IMP001L8", 0));
        d
    }];
    let r = response(
        0x0010,
        4,
        &[page(3, 0x80, 48, &ie), page(2, 0x80, 48, &slots)],
    );
    let s = ElementStatus::decode(&r).unwrap();
    assert_eq!(s.pages.len(), 2);
    let io = &s.pages[0].descriptors[0];
    assert_eq!(io.element_type, ElementType::ImportExport);
    assert!(io.full && io.impexp && io.access && io.exenab && io.inenab && !io.except);
    assert_eq!(io.barcode(), Some("IMP001L8"));
    let st = &s.pages[1].descriptors;
    assert_eq!(st.len(), 3);
    assert_eq!(st[0].barcode(), Some("A00001L8"));
    assert!(st[0].full && st[0].access);
    assert!(!st[1].full && st[1].primary_tag.is_none());
    // Storage elements have no ImpExp/ExEnab/InEnab, nor bus fields: reserved bits ignored.
    assert!(st[2].except && !st[2].impexp && !st[2].exenab && !st[2].inenab && st[2].bus.is_none());
    assert_eq!((st[2].asc, st[2].ascq), (0x30, 0x03));
    assert_eq!(
        st[2].primary_tag,
        Some(VolumeTag {
            identifier: "CLN001L1".into(),
            sequence: 7
        })
    );
}

#[test]
fn hp_style_padded_descriptors_without_dvcid() {
    // HP style map: robot 0, drives 1..2, slots from 3; descriptors padded to 52 bytes with
    // vendor bytes the decoder must skip.
    let mut slot = base(0x0003, 0x09, 0, 0, 0, 0, None);
    slot.extend(tag("HPA001L6", 0));
    let mut drive = base(0x0001, 0x09, 0, 0, 0, 0, Some(0x0004));
    drive.extend(tag("HPA002L6", 0));
    let transport = base(0x0000, 0x00, 0, 0, 0, 0, None);
    let r = response(
        0,
        3,
        &[
            page(1, 0x00, 12, &[transport]),
            page(4, 0x80, 52, &[drive]),
            page(2, 0x80, 52, &[slot]),
        ],
    );
    let s = ElementStatus::decode(&r).unwrap();
    let all: Vec<_> = s.descriptors().collect();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].element_type, ElementType::MediumTransport);
    assert!(!all[0].access && !all[0].full);
    assert_eq!(all[1].source_address, Some(4));
    assert!(all[1].device_id.is_none());
    assert_eq!(all[2].barcode(), Some("HPA001L6"));
}

#[test]
fn quantum_style_alternate_tags_and_serial_only_dvcid() {
    let mut drive = base(0x0100, 0x09, 0, 0, 0, 0, Some(0x03EA));
    drive.extend(tag("Q00001L7", 0));
    drive.extend(tag("ALT0001", 2));
    drive.extend_from_slice(&[0x02, 0x00, 0x00, 12]);
    drive.extend_from_slice(b"HU1234567890");
    let mut slot = base(0x03E8, 0x08, 0, 0, 0, 0, None);
    slot.extend(tag("", 0));
    slot.extend(tag("", 0));
    let r = response(
        0x0100,
        2,
        &[page(4, 0xC0, 100, &[drive]), page(2, 0xC0, 100, &[slot])],
    );
    let s = ElementStatus::decode(&r).unwrap();
    let d = &s.pages[0].descriptors[0];
    assert_eq!(d.barcode(), Some("Q00001L7"));
    assert_eq!(
        d.alternate_tag,
        Some(VolumeTag {
            identifier: "ALT0001".into(),
            sequence: 2
        })
    );
    let id = d.device_id.as_ref().unwrap();
    assert_eq!(id.serial().as_deref(), Some("HU1234567890"));
    assert_eq!(id.vendor(), None);
    assert!(s.pages[1].descriptors[0].alternate_tag.is_none());
}

#[test]
fn nul_padded_volume_tags_are_trimmed() {
    let mut slot = base(0x1000, 0x09, 0, 0, 0, 0, None);
    let mut t = b"NUL001L5".to_vec();
    t.resize(36, 0);
    slot.extend(t);
    let s = ElementStatus::decode(&response(0x1000, 1, &[page(2, 0x80, 48, &[slot])])).unwrap();
    assert_eq!(s.pages[0].descriptors[0].barcode(), Some("NUL001L5"));
}

#[test]
fn truncated_response_keeps_complete_descriptors() {
    let slots: Vec<Vec<u8>> = (0..4)
        .map(|i| {
            let mut d = base(0x1000 + i, 0x09, 0, 0, 0, 0, None);
            d.extend(tag(&format!("T0000{i}L8"), 0));
            d
        })
        .collect();
    let r = response(0x1000, 4, &[page(2, 0x80, 48, &slots)]);
    // Cut in the middle of the third descriptor, as an allocation length would.
    let cut = 8 + 8 + 48 * 2 + 20;
    let s = ElementStatus::decode(&r[..cut]).unwrap();
    assert!(s.truncated);
    assert_eq!(s.header.full_report_length(), r.len());
    assert_eq!(s.pages[0].descriptors.len(), 2);
    assert_eq!(s.pages[0].descriptors[1].barcode(), Some("T00001L8"));
    // Cut inside the page header.
    let s = ElementStatus::decode(&r[..12]).unwrap();
    assert!(s.truncated && s.pages.is_empty());
}

#[test]
fn longer_than_claimed_is_ignored_and_more_descriptors_than_counted_are_kept() {
    let slots: Vec<Vec<u8>> = (0..3)
        .map(|i| base(0x1000 + i, 0x08, 0, 0, 0, 0, None))
        .collect();
    // Header counts 1 element but the page holds 3; garbage follows the report.
    let mut r = response(0x1000, 1, &[page(2, 0x00, 12, &slots)]);
    r.extend_from_slice(&[0xff; 40]);
    let s = ElementStatus::decode(&r).unwrap();
    assert!(!s.truncated);
    assert_eq!(s.descriptors().count(), 3);
}

#[test]
fn page_byte_count_beyond_report_is_clamped() {
    let slots: Vec<Vec<u8>> = (0..2)
        .map(|i| base(0x1000 + i, 0x08, 0, 0, 0, 0, None))
        .collect();
    let mut r = response(0x1000, 2, &[page(2, 0x00, 12, &slots)]);
    // The page claims 1000 bytes of descriptors; only 24 exist.
    r[8 + 5..8 + 8].copy_from_slice(&1000u32.to_be_bytes()[1..]);
    let s = ElementStatus::decode(&r).unwrap();
    assert!(s.truncated);
    assert_eq!(s.descriptors().count(), 2);
}

#[test]
fn zero_descriptor_length_is_an_error_not_a_loop() {
    let mut p = page(2, 0x00, 12, &[base(0x1000, 0x08, 0, 0, 0, 0, None)]);
    p[2] = 0;
    p[3] = 0;
    let err = ElementStatus::decode(&response(0x1000, 1, &[p])).unwrap_err();
    assert!(matches!(err, DecodeError::Invalid { .. }), "{err}");
    // Too short for the mandatory fields.
    let mut p = page(2, 0x00, 12, &[base(0x1000, 0x08, 0, 0, 0, 0, None)]);
    p[3] = 4;
    assert!(ElementStatus::decode(&response(0x1000, 1, &[p])).is_err());
    // An empty page with length 0 is fine.
    let s = ElementStatus::decode(&response(0, 0, &[page(2, 0x00, 0, &[])])).unwrap();
    assert!(s.pages[0].descriptors.is_empty());
}

#[test]
fn unknown_page_type_is_an_error() {
    let r = response(0, 1, &[page(7, 0x00, 12, &[base(1, 0, 0, 0, 0, 0, None)])]);
    assert!(ElementStatus::decode(&r).is_err());
}

#[test]
fn encoder_matches_hand_built_layout() {
    let hand = response(
        0x1000,
        2,
        &[page(
            2,
            0x80,
            48,
            &[
                {
                    let mut d = base(0x1000, 0x09, 0, 0, 0, 0, None);
                    d.extend(tag("A00001L8", 0));
                    d
                },
                {
                    let mut d = base(0x1001, 0x08, 0, 0, 0, 0, None);
                    d.extend(tag("", 0));
                    d
                },
            ],
        )],
    );
    let decoded = ElementStatus::decode(&hand).unwrap();
    let re = ElementStatus {
        pages: vec![ElementStatusPage::new(
            ElementType::Storage,
            true,
            false,
            decoded.pages[0].descriptors.clone(),
        )],
        ..decoded.clone()
    }
    .encode();
    // Same layout; the empty tag is written as NULs rather than spaces, which decodes the same.
    assert_eq!(re.len(), hand.len());
    assert_eq!(&re[..16 + 48], &hand[..16 + 48]);
    assert_eq!(ElementStatus::decode(&re).unwrap().pages, decoded.pages);
}

#[test]
fn identifier_longer_than_descriptor_is_clamped_and_reported() {
    // Descriptor length 84 leaves room for 32 of the 34 identifier bytes the drive announces.
    let d = ibm_drive(0x100, false, None, "", "1013005678");
    let s = ElementStatus::decode(&response(0x100, 1, &[page(4, 0x80, 84, &[d])])).unwrap();
    let id = s.pages[0].descriptors[0].device_id.as_ref().unwrap();
    assert_eq!((id.identifier_length, id.identifier.len()), (34, 32));
    assert_eq!(id.vendor().as_deref(), Some("IBM"));
    assert_eq!(id.serial().as_deref(), Some("10130056"));
}
