//! MPEG-2 transport stream cuts: PAT and PMT first, then the packets from the video
//! random-access point at or before the in point up to the random-access point after the
//! out point. Random-access points are found by probing PES timestamps at interpolated
//! positions, so only a few windows besides the cut itself are read and the end of the file
//! is never visited for a cut that ends before it.

use std::collections::HashSet;
use std::io::Write;

use crate::detect::MediaFormat;
use crate::error::{MediaError, Result};
use crate::source::{read_clipped, Counting, RangeSource};
use crate::timecode::{Timecode, TimecodeRange, TimecodeRate};
use crate::CutReport;

const PACKET: u64 = 188;
/// Bytes read per scan step.
const WINDOW: u64 = 188 * 64;
/// How far into the file PAT, PMT and the first picture headers must appear.
const HEAD: u64 = 188 * 16 * 1024;
const PTS_WRAP: u64 = 1 << 33;

struct Packet<'a> {
    pid: u16,
    pusi: bool,
    random_access: bool,
    payload: &'a [u8],
}

fn packet(b: &[u8]) -> Result<Packet<'_>> {
    if b.len() != PACKET as usize || b[0] != 0x47 {
        return Err(MediaError::media(
            "lost transport stream sync (no 0x47 byte)",
        ));
    }
    let pid = u16::from(b[1] & 0x1f) << 8 | u16::from(b[2]);
    let pusi = b[1] & 0x40 != 0;
    let afc = (b[3] >> 4) & 3;
    let mut p = 4usize;
    let mut random_access = false;
    if afc & 2 != 0 {
        let len = usize::from(b[4]);
        if len > 183 {
            return Err(MediaError::media("adaptation field longer than its packet"));
        }
        if len > 0 {
            random_access = b[5] & 0x40 != 0;
        }
        p = 5 + len;
    }
    let payload = if afc & 1 != 0 { &b[p..] } else { &[][..] };
    Ok(Packet {
        pid,
        pusi,
        random_access,
        payload,
    })
}

/// The PTS of a PES packet starting in `payload`, if it carries one.
fn pes_pts(payload: &[u8]) -> Option<u64> {
    if payload.len() < 14 || payload[..3] != [0, 0, 1] || payload[7] & 0x80 == 0 {
        return None;
    }
    let p = &payload[9..14];
    Some(
        u64::from(p[0] >> 1 & 0x07) << 30
            | u64::from(p[1]) << 22
            | u64::from(p[2] >> 1) << 15
            | u64::from(p[3]) << 7
            | u64::from(p[4] >> 1),
    )
}

/// A section's body after its pointer field, for PAT/PMT parsing.
fn section(payload: &[u8]) -> Option<&[u8]> {
    let ptr = usize::from(*payload.first()?);
    let s = payload.get(1 + ptr..)?;
    let len = usize::from(u16::from(*s.get(1)? & 0x0f) << 8 | u16::from(*s.get(2)?));
    s.get(..3 + len)
}

/// What the head of the stream says.
struct Stream {
    pat: Vec<u8>,
    pmt: Vec<u8>,
    pmt_pid: u16,
    video_pid: u16,
    first_pts: u64,
    /// 90 kHz ticks per frame.
    frame_ticks: u64,
    rate: TimecodeRate,
    /// Timecode frame of the first picture (from the first GOP header).
    start_tc: u64,
}

fn frame_rate(code: u8) -> Option<(u32, u32)> {
    Some(match code {
        1 => (24000, 1001),
        2 => (24, 1),
        3 => (25, 1),
        4 => (30000, 1001),
        5 => (30, 1),
        6 => (50, 1),
        7 => (60000, 1001),
        8 => (60, 1),
        _ => return None,
    })
}

fn find(hay: &[u8], code: u8) -> Option<usize> {
    hay.windows(4).position(|w| w == [0, 0, 1, code])
}

fn read_head<S: RangeSource + ?Sized>(src: &mut S) -> Result<Stream> {
    let (mut pat, mut pmt) = (None::<Vec<u8>>, None::<Vec<u8>>);
    let mut pmt_pid = None;
    let mut video_pid = None;
    let mut es = Vec::new();
    let mut first_pts = None;
    let mut at = 0u64;
    'windows: while at < HEAD.min(src.len()) {
        let head = read_clipped(src, at, WINDOW as usize)?;
        if head.len() < PACKET as usize {
            break;
        }
        at += head.len() as u64 / PACKET * PACKET;
        for raw in head.chunks_exact(PACKET as usize) {
            let p = packet(raw)?;
            if p.pid == 0 && p.pusi && pat.is_none() {
                let s = section(p.payload).ok_or_else(|| MediaError::media("truncated PAT"))?;
                // Program loop: after the 8-byte header, 4-byte entries, minus the CRC.
                let body = s.get(8..s.len().saturating_sub(4)).unwrap_or(&[]);
                pmt_pid = body
                    .chunks_exact(4)
                    .find(|e| u16::from_be_bytes([e[0], e[1]]) != 0)
                    .map(|e| u16::from(e[2] & 0x1f) << 8 | u16::from(e[3]));
                pat = Some(raw.to_vec());
            } else if Some(p.pid) == pmt_pid && p.pusi && pmt.is_none() {
                let s = section(p.payload).ok_or_else(|| MediaError::media("truncated PMT"))?;
                let info = usize::from(
                    u16::from(*s.get(10).unwrap_or(&0) & 0x0f) << 8
                        | u16::from(*s.get(11).unwrap_or(&0)),
                );
                let mut i = 12 + info;
                let end = s.len().saturating_sub(4);
                while i + 5 <= end {
                    let stype = s[i];
                    let pid = u16::from(s[i + 1] & 0x1f) << 8 | u16::from(s[i + 2]);
                    let es_len = usize::from(u16::from(s[i + 3] & 0x0f) << 8 | u16::from(s[i + 4]));
                    if video_pid.is_none() && matches!(stype, 0x01 | 0x02) {
                        video_pid = Some(pid);
                    }
                    if video_pid.is_none() && matches!(stype, 0x1b | 0x24) {
                        return Err(MediaError::Unsupported(
                        "transport streams with H.264/HEVC video have no GOP timecode: only MPEG-2 video is cut".into(),
                    ));
                    }
                    i += 5 + es_len;
                }
                pmt = Some(raw.to_vec());
            } else if Some(p.pid) == video_pid {
                if p.pusi {
                    if first_pts.is_some() {
                        break 'windows;
                    }
                    first_pts = pes_pts(p.payload);
                    if first_pts.is_none() {
                        return Err(MediaError::media("the first video PES has no PTS"));
                    }
                    // Skip the PES header.
                    let hl = usize::from(*p.payload.get(8).unwrap_or(&0));
                    es.extend_from_slice(p.payload.get(9 + hl..).unwrap_or(&[]));
                } else if first_pts.is_some() {
                    es.extend_from_slice(p.payload);
                }
            }
        }
    }
    let pat =
        pat.ok_or_else(|| MediaError::media("no PAT at the start of the transport stream"))?;
    let pmt =
        pmt.ok_or_else(|| MediaError::media("no PMT at the start of the transport stream"))?;
    let video_pid =
        video_pid.ok_or_else(|| MediaError::media("the PMT lists no MPEG-2 video stream"))?;
    let first_pts = first_pts.ok_or_else(|| MediaError::media("no video PES at the start"))?;
    let seq = find(&es, 0xb3)
        .and_then(|i| es.get(i + 7))
        .ok_or_else(|| MediaError::media("no MPEG-2 sequence header in the first picture"))?;
    let (num, den) = frame_rate(seq & 0x0f)
        .ok_or_else(|| MediaError::media(format!("MPEG-2 frame rate code {}", seq & 0x0f)))?;
    let frame_ticks = 90_000 * u64::from(den) / u64::from(num);
    let (drop, tc) = match find(&es, 0xb8).and_then(|i| es.get(i + 4..i + 8)) {
        Some(g) => {
            let v = u32::from_be_bytes([g[0], g[1], g[2], g[3]]);
            let tc = Timecode {
                hours: (v >> 26 & 0x1f) as u8,
                minutes: (v >> 20 & 0x3f) as u8,
                seconds: (v >> 13 & 0x3f) as u8,
                frames: (v >> 7 & 0x3f) as u8,
                drop_frame: v >> 31 != 0,
            };
            (tc.drop_frame, Some(tc))
        }
        None => (false, None),
    };
    let rate = TimecodeRate::from_rate(num, den, drop)?;
    let start_tc = match tc {
        Some(t) if t.hours < 24 && t.minutes < 60 && t.seconds < 60 => rate.to_frame(t)?,
        _ => 0,
    };
    Ok(Stream {
        pat,
        pmt,
        pmt_pid: pmt_pid.unwrap_or(0),
        video_pid,
        first_pts,
        frame_ticks,
        rate,
        start_tc,
    })
}

impl Stream {
    fn frame_of(&self, pts: u64) -> u64 {
        let d = (pts + PTS_WRAP - self.first_pts) % PTS_WRAP;
        (d + self.frame_ticks / 2) / self.frame_ticks
    }
}

/// Video random-access points `(packet offset, frame)` in `[from, to)`.
fn raps<S: RangeSource + ?Sized>(
    src: &mut S,
    st: &Stream,
    from: u64,
    to: u64,
    first_only: bool,
) -> Result<Vec<(u64, u64)>> {
    let mut out = Vec::new();
    let mut at = from;
    while at < to {
        let n = (to - at).min(WINDOW);
        let buf = read_clipped(src, at, n as usize)?;
        for (i, raw) in buf.chunks_exact(PACKET as usize).enumerate() {
            let p = packet(raw)?;
            if p.pid == st.video_pid && p.pusi && p.random_access {
                if let Some(pts) = pes_pts(p.payload) {
                    out.push((at + i as u64 * PACKET, st.frame_of(pts)));
                    if first_only {
                        return Ok(out);
                    }
                }
            }
        }
        if buf.len() < PACKET as usize {
            break;
        }
        at += buf.len() as u64 / PACKET * PACKET;
    }
    Ok(out)
}

/// The display frame of the first video PES starting in `[from, to)`.
fn first_frame_after<S: RangeSource + ?Sized>(
    src: &mut S,
    st: &Stream,
    from: u64,
    to: u64,
) -> Result<Option<u64>> {
    let mut at = from;
    while at < to {
        let buf = read_clipped(src, at, (to - at).min(WINDOW) as usize)?;
        for raw in buf.chunks_exact(PACKET as usize) {
            let p = packet(raw)?;
            if p.pid == st.video_pid && p.pusi {
                if let Some(pts) = pes_pts(p.payload) {
                    return Ok(Some(st.frame_of(pts)));
                }
            }
        }
        if buf.len() < PACKET as usize {
            break;
        }
        at += buf.len() as u64 / PACKET * PACKET;
    }
    Ok(None)
}

/// Decode order differs from display order by a few frames (B-frames): a PES more than
/// REORDER frames past a frame lies after every random-access point at or before it.
const REORDER: u64 = 8;
/// Once the search has narrowed the in point to this many bytes, reading forward through them
/// costs less than another locate.
const SCAN_SPAN: u64 = 1 << 20;

/// Bytes per frame near the start of the stream, from the video PES starts of about its
/// first second (at most `HEAD_PACE` bytes): the first guess of where a frame lies, so a cut locates close to its in
/// point at once instead of bisecting the whole file (each probe on tape is a locate).
const HEAD_PACE: u64 = 188 * 4096;

fn pace<S: RangeSource + ?Sized>(src: &mut S, st: &Stream) -> Result<Option<f64>> {
    let (mut first, mut last) = (None::<u64>, None::<(u64, u64)>);
    let second = (90_000 / st.frame_ticks.max(1)).max(REORDER);
    let mut at = 0u64;
    let stop = HEAD_PACE.min(src.len());
    while at < stop && last.is_none_or(|(_, f)| f < second) {
        let buf = read_clipped(src, at, (stop - at).min(4 * WINDOW) as usize)?;
        if buf.len() < PACKET as usize {
            break;
        }
        for (i, raw) in buf.chunks_exact(PACKET as usize).enumerate() {
            let p = packet(raw)?;
            if p.pid != st.video_pid || !p.pusi {
                continue;
            }
            if let Some(pts) = pes_pts(p.payload) {
                let pos = at + i as u64 * PACKET;
                let f = st.frame_of(pts);
                first.get_or_insert(pos);
                if last.is_none_or(|(_, lf)| f > lf) {
                    last = Some((pos, f));
                }
            }
        }
        at += buf.len() as u64 / PACKET * PACKET;
    }
    Ok(match (first, last) {
        (Some(a), Some((b, f))) if f > REORDER && b > a => Some((b - a) as f64 / f as f64),
        _ => None,
    })
}

/// The last video random-access point at or before frame `want`.
///
/// Probes land about a second before the in point, placed by interpolating between the
/// bracket's known frames (or the head's pace while the far end is unknown); every third
/// probe bisects, so an uneven or hostile stream still narrows in logarithmic steps. Then
/// the stream is read forward to the in point; only when the in point's GOP began before
/// the bracket is the stream walked back.
fn find_start<S: RangeSource + ?Sized>(
    src: &mut S,
    st: &Stream,
    want: u64,
    end: u64,
    pace: Option<f64>,
) -> Result<(u64, u64)> {
    let lead = (90_000 / st.frame_ticks.max(1)).max(REORDER);
    let aim = want.saturating_sub(lead);
    let (mut lo, mut lo_f) = (0u64, 0u64);
    let (mut hi, mut hi_f) = (end, None::<u64>);
    let span = SCAN_SPAN.min(end / 64).max(4 * WINDOW);
    let mut probes = 0u32;
    while hi - lo > span && want.saturating_sub(lo_f) > 2 * lead {
        let half = lo + (hi - lo) / 2;
        let guess = match (hi_f, pace) {
            (Some(hf), _) if hf > lo_f => {
                let k = (aim.saturating_sub(lo_f)) as f64 / (hf - lo_f) as f64;
                lo + (k * (hi - lo) as f64) as u64
            }
            (None, Some(p)) => lo.saturating_add((aim.saturating_sub(lo_f) as f64 * p) as u64),
            _ => half,
        };
        let at = if probes % 3 == 2 {
            half
        } else {
            guess.clamp(lo + WINDOW, hi - WINDOW)
        };
        let at = at / PACKET * PACKET;
        probes += 1;
        match first_frame_after(src, st, at, hi.min(at + 16 * WINDOW))? {
            Some(f) if f > want + REORDER => (hi, hi_f) = (at, Some(f)),
            Some(f) => (lo, lo_f) = (at, f),
            None => (hi, hi_f) = (at, None),
        }
    }
    // Forward from the bracket's start: the last random-access point at or before `want`.
    let mut best = None;
    let mut at = lo;
    'scan: while at < end {
        let buf = read_clipped(src, at, (end - at).min(4 * WINDOW) as usize)?;
        if buf.len() < PACKET as usize {
            break;
        }
        for (i, raw) in buf.chunks_exact(PACKET as usize).enumerate() {
            let p = packet(raw)?;
            if p.pid != st.video_pid || !p.pusi {
                continue;
            }
            if let Some(pts) = pes_pts(p.payload) {
                let f = st.frame_of(pts);
                if f > want + REORDER {
                    break 'scan;
                }
                if p.random_access && f <= want {
                    best = Some((at + i as u64 * PACKET, f));
                }
            }
        }
        at += buf.len() as u64 / PACKET * PACKET;
    }
    if let Some(found) = best {
        return Ok(found);
    }
    // The in point's GOP began before `lo`: walk back one window at a time.
    let mut upto = lo;
    while upto > 0 {
        let from = upto.saturating_sub(WINDOW);
        if let Some(found) = raps(src, st, from, upto, false)?
            .into_iter()
            .rfind(|&(_, f)| f <= want)
        {
            return Ok(found);
        }
        upto = from;
    }
    Err(MediaError::media(
        "no video random-access point at or before the in point",
    ))
}

/// Cuts the frames `range` selects out of an MPEG-2 transport stream into `out`, on GOP
/// boundaries (random-access points) around the range.
pub fn cut_ts<S: RangeSource + ?Sized, W: Write>(
    src: &mut S,
    range: &TimecodeRange,
    out: &mut W,
) -> Result<CutReport> {
    let mut src = Counting::new(src);
    let packets = src.len() / PACKET;
    if packets == 0 {
        return Err(MediaError::media("the transport stream holds no packet"));
    }
    let st = read_head(&mut src)?;
    // The clip's length is not read up front (the end of a long file is a long locate away):
    // a range past the end shows when the copy reaches the end of the file short of it.
    let (want_first, want_last) =
        range.frames_in_clip(st.rate, st.start_tc, st.rate.frames_per_day())?;
    let end = packets * PACKET;

    let pace = pace(&mut src, &st)?;
    let (start, first) = find_start(&mut src, &st, want_first, end, pace)?;

    out.write_all(&st.pat)?;
    out.write_all(&st.pmt)?;
    let mut written = 2 * PACKET;
    let mut started: HashSet<u16> = HashSet::new();
    let mut last = None;
    let mut max_frame = first;
    let mut at = start;
    'copy: while at < end {
        let buf = read_clipped(
            &mut src,
            at,
            (end - at).min(4 * WINDOW) as usize / PACKET as usize * PACKET as usize,
        )?;
        for raw in buf.chunks_exact(PACKET as usize) {
            let p = packet(raw)?;
            if p.pid == st.video_pid && p.pusi {
                if let Some(pts) = pes_pts(p.payload) {
                    let f = st.frame_of(pts);
                    if p.random_access && f > want_last {
                        last = Some(f - 1);
                        break 'copy;
                    }
                    max_frame = max_frame.max(f);
                }
            }
            let keep = match p.pid {
                0x1fff => false,
                pid if pid == 0 || pid == st.pmt_pid || pid == st.video_pid => true,
                pid => {
                    if p.pusi {
                        started.insert(pid);
                    }
                    started.contains(&pid)
                }
            };
            if keep {
                out.write_all(raw)?;
                written += PACKET;
            }
        }
        at += buf.len() as u64;
        if buf.is_empty() {
            break;
        }
    }
    let last = match last {
        Some(l) => l,
        None if max_frame < want_last => {
            let clip_start = st.rate.to_timecode(st.start_tc);
            let clip_end = st.rate.to_timecode(st.start_tc + max_frame);
            return Err(MediaError::request(format!(
                "range {}-{} is outside the clip {clip_start}-{clip_end}",
                range.begin, range.end
            )));
        }
        None => max_frame,
    };
    Ok(CutReport {
        format: MediaFormat::MpegTs,
        first_frame: first,
        last_frame: last,
        first_timecode: st.rate.to_timecode(st.start_tc + first).to_string(),
        last_timecode: st.rate.to_timecode(st.start_tc + last).to_string(),
        bytes_read: src.bytes_read,
        source_size: src.len(),
        bytes_written: written,
    })
}
