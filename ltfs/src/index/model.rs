//! In-memory form of an LTFS index.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::time::LtfsTime;
use crate::xml::XmlElement;

/// Longest extended attribute value LTFS stores (LTFS 2.4 §7.5).
pub const MAX_XATTR_VALUE_LEN: usize = 4096;

/// Where an index starts: partition letter and first block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IndexLocation {
    pub partition: char,
    pub start_block: u64,
}

/// The five LTFS timestamps of a file or directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Times {
    pub creation: LtfsTime,
    pub change: LtfsTime,
    pub modify: LtfsTime,
    pub access: LtfsTime,
    pub backup: LtfsTime,
}

impl Times {
    /// All five set to `t`.
    pub fn all(t: LtfsTime) -> Self {
        Times {
            creation: t,
            change: t,
            modify: t,
            access: t,
            backup: t,
        }
    }
}

/// An extended attribute; keys carry no `user.` namespace (LTFS 2.4 §7.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Xattr {
    pub key: String,
    pub value: Vec<u8>,
}

/// A run of file bytes stored in consecutive records (LTFS 2.4 §7.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    pub file_offset: u64,
    pub partition: char,
    pub start_block: u64,
    /// Offset of the first byte within the record at `start_block`.
    pub byte_offset: u64,
    pub byte_count: u64,
}

impl Extent {
    /// One past the last block the extent touches, for records of `blocksize` bytes.
    pub fn end_block(&self, blocksize: u64) -> Option<u64> {
        let bytes = self.byte_offset.checked_add(self.byte_count)?;
        self.start_block
            .checked_add(bytes.div_ceil(blocksize.max(1)))
    }

    /// One past the last file byte the extent covers.
    pub fn file_end(&self) -> Option<u64> {
        self.file_offset.checked_add(self.byte_count)
    }
}

/// A regular file or symbolic link.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct File {
    pub length: u64,
    pub readonly: bool,
    pub times: Times,
    pub file_uid: u64,
    pub xattrs: Vec<Xattr>,
    /// Sorted by `file_offset`, not overlapping.
    pub extents: Vec<Extent>,
    /// Target of a symbolic link; a symlink has no extents.
    pub symlink: Option<String>,
    pub open_for_write: bool,
    /// Elements this implementation does not know, written back unchanged.
    pub unknown: Vec<XmlElement>,
}

/// A directory; entries are keyed by name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Directory {
    pub readonly: bool,
    pub times: Times,
    pub file_uid: u64,
    pub entries: BTreeMap<String, Entry>,
    pub xattrs: Vec<Xattr>,
    pub unknown: Vec<XmlElement>,
}

/// A directory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    File(File),
    Directory(Directory),
}

impl Entry {
    pub fn file_uid(&self) -> u64 {
        match self {
            Entry::File(f) => f.file_uid,
            Entry::Directory(d) => d.file_uid,
        }
    }

    pub fn xattrs(&self) -> &[Xattr] {
        match self {
            Entry::File(f) => &f.xattrs,
            Entry::Directory(d) => &d.xattrs,
        }
    }

    pub fn xattrs_mut(&mut self) -> &mut Vec<Xattr> {
        match self {
            Entry::File(f) => &mut f.xattrs,
            Entry::Directory(d) => &mut d.xattrs,
        }
    }

    pub fn times(&self) -> &Times {
        match self {
            Entry::File(f) => &f.times,
            Entry::Directory(d) => &d.times,
        }
    }

    pub fn times_mut(&mut self) -> &mut Times {
        match self {
            Entry::File(f) => &mut f.times,
            Entry::Directory(d) => &mut d.times,
        }
    }
}

/// An LTFS index (`ltfsindex`, LTFS 2.4 §7.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    pub creator: String,
    pub comment: Option<String>,
    pub volume_uuid: Uuid,
    pub generation: u64,
    pub update_time: LtfsTime,
    pub location: IndexLocation,
    /// The previous generation's index; absent for the first one.
    pub previous: Option<IndexLocation>,
    pub allow_policy_update: bool,
    /// Kept verbatim: this implementation does not place data on the index partition.
    pub data_placement_policy: Option<XmlElement>,
    pub highest_file_uid: u64,
    pub volume_lock_state: Option<String>,
    /// Name of the root directory, which is the volume name.
    pub volume_name: Option<String>,
    pub root: Directory,
    pub unknown: Vec<XmlElement>,
}

impl Index {
    /// An empty index of generation 1 for a new volume.
    pub fn new(
        creator: &str,
        volume_uuid: Uuid,
        volume_name: Option<String>,
        location: IndexLocation,
        now: LtfsTime,
    ) -> Self {
        Index {
            creator: creator.to_owned(),
            comment: None,
            volume_uuid,
            generation: 1,
            update_time: now,
            location,
            previous: None,
            allow_policy_update: true,
            data_placement_policy: None,
            highest_file_uid: 1,
            volume_lock_state: Some("unlocked".to_owned()),
            volume_name,
            root: Directory {
                times: Times::all(now),
                file_uid: 1,
                ..Directory::default()
            },
            unknown: Vec::new(),
        }
    }

    /// The entry at a `/`-separated path relative to the root (`""` is the root itself, which is
    /// not an [`Entry`]; use [`Index::directory`]).
    pub fn entry(&self, path: &str) -> Option<&Entry> {
        let (parent, name) = split_parent(path)?;
        self.directory(parent)?.entries.get(name)
    }

    /// The directory at a path (`""` or `/` for the root).
    pub fn directory(&self, path: &str) -> Option<&Directory> {
        let mut dir = &self.root;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            match dir.entries.get(part)? {
                Entry::Directory(d) => dir = d,
                Entry::File(_) => return None,
            }
        }
        Some(dir)
    }

    /// Mutable access to the directory at a path.
    pub fn directory_mut(&mut self, path: &str) -> Option<&mut Directory> {
        let mut dir = &mut self.root;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            match dir.entries.get_mut(part)? {
                Entry::Directory(d) => dir = d,
                Entry::File(_) => return None,
            }
        }
        Some(dir)
    }

    /// Number of files and directories below the root.
    pub fn entry_count(&self) -> usize {
        let mut n = 0;
        let mut stack = vec![&self.root];
        while let Some(d) = stack.pop() {
            n += d.entries.len();
            stack.extend(d.entries.values().filter_map(|e| match e {
                Entry::Directory(d) => Some(d),
                Entry::File(_) => None,
            }));
        }
        n
    }
}

/// Splits `a/b/c` into (`a/b`, `c`), ignoring leading, trailing and repeated slashes.
pub(crate) fn split_parent(path: &str) -> Option<(&str, &str)> {
    let trimmed = path.trim_end_matches('/');
    let trimmed = trimmed.trim_start_matches('/');
    if trimmed.is_empty() {
        return None;
    }
    match trimmed.rfind('/') {
        Some(i) => Some((&trimmed[..i], &trimmed[i + 1..])),
        None => Some(("", trimmed)),
    }
}
