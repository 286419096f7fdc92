//! MPEG-TS cuts and DPX sequences made by ffmpeg, checked with ffprobe and framemd5.

mod common;

use tapelib_media::dpx::{encode_bcd_timecode, parse_header, select_frames};
use tapelib_media::{cut_auto, cut_ts, FileSource, MediaError, TimecodeRange};

fn make_ts(dir: &std::path::Path, secs: u32, size: &str) -> std::path::PathBuf {
    let src = dir.join("clip.ts");
    common::ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &format!("testsrc=size={size}:rate=25:duration={secs}"),
        "-f",
        "lavfi",
        "-i",
        &format!("sine=frequency=440:sample_rate=48000:duration={secs}"),
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
        "mp2",
        "-timecode",
        "10:00:00:00",
        src.to_str().unwrap(),
    ]);
    src
}

#[test]
fn ts_cut_starts_at_a_random_access_point_with_pat_and_pmt_first() {
    if !common::tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = make_ts(dir.path(), 6, "320x240");
    let out = dir.path().join("cut.ts");
    let mut s = FileSource::open(&src).unwrap();
    let mut f = std::fs::File::create(&out).unwrap();
    let r = cut_auto(
        &mut s,
        &TimecodeRange::parse("10:00:02:00", "10:00:02:20").unwrap(),
        &mut f,
    )
    .unwrap();
    drop(f);
    assert!(r.first_frame <= 50 && r.first_frame + 12 > 50, "{r:?}");
    assert!(r.last_frame >= 70 && r.last_frame < 70 + 12, "{r:?}");
    let data = std::fs::read(&out).unwrap();
    assert_eq!(data.len() as u64, r.bytes_written);
    assert_eq!(data[1] & 0x1f, 0, "PAT first");
    assert_eq!(common::decode_errors(&out), "");
    assert_eq!(common::frame_count(&out), r.last_frame - r.first_frame + 1);
    let tc = format!("10:00:{:02}:{:02}", r.first_frame / 25, r.first_frame % 25);
    assert_eq!(r.first_timecode, tc);
    // ffprobe does not show MPEG-2 GOP timecodes of transport streams: cutting the cut
    // again reads the GOP header's timecode back.
    let mut again = FileSource::open(&out).unwrap();
    let r2 = cut_ts(
        &mut again,
        &TimecodeRange::parse(&tc, &tc).unwrap(),
        &mut Vec::new(),
    )
    .unwrap();
    assert_eq!(
        (r2.first_frame, r2.first_timecode.as_str()),
        (0, tc.as_str())
    );
    assert_eq!(
        common::frame_md5s(&out, None),
        common::frame_md5s(&src, Some((r.first_frame, r.last_frame)))
    );
}

#[test]
fn ts_one_second_of_a_minute_reads_a_small_fraction() {
    if !common::tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = make_ts(dir.path(), 60, "160x128");
    let mut s = FileSource::open(&src).unwrap();
    let out = dir.path().join("cut.ts");
    let mut f = std::fs::File::create(&out).unwrap();
    let r = cut_ts(
        &mut s,
        &TimecodeRange::parse("10:00:40:00", "10:00:40:24").unwrap(),
        &mut f,
    )
    .unwrap();
    assert!(r.bytes_read * 10 < r.source_size, "{r:?}");
    assert_eq!(common::frame_count(&out), r.last_frame - r.first_frame + 1);
}

#[test]
fn ts_without_pat_or_outside_range_is_invalid() {
    if !common::tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = make_ts(dir.path(), 2, "160x128");
    let mut data = std::fs::read(&src).unwrap();
    let e = cut_ts(
        &mut data,
        &TimecodeRange::parse("10:00:05:00", "10:00:06:00").unwrap(),
        &mut Vec::new(),
    )
    .unwrap_err();
    assert!(matches!(e, MediaError::InvalidRequest(_)), "{e}");
    // Turn every PAT packet into a null packet.
    for p in data.chunks_exact_mut(188) {
        if p[1] & 0x1f == 0 && p[2] == 0 {
            p[1] = 0x1f | (p[1] & 0xe0);
            p[2] = 0xff;
        }
    }
    let e = cut_ts(
        &mut data,
        &TimecodeRange::parse("10:00:00:00", "10:00:01:00").unwrap(),
        &mut Vec::new(),
    )
    .unwrap_err();
    assert!(matches!(e, MediaError::InvalidMedia(_)), "{e}");
}

#[test]
fn dpx_sequence_headers_and_frame_selection() {
    if !common::tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let seq = dir.path().join("seq");
    std::fs::create_dir(&seq).unwrap();
    common::ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=64x48:rate=25:duration=0.4",
        "-c:v",
        "dpx",
        "-start_number",
        "86400",
        seq.join("shot.%07d.dpx").to_str().unwrap(),
    ]);
    let mut names: Vec<String> = std::fs::read_dir(&seq)
        .unwrap()
        .map(|e| format!("seq/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    names.sort();
    assert_eq!(names.len(), 10);
    let sel = select_frames(names.iter().map(|s| s.as_str()), 86402, 86405).unwrap();
    assert_eq!(sel.files.len(), 4);
    assert!(sel.gaps.is_empty() && sel.duplicates.is_empty());
    for (n, name) in &sel.files {
        let path = dir.path().join(name);
        let mut data = std::fs::read(&path).unwrap();
        let h = parse_header(&data, data.len() as u64).unwrap();
        assert_eq!((h.width, h.height), (64, 48));
        // ffmpeg writes no TV header: patch one in, as a film scanner would.
        assert_eq!(h.timecode, None);
        let offset = h.image_data_offset as usize;
        let mut patched = data[..offset].to_vec();
        patched.resize(2048, 0);
        patched.extend_from_slice(&data[offset..]);
        let be = h.big_endian;
        let put = |b: &mut Vec<u8>, o: usize, v: u32| {
            let v = if be { v.to_be_bytes() } else { v.to_le_bytes() };
            b[o..o + 4].copy_from_slice(&v);
        };
        let len = patched.len() as u32;
        put(&mut patched, 4, 2048);
        put(&mut patched, 16, len);
        put(&mut patched, 24, 1664);
        put(&mut patched, 28, 384);
        let tc = format!("01:00:00:{:02}", n - 86400);
        put(&mut patched, 1920, encode_bcd_timecode(tc.parse().unwrap()));
        std::fs::write(&path, &patched).unwrap();
        data = patched;
        let h = parse_header(&data, data.len() as u64).unwrap();
        assert_eq!(h.timecode.unwrap().to_string(), tc);
        // ffmpeg still decodes the patched frame, with the header's timecode.
        assert_eq!(common::decode_errors(&path), "");
        assert_eq!(common::first_frame_timecode(&path), tc);
    }
}
