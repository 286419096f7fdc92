//! LTFS volumes through `tapelib_scsi::Drive<SimTransport>` on an in-process simulated library:
//! cartridges moved by the changer, formatted, written, read back, remounted, crashed and
//! recovered, with the on-tape index chain and MAM checked through the drive.

mod ltfs_common;

use std::io;

use sha2::{Digest, Sha256};
use tapelib_ltfs::index::{parse_index, Index, IndexLocation};
use tapelib_ltfs::mam::{VolumeCoherency, ATTR_VOLUME_COHERENCY_INFORMATION};
use tapelib_ltfs::volume::IndexSource;
use tapelib_ltfs::{format, FormatOptions, LtfsError, MountOptions, Volume};
use tapelib_scsi::drive::ReadOutcome;
use tapelib_scsi::Drive;
use tapelib_sim::transport::SimTransport;

use ltfs_common::{Pattern, SimLibrary};

type SimVolume = Volume<Drive<SimTransport>>;

const BLOCK: u64 = 512 * 1024;

/// A file of the round trip: path, pattern seed, length.
struct Spec {
    path: &'static str,
    seed: u64,
    len: u64,
}

/// Big enough to span hundreds of records, small enough to keep the suite quick.
const BIG_LEN: u64 = 320 * 1024 * 1024 + 12_345;

const FILES: &[Spec] = &[
    Spec {
        path: "empty",
        seed: 1,
        len: 0,
    },
    Spec {
        path: "one-byte",
        seed: 2,
        len: 1,
    },
    Spec {
        path: "dir/exactly-a-block",
        seed: 3,
        len: BLOCK,
    },
    Spec {
        path: "dir/block-plus-one",
        seed: 4,
        len: BLOCK + 1,
    },
    Spec {
        path: "dir/sub/multi-megabyte",
        seed: 5,
        len: 7 * 1024 * 1024 + 333,
    },
    Spec {
        path: "big.bin",
        seed: 6,
        len: BIG_LEN,
    },
];

fn sha256_of_pattern(seed: u64, len: u64) -> Vec<u8> {
    let mut h = Sha256::new();
    io::copy(&mut Pattern::new(seed, len), &mut h).unwrap();
    h.finalize().to_vec()
}

fn sha256_of_file(volume: &mut SimVolume, path: &str) -> (u64, Vec<u8>) {
    let mut h = Sha256::new();
    let n = volume.read_file(path, &mut h).unwrap();
    (n, h.finalize().to_vec())
}

fn read_range(volume: &mut SimVolume, path: &str, offset: u64, len: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let n = volume.read_range(path, offset, len, &mut out).unwrap();
    assert_eq!(n as usize, out.len());
    out
}

fn write_all_files(volume: &mut SimVolume) {
    volume.create_dir_all("dir/sub").unwrap();
    for f in FILES {
        let n = volume
            .write_file(f.path, Pattern::new(f.seed, f.len), &[])
            .unwrap();
        assert_eq!(n, f.len, "{}", f.path);
    }
}

fn check_all_files(volume: &mut SimVolume) {
    for f in FILES {
        let (n, hash) = sha256_of_file(volume, f.path);
        assert_eq!(n, f.len, "{}: length", f.path);
        assert_eq!(
            hash,
            sha256_of_pattern(f.seed, f.len),
            "{}: content",
            f.path
        );
    }
}

/// Ranges of the big file: start, middle, end, and across record boundaries.
fn check_ranges(volume: &mut SimVolume) {
    let big = FILES.iter().find(|f| f.path == "big.bin").unwrap();
    let ranges = [
        (0, 1),
        (0, 4096),
        (BLOCK - 10, 20),
        (BLOCK, BLOCK),
        (3 * BLOCK - 1, 2 * BLOCK + 2),
        (BIG_LEN / 2, 100_000),
        (BIG_LEN - 1, 1),
        (BIG_LEN - 70_000, 70_000),
    ];
    for (offset, len) in ranges {
        let got = read_range(volume, big.path, offset, len);
        assert_eq!(
            got,
            Pattern::at(big.seed, offset, len as usize),
            "range {offset}+{len}"
        );
    }
    // Clipped at the end of the file, and nothing past it.
    let got = read_range(volume, big.path, BIG_LEN - 5, 1000);
    assert_eq!(got, Pattern::at(big.seed, BIG_LEN - 5, 5));
    assert!(read_range(volume, big.path, BIG_LEN, 10).is_empty());
    // Small files: the byte after a full block is the second record's only byte.
    let got = read_range(volume, "dir/block-plus-one", BLOCK, 10);
    assert_eq!(got, Pattern::at(4, BLOCK, 1));
}

#[test]
fn files_round_trip_through_the_simulated_drive_and_survive_remount() {
    let mut lib = SimLibrary::open();
    let drive = lib.load("LTF001L8");
    let mut volume = format(drive, &FormatOptions::new("LTF001", Some("round-trip"))).unwrap();
    write_all_files(&mut volume);
    volume
        .set_xattr("one-byte", "tapelib.note", b"kept in the index")
        .unwrap();
    check_all_files(&mut volume);
    check_ranges(&mut volume);
    let drive = volume.unmount().unwrap();
    lib.unload(drive);

    // Remount: the coherency information is current, the index partition copy is used.
    let drive = lib.load("LTF001L8");
    let (mut volume, report) = Volume::mount(drive, MountOptions::default()).unwrap();
    assert_eq!(report.source, IndexSource::IndexPartition);
    assert!(report.used_coherency_information, "{report:?}");
    assert_eq!(report.recovered, None);
    assert_eq!(volume.barcode(), "LTF001");
    let mut names: Vec<String> = volume
        .list("dir")
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    names.sort();
    assert_eq!(names, ["block-plus-one", "exactly-a-block", "sub"]);
    assert_eq!(
        volume.xattr("one-byte", "tapelib.note").unwrap(),
        Some(&b"kept in the index"[..])
    );
    check_all_files(&mut volume);
    check_ranges(&mut volume);
    check_range_reads_locate_once(&lib, &mut volume);
    let drive = volume.unmount().unwrap();
    lib.unload(drive);
}

/// A range read costs one locate and reads only the records it needs, wherever the range
/// lies in the file: the time of a range read must not depend on its offset.
fn check_range_reads_locate_once(lib: &SimLibrary, volume: &mut SimVolume) {
    let big = FILES.iter().find(|f| f.path == "big.bin").unwrap();
    let last_record = (BIG_LEN - 1) / BLOCK;
    for (offset, len, records) in [
        (0, 1000, 1),
        (BLOCK * 7 + 5, 1000, 1),
        (BIG_LEN / 2, 1000, 1),
        (last_record * BLOCK, 10, 1),
        (BIG_LEN - 1000, 1000, 1),
        (BLOCK * 100 - 500, 1000, 2),
        (BLOCK * 300, 3 * BLOCK, 3),
    ] {
        let before = lib.drive_stats();
        let got = read_range(volume, big.path, offset, len);
        let after = lib.drive_stats();
        assert_eq!(got, Pattern::at(big.seed, offset, len as usize));
        assert_eq!(
            after.locates - before.locates,
            1,
            "locates for range {offset}+{len}"
        );
        assert_eq!(
            after.spaces - before.spaces,
            0,
            "spaces for range {offset}+{len}"
        );
        assert_eq!(
            after.records_read - before.records_read,
            records,
            "records read for range {offset}+{len}"
        );
    }
}

#[test]
fn dropped_volume_is_recovered_from_the_data_partition() {
    let mut lib = SimLibrary::open();
    let drive = lib.load("LTF002L8");
    let mut volume = format(drive, &FormatOptions::new("LTF002", None)).unwrap();
    volume
        .write_file("kept", Pattern::new(10, 3 * BLOCK + 7), &[])
        .unwrap();
    volume.sync().unwrap();
    let synced = volume.index().generation;
    let synced_at = volume.index().location;
    volume
        .write_file("lost", Pattern::new(11, 2 * BLOCK), &[])
        .unwrap();
    // A crash: the volume goes away without an unmount; the daemon restarts, unloads and
    // loads the cartridge again.
    drop(volume);
    lib.unload(lib.drive());
    let drive = lib.load("LTF002L8");
    let (mut volume, report) = Volume::mount(drive, MountOptions::default()).unwrap();
    assert_eq!(report.source, IndexSource::DataPartition);
    assert_eq!(report.generation, synced);
    let recovery = report.recovered.expect("recovery reported");
    assert_eq!(recovery.generation, synced);
    assert_eq!(recovery.data_partition_index, synced_at);
    assert_eq!(recovery.index_partition_generation, Some(1));
    assert_eq!(recovery.unindexed_blocks, 2, "the lost file's two records");
    let (n, hash) = sha256_of_file(&mut volume, "kept");
    assert_eq!(n, 3 * BLOCK + 7);
    assert_eq!(hash, sha256_of_pattern(10, 3 * BLOCK + 7));
    assert!(matches!(
        volume.read_file("lost", &mut io::sink()),
        Err(LtfsError::NotFound(_))
    ));
    // Writing after recovery appends at end of data (after the unindexed records), and a
    // clean unmount makes the next mount ordinary again.
    volume
        .write_file("after", Pattern::new(12, BLOCK / 2), &[])
        .unwrap();
    let drive = volume.unmount().unwrap();
    lib.unload(drive);
    let drive = lib.load("LTF002L8");
    let (mut volume, report) = Volume::mount(drive, MountOptions::default()).unwrap();
    assert_eq!(report.recovered, None);
    assert_eq!(report.source, IndexSource::IndexPartition);
    for (path, seed, len) in [("kept", 10, 3 * BLOCK + 7), ("after", 12, BLOCK / 2)] {
        let (n, hash) = sha256_of_file(&mut volume, path);
        assert_eq!((n, hash), (len, sha256_of_pattern(seed, len)), "{path}");
    }
    let drive = volume.unmount().unwrap();
    lib.unload(drive);
}

/// Reads the index construct starting at `block` of `partition` through the drive.
fn read_index_on_tape(drive: &mut Drive<SimTransport>, partition: u8, block: u64) -> Index {
    drive.locate(partition, block).unwrap();
    let mut xml = Vec::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match drive.read_block(&mut buf).unwrap() {
            ReadOutcome::Data(n) => xml.extend_from_slice(&buf[..n]),
            ReadOutcome::Filemark => break,
            other => panic!("index at {partition}/{block} ends with {other:?}"),
        }
    }
    parse_index(&xml[..]).unwrap()
}

fn vci(drive: &mut Drive<SimTransport>, partition: u8) -> VolumeCoherency {
    let attr = drive
        .read_attribute(partition, ATTR_VOLUME_COHERENCY_INFORMATION)
        .unwrap()
        .unwrap_or_else(|| panic!("no Volume Coherency Information on partition {partition}"));
    VolumeCoherency::decode(&attr.value).unwrap()
}

#[test]
fn generations_chain_back_and_both_partitions_carry_coherency_information() {
    let mut lib = SimLibrary::open();
    let drive = lib.load("LTF001L8");
    let mut volume = format(drive, &FormatOptions::new("LTF001", None)).unwrap();
    let uuid = volume.index().volume_uuid;
    volume
        .write_file("first", Pattern::new(20, BLOCK + 3), &[])
        .unwrap();
    volume.sync().unwrap();
    volume
        .write_file("second", Pattern::new(21, 10), &[])
        .unwrap();
    let mut drive = volume.unmount().unwrap();

    // MAM 080Ch on both partitions, read through the drive, stamped with the medium's
    // current volume change reference (LTFS 2.4 §9.3.2).
    let vcr_attr = drive.read_attribute(0, 0x0009).unwrap().expect("MAM 0009h");
    // SPC-4 7.4.2.2 gives it 4 bytes; LTFS widens it to the VCI's 8.
    assert!(matches!(vcr_attr.value.len(), 4 | 8), "{vcr_attr:?}");
    let vcr = vcr_attr
        .value
        .iter()
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    let ip = vci(&mut drive, 0);
    let dp = vci(&mut drive, 1);
    for v in [&ip, &dp] {
        assert_eq!(v.generation, 3);
        assert_eq!(v.volume_uuid, uuid);
        assert_eq!(v.volume_change_reference, vcr);
    }

    // The index partition holds the newest generation, pointing back at the same generation
    // on the data partition; data-partition indexes chain back to generation 1.
    let ip_index = read_index_on_tape(&mut drive, 0, ip.block);
    assert_eq!(ip_index.generation, 3);
    assert_eq!(
        ip_index.location,
        IndexLocation {
            partition: 'a',
            start_block: ip.block
        }
    );
    let back = ip_index.previous.expect("index partition points back");
    assert_eq!(
        back,
        IndexLocation {
            partition: 'b',
            start_block: dp.block
        }
    );
    let mut at = Some(back);
    let mut generations = Vec::new();
    let mut last_block = u64::MAX;
    while let Some(loc) = at {
        assert_eq!(
            loc.partition, 'b',
            "data-partition indexes point back on 'b'"
        );
        assert!(loc.start_block < last_block, "pointers go backwards");
        last_block = loc.start_block;
        let index = read_index_on_tape(&mut drive, 1, loc.start_block);
        assert_eq!(index.location, loc);
        assert_eq!(index.volume_uuid, uuid);
        generations.push(index.generation);
        at = index.previous;
    }
    assert_eq!(generations, [3, 2, 1]);
    // The newest index lists both files; the one before only the first.
    assert!(ip_index.entry("second").is_some());
    let gen3 = read_index_on_tape(&mut drive, 1, dp.block);
    let gen2 = read_index_on_tape(&mut drive, 1, gen3.previous.unwrap().start_block);
    assert!(gen2.entry("first").is_some());
    assert!(gen2.entry("second").is_none());
    lib.unload(drive);
}
