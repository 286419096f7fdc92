//! Changing the tree: files written from a reader as extents on the data partition, directories,
//! symlinks, extended attributes, removal and rename.

use std::io::{ErrorKind, Read};

use tracing::debug;

use super::Volume;
use crate::device::{TapeDevice, WriteOutcome};
use crate::error::{LtfsError, Result};
use crate::index::{Directory, Entry, Extent, File, Times, Xattr, MAX_DEPTH, MAX_XATTR_VALUE_LEN};
use crate::names::{is_xml_text, normalize_name};
use crate::time::LtfsTime;

fn name_err(e: crate::names::NameError) -> LtfsError {
    LtfsError::Name {
        name: e.name,
        reason: e.reason,
    }
}

/// Normalizes every component of a path.
fn normalize_path(path: &str) -> Result<Vec<String>> {
    path.split('/')
        .filter(|p| !p.is_empty())
        .map(|p| normalize_name(p).map_err(name_err))
        .collect()
}

fn check_xattr(x: &Xattr) -> Result<()> {
    if x.key.is_empty() || !is_xml_text(&x.key) || x.key.len() > 255 {
        return Err(LtfsError::InvalidArgument(format!(
            "extended attribute key {:?} is not a valid key",
            x.key
        )));
    }
    if x.value.len() > MAX_XATTR_VALUE_LEN {
        return Err(LtfsError::InvalidArgument(format!(
            "extended attribute {:?} is longer than 4096 bytes",
            x.key
        )));
    }
    Ok(())
}

/// Fills `buf` from the reader; returns the bytes read (short only at end of input).
fn fill<R: Read>(reader: &mut R, buf: &mut [u8]) -> Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(LtfsError::Io {
                    context: "reading the source of a file",
                    source: e,
                })
            }
        }
    }
    Ok(n)
}

impl<D: TapeDevice> Volume<D> {
    fn parent_dir_mut(&mut self, parts: &[String]) -> Result<&mut Directory> {
        let (_, parents) = parts
            .split_last()
            .ok_or_else(|| LtfsError::InvalidArgument("empty path".into()))?;
        let mut dir = &mut self.index.root;
        for (i, p) in parents.iter().enumerate() {
            match dir.entries.get_mut(p) {
                Some(Entry::Directory(d)) => dir = d,
                Some(Entry::File(_)) => {
                    return Err(LtfsError::NotADirectory(parents[..=i].join("/")))
                }
                None => return Err(LtfsError::NotFound(parents[..=i].join("/"))),
            }
        }
        Ok(dir)
    }

    fn next_uid(&mut self) -> u64 {
        self.index.highest_file_uid += 1;
        self.index.highest_file_uid
    }

    fn insert(&mut self, parts: &[String], entry: Entry) -> Result<()> {
        let now = LtfsTime::now();
        let name = parts.last().cloned().unwrap_or_default();
        let dir = self.parent_dir_mut(parts)?;
        if dir.entries.contains_key(&name) {
            return Err(LtfsError::AlreadyExists(parts.join("/")));
        }
        dir.entries.insert(name, entry);
        dir.times.modify = now;
        dir.times.change = now;
        self.dirty = true;
        Ok(())
    }

    /// Writes a file from `reader` to the data partition, streaming one record at a time, as a
    /// single extent; records are `blocksize` bytes but the last. The parent directory must
    /// exist and the name must be free. Returns the file length.
    ///
    /// If early warning is reached the file is not added to the index and
    /// [`LtfsError::NoSpace`] is returned; the index can still be synced.
    pub fn write_file<R: Read>(
        &mut self,
        path: &str,
        mut reader: R,
        xattrs: &[Xattr],
    ) -> Result<u64> {
        self.check_writable()?;
        let parts = normalize_path(path)?;
        // LTFS stores keys without the `user.` namespace (LTFS 2.4 §7.5).
        let xattrs: Vec<Xattr> = xattrs
            .iter()
            .map(|x| Xattr {
                key: x.key.strip_prefix("user.").unwrap_or(&x.key).to_owned(),
                value: x.value.clone(),
            })
            .collect();
        for x in &xattrs {
            check_xattr(x)?;
        }
        {
            let name = parts.last().cloned().unwrap_or_default();
            let dir = self.parent_dir_mut(&parts)?;
            if dir.entries.contains_key(&name) {
                return Err(LtfsError::AlreadyExists(parts.join("/")));
            }
        }
        if self.early_warning {
            let block = self.dp_append.unwrap_or(0);
            return Err(LtfsError::NoSpace {
                partition: self.dp,
                block,
            });
        }
        let start_block = self.data_append_block()?;
        let mut buf = std::mem::take(&mut self.buf);
        buf.resize(self.blocksize, 0);
        let result = self.write_records(&mut reader, &mut buf, start_block);
        self.buf = buf;
        let (length, records) = result?;
        let now = LtfsTime::now();
        let extents = if length == 0 {
            Vec::new()
        } else {
            vec![Extent {
                file_offset: 0,
                partition: self.label.data_partition,
                start_block,
                byte_offset: 0,
                byte_count: length,
            }]
        };
        let file = File {
            length,
            readonly: false,
            times: Times::all(now),
            file_uid: self.next_uid(),
            xattrs,
            extents,
            symlink: None,
            open_for_write: false,
            unknown: Vec::new(),
        };
        self.insert(&parts, Entry::File(file))?;
        debug!(path, length, records, start_block, "file written");
        self.bytes_since_sync += length;
        self.files_since_sync += 1;
        let due = self
            .policy
            .after_bytes
            .is_some_and(|b| self.bytes_since_sync >= b)
            || self
                .policy
                .after_files
                .is_some_and(|f| self.files_since_sync >= f);
        if due {
            self.sync()?;
        }
        Ok(length)
    }

    fn write_records<R: Read>(
        &mut self,
        reader: &mut R,
        buf: &mut [u8],
        start: u64,
    ) -> Result<(u64, u64)> {
        let mut length = 0u64;
        let mut records = 0u64;
        let mut positioned = false;
        loop {
            let n = fill(reader, buf)?;
            if n == 0 {
                break;
            }
            if !positioned {
                self.device.locate(self.dp, start)?;
                positioned = true;
            }
            let outcome = self.device.write_record(&buf[..n]);
            // Whatever happened, the data partition now ends after what was written.
            let written = u64::from(outcome.is_ok());
            records += written;
            self.dp_append = Some(start + records);
            if outcome? == WriteOutcome::EarlyWarning {
                self.early_warning = true;
                return Err(LtfsError::NoSpace {
                    partition: self.dp,
                    block: start + records,
                });
            }
            length += n as u64;
            if n < buf.len() {
                break;
            }
        }
        Ok((length, records))
    }

    /// Creates a directory; its parent must exist.
    pub fn create_dir(&mut self, path: &str) -> Result<()> {
        self.check_writable()?;
        let parts = normalize_path(path)?;
        if parts.len() > MAX_DEPTH {
            return Err(LtfsError::InvalidArgument(format!(
                "directories nested deeper than {MAX_DEPTH}"
            )));
        }
        let dir = Directory {
            times: Times::all(LtfsTime::now()),
            file_uid: self.index.highest_file_uid + 1,
            ..Directory::default()
        };
        self.insert(&parts, Entry::Directory(dir))?;
        self.next_uid();
        Ok(())
    }

    /// Creates a directory and any missing parents.
    pub fn create_dir_all(&mut self, path: &str) -> Result<()> {
        let parts = normalize_path(path)?;
        for i in 1..=parts.len() {
            let sub = parts[..i].join("/");
            match self.index.entry(&sub) {
                Some(Entry::Directory(_)) => {}
                Some(Entry::File(_)) => return Err(LtfsError::NotADirectory(sub)),
                None => self.create_dir(&sub)?,
            }
        }
        Ok(())
    }

    /// Creates a symbolic link at `path` pointing to `target`.
    pub fn create_symlink(&mut self, path: &str, target: &str) -> Result<()> {
        self.check_writable()?;
        let parts = normalize_path(path)?;
        if target.is_empty() || target.contains('\0') {
            return Err(LtfsError::InvalidArgument("empty symlink target".into()));
        }
        let file = File {
            times: Times::all(LtfsTime::now()),
            file_uid: self.index.highest_file_uid + 1,
            symlink: Some(target.to_owned()),
            ..File::default()
        };
        self.insert(&parts, Entry::File(file))?;
        self.next_uid();
        Ok(())
    }

    fn entry_mut(&mut self, path: &str) -> Result<&mut Entry> {
        let parts = normalize_path(path)?;
        let name = parts
            .last()
            .ok_or_else(|| LtfsError::InvalidArgument("the root has no entry".into()))?
            .clone();
        let dir = self.parent_dir_mut(&parts)?;
        dir.entries
            .get_mut(&name)
            .ok_or_else(|| LtfsError::NotFound(path.to_owned()))
    }

    /// Sets (adds or replaces) an extended attribute. Keys are stored without the `user.`
    /// namespace, as LTFS does.
    pub fn set_xattr(&mut self, path: &str, key: &str, value: &[u8]) -> Result<()> {
        self.check_writable()?;
        let x = Xattr {
            key: key.strip_prefix("user.").unwrap_or(key).to_owned(),
            value: value.to_vec(),
        };
        check_xattr(&x)?;
        let entry = self.entry_mut(path)?;
        let list = entry.xattrs_mut();
        match list.iter_mut().find(|e| e.key == x.key) {
            Some(existing) => existing.value = x.value,
            None => list.push(x),
        }
        entry.times_mut().change = LtfsTime::now();
        self.dirty = true;
        Ok(())
    }

    /// Removes an extended attribute; returns whether it existed.
    pub fn remove_xattr(&mut self, path: &str, key: &str) -> Result<bool> {
        self.check_writable()?;
        let key = key.strip_prefix("user.").unwrap_or(key).to_owned();
        let entry = self.entry_mut(path)?;
        let list = entry.xattrs_mut();
        let before = list.len();
        list.retain(|x| x.key != key);
        let removed = list.len() != before;
        if removed {
            entry.times_mut().change = LtfsTime::now();
            self.dirty = true;
        }
        Ok(removed)
    }

    /// Removes a file, symlink or empty directory. The data stays on tape (the data partition
    /// is append-only) but no longer belongs to any file.
    pub fn remove(&mut self, path: &str) -> Result<()> {
        self.check_writable()?;
        let parts = normalize_path(path)?;
        let name = parts
            .last()
            .ok_or_else(|| LtfsError::InvalidArgument("cannot remove the root".into()))?
            .clone();
        let now = LtfsTime::now();
        let dir = self.parent_dir_mut(&parts)?;
        match dir.entries.get(&name) {
            None => return Err(LtfsError::NotFound(path.to_owned())),
            Some(Entry::Directory(d)) if !d.entries.is_empty() => {
                return Err(LtfsError::NotEmpty(path.to_owned()))
            }
            Some(_) => {}
        }
        dir.entries.remove(&name);
        dir.times.modify = now;
        dir.times.change = now;
        self.dirty = true;
        Ok(())
    }

    /// Moves an entry to a new path; the destination must not exist and a directory cannot move
    /// into itself.
    pub fn rename(&mut self, from: &str, to: &str) -> Result<()> {
        self.check_writable()?;
        let src = normalize_path(from)?;
        let dst = normalize_path(to)?;
        if src.is_empty() || dst.is_empty() {
            return Err(LtfsError::InvalidArgument("cannot rename the root".into()));
        }
        if dst.len() > src.len() && dst[..src.len()] == src[..] {
            return Err(LtfsError::InvalidArgument(format!(
                "cannot move {from} into itself"
            )));
        }
        if src == dst {
            return Ok(());
        }
        // Check the destination first so a failure leaves the tree unchanged.
        {
            let name = dst.last().cloned().unwrap_or_default();
            let dir = self.parent_dir_mut(&dst)?;
            if dir.entries.contains_key(&name) {
                return Err(LtfsError::AlreadyExists(to.to_owned()));
            }
        }
        let name = src.last().cloned().unwrap_or_default();
        let now = LtfsTime::now();
        let mut entry = {
            let dir = self.parent_dir_mut(&src)?;
            let e = dir
                .entries
                .remove(&name)
                .ok_or_else(|| LtfsError::NotFound(from.to_owned()))?;
            dir.times.modify = now;
            dir.times.change = now;
            e
        };
        entry.times_mut().change = now;
        self.insert(&dst, entry)?;
        Ok(())
    }
}
