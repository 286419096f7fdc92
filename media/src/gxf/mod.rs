//! GXF (SMPTE ST 360) cuts. The header packets (MAP, FLT, UMF) are read first; the field
//! locator table then points near the in point, and only the media packets from the
//! I-frame before it to the I-frame after the out point are walked and copied. The new
//! clip has its fields renumbered from 0, audio re-chunked to the cut, a MAP with the new
//! first/last field, marks and timecode track, a UMF with new durations and timecodes,
//! and a rebuilt field locator table.

mod clip;
pub mod flt;
pub mod map;
pub mod packet;
pub mod umf;

use std::io::Write;

use clip::{header_at, Clip};
use packet::{PacketHeader, Preamble, HEADER, PREAMBLE};

use crate::detect::MediaFormat;
use crate::error::{MediaError, Result};
use crate::source::{Counting, RangeSource};
use crate::timecode::TimecodeRange;
use crate::CutReport;

/// A media packet seen while walking the stream.
#[derive(Debug, Clone, Copy)]
struct Pkt {
    pos: u64,
    len: u32,
    pre: Preamble,
}

/// Walks packets forward from a known packet boundary.
struct Walker {
    next: u64,
    end: bool,
}

impl Walker {
    /// The next media packet, skipping MAP, FLT, UMF and unknown packets; None at EOS or
    /// at the end of the file.
    fn next<S: RangeSource + ?Sized>(&mut self, src: &mut S) -> Result<Option<Pkt>> {
        while !self.end {
            let pos = self.next;
            if pos == src.len() {
                self.end = true;
                break;
            }
            let h = header_at(src, pos)?;
            if pos + u64::from(h.len) > src.len() {
                return Err(MediaError::media(format!(
                    "GXF packet of {} bytes at {pos} runs past the end of the file",
                    h.len
                )));
            }
            self.next = pos + u64::from(h.len);
            match h.kind {
                packet::EOS => self.end = true,
                packet::MEDIA => {
                    if (h.len as usize) < HEADER + PREAMBLE {
                        return Err(MediaError::media(format!(
                            "GXF media packet at {pos} is shorter than its preamble"
                        )));
                    }
                    let pre = Preamble::decode(&src.read_at(pos + HEADER as u64, PREAMBLE)?)?;
                    return Ok(Some(Pkt {
                        pos,
                        len: h.len,
                        pre,
                    }));
                }
                _ => {}
            }
        }
        Ok(None)
    }
}

/// The first packet boundary at or after `at` (within one 1 KiB locator step): a valid
/// header whose successor is a valid header too (or the end of the file).
fn resync<S: RangeSource + ?Sized>(src: &mut S, at: u64) -> Result<u64> {
    let total = src.len();
    if at >= total {
        return Err(MediaError::media(format!(
            "the GXF field locator table points to byte {at}, past the end ({total} bytes)"
        )));
    }
    let n = (total - at).min(1024 + HEADER as u64) as usize;
    let window = src.read_at(at, n)?;
    for i in 0..n.saturating_sub(HEADER - 1) {
        let Ok(h) = packet::decode_header(&window[i..]) else {
            continue;
        };
        let next = at + i as u64 + u64::from(h.len);
        if next == total || (next < total && header_at(src, next).is_ok()) {
            return Ok(at + i as u64);
        }
    }
    Err(MediaError::media(format!(
        "no GXF packet where the field locator table points (byte {at})"
    )))
}

/// Per audio track: the packets seen, and the samples each holds.
struct AudioPkts {
    number: u8,
    bps: u32,
    /// (first sample, packet, first byte of its samples in the payload, sample count).
    packets: Vec<(u64, Pkt, u64, u64)>,
    capacity: u64,
}

/// What the walk from a start position found.
struct Walk {
    /// Video packets with their decode index.
    video: Vec<(u64, Pkt)>,
    max_video: Option<u64>,
    audio: Vec<AudioPkts>,
    walker: Walker,
}

impl Walk {
    fn new(clip: &Clip, start: u64) -> Walk {
        Walk {
            video: Vec::new(),
            max_video: None,
            audio: clip
                .audio
                .iter()
                .map(|a| AudioPkts {
                    number: a.number,
                    bps: a.bytes_per_sample,
                    packets: Vec::new(),
                    capacity: 0,
                })
                .collect(),
            walker: Walker {
                next: start,
                end: false,
            },
        }
    }

    /// Reads the next media packet into the walk; None at the end, else the decode index
    /// when it was a video packet.
    fn step<S: RangeSource + ?Sized>(
        &mut self,
        src: &mut S,
        clip: &Clip,
    ) -> Result<Option<Option<(u64, Pkt)>>> {
        let Some(p) = self.walker.next(src)? else {
            return Ok(None);
        };
        if p.pre.track == clip.video.number {
            let f = u64::from(p.pre.field);
            let rel = f.checked_sub(clip.first_field).ok_or_else(|| {
                MediaError::media(format!(
                    "GXF video packet at {} has field {f}, before the clip",
                    p.pos
                ))
            })?;
            if rel % clip.fields_per_frame != 0 {
                return Err(MediaError::media(format!(
                    "GXF video packet at {} starts at field {f}, not on a frame",
                    p.pos
                )));
            }
            let i = rel / clip.fields_per_frame;
            if i >= clip.frames {
                return Err(MediaError::media(format!(
                    "GXF video packet at {} has field {f}, past the clip's last field",
                    p.pos
                )));
            }
            self.video.push((i, p));
            self.max_video = self.max_video.max(Some(i));
            return Ok(Some(Some((i, p))));
        } else if let Some(a) = self.audio.iter_mut().find(|a| a.number == p.pre.track) {
            let (first, last) = p.pre.samples();
            let payload = u64::from(p.len) - (HEADER + PREAMBLE) as u64;
            if first > last || u64::from(last) * u64::from(a.bps) > payload {
                return Err(MediaError::media(format!(
                    "GXF audio packet at {} claims samples {first}-{last} in {payload} bytes",
                    p.pos
                )));
            }
            let n = u64::from(last - first);
            a.capacity = a.capacity.max(u64::from(last));
            let start = clip.audio_start(u64::from(p.pre.field), n);
            a.packets
                .push((start, p, u64::from(first) * u64::from(a.bps), n));
        }
        Ok(Some(None))
    }
}

/// Whether a video packet starts a GOP a cut can begin with.
fn random_access(clip: &Clip, p: &Pkt) -> bool {
    clip.video.intra || p.pre.picture_type() == packet::PICTURE_I
}

/// Whether the I-frame's GOP header says its leading B-frames need the previous GOP.
fn open_gop<S: RangeSource + ?Sized>(src: &mut S, p: &Pkt) -> Result<bool> {
    let payload = u64::from(p.len) - (HEADER + PREAMBLE) as u64;
    let n = payload.min(1024) as usize;
    let b = src.read_at(p.pos + (HEADER + PREAMBLE) as u64, n)?;
    Ok(b.windows(8)
        .find(|w| w[..4] == [0, 0, 1, 0xb8])
        .is_some_and(|w| w[7] & 0x40 == 0))
}

/// Where the cut starts: decode index of its I-frame and how many leading B-frames
/// (of an open GOP) follow it and are dropped.
struct Start {
    index: u64,
    skip: u64,
}

fn find_start<S: RangeSource + ?Sized>(
    src: &mut S,
    clip: &Clip,
    want: u64,
) -> Result<(Walk, Start)> {
    // GOPs run up to about half a second and audio packets reach back up to 0.7 s before
    // the first frame's sample: start a little over a second early, further when needed.
    let mut back = 32u64;
    loop {
        let from = want.saturating_sub(back);
        let pos = match (&clip.flt, from) {
            (Some(flt), f) if f > 0 => match flt.locate(f * clip.fields_per_frame) {
                Some(o) if o > clip.media_start => resync(src, o)?,
                _ => clip.media_start,
            },
            _ => clip.media_start,
        };
        let at_start = pos == clip.media_start;
        let mut walk = Walk::new(clip, pos);
        while walk.max_video.is_none_or(|m| m <= want) {
            if walk.step(src, clip)?.is_none() {
                break;
            }
        }
        // Latest I-frame at or before `want` whose GOP shows `want`.
        let mut found = None;
        let mut order = walk.video.clone();
        order.sort_by_key(|v| v.0);
        for (k, &(i, p)) in order.iter().enumerate().rev() {
            if i > want || !random_access(clip, &p) {
                continue;
            }
            let skip = if !clip.video.intra && open_gop(src, &p)? {
                order[k + 1..]
                    .iter()
                    .take_while(|(_, q)| q.pre.picture_type() == packet::PICTURE_B)
                    .count() as u64
            } else {
                0
            };
            if i + skip <= want {
                found = Some(Start { index: i, skip });
                break;
            }
        }
        if let Some(s) = found {
            // The audio of the first frame may lie before its video: go back for it too.
            let s0 = clip.sample_at(clip.first_field + (s.index + s.skip) * clip.fields_per_frame);
            let audio_ok = walk
                .audio
                .iter()
                .all(|a| a.packets.first().is_some_and(|p| p.0 <= s0));
            if audio_ok || at_start {
                return Ok((walk, s));
            }
        } else if at_start {
            return Err(MediaError::media(
                "no I-frame at or before the in point in the GXF clip",
            ));
        }
        back = back.saturating_mul(4);
    }
}

/// The source bytes a cut copies, held whole when they span little of the file.
struct Span {
    start: u64,
    data: Vec<u8>,
}

impl Span {
    /// Spans up to this size are read in one piece.
    const MAX: u64 = 64 << 20;

    fn load<S: RangeSource + ?Sized>(src: &mut S, lo: u64, hi: u64) -> Result<Span> {
        let data = if hi > lo && hi - lo <= Span::MAX {
            src.read_at(lo, (hi - lo) as usize)?
        } else {
            Vec::new()
        };
        Ok(Span { start: lo, data })
    }

    fn read<S: RangeSource + ?Sized>(
        &mut self,
        src: &mut S,
        pos: u64,
        len: usize,
    ) -> Result<Vec<u8>> {
        let end = self.start + self.data.len() as u64;
        if pos >= self.start && pos + len as u64 <= end {
            let at = (pos - self.start) as usize;
            return Ok(self.data[at..at + len].to_vec());
        }
        src.read_at(pos, len)
    }
}

/// One packet of the new clip, in output order.
enum Item {
    /// A source video packet and its new field number.
    Video(Pkt, u32),
    /// Audio track `t`, samples `[from, from + n)` of the cut, numbered `field`.
    Audio {
        t: usize,
        from: u64,
        n: u64,
        field: u32,
    },
}

/// Cuts the frames `range` selects out of a GXF clip into `out`, on GOP boundaries
/// around the range; the report says which frames were kept.
pub fn cut_gxf<S: RangeSource + ?Sized, W: Write>(
    src: &mut S,
    range: &TimecodeRange,
    out: &mut W,
) -> Result<CutReport> {
    let mut src = Counting::new(src);
    let clip = Clip::read(&mut src)?;
    let (want_first, want_last) = range.frames_in_clip(clip.rate, clip.start_tc, clip.frames)?;
    let (mut walk, start) = find_start(&mut src, &clip, want_first)?;

    // Walk on to the I-frame after the out point, and past the audio the cut needs.
    let mut end = walk
        .video
        .iter()
        .filter(|(i, p)| *i > want_last && random_access(&clip, p))
        .map(|v| v.0)
        .min();
    loop {
        if let Some(b) = end {
            let s1 = clip.sample_at(clip.first_field + b * clip.fields_per_frame);
            let audio_done = walk
                .audio
                .iter()
                .all(|a| a.packets.is_empty() || a.packets.last().is_some_and(|p| p.0 >= s1));
            // Muxers place audio next to the video of its field: a few frames past the
            // end, every sample the cut needs has been seen.
            if audio_done || walk.max_video.is_some_and(|m| m >= b + 4) {
                break;
            }
        }
        match walk.step(&mut src, &clip)? {
            None => break,
            Some(Some((i, p))) if i > want_last && random_access(&clip, &p) => {
                end = Some(end.map_or(i, |e| e.min(i)));
            }
            Some(_) => {}
        }
    }
    let first_index = start.index;
    let end = end
        .unwrap_or_else(|| walk.max_video.map_or(0, |m| m + 1))
        .min(clip.frames);
    if end <= first_index + start.skip {
        return Err(MediaError::media("the GXF clip has no frames in the range"));
    }
    if end - first_index > walk.video.len() as u64 {
        return Err(MediaError::media(format!(
            "GXF video frames {first_index}-{} are not all in the stream",
            end - 1
        )));
    }

    // The video packets first_index..end, each once, dropping an open GOP's leading Bs.
    let mut video: Vec<Option<Pkt>> = vec![None; (end - first_index) as usize];
    for &(i, p) in &walk.video {
        if (first_index..end).contains(&i) {
            let slot = &mut video[(i - first_index) as usize];
            if slot.is_some() {
                return Err(MediaError::media(format!(
                    "GXF video frame {i} appears twice"
                )));
            }
            *slot = Some(p);
        }
    }
    let mut kept = Vec::with_capacity(video.len());
    for (k, p) in video.into_iter().enumerate() {
        let p = p.ok_or_else(|| {
            MediaError::media(format!(
                "GXF video frame {} is missing",
                first_index + k as u64
            ))
        })?;
        if k > 0 && (k as u64) <= start.skip {
            continue;
        }
        kept.push(p);
    }
    let first = first_index + start.skip;
    let last = end - 1;
    let frames = last - first + 1;
    let fpf = clip.fields_per_frame;
    let fields = u32::try_from(frames * fpf)
        .map_err(|_| MediaError::media("the cut holds too many fields"))?;

    // Output order: audio packets before the video packet of their (even) field.
    let s0 = clip.sample_at(clip.first_field + first * fpf);
    let s1 = clip.sample_at(clip.first_field + (last + 1) * fpf);
    let mut items: Vec<((u64, u8, usize), Item)> = Vec::new();
    for (k, p) in kept.iter().enumerate() {
        let field = k as u64 * fpf;
        items.push(((field, 1, 0), Item::Video(*p, field as u32)));
    }
    for (t, a) in walk.audio.iter().enumerate() {
        // A track without packets near the cut gets none.
        let cap = a.capacity;
        if cap == 0 {
            continue;
        }
        let mut from = 0;
        while from < s1 - s0 {
            let n = cap.min(s1 - s0 - from);
            let field = clip.field_of_sample(from);
            items.push((
                (field & !1, 0, t),
                Item::Audio {
                    t,
                    from,
                    n,
                    field: field as u32,
                },
            ));
            from += n;
        }
    }
    items.sort_by_key(|(k, _)| *k);

    // Lay out the new file to know the field locator offsets and the size.
    let mut map = clip.map.clone();
    for (tag, v) in [
        (map::MAT_FIRST_FIELD, 0),
        (map::MAT_LAST_FIELD, fields),
        (map::MAT_MARK_IN, 0),
        (map::MAT_MARK_OUT, fields),
        (map::MAT_SIZE, 0),
    ] {
        map.set_material_u32(tag, v);
    }
    let tc_in = clip::encode_timecode(clip.rate.to_timecode(clip.start_tc + first), fpf);
    let tc_out = clip::encode_timecode(clip.rate.to_timecode(clip.start_tc + first + frames), fpf);
    for t in &mut map.tracks {
        if matches!(t.media_type(), 7 | 8 | 24) {
            if let Some(aux) = t.tag_mut(map::TRACK_AUX).filter(|a| a.len() == 8) {
                aux[..4].copy_from_slice(&tc_in.to_le_bytes());
            }
        }
    }
    let mut umf = clip.umf.clone();
    umf.material.longest = fields;
    umf.material.shortest = fields;
    umf.material.mark_in = 0;
    umf.material.mark_out = fields;
    umf.material.timecode_in = tc_in;
    umf.material.timecode_out = tc_out;
    for d in &mut umf.media {
        d.field_count = fields;
        d.mark_in = 0;
        d.mark_out = fields;
    }
    let umf = umf.encode()?;
    let map_len = map.encode()?.len() as u64;
    let flt_len = flt::Flt::build(0, |_| 0).encode()?.len() as u64;
    let audio_len = |t: usize| -> u64 {
        let a = &walk.audio[t];
        ((HEADER + PREAMBLE) as u64 + a.capacity.max(1) * u64::from(a.bps)).next_multiple_of(4)
    };
    let mut at = map_len + flt_len + umf.len() as u64;
    let mut video_at = Vec::with_capacity(kept.len());
    for (_, item) in &items {
        match item {
            Item::Video(p, _) => {
                video_at.push(at);
                at += u64::from(p.len);
            }
            Item::Audio { t, .. } => at += audio_len(*t),
        }
    }
    let total = at + HEADER as u64;
    map.set_material_u32(
        map::MAT_SIZE,
        u32::try_from(total / 1024).unwrap_or(u32::MAX),
    );
    let flt = flt::Flt::build(fields, |f| video_at[(u64::from(f) / fpf) as usize]);

    // The video packets of the cut, and most of its audio, lie back to back: read their
    // span in one go when it is small, instead of locating to each packet.
    let (lo, hi) = kept.iter().fold((u64::MAX, 0), |(lo, hi), p| {
        (lo.min(p.pos), hi.max(p.pos + u64::from(p.len)))
    });
    let mut span = Span::load(&mut src, lo, hi)?;

    out.write_all(&map.encode()?)?;
    out.write_all(&flt.encode()?)?;
    out.write_all(&umf)?;
    for (_, item) in &items {
        match *item {
            Item::Video(p, field) => {
                let mut b = span.read(&mut src, p.pos, p.len as usize)?;
                let mut pre = p.pre;
                pre.field = field;
                pre.timeline = field;
                b[HEADER..HEADER + PREAMBLE].copy_from_slice(&pre.encode());
                out.write_all(&b)?;
            }
            Item::Audio { t, from, n, field } => {
                let a = &walk.audio[t];
                let bps = u64::from(a.bps);
                let len = audio_len(t);
                let mut samples = vec![0u8; (len - (HEADER + PREAMBLE) as u64) as usize];
                let (lo, hi) = (s0 + from, s0 + from + n);
                for &(start, p, byte0, count) in &a.packets {
                    let (a0, a1) = (start.max(lo), (start + count).min(hi));
                    if a0 >= a1 {
                        continue;
                    }
                    let data = span.read(
                        &mut src,
                        p.pos + (HEADER + PREAMBLE) as u64 + byte0 + (a0 - start) * bps,
                        ((a1 - a0) * bps) as usize,
                    )?;
                    let o = ((a0 - lo) * bps) as usize;
                    samples[o..o + data.len()].copy_from_slice(&data);
                }
                let source = a.packets.first().map(|p| p.1.pre);
                let pre = Preamble {
                    media_type: source.map_or(10, |p| p.media_type),
                    track: a.number,
                    field,
                    info: n as u32,
                    timeline: field,
                    flags: source.map_or(1, |p| p.flags),
                    reserved: 0,
                };
                out.write_all(&packet::encode_header(PacketHeader {
                    kind: packet::MEDIA,
                    len: len as u32,
                }))?;
                out.write_all(&pre.encode())?;
                out.write_all(&samples)?;
            }
        }
    }
    out.write_all(&packet::encode_header(PacketHeader {
        kind: packet::EOS,
        len: HEADER as u32,
    }))?;

    Ok(CutReport {
        format: MediaFormat::Gxf,
        first_frame: first,
        last_frame: last,
        first_timecode: clip.rate.to_timecode(clip.start_tc + first).to_string(),
        last_timecode: clip.rate.to_timecode(clip.start_tc + last).to_string(),
        bytes_read: src.bytes_read,
        source_size: src.len(),
        bytes_written: total,
    })
}
