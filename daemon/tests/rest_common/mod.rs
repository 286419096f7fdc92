//! A real `tapelibd` with its REST listener, and plain HTTP/1.1 exchanges with it, for the
//! REST tests.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A simulated library with one LTO-8 drive and two cartridges.
pub const SIM: &str = r#"
storage_slots = 4
ie_slots = 1
time_scale = 0.0

[[drive]]
generation = "LTO-8"
serial = "1013000001"

[[cartridge]]
barcode = "A00001L8"
slot = 1

[[cartridge]]
barcode = "A00002L8"
slot = 2
"#;

/// A running `tapelibd`, killed when dropped.
pub struct Daemon {
    pub child: Child,
    /// REST address, `127.0.0.1:PORT`.
    pub rest: String,
    pub dir: tempfile::TempDir,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// Waits until `addr` accepts connections; panics when `child` exits first or after 30 s.
pub fn wait_listening(child: &mut Child, addr: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("tapelibd exited early: {status}");
        }
        if TcpStream::connect(addr).is_ok() {
            return;
        }
        assert!(Instant::now() < deadline, "REST never listened on {addr}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts `tapelibd --config CONFIG` whose REST listener is on `rest` and waits for it.
pub fn spawn(config: &Path, dir: tempfile::TempDir, rest: u16) -> Daemon {
    let child = Command::new(env!("CARGO_BIN_EXE_tapelibd"))
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("tapelibd starts");
    let mut d = Daemon {
        child,
        rest: format!("127.0.0.1:{rest}"),
        dir,
    };
    wait_listening(&mut d.child, &d.rest);
    d
}

/// One HTTP/1.1 exchange (`Connection: close`): status, lowercased header block, body (with
/// chunked transfer encoding undone).
pub fn exchange(
    d: &Daemon,
    method: &str,
    path: &str,
    token: Option<&str>,
    accept: &str,
    body: Option<&[u8]>,
) -> (u16, String, String) {
    let mut s = TcpStream::connect(&d.rest).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nAccept: {accept}\r\n",
        d.rest
    );
    if let Some(t) = token {
        head.push_str(&format!("Authorization: {t}\r\n"));
    }
    if let Some(b) = body {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).expect("write");
    if let Some(b) = body {
        // A refused huge body may close the connection early; that is an answer too.
        let _ = s.write_all(b);
    }
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).to_string();
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"));
    let (headers, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let headers = headers.to_ascii_lowercase();
    let body = if headers.contains("transfer-encoding: chunked") {
        dechunk(body)
    } else {
        body.to_string()
    };
    (status, headers, body)
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((len, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(len.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}
