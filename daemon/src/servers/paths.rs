//! Lexical checks on request paths, before any file system access.

use std::path::{Component, Path, PathBuf};

/// `file_path_root` joined with `path`, both relative and without `..`. An empty or "."
/// `file_path_root` is the server root itself.
pub(super) fn relative(file_path_root: Option<&str>, path: &str) -> Result<PathBuf, &'static str> {
    if path.is_empty() {
        return Err("the path is empty");
    }
    let mut out = PathBuf::new();
    for p in file_path_root.into_iter().chain(std::iter::once(path)) {
        if p.contains('\0') {
            return Err("the path contains a NUL byte");
        }
        for c in Path::new(p).components() {
            match c {
                Component::Normal(n) => out.push(n),
                Component::CurDir => {}
                Component::ParentDir => return Err("'..' is not allowed"),
                Component::RootDir | Component::Prefix(_) => {
                    return Err("absolute paths are not allowed")
                }
            }
        }
    }
    Ok(out)
}

/// The error cap-std gives when resolution would leave the root (a symlink pointing out,
/// or the kernel's RESOLVE_BENEATH refusal).
pub(super) fn is_escape(e: &std::io::Error) -> bool {
    match e.raw_os_error() {
        Some(code) => code == libc::EXDEV,
        None => e.kind() == std::io::ErrorKind::PermissionDenied,
    }
}
