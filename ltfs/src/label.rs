//! The label construct at the start of each partition (LTFS 2.4 §8.1): an 80-byte ANSI VOL1
//! record and the XML `ltfslabel`.

use std::fmt::Write as _;
use std::io::Cursor;

use quick_xml::events::Event;
use quick_xml::Reader;
use uuid::Uuid;

use crate::error::{LtfsError, Result};
use crate::time::LtfsTime;
use crate::xml::{capture, escape_text, XmlElement};

/// Length of the VOL1 record.
pub const VOL1_LEN: usize = 80;
/// The LTFS format version this crate writes.
pub const LTFS_VERSION: &str = "2.4.0";
/// Largest XML label this crate writes or accepts (LTFS keeps it well under a block).
pub const MAX_LABEL_LEN: usize = 4096;
/// Default and minimum LTFS block sizes (LTFS 2.4 §8.1.2).
pub const DEFAULT_BLOCKSIZE: u32 = 524_288;
pub const MIN_BLOCKSIZE: u32 = 4096;

/// The ANSI VOL1 label record (LTFS 2.4 §8.1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vol1Label {
    /// Volume identifier (barcode), up to six characters; empty when unknown.
    pub barcode: String,
}

impl Vol1Label {
    /// Builds a VOL1 label; the barcode must be at most six printable ASCII characters.
    pub fn new(barcode: &str) -> Result<Self> {
        if barcode.len() > 6 || !barcode.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
            return Err(LtfsError::Vol1(format!(
                "barcode {barcode:?} is not at most six printable ASCII characters"
            )));
        }
        Ok(Vol1Label {
            barcode: barcode.trim_end().to_owned(),
        })
    }

    /// The 80 bytes of the record.
    pub fn encode(&self) -> [u8; VOL1_LEN] {
        let mut r = [b' '; VOL1_LEN];
        r[..4].copy_from_slice(b"VOL1");
        for (dst, src) in r[4..10].iter_mut().zip(self.barcode.bytes()) {
            *dst = src;
        }
        r[10] = b'L'; // volume accessibility
        r[24..28].copy_from_slice(b"LTFS"); // implementation identifier, bytes 24-36
        r[79] = b'4'; // label standard version
        r
    }

    /// Decodes and checks a VOL1 record.
    pub fn decode(record: &[u8]) -> Result<Self> {
        let r: &[u8; VOL1_LEN] = record
            .try_into()
            .map_err(|_| LtfsError::Vol1(format!("{} bytes instead of 80", record.len())))?;
        if &r[..4] != b"VOL1" {
            return Err(LtfsError::Vol1("does not start with VOL1".into()));
        }
        if r[10] != b'L' {
            return Err(LtfsError::Vol1("accessibility is not 'L'".into()));
        }
        if &r[24..28] != b"LTFS" {
            return Err(LtfsError::Vol1(
                "implementation identifier is not LTFS".into(),
            ));
        }
        if r[79] != b'4' {
            return Err(LtfsError::Vol1("label standard version is not 4".into()));
        }
        let barcode = std::str::from_utf8(&r[4..10])
            .map_err(|_| LtfsError::Vol1("barcode is not ASCII".into()))?;
        Vol1Label::new(barcode)
    }
}

/// The XML label (`ltfslabel`, LTFS 2.4 §8.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LtfsLabel {
    pub creator: String,
    pub format_time: LtfsTime,
    pub volume_uuid: Uuid,
    /// Partition letter this copy of the label lives on.
    pub location: char,
    pub index_partition: char,
    pub data_partition: char,
    pub blocksize: u32,
    pub compression: bool,
}

fn label_err(msg: impl Into<String>) -> LtfsError {
    LtfsError::Label(msg.into())
}

/// Parses a partition letter (`a`–`z`).
pub(crate) fn parse_partition_letter(s: &str) -> Option<char> {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c @ 'a'..='z'), None) => Some(c),
        _ => None,
    }
}

impl LtfsLabel {
    /// Serializes the label as the single-record XML document.
    pub fn to_xml(&self) -> String {
        let mut s = String::with_capacity(512);
        let _ = write!(
            s,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <ltfslabel version=\"{LTFS_VERSION}\">\n\
             \x20   <creator>{}</creator>\n\
             \x20   <formattime>{}</formattime>\n\
             \x20   <volumeuuid>{}</volumeuuid>\n\
             \x20   <location>\n\
             \x20       <partition>{}</partition>\n\
             \x20   </location>\n\
             \x20   <partitions>\n\
             \x20       <index>{}</index>\n\
             \x20       <data>{}</data>\n\
             \x20   </partitions>\n\
             \x20   <blocksize>{}</blocksize>\n\
             \x20   <compression>{}</compression>\n\
             </ltfslabel>\n",
            escape_text(&self.creator),
            self.format_time,
            self.volume_uuid.hyphenated(),
            self.location,
            self.index_partition,
            self.data_partition,
            self.blocksize,
            self.compression,
        );
        s
    }

    /// Parses and checks an XML label record.
    pub fn parse(record: &[u8]) -> Result<Self> {
        if record.len() > MAX_LABEL_LEN {
            return Err(label_err(format!(
                "{} bytes, more than 4 KiB",
                record.len()
            )));
        }
        let mut reader = Reader::from_reader(Cursor::new(record));
        let mut buf = Vec::new();
        let root = loop {
            buf.clear();
            match reader
                .read_event_into(&mut buf)
                .map_err(|e| label_err(e.to_string()))?
            {
                Event::Start(s) => {
                    let s = s.into_owned();
                    break capture(&mut reader, &s, false, &mut buf, 16).map_err(label_err)?;
                }
                Event::Empty(_) => return Err(label_err("empty root element")),
                Event::Eof => return Err(label_err("no root element")),
                Event::Text(t) if t.iter().all(u8::is_ascii_whitespace) => {}
                Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
                _ => return Err(label_err("content before the root element")),
            }
        };
        if root.name != "ltfslabel" {
            return Err(label_err(format!("root element is <{}>", root.name)));
        }
        let version = root.attribute("version").unwrap_or("");
        if !version.starts_with("2.") {
            return Err(label_err(format!("unsupported version {version:?}")));
        }
        let text = |e: Option<&XmlElement>, name: &str| -> Result<String> {
            e.map(|e| e.text().trim().to_owned())
                .ok_or_else(|| label_err(format!("missing <{name}>")))
        };
        let letter = |s: String, name: &str| {
            parse_partition_letter(&s)
                .ok_or_else(|| label_err(format!("<{name}> {s:?} is not a partition letter")))
        };
        let creator = root.child("creator").map(|e| e.text()).unwrap_or_default();
        let format_time = LtfsTime::parse(&text(root.child("formattime"), "formattime")?)
            .map_err(|e| label_err(e.to_string()))?;
        let uuid_text = text(root.child("volumeuuid"), "volumeuuid")?;
        let volume_uuid =
            Uuid::parse_str(&uuid_text).map_err(|e| label_err(format!("volumeuuid: {e}")))?;
        let location = letter(
            text(
                root.child("location").and_then(|l| l.child("partition")),
                "partition",
            )?,
            "location/partition",
        )?;
        let partitions = root.child("partitions");
        let index_partition = letter(
            text(partitions.and_then(|p| p.child("index")), "index")?,
            "partitions/index",
        )?;
        let data_partition = letter(
            text(partitions.and_then(|p| p.child("data")), "data")?,
            "partitions/data",
        )?;
        if index_partition == data_partition {
            return Err(label_err("index and data partitions are the same"));
        }
        if location != index_partition && location != data_partition {
            return Err(label_err(
                "location is neither the index nor the data partition",
            ));
        }
        let bs = text(root.child("blocksize"), "blocksize")?;
        let blocksize: u32 = bs
            .parse()
            .map_err(|_| label_err(format!("blocksize {bs:?}")))?;
        if blocksize < MIN_BLOCKSIZE {
            return Err(label_err(format!("blocksize {blocksize} below 4096")));
        }
        let compression = match root.child("compression").map(|e| e.text()) {
            None => false,
            Some(c) => match c.trim() {
                "true" | "1" => true,
                "false" | "0" => false,
                other => return Err(label_err(format!("compression {other:?}"))),
            },
        };
        Ok(LtfsLabel {
            creator,
            format_time,
            volume_uuid,
            location,
            index_partition,
            data_partition,
            blocksize,
            compression,
        })
    }

    /// Whether two labels are the same but for `location` (LTFS 2.4 §8.1.2).
    pub fn same_volume(&self, other: &LtfsLabel) -> bool {
        LtfsLabel {
            location: other.location,
            ..self.clone()
        } == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn vol1_golden() {
        let r = Vol1Label::new("SHR001").unwrap().encode();
        let mut expected = Vec::new();
        expected.extend_from_slice(b"VOL1SHR001L");
        expected.extend_from_slice(&[b' '; 13]);
        expected.extend_from_slice(b"LTFS");
        expected.extend_from_slice(&[b' '; 51]);
        expected.push(b'4');
        assert_eq!(&r[..], &expected[..]);
        assert_eq!(Vol1Label::decode(&r).unwrap().barcode, "SHR001");
        let blank = Vol1Label::new("").unwrap().encode();
        assert_eq!(&blank[4..10], b"      ");
        assert_eq!(Vol1Label::decode(&blank).unwrap().barcode, "");
    }

    #[test]
    fn vol1_rejects() {
        let good = Vol1Label::new("A1").unwrap().encode();
        assert!(Vol1Label::decode(&good[..79]).is_err());
        for (i, b) in [(0, b'X'), (10, b' '), (24, b'X'), (79, b'3'), (5, 0xff)] {
            let mut r = good;
            r[i] = b;
            assert!(Vol1Label::decode(&r).is_err(), "byte {i}");
        }
        assert!(Vol1Label::new("TOOLONG").is_err());
    }

    const SAMPLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ltfslabel version="2.4.0">
    <creator>IBM LTFS 2.4.8.4 (Prelim) - Linux - mkltfs</creator>
    <formattime>2026-11-22T03:09:55.355765276Z</formattime>
    <volumeuuid>f4a0383f-b48d-45b9-96c2-adb0a28f6aa0</volumeuuid>
    <location>
        <partition>a</partition>
    </location>
    <partitions>
        <index>a</index>
        <data>b</data>
    </partitions>
    <blocksize>524288</blocksize>
    <compression>true</compression>
</ltfslabel>
"#;

    #[test]
    fn reference_label_parses_and_reserializes_identically() {
        let l = LtfsLabel::parse(SAMPLE.as_bytes()).unwrap();
        assert_eq!(l.location, 'a');
        assert_eq!((l.index_partition, l.data_partition), ('a', 'b'));
        assert_eq!(l.blocksize, 524_288);
        assert!(l.compression);
        assert_eq!(l.to_xml(), SAMPLE);
        let other = LtfsLabel {
            location: 'b',
            ..l.clone()
        };
        assert!(l.same_volume(&other));
        assert!(!l.same_volume(&LtfsLabel {
            blocksize: 4096,
            ..other
        }));
    }

    #[test]
    fn label_rejects() {
        for (from, to) in [
            ("<blocksize>524288", "<blocksize>100"),
            ("<index>a</index>", "<index>b</index>"),
            ("ltfslabel version=\"2.4.0\"", "ltfslabel version=\"3.0.0\""),
            ("f4a0383f-b48d", "zzzz"),
            ("<partition>a</partition>", "<partition>c</partition>"),
            ("</ltfslabel>", ""),
        ] {
            let bad = SAMPLE.replace(from, to);
            assert!(LtfsLabel::parse(bad.as_bytes()).is_err(), "{to}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]
        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = LtfsLabel::parse(&b);
            let _ = Vol1Label::decode(&b);
        }

        #[test]
        fn mutated_label_never_panics(pos in 0usize..600, byte in any::<u8>()) {
            let mut b = SAMPLE.as_bytes().to_vec();
            let i = pos % b.len();
            b[i] = byte;
            let _ = LtfsLabel::parse(&b);
        }
    }
}
