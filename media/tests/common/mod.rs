//! ffmpeg/ffprobe helpers for the interop tests. Fixtures are made at test time, small.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// Whether ffmpeg and ffprobe run. With TAPELIB_REQUIRE_INTEROP=1 their absence fails.
pub fn tools() -> bool {
    let ok = ["ffmpeg", "ffprobe"].iter().all(|t| {
        Command::new(t)
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !ok {
        if std::env::var("TAPELIB_REQUIRE_INTEROP").as_deref() == Ok("1") {
            panic!("ffmpeg/ffprobe are required (TAPELIB_REQUIRE_INTEROP=1) but do not run");
        }
        eprintln!("note: ffmpeg/ffprobe not installed; skipping interop test");
    }
    ok
}

pub fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .output()
        .expect("run ffmpeg");
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn probe(args: &[&str], path: &Path) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error"])
        .args(args)
        .arg(path)
        .output()
        .expect("run ffprobe");
    assert!(
        out.status.success(),
        "ffprobe {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Decoded video frames.
pub fn frame_count(path: &Path) -> u64 {
    let s = probe(
        &[
            "-select_streams",
            "v:0",
            "-count_frames",
            "-show_entries",
            "stream=nb_read_frames",
            "-of",
            "default=nw=1:nk=1",
        ],
        path,
    );
    // Transport streams list the stream under its program too.
    let first = s.lines().next().unwrap_or("");
    first
        .parse()
        .unwrap_or_else(|_| panic!("frame count {s:?}"))
}

/// The container's timecode tag (MXF, GXF).
pub fn format_timecode(path: &Path) -> String {
    probe(
        &[
            "-show_entries",
            "format_tags=timecode",
            "-of",
            "default=nw=1:nk=1",
        ],
        path,
    )
}

/// The first video frame's timecode tag (TS, DPX).
pub fn first_frame_timecode(path: &Path) -> String {
    probe(
        &[
            "-select_streams",
            "v:0",
            "-show_entries",
            "frame_tags=timecode",
            "-read_intervals",
            "%+#1",
            "-of",
            "default=nw=1:nk=1",
        ],
        path,
    )
}

/// What ffmpeg complains about while decoding the whole file (empty when clean).
pub fn decode_errors(path: &Path) -> String {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .expect("run ffmpeg");
    String::from_utf8_lossy(&out.stderr).trim().to_string()
}

/// MD5s of the decoded video frames, optionally only frames `first..=last` (decode order
/// of the whole stream, as ffmpeg numbers them).
pub fn frame_md5s(path: &Path, frames: Option<(u64, u64)>) -> Vec<String> {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-nostdin", "-v", "error", "-i"]).arg(path);
    cmd.args(["-map", "0:v:0"]);
    let filter;
    if let Some((a, b)) = frames {
        filter = format!("select='between(n\\,{a}\\,{b})'");
        cmd.args(["-vf", &filter, "-fps_mode", "passthrough"]);
    }
    let out = cmd
        .args(["-f", "framemd5", "-"])
        .output()
        .expect("framemd5");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit(',').next().map(|s| s.trim().to_string()))
        .collect()
}

/// MD5s of every decoded video frame as the decoder outputs them, whatever their
/// timestamps. ffmpeg's MXF muxer writes H.264 index entries with temporal offset 0, so its
/// demuxer gives the pictures the decode-order timestamps and the frames the decoder
/// flushes at the end share one: a constant-rate output would drop them.
pub fn decoded_md5s(path: &Path) -> Vec<String> {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "quiet", "-i"])
        .arg(path)
        .args([
            "-map",
            "0:v:0",
            "-fps_mode",
            "passthrough",
            "-f",
            "framemd5",
            "-",
        ])
        .output()
        .expect("framemd5");
    assert!(out.status.success(), "framemd5 of {path:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit(',').next().map(|s| s.trim().to_string()))
        .collect()
}

/// What ffprobe complains about while decoding every frame of every stream (empty when
/// clean). GXF files are checked this way: the ffmpeg command line reports the GXF
/// demuxer's end-of-file return (-1) as "Operation not permitted" for any GXF file over a
/// few hundred KiB, its own files included.
pub fn probe_errors(path: &Path) -> String {
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
        .expect("run ffprobe");
    String::from_utf8_lossy(&out.stderr).trim().to_string()
}

/// The first audio stream decoded to 16-bit little-endian samples.
pub fn audio_s16(path: &Path) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "quiet", "-i"])
        .arg(path)
        .args(["-map", "0:a:0", "-f", "s16le", "-"])
        .output()
        .expect("run ffmpeg");
    out.stdout
}
