//! LTFS benchmark: index build / serialize / parse for many files (time and peak heap bytes
//! per file, from a counting global allocator) and file write/read throughput against the raw
//! record throughput of the same device in the same run.
//!
//! Environment: `LTFS_BENCH_FILES` (default 1000000), `LTFS_BENCH_BYTES` (default 1 GiB),
//! `LTFS_BENCH_PART` (`index` or `throughput` to run one part only).

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::io::{BufReader, BufWriter, Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use tapelib_ltfs::index::{
    parse_index, write_index, Directory, Entry, Extent, File, Index, IndexLocation, Times,
};
use tapelib_ltfs::time::LtfsTime;
use tapelib_ltfs::{format, FormatOptions, MemTape, MountOptions, TapeDevice, Volume};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let now = CURRENT.fetch_add(new_size - layout.size(), Ordering::Relaxed)
                    + (new_size - layout.size());
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Resets the peak to the current level and returns that level.
fn reset_peak() -> usize {
    let now = CURRENT.load(Ordering::Relaxed);
    PEAK.store(now, Ordering::Relaxed);
    now
}

/// CPU seconds (user + system) this thread has used, from `/proc/thread-self/stat` (clock ticks
/// of 1/100 s); `None` where that file does not exist. Printed next to wall time because the
/// machine may be shared.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn cpu_since(start: Option<f64>) -> String {
    match (start, cpu_seconds()) {
        (Some(a), Some(b)) => format!("{:.2} s CPU", b - a),
        _ => "CPU n/a".to_owned(),
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn build_index(files: u64) -> Index {
    let now = LtfsTime::now();
    let mut index = Index::new(
        "tapelib bench",
        uuid::Uuid::nil(),
        Some("bench".into()),
        IndexLocation {
            partition: 'b',
            start_block: 5,
        },
        now,
    );
    let per_dir = 1000u64;
    let mut uid = 1u64;
    let mut block = 10u64;
    let mut dir_no = 0u64;
    let mut made = 0u64;
    while made < files {
        uid += 1;
        let mut dir = Directory {
            times: Times::all(now),
            file_uid: uid,
            entries: BTreeMap::new(),
            ..Directory::default()
        };
        for i in 0..per_dir.min(files - made) {
            uid += 1;
            let length = 100_000 + i * 37;
            dir.entries.insert(
                format!("clip-{dir_no:04}-{i:05}.mxf"),
                Entry::File(File {
                    length,
                    times: Times::all(now),
                    file_uid: uid,
                    extents: vec![Extent {
                        file_offset: 0,
                        partition: 'b',
                        start_block: block,
                        byte_offset: 0,
                        byte_count: length,
                    }],
                    ..File::default()
                }),
            );
            block += length.div_ceil(524_288);
        }
        made += dir.entries.len() as u64;
        index
            .root
            .entries
            .insert(format!("dir-{dir_no:04}"), Entry::Directory(dir));
        dir_no += 1;
    }
    index.highest_file_uid = uid;
    index
}

fn index_part(files: u64) {
    println!("== index: {files} files ==");
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average: {}", load.trim());
    }
    let base = reset_peak();
    let (t, c) = (Instant::now(), cpu_seconds());
    let index = build_index(files);
    let build_s = t.elapsed().as_secs_f64();
    let build_peak = PEAK.load(Ordering::Relaxed) - base;
    println!(
        "build:     {build_s:8.2} s ({})   peak {:6.0} bytes/file",
        cpu_since(c),
        build_peak as f64 / files as f64
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("index.xml");
    let before = reset_peak();
    let (t, c) = (Instant::now(), cpu_seconds());
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(&path).unwrap());
    write_index(&index, &mut w).unwrap();
    w.flush().unwrap();
    drop(w);
    let ser_s = t.elapsed().as_secs_f64();
    let ser_peak = PEAK.load(Ordering::Relaxed) - before;
    let size = std::fs::metadata(&path).unwrap().len();
    println!(
        "serialize: {ser_s:8.2} s ({})   {:.0} MB XML ({:.0} bytes/file), extra peak {:.0} bytes/file",
        cpu_since(c),
        size as f64 / 1e6,
        size as f64 / files as f64,
        ser_peak as f64 / files as f64
    );
    drop(index);

    let base = reset_peak();
    let (t, c) = (Instant::now(), cpu_seconds());
    let parsed = parse_index(BufReader::with_capacity(
        1 << 20,
        std::fs::File::open(&path).unwrap(),
    ))
    .unwrap();
    let parse_s = t.elapsed().as_secs_f64();
    let parse_peak = PEAK.load(Ordering::Relaxed) - base;
    let resident = CURRENT.load(Ordering::Relaxed) - base;
    assert_eq!(parsed.entry_count() as u64, files + files.div_ceil(1000));
    println!(
        "parse:     {parse_s:8.2} s ({})   peak {:6.0} bytes/file (resident after parse {:.0})",
        cpu_since(c),
        parse_peak as f64 / files as f64,
        resident as f64 / files as f64
    );
}

const MB: f64 = 1_000_000.0;

fn tape(bytes: u64) -> MemTape {
    MemTape::new(bytes + bytes / 5 + (64 << 20), 1 << 20)
}

/// Raw record throughput of the device: write then read `bytes` in `blocksize` records.
fn raw(bytes: u64, blocksize: usize) -> (f64, f64) {
    let mut dev = tape(bytes);
    dev.format_two_partitions().unwrap();
    let rec = vec![0xA5u8; blocksize];
    let n = bytes / blocksize as u64;
    dev.locate(1, 0).unwrap();
    let t = Instant::now();
    for _ in 0..n {
        dev.write_record(&rec).unwrap();
    }
    let w = bytes as f64 / t.elapsed().as_secs_f64() / MB;
    dev.locate(1, 0).unwrap();
    let mut buf = vec![0u8; blocksize];
    let mut sum = 0u64;
    let t = Instant::now();
    for _ in 0..n {
        if let tapelib_ltfs::ReadOutcome::Data(k) = dev.read_record(&mut buf).unwrap() {
            sum += k as u64;
        }
    }
    let r = bytes as f64 / t.elapsed().as_secs_f64() / MB;
    assert_eq!(sum, n * blocksize as u64);
    (w, r)
}

/// LTFS write and read of `bytes` in files of `file_size` bytes.
fn ltfs(bytes: u64, file_size: u64) -> (f64, f64) {
    let opts = FormatOptions::new("BENCH1", Some("bench"));
    let mut v = format(tape(bytes), &opts).unwrap();
    let files = bytes / file_size;
    let t = Instant::now();
    for i in 0..files {
        let src = std::io::repeat(0xA5).take(file_size);
        v.write_file(&format!("f{i:06}"), src, &[]).unwrap();
    }
    let dev = v.unmount().unwrap();
    let w = bytes as f64 / t.elapsed().as_secs_f64() / MB;
    let (mut v, _) = Volume::mount(dev, MountOptions::default()).unwrap();
    let t = Instant::now();
    let mut total = 0;
    for i in 0..files {
        total += v
            .read_file(&format!("f{i:06}"), &mut std::io::sink())
            .unwrap();
    }
    let r = bytes as f64 / t.elapsed().as_secs_f64() / MB;
    assert_eq!(total, bytes);
    (w, r)
}

/// Best (highest) of `runs` measurements of a (write, read) pair; the machine may be shared,
/// so the best run is the one least disturbed.
fn best(runs: usize, mut f: impl FnMut() -> (f64, f64)) -> (f64, f64) {
    (0..runs)
        .map(|_| f())
        .fold((0.0, 0.0), |(bw, br), (w, r)| (bw.max(w), br.max(r)))
}

fn throughput_part(bytes: u64) {
    println!(
        "== throughput on MemTape: {:.0} MiB, best of 2 ==",
        bytes as f64 / 1048576.0
    );
    let (raw_w, raw_r) = best(2, || raw(bytes, 524_288));
    println!("raw records:      write {raw_w:8.0} MB/s   read {raw_r:8.0} MB/s");
    for (label, size) in [("1 MiB files", 1 << 20), ("one file", bytes)] {
        let (w, r) = best(2, || ltfs(bytes, size));
        println!(
            "LTFS {label:11}: write {w:8.0} MB/s ({:.2} of raw)   read {r:8.0} MB/s ({:.2} of raw)",
            w / raw_w,
            r / raw_r
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: run small then.
    let full = std::env::args().any(|a| a == "--bench");
    let files = env_u64("LTFS_BENCH_FILES", if full { 1_000_000 } else { 2_000 });
    let bytes = env_u64("LTFS_BENCH_BYTES", if full { 1 << 30 } else { 16 << 20 });
    let part = std::env::var("LTFS_BENCH_PART").unwrap_or_default();
    if part != "throughput" {
        index_part(files);
    }
    if part != "index" {
        throughput_part(bytes);
    }
}
