//! The structure of an OP1a file as read from its partition packs, random index pack and
//! index table segments — only those byte ranges are read, never the essence.

use super::klv::{
    be_u64, is_fill, local_items, partition_kind, read_klv, read_value, Klv, INDEX_KEY,
    KIND_HEADER, RIP_KEY,
};
use crate::error::{MediaError, Result};
use crate::source::RangeSource;

/// Upper bounds that keep hostile files from making the parser allocate without limit.
const MAX_HEADER_METADATA: u64 = 64 << 20;
const MAX_INDEX_BYTES: u64 = 256 << 20;
const MAX_PARTITIONS: usize = 1 << 20;

/// A partition pack's value fields (ST 377-1 §7.1).
#[derive(Debug, Clone)]
pub(crate) struct Partition {
    pub kind: u8,
    /// The pack's value, kept whole to copy its operational pattern and container batch.
    pub value: Vec<u8>,
    pub kag: u32,
    pub header_byte_count: u64,
    pub index_byte_count: u64,
    pub body_offset: u64,
    pub body_sid: u32,
    /// First byte after the pack and its alignment fill.
    pub content_start: u64,
}

pub(crate) const PACK_FIXED: usize = 88;

impl Partition {
    fn parse(klv: &Klv, value: Vec<u8>, content_start: u64) -> Result<Self> {
        if value.len() < PACK_FIXED {
            return Err(MediaError::media(format!(
                "partition pack at {} is {} bytes, shorter than {PACK_FIXED}",
                klv.offset,
                value.len()
            )));
        }
        let u32_at =
            |o: usize| u32::from_be_bytes([value[o], value[o + 1], value[o + 2], value[o + 3]]);
        let this = be_u64(&value[8..16]);
        if this != klv.offset {
            // Files with a run-in count from the header partition; none are supported.
            return Err(MediaError::media(format!(
                "partition pack at {} says it is at {this}",
                klv.offset
            )));
        }
        Ok(Partition {
            kind: klv.key[13],
            kag: u32_at(4),
            header_byte_count: be_u64(&value[32..40]),
            index_byte_count: be_u64(&value[40..48]),
            body_offset: be_u64(&value[52..60]),
            body_sid: u32_at(60),
            value,
            content_start,
        })
    }
}

/// One index table segment (ST 377-1 §11).
#[derive(Debug, Clone, Default)]
pub(crate) struct IndexSegment {
    pub edit_rate: (i32, i32),
    pub start: i64,
    pub duration: i64,
    pub edit_unit_byte_count: u32,
    pub index_sid: u32,
    pub body_sid: u32,
    pub slice_count: u8,
    pub pos_table_count: u8,
    /// The DeltaEntryArray value as stored.
    pub delta_entries: Option<Vec<u8>>,
    pub entries: Vec<IndexEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IndexEntry {
    pub temporal_offset: i8,
    pub key_frame_offset: i8,
    pub flags: u8,
    pub stream_offset: u64,
    /// Slice offsets and position table entries, copied unchanged.
    pub rest: Vec<u8>,
}

pub(crate) const RANDOM_ACCESS: u8 = 0x80;

pub(crate) fn parse_index_segment(v: &[u8]) -> Result<IndexSegment> {
    let mut s = IndexSegment::default();
    for (tag, o, len) in local_items(v)? {
        let b = &v[o..o + len];
        let need = |n: usize| -> Result<()> {
            if len < n {
                Err(MediaError::media(format!(
                    "index tag {tag:04x} is {len} bytes, needs {n}"
                )))
            } else {
                Ok(())
            }
        };
        let u32v = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        match tag {
            0x3f0b => {
                need(8)?;
                s.edit_rate = (u32v(b) as i32, u32v(&b[4..]) as i32);
            }
            0x3f0c => {
                need(8)?;
                s.start = be_u64(b) as i64;
            }
            0x3f0d => {
                need(8)?;
                s.duration = be_u64(b) as i64;
            }
            0x3f05 => {
                need(4)?;
                s.edit_unit_byte_count = u32v(b);
            }
            0x3f06 => {
                need(4)?;
                s.index_sid = u32v(b);
            }
            0x3f07 => {
                need(4)?;
                s.body_sid = u32v(b);
            }
            0x3f08 => {
                need(1)?;
                s.slice_count = b[0];
            }
            0x3f0e => {
                need(1)?;
                s.pos_table_count = b[0];
            }
            0x3f09 => s.delta_entries = Some(b.to_vec()),
            0x3f0a => {
                need(8)?;
                let n = u32v(b) as usize;
                let el = u32v(&b[4..]) as usize;
                if el < 11 || n.checked_mul(el).is_none_or(|t| t > len - 8) {
                    return Err(MediaError::media(format!(
                        "index entry array of {n} entries of {el} bytes does not fit its {len} bytes"
                    )));
                }
                s.entries = (0..n)
                    .map(|i| {
                        let e = &b[8 + i * el..8 + (i + 1) * el];
                        IndexEntry {
                            temporal_offset: e[0] as i8,
                            key_frame_offset: e[1] as i8,
                            flags: e[2],
                            stream_offset: be_u64(&e[3..11]),
                            rest: e[11..].to_vec(),
                        }
                    })
                    .collect();
            }
            _ => {}
        }
    }
    if s.edit_rate.0 <= 0 || s.edit_rate.1 <= 0 {
        return Err(MediaError::media(format!(
            "index edit rate {}/{}",
            s.edit_rate.0, s.edit_rate.1
        )));
    }
    if s.start < 0 || s.duration < 0 {
        return Err(MediaError::media("negative index start or duration"));
    }
    Ok(s)
}

/// A run of essence bytes of one body stream inside one partition.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EssenceRun {
    pub file_start: u64,
    pub file_end: u64,
    /// Stream offset of the first byte.
    pub stream_start: u64,
}

impl EssenceRun {
    pub fn stream_end(&self) -> u64 {
        self.stream_start + (self.file_end - self.file_start)
    }
}

/// One partition as read: its pack, index segments and essence.
#[derive(Debug)]
pub(crate) struct Part {
    pub partition: Partition,
    pub segments: Vec<IndexSegment>,
    pub run: Option<EssenceRun>,
}

/// The file's structure, read lazily: the header partition and the random index pack at
/// once, other partitions (one tape block each) only when a cut needs their index entries
/// or essence, found by bisection.
#[derive(Debug)]
pub(crate) struct Layout {
    pub header: Partition,
    /// Primer pack, header metadata sets and their trailing fill, from the header partition.
    pub header_metadata: Vec<u8>,
    offsets: Vec<u64>,
    file_end: u64,
    parts: std::collections::HashMap<usize, Part>,
    /// Index segments by start position.
    pub segments: std::collections::BTreeMap<i64, IndexSegment>,
    /// Essence runs of the body stream by stream offset.
    runs: std::collections::BTreeMap<u64, EssenceRun>,
    pub body_sid: u32,
    pub index_sid: u32,
}

/// Index segments of the first partition holding any, for the clip's parameters.
pub(crate) struct Template {
    pub edit_rate: (i32, i32),
    pub slice_count: u8,
    pub pos_table_count: u8,
    pub delta_entries: Option<Vec<u8>>,
    pub edit_unit_byte_count: u32,
}

fn read_partition<S: RangeSource + ?Sized>(src: &mut S, offset: u64) -> Result<Partition> {
    let klv = read_klv(src, offset)?;
    if partition_kind(&klv.key).is_none() {
        return Err(MediaError::media(format!(
            "no partition pack at {offset} (key {:02x?})",
            &klv.key
        )));
    }
    let value = read_value(src, &klv, 64 << 10, "partition pack")?;
    let mut content_start = klv.end();
    if content_start < src.len() {
        let next = read_klv(src, content_start)?;
        if is_fill(&next.key) {
            content_start = next.end();
        }
    }
    Partition::parse(&klv, value, content_start)
}

/// Partition offsets from the random index pack, or by walking back from the footer; and
/// where the last partition ends.
fn partition_offsets<S: RangeSource + ?Sized>(
    src: &mut S,
    header: &Partition,
) -> Result<(Vec<u64>, u64)> {
    let total = src.len();
    if total >= 4 {
        let tail = src.read_at(total - 4, 4)?;
        let rip_len = u64::from(u32::from_be_bytes([tail[0], tail[1], tail[2], tail[3]]));
        if (21..=total).contains(&rip_len) && rip_len <= (MAX_PARTITIONS as u64) * 12 + 29 {
            let at = total - rip_len;
            let klv = read_klv(src, at)?;
            if klv.key == RIP_KEY && klv.end() == total {
                let v = read_value(src, &klv, rip_len, "random index pack")?;
                let pairs = v.len().saturating_sub(4) / 12;
                let mut offs: Vec<u64> = (0..pairs)
                    .map(|i| be_u64(&v[i * 12 + 4..i * 12 + 12]))
                    .filter(|&o| o < at)
                    .collect();
                offs.sort_unstable();
                offs.dedup();
                if offs.first() == Some(&0) {
                    return Ok((offs, at));
                }
            }
        }
    }
    // No usable RIP: follow PreviousPartition from the footer back to the header.
    let mut offs = vec![];
    let mut at = be_u64(&header.value[24..32]);
    if at == 0 {
        return Err(MediaError::media(
            "no random index pack and no footer partition offset: the file is incomplete",
        ));
    }
    loop {
        if offs.len() > MAX_PARTITIONS || at >= total {
            return Err(MediaError::media("partition chain is broken"));
        }
        let p = read_partition(src, at)?;
        offs.push(at);
        let prev = be_u64(&p.value[16..24]);
        if at == 0 {
            break;
        }
        if prev >= at {
            return Err(MediaError::media(format!(
                "partition at {at} points back to {prev}"
            )));
        }
        at = prev;
    }
    offs.sort_unstable();
    Ok((offs, total))
}

impl Layout {
    /// Reads the header partition, the partition list and the footer.
    pub(crate) fn read<S: RangeSource + ?Sized>(src: &mut S) -> Result<Layout> {
        let header = read_partition(src, 0)?;
        if header.kind != KIND_HEADER {
            return Err(MediaError::media(
                "the file does not start with a header partition",
            ));
        }
        if header.header_byte_count == 0 || header.header_byte_count > MAX_HEADER_METADATA {
            return Err(MediaError::media(format!(
                "header partition holds {} bytes of header metadata",
                header.header_byte_count
            )));
        }
        let header_metadata =
            src.read_at(header.content_start, header.header_byte_count as usize)?;
        let (offsets, file_end) = partition_offsets(src, &header)?;
        let mut l = Layout {
            header,
            header_metadata,
            offsets,
            file_end,
            parts: Default::default(),
            segments: Default::default(),
            runs: Default::default(),
            body_sid: 0,
            index_sid: 0,
        };
        l.part(src, 0)?;
        let last = l.offsets.len() - 1;
        l.part(src, last)?;
        if l.segments.is_empty() {
            // Neither header nor footer holds an index: read every partition.
            for i in 1..last {
                l.part(src, i)?;
            }
        }
        let Some(first) = l.segments.values().next() else {
            return Err(MediaError::media("the file has no index table"));
        };
        l.body_sid = first.body_sid;
        l.index_sid = first.index_sid;
        Ok(l)
    }

    /// Reads partition `i` (once): its pack, index segments and essence run.
    pub(crate) fn part<S: RangeSource + ?Sized>(&mut self, src: &mut S, i: usize) -> Result<&Part> {
        if !self.parts.contains_key(&i) {
            let off = self.offsets[i];
            let p = if off == 0 {
                self.header.clone()
            } else {
                read_partition(src, off)?
            };
            let next = self.offsets.get(i + 1).copied().unwrap_or(self.file_end);
            let index_start = p
                .content_start
                .checked_add(p.header_byte_count)
                .filter(|&s| s <= next)
                .ok_or_else(|| MediaError::media(format!("partition at {off} overruns")))?;
            let essence_start = index_start
                .checked_add(p.index_byte_count)
                .filter(|&s| s <= next)
                .ok_or_else(|| {
                    MediaError::media(format!("index of partition at {off} overruns"))
                })?;
            if p.index_byte_count > MAX_INDEX_BYTES {
                return Err(MediaError::media("index tables are implausibly large"));
            }
            let mut segments = Vec::new();
            let mut at = index_start;
            while at < essence_start {
                let klv = read_klv(src, at)?;
                if klv.end() > essence_start {
                    return Err(MediaError::media(format!(
                        "index item at {at} runs past its partition's index bytes"
                    )));
                }
                if klv.key == INDEX_KEY {
                    let v = read_value(src, &klv, MAX_INDEX_BYTES, "index table segment")?;
                    segments.push(parse_index_segment(&v)?);
                }
                at = klv.end();
            }
            let run = (p.body_sid != 0 && essence_start < next).then_some(EssenceRun {
                file_start: essence_start,
                file_end: next,
                stream_start: p.body_offset,
            });
            for s in &segments {
                if !s.entries.is_empty() || s.edit_unit_byte_count != 0 {
                    self.segments.entry(s.start).or_insert_with(|| s.clone());
                }
            }
            self.parts.insert(
                i,
                Part {
                    partition: p,
                    segments,
                    run,
                },
            );
        }
        let part = &self.parts[&i];
        if let Some(r) = part.run {
            if self.body_sid == 0 || part.partition.body_sid == self.body_sid {
                self.runs.insert(r.stream_start, r);
            }
        }
        Ok(&self.parts[&i])
    }

    pub(crate) fn template(&self) -> Template {
        let s = self.segments.values().next().expect("checked at read");
        Template {
            edit_rate: s.edit_rate,
            slice_count: s.slice_count,
            pos_table_count: s.pos_table_count,
            delta_entries: s.delta_entries.clone(),
            edit_unit_byte_count: s.edit_unit_byte_count,
        }
    }

    /// Reads every partition (constant-size essence needs every run's length).
    pub(crate) fn read_all<S: RangeSource + ?Sized>(&mut self, src: &mut S) -> Result<()> {
        for i in 0..self.offsets.len() {
            self.part(src, i)?;
        }
        Ok(())
    }

    /// Essence bytes of the body stream, with every partition read.
    pub(crate) fn essence_len(&self) -> Result<u64> {
        let mut len = 0u64;
        for r in self.runs.values() {
            if r.stream_start != len {
                return Err(MediaError::media(format!(
                    "body partition at stream offset {} does not follow the essence ending at {len}",
                    r.stream_start
                )));
            }
            len = r.stream_end();
        }
        Ok(len)
    }

    /// Edit units the index covers (variable-size essence): the end of the last segment.
    pub(crate) fn indexed_units(&self) -> u64 {
        self.segments
            .values()
            .map(|s| s.start as u64 + s.entries.len() as u64)
            .max()
            .unwrap_or(0)
    }

    /// Bisects the partitions for the one where `found` holds, reading as few as possible.
    /// `probe` says whether what a partition shows lies before (Less) or after (Greater)
    /// the target, or holds it (Equal), or says nothing (None).
    fn bisect<S: RangeSource + ?Sized>(
        &mut self,
        src: &mut S,
        found: &dyn Fn(&Layout) -> bool,
        probe: &dyn Fn(&Part) -> Option<std::cmp::Ordering>,
    ) -> Result<bool> {
        use std::cmp::Ordering;
        let (mut lo, mut hi) = (0usize, self.offsets.len());
        while !found(self) && lo < hi {
            let mid = lo + (hi - lo) / 2;
            let ord = probe(self.part(src, mid)?);
            match ord {
                Some(Ordering::Less) => lo = mid + 1,
                Some(Ordering::Greater) => hi = mid,
                Some(Ordering::Equal) => break,
                None => {
                    // A partition without the information: look at its neighbours in order.
                    let mut moved = false;
                    for j in lo..hi {
                        if j != mid && !self.parts.contains_key(&j) {
                            self.part(src, j)?;
                            moved = true;
                            if found(self) {
                                break;
                            }
                        }
                    }
                    if !moved {
                        break;
                    }
                }
            }
        }
        Ok(found(self))
    }

    /// The index entry of edit unit `pos` (variable-size essence).
    pub(crate) fn entry<S: RangeSource + ?Sized>(
        &mut self,
        src: &mut S,
        pos: u64,
    ) -> Result<IndexEntry> {
        let lookup = |l: &Layout| -> Option<IndexEntry> {
            let (start, s) = l.segments.range(..=pos as i64).next_back()?;
            s.entries.get((pos - *start as u64) as usize).cloned()
        };
        if let Some(e) = lookup(self) {
            return Ok(e);
        }
        let p = pos as i64;
        self.bisect(src, &|l| lookup(l).is_some(), &|part| {
            let s = part.segments.iter().find(|s| !s.entries.is_empty())?;
            Some(if p < s.start {
                std::cmp::Ordering::Greater
            } else if p >= s.start + s.entries.len() as i64 {
                std::cmp::Ordering::Less
            } else {
                std::cmp::Ordering::Equal
            })
        })?;
        lookup(self)
            .ok_or_else(|| MediaError::media(format!("the index has no entry for edit unit {pos}")))
    }

    /// The essence run holding stream offset `at`.
    pub(crate) fn run_at<S: RangeSource + ?Sized>(
        &mut self,
        src: &mut S,
        at: u64,
    ) -> Result<EssenceRun> {
        let lookup = |l: &Layout| -> Option<EssenceRun> {
            let (_, r) = l.runs.range(..=at).next_back()?;
            (at < r.stream_end()).then_some(*r)
        };
        if let Some(r) = lookup(self) {
            return Ok(r);
        }
        let sid = self.body_sid;
        self.bisect(src, &|l| lookup(l).is_some(), &|part| {
            let r = part.run?;
            if part.partition.body_sid != sid {
                return None;
            }
            Some(if at < r.stream_start {
                std::cmp::Ordering::Greater
            } else if at >= r.stream_end() {
                std::cmp::Ordering::Less
            } else {
                std::cmp::Ordering::Equal
            })
        })?;
        lookup(self).ok_or_else(|| MediaError::media(format!("no essence at stream offset {at}")))
    }

    /// Stream offset where the body stream's essence ends.
    pub(crate) fn stream_end<S: RangeSource + ?Sized>(&mut self, src: &mut S) -> Result<u64> {
        // The last partition with essence of the body stream, from the end.
        for i in (0..self.offsets.len()).rev() {
            let sid = self.body_sid;
            let part = self.part(src, i)?;
            if let (Some(r), true) = (part.run, part.partition.body_sid == sid) {
                return Ok(r.stream_end());
            }
        }
        Err(MediaError::media(format!(
            "no essence for body stream {}",
            self.body_sid
        )))
    }
}
