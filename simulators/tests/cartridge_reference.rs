//! Import and export in the LTFS reference file-backend layout, against a real sample volume.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tapelib_sim::cartridge::{Cartridge, CartridgeSpec, ObjectKind};

/// The shared LTFS reference sample (a missing sample fails the test).
pub fn sample_dir() -> PathBuf {
    tapelib_sim::testing::reference_sample_dir().unwrap()
}

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| {
            let n = e.file_name().to_string_lossy().to_string();
            n.starts_with("attr_") || n.starts_with("0_") || n.starts_with("1_")
        })
        .map(|e| {
            (
                e.file_name().to_string_lossy().to_string(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn imports_the_reference_sample() {
    let src = sample_dir();
    let dir = tempfile::tempdir().unwrap();
    let spec = CartridgeSpec::from_barcode("SHR001L5").unwrap();
    let mut c =
        Cartridge::import_reference_layout(&src, &dir.path().join("SHR001L5"), spec).unwrap();
    assert_eq!(c.partition_count(), 2);
    assert_eq!(c.object_count(0), 7);
    assert_eq!(c.object_count(1), 17);
    let kinds: Vec<ObjectKind> = c.objects(0).iter().map(|e| e.kind).collect();
    use ObjectKind::*;
    assert_eq!(
        kinds,
        vec![Record, Filemark, Record, Filemark, Filemark, Record, Filemark]
    );
    // The VOL1 label is 80 bytes and starts as LTFS writes it.
    let mut buf = vec![0u8; 1 << 20];
    let n = c.read_record(0, 0, &mut buf).unwrap();
    assert_eq!(n, 80);
    assert_eq!(&buf[..4], b"VOL1");
    assert_eq!(&buf[24..28], b"LTFS");
    // Every record matches its file byte for byte.
    for p in 0..2u8 {
        for b in 0..c.object_count(p) {
            let file = src.join(format!("{p}_{b}_R"));
            if file.exists() {
                let want = std::fs::read(&file).unwrap();
                let n = c.read_record(p, b, &mut buf).unwrap();
                assert_eq!(&buf[..n], &want[..], "{p}_{b}");
            } else {
                assert_eq!(c.object(p, b).unwrap().kind, Filemark);
            }
        }
    }
    assert_eq!(
        c.used_bytes(1),
        80 + 489 + 902 + 11 + 13 + 4 * 524288 + 462848 + 5034
    );
    // MAM: host attributes per partition and the volume change reference.
    assert_eq!(&c.mam().get(0, 0x0800).unwrap().value, b"IBM     ");
    assert_eq!(c.mam().get(0, 0x0806).unwrap().value.len(), 32);
    assert!(c.mam().get(1, 0x080C).is_some());
    assert!(c.mam().get(1, 0x0800).is_none());
    assert_eq!(c.peek_volume_change_reference(), 2);
}

#[test]
fn export_then_import_round_trips() {
    let src = sample_dir();
    let dir = tempfile::tempdir().unwrap();
    let spec = CartridgeSpec::from_barcode("SHR001L5").unwrap();
    let mut c =
        Cartridge::import_reference_layout(&src, &dir.path().join("a"), spec.clone()).unwrap();
    let out = dir.path().join("export");
    c.export_reference_layout(&out).unwrap();
    // The export reproduces the sample's files exactly.
    assert_eq!(files(&out), files(&src));
    // And importing the export gives the same cartridge.
    let mut d = Cartridge::import_reference_layout(&out, &dir.path().join("b"), spec).unwrap();
    let mut b1 = vec![0u8; 1 << 20];
    let mut b2 = vec![0u8; 1 << 20];
    for p in 0..2u8 {
        assert_eq!(c.objects(p), d.objects(p));
        for b in 0..c.object_count(p) {
            if c.object(p, b).unwrap().kind == ObjectKind::Record {
                let n1 = c.read_record(p, b, &mut b1).unwrap();
                let n2 = d.read_record(p, b, &mut b2).unwrap();
                assert_eq!(b1[..n1], b2[..n2]);
            }
        }
    }
    assert_eq!(c.mam(), d.mam());
}

#[test]
fn written_cartridge_exports_in_the_layout() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Cartridge::create(
        &dir.path().join("c"),
        CartridgeSpec::from_barcode("EXP001L8").unwrap(),
    )
    .unwrap();
    c.write_record(0, 0, b"first").unwrap();
    c.write_filemarks(0, 1, 1).unwrap();
    c.write_record(0, 2, b"").unwrap();
    let out = dir.path().join("out");
    c.export_reference_layout(&out).unwrap();
    let f = files(&out);
    assert_eq!(f["0_0_R"], b"first");
    assert_eq!(f["0_1_F"], b"");
    assert_eq!(f["0_2_R"], b"");
    assert_eq!(f["0_3_E"], b"");
    let bc = &f["attr_0_806"];
    assert_eq!(&bc[..5], &[0x08, 0x06, 0x01, 0x00, 0x20]);
    assert_eq!(&f["attr_0_9"][..5], &[0x00, 0x09, 0x00, 0x00, 0x04]);
}

#[test]
fn malformed_layouts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("bad");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("0_0_R"), b"x").unwrap();
    std::fs::write(src.join("0_2_R"), b"gap").unwrap();
    let spec = CartridgeSpec::from_barcode("BAD001L8").unwrap();
    assert!(
        Cartridge::import_reference_layout(&src, &dir.path().join("c1"), spec.clone()).is_err()
    );
    std::fs::remove_file(src.join("0_2_R")).unwrap();
    std::fs::write(src.join("0_5_E"), b"").unwrap();
    assert!(
        Cartridge::import_reference_layout(&src, &dir.path().join("c2"), spec.clone()).is_err()
    );
    std::fs::remove_file(src.join("0_5_E")).unwrap();
    std::fs::write(src.join("attr_0_800"), [0x08, 0x00, 0x01, 0x00, 0x09, b'a']).unwrap();
    assert!(
        Cartridge::import_reference_layout(&src, &dir.path().join("c3"), spec.clone()).is_err()
    );
    std::fs::write(src.join("attr_0_800"), [0x08, 0x01, 0x01, 0x00, 0x01, b'a']).unwrap();
    assert!(
        Cartridge::import_reference_layout(&src, &dir.path().join("c4"), spec.clone()).is_err()
    );
    std::fs::write(src.join("attr_0_800"), [0x08, 0x00, 0x01, 0x00, 0x01, b'a']).unwrap();
    let c = Cartridge::import_reference_layout(&src, &dir.path().join("c5"), spec).unwrap();
    assert_eq!(c.object_count(0), 1);
}
