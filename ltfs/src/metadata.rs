//! tapelib's own object metadata, kept in LTFS extended attributes so that a tape describes
//! itself to any reader. Keys carry no `user.` namespace in the index; another LTFS shows them
//! as `user.tapelib.*`.

use crate::index::Xattr;

/// Key of the collection (DIVA category) an object belongs to.
pub const KEY_COLLECTION: &str = "tapelib.collection";
/// Key of the object name.
pub const KEY_OBJECT: &str = "tapelib.object";
/// Key of the file's checksum, written as `<algorithm>:<lower-case hex>`.
pub const KEY_CHECKSUM: &str = "tapelib.checksum";

/// The archive metadata of one file on tape.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectMetadata {
    pub collection: Option<String>,
    pub object: Option<String>,
    /// Algorithm name and digest bytes, e.g. `("sha256", [..])`.
    pub checksum: Option<(String, Vec<u8>)>,
}

impl ObjectMetadata {
    /// The extended attributes to store with the file.
    pub fn to_xattrs(&self) -> Vec<Xattr> {
        let mut out = Vec::new();
        if let Some(c) = &self.collection {
            out.push(Xattr {
                key: KEY_COLLECTION.to_owned(),
                value: c.as_bytes().to_vec(),
            });
        }
        if let Some(o) = &self.object {
            out.push(Xattr {
                key: KEY_OBJECT.to_owned(),
                value: o.as_bytes().to_vec(),
            });
        }
        if let Some((algorithm, digest)) = &self.checksum {
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            out.push(Xattr {
                key: KEY_CHECKSUM.to_owned(),
                value: format!("{algorithm}:{hex}").into_bytes(),
            });
        }
        out
    }

    /// Reads the metadata back from a file's extended attributes; attributes that are absent
    /// or malformed are `None`.
    pub fn from_xattrs(xattrs: &[Xattr]) -> Self {
        let get = |key: &str| {
            xattrs
                .iter()
                .find(|x| x.key == key)
                .and_then(|x| String::from_utf8(x.value.clone()).ok())
        };
        let checksum = get(KEY_CHECKSUM).and_then(|v| {
            let (algorithm, hex) = v.split_once(':')?;
            if hex.len() % 2 != 0 || algorithm.is_empty() {
                return None;
            }
            let digest = (0..hex.len())
                .step_by(2)
                .map(|i| {
                    hex.get(i..i + 2)
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                })
                .collect::<Option<Vec<u8>>>()?;
            Some((algorithm.to_owned(), digest))
        });
        ObjectMetadata {
            collection: get(KEY_COLLECTION),
            object: get(KEY_OBJECT),
            checksum,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip_and_keys() {
        let m = ObjectMetadata {
            collection: Some("news".into()),
            object: Some("clip 1".into()),
            checksum: Some(("crc32".into(), vec![0xde, 0xad, 0xbe, 0xef])),
        };
        let x = m.to_xattrs();
        assert_eq!(x[2].value, b"crc32:deadbeef");
        assert!(x.iter().all(|x| x.key.starts_with("tapelib.")));
        assert_eq!(ObjectMetadata::from_xattrs(&x), m);
    }

    #[test]
    fn malformed_checksums_are_none() {
        for v in ["nocolon", ":00", "md5:abc", "md5:zz", "md5:é1"] {
            let x = vec![Xattr {
                key: KEY_CHECKSUM.into(),
                value: v.as_bytes().to_vec(),
            }];
            assert_eq!(ObjectMetadata::from_xattrs(&x).checksum, None, "{v}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn arbitrary_values_never_panic(v in proptest::collection::vec(any::<u8>(), 0..40)) {
            let x = vec![Xattr { key: KEY_CHECKSUM.into(), value: v }];
            let _ = ObjectMetadata::from_xattrs(&x);
        }
    }
}
