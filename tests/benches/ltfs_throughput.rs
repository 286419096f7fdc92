//! LTFS throughput through `Drive<SimTransport>` on the in-process simulator (time scale 0),
//! against the simulator's raw record throughput with the same drive API.
//!
//! `cargo bench -p tapelib-tests --bench ltfs_throughput`; `TAPELIB_BENCH_BYTES` sets the
//! amount per phase (default 4 GiB), `TAPELIB_BENCH_DIR` where the simulator keeps its
//! cartridges (default: the system temporary directory; a tmpfs such as `/dev/shm` takes disk
//! writeback out of the figures). Besides wall time it reports the process CPU time of each
//! phase (simulator included, it runs in process), which a busy machine disturbs less.

#[path = "../tests/ltfs_common/mod.rs"]
mod ltfs_common;

use std::io::{self, Read};
use std::time::{Duration, Instant};

use tapelib_ltfs::{format, FormatOptions, MountOptions, Volume};
use tapelib_scsi::drive::{IndexPartitionSize, ReadOutcome};

use ltfs_common::{Pattern, SimLibrary};

const RECORD: usize = 512 * 1024;
const FILE: u64 = 1024 * 1024;

const CONFIG: &str = r#"
storage_slots = 4
ie_slots = 1
time_scale = 0.0

[[drive]]
generation = "LTO-8"
serial = "1013000001"

[[cartridge]]
barcode = "RAW001L8"
slot = 1

[[cartridge]]
barcode = "FIL001L8"
slot = 2

[[cartridge]]
barcode = "ONE001L8"
slot = 3
"#;

/// Endless reader of a repeated buffer: file data costs a copy, not a generator.
struct Repeat<'a> {
    data: &'a [u8],
    at: usize,
    left: u64,
}

impl<'a> Repeat<'a> {
    fn new(data: &'a [u8], len: u64) -> Self {
        Repeat {
            data,
            at: 0,
            left: len,
        }
    }
}

impl Read for Repeat<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let avail = &self.data[self.at..];
        let n = buf
            .len()
            .min(avail.len())
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        buf[..n].copy_from_slice(&avail[..n]);
        self.at = (self.at + n) % self.data.len();
        self.left -= n as u64;
        Ok(n)
    }
}

struct Row {
    what: &'static str,
    bytes: u64,
    time: Duration,
    cpu: Duration,
    /// Records and filemarks the drive moved during the phase (simulator statistics).
    records: u64,
}

impl Row {
    fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.time.as_secs_f64()
    }

    fn cpu_mb_per_s(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.cpu.as_secs_f64()
    }
}

/// User plus system CPU time of the whole process (getrusage(2)).
fn cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_SELF is always valid.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    assert_eq!(rc, 0, "getrusage");
    // SAFETY: initialised by the successful call above.
    let usage = unsafe { usage.assume_init() };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Starts timing a phase.
struct Clock {
    wall: Instant,
    cpu: Duration,
    records: u64,
}

impl Clock {
    fn start(lib: &SimLibrary) -> Clock {
        Clock {
            records: moved(lib),
            cpu: cpu_time(),
            wall: Instant::now(),
        }
    }

    fn stop(self, lib: &SimLibrary, what: &'static str, bytes: u64) -> Row {
        let time = self.wall.elapsed();
        Row {
            what,
            bytes,
            time,
            cpu: cpu_time() - self.cpu,
            records: moved(lib) - self.records,
        }
    }
}

fn moved(lib: &SimLibrary) -> u64 {
    let s = lib.drive_stats();
    s.records_read + s.records_written + s.filemarks_written
}

fn raw(lib: &mut SimLibrary, bytes: u64, data: &[u8]) -> (Row, Row) {
    let mut drive = lib.load("RAW001L8");
    // The same medium layout as the LTFS phases: two partitions, records on the second.
    drive
        .format_partitioned(IndexPartitionSize::Fraction(0.05))
        .expect("format");
    drive.set_block_size(0).expect("variable block mode");
    drive.locate(1, 0).expect("locate");
    let records = bytes.div_ceil(RECORD as u64);
    let clock = Clock::start(lib);
    for i in 0..records {
        let at = (i as usize * 4096) % (data.len() - RECORD);
        drive.write_block(&data[at..at + RECORD]).expect("write");
    }
    drive.write_filemarks(1, false).expect("filemark");
    let write = clock.stop(lib, "raw records, write", records * RECORD as u64);
    lib.unload(drive);
    let read = raw_read(lib, write.bytes, "raw records, read");
    (write, read)
}

/// Reads the raw cartridge's records back. The first read of freshly written records runs
/// markedly slower here than the same read later in the process (page-cache state of the
/// simulator's files, not the drive model); so it is read once right after writing and once
/// after the LTFS phases, and the faster pass is the baseline (the stricter one).
fn raw_read(lib: &mut SimLibrary, expected: u64, what: &'static str) -> Row {
    let mut drive = lib.load("RAW001L8");
    drive.set_block_size(0).expect("variable block mode");
    drive.locate(1, 0).expect("locate");
    let mut buf = vec![0u8; RECORD];
    let mut read_bytes = 0u64;
    let clock = Clock::start(lib);
    while let ReadOutcome::Data(n) = drive.read_block(&mut buf).expect("read") {
        read_bytes += n as u64;
    }
    let row = clock.stop(lib, what, read_bytes);
    assert_eq!(read_bytes, expected, "raw read back everything written");
    lib.unload(drive);
    row
}

fn ltfs(lib: &mut SimLibrary, barcode: &str, bytes: u64, file: u64, data: &[u8]) -> (Row, Row) {
    let files = bytes.div_ceil(file);
    let (w, r) = if files == 1 {
        ("LTFS one file, write", "LTFS one file, read")
    } else {
        ("LTFS 1 MiB files, write", "LTFS 1 MiB files, read")
    };
    let drive = lib.load(barcode);
    let mut volume = format(drive, &FormatOptions::new(&barcode[..6], None)).expect("format");
    let clock = Clock::start(lib);
    for i in 0..files {
        volume
            .write_file(&format!("f{i:07}"), Repeat::new(data, file), &[])
            .expect("write file");
    }
    let drive = volume.unmount().expect("unmount");
    let write = clock.stop(lib, w, files * file);
    lib.unload(drive);
    let drive = lib.load(barcode);
    let (mut volume, _) = Volume::mount(drive, MountOptions::default()).expect("mount");
    let clock = Clock::start(lib);
    let mut read_bytes = 0u64;
    for i in 0..files {
        read_bytes += volume
            .read_file(&format!("f{i:07}"), &mut io::sink())
            .expect("read file");
    }
    let read = clock.stop(lib, r, read_bytes);
    assert_eq!(read_bytes, write.bytes, "LTFS read back everything written");
    let mut drive = volume.unmount().expect("unmount");
    // FORMAT MEDIUM releases the cartridge's storage, so that the next phase does not run
    // with the host's page cache fuller than this one did (measured: a third phase of a few
    // GiB otherwise ran several times slower, wherever the phases were ordered).
    drive.format_single().expect("format medium");
    lib.unload(drive);
    (write, read)
}

fn main() {
    let bytes: u64 = std::env::var("TAPELIB_BENCH_BYTES")
        .ok()
        .map(|v| v.parse().expect("TAPELIB_BENCH_BYTES is a byte count"))
        .unwrap_or(4 << 30);
    let data = Pattern::bytes(7, 4 * RECORD);
    let dir = std::env::var_os("TAPELIB_BENCH_DIR").map(std::path::PathBuf::from);
    let mut lib = SimLibrary::open_in(CONFIG, dir.as_deref());

    let (raw_w, raw_r1) = raw(&mut lib, bytes, &data);
    let (files_w, files_r) = ltfs(&mut lib, "FIL001L8", bytes, FILE, &data);
    let (one_w, one_r) = ltfs(&mut lib, "ONE001L8", bytes, bytes, &data);
    let raw_r2 = raw_read(&mut lib, raw_w.bytes, "raw records, read again");
    let raw_r = if raw_r2.time < raw_r1.time {
        &raw_r2
    } else {
        &raw_r1
    };

    println!(
        "LTFS through Drive<SimTransport>, time scale 0, {bytes} bytes per phase, cartridges in {}",
        lib.dir.path().display()
    );
    println!(
        "{:<24} {:>11} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "phase", "bytes", "records", "wall s", "MB/s", "vs raw", "cpu s", "vs raw"
    );
    let baseline = |row: &Row| {
        if row.what.ends_with("write") {
            &raw_w
        } else {
            raw_r
        }
    };
    for row in [&raw_w, &raw_r1, &raw_r2, &files_w, &files_r, &one_w, &one_r] {
        let base = baseline(row);
        println!(
            "{:<24} {:>11} {:>8} {:>8.2} {:>8.1} {:>8.2} {:>8.2} {:>8.2}",
            row.what,
            row.bytes,
            row.records,
            row.time.as_secs_f64(),
            row.mb_per_s(),
            row.mb_per_s() / base.mb_per_s(),
            row.cpu.as_secs_f64(),
            row.cpu_mb_per_s() / base.cpu_mb_per_s(),
        );
    }
    println!("target: LTFS / raw >= 0.85; read baseline: {}", raw_r.what);
}
