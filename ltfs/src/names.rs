//! File names in an LTFS index: NFC, at most 255 code points, percent-encoding of names that XML
//! cannot carry (LTFS 2.4 §7.4, "name" type with `percentencoded="true"`).

use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

/// Longest name LTFS allows, in Unicode code points.
pub const MAX_NAME_CODE_POINTS: usize = 255;

/// A name that LTFS cannot store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid name {name:?}: {reason}")]
pub struct NameError {
    pub name: String,
    pub reason: &'static str,
}

fn name_error(name: &str, reason: &'static str) -> NameError {
    NameError {
        name: name.chars().take(64).collect(),
        reason,
    }
}

/// Returns the NFC form of `name` after checking it is a valid LTFS file or directory name.
pub fn normalize_name(name: &str) -> Result<String, NameError> {
    let nfc: String = match is_nfc_quick(name.chars()) {
        IsNormalized::Yes => name.to_owned(),
        _ => name.nfc().collect(),
    };
    validate_name(&nfc)?;
    Ok(nfc)
}

/// Checks the rules every stored name obeys, without normalizing.
pub fn validate_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(name_error(name, "empty"));
    }
    if name.chars().count() > MAX_NAME_CODE_POINTS {
        return Err(name_error(name, "longer than 255 code points"));
    }
    if name.contains('/') || name.contains('\0') {
        return Err(name_error(name, "contains '/' or NUL"));
    }
    if name == "." || name == ".." {
        return Err(name_error(name, "reserved"));
    }
    Ok(())
}

/// Whether a name must be written percent-encoded: it holds `:` or a control character, which
/// other operating systems or XML 1.0 cannot carry.
pub fn needs_percent_encoding(name: &str) -> bool {
    name.chars().any(|c| c == ':' || c.is_control()) || !is_xml_text(name)
}

/// Percent-encodes the whole name: every byte outside printable ASCII, and space, `%` and `:`,
/// becomes `%XX` with upper-case hex digits.
pub fn percent_encode(name: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(name.len() * 3);
    for &b in name.as_bytes() {
        if (0x21..=0x7e).contains(&b) && b != b'%' && b != b':' {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

/// Decodes a percent-encoded name; the bytes must form UTF-8.
pub fn percent_decode(encoded: &str) -> Result<String, NameError> {
    fn hex(d: u8) -> Option<u8> {
        match d {
            b'0'..=b'9' => Some(d - b'0'),
            b'a'..=b'f' => Some(d - b'a' + 10),
            b'A'..=b'F' => Some(d - b'A' + 10),
            _ => None,
        }
    }
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = bytes.get(i + 1).copied().and_then(hex);
            let lo = bytes.get(i + 2).copied().and_then(hex);
            match (hi, lo) {
                (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
                _ => return Err(name_error(encoded, "bad percent escape")),
            }
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| name_error(encoded, "percent-decoded bytes are not UTF-8"))
}

/// Whether a string can be stored as XML 1.0 character data and read back unchanged
/// (XML 1.0 §2.2 Char; carriage returns are excluded because parsers normalize them, §2.11).
pub fn is_xml_text(s: &str) -> bool {
    s.chars().all(|c| {
        matches!(c, '\t' | '\n' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn colon_names_are_encoded_like_the_reference() {
        assert!(needs_percent_encoding("dir:with:colons"));
        assert_eq!(percent_encode("dir:with:colons"), "dir%3Awith%3Acolons");
        assert_eq!(
            percent_decode("dir%3Awith%3Acolons").unwrap(),
            "dir:with:colons"
        );
    }

    #[test]
    fn unicode_without_colon_is_plain() {
        assert!(!needs_percent_encoding("ünïcödé.txt"));
        assert_eq!(percent_encode("a b%\u{1}é"), "a%20b%25%01%C3%A9");
    }

    #[test]
    fn nfc_and_limits() {
        // "e" + combining acute becomes the precomposed é.
        assert_eq!(normalize_name("e\u{301}").unwrap(), "\u{e9}");
        assert!(normalize_name(&"x".repeat(255)).is_ok());
        assert!(normalize_name(&"é".repeat(256)).is_err());
        for bad in ["", ".", "..", "a/b", "a\0b"] {
            assert!(normalize_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bad_escapes_are_errors() {
        for bad in ["%", "%4", "%G0", "%FF", "abc%C3"] {
            assert!(percent_decode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn xml_text() {
        assert!(is_xml_text("plain\ttext\n"));
        assert!(!is_xml_text("cr\r"));
        assert!(!is_xml_text("bell\u{7}"));
        assert!(!is_xml_text("\u{FFFE}"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn encode_decode_round_trip(s in "\\PC*|[\\x00-\\x1f:%]{0,8}") {
            let enc = percent_encode(&s);
            prop_assert!(enc.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b':'));
            prop_assert_eq!(percent_decode(&enc).unwrap(), s);
        }

        #[test]
        fn decode_never_panics(s in "\\PC{0,32}") {
            let _ = percent_decode(&s);
        }
    }
}
