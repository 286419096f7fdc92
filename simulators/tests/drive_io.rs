//! READ/WRITE/WRITE FILEMARKS semantics: variable and fixed mode, ILI and residues, filemarks,
//! blank check, truncating writes, early warning and overflow, durability.

mod drive_common;

use drive_common::*;
use tapelib_scsi::transport::ScsiStatus;
use tapelib_sim::cartridge::Cartridge;
use tapelib_sim::media::LtoGeneration::*;

#[test]
fn variable_read_exact_underlength_overlength() {
    let mut r = rig(Lto8, "IO0001L8", None);
    let d = &mut r.drive;
    write_records(d, &[100, 200, 300]);
    good(&cmd(d, &wfm(1, false)));
    good(&cmd(d, &REWIND));

    let (c, b) = read_in(d, &read6(100, false), 100);
    good(&c);
    assert_eq!(b, pattern(0, 100));

    // Requested 150 of a 200-byte record: overlength, ILI, negative residue, 150 bytes moved.
    let (c, b) = read_in(d, &read6(150, false), 150);
    assert_eq!(sense(&c), (0, 0, 0));
    assert_eq!(c.status, ScsiStatus::CHECK_CONDITION);
    assert_eq!(flags(&c), (false, false, true));
    assert_eq!(info(&c), -50);
    assert_eq!(b, pattern(1, 200)[..150].to_vec());

    // Requested 400 of a 300-byte record: underlength, ILI, residue 100, 300 bytes moved.
    let (c, b) = read_in(d, &read6(400, false), 400);
    assert_eq!(flags(&c), (false, false, true));
    assert_eq!(info(&c), 100);
    assert_eq!(c.transferred, 300);
    assert_eq!(c.residual, 100);
    assert_eq!(b, pattern(2, 300));

    // The filemark: FILEMARK bit, NO SENSE 00/01, residue = whole request, positioned after it.
    let (c, _) = read_in(d, &read6(64, false), 64);
    assert_eq!(sense(&c), (0, 0, 1));
    assert_eq!(flags(&c), (true, false, false));
    assert_eq!(info(&c), 64);
    assert_eq!(position(d).1, 4);

    // Past the last object: BLANK CHECK, EOD DETECTED.
    let (c, _) = read_in(d, &read6(64, false), 64);
    assert_eq!(sense(&c), (8, 0, 5));
    assert_eq!(info(&c), 64);
    assert_eq!(position(d).1, 4);
}

#[test]
fn sili_suppresses_underlength_only() {
    let mut r = rig(Lto8, "IO0002L8", None);
    let d = &mut r.drive;
    write_records(d, &[10, 10]);
    good(&cmd(d, &REWIND));
    let (c, b) = read_in(d, &read6(64, true), 64);
    good(&c);
    assert_eq!(b.len(), 10);
    assert_eq!(c.residual, 54);
    let (c, _) = read_in(d, &read6(4, true), 4);
    assert!(flags(&c).2);
    assert_eq!(info(&c), -6);
}

#[test]
fn fixed_mode_uses_block_descriptor_length() {
    let mut r = rig(Lto7, "IO0003L7", None);
    let d = &mut r.drive;
    // FIXED without a block length is invalid.
    let c = write_out(d, &write6_fixed(1), &[0; 512]);
    assert_eq!(sense(&c), (5, 0x24, 0));
    good(&set_block_length(d, 512));
    let data = pattern(9, 2048);
    good(&write_out(d, &write6_fixed(4), &data));
    assert_eq!(position(d).1, 4);
    // A variable record of a different length after them.
    good(&set_block_length(d, 0));
    good(&write_out(d, &write6(100), &pattern(1, 100)));
    good(&set_block_length(d, 512));
    good(&cmd(d, &REWIND));
    let (c, b) = read_in(d, &read6_fixed(4), 2048);
    good(&c);
    assert_eq!(b, data);
    // Reading 3 blocks hits the 100-byte record first: ILI, residue counts the blocks not read.
    let (c, b) = read_in(d, &read6_fixed(3), 1536);
    assert!(flags(&c).2);
    assert_eq!(info(&c), 2);
    assert_eq!(b.len(), 100);
    // SILI with FIXED is rejected.
    let c = cmd(d, &[0x08, 0x03, 0, 0, 1, 0]);
    assert_eq!(sense(&c), (5, 0x24, 0));
}

#[test]
fn write_truncates_everything_after_it() {
    let mut r = rig(Lto8, "IO0004L8", None);
    let d = &mut r.drive;
    write_records(d, &[50, 50, 50, 50, 50]);
    good(&cmd(d, &wfm(1, false)));
    good(&cmd(d, &locate16(0, 2, false)));
    good(&write_out(d, &write6(7), b"replace"));
    assert_eq!(position(d).1, 3);
    // Block 3 (and the old filemark) are gone.
    let (c, _) = read_in(d, &read6(50, false), 50);
    assert_eq!(sense(&c), (8, 0, 5));
    let c = cmd(d, &locate16(0, 4, false));
    assert_eq!(sense(&c), (8, 0, 5));
    assert_eq!(position(d).1, 3);
    good(&cmd(d, &locate16(0, 2, false)));
    let (c, b) = read_in(d, &read6(7, false), 7);
    good(&c);
    assert_eq!(b, b"replace");
    // Filemarks truncate too.
    good(&cmd(d, &locate16(0, 1, false)));
    good(&cmd(d, &wfm(2, false)));
    assert_eq!(r.drive.cartridge().unwrap().object_count(0), 3);
}

#[test]
fn early_warning_then_volume_overflow() {
    // 1 MiB tape: early warning at 95 %.
    let mut r = rig(Lto8, "IO0005L8", Some(1 << 20));
    let d = &mut r.drive;
    let rec = vec![0xA5u8; 64 * 1024];
    let mut warned = 0;
    let mut n = 0;
    loop {
        let c = write_out(d, &write6(rec.len() as u32), &rec);
        n += 1;
        if c.status == ScsiStatus::GOOD {
            assert_eq!(warned, 0, "GOOD after early warning");
            continue;
        }
        match sense(&c) {
            (0, 0, 2) => {
                assert!(flags(&c).1, "EOM set at early warning");
                assert_eq!(c.transferred, rec.len());
                warned += 1;
            }
            (0x0D, 0, 2) => {
                assert!(flags(&c).1, "EOM set on overflow");
                assert_eq!(info(&c), rec.len() as i32);
                assert_eq!(c.transferred, 0);
                break;
            }
            other => panic!("unexpected sense {other:?}"),
        }
        assert!(n < 100);
    }
    assert!(warned >= 1);
    let (_, _, _, eop) = position(d);
    assert!(eop, "EOP reported past early warning");
    // 16 records of 64 KiB fill the MiB exactly; the 17th overflows.
    assert_eq!(r.drive.cartridge().unwrap().object_count(0), 16);
}

#[test]
fn full_after_fault_limits_the_tape() {
    let mut r = rig(Lto8, "IO0006L8", None);
    r.drive
        .cartridge_mut()
        .unwrap()
        .faults_mut()
        .full_after_bytes = Some(100_000);
    let d = &mut r.drive;
    let rec = vec![1u8; 30_000];
    good(&write_out(d, &write6(30_000), &rec));
    good(&write_out(d, &write6(30_000), &rec));
    good(&write_out(d, &write6(30_000), &rec));
    let c = write_out(d, &write6(30_000), &rec);
    assert_eq!(sense(&c), (0x0D, 0, 2));
}

#[test]
fn records_beyond_the_block_limit_are_refused() {
    let mut r = rig(Lto8, "IO0012L8", None);
    let big = vec![0u8; 0x80_0001];
    let c = write_out(&mut r.drive, &write6(0x80_0001), &big);
    assert_eq!(sense(&c), (5, 0x24, 0));
    good(&write_out(
        &mut r.drive,
        &write6(0x80_0000),
        &big[..0x80_0000],
    ));
}

#[test]
fn filemarks_take_room_on_the_medium() {
    let mut r = rig(Lto8, "IO0011L8", Some(1 << 20));
    let c = cmd(&mut r.drive, &wfm(1000, true));
    assert_eq!(sense(&c), (0x0D, 0, 2));
    assert_eq!(r.drive.cartridge().unwrap().object_count(0), 0);
    good(&cmd(&mut r.drive, &wfm(10, true)));
    assert_eq!(r.drive.cartridge().unwrap().object_count(0), 10);
}

#[test]
fn media_error_faults() {
    let mut r = rig(Lto8, "IO0007L8", None);
    write_records(&mut r.drive, &[10, 10, 10]);
    {
        let f = r.drive.cartridge_mut().unwrap().faults_mut();
        f.read_errors.insert((0, 1));
        f.write_errors.insert((0, 3));
    }
    let d = &mut r.drive;
    let c = write_out(d, &write6(10), &[0; 10]);
    assert_eq!(sense(&c), (3, 0x0C, 0));
    good(&cmd(d, &REWIND));
    good(&read_in(d, &read6(10, false), 10).0);
    let (c, _) = read_in(d, &read6(10, false), 10);
    assert_eq!(sense(&c), (3, 0x11, 0));
}

#[test]
fn crc_mismatch_is_a_medium_error_never_silent() {
    let mut r = rig(Lto8, "IO0008L8", None);
    write_records(&mut r.drive, &[1000]);
    good(&cmd(&mut r.drive, &wfm(0, false)));
    // Corrupt the stored record behind the drive's back.
    let path = r.dir.path().join("IO0008L8").join("p0.data");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[500] ^= 0xFF;
    std::fs::write(&path, &bytes).unwrap();
    good(&cmd(&mut r.drive, &REWIND));
    let (c, _) = read_in(&mut r.drive, &read6(1000, false), 1000);
    assert_eq!(sense(&c), (3, 0x11, 0));
}

#[test]
fn synchronous_filemark_makes_data_durable() {
    let mut r = rig(Lto8, "IO0009L8", None);
    write_records(&mut r.drive, &[4096, 8192, 100]);
    good(&cmd(&mut r.drive, &wfm(1, false)));
    // Crash: the drive and its buffers vanish without any flush or drop.
    std::mem::forget(r.drive);
    let mut cart = Cartridge::open(&r.dir.path().join("IO0009L8")).unwrap();
    assert_eq!(cart.object_count(0), 4);
    let mut buf = vec![0u8; 8192];
    assert_eq!(cart.read_record(0, 1, &mut buf).unwrap(), 8192);
    assert_eq!(buf, pattern(1, 8192));
}

#[test]
fn statistics_count_records_and_modeled_time() {
    let mut r = rig(Lto8, "IO0010L8", None);
    let d = &mut r.drive;
    write_records(d, &[1000, 2000]);
    good(&cmd(d, &REWIND));
    good(&read_in(d, &read6(1000, false), 1000).0);
    good(&cmd(d, &locate16(0, 2, false)));
    let s = d.stats();
    assert_eq!(s.loads, 1);
    assert_eq!(s.records_written, 2);
    assert_eq!(s.bytes_written, 3000);
    assert_eq!(s.records_read, 1);
    assert_eq!(s.bytes_read, 1000);
    assert_eq!(s.locates, 1);
    assert!(s.modeled_seconds.load > 0.0);
    assert!(s.modeled_seconds.write > 0.0);
    let cs = d.cartridge().unwrap().stats().clone();
    assert_eq!(cs.bytes_written, 3000);
    assert_eq!(cs.loads, 1);
}
