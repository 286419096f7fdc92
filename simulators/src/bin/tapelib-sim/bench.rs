//! `tapelib-sim bench`: sequential write and read throughput of a simulated drive, in process
//! (`SimTransport`), over the socket (`SimSocketTransport`) and through the SG_IO interposer,
//! against plain sequential file I/O of the same bytes on the same disk in the same run.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use clap::Args;

use tapelib_scsi::sg::{AlignedBuf, SgDevice};
use tapelib_scsi::transport::{DataPhase, ScsiTransport};
use tapelib_sim::client::SimSocketTransport;
use tapelib_sim::config::{CartridgeConfig, LibraryConfig, SlotRef};
use tapelib_sim::library::{cartridge_dir, Library};
use tapelib_sim::server::{device_path, Server};

const TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Args)]
pub struct BenchArgs {
    /// Bytes written and read per mode and record size (suffixes K, M, G: powers of 1024).
    #[arg(long, default_value = "4G", value_parser = parse_size)]
    bytes: u64,
    /// Directory for the plain files and the simulator state (default: a new directory under
    /// the system temporary directory). It is removed afterwards unless --keep.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Record sizes (comma separated).
    #[arg(long, value_delimiter = ',', default_value = "256K,512K", value_parser = parse_size)]
    record_sizes: Vec<u64>,
    /// The interposer library (default: libtapelib_sgshim.so next to this executable).
    #[arg(long)]
    shim: Option<PathBuf>,
    /// Keep the benchmark directory.
    #[arg(long)]
    keep: bool,
    /// Read back from the page cache as the writes left it, for the plain file and the
    /// cartridge alike (default: both are fsynced and their pages dropped before reading).
    #[arg(long)]
    warm: bool,
    /// Internal: run the SG_IO loop in this process (the interposer child).
    #[arg(long, hide = true, requires = "sgio_record")]
    sgio_device: Option<PathBuf>,
    #[arg(long, hide = true)]
    sgio_record: Option<u64>,
    /// Internal: the interposer child's cartridge directory, dropped from the cache before
    /// reading.
    #[arg(long, hide = true)]
    sgio_cold: Option<PathBuf>,
}

fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mul) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let mul = match c.to_ascii_uppercase() {
                'K' => 1u64 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => return Err(format!("unknown size suffix in {s:?}")),
            };
            (s.get(..i).unwrap_or(""), mul)
        }
        _ => (s, 1),
    };
    let n: u64 = num.parse().map_err(|_| format!("invalid size {s:?}"))?;
    n.checked_mul(mul)
        .filter(|&v| v > 0)
        .ok_or_else(|| format!("size {s:?} out of range"))
}

/// Write and read throughput of one mode, in bytes per second.
#[derive(Clone, Copy, serde::Serialize, serde::Deserialize)]
struct Rates {
    write: f64,
    read: f64,
}

pub fn run(args: BenchArgs) -> Result<()> {
    if let (Some(dev), Some(record)) = (&args.sgio_device, args.sgio_record) {
        let rates = sgio_child(dev, args.bytes, record, args.sgio_cold.as_deref())?;
        println!("{}", serde_json::to_string(&rates)?);
        return Ok(());
    }
    let builder = {
        let mut b = tempfile::Builder::new();
        b.prefix("tapelib-bench-");
        b
    };
    let tmp = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            builder.tempdir_in(d)?
        }
        None => builder.tempdir()?,
    };
    let dir = tmp.path().to_path_buf();
    // Dropping `tmp` removes the directory; `keep` leaves it.
    let _tmp = if args.keep {
        let _ = tmp.keep();
        None
    } else {
        Some(tmp)
    };
    let shim = args.shim.clone().or_else(default_shim);

    println!(
        "tapelib-sim bench: {} per mode and record size, in {}",
        human(args.bytes),
        dir.display()
    );
    if args.warm {
        println!(
            "reads: warm for every mode (plain file and cartridge files read back from the page cache as the writes left it)\n"
        );
    } else {
        println!(
            "reads: cold for every mode (plain file and cartridge files fsynced, then their pages dropped with posix_fadvise(DONTNEED))\n"
        );
    }
    println!(
        "{:<8} {:<12} {:>12} {:>8} {:>12} {:>8}",
        "RECORD", "MODE", "WRITE MB/s", "RATIO", "READ MB/s", "RATIO"
    );
    for &record in &args.record_sizes {
        ensure!(
            record <= 0xff_ffff,
            "record size {record} exceeds the 24-bit READ(6)/WRITE(6) transfer length"
        );
        let count = args.bytes.div_ceil(record);
        let bytes = count * record;
        let plain = plain_file(&dir.join("plain.bin"), bytes, record as usize, !args.warm)?;
        row(record, "plain file", plain, plain);

        let state = dir.join(format!("state-{record}"));
        let library = Library::open(bench_config(), &state)
            .with_context(|| format!("opening a library in {}", state.display()))?;
        let cartridge = cartridge_dir(&state, BENCH_BARCODE);
        let cold = (!args.warm).then_some(cartridge.as_path());
        let in_process = {
            let mut t = library.transport("drive0")?;
            drive_rates(&mut t, bytes, record as usize, cold)?
        };
        row(record, "in process", in_process, plain);

        let server = Server::bind(library.clone(), &state)?.spawn()?;
        let socket = {
            let mut t = SimSocketTransport::connect(&state, "drive0")?;
            drive_rates(&mut t, bytes, record as usize, cold)?
        };
        row(record, "socket", socket, plain);

        match &shim {
            Some(shim) => {
                let r = sgio_parent(shim, &state, bytes, record, cold)?;
                row(record, "interposer", r, plain);
            }
            None => println!(
                "{:<8} {:<12} skipped: libtapelib_sgshim.so not found (cargo build -p tapelib-sgshim, or --shim)",
                human(record),
                "interposer"
            ),
        }
        server.shutdown();
        // Open connection threads hold the library until they notice the closed socket.
        std::thread::sleep(Duration::from_millis(50));
        drop(library);
        let _ = std::fs::remove_dir_all(&state);
    }
    Ok(())
}

fn row(record: u64, mode: &str, r: Rates, plain: Rates) {
    println!(
        "{:<8} {:<12} {:>12.0} {:>8.2} {:>12.0} {:>8.2}",
        human(record),
        mode,
        r.write / 1e6,
        r.write / plain.write,
        r.read / 1e6,
        r.read / plain.read
    );
}

fn human(n: u64) -> String {
    for (unit, shift) in [("G", 30), ("M", 20), ("K", 10)] {
        if n >= 1 << shift && n & ((1 << shift) - 1) == 0 {
            return format!("{}{unit}", n >> shift);
        }
    }
    n.to_string()
}

fn default_shim() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    [
        dir.join("libtapelib_sgshim.so"),
        dir.join("../libtapelib_sgshim.so"),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

const BENCH_BARCODE: &str = "BENCH0L9";

/// One LTO-9 drive with a cartridge already in it, time scale 0.
fn bench_config() -> LibraryConfig {
    let mut config = LibraryConfig {
        time_scale: 0.0,
        ..LibraryConfig::default()
    };
    config.drives.truncate(1);
    if let Some(d) = config.drives.first_mut() {
        d.generation = tapelib_sim::media::LtoGeneration::Lto9;
    }
    config.cartridges.push(CartridgeConfig {
        barcode: BENCH_BARCODE.into(),
        generation: None,
        slot: Some(SlotRef::Drive(0)),
        write_protect: false,
        capacity: None,
    });
    config
}

fn data_pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0])
        .collect()
}

/// Makes every file under `path` durable and drops its pages from the page cache, so the
/// next read comes from the disk (posix_fadvise(POSIX_FADV_DONTNEED) only drops clean pages,
/// hence the fsync first).
fn drop_cached(path: &Path) -> Result<()> {
    let meta = std::fs::metadata(path).with_context(|| format!("{}", path.display()))?;
    if meta.is_dir() {
        for entry in std::fs::read_dir(path)? {
            drop_cached(&entry?.path())?;
        }
        return Ok(());
    }
    if !meta.is_file() {
        return Ok(());
    }
    let f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    f.sync_all()
        .with_context(|| format!("fsync {}", path.display()))?;
    // SAFETY: fadvise on an open descriptor; offset 0 and length 0 cover the whole file.
    let rc = unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    ensure!(
        rc == 0,
        "posix_fadvise(DONTNEED) on {}: {}",
        path.display(),
        std::io::Error::from_raw_os_error(rc)
    );
    Ok(())
}

fn plain_file(path: &Path, bytes: u64, record: usize, cold: bool) -> Result<Rates> {
    // Page-aligned buffers: the SG_IO path hands them to the kernel (here the interposer)
    // without a bounce copy, as a real application would.
    let pattern = data_pattern(record);
    let mut buf = AlignedBuf::new(record);
    buf.copy_from_slice(&pattern);
    let count = bytes / record as u64;
    let start = Instant::now();
    let mut f = File::create(path)?;
    for _ in 0..count {
        f.write_all(&buf)?;
    }
    f.sync_all()?;
    let write = bytes as f64 / start.elapsed().as_secs_f64();
    drop(f);
    if cold {
        drop_cached(path)?;
    }
    let mut rbuf = AlignedBuf::new(record);
    let start = Instant::now();
    let mut f = File::open(path)?;
    for _ in 0..count {
        f.read_exact(&mut rbuf)?;
    }
    let read = bytes as f64 / start.elapsed().as_secs_f64();
    std::fs::remove_file(path)?;
    Ok(Rates { write, read })
}

fn cdb6(op: u8, len: usize, flags: u8) -> [u8; 6] {
    let l = (len as u32).to_be_bytes();
    [op, flags, l[1], l[2], l[3], 0]
}

/// Sends a command and insists on GOOD status.
fn run_cmd<T: ScsiTransport>(t: &mut T, cdb: &[u8], data: DataPhase<'_>) -> Result<usize> {
    let c = t.execute(cdb, data, TIMEOUT)?;
    if !c.status.is_good() {
        bail!(
            "opcode 0x{:02x}: status 0x{:02x}, sense {:02x?}",
            cdb.first().copied().unwrap_or(0),
            c.status.0,
            c.sense
        );
    }
    Ok(c.transferred)
}

/// Waits for the drive to report ready, consuming unit attentions.
fn wait_ready<T: ScsiTransport>(t: &mut T) -> Result<()> {
    let mut last = String::new();
    for _ in 0..20 {
        let c = t.execute(&[0u8; 6], DataPhase::None, TIMEOUT)?;
        if c.status.is_good() {
            return Ok(());
        }
        last = format!("sense {:02x?}", c.sense);
    }
    bail!("drive never became ready: {last}")
}

/// Writes `bytes` in variable-length records (WRITE(6), SSC-4 6.x), a synchronous filemark to
/// make them durable, then rewinds and reads them back; with `cold`, the cartridge's files are
/// dropped from the page cache before reading, as the plain file's are.
fn drive_rates<T: ScsiTransport>(
    t: &mut T,
    bytes: u64,
    record: usize,
    cold: Option<&Path>,
) -> Result<Rates> {
    wait_ready(t)?;
    run_cmd(t, &[0x01, 0, 0, 0, 0, 0], DataPhase::None)?;
    // Page-aligned buffers: the SG_IO path hands them to the kernel (here the interposer)
    // without a bounce copy, as a real application would.
    let pattern = data_pattern(record);
    let mut buf = AlignedBuf::new(record);
    buf.copy_from_slice(&pattern);
    let count = bytes / record as u64;
    let wcdb = cdb6(0x0a, record, 0);
    let start = Instant::now();
    for _ in 0..count {
        run_cmd(t, &wcdb, DataPhase::Out(&buf))?;
    }
    run_cmd(t, &[0x10, 0, 0, 0, 1, 0], DataPhase::None)?;
    let write = bytes as f64 / start.elapsed().as_secs_f64();
    run_cmd(t, &[0x01, 0, 0, 0, 0, 0], DataPhase::None)?;
    if let Some(dir) = cold {
        drop_cached(dir)?;
    }
    let mut rbuf = AlignedBuf::new(record);
    let rcdb = cdb6(0x08, record, 0);
    let start = Instant::now();
    for i in 0..count {
        let n = run_cmd(t, &rcdb, DataPhase::In(&mut rbuf))?;
        ensure!(n == record, "record {i}: read {n} of {record} bytes");
    }
    let read = bytes as f64 / start.elapsed().as_secs_f64();
    ensure!(
        rbuf[..] == buf[..],
        "the last record read back differs from what was written"
    );
    Ok(Rates { write, read })
}

/// Re-executes this binary with the interposer preloaded, running the SG_IO loop on the device
/// file while this process keeps serving.
fn sgio_parent(
    shim: &Path,
    state: &Path,
    bytes: u64,
    record: u64,
    cold: Option<&Path>,
) -> Result<Rates> {
    let exe = std::env::current_exe()?;
    let mut cmd = Command::new(exe);
    cmd.arg("bench");
    if let Some(dir) = cold {
        cmd.arg("--sgio-cold").arg(dir);
    }
    let out = cmd
        .arg("--bytes")
        .arg(bytes.to_string())
        .arg("--sgio-device")
        .arg(device_path(state, "drive0"))
        .arg("--sgio-record")
        .arg(record.to_string())
        .env("LD_PRELOAD", shim)
        .env("TAPELIB_SIM_STATE_DIR", state)
        .output()
        .context("running the interposer benchmark")?;
    ensure!(
        out.status.success(),
        "interposer benchmark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or("");
    serde_json::from_str(line).with_context(|| format!("interposer benchmark output {line:?}"))
}

fn sgio_child(dev: &Path, bytes: u64, record: u64, cold: Option<&Path>) -> Result<Rates> {
    let mut t = SgDevice::open(dev).with_context(|| format!("opening {}", dev.display()))?;
    drive_rates(&mut t, bytes, record as usize, cold)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_size("4G").unwrap(), 4 << 30);
        assert_eq!(parse_size("256K").unwrap(), 256 << 10);
        assert_eq!(parse_size("512k").unwrap(), 512 << 10);
        assert_eq!(parse_size("1000").unwrap(), 1000);
        assert!(parse_size("0").is_err());
        assert!(parse_size("12X").is_err());
        assert!(parse_size("G").is_err());
        assert!(parse_size("99999999999T").is_err());
        assert_eq!(human(512 << 10), "512K");
        assert_eq!(human(1 << 30), "1G");
        assert_eq!(human(1000), "1000");
    }
}
