//! Random-access byte sources: parsers ask only for the ranges they need, so a source on
//! tape locates to them instead of streaming the whole file.

use crate::error::{MediaError, Result};

/// A file readable at arbitrary offsets.
pub trait RangeSource {
    /// Total length in bytes.
    fn len(&self) -> u64;

    /// Reads exactly `len` bytes at `offset`; a range past the end is an error.
    fn read_at(&mut self, offset: u64, len: usize) -> Result<Vec<u8>>;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl RangeSource for [u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }

    fn read_at(&mut self, offset: u64, len: usize) -> Result<Vec<u8>> {
        slice_at(self, offset, len)
    }
}

impl RangeSource for Vec<u8> {
    fn len(&self) -> u64 {
        self.as_slice().len() as u64
    }

    fn read_at(&mut self, offset: u64, len: usize) -> Result<Vec<u8>> {
        slice_at(self, offset, len)
    }
}

fn slice_at(data: &[u8], offset: u64, len: usize) -> Result<Vec<u8>> {
    let start = usize::try_from(offset).ok();
    let end = start.and_then(|s| s.checked_add(len));
    match (start, end) {
        (Some(s), Some(e)) if e <= data.len() => Ok(data[s..e].to_vec()),
        _ => Err(past_end(offset, len, data.len() as u64)),
    }
}

pub(crate) fn past_end(offset: u64, len: usize, total: u64) -> MediaError {
    MediaError::media(format!(
        "read of {len} bytes at {offset} runs past the end of the file ({total} bytes)"
    ))
}

/// A file on disk.
pub struct FileSource {
    file: std::fs::File,
    len: u64,
}

impl FileSource {
    pub fn open(path: &std::path::Path) -> Result<Self> {
        let file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        Ok(FileSource { file, len })
    }
}

impl RangeSource for FileSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&mut self, offset: u64, len: usize) -> Result<Vec<u8>> {
        use std::io::{Read, Seek, SeekFrom};
        if offset.checked_add(len as u64).is_none_or(|e| e > self.len) {
            return Err(past_end(offset, len, self.len));
        }
        self.file.seek(SeekFrom::Start(offset))?;
        let mut buf = vec![0u8; len];
        self.file.read_exact(&mut buf)?;
        Ok(buf)
    }
}

/// Counts the bytes read through it, to report how little of the source a cut needed.
pub struct Counting<'a, S: ?Sized> {
    pub inner: &'a mut S,
    pub bytes_read: u64,
}

impl<'a, S: RangeSource + ?Sized> Counting<'a, S> {
    pub fn new(inner: &'a mut S) -> Self {
        Counting {
            inner,
            bytes_read: 0,
        }
    }
}

impl<S: RangeSource + ?Sized> RangeSource for Counting<'_, S> {
    fn len(&self) -> u64 {
        self.inner.len()
    }

    fn read_at(&mut self, offset: u64, len: usize) -> Result<Vec<u8>> {
        let v = self.inner.read_at(offset, len)?;
        self.bytes_read += v.len() as u64;
        Ok(v)
    }
}

/// Reads `len` bytes at `offset` clipped to the end of the source.
pub(crate) fn read_clipped<S: RangeSource + ?Sized>(
    src: &mut S,
    offset: u64,
    len: usize,
) -> Result<Vec<u8>> {
    let total = src.len();
    if offset >= total {
        return Ok(Vec::new());
    }
    let n = (total - offset).min(len as u64) as usize;
    src.read_at(offset, n)
}

/// Copies `[offset, offset + len)` of `src` to `out` in bounded chunks.
pub(crate) fn copy_range<S: RangeSource + ?Sized, W: std::io::Write>(
    src: &mut S,
    offset: u64,
    len: u64,
    out: &mut W,
) -> Result<()> {
    const CHUNK: u64 = 8 << 20;
    let mut done = 0u64;
    while done < len {
        let n = (len - done).min(CHUNK) as usize;
        let buf = src.read_at(offset + done, n)?;
        out.write_all(&buf)?;
        done += n as u64;
    }
    Ok(())
}
