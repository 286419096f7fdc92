//! Catalog benchmark: inserts N archived objects (one instance each) through the catalog's
//! transactions, then measures disk size, object-info latency (object + instances) and
//! list-page latency (by name and by since-date), against a baseline of the same records put
//! into a plain sled tree in the same run.
//!
//! `TAPELIB_BENCH_OBJECTS` (default 1,000,000), `TAPELIB_BENCH_DIR` (default a temp dir).

use std::time::{Duration, Instant};

use tapelib_daemon::catalog::{
    Catalog, InstanceFile, NewInstance, ObjectFile, ObjectFilter, ObjectRecord, TapeGroup,
    TapeLocation, TapePosition, TapeRecord,
};
use time::OffsetDateTime;

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p) as usize]
}

fn dir_size(p: &std::path::Path) -> u64 {
    let mut n = 0;
    for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
        let m = e.metadata().expect("metadata");
        n += if m.is_dir() {
            dir_size(&e.path())
        } else {
            m.len()
        };
    }
    n
}

/// A fixed pseudo-random sequence, so runs are comparable.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn record(i: u64, start: OffsetDateTime) -> (ObjectRecord, NewInstance) {
    let name = format!("object-{i:08}");
    let files = vec![ObjectFile {
        path: format!("{name}/essence.mxf"),
        size: 1 << 30,
        crc32: i as u32,
    }];
    let archived = start + Duration::from_millis(i);
    let object = ObjectRecord::new("bench", &name, files, archived, "").expect("object");
    let instance = NewInstance {
        group: "bench".into(),
        files: vec![InstanceFile {
            path: format!("{name}/essence.mxf"),
            tape: "BEN001L8".into(),
            ltfs_path: format!("/bench/{name}/{name}/essence.mxf"),
            position: Some(TapePosition {
                partition: 1,
                block: i * 16,
            }),
        }],
        created: archived,
    };
    (object, instance)
}

fn main() {
    let n: u64 = std::env::var("TAPELIB_BENCH_OBJECTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let base = match std::env::var_os("TAPELIB_BENCH_DIR") {
        Some(d) => tempfile::tempdir_in(d).expect("bench dir"),
        None => tempfile::tempdir().expect("temp dir"),
    };
    let start = OffsetDateTime::now_utc();
    println!("catalog benchmark: {n} objects");

    // Baseline: the same object records, JSON-encoded, one plain insert each.
    let raw_path = base.path().join("raw");
    let raw = sled::open(&raw_path).expect("sled");
    let t = Instant::now();
    for i in 0..n {
        let (object, _) = record(i, start);
        let key = format!("bench\0{}", object.name);
        raw.insert(key.as_bytes(), serde_json::to_vec(&object).expect("json"))
            .expect("insert");
    }
    raw.flush().expect("flush");
    let raw_time = t.elapsed();
    drop(raw);
    println!(
        "  raw sled inserts:   {:>8.1} s  ({:.0}/s), {} MiB",
        raw_time.as_secs_f64(),
        n as f64 / raw_time.as_secs_f64(),
        dir_size(&raw_path) >> 20
    );

    let path = base.path().join("catalog");
    let catalog = Catalog::open(&path).expect("catalog");
    catalog
        .create_group(
            &TapeGroup {
                name: "bench".into(),
                description: String::new(),
                generation: None,
                created: start,
            },
            "bench",
        )
        .expect("group");
    let mut tape = TapeRecord::new_scratch("BEN001L8", TapeLocation::Slot(4096));
    tape.capacity_bytes = u64::MAX;
    catalog.add_tape(&tape, "bench").expect("tape");
    catalog
        .assign_tape_group("BEN001L8", Some("bench"), "bench")
        .expect("assign");
    let t = Instant::now();
    for i in 0..n {
        let (object, instance) = record(i, start);
        catalog
            .commit_archive(&object, &instance, "bench")
            .expect("commit");
    }
    catalog.flush().expect("flush");
    let ours = t.elapsed();
    println!(
        "  catalog commits:    {:>8.1} s  ({:.0}/s), {} MiB on disk",
        ours.as_secs_f64(),
        n as f64 / ours.as_secs_f64(),
        dir_size(&path) >> 20
    );
    println!(
        "  ratio catalog / raw sled insert time: {:.2}",
        ours.as_secs_f64() / raw_time.as_secs_f64()
    );

    let mut rng = Lcg(7);
    let mut info = Vec::new();
    for _ in 0..10_000 {
        let name = format!("object-{:08}", rng.next(n));
        let t = Instant::now();
        let o = catalog.get_object("bench", &name).expect("get");
        let i = catalog.list_instances("bench", &name).expect("instances");
        info.push(t.elapsed());
        assert!(o.is_some() && i.len() == 1);
    }
    let mut pages = Vec::new();
    let mut since = Vec::new();
    for _ in 0..1_000 {
        let t = Instant::now();
        let page = catalog
            .list_objects(&ObjectFilter::default(), None, 100)
            .expect("list");
        pages.push(t.elapsed());
        assert_eq!(page.items.len() as u64, n.min(100));
        let from = start + Duration::from_millis(rng.next(n));
        let filter = ObjectFilter {
            collection: None,
            since: Some(from),
        };
        let t = Instant::now();
        let page = catalog.list_objects(&filter, None, 100).expect("since");
        since.push(t.elapsed());
        assert!(!page.items.is_empty());
    }
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "  object info (object + instances): p50 {:.1} µs, p99 {:.1} µs",
        us(percentile(&mut info, 0.5)),
        us(percentile(&mut info, 0.99))
    );
    println!(
        "  list page of 100 by name:          p50 {:.1} µs, p99 {:.1} µs",
        us(percentile(&mut pages, 0.5)),
        us(percentile(&mut pages, 0.99))
    );
    println!(
        "  list page of 100 since a date:     p50 {:.1} µs, p99 {:.1} µs",
        us(percentile(&mut since, 0.5)),
        us(percentile(&mut since, 0.99))
    );
}
