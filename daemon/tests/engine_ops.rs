//! Operations run by the engine in process on the simulated library.

mod engine_common;

use engine_common::{bytes, start, write_files};
use tapelib_daemon::request::{
    ArchiveParams, DeleteParams, DivaStatusCode, RequestKind, RequestResult, RequestState,
    RestoreParams,
};

fn archive(collection: &str, name: &str, files: &[&str]) -> RequestKind {
    RequestKind::Archive(ArchiveParams {
        collection: collection.into(),
        name: name.into(),
        source_server: "demo".into(),
        file_path_root: None,
        files: files.iter().map(|s| s.to_string()).collect(),
        group: "default".into(),
        comments: "test".into(),
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

#[test]
fn archive_then_restore_round_trips_bytes_and_checksums() {
    let h = start(|_| {});
    let files = [
        ("clip/a.bin", bytes(1, 1_500_000)),
        ("clip/sub/b.bin", bytes(2, 10)),
        ("clip/empty", Vec::new()),
        ("notes.txt", b"hello tape".to_vec()),
    ];
    write_files(&h.demo(), &files);
    let r = h.run_ok(archive("news", "evening", &["clip", "notes.txt"]));
    let Some(RequestResult::Archive {
        file_count,
        bytes,
        barcodes,
        ..
    }) = r.result
    else {
        panic!("no archive result: {r:?}");
    };
    assert_eq!(file_count, 4);
    assert_eq!(bytes, 1_500_010 + 10);
    assert_eq!(barcodes.len(), 1);
    let object = h
        .engine
        .state()
        .catalog
        .get_object("news", "evening")
        .unwrap()
        .expect("object committed");
    for (p, data) in &files {
        let f = object
            .files
            .iter()
            .find(|f| f.path == *p)
            .expect("file in object");
        assert_eq!(f.size, data.len() as u64);
        assert_eq!(f.crc32, crc32fast::hash(data));
    }
    let tape = h
        .engine
        .state()
        .catalog
        .get_tape(&barcodes[0])
        .unwrap()
        .unwrap();
    assert_eq!(tape.group.as_deref(), Some("default"));
    assert!(tape.volume_uuid.is_some());

    h.run_ok(restore("news", "evening", "out"));
    for (p, data) in &files {
        let got = std::fs::read(h.restore_root().join("out").join(p)).expect("restored file");
        assert_eq!(&got, data, "{p}");
    }
    // Again without overwrite: refused at once.
    let err = h
        .engine
        .submit(
            restore("news", "evening", "out"),
            Default::default(),
            "test",
        )
        .unwrap_err();
    assert_eq!(err.diva_status(), DivaStatusCode::DivaErrPathDestination);
}

#[test]
fn refusals_carry_diva_codes() {
    let h = start(|_| {});
    write_files(&h.demo(), &[("x", b"1".to_vec())]);
    let e = |k| {
        h.engine
            .submit(k, Default::default(), "test")
            .unwrap_err()
            .diva_status()
    };
    assert_eq!(
        e(archive("c", "o", &["../etc/passwd"])),
        DivaStatusCode::DivaErrInvalidParameter
    );
    assert_eq!(
        e(archive("c", "o", &["/etc/passwd"])),
        DivaStatusCode::DivaErrInvalidParameter
    );
    assert_eq!(
        e(archive("c", "o", &["missing"])),
        DivaStatusCode::DivaErrInvalidParameter
    );
    let mut k = archive("c", "o", &["x"]);
    if let RequestKind::Archive(p) = &mut k {
        p.group = "nope".into();
    }
    assert_eq!(e(k), DivaStatusCode::DivaErrGroupDoesntExist);
    let mut k = archive("c", "o", &["x"]);
    if let RequestKind::Archive(p) = &mut k {
        p.source_server = "nope".into();
    }
    assert_eq!(e(k), DivaStatusCode::DivaErrSourceOrDestinationDoesntExist);
    assert_eq!(
        e(restore("c", "missing", "r")),
        DivaStatusCode::DivaErrObjectDoesntExist
    );
    h.run_ok(archive("c", "o", &["x"]));
    assert_eq!(
        e(archive("c", "o", &["x"])),
        DivaStatusCode::DivaErrObjectAlreadyExists
    );
}

#[test]
fn delete_then_archive_again_reuses_the_name() {
    let h = start(|_| {});
    write_files(&h.demo(), &[("f", bytes(3, 1000))]);
    let first = h.run_ok(archive("c", "o", &["f"]));
    h.run_ok(RequestKind::Delete(DeleteParams {
        collection: "c".into(),
        name: "o".into(),
        instance: None,
    }));
    assert!(h
        .engine
        .state()
        .catalog
        .get_object("c", "o")
        .unwrap()
        .is_none());
    let barcodes = first.barcodes.clone();
    let tape = h
        .engine
        .state()
        .catalog
        .get_tape(&barcodes[0])
        .unwrap()
        .unwrap();
    assert_eq!(tape.pending_removals, vec!["/c/o/f".to_string()]);
    write_files(&h.demo(), &[("f", bytes(4, 2000))]);
    let second = h.run_ok(archive("c", "o", &["f"]));
    assert_eq!(second.state, RequestState::Completed);
    let tape = h
        .engine
        .state()
        .catalog
        .get_tape(&barcodes[0])
        .unwrap()
        .unwrap();
    assert!(tape.pending_removals.is_empty(), "{tape:?}");
    h.run_ok(restore("c", "o", "again"));
    assert_eq!(
        std::fs::read(h.restore_root().join("again/f")).unwrap(),
        bytes(4, 2000)
    );
}
