//! SMPTE timecode labels and their frame numbers, drop-frame included.

use std::fmt;
use std::str::FromStr;

use crate::error::{MediaError, Result};

/// A timecode label `HH:MM:SS:FF`, or `HH:MM:SS;FF` when written drop-frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timecode {
    pub hours: u8,
    pub minutes: u8,
    pub seconds: u8,
    pub frames: u8,
    pub drop_frame: bool,
}

impl FromStr for Timecode {
    type Err = MediaError;

    fn from_str(text: &str) -> Result<Self> {
        let bad = || MediaError::request(format!("{text:?} is not a timecode HH:MM:SS:FF"));
        let b = text.as_bytes();
        let [h1, h0, b':', m1, m0, b':', s1, s0, sep, f1, f0] = *b else {
            return Err(bad());
        };
        let two = |hi: u8, lo: u8| -> Option<u8> {
            (hi.is_ascii_digit() && lo.is_ascii_digit()).then(|| (hi - b'0') * 10 + (lo - b'0'))
        };
        let drop_frame = match sep {
            b':' => false,
            b';' | b'.' => true,
            _ => return Err(bad()),
        };
        let (Some(hours), Some(minutes), Some(seconds), Some(frames)) =
            (two(h1, h0), two(m1, m0), two(s1, s0), two(f1, f0))
        else {
            return Err(bad());
        };
        if hours > 23 || minutes > 59 || seconds > 59 {
            return Err(bad());
        }
        Ok(Timecode {
            hours,
            minutes,
            seconds,
            frames,
            drop_frame,
        })
    }
}

impl fmt::Display for Timecode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sep = if self.drop_frame { ';' } else { ':' };
        write!(
            f,
            "{:02}:{:02}:{:02}{sep}{:02}",
            self.hours, self.minutes, self.seconds, self.frames
        )
    }
}

/// How a clip counts timecode: frames per timecode second and whether labels drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimecodeRate {
    /// Rounded frames per second (25, 30 for 29.97, 50, 60 for 59.94).
    pub base: u32,
    /// Drop-frame counting (only 29.97 and 59.94).
    pub drop_frame: bool,
}

impl TimecodeRate {
    /// From a frame rate `num/den` and the drop-frame flag; refuses drop-frame at rates other
    /// than 29.97 and 59.94.
    pub fn from_rate(num: u32, den: u32, drop_frame: bool) -> Result<Self> {
        if num == 0 || den == 0 {
            return Err(MediaError::media(format!("frame rate {num}/{den}")));
        }
        let base = (num + den / 2) / den;
        let r = TimecodeRate { base, drop_frame };
        r.check()?;
        Ok(r)
    }

    /// From a rounded base (MXF RoundedTimecodeBase) and the drop-frame flag.
    pub fn new(base: u32, drop_frame: bool) -> Result<Self> {
        let r = TimecodeRate { base, drop_frame };
        r.check()?;
        Ok(r)
    }

    fn check(&self) -> Result<()> {
        if self.base == 0 || self.base > 120 {
            return Err(MediaError::media(format!(
                "timecode base {} frames per second",
                self.base
            )));
        }
        if self.drop_frame && self.base != 30 && self.base != 60 {
            return Err(MediaError::request(format!(
                "drop-frame timecode exists only at 29.97 and 59.94 frames per second, not at base {}",
                self.base
            )));
        }
        Ok(())
    }

    /// Frames dropped each minute (except every tenth).
    fn dropped(&self) -> u64 {
        if self.drop_frame {
            u64::from(self.base / 15)
        } else {
            0
        }
    }

    /// Number of frames in 24 hours of labels.
    pub fn frames_per_day(&self) -> u64 {
        let total_minutes = 24 * 60u64;
        24 * 3600 * u64::from(self.base) - self.dropped() * (total_minutes - total_minutes / 10)
    }

    /// The frame number of a label; refuses frames ≥ base, labels drop-frame skips, and a
    /// drop-frame label on a rate that does not drop.
    pub fn to_frame(&self, tc: Timecode) -> Result<u64> {
        if tc.drop_frame && !self.drop_frame && self.base != 30 && self.base != 60 {
            return Err(MediaError::request(format!(
                "{tc} is drop-frame but the clip runs at {} frames per second",
                self.base
            )));
        }
        if u32::from(tc.frames) >= self.base {
            return Err(MediaError::request(format!(
                "{tc}: frame {} does not exist at {} frames per second",
                tc.frames, self.base
            )));
        }
        let d = self.dropped();
        if d > 0 && tc.seconds == 0 && !tc.minutes.is_multiple_of(10) && u64::from(tc.frames) < d {
            return Err(MediaError::request(format!(
                "{tc} does not exist: drop-frame timecode skips it"
            )));
        }
        let h = u64::from(tc.hours);
        let m = u64::from(tc.minutes);
        let total_minutes = 60 * h + m;
        let nominal = (h * 3600 + m * 60 + u64::from(tc.seconds)) * u64::from(self.base)
            + u64::from(tc.frames);
        Ok(nominal - d * (total_minutes - total_minutes / 10))
    }

    /// The label of a frame number (taken modulo one day).
    pub fn to_timecode(&self, frame: u64) -> Timecode {
        let base = u64::from(self.base);
        let mut f = frame % self.frames_per_day();
        let d = self.dropped();
        if d > 0 {
            // Add back the labels skipped before this frame (SMPTE 12M drop-frame).
            let per_10min = 600 * base - 9 * d;
            let per_min = 60 * base - d;
            let tens = f / per_10min;
            let rem = f % per_10min;
            let skipped = 9 * d * tens
                + if rem > d {
                    d * ((rem - d) / per_min)
                } else {
                    0
                };
            f += skipped;
        }
        let frames = f % base;
        let secs = f / base;
        Timecode {
            hours: ((secs / 3600) % 24) as u8,
            minutes: ((secs / 60) % 60) as u8,
            seconds: (secs % 60) as u8,
            frames: frames as u8,
            drop_frame: self.drop_frame,
        }
    }

    /// The clip-relative frame of `tc` in a clip starting at frame `start` (labels count
    /// on across midnight).
    pub fn frame_in_clip(&self, start: u64, tc: Timecode) -> Result<u64> {
        let day = self.frames_per_day();
        let f = self.to_frame(tc)?;
        Ok((f + day - start % day) % day)
    }
}

/// An inclusive range of timecode labels: both the in and the out frame are restored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimecodeRange {
    pub begin: Timecode,
    pub end: Timecode,
}

impl TimecodeRange {
    pub fn parse(begin: &str, end: &str) -> Result<Self> {
        Ok(TimecodeRange {
            begin: begin.parse()?,
            end: end.parse()?,
        })
    }

    /// The clip-relative frames `[first, last]` this range selects in a clip of
    /// `duration` frames starting at timecode frame `start`.
    pub fn frames_in_clip(
        &self,
        rate: TimecodeRate,
        start: u64,
        duration: u64,
    ) -> Result<(u64, u64)> {
        let first = rate.frame_in_clip(start, self.begin)?;
        let last = rate.frame_in_clip(start, self.end)?;
        if duration == 0 {
            return Err(MediaError::media("the clip holds no frames"));
        }
        let start = start % rate.frames_per_day();
        let clip_start = rate.to_timecode(start);
        let clip_end = rate.to_timecode(start + (duration - 1) % rate.frames_per_day());
        if first >= duration || last >= duration {
            return Err(MediaError::request(format!(
                "range {}-{} is outside the clip {clip_start}-{clip_end}",
                self.begin, self.end
            )));
        }
        if last < first {
            return Err(MediaError::request(format!(
                "range {}-{} is reversed",
                self.begin, self.end
            )));
        }
        Ok((first, last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tc(s: &str) -> Timecode {
        s.parse().unwrap()
    }

    #[test]
    fn drop_frame_reference_points() {
        let df = TimecodeRate::new(30, true).unwrap();
        assert_eq!(df.to_frame(tc("01:00:59;28")).unwrap(), 109690);
        assert_eq!(df.to_timecode(109700), tc("01:01:00;10"));
        assert_eq!(df.to_frame(tc("00:01:00;02")).unwrap(), 1800);
        assert_eq!(df.to_timecode(1799), tc("00:00:59;29"));
        assert_eq!(df.to_timecode(1800), tc("00:01:00;02"));
        assert_eq!(df.to_frame(tc("00:10:00;00")).unwrap(), 17982);
        assert_eq!(df.frames_per_day(), 2_589_408);
        let df60 = TimecodeRate::new(60, true).unwrap();
        assert_eq!(df60.frames_per_day(), 5_178_816);
        assert_eq!(df60.to_timecode(3600), tc("00:01:00;04"));
    }

    #[test]
    fn drop_frame_round_trips_every_frame_of_an_hour() {
        for rate in [
            TimecodeRate::new(30, true).unwrap(),
            TimecodeRate::new(60, true).unwrap(),
        ] {
            for f in 0..(rate.frames_per_day() / 24 + 10) {
                let t = rate.to_timecode(f);
                assert_eq!(rate.to_frame(t).unwrap(), f, "{t}");
            }
        }
    }

    #[test]
    fn skipped_labels_and_bad_rates_are_refused() {
        let df = TimecodeRate::new(30, true).unwrap();
        assert!(df.to_frame(tc("00:01:00;00")).is_err());
        assert!(df.to_frame(tc("00:01:00;01")).is_err());
        assert!(df.to_frame(tc("00:10:00;00")).is_ok());
        assert!(TimecodeRate::new(25, true).is_err());
        let pal = TimecodeRate::new(25, false).unwrap();
        assert!(pal.to_frame(tc("00:00:00:25")).is_err());
        assert!(pal.to_frame(tc("00:00:01;00")).is_err());
        assert!("24:00:00:00".parse::<Timecode>().is_err());
        assert!("1:00:00:00".parse::<Timecode>().is_err());
    }

    #[test]
    fn ranges_are_inclusive_and_cross_midnight() {
        let pal = TimecodeRate::new(25, false).unwrap();
        let start = pal.to_frame(tc("23:59:59:00")).unwrap();
        let r = TimecodeRange::parse("23:59:59:20", "00:00:00:04").unwrap();
        assert_eq!(r.frames_in_clip(pal, start, 100).unwrap(), (20, 29));
        let outside = TimecodeRange::parse("00:00:05:00", "00:00:05:01").unwrap();
        assert!(matches!(
            outside.frames_in_clip(pal, start, 100),
            Err(MediaError::InvalidRequest(_))
        ));
        let rev = TimecodeRange::parse("23:59:59:10", "23:59:59:05").unwrap();
        assert!(matches!(
            rev.frames_in_clip(pal, start, 100),
            Err(MediaError::InvalidRequest(_))
        ));
    }

    #[test]
    fn hostile_start_and_duration_do_not_overflow() {
        let pal = TimecodeRate::new(25, false).unwrap();
        let r = TimecodeRange::parse("10:00:00:00", "10:00:01:00").unwrap();
        for (start, duration) in [(u64::MAX, u64::MAX), (0, u64::MAX), (u64::MAX, 1)] {
            let _ = r.frames_in_clip(pal, start, duration);
        }
        let _ = pal.to_timecode(u64::MAX);
    }

    #[test]
    fn labels_parse_and_print() {
        let t = tc("10:20:30;15");
        assert_eq!(
            (t.hours, t.minutes, t.seconds, t.frames, t.drop_frame),
            (10, 20, 30, 15, true)
        );
        assert_eq!(t.to_string(), "10:20:30;15");
        assert_eq!(tc("10:20:30.15"), t);
        for bad in [
            "",
            "24:00:00:00",
            "00:60:00:00",
            "00:00:60:00",
            "00-00-00-00",
            "00:00:00:0",
            "00:00:00:000",
            "0a:00:00:00",
            "00:00:00:00 ",
        ] {
            assert!(bad.parse::<Timecode>().is_err(), "{bad:?}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        #[test]
        fn any_text_parses_or_is_refused_and_labels_round_trip(text in ".{0,16}") {
            if let Ok(t) = text.parse::<Timecode>() {
                proptest::prop_assert_eq!(t.to_string(), text.replace('.', ";"));
            }
        }

        #[test]
        fn valid_labels_round_trip(h in 0u8..24, m in 0u8..60, s in 0u8..60, f in 0u8..100, df: bool) {
            let t = Timecode { hours: h, minutes: m, seconds: s, frames: f, drop_frame: df };
            proptest::prop_assert_eq!(t.to_string().parse::<Timecode>().ok(), Some(t));
        }
    }
}
