//! The REST facade inside a real `tapelibd` (`[listen] rest`): the guides' login flow,
//! every role against every mutating route (from the facade's own route list), bad input
//! and the OpenAPI document.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tapelib_proto::v1::Role;

mod rest_common;
use rest_common::{exchange, free_port, spawn, Daemon, SIM};

fn write_config(dir: &Path, grpc: u16, rest: u16) -> PathBuf {
    std::fs::write(dir.join("sim.toml"), SIM).expect("write simulator config");
    std::fs::create_dir_all(dir.join("demo")).expect("server root");
    std::fs::create_dir_all(dir.join("restore")).expect("server root");
    let config = format!(
        r#"
catalog = "catalog"

[listen]
grpc = "127.0.0.1:{grpc}"
rest = "127.0.0.1:{rest}"

[auth]
argon2_memory_kib = 64
argon2_iterations = 1

[limits]
ready_poll_interval = "5ms"
drive_ready_timeout = "10s"

[servers.demo]
root = "demo"

[servers.restore]
root = "restore"

[[group]]
name = "default"

[[library]]
name = "lib0"
changer = {{ sim = "changer0" }}

[library.simulator]
state_dir = "sim"
config_file = "sim.toml"

[[library.drive]]
device = {{ sim = "drive0" }}
"#
    );
    let path = dir.join("tapelibd.toml");
    std::fs::write(&path, config).expect("write daemon config");
    path
}

/// One HTTP/1.1 exchange: status and JSON body (Null when empty or not JSON).
fn http(
    d: &Daemon,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&[u8]>,
) -> (u16, Value) {
    let (status, _, body) = exchange(d, method, path, token, "application/json", body);
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

fn post(d: &Daemon, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    http(d, "POST", path, token, Some(body.to_string().as_bytes()))
}

fn start() -> Daemon {
    let dir = tempfile::tempdir().expect("temp dir");
    let (grpc, rest) = (free_port(), free_port());
    let config = write_config(dir.path(), grpc, rest);
    spawn(&config, dir, rest)
}

fn login(d: &Daemon, user: &str, password: &str) -> String {
    let (status, body) = post(
        d,
        "/dataservice/users/login",
        None,
        json!({"username": user, "password": password}),
    );
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().expect("token").to_string();
    assert!(token.starts_with("Bearer "), "{token}");
    token
}

/// Polls GET /requests/{id} until COMPLETED (panics on another final state or timeout).
fn poll(d: &Daemon, token: &str, id: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = http(
            d,
            "GET",
            &format!("/manager/requests/{id}"),
            Some(token),
            None,
        );
        assert_eq!(status, 200, "{body}");
        match body["state"].as_str() {
            Some("COMPLETED") => {
                assert_eq!(body["statusCode"], 1000, "{body}");
                assert_eq!(body["progress"], 100, "{body}");
                return body;
            }
            Some("PENDING") | Some("RUNNING") => {}
            other => panic!("request {id} ended {other:?}: {body}"),
        }
        assert!(
            Instant::now() < deadline,
            "request {id} never finished: {body}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn assert_diva(status: u16, body: &Value, want_status: u16, want_code: i64) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["code"], want_code, "{body}");
    assert!(
        body["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("DIVA_")),
        "{body}"
    );
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

/// A value of the JSON type `schema` names (strings "x", integers 1, arrays of those).
fn sample(schema: &Value) -> Value {
    match schema["type"].as_str() {
        Some("integer") => json!(1),
        Some("array") => json!([sample(&schema["items"])]),
        Some("object") => {
            let mut o = serde_json::Map::new();
            for name in schema["required"].as_array().into_iter().flatten() {
                let name = name.as_str().expect("name");
                o.insert(name.into(), sample(&schema["properties"][name]));
            }
            Value::Object(o)
        }
        _ => match schema["enum"].as_array().and_then(|e| e.first()) {
            Some(v) => v.clone(),
            None => json!("x"),
        },
    }
}

#[test]
fn login_flow_roles_bad_input_and_api_docs() {
    let d = start();
    let password = std::fs::read_to_string(d.dir.path().join("initial-sysadmin-password"))
        .expect("password file")
        .trim()
        .to_string();

    // The guides' sample: log in, list actors with page and size.
    let root = login(&d, "admin", &password);
    let (status, body) = http(
        &d,
        "GET",
        "/manager/actors?page=1&size=5",
        Some(&root),
        None,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["actors"][0]["name"], "tapelibd");
    let (status, body) = http(&d, "GET", "/manager/drives", Some(&root), None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["drives"].as_array().map(Vec::len), Some(1));

    // Archive, poll until COMPLETED, restore, poll, compare bytes.
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::create_dir_all(d.dir.path().join("demo/clip")).expect("dir");
    std::fs::write(d.dir.path().join("demo/clip/a.bin"), &data).expect("write");
    let (status, body) = post(
        &d,
        "/manager/requests/archive",
        Some(&root),
        json!({
        "objectName": "a2", "collectionName": "news", "components": ["clip"],
        "filePathRoot": "", "media": "default", "sourceServer": "demo", "priority": 50,
        "qos": 2, "comments": "this is object a2", "options": ""}),
    );
    assert_eq!(status, 200, "{body}");
    let id = body["requestId"].as_u64().expect("request id");
    assert_eq!(poll(&d, &root, id)["type"], "ARCHIVE");
    let (status, body) = http(
        &d,
        "GET",
        "/manager/object/info?objectName=a2&collectionName=news",
        Some(&root),
        None,
    );
    assert_eq!(
        (status, body["totalSizeBytes"].as_u64()),
        (200, Some(200_000)),
        "{body}"
    );
    let (status, body) = post(
        &d,
        "/manager/requests/restore",
        Some(&root),
        json!({
        "objectName": "a2", "collectionName": "news", "destinationServer": "restore",
        "filePathRoot": "out"}),
    );
    assert_eq!(status, 200, "{body}");
    let id = body["requestId"].as_u64().expect("request id");
    poll(&d, &root, id);
    let back = std::fs::read(d.dir.path().join("restore/out/clip/a.bin")).expect("restored");
    assert!(back == data, "restored bytes differ");

    // Partial restores shaped like the guides' samples 1 (bytes) and 3 (files/folders).
    let (status, body) = post(
        &d,
        "/manager/requests/partialRestore",
        Some(&root),
        json!({
        "destinationServer": "restore", "minRequestPriority": -1, "instance": -1, "qos": 0,
        "offsets": [{"sourceFile": "clip/a.bin", "destinationFile": "part.bin", "offsetPairs": [
            {"bytesEnd": 1, "bytesBegin": 0, "timeCode": false},
            {"bytesEnd": 2, "bytesBegin": 1, "timeCode": false},
            {"bytesEnd": 150_100, "bytesBegin": 150_000, "timeCode": false}]}],
        "format": 0, "options": " ", "objectName": "a2", "maxRequestPriority": 100,
        "priority": -1, "filePathRoot": "pfr", "collectionName": "news"}),
    );
    assert_eq!(status, 200, "{body}");
    let id = body["requestId"].as_u64().expect("request id");
    assert_eq!(poll(&d, &root, id)["state"], "COMPLETED");
    let part = std::fs::read(d.dir.path().join("restore/pfr/part.bin")).expect("partial");
    let mut want = data[0..2].to_vec();
    want.extend_from_slice(&data[150_000..150_100]);
    assert!(part == want, "partial restore bytes differ");
    let (status, body) = post(
        &d,
        "/manager/requests/partialRestore",
        Some(&root),
        json!({
        "destinationServer": "restore", "instance": -1, "qos": 0,
        "offsets": [{"fileFolder": {"name": "clip", "option": ""}}],
        "format": 12, "objectName": "a2", "priority": -1, "filePathRoot": "folder",
        "collectionName": "news"}),
    );
    assert_eq!(status, 200, "{body}");
    let id = body["requestId"].as_u64().expect("request id");
    assert_eq!(poll(&d, &root, id)["state"], "COMPLETED");
    let back = std::fs::read(d.dir.path().join("restore/folder/clip/a.bin")).expect("folder");
    assert!(back == data, "file/folder partial restore differs");
    // A format the daemon does not cut is refused with the DIVA code.
    let (status, body) = post(
        &d,
        "/manager/requests/partialRestore",
        Some(&root),
        json!({
        "destinationServer": "restore", "offsets": [{"sourceFile": "clip/a.bin",
        "offsetPairs": [{"timeCodeBegin": "00:00:00:00", "timeCodeEnd": "00:00:00:01",
        "timeCode": true}]}], "format": 4, "objectName": "a2", "collectionName": "news"}),
    );
    assert_diva(status, &body, 400, 1008);

    // Verify the tape the object is on.
    let (status, body) = post(
        &d,
        "/manager/requests/verifyTape",
        Some(&root),
        json!({"objectName": "a2", "collectionName": "news"}),
    );
    assert_eq!(status, 200, "{body}");
    let id = body["requestId"].as_u64().expect("request id");
    assert_eq!(poll(&d, &root, id)["state"], "COMPLETED");
    let (status, body) = http(
        &d,
        "GET",
        "/manager/requests?page=1&size=1",
        Some(&root),
        None,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["requests"].as_array().map(Vec::len), Some(1), "{body}");

    let (status, body) = http(&d, "GET", "/manager/tapes/A00001L8", Some(&root), None);
    assert_eq!(
        (status, body["barcode"].as_str()),
        (200, Some("A00001L8")),
        "{body}"
    );
    let (status, body) = http(&d, "GET", "/manager/tapes/NOPE01L8", Some(&root), None);
    assert_diva(status, &body, 404, 1033);

    // Tokens: none, junk, wrong password.
    let (status, body) = http(&d, "GET", "/manager/drives", None, None);
    assert_diva(status, &body, 403, 1035);
    let (status, body) = http(&d, "GET", "/manager/drives", Some("Bearer a.b.c"), None);
    assert_diva(status, &body, 403, 1035);
    let mut tampered = root.clone();
    tampered.push('A');
    let (status, body) = http(&d, "GET", "/manager/drives", Some(&tampered), None);
    assert_diva(status, &body, 403, 1035);
    let (status, body) = post(
        &d,
        "/dataservice/users/login",
        None,
        json!({"username": "admin", "password": "nope"}),
    );
    assert_diva(status, &body, 403, 1035);

    // One user per role.
    let mut tokens = Vec::new();
    for role in Role::ALL {
        let name = format!("u-{}", role.diva_name().expect("name"));
        let (status, body) = post(
            &d,
            "/dataservice/users",
            Some(&root),
            json!({
                "username": name, "password": "password-1", "role": role.diva_name(),
                "emailAddress": "", "sessionTimeout": 60, "unknownField": true,
            }),
        );
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["role"], role.diva_name().expect("name"));
        tokens.push((role, login(&d, &name, "password-1")));
    }

    // The role matrix over every mutating route of the facade's route list.
    let mut checked = 0;
    for route in tapelib_rest::routes::all() {
        let Some(required) = route.doc.role else {
            continue;
        };
        if route.method == "get"
            || route.path.ends_with("/logout")
            || route.path.contains("{userName}")
        {
            continue;
        }
        let required = Role::from_diva_name(required).expect("role");
        let query: Vec<String> = route
            .doc
            .query
            .iter()
            .filter(|q| q.2)
            .map(|q| format!("{}=x", q.0))
            .collect();
        let path = if query.is_empty() {
            route.path.to_string()
        } else {
            format!("{}?{}", route.path, query.join("&"))
        };
        let body = route.doc.body.as_ref().map(|s| sample(s).to_string());
        for (role, token) in &tokens {
            let (status, reply) = http(
                &d,
                &route.method.to_uppercase(),
                &path,
                Some(token),
                body.as_deref().map(str::as_bytes),
            );
            if role.includes(required) {
                assert_ne!(
                    status, 403,
                    "{role:?} refused {} {path}: {reply}",
                    route.method
                );
            } else {
                assert_diva(status, &reply, 403, 1035);
            }
            checked += 1;
        }
    }
    assert!(checked >= 5 * 10, "only {checked} checks");

    // Bad input.
    let op = &tokens[1].1;
    let (status, body) = http(
        &d,
        "POST",
        "/manager/requests/archive",
        Some(op),
        Some(b"{not json"),
    );
    assert_diva(status, &body, 400, 1008);
    let (status, body) = post(
        &d,
        "/manager/requests/archive",
        Some(op),
        json!({
        "objectName": 5, "collectionName": "c", "components": ["a"], "media": "m", "sourceServer": "demo"}),
    );
    assert_diva(status, &body, 400, 1008);
    let (status, body) = post(
        &d,
        "/manager/requests/archive",
        Some(op),
        json!({"objectName": "o"}),
    );
    assert_diva(status, &body, 400, 1008);
    let huge = vec![b' '; 2 << 20];
    let (status, _) = http(
        &d,
        "POST",
        "/manager/requests/archive",
        Some(op),
        Some(&huge),
    );
    assert_eq!(status, 413);
    for (root_path, component) in [("../..", "a"), ("", "../escape"), ("/etc", "passwd")] {
        if !root_path.is_empty() {
            let (status, body) = post(
                &d,
                "/manager/requests/restore",
                Some(op),
                json!({
                "objectName": "o", "collectionName": "c", "destinationServer": "demo", "filePathRoot": root_path}),
            );
            assert_diva(status, &body, 400, 1008);
        }
        let (status, body) = post(
            &d,
            "/manager/requests/archive",
            Some(op),
            json!({
            "objectName": "o", "collectionName": "c", "components": [component], "media": "default",
            "sourceServer": "demo", "filePathRoot": root_path}),
        );
        assert_diva(status, &body, 400, 1008);
    }
    let mut restored: Vec<_> = std::fs::read_dir(d.dir.path().join("restore"))
        .expect("restore")
        .map(|e| e.expect("entry").file_name())
        .collect();
    restored.sort();
    assert_eq!(restored, ["folder", "out", "pfr"], "nothing written");
    assert!(!d.dir.path().join("escape").exists());
    let (status, body) = http(&d, "GET", "/manager/nothing-here", Some(op), None);
    assert_diva(status, &body, 404, 1038);
    let (status, body) = http(&d, "GET", "/manager/requests/not-a-number", Some(op), None);
    assert_diva(status, &body, 400, 1008);

    // The served document is the one built from the routes.
    let (status, doc) = http(&d, "GET", "/api-docs", None, None);
    assert_eq!(status, 200);
    assert_eq!(doc, tapelib_rest::routes::openapi());

    // Logout; the old token is refused afterwards.
    let (status, body) = post(&d, "/dataservice/users/logout", Some(&root), json!({}));
    assert_eq!(status, 200, "{body}");
    let (status, body) = http(&d, "GET", "/manager/actors", Some(&root), None);
    assert_diva(status, &body, 403, 1035);
}

/// schemathesis against the served document with a valid token: no 5xx, every response
/// matches the schema. Skips without schemathesis unless TAPELIB_REQUIRE_INTEROP=1.
#[test]
fn schemathesis_finds_no_server_errors() {
    let found = Command::new("schemathesis")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("TAPELIB_REQUIRE_INTEROP").as_deref() != Ok("1"),
            "schemathesis is required (pip install schemathesis)"
        );
        eprintln!("schemathesis not installed; skipping");
        return;
    }
    let d = start();
    let password = std::fs::read_to_string(d.dir.path().join("initial-sysadmin-password"))
        .expect("password file")
        .trim()
        .to_string();
    let token = login(&d, "admin", &password);
    let out = Command::new("schemathesis")
        .args(["run", &format!("http://{}/api-docs", d.rest)])
        .args(["--header", &format!("Authorization: {token}")])
        .args(["--checks", "not_a_server_error,response_schema_conformance"])
        .args(["--max-examples", "3", "--phases", "examples,fuzzing"])
        // Logging out or deleting users would only turn the rest of the run into 403s.
        .args(["--exclude-path-regex", "logout|/dataservice/users$"])
        .env("SCHEMATHESIS_TELEMETRY", "false")
        .output()
        .expect("schemathesis runs");
    let report = String::from_utf8_lossy(&out.stdout);
    // The summary names how many operations were tested; none would mean a broken document.
    eprintln!(
        "{}",
        report.lines().rev().take(12).collect::<Vec<_>>().join("\n")
    );
    let generated: u64 = report
        .lines()
        .find(|l| l.contains(" generated,"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(generated > 0, "no test cases generated:\n{report}");
    assert!(
        out.status.success(),
        "schemathesis failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether ffmpeg and ffprobe run; with TAPELIB_REQUIRE_INTEROP=1 their absence fails.
fn media_tools() -> bool {
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

fn ffprobe(args: &[&str], path: &Path) -> (String, String) {
    let out = Command::new("ffprobe")
        .args(["-v", "error"])
        .args(args)
        .arg(path)
        .output()
        .expect("ffprobe");
    (
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
        String::from_utf8_lossy(&out.stderr).trim().to_string(),
    )
}

fn frame_md5s(path: &Path, frames: Option<(u64, u64)>) -> Vec<String> {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-map", "0:v:0"]);
    let filter;
    if let Some((a, b)) = frames {
        filter = format!("select='between(n\\,{a}\\,{b})'");
        cmd.args(["-vf", &filter, "-fps_mode", "passthrough"]);
    }
    let out = cmd.args(["-f", "framemd5", "-"]).output().expect("ffmpeg");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit(',').next().map(|s| s.trim().to_string()))
        .collect()
}

/// The guides' sample 2 (a GXF timecode partial restore) against an ffmpeg-made clip
/// archived through the daemon.
#[test]
fn gxf_partial_restore_shaped_like_sample_2() {
    if !media_tools() {
        return;
    }
    let d = start();
    let password = std::fs::read_to_string(d.dir.path().join("initial-sysadmin-password"))
        .expect("password file")
        .trim()
        .to_string();
    let root = login(&d, "admin", &password);
    let src = d.dir.path().join("demo/Partial File/Profile.gxf");
    std::fs::create_dir_all(src.parent().expect("parent")).expect("dir");
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=720x576:rate=25:duration=4")
        .args(["-f", "lavfi", "-i", "sine=sample_rate=48000:duration=4"])
        .args(["-c:v", "mpeg2video", "-b:v", "4M", "-g", "12", "-bf", "2"])
        .args(["-flags", "+cgop", "-sc_threshold", "1000000000"])
        .args(["-c:a", "pcm_s16le", "-ac", "1", "-timecode", "00:00:00:00"])
        .arg(&src)
        .output()
        .expect("ffmpeg");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (status, body) = post(
        &d,
        "/manager/requests/archive",
        Some(&root),
        json!({
        "objectName": "Partial File", "collectionName": "Restore All Basic PFR",
        "components": ["Partial File"], "filePathRoot": "", "media": "default",
        "sourceServer": "demo", "priority": 50, "qos": 2, "comments": "", "options": ""}),
    );
    assert_eq!(status, 200, "{body}");
    poll(&d, &root, body["requestId"].as_u64().expect("request id"));

    // Sample 2, with the restore in the middle of the clip.
    let (status, body) = post(
        &d,
        "/manager/requests/partialRestore",
        Some(&root),
        json!({
        "destinationServer": "restore", "minRequestPriority": -1, "instance": -1, "qos": 0,
        "offsets": [{"destinationFile": "Profile.gxf", "offsetPairs": [
            {"timeCodeBegin": "00:00:01:06", "timeCodeEnd": "00:00:02:03", "bytesEnd": 0,
             "bytesBegin": 0, "timeCode": true}],
            "sourceFile": "Partial File/Profile.gxf"}],
        "format": 2, "options": " ", "objectName": "Partial File", "maxRequestPriority": 100,
        "priority": -1, "filePathRoot": "restore", "collectionName": "Restore All Basic PFR"}),
    );
    assert_eq!(status, 200, "{body}");
    poll(&d, &root, body["requestId"].as_u64().expect("request id"));
    let cut = d.dir.path().join("restore/restore/Profile.gxf");
    let (frames, errors) = ffprobe(
        &[
            "-select_streams",
            "v:0",
            "-count_frames",
            "-show_entries",
            "stream=nb_read_frames",
            "-of",
            "default=nw=1:nk=1",
        ],
        &cut,
    );
    assert_eq!(errors, "");
    let (tc, _) = ffprobe(
        &[
            "-show_entries",
            "format_tags=timecode",
            "-of",
            "default=nw=1:nk=1",
        ],
        &cut,
    );
    // Frames 31..=53 widen to whole GOPs; the timecode says where the cut starts.
    let first = tc
        .split(':')
        .map(|v| {
            v.parse::<u64>()
                .unwrap_or_else(|_| panic!("timecode {tc:?}"))
        })
        .fold(0, |acc, v| acc * 60 + v);
    // Seconds and frames of 00:00:SS:FF at 25 frames per second.
    let first = first / 60 * 25 + first % 60;
    assert!(first <= 31 && first + 12 > 31, "{tc}");
    let n: u64 = frames.parse().expect("frame count");
    assert!(first + n > 53, "{first} + {n}");
    assert_eq!(
        frame_md5s(&cut, None),
        frame_md5s(&src, Some((first, first + n - 1)))
    );
}
