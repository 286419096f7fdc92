//! REPORT DENSITY SUPPORT medium type descriptors, LOG SENSE page control, the volume
//! identifiers in MAM and the volume statistics page, and both personalities answering
//! everything `tapelib_scsi::Drive` sends.

mod drive_common;
mod library_common;

use drive_common::{good, read_in, rig, sense, settle, write_out};
use tapelib_scsi::{Drive, IndexPartitionSize, Space};
use tapelib_sim::media::LtoGeneration;

fn rds(medium_type: bool, media: bool) -> [u8; 10] {
    [
        0x44,
        u8::from(medium_type) << 1 | u8::from(media),
        0,
        0,
        0,
        0,
        0,
        0x04,
        0x00,
        0,
    ]
}

#[test]
fn medium_type_descriptors() {
    let mut r = rig(LtoGeneration::Lto8, "A00001L8", None);
    let (c, d) = read_in(&mut r.drive, &rds(true, false), 1024);
    good(&c);
    assert_eq!(usize::from(u16::from_be_bytes([d[0], d[1]])), d.len() - 2);
    assert_eq!(d.len(), 4 + 2 * 56);
    let data = &d[4..60];
    let cleaning = &d[60..116];
    // Ascending medium type: 00h data, 01h cleaning (as in the MODE SENSE header).
    assert_eq!((data[0], cleaning[0]), (0x00, 0x01));
    assert_eq!(&data[2..4], &[0, 52]);
    // An LTO-8 drive: LTO-7 (5Ch), type M8 (5Dh) and LTO-8 (5Eh), ascending, rest zero.
    assert_eq!(data[4], 3);
    assert_eq!(&data[5..14], &[0x5C, 0x5D, 0x5E, 0, 0, 0, 0, 0, 0]);
    assert_eq!(u16::from_be_bytes([data[14], data[15]]), 127);
    assert_eq!(u16::from_be_bytes([data[16], data[17]]), 960);
    assert_eq!(&data[20..28], b"LTO-CVE ");
    assert_eq!(cleaning[4], 0);
    // MEDIA = 1: the loaded medium only.
    let (c, d) = read_in(&mut r.drive, &rds(true, true), 1024);
    good(&c);
    assert_eq!(d.len(), 4 + 56);
    assert_eq!((d[4], d[8], d[9]), (0x00, 1, 0x5E));
    // Truncated by the allocation length, with the full length in the header.
    let mut cdb = rds(true, false);
    cdb[7] = 0;
    cdb[8] = 10;
    let (c, d) = read_in(&mut r.drive, &cdb, 1024);
    good(&c);
    assert_eq!(d.len(), 10);
    assert_eq!(u16::from_be_bytes([d[0], d[1]]), 2 + 2 * 56);
}

fn log_sense(page: u8, pc: u8) -> [u8; 10] {
    [0x4D, 0, pc << 6 | page, 0, 0, 0, 0, 0x10, 0x00, 0]
}

/// (value bytes) of parameter `code` of a log page.
fn log_param(page: &[u8], code: u16) -> Option<Vec<u8>> {
    let mut off = 4;
    while off + 4 <= page.len() {
        let c = u16::from_be_bytes([page[off], page[off + 1]]);
        let len = usize::from(page[off + 3]);
        let v = page.get(off + 4..off + 4 + len)?;
        if c == code {
            return Some(v.to_vec());
        }
        off += 4 + len;
    }
    None
}

#[test]
fn log_sense_page_control() {
    let mut r = rig(LtoGeneration::Lto8, "A00001L8", None);
    // Raise a TapeAlert flag: WRITE PROTECT (flag 9) via a write to a protected cartridge.
    r.drive
        .cartridge_mut()
        .unwrap()
        .set_write_protected(true)
        .unwrap();
    let c = write_out(&mut r.drive, &drive_common::write6(16), &[0u8; 16]);
    assert_eq!(sense(&c), (7, 0x27, 0));
    let flag9 = |d: &[u8]| log_param(d, 9).unwrap()[0];

    // Default values (10b, 11b) of TapeAlert: all clear, and reading them clears nothing.
    for pc in [2, 3] {
        let (c, d) = read_in(&mut r.drive, &log_sense(0x2E, pc), 4096);
        good(&c);
        assert_eq!(d[0] & 0x3F, 0x2E);
        assert_eq!(flag9(&d), 0, "pc {pc}");
    }
    // Threshold (00b, as tapeinfo asks) and cumulative (01b): the flags; reading clears them.
    let (c, d) = read_in(&mut r.drive, &log_sense(0x2E, 0), 4096);
    good(&c);
    assert_eq!(flag9(&d), 1);
    let (_, d) = read_in(&mut r.drive, &log_sense(0x2E, 1), 4096);
    assert_eq!(flag9(&d), 0);

    for page in [0x11u8, 0x12, 0x17, 0x31] {
        for pc in [1, 3] {
            let (c, d) = read_in(&mut r.drive, &log_sense(page, pc), 4096);
            good(&c);
            assert_eq!(d[0] & 0x3F, page);
        }
        // No threshold values: INVALID FIELD IN CDB pointing at PC (byte 2, bit 7).
        for pc in [0, 2] {
            let c = r.drive.execute(
                &log_sense(page, pc),
                tapelib_scsi::DataPhase::In(&mut [0u8; 64]),
            );
            assert_eq!(sense(&c), (5, 0x24, 0), "page {page:#x} pc {pc}");
            assert_eq!(c.sense[15], 0x80 | 0x40 | 0x08 | 7);
            assert_eq!(&c.sense[16..18], &[0, 2]);
        }
    }
    // Default cumulative volume statistics: no volume.
    let (_, d) = read_in(&mut r.drive, &log_sense(0x17, 3), 4096);
    assert_eq!(log_param(&d, 0), Some(vec![0]));
    let (_, d) = read_in(&mut r.drive, &log_sense(0x17, 1), 4096);
    assert_eq!(log_param(&d, 0), Some(vec![1]));
    // The supported pages list answers every PC.
    for pc in 0..4 {
        let (c, d) = read_in(&mut r.drive, &log_sense(0, pc), 4096);
        good(&c);
        assert_eq!(&d[4..], &[0x00, 0x11, 0x12, 0x17, 0x2E, 0x31]);
    }
}

/// Value of MAM attribute `id` of partition 0 as ASCII, trailing spaces removed.
fn mam_ascii(drive: &mut tapelib_sim::drive::SimDrive, id: u16) -> Option<String> {
    let i = id.to_be_bytes();
    let cdb = [0x8C, 0, 0, 0, 0, 0, 0, 0, i[0], i[1], 0, 0, 0x10, 0, 0, 0];
    let (c, d) = read_in(drive, &cdb, 4096);
    good(&c);
    let mut off = 4;
    while off + 5 <= d.len() {
        let aid = u16::from_be_bytes([d[off], d[off + 1]]);
        let len = usize::from(u16::from_be_bytes([d[off + 3], d[off + 4]]));
        let v = &d[off + 5..off + 5 + len];
        if aid == id {
            return Some(String::from_utf8_lossy(v).trim_end().to_string());
        }
        off += 5 + len;
    }
    None
}

fn volume_serial(drive: &mut tapelib_sim::drive::SimDrive) -> (String, String) {
    let (c, d) = read_in(drive, &log_sense(0x17, 1), 4096);
    good(&c);
    let text = |code| {
        String::from_utf8_lossy(&log_param(&d, code).unwrap())
            .trim_end()
            .to_string()
    };
    (text(0x0040), text(0x0042))
}

#[test]
fn volume_identifiers() {
    let mut r = rig(LtoGeneration::Lto8, "A00005L8", None);
    // MEDIUM SERIAL NUMBER: the cartridge's own serial, not derived text around the barcode.
    let serial = mam_ascii(&mut r.drive, 0x0401).unwrap();
    assert!(!serial.contains("A00005"), "{serial}");
    assert_eq!(serial.len(), 10);
    assert!(serial.bytes().all(|b| b.is_ascii_alphanumeric()));
    // It is the cartridge's: the same after reopening it, different on another cartridge.
    assert_eq!(serial, r.drive.cartridge().unwrap().medium_serial());
    let other = rig(LtoGeneration::Lto8, "A00006L8", None);
    assert_ne!(other.drive.cartridge().unwrap().medium_serial(), serial);
    // BARCODE and the volume statistics' VOLSER and volume barcode: the barcode.
    assert_eq!(mam_ascii(&mut r.drive, 0x0806).as_deref(), Some("A00005L8"));
    assert_eq!(
        volume_serial(&mut r.drive),
        ("A00005L8".to_string(), "A00005L8".to_string())
    );
    // What the application writes as BARCODE is what the drive reports.
    let mut list = vec![0, 0, 0, 37, 0x08, 0x06, 0x01, 0x00, 32];
    let mut v = b"VOL123".to_vec();
    v.resize(32, b' ');
    list.extend_from_slice(&v);
    let cdb = [0x8D, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 41, 0, 0];
    good(&write_out(&mut r.drive, &cdb, &list));
    assert_eq!(mam_ascii(&mut r.drive, 0x0806).as_deref(), Some("VOL123"));
    assert_eq!(volume_serial(&mut r.drive).0, "VOL123");
    settle(&mut r.drive);
}

/// Every operation of `tapelib_scsi::Drive` on one drive of the small library.
fn exercise(device: &str, vendor: &str, product: &str) {
    let dir = tempfile::tempdir().unwrap();
    let lib = library_common::open_small(dir.path());
    library_common::drain_unit_attention(&lib, library_common::CHANGER);
    if device == "drive1" {
        // drive1 starts empty: give it a cartridge.
        library_common::assert_good(&library_common::move_medium(
            &lib,
            library_common::SLOT1,
            library_common::DRIVE1,
        ));
    }
    let mut d = Drive::new(lib.transport(device).unwrap());
    // The power-on and medium-changed unit attentions go first (identify does not retry).
    d.wait_ready(std::time::Duration::from_secs(10)).unwrap();
    let id = d.identify().unwrap();
    assert_eq!((id.vendor.as_str(), id.product.as_str()), (vendor, product));
    assert_eq!(id.lto_generation, Some(8));
    assert_eq!(id.medium_density_code, Some(0x5E));
    assert!(!d.density_support(false).unwrap().is_empty());
    assert_eq!(d.density_support(true).unwrap().len(), 1);
    d.read_block_limits().unwrap();
    d.prevent_medium_removal(true).unwrap();
    d.prevent_medium_removal(false).unwrap();
    d.set_compression(false).unwrap();
    d.set_compression(true).unwrap();
    d.set_block_size(0).unwrap();
    assert!(d.native_capacity_mb().unwrap() > 1_000_000);
    d.format_partitioned(IndexPartitionSize::Fraction(0.05))
        .unwrap();
    assert_eq!(d.partition_count().unwrap(), 2);
    d.locate(1, 0).unwrap();
    d.write_block(&[7u8; 1024]).unwrap();
    d.write_filemarks(1, false).unwrap();
    d.locate_end_of_data(1).unwrap();
    for form in [
        tapelib_scsi::ssc::position::PositionForm::Short,
        tapelib_scsi::ssc::position::PositionForm::Long,
        tapelib_scsi::ssc::position::PositionForm::Extended,
    ] {
        d.read_position_form(form).unwrap();
    }
    d.locate(1, 0).unwrap();
    let mut buf = vec![0u8; 4096];
    d.read_block(&mut buf).unwrap();
    d.space(Space::Filemarks(1)).unwrap();
    d.space(Space::EndOfData).unwrap();
    d.allow_overwrite(1, 2).unwrap();
    d.write_attributes(
        0,
        &[tapelib_scsi::spc::attribute::Attribute::ascii(
            0x0800, "TAPELIB", 8,
        )],
    )
    .unwrap();
    assert!(d.read_attribute(0, 0x0800).unwrap().is_some());
    assert!(!d.read_all_attributes(1).unwrap().is_empty());
    d.tape_alerts().unwrap();
    let v = d.volume_statistics().unwrap();
    assert!(v.total_native_capacity_mb.is_some_and(|c| c > 0));
    d.device_status().unwrap();
    d.tape_capacity().unwrap();
    d.locate(1, 0).unwrap();
    d.erase(false).unwrap();
    d.format_single().unwrap();
    d.set_capacity(0xFFFF).unwrap();
    d.rewind().unwrap();
    d.unload().unwrap();
    d.load().unwrap();
    d.wait_ready(std::time::Duration::from_secs(10)).unwrap();
}

#[test]
fn ibm_personality_answers_the_scsi_layer() {
    exercise("drive0", "IBM", "ULT3580-TD8");
}

#[test]
fn hp_personality_answers_the_scsi_layer() {
    exercise("drive1", "HP", "Ultrium 8-SCSI");
}
