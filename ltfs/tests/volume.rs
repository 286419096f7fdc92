//! Round trips of whole volumes on the in-memory tape.

mod common;

use std::io::Read;

use tapelib_ltfs::index::{Entry, Extent, Xattr};
use tapelib_ltfs::label::{LtfsLabel, Vol1Label};
use tapelib_ltfs::mam::{VolumeCoherency, ATTR_APPLICATION_FORMAT_VERSION, ATTR_BARCODE};
use tapelib_ltfs::volume::{check, IndexSource};
use tapelib_ltfs::{
    format, FormatOptions, LtfsError, MemTape, MountOptions, SyncPolicy, TapeDevice, Volume,
};

const BS: usize = 4096;

fn blank() -> MemTape {
    MemTape::new(1 << 30, 1 << 20)
}

fn options() -> FormatOptions {
    FormatOptions {
        blocksize: BS as u32,
        ..FormatOptions::new("TST001", Some("test volume"))
    }
}

/// Deterministic, position-dependent bytes so misplaced ranges are caught.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0] ^ seed)
        .collect()
}

fn read_all<D: TapeDevice>(v: &mut Volume<D>, path: &str) -> Vec<u8> {
    let mut out = Vec::new();
    v.read_file(path, &mut out).unwrap();
    out
}

fn range<D: TapeDevice>(v: &mut Volume<D>, path: &str, off: u64, len: u64) -> Vec<u8> {
    let mut out = Vec::new();
    v.read_range(path, off, len, &mut out).unwrap();
    out
}

#[test]
fn fresh_volume_layout_follows_ltfs() {
    let v = format(blank(), &options()).unwrap();
    let tape = v.unmount().unwrap();
    for p in 0..2u8 {
        let vol1 = Vol1Label::decode(tape.record(p, 0).unwrap()).unwrap();
        assert_eq!(vol1.barcode, "TST001");
        assert!(tape.is_filemark(p, 1));
        let label = LtfsLabel::parse(tape.record(p, 2).unwrap()).unwrap();
        assert_eq!(label.location, if p == 0 { 'a' } else { 'b' });
        assert!(tape.is_filemark(p, 3));
        assert!(tape.is_filemark(p, 4));
        assert!(tape.record(p, 5).unwrap().starts_with(b"<?xml"));
        assert!(tape.is_filemark(p, 6));
        assert_eq!(tape.end_of_data(p), Some(7));
    }
    let ip_index = String::from_utf8(tape.record(0, 5).unwrap().to_vec()).unwrap();
    assert!(ip_index.contains("<generationnumber>1</generationnumber>"));
    assert!(ip_index.contains(
        "<previousgenerationlocation>\n<partition>b</partition>\n<startblock>5</startblock>"
    ));
    let dp_index = String::from_utf8(tape.record(1, 5).unwrap().to_vec()).unwrap();
    assert!(!dp_index.contains("previousgenerationlocation"));
    assert!(dp_index.contains("<name>test volume</name>"));
    let mut tape = tape;
    let vci = VolumeCoherency::read(&mut tape, 1).unwrap().unwrap();
    assert_eq!((vci.generation, vci.block), (1, 5));
    let barcode = tape.read_attribute(0, ATTR_BARCODE).unwrap().unwrap();
    assert!(barcode.value.starts_with(b"TST001 "));
    assert!(tape
        .read_attribute(0, ATTR_APPLICATION_FORMAT_VERSION)
        .unwrap()
        .is_some());
}

#[test]
fn files_of_every_shape_round_trip_with_ranges() {
    let mut v = format(blank(), &options()).unwrap();
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("one", vec![42]),
        ("block", pattern(BS, 1)),
        ("block-plus-one", pattern(BS + 1, 2)),
        ("many", pattern(BS * 37 + 123, 3)),
    ];
    v.create_dir("d").unwrap();
    for (name, data) in &files {
        let path = format!("d/{name}");
        assert_eq!(
            v.write_file(&path, &data[..], &[]).unwrap(),
            data.len() as u64
        );
    }
    // Each data record but the last of an extent is exactly one block.
    let Entry::File(f) = v.entry("d/many").unwrap().clone() else {
        panic!()
    };
    let e = f.extents[0];
    let tape = v.device_mut();
    for b in 0..37 {
        assert_eq!(tape.record(1, e.start_block + b).unwrap().len(), BS);
    }
    assert_eq!(tape.record(1, e.start_block + 37).unwrap().len(), 123);

    let tape = v.unmount().unwrap();
    let (mut v, report) = Volume::mount(tape, MountOptions::default()).unwrap();
    assert!(report.used_coherency_information);
    assert_eq!(report.generation, 2);
    for (name, data) in &files {
        let path = format!("d/{name}");
        assert_eq!(&read_all(&mut v, &path), data, "{name}");
    }
    let many = &files[4].1;
    let len = many.len() as u64;
    for (off, n) in [
        (0, 10),
        (0, BS as u64),
        (BS as u64 - 3, 6),
        (5 * BS as u64 + 17, 3 * BS as u64),
        (len / 2, 1),
        (len - 5, 5),
        (len - 5, 500),
        (len, 10),
    ] {
        let start = off.min(len) as usize;
        let end = (off + n).min(len) as usize;
        assert_eq!(
            range(&mut v, "d/many", off, n),
            many[start..end],
            "{off}+{n}"
        );
    }
}

#[test]
fn range_reads_locate_once_to_the_right_block() {
    /// Counts locates and records read.
    struct Counting {
        inner: MemTape,
        locates: Vec<(u8, u64)>,
        reads: usize,
    }
    impl TapeDevice for Counting {
        fn position(&mut self) -> tapelib_ltfs::Result<tapelib_ltfs::Position> {
            self.inner.position()
        }
        fn locate(&mut self, p: u8, b: u64) -> tapelib_ltfs::Result<()> {
            self.locates.push((p, b));
            self.inner.locate(p, b)
        }
        fn locate_end_of_data(&mut self, p: u8) -> tapelib_ltfs::Result<u64> {
            self.inner.locate_end_of_data(p)
        }
        fn read_record(
            &mut self,
            buf: &mut [u8],
        ) -> tapelib_ltfs::Result<tapelib_ltfs::ReadOutcome> {
            self.reads += 1;
            self.inner.read_record(buf)
        }
        fn write_record(&mut self, d: &[u8]) -> tapelib_ltfs::Result<tapelib_ltfs::WriteOutcome> {
            self.inner.write_record(d)
        }
        fn write_filemarks(
            &mut self,
            n: u32,
            i: bool,
        ) -> tapelib_ltfs::Result<tapelib_ltfs::WriteOutcome> {
            self.inner.write_filemarks(n, i)
        }
        fn partition_count(&mut self) -> tapelib_ltfs::Result<u8> {
            self.inner.partition_count()
        }
        fn format_two_partitions(&mut self) -> tapelib_ltfs::Result<()> {
            self.inner.format_two_partitions()
        }
        fn read_attribute(
            &mut self,
            p: u8,
            id: u16,
        ) -> tapelib_ltfs::Result<Option<tapelib_ltfs::MamAttribute>> {
            self.inner.read_attribute(p, id)
        }
        fn write_attribute(
            &mut self,
            p: u8,
            a: &tapelib_ltfs::MamAttribute,
        ) -> tapelib_ltfs::Result<()> {
            self.inner.write_attribute(p, a)
        }
        fn volume_change_reference(&mut self) -> tapelib_ltfs::Result<Option<u64>> {
            self.inner.volume_change_reference()
        }
        fn set_up(&mut self, m: usize, c: bool) -> tapelib_ltfs::Result<()> {
            self.inner.set_up(m, c)
        }
    }
    let dev = Counting {
        inner: blank(),
        locates: vec![],
        reads: 0,
    };
    let mut v = format(dev, &options()).unwrap();
    let data = pattern(BS * 100, 9);
    v.write_file("big", &data[..], &[]).unwrap();
    let Entry::File(f) = v.entry("big").unwrap().clone() else {
        panic!()
    };
    let start = f.extents[0].start_block;
    for block in [0u64, 50, 99] {
        let off = block * BS as u64 + 10;
        let dev = v.device_mut();
        dev.locates.clear();
        dev.reads = 0;
        let got = range(&mut v, "big", off, 20);
        assert_eq!(got, data[off as usize..off as usize + 20]);
        let dev = v.device_mut();
        assert_eq!(dev.locates, vec![(1, start + block)]);
        assert_eq!(dev.reads, 1, "a range read does not scan from the start");
    }
}

#[test]
fn multiple_extents_gaps_and_tail_read_as_zeros() {
    let mut v = format(blank(), &options()).unwrap();
    let a = pattern(BS + 100, 4);
    let b = pattern(300, 5);
    v.write_file("a", &a[..], &[]).unwrap();
    v.write_file("b", &b[..], &[]).unwrap();
    let (Entry::File(fa), Entry::File(fb)) =
        (v.entry("a").unwrap().clone(), v.entry("b").unwrap().clone())
    else {
        panic!()
    };
    // A sparse file: at offset 10, 50 bytes of `a` from byte 20; at offset 5000, all of `b`;
    // length 6000.
    let ea = fa.extents[0];
    let eb = fb.extents[0];
    let tape = v.unmount().unwrap();
    let (mut v, _) = Volume::mount(tape, MountOptions::default()).unwrap();
    v.write_file("sparse", &[][..], &[]).unwrap();
    let tape = {
        // Rewrite the sparse entry's extents via the public index model.
        let mut index = v.index().clone();
        let Some(Entry::File(f)) = index.root.entries.get_mut("sparse") else {
            panic!()
        };
        f.length = 6000;
        f.extents = vec![
            Extent {
                file_offset: 10,
                partition: 'b',
                start_block: ea.start_block,
                byte_offset: 20,
                byte_count: 50,
            },
            Extent {
                file_offset: 5000,
                partition: 'b',
                start_block: eb.start_block,
                byte_offset: 0,
                byte_count: 300,
            },
        ];
        index.validate_structure().unwrap();
        let mut device = v.into_device_unsynced();
        write_index_by_hand(&mut device, index);
        device
    };
    let (mut v, report) = Volume::mount(tape, MountOptions::default()).unwrap();
    assert_eq!(report.source, IndexSource::DataPartition);
    let got = read_all(&mut v, "sparse");
    let mut expected = vec![0u8; 6000];
    expected[10..60].copy_from_slice(&a[20..70]);
    expected[5000..5300].copy_from_slice(&b);
    assert_eq!(got, expected);
    // Ranges across the extent boundaries.
    assert_eq!(range(&mut v, "sparse", 55, 10), expected[55..65]);
    assert_eq!(range(&mut v, "sparse", 4990, 20), expected[4990..5010]);
    assert_eq!(range(&mut v, "sparse", 5290, 1000), expected[5290..6000]);
}

/// Appends an index construct for `index` at the end of the data partition.
fn write_index_by_hand(device: &mut MemTape, mut index: tapelib_ltfs::index::Index) {
    let eod = device.locate_end_of_data(1).unwrap();
    index.previous = Some(index.location);
    index.generation += 1;
    index.location = tapelib_ltfs::index::IndexLocation {
        partition: 'b',
        start_block: eod + 1,
    };
    let mut xml = Vec::new();
    tapelib_ltfs::index::write_index(&index, &mut xml).unwrap();
    device.write_filemarks(1, false).unwrap();
    for chunk in xml.chunks(BS) {
        device.write_record(chunk).unwrap();
    }
    device.write_filemarks(1, false).unwrap();
}

#[test]
fn generations_and_pointer_rules() {
    let mut v = format(blank(), &options()).unwrap();
    v.write_file("one", &b"1"[..], &[]).unwrap();
    v.sync().unwrap();
    assert_eq!(v.index().generation, 2);
    let g2 = v.index().location;
    v.sync().unwrap(); // nothing changed: no new generation
    assert_eq!(v.index().generation, 2);
    v.write_file("two", &b"2"[..], &[]).unwrap();
    v.sync().unwrap();
    assert_eq!(v.index().generation, 3);
    assert_eq!(v.index().previous, Some(g2));
    let g3 = v.index().location;
    let tape = v.unmount().unwrap();
    // The index partition copy keeps generation 3 and points at the data partition's.
    let ip = String::from_utf8(tape.record(0, 5).unwrap().to_vec()).unwrap();
    assert!(ip.contains("<generationnumber>3</generationnumber>"));
    assert!(ip.contains(&format!(
        "<previousgenerationlocation>\n<partition>b</partition>\n<startblock>{}</startblock>",
        g3.start_block
    )));
    let mut tape = tape;
    let report = check(&mut tape, false).unwrap();
    assert!(report.consistent, "{:?}", report.problems);
    let chain: Vec<u64> = report.data_partition_chain.iter().map(|c| c.1).collect();
    assert_eq!(chain, vec![3, 2, 1]);
}

#[test]
fn crash_recovery_uses_the_last_data_partition_index() {
    let mut v = format(blank(), &options()).unwrap();
    v.write_file("kept", &pattern(5000, 1)[..], &[]).unwrap();
    v.sync().unwrap();
    v.write_file("lost", &pattern(9000, 2)[..], &[]).unwrap();
    // Crash: no sync, no unmount.
    let mut tape = v.into_device_unsynced();
    let report = check(&mut tape, false).unwrap();
    assert!(!report.consistent);
    assert!(!report.problems.is_empty());
    let (mut v, report) = Volume::mount(tape, MountOptions::default()).unwrap();
    let recovery = report.recovered.expect("recovery reported");
    assert_eq!(recovery.generation, 2);
    assert_eq!(recovery.index_partition_generation, Some(1));
    assert_eq!(recovery.unindexed_blocks, 3); // the lost file's records
    assert_eq!(report.source, IndexSource::DataPartition);
    assert_eq!(read_all(&mut v, "kept"), pattern(5000, 1));
    assert!(matches!(v.entry("lost"), Err(LtfsError::NotFound(_))));
    // Writing continues after the orphaned records; unmount makes the volume consistent.
    v.write_file("after", &b"after"[..], &[]).unwrap();
    let mut tape = v.unmount().unwrap();
    assert!(check(&mut tape, false).unwrap().consistent);
    let (mut v, report) = Volume::mount(tape, MountOptions::default()).unwrap();
    assert!(report.recovered.is_none());
    assert_eq!(report.generation, 3);
    assert_eq!(read_all(&mut v, "after"), b"after");
}

#[test]
fn check_repairs_a_stale_index_partition() {
    let mut v = format(blank(), &options()).unwrap();
    v.write_file("f", &b"data"[..], &[]).unwrap();
    v.sync().unwrap();
    let mut tape = v.into_device_unsynced();
    let report = check(&mut tape, true).unwrap();
    assert!(report.repaired);
    let report = check(&mut tape, false).unwrap();
    assert!(report.consistent, "{:?}", report.problems);
    let (_, report) = Volume::mount(tape, MountOptions::default()).unwrap();
    assert!(report.used_coherency_information);
    assert_eq!(report.generation, 2);
}

#[test]
fn missing_or_stale_vci_falls_back_to_full_check() {
    let mut v = format(blank(), &options()).unwrap();
    v.write_file("f", &b"x"[..], &[]).unwrap();
    let mut tape = v.unmount().unwrap();
    tape.remove_attribute(0, 0x080C);
    let (_, report) = Volume::mount(tape.clone(), MountOptions::default()).unwrap();
    assert!(!report.used_coherency_information);
    assert!(report.recovered.is_none());
    let mut tape2 = tape.clone();
    tape2.set_offers_volume_change_reference(false);
    let (_, report) = Volume::mount(tape2, MountOptions::default()).unwrap();
    assert!(!report.used_coherency_information);
}

#[test]
fn tree_operations_and_xattrs() {
    let mut v = format(blank(), &options()).unwrap();
    v.create_dir_all("a/b/c").unwrap();
    let meta = vec![
        Xattr {
            key: "user.tapelib.collection".into(),
            value: b"news".to_vec(),
        },
        Xattr {
            key: "tapelib.crc32".into(),
            value: vec![0xde, 0xad, 0xbe, 0xef],
        },
    ];
    v.write_file("a/b/c/clip:1.mxf", &b"mxf"[..], &meta)
        .unwrap();
    assert!(matches!(
        v.write_file("a/b/c/clip:1.mxf", &b"again"[..], &[]),
        Err(LtfsError::AlreadyExists(_))
    ));
    assert!(matches!(
        v.write_file("nope/x", &b""[..], &[]),
        Err(LtfsError::NotFound(_))
    ));
    v.set_xattr("a", "user.tapelib.object", b"obj-1").unwrap();
    v.create_symlink("a/link", "b/c/clip:1.mxf").unwrap();
    v.rename("a/b/c/clip:1.mxf", "a/clip.mxf").unwrap();
    assert!(matches!(v.remove("a/b"), Err(LtfsError::NotEmpty(_))));
    v.remove("a/b/c").unwrap();
    assert!(matches!(
        v.rename("a", "a/b/x"),
        Err(LtfsError::InvalidArgument(_))
    ));
    // NFC: a decomposed name is stored composed.
    v.write_file("e\u{301}", &b"nfc"[..], &[]).unwrap();
    assert!(v.entry("\u{e9}").is_ok());
    assert!(v.create_dir("x:\u{1}").is_ok());

    let tape = v.unmount().unwrap();
    let (mut v, _) = Volume::mount(tape, MountOptions::default()).unwrap();
    assert_eq!(read_all(&mut v, "a/clip.mxf"), b"mxf");
    assert_eq!(
        v.xattr("a/clip.mxf", "tapelib.crc32").unwrap(),
        Some(&[0xde, 0xad, 0xbe, 0xef][..])
    );
    assert_eq!(v.xattr("a", "tapelib.object").unwrap(), Some(&b"obj-1"[..]));
    // Stored without the namespace, found with or without it.
    let Entry::File(clip) = v.entry("a/clip.mxf").unwrap() else {
        panic!()
    };
    assert_eq!(clip.xattrs[0].key, "tapelib.collection");
    assert_eq!(
        v.xattr("a/clip.mxf", "user.tapelib.collection").unwrap(),
        Some(&b"news"[..])
    );
    assert_eq!(v.read_link("a/link").unwrap(), "b/c/clip:1.mxf");
    assert!(v.entry("a/b").is_ok());
    assert!(v.entry("a/b/c").is_err());
    assert!(v.entry("x:\u{1}").is_ok());
    assert!(v.remove_xattr("a", "tapelib.object").is_ok());
}

#[test]
fn periodic_sync_policy() {
    let mut v = format(blank(), &options()).unwrap();
    v.set_sync_policy(SyncPolicy {
        after_bytes: None,
        after_files: Some(2),
    });
    v.write_file("1", &b"1"[..], &[]).unwrap();
    assert!(v.is_dirty());
    v.write_file("2", &b"2"[..], &[]).unwrap();
    assert!(!v.is_dirty());
    assert_eq!(v.index().generation, 2);
    v.set_sync_policy(SyncPolicy {
        after_bytes: Some(10_000),
        after_files: None,
    });
    v.write_file("3", &pattern(6000, 0)[..], &[]).unwrap();
    assert!(v.is_dirty());
    v.write_file("4", &pattern(6000, 0)[..], &[]).unwrap();
    assert_eq!(v.index().generation, 3);
}

#[test]
fn early_warning_stops_data_but_not_the_index() {
    let tape = MemTape::new(4 << 20, 1 << 20);
    let mut v = format(tape, &options()).unwrap();
    // The data partition holds 95% of 4 MiB; write until early warning.
    let chunk = pattern(256 * 1024, 7);
    let mut written = 0;
    let err = loop {
        match v.write_file(&format!("f{written}"), &chunk[..], &[]) {
            Ok(_) => written += 1,
            Err(e) => break e,
        }
        assert!(written < 100, "early warning never reported");
    };
    assert!(matches!(err, LtfsError::NoSpace { .. }), "{err}");
    assert!(v.early_warning());
    assert!(matches!(
        v.write_file("more", &b"x"[..], &[]),
        Err(LtfsError::NoSpace { .. })
    ));
    let tape = v.unmount().unwrap();
    let (mut v, _) = Volume::mount(tape, MountOptions::default()).unwrap();
    assert_eq!(v.list("").unwrap().len(), written);
    assert_eq!(read_all(&mut v, "f0"), chunk);
}

#[test]
fn read_only_mount_and_label_mismatch() {
    let v = format(blank(), &options()).unwrap();
    let tape = v.unmount().unwrap();
    let (mut v, _) = Volume::mount(
        tape.clone(),
        MountOptions {
            read_only: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(matches!(
        v.write_file("x", &b""[..], &[]),
        Err(LtfsError::ReadOnly(_))
    ));
    // Another volume's label on the data partition.
    let other = format(blank(), &options()).unwrap().unmount().unwrap();
    let mut mixed = tape;
    let label = other.record(1, 2).unwrap().to_vec();
    mixed.locate(1, 2).unwrap();
    mixed.write_record(&label).unwrap();
    mixed.write_filemarks(1, false).unwrap();
    assert!(matches!(
        Volume::mount(mixed, MountOptions::default()),
        Err(LtfsError::LabelMismatch(_))
    ));
    // A blank tape is no LTFS volume.
    let mut b = blank();
    b.format_two_partitions().unwrap();
    assert!(Volume::mount(b, MountOptions::default()).is_err());
}

#[test]
fn file_source_errors_are_reported() {
    struct Failing;
    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk gone"))
        }
    }
    let mut v = format(blank(), &options()).unwrap();
    assert!(matches!(
        v.write_file("x", Failing, &[]),
        Err(LtfsError::Io { .. })
    ));
    assert!(v.entry("x").is_err());
}

#[test]
fn torn_index_falls_back_to_the_previous_generation() {
    let mut v = format(blank(), &options()).unwrap();
    v.write_file("g2", &pattern(10_000, 1)[..], &[]).unwrap();
    v.sync().unwrap();
    v.write_file("g3", &pattern(10_000, 2)[..], &[]).unwrap();
    v.sync().unwrap();
    let mut tape = v.into_device_unsynced();
    // Lose the closing filemark of generation 3's index, as a power cut would.
    let eod = tape.end_of_data(1).unwrap();
    tape.truncate(1, eod - 1).unwrap();
    let (mut v, report) = Volume::mount(tape, MountOptions::default()).unwrap();
    let recovery = report.recovered.unwrap();
    assert_eq!(recovery.generation, 2);
    assert_eq!(read_all(&mut v, "g2"), pattern(10_000, 1));
    assert!(v.entry("g3").is_err());
}

#[test]
fn hostile_index_on_tape_is_refused_at_mount() {
    let mut v = format(blank(), &options()).unwrap();
    v.write_file("f", &pattern(100, 1)[..], &[]).unwrap();
    let mut index = v.index().clone();
    let mut device = v.into_device_unsynced();
    // An extent reaching past the index that describes it.
    let Some(Entry::File(f)) = index.root.entries.get_mut("f") else {
        panic!()
    };
    f.extents[0].start_block = 1000;
    write_index_by_hand(&mut device, index);
    assert!(matches!(
        Volume::mount(device, MountOptions::default()),
        Err(LtfsError::Index(
            tapelib_ltfs::index::IndexError::ExtentPastEnd { .. }
        ))
    ));
}

#[test]
fn crash_recovery_without_coherency_information_searches_backward() {
    let mut v = format(blank(), &options()).unwrap();
    v.write_file("kept", &pattern(5000, 1)[..], &[]).unwrap();
    v.sync().unwrap();
    v.write_file("lost", &pattern(9000, 2)[..], &[]).unwrap();
    let mut tape = v.into_device_unsynced();
    tape.remove_attribute(0, 0x080C);
    tape.remove_attribute(1, 0x080C);
    let (mut v, report) = Volume::mount(tape, MountOptions::default()).unwrap();
    let recovery = report.recovered.expect("recovery reported");
    assert_eq!(recovery.generation, 2);
    assert_eq!(recovery.unindexed_blocks, 3);
    assert_eq!(read_all(&mut v, "kept"), pattern(5000, 1));
}
