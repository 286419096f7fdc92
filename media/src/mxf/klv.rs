//! KLV coding (SMPTE ST 336): universal-label keys, BER lengths, local sets with 2-byte
//! tags, and the fixed keys OP1a files use.

use crate::error::{MediaError, Result};
use crate::source::{read_clipped, RangeSource};

pub(crate) type Key = [u8; 16];

/// Partition packs: byte 13 is the kind (2 header, 3 body, 4 footer), 14 the status.
pub(crate) const PARTITION_PREFIX: [u8; 13] = [
    0x06, 0x0e, 0x2b, 0x34, 0x02, 0x05, 0x01, 0x01, 0x0d, 0x01, 0x02, 0x01, 0x01,
];
pub(crate) const RIP_KEY: Key = [
    0x06, 0x0e, 0x2b, 0x34, 0x02, 0x05, 0x01, 0x01, 0x0d, 0x01, 0x02, 0x01, 0x01, 0x11, 0x01, 0x00,
];
pub(crate) const INDEX_KEY: Key = [
    0x06, 0x0e, 0x2b, 0x34, 0x02, 0x53, 0x01, 0x01, 0x0d, 0x01, 0x02, 0x01, 0x01, 0x10, 0x01, 0x00,
];
pub(crate) const FILL_KEY: Key = [
    0x06, 0x0e, 0x2b, 0x34, 0x01, 0x01, 0x01, 0x02, 0x03, 0x01, 0x02, 0x10, 0x01, 0x00, 0x00, 0x00,
];

pub(crate) const KIND_HEADER: u8 = 0x02;
pub(crate) const KIND_BODY: u8 = 0x03;
pub(crate) const KIND_FOOTER: u8 = 0x04;
/// Closed and complete.
pub(crate) const STATUS_CLOSED_COMPLETE: u8 = 0x04;

pub(crate) fn is_fill(key: &[u8]) -> bool {
    // Fill items differ only in the UL version byte (7).
    key.len() >= 16 && key[..4] == FILL_KEY[..4] && key[8..13] == FILL_KEY[8..13]
}

pub(crate) fn partition_kind(key: &[u8]) -> Option<u8> {
    (key.len() >= 16
        && key[..13] == PARTITION_PREFIX
        && matches!(key[13], KIND_HEADER | KIND_BODY | KIND_FOOTER))
    .then_some(key[13])
}

/// A BER length at the start of `b`: (length, bytes the length field takes).
pub(crate) fn ber(b: &[u8]) -> Result<(u64, usize)> {
    let first = *b
        .first()
        .ok_or_else(|| MediaError::media("KLV length missing"))?;
    if first < 0x80 {
        return Ok((u64::from(first), 1));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 8 {
        return Err(MediaError::media(format!(
            "KLV length with {n} bytes is not supported"
        )));
    }
    let bytes = b
        .get(1..1 + n)
        .ok_or_else(|| MediaError::media("KLV length truncated"))?;
    Ok((
        bytes.iter().fold(0u64, |a, &x| a << 8 | u64::from(x)),
        1 + n,
    ))
}

/// A 4-byte BER length (the form partition packs and index segments use).
pub(crate) fn ber4(len: usize) -> [u8; 4] {
    let l = len as u32;
    [0x83, (l >> 16) as u8, (l >> 8) as u8, l as u8]
}

/// A KLV item's key and where its value lies.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Klv {
    pub key: Key,
    pub offset: u64,
    pub value_offset: u64,
    pub len: u64,
}

impl Klv {
    pub fn end(&self) -> u64 {
        self.value_offset + self.len
    }
}

/// Reads the key and length of the KLV at `offset`, checking the value fits in the file.
pub(crate) fn read_klv<S: RangeSource + ?Sized>(src: &mut S, offset: u64) -> Result<Klv> {
    let head = read_clipped(src, offset, 25)?;
    parse_klv_header(&head, offset, src.len())
}

/// Parses a KLV header from bytes at file offset `offset` in a file of `total` bytes.
pub(crate) fn parse_klv_header(head: &[u8], offset: u64, total: u64) -> Result<Klv> {
    if head.len() < 17 {
        return Err(MediaError::media(format!(
            "truncated KLV at {offset}: the file ends"
        )));
    }
    let mut key = [0u8; 16];
    key.copy_from_slice(&head[..16]);
    let (len, n) = ber(&head[16..])?;
    let value_offset = offset + 16 + n as u64;
    if value_offset.checked_add(len).is_none_or(|e| e > total) {
        return Err(MediaError::media(format!(
            "KLV at {offset} claims {len} bytes, past the end of the file ({total} bytes)"
        )));
    }
    Ok(Klv {
        key,
        offset,
        value_offset,
        len,
    })
}

/// Reads the value of `klv`, refusing values larger than `max`.
pub(crate) fn read_value<S: RangeSource + ?Sized>(
    src: &mut S,
    klv: &Klv,
    max: u64,
    what: &str,
) -> Result<Vec<u8>> {
    if klv.len > max {
        return Err(MediaError::media(format!(
            "{what} at {} is {} bytes, more than the {max} allowed",
            klv.offset, klv.len
        )));
    }
    src.read_at(klv.value_offset, klv.len as usize)
}

/// Local set items: (tag, value offset inside `set`, value length).
pub(crate) fn local_items(set: &[u8]) -> Result<Vec<(u16, usize, usize)>> {
    let mut out = Vec::new();
    let mut p = 0usize;
    while p < set.len() {
        let h = set
            .get(p..p + 4)
            .ok_or_else(|| MediaError::media("truncated local set item"))?;
        let tag = u16::from_be_bytes([h[0], h[1]]);
        let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
        if p + 4 + len > set.len() {
            return Err(MediaError::media(format!(
                "local tag {tag:04x} claims {len} bytes past the end of its set"
            )));
        }
        out.push((tag, p + 4, len));
        p += 4 + len;
    }
    Ok(out)
}

pub(crate) fn be_u64(b: &[u8]) -> u64 {
    b.iter().take(8).fold(0u64, |a, &x| a << 8 | u64::from(x))
}

/// Writes a fill item taking `pos` to the next multiple of `kag` (nothing when aligned).
pub(crate) fn fill_to(out: &mut Vec<u8>, pos: u64, kag: u64) {
    if kag <= 1 || pos.is_multiple_of(kag) {
        return;
    }
    let mut gap = kag - pos % kag;
    while gap < 20 {
        gap += kag;
    }
    out.extend_from_slice(&FILL_KEY);
    out.extend_from_slice(&ber4((gap - 20) as usize));
    let n = out.len() + (gap - 20) as usize;
    out.resize(n, 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ber_forms() {
        assert_eq!(ber(&[0x05]).unwrap(), (5, 1));
        assert_eq!(ber(&[0x83, 0, 1, 0]).unwrap(), (256, 4));
        assert!(ber(&[0x80]).is_err());
        assert!(ber(&[0x89, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(ber(&[0x84, 0]).is_err());
    }

    #[test]
    fn fill_aligns() {
        for pos in [1u64, 500, 511, 513, 1000] {
            let mut v = Vec::new();
            fill_to(&mut v, pos, 512);
            assert_eq!((pos + v.len() as u64) % 512, 0);
            assert!(v.is_empty() || v.len() >= 20);
        }
    }

    #[test]
    fn lying_lengths_are_refused() {
        let mut b = INDEX_KEY.to_vec();
        b.extend_from_slice(&[0x83, 0xff, 0xff, 0xff]);
        assert!(parse_klv_header(&b, 0, 100).is_err());
        assert!(local_items(&[0x3f, 0x0a, 0x00, 0x10, 1]).is_err());
    }
}
