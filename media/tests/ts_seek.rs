//! How a transport stream cut finds its in point: a handful of probes near it, then one
//! forward read, and never the end of a file whose cut ends before it. On tape every
//! discontiguous read is a locate, so these counts are what a cut costs.

use tapelib_media::synthetic::{timecode, write_ts, FPS};
use tapelib_media::{cut_ts, MediaError, RangeSource, TimecodeRange};

fn stream(frames: u64, packets: impl Fn(u64) -> u64) -> Vec<u8> {
    let mut out = Vec::new();
    write_ts(&mut out, frames, packets).unwrap();
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
