//! Reading: listing, whole files and byte ranges located straight from the extent list.

use std::io::Write;

use super::Volume;
use crate::device::{ReadOutcome, TapeDevice};
use crate::error::{LtfsError, Result};
use crate::index::{Entry, Extent, File};
use crate::names::normalize_name;

/// Kind of a directory entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Directory,
    Symlink,
}

/// One line of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub name: String,
    pub kind: EntryKind,
    pub length: u64,
    pub file_uid: u64,
}

static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];

fn write_out<W: Write>(w: &mut W, data: &[u8]) -> Result<()> {
    w.write_all(data).map_err(|source| LtfsError::Io {
        context: "writing file data to the destination",
        source,
    })
}

fn write_zeros<W: Write>(w: &mut W, mut n: u64) -> Result<()> {
    while n > 0 {
        let k = n.min(ZEROS.len() as u64) as usize;
        write_out(w, &ZEROS[..k])?;
        n -= k as u64;
    }
    Ok(())
}

impl<D: TapeDevice> Volume<D> {
    /// The entry at a path; names are tried as given, then in NFC.
    pub fn entry(&self, path: &str) -> Result<&Entry> {
        if let Some(e) = self.index.entry(path) {
            return Ok(e);
        }
        let nfc: Vec<String> = path
            .split('/')
            .filter(|p| !p.is_empty())
            .map(|p| normalize_name(p).unwrap_or_else(|_| p.to_owned()))
            .collect();
        self.index
            .entry(&nfc.join("/"))
            .ok_or_else(|| LtfsError::NotFound(path.to_owned()))
    }

    /// Lists a directory (`""` for the root), sorted by name.
    pub fn list(&self, path: &str) -> Result<Vec<DirEntry>> {
        let dir = match path.trim_matches('/') {
            "" => &self.index.root,
            p => match self.entry(p)? {
                Entry::Directory(d) => d,
                Entry::File(_) => return Err(LtfsError::NotADirectory(path.to_owned())),
            },
        };
        Ok(dir
            .entries
            .iter()
            .map(|(name, e)| match e {
                Entry::Directory(d) => DirEntry {
                    name: name.clone(),
                    kind: EntryKind::Directory,
                    length: 0,
                    file_uid: d.file_uid,
                },
                Entry::File(f) => DirEntry {
                    name: name.clone(),
                    kind: if f.symlink.is_some() {
                        EntryKind::Symlink
                    } else {
                        EntryKind::File
                    },
                    length: f.length,
                    file_uid: f.file_uid,
                },
            })
            .collect())
    }

    fn file(&self, path: &str) -> Result<&File> {
        match self.entry(path)? {
            Entry::File(f) => Ok(f),
            Entry::Directory(_) => Err(LtfsError::IsADirectory(path.to_owned())),
        }
    }

    /// The target of a symbolic link.
    pub fn read_link(&self, path: &str) -> Result<&str> {
        self.file(path)?
            .symlink
            .as_deref()
            .ok_or_else(|| LtfsError::InvalidArgument(format!("{path} is not a symbolic link")))
    }

    /// An extended attribute's value (keys without `user.`).
    pub fn xattr(&self, path: &str, key: &str) -> Result<Option<&[u8]>> {
        let key = key.strip_prefix("user.").unwrap_or(key);
        Ok(self
            .entry(path)?
            .xattrs()
            .iter()
            .find(|x| x.key == key)
            .map(|x| x.value.as_slice()))
    }

    /// Reads a whole file into `out`; returns its length.
    pub fn read_file<W: Write>(&mut self, path: &str, out: &mut W) -> Result<u64> {
        self.read_range(path, 0, u64::MAX, out)
    }

    /// Reads bytes `[offset, offset + len)` of a file (clipped at its length) into `out`,
    /// locating straight to the record holding `offset` (LTFS 2.4 §7.6: byte `x` of an extent
    /// is at `k = x − fileoffset + byteoffset`, block `startblock + k / blocksize`). Gaps
    /// between extents and the tail up to the file length read as zeros. Returns the number of
    /// bytes written.
    pub fn read_range<W: Write>(
        &mut self,
        path: &str,
        offset: u64,
        len: u64,
        out: &mut W,
    ) -> Result<u64> {
        let file = self.file(path)?;
        if file.symlink.is_some() {
            return Err(LtfsError::InvalidArgument(format!(
                "{path} is a symbolic link"
            )));
        }
        let length = file.length;
        let end = offset.saturating_add(len).min(length);
        if offset >= end {
            return Ok(0);
        }
        let extents: Vec<Extent> = file
            .extents
            .iter()
            .filter(|e| e.file_end().is_some_and(|fe| fe > offset) && e.file_offset < end)
            .copied()
            .collect();
        let mut buf = std::mem::take(&mut self.buf);
        buf.resize(self.blocksize, 0);
        let result = self.copy_extents(&extents, offset, end, &mut buf, out);
        self.buf = buf;
        result?;
        Ok(end - offset)
    }

    fn copy_extents<W: Write>(
        &mut self,
        extents: &[Extent],
        offset: u64,
        end: u64,
        buf: &mut [u8],
        out: &mut W,
    ) -> Result<()> {
        let bs = self.blocksize as u64;
        let mut pos = offset;
        for e in extents {
            if e.file_offset > pos {
                write_zeros(out, e.file_offset - pos)?;
                pos = e.file_offset;
            }
            let extent_end = e.file_end().unwrap_or(u64::MAX).min(end);
            let k = pos - e.file_offset + e.byte_offset;
            let mut block = e.start_block + k / bs;
            let mut skip = (k % bs) as usize;
            let partition = self.partition_of(e.partition)?;
            self.device.locate(partition, block)?;
            while pos < extent_end {
                let n = match self.device.read_record(buf)? {
                    ReadOutcome::Data(n) => n,
                    ReadOutcome::Filemark => {
                        return Err(LtfsError::Layout {
                            partition,
                            block,
                            found: "filemark",
                            expected: "file data",
                        })
                    }
                    ReadOutcome::EndOfData => {
                        return Err(LtfsError::Layout {
                            partition,
                            block,
                            found: "end of data",
                            expected: "file data",
                        })
                    }
                };
                let data = buf.get(skip..n).ok_or(LtfsError::Layout {
                    partition,
                    block,
                    found: "short record",
                    expected: "file data",
                })?;
                let take = (data.len() as u64).min(extent_end - pos) as usize;
                write_out(out, &data[..take])?;
                pos += take as u64;
                skip = 0;
                block += 1;
            }
        }
        if end > pos {
            write_zeros(out, end - pos)?;
        }
        Ok(())
    }
}
