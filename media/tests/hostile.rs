//! Mutated and truncated fixtures never make a parser panic: every outcome is a cut or an
//! error. Fixtures are made once by ffmpeg, small; PROPTEST_CASES overrides the 2,000 cases.

mod common;

use std::sync::OnceLock;

use proptest::prelude::*;
use tapelib_media::{cut_gxf, cut_mxf, cut_ts, dpx, MediaError, TimecodeRange};

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

fn fixture(name: &str, args: &[&str]) -> Option<Vec<u8>> {
    if !common::tools() {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    let mut a: Vec<&str> = args.to_vec();
    let p = path.to_str().unwrap().to_string();
    a.push(&p);
    common::ffmpeg(&a);
    Some(std::fs::read(&path).unwrap())
}

fn mxf() -> &'static Option<Vec<u8>> {
    static F: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    F.get_or_init(|| {
        fixture(
            "f.mxf",
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=160x128:rate=25:duration=1",
                "-f",
                "lavfi",
                "-i",
                "sine=sample_rate=48000:duration=1",
                "-c:v",
                "mpeg2video",
                "-g",
                "6",
                "-bf",
                "2",
                "-flags",
                "+cgop",
                "-sc_threshold",
                "1000000000",
                "-c:a",
                "pcm_s16le",
                "-timecode",
                "10:00:00:00",
            ],
        )
    })
}

/// H.264 long GOP with B-frames and open-GOP I-frames (random access flagged, leading
/// pictures referring back), so mutations reach the closed-entry-point scan and the
/// picture order count parser.
fn h264_mxf() -> &'static Option<Vec<u8>> {
    static F: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    F.get_or_init(|| {
        fixture(
            "h264.mxf",
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=160x128:rate=25:duration=1",
                "-f",
                "lavfi",
                "-i",
                "sine=sample_rate=48000:duration=1",
                "-c:v",
                "libx264",
                "-pix_fmt",
                "yuv420p",
                "-preset",
                "veryfast",
                "-g",
                "6",
                "-bf",
                "2",
                "-sc_threshold",
                "0",
                "-x264-params",
                "open_gop=1",
                "-c:a",
                "pcm_s16le",
                "-timecode",
                "10:00:00:00",
            ],
        )
    })
}

fn ts() -> &'static Option<Vec<u8>> {
    static F: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    F.get_or_init(|| {
        fixture(
            "f.ts",
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=160x128:rate=25:duration=1",
                "-f",
                "lavfi",
                "-i",
                "sine=sample_rate=48000:duration=1",
                "-c:v",
                "mpeg2video",
                "-g",
                "6",
                "-bf",
                "2",
                "-flags",
                "+cgop",
                "-sc_threshold",
                "1000000000",
                "-c:a",
                "mp2",
                "-timecode",
                "10:00:00:00",
            ],
        )
    })
}

fn gxf() -> &'static Option<Vec<u8>> {
    static F: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    F.get_or_init(|| {
        fixture(
            "f.gxf",
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=720x576:rate=25:duration=1",
                "-f",
                "lavfi",
                "-i",
                "sine=sample_rate=48000:duration=1",
                "-c:v",
                "mpeg2video",
                "-b:v",
                "1M",
                "-g",
                "6",
                "-bf",
                "2",
                "-flags",
                "+cgop",
                "-sc_threshold",
                "1000000000",
                "-c:a",
                "pcm_s16le",
                "-timecode",
                "10:00:00:00",
            ],
        )
    })
}

fn dpx_fixture() -> &'static Option<Vec<u8>> {
    static F: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    F.get_or_init(|| {
        fixture(
            "f.dpx",
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=32x16:rate=25",
                "-frames:v",
                "1",
                "-c:v",
                "dpx",
            ],
        )
    })
}

/// Byte changes biased to the structures at both ends of the file, plus a truncation.
fn mutations() -> impl Strategy<Value = (Vec<(u8, u32, u8)>, Option<u32>)> {
    (
        prop::collection::vec((0u8..3, any::<u32>(), any::<u8>()), 1..8),
        prop::option::of(any::<u32>()),
    )
}

fn mutate(base: &[u8], (changes, cut): &(Vec<(u8, u32, u8)>, Option<u32>)) -> Vec<u8> {
    let mut v = base.to_vec();
    let n = v.len();
    for &(zone, at, byte) in changes {
        let i = match zone {
            0 => at as usize % n.min(8192),
            1 => n - 1 - at as usize % n.min(8192),
            _ => at as usize % n,
        };
        v[i] = byte;
    }
    if let Some(c) = cut {
        v.truncate(*c as usize % (n + 1));
    }
    v
}

fn range() -> TimecodeRange {
    TimecodeRange::parse("10:00:00:08", "10:00:00:14").unwrap()
}

fn no_panic(r: Result<tapelib_media::CutReport, MediaError>) {
    if let Err(e) = r {
        // The message renders.
        let _ = e.to_string();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn mutated_mxf_never_panics(m in mutations()) {
        let Some(base) = mxf() else { return Ok(()) };
        let mut data = mutate(base, &m);
        no_panic(cut_mxf(&mut data, &range(), &mut Vec::new()));
    }

    #[test]
    fn mutated_h264_mxf_never_panics(m in mutations()) {
        let Some(base) = h264_mxf() else { return Ok(()) };
        let mut data = mutate(base, &m);
        no_panic(cut_mxf(&mut data, &range(), &mut Vec::new()));
    }

    #[test]
    fn mutated_ts_never_panics(m in mutations()) {
        let Some(base) = ts() else { return Ok(()) };
        let mut data = mutate(base, &m);
        no_panic(cut_ts(&mut data, &range(), &mut Vec::new()));
    }

    #[test]
    fn mutated_gxf_never_panics(m in mutations()) {
        let Some(base) = gxf() else { return Ok(()) };
        let mut data = mutate(base, &m);
        no_panic(cut_gxf(&mut data, &range(), &mut Vec::new()));
    }

    #[test]
    fn mutated_dpx_never_panics(m in mutations()) {
        let Some(base) = dpx_fixture() else { return Ok(()) };
        let data = mutate(base, &m);
        let _ = dpx::parse_header(&data, data.len() as u64);
    }
}

#[test]
fn the_unmutated_fixtures_cut() {
    let Some(base) = mxf() else { return };
    let r = cut_mxf(&mut base.clone(), &range(), &mut Vec::new()).unwrap();
    assert!(r.first_frame <= 8 && r.last_frame >= 14);
    let Some(base) = h264_mxf() else { return };
    let r = cut_mxf(&mut base.clone(), &range(), &mut Vec::new()).unwrap();
    // Open GOPs throughout: only the IDR frame at 0 starts a cut.
    assert!(r.first_frame == 0 && r.last_frame >= 14, "{r:?}");
    let Some(base) = ts() else { return };
    let r = cut_ts(&mut base.clone(), &range(), &mut Vec::new()).unwrap();
    assert!(r.first_frame <= 8 && r.last_frame >= 14);
    let Some(base) = gxf() else { return };
    let r = cut_gxf(&mut base.clone(), &range(), &mut Vec::new()).unwrap();
    assert!(r.first_frame <= 8 && r.last_frame >= 14);
    let Some(base) = dpx_fixture() else { return };
    dpx::parse_header(base, base.len() as u64).unwrap();
}
