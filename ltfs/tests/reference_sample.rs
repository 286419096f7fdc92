//! Reading a volume written by the LTFS reference implementation.

mod common;

use common::{sample_tape, sha256_hex};
use tapelib_ltfs::mam::ATTR_VOLUME_CHANGE_REFERENCE;
use tapelib_ltfs::volume::{check, EntryKind, IndexSource};
use tapelib_ltfs::{MountOptions, TapeDevice, Volume};

const FILES: &[(&str, &str)] = &[
    (
        "hello.txt",
        "609ede48cc8124bd3720deb00ef0b7dde271022b48923ba6f429d8851ce73d16",
    ),
    (
        "dir:with:colons/ünïcödé.txt",
        "f682a5ef26796a5f98678d3a028d07c8853e6c5fc01005b55bd95852d00fc917",
    ),
    (
        "nested/deeper/multi-record.bin",
        "80e1c796bcad80a042188f835b6675247e683f60c49db6ba4e90ececa0d73896",
    ),
    (
        "empty.dat",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    ),
];

fn read_all<D: TapeDevice>(v: &mut Volume<D>, path: &str) -> Vec<u8> {
    let mut out = Vec::new();
    v.read_file(path, &mut out).unwrap();
    out
}

#[test]
fn mounts_lists_and_reads_the_reference_sample() {
    let tape = sample_tape();
    let (mut v, report) = Volume::mount(tape, MountOptions::default()).unwrap();
    // The loader's writes moved the volume change reference, so the full check path runs.
    assert_eq!(report.source, IndexSource::IndexPartition);
    assert!(report.recovered.is_none());
    assert_eq!(report.generation, 2);
    assert_eq!(v.barcode(), "SHR001");
    assert_eq!(v.index().volume_name.as_deref(), Some("shared-sample"));
    assert_eq!(v.label().blocksize, 524_288);

    let root: Vec<(String, EntryKind)> = v
        .list("")
        .unwrap()
        .into_iter()
        .map(|e| (e.name, e.kind))
        .collect();
    assert_eq!(
        root,
        vec![
            ("dir:with:colons".to_owned(), EntryKind::Directory),
            ("empty.dat".to_owned(), EntryKind::File),
            ("hello.txt".to_owned(), EntryKind::File),
            ("link-to-hello".to_owned(), EntryKind::Symlink),
            ("nested".to_owned(), EntryKind::Directory),
        ]
    );
    for (path, sha) in FILES {
        assert_eq!(&sha256_hex(&read_all(&mut v, path)), sha, "{path}");
    }
    assert_eq!(v.read_link("link-to-hello").unwrap(), "hello.txt");
    assert_eq!(
        v.xattr("hello.txt", "user.tapelib.note").unwrap(),
        Some(&b"an extended attribute"[..])
    );
    assert_eq!(
        v.xattr("link-to-hello", "ltfs.vendor.IBM.prefixLength")
            .unwrap(),
        Some(&b"0"[..])
    );
    // The NFD spelling of the name finds the NFC entry.
    assert!(v.entry("dir:with:colons/u\u{308}nïcödé.txt").is_ok());
}

#[test]
fn byte_ranges_of_the_multi_record_file() {
    let (mut v, _) = Volume::mount(sample_tape(), MountOptions::default()).unwrap();
    let whole = read_all(&mut v, "nested/deeper/multi-record.bin");
    assert_eq!(whole.len(), 2_560_000);
    for (off, len) in [
        (0u64, 10u64),
        (524_280, 16),
        (1_048_575, 524_290),
        (2_559_990, 100),
        (2_000_000, 0),
        (3_000_000, 5),
    ] {
        let mut out = Vec::new();
        let n = v
            .read_range("nested/deeper/multi-record.bin", off, len, &mut out)
            .unwrap();
        let start = (off as usize).min(whole.len());
        let end = ((off + len) as usize).min(whole.len());
        assert_eq!(n as usize, end - start);
        assert_eq!(out, whole[start..end], "range {off}+{len}");
    }
}

#[test]
fn coherency_information_fast_path_on_the_sample() {
    let mut tape = sample_tape();
    // Restore the cartridge's own volume change reference, as the drive would report it.
    let vcr = tape
        .read_attribute(0, ATTR_VOLUME_CHANGE_REFERENCE)
        .unwrap()
        .unwrap();
    let value = vcr.value.iter().fold(0u64, |a, &b| a << 8 | u64::from(b));
    tape.set_volume_change_reference(value);
    let (_, report) = Volume::mount(tape, MountOptions::default()).unwrap();
    assert!(report.used_coherency_information);
    assert_eq!(report.generation, 2);
}

#[test]
fn reference_checker_view_of_the_sample() {
    let mut tape = sample_tape();
    let report = check(&mut tape, false).unwrap();
    assert!(report.labels_ok);
    assert!(report.consistent, "{:?}", report.problems);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let gens: Vec<u64> = report.data_partition_chain.iter().map(|c| c.1).collect();
    assert_eq!(gens, vec![2, 1]);
}

#[test]
fn we_append_to_a_foreign_volume_and_read_it_all_back() {
    let (mut v, _) = Volume::mount(sample_tape(), MountOptions::default()).unwrap();
    v.write_file("ours.txt", &b"written by tapelib"[..], &[])
        .unwrap();
    let tape = v.unmount().unwrap();
    let (mut v, report) = Volume::mount(tape, MountOptions::default()).unwrap();
    assert!(report.used_coherency_information);
    assert_eq!(report.generation, 3);
    assert_eq!(read_all(&mut v, "ours.txt"), b"written by tapelib");
    for (path, sha) in FILES {
        assert_eq!(&sha256_hex(&read_all(&mut v, path)), sha, "{path}");
    }
    // Unknown vendor xattrs survive our rewrite.
    assert!(v
        .xattr("link-to-hello", "ltfs.vendor.IBM.prefixLength")
        .unwrap()
        .is_some());
}

#[test]
fn partition_letters_are_mapped_from_the_labels() {
    // Index partition `a` on physical partition 1, data partition `b` on 0.
    let tape = common::load_reference_image_mapped(&common::sample_dir(), true);
    let (mut v, report) = Volume::mount(tape, MountOptions::default()).unwrap();
    assert!(report.recovered.is_none());
    for (path, sha) in FILES {
        assert_eq!(&sha256_hex(&read_all(&mut v, path)), sha, "{path}");
    }
    v.write_file("new", &b"swapped"[..], &[]).unwrap();
    let tape = v.unmount().unwrap();
    // Data went to physical partition 0, which holds `b`.
    assert!(tape.record(0, 17).is_some());
    let (mut v, report) = Volume::mount(tape, MountOptions::default()).unwrap();
    assert!(report.used_coherency_information);
    assert_eq!(read_all(&mut v, "new"), b"swapped");
}
