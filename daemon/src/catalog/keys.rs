//! Key layout of the catalog trees. Text parts are joined by NUL (validated absent from
//! names); numbers are big-endian so that byte order equals numeric order.

use time::OffsetDateTime;

pub(crate) const SEP: u8 = 0;

/// `collection NUL name`.
pub(crate) fn object(collection: &str, name: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(collection.len() + name.len() + 1);
    k.extend_from_slice(collection.as_bytes());
    k.push(SEP);
    k.extend_from_slice(name.as_bytes());
    k
}

/// Prefix of every object key of one collection: `collection NUL`.
pub(crate) fn collection_prefix(collection: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(collection.len() + 1);
    k.extend_from_slice(collection.as_bytes());
    k.push(SEP);
    k
}

/// Prefix of every instance key of one object: `object key NUL`.
pub(crate) fn instance_prefix(object_key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(object_key.len() + 1);
    k.extend_from_slice(object_key);
    k.push(SEP);
    k
}

/// `object key NUL id(u64 BE)`.
pub(crate) fn instance(object_key: &[u8], id: u64) -> Vec<u8> {
    let mut k = instance_prefix(object_key);
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// Prefix of the by-tape index for one barcode: `barcode NUL`.
pub(crate) fn tape_prefix(barcode: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(barcode.len() + 1);
    k.extend_from_slice(barcode.as_bytes());
    k.push(SEP);
    k
}

/// `barcode NUL instance key`; the value is empty.
pub(crate) fn tape_instance(barcode: &str, instance_key: &[u8]) -> Vec<u8> {
    let mut k = tape_prefix(barcode);
    k.extend_from_slice(instance_key);
    k
}

/// Archive time as nanoseconds since the epoch, clamped to u64 (1970..2554).
pub(crate) fn time_nanos(t: OffsetDateTime) -> u64 {
    let n = t.unix_timestamp_nanos();
    if n <= 0 {
        0
    } else {
        u64::try_from(n).unwrap_or(u64::MAX)
    }
}

/// `archive time (u64 BE ns) object key`: objects in archive-time order.
pub(crate) fn object_time(t: OffsetDateTime, object_key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(8 + object_key.len());
    k.extend_from_slice(&time_nanos(t).to_be_bytes());
    k.extend_from_slice(object_key);
    k
}

pub(crate) fn id(id: u64) -> [u8; 8] {
    id.to_be_bytes()
}

/// Decodes an 8-byte big-endian value; `None` when the length is wrong.
pub(crate) fn decode_u64(bytes: &[u8]) -> Option<u64> {
    let arr: [u8; 8] = bytes.try_into().ok()?;
    Some(u64::from_be_bytes(arr))
}

/// Splits `barcode NUL instance key` into the instance key.
pub(crate) fn split_tape_instance(key: &[u8]) -> Option<&[u8]> {
    let pos = key.iter().position(|&b| b == SEP)?;
    key.get(pos + 1..)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_keys_sort_by_collection_then_name() {
        let a = object("a", "zz");
        let b = object("ab", "a");
        // "a\0zz" < "ab\0a" because NUL sorts first: a collection's objects stay together.
        assert!(a < b);
        assert_eq!(object("c", "n"), b"c\0n".to_vec());
    }

    #[test]
    fn instance_keys_are_prefixed_and_ordered() {
        let o = object("c", "n");
        let k1 = instance(&o, 1);
        let k2 = instance(&o, 256);
        assert!(k1.starts_with(&instance_prefix(&o)));
        assert!(k1 < k2);
        assert_eq!(k1.len(), o.len() + 1 + 8);
    }

    #[test]
    fn tape_index_key_splits_back() {
        let ik = instance(&object("c", "n"), 7);
        let tk = tape_instance("ABC123L8", &ik);
        assert_eq!(split_tape_instance(&tk), Some(ik.as_slice()));
        assert_eq!(split_tape_instance(b"nonul"), None);
    }

    #[test]
    fn u64_decoding_checks_length() {
        assert_eq!(decode_u64(&id(42)), Some(42));
        assert_eq!(decode_u64(&[1, 2, 3]), None);
        assert_eq!(decode_u64(&[0; 9]), None);
    }

    #[test]
    fn time_keys_clamp_and_order() {
        let before = OffsetDateTime::UNIX_EPOCH - time::Duration::days(1);
        assert_eq!(time_nanos(before), 0);
        let t1 = OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(10);
        let t2 = OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(11);
        assert!(object_time(t1, b"z\0z") < object_time(t2, b"a\0a"));
    }
}
