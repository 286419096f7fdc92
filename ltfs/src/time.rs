//! LTFS timestamps: UTC, `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` with nine fractional digits (LTFS 2.4 §7.3).

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// A point in time as LTFS stores it: seconds since the Unix epoch plus nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct LtfsTime {
    seconds: i64,
    nanos: u32,
}

/// A timestamp that does not follow the LTFS format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid LTFS time {text:?}: {reason}")]
pub struct TimeError {
    pub text: String,
    pub reason: &'static str,
}

/// Earliest and latest instants with a four-digit year.
const MIN_SECONDS: i64 = -62_167_219_200; // 0000-01-01T00:00:00Z
const MAX_SECONDS: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z

/// Days since 1970-01-01 of a proleptic Gregorian date (era arithmetic: 400-year cycles of
/// 146097 days, years starting in March so the leap day is last).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

impl LtfsTime {
    /// Builds a time from Unix seconds and nanoseconds; `None` outside years 0000–9999.
    pub fn from_unix(seconds: i64, nanos: u32) -> Option<Self> {
        ((MIN_SECONDS..=MAX_SECONDS).contains(&seconds) && nanos < 1_000_000_000)
            .then_some(LtfsTime { seconds, nanos })
    }

    /// The current time.
    pub fn now() -> Self {
        let (seconds, nanos) = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => (
                i64::try_from(d.as_secs()).unwrap_or(MAX_SECONDS),
                d.subsec_nanos(),
            ),
            Err(_) => (0, 0),
        };
        LtfsTime {
            seconds: seconds.clamp(MIN_SECONDS, MAX_SECONDS),
            nanos,
        }
    }

    pub fn unix_seconds(self) -> i64 {
        self.seconds
    }

    pub fn nanos(self) -> u32 {
        self.nanos
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.f]Z`; one to nine fractional digits are accepted on read
    /// (older writers use fewer), nine are always written.
    pub fn parse(text: &str) -> Result<Self, TimeError> {
        let err = |reason| TimeError {
            text: text.chars().take(64).collect(),
            reason,
        };
        let b = text.as_bytes();
        if let Some(t) = Self::parse_canonical(b) {
            return Ok(t);
        }
        if b.len() < 20 || b.last() != Some(&b'Z') {
            return Err(err("expected YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ"));
        }
        let seps = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
        if seps.iter().any(|&(i, c)| b.get(i) != Some(&c)) {
            return Err(err("misplaced separator"));
        }
        let num = |from: usize, to: usize| -> Option<u32> {
            b.get(from..to)?.iter().try_fold(0u32, |acc, &d| {
                d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
            })
        };
        let field = |from, to| num(from, to).ok_or_else(|| err("expected a digit"));
        let year = i64::from(field(0, 4)?);
        let month = field(5, 7)?;
        let day = field(8, 10)?;
        let hour = field(11, 13)?;
        let minute = field(14, 16)?;
        let second = field(17, 19)?;
        let frac = b.get(19..b.len() - 1).unwrap_or(&[]);
        let nanos = match frac {
            [] => 0,
            [b'.', digits @ ..] if !digits.is_empty() && digits.len() <= 9 => {
                field(20, 20 + digits.len())? * 10u32.pow(9 - digits.len() as u32)
            }
            _ => return Err(err("bad fractional seconds")),
        };
        if !(1..=12).contains(&month) {
            return Err(err("month out of range"));
        }
        if day == 0 || day > days_in_month(year, month) {
            return Err(err("invalid date"));
        }
        // A leap second (60) is accepted and folds into the next minute's start.
        if hour > 23 || minute > 59 || second > 60 {
            return Err(err("invalid time of day"));
        }
        let seconds = days_from_civil(year, month, day) * 86_400
            + i64::from(hour * 3600 + minute * 60 + second);
        LtfsTime::from_unix(seconds, nanos).ok_or_else(|| err("out of range"))
    }

    /// The exact form writers produce (nine fractional digits, every field in range), decoded
    /// without building error values; `None` sends anything else through the checking path of
    /// [`LtfsTime::parse`], which gives the same result for this form. Indexes hold five of these
    /// per file, so this is on the hot path of mounting a large volume.
    fn parse_canonical(b: &[u8]) -> Option<Self> {
        let b: &[u8; 30] = b.try_into().ok()?;
        let seps = [
            (4, b'-'),
            (7, b'-'),
            (10, b'T'),
            (13, b':'),
            (16, b':'),
            (19, b'.'),
        ];
        if b[29] != b'Z' || seps.iter().any(|&(i, c)| b[i] != c) {
            return None;
        }
        let num = |from: usize, to: usize| -> Option<u32> {
            b[from..to].iter().try_fold(0u32, |acc, &d| {
                d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
            })
        };
        let year = i64::from(num(0, 4)?);
        let (month, day) = (num(5, 7)?, num(8, 10)?);
        let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
        let nanos = num(20, 29)?;
        if !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return None;
        }
        let seconds = days_from_civil(year, month, day) * 86_400
            + i64::from(hour * 3600 + minute * 60 + second);
        LtfsTime::from_unix(seconds, nanos)
    }

    /// The 30 bytes of the LTFS form `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
    pub fn to_bytes(self) -> [u8; 30] {
        let days = self.seconds.div_euclid(86_400);
        let secs = self.seconds.rem_euclid(86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        let mut out = *b"0000-00-00T00:00:00.000000000Z";
        let mut put = |at: usize, width: usize, mut v: u64| {
            for i in (at..at + width).rev() {
                out[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, 4, year.clamp(0, 9999) as u64);
        put(5, 2, u64::from(month));
        put(8, 2, u64::from(day));
        put(11, 2, u64::from(secs / 3600));
        put(14, 2, u64::from(secs / 60 % 60));
        put(17, 2, u64::from(secs % 60));
        put(20, 9, u64::from(self.nanos));
        out
    }
}

impl fmt::Display for LtfsTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.to_bytes();
        // Only ASCII digits and separators are written.
        f.write_str(std::str::from_utf8(&bytes).map_err(|_| fmt::Error)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_formats_nine_digits() {
        let t = LtfsTime::parse("2026-11-22T03:09:55.355765276Z").unwrap();
        assert_eq!(t.nanos(), 355_765_276);
        assert_eq!(t.to_string(), "2026-11-22T03:09:55.355765276Z");
    }

    #[test]
    fn short_fractions_are_scaled() {
        let t = LtfsTime::parse("1970-01-01T00:00:01.5Z").unwrap();
        assert_eq!((t.unix_seconds(), t.nanos()), (1, 500_000_000));
        assert_eq!(t.to_string(), "1970-01-01T00:00:01.500000000Z");
        let t = LtfsTime::parse("1970-01-01T00:00:01Z").unwrap();
        assert_eq!(t.nanos(), 0);
    }

    #[test]
    fn extremes() {
        assert_eq!(
            LtfsTime::parse("0000-01-01T00:00:00.000000000Z")
                .unwrap()
                .unix_seconds(),
            MIN_SECONDS
        );
        assert_eq!(
            LtfsTime::parse("9999-12-31T23:59:59.999999999Z")
                .unwrap()
                .to_string(),
            "9999-12-31T23:59:59.999999999Z"
        );
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "2026-11-22 03:09:55.1Z",
            "2026-13-22T03:09:55.1Z",
            "2026-02-30T03:09:55.1Z",
            "2026-11-22T03:09:55.1",
            "2026-11-22T03:09:55.1234567890Z",
            "2026-11-22T03:09:55.Z",
            "2026-11-22T25:09:55Z",
            "2026-11-22T03:09:55.1+01:00",
            "２026-11-22T03:09:55Z",
            "2023-02-29T00:00:00Z",
            "2026-11-22T23:60:00Z",
        ] {
            assert!(LtfsTime::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn nine_digit_form_is_checked_like_any_other() {
        for bad in [
            "2026-02-30T03:09:55.000000000Z",
            "2026-00-10T03:09:55.000000000Z",
            "2026-11-22T24:09:55.000000000Z",
            "2026-11-22T03:60:55.000000000Z",
            "2026-11-22T03:09:61.000000000Z",
            "2026-11-22T03:09:55.00000000xZ",
            "2026-11-22T03:09:55,000000000Z",
            "2026-11-22T03:09:55.000000000z",
        ] {
            assert!(LtfsTime::parse(bad).is_err(), "{bad}");
        }
        let leap = LtfsTime::parse("2016-12-31T23:59:60.000000000Z").unwrap();
        assert_eq!(leap.to_string(), "2017-01-01T00:00:00.000000000Z");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn round_trip(secs in MIN_SECONDS..=MAX_SECONDS, nanos in 0u32..1_000_000_000) {
            let t = LtfsTime::from_unix(secs, nanos).unwrap();
            prop_assert_eq!(LtfsTime::parse(&t.to_string()).unwrap(), t);
        }

        #[test]
        fn agrees_with_the_time_crate(secs in MIN_SECONDS..=MAX_SECONDS, nanos in 0u32..1_000_000_000) {
            let ours = LtfsTime::from_unix(secs, nanos).unwrap().to_string();
            let dt = time::OffsetDateTime::from_unix_timestamp(secs).unwrap();
            let theirs = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
                dt.year(), u8::from(dt.month()), dt.day(), dt.hour(), dt.minute(), dt.second(), nanos
            );
            prop_assert_eq!(ours, theirs);
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,40}") {
            let _ = LtfsTime::parse(&s);
        }
    }
}
