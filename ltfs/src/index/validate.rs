//! Consistency rules of an index, alone and against the volume it describes.

use super::model::{Directory, Entry, File, Index};
use super::{IndexError, MAX_DEPTH};

/// What the volume tells about where extents may point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidationContext {
    pub index_partition: char,
    pub data_partition: char,
    pub blocksize: u64,
    /// First block not covered by data on each partition (for example the index's own start
    /// block, or end of data); `None` when unknown.
    pub index_partition_end: Option<u64>,
    pub data_partition_end: Option<u64>,
}

impl Index {
    /// Structural rules: root fileuid 1, fileuids non-zero, unique and at most
    /// `highestfileuid`; extents within the file length, sorted and not overlapping; no symlink
    /// with extents; depth bounded.
    pub fn validate_structure(&self) -> Result<(), IndexError> {
        if self.root.file_uid != 1 {
            return Err(IndexError::RootFileUid(self.root.file_uid));
        }
        let mut uids = Vec::new();
        walk(&self.root, &mut |entry| {
            let uid = entry.file_uid();
            uids.push(uid);
            if let Entry::File(f) = entry {
                check_file(f)?;
            }
            Ok(())
        })?;
        uids.push(1);
        uids.sort_unstable();
        if uids.first() == Some(&0) {
            return Err(IndexError::ZeroFileUid);
        }
        if let Some(w) = uids.windows(2).find(|w| w[0] == w[1]) {
            return Err(IndexError::DuplicateFileUid(w[0]));
        }
        if let Some(&max) = uids.last() {
            if max > self.highest_file_uid {
                return Err(IndexError::FileUidAboveHighest {
                    uid: max,
                    highest: self.highest_file_uid,
                });
            }
        }
        Ok(())
    }

    /// Structural rules plus: every extent on one of the volume's partitions, its byte offset
    /// inside a record, and its last block before the partition's end.
    pub fn validate(&self, ctx: &ValidationContext) -> Result<(), IndexError> {
        self.validate_structure()?;
        let bs = ctx.blocksize.max(1);
        walk(&self.root, &mut |entry| {
            let Entry::File(f) = entry else {
                return Ok(());
            };
            for e in &f.extents {
                let limit = if e.partition == ctx.data_partition {
                    ctx.data_partition_end
                } else if e.partition == ctx.index_partition {
                    ctx.index_partition_end
                } else {
                    return Err(IndexError::UnknownPartition {
                        uid: f.file_uid,
                        partition: e.partition,
                    });
                };
                if e.byte_offset >= bs {
                    return Err(IndexError::BadExtent { uid: f.file_uid });
                }
                let end = e
                    .end_block(bs)
                    .ok_or(IndexError::BadExtent { uid: f.file_uid })?;
                if let Some(limit) = limit {
                    if end > limit {
                        return Err(IndexError::ExtentPastEnd {
                            uid: f.file_uid,
                            partition: e.partition,
                            block: end,
                            limit,
                        });
                    }
                }
            }
            Ok(())
        })
    }
}

fn check_file(f: &File) -> Result<(), IndexError> {
    let uid = f.file_uid;
    if f.symlink.is_some() && !f.extents.is_empty() {
        return Err(IndexError::SymlinkWithExtents(uid));
    }
    let mut covered = 0u64;
    for e in &f.extents {
        if e.byte_count == 0 {
            return Err(IndexError::BadExtent { uid });
        }
        let end = e.file_end().ok_or(IndexError::BadExtent { uid })?;
        e.start_block
            .checked_add(e.byte_offset)
            .ok_or(IndexError::BadExtent { uid })?;
        if e.file_offset < covered {
            return Err(IndexError::OverlappingExtents {
                uid,
                offset: e.file_offset,
            });
        }
        if end > f.length {
            return Err(IndexError::ExtentBeyondLength {
                uid,
                end,
                length: f.length,
            });
        }
        covered = end;
    }
    Ok(())
}

/// Visits every entry below `root` without recursion.
fn walk(
    root: &Directory,
    visit: &mut dyn FnMut(&Entry) -> Result<(), IndexError>,
) -> Result<(), IndexError> {
    let mut stack = vec![(root, 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            return Err(IndexError::TooDeep(MAX_DEPTH));
        }
        for entry in dir.entries.values() {
            visit(entry)?;
            if let Entry::Directory(d) = entry {
                stack.push((d, depth + 1));
            }
        }
    }
    Ok(())
}
