use std::collections::BTreeMap;

use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::time::LtfsTime;
use crate::xml::XmlElement;

fn t(s: &str) -> LtfsTime {
    LtfsTime::parse(s).unwrap()
}

fn to_xml(index: &Index) -> String {
    let mut out = Vec::new();
    write_index(index, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn parse(s: &str) -> Result<Index, IndexError> {
    parse_index(s.as_bytes())
}

/// The generation-2 index the LTFS reference implementation wrote (block 15 of partition 1 of the
/// shared reference sample), kept in the crate so unit tests need nothing outside it.
const SAMPLE_INDEX: &str = include_str!("../../testdata/reference-index-gen2.xml");

fn small_index() -> Index {
    let time = t("2026-01-02T03:04:05.000000006Z");
    let uuid = Uuid::parse_str("01234567-89ab-cdef-0123-456789abcdef").unwrap();
    let mut index = Index::new(
        "tapelib test",
        uuid,
        Some("vol".into()),
        IndexLocation {
            partition: 'b',
            start_block: 9,
        },
        time,
    );
    index.generation = 2;
    index.previous = Some(IndexLocation {
        partition: 'b',
        start_block: 5,
    });
    index.highest_file_uid = 4;
    let file = File {
        length: 5,
        times: Times::all(time),
        file_uid: 3,
        xattrs: vec![
            Xattr {
                key: "tapelib.collection".into(),
                value: b"c1".to_vec(),
            },
            Xattr {
                key: "bin".into(),
                value: vec![0, 1, 2],
            },
        ],
        extents: vec![Extent {
            file_offset: 0,
            partition: 'b',
            start_block: 7,
            byte_offset: 0,
            byte_count: 5,
        }],
        ..File::default()
    };
    let link = File {
        times: Times::all(time),
        file_uid: 4,
        symlink: Some("../a.txt".into()),
        ..File::default()
    };
    let mut sub = BTreeMap::new();
    sub.insert("a.txt".to_owned(), Entry::File(file));
    index.root.entries.insert(
        "d:1".into(),
        Entry::Directory(Directory {
            times: Times::all(time),
            file_uid: 2,
            entries: sub,
            ..Directory::default()
        }),
    );
    index.root.entries.insert("link".into(), Entry::File(link));
    index
}

const T: &str = "2026-01-02T03:04:05.000000006Z";

fn times_xml() -> String {
    format!(
        "<creationtime>{T}</creationtime>\n<changetime>{T}</changetime>\n<modifytime>{T}</modifytime>\n<accesstime>{T}</accesstime>\n<backuptime>{T}</backuptime>\n"
    )
}

#[test]
fn golden_small_index() {
    let tm = times_xml();
    let expected = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<ltfsindex version=\"2.4.0\">\n\
<creator>tapelib test</creator>\n\
<volumeuuid>01234567-89ab-cdef-0123-456789abcdef</volumeuuid>\n\
<generationnumber>2</generationnumber>\n\
<updatetime>{T}</updatetime>\n\
<location>\n<partition>b</partition>\n<startblock>9</startblock>\n</location>\n\
<previousgenerationlocation>\n<partition>b</partition>\n<startblock>5</startblock>\n</previousgenerationlocation>\n\
<allowpolicyupdate>true</allowpolicyupdate>\n\
<highestfileuid>4</highestfileuid>\n\
<volumelockstate>unlocked</volumelockstate>\n\
<directory>\n<name>vol</name>\n<readonly>false</readonly>\n{tm}<fileuid>1</fileuid>\n<contents>\n\
<directory>\n<name percentencoded=\"true\">d%3A1</name>\n<readonly>false</readonly>\n{tm}<fileuid>2</fileuid>\n<contents>\n\
<file>\n<name>a.txt</name>\n<length>5</length>\n<readonly>false</readonly>\n{tm}<fileuid>3</fileuid>\n\
<extendedattributes>\n\
<xattr>\n<key>tapelib.collection</key>\n<value>c1</value>\n</xattr>\n\
<xattr>\n<key>bin</key>\n<value type=\"base64\">AAEC</value>\n</xattr>\n\
</extendedattributes>\n\
<extentinfo>\n<extent>\n<fileoffset>0</fileoffset>\n<partition>b</partition>\n<startblock>7</startblock>\n<byteoffset>0</byteoffset>\n<bytecount>5</bytecount>\n</extent>\n</extentinfo>\n\
</file>\n</contents>\n</directory>\n\
<file>\n<name>link</name>\n<length>0</length>\n<readonly>false</readonly>\n{tm}<fileuid>4</fileuid>\n<symlink>../a.txt</symlink>\n</file>\n\
</contents>\n</directory>\n</ltfsindex>\n"
    );
    let index = small_index();
    assert_eq!(to_xml(&index), expected);
    assert_eq!(parse(&expected).unwrap(), index);
}

#[test]
fn first_generation_omits_previous_location() {
    let mut index = small_index();
    index.previous = None;
    assert!(!to_xml(&index).contains("previousgenerationlocation"));
}

#[test]
fn reference_index_parses_and_round_trips() {
    let index = parse(SAMPLE_INDEX).unwrap();
    assert_eq!(index.generation, 2);
    assert_eq!(index.highest_file_uid, 9);
    assert_eq!(index.entry_count(), 8);
    assert_eq!(
        index.previous,
        Some(IndexLocation {
            partition: 'b',
            start_block: 5
        })
    );
    let Some(Entry::Directory(d)) = index.entry("dir:with:colons") else {
        panic!("percent-encoded directory missing");
    };
    assert_eq!(d.file_uid, 3);
    let Some(Entry::File(f)) = index.entry("nested/deeper/multi-record.bin") else {
        panic!("nested file missing");
    };
    assert_eq!(f.extents[0].start_block, 9);
    let again = parse(&to_xml(&index)).unwrap();
    assert_eq!(again, index);
}

#[test]
fn unknown_elements_are_preserved() {
    let doc = SAMPLE_INDEX
        .replace(
            "<highestfileuid>",
            "<vendorthing a=\"1\"><x>y</x></vendorthing>\n<highestfileuid>",
        )
        .replace(
            "<fileuid>8</fileuid>",
            "<fileuid>8</fileuid>\n<tag>kept &amp; safe</tag>",
        )
        .replace(
            "<volumelockstate>unlocked</volumelockstate>",
            "<volumelockstate>unlocked</volumelockstate>\n<dataplacementpolicy><indexpartitioncriteria><size>1048576</size></indexpartitioncriteria></dataplacementpolicy>",
        );
    let index = parse(&doc).unwrap();
    assert_eq!(index.unknown.len(), 1);
    assert!(index.data_placement_policy.is_some());
    let Some(Entry::File(f)) = index.entry("empty.dat") else {
        panic!()
    };
    assert_eq!(
        f.unknown,
        vec![XmlElement {
            name: "tag".into(),
            attributes: vec![],
            children: vec![crate::xml::XmlNode::Text("kept & safe".into())],
        }]
    );
    let out = to_xml(&index);
    assert!(out.contains("<vendorthing a=\"1\"><x>y</x></vendorthing>"));
    assert!(out.contains("<tag>kept &amp; safe</tag>"));
    assert!(out.contains("<size>1048576</size>"));
    assert_eq!(parse(&out).unwrap(), index);
}

#[test]
fn whitespace_is_kept_in_values_and_unknown_elements() {
    // Whitespace between structural elements is skipped; inside value elements, after a
    // comment inside a value, and inside unknown elements it is content.
    let doc = SAMPLE_INDEX
        .replace(
            "<name>empty.dat</name>",
            "<name>  sp<!-- c --> ace\t</name>",
        )
        .replace(
            "<fileuid>8</fileuid>",
            "<fileuid>8</fileuid>\n  <tag> a <b>  </b>\n c </tag>",
        );
    let index = parse(&doc).unwrap();
    let Some(Entry::File(f)) = index.entry("  sp ace\t") else {
        panic!("name with spaces missing");
    };
    use crate::xml::XmlNode;
    assert_eq!(
        f.unknown,
        vec![XmlElement {
            name: "tag".into(),
            attributes: vec![],
            children: vec![
                XmlNode::Text(" a ".into()),
                XmlNode::Element(XmlElement {
                    name: "b".into(),
                    attributes: vec![],
                    children: vec![XmlNode::Text("  ".into())],
                }),
                XmlNode::Text("\n c ".into()),
            ],
        }]
    );
    assert_eq!(parse(&to_xml(&index)).unwrap(), index);
}

fn expect_err(doc: &str) -> IndexError {
    match parse(doc) {
        Ok(_) => panic!("accepted hostile index"),
        Err(e) => e,
    }
}

#[test]
fn hostile_indexes_are_typed_errors() {
    // Duplicate file UID.
    let e = expect_err(&SAMPLE_INDEX.replace("<fileuid>8</fileuid>", "<fileuid>2</fileuid>"));
    assert_eq!(e, IndexError::DuplicateFileUid(2));
    // File UID 0.
    let e = expect_err(&SAMPLE_INDEX.replace("<fileuid>8</fileuid>", "<fileuid>0</fileuid>"));
    assert_eq!(e, IndexError::ZeroFileUid);
    // Above highestfileuid.
    let e = expect_err(&SAMPLE_INDEX.replace("<fileuid>8</fileuid>", "<fileuid>99</fileuid>"));
    assert!(matches!(e, IndexError::FileUidAboveHighest { uid: 99, .. }));
    // Overlapping extents.
    let two = "<extent>\n<fileoffset>0</fileoffset>\n<partition>b</partition>\n<startblock>7</startblock>\n<byteoffset>0</byteoffset>\n<bytecount>11</bytecount>\n</extent>\n<extent>\n<fileoffset>5</fileoffset>\n<partition>b</partition>\n<startblock>8</startblock>\n<byteoffset>0</byteoffset>\n<bytecount>6</bytecount>\n</extent>";
    let doc = SAMPLE_INDEX.replacen(
        "<extent>\n<fileoffset>0</fileoffset>\n<partition>b</partition>\n<startblock>7</startblock>\n<byteoffset>0</byteoffset>\n<bytecount>11</bytecount>\n</extent>",
        two,
        1,
    );
    assert!(matches!(
        expect_err(&doc),
        IndexError::OverlappingExtents { uid: 2, offset: 5 }
    ));
    // Extent beyond the file length.
    let doc = SAMPLE_INDEX.replace("<length>11</length>", "<length>3</length>");
    assert!(matches!(
        expect_err(&doc),
        IndexError::ExtentBeyondLength { uid: 2, .. }
    ));
    // Duplicate names in a directory.
    let doc = SAMPLE_INDEX.replace("<name>empty.dat</name>", "<name>hello.txt</name>");
    assert_eq!(
        expect_err(&doc),
        IndexError::DuplicateName("hello.txt".into())
    );
    // Huge name.
    let doc = SAMPLE_INDEX.replace("empty.dat", &"x".repeat(300));
    assert!(matches!(expect_err(&doc), IndexError::Name(_)));
    // Symlink with extents.
    let doc = SAMPLE_INDEX.replace(
        "</extentinfo>\n</file>\n<directory>",
        "</extentinfo>\n<symlink>x</symlink>\n</file>\n<directory>",
    );
    assert_eq!(expect_err(&doc), IndexError::SymlinkWithExtents(2));
    // Root with another UID.
    let doc = SAMPLE_INDEX.replacen("<fileuid>1</fileuid>", "<fileuid>10</fileuid>", 1);
    assert!(matches!(expect_err(&doc), IndexError::RootFileUid(10)));
    // Bad numbers, times, partitions, base64.
    for (from, to) in [
        ("<length>11</length>", "<length>-1</length>"),
        (
            "<length>11</length>",
            "<length>99999999999999999999999</length>",
        ),
        (
            "<updatetime>2026-11-22T03:09:55.672490874Z",
            "<updatetime>yesterday",
        ),
        (
            "<partition>b</partition>\n<startblock>7</startblock>",
            "<partition>B</partition>\n<startblock>7</startblock>",
        ),
        (
            "<value>an extended attribute</value>",
            "<value type=\"base64\">!!!</value>",
        ),
        (
            "<ltfsindex version=\"2.4.0\">",
            "<ltfsindex version=\"1.0.0\">",
        ),
        ("<generationnumber>2</generationnumber>", ""),
        ("<name>hello.txt</name>", "<name><b/>hello.txt</name>"),
        ("</ltfsindex>", ""),
        ("<name>hello.txt</name>", "<name>hello.txt</length>"),
        ("</extentinfo>", "</extent>"),
        (
            "<highestfileuid>",
            "<vendor><x></y></vendor><highestfileuid>",
        ),
    ] {
        assert!(parse(&SAMPLE_INDEX.replace(from, to)).is_err(), "{to}");
    }
    // Xattr too long.
    let doc = SAMPLE_INDEX.replace("an extended attribute", &"v".repeat(5000));
    assert!(matches!(expect_err(&doc), IndexError::XattrTooLong(_)));
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    let mut doc = String::from("<ltfsindex version=\"2.4.0\"><volumeuuid>f4a0383f-b48d-45b9-96c2-adb0a28f6aa0</volumeuuid><generationnumber>1</generationnumber><updatetime>2026-11-22T03:09:55.0Z</updatetime><location><partition>b</partition><startblock>5</startblock></location><highestfileuid>100000</highestfileuid><directory><fileuid>1</fileuid><contents>");
    for i in 0..(MAX_DEPTH + 5) {
        doc.push_str(&format!(
            "<directory><name>d</name><fileuid>{}</fileuid><contents>",
            i + 2
        ));
    }
    assert_eq!(expect_err(&doc), IndexError::TooDeep(MAX_DEPTH));
    // Unknown elements nested without end.
    let doc = SAMPLE_INDEX.replace("<highestfileuid>", &"<u>".repeat(100_000));
    assert!(parse(&doc).is_err());
}

#[test]
fn extents_checked_against_the_volume() {
    let index = parse(SAMPLE_INDEX).unwrap();
    let ctx = ValidationContext {
        index_partition: 'a',
        data_partition: 'b',
        blocksize: 524_288,
        index_partition_end: Some(5),
        data_partition_end: Some(15),
    };
    index.validate(&ctx).unwrap();
    let short = ValidationContext {
        data_partition_end: Some(12),
        ..ctx
    };
    assert!(matches!(
        index.validate(&short),
        Err(IndexError::ExtentPastEnd { uid: 7, .. })
    ));
    let other_letters = ValidationContext {
        data_partition: 'c',
        ..ctx
    };
    assert!(matches!(
        index.validate(&other_letters),
        Err(IndexError::UnknownPartition { .. })
    ));
}

// ---- property tests ----

fn name_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9._ -]{1,20}",
        "\\PC{1,12}",
        "[a-z:]{1,8}",
        proptest::collection::vec(1u8..0x7f, 1..10)
            .prop_map(|v| v.into_iter().map(char::from).collect::<String>()),
    ]
    .prop_filter("valid LTFS name", |s| {
        crate::names::validate_name(s).is_ok()
    })
}

fn xattr_strategy() -> impl Strategy<Value = Xattr> {
    (
        "[a-z.]{1,12}",
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..64),
            "\\PC{0,32}".prop_map(String::into_bytes),
        ],
    )
        .prop_map(|(key, value)| Xattr { key, value })
}

fn time_strategy() -> impl Strategy<Value = LtfsTime> {
    (0i64..4_000_000_000, 0u32..1_000_000_000).prop_map(|(s, n)| LtfsTime::from_unix(s, n).unwrap())
}

fn times_strategy() -> impl Strategy<Value = Times> {
    (
        time_strategy(),
        time_strategy(),
        time_strategy(),
        time_strategy(),
        time_strategy(),
    )
        .prop_map(|(creation, change, modify, access, backup)| Times {
            creation,
            change,
            modify,
            access,
            backup,
        })
}

fn file_strategy() -> impl Strategy<Value = File> {
    (
        times_strategy(),
        proptest::collection::vec(xattr_strategy(), 0..3),
        proptest::collection::vec((1u64..1000, 0u64..100, 0u64..4096, 1u64..100_000), 0..4),
        proptest::option::of("\\PC{1,20}"),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(times, xattrs, raw_extents, symlink, readonly, ofw)| {
            let mut extents = Vec::new();
            let mut offset = 0u64;
            if symlink.is_none() {
                for (gap, block, byte_offset, count) in raw_extents {
                    offset += gap;
                    extents.push(Extent {
                        file_offset: offset,
                        partition: 'b',
                        start_block: block,
                        byte_offset,
                        byte_count: count,
                    });
                    offset += count;
                }
            }
            File {
                length: offset + 7,
                readonly,
                times,
                file_uid: 0,
                xattrs,
                extents,
                symlink,
                open_for_write: ofw,
                unknown: Vec::new(),
            }
        })
}

fn tree_strategy() -> impl Strategy<Value = Directory> {
    let leaf =
        proptest::collection::btree_map(name_strategy(), file_strategy(), 0..4).prop_map(|files| {
            Directory {
                entries: files
                    .into_iter()
                    .map(|(n, f)| (n, Entry::File(f)))
                    .collect(),
                ..Directory::default()
            }
        });
    leaf.prop_recursive(3, 24, 4, |inner| {
        (
            proptest::collection::btree_map(name_strategy(), inner, 0..3),
            proptest::collection::btree_map(name_strategy(), file_strategy(), 0..3),
            proptest::collection::vec(xattr_strategy(), 0..2),
            times_strategy(),
        )
            .prop_map(|(dirs, files, xattrs, times)| {
                let mut entries: BTreeMap<String, Entry> = files
                    .into_iter()
                    .map(|(n, f)| (n, Entry::File(f)))
                    .collect();
                for (n, d) in dirs {
                    entries.insert(n, Entry::Directory(d));
                }
                Directory {
                    entries,
                    xattrs,
                    times,
                    ..Directory::default()
                }
            })
    })
}

/// Gives every entry a unique UID, as a writer would.
fn number(dir: &mut Directory, next: &mut u64) {
    for e in dir.entries.values_mut() {
        *next += 1;
        match e {
            Entry::File(f) => f.file_uid = *next,
            Entry::Directory(d) => {
                d.file_uid = *next;
                number(d, next);
            }
        }
    }
}

fn index_strategy() -> impl Strategy<Value = Index> {
    (
        tree_strategy(),
        proptest::option::of(name_strategy()),
        proptest::option::of("\\PC{0,30}"),
        1u64..1000,
        any::<u128>(),
        time_strategy(),
    )
        .prop_map(|(mut root, volume_name, comment, generation, uuid, time)| {
            root.file_uid = 1;
            let mut next = 1;
            number(&mut root, &mut next);
            let mut index = Index::new(
                "creator <&>",
                Uuid::from_u128(uuid),
                volume_name,
                IndexLocation {
                    partition: 'b',
                    start_block: 5,
                },
                time,
            );
            index.comment = comment.filter(|c| crate::names::is_xml_text(c));
            index.generation = generation;
            index.highest_file_uid = next;
            index.root = root;
            index
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn serialize_then_parse_is_identity(index in index_strategy()) {
        let xml = to_xml(&index);
        let parsed = parse_index(xml.as_bytes());
        prop_assert!(parsed.is_ok(), "{:?}\n{}", parsed.err(), xml);
        prop_assert_eq!(parsed.unwrap(), index);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_index(&bytes[..]);
    }

    #[test]
    fn mutated_reference_index_never_panics(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6)
    ) {
        let mut doc = SAMPLE_INDEX.as_bytes().to_vec();
        for (at, byte, op) in edits {
            if doc.is_empty() {
                break;
            }
            let i = at.index(doc.len());
            match op {
                0 => doc[i] = byte,
                1 => { doc.remove(i); }
                _ => doc.insert(i, byte),
            }
        }
        let _ = parse_index(&doc[..]);
    }
}
