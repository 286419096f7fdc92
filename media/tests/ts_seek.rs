//! How a transport stream cut finds its in point: a handful of probes near it, then one
//! forward read, and never the end of a file whose cut ends before it. On tape every
//! discontiguous read is a locate, so these counts are what a cut costs.

use tapelib_media::{cut_ts, MediaError, RangeSource, TimecodeRange};

const FPS: u64 = 25;
const VIDEO_PID: u16 = 0x100;
const PMT_PID: u16 = 0x1000;

fn crc32_mpeg(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04c1_1db7
            } else {
                crc << 1
            };
        }
    }
    crc
}

fn section_packet(pid: u16, section: &[u8]) -> Vec<u8> {
    let mut p = vec![0xffu8; 188];
    p[..5].copy_from_slice(&[0x47, 0x40 | (pid >> 8) as u8, pid as u8, 0x10, 0]);
    p[5..5 + section.len()].copy_from_slice(section);
    let crc = crc32_mpeg(section);
    p[5 + section.len()..9 + section.len()].copy_from_slice(&crc.to_be_bytes());
    p
}

/// An all-intra MPEG-2 transport stream starting at 10:00:00:00: frame `n` is a random-access
/// PES of `packets(n)` packets. Only the structures a cut reads are real.
fn stream(frames: u64, packets: impl Fn(u64) -> u64) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(section_packet(
        0,
        &[
            0x00,
            0xb0,
            0x0d,
            0x00,
            0x01,
            0xc1,
            0x00,
            0x00,
            0x00,
            0x01,
            0xe0 | (PMT_PID >> 8) as u8,
            PMT_PID as u8,
        ],
    ));
    out.extend(section_packet(
        PMT_PID,
        &[
            0x02, 0xb0, 0x12, 0x00, 0x01, 0xc1, 0x00, 0x00, 0xe1, 0x00, 0xf0, 0x00, 0x02, 0xe1,
            0x00, 0xf0, 0x00,
        ],
    ));
    let mut cc = 0u8;
    for n in 0..frames {
        let pts = 90_000 + n * (90_000 / FPS);
        for k in 0..packets(n).max(1) {
            let mut p = vec![0u8; 188];
            p[0] = 0x47;
            p[1] = (if k == 0 { 0x40 } else { 0 }) | (VIDEO_PID >> 8) as u8;
            p[2] = VIDEO_PID as u8;
            let mut i = 4;
            if k == 0 {
                p[3] = 0x30 | cc;
                p[4] = 1;
                p[5] = 0x40; // random access indicator
                i = 6;
                let pes = [
                    0,
                    0,
                    1,
                    0xe0,
                    0,
                    0,
                    0x80,
                    0x80,
                    5,
                    0x21 | ((pts >> 29) & 0x0e) as u8,
                    (pts >> 22) as u8,
                    0x01 | ((pts >> 14) & 0xfe) as u8,
                    (pts >> 7) as u8,
                    0x01 | ((pts << 1) & 0xfe) as u8,
                    // Sequence header, 720x576 at 25 fps; GOP header 10:00:00:00, closed.
                    0,
                    0,
                    1,
                    0xb3,
                    0x2d,
                    0x02,
                    0x40,
                    0x23,
                    0xff,
                    0xff,
                    0xe0,
                    0x18,
                    0,
                    0,
                    1,
                    0xb8,
                    0x28,
                    0x08,
                    0x00,
                    0x40,
                ];
                p[i..i + pes.len()].copy_from_slice(&pes);
                i += pes.len();
            } else {
                p[3] = 0x10 | cc;
            }
            for (j, b) in p[i..].iter_mut().enumerate() {
                *b = (n as u8) ^ (j as u8) | 1;
            }
            cc = (cc + 1) & 0x0f;
            out.extend(p);
        }
    }
    out
}

/// Records every read, to count the discontiguous ones (locates on tape).
struct Traced {
    data: Vec<u8>,
    reads: Vec<(u64, usize)>,
}

impl RangeSource for Traced {
    fn len(&self) -> u64 {
        self.data.len() as u64
    }

    fn read_at(&mut self, offset: u64, len: usize) -> Result<Vec<u8>, MediaError> {
        self.reads.push((offset, len));
        self.data.read_at(offset, len)
    }
}

impl Traced {
    /// Reads that do not start where the previous one ended.
    fn jumps(&self) -> usize {
        let mut end = None;
        let mut n = 0;
        for &(at, len) in &self.reads {
            if end != Some(at) {
                n += 1;
            }
            end = Some(at + len as u64);
        }
        n
    }

    fn furthest(&self) -> u64 {
        self.reads
            .iter()
            .map(|&(at, len)| at + len as u64)
            .max()
            .unwrap_or(0)
    }
}

fn timecode(frame: u64) -> String {
    let s = frame / FPS;
    format!(
        "{:02}:{:02}:{:02}:{:02}",
        10 + s / 3600,
        s / 60 % 60,
        s % 60,
        frame % FPS
    )
}

fn cut_second(src: &mut Traced, at: u64) -> tapelib_media::CutReport {
    let range = TimecodeRange::parse(&timecode(at), &timecode(at + FPS - 1)).unwrap();
    let r = cut_ts(src, &range, &mut Vec::new()).unwrap();
    assert_eq!((r.first_frame, r.last_frame), (at, at + FPS - 1), "{r:?}");
    r
}

#[test]
fn a_constant_rate_stream_is_cut_with_few_locates_and_without_visiting_its_end() {
    let frames = 600 * FPS;
    let data = stream(frames, |_| 12);
    let len = data.len() as u64;
    for at in [0, frames / 3, frames / 2, frames - 3 * FPS] {
        let mut src = Traced {
            data: data.clone(),
            reads: Vec::new(),
        };
        let r = cut_second(&mut src, at);
        assert!(src.jumps() <= 6, "{} jumps for frame {at}", src.jumps());
        assert!(r.bytes_read * 100 < len, "{r:?}");
        // The copy stops at the first random-access point after the out point.
        let stop = (at + FPS + 1) * 12 * 188 + 2 * 188;
        assert!(
            src.furthest() <= stop + (1 << 20),
            "read up to {} for a cut ending at {stop}",
            src.furthest()
        );
    }
}

#[test]
fn an_uneven_stream_still_converges() {
    // Frame sizes that swing between 2 and 60 packets, with a long run of large frames in
    // the middle: the head's pace misleads, the interpolation must recover.
    let frames = 400 * FPS;
    let size = |n: u64| {
        let base = (n.wrapping_mul(2_654_435_761) >> 7) % 30 + 2;
        if (frames / 3..frames / 2).contains(&n) {
            base + 30
        } else {
            base
        }
    };
    let data = stream(frames, size);
    for at in [FPS, frames / 4, frames / 2 + FPS, frames - 2 * FPS] {
        let mut src = Traced {
            data: data.clone(),
            reads: Vec::new(),
        };
        let r = cut_second(&mut src, at);
        assert!(src.jumps() <= 20, "{} jumps for frame {at}", src.jumps());
        assert!(r.bytes_read * 20 < data.len() as u64, "{r:?}");
    }
}

#[test]
fn a_range_past_the_end_is_refused_after_reading_only_the_tail() {
    let frames = 60 * FPS;
    let data = stream(frames, |_| 12);
    let mut src = Traced {
        data,
        reads: Vec::new(),
    };
    let range = TimecodeRange::parse("10:00:59:00", "10:01:05:00").unwrap();
    let e = cut_ts(&mut src, &range, &mut Vec::new()).unwrap_err();
    assert!(matches!(e, MediaError::InvalidRequest(_)), "{e}");
    assert!(e.to_string().contains("outside the clip"), "{e}");
    let range = TimecodeRange::parse("11:00:00:00", "11:00:01:00").unwrap();
    let e = cut_ts(&mut src, &range, &mut Vec::new()).unwrap_err();
    assert!(matches!(e, MediaError::InvalidRequest(_)), "{e}");
}
