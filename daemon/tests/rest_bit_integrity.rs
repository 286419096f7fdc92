//! `GET /manager/bitIntegrity/{barcode}` in a real `tapelibd` with its REST listener: the
//! report of a clean verify, then of a verify that finds a byte flipped on the simulated
//! cartridge, as TSV (DuraCloud's form) and as JSON, and the refusals.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod rest_common;
use rest_common::{exchange, free_port, spawn, Daemon, SIM};

fn start() -> Daemon {
    let dir = tempfile::tempdir().expect("temp dir");
    let (grpc, rest) = (free_port(), free_port());
    std::fs::write(dir.path().join("sim.toml"), SIM).expect("write simulator config");
    std::fs::create_dir_all(dir.path().join("demo/clip")).expect("server root");
    let config = format!(
        r#"
catalog = "catalog"

[listen]
grpc = "127.0.0.1:{grpc}"
rest = "127.0.0.1:{rest}"
unix_socket = "tapelibd.sock"

[auth]
argon2_memory_kib = 64
argon2_iterations = 1

[limits]
ready_poll_interval = "5ms"
drive_ready_timeout = "10s"

[servers.demo]
root = "demo"

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
    let path = dir.path().join("tapelibd.toml");
    std::fs::write(&path, config).expect("write daemon config");
    spawn(&path, dir, rest)
}

/// One HTTP/1.1 exchange: status, lowercased header block, body.
fn http(
    d: &Daemon,
    method: &str,
    path: &str,
    token: Option<&str>,
    accept: &str,
    body: Option<&Value>,
) -> (u16, String, String) {
    let body = body.map(|b| b.to_string());
    exchange(
        d,
        method,
        path,
        token,
        accept,
        body.as_deref().map(str::as_bytes),
    )
}

fn json_call(d: &Daemon, method: &str, path: &str, token: &str, body: Option<Value>) -> Value {
    let (status, _, text) = http(
        d,
        method,
        path,
        Some(token),
        "application/json",
        body.as_ref(),
    );
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    assert!(
        status == 200 || status == 201,
        "{method} {path}: {status} {text}"
    );
    v
}

/// Polls the request until it leaves PENDING/RUNNING; returns its final state.
fn finish(d: &Daemon, token: &str, id: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let body = json_call(d, "GET", &format!("/manager/requests/{id}"), token, None);
        match body["state"].as_str() {
            Some("PENDING") | Some("RUNNING") => {}
            Some(other) => return other.to_string(),
            None => panic!("no state in {body}"),
        }
        assert!(Instant::now() < deadline, "request {id} never finished");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn verify(d: &Daemon, token: &str, barcode: &str) -> String {
    let body = json_call(
        d,
        "POST",
        "/manager/requests/verifyTape",
        token,
        Some(json!({"barcode": barcode})),
    );
    finish(d, token, body["requestId"].as_u64().expect("request id"))
}

/// Flips one byte of `needle`'s first occurrence in the simulated cartridge's data files.
fn flip_on_tape(state_dir: &Path, barcode: &str, needle: &[u8]) {
    let dir = tapelib_sim::library::cartridge_dir(state_dir, barcode);
    for entry in std::fs::read_dir(&dir).expect("cartridge dir") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("data") {
            continue;
        }
        let mut data = std::fs::read(&path).expect("read");
        if let Some(at) = data.windows(needle.len()).position(|w| w == needle) {
            data[at + needle.len() / 2] ^= 0x5a;
            std::fs::write(&path, data).expect("write");
            return;
        }
    }
    panic!("the bytes are not on {barcode} in {}", dir.display());
}

/// Runs tapectl over the daemon's local socket (sysadmin by peer credentials): exit code,
/// stdout, stderr.
fn tapectl(d: &Daemon, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tapectl"))
        .arg("--socket")
        .arg(d.dir.path().join("tapelibd.sock"))
        .env("XDG_CONFIG_HOME", d.dir.path().join("config"))
        .args(args)
        .output()
        .expect("tapectl runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn header<'a>(headers: &'a str, name: &str) -> Option<&'a str> {
    headers.lines().find_map(|l| {
        l.strip_prefix(name)
            .and_then(|r| r.strip_prefix(':'))
            .map(str::trim)
    })
}

fn assert_diva(status: u16, text: &str, want_status: u16, want_code: i64) {
    let body: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    assert_eq!(
        (status, &body["code"]),
        (want_status, &json!(want_code)),
        "{text}"
    );
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{text}"
    );
}

#[test]
fn bit_integrity_report_shows_a_flipped_byte_as_tsv_and_json() {
    let d = start();
    let password = std::fs::read_to_string(d.dir.path().join("initial-sysadmin-password"))
        .expect("password file")
        .trim()
        .to_string();
    let (_, _, text) = http(
        &d,
        "POST",
        "/dataservice/users/login",
        None,
        "application/json",
        Some(&json!({"username": "admin", "password": password})),
    );
    let root = serde_json::from_str::<Value>(&text).expect("login reply")["token"]
        .as_str()
        .expect("token")
        .to_string();

    let good: Vec<u8> = (0..120_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let bad: Vec<u8> = (0..90_000u32).map(|i| (i * 13 % 241) as u8).collect();
    std::fs::write(d.dir.path().join("demo/clip/good.bin"), &good).expect("write");
    std::fs::write(d.dir.path().join("demo/clip/bad.bin"), &bad).expect("write");
    let body = json_call(
        &d,
        "POST",
        "/manager/requests/archive",
        &root,
        Some(
            json!({"objectName": "o1", "collectionName": "news", "components": ["clip"],
            "media": "default", "sourceServer": "demo"}),
        ),
    );
    let id = body["requestId"].as_u64().expect("request id");
    assert_eq!(finish(&d, &root, id), "COMPLETED");
    let info = json_call(
        &d,
        "GET",
        "/manager/object/info?objectName=o1&collectionName=news",
        &root,
        None,
    );
    let barcode = info["instances"][0]["tapes"][0]
        .as_str()
        .unwrap_or_else(|| panic!("no tape in {info}"))
        .to_string();

    // Known tape, never verified; unknown tape.
    let (status, _, text) = http(
        &d,
        "GET",
        &format!("/manager/bitIntegrity/{barcode}"),
        Some(&root),
        "*/*",
        None,
    );
    assert_diva(status, &text, 404, 1038);
    let (code, _, err) = tapectl(&d, &["bit-integrity", &barcode]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("DIVA_ERR_COMPONENT_NOT_FOUND (1038)"), "{err}");
    let (status, _, text) = http(
        &d,
        "GET",
        "/manager/bitIntegrity/NOPE01L8",
        Some(&root),
        "*/*",
        None,
    );
    assert_diva(status, &text, 404, 1033);

    // A clean verify: every row VALID, SUCCESS.
    assert_eq!(verify(&d, &root, &barcode), "COMPLETED");
    let path = format!("/manager/bitIntegrity/{barcode}");
    let (status, headers, tsv) = http(&d, "GET", &path, Some(&root), "*/*", None);
    assert_eq!(status, 200, "{tsv}");
    assert_eq!(
        header(&headers, "bit-integrity-report-result"),
        Some("success"),
        "{headers}"
    );
    assert_eq!(tsv.lines().count(), 3, "{tsv}");
    assert_eq!(tsv.matches("\tVALID\t").count(), 2, "{tsv}");

    // Corrupt one file on the simulated cartridge and verify again.
    flip_on_tape(&d.dir.path().join("sim"), &barcode, &bad[40_000..40_064]);
    assert_eq!(verify(&d, &root, &barcode), "PARTIALLY_COMPLETED");

    // A plain user may read it; TSV by default, with DuraCloud's headers.
    json_call(
        &d,
        "POST",
        "/dataservice/users",
        &root,
        Some(json!({"username": "reader", "password": "password-1", "role": "user"})),
    );
    let (_, _, text) = http(
        &d,
        "POST",
        "/dataservice/users/login",
        None,
        "application/json",
        Some(&json!({"username": "reader", "password": "password-1"})),
    );
    let user = serde_json::from_str::<Value>(&text).expect("login reply")["token"]
        .as_str()
        .expect("token")
        .to_string();
    let (status, headers, tsv) = http(&d, "GET", &path, Some(&user), "*/*", None);
    assert_eq!(status, 200, "{tsv}");
    assert!(
        header(&headers, "content-type")
            .is_some_and(|c| c.starts_with("text/tab-separated-values")),
        "{headers}"
    );
    assert_eq!(
        header(&headers, "bit-integrity-report-result"),
        Some("failure"),
        "{headers}"
    );
    let date = header(&headers, "bit-integrity-report-completion-date").expect("date header");
    assert_eq!(date.len(), "yyyy-mm-ddthh:mm:ss".len(), "{date}");
    let lines: Vec<&str> = tsv.lines().collect();
    assert!(lines[0].starts_with("date-checked\ttape\tobject"), "{tsv}");
    let failed: Vec<Vec<&str>> = lines[1..]
        .iter()
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|c| c[5] != "VALID")
        .collect();
    assert_eq!(failed.len(), 1, "{tsv}");
    let row = &failed[0];
    assert_eq!(
        (row[1], row[2], row[4]),
        (barcode.as_str(), "news/o1", "clip/bad.bin")
    );
    assert!(row[5] == "MISMATCH" || row[5] == "UNREADABLE", "{tsv}");
    assert_eq!(row[6], format!("{:08x}", crc32fast::hash(&bad)), "{tsv}");
    assert_ne!(row[7], row[6], "{tsv}");

    // The same report as JSON rows, by Accept and by query parameter.
    for (accept, query) in [("application/json", ""), ("*/*", "?format=json")] {
        let (status, _, text) = http(
            &d,
            "GET",
            &format!("{path}{query}"),
            Some(&user),
            accept,
            None,
        );
        assert_eq!(status, 200, "{text}");
        let v: Value = serde_json::from_str(&text).expect("JSON report");
        assert_eq!(v["result"], "FAILURE", "{v}");
        assert_eq!(v["barcode"], barcode.as_str(), "{v}");
        let rows = v["rows"].as_array().expect("rows");
        assert_eq!(rows.len(), 2, "{v}");
        let bad_row = rows
            .iter()
            .find(|r| r["result"] != "VALID")
            .expect("a failed row");
        assert_eq!(bad_row["file"], "clip/bad.bin");
        assert_eq!(bad_row["collectionName"], "news");
        assert_eq!(bad_row["objectName"], "o1");
        assert_eq!(bad_row["expectedChecksum"], row[6]);
        assert_eq!(bad_row["computedChecksum"], row[7]);
    }
    let (status, _, text) = http(
        &d,
        "GET",
        &format!("{path}?format=xml"),
        Some(&user),
        "*/*",
        None,
    );
    assert_diva(status, &text, 400, 1008);
    let (status, _, text) = http(&d, "GET", &path, None, "*/*", None);
    assert_diva(status, &text, 403, 1035);
}
