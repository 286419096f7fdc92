//! MXF OP1a cuts: timecodes to edit units through the index tables, long-GOP cuts widened
//! to closed GOPs, and a new file with its own header, body and footer partitions, index
//! table and random index pack around the original content packages.

mod avc;
mod klv;
mod layout;
mod metadata;

use std::io::Write;

use klv::{
    ber4, fill_to, INDEX_KEY, KIND_BODY, KIND_FOOTER, KIND_HEADER, PARTITION_PREFIX, RIP_KEY,
    STATUS_CLOSED_COMPLETE,
};
use layout::{IndexEntry, Layout, RANDOM_ACCESS};

use crate::detect::MediaFormat;
use crate::error::{MediaError, Result};
use crate::source::{copy_range, Counting, RangeSource};
use crate::timecode::{TimecodeRange, TimecodeRate};
use crate::CutReport;

/// How the clip's edit units map to essence bytes.
enum Units {
    /// Constant-size edit units.
    Constant { size: u64, count: u64 },
    /// One index entry per edit unit, read on demand.
    Variable { count: u64 },
}

impl Units {
    fn new<S: RangeSource + ?Sized>(src: &mut S, layout: &mut Layout) -> Result<Units> {
        let t = layout.template();
        if t.edit_unit_byte_count != 0 {
            layout.read_all(src)?;
            let size = u64::from(t.edit_unit_byte_count);
            let essence = layout.essence_len()?;
            let duration = layout
                .segments
                .values()
                .map(|s| s.duration)
                .max()
                .unwrap_or(0);
            let count = if duration > 0 {
                duration as u64
            } else {
                essence / size
            };
            if count == 0 || count.checked_mul(size).is_none_or(|n| n > essence) {
                return Err(MediaError::media(format!(
                    "{count} edit units of {size} bytes do not fit the {essence} essence bytes"
                )));
            }
            return Ok(Units::Constant { size, count });
        }
        let count = layout.indexed_units();
        if count == 0 {
            return Err(MediaError::media("the index table has no entries"));
        }
        Ok(Units::Variable { count })
    }

    fn count(&self) -> u64 {
        match self {
            Units::Constant { count, .. } | Units::Variable { count } => *count,
        }
    }

    /// Stream offset where edit unit `i` starts (`count` gives the essence end).
    fn offset<S: RangeSource + ?Sized>(
        &self,
        src: &mut S,
        layout: &mut Layout,
        i: u64,
    ) -> Result<u64> {
        match self {
            Units::Constant { size, .. } => Ok(i * size),
            Units::Variable { count } if i >= *count => layout.stream_end(src),
            Units::Variable { .. } => Ok(layout.entry(src, i)?.stream_offset),
        }
    }

    fn random_access<S: RangeSource + ?Sized>(
        &self,
        src: &mut S,
        layout: &mut Layout,
        i: u64,
    ) -> Result<bool> {
        match self {
            Units::Constant { .. } => Ok(true),
            Units::Variable { .. } => Ok(layout.entry(src, i)?.flags & RANDOM_ACCESS != 0),
        }
    }

    /// Whether a cut may start (or the previous cut end) at edit unit `i`: a random access
    /// point none of whose following pictures, up to the next one, refer back past it.
    /// Open-GOP I-frames (MPEG-2 without closed_gop, H.264 non-IDR I with recovery point)
    /// carry the random access flag too, but their leading B-pictures' key frame offsets
    /// (ST 377-1) point to the key frame before them; a cut there would not decode.
    fn closed_entry<S: RangeSource + ?Sized>(
        &self,
        src: &mut S,
        layout: &mut Layout,
        i: u64,
    ) -> Result<bool> {
        if !self.random_access(src, layout, i)? {
            return Ok(false);
        }
        if let Units::Constant { .. } = self {
            return Ok(true);
        }
        let mut j = i + 1;
        while j < self.count() {
            let e = layout.entry(src, j)?;
            if e.flags & RANDOM_ACCESS != 0 {
                break;
            }
            if leads_before(j, e.key_frame_offset, i) {
                return Ok(false);
            }
            j += 1;
        }
        Ok(true)
    }
}

/// Whether edit unit `j`, whose key frame is `key_frame_offset` units away, needs a picture
/// before edit unit `start`.
fn leads_before(j: u64, key_frame_offset: i8, start: u64) -> bool {
    j.checked_add_signed(i64::from(key_frame_offset))
        .is_none_or(|k| k < start)
}

/// Copies stream bytes `[from, to)` of the body stream to `out`.
fn copy_stream<S: RangeSource + ?Sized, W: Write>(
    src: &mut S,
    layout: &mut Layout,
    from: u64,
    to: u64,
    out: &mut W,
) -> Result<()> {
    let mut pos = from;
    while pos < to {
        let r = layout.run_at(src, pos)?;
        let n = r.stream_end().min(to) - pos;
        copy_range(src, r.file_start + (pos - r.stream_start), n, out)?;
        pos += n;
    }
    Ok(())
}

/// A partition pack built from the source header's pack value.
fn partition_pack(template: &[u8], kind: u8, fields: &PackFields) -> Vec<u8> {
    let mut v = template.to_vec();
    v[8..16].copy_from_slice(&fields.this.to_be_bytes());
    v[16..24].copy_from_slice(&fields.previous.to_be_bytes());
    v[24..32].copy_from_slice(&fields.footer.to_be_bytes());
    v[32..40].copy_from_slice(&fields.header_bytes.to_be_bytes());
    v[40..48].copy_from_slice(&fields.index_bytes.to_be_bytes());
    v[48..52].copy_from_slice(&fields.index_sid.to_be_bytes());
    v[52..60].copy_from_slice(&0u64.to_be_bytes());
    v[60..64].copy_from_slice(&fields.body_sid.to_be_bytes());
    let mut out = PARTITION_PREFIX.to_vec();
    out.extend_from_slice(&[kind, STATUS_CLOSED_COMPLETE, 0x00]);
    out.extend_from_slice(&ber4(v.len()));
    out.extend_from_slice(&v);
    out
}

#[derive(Default, Clone, Copy)]
struct PackFields {
    this: u64,
    previous: u64,
    footer: u64,
    header_bytes: u64,
    index_bytes: u64,
    index_sid: u32,
    body_sid: u32,
}

fn local(out: &mut Vec<u8>, tag: u16, value: &[u8]) {
    out.extend_from_slice(&tag.to_be_bytes());
    out.extend_from_slice(&(value.len() as u16).to_be_bytes());
    out.extend_from_slice(value);
}

/// Index table segments for the cut's edit units (VBR tables split to fit 16-bit lengths).
fn index_segments(
    layout: &Layout,
    units: &Units,
    entries: &[IndexEntry],
    count: u64,
    base: u64,
) -> Vec<u8> {
    let seg = layout.template();
    let mut rate = Vec::new();
    rate.extend_from_slice(&seg.edit_rate.0.to_be_bytes());
    rate.extend_from_slice(&seg.edit_rate.1.to_be_bytes());
    let mut out = Vec::new();
    let mut one = |start: u64, dur: u64, eubc: u32, entries: Option<(&[IndexEntry], usize)>| {
        let mut v = Vec::new();
        local(&mut v, 0x3c0a, uuid::Uuid::new_v4().as_bytes());
        local(&mut v, 0x3f0b, &rate);
        local(&mut v, 0x3f0c, &start.to_be_bytes());
        local(&mut v, 0x3f0d, &dur.to_be_bytes());
        local(&mut v, 0x3f05, &eubc.to_be_bytes());
        local(&mut v, 0x3f06, &layout.index_sid.to_be_bytes());
        local(&mut v, 0x3f07, &layout.body_sid.to_be_bytes());
        local(&mut v, 0x3f08, &[seg.slice_count]);
        if seg.pos_table_count > 0 {
            local(&mut v, 0x3f0e, &[seg.pos_table_count]);
        }
        if let Some(d) = &seg.delta_entries {
            local(&mut v, 0x3f09, d);
        }
        if let Some((list, el)) = entries {
            let mut a = Vec::with_capacity(8 + list.len() * el);
            a.extend_from_slice(&(list.len() as u32).to_be_bytes());
            a.extend_from_slice(&(el as u32).to_be_bytes());
            for e in list {
                a.push(e.temporal_offset as u8);
                a.push(e.key_frame_offset as u8);
                a.push(e.flags);
                a.extend_from_slice(&(e.stream_offset - base).to_be_bytes());
                a.extend_from_slice(&e.rest);
            }
            local(&mut v, 0x3f0a, &a);
        }
        out.extend_from_slice(&INDEX_KEY);
        out.extend_from_slice(&ber4(v.len()));
        out.extend_from_slice(&v);
    };
    match units {
        Units::Constant { size, .. } => one(0, count, *size as u32, None),
        Units::Variable { .. } => {
            let el = 11 + entries.first().map_or(0, |e| e.rest.len());
            // Checked by the caller: at least one entry fits a segment.
            let per = ((65_000 - 8) / el).max(1);
            for (i, chunk) in entries.chunks(per).enumerate() {
                one((i * per) as u64, chunk.len() as u64, 0, Some((chunk, el)));
            }
        }
    }
    out
}

/// Cuts the frames `range` selects out of an OP1a file into `out`. Long-GOP essence is cut
/// on closed-GOP boundaries around the range; the report says which frames were kept.
pub fn cut_mxf<S: RangeSource + ?Sized, W: Write>(
    src: &mut S,
    range: &TimecodeRange,
    out: &mut W,
) -> Result<CutReport> {
    let mut src = Counting::new(src);
    let mut layout = Layout::read(&mut src)?;
    let units = Units::new(&mut src, &mut layout)?;
    let seg = layout.template();
    let tc = metadata::clip_timecode(&layout.header_metadata)?;
    let (num, den) = (seg.edit_rate.0 as u32, seg.edit_rate.1 as u32);
    let rate = match tc {
        Some(t) if t.base > 0 => TimecodeRate::new(u32::from(t.base), t.drop_frame)?,
        _ => TimecodeRate::from_rate(num, den, false)?,
    };
    let edit_base = (num + den / 2) / den;
    if edit_base != rate.base {
        return Err(MediaError::Unsupported(format!(
            "edit rate {num}/{den} differs from the timecode base {}",
            rate.base
        )));
    }
    // StartTimecode is a frame count; labels repeat daily.
    let start_tc = tc.map_or(0, |t| t.start) % rate.frames_per_day();
    let total = units.count();
    let (want_first, want_last) = range.frames_in_clip(rate, start_tc, total)?;
    let mut first = want_first;
    while !units.closed_entry(&mut src, &mut layout, first)? {
        if first == 0 {
            return Err(MediaError::media(
                "no random access point (closed GOP) at or before the in point",
            ));
        }
        first -= 1;
    }
    let mut last = want_last;
    while last + 1 < total && !units.closed_entry(&mut src, &mut layout, last + 1)? {
        last += 1;
    }
    let from = units.offset(&mut src, &mut layout, first)?;
    let to = units.offset(&mut src, &mut layout, last + 1)?;
    if to <= from {
        return Err(MediaError::media(
            "index offsets of the selected edit units are inconsistent",
        ));
    }
    let mut entries = Vec::new();
    if let Units::Variable { .. } = units {
        let t = layout.template();
        let el = 11 + 4 * usize::from(t.slice_count) + 8 * usize::from(t.pos_table_count);
        if el > 65_000 - 8 {
            return Err(MediaError::media(format!(
                "index entries of {el} bytes do not fit an index table segment"
            )));
        }
        let mut prev = from;
        for i in first..=last {
            let e = layout.entry(&mut src, i)?;
            if e.stream_offset < prev || e.stream_offset >= to {
                return Err(MediaError::media(format!(
                    "index entry {i} points to stream offset {}, outside its edit units or backwards",
                    e.stream_offset
                )));
            }
            if 11 + e.rest.len() > 65_000 - 8
                || entries
                    .first()
                    .is_some_and(|f: &IndexEntry| f.rest.len() != e.rest.len())
            {
                return Err(MediaError::media(format!(
                    "index entry {i} has an entry length unlike its neighbours"
                )));
            }
            prev = e.stream_offset;
            entries.push(e);
        }
    }

    let kag = match layout.header.kag {
        0 => 1,
        k if k > 1 << 20 => 1,
        k => u64::from(k),
    };
    let mut hm = layout.header_metadata.clone();
    metadata::patch(
        &mut hm,
        &metadata::Patch {
            source_duration: total,
            new_duration: last - first + 1,
            timecode_shift: first,
        },
    )?;
    let template = &layout.header.value;

    // Header partition: pack, fill, header metadata (+ fill to the KAG).
    let mut head = partition_pack(template, KIND_HEADER, &PackFields::default());
    let at = head.len() as u64;
    fill_to(&mut head, at, kag);
    let hm_start = head.len();
    head.extend_from_slice(&hm);
    let at = head.len() as u64;
    fill_to(&mut head, at, kag);
    let header_bytes = (head.len() - hm_start) as u64;
    let body_off = head.len() as u64;
    let mut body = partition_pack(template, KIND_BODY, &PackFields::default());
    let at = body_off + body.len() as u64;
    fill_to(&mut body, at, kag);
    let essence_off = body_off + body.len() as u64;
    let mut essence_tail = Vec::new();
    fill_to(&mut essence_tail, essence_off + (to - from), kag);
    let footer_off = essence_off + (to - from) + essence_tail.len() as u64;
    let mut index = index_segments(&layout, &units, &entries, last - first + 1, from);
    let index_len = index.len();
    let footer_pack_len =
        partition_pack(template, KIND_FOOTER, &PackFields::default()).len() as u64;
    let mut footer_fill = Vec::new();
    fill_to(&mut footer_fill, footer_off + footer_pack_len, kag);
    let index_off = footer_off + footer_pack_len + footer_fill.len() as u64;
    let at = index_off + index.len() as u64;
    fill_to(&mut index, at, kag);

    let header_fields = PackFields {
        footer: footer_off,
        header_bytes,
        ..Default::default()
    };
    let h = partition_pack(template, KIND_HEADER, &header_fields);
    head[..h.len()].copy_from_slice(&h);
    let b = partition_pack(
        template,
        KIND_BODY,
        &PackFields {
            this: body_off,
            footer: footer_off,
            body_sid: layout.body_sid,
            ..Default::default()
        },
    );
    body[..b.len()].copy_from_slice(&b);
    let footer = partition_pack(
        template,
        KIND_FOOTER,
        &PackFields {
            this: footer_off,
            previous: body_off,
            footer: footer_off,
            index_bytes: index.len() as u64,
            index_sid: layout.index_sid,
            ..Default::default()
        },
    );
    let mut rip = Vec::new();
    for (sid, off) in [(0u32, 0u64), (layout.body_sid, body_off), (0, footer_off)] {
        rip.extend_from_slice(&sid.to_be_bytes());
        rip.extend_from_slice(&off.to_be_bytes());
    }
    let rip_total = 16 + 4 + rip.len() + 4;
    rip.extend_from_slice(&(rip_total as u32).to_be_bytes());

    out.write_all(&head)?;
    out.write_all(&body)?;
    if !entries.is_empty() && avc::carries_avc(&layout.header.value) {
        // Index entries without temporal offsets get them from the pictures' order
        // counts, read as the essence passes by.
        let starts: Vec<u64> = entries.iter().map(|e| e.stream_offset - from).collect();
        let mut tee = avc::Units::new(&mut *out, &starts);
        copy_stream(&mut src, &mut layout, from, to, &mut tee)?;
        let keys = tee.finish();
        avc::fill_temporal_offsets(&mut entries, &keys);
        let again = index_segments(&layout, &units, &entries, last - first + 1, from);
        if again.len() != index_len {
            return Err(MediaError::media("index table size changed"));
        }
        index[..index_len].copy_from_slice(&again);
    } else {
        copy_stream(&mut src, &mut layout, from, to, out)?;
    }
    out.write_all(&essence_tail)?;
    out.write_all(&footer)?;
    out.write_all(&footer_fill)?;
    out.write_all(&index)?;
    out.write_all(&RIP_KEY)?;
    out.write_all(&ber4(rip.len()))?;
    out.write_all(&rip)?;
    let written = footer_off
        + footer_pack_len
        + footer_fill.len() as u64
        + index.len() as u64
        + rip_total as u64;

    Ok(CutReport {
        format: MediaFormat::Mxf,
        first_frame: first,
        last_frame: last,
        first_timecode: rate.to_timecode(start_tc + first).to_string(),
        last_timecode: rate.to_timecode(start_tc + last).to_string(),
        bytes_read: src.bytes_read,
        source_size: src.len(),
        bytes_written: written,
    })
}

#[cfg(test)]
mod tests {
    use super::leads_before;

    #[test]
    fn leading_pictures_of_an_open_gop_reach_before_their_i_frame() {
        // ffmpeg's H.264 open GOP: I at 10, B at 11 pointing to the key frame at 0.
        assert!(leads_before(11, -11, 10));
        // The P after an IDR at 12 points to it.
        assert!(!leads_before(13, -1, 12));
        assert!(!leads_before(12, 0, 12));
        // Offsets before the first edit unit are out of the clip.
        assert!(leads_before(2, -5, 0));
        assert!(!leads_before(0, 0, 0));
        assert!(!leads_before(3, 127, 3));
    }
}
