use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::symlink;

use super::*;
use crate::request::DivaStatusCode;

fn server(root: &Path) -> Arc<Server> {
    let mut m = BTreeMap::new();
    m.insert(
        "s".to_string(),
        ServerConfig {
            root: root.to_path_buf(),
        },
    );
    Servers::from_config(&m).unwrap().get("s").unwrap()
}

fn setup() -> (tempfile::TempDir, Arc<Server>) {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    std::fs::create_dir_all(root.join("a/b")).unwrap();
    std::fs::write(root.join("a/one"), b"1").unwrap();
    std::fs::write(root.join("a/b/two"), b"22").unwrap();
    std::fs::write(root.join("a/zz"), b"333").unwrap();
    std::fs::write(t.path().join("secret"), b"outside").unwrap();
    std::fs::create_dir_all(t.path().join("outdir")).unwrap();
    std::fs::write(t.path().join("outdir/x"), b"x").unwrap();
    let s = server(&root);
    (t, s)
}

fn invalid(e: ServerError) -> String {
    assert!(
        matches!(e, ServerError::InvalidPath { .. }),
        "expected an invalid path, got {e:?}"
    );
    assert_eq!(e.diva_status(), DivaStatusCode::DivaErrInvalidParameter);
    e.to_string()
}

#[test]
fn folders_are_walked_in_name_order() {
    let (_t, s) = setup();
    let files = s.collect_sources(None, &["a".into()]).unwrap();
    let names: Vec<_> = files.iter().map(|f| (f.path.as_str(), f.size)).collect();
    assert_eq!(names, vec![("a/one", 1), ("a/zz", 3), ("a/b/two", 2)]);
    for root in ["", ".", "./"] {
        let files = s.collect_sources(Some(root), &["a/one".into()]).unwrap();
        assert_eq!(files.len(), 1);
    }
    let files = s.collect_sources(Some("a"), &["b".into()]).unwrap();
    assert_eq!(files[0].path, "b/two");
}

#[test]
fn parent_and_absolute_paths_are_refused() {
    let (t, s) = setup();
    let msg = invalid(s.collect_sources(None, &["../secret".into()]).unwrap_err());
    assert!(msg.contains(".."), "{msg}");
    let abs = t.path().join("secret").to_string_lossy().into_owned();
    let msg = invalid(
        s.collect_sources(None, std::slice::from_ref(&abs))
            .unwrap_err(),
    );
    assert!(msg.contains("absolute"), "{msg}");
    invalid(
        s.collect_sources(Some(".."), &["secret".into()])
            .unwrap_err(),
    );
    invalid(
        s.collect_sources(Some("/"), &["etc/passwd".into()])
            .unwrap_err(),
    );
    invalid(s.open_source(None, "a/../../secret").unwrap_err());
    invalid(s.create_destination(None, "../evil", true).err().unwrap());
    invalid(s.create_destination(None, &abs, true).err().unwrap());
    invalid(
        s.check_destination(Some("../x"), &["f".into()], true)
            .unwrap_err(),
    );
    assert_eq!(std::fs::read(t.path().join("secret")).unwrap(), b"outside");
    assert!(!t.path().join("evil").exists());
}

#[test]
fn symlinks_out_of_the_root_are_refused() {
    let (t, s) = setup();
    let root = t.path().join("root");
    symlink(t.path().join("secret"), root.join("a/leak")).unwrap();
    symlink(t.path().join("outdir"), root.join("out")).unwrap();
    // A file link, a link inside a walked folder, a folder link along a path.
    invalid(s.collect_sources(None, &["a/leak".into()]).unwrap_err());
    invalid(s.collect_sources(None, &["a".into()]).unwrap_err());
    invalid(s.collect_sources(None, &["out/x".into()]).unwrap_err());
    invalid(s.open_source(None, "a/leak").unwrap_err());
    invalid(s.collect_sources(Some("out"), &["x".into()]).unwrap_err());
    // Restores through a folder link are refused before and while writing.
    invalid(
        s.check_destination(None, &["out/new".into()], true)
            .unwrap_err(),
    );
    invalid(
        s.create_destination(Some("out"), "new", true)
            .err()
            .unwrap(),
    );
    assert!(!t.path().join("outdir/new").exists());
    // Overwriting a file link replaces the link; the target outside stays untouched.
    let mut f = s.create_destination(None, "a/leak", true).unwrap();
    f.write_all(b"restored").unwrap();
    f.commit().unwrap();
    assert_eq!(std::fs::read(t.path().join("secret")).unwrap(), b"outside");
    assert_eq!(std::fs::read(root.join("a/leak")).unwrap(), b"restored");
}

#[test]
fn links_within_the_root_are_followed() {
    let (t, s) = setup();
    let root = t.path().join("root");
    symlink("b/two", root.join("a/alias")).unwrap();
    let files = s.collect_sources(None, &["a/alias".into()]).unwrap();
    assert_eq!(files[0].size, 2);
}

#[test]
fn missing_sources_and_existing_destinations() {
    let (_t, s) = setup();
    let e = s.collect_sources(None, &["nope".into()]).unwrap_err();
    assert!(matches!(e, ServerError::NotFound { .. }), "{e:?}");
    let e = s
        .check_destination(None, &["a/one".into()], false)
        .unwrap_err();
    assert!(matches!(e, ServerError::Exists { .. }), "{e:?}");
    s.check_destination(None, &["a/one".into()], true).unwrap();
    s.check_destination(None, &["new/deep/file".into()], false)
        .unwrap();
    let e = s
        .check_destination(None, &["a/one/under_a_file".into()], true)
        .unwrap_err();
    assert!(matches!(e, ServerError::InvalidPath { .. }), "{e:?}");
}

#[test]
fn destination_appears_only_on_commit() {
    let (t, s) = setup();
    let root = t.path().join("root");
    let mut f = s.create_destination(Some("out2"), "d/file", false).unwrap();
    f.write_all(b"data").unwrap();
    assert!(!root.join("out2/d/file").exists());
    f.commit().unwrap();
    assert_eq!(std::fs::read(root.join("out2/d/file")).unwrap(), b"data");
    let mut f = s
        .create_destination(Some("out2"), "d/other", false)
        .unwrap();
    f.write_all(b"half").unwrap();
    drop(f);
    let left: Vec<_> = std::fs::read_dir(root.join("out2/d"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("file")]);
    // Without overwrite, a file that appeared meanwhile is not replaced.
    let mut f = s.create_destination(None, "a/one", false).unwrap();
    f.write_all(b"new").unwrap();
    assert!(matches!(f.commit(), Err(ServerError::Exists { .. })));
    assert_eq!(std::fs::read(root.join("a/one")).unwrap(), b"1");
}

#[test]
fn removing_sources_stays_in_the_root() {
    let (t, s) = setup();
    let root = t.path().join("root");
    symlink(t.path().join("outdir"), root.join("out")).unwrap();
    invalid(s.remove_sources(None, &["out/x".into()]).unwrap_err());
    assert!(t.path().join("outdir/x").exists());
    s.remove_sources(None, &["a/one".into()]).unwrap();
    assert!(!root.join("a/one").exists());
}
