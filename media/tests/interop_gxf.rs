//! GXF cuts of ffmpeg-made fixtures (720x576 or 720x480 MPEG-2 long GOP or DV, mono
//! 16-bit audio, start timecode set), checked with ffprobe, framemd5 and the decoded audio.

mod common;

use std::path::{Path, PathBuf};

use tapelib_media::gxf::{flt::Flt, map::Map, packet, umf::Umf};
use tapelib_media::{cut_auto, cut_gxf, CutReport, FileSource, MediaError, TimecodeRange};

/// Makes `name` in `dir` from a lavfi test picture of `size` at `rate` for `secs`, with
/// a mono 48 kHz sine, encoded with `video` options.
fn fixture(
    dir: &Path,
    name: &str,
    size: &str,
    rate: &str,
    secs: u32,
    video: &[&str],
    tc: &str,
) -> PathBuf {
    let path = dir.join(name);
    let pic = format!("testsrc2=size={size}:rate={rate}:duration={secs}");
    let sine = format!("sine=frequency=440:sample_rate=48000:duration={secs}");
    let mut args = vec!["-f", "lavfi", "-i", &pic, "-f", "lavfi", "-i", &sine];
    args.extend_from_slice(video);
    args.extend_from_slice(&["-c:a", "pcm_s16le", "-ac", "1", "-timecode", tc]);
    let p = path.to_str().unwrap().to_string();
    args.push(&p);
    common::ffmpeg(&args);
    path
}

const LONG_GOP: &[&str] = &[
    "-c:v",
    "mpeg2video",
    "-b:v",
    "4M",
    "-g",
    "12",
    "-bf",
    "2",
    "-flags",
    "+cgop",
    "-sc_threshold",
    "1000000000",
];

fn cut(src: &Path, out: &Path, begin: &str, end: &str) -> CutReport {
    let mut s = FileSource::open(src).unwrap();
    let mut f = std::fs::File::create(out).unwrap();
    let r = cut_gxf(&mut s, &TimecodeRange::parse(begin, end).unwrap(), &mut f).unwrap();
    assert_eq!(r.bytes_written, std::fs::metadata(out).unwrap().len());
    r
}

/// Clean decode, frame count, pictures identical to the source's, audio identical to the
/// source's samples of those frames.
fn check(src: &Path, out: &Path, r: &CutReport, samples_per_frame: usize) {
    let (first, last) = (r.first_frame, r.last_frame);
    assert_eq!(common::probe_errors(out), "", "decode errors in {out:?}");
    assert_eq!(common::frame_count(out), last - first + 1, "{r:?}");
    let want = common::frame_md5s(src, Some((first, last)));
    assert_eq!(want.len() as u64, last - first + 1);
    assert_eq!(
        common::frame_md5s(out, None),
        want,
        "decoded frames differ from source frames {first}-{last}"
    );
    let audio = common::audio_s16(out);
    let source = common::audio_s16(src);
    let (a, b) = (
        first as usize * samples_per_frame * 2,
        (last as usize + 1) * samples_per_frame * 2,
    );
    assert_eq!(audio.len(), b - a, "audio of {} frames", last - first + 1);
    assert!(audio == source[a..b], "audio differs from the source's");
}

fn probe_tag(path: &Path, tag: &str) -> String {
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            &format!("format_tags={tag}"),
        ])
        .args(["-of", "default=nw=1:nk=1"])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn long_gop_mpeg2_with_audio_cuts_on_gops() {
    if !common::tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = fixture(
        dir.path(),
        "lg.gxf",
        "720x576",
        "25",
        6,
        LONG_GOP,
        "10:00:00:00",
    );

    // The header packets decode and encode back to ffmpeg's bytes.
    let data = std::fs::read(&src).unwrap();
    let mut at = 0usize;
    for kind in [packet::MAP, packet::FLT, packet::UMF] {
        let h = packet::decode_header(&data[at..]).unwrap();
        assert_eq!(h.kind, kind);
        let p = &data[at..at + h.len as usize];
        let again = match kind {
            packet::MAP => Map::decode(&p[16..]).unwrap().encode().unwrap(),
            packet::FLT => Flt::decode(&p[16..]).unwrap().encode().unwrap(),
            _ => Umf::decode(&p[16..]).unwrap().encode().unwrap(),
        };
        assert!(again == p, "packet {kind:#x} re-encodes differently");
        at += h.len as usize;
    }

    let out = dir.path().join("cut.gxf");
    // Frames 31..=53 widen to the I-frames around them (GOPs of at most 12 frames).
    let r = cut(&src, &out, "10:00:01:06", "10:00:02:03");
    assert!(r.first_frame < 31 && r.first_frame + 12 > 31, "{r:?}");
    assert!(r.last_frame >= 53 && r.last_frame < 53 + 12, "{r:?}");
    assert!(r.bytes_read < r.source_size / 2, "{r:?}");
    let tc = format!("10:00:{:02}:{:02}", r.first_frame / 25, r.first_frame % 25);
    assert_eq!(r.first_timecode, tc);
    assert_eq!(common::format_timecode(&out), tc);
    assert_eq!(probe_tag(&out, "timecode_at_mark_in"), tc);
    let end = r.last_frame + 1;
    assert_eq!(
        probe_tag(&out, "timecode_at_mark_out"),
        format!("10:00:{:02}:{:02}", end / 25, end % 25)
    );
    check(&src, &out, &r, 1920);

    // The new field locator table points at the video packets of its fields.
    let data = std::fs::read(&out).unwrap();
    let map_len = packet::decode_header(&data).unwrap().len as usize;
    let flt_h = packet::decode_header(&data[map_len..]).unwrap();
    let flt = Flt::decode(&data[map_len + 16..map_len + flt_h.len as usize]).unwrap();
    let fields = 2 * (r.last_frame - r.first_frame + 1);
    assert_eq!(
        flt.entries.len() as u64,
        fields / u64::from(flt.fields_per_entry)
    );
    for (i, e) in flt.entries.iter().enumerate() {
        let at = *e as usize * 1024;
        let window = &data[at..at + 1024 + 32];
        let field = i as u32 * flt.fields_per_entry;
        let want = field - field % 2;
        let found = (0..1024).any(|k| {
            packet::decode_header(&window[k..]).is_ok_and(|h| h.kind == packet::MEDIA)
                && packet::Preamble::decode(&window[k + 16..])
                    .is_ok_and(|p| p.track == 0 && p.field == want)
        });
        assert!(found, "entry {i} does not lead to field {want}");
    }

    // A cut of the cut counts from its own start timecode.
    let again = dir.path().join("again.gxf");
    let mut s = FileSource::open(&out).unwrap();
    let mut f = std::fs::File::create(&again).unwrap();
    let r2 = cut_auto(&mut s, &TimecodeRange::parse(&tc, &tc).unwrap(), &mut f).unwrap();
    assert_eq!(r2.first_frame, 0);
    assert_eq!(common::format_timecode(&again), tc);
    check(&out, &again, &r2, 1920);
}

#[test]
fn open_gops_lose_their_leading_b_frames() {
    if !common::tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let open = ["-c:v", "mpeg2video", "-b:v", "4M", "-g", "12", "-bf", "2"];
    let src = fixture(
        dir.path(),
        "open.gxf",
        "720x576",
        "25",
        4,
        &open,
        "10:00:00:00",
    );
    let out = dir.path().join("cut.gxf");
    let r = cut(&src, &out, "10:00:01:06", "10:00:02:03");
    assert!(r.first_frame <= 31 && r.last_frame >= 53, "{r:?}");
    check(&src, &out, &r, 1920);
}

#[test]
fn drop_frame_ntsc_across_the_minute() {
    if !common::tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = fixture(
        dir.path(),
        "df.gxf",
        "720x480",
        "30000/1001",
        3,
        LONG_GOP,
        "01:00:59;28",
    );
    let out = dir.path().join("cut.gxf");
    // 01:01:00;10 is frame 10 of the clip.
    let r = cut(&src, &out, "01:01:00;10", "01:01:00;19");
    assert!(r.first_frame <= 10 && r.last_frame >= 19, "{r:?}");
    assert_eq!(r.first_timecode, "01:01:00;10");
    assert_eq!(common::format_timecode(&out), "01:01:00;10");
    // 8008 samples every 5 frames: compare whole frames of audio only at multiples of 5.
    assert_eq!(common::probe_errors(&out), "");
    assert_eq!(common::frame_count(&out), r.last_frame - r.first_frame + 1);
    assert_eq!(
        common::frame_md5s(&out, None),
        common::frame_md5s(&src, Some((r.first_frame, r.last_frame)))
    );
    let audio = common::audio_s16(&out);
    let frames = (r.last_frame - r.first_frame + 1) as usize;
    assert!(
        audio.len().abs_diff(frames * 8008 / 5 * 2) <= 2,
        "{}",
        audio.len()
    );
    // Labels drop-frame skips do not exist.
    let mut s = FileSource::open(&src).unwrap();
    let e = cut_gxf(
        &mut s,
        &TimecodeRange::parse("01:01:00;00", "01:01:00;05").unwrap(),
        &mut Vec::new(),
    )
    .unwrap_err();
    assert!(matches!(e, MediaError::InvalidRequest(_)), "{e}");
}

#[test]
fn dv_cuts_are_frame_exact() {
    if !common::tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let dv = ["-c:v", "dvvideo", "-pix_fmt", "yuv420p"];
    let src = fixture(dir.path(), "dv.gxf", "720x576", "25", 1, &dv, "01:00:00:00");
    let out = dir.path().join("cut.gxf");
    let r = cut(&src, &out, "01:00:00:07", "01:00:00:11");
    assert_eq!((r.first_frame, r.last_frame), (7, 11));
    assert_eq!(common::format_timecode(&out), "01:00:00:07");
    check(&src, &out, &r, 1920);
}

#[test]
fn one_second_of_twenty_reads_a_small_fraction() {
    if !common::tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = fixture(
        dir.path(),
        "long.gxf",
        "720x576",
        "25",
        20,
        LONG_GOP,
        "10:00:00:00",
    );
    let out = dir.path().join("cut.gxf");
    let r = cut(&src, &out, "10:00:12:00", "10:00:12:24");
    assert!(r.first_frame <= 300 && r.last_frame >= 324, "{r:?}");
    assert!(
        r.bytes_read * 10 < r.source_size,
        "read {} of {} bytes",
        r.bytes_read,
        r.source_size
    );
    check(&src, &out, &r, 1920);
    // The last second ends at the clip's end.
    let r = cut(&src, &out, "10:00:19:00", "10:00:19:24");
    assert_eq!(r.last_frame, 499);
    check(&src, &out, &r, 1920);
}

#[test]
fn ranges_outside_the_clip_and_hostile_streams_are_errors() {
    if !common::tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = fixture(
        dir.path(),
        "lg.gxf",
        "720x576",
        "25",
        6,
        LONG_GOP,
        "10:00:00:00",
    );
    let mut s = FileSource::open(&src).unwrap();
    for (a, b) in [
        ("10:00:05:00", "10:00:06:00"),
        ("10:00:06:00", "10:00:06:01"),
        ("10:00:01:00", "10:00:00:10"),
        ("09:59:59:00", "10:00:00:05"),
    ] {
        let e = cut_gxf(
            &mut s,
            &TimecodeRange::parse(a, b).unwrap(),
            &mut Vec::new(),
        )
        .unwrap_err();
        assert!(matches!(e, MediaError::InvalidRequest(_)), "{a}-{b}: {e}");
    }
    let data = std::fs::read(&src).unwrap();
    // Far enough in that the field locator table is used.
    let range = TimecodeRange::parse("10:00:05:00", "10:00:05:05").unwrap();
    cut_gxf(&mut data.clone(), &range, &mut Vec::new()).unwrap();
    let media = |what: &str, mut d: Vec<u8>| {
        let e = cut_gxf(&mut d, &range, &mut Vec::new()).expect_err(what);
        assert!(matches!(e, MediaError::InvalidMedia(_)), "{what}: {e}");
    };
    // Truncated in the header, and in the middle of the media.
    media("truncated header", data[..300].to_vec());
    media("truncated media", data[..data.len() / 2].to_vec());
    let map_len = packet::decode_header(&data).unwrap().len as usize;
    let flt_at = map_len;
    // A lying MAP length.
    let mut d = data.clone();
    d[6..10].copy_from_slice(&0x00ff_ffffu32.to_be_bytes());
    media("lying MAP length", d);
    // Field locator entries past the end of the file.
    let mut d = data.clone();
    let count = u32::from_le_bytes(d[flt_at + 20..flt_at + 24].try_into().unwrap());
    assert_eq!(count, 300);
    for i in 0..count as usize {
        let at = flt_at + 16 + 8 + 4 * i;
        d[at..at + 4].copy_from_slice(&0x00ff_0000u32.to_le_bytes());
    }
    media("locator past the end", d);
    // Garbage where the media packets are.
    let mut d = data.clone();
    let mid = d.len() * 4 / 5 - 100_000;
    for (i, b) in d[mid..mid + 200_000].iter_mut().enumerate() {
        *b = (i * 7 % 251) as u8;
    }
    media("garbage packets", d);
    // Not a GXF at all.
    media("zeros", vec![0u8; 1000]);
}

#[test]
fn every_audio_track_is_rechunked() {
    if !common::tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("two.gxf");
    let mut args = vec![
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=720x576:rate=25:duration=4",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000:duration=4",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=1000:sample_rate=48000:duration=4",
        "-map",
        "0",
        "-map",
        "1",
        "-map",
        "2",
    ];
    args.extend_from_slice(LONG_GOP);
    args.extend_from_slice(&["-c:a", "pcm_s16le", "-ac", "1", "-timecode", "10:00:00:00"]);
    let p = src.to_str().unwrap().to_string();
    args.push(&p);
    common::ffmpeg(&args);
    let out = dir.path().join("cut.gxf");
    let r = cut(&src, &out, "10:00:02:00", "10:00:02:10");
    check(&src, &out, &r, 1920);
    let track = |path: &Path, i: u32| {
        std::process::Command::new("ffmpeg")
            .args(["-nostdin", "-v", "quiet", "-i"])
            .arg(path)
            .args(["-map", &format!("0:a:{i}"), "-f", "s16le", "-"])
            .output()
            .unwrap()
            .stdout
    };
    let (a, b) = (
        r.first_frame as usize * 3840,
        (r.last_frame as usize + 1) * 3840,
    );
    let second = track(&out, 1);
    assert_eq!(second.len(), b - a);
    assert!(second == track(&src, 1)[a..b], "second audio track differs");
}
