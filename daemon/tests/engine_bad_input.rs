//! Bad requests against the in-process engine: each is refused at submit with the right DIVA
//! code and a message naming the problem, and leaves the catalog and every server root as it
//! was.

mod engine_common;

use std::os::unix::fs::symlink;
use std::path::Path;

use engine_common::{bytes, start, write_files, Harness};
use tapelib_daemon::catalog::ObjectFilter;
use tapelib_daemon::request::{
    ArchiveParams, DeleteParams, DivaStatusCode, Priority, RequestKind, RestoreParams,
};

fn archive(name: &str, root: Option<&str>, files: &[&str]) -> ArchiveParams {
    ArchiveParams {
        collection: "bad".into(),
        name: name.into(),
        source_server: "demo".into(),
        file_path_root: root.map(str::to_string),
        files: files.iter().map(|s| s.to_string()).collect(),
        group: "default".into(),
        comments: String::new(),
        delete_on_source: false,
    }
}

fn restore(name: &str, root: Option<&str>) -> RestoreParams {
    RestoreParams {
        collection: "bad".into(),
        name: name.into(),
        instance: None,
        destination_server: "restore".into(),
        file_path_root: root.map(str::to_string),
        overwrite: false,
    }
}

/// What must not change when a request is refused.
#[derive(Debug, PartialEq)]
struct Snapshot {
    audit: usize,
    objects: Vec<String>,
    requests: usize,
    tree: Vec<(String, Vec<u8>)>,
}

fn files_under(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            let md = std::fs::symlink_metadata(&p).expect("metadata");
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if md.is_dir() {
                stack.push(p);
            } else if md.is_file() {
                out.push((rel, std::fs::read(&p).expect("read")));
            } else {
                out.push((rel, b"<link>".to_vec()));
            }
        }
    }
    out.sort();
    out
}

fn snapshot(h: &Harness) -> Snapshot {
    let cat = &h.engine.state().catalog;
    Snapshot {
        audit: cat.list_audit(None, 100_000).unwrap().items.len(),
        objects: cat
            .list_objects(&ObjectFilter::default(), None, 100_000)
            .unwrap()
            .items
            .iter()
            .map(|o| format!("{}/{}", o.collection, o.name))
            .collect(),
        requests: h.engine.requests().list(None, 100_000).unwrap().items.len(),
        tree: ["demo", "restore", "outside"]
            .iter()
            .flat_map(|d| files_under(&h.dir.path().join(d)))
            .collect(),
    }
}

/// Submits `kind`, expects a refusal with `status` whose message contains `needle`, and
/// checks that nothing changed.
fn refused(h: &Harness, kind: RequestKind, status: DivaStatusCode, needle: &str) {
    let before = snapshot(h);
    let e = h
        .engine
        .submit(kind.clone(), Priority::DEFAULT, "test")
        .expect_err(&format!("{kind:?} was accepted"));
    assert_eq!(e.diva_status(), status, "{kind:?}: {e}");
    let msg = e.to_string();
    assert!(
        msg.contains(needle),
        "{kind:?}: message {msg:?} lacks {needle:?}"
    );
    assert_eq!(snapshot(h), before, "{kind:?} changed something");
}

fn setup() -> Harness {
    let h = start(|_| {});
    write_files(
        &h.demo(),
        &[
            ("clip/a.bin", bytes(1, 4096)),
            ("clip/b.bin", bytes(2, 100)),
            ("one.txt", b"one".to_vec()),
        ],
    );
    let outside = h.dir.path().join("outside");
    write_files(&outside, &[("secret", b"secret".to_vec())]);
    h
}

#[test]
fn unknown_names_are_refused() {
    let h = setup();
    let mut p = archive("x", None, &["one.txt"]);
    p.source_server = "nowhere".into();
    refused(
        &h,
        RequestKind::Archive(p),
        DivaStatusCode::DivaErrSourceOrDestinationDoesntExist,
        "nowhere",
    );
    let mut p = archive("x", None, &["one.txt"]);
    p.group = "nogroup".into();
    refused(
        &h,
        RequestKind::Archive(p),
        DivaStatusCode::DivaErrGroupDoesntExist,
        "nogroup",
    );
    refused(
        &h,
        RequestKind::Restore(restore("ghost", None)),
        DivaStatusCode::DivaErrObjectDoesntExist,
        "ghost",
    );
    refused(
        &h,
        RequestKind::Delete(DeleteParams {
            collection: "bad".into(),
            name: "ghost".into(),
            instance: None,
        }),
        DivaStatusCode::DivaErrObjectDoesntExist,
        "ghost",
    );
}

#[test]
fn malformed_parameters_are_refused() {
    let h = setup();
    let mut p = archive("x", None, &["one.txt"]);
    p.collection.clear();
    refused(
        &h,
        RequestKind::Archive(p),
        DivaStatusCode::DivaErrInvalidParameter,
        "collection",
    );
    refused(
        &h,
        RequestKind::Archive(archive("x", None, &[])),
        DivaStatusCode::DivaErrInvalidParameter,
        "files",
    );
    refused(
        &h,
        RequestKind::Archive(archive("x", None, &[""])),
        DivaStatusCode::DivaErrInvalidParameter,
        "files",
    );
    let mut r = restore("x", None);
    r.destination_server.clear();
    refused(
        &h,
        RequestKind::Restore(r),
        DivaStatusCode::DivaErrInvalidParameter,
        "destination_server",
    );
}

#[test]
fn archive_paths_outside_the_root_are_refused() {
    let h = setup();
    let outside = h.dir.path().join("outside");
    let invalid = DivaStatusCode::DivaErrInvalidParameter;
    refused(
        &h,
        RequestKind::Archive(archive("x", None, &["../outside/secret"])),
        invalid,
        "..",
    );
    refused(
        &h,
        RequestKind::Archive(archive("x", Some("../outside"), &["secret"])),
        invalid,
        "..",
    );
    let abs = outside.join("secret").to_string_lossy().into_owned();
    refused(
        &h,
        RequestKind::Archive(archive("x", None, &[abs.as_str()])),
        invalid,
        "absolute",
    );
    refused(
        &h,
        RequestKind::Archive(archive("x", Some("/"), &["etc/hostname"])),
        invalid,
        "absolute",
    );
    // Symlinks: to a file, inside an archived folder, and as the filePathRoot.
    symlink(outside.join("secret"), h.demo().join("leak")).unwrap();
    refused(
        &h,
        RequestKind::Archive(archive("x", None, &["leak"])),
        invalid,
        "outside the server root",
    );
    std::fs::remove_file(h.demo().join("leak")).unwrap();
    symlink(outside.join("secret"), h.demo().join("clip/leak")).unwrap();
    refused(
        &h,
        RequestKind::Archive(archive("x", None, &["clip"])),
        invalid,
        "clip/leak",
    );
    std::fs::remove_file(h.demo().join("clip/leak")).unwrap();
    symlink(&outside, h.demo().join("out")).unwrap();
    refused(
        &h,
        RequestKind::Archive(archive("x", Some("out"), &["secret"])),
        invalid,
        "outside the server root",
    );
    refused(
        &h,
        RequestKind::Archive(archive("x", None, &["out/secret"])),
        invalid,
        "outside the server root",
    );
}

#[test]
fn missing_sources_and_duplicates_are_refused() {
    let h = setup();
    refused(
        &h,
        RequestKind::Archive(archive("x", None, &["one.txt", "missing.bin"])),
        DivaStatusCode::DivaErrInvalidParameter,
        "missing.bin",
    );
    refused(
        &h,
        RequestKind::Archive(archive("x", Some("nodir"), &["one.txt"])),
        DivaStatusCode::DivaErrInvalidParameter,
        "does not exist",
    );
    h.run_ok(RequestKind::Archive(archive("dup", None, &["one.txt"])));
    refused(
        &h,
        RequestKind::Archive(archive("dup", None, &["clip"])),
        DivaStatusCode::DivaErrObjectAlreadyExists,
        "bad/dup",
    );
}

#[test]
fn restore_destinations_outside_the_root_are_refused() {
    let h = setup();
    h.run_ok(RequestKind::Archive(archive("obj", None, &["clip"])));
    let outside = h.dir.path().join("outside");
    let invalid = DivaStatusCode::DivaErrInvalidParameter;
    refused(
        &h,
        RequestKind::Restore(restore("obj", Some("../outside"))),
        invalid,
        "..",
    );
    let abs = outside.to_string_lossy().into_owned();
    refused(
        &h,
        RequestKind::Restore(restore("obj", Some(abs.as_str()))),
        invalid,
        "absolute",
    );
    // A folder link as the filePathRoot, and one on the way to a restored file.
    symlink(&outside, h.restore_root().join("out")).unwrap();
    refused(
        &h,
        RequestKind::Restore(restore("obj", Some("out"))),
        invalid,
        "outside the server root",
    );
    symlink(&outside, h.restore_root().join("clip")).unwrap();
    refused(
        &h,
        RequestKind::Restore(restore("obj", None)),
        invalid,
        "outside the server root",
    );
    assert_eq!(
        files_under(&outside),
        vec![("secret".into(), b"secret".to_vec())]
    );
    // Files already there are not overwritten unless asked.
    std::fs::remove_file(h.restore_root().join("clip")).unwrap();
    write_files(&h.restore_root(), &[("keep/clip/b.bin", b"mine".to_vec())]);
    refused(
        &h,
        RequestKind::Restore(restore("obj", Some("keep"))),
        DivaStatusCode::DivaErrPathDestination,
        "clip/b.bin",
    );
    // The same restore into a clean folder goes through.
    h.run_ok(RequestKind::Restore(restore("obj", Some("fresh"))));
    assert_eq!(
        std::fs::read(h.restore_root().join("fresh/clip/a.bin")).unwrap(),
        bytes(1, 4096)
    );
}
