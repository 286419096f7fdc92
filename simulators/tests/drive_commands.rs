//! Identity, mode and log pages, MAM, unit attentions, generation compatibility, write protect,
//! faults and CDB validation.

mod drive_common;

use drive_common::*;
use tapelib_scsi::transport::ScsiStatus;
use tapelib_sim::drive::{DriveSpec, Personality, SimDrive};
use tapelib_sim::media::LtoGeneration::{self, *};
use tapelib_sim::timing::TimeModel;

#[test]
fn inquiry_per_personality_and_vpd() {
    let mut d = SimDrive::new(spec(Lto8), TimeModel::instant());
    let (c, b) = read_in(&mut d, &[0x12, 0, 0, 0, 0x38, 0], 0x38);
    good(&c);
    assert_eq!(b[0], 0x01);
    assert_eq!(&b[8..16], b"IBM     ");
    assert_eq!(&b[16..32], b"ULT3580-TD8     ");
    let mut hp = SimDrive::new(
        DriveSpec {
            generation: Lto9,
            personality: Personality::Hp,
            serial: "HU12345678".into(),
            vendor: None,
            product: None,
        },
        TimeModel::instant(),
    );
    let (_, b) = read_in(&mut hp, &[0x12, 0, 0, 0, 0x38, 0], 0x38);
    assert_eq!(&b[8..16], b"HP      ");
    assert_eq!(&b[16..32], b"Ultrium 9-SCSI  ");
    // VPD pages.
    let (_, b) = read_in(&mut d, &[0x12, 1, 0x00, 0, 0xFF, 0], 255);
    assert_eq!(&b[4..], &[0x00, 0x80, 0x83]);
    let (_, b) = read_in(&mut d, &[0x12, 1, 0x80, 0, 0xFF, 0], 255);
    assert_eq!(&b[4..], b"1013000123");
    let (_, b) = read_in(&mut d, &[0x12, 1, 0x83, 0, 0xFF, 0], 255);
    let total = usize::from(u16::from_be_bytes([b[2], b[3]])) + 4;
    assert_eq!(total, b.len());
    // Walk the designators: a T10 vendor id and an NAA 5 identifier.
    let mut off = 4;
    let mut types = Vec::new();
    while off + 4 <= b.len() {
        let len = usize::from(b[off + 3]);
        types.push(b[off + 1] & 0x0F);
        if b[off + 1] & 0x0F == 3 {
            assert_eq!(len, 8);
            assert_eq!(b[off + 4] >> 4, 5);
        }
        off += 4 + len;
    }
    assert_eq!(types, vec![1, 3]);
    // Unknown VPD page, page code without EVPD.
    assert_eq!(
        sense(&read_in(&mut d, &[0x12, 1, 0x99, 0, 0xFF, 0], 255).0),
        (5, 0x24, 0)
    );
    assert_eq!(
        sense(&read_in(&mut d, &[0x12, 0, 0x80, 0, 0xFF, 0], 255).0),
        (5, 0x24, 0)
    );
    // Allocation length truncates.
    let (c, b) = read_in(&mut d, &[0x12, 0, 0, 0, 5, 0], 64);
    assert_eq!(b.len(), 5);
    assert_eq!(c.residual, 59);
}

#[test]
fn unit_attentions_and_request_sense() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = SimDrive::new(spec(Lto8), TimeModel::instant());
    // INQUIRY does not consume the power-on unit attention.
    good(&read_in(&mut d, &[0x12, 0, 0, 0, 36, 0], 36).0);
    assert_eq!(sense(&cmd(&mut d, &TUR)), (6, 0x29, 0));
    assert_eq!(sense(&cmd(&mut d, &TUR)), (2, 0x3A, 0));
    // REQUEST SENSE reports the current condition: no medium.
    let (c, b) = read_in(&mut d, &[0x03, 0, 0, 0, 18, 0], 18);
    good(&c);
    assert_eq!((b[2] & 0x0F, b[12], b[13]), (2, 0x3A, 0));
    d.insert(new_cart(dir.path(), "UA0001L8", None)).unwrap();
    assert_eq!(sense(&cmd(&mut d, &TUR)), (6, 0x28, 0));
    good(&cmd(&mut d, &TUR));
    good(&set_block_length(&mut d, 1024));
    d.faults_mut().power_on_reset = true;
    assert_eq!(sense(&cmd(&mut d, &TUR)), (6, 0x29, 0));
    good(&cmd(&mut d, &TUR));
    // The reset restored the default (variable) block length.
    let (_, b) = read_in(&mut d, &[0x1A, 0, 0, 0, 12, 0], 12);
    assert_eq!(&b[9..12], &[0, 0, 0]);
    // Descriptor-format sense is not supported.
    let (c, _) = read_in(&mut d, &[0x03, 1, 0, 0, 18, 0], 18);
    assert_eq!(sense(&c), (5, 0x24, 0));
}

#[test]
fn generation_compatibility() {
    // LTO-7 drive: LTO-5 media readable but not writable.
    let mut r = rig(Lto7, "GC0001L5", None);
    good(&cmd(&mut r.drive, &TUR));
    let c = write_out(&mut r.drive, &write6(4), b"data");
    assert_eq!(sense(&c), (7, 0x30, 0x05));
    let (c, b) = read_in(&mut r.drive, &[0x1A, 0, 0, 0, 12, 0], 12);
    good(&c);
    assert_eq!(
        b[2] & 0x80,
        0x80,
        "WP reported in the device-specific parameter"
    );
    // LTO-7 drive writes LTO-6 media.
    let mut r = rig(Lto7, "GC0002L6", None);
    good(&write_out(&mut r.drive, &write6(4), b"data"));
    // LTO-8 drive refuses LTO-6 media: incompatible, ejected.
    for (gen, bc) in [(Lto8, "GC0003L6"), (Lto9, "GC0004L7"), (Lto5, "GC0005L6")] {
        let r = rig(gen, bc, None);
        let mut d = r.drive;
        assert_eq!(sense(&cmd(&mut d, &TUR)), (3, 0x30, 0x01), "{gen:?} {bc}");
        assert!(d.ready_for_removal());
        assert_eq!(sense(&cmd(&mut d, &[0x1B, 0, 0, 0, 1, 0])), (3, 0x30, 0x01));
    }
    // LTO-8 reads and writes M8.
    let mut r = rig(Lto8, "GC0006M8", None);
    good(&write_out(&mut r.drive, &write6(4), b"data"));
}

#[test]
fn cleaning_cartridge_cleans_and_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = SimDrive::new(spec(Lto8), TimeModel::instant());
    d.faults_mut().cleaning_required = true;
    settle(&mut d);
    let (c, b) = read_in(&mut d, &[0x4D, 0, 0x2E, 0, 0, 0, 0, 0x01, 0x40, 0], 0x140);
    good(&c);
    let flag20 = 4 + 19 * 5;
    assert_eq!(u16::from_be_bytes([b[flag20], b[flag20 + 1]]), 20);
    assert_eq!(b[flag20 + 4], 1);
    let clean = tapelib_sim::cartridge::Cartridge::create(
        &dir.path().join("CLN001L1"),
        tapelib_sim::cartridge::CartridgeSpec::from_barcode("CLN001L1").unwrap(),
    )
    .unwrap();
    d.insert(clean).unwrap();
    assert!(!d.faults().cleaning_required);
    assert_eq!(sense(&cmd(&mut d, &TUR)), (2, 0x30, 0x03));
    assert!(d.ready_for_removal());
    assert!(d.remove().is_some());
}

#[test]
fn write_protect() {
    let mut r = rig(Lto8, "WP0001L8", None);
    r.drive
        .cartridge_mut()
        .unwrap()
        .set_write_protected(true)
        .unwrap();
    let d = &mut r.drive;
    assert_eq!(sense(&write_out(d, &write6(4), b"data")), (7, 0x27, 0));
    assert_eq!(sense(&cmd(d, &wfm(1, false))), (7, 0x27, 0));
    assert_eq!(sense(&cmd(d, &[0x19, 1, 0, 0, 0, 0])), (7, 0x27, 0));
    assert_eq!(sense(&cmd(d, &[0x04, 0, 0, 0, 0, 0])), (7, 0x27, 0));
    // TapeAlert 9 (write protect) is raised and cleared by reading page 0x2E.
    let (_, b) = read_in(d, &[0x4D, 0, 0x6E, 0, 0, 0, 0, 0x01, 0x40, 0], 0x140);
    assert_eq!(b[4 + 8 * 5 + 4], 1);
    let (_, b) = read_in(d, &[0x4D, 0, 0x6E, 0, 0, 0, 0, 0x01, 0x40, 0], 0x140);
    assert_eq!(b[4 + 8 * 5 + 4], 0);
}

#[test]
fn hardware_failure_fault() {
    let mut r = rig(Lto8, "HW0001L8", None);
    r.drive.faults_mut().hardware_failure = true;
    let d = &mut r.drive;
    assert_eq!(sense(&cmd(d, &TUR)), (4, 0x44, 0));
    assert_eq!(sense(&read_in(d, &read6(10, false), 10).0), (4, 0x44, 0));
    // Identity still answers.
    good(&read_in(d, &[0x12, 0, 0, 0, 36, 0], 36).0);
    r.drive.faults_mut().hardware_failure = false;
    good(&cmd(&mut r.drive, &TUR));
}

#[test]
fn mode_sense_select_block_descriptor_and_pages() {
    let mut r = rig(Lto8, "MS0001L8", None);
    let d = &mut r.drive;
    let (c, b) = read_in(d, &[0x1A, 0, 0x3F, 0, 0xFF, 0], 255);
    good(&c);
    assert_eq!(usize::from(b[0]) + 1, b.len());
    assert_eq!(b[3], 8);
    assert_eq!(b[4], 0x5E, "density code of LTO-8 media");
    let pages: Vec<u8> = {
        let mut v = Vec::new();
        let mut off = 12;
        while off + 2 <= b.len() {
            v.push(b[off] & 0x3F);
            off += 2 + usize::from(b[off + 1]);
        }
        v
    };
    assert_eq!(pages, vec![0x0F, 0x10, 0x11]);
    good(&set_block_length(d, 65536));
    let (_, b) = read_in(d, &[0x5A, 0, 0x10, 0, 0, 0, 0, 0, 0xFF, 0], 255);
    assert_eq!(u16::from_be_bytes([b[6], b[7]]), 8);
    assert_eq!(u32::from_be_bytes([0, b[13], b[14], b[15]]), 65536);
    assert_eq!(b[16] & 0x3F, 0x10);
    // DBD drops the descriptor; saved values are not supported; unknown page refused.
    let (_, b) = read_in(d, &[0x1A, 0x08, 0x0F, 0, 0xFF, 0], 255);
    assert_eq!(b[3], 0);
    assert_eq!(
        sense(&read_in(d, &[0x1A, 0, 0xCF, 0, 0xFF, 0], 255).0),
        (5, 0x39, 0)
    );
    assert_eq!(
        sense(&read_in(d, &[0x1A, 0, 0x2A, 0, 0xFF, 0], 255).0),
        (5, 0x24, 0)
    );
    // MODE SELECT: unknown page → INVALID FIELD IN PARAMETER LIST pointing at it.
    let p = [0u8, 0, 0x10, 0, 0x2A, 2, 0, 0];
    let c = write_out(d, &[0x15, 0x10, 0, 0, 8, 0], &p);
    assert_eq!(sense(&c), (5, 0x26, 0));
    assert_eq!(c.sense[15] & 0xC0, 0x80);
    assert_eq!(u16::from_be_bytes([c.sense[16], c.sense[17]]), 4);
    // Parameter list shorter than declared.
    let c = write_out(d, &[0x15, 0x10, 0, 0, 12, 0], &p);
    assert_eq!(sense(&c), (5, 0x1A, 0));
}

#[test]
fn log_pages() {
    let mut r = rig(Lto8, "LP0001L8", Some(100 << 20));
    let d = &mut r.drive;
    write_records(d, &[1 << 20]);
    let (_, b) = read_in(d, &[0x4D, 0, 0x40, 0, 0, 0, 0, 0, 0xFF, 0], 255);
    assert_eq!(&b[4..], &[0x00, 0x11, 0x12, 0x17, 0x2E, 0x31]);
    // TapeAlert with PC=00 (tapeinfo) and PC=01 both answer 64 flags.
    for pc in [0x00u8, 0x40] {
        let (c, b) = read_in(d, &[0x4D, 0, pc | 0x2E, 0, 0, 0, 0, 0x01, 0x40, 0], 0x140);
        good(&c);
        assert_eq!(u16::from_be_bytes([b[2], b[3]]), 320);
    }
    // Tape capacity: partition 0 max 100 MiB, remaining 99 MiB.
    let (_, b) = read_in(d, &[0x4D, 0, 0x71, 0, 0, 0, 0, 0, 0xFF, 0], 255);
    let val = |code: u16| {
        let mut off = 4;
        while off + 4 <= b.len() {
            let len = usize::from(b[off + 3]);
            if u16::from_be_bytes([b[off], b[off + 1]]) == code {
                return u32::from_be_bytes(b[off + 4..off + 4 + len].try_into().unwrap());
            }
            off += 4 + len;
        }
        panic!("no parameter {code}");
    };
    assert_eq!(val(1), 99);
    assert_eq!(val(3), 100);
    // Device status: medium present, mounted.
    let (_, b) = read_in(d, &[0x4D, 0, 0x51, 0, 0, 0, 0, 0, 0xFF, 0], 255);
    assert_eq!(b[8 + 1] & 0x11, 0x11);
    // Volume statistics: thread count 1.
    let (_, b) = read_in(d, &[0x4D, 0, 0x57, 0, 0, 0, 0, 0, 0xFF, 0], 255);
    assert_eq!(&b[4..9], &[0, 0, 0x03, 1, 1]);
    assert_eq!(&b[9..17], &[0, 1, 0x03, 4, 0, 0, 0, 1]);
    // Unknown page and unsupported PC.
    assert_eq!(
        sense(&read_in(d, &[0x4D, 0, 0x70, 0, 0, 0, 0, 0, 0xFF, 0], 255).0),
        (5, 0x24, 0)
    );
    assert_eq!(
        sense(&read_in(d, &[0x4D, 0, 0x97, 0, 0, 0, 0, 0, 0xFF, 0], 255).0),
        (5, 0x24, 0)
    );
}

fn read_attr(d: &mut SimDrive, partition: u8, first: u16) -> Vec<(u16, u8, Vec<u8>)> {
    let mut cdb = [0u8; 16];
    cdb[0] = 0x8C;
    cdb[7] = partition;
    cdb[8..10].copy_from_slice(&first.to_be_bytes());
    cdb[10..14].copy_from_slice(&4096u32.to_be_bytes());
    let (c, b) = read_in(d, &cdb, 4096);
    good(&c);
    let total = u32::from_be_bytes(b[0..4].try_into().unwrap()) as usize;
    assert_eq!(total + 4, b.len());
    let mut out = Vec::new();
    let mut off = 4;
    while off + 5 <= b.len() {
        let id = u16::from_be_bytes([b[off], b[off + 1]]);
        let len = usize::from(u16::from_be_bytes([b[off + 3], b[off + 4]]));
        out.push((id, b[off + 2], b[off + 5..off + 5 + len].to_vec()));
        off += 5 + len;
    }
    out
}

fn write_attr(
    d: &mut SimDrive,
    partition: u8,
    attrs: &[u8],
) -> tapelib_scsi::transport::Completion {
    let mut p = (attrs.len() as u32).to_be_bytes().to_vec();
    p.extend_from_slice(attrs);
    let mut cdb = [0u8; 16];
    cdb[0] = 0x8D;
    cdb[7] = partition;
    cdb[10..14].copy_from_slice(&(p.len() as u32).to_be_bytes());
    write_out(d, &cdb, &p)
}

fn vcr(d: &mut SimDrive) -> Vec<u8> {
    read_attr(d, 0, 9).into_iter().find(|a| a.0 == 9).unwrap().2
}

#[test]
fn mam_device_and_host_attributes() {
    let mut r = rig(Lto8, "MA0001L8", Some(1 << 30));
    let d = &mut r.drive;
    let attrs = read_attr(d, 0, 0);
    let ids: Vec<u16> = attrs.iter().map(|a| a.0).collect();
    for id in [
        0x0000, 0x0001, 0x0003, 0x0009, 0x0400, 0x0401, 0x0408, 0x0806,
    ] {
        assert!(
            ids.contains(&id),
            "attribute {id:#06x} missing from {ids:x?}"
        );
    }
    let get = |id| attrs.iter().find(|a| a.0 == id).unwrap().clone();
    assert_eq!(get(0x0001).2, 1024u64.to_be_bytes());
    assert_eq!(get(0x0003).2, 1u64.to_be_bytes());
    assert_eq!(
        get(0x0001).1 & 0x80,
        0x80,
        "device attributes are read-only"
    );
    assert_eq!(&get(0x0806).2[..8], b"MA0001L8");
    // The volume change reference changes when the medium is written, not otherwise.
    let v1 = vcr(d);
    assert_eq!(vcr(d), v1);
    write_records(d, &[10]);
    let v2 = vcr(d);
    assert_ne!(v1, v2);
    good(&cmd(d, &wfm(1, false)));
    assert_ne!(vcr(d), v2);
    // Host attribute round trip, persistent across reopen.
    let mut a = vec![0x08, 0x00, 0x01, 0x00, 0x08];
    a.extend_from_slice(b"TAPELIB ");
    good(&write_attr(d, 0, &a));
    // Read-only attribute refused with a parameter-list field pointer at its identifier.
    let c = write_attr(
        d,
        0,
        &[0x00, 0x03, 0x00, 0x00, 0x08, 0, 0, 0, 0, 0, 0, 0, 9],
    );
    assert_eq!(sense(&c), (5, 0x26, 0));
    assert_eq!(c.sense[15], 0x80);
    assert_eq!(u16::from_be_bytes([c.sense[16], c.sense[17]]), 4);
    // MAM full: nothing is stored.
    let mut big = vec![0x08, 0x03, 0x02, 0x40, 0x00];
    big.extend_from_slice(&[b'x'; 0x4000]);
    assert_eq!(sense(&write_attr(d, 0, &big)), (5, 0x55, 0x06));
    // Vendor-unique host attributes are writable; reserved identifiers are not.
    good(&write_attr(d, 0, &[0x16, 0x23, 0x00, 0x00, 0x01, 1]));
    assert_eq!(
        sense(&write_attr(d, 0, &[0x18, 0x00, 0x00, 0x00, 0x01, 1])),
        (5, 0x26, 0)
    );
    // Partition that does not exist.
    let mut cdb = [0u8; 16];
    cdb[0] = 0x8C;
    cdb[7] = 1;
    cdb[13] = 0xFF;
    assert_eq!(sense(&read_in(d, &cdb, 255).0), (5, 0x24, 0));
    let last_vcr = vcr(d);
    good(&cmd(d, &[0x1B, 0, 0, 0, 0, 0]));
    let cart = r.drive.remove().unwrap();
    let dir = cart.dir().to_path_buf();
    drop(cart);
    let cart = tapelib_sim::cartridge::Cartridge::open(&dir).unwrap();
    let mut d2 = SimDrive::new(spec(Lto8), TimeModel::instant());
    d2.insert(cart).unwrap();
    settle(&mut d2);
    let attrs = read_attr(&mut d2, 0, 0x0800);
    assert_eq!(attrs[0], (0x0800, 0x01, b"TAPELIB ".to_vec()));
    let lc = read_attr(&mut d2, 0, 3);
    assert_eq!(lc[0].2, 2u64.to_be_bytes());
    assert_eq!(vcr(&mut d2), last_vcr, "reference persists without writes");
}

#[test]
fn report_density_support_and_block_limits() {
    let mut r = rig(Lto8, "RD0001L8", None);
    let d = &mut r.drive;
    let (c, b) = read_in(d, &[0x44, 0, 0, 0, 0, 0, 0, 0x10, 0, 0], 4096);
    good(&c);
    assert_eq!(usize::from(u16::from_be_bytes([b[0], b[1]])) + 2, b.len());
    let codes: Vec<u8> = b[4..].chunks(52).map(|d| d[0]).collect();
    assert_eq!(codes, vec![0x5E, 0x5D, 0x5C]);
    let (_, b) = read_in(d, &[0x44, 1, 0, 0, 0, 0, 0, 0x10, 0, 0], 4096);
    assert_eq!(b.len(), 4 + 52);
    assert_eq!(b[4], 0x5E);
    assert_eq!(b[6] & 0xA0, 0xA0, "WRTOK and DEFLT");
    let (c, b) = read_in(d, &[0x05, 0, 0, 0, 0, 0], 6);
    good(&c);
    assert_eq!(u32::from_be_bytes([0, b[1], b[2], b[3]]), 0x80_0000);
    assert_eq!(u16::from_be_bytes([b[4], b[5]]), 1);
}

#[test]
fn malformed_cdbs_get_field_pointers() {
    let mut r = rig(Lto8, "CV0001L8", None);
    let d = &mut r.drive;
    // Unsupported opcode: 20/00.
    let c = cmd(d, &[0x28, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(sense(&c), (5, 0x20, 0));
    // Reserved bit in READ(6) byte 1 bit 4.
    let c = cmd(d, &[0x08, 0x10, 0, 0, 1, 0]);
    assert_eq!(sense(&c), (5, 0x24, 0));
    assert_eq!(c.sense[15], 0x80 | 0x40 | 0x08 | 4);
    assert_eq!(u16::from_be_bytes([c.sense[16], c.sense[17]]), 1);
    // LINK bit in CONTROL.
    let c = cmd(d, &[0x00, 0, 0, 0, 0, 0x01]);
    assert_eq!(u16::from_be_bytes([c.sense[16], c.sense[17]]), 5);
    // Truncated CDB.
    assert_eq!(sense(&cmd(d, &[0x92, 0, 0])), (5, 0x24, 0));
    assert_eq!(cmd(d, &[]).status, ScsiStatus::CHECK_CONDITION);
}

#[test]
fn every_generation_identifies_itself() {
    for g in LtoGeneration::ALL {
        let mut d = SimDrive::new(spec(g), TimeModel::instant());
        let (_, b) = read_in(&mut d, &[0x12, 0, 0, 0, 36, 0], 36);
        assert_eq!(&b[16..27], format!("ULT3580-TD{}", g.number()).as_bytes());
    }
}
