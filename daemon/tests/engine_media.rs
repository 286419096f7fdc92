//! Spanning, copies, insert and eject, run by the engine in process on the simulator.

mod engine_common;

use engine_common::{bytes, start, write_files};
use tapelib_daemon::catalog::{TapeLocation, TapeState};
use tapelib_daemon::request::{
    ArchiveParams, CopyParams, DivaStatusCode, EjectParams, InsertParams, RequestKind,
    RequestResult, RequestState, RestoreParams, TapeContent,
};
use tapelib_sim::config::{CartridgeConfig, SlotRef};

fn archive(name: &str, files: &[&str], group: &str) -> RequestKind {
    RequestKind::Archive(ArchiveParams {
        collection: "c".into(),
        name: name.into(),
        source_server: "demo".into(),
        file_path_root: None,
        files: files.iter().map(|s| s.to_string()).collect(),
        group: group.into(),
        comments: String::new(),
        delete_on_source: false,
    })
}

fn restore(name: &str, root: &str, instance: Option<u64>) -> RequestKind {
    RequestKind::Restore(RestoreParams {
        collection: "c".into(),
        name: name.into(),
        instance,
        destination_server: "restore".into(),
        file_path_root: Some(root.into()),
        overwrite: false,
    })
}

/// All data cartridges hold 40 MB, so an object of 10 × 4 MB spans two tapes.
fn small_tapes(sim: &mut tapelib_sim::config::LibraryConfig) {
    for c in &mut sim.cartridges {
        if !c.barcode.starts_with("CLN") {
            c.capacity = Some(40_000_000);
        }
    }
}

#[test]
fn an_object_spans_tapes_when_one_fills_and_restores_whole() {
    let h = start(small_tapes);
    let names: Vec<String> = (0..10).map(|i| format!("big/part{i:02}")).collect();
    let files: Vec<(&str, Vec<u8>)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), bytes(i as u64, 4_000_000)))
        .collect();
    write_files(&h.demo(), &files);
    let r = h.run_ok(archive("big", &["big"], "default"));
    let Some(RequestResult::Archive {
        barcodes,
        file_count,
        ..
    }) = &r.result
    else {
        panic!("{r:?}");
    };
    assert_eq!(*file_count, 10);
    assert!(barcodes.len() >= 2, "the object spans: {barcodes:?}");
    let first = h
        .engine
        .state()
        .catalog
        .get_tape(&barcodes[0])
        .unwrap()
        .unwrap();
    assert_eq!(first.state, TapeState::Full, "{first:?}");
    let inst = &h.engine.state().catalog.list_instances("c", "big").unwrap()[0];
    assert_eq!(&inst.tapes, barcodes);
    h.run_ok(restore("big", "out", None));
    for (p, data) in &files {
        assert_eq!(
            &std::fs::read(h.restore_root().join("out").join(p)).unwrap(),
            data
        );
    }
    // A file larger than a whole tape cannot be archived.
    write_files(&h.demo(), &[("huge", bytes(99, 45_000_000))]);
    let r = h.run(archive("huge", &["huge"], "default"));
    assert_eq!(r.state, RequestState::Aborted, "{r:?}");
    assert_eq!(r.status, DivaStatusCode::DivaErrInvalidParameter);
    assert!(h
        .engine
        .state()
        .catalog
        .get_object("c", "huge")
        .unwrap()
        .is_none());
}

#[test]
fn copy_makes_a_second_instance_in_another_group() {
    let h = start(|_| {});
    h.engine
        .state()
        .catalog
        .create_group(
            &tapelib_daemon::catalog::TapeGroup {
                name: "offsite".into(),
                description: String::new(),
                generation: None,
                created: time::OffsetDateTime::now_utc(),
            },
            "test",
        )
        .unwrap();
    write_files(&h.demo(), &[("a", bytes(1, 300_000)), ("d/b", bytes(2, 5))]);
    h.run_ok(archive("o", &["a", "d"], "default"));
    let r = h.run_ok(RequestKind::Copy(CopyParams {
        collection: "c".into(),
        name: "o".into(),
        source_instance: None,
        group: "offsite".into(),
    }));
    let Some(RequestResult::Copy {
        instance_id,
        barcodes,
        ..
    }) = r.result
    else {
        panic!("{r:?}");
    };
    let instances = h.engine.state().catalog.list_instances("c", "o").unwrap();
    assert_eq!(instances.len(), 2);
    assert_ne!(instances[0].tapes, instances[1].tapes);
    let tape = h
        .engine
        .state()
        .catalog
        .get_tape(&barcodes[0])
        .unwrap()
        .unwrap();
    assert_eq!(tape.group.as_deref(), Some("offsite"));
    h.run_ok(restore("o", "copy", Some(instance_id)));
    assert_eq!(
        std::fs::read(h.restore_root().join("copy/a")).unwrap(),
        bytes(1, 300_000)
    );
    assert_eq!(
        std::fs::read(h.restore_root().join("copy/d/b")).unwrap(),
        bytes(2, 5)
    );
}

#[test]
fn eject_takes_tapes_offline_and_insert_brings_them_back() {
    let h = start(|sim| {
        sim.cartridges.push(CartridgeConfig {
            barcode: "BLK001L8".into(),
            generation: None,
            slot: Some(SlotRef::ImportExport(1)),
            write_protect: false,
            capacity: None,
        });
    });
    write_files(&h.demo(), &[("f", bytes(7, 1000))]);
    let a = h.run_ok(archive("o", &["f"], "default"));
    let tape = a.barcodes[0].clone();

    // I/E element 1 holds a cartridge: the eject takes another one.
    let r = h.run_ok(RequestKind::Eject(EjectParams {
        barcodes: vec![tape.clone()],
        comment: "to the vault".into(),
    }));
    let Some(RequestResult::Eject { tapes, .. }) = &r.result else {
        panic!("{r:?}")
    };
    let t = h.engine.state().catalog.get_tape(&tape).unwrap().unwrap();
    assert!(!t.online);
    assert_eq!(t.location, TapeLocation::ImportExport(tapes[0].ie_address));
    // The object is offline now: a restore is refused with the DIVA code.
    let e = h
        .engine
        .submit(restore("o", "x", None), Default::default(), "t")
        .unwrap_err();
    assert_eq!(e.diva_status(), DivaStatusCode::DivaErrObjectOffline);

    // Insert everything in the station: the known tape and the blank one.
    let r = h.run_ok(RequestKind::Insert(InsertParams {
        library: "sim0".into(),
        ie_addresses: vec![],
    }));
    let Some(RequestResult::Insert { tapes, left }) = &r.result else {
        panic!("{r:?}")
    };
    assert!(left.is_empty(), "{left:?}");
    let known = tapes
        .iter()
        .find(|t| t.barcode == tape)
        .expect("known tape inserted");
    assert!(known.known);
    assert_eq!(known.content, TapeContent::Ltfs);
    let blank = tapes
        .iter()
        .find(|t| t.barcode == "BLK001L8")
        .expect("blank inserted");
    assert!(!blank.known);
    assert_eq!(blank.content, TapeContent::Blank);
    let b = h
        .engine
        .state()
        .catalog
        .get_tape("BLK001L8")
        .unwrap()
        .unwrap();
    assert!(b.scratch && b.online, "{b:?}");
    assert!(matches!(b.location, TapeLocation::Slot(_)));
    h.run_ok(restore("o", "back", None));
    assert_eq!(
        std::fs::read(h.restore_root().join("back/f")).unwrap(),
        bytes(7, 1000)
    );
}

#[test]
fn insert_identifies_a_foreign_ltfs_tape() {
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
    let r = h.run_ok(RequestKind::Insert(InsertParams {
        library: "sim0".into(),
        ie_addresses: vec![],
    }));
    let Some(RequestResult::Insert { tapes, .. }) = &r.result else {
        panic!("{r:?}")
    };
    assert_eq!(tapes.len(), 1);
    assert_eq!(tapes[0].content, TapeContent::ForeignLtfs);
    let t = h
        .engine
        .state()
        .catalog
        .get_tape("FOR001L8")
        .unwrap()
        .unwrap();
    assert!(t.foreign && !t.scratch && t.volume_uuid.is_some(), "{t:?}");
    // A foreign tape never receives archives.
    write_files(&h.demo(), &[("f", bytes(1, 10))]);
    let a = h.run_ok(archive("o", &["f"], "default"));
    assert_ne!(a.barcodes, vec!["FOR001L8".to_string()]);
}

#[test]
fn eject_waits_for_a_free_import_export_slot() {
    let h = start(|sim| {
        for (i, b) in ["IEA001L8", "IEB001L8", "IEC001L8", "IED001L8"]
            .iter()
            .enumerate()
        {
            sim.cartridges.push(CartridgeConfig {
                barcode: b.to_string(),
                generation: None,
                slot: Some(SlotRef::ImportExport(i as u16 + 1)),
                write_protect: false,
                capacity: None,
            });
        }
    });
    let id = h.submit(RequestKind::Eject(EjectParams {
        barcodes: vec!["TL0005L8".into()],
        comment: String::new(),
    }));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let r = h.engine.requests().get(id).unwrap();
        if r.phase.contains("waiting for a free import/export slot") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{r:?}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // The operator empties one element.
    let sim = h.library().simulator().unwrap().clone();
    let inv = h.library().inventory();
    let first = inv.import_export[0].state.address;
    sim.operator_remove(first).unwrap();
    let r = h.wait(id);
    assert_eq!(r.state, RequestState::Completed, "{r:?}");
    let t = h
        .engine
        .state()
        .catalog
        .get_tape("TL0005L8")
        .unwrap()
        .unwrap();
    assert!(!t.online);
}
