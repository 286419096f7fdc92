//! Tapes leave one tapelibd and enter another: daemon A (its own simulator, catalog and
//! data directory) archives objects and exports two tapes; the cartridges leave A's
//! simulator through its I/E slots and its image export, enter B's simulator through image
//! import and its I/E slots; fresh daemon B inserts them and imports one with A's export
//! document and the other by its LTFS xattrs alone. Every object restores from each tape
//! with the archived bytes, and both imports give B the same objects.

mod process_common;

use std::collections::BTreeMap;

use process_common::{bytes, object_ref, sim_config, state, write_files, Devices, Lab};
use tapelib_proto::v1::{
    request_info, ImportConflict, ListObjectsRequest, ObjectInfo, PageRequest, RequestInfo,
    RequestState, SubmitExportRequest, SubmitImportRequest, SubmitInsertRequest,
    SubmitRestoreRequest,
};

/// (relative path, content) of one file.
type File = (String, Vec<u8>);

/// The objects: name and files.
fn objects() -> Vec<(String, Vec<File>)> {
    [
        ("clip1", &[180_000usize, 7][..]),
        ("clip2", &[64_000][..]),
        ("clip3", &[0, 250_000, 1][..]),
    ]
    .iter()
    .enumerate()
    .map(|(i, (name, sizes))| {
        let files = sizes
            .iter()
            .enumerate()
            .map(|(j, &n)| {
                (
                    format!("{name}/part{j}.bin"),
                    bytes(100 * i as u64 + j as u64 + 1, n),
                )
            })
            .collect();
        (name.to_string(), files)
    })
    .collect()
}

async fn completed(lab: &Lab, id: u64) -> RequestInfo {
    let r = lab.wait(id).await;
    assert_eq!(state(&r), RequestState::Completed, "{r:?}");
    r
}

/// Archives every object on A and returns the one tape they went to.
async fn archive_all(a: &Lab) -> String {
    let mut tapes = Vec::new();
    for (name, _) in objects() {
        let id = a
            .submit_archive(&name, &[name.as_str()])
            .await
            .expect("archive");
        completed(a, id).await;
        let info = a.object(&name).await.expect("archived object");
        tapes.push(info.instances[0].tapes[0].barcode.clone());
    }
    tapes.dedup();
    assert_eq!(tapes.len(), 1, "the objects went to one tape: {tapes:?}");
    tapes.remove(0)
}

/// Exports `barcode` from A; returns the export document.
async fn export(a: &Lab, barcode: &str) -> String {
    let id = a
        .requests()
        .submit_export(SubmitExportRequest {
            barcodes: vec![barcode.to_string()],
            comments: "moving to site B".into(),
            priority: None,
        })
        .await
        .expect("SubmitExport")
        .into_inner()
        .request_id;
    let r = completed(a, id).await;
    let Some(request_info::Result::Export(e)) = r.result else {
        panic!("no export result: {r:?}")
    };
    assert_eq!(e.barcodes, vec![barcode.to_string()]);
    assert_eq!(e.object_count as usize, objects().len(), "{e:?}");
    e.document
}

fn ctl(lab: &Lab, args: &[&str]) -> String {
    let out = lab.sim.ctl(args).expect("tapelib-sim ctl runs");
    assert!(
        out.status.success(),
        "tapelib-sim ctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Takes every cartridge out of A's I/E slots, carries their images to B's simulator and
/// puts them into B's I/E slots; returns the barcodes moved.
fn carry(a: &Lab, b: &Lab, slots: u16) -> Vec<String> {
    let mut moved = Vec::new();
    for slot in 1..=slots {
        let out = ctl(a, &["--json", "remove", "--slot", &slot.to_string()]);
        let v: serde_json::Value = serde_json::from_str(out.trim()).expect("ctl JSON");
        let barcode = v["barcode"].as_str().expect("barcode").to_string();
        let image = a.dir.path().join(format!("image-{barcode}"));
        let image_s = image.to_str().expect("UTF-8 path");
        ctl(a, &["export-image", &barcode, image_s]);
        ctl(b, &["import-image", image_s, "--barcode", &barcode]);
        ctl(b, &["insert", &barcode]);
        moved.push(barcode);
    }
    moved
}

/// What B's catalog says of the objects: name -> files (path, size, CRC-32).
fn files_of(info: &ObjectInfo) -> Vec<(String, u64, u32)> {
    info.files
        .iter()
        .map(|f| (f.path.clone(), f.size_bytes, f.crc32))
        .collect()
}

async fn listing(b: &Lab) -> Vec<(String, u32, u64)> {
    b.objects()
        .list_objects(ListObjectsRequest {
            page: Some(PageRequest { page: 1, size: 100 }),
            ..Default::default()
        })
        .await
        .expect("ListObjects")
        .into_inner()
        .objects
        .into_iter()
        .map(|o| {
            let r = o.object.expect("object ref");
            (
                format!("{}/{}", r.collection, r.name),
                o.file_count,
                o.total_size_bytes,
            )
        })
        .collect()
}

/// Restores every object from the instance on `barcode` and compares the bytes.
async fn assert_restores_from(b: &Lab, barcode: &str, root: &str) {
    for (name, files) in objects() {
        let info = b.object(&name).await.expect("imported object");
        let instance = info
            .instances
            .iter()
            .find(|i| i.tapes.iter().any(|t| t.barcode == barcode))
            .unwrap_or_else(|| panic!("{name} has no instance on {barcode}: {info:?}"));
        let id = b
            .requests()
            .submit_restore(SubmitRestoreRequest {
                object: Some(object_ref(&name)),
                destination_server: "restore".into(),
                file_path_root: root.into(),
                instance: Some(instance.instance_id),
                ..Default::default()
            })
            .await
            .expect("SubmitRestore")
            .into_inner()
            .request_id;
        completed(b, id).await;
        for (path, data) in &files {
            let got = std::fs::read(b.restore_root().join(root).join(path)).expect("restored");
            assert!(
                &got == data,
                "{name}: {path} from {barcode} differs after the move"
            );
            let want = files_of(&info)
                .into_iter()
                .find(|(p, _, _)| p == path)
                .unwrap_or_else(|| panic!("{path} not in {info:?}"));
            assert_eq!(
                (want.1, want.2),
                (data.len() as u64, crc32fast::hash(data)),
                "{name}: {path}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tapes_exported_by_one_daemon_import_into_another() {
    let mut a = Lab::new(&sim_config(1, 2, ""), 1, Devices::Socket);
    let mut b = Lab::new(&sim_config(1, 0, ""), 1, Devices::Socket);
    a.start().await;
    b.start().await;
    for (_, files) in objects() {
        let refs: Vec<(&str, Vec<u8>)> =
            files.iter().map(|(p, d)| (p.as_str(), d.clone())).collect();
        write_files(&a.demo(), &refs);
    }

    // A writes the objects to one tape and exports it; they leave A's catalog, so the same
    // objects archived again go to the second tape, which is exported too.
    let first = archive_all(&a).await;
    let document = export(&a, &first).await;
    assert!(document.contains("clip3"), "{document}");
    assert!(
        a.object("clip1").await.is_err(),
        "exported objects leave the catalog"
    );
    let second = archive_all(&a).await;
    assert_ne!(first, second);
    export(&a, &second).await;

    let mut moved = carry(&a, &b, 2);
    moved.sort();
    let mut want = vec![first.clone(), second.clone()];
    want.sort();
    assert_eq!(moved, want);

    // B takes both from its I/E slots.
    let id = b
        .requests()
        .submit_insert(SubmitInsertRequest::default())
        .await
        .expect("SubmitInsert")
        .into_inner()
        .request_id;
    completed(&b, id).await;

    // The first tape with A's export document.
    let id = b
        .requests()
        .submit_import(SubmitImportRequest {
            barcodes: vec![first.clone()],
            media: "default".into(),
            document: document.clone(),
            on_conflict: ImportConflict::Refuse as i32,
            verify: true,
            ..Default::default()
        })
        .await
        .expect("SubmitImport")
        .into_inner()
        .request_id;
    let r = completed(&b, id).await;
    let Some(request_info::Result::Import(imported)) = &r.result else {
        panic!("no import result: {r:?}")
    };
    assert_eq!(imported.objects.len(), objects().len(), "{imported:?}");
    let by_document = listing(&b).await;
    let mut files_by_document = BTreeMap::new();
    for (name, _) in objects() {
        let info = b.object(&name).await.expect("imported object");
        assert_eq!(info.instances.len(), 1);
        files_by_document.insert(name, files_of(&info));
    }
    assert_restores_from(&b, &first, "by-document").await;

    // The second tape by its xattrs alone: every object matches what the document gave, so
    // each becomes a second instance of the same object.
    let id = b
        .requests()
        .submit_import(SubmitImportRequest {
            barcodes: vec![second.clone()],
            media: "default".into(),
            on_conflict: ImportConflict::AddInstance as i32,
            ..Default::default()
        })
        .await
        .expect("SubmitImport")
        .into_inner()
        .request_id;
    let r = completed(&b, id).await;
    let Some(request_info::Result::Import(imported)) = &r.result else {
        panic!("no import result: {r:?}")
    };
    assert_eq!(
        (imported.objects.len(), imported.skipped.len()),
        (objects().len(), 0),
        "{imported:?}"
    );
    assert_eq!(listing(&b).await, by_document);
    for (name, _) in objects() {
        let info = b.object(&name).await.expect("imported object");
        assert_eq!(info.instances.len(), 2, "{info:?}");
        assert_eq!(files_of(&info), files_by_document[&name], "{name}");
    }
    assert_restores_from(&b, &second, "by-xattrs").await;
}
