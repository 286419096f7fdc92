//! Import and export in the layout of the LTFS reference implementation's file backend: one file
//! per object — `<partition>_<block>_R` (record bytes), `<partition>_<block>_F` (filemark),
//! `<partition>_<block>_E` (end of data), blocks from 0 contiguous per partition, decimal — and
//! one file per MAM attribute, `attr_<partition>_<id in lower-case hex>`, holding the 5-byte
//! attribute header (id, format, length; big-endian) and the value.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use super::mam::{self, MamAttribute};
use super::{Cartridge, CartridgeError, CartridgeSpec, ObjectKind, MAX_PARTITIONS};

fn layout_err(path: &Path, reason: impl Into<String>) -> CartridgeError {
    CartridgeError::ReferenceLayout {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn io_err(path: &Path, source: std::io::Error) -> CartridgeError {
    CartridgeError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `cart` into `out_dir` (created if needed).
pub fn export(cart: &mut Cartridge, out_dir: &Path) -> Result<(), CartridgeError> {
    fs::create_dir_all(out_dir).map_err(|e| io_err(out_dir, e))?;
    cart.flush()?;
    let mut buf = Vec::new();
    for p in 0..cart.partition_count() {
        let entries = cart.objects(p).to_vec();
        for (block, e) in entries.iter().enumerate() {
            let block = block as u64;
            match e.kind {
                ObjectKind::Record => {
                    buf.resize(e.length as usize, 0);
                    let n = cart.store_mut(p)?.read_record(block, &mut buf)?;
                    let path = out_dir.join(format!("{p}_{block}_R"));
                    fs::write(&path, &buf[..n]).map_err(|e| io_err(&path, e))?;
                }
                ObjectKind::Filemark => {
                    let path = out_dir.join(format!("{p}_{block}_F"));
                    fs::write(&path, b"").map_err(|e| io_err(&path, e))?;
                }
            }
        }
        let path = out_dir.join(format!("{p}_{}_E", entries.len()));
        fs::write(&path, b"").map_err(|e| io_err(&path, e))?;
        let mut attrs: Vec<MamAttribute> = cart.mam().partition(p).cloned().collect();
        if p == 0 {
            // The reference backend keeps the volume change reference as a stored attribute.
            attrs.push(MamAttribute {
                id: mam::id::VOLUME_CHANGE_REFERENCE,
                format: mam::format::BINARY,
                read_only: false,
                value: cart.peek_volume_change_reference().to_be_bytes().to_vec(),
            });
        }
        for mut a in attrs {
            a.read_only = false;
            let path = out_dir.join(format!("attr_{p}_{:x}", a.id));
            fs::write(&path, a.encode()).map_err(|e| io_err(&path, e))?;
        }
    }
    Ok(())
}

enum RefObject {
    Record,
    Filemark,
    EndOfData,
}

/// Parses `<p>_<b>_<K>` names.
fn parse_object_name(name: &str) -> Option<(u8, u64, RefObject)> {
    let mut it = name.splitn(3, '_');
    let p = it.next()?;
    let b = it.next()?;
    let k = it.next()?;
    if !p.bytes().all(|c| c.is_ascii_digit()) || !b.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let kind = match k {
        "R" => RefObject::Record,
        "F" => RefObject::Filemark,
        "E" => RefObject::EndOfData,
        _ => return None,
    };
    Some((p.parse().ok()?, b.parse().ok()?, kind))
}

/// Parses `attr_<p>_<hex id>` names.
fn parse_attr_name(name: &str) -> Option<(u8, u16)> {
    let rest = name.strip_prefix("attr_")?;
    let (p, id) = rest.split_once('_')?;
    if p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some((p.parse().ok()?, u16::from_str_radix(id, 16).ok()?))
}

/// Builds a cartridge in `dest_dir` from the reference layout in `src_dir`.
pub fn import(
    src_dir: &Path,
    dest_dir: &Path,
    spec: CartridgeSpec,
) -> Result<Cartridge, CartridgeError> {
    // partition -> block -> (is filemark, path); partition -> end-of-data block.
    let mut objects: BTreeMap<u8, BTreeMap<u64, Option<std::path::PathBuf>>> = BTreeMap::new();
    let mut eod: BTreeMap<u8, u64> = BTreeMap::new();
    let mut attrs: Vec<(u8, MamAttribute)> = Vec::new();
    for entry in fs::read_dir(src_dir).map_err(|e| io_err(src_dir, e))? {
        let entry = entry.map_err(|e| io_err(src_dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let path = entry.path();
        if let Some((p, block, kind)) = parse_object_name(name) {
            if p >= MAX_PARTITIONS {
                return Err(layout_err(&path, format!("partition {p} is not supported")));
            }
            match kind {
                RefObject::Record => {
                    objects.entry(p).or_default().insert(block, Some(path));
                }
                RefObject::Filemark => {
                    objects.entry(p).or_default().insert(block, None);
                }
                RefObject::EndOfData => {
                    if eod.insert(p, block).is_some() {
                        return Err(layout_err(&path, "two end-of-data markers"));
                    }
                }
            }
        } else if let Some((p, id)) = parse_attr_name(name) {
            let raw = fs::read(&path).map_err(|e| io_err(&path, e))?;
            let (attr, used) = MamAttribute::decode(&raw)
                .ok_or_else(|| layout_err(&path, "attribute header or value truncated"))?;
            if attr.id != id || used != raw.len() {
                return Err(layout_err(
                    &path,
                    "attribute header does not match the file",
                ));
            }
            attrs.push((p, attr));
        } else {
            tracing::debug!(file = name, "ignoring file in reference layout");
        }
    }
    let partitions = objects
        .keys()
        .chain(eod.keys())
        .copied()
        .max()
        .map_or(1, |p| p + 1);
    let mut used = vec![0u64; usize::from(partitions)];
    for p in 0..partitions {
        let objs = objects.get(&p);
        let count = objs.map_or(0, |o| o.len() as u64);
        if let Some(o) = objs {
            if o.keys().next_back().is_some_and(|&last| last + 1 != count) {
                return Err(layout_err(
                    src_dir,
                    format!("partition {p}: blocks are not contiguous from 0"),
                ));
            }
            for path in o.values().flatten() {
                let len = fs::metadata(path).map_err(|e| io_err(path, e))?.len();
                used[usize::from(p)] += len;
            }
        }
        if let Some(&e) = eod.get(&p) {
            if e != count {
                return Err(layout_err(
                    src_dir,
                    format!("partition {p}: end of data at {e}, {count} objects"),
                ));
            }
        }
    }
    let total = spec.total_capacity();
    let sizes: Vec<u64> = if partitions == 1 {
        vec![total]
    } else {
        let p0 = (total / 20).max(used[0]).min(total);
        vec![p0, total - p0]
    };
    for (p, (&u, &s)) in used.iter().zip(&sizes).enumerate() {
        if u > s || s == 0 {
            return Err(layout_err(
                src_dir,
                format!("partition {p}: {u} bytes exceed its capacity {s}"),
            ));
        }
    }
    let mut cart = Cartridge::create(dest_dir, spec)?;
    if partitions > 1 {
        cart.format(&sizes)?;
    }
    let mut buf = Vec::new();
    for (p, objs) in &objects {
        for (&block, obj) in objs {
            match obj {
                Some(path) => {
                    buf.clear();
                    let data = fs::read(path).map_err(|e| io_err(path, e))?;
                    buf.extend_from_slice(&data);
                    cart.write_record(*p, block, &buf)?;
                }
                None => cart.write_filemarks(*p, block, 1)?,
            }
        }
    }
    // Writing counted as host writes; an import is a new cartridge, not traffic.
    *cart.stats_mut() = Default::default();
    let mut vcr = None;
    for (p, attr) in attrs {
        if attr.id == mam::id::VOLUME_CHANGE_REFERENCE {
            let v = &attr.value;
            let n = v
                .iter()
                .rev()
                .take(4)
                .rev()
                .fold(0u32, |acc, b| acc << 8 | u32::from(*b));
            vcr = Some(n);
        } else if mam::host_writable(attr.id) && p < partitions {
            cart.set_attribute(
                p,
                MamAttribute {
                    read_only: false,
                    ..attr
                },
            )?;
        }
    }
    if let Some(v) = vcr {
        cart.set_volume_change_reference(v);
    }
    cart.sync()?;
    Ok(cart)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(matches!(
            parse_object_name("1_17_E"),
            Some((1, 17, RefObject::EndOfData))
        ));
        assert!(matches!(
            parse_object_name("0_0_R"),
            Some((0, 0, RefObject::Record))
        ));
        assert!(parse_object_name("0_x_R").is_none());
        assert!(parse_object_name("0_1_Q").is_none());
        assert!(parse_object_name("attr_0_9").is_none());
        assert_eq!(parse_attr_name("attr_0_80c"), Some((0, 0x080c)));
        assert_eq!(parse_attr_name("attr_1_1623"), Some((1, 0x1623)));
        assert_eq!(parse_attr_name("attr__1"), None);
        assert_eq!(parse_attr_name("attr_0_zz"), None);
    }
}
