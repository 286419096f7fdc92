//! Shared failure type and bounds-checked readers for every response decoder.
//!
//! Devices send short, long and sometimes nonsensical responses; every decoder reads through
//! these helpers so that no input can index out of bounds.

/// A response could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Fewer bytes than the structure needs.
    #[error("{what}: need {need} bytes, got {got}")]
    Short {
        what: &'static str,
        need: usize,
        got: usize,
    },
    /// Bytes present but contradicting the standard's layout.
    #[error("{what}: {detail}")]
    Invalid { what: &'static str, detail: String },
}

impl DecodeError {
    pub fn invalid(what: &'static str, detail: impl Into<String>) -> Self {
        DecodeError::Invalid {
            what,
            detail: detail.into(),
        }
    }
}

/// `buf[at..at + len]`, or a `Short` error naming `what`.
pub fn slice<'a>(
    buf: &'a [u8],
    at: usize,
    len: usize,
    what: &'static str,
) -> Result<&'a [u8], DecodeError> {
    let end = at.checked_add(len).ok_or(DecodeError::Short {
        what,
        need: usize::MAX,
        got: buf.len(),
    })?;
    buf.get(at..end).ok_or(DecodeError::Short {
        what,
        need: end,
        got: buf.len(),
    })
}

pub fn u8_at(buf: &[u8], at: usize, what: &'static str) -> Result<u8, DecodeError> {
    Ok(slice(buf, at, 1, what)?[0])
}

pub fn be16(buf: &[u8], at: usize, what: &'static str) -> Result<u16, DecodeError> {
    let b = slice(buf, at, 2, what)?;
    Ok(u16::from_be_bytes([b[0], b[1]]))
}

pub fn be24(buf: &[u8], at: usize, what: &'static str) -> Result<u32, DecodeError> {
    let b = slice(buf, at, 3, what)?;
    Ok(u32::from_be_bytes([0, b[0], b[1], b[2]]))
}

pub fn be32(buf: &[u8], at: usize, what: &'static str) -> Result<u32, DecodeError> {
    let b = slice(buf, at, 4, what)?;
    Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

pub fn be64(buf: &[u8], at: usize, what: &'static str) -> Result<u64, DecodeError> {
    let b = slice(buf, at, 8, what)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Ok(u64::from_be_bytes(a))
}

/// Big-endian unsigned integer of 1..=8 bytes (MAM and log parameters use variable widths).
pub fn be_uint(bytes: &[u8], what: &'static str) -> Result<u64, DecodeError> {
    if bytes.is_empty() || bytes.len() > 8 {
        return Err(DecodeError::invalid(
            what,
            format!("integer of {} bytes", bytes.len()),
        ));
    }
    Ok(bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
}

/// ASCII field with trailing spaces and NULs removed (INQUIRY identifiers, volume tags).
pub fn ascii_trimmed(bytes: &[u8]) -> String {
    let end = bytes
        .iter()
        .rposition(|b| *b != b' ' && *b != 0)
        .map_or(0, |p| p + 1);
    bytes[..end]
        .iter()
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '?'
            }
        })
        .collect::<String>()
        .trim_start()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_refuse_short_buffers() {
        let b = [1u8, 2, 3];
        assert_eq!(be16(&b, 1, "x").unwrap(), 0x0203);
        assert!(matches!(
            be16(&b, 2, "x"),
            Err(DecodeError::Short {
                need: 4,
                got: 3,
                ..
            })
        ));
        assert!(be32(&b, 0, "x").is_err());
        assert!(slice(&b, usize::MAX, 2, "x").is_err());
        assert_eq!(be24(&[0, 1, 2, 3], 1, "x").unwrap(), 0x010203);
        assert_eq!(be_uint(&[1, 0], "x").unwrap(), 256);
        assert!(be_uint(&[0; 9], "x").is_err());
    }

    #[test]
    fn ascii_trimmed_strips_padding() {
        assert_eq!(ascii_trimmed(b"  IBM     \0\0"), "IBM");
        assert_eq!(ascii_trimmed(b"ULT3580-TD8     "), "ULT3580-TD8");
        assert_eq!(ascii_trimmed(b"\x01A"), "?A");
        assert_eq!(ascii_trimmed(b""), "");
    }
}
