//! Interoperability with the LTFS reference implementation's file-backend layout, end to end:
//! images imported into the simulated library, inserted by the operator, moved into a drive by
//! the changer and mounted with tapelib-ltfs through `Drive<SimTransport>`; and volumes written
//! here exported in that layout and mounted again.

mod ltfs_common;

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256};
use tapelib_ltfs::index::Xattr;
use tapelib_ltfs::mam::VolumeCoherency;
use tapelib_ltfs::volume::{EntryKind, IndexSource};
use tapelib_ltfs::{format, FormatOptions, MountOptions, Volume};
use tapelib_scsi::Drive;
use tapelib_sim::transport::SimTransport;

use ltfs_common::{sample_dir, Pattern, SimLibrary};

type SimVolume = Volume<Drive<SimTransport>>;

/// What a listing entry holds: file (length, SHA-256), directory, or symlink target; with its
/// extended attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    File { length: u64, sha256: String },
    Dir,
    Link(String),
}

/// Path → (what it holds, sorted extended attributes).
type Tree = BTreeMap<String, (Node, Vec<(String, Vec<u8>)>)>;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every path under the root with what it holds, reading every file in full.
fn walk(volume: &mut SimVolume) -> Tree {
    let mut out = BTreeMap::new();
    let mut pending = vec![String::new()];
    while let Some(dir) = pending.pop() {
        for e in volume.list(&dir).unwrap() {
            let path = if dir.is_empty() {
                e.name.clone()
            } else {
                format!("{dir}/{}", e.name)
            };
            let node = match e.kind {
                EntryKind::Directory => {
                    pending.push(path.clone());
                    Node::Dir
                }
                EntryKind::Symlink => Node::Link(volume.read_link(&path).unwrap().to_owned()),
                EntryKind::File => {
                    let mut h = Sha256::new();
                    let length = volume.read_file(&path, &mut h).unwrap();
                    assert_eq!(length, e.length, "{path}: listed length");
                    Node::File {
                        length,
                        sha256: hex(&h.finalize()),
                    }
                }
            };
            let mut xattrs: Vec<(String, Vec<u8>)> = volume
                .entry(&path)
                .unwrap()
                .xattrs()
                .iter()
                .map(|x| (x.key.clone(), x.value.clone()))
                .collect();
            xattrs.sort();
            out.insert(path, (node, xattrs));
        }
    }
    out
}

fn file(length: u64, sha256: &str) -> Node {
    Node::File {
        length,
        sha256: sha256.to_owned(),
    }
}

/// Imports `image` as cartridge `barcode`, inserts it through the I/E station and loads it.
fn import_and_load(lib: &mut SimLibrary, image: &Path, barcode: &str) -> Drive<SimTransport> {
    lib.library
        .import_cartridge_image(image, barcode, false, None)
        .unwrap();
    let ie = lib.library.operator_insert(barcode, None).unwrap();
    assert_eq!(lib.element_of(barcode), ie, "inventory sees the insert");
    lib.load(barcode)
}

#[test]
fn reference_sample_mounts_lists_and_reads_through_the_simulated_drive() {
    let mut lib = SimLibrary::open();
    let drive = import_and_load(&mut lib, &sample_dir(), "SHR001L8");
    let options = MountOptions {
        read_only: true,
        ..MountOptions::default()
    };
    let (mut volume, report) = Volume::mount(drive, options).unwrap();
    assert_eq!(report.recovered, None, "{report:?}");
    assert_eq!(volume.barcode(), "SHR001");
    assert_eq!(volume.index().volume_name.as_deref(), Some("shared-sample"));
    let tree = walk(&mut volume);
    let nodes: BTreeMap<String, Node> = tree
        .iter()
        .map(|(p, (n, _))| (p.clone(), n.clone()))
        .collect();
    let want: BTreeMap<String, Node> = [
        (
            "hello.txt",
            file(
                tree_len(&tree, "hello.txt"),
                "609ede48cc8124bd3720deb00ef0b7dde271022b48923ba6f429d8851ce73d16",
            ),
        ),
        ("dir:with:colons", Node::Dir),
        (
            "dir:with:colons/ünïcödé.txt",
            file(
                tree_len(&tree, "dir:with:colons/ünïcödé.txt"),
                "f682a5ef26796a5f98678d3a028d07c8853e6c5fc01005b55bd95852d00fc917",
            ),
        ),
        ("nested", Node::Dir),
        ("nested/deeper", Node::Dir),
        (
            "nested/deeper/multi-record.bin",
            file(
                2_560_000,
                "80e1c796bcad80a042188f835b6675247e683f60c49db6ba4e90ececa0d73896",
            ),
        ),
        (
            "empty.dat",
            file(
                0,
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
        ),
        ("link-to-hello", Node::Link("hello.txt".into())),
    ]
    .into_iter()
    .map(|(p, n)| (p.to_owned(), n))
    .collect();
    assert_eq!(nodes, want);
    assert_eq!(
        volume.xattr("hello.txt", "tapelib.note").unwrap(),
        Some(&b"an extended attribute"[..])
    );
    // A range across the sample's 512 KiB record boundary, against the whole-file bytes.
    let mut whole = Vec::new();
    volume
        .read_file("nested/deeper/multi-record.bin", &mut whole)
        .unwrap();
    let mut part = Vec::new();
    volume
        .read_range("nested/deeper/multi-record.bin", 524_000, 1_000, &mut part)
        .unwrap();
    assert_eq!(part, whole[524_000..525_000]);
    let drive = volume.unmount().unwrap();
    lib.unload(drive);
}

fn tree_len(tree: &Tree, path: &str) -> u64 {
    match tree.get(path) {
        Some((Node::File { length, .. }, _)) => *length,
        _ => u64::MAX,
    }
}

/// Checks a directory holds the reference file-backend layout: per partition, `<p>_<n>_R`
/// records and `<p>_<n>_F` filemarks numbered from 0 without gaps, then one `<p>_<n>_E`; MAM as
/// `attr_<p>_<lower-case hex id>` with the 5-byte header. Returns the attributes per partition.
fn check_reference_layout(dir: &Path) -> BTreeMap<(u8, u16), Vec<u8>> {
    let mut objects: BTreeMap<(u8, u64), char> = BTreeMap::new();
    let mut attrs = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if let Some(rest) = name.strip_prefix("attr_") {
            let (p, id) = rest.split_once('_').expect("attr_<p>_<id>");
            assert_eq!(id, id.to_ascii_lowercase(), "{name}: lower-case hex");
            assert!(!id.starts_with('0'), "{name}: no leading zeros");
            let p: u8 = p.parse().unwrap();
            let id = u16::from_str_radix(id, 16).unwrap();
            let bytes = std::fs::read(dir.join(&name)).unwrap();
            assert!(bytes.len() >= 5, "{name}: header");
            assert_eq!(u16::from_be_bytes([bytes[0], bytes[1]]), id, "{name}: id");
            let len = usize::from(u16::from_be_bytes([bytes[3], bytes[4]]));
            assert_eq!(bytes.len(), 5 + len, "{name}: length");
            attrs.insert((p, id), bytes[5..].to_vec());
            continue;
        }
        let parts: Vec<&str> = name.split('_').collect();
        match parts[..] {
            [p, n, kind @ ("R" | "F" | "E")] => {
                let p: u8 = p.parse().unwrap_or_else(|_| panic!("{name}"));
                let n: u64 = n.parse().unwrap_or_else(|_| panic!("{name}"));
                let kind = kind.chars().next().unwrap();
                if kind != 'R' {
                    let len = std::fs::metadata(dir.join(&name)).unwrap().len();
                    assert_eq!(len, 0, "{name}: markers are empty files");
                }
                objects.insert((p, n), kind);
            }
            _ => assert_eq!(name, "filedebug_tc_conf.xml", "unexpected file"),
        }
    }
    for p in 0..2u8 {
        let kinds: Vec<char> = objects
            .range((p, 0)..=(p, u64::MAX))
            .map(|(_, &k)| k)
            .collect();
        let numbers: Vec<u64> = objects
            .range((p, 0)..=(p, u64::MAX))
            .map(|(&(_, n), _)| n)
            .collect();
        assert_eq!(numbers, (0..numbers.len() as u64).collect::<Vec<_>>());
        assert_eq!(kinds.last(), Some(&'E'), "partition {p} ends with _E");
        assert_eq!(kinds.iter().filter(|&&k| k == 'E').count(), 1);
        // Label construct, then an index construct: VOL1, F, label, F, F, index.
        assert_eq!(&kinds[..6], ['R', 'F', 'R', 'F', 'F', 'R'], "partition {p}");
        let vol1 = std::fs::read(dir.join(format!("{p}_0_R"))).unwrap();
        assert_eq!(vol1.len(), 80);
        assert_eq!(&vol1[..4], b"VOL1");
        assert_eq!(&vol1[24..28], b"LTFS");
    }
    attrs
}

#[test]
fn volume_written_here_exports_to_the_reference_layout_and_mounts_again() {
    let mut lib = SimLibrary::open();
    let drive = lib.load("LTF001L8");
    let mut volume = format(drive, &FormatOptions::new("LTF001", Some("exported"))).unwrap();
    volume.create_dir_all("a/b").unwrap();
    volume.create_dir("dir:with:colons").unwrap();
    volume
        .write_file(
            "a/b/multi-record.bin",
            Pattern::new(30, 3 * 512 * 1024 + 99),
            &[],
        )
        .unwrap();
    volume
        .write_file(
            "dir:with:colons/ünïcödé.txt",
            Pattern::new(31, 17),
            &[Xattr {
                key: "user.tapelib.note".into(),
                value: b"exported".to_vec(),
            }],
        )
        .unwrap();
    volume
        .write_file("empty.dat", Pattern::new(32, 0), &[])
        .unwrap();
    volume
        .create_symlink("link", "a/b/multi-record.bin")
        .unwrap();
    volume.sync().unwrap();
    volume
        .write_file("after-sync", Pattern::new(33, 4096), &[])
        .unwrap();
    let original = walk(&mut volume);
    let generation = volume.index().generation;
    let drive = volume.unmount().unwrap();
    lib.unload(drive);

    let image = tempfile::tempdir().unwrap();
    lib.library
        .export_cartridge_image("LTF001L8", image.path())
        .unwrap();
    let attrs = check_reference_layout(image.path());
    // Volume Coherency Information on both partitions, naming the unmount's generation.
    for p in 0..2u8 {
        let value = attrs
            .get(&(p, 0x080C))
            .unwrap_or_else(|| panic!("attr_{p}_80c missing"));
        let vci = VolumeCoherency::decode(value).unwrap();
        assert_eq!(vci.generation, generation + 1, "partition {p}");
    }
    assert!(attrs.contains_key(&(0, 0x0009)), "volume change reference");

    let drive = import_and_load(&mut lib, image.path(), "EXP001L8");
    let (mut volume, report) = Volume::mount(drive, MountOptions::default()).unwrap();
    assert_eq!(report.recovered, None, "{report:?}");
    assert_eq!(report.source, IndexSource::IndexPartition);
    assert_eq!(
        volume.barcode(),
        "LTF001",
        "the VOL1 label travels with the image"
    );
    assert_eq!(walk(&mut volume), original);
    let drive = volume.unmount().unwrap();
    lib.unload(drive);
}
