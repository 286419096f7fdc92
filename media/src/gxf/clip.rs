//! What the header packets (MAP, FLT, UMF) say about a clip: its tracks, frame rate,
//! start timecode, duration and where media packets begin.

use crate::error::{MediaError, Result};
use crate::source::RangeSource;
use crate::timecode::{Timecode, TimecodeRate};

use super::flt::Flt;
use super::map::{self, Map};
use super::packet::{self, PacketHeader};
use super::umf::Umf;

/// Header packets are small; a larger one is garbage.
const MAX_HEADER_PACKET: u32 = 1 << 20;
/// Header packets read before the first media packet, at most.
const MAX_HEADER_PACKETS: usize = 16;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Video {
    pub number: u8,
    /// Every frame is a random-access point (DV, MJPEG, DNxHD); otherwise MPEG picture
    /// types mark the I-frames.
    pub intra: bool,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Audio {
    pub number: u8,
    pub bytes_per_sample: u32,
}

pub(crate) struct Clip {
    pub map: Map,
    pub flt: Option<Flt>,
    pub umf: Umf,
    /// Offset of the first packet after the header packets.
    pub media_start: u64,
    pub video: Video,
    pub audio: Vec<Audio>,
    pub fields_per_frame: u64,
    /// Frame rate `num/den`.
    pub fps: (u32, u32),
    pub rate: TimecodeRate,
    /// Timecode frame of the clip's first frame.
    pub start_tc: u64,
    pub first_field: u64,
    pub frames: u64,
}

pub(crate) fn header_at<S: RangeSource + ?Sized>(src: &mut S, pos: u64) -> Result<PacketHeader> {
    if pos
        .checked_add(packet::HEADER as u64)
        .is_none_or(|e| e > src.len())
    {
        return Err(MediaError::media(format!(
            "GXF packet header at {pos} runs past the end of the file"
        )));
    }
    packet::decode_header(&src.read_at(pos, packet::HEADER)?)
        .map_err(|e| MediaError::media(format!("at byte {pos}: {e}")))
}

fn body<S: RangeSource + ?Sized>(src: &mut S, pos: u64, h: PacketHeader) -> Result<Vec<u8>> {
    if h.len > MAX_HEADER_PACKET {
        return Err(MediaError::media(format!(
            "GXF header packet of {} bytes at {pos}",
            h.len
        )));
    }
    src.read_at(pos + packet::HEADER as u64, h.len as usize - packet::HEADER)
}

/// Frame rate of a MAP frame rate tag value.
fn frame_rate(tag: u32) -> Option<(u32, u32)> {
    Some(match tag {
        1 => (60, 1),
        2 => (60000, 1001),
        3 => (50, 1),
        4 => (30, 1),
        5 => (30000, 1001),
        6 => (25, 1),
        7 => (24, 1),
        8 => (24000, 1001),
        _ => return None,
    })
}

/// A GXF timecode word as a label: the low byte counts fields.
pub(crate) fn decode_timecode(v: u32, fields_per_frame: u64) -> Option<Timecode> {
    if v >> 31 != 0 {
        return None;
    }
    let t = Timecode {
        hours: (v >> 24 & 0x1f) as u8,
        minutes: (v >> 16) as u8,
        seconds: (v >> 8) as u8,
        frames: ((v & 0xff) as u64 / fields_per_frame.max(1)) as u8,
        drop_frame: v >> 29 & 1 != 0,
    };
    (t.hours < 24 && t.minutes < 60 && t.seconds < 60).then_some(t)
}

pub(crate) fn encode_timecode(t: Timecode, fields_per_frame: u64) -> u32 {
    u32::from(t.drop_frame) << 29
        | u32::from(t.hours) << 24
        | u32::from(t.minutes) << 16
        | u32::from(t.seconds) << 8
        | (u64::from(t.frames) * fields_per_frame).min(0xff) as u32
}

impl Clip {
    pub fn read<S: RangeSource + ?Sized>(src: &mut S) -> Result<Clip> {
        let h = header_at(src, 0)?;
        if h.kind != packet::MAP {
            return Err(MediaError::media("a GXF stream starts with a MAP packet"));
        }
        let map = Map::decode(&body(src, 0, h)?)?;
        let mut pos = u64::from(h.len);
        let (mut flt, mut umf) = (None, None);
        for _ in 0..MAX_HEADER_PACKETS {
            if pos == src.len() {
                break;
            }
            let h = header_at(src, pos)?;
            match h.kind {
                packet::FLT if flt.is_none() => flt = Some(Flt::decode(&body(src, pos, h)?)?),
                packet::UMF if umf.is_none() => umf = Some(Umf::decode(&body(src, pos, h)?)?),
                packet::MEDIA | packet::EOS => break,
                _ => {}
            }
            pos += u64::from(h.len);
        }
        let umf = umf.ok_or_else(|| MediaError::media("no UMF packet in the GXF header"))?;

        let mut video = None;
        let mut audio = Vec::new();
        let (mut fps, mut fpf) = (None, None);
        let mut tc_word = None;
        for t in &map.tracks {
            match t.media_type() {
                3 | 4 | 13..=16 | 25 | 30 | 11 | 12 | 20 | 22 | 23 => {
                    if video.is_some() {
                        return Err(MediaError::Unsupported(
                            "GXF clips with more than one video track".into(),
                        ));
                    }
                    video = Some(Video {
                        number: t.number(),
                        intra: !matches!(t.media_type(), 11 | 12 | 20 | 22 | 23),
                    });
                    fps = t.u32_tag(map::TRACK_FPS);
                    fpf = t.u32_tag(map::TRACK_FPF);
                }
                9 | 10 => audio.push(Audio {
                    number: t.number(),
                    bytes_per_sample: if t.media_type() == 9 { 3 } else { 2 },
                }),
                7 | 8 | 24 => {
                    tc_word = t
                        .tags
                        .iter()
                        .find(|x| x.tag == map::TRACK_AUX && x.value.len() == 8)
                        .map(|x| {
                            u32::from_le_bytes([x.value[0], x.value[1], x.value[2], x.value[3]])
                        });
                }
                26 | 29 => {
                    return Err(MediaError::Unsupported(
                        "GXF clips with H.264 video are not cut".into(),
                    ))
                }
                17 => {
                    return Err(MediaError::Unsupported(
                        "GXF clips with AC-3 audio are not cut".into(),
                    ))
                }
                _ => {}
            }
        }
        let video = video.ok_or_else(|| {
            MediaError::Unsupported(
                "the GXF clip has no MPEG, DV, MJPEG or DNxHD video track".into(),
            )
        })?;
        let fps = fps
            .and_then(frame_rate)
            .ok_or_else(|| MediaError::media(format!("GXF video frame rate tag {fps:?}")))?;
        let fields_per_frame = match fpf {
            Some(v @ (1 | 2)) => u64::from(v),
            None => 2,
            Some(v) => {
                return Err(MediaError::media(format!(
                    "GXF video with {v} fields per frame"
                )))
            }
        };
        let first_field = u64::from(map.material_u32(map::MAT_FIRST_FIELD).unwrap_or(0));
        let last_field = match map.material_u32(map::MAT_LAST_FIELD) {
            Some(l) => u64::from(l),
            None => first_field + u64::from(umf.material.longest),
        };
        let frames = last_field.saturating_sub(first_field) / fields_per_frame;
        if frames == 0 {
            return Err(MediaError::media(format!(
                "the GXF clip holds no frames (fields {first_field}-{last_field})"
            )));
        }
        let tc = tc_word
            .and_then(|w| decode_timecode(w, fields_per_frame))
            .or_else(|| decode_timecode(umf.material.timecode_in, fields_per_frame));
        let media = |e: MediaError| MediaError::media(format!("GXF start timecode: {e}"));
        let rate = TimecodeRate::from_rate(fps.0, fps.1, tc.is_some_and(|t| t.drop_frame))
            .map_err(media)?;
        let start_tc = match tc {
            Some(t) => rate.to_frame(t).map_err(media)?,
            None => 0,
        };
        Ok(Clip {
            map,
            flt,
            umf,
            media_start: pos,
            video,
            audio,
            fields_per_frame,
            fps,
            rate,
            start_tc,
            first_field,
            frames,
        })
    }

    /// Field rate as `num/den` fields per second.
    fn field_rate(&self) -> (u128, u128) {
        (
            u128::from(self.fps.0) * u128::from(self.fields_per_frame),
            u128::from(self.fps.1),
        )
    }

    /// The first 48 kHz audio sample of a field (counted from field 0).
    pub fn sample_at(&self, field: u64) -> u64 {
        let (n, d) = self.field_rate();
        (u128::from(field) * 48_000 * d / n) as u64
    }

    /// The field a packet starting at `sample` is numbered with: the first field that
    /// starts at or after it, as muxers number audio packets.
    pub fn field_of_sample(&self, sample: u64) -> u64 {
        let (n, d) = self.field_rate();
        (u128::from(sample) * n).div_ceil(48_000 * d) as u64
    }

    /// The first sample of an audio packet numbered `field` holding `n` samples: the
    /// multiple of `n` the field number rounds up from when there is one (fixed-size
    /// packets), else the field's first sample.
    pub fn audio_start(&self, field: u64, n: u64) -> u64 {
        let est = self.sample_at(field);
        match est.checked_div(n).map(|k| k * n) {
            Some(snapped) if self.field_of_sample(snapped) == field => snapped,
            _ => est,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timecode_words() {
        let t = decode_timecode(0x0a00_0000, 2).unwrap();
        assert_eq!(t.to_string(), "10:00:00:00");
        let t = decode_timecode(0x2a01_0230, 2).unwrap();
        assert_eq!(t.to_string(), "10:01:02;24");
        assert_eq!(encode_timecode(t, 2), 0x2a01_0230);
        assert!(decode_timecode(0x8a00_0000, 2).is_none());
        assert!(decode_timecode(0x1800_0000, 2).is_none());
        assert!(decode_timecode(0x0a3c_0000, 2).is_none());
    }
}
