//! MXF cuts of ffmpeg-made fixtures, checked with ffprobe and framemd5.

mod common;

use std::path::Path;

use tapelib_media::{cut_auto, cut_mxf, FileSource, TimecodeRange};

fn cut(src: &Path, out: &Path, begin: &str, end: &str) -> tapelib_media::CutReport {
    let mut s = FileSource::open(src).unwrap();
    let mut f = std::fs::File::create(out).unwrap();
    let r = cut_mxf(&mut s, &TimecodeRange::parse(begin, end).unwrap(), &mut f).unwrap();
    assert_eq!(r.bytes_written, std::fs::metadata(out).unwrap().len());
    r
}

fn check_frames(src: &Path, out: &Path, first: u64, last: u64) {
    assert_eq!(common::decode_errors(out), "", "decode errors in {out:?}");
    assert_eq!(common::frame_count(out), last - first + 1);
    let want = common::frame_md5s(src, Some((first, last)));
    let got = common::frame_md5s(out, None);
    assert_eq!(got.len() as u64, last - first + 1);
    assert_eq!(
        got, want,
        "decoded frames differ from source frames {first}-{last}"
    );
}

#[test]
fn long_gop_mpeg2_with_audio_cuts_on_closed_gops() {
    if !common::tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("lg.mxf");
    common::ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=320x240:rate=25:duration=6",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000:duration=6",
        "-c:v",
        "mpeg2video",
        "-b:v",
        "2M",
        "-g",
        "12",
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
        src.to_str().unwrap(),
    ]);
    let out = dir.path().join("cut.mxf");
    // Frames 31..=53 widen to the enclosing closed GOPs (at most 12 frames each side).
    let r = cut(&src, &out, "10:00:01:06", "10:00:02:03");
    assert!(r.first_frame <= 31 && r.first_frame + 12 > 31, "{r:?}");
    assert!(r.last_frame >= 53 && r.last_frame < 53 + 12, "{r:?}");
    assert!(
        r.first_frame < 31,
        "a cut inside a GOP starts at its I-frame: {r:?}"
    );
    let tc = format!("10:00:{:02}:{:02}", r.first_frame / 25, r.first_frame % 25);
    assert_eq!(r.first_timecode, tc);
    assert_eq!(common::format_timecode(&out), tc);
    check_frames(&src, &out, r.first_frame, r.last_frame);
    // The audio survives with the same duration as the video.
    let mut s = FileSource::open(&out).unwrap();
    let again = dir.path().join("again.mxf");
    let mut f = std::fs::File::create(&again).unwrap();
    // A cut of the cut starts counting at its own start timecode.
    let r2 = cut_auto(&mut s, &TimecodeRange::parse(&tc, &tc).unwrap(), &mut f).unwrap();
    assert_eq!(r2.first_frame, 0);
    assert_eq!(common::format_timecode(&again), tc);
    check_frames(&out, &again, 0, r2.last_frame);
}

#[test]
fn intra_dnxhd_cuts_are_frame_exact() {
    if !common::tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("intra.mxf");
    common::ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=1920x1080:rate=25:duration=1",
        "-c:v",
        "dnxhd",
        "-b:v",
        "36M",
        "-pix_fmt",
        "yuv422p",
        "-timecode",
        "01:00:00:00",
        src.to_str().unwrap(),
    ]);
    let out = dir.path().join("cut.mxf");
    let r = cut(&src, &out, "01:00:00:07", "01:00:00:11");
    assert_eq!((r.first_frame, r.last_frame), (7, 11));
    assert_eq!(common::format_timecode(&out), "01:00:00:07");
    check_frames(&src, &out, 7, 11);
    assert!(r.bytes_read < r.source_size / 3, "{r:?}");
}

#[test]
fn drop_frame_clip_across_the_minute() {
    if !common::tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("df.mxf");
    common::ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=320x240:rate=30000/1001:duration=3",
        "-c:v",
        "mpeg2video",
        "-g",
        "10",
        "-bf",
        "2",
        "-flags",
        "+cgop",
        "-sc_threshold",
        "1000000000",
        "-timecode",
        "01:00:59;28",
        src.to_str().unwrap(),
    ]);
    let out = dir.path().join("cut.mxf");
    // 01:01:00;10 is frame 10 of the clip: the GOP 10..=19.
    let r = cut(&src, &out, "01:01:00;10", "01:01:00;19");
    assert_eq!((r.first_frame, r.last_frame), (10, 19));
    assert_eq!(r.first_timecode, "01:01:00;10");
    assert_eq!(common::format_timecode(&out), "01:01:00;10");
    check_frames(&src, &out, 10, 19);
    // Labels drop-frame skips do not exist.
    let mut s = FileSource::open(&src).unwrap();
    let e = cut_mxf(
        &mut s,
        &TimecodeRange::parse("01:01:00;00", "01:01:00;05").unwrap(),
        &mut Vec::new(),
    )
    .unwrap_err();
    assert!(e.is_invalid_input(), "{e}");
}

#[test]
fn one_second_of_a_minute_reads_a_small_fraction() {
    if !common::tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("long.mxf");
    common::ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=160x128:rate=25:duration=60",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000:duration=60",
        "-c:v",
        "mpeg2video",
        "-b:v",
        "2M",
        "-g",
        "25",
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
        src.to_str().unwrap(),
    ]);
    let out = dir.path().join("cut.mxf");
    let r = cut(&src, &out, "10:00:30:00", "10:00:30:24");
    assert_eq!((r.first_frame, r.last_frame), (750, 774));
    assert!(
        r.bytes_read * 10 < r.source_size,
        "read {} of {} bytes",
        r.bytes_read,
        r.source_size
    );
    check_frames(&src, &out, 750, 774);
    // ffmpeg starts a body partition every 260 edit units: a cut across one joins essence
    // and index entries of two partitions.
    let r = cut(&src, &out, "10:00:10:00", "10:00:10:24");
    assert_eq!((r.first_frame, r.last_frame), (250, 274));
    check_frames(&src, &out, 250, 274);
}

#[test]
fn ranges_outside_the_clip_are_invalid() {
    if !common::tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("lg.mxf");
    common::ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=160x128:rate=25:duration=2",
        "-c:v",
        "mpeg2video",
        "-g",
        "12",
        "-timecode",
        "10:00:00:00",
        src.to_str().unwrap(),
    ]);
    let mut s = FileSource::open(&src).unwrap();
    for (a, b) in [
        ("10:00:05:00", "10:00:06:00"),
        ("10:00:01:00", "10:00:00:10"),
        ("09:59:59:00", "10:00:00:05"),
    ] {
        let e = cut_mxf(
            &mut s,
            &TimecodeRange::parse(a, b).unwrap(),
            &mut Vec::new(),
        )
        .unwrap_err();
        assert!(
            matches!(e, tapelib_media::MediaError::InvalidRequest(_)),
            "{a}-{b}: {e}"
        );
    }
}

/// An H.264 fixture of `seconds` at 25 fps, 320x240 4:2:0, start timecode 10:00:00:00,
/// with PCM audio; `x264` adds encoder options.
fn h264_fixture(path: &Path, seconds: u32, x264: &[&str]) {
    let video = format!("testsrc=size=320x240:rate=25:duration={seconds}");
    let audio = format!("sine=frequency=440:sample_rate=48000:duration={seconds}");
    let mut args = vec![
        "-f", "lavfi", "-i", &video, "-f", "lavfi", "-i", &audio, "-c:v", "libx264", "-pix_fmt",
        "yuv420p", "-preset", "veryfast",
    ];
    args.extend_from_slice(x264);
    args.extend_from_slice(&[
        "-c:a",
        "pcm_s16le",
        "-timecode",
        "10:00:00:00",
        path.to_str().unwrap(),
    ]);
    common::ffmpeg(&args);
}

/// Checks an H.264 cut like `check_frames`. ffmpeg's own H.264 MXF files carry temporal
/// offsets of 0, so its demuxer stamps them in stored order and the ffmpeg command line
/// reports the timestamps of the frames flushed at the end; the source is decoded with
/// timestamps ignored. The cut's index carries the offsets, so it decodes cleanly both ways.
fn check_h264_frames(src: &Path, out: &Path, first: u64, last: u64) {
    assert_eq!(common::probe_errors(out), "", "decode errors in {out:?}");
    assert_eq!(common::decode_errors(out), "", "decode errors in {out:?}");
    assert_eq!(common::frame_count(out), last - first + 1);
    let all = common::decoded_md5s(src);
    assert!(last < all.len() as u64, "{last} past {} frames", all.len());
    let want = &all[first as usize..=last as usize];
    assert_eq!(
        common::decoded_md5s(out),
        want,
        "decoded frames differ from source frames {first}-{last}"
    );
    assert_eq!(common::frame_md5s(out, None), want, "presentation order");
}

fn tc_of(frame: u64) -> String {
    format!("10:00:{:02}:{:02}", frame / 25, frame % 25)
}

#[test]
fn long_gop_h264_with_audio_cuts_on_idr_frames() {
    if !common::tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("h264.mxf");
    h264_fixture(&src, 6, &["-g", "12", "-bf", "2", "-sc_threshold", "0"]);
    assert_eq!(common::probe_errors(&src), "");
    let out = dir.path().join("cut.mxf");
    // IDR frames every 12: frames 31..=53 widen to 24..=59.
    let r = cut(&src, &out, "10:00:01:06", "10:00:02:03");
    assert_eq!((r.first_frame, r.last_frame), (24, 59), "{r:?}");
    assert_eq!(r.first_timecode, tc_of(24));
    assert_eq!(r.last_timecode, tc_of(59));
    assert_eq!(common::format_timecode(&out), tc_of(24));
    check_h264_frames(&src, &out, 24, 59);
    assert!(r.bytes_read * 2 < r.source_size, "{r:?}");
    // Audio: as many seconds as the video.
    let audio = common::audio_s16(&out);
    assert_eq!(audio.len(), 36 * 1920 * 2, "48 kHz mono s16 for 36 frames");

    // A cut of the cut starts counting at its own start timecode.
    let mut s = FileSource::open(&out).unwrap();
    let again = dir.path().join("again.mxf");
    let mut f = std::fs::File::create(&again).unwrap();
    let r2 = cut_auto(
        &mut s,
        &TimecodeRange::parse(&tc_of(37), &tc_of(37)).unwrap(),
        &mut f,
    )
    .unwrap();
    assert_eq!((r2.first_frame, r2.last_frame), (12, 23), "{r2:?}");
    assert_eq!(common::format_timecode(&again), tc_of(36));
    check_h264_frames(&out, &again, 12, 23);
}

#[test]
fn intra_h264_cuts_are_frame_exact() {
    if !common::tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("intra.mxf");
    h264_fixture(&src, 2, &["-x264-params", "keyint=1"]);
    let out = dir.path().join("cut.mxf");
    let r = cut(&src, &out, "10:00:00:07", "10:00:00:11");
    assert_eq!((r.first_frame, r.last_frame), (7, 11));
    assert_eq!(common::format_timecode(&out), "10:00:00:07");
    check_h264_frames(&src, &out, 7, 11);
    assert!(r.bytes_read < r.source_size / 3, "{r:?}");
}

#[test]
fn open_gop_h264_cuts_start_at_an_idr_frame() {
    if !common::tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("open.mxf");
    // IDR frames at 0 and 36 only; between them open-GOP I-frames (random access flagged,
    // at 10 and 22 in stored order) whose leading B-frames refer to the GOP before them.
    h264_fixture(
        &src,
        3,
        &[
            "-g",
            "12",
            "-bf",
            "2",
            "-sc_threshold",
            "0",
            "-x264-params",
            "open_gop=1",
            "-force_key_frames",
            "expr:eq(n,36)",
            "-forced-idr",
            "1",
        ],
    );
    assert_eq!(common::probe_errors(&src), "");
    let out = dir.path().join("cut.mxf");
    // Inside the second open GOP: back to the IDR at 0, forward to the one at 36.
    let r = cut(&src, &out, "10:00:00:15", "10:00:00:16");
    assert_eq!((r.first_frame, r.last_frame), (0, 35), "{r:?}");
    check_h264_frames(&src, &out, 0, 35);
    // After the second IDR the GOPs are open to the end.
    let r = cut(&src, &out, "10:00:01:15", "10:00:01:16");
    assert_eq!((r.first_frame, r.last_frame), (36, 74), "{r:?}");
    assert_eq!(common::format_timecode(&out), tc_of(36));
    check_h264_frames(&src, &out, 36, 74);
}
