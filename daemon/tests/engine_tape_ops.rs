//! Verify, export, import and repack, run by the engine in process on the simulator.

mod engine_common;

use std::collections::BTreeMap;

use engine_common::{bytes, start, write_files, Harness};
use tapelib_daemon::catalog::{TapeLocation, TapeState};
use tapelib_daemon::request::{
    ArchiveParams, DeleteParams, ExportParams, ImportConflict, ImportParams, InsertParams,
    RepackParams, RepackRetire, RequestKind, RequestResult, RequestState, RestoreParams,
    VerifyParams,
};
use tapelib_sim::config::{FaultSpec, MediaOp};

fn archive(name: &str, files: &[&str]) -> RequestKind {
    RequestKind::Archive(ArchiveParams {
        collection: "c".into(),
        name: name.into(),
        source_server: "demo".into(),
        file_path_root: None,
        files: files.iter().map(|s| s.to_string()).collect(),
        group: "default".into(),
        comments: format!("comment of {name}"),
        delete_on_source: false,
    })
}

fn restore(collection: &str, name: &str, root: &str) -> RequestKind {
    RequestKind::Restore(RestoreParams {
        collection: collection.into(),
        name: name.into(),
        instance: None,
        destination_server: "restore".into(),
        file_path_root: Some(root.into()),
        overwrite: false,
    })
}

fn verify_tape(barcode: &str) -> RequestKind {
    RequestKind::Verify(VerifyParams::Tape {
        barcode: barcode.into(),
    })
}

/// Archives `name` with files `<name>/f0..fn` of the given sizes; returns (barcode, contents).
fn archived(
    h: &Harness,
    name: &str,
    sizes: &[usize],
    seed: u64,
) -> (String, Vec<(String, Vec<u8>)>) {
    let files: Vec<(String, Vec<u8>)> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| (format!("{name}/f{i}"), bytes(seed + i as u64, n)))
        .collect();
    let refs: Vec<(&str, Vec<u8>)> = files.iter().map(|(p, d)| (p.as_str(), d.clone())).collect();
    write_files(&h.demo(), &refs);
    let r = h.run_ok(archive(name, &[name]));
    (r.barcodes[0].clone(), files)
}

fn assert_restores(
    h: &Harness,
    collection: &str,
    name: &str,
    files: &[(String, Vec<u8>)],
    root: &str,
) {
    h.run_ok(restore(collection, name, root));
    for (p, data) in files {
        let got = std::fs::read(h.restore_root().join(root).join(p)).unwrap();
        assert!(
            &got == data,
            "{collection}/{name}: {p} differs after restore"
        );
    }
}

/// Flips one byte of `needle`'s first occurrence in the simulated cartridge's data files.
fn flip_on_tape(h: &Harness, barcode: &str, needle: &[u8]) {
    let dir = tapelib_sim::library::cartridge_dir(&h.dir.path().join("simulator"), barcode);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("data") {
            continue;
        }
        let mut data = std::fs::read(&path).unwrap();
        if let Some(at) = data.windows(needle.len()).position(|w| w == needle) {
            data[at + needle.len() / 2] ^= 0x5a;
            std::fs::write(&path, data).unwrap();
            return;
        }
    }
    panic!("the bytes are not on {barcode} in {}", dir.display());
}

#[test]
fn verify_reports_a_flipped_byte_exactly() {
    let h = start(|_| {});
    let (barcode, files) = archived(&h, "v", &[300_000, 200_000], 10);
    let r = h.run_ok(verify_tape(&barcode));
    let Some(RequestResult::Verify {
        files_checked,
        failures,
        bytes,
    }) = &r.result
    else {
        panic!("{r:?}")
    };
    assert_eq!((*files_checked, failures.len(), *bytes), (2, 0, 500_000));
    let report = std::fs::read_to_string(
        h.dir
            .path()
            .join("bit-integrity")
            .join(format!("{barcode}.tsv")),
    )
    .unwrap();
    assert_eq!(report.lines().count(), 3, "{report}");
    assert_eq!(report.matches("\tVALID\t").count(), 2, "{report}");

    // Corrupt the second file on the simulated tape.
    flip_on_tape(&h, &barcode, &files[1].1[100_000..100_064]);
    let r = h.run(verify_tape(&barcode));
    assert_eq!(r.state, RequestState::PartiallyCompleted, "{r:?}");
    let Some(RequestResult::Verify { failures, .. }) = &r.result else {
        panic!("{r:?}")
    };
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].contains("v/f1"), "{failures:?}");
    let report = std::fs::read_to_string(
        h.dir
            .path()
            .join("bit-integrity")
            .join(format!("{barcode}.tsv")),
    )
    .unwrap();
    let bad: Vec<&str> = report
        .lines()
        .filter(|l| !l.contains("\tVALID\t"))
        .skip(1)
        .collect();
    assert_eq!(bad.len(), 1, "{report}");
    let cols: Vec<&str> = bad[0].split('\t').collect();
    assert_eq!(cols[1], barcode);
    assert_eq!(cols[2], "c/v");
    assert_eq!(cols[4], "v/f1");
    assert!(cols[5] == "UNREADABLE" || cols[5] == "MISMATCH", "{report}");
    let catalog = &h.engine.state().catalog;
    let inst = &catalog.list_instances("c", "v").unwrap()[0];
    assert_eq!(inst.damaged, vec!["v/f1".to_string()]);
    let tape = catalog.get_tape(&barcode).unwrap().unwrap();
    assert!(
        tape.suspect.is_some() && tape.verified.is_some(),
        "{tape:?}"
    );
    // The object-level verify sees the same damage.
    let r = h.run(RequestKind::Verify(VerifyParams::Object {
        collection: "c".into(),
        name: "v".into(),
        instance: None,
    }));
    assert_eq!(r.state, RequestState::PartiallyCompleted, "{r:?}");
}

/// Puts an ejected tape back into storage through the I/E station.
fn insert_back(h: &Harness) {
    h.run_ok(RequestKind::Insert(InsertParams {
        library: "sim0".into(),
        ie_addresses: vec![],
    }));
}

#[test]
fn export_then_import_by_document_and_by_xattrs() {
    let h = start(|_| {});
    let (barcode, x) = archived(&h, "x", &[120_000, 5], 20);
    let (b2, y) = archived(&h, "y", &[64_000], 30);
    assert_eq!(b2, barcode, "both objects on one tape");
    let (b3, _) = archived(&h, "z", &[1000], 40);
    assert_eq!(b3, barcode);
    h.run_ok(RequestKind::Delete(DeleteParams {
        collection: "c".into(),
        name: "z".into(),
        instance: None,
    }));
    let catalog = &h.engine.state().catalog;
    let before_x = catalog.get_object("c", "x").unwrap().unwrap();

    let r = h.run_ok(RequestKind::Export(ExportParams {
        barcodes: vec![barcode.clone()],
        comment: "to the vault".into(),
    }));
    let Some(RequestResult::Export {
        document,
        barcodes,
        object_count,
    }) = &r.result
    else {
        panic!("{r:?}")
    };
    assert_eq!(
        (barcodes.clone(), *object_count),
        (vec![barcode.clone()], 2)
    );
    assert!(
        document.contains("name=\"x\"") && document.contains("name=\"y\""),
        "{document}"
    );
    assert!(!document.contains("name=\"z\""), "{document}");
    let kept = std::fs::read_to_string(h.dir.path().join("exports").join(format!("{barcode}.xml")))
        .unwrap();
    assert!(kept.contains("to the vault"));
    assert!(catalog.get_object("c", "x").unwrap().is_none());
    let t = catalog.get_tape(&barcode).unwrap().unwrap();
    assert_eq!(t.state, TapeState::Exported);
    assert!(
        !t.online && matches!(t.location, TapeLocation::ImportExport(_)),
        "{t:?}"
    );
    assert!(
        t.pending_removals.is_empty(),
        "deleted files were dropped from the index"
    );

    // Back in, imported from the document.
    insert_back(&h);
    let r = h.run_ok(RequestKind::Import(ImportParams {
        barcodes: vec![barcode.clone()],
        group: "default".into(),
        document: Some(document.clone()),
        collection: None,
        on_conflict: ImportConflict::Skip,
        verify: true,
    }));
    let Some(RequestResult::Import { objects, skipped }) = &r.result else {
        panic!("{r:?}")
    };
    assert_eq!(objects.len(), 2, "{objects:?} {skipped:?}");
    let after_x = catalog.get_object("c", "x").unwrap().unwrap();
    assert_eq!(after_x.files, before_x.files);
    assert_eq!(after_x.comments, before_x.comments);
    assert_restores(&h, "c", "x", &x, "doc");
    assert_restores(&h, "c", "y", &y, "doc");
    let t = catalog.get_tape(&barcode).unwrap().unwrap();
    assert_eq!(t.state, TapeState::Active);

    // Out again, and in by the tape's own xattrs: the same catalog.
    let r = h.run_ok(RequestKind::Export(ExportParams {
        barcodes: vec![barcode.clone()],
        comment: String::new(),
    }));
    assert!(r.result.is_some());
    insert_back(&h);
    let r = h.run_ok(RequestKind::Import(ImportParams {
        barcodes: vec![barcode.clone()],
        group: "default".into(),
        document: None,
        collection: None,
        on_conflict: ImportConflict::Refuse,
        verify: false,
    }));
    let Some(RequestResult::Import { objects, .. }) = &r.result else {
        panic!("{r:?}")
    };
    assert_eq!(objects.len(), 2, "{objects:?}");
    let again = catalog.get_object("c", "x").unwrap().unwrap();
    assert_eq!(again.files, before_x.files);
    assert_eq!(again.archived, before_x.archived);
    assert!(catalog.get_object("c", "z").unwrap().is_none());
    assert_restores(&h, "c", "y", &y, "xattrs");

    // A second import of the same tape with "refuse" imports nothing new.
    let r = h.run(RequestKind::Import(ImportParams {
        barcodes: vec![barcode.clone()],
        group: "default".into(),
        document: None,
        collection: None,
        on_conflict: ImportConflict::Refuse,
        verify: false,
    }));
    assert_eq!(r.state, RequestState::Completed, "already imported: {r:?}");
}

#[test]
fn a_tape_from_other_software_imports_folder_by_folder() {
    let h = start(|_| {});
    let sample = tapelib_sim::testing::reference_sample_dir().expect("shared LTFS sample");
    let sim = h
        .library()
        .simulator()
        .expect("in-process simulator")
        .clone();
    sim.import_cartridge_image(&sample, "FOR001L8", false, None)
        .unwrap();
    sim.operator_insert("FOR001L8", None).unwrap();
    insert_back(&h);
    // Without a collection the request cannot name the objects.
    let r = h.run(RequestKind::Import(ImportParams {
        barcodes: vec!["FOR001L8".into()],
        group: "default".into(),
        document: None,
        collection: None,
        on_conflict: ImportConflict::Skip,
        verify: false,
    }));
    assert_eq!(r.state, RequestState::Aborted, "{r:?}");
    assert!(
        r.abort_reason
            .as_deref()
            .unwrap_or("")
            .contains("collection"),
        "{r:?}"
    );
    let r = h.run(RequestKind::Import(ImportParams {
        barcodes: vec!["FOR001L8".into()],
        group: "default".into(),
        document: None,
        collection: Some("ext".into()),
        on_conflict: ImportConflict::Skip,
        verify: false,
    }));
    let Some(RequestResult::Import { objects, skipped }) = &r.result else {
        panic!("{r:?}")
    };
    let names: Vec<&str> = objects.iter().map(|(_, n)| n.as_str()).collect();
    for n in ["hello.txt", "nested", "empty.dat"] {
        assert!(
            names.contains(&n),
            "{n} not imported: {objects:?} {skipped:?}"
        );
    }
    let catalog = &h.engine.state().catalog;
    let nested = catalog.get_object("ext", "nested").unwrap().unwrap();
    assert_eq!(nested.files.len(), 1);
    assert_eq!(nested.files[0].path, "deeper/multi-record.bin");
    assert_eq!(nested.files[0].size, 2_560_000);
    let t = catalog.get_tape("FOR001L8").unwrap().unwrap();
    assert!(!t.foreign && t.group.as_deref() == Some("default"), "{t:?}");
    // Restore checks the CRC-32 computed at import while it reads.
    h.run_ok(restore("ext", "nested", "ext"));
    let got = std::fs::read(h.restore_root().join("ext/deeper/multi-record.bin")).unwrap();
    assert_eq!(got.len(), 2_560_000);
    assert_eq!(crc32fast::hash(&got), nested.files[0].crc32);
}

#[test]
fn repack_moves_live_objects_and_returns_the_tape_to_scratch() {
    let h = start(|_| {});
    let (barcode, a) = archived(&h, "a", &[400_000, 3], 50);
    let (_, b) = archived(&h, "b", &[250_000], 60);
    let (_, _) = archived(&h, "gone", &[500_000], 70);
    h.run_ok(RequestKind::Delete(DeleteParams {
        collection: "c".into(),
        name: "gone".into(),
        instance: None,
    }));
    let catalog = &h.engine.state().catalog;
    assert_eq!(catalog.instances_on_tape(&barcode).unwrap().len(), 2);
    let r = h.run_ok(RequestKind::Repack(RepackParams {
        barcode: barcode.clone(),
        target_group: None,
        retire: RepackRetire::Scratch,
    }));
    let Some(RequestResult::Repack {
        bytes_moved,
        bytes_reclaimed,
        destination_barcodes,
    }) = &r.result
    else {
        panic!("{r:?}")
    };
    assert_eq!(*bytes_moved, 650_003);
    assert!(*bytes_reclaimed >= 500_000, "{bytes_reclaimed}");
    assert!(!destination_barcodes.contains(&barcode));
    assert!(catalog.instances_on_tape(&barcode).unwrap().is_empty());
    let t = catalog.get_tape(&barcode).unwrap().unwrap();
    assert!(t.scratch && t.group.is_none() && t.used_bytes == 0, "{t:?}");
    assert_eq!(t.state, TapeState::Active);
    for (name, files) in [("a", &a), ("b", &b)] {
        let insts = catalog.list_instances("c", name).unwrap();
        assert_eq!(insts.len(), 1);
        assert!(!insts[0].tapes.contains(&barcode));
        assert_restores(&h, "c", name, files, "repacked");
    }
}

/// An engine whose library has `drives` drives, with repack limits small enough that the
/// buffer and the index interval matter on small data.
fn start_drives(
    drives: usize,
    tweak: impl FnOnce(&mut tapelib_sim::config::LibraryConfig),
) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let mut c = engine_common::config(dir.path(), |sim| {
        sim.drives.truncate(drives);
        tweak(sim);
    });
    c.libraries[0].drives.truncate(drives);
    c.limits.repack_buffer_bytes = 64 << 10;
    c.limits.repack_sync_bytes = 500_000;
    engine_common::start_with(dir, c)
}

/// Bytes read and written per simulated drive.
fn drive_io(h: &Harness) -> BTreeMap<String, (u64, u64)> {
    let sim = h.library().simulator().expect("in-process simulator");
    sim.stats()
        .drives
        .into_iter()
        .map(|(name, d)| (name, (d.bytes_read, d.bytes_written)))
        .collect()
}

fn repack(barcode: &str) -> RequestKind {
    RequestKind::Repack(RepackParams {
        barcode: barcode.into(),
        target_group: None,
        retire: RepackRetire::Scratch,
    })
}

/// Archives six objects (two deleted again), repacks their tape and checks the result;
/// returns the per-drive bytes (read, written) during the repack and the live bytes.
fn repack_case(h: &Harness) -> (BTreeMap<String, (u64, u64)>, u64) {
    let mut live = Vec::new();
    let mut barcode = String::new();
    for (n, sizes) in [
        &[200_000usize, 3][..],
        &[150_000],
        &[333_333, 70_000, 0],
        &[90_000],
        &[260_000, 1],
        &[120_000],
    ]
    .iter()
    .enumerate()
    {
        let name = format!("o{n}");
        let (b, files) = archived(h, &name, sizes, 100 + 10 * n as u64);
        if barcode.is_empty() {
            barcode = b.clone();
        }
        assert_eq!(b, barcode, "all on one tape");
        live.push((name, files));
    }
    for gone in ["o1", "o4"] {
        h.run_ok(RequestKind::Delete(DeleteParams {
            collection: "c".into(),
            name: gone.into(),
            instance: None,
        }));
    }
    live.retain(|(n, _)| n != "o1" && n != "o4");
    let live_bytes: u64 = live
        .iter()
        .flat_map(|(_, f)| f.iter().map(|(_, d)| d.len() as u64))
        .sum();
    let catalog = &h.engine.state().catalog;
    let used_before = catalog.get_tape(&barcode).unwrap().unwrap().used_bytes;
    let before = drive_io(h);
    let r = h.run_ok(repack(&barcode));
    let after = drive_io(h);
    let Some(RequestResult::Repack {
        bytes_moved,
        bytes_reclaimed,
        destination_barcodes,
    }) = &r.result
    else {
        panic!("{r:?}")
    };
    assert_eq!(*bytes_moved, live_bytes);
    assert_eq!(*bytes_reclaimed, used_before - live_bytes);
    assert!(!destination_barcodes.is_empty() && !destination_barcodes.contains(&barcode));
    assert_eq!(
        (r.bytes_done, r.bytes_total),
        (live_bytes, live_bytes),
        "{r:?}"
    );
    assert!(catalog.instances_on_tape(&barcode).unwrap().is_empty());
    let t = catalog.get_tape(&barcode).unwrap().unwrap();
    assert!(t.scratch && t.group.is_none() && t.used_bytes == 0, "{t:?}");
    assert_eq!(t.state, TapeState::Active);
    for (name, files) in &live {
        let insts = catalog.list_instances("c", name).unwrap();
        assert_eq!(insts.len(), 1, "{name}");
        assert!(!insts[0].tapes.contains(&barcode));
        assert_restores(h, "c", name, files, &format!("repacked-{name}"));
    }
    let io = before
        .iter()
        .map(|(d, (r0, w0))| {
            let (r1, w1) = after[d];
            (d.clone(), (r1 - r0, w1 - w0))
        })
        .collect();
    (io, live_bytes)
}

#[test]
fn repack_streams_from_one_drive_to_another() {
    let h = start_drives(2, |_| {});
    let (io, live) = repack_case(&h);
    let reader = io
        .iter()
        .find(|(_, (r, _))| *r >= live)
        .unwrap_or_else(|| panic!("no drive read the live data: {io:?}"));
    let writer = io
        .iter()
        .find(|(_, (_, w))| *w >= live)
        .unwrap_or_else(|| panic!("no drive wrote the live data: {io:?}"));
    assert_ne!(reader.0, writer.0, "reads and writes on two drives: {io:?}");
    // The reading drive wrote only the reformat of the source; the writing drive read
    // only labels and indexes.
    assert!(reader.1 .1 < live / 4, "{io:?}");
    assert!(writer.1 .0 < live / 4, "{io:?}");
    let staging = h.dir.path().join("staging");
    assert!(
        std::fs::read_dir(&staging).map_or(true, |mut d| d.next().is_none()),
        "nothing staged on disk"
    );
}

#[test]
fn repack_with_one_drive_stages_through_the_disk_cache() {
    let h = start_drives(1, |_| {});
    let (io, live) = repack_case(&h);
    assert_eq!(io.len(), 1);
    let (r, w) = io.values().next().copied().unwrap();
    assert!(r >= live && w >= live, "{io:?}");
    // Beyond the data, the drive reads labels and indexes: about 18 KB for the one mount
    // of the source the batch is staged in; a mount per object (four here) reads 70 KB.
    assert!(r - live < 30_000, "staged in one source mount: {io:?}");
    let staging = h.dir.path().join("staging");
    assert!(
        std::fs::read_dir(&staging).map_or(true, |mut d| d.next().is_none()),
        "the cache is emptied"
    );
}

#[test]
fn repack_continues_on_the_next_tape_when_the_destination_fills() {
    // 40 MB tapes.
    let h = start_drives(2, |sim| {
        for c in &mut sim.cartridges {
            if !c.barcode.starts_with("CLN") {
                c.capacity = Some(40_000_000);
            }
        }
    });
    let catalog = &h.engine.state().catalog;
    catalog
        .create_group(
            &tapelib_daemon::catalog::TapeGroup {
                name: "other".into(),
                description: String::new(),
                generation: None,
                created: time::OffsetDateTime::now_utc(),
            },
            "test",
        )
        .unwrap();
    // A tape 25 MB full, later given to the source's group: the first destination.
    write_files(&h.demo(), &[("filler/data", bytes(7, 25_000_000))]);
    let r = h.run_ok(RequestKind::Archive(ArchiveParams {
        collection: "c".into(),
        name: "filler".into(),
        source_server: "demo".into(),
        file_path_root: None,
        files: vec!["filler".into()],
        group: "other".into(),
        comments: String::new(),
        delete_on_source: false,
    }));
    let partly_full = r.barcodes[0].clone();
    let mut live = Vec::new();
    let mut barcode = String::new();
    for n in 0..8 {
        let name = format!("m{n}");
        let (b, files) = archived(&h, &name, &[3_000_000, 1000], 500 + 10 * n);
        barcode = b;
        live.push((name, files));
    }
    assert_ne!(barcode, partly_full);
    catalog
        .assign_tape_group(&partly_full, Some("default"), "test")
        .unwrap();
    let r = h.run_ok(repack(&barcode));
    let Some(RequestResult::Repack {
        bytes_moved,
        destination_barcodes,
        ..
    }) = &r.result
    else {
        panic!("{r:?}")
    };
    assert_eq!(*bytes_moved, 8 * 3_001_000);
    assert_eq!(destination_barcodes.len(), 2, "{destination_barcodes:?}");
    assert_eq!(destination_barcodes[0], partly_full);
    let t = catalog.get_tape(&partly_full).unwrap().unwrap();
    assert_eq!(t.state, TapeState::Full, "{t:?}");
    for (name, files) in &live {
        let inst = &catalog.list_instances("c", name).unwrap()[0];
        assert_eq!(inst.tapes.len(), 1, "{inst:?}");
        assert_restores(&h, "c", name, files, &format!("full-{name}"));
    }
    assert!(catalog.get_tape(&barcode).unwrap().unwrap().scratch);
}

/// A medium error under one object: the others move, the request ends PARTIALLY_COMPLETED
/// naming it, and the source keeps it.
fn unreadable_object_case(drives: usize) {
    let h = start_drives(drives, |_| {});
    let (barcode, a) = archived(&h, "a", &[100_000], 80);
    let (_, _) = archived(&h, "bad", &[100_000], 90);
    let (_, z) = archived(&h, "z", &[70_000, 5], 95);
    let catalog = &h.engine.state().catalog;
    let bad = &catalog.list_instances("c", "bad").unwrap()[0];
    let pos = bad.files[0].position.expect("position");
    let sim = h
        .library()
        .simulator()
        .expect("in-process simulator")
        .clone();
    sim.inject_fault(FaultSpec::MediaError {
        barcode: barcode.clone(),
        partition: pos.partition,
        block: pos.block,
        op: MediaOp::Read,
    })
    .unwrap();
    let r = h.run(repack(&barcode));
    assert_eq!(r.state, RequestState::PartiallyCompleted, "{r:?}");
    assert!(
        r.abort_reason.as_deref().unwrap_or("").contains("c/bad"),
        "{r:?}"
    );
    // The readable objects moved; the other kept its only instance on the source.
    for name in ["a", "z"] {
        assert!(!catalog.list_instances("c", name).unwrap()[0]
            .tapes
            .contains(&barcode));
    }
    assert_eq!(
        catalog.list_instances("c", "bad").unwrap()[0].tapes,
        vec![barcode.clone()]
    );
    let t = catalog.get_tape(&barcode).unwrap().unwrap();
    assert_eq!(t.state, TapeState::Active, "{t:?}");
    assert!(!t.scratch);
    assert_restores(&h, "c", "a", &a, "moved");
    assert_restores(&h, "c", "z", &z, "moved");
}

#[test]
fn repack_keeps_the_tape_when_an_object_cannot_be_read() {
    unreadable_object_case(2);
}

#[test]
fn repack_with_one_drive_keeps_the_tape_when_an_object_cannot_be_read() {
    unreadable_object_case(1);
}
