//! Cartridge storage: persistence across reopen, truncation, CRC checks, torn-tail recovery,
//! MAM and metadata persistence, partitions.

use std::fs::OpenOptions;
use std::io::Write;

use tapelib_sim::cartridge::mam::MamAttribute;
use tapelib_sim::cartridge::{Cartridge, CartridgeError, CartridgeSpec, ObjectKind};

fn spec(barcode: &str) -> CartridgeSpec {
    CartridgeSpec::from_barcode(barcode).unwrap()
}

fn rec(i: usize, len: usize) -> Vec<u8> {
    (0..len).map(|j| (i * 7 + j) as u8).collect()
}

#[test]
fn persists_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ST0001L8");
    {
        let mut c = Cartridge::create(&path, spec("ST0001L8")).unwrap();
        for i in 0..10 {
            c.write_record(0, i as u64, &rec(i, 1000 + i)).unwrap();
        }
        c.write_filemarks(0, 10, 2).unwrap();
        c.set_attribute(
            0,
            MamAttribute {
                id: 0x0800,
                format: 1,
                read_only: false,
                value: b"VENDOR  ".to_vec(),
            },
        )
        .unwrap();
        c.sync().unwrap();
    }
    assert!(matches!(
        Cartridge::create(&path, spec("ST0001L8")),
        Err(CartridgeError::AlreadyExists(_))
    ));
    let mut c = Cartridge::open(&path).unwrap();
    assert_eq!(c.barcode(), "ST0001L8");
    assert_eq!(c.object_count(0), 12);
    assert_eq!(c.object(0, 11).unwrap().kind, ObjectKind::Filemark);
    let mut buf = vec![0u8; 2000];
    for i in 0..10 {
        let n = c.read_record(0, i as u64, &mut buf).unwrap();
        assert_eq!(&buf[..n], &rec(i, 1000 + i)[..]);
    }
    assert_eq!(c.mam().get(0, 0x0800).unwrap().value, b"VENDOR  ");
    // No preallocation: the data file holds exactly the records.
    let data_len = std::fs::metadata(path.join("p0.data")).unwrap().len();
    assert_eq!(data_len, (0..10).map(|i| 1000 + i as u64).sum::<u64>());
}

#[test]
fn write_in_the_middle_truncates_both_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ST0002L8");
    let mut c = Cartridge::create(&path, spec("ST0002L8")).unwrap();
    for i in 0..5 {
        c.write_record(0, i, &rec(i as usize, 100)).unwrap();
    }
    c.write_record(0, 2, b"short").unwrap();
    c.sync().unwrap();
    assert_eq!(c.object_count(0), 3);
    assert_eq!(std::fs::metadata(path.join("p0.data")).unwrap().len(), 205);
    assert_eq!(
        std::fs::metadata(path.join("p0.idx")).unwrap().len(),
        3 * 24
    );
    // Writing past end of data is refused.
    assert!(matches!(
        c.write_record(0, 7, b"x"),
        Err(CartridgeError::BeyondEndOfData { .. })
    ));
}

#[test]
fn torn_tail_is_dropped_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ST0003L8");
    {
        let mut c = Cartridge::create(&path, spec("ST0003L8")).unwrap();
        for i in 0..6 {
            c.write_record(0, i, &rec(i as usize, 4096)).unwrap();
        }
        c.sync().unwrap();
    }
    // Simulate a crash mid-write: the last record's data is cut short, and half an index
    // entry follows.
    let data = path.join("p0.data");
    let len = std::fs::metadata(&data).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&data)
        .unwrap()
        .set_len(len - 100)
        .unwrap();
    OpenOptions::new()
        .append(true)
        .open(path.join("p0.idx"))
        .unwrap()
        .write_all(&[b'R', 0, 0])
        .unwrap();
    let mut c = Cartridge::open(&path).unwrap();
    assert_eq!(c.object_count(0), 5);
    let mut buf = vec![0u8; 4096];
    assert_eq!(c.read_record(0, 4, &mut buf).unwrap(), 4096);
    assert_eq!(buf, rec(4, 4096));
    // Appending continues cleanly after recovery.
    c.write_record(0, 5, b"after").unwrap();
    c.sync().unwrap();
    drop(c);
    let mut c = Cartridge::open(&path).unwrap();
    assert_eq!(c.object_count(0), 6);
    assert_eq!(c.read_record(0, 5, &mut buf).unwrap(), 5);
}

#[test]
fn torn_tail_with_bad_crc_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ST0004L8");
    {
        let mut c = Cartridge::create(&path, spec("ST0004L8")).unwrap();
        for i in 0..3 {
            c.write_record(0, i, &rec(i as usize, 512)).unwrap();
        }
        c.sync().unwrap();
    }
    // The last record's bytes are garbage (the page never reached the disk).
    let data = path.join("p0.data");
    let mut bytes = std::fs::read(&data).unwrap();
    let n = bytes.len();
    bytes[n - 10..].fill(0);
    std::fs::write(&data, &bytes).unwrap();
    let c = Cartridge::open(&path).unwrap();
    assert_eq!(c.object_count(0), 2);
}

#[test]
fn crc_mismatch_in_the_middle_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ST0005L8");
    {
        let mut c = Cartridge::create(&path, spec("ST0005L8")).unwrap();
        for i in 0..3 {
            c.write_record(0, i, &rec(i as usize, 512)).unwrap();
        }
        c.sync().unwrap();
    }
    let data = path.join("p0.data");
    let mut bytes = std::fs::read(&data).unwrap();
    bytes[600] ^= 1;
    std::fs::write(&data, &bytes).unwrap();
    let mut c = Cartridge::open(&path).unwrap();
    assert_eq!(c.object_count(0), 3);
    let mut buf = vec![0u8; 512];
    assert!(matches!(
        c.read_record(0, 1, &mut buf),
        Err(CartridgeError::CrcMismatch {
            partition: 0,
            block: 1
        })
    ));
    // A short buffer still checks the whole record.
    let mut small = [0u8; 4];
    assert!(matches!(
        c.read_record(0, 1, &mut small),
        Err(CartridgeError::CrcMismatch { .. })
    ));
    assert!(c.read_record(0, 2, &mut buf).is_ok());
}

#[test]
fn format_partitions_and_persists_layout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ST0006L7");
    let mut s = spec("ST0006L7");
    s.capacity_bytes = Some(1_000_000);
    let mut c = Cartridge::create(&path, s).unwrap();
    c.write_record(0, 0, b"gone").unwrap();
    assert!(c.format(&[600_000, 500_000]).is_err());
    c.format(&[100_000, 900_000]).unwrap();
    assert_eq!(c.object_count(0), 0);
    c.write_record(1, 0, b"p1").unwrap();
    c.sync().unwrap();
    let vcr = c.peek_volume_change_reference();
    drop(c);
    let mut c = Cartridge::open(&path).unwrap();
    assert_eq!(c.partition_count(), 2);
    assert_eq!(c.partition_capacity(1), 900_000);
    assert_eq!(c.object_count(1), 1);
    assert_eq!(c.peek_volume_change_reference(), vcr);
    c.format(&[1_000_000]).unwrap();
    assert_eq!(c.partition_count(), 1);
    assert!(!path.join("p1.data").exists());
    assert!(c.write_record(1, 0, b"x").is_err());
}

#[test]
fn write_protect_and_faults_persist() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ST0007L9");
    let mut c = Cartridge::create(&path, spec("ST0007L9")).unwrap();
    c.set_write_protected(true).unwrap();
    c.faults_mut().read_errors.insert((0, 5));
    c.sync().unwrap();
    drop(c);
    let c = Cartridge::open(&path).unwrap();
    assert!(c.write_protected());
    assert!(c.faults().read_errors.contains(&(0, 5)));
    assert_eq!(c.kind().density_code(), 0x60);
}
