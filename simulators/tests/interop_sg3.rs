//! `tapeinfo` and sg3_utils against the simulator through the SG_IO interposer.

mod socket_common;

use std::path::Path;
use std::time::Duration;

use socket_common::{tool, SimServer, CONFIG};
use tapelib_scsi::transport::{DataPhase, ScsiTransport};
use tapelib_sim::client::SimSocketTransport;

/// Value after `key` on the line that contains it (`key: value` or `key=value`).
fn field<'a>(out: &'a str, key: &str) -> Option<&'a str> {
    out.lines().find_map(|l| {
        let (_, rest) = l.split_once(key)?;
        Some(rest.trim_start_matches([':', '=', ' ']).trim())
    })
}

/// The bytes of an `sg_raw -r` hex dump ("Received N bytes of data:" then offset + hex lines).
fn sg_raw_bytes(out: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut in_data = false;
    for line in out.lines() {
        if line.contains("bytes of data") {
            in_data = true;
            continue;
        }
        if !in_data {
            continue;
        }
        let mut words = line.split_whitespace();
        if words.next().is_none() {
            break;
        }
        // Hex bytes come before the two-space gap that starts the ASCII column.
        let hex = line.get(..57.min(line.len())).unwrap_or(line);
        for w in hex.split_whitespace().skip(1) {
            if w.len() == 2 {
                if let Ok(b) = u8::from_str_radix(w, 16) {
                    bytes.push(b);
                }
            }
        }
    }
    bytes
}

/// Runs sg_raw, insisting on success; returns stdout and stderr (sg_raw writes the data dump
/// and the status to different streams depending on the version).
fn raw_ok(sim: &SimServer, sg_raw: &Path, args: &[&str]) -> String {
    let out = sim.run_tool(sg_raw, args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "sg_raw {args:?}: {text}");
    text
}

fn dev(sim: &SimServer, name: &str) -> String {
    sim.device(name).to_str().unwrap().to_owned()
}

/// Clears the power-on UNIT ATTENTION with TEST UNIT READY until it succeeds.
fn wait_ready(sim: &SimServer, sg_turs: &Path, device: &str) {
    let d = dev(sim, device);
    for _ in 0..5 {
        if sim.run_tool(sg_turs, &[&d]).status.success() {
            return;
        }
    }
    panic!("{device} never became ready");
}

/// Writes `n` records of 4 KiB and a filemark on drive 0 over the socket, then rewinds.
fn write_records(sim: &SimServer, n: usize) {
    let mut t = SimSocketTransport::connect(sim.dir(), "drive0").unwrap();
    let timeout = Duration::from_secs(30);
    for _ in 0..5 {
        if t.execute(&[0; 6], DataPhase::None, timeout)
            .unwrap()
            .status
            .is_good()
        {
            break;
        }
    }
    let record = vec![0x5au8; 4096];
    for _ in 0..n {
        let c = t
            .execute(&[0x0a, 0, 0, 0x10, 0, 0], DataPhase::Out(&record), timeout)
            .unwrap();
        assert!(c.status.is_good(), "WRITE: {:02x?}", c.sense);
    }
    let c = t
        .execute(&[0x10, 0, 0, 0, 1, 0], DataPhase::None, timeout)
        .unwrap();
    assert!(c.status.is_good());
    let c = t
        .execute(&[0x01, 0, 0, 0, 0, 0], DataPhase::None, timeout)
        .unwrap();
    assert!(c.status.is_good());
}

#[test]
fn tapeinfo_reports_identity_limits_density_and_ready() {
    let Some(tapeinfo) = tool("tapeinfo") else {
        return;
    };
    let sim = SimServer::start(CONFIG);
    let d = dev(&sim, "drive0");
    // The first run may meet the power-on UNIT ATTENTION; tapeinfo reports it and goes on.
    let _ = sim.run_tool(&tapeinfo, &["-f", &d]);
    let out = sim.tool_ok(&tapeinfo, &["-f", &d]);
    assert_eq!(field(&out, "Product Type"), Some("Tape Drive"), "{out}");
    assert_eq!(field(&out, "Vendor ID"), Some("'IBM     '"));
    assert_eq!(field(&out, "Product ID"), Some("'ULT3580-TD8     '"));
    assert_eq!(field(&out, "SerialNumber"), Some("'1013000001'"));
    assert_eq!(field(&out, "Ready"), Some("yes"), "{out}");
    assert_eq!(field(&out, "Density Code"), Some("0x5e"), "{out}");
    assert_eq!(field(&out, "BOP"), Some("yes"));
    assert_eq!(field(&out, "Block Position"), Some("0"));
    // READ BLOCK LIMITS (SSC-4 7.6): variable blocks of 1 byte up to at least 512 KiB.
    let max: u64 = field(&out, "MaxBlock").expect("MaxBlock").parse().unwrap();
    let min: u64 = field(&out, "MinBlock").expect("MinBlock").parse().unwrap();
    assert!(max >= 512 * 1024, "MaxBlock {max}");
    assert_eq!(min, 1);
    // The SCSI address comes from SG_GET_SCSI_ID / SCSI_IOCTL_GET_IDLUN.
    assert_eq!(field(&out, "SCSI ID"), Some("1"));
    let out1 = sim.tool_ok(&tapeinfo, &["-f", &dev(&sim, "drive1")]);
    assert_eq!(field(&out1, "SerialNumber"), Some("'1013000002'"));
    assert_eq!(field(&out1, "SCSI ID"), Some("2"));
    assert_eq!(field(&out1, "Ready"), Some("no"), "{out1}");
}

#[test]
fn sg_inq_standard_and_serial_page() {
    let Some(sg_inq) = tool("sg_inq") else { return };
    let sim = SimServer::start(CONFIG);
    let out = sim.tool_ok(&sg_inq, &[&dev(&sim, "drive0")]);
    assert!(out.contains("Peripheral device type: tape"), "{out}");
    assert_eq!(field(&out, "Vendor identification"), Some("IBM"));
    assert_eq!(field(&out, "Product identification"), Some("ULT3580-TD8"));
    let out = sim.tool_ok(&sg_inq, &["--page=0x80", &dev(&sim, "drive0")]);
    assert_eq!(
        field(&out, "Unit serial number:"),
        Some("1013000001"),
        "{out}"
    );

    let out = sim.tool_ok(&sg_inq, &[&dev(&sim, "changer0")]);
    assert!(out.contains("medium changer"), "{out}");
    assert_eq!(field(&out, "Product identification"), Some("3573-TL"));
    let out = sim.tool_ok(&sg_inq, &["--page=0x80", &dev(&sim, "changer0")]);
    assert_eq!(
        field(&out, "Unit serial number:"),
        Some("SIMLIB0001"),
        "{out}"
    );
}

#[test]
fn sg_turs_ready_and_not_ready() {
    let Some(sg_turs) = tool("sg_turs") else {
        return;
    };
    let sim = SimServer::start(CONFIG);
    wait_ready(&sim, &sg_turs, "drive0");
    sim.tool_ok(&sg_turs, &[&dev(&sim, "drive0")]);
    // drive1 holds no cartridge: NOT READY, medium not present (02/3A/00).
    let d1 = dev(&sim, "drive1");
    let mut last = None;
    for _ in 0..3 {
        let out = sim.run_tool(&sg_turs, &[&d1]);
        last = Some(out);
    }
    let out = last.unwrap();
    assert!(!out.status.success());
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(text.to_lowercase().contains("not ready"), "{text}");
}

#[test]
fn sg_logs_tapealert_and_volume_statistics() {
    let Some(sg_logs) = tool("sg_logs") else {
        return;
    };
    let Some(sg_turs) = tool("sg_turs") else {
        return;
    };
    let sim = SimServer::start(CONFIG);
    wait_ready(&sim, &sg_turs, "drive0");
    write_records(&sim, 3);
    let d = dev(&sim, "drive0");
    let out = sim.tool_ok(&sg_logs, &["--page=0x2e", &d]);
    assert!(out.contains("Tape alert page"), "{out}");
    assert_eq!(field(&out, "Hard error"), Some("0"));
    assert_eq!(field(&out, "Read warning"), Some("0"));

    let out = sim.tool_ok(&sg_logs, &["--page=0x17", &d]);
    assert!(out.contains("Volume statistics page"), "{out}");
    assert_eq!(field(&out, "Volume barcode"), Some("A00005L8"), "{out}");
    let sets: u64 = field(&out, "Total data sets written")
        .and_then(|v| v.parse().ok())
        .expect("data sets written");
    assert!(sets >= 1, "{out}");
    assert_eq!(field(&out, "Write protect"), Some("0"));
}

#[test]
fn sg_modes_element_address_and_partition_pages() {
    let Some(sg_modes) = tool("sg_modes") else {
        return;
    };
    let Some(sg_turs) = tool("sg_turs") else {
        return;
    };
    let sim = SimServer::start(CONFIG);
    let out = sim.tool_ok(&sg_modes, &["--page=0x1d", &dev(&sim, "changer0")]);
    assert!(out.contains("Element address assignment"), "{out}");
    // Page bytes (SMC-3 7.3.4): transport 1 x1, storage 4096 x10, I/E 16 x2, drives 256 x2.
    let page = sg_raw_page(&out);
    assert_eq!(page.first(), Some(&0x1d), "{out}");
    assert_eq!(
        page.get(2..20).unwrap(),
        [0, 1, 0, 1, 0x10, 0, 0, 10, 0, 16, 0, 2, 1, 0, 0, 2, 0, 0]
    );

    wait_ready(&sim, &sg_turs, "drive0");
    let out = sim.tool_ok(&sg_modes, &["--page=0x11", &dev(&sim, "drive0")]);
    assert!(out.contains("Medium Partition"), "{out}");
    assert!(out.contains("Density code=0x5e"), "{out}");
    let page = sg_raw_page(&out);
    assert_eq!(page.first(), Some(&0x11), "{out}");
}

/// Hex bytes of the first mode page `sg_modes` dumps (the lines after ">> ...").
fn sg_raw_page(out: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut in_page = false;
    for line in out.lines() {
        if line.starts_with(">>") {
            in_page = true;
            continue;
        }
        if in_page {
            let mut words = line.split_whitespace();
            if words.next().is_none() {
                break;
            }
            for w in words {
                match u8::from_str_radix(w, 16) {
                    Ok(b) if w.len() == 2 => bytes.push(b),
                    _ => break,
                }
            }
        }
    }
    bytes
}

#[test]
fn sg_read_attr_reads_the_loaded_cartridge_mam() {
    let Some(sg_read_attr) = tool("sg_read_attr") else {
        return;
    };
    let Some(sg_turs) = tool("sg_turs") else {
        return;
    };
    let sim = SimServer::start(CONFIG);
    wait_ready(&sim, &sg_turs, "drive0");
    let d = dev(&sim, "drive0");
    let out = sim.tool_ok(&sg_read_attr, &[&d]);
    let max: u64 = field(&out, "Maximum capacity in partition [MiB]")
        .and_then(|v| v.parse().ok())
        .expect("maximum capacity");
    let remaining: u64 = field(&out, "Remaining capacity in partition [MiB]")
        .and_then(|v| v.parse().ok())
        .expect("remaining capacity");
    assert!(remaining <= max && max > 10_000_000, "{out}");
    assert_eq!(field(&out, "Medium density code"), Some("0x5e"), "{out}");
    let loads: u64 = field(&out, "Load count")
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(loads >= 1);
    // The volume change reference moves when the medium is written (LTFS relies on it).
    let vcr = |o: &str| field(o, "Volume change reference").map(str::to_owned);
    let before = vcr(&out).expect("VCR");
    write_records(&sim, 1);
    let after = vcr(&sim.tool_ok(&sg_read_attr, &[&d])).unwrap();
    assert_ne!(before, after);
}

#[test]
fn sg_raw_read_position_and_locate() {
    let Some(sg_raw) = tool("sg_raw") else { return };
    let Some(sg_turs) = tool("sg_turs") else {
        return;
    };
    let sim = SimServer::start(CONFIG);
    wait_ready(&sim, &sg_turs, "drive0");
    write_records(&sim, 5);
    let d = dev(&sim, "drive0");

    // READ POSITION long form (SSC-4 7.7, service action 06h): at BOP, object 0.
    let out = raw_ok(
        &sim,
        &sg_raw,
        &[
            "-r", "32", &d, "34", "06", "00", "00", "00", "00", "00", "00", "00", "00",
        ],
    );
    let data = sg_raw_bytes(&out);
    assert_eq!(data.len(), 32, "{out}");
    assert_eq!(data[0] & 0x80, 0x80, "BOP bit: {data:02x?}");
    assert_eq!(u64::from_be_bytes(data[8..16].try_into().unwrap()), 0);

    // LOCATE(10) to block 3 (SSC-4 7.4), then READ POSITION short form.
    raw_ok(
        &sim,
        &sg_raw,
        &[
            &d, "2b", "00", "00", "00", "00", "00", "03", "00", "00", "00",
        ],
    );
    let out = raw_ok(
        &sim,
        &sg_raw,
        &[
            "-r", "20", &d, "34", "00", "00", "00", "00", "00", "00", "00", "00", "00",
        ],
    );
    let data = sg_raw_bytes(&out);
    assert_eq!(data.len(), 20, "{out}");
    assert_eq!(data[0] & 0x80, 0, "not at BOP: {data:02x?}");
    assert_eq!(u32::from_be_bytes(data[4..8].try_into().unwrap()), 3);

    // LOCATE(16) to object 5 (the filemark), long form reports it.
    raw_ok(
        &sim,
        &sg_raw,
        &[
            &d, "92", "00", "00", "00", "00", "00", "00", "00", "00", "00", "00", "05", "00", "00",
            "00", "00",
        ],
    );
    let out = raw_ok(
        &sim,
        &sg_raw,
        &[
            "-r", "32", &d, "34", "06", "00", "00", "00", "00", "00", "00", "00", "00",
        ],
    );
    let data = sg_raw_bytes(&out);
    assert_eq!(u64::from_be_bytes(data[8..16].try_into().unwrap()), 5);
    // Past the filemark: end of data gives BLANK CHECK.
    let out = sim.run_tool(
        &sg_raw,
        &[
            &d, "92", "00", "00", "00", "00", "00", "00", "00", "00", "00", "00", "09", "00", "00",
            "00", "00",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Blank Check"), "{err}");
}

#[test]
fn unreachable_server_is_an_io_error_and_other_files_are_untouched() {
    let Some(sg_inq) = tool("sg_inq") else { return };
    let mut sim = SimServer::start(CONFIG);
    let d = dev(&sim, "drive0");
    sim.tool_ok(&sg_inq, &[&d]);
    sim.kill9();
    let out = sim.run_tool(&sg_inq, &[&d]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Input/output error"), "{err}");

    // A regular file outside the state directory gets libc's answer (ENOTTY), not ours.
    let other = tempfile::NamedTempFile::new().unwrap();
    let out = sim.run_tool(&sg_inq, &[other.path().to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("Input/output error"), "{err}");
}

#[test]
fn sg_raw_hex_dump_parser() {
    let out = "SCSI Status: Good \n\nReceived 20 bytes of data:\n 00     80 00 00 00 00 00 00 03  00 00 00 00 00 00 00 00    ................\n 10     00 00 00 01                                         ....\n";
    let b = sg_raw_bytes(out);
    assert_eq!(b.len(), 20);
    assert_eq!(b[0], 0x80);
    assert_eq!(b[7], 3);
    assert_eq!(b[19], 1);
}
