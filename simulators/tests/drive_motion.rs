//! Positioning: SPACE over blocks, filemarks and to EOD; LOCATE(10/16) across partitions;
//! READ POSITION forms; partitioning with mode page 0x11 and FORMAT MEDIUM; ERASE; LOAD/UNLOAD.

mod drive_common;

use drive_common::*;
use tapelib_sim::media::LtoGeneration::*;

/// Layout: R0 R1 FM2 R3 R4 FM5 R6, EOD at 7.
fn layout(d: &mut tapelib_sim::drive::SimDrive) {
    write_records(d, &[10, 11]);
    good(&cmd(d, &wfm(1, true)));
    write_records(d, &[12, 13]);
    good(&cmd(d, &wfm(1, true)));
    write_records(d, &[14]);
    good(&cmd(d, &REWIND));
}

#[test]
fn space_blocks_stops_at_filemark_and_eod() {
    let mut r = rig(Lto8, "MO0001L8", None);
    let d = &mut r.drive;
    layout(d);
    // Forward 5 blocks from 0: two records, then the filemark stops it after the mark.
    let c = cmd(d, &space6(0, 5));
    assert_eq!(sense(&c), (0, 0, 1));
    assert!(flags(&c).0);
    assert_eq!(info(&c), 3);
    assert_eq!(position(d).1, 3);
    // Backward 2 from 3: the filemark at 2 stops it on its BOP side.
    let c = cmd(d, &space6(0, -2));
    assert_eq!(sense(&c), (0, 0, 1));
    assert_eq!(info(&c), -2);
    assert_eq!(position(d).1, 2);
    // Forward past EOD: BLANK CHECK with the residue.
    good(&cmd(d, &locate16(0, 6, false)));
    let c = cmd(d, &space16(0, 4));
    assert_eq!(sense(&c), (8, 0, 5));
    assert_eq!(info(&c), 3);
    assert_eq!(position(d).1, 7);
    // Backward beyond BOP: EOM, 00/04.
    good(&cmd(d, &locate16(0, 1, false)));
    let c = cmd(d, &space6(0, -3));
    assert_eq!(sense(&c), (0, 0, 4));
    assert!(flags(&c).1);
    assert_eq!(info(&c), -2);
    assert_eq!(position(d).1, 0);
}

#[test]
fn space_filemarks_and_end_of_data() {
    let mut r = rig(Lto8, "MO0002L8", None);
    let d = &mut r.drive;
    layout(d);
    good(&cmd(d, &space6(1, 2)));
    assert_eq!(position(d).1, 6);
    good(&cmd(d, &space6(1, -1)));
    assert_eq!(position(d).1, 5);
    good(&cmd(d, &REWIND));
    let c = cmd(d, &space6(1, 3));
    assert_eq!(sense(&c), (8, 0, 5));
    assert_eq!(info(&c), 1);
    assert_eq!(position(d).1, 7);
    good(&cmd(d, &REWIND));
    good(&cmd(d, &space6(3, 0)));
    assert_eq!(position(d).1, 7);
    // Reserved SPACE code.
    let c = cmd(d, &space6(2, 1));
    assert_eq!(sense(&c), (5, 0x24, 0));
}

#[test]
fn locate_forms_and_read_position() {
    let mut r = rig(Lto8, "MO0003L8", None);
    let d = &mut r.drive;
    layout(d);
    let (p, b, bop, eop) = position(d);
    assert_eq!((p, b, bop, eop), (0, 0, true, false));
    good(&cmd(d, &locate10(0, 4, false)));
    assert_eq!(position(d).1, 4);
    // LOCATE(16) to a logical file: file 2 starts after the second filemark.
    let mut c16 = locate16(0, 2, false);
    c16[1] |= 1 << 3;
    good(&cmd(d, &c16));
    assert_eq!(position(d).1, 6);
    // To end of data.
    let mut c16 = locate16(0, 0, false);
    c16[1] |= 3 << 3;
    good(&cmd(d, &c16));
    assert_eq!(position(d).1, 7);
    // Short form: partition and first block.
    good(&cmd(d, &locate16(0, 3, false)));
    let (c, b) = read_in(d, &[0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0], 20);
    good(&c);
    assert_eq!(b.len(), 20);
    assert_eq!(u32::from_be_bytes(b[4..8].try_into().unwrap()), 3);
    assert_eq!(b[0] & 0x80, 0);
    // Long form: file number = filemarks before the position.
    let (_, b) = read_in(d, &[0x34, 0x06, 0, 0, 0, 0, 0, 0, 0, 0], 32);
    assert_eq!(u64::from_be_bytes(b[16..24].try_into().unwrap()), 1);
    // Extended form honours the allocation length.
    let (c, b) = read_in(d, &[0x34, 0x08, 0, 0, 0, 0, 0, 0, 32, 0], 32);
    good(&c);
    assert_eq!(u16::from_be_bytes([b[2], b[3]]), 0x1C);
    assert_eq!(u64::from_be_bytes(b[8..16].try_into().unwrap()), 3);
    // Unsupported service action.
    let c = cmd(d, &[0x34, 0x02, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(sense(&c), (5, 0x24, 0));
    // Changing partition without CP is refused.
    let c = cmd(d, &locate16(1, 0, false));
    assert_eq!(sense(&c), (5, 0x24, 0));
}

#[test]
fn two_partitions_and_locate_across_them() {
    let mut r = rig(Lto8, "MO0004L8", Some(2_000_000_000));
    let d = &mut r.drive;
    write_records(d, &[100]);
    two_partitions(d, 100);
    // Formatting erased the data and created two partitions of 100 MB and the rest.
    let cart = d.cartridge().unwrap();
    assert_eq!(cart.partition_count(), 2);
    assert_eq!(cart.partition_capacity(0), 100_000_000);
    assert_eq!(cart.partition_capacity(1), 1_900_000_000);
    assert_eq!(cart.object_count(0), 0);
    // Mode page 0x11 reports the layout.
    let (c, b) = read_in(d, &[0x1A, 0x08, 0x11, 0, 0xFF, 0], 255);
    good(&c);
    let page = &b[4..];
    assert_eq!(page[0] & 0x3F, 0x11);
    assert_eq!(page[3], 1);
    assert_eq!(u16::from_be_bytes([page[8], page[9]]), 100);
    assert_eq!(u16::from_be_bytes([page[10], page[11]]), 1900);
    // Write to each partition, then move between them.
    good(&cmd(d, &locate16(1, 0, true)));
    write_records(d, &[20, 21, 22]);
    good(&cmd(d, &wfm(1, false)));
    good(&cmd(d, &locate16(0, 0, true)));
    write_records(d, &[30]);
    good(&cmd(d, &locate16(1, 2, true)));
    assert_eq!(position(d).0, 1);
    let (c, b) = read_in(d, &read6(22, false), 22);
    good(&c);
    assert_eq!(b, pattern(2, 22));
    // The locate to the other partition travelled and was timed.
    assert!(d.stats().modeled_seconds.locate > 0.0);
    // A partition beyond the layout is refused.
    let c = cmd(d, &locate16(2, 0, true));
    assert_eq!(sense(&c), (5, 0x24, 0));
    // REWIND returns to partition 0.
    good(&cmd(d, &REWIND));
    assert_eq!(position(d).0, 0);
    // FORMAT MEDIUM format 0 goes back to one partition.
    good(&cmd(d, &[0x04, 0, 0, 0, 0, 0]));
    assert_eq!(d.cartridge().unwrap().partition_count(), 1);
}

#[test]
fn erase_truncates_at_the_position() {
    let mut r = rig(Lto8, "MO0005L8", None);
    let d = &mut r.drive;
    layout(d);
    good(&cmd(d, &locate16(0, 3, false)));
    good(&cmd(d, &[0x19, 0x01, 0, 0, 0, 0]));
    assert_eq!(d.cartridge().unwrap().object_count(0), 3);
}

#[test]
fn unload_prevent_and_reload() {
    let mut r = rig(Lto8, "MO0006L8", None);
    let d = &mut r.drive;
    layout(d);
    good(&cmd(d, &locate16(0, 4, false)));
    good(&cmd(d, &[0x1E, 0, 0, 0, 1, 0]));
    let c = cmd(d, &[0x1B, 0, 0, 0, 0, 0]);
    assert_eq!(sense(&c), (5, 0x53, 2));
    assert!(!d.ready_for_removal());
    good(&cmd(d, &[0x1E, 0, 0, 0, 0, 0]));
    good(&cmd(d, &[0x1B, 0, 0, 0, 0, 0]));
    assert!(d.ready_for_removal());
    assert_eq!(sense(&cmd(d, &TUR)), (2, 0x3A, 0));
    // LOAD threads it again, at BOP.
    good(&cmd(d, &[0x1B, 0, 0, 0, 1, 0]));
    good(&cmd(d, &TUR));
    assert_eq!(position(d).1, 0);
    good(&cmd(d, &[0x1B, 0, 0, 0, 0, 0]));
    let cart = d.remove().expect("ejected cartridge");
    assert_eq!(cart.load_count(), 2);
    assert!(!d.medium_present());
    assert_eq!(sense(&cmd(d, &[0x1B, 0, 0, 0, 1, 0])), (2, 0x3A, 0));
    assert_eq!(d.stats().unloads, 2);
}

#[test]
fn set_capacity_shrinks_the_medium() {
    let mut r = rig(Lto8, "MO0007L8", Some(1 << 30));
    let d = &mut r.drive;
    good(&cmd(d, &[0x0B, 0, 0, 0x80, 0x00, 0]));
    let cap = d.cartridge().unwrap().partition_capacity(0);
    assert!(
        cap > (1 << 29) - (1 << 20) && cap <= (1 << 29) + (1 << 20),
        "{cap}"
    );
    write_records(d, &[10]);
    let c = cmd(d, &[0x0B, 0, 0, 0x80, 0x00, 0]);
    assert_eq!(sense(&c), (5, 0x2C, 0));
}

#[test]
fn not_ready_while_loading_when_time_is_scaled() {
    let dir = tempfile::tempdir().unwrap();
    let mut d =
        tapelib_sim::drive::SimDrive::new(spec(Lto8), tapelib_sim::timing::TimeModel::new(0.002));
    d.insert(new_cart(dir.path(), "MO0008L8", None)).unwrap();
    assert_eq!(sense(&cmd(&mut d, &TUR)), (6, 0x29, 0));
    assert_eq!(sense(&cmd(&mut d, &TUR)), (6, 0x28, 0));
    // Load takes 15 modeled seconds = 30 ms here.
    assert_eq!(sense(&cmd(&mut d, &TUR)), (2, 0x04, 0x01));
    std::thread::sleep(std::time::Duration::from_millis(40));
    good(&cmd(&mut d, &TUR));
}

#[test]
fn locate_time_grows_with_distance_on_tape() {
    // Full-size tape: 200 records of 64 KiB all lie at the start of the first wrap, so the
    // locate time grows with the longitudinal distance.
    let mut r = rig(Lto8, "MO0009L8", None);
    let d = &mut r.drive;
    let rec = vec![7u8; 64 * 1024];
    for _ in 0..200 {
        good(&write_out(d, &write6(rec.len() as u32), &rec));
    }
    good(&cmd(d, &REWIND));
    let t0 = d.stats().modeled_seconds.locate;
    good(&cmd(d, &locate16(0, 1, false)));
    let near = d.stats().modeled_seconds.locate - t0;
    good(&cmd(d, &REWIND));
    let t1 = d.stats().modeled_seconds.locate;
    let dist0 = d.stats().distance_m;
    good(&cmd(d, &locate16(0, 150, false)));
    let far = d.stats().modeled_seconds.locate - t1;
    assert!(far > near && near > 0.0, "far {far} near {near}");
    assert!(d.stats().distance_m >= dist0);
    assert_eq!(d.stats().locates, 2);
    assert!(d.stats().modeled_seconds.rewind > 0.0);
}

#[test]
fn serpentine_layout_makes_logical_and_physical_distance_differ() {
    // 20 MB tape over 208 wraps: about 96 KB per wrap. Block 1 (offset 64 KiB) lies far down
    // the first wrap; block 3 (offset 192 KiB) is just after the start of the third wrap, back
    // near the beginning of tape after two turns, so it is physically nearer to BOT.
    let mut r = rig(Lto8, "MO0010L8", Some(20_000_000));
    let d = &mut r.drive;
    let rec = vec![7u8; 64 * 1024];
    for _ in 0..4 {
        good(&write_out(d, &write6(rec.len() as u32), &rec));
    }
    good(&cmd(d, &REWIND));
    let t0 = d.stats().modeled_seconds.locate;
    good(&cmd(d, &locate16(0, 1, false)));
    let to_block1 = d.stats().modeled_seconds.locate - t0;
    good(&cmd(d, &REWIND));
    let t1 = d.stats().modeled_seconds.locate;
    good(&cmd(d, &locate16(0, 3, false)));
    let to_block3 = d.stats().modeled_seconds.locate - t1;
    assert!(
        to_block3 < to_block1,
        "block 3 {to_block3} block 1 {to_block1}"
    );
}

#[test]
fn restore_is_not_a_load() {
    let dir = tempfile::tempdir().unwrap();
    let cart = new_cart(dir.path(), "R00001L8", None);
    let mut d =
        tapelib_sim::drive::SimDrive::new(spec(Lto8), tapelib_sim::timing::TimeModel::instant());
    d.restore(cart, true).unwrap();
    // Only the power-on unit attention, then ready at BOT.
    assert_eq!(sense(&cmd(&mut d, &[0, 0, 0, 0, 0, 0])), (6, 0x29, 0));
    good(&cmd(&mut d, &[0, 0, 0, 0, 0, 0]));
    assert_eq!(d.cartridge().unwrap().load_count(), 0);
    assert_eq!(d.cartridge().unwrap().stats().loads, 0);
    assert_eq!(d.stats().loads, 0);
    assert_eq!(d.stats().modeled_seconds.total(), 0.0);
    // Occupied: refused.
    let other = new_cart(dir.path(), "R00002L8", None);
    assert!(d.restore(other, false).is_err());
    // Restored unloaded: ejected, ready for the robot, still no load counted.
    let cart = d.force_remove().unwrap();
    let mut d =
        tapelib_sim::drive::SimDrive::new(spec(Lto8), tapelib_sim::timing::TimeModel::instant());
    d.restore(cart, false).unwrap();
    assert_eq!(sense(&cmd(&mut d, &[0, 0, 0, 0, 0, 0])), (6, 0x29, 0));
    assert_eq!(sense(&cmd(&mut d, &[0, 0, 0, 0, 0, 0])), (2, 0x3A, 0));
    assert!(d.ready_for_removal());
    assert_eq!(d.cartridge().unwrap().load_count(), 0);
}
