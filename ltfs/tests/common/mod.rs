//! Test helpers: loading an LTFS reference file-backend image into a `MemTape`.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use tapelib_ltfs::{MamAttribute, MamFormat, MemTape, TapeDevice};

/// The reference sample: `$TAPELIB_SHARED_DIR/fixtures/ltfs-reference-sample`, by default the
/// `shared/` directory beside the repository.
pub fn sample_dir() -> std::path::PathBuf {
    let shared = std::env::var_os("TAPELIB_SHARED_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let dir = shared.join("fixtures/ltfs-reference-sample");
    assert!(
        dir.is_dir(),
        "LTFS reference sample not found at {} (set TAPELIB_SHARED_DIR)",
        dir.display()
    );
    dir
}

/// What a file name of the reference file backend means.
enum Item {
    Record(Vec<u8>),
    Filemark,
    EndOfData,
}

/// Loads a reference file-backend directory: `<partition>_<block>_R` records, `_F` filemarks,
/// `_E` end of data, `attr_<partition>_<hex id>` MAM attributes with a 5-byte header (id u16,
/// format u8, length u16, big-endian) followed by the value.
pub fn load_reference_image(dir: &Path) -> MemTape {
    load_reference_image_mapped(dir, false)
}

/// Like [`load_reference_image`]; with `swap`, the image's partition 0 goes to physical
/// partition 1 and the other way round.
pub fn load_reference_image_mapped(dir: &Path, swap: bool) -> MemTape {
    let mut blocks: BTreeMap<(u8, u64), Item> = BTreeMap::new();
    let mut attrs = Vec::new();
    for entry in std::fs::read_dir(dir).expect("image directory") {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        let bytes = std::fs::read(entry.path()).unwrap();
        if let Some(rest) = name.strip_prefix("attr_") {
            let (p, id) = rest.split_once('_').unwrap();
            let partition: u8 = p.parse::<u8>().unwrap() ^ u8::from(swap);
            let id = u16::from_str_radix(id, 16).unwrap();
            assert!(bytes.len() >= 5, "{name}: short attribute");
            assert_eq!(u16::from_be_bytes([bytes[0], bytes[1]]), id, "{name}");
            let len = usize::from(u16::from_be_bytes([bytes[3], bytes[4]]));
            assert_eq!(bytes.len(), 5 + len, "{name}: length field");
            let format = MamFormat::from_code(bytes[2]).unwrap();
            attrs.push((
                partition,
                MamAttribute {
                    id,
                    format,
                    value: bytes[5..].to_vec(),
                },
            ));
            continue;
        }
        let parts: Vec<&str> = name.split('_').collect();
        let Ok(partition) = parts[0].parse::<u8>() else {
            continue; // filedebug_tc_conf.xml and the like
        };
        let partition = partition ^ u8::from(swap);
        assert_eq!(parts.len(), 3, "{name}");
        let block: u64 = parts[1].parse().unwrap();
        let item = match parts[2] {
            "R" => Item::Record(bytes),
            "F" => Item::Filemark,
            "E" => Item::EndOfData,
            other => panic!("unknown kind {other}"),
        };
        blocks.insert((partition, block), item);
    }
    let mut tape = MemTape::with_partitions(1 << 30, 3 << 30, 1 << 20);
    for partition in 0..2u8 {
        tape.locate(partition, 0).unwrap();
        for block in 0.. {
            match blocks.get(&(partition, block)) {
                Some(Item::Record(r)) => {
                    tape.write_record(r).unwrap();
                }
                Some(Item::Filemark) => {
                    tape.write_filemarks(1, false).unwrap();
                }
                Some(Item::EndOfData) => break,
                None => panic!("partition {partition} block {block} missing"),
            }
        }
    }
    for (partition, attr) in attrs {
        tape.write_attribute(partition, &attr).unwrap();
    }
    tape
}

pub fn sample_tape() -> MemTape {
    load_reference_image(&sample_dir())
}

pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
