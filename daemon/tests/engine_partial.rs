//! Partial restores run by the engine in process on the simulator: byte ranges, files and
//! folders, DPX frames and timecode cuts of ffmpeg-made clips, checked against the sources
//! and with ffprobe. Media tests need ffmpeg; with TAPELIB_REQUIRE_INTEROP=1 they fail
//! without it.

mod engine_common;

use std::path::{Path, PathBuf};
use std::process::Command;

use engine_common::{bytes, start, write_files, Harness};
use tapelib_daemon::request::{
    ArchiveParams, DivaStatusCode, PartialRange, PartialRestoreParams, PartialSelection, Priority,
    RequestKind, RequestResult, RequestState, RestoredPart,
};

fn archive(h: &Harness, name: &str, files: &[&str]) -> String {
    h.run_ok(RequestKind::Archive(ArchiveParams {
        collection: "c".into(),
        name: name.into(),
        source_server: "demo".into(),
        file_path_root: None,
        files: files.iter().map(|s| s.to_string()).collect(),
        group: "default".into(),
        comments: String::new(),
        delete_on_source: false,
    }));
    h.engine.state().catalog.list_instances("c", name).unwrap()[0].tapes[0].clone()
}

fn partial(name: &str, root: &str, format: u32, selection: Vec<PartialSelection>) -> RequestKind {
    RequestKind::PartialRestore(PartialRestoreParams {
        collection: "c".into(),
        name: name.into(),
        instance: None,
        destination_server: "restore".into(),
        file_path_root: Some(root.into()),
        overwrite: false,
        items: Vec::new(),
        format,
        selection,
    })
}

fn file(src: &str, dst: &str, ranges: Vec<PartialRange>) -> PartialSelection {
    PartialSelection::File {
        source_file: src.into(),
        destination_file: dst.into(),
        ranges,
    }
}

fn tc(begin: &str, end: &str) -> PartialRange {
    PartialRange::Timecode {
        begin: begin.into(),
        end: end.into(),
    }
}

fn parts(r: &tapelib_daemon::request::RequestRecord) -> Vec<RestoredPart> {
    match &r.result {
        Some(RequestResult::PartialRestore { parts, .. }) => parts.clone(),
        other => panic!("result {other:?}"),
    }
}

fn refused(h: &Harness, kind: RequestKind) -> DivaStatusCode {
    match h.engine.submit(kind, Priority::DEFAULT, "test") {
        Err(e) => e.diva_status(),
        Ok(r) => panic!("request {} was accepted", r.id),
    }
}

fn tape_bytes_read(h: &Harness, tape: &str) -> u64 {
    let sim = h.library().simulator().unwrap().clone();
    sim.stats().cartridges[tape].bytes_read
}

#[test]
fn byte_ranges_are_concatenated_with_exclusive_ends() {
    let h = start(|_| {});
    let data = bytes(7, 3_000_000);
    write_files(
        &h.demo(),
        &[("clip/a.bin", data.clone()), ("clip/b.bin", bytes(8, 1000))],
    );
    archive(&h, "bytes", &["clip"]);
    let ranges = vec![
        PartialRange::Bytes { begin: 0, end: 1 },
        PartialRange::Bytes { begin: 1, end: 2 },
        PartialRange::Bytes {
            begin: 2_000_000,
            end: 2_600_000,
        },
        PartialRange::Bytes {
            begin: 100,
            end: 200,
        },
    ];
    let r = h.run_ok(partial(
        "bytes",
        "out",
        0,
        vec![file("clip/a.bin", "a.part", ranges)],
    ));
    let got = std::fs::read(h.restore_root().join("out/a.part")).unwrap();
    let mut want = data[0..2].to_vec();
    want.extend_from_slice(&data[2_000_000..2_600_000]);
    want.extend_from_slice(&data[100..200]);
    assert_eq!(got, want);
    let p = parts(&r);
    assert_eq!(p.len(), 1);
    assert_eq!(
        (p[0].bytes_written, p[0].source_size),
        (want.len() as u64, 3_000_000)
    );

    // Past the end, reversed, or a format the daemon does not cut: refused before queueing.
    for (begin, end) in [(2_999_000, 3_000_001), (10, 5), (4, 4)] {
        let k = partial(
            "bytes",
            "bad",
            0,
            vec![file(
                "clip/a.bin",
                "x",
                vec![PartialRange::Bytes { begin, end }],
            )],
        );
        assert_eq!(
            refused(&h, k),
            DivaStatusCode::DivaErrInvalidParameter,
            "{begin}-{end}"
        );
    }
    for f in [3, 4, 7, 8, 9, 10, 1, 14] {
        let k = partial(
            "bytes",
            "bad",
            f,
            vec![file(
                "clip/a.bin",
                "x",
                vec![tc("00:00:00:00", "00:00:01:00")],
            )],
        );
        assert_eq!(
            refused(&h, k),
            DivaStatusCode::DivaErrInvalidParameter,
            "format {f}"
        );
    }
    let k = partial(
        "bytes",
        "bad",
        0,
        vec![file(
            "clip/none.bin",
            "x",
            vec![PartialRange::Bytes { begin: 0, end: 1 }],
        )],
    );
    assert_eq!(refused(&h, k), DivaStatusCode::DivaErrInvalidParameter);
    // The destination exists and overwrite was not asked.
    let k = partial(
        "bytes",
        "out",
        0,
        vec![file(
            "clip/a.bin",
            "a.part",
            vec![PartialRange::Bytes { begin: 0, end: 1 }],
        )],
    );
    assert_ne!(refused(&h, k), DivaStatusCode::DivaErrInvalidParameter);
    assert!(
        !h.restore_root().join("bad").exists(),
        "a refused request writes nothing"
    );
}

#[test]
fn files_and_folders_keep_their_relative_paths() {
    let h = start(|_| {});
    let files: Vec<(String, Vec<u8>)> = vec![
        ("proj/edit/a.mov".into(), bytes(1, 50_000)),
        ("proj/edit/sub/b.mov".into(), bytes(2, 70_000)),
        ("proj/audio/c.wav".into(), bytes(3, 30_000)),
        ("proj/readme.txt".into(), bytes(4, 100)),
    ];
    let refs: Vec<(&str, Vec<u8>)> = files.iter().map(|(p, d)| (p.as_str(), d.clone())).collect();
    write_files(&h.demo(), &refs);
    archive(&h, "proj", &["proj"]);
    let sel = vec![
        PartialSelection::FileFolder {
            name: "proj/edit".into(),
            option: String::new(),
        },
        PartialSelection::FileFolder {
            name: "proj/readme.txt".into(),
            option: String::new(),
        },
    ];
    let r = h.run_ok(partial("proj", "ff", 12, sel));
    assert_eq!(parts(&r).len(), 3);
    for (p, d) in &files {
        let out = h.restore_root().join("ff").join(p);
        if p.contains("audio") {
            assert!(!out.exists(), "{p} was not selected");
        } else {
            assert_eq!(&std::fs::read(&out).unwrap(), d, "{p}");
        }
    }
    let k = partial(
        "proj",
        "ff2",
        12,
        vec![PartialSelection::FileFolder {
            name: "proj/nothing".into(),
            option: String::new(),
        }],
    );
    assert_eq!(refused(&h, k), DivaStatusCode::DivaErrInvalidParameter);
}

// ---- media (ffmpeg) ----

fn tools() -> bool {
    let ok = ["ffmpeg", "ffprobe"].iter().all(|t| {
        Command::new(t)
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !ok {
        if std::env::var("TAPELIB_REQUIRE_INTEROP").as_deref() == Ok("1") {
            panic!("ffmpeg/ffprobe are required (TAPELIB_REQUIRE_INTEROP=1)");
        }
        eprintln!("note: ffmpeg/ffprobe not installed; skipping");
    }
    ok
}

fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn frame_count(path: &Path) -> u64 {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-count_frames",
            "-show_entries",
            "stream=nb_read_frames",
            "-of",
            "default=nw=1:nk=1",
        ])
        .arg(path)
        .output()
        .expect("ffprobe");
    let s = String::from_utf8_lossy(&out.stdout).to_string();
    s.lines()
        .next()
        .unwrap_or("")
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{s:?}"))
}

fn mxf_timecode(path: &Path) -> String {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format_tags=timecode",
            "-of",
            "default=nw=1:nk=1",
        ])
        .arg(path)
        .output()
        .expect("ffprobe");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn decode_errors(path: &Path) -> String {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg");
    String::from_utf8_lossy(&out.stderr).trim().to_string()
}

fn md5s(path: &Path, range: Option<(u64, u64)>) -> Vec<String> {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-map", "0:v:0"]);
    let f;
    if let Some((a, b)) = range {
        f = format!("select='between(n\\,{a}\\,{b})'");
        cmd.args(["-vf", &f, "-fps_mode", "passthrough"]);
    }
    let out = cmd.args(["-f", "framemd5", "-"]).output().expect("ffmpeg");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit(',').next().map(|s| s.trim().to_string()))
        .collect()
}

#[test]
fn one_second_of_a_one_minute_mxf_reads_under_ten_percent_from_tape() {
    if !tools() {
        return;
    }
    let h = start(|_| {});
    let dir = h.demo().join("news");
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("prog.mxf");
    // Standard definition at high quality: every read costs at least one 512 KiB tape
    // block, so the clip must be large against the blocks for the fraction to mean much.
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=720x576:rate=25:duration=60",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000:duration=60",
        "-c:v",
        "mpeg2video",
        "-q:v",
        "2",
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
    let p = one_second_cut(&h, &src, 6, decode_errors);
    assert_eq!(mxf_timecode(&p.1), p.0.first_timecode.clone().unwrap());
}

/// Archives `src` (under the demo server's `news/`), cuts 10:00:30:00–10:00:30:24 out of it
/// with `format`, and checks what any such cut must satisfy: under a tenth of the clip read
/// from tape (by the drive's counters), the second covered, no complaint from `errors`, the
/// frame count, and the decoded frames equal to the source's. Returns the part and the cut.
fn one_second_cut(
    h: &Harness,
    src: &Path,
    format: u32,
    errors: fn(&Path) -> String,
) -> (RestoredPart, PathBuf) {
    let name = src.file_name().unwrap().to_str().unwrap();
    let ext = src.extension().unwrap().to_str().unwrap();
    let size = std::fs::metadata(src).unwrap().len();
    let tape = archive(h, "prog", &["news"]);
    let before = tape_bytes_read(h, &tape);
    let r = h.run_ok(partial(
        "prog",
        "cut",
        format,
        vec![file(
            &format!("news/{name}"),
            &format!("prog_cut.{ext}"),
            vec![tc("10:00:30:00", "10:00:30:24")],
        )],
    ));
    let read = tape_bytes_read(h, &tape) - before;
    let p = parts(&r)[0].clone();
    assert!(
        read * 10 < size,
        "read {read} bytes from tape for a {size}-byte clip"
    );
    assert!(p.bytes_read <= read && p.source_size == size, "{p:?}");
    let (first, last) = (p.first_frame.unwrap(), p.last_frame.unwrap());
    assert!(first <= 750 && last >= 774, "{p:?}");
    let out = h.restore_root().join(format!("cut/prog_cut.{ext}"));
    assert_eq!(errors(&out), "");
    assert_eq!(frame_count(&out), last - first + 1);
    assert_eq!(md5s(&out, None), md5s(src, Some((first, last))));
    (p, out)
}

/// ffprobe's complaints while decoding every frame (empty when clean). GXF is checked this
/// way: the ffmpeg command line reports the GXF demuxer's end-of-file return as
/// "Operation not permitted" for any GXF over a few hundred KiB, ffmpeg's own included.
fn probe_errors(path: &Path) -> String {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-show_entries",
            "stream=nb_read_frames",
        ])
        .arg(path)
        .output()
        .expect("ffprobe");
    String::from_utf8_lossy(&out.stderr).trim().to_string()
}

/// The first audio stream as 16-bit samples.
fn audio_s16(path: &Path) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "quiet", "-i"])
        .arg(path)
        .args(["-map", "0:a:0", "-f", "s16le", "-"])
        .output()
        .expect("ffmpeg");
    out.stdout
}

#[test]
fn one_second_of_a_one_minute_gxf_reads_under_ten_percent_from_tape() {
    if !tools() {
        return;
    }
    let h = start(|_| {});
    let dir = h.demo().join("news");
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("prog.gxf");
    // GXF takes standard definition only: PAL 720x576 MPEG-2 long GOP, mono 16-bit audio,
    // at the highest quality so the clip is large against the 512 KiB tape blocks every
    // read costs.
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=720x576:rate=25:duration=60",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000:duration=60",
        "-c:v",
        "mpeg2video",
        "-q:v",
        "1",
        "-qmin",
        "1",
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
        "-ac",
        "1",
        "-timecode",
        "10:00:00:00",
        src.to_str().unwrap(),
    ]);
    let (p, out) = one_second_cut(&h, &src, 2, probe_errors);
    let (first, last) = (p.first_frame.unwrap(), p.last_frame.unwrap());
    assert_eq!(mxf_timecode(&out), p.first_timecode.clone().unwrap());
    let audio = audio_s16(&out);
    let (a, b) = (first as usize * 1920 * 2, (last as usize + 1) * 1920 * 2);
    assert!(audio == audio_s16(&src)[a..b], "audio differs");

    // Autodetect finds GXF; a range outside the clip aborts with an invalid parameter.
    let r = h.run_ok(partial(
        "prog",
        "auto",
        11,
        vec![file(
            "news/prog.gxf",
            "a.gxf",
            vec![tc("10:00:59:20", "10:00:59:24")],
        )],
    ));
    let p = &parts(&r)[0];
    assert_eq!(p.last_frame, Some(1499), "{p:?}");
    let out = h.restore_root().join("auto/a.gxf");
    assert_eq!(probe_errors(&out), "");
    assert_eq!(frame_count(&out), 1500 - p.first_frame.unwrap());
    let r = h.run(partial(
        "prog",
        "bad",
        2,
        vec![file(
            "news/prog.gxf",
            "x.gxf",
            vec![tc("10:01:00:00", "10:01:00:10")],
        )],
    ));
    assert_eq!(r.state, RequestState::Aborted, "{r:?}");
    assert_eq!(r.status, DivaStatusCode::DivaErrInvalidParameter);
    assert!(!h.restore_root().join("bad/x.gxf").exists());
}

#[test]
fn transport_stream_by_autodetect_and_dpx_frames() {
    if !tools() {
        return;
    }
    let h = start(|_| {});
    let dir = h.demo().join("media");
    std::fs::create_dir_all(dir.join("seq")).unwrap();
    let ts = dir.join("clip.ts");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=320x240:rate=25:duration=5",
        "-f",
        "lavfi",
        "-i",
        "sine=sample_rate=48000:duration=5",
        "-c:v",
        "mpeg2video",
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
        "01:00:00:00",
        ts.to_str().unwrap(),
    ]);
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=64x48:rate=25:duration=0.4",
        "-c:v",
        "dpx",
        "-start_number",
        "86400",
        dir.join("seq/shot.%07d.dpx").to_str().unwrap(),
    ]);
    archive(&h, "media", &["media"]);
    let r = h.run_ok(partial(
        "media",
        "ts",
        11,
        vec![file(
            "media/clip.ts",
            "clip_cut.ts",
            vec![
                tc("01:00:02:00", "01:00:02:10"),
                tc("01:00:00:00", "01:00:00:05"),
            ],
        )],
    ));
    let p = parts(&r);
    assert_eq!(p.len(), 2);
    for (part, name) in p.iter().zip(["clip_cut.ts", "clip_cut_2.ts"]) {
        let out = h.restore_root().join("ts").join(name);
        let (a, b) = (part.first_frame.unwrap(), part.last_frame.unwrap());
        assert_eq!(decode_errors(&out), "");
        assert_eq!(frame_count(&out), b - a + 1, "{part:?}");
        assert_eq!(md5s(&out, None), md5s(&ts, Some((a, b))));
    }
    assert!(p[0].first_frame.unwrap() <= 50 && p[0].last_frame.unwrap() >= 60);

    // Frames 86402..=86404 and 86408..=86420 (only 86408, 86409 exist: a gap is reported).
    let sel = vec![
        PartialSelection::Frames {
            begin: 86402,
            end: 86404,
        },
        PartialSelection::Frames {
            begin: 86408,
            end: 86420,
        },
    ];
    let r = h.run_ok(partial("media", "dpx", 13, sel));
    let p = parts(&r);
    let frames: Vec<u64> = p.iter().map(|x| x.first_frame.unwrap()).collect();
    assert_eq!(frames, vec![86402, 86403, 86404, 86408, 86409]);
    assert!(
        p[0].note.as_deref().unwrap_or("").contains("missing"),
        "{:?}",
        p[0].note
    );
    for n in frames {
        let rel = format!("media/seq/shot.{n:07}.dpx");
        assert_eq!(
            std::fs::read(h.restore_root().join("dpx").join(&rel)).unwrap(),
            std::fs::read(h.demo().join(&rel)).unwrap()
        );
    }
    let k = partial(
        "media",
        "dpx2",
        13,
        vec![PartialSelection::Frames { begin: 5, end: 9 }],
    );
    assert_eq!(refused(&h, k), DivaStatusCode::DivaErrInvalidParameter);
    // A timecode range outside the clip fails the request with an invalid parameter.
    let r = h.run(partial(
        "media",
        "ts3",
        5,
        vec![file(
            "media/clip.ts",
            "x.ts",
            vec![tc("02:00:00:00", "02:00:01:00")],
        )],
    ));
    assert_eq!(r.state, RequestState::Aborted, "{r:?}");
    assert!(!h.restore_root().join("ts3/x.ts").exists());
}

#[test]
fn damaged_media_fails_with_an_invalid_parameter_and_writes_nothing() {
    let h = start(|_| {});
    let mut fake_mxf = vec![
        0x06, 0x0e, 0x2b, 0x34, 0x02, 0x05, 0x01, 0x01, 0x0d, 0x01, 0x02, 0x01, 0x01, 0x02, 0x04,
        0x00, 0x83, 0xff, 0xff, 0xff,
    ];
    fake_mxf.extend(bytes(3, 200_000));
    let mut fake_ts = bytes(4, 188 * 500);
    for p in fake_ts.chunks_exact_mut(188) {
        p[0] = 0x47;
    }
    write_files(
        &h.demo(),
        &[
            ("bad/a.mxf", fake_mxf),
            ("bad/b.ts", fake_ts),
            ("bad/c.bin", bytes(5, 1000)),
        ],
    );
    archive(&h, "bad", &["bad"]);
    for (format, src) in [
        (6, "bad/a.mxf"),
        (5, "bad/b.ts"),
        (11, "bad/c.bin"),
        (11, "bad/a.mxf"),
    ] {
        let r = h.run(partial(
            "bad",
            "out",
            format,
            vec![file(src, "cut", vec![tc("00:00:00:00", "00:00:01:00")])],
        ));
        assert_eq!(r.state, RequestState::Aborted, "{r:?}");
        assert_eq!(
            r.status,
            DivaStatusCode::DivaErrInvalidParameter,
            "{format} {src}: {r:?}"
        );
        assert!(!h.restore_root().join("out/cut").exists());
    }
}

#[test]
fn grpc_requests_convert_to_partial_restore_params() {
    use tapelib_daemon::ops::partial_restore::partial_params_from_proto;
    use tapelib_proto::v1::{
        offset_pair, partial_restore_offset, ByteRange, FileOffsets, FrameRange, ObjectRef,
        OffsetPair, PartialRestoreOffset, SubmitPartialRestoreRequest, TimecodeRange,
    };
    let file = |pairs: Vec<offset_pair::Range>| PartialRestoreOffset {
        selection: Some(partial_restore_offset::Selection::File(FileOffsets {
            source_file: "clip.mxf".into(),
            destination_file: "part.mxf".into(),
            pairs: pairs
                .into_iter()
                .map(|r| OffsetPair { range: Some(r) })
                .collect(),
        })),
    };
    let req = |format: i32, offsets| SubmitPartialRestoreRequest {
        object: Some(ObjectRef {
            name: "o".into(),
            collection: "c".into(),
        }),
        destination_server: "restore".into(),
        file_path_root: "out".into(),
        format,
        offsets,
        ..Default::default()
    };
    let bytes = |begin, end| offset_pair::Range::Bytes(ByteRange { begin, end });
    let p = partial_params_from_proto(&req(0, vec![file(vec![bytes(0, 1), bytes(1, 2)])])).unwrap();
    assert_eq!(p.format, 0);
    assert_eq!(p.file_path_root.as_deref(), Some("out"));
    assert!(p.overwrite);
    assert_eq!(
        p.selection,
        vec![PartialSelection::File {
            source_file: "clip.mxf".into(),
            destination_file: "part.mxf".into(),
            ranges: vec![
                PartialRange::Bytes { begin: 0, end: 1 },
                PartialRange::Bytes { begin: 1, end: 2 }
            ],
        }]
    );
    let timecodes = |b: &str, e: &str| {
        offset_pair::Range::Timecode(TimecodeRange {
            begin: b.into(),
            end: e.into(),
        })
    };
    let p = partial_params_from_proto(&req(
        6,
        vec![file(vec![timecodes("10:00:00:00", "10:00:01:00")])],
    ))
    .unwrap();
    assert_eq!(p.format, 6);
    let dpx = PartialRestoreOffset {
        selection: Some(partial_restore_offset::Selection::Range(FrameRange {
            begin: 1,
            end: 2,
        })),
    };
    let p = partial_params_from_proto(&req(13, vec![dpx.clone()])).unwrap();
    assert_eq!(
        p.selection,
        vec![PartialSelection::Frames { begin: 1, end: 2 }]
    );
    // Mismatched, unsupported and malformed selections are invalid parameters.
    for bad in [
        req(0, vec![dpx]),
        req(7, vec![file(vec![timecodes("10:00:00:00", "10:00:01:00")])]),
        req(6, vec![file(vec![timecodes("10:00:01:00", "10:00:00:00")])]),
        req(6, vec![file(vec![timecodes("10:00:00", "10:00:01:00")])]),
        req(0, vec![file(vec![bytes(5, 5)])]),
        req(0, vec![]),
    ] {
        let e = partial_params_from_proto(&bad).unwrap_err();
        assert_eq!(
            e.diva_status(),
            DivaStatusCode::DivaErrInvalidParameter,
            "{bad:?}: {e}"
        );
    }
}
