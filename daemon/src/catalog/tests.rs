use super::*;
use proptest::prelude::*;

const OP: &str = "test";

fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("valid time")
}

fn group(name: &str) -> TapeGroup {
    TapeGroup {
        name: name.into(),
        description: format!("group {name}"),
        generation: Some(8),
        created: t0(),
    }
}

fn tape(barcode: &str, group: Option<&str>) -> TapeRecord {
    let mut t = TapeRecord::new_scratch(barcode, TapeLocation::Slot(4096));
    t.capacity_bytes = 12_000_000_000_000;
    t.generation = Some(8);
    t.group = group.map(str::to_string);
    t.scratch = group.is_none();
    t
}

/// A catalog with group `g1` holding tapes AAA001L8 and AAA002L8, and group `g2` with BBB001L8.
fn setup() -> Catalog {
    let c = Catalog::temporary().expect("temporary catalog");
    c.create_group(&group("g1"), OP).expect("group");
    c.create_group(&group("g2"), OP).expect("group");
    c.add_tape(&tape("AAA001L8", Some("g1")), OP).expect("tape");
    c.add_tape(&tape("AAA002L8", Some("g1")), OP).expect("tape");
    c.add_tape(&tape("BBB001L8", Some("g2")), OP).expect("tape");
    c
}

fn object(collection: &str, name: &str, archived: OffsetDateTime) -> ObjectRecord {
    ObjectRecord::new(
        collection,
        name,
        vec![
            ObjectFile {
                path: "a.mxf".into(),
                size: 1000,
                crc32: crc32fast::hash(b"a"),
            },
            ObjectFile {
                path: "dir/b.wav".into(),
                size: 500,
                crc32: crc32fast::hash(b"b"),
            },
        ],
        archived,
        "comment",
    )
    .expect("valid object")
}

fn instance(group: &str, tape_a: &str, tape_b: &str) -> NewInstance {
    NewInstance {
        group: group.into(),
        files: vec![
            InstanceFile {
                path: "a.mxf".into(),
                tape: tape_a.into(),
                ltfs_path: "/c/n/a.mxf".into(),
                position: Some(TapePosition {
                    partition: 1,
                    block: 10,
                }),
            },
            InstanceFile {
                path: "dir/b.wav".into(),
                tape: tape_b.into(),
                ltfs_path: "/c/n/dir/b.wav".into(),
                position: Some(TapePosition {
                    partition: 1,
                    block: 5,
                }),
            },
        ],
        created: t0(),
    }
}

fn audit_count(c: &Catalog) -> usize {
    c.list_audit(None, MAX_PAGE).expect("audit").items.len()
}

#[test]
fn fresh_catalog_gets_current_schema_version() {
    let c = Catalog::temporary().expect("open");
    assert_eq!(c.schema_version().expect("version"), SCHEMA_VERSION);
}

#[test]
fn reopen_keeps_everything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cat");
    {
        let c = Catalog::open(&path).expect("open");
        c.create_group(&group("g1"), OP).expect("group");
        c.add_tape(&tape("AAA001L8", Some("g1")), OP).expect("tape");
        c.commit_archive(
            &object("c", "n", t0()),
            &instance("g1", "AAA001L8", "AAA001L8"),
            OP,
        )
        .expect("commit");
        c.put_library(&LibraryRecord {
            name: "lib0".into(),
            vendor: "TAPELIB".into(),
            product: "SIM".into(),
            serial: "S1".into(),
            elements: vec![ElementCache {
                address: 4096,
                kind: ElementKind::Storage,
                full: true,
                barcode: Some("AAA001L8".into()),
            }],
            updated: t0(),
        })
        .expect("library");
        c.flush().expect("flush");
    }
    let c = Catalog::open(&path).expect("reopen");
    assert_eq!(c.schema_version().expect("version"), SCHEMA_VERSION);
    assert_eq!(
        c.get_object("c", "n").expect("get"),
        Some(object("c", "n", t0()))
    );
    assert_eq!(c.list_instances("c", "n").expect("instances").len(), 1);
    assert_eq!(
        c.get_tape("AAA001L8").expect("tape").map(|t| t.used_bytes),
        Some(1500)
    );
    assert_eq!(c.instances_on_tape("AAA001L8").expect("on tape").len(), 1);
    assert_eq!(c.list_libraries().expect("libs").len(), 1);
    assert!(c.get_group("g1").expect("group").is_some());
    // Ids keep counting after a restart.
    c.add_tape(&tape("AAA002L8", Some("g1")), OP).expect("tape");
    let second = c
        .commit_archive(
            &object("c", "m", t0()),
            &instance("g1", "AAA002L8", "AAA002L8"),
            OP,
        )
        .expect("commit");
    assert_eq!(second.id, 2);
}

#[test]
fn newer_schema_is_refused_and_older_is_migrated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cat");
    {
        let c = Catalog::open(&path).expect("open");
        c.create_group(&group("g1"), OP).expect("group");
        c.flush().expect("flush");
    }
    // A newer daemon wrote version 2.
    {
        let db = sled::open(&path).expect("sled");
        let meta = db.open_tree(tree::META).expect("meta");
        meta.insert(schema::META_SCHEMA_VERSION, &2u32.to_be_bytes())
            .expect("write");
        db.flush().expect("flush");
    }
    match Catalog::open(&path) {
        Err(CatalogError::SchemaVersion { found, supported }) => {
            assert_eq!((found, supported), (2, SCHEMA_VERSION));
        }
        other => panic!("expected SchemaVersion, got {other:?}"),
    }
    // An older layout, version 0: refused without a migration, migrated with one.
    {
        let db = sled::open(&path).expect("sled");
        let meta = db.open_tree(tree::META).expect("meta");
        meta.insert(schema::META_SCHEMA_VERSION, &0u32.to_be_bytes())
            .expect("write");
        db.flush().expect("flush");
    }
    assert!(matches!(
        Catalog::open_with(&path, 1, &[]),
        Err(CatalogError::NoMigration {
            found: 0,
            supported: 1
        })
    ));
    fn mark(db: &sled::Db) -> Result<(), CatalogError> {
        db.open_tree(tree::META)?
            .insert(b"migrated_from_0", b"yes")?;
        Ok(())
    }
    let c = Catalog::open_with(
        &path,
        1,
        &[Migration {
            from: 0,
            apply: mark,
        }],
    )
    .expect("migrate");
    assert_eq!(c.schema_version().expect("version"), 1);
    assert!(c
        .trees()
        .meta
        .get(b"migrated_from_0")
        .expect("get")
        .is_some());
    assert!(c.get_group("g1").expect("group").is_some());
}

#[test]
fn commit_archive_writes_object_instance_usage_index_and_audit() {
    let c = setup();
    let before = audit_count(&c);
    let inst = c
        .commit_archive(
            &object("c", "n", t0()),
            &instance("g1", "AAA001L8", "AAA002L8"),
            OP,
        )
        .expect("commit");
    assert_eq!(
        inst.tapes,
        vec!["AAA001L8".to_string(), "AAA002L8".to_string()]
    );
    assert!(inst.online);
    let a = c.get_tape("AAA001L8").expect("get").expect("tape");
    let b = c.get_tape("AAA002L8").expect("get").expect("tape");
    assert_eq!((a.used_bytes, b.used_bytes), (1000, 500));
    assert_eq!(
        c.instances_on_tape("AAA001L8").expect("idx"),
        vec![inst.clone()]
    );
    assert_eq!(
        c.instances_on_tape("AAA002L8").expect("idx"),
        vec![inst.clone()]
    );
    assert_eq!(c.get_instance("c", "n", inst.id).expect("get"), Some(inst));
    let audit = c.list_audit(None, MAX_PAGE).expect("audit").items;
    assert_eq!(audit.len(), before + 1);
    let last = audit.last().expect("entry");
    assert_eq!(last.action, "object.archive");
    assert_eq!(last.subject, "c/n");
}

#[test]
fn failed_commit_leaves_nothing() {
    let c = setup();
    let audit_before = audit_count(&c);
    let tapes_before = c.list_tapes(None, 100).expect("tapes").items;
    // Second tape is in another group: the whole commit must be refused.
    let err = c
        .commit_archive(
            &object("c", "n", t0()),
            &instance("g1", "AAA001L8", "BBB001L8"),
            OP,
        )
        .expect_err("group mismatch");
    assert!(
        matches!(err, CatalogError::TapeGroupMismatch { .. }),
        "{err}"
    );
    // Unknown tape, unknown group, broken tape, incomplete file list.
    let err = c
        .commit_archive(
            &object("c", "n", t0()),
            &instance("g1", "AAA001L8", "ZZZ999L8"),
            OP,
        )
        .expect_err("missing tape");
    assert!(matches!(err, CatalogError::TapeNotFound { .. }), "{err}");
    let err = c
        .commit_archive(
            &object("c", "n", t0()),
            &instance("nope", "AAA001L8", "AAA001L8"),
            OP,
        )
        .expect_err("missing group");
    assert!(matches!(err, CatalogError::GroupNotFound { .. }), "{err}");
    let mut partial = instance("g1", "AAA001L8", "AAA002L8");
    partial.files.truncate(1);
    assert!(matches!(
        c.commit_archive(&object("c", "n", t0()), &partial, OP),
        Err(CatalogError::InvalidRecord(_))
    ));
    c.set_tape_state("AAA002L8", TapeState::Broken, Some("media error"), OP)
        .expect("state");
    let tapes_before_broken = c.list_tapes(None, 100).expect("tapes").items;
    let err = c
        .commit_archive(
            &object("c", "n", t0()),
            &instance("g1", "AAA001L8", "AAA002L8"),
            OP,
        )
        .expect_err("broken tape");
    assert!(matches!(err, CatalogError::TapeNotWritable { .. }), "{err}");

    assert_eq!(c.get_object("c", "n").expect("get"), None);
    assert!(c.list_instances("c", "n").expect("list").is_empty());
    assert!(c.instances_on_tape("AAA001L8").expect("idx").is_empty());
    assert_eq!(
        c.list_tapes(None, 100).expect("tapes").items,
        tapes_before_broken
    );
    assert_eq!(
        tapes_before
            .iter()
            .map(|t| t.used_bytes)
            .collect::<Vec<_>>(),
        vec![0, 0, 0]
    );
    // Only the state change was audited.
    assert_eq!(audit_count(&c), audit_before + 1);
    assert!(c
        .list_objects(
            &ObjectFilter {
                since: Some(OffsetDateTime::UNIX_EPOCH),
                ..Default::default()
            },
            None,
            10
        )
        .expect("list")
        .items
        .is_empty());
    // The instance id counter did not move either.
    c.set_tape_state("AAA002L8", TapeState::Active, None, OP)
        .expect("state");
    let inst = c
        .commit_archive(
            &object("c", "n", t0()),
            &instance("g1", "AAA001L8", "AAA002L8"),
            OP,
        )
        .expect("commit");
    assert_eq!(inst.id, 1);
}

#[test]
fn duplicate_object_is_refused_and_original_kept() {
    let c = setup();
    c.commit_archive(
        &object("c", "n", t0()),
        &instance("g1", "AAA001L8", "AAA001L8"),
        OP,
    )
    .expect("commit");
    let mut other = object("c", "n", t0());
    other.comments = "second".into();
    let err = c
        .commit_archive(&other, &instance("g1", "AAA002L8", "AAA002L8"), OP)
        .expect_err("duplicate");
    assert!(matches!(err, CatalogError::ObjectExists { .. }));
    assert_eq!(
        c.get_object("c", "n").expect("get").map(|o| o.comments),
        Some("comment".into())
    );
    assert_eq!(
        c.get_tape("AAA002L8").expect("get").map(|t| t.used_bytes),
        Some(0)
    );
}

#[test]
fn copies_and_deletes() {
    let c = setup();
    let first = c
        .commit_archive(
            &object("c", "n", t0()),
            &instance("g1", "AAA001L8", "AAA001L8"),
            OP,
        )
        .expect("commit");
    let copy = c
        .commit_instance("c", "n", &instance("g2", "BBB001L8", "BBB001L8"), OP)
        .expect("copy");
    assert_ne!(first.id, copy.id);
    assert_eq!(c.list_instances("c", "n").expect("list").len(), 2);
    assert!(matches!(
        c.commit_instance("c", "x", &instance("g2", "BBB001L8", "BBB001L8"), OP),
        Err(CatalogError::ObjectNotFound { .. })
    ));

    let removed = c.delete_instance("c", "n", first.id, OP).expect("delete");
    assert_eq!(removed, first);
    assert!(c.instances_on_tape("AAA001L8").expect("idx").is_empty());
    assert!(matches!(
        c.delete_instance("c", "n", copy.id, OP),
        Err(CatalogError::LastInstance { .. })
    ));
    assert!(matches!(
        c.delete_instance("c", "n", 999, OP),
        Err(CatalogError::InstanceNotFound { .. })
    ));

    let (obj, insts) = c.delete_object("c", "n", OP).expect("delete object");
    assert_eq!(obj.name, "n");
    assert_eq!(insts, vec![copy]);
    assert_eq!(c.get_object("c", "n").expect("get"), None);
    assert!(c.instances_on_tape("BBB001L8").expect("idx").is_empty());
    assert!(matches!(
        c.delete_object("c", "n", OP),
        Err(CatalogError::ObjectNotFound { .. })
    ));
    assert!(c
        .list_objects(
            &ObjectFilter {
                since: Some(OffsetDateTime::UNIX_EPOCH),
                ..Default::default()
            },
            None,
            10
        )
        .expect("list")
        .items
        .is_empty());
    // Space is reclaimed by repack, not by delete.
    assert_eq!(
        c.get_tape("BBB001L8").expect("get").map(|t| t.used_bytes),
        Some(1500)
    );
    // The name can be archived again.
    c.commit_archive(
        &object("c", "n", t0()),
        &instance("g1", "AAA002L8", "AAA002L8"),
        OP,
    )
    .expect("re-archive");
}

#[test]
fn tape_state_rules() {
    let c = setup();
    assert!(matches!(
        c.set_tape_state("AAA001L8", TapeState::Disabled, None, OP),
        Err(CatalogError::ReasonRequired { .. })
    ));
    assert!(matches!(
        c.set_tape_state("AAA001L8", TapeState::Disabled, Some("  "), OP),
        Err(CatalogError::ReasonRequired { .. })
    ));
    let t = c
        .set_tape_state("AAA001L8", TapeState::Exported, Some("sent offsite"), OP)
        .expect("export");
    assert_eq!(t.state, TapeState::Exported);
    assert_eq!(t.state_reason.as_deref(), Some("sent offsite"));
    assert!(matches!(
        c.set_tape_state("AAA001L8", TapeState::Full, Some("x"), OP),
        Err(CatalogError::InvalidTransition {
            from: TapeState::Exported,
            to: TapeState::Full,
            ..
        })
    ));
    let t = c
        .set_tape_state("AAA001L8", TapeState::Active, None, OP)
        .expect("import back");
    assert_eq!(t.state_reason, None);
    assert!(matches!(
        c.set_tape_state("NOPE", TapeState::Active, None, OP),
        Err(CatalogError::TapeNotFound { .. })
    ));
    let last = c
        .list_audit(None, MAX_PAGE)
        .expect("audit")
        .items
        .pop()
        .expect("entry");
    assert_eq!(last.action, "tape.state");
    assert!(
        last.details.starts_with("Exported -> Active"),
        "{}",
        last.details
    );
}

#[test]
fn tape_moves_count_mounts_and_groups_are_guarded() {
    let c = setup();
    c.move_tape_location("AAA001L8", TapeLocation::Drive(256), Some("lib0"))
        .expect("move");
    c.move_tape_location("AAA001L8", TapeLocation::Drive(256), None)
        .expect("same place");
    let t = c
        .move_tape_location("AAA001L8", TapeLocation::Slot(4097), None)
        .expect("move");
    assert_eq!(t.mounts, 1);
    assert_eq!(t.library.as_deref(), Some("lib0"));
    let t = c
        .move_tape_location("AAA001L8", TapeLocation::Outside, None)
        .expect("move");
    assert_eq!(t.library, None);
    assert_eq!(c.record_tape_error("AAA001L8").expect("err").errors, 1);
    assert!(matches!(
        c.update_tape("AAA001L8", |t| {
            t.group = Some("g2".into());
            Ok(())
        }),
        Err(CatalogError::InvalidRecord(_))
    ));
    assert!(matches!(
        c.add_tape(&tape("AAA001L8", None), OP),
        Err(CatalogError::TapeExists { .. })
    ));
    assert!(matches!(
        c.create_group(&group("g1"), OP),
        Err(CatalogError::GroupExists { .. })
    ));
    assert!(matches!(
        c.delete_group("g2", OP),
        Err(CatalogError::GroupInUse { tapes: 1, .. })
    ));
    assert!(matches!(
        c.assign_tape_group("BBB001L8", Some("nope"), OP),
        Err(CatalogError::GroupNotFound { .. })
    ));
    let t = c.assign_tape_group("BBB001L8", None, OP).expect("unassign");
    assert_eq!(t.group, None);
    c.delete_group("g2", OP).expect("delete group");
    assert!(matches!(
        c.delete_group("g2", OP),
        Err(CatalogError::GroupNotFound { .. })
    ));
    assert_eq!(c.list_groups().expect("groups").len(), 1);
}

#[test]
fn offline_and_online_follow_every_tape_of_a_spanning_instance() {
    let c = setup();
    let inst = c
        .commit_archive(
            &object("c", "n", t0()),
            &instance("g1", "AAA001L8", "AAA002L8"),
            OP,
        )
        .expect("commit");
    assert_eq!(
        c.mark_tape_offline("AAA001L8", OP).expect("off"),
        vec![inst.id]
    );
    assert_eq!(
        c.mark_tape_offline("AAA002L8", OP).expect("off"),
        Vec::<u64>::new()
    );
    assert!(!c.get_tape("AAA001L8").expect("get").expect("tape").online);
    // One of its two tapes back: still offline.
    assert_eq!(
        c.mark_tape_online("AAA001L8", OP).expect("on"),
        Vec::<u64>::new()
    );
    assert!(
        !c.get_instance("c", "n", inst.id)
            .expect("get")
            .expect("inst")
            .online
    );
    assert_eq!(
        c.mark_tape_online("AAA002L8", OP).expect("on"),
        vec![inst.id]
    );
    assert!(
        c.get_instance("c", "n", inst.id)
            .expect("get")
            .expect("inst")
            .online
    );
    // A commit onto an offline tape records the instance offline.
    c.mark_tape_offline("BBB001L8", OP).expect("off");
    let copy = c
        .commit_instance("c", "n", &instance("g2", "BBB001L8", "BBB001L8"), OP)
        .expect("copy");
    assert!(!copy.online);
}

#[test]
fn object_paging_collection_and_since_filters() {
    let c = setup();
    let mut expected = Vec::new();
    for i in 0..25u32 {
        let coll = if i % 5 == 0 { "other" } else { "main" };
        let name = format!("obj{i:03}");
        let when = t0() + time::Duration::seconds(i64::from(i));
        let o = ObjectRecord::new(
            coll,
            name.as_str(),
            vec![ObjectFile {
                path: "f".into(),
                size: 10,
                crc32: i,
            }],
            when,
            "",
        )
        .expect("object");
        let inst = NewInstance {
            group: "g1".into(),
            files: vec![InstanceFile {
                path: "f".into(),
                tape: "AAA001L8".into(),
                ltfs_path: format!("/{coll}/{name}/f"),
                position: None,
            }],
            created: when,
        };
        c.commit_archive(&o, &inst, OP).expect("commit");
        expected.push(o);
    }
    // All objects, pages of 10, key order.
    let mut all = Vec::new();
    let mut cursor: Option<Cursor> = None;
    let mut pages = 0;
    loop {
        let page = c
            .list_objects(&ObjectFilter::default(), cursor.as_ref(), 10)
            .expect("page");
        pages += 1;
        assert!(page.items.len() <= 10);
        all.extend(page.items);
        match page.next {
            // Go through the text form, as an API client would.
            Some(n) => cursor = Some(Cursor::from_token(&n.to_token()).expect("token")),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let mut sorted = expected.clone();
    sorted.sort_by(|a, b| (&a.collection, &a.name).cmp(&(&b.collection, &b.name)));
    assert_eq!(all, sorted);
    // Exactly one full page: no next cursor.
    let p = c
        .list_objects(
            &ObjectFilter {
                collection: Some("other".into()),
                since: None,
            },
            None,
            5,
        )
        .expect("page");
    assert_eq!(p.items.len(), 5);
    assert_eq!(p.next, None);
    assert!(p.items.iter().all(|o| o.collection == "other"));
    // Since: objects archived at or after t0+20s, in time order, paged by 2.
    let filter = ObjectFilter {
        collection: None,
        since: Some(t0() + time::Duration::seconds(20)),
    };
    let p1 = c.list_objects(&filter, None, 2).expect("page");
    let names: Vec<_> = p1.items.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["obj020", "obj021"]);
    let p2 = c.list_objects(&filter, p1.next.as_ref(), 2).expect("page");
    let p3 = c.list_objects(&filter, p2.next.as_ref(), 2).expect("page");
    assert_eq!(p3.items.len(), 1);
    assert_eq!(p3.next, None);
    let filter = ObjectFilter {
        collection: Some("main".into()),
        since: Some(t0() + time::Duration::seconds(20)),
    };
    let p = c.list_objects(&filter, None, 100).expect("page");
    let names: Vec<_> = p.items.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["obj021", "obj022", "obj023", "obj024"]);
    // Hostile cursors are errors, not panics.
    assert!(matches!(
        Cursor::from_token("abc"),
        Err(CatalogError::InvalidCursor)
    ));
    assert!(matches!(
        Cursor::from_token("zz"),
        Err(CatalogError::InvalidCursor)
    ));
    let foreign = Cursor(b"x\0y".to_vec());
    assert!(matches!(
        c.list_objects(
            &ObjectFilter {
                collection: Some("main".into()),
                since: None
            },
            Some(&foreign),
            10
        ),
        Err(CatalogError::InvalidCursor)
    ));
}

#[test]
fn tape_and_audit_paging() {
    let c = Catalog::temporary().expect("open");
    for i in 0..7 {
        c.add_tape(&tape(&format!("T{i:05}L8"), None), OP)
            .expect("tape");
    }
    let p = c.list_tapes(None, 4).expect("page");
    assert_eq!(p.items.len(), 4);
    let q = c.list_tapes(p.next.as_ref(), 4).expect("page");
    assert_eq!(q.items.len(), 3);
    assert_eq!(q.next, None);
    assert_eq!(
        q.items.first().map(|t| t.barcode.as_str()),
        Some("T00004L8")
    );
    let audit = c.list_audit(None, 100).expect("audit").items;
    assert_eq!(audit.len(), 7);
    assert!(audit.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(audit
        .iter()
        .all(|a| a.action == "tape.add" && a.details == "scratch"));
}

#[test]
fn corrupt_records_are_typed_errors() {
    let c = setup();
    c.trees()
        .tapes
        .insert(b"AAA001L8", b"{not json".to_vec())
        .expect("insert");
    match c.get_tape("AAA001L8") {
        Err(CatalogError::Codec { tree, key, .. }) => {
            assert_eq!((tree, key.as_str()), ("tapes", "AAA001L8"));
        }
        other => panic!("expected Codec, got {other:?}"),
    }
    assert!(matches!(
        c.set_tape_state("AAA001L8", TapeState::Active, None, OP),
        Err(CatalogError::Codec { .. })
    ));
    assert!(matches!(
        c.list_tapes(None, 10),
        Err(CatalogError::Codec { .. })
    ));
    c.trees()
        .counters
        .insert(b"instance_id", b"xyz".to_vec())
        .expect("insert");
    assert!(matches!(
        c.commit_archive(
            &object("c", "n", t0()),
            &instance("g1", "AAA002L8", "AAA002L8"),
            OP
        ),
        Err(CatalogError::InvalidRecord(_))
    ));
    assert_eq!(c.get_object("c", "n").expect("get"), None);
}

#[test]
fn concurrent_writers_get_distinct_ids() {
    let c = setup();
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let c = c.clone();
            std::thread::spawn(move || {
                (0..10)
                    .map(|i| {
                        let name = format!("t{t}-{i}");
                        c.commit_archive(
                            &object("c", &name, t0()),
                            &instance("g1", "AAA001L8", "AAA002L8"),
                            OP,
                        )
                        .expect("commit")
                        .id
                    })
                    .collect::<Vec<u64>>()
            })
        })
        .collect();
    let mut ids: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("thread"))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 40);
    let a = c.get_tape("AAA001L8").expect("get").expect("tape");
    assert_eq!(a.used_bytes, 40 * 1000);
    assert_eq!(c.instances_on_tape("AAA002L8").expect("idx").len(), 40);
}

#[test]
fn invalid_names_are_refused() {
    let c = setup();
    assert!(matches!(
        c.add_tape(&tape("BAD\0CODE", None), OP),
        Err(CatalogError::InvalidName { .. })
    ));
    assert!(matches!(
        c.create_group(&group(""), OP),
        Err(CatalogError::InvalidName { .. })
    ));
    let mut o = object("c", "n", t0());
    o.total_size += 1;
    assert!(matches!(
        c.commit_archive(&o, &instance("g1", "AAA001L8", "AAA001L8"), OP),
        Err(CatalogError::InvalidRecord(_))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Whatever object is committed reads back equal, and its instance is indexed.
    #[test]
    fn committed_objects_read_back(o in records::strategies::object()) {
        let c = setup();
        let new = NewInstance {
            group: "g1".into(),
            files: o.files.iter().enumerate().map(|(i, f)| InstanceFile {
                path: f.path.clone(),
                tape: if i % 2 == 0 { "AAA001L8".into() } else { "AAA002L8".into() },
                ltfs_path: format!("/{}/{}/{}", o.collection, o.name, f.path),
                position: None,
            }).collect(),
            created: o.archived,
        };
        let inst = c.commit_archive(&o, &new, OP).expect("commit");
        prop_assert_eq!(c.get_object(&o.collection, &o.name).expect("get"), Some(o.clone()));
        prop_assert_eq!(c.list_instances(&o.collection, &o.name).expect("list"), vec![inst.clone()]);
        let used: u64 = ["AAA001L8", "AAA002L8"].iter()
            .map(|b| c.get_tape(b).expect("get").map(|t| t.used_bytes).unwrap_or(0))
            .sum();
        prop_assert_eq!(used, o.total_size);
        for b in &inst.tapes {
            prop_assert_eq!(c.instances_on_tape(b).expect("idx"), vec![inst.clone()]);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn cursor_tokens_roundtrip(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let c = Cursor(bytes);
        prop_assert_eq!(Cursor::from_token(&c.to_token()).expect("token"), c);
    }

    #[test]
    fn arbitrary_tokens_never_panic(token in ".{0,40}") {
        let _ = Cursor::from_token(&token);
    }
}
