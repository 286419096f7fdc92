//! The REST facade over HTTPS inside a real `tapelibd`: a self-signed certificate made at
//! test time, a client that trusts it logs in; plain HTTP to the TLS port gets no answer;
//! plain HTTP on a non-loopback address and unreadable certificate files stop the start.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

mod rest_common;
use rest_common::{free_port, wait_listening};

const SIM: &str = r#"
storage_slots = 2
ie_slots = 1
time_scale = 0.0

[[drive]]
generation = "LTO-8"
serial = "1013000001"

[[cartridge]]
barcode = "A00001L8"
slot = 1
"#;

/// A daemon configuration with gRPC on `grpc` and no REST address (tests give `--rest`).
fn write_config(dir: &Path, grpc: u16) -> PathBuf {
    std::fs::write(dir.join("sim.toml"), SIM).expect("write simulator config");
    let config = format!(
        r#"
catalog = "catalog"

[listen]
grpc = "127.0.0.1:{grpc}"

[auth]
argon2_memory_kib = 64
argon2_iterations = 1

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

/// A self-signed certificate for 127.0.0.1 and localhost: (cert path, key path, cert PEM).
fn self_signed(dir: &Path) -> (PathBuf, PathBuf, String) {
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
        .expect("generate certificate");
    let (cert, key) = (dir.join("rest-cert.pem"), dir.join("rest-key.pem"));
    let pem = made.cert.pem();
    std::fs::write(&cert, &pem).expect("write cert");
    std::fs::write(&key, made.key_pair.serialize_pem()).expect("write key");
    (cert, key, pem)
}

fn tapelibd(config: &Path, args: &[&std::ffi::OsStr]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tapelibd"));
    cmd.arg("--config")
        .arg(config)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null());
    cmd
}

/// Runs a start that must fail and returns its output.
fn failed_start(mut cmd: Command) -> Output {
    let out = cmd.output().expect("tapelibd runs");
    assert!(
        !out.status.success(),
        "tapelibd should have refused to start: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

#[test]
fn https_login_works_and_plain_http_gets_no_answer() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (grpc, rest) = (free_port(), free_port());
    let config = write_config(dir.path(), grpc);
    let (cert, key, pem) = self_signed(dir.path());
    let addr = format!("127.0.0.1:{rest}");
    let mut cmd = tapelibd(
        &config,
        &[
            "--rest".as_ref(),
            addr.as_ref(),
            "--tls-cert".as_ref(),
            cert.as_os_str(),
            "--tls-key".as_ref(),
            key.as_os_str(),
        ],
    );
    let mut daemon = Running(
        cmd.stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("tapelibd starts"),
    );
    wait_listening(&mut daemon.0, &addr);
    let password = std::fs::read_to_string(dir.path().join("initial-sysadmin-password"))
        .expect("password file")
        .trim()
        .to_string();

    let client = reqwest::blocking::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).expect("cert"))
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let base = format!("https://{addr}");
    let resp = client
        .post(format!("{base}/dataservice/users/login"))
        .json(&json!({"username": "admin", "password": password}))
        .send()
        .expect("HTTPS login");
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().expect("JSON");
    let token = body["token"].as_str().expect("token").to_string();
    assert!(token.starts_with("Bearer "), "{token}");
    let resp = client
        .get(format!("{base}/manager/drives"))
        .header("Authorization", &token)
        .send()
        .expect("HTTPS GET");
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().expect("JSON");
    assert_eq!(body["drives"].as_array().map(Vec::len), Some(1), "{body}");

    // A client that does not trust the certificate is refused by its own TLS check.
    let untrusting = reqwest::blocking::Client::builder()
        .tls_built_in_root_certs(false)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    assert!(untrusting
        .get(format!("{base}/manager/versions"))
        .send()
        .is_err());

    // Plain HTTP to the TLS port: no HTTP answer comes back.
    let mut s = TcpStream::connect(&addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(b"GET /manager/versions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    assert!(
        !raw.starts_with(b"HTTP/"),
        "plain HTTP was answered: {:?}",
        String::from_utf8_lossy(&raw)
    );
    let plain = reqwest::blocking::Client::new();
    assert!(plain
        .get(format!("http://{addr}/manager/versions"))
        .timeout(Duration::from_secs(10))
        .send()
        .is_err());
}

#[test]
fn plain_http_off_loopback_and_bad_certificate_files_stop_the_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write_config(dir.path(), free_port());
    let (cert, key, _) = self_signed(dir.path());
    let wide = format!("0.0.0.0:{}", free_port());

    let out = failed_start(tapelibd(&config, &["--rest".as_ref(), wide.as_ref()]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refusing plain HTTP"), "{err}");
    assert!(err.contains(&wide), "{err}");

    let missing = dir.path().join("no-such-key.pem");
    let out = failed_start(tapelibd(
        &config,
        &[
            "--rest".as_ref(),
            wide.as_ref(),
            "--tls-cert".as_ref(),
            cert.as_os_str(),
            "--tls-key".as_ref(),
            missing.as_os_str(),
        ],
    ));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no-such-key.pem"), "{err}");

    // A key file given as the certificate holds no certificate.
    let out = failed_start(tapelibd(
        &config,
        &[
            "--rest".as_ref(),
            wide.as_ref(),
            "--tls-cert".as_ref(),
            key.as_os_str(),
            "--tls-key".as_ref(),
            key.as_os_str(),
        ],
    ));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("TLS certificate"), "{err}");
    assert!(err.contains("rest-key.pem"), "{err}");

    // The certificate without its key is a usage error.
    let out = failed_start(tapelibd(
        &config,
        &["--tls-cert".as_ref(), cert.as_os_str()],
    ));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--tls-key"), "{err}");

    // Allowed explicitly, plain HTTP off loopback is served.
    let mut cmd = tapelibd(
        &config,
        &[
            "--rest".as_ref(),
            wide.as_ref(),
            "--rest-allow-plain-http".as_ref(),
        ],
    );
    let mut daemon = Running(
        cmd.stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("tapelibd starts"),
    );
    let port = wide.rsplit(':').next().expect("port");
    wait_listening(&mut daemon.0, &format!("127.0.0.1:{port}"));
}
