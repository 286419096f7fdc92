//! Streaming index XML parser. It keeps an explicit stack instead of recursing, so hostile
//! nesting cannot overflow the thread stack, and reads from any `BufRead` so an index is parsed
//! while its records come off the tape.

use std::io::BufRead;

use base64::Engine as _;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use uuid::Uuid;

use super::model::{Directory, Entry, Extent, File, Index, IndexLocation, Times, Xattr};
use super::{IndexError, MAX_XATTR_VALUE_LEN};
use crate::label::parse_partition_letter;
use crate::names::{percent_decode, validate_name};
use crate::time::LtfsTime;
use crate::xml::{capture, XmlElement};

/// Deepest directory nesting accepted (Linux PATH_MAX allows about 2048 one-character levels;
/// real archives stay far below this bound).
pub const MAX_DEPTH: usize = 1024;
/// Longest text of one element this parser accepts.
const MAX_LEAF_LEN: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leaf {
    Creator,
    Comment,
    VolumeUuid,
    GenerationNumber,
    UpdateTime,
    AllowPolicyUpdate,
    HighestFileUid,
    VolumeLockState,
    Name,
    Readonly,
    CreationTime,
    ChangeTime,
    ModifyTime,
    AccessTime,
    BackupTime,
    FileUid,
    Length,
    Symlink,
    OpenForWrite,
    Partition,
    StartBlock,
    FileOffset,
    ByteOffset,
    ByteCount,
    Key,
    Value,
}

impl Frame {
    fn tag(&self) -> &'static str {
        match self {
            Frame::Index(_) => "ltfsindex",
            Frame::Dir(_) => "directory",
            Frame::Contents => "contents",
            Frame::File(_) => "file",
            Frame::ExtentInfo => "extentinfo",
            Frame::Extent(_) => "extent",
            Frame::Xattrs => "extendedattributes",
            Frame::Xattr(_) => "xattr",
            Frame::Location {
                previous: false, ..
            } => "location",
            Frame::Location { previous: true, .. } => "previousgenerationlocation",
        }
    }
}

impl Leaf {
    fn tag(self) -> &'static str {
        match self {
            Leaf::Creator => "creator",
            Leaf::Comment => "comment",
            Leaf::VolumeUuid => "volumeuuid",
            Leaf::GenerationNumber => "generationnumber",
            Leaf::UpdateTime => "updatetime",
            Leaf::AllowPolicyUpdate => "allowpolicyupdate",
            Leaf::HighestFileUid => "highestfileuid",
            Leaf::VolumeLockState => "volumelockstate",
            Leaf::Name => "name",
            Leaf::Readonly => "readonly",
            Leaf::CreationTime => "creationtime",
            Leaf::ChangeTime => "changetime",
            Leaf::ModifyTime => "modifytime",
            Leaf::AccessTime => "accesstime",
            Leaf::BackupTime => "backuptime",
            Leaf::FileUid => "fileuid",
            Leaf::Length => "length",
            Leaf::Symlink => "symlink",
            Leaf::OpenForWrite => "openforwrite",
            Leaf::Partition => "partition",
            Leaf::StartBlock => "startblock",
            Leaf::FileOffset => "fileoffset",
            Leaf::ByteOffset => "byteoffset",
            Leaf::ByteCount => "bytecount",
            Leaf::Key => "key",
            Leaf::Value => "value",
        }
    }
}

#[derive(Default)]
struct IndexBuilder {
    creator: Option<String>,
    comment: Option<String>,
    volume_uuid: Option<Uuid>,
    generation: Option<u64>,
    update_time: Option<LtfsTime>,
    location: Option<IndexLocation>,
    previous: Option<IndexLocation>,
    allow_policy_update: Option<bool>,
    data_placement_policy: Option<XmlElement>,
    highest_file_uid: Option<u64>,
    volume_lock_state: Option<String>,
    root: Option<(Option<String>, Directory)>,
    unknown: Vec<XmlElement>,
}

struct DirBuilder {
    name: Option<String>,
    uid: Option<u64>,
    dir: Directory,
    /// Entries in document order; turned into the map at the end of the directory, which
    /// builds a compact tree (bulk build fills the B-tree nodes, one insert at a time leaves
    /// them half full).
    children: Vec<(String, Entry)>,
}

struct FileBuilder {
    name: Option<String>,
    uid: Option<u64>,
    length: Option<u64>,
    file: File,
}

#[derive(Default)]
struct ExtentBuilder {
    file_offset: Option<u64>,
    partition: Option<char>,
    start_block: Option<u64>,
    byte_offset: Option<u64>,
    byte_count: Option<u64>,
}

#[derive(Default)]
struct XattrBuilder {
    key: Option<String>,
    value: Option<Vec<u8>>,
}

enum Frame {
    Index(Box<IndexBuilder>),
    Dir(Box<DirBuilder>),
    Contents,
    File(Box<FileBuilder>),
    ExtentInfo,
    Extent(ExtentBuilder),
    Xattrs,
    Xattr(XattrBuilder),
    Location {
        previous: bool,
        partition: Option<char>,
        block: Option<u64>,
    },
}

fn xml_err<R>(reader: &Reader<R>, e: impl std::fmt::Display) -> IndexError {
    IndexError::Xml(format!("at byte {}: {e}", reader.buffer_position()))
}

fn invalid(element: &'static str, value: &str) -> IndexError {
    IndexError::InvalidValue {
        element,
        value: value.chars().take(64).collect(),
    }
}

fn parse_u64(leaf: Leaf, s: &str) -> Result<u64, IndexError> {
    // Plain decimal digits that cannot overflow (the form writers use) are converted
    // directly; anything else (spaces, a sign, long numbers) goes through the full parser.
    let b = s.as_bytes();
    if (1..=19).contains(&b.len()) && b.iter().all(u8::is_ascii_digit) {
        return Ok(b
            .iter()
            .fold(0u64, |acc, &d| acc * 10 + u64::from(d - b'0')));
    }
    s.trim().parse().map_err(|_| invalid(leaf.tag(), s))
}

fn parse_bool(leaf: Leaf, s: &str) -> Result<bool, IndexError> {
    match s.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(invalid(leaf.tag(), s)),
    }
}

fn parse_time(leaf: Leaf, s: &str) -> Result<LtfsTime, IndexError> {
    LtfsTime::parse(s.trim()).map_err(|_| invalid(leaf.tag(), s))
}

fn parse_name(s: &str, percent_encoded: bool) -> Result<String, IndexError> {
    let name = if percent_encoded {
        percent_decode(s)?
    } else {
        s.to_owned()
    };
    validate_name(&name)?;
    Ok(name)
}

fn set_time(times: &mut Times, leaf: Leaf, t: LtfsTime) {
    match leaf {
        Leaf::CreationTime => times.creation = t,
        Leaf::ChangeTime => times.change = t,
        Leaf::ModifyTime => times.modify = t,
        Leaf::AccessTime => times.access = t,
        Leaf::BackupTime => times.backup = t,
        _ => {}
    }
}

/// What a start tag opens, given the frame it appears in.
enum Opens {
    Leaf(Leaf),
    Frame(Frame),
    DataPlacementPolicy,
    Unknown,
}

fn classify(top: &Frame, tag: &[u8]) -> Opens {
    use Leaf as L;
    let leaf = |l| Opens::Leaf(l);
    let times = |tag: &[u8]| match tag {
        b"creationtime" => Some(L::CreationTime),
        b"changetime" => Some(L::ChangeTime),
        b"modifytime" => Some(L::ModifyTime),
        b"accesstime" => Some(L::AccessTime),
        b"backuptime" => Some(L::BackupTime),
        _ => None,
    };
    match top {
        Frame::Index(_) => match tag {
            b"creator" => leaf(L::Creator),
            b"comment" => leaf(L::Comment),
            b"volumeuuid" => leaf(L::VolumeUuid),
            b"generationnumber" => leaf(L::GenerationNumber),
            b"updatetime" => leaf(L::UpdateTime),
            b"allowpolicyupdate" => leaf(L::AllowPolicyUpdate),
            b"highestfileuid" => leaf(L::HighestFileUid),
            b"volumelockstate" => leaf(L::VolumeLockState),
            b"location" | b"previousgenerationlocation" => Opens::Frame(Frame::Location {
                previous: tag == b"previousgenerationlocation",
                partition: None,
                block: None,
            }),
            b"dataplacementpolicy" => Opens::DataPlacementPolicy,
            b"directory" => Opens::Frame(Frame::Dir(Box::new(DirBuilder {
                name: None,
                uid: None,
                dir: Directory::default(),
                children: Vec::new(),
            }))),
            _ => Opens::Unknown,
        },
        Frame::Dir(_) => match tag {
            b"name" => leaf(L::Name),
            b"readonly" => leaf(L::Readonly),
            b"fileuid" => leaf(L::FileUid),
            b"contents" => Opens::Frame(Frame::Contents),
            b"extendedattributes" => Opens::Frame(Frame::Xattrs),
            t => times(t).map(leaf).unwrap_or(Opens::Unknown),
        },
        Frame::Contents => match tag {
            b"directory" => Opens::Frame(Frame::Dir(Box::new(DirBuilder {
                name: None,
                uid: None,
                dir: Directory::default(),
                children: Vec::new(),
            }))),
            b"file" => Opens::Frame(Frame::File(Box::new(FileBuilder {
                name: None,
                uid: None,
                length: None,
                file: File::default(),
            }))),
            _ => Opens::Unknown,
        },
        Frame::File(_) => match tag {
            b"name" => leaf(L::Name),
            b"length" => leaf(L::Length),
            b"readonly" => leaf(L::Readonly),
            b"fileuid" => leaf(L::FileUid),
            b"symlink" => leaf(L::Symlink),
            b"openforwrite" => leaf(L::OpenForWrite),
            b"extendedattributes" => Opens::Frame(Frame::Xattrs),
            b"extentinfo" => Opens::Frame(Frame::ExtentInfo),
            t => times(t).map(leaf).unwrap_or(Opens::Unknown),
        },
        Frame::ExtentInfo => match tag {
            b"extent" => Opens::Frame(Frame::Extent(ExtentBuilder::default())),
            _ => Opens::Unknown,
        },
        Frame::Extent(_) => match tag {
            b"fileoffset" => leaf(L::FileOffset),
            b"partition" => leaf(L::Partition),
            b"startblock" => leaf(L::StartBlock),
            b"byteoffset" => leaf(L::ByteOffset),
            b"bytecount" => leaf(L::ByteCount),
            _ => Opens::Unknown,
        },
        Frame::Xattrs => match tag {
            b"xattr" => Opens::Frame(Frame::Xattr(XattrBuilder::default())),
            _ => Opens::Unknown,
        },
        Frame::Xattr(_) => match tag {
            b"key" => leaf(L::Key),
            b"value" => leaf(L::Value),
            _ => Opens::Unknown,
        },
        Frame::Location { .. } => match tag {
            b"partition" => leaf(L::Partition),
            b"startblock" => leaf(L::StartBlock),
            _ => Opens::Unknown,
        },
    }
}

fn attr_is(start: &BytesStart<'_>, name: &[u8], value: &str) -> bool {
    start
        .attributes()
        .flatten()
        .any(|a| a.key.as_ref() == name && a.value.as_ref() == value.as_bytes())
}

/// Stores a completed leaf's text into the frame it belongs to.
fn store_leaf(top: &mut Frame, leaf: Leaf, flag: bool, text: &str) -> Result<(), IndexError> {
    use Leaf as L;
    match top {
        Frame::Index(b) => match leaf {
            L::Creator => b.creator = Some(text.to_owned()),
            L::Comment => b.comment = Some(text.to_owned()),
            L::VolumeUuid => {
                b.volume_uuid =
                    Some(Uuid::parse_str(text.trim()).map_err(|_| invalid("volumeuuid", text))?)
            }
            L::GenerationNumber => b.generation = Some(parse_u64(leaf, text)?),
            L::UpdateTime => b.update_time = Some(parse_time(leaf, text)?),
            L::AllowPolicyUpdate => b.allow_policy_update = Some(parse_bool(leaf, text)?),
            L::HighestFileUid => b.highest_file_uid = Some(parse_u64(leaf, text)?),
            L::VolumeLockState => b.volume_lock_state = Some(text.trim().to_owned()),
            _ => {}
        },
        Frame::Dir(b) => match leaf {
            L::Name => b.name = Some(parse_name(text, flag)?),
            L::Readonly => b.dir.readonly = parse_bool(leaf, text)?,
            L::FileUid => b.uid = Some(parse_u64(leaf, text)?),
            _ => set_time(&mut b.dir.times, leaf, parse_time(leaf, text)?),
        },
        Frame::File(b) => match leaf {
            L::Name => b.name = Some(parse_name(text, flag)?),
            L::Length => b.length = Some(parse_u64(leaf, text)?),
            L::Readonly => b.file.readonly = parse_bool(leaf, text)?,
            L::FileUid => b.uid = Some(parse_u64(leaf, text)?),
            L::Symlink => {
                let target = if flag {
                    percent_decode(text)?
                } else {
                    text.to_owned()
                };
                b.file.symlink = Some(target);
            }
            L::OpenForWrite => b.file.open_for_write = parse_bool(leaf, text)?,
            _ => set_time(&mut b.file.times, leaf, parse_time(leaf, text)?),
        },
        Frame::Extent(b) => match leaf {
            L::FileOffset => b.file_offset = Some(parse_u64(leaf, text)?),
            L::Partition => {
                b.partition = Some(
                    parse_partition_letter(text.trim())
                        .ok_or_else(|| invalid("partition", text))?,
                )
            }
            L::StartBlock => b.start_block = Some(parse_u64(leaf, text)?),
            L::ByteOffset => b.byte_offset = Some(parse_u64(leaf, text)?),
            L::ByteCount => b.byte_count = Some(parse_u64(leaf, text)?),
            _ => {}
        },
        Frame::Xattr(b) => match leaf {
            L::Key => {
                b.key = Some(if flag {
                    percent_decode(text)?
                } else {
                    text.to_owned()
                })
            }
            L::Value => {
                let value = if flag {
                    let compact: String = text.split_ascii_whitespace().collect();
                    base64::engine::general_purpose::STANDARD
                        .decode(compact.as_bytes())
                        .map_err(|_| invalid("value", text))?
                } else {
                    text.as_bytes().to_vec()
                };
                if value.len() > MAX_XATTR_VALUE_LEN {
                    return Err(IndexError::XattrTooLong(b.key.clone().unwrap_or_default()));
                }
                b.value = Some(value);
            }
            _ => {}
        },
        Frame::Location {
            partition, block, ..
        } => match leaf {
            L::Partition => {
                *partition = Some(
                    parse_partition_letter(text.trim())
                        .ok_or_else(|| invalid("partition", text))?,
                )
            }
            L::StartBlock => *block = Some(parse_u64(leaf, text)?),
            _ => {}
        },
        Frame::Contents | Frame::ExtentInfo | Frame::Xattrs => {}
    }
    Ok(())
}

fn attach_unknown(top: &mut Frame, e: XmlElement) {
    match top {
        Frame::Index(b) => b.unknown.push(e),
        Frame::Dir(b) => b.dir.unknown.push(e),
        Frame::File(b) => b.file.unknown.push(e),
        // Unknown content inside structural elements of fixed shape is not kept.
        _ => {}
    }
}

/// Adds a finished directory or file to the directory that holds the `contents` on top.
fn add_entry(stack: &mut [Frame], name: String, entry: Entry) -> Result<(), IndexError> {
    let n = stack.len();
    let Some(Frame::Dir(parent)) = n.checked_sub(2).and_then(|i| stack.get_mut(i)) else {
        return Err(IndexError::Xml("entry outside a directory".into()));
    };
    parent.children.push((name, entry));
    Ok(())
}

/// Handles the end of a frame: completes it and hands it to its parent.
fn close_frame(stack: &mut Vec<Frame>) -> Result<Option<Box<IndexBuilder>>, IndexError> {
    let Some(frame) = stack.pop() else {
        return Err(IndexError::Xml("unbalanced end tag".into()));
    };
    match frame {
        Frame::Index(b) => return Ok(Some(b)),
        Frame::Dir(b) => {
            let DirBuilder {
                name,
                uid,
                mut dir,
                mut children,
            } = *b;
            children.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            if let Some(w) = children.windows(2).find(|w| w[0].0 == w[1].0) {
                return Err(IndexError::DuplicateName(w[0].0.clone()));
            }
            dir.entries = children.into_iter().collect();
            dir.file_uid = uid.ok_or(IndexError::Missing {
                parent: "directory",
                element: "fileuid",
            })?;
            match stack.last_mut() {
                Some(Frame::Index(ib)) => {
                    if ib.root.is_some() {
                        return Err(IndexError::Xml("more than one root directory".into()));
                    }
                    ib.root = Some((name, dir));
                }
                _ => {
                    let name = name.ok_or(IndexError::Missing {
                        parent: "directory",
                        element: "name",
                    })?;
                    add_entry(stack, name, Entry::Directory(dir))?;
                }
            }
        }
        Frame::File(b) => {
            let FileBuilder {
                name,
                uid,
                length,
                mut file,
            } = *b;
            let missing = |element| IndexError::Missing {
                parent: "file",
                element,
            };
            file.file_uid = uid.ok_or(missing("fileuid"))?;
            file.length = length.ok_or(missing("length"))?;
            file.extents.sort_by_key(|e| e.file_offset);
            let name = name.ok_or(missing("name"))?;
            add_entry(stack, name, Entry::File(file))?;
        }
        Frame::Extent(b) => {
            let missing = |element| IndexError::Missing {
                parent: "extent",
                element,
            };
            let extent = Extent {
                file_offset: b.file_offset.ok_or(missing("fileoffset"))?,
                partition: b.partition.ok_or(missing("partition"))?,
                start_block: b.start_block.ok_or(missing("startblock"))?,
                byte_offset: b.byte_offset.unwrap_or(0),
                byte_count: b.byte_count.ok_or(missing("bytecount"))?,
            };
            // The extent frame sits on extentinfo, which sits on the file.
            let n = stack.len();
            if let Some(Frame::File(f)) = n.checked_sub(2).and_then(|i| stack.get_mut(i)) {
                f.file.extents.push(extent);
            }
        }
        Frame::Xattr(b) => {
            let missing = |element| IndexError::Missing {
                parent: "xattr",
                element,
            };
            let xattr = Xattr {
                key: b.key.ok_or(missing("key"))?,
                value: b.value.unwrap_or_default(),
            };
            let n = stack.len();
            match n.checked_sub(2).and_then(|i| stack.get_mut(i)) {
                Some(Frame::File(f)) => f.file.xattrs.push(xattr),
                Some(Frame::Dir(d)) => d.dir.xattrs.push(xattr),
                _ => {}
            }
        }
        Frame::Location {
            previous,
            partition,
            block,
        } => {
            let missing = |element| IndexError::Missing {
                parent: "location",
                element,
            };
            let loc = IndexLocation {
                partition: partition.ok_or(missing("partition"))?,
                start_block: block.ok_or(missing("startblock"))?,
            };
            if let Some(Frame::Index(ib)) = stack.last_mut() {
                if previous {
                    ib.previous = Some(loc);
                } else {
                    ib.location = Some(loc);
                }
            }
        }
        Frame::Contents | Frame::ExtentInfo | Frame::Xattrs => {}
    }
    Ok(None)
}

fn finish(b: IndexBuilder) -> Result<Index, IndexError> {
    let missing = |element| IndexError::Missing {
        parent: "ltfsindex",
        element,
    };
    let (volume_name, root) = b.root.ok_or(missing("directory"))?;
    let index = Index {
        creator: b.creator.unwrap_or_default(),
        comment: b.comment,
        volume_uuid: b.volume_uuid.ok_or(missing("volumeuuid"))?,
        generation: b.generation.ok_or(missing("generationnumber"))?,
        update_time: b.update_time.ok_or(missing("updatetime"))?,
        location: b.location.ok_or(missing("location"))?,
        previous: b.previous,
        allow_policy_update: b.allow_policy_update.unwrap_or(true),
        data_placement_policy: b.data_placement_policy,
        highest_file_uid: b.highest_file_uid.ok_or(missing("highestfileuid"))?,
        volume_lock_state: b.volume_lock_state,
        volume_name,
        root,
        unknown: b.unknown,
    };
    index.validate_structure()?;
    Ok(index)
}

/// Parses an LTFS index document and checks its structural rules (unique file UIDs, extents
/// within the file and not overlapping, names, depth). Any malformed input is an error.
pub fn parse_index<R: BufRead>(input: R) -> Result<Index, IndexError> {
    let mut reader = Reader::from_reader(input);
    // End tags are checked against the frame or leaf they close, which is cheaper than the
    // reader keeping a copy of every open tag name.
    reader.config_mut().check_end_names = false;
    // Whitespace between structural elements is skipped inside the reader instead of coming
    // out as text events (about half of all events in an index); it is turned off while a
    // value element or an unknown element is read, whose text is kept exactly.
    reader.config_mut().trim_text_start = true;
    let mut buf = Vec::with_capacity(4096);
    let mut aux = Vec::new();
    let mut stack: Vec<Frame> = Vec::with_capacity(64);
    let mut depth = 0usize; // directory nesting
    let mut leaf: Option<(Leaf, bool)> = None;
    let mut text = String::new();
    let mut seen_root = false;
    loop {
        buf.clear();
        let event = match reader.read_event_into(&mut buf) {
            Ok(event) => event,
            Err(e) => return Err(xml_err(&reader, e)),
        };
        match event {
            Event::Start(s) | Event::Empty(s) if leaf.is_some() => {
                let _ = s;
                return Err(xml_err(&reader, "element inside a value element"));
            }
            ev @ (Event::Start(_) | Event::Empty(_)) => {
                let empty = matches!(ev, Event::Empty(_));
                let (Event::Start(s) | Event::Empty(s)) = ev else {
                    continue;
                };
                let Some(top) = stack.last_mut() else {
                    if seen_root {
                        return Err(xml_err(&reader, "content after the root element"));
                    }
                    seen_root = true;
                    let name = String::from_utf8_lossy(s.name().as_ref()).into_owned();
                    if name != "ltfsindex" {
                        return Err(IndexError::NotAnIndex(name.chars().take(64).collect()));
                    }
                    let version = s
                        .try_get_attribute("version")
                        .ok()
                        .flatten()
                        .map(|a| String::from_utf8_lossy(&a.value).into_owned())
                        .unwrap_or_default();
                    if !version.starts_with("2.") {
                        return Err(IndexError::Version(version.chars().take(32).collect()));
                    }
                    if empty {
                        return Err(IndexError::Missing {
                            parent: "ltfsindex",
                            element: "directory",
                        });
                    }
                    stack.push(Frame::Index(Box::default()));
                    continue;
                };
                match classify(top, s.name().as_ref()) {
                    Opens::Leaf(l) => {
                        let flag = match l {
                            Leaf::Name | Leaf::Key | Leaf::Symlink => {
                                attr_is(&s, b"percentencoded", "true")
                            }
                            Leaf::Value => attr_is(&s, b"type", "base64"),
                            _ => false,
                        };
                        text.clear();
                        if empty {
                            store_leaf(top, l, flag, "")?;
                        } else {
                            leaf = Some((l, flag));
                            reader.config_mut().trim_text_start = false;
                        }
                    }
                    Opens::Frame(f) => {
                        if matches!(f, Frame::Dir(_)) {
                            depth += 1;
                            if depth > MAX_DEPTH {
                                return Err(IndexError::TooDeep(MAX_DEPTH));
                            }
                        }
                        stack.push(f);
                        if empty {
                            if matches!(stack.last(), Some(Frame::Dir(_))) {
                                depth -= 1;
                            }
                            if let Some(done) = close_frame(&mut stack)? {
                                return finish(*done);
                            }
                        }
                    }
                    Opens::DataPlacementPolicy | Opens::Unknown => {
                        let is_policy =
                            matches!(classify(top, s.name().as_ref()), Opens::DataPlacementPolicy);
                        let owned = s.into_owned();
                        let budget = (MAX_DEPTH * 2).saturating_sub(stack.len()).max(1);
                        reader.config_mut().trim_text_start = false;
                        let element = capture(&mut reader, &owned, empty, &mut aux, budget)
                            .map_err(IndexError::Xml)?;
                        reader.config_mut().trim_text_start = true;
                        match (is_policy, stack.last_mut()) {
                            (true, Some(Frame::Index(b))) => {
                                b.data_placement_policy = Some(element)
                            }
                            (_, Some(top)) => attach_unknown(top, element),
                            (_, None) => {}
                        }
                    }
                }
            }
            Event::Text(t) => {
                if let Some((l, _)) = leaf {
                    // Text without references needs no unescaping: take it as it is when it
                    // is UTF-8 (anything else goes the general way, which reports the error).
                    let plain = if t.contains(&b'&') {
                        None
                    } else {
                        std::str::from_utf8(&t).ok()
                    };
                    let t = match plain {
                        Some(s) => std::borrow::Cow::Borrowed(s),
                        None => t.unescape().map_err(|e| xml_err(&reader, e))?,
                    };
                    if text.len() + t.len() > MAX_LEAF_LEN {
                        return Err(IndexError::TooLong(l.tag()));
                    }
                    text.push_str(&t);
                }
            }
            Event::CData(c) => {
                if let Some((l, _)) = leaf {
                    let t = std::str::from_utf8(&c).map_err(|e| xml_err(&reader, e))?;
                    if text.len() + t.len() > MAX_LEAF_LEN {
                        return Err(IndexError::TooLong(l.tag()));
                    }
                    text.push_str(t);
                }
            }
            Event::End(e) => {
                let expected = match (leaf, stack.last()) {
                    (Some((l, _)), _) => l.tag(),
                    (None, Some(f)) => f.tag(),
                    (None, None) => "",
                };
                if e.name().as_ref() != expected.as_bytes() {
                    return Err(xml_err(
                        &reader,
                        format!("end tag does not close <{expected}>"),
                    ));
                }
                if let Some((l, flag)) = leaf.take() {
                    reader.config_mut().trim_text_start = true;
                    let top = stack
                        .last_mut()
                        .ok_or_else(|| xml_err(&reader, "unbalanced end tag"))?;
                    store_leaf(top, l, flag, &text)?;
                    continue;
                }
                if matches!(stack.last(), Some(Frame::Dir(_))) {
                    depth = depth.saturating_sub(1);
                }
                if let Some(done) = close_frame(&mut stack)? {
                    return finish(*done);
                }
            }
            Event::Eof => return Err(xml_err(&reader, "unexpected end of document")),
            Event::Comment(_) | Event::PI(_) | Event::Decl(_) | Event::DocType(_) => {}
        }
    }
}
