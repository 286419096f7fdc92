//! Source and destination servers: named local directory roots that archives read from and
//! restores write to. Every access goes through a capability handle on the root (`cap-std`,
//! openat-style resolution), so no path given in a request — `..`, an absolute path, or a
//! symlink anywhere along the way — can reach outside its server's root.

mod error;
mod paths;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cap_std::ambient_authority;
use cap_std::fs::{Dir, OpenOptions};

pub use error::ServerError;

use crate::config::ServerConfig;

#[derive(Debug, Default)]
pub struct Servers {
    servers: BTreeMap<String, Arc<Server>>,
}

impl Servers {
    pub fn from_config(servers: &BTreeMap<String, ServerConfig>) -> Result<Servers, ServerError> {
        Ok(Servers {
            servers: servers
                .iter()
                .map(|(n, c)| {
                    (
                        n.clone(),
                        Arc::new(Server {
                            name: n.clone(),
                            root: c.root.clone(),
                        }),
                    )
                })
                .collect(),
        })
    }

    pub fn get(&self, name: &str) -> Result<Arc<Server>, ServerError> {
        self.servers
            .get(name)
            .cloned()
            .ok_or_else(|| ServerError::UnknownServer(name.to_string()))
    }

    pub fn names(&self) -> Vec<String> {
        self.servers.keys().cloned().collect()
    }
}

#[derive(Debug)]
pub struct Server {
    name: String,
    root: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    pub path: String,
    pub size: u64,
}

/// A restored file being written under a temporary name next to its final one; it takes
/// its final name only at [`DestinationFile::commit`], and vanishes if dropped before.
pub struct DestinationFile {
    file: std::fs::File,
    dir: Dir,
    tmp: PathBuf,
    dest: PathBuf,
    server: String,
    path: String,
    overwrite: bool,
    done: bool,
}

impl Write for DestinationFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl DestinationFile {
    pub fn commit(mut self) -> Result<(), ServerError> {
        let (server, path) = (self.server.clone(), self.path.clone());
        let io = |source| ServerError::io(&server, &path, source);
        self.file.sync_all().map_err(io)?;
        if !self.overwrite && self.dir.symlink_metadata(&self.dest).is_ok() {
            return Err(ServerError::Exists {
                server: self.server.clone(),
                path: self.path.clone(),
            });
        }
        // A rename replaces a symlink at the destination, it never follows it.
        self.dir
            .rename(&self.tmp, &self.dir, &self.dest)
            .map_err(io)?;
        self.done = true;
        Ok(())
    }
}

impl Drop for DestinationFile {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.dir.remove_file(&self.tmp);
        }
    }
}

impl Server {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The root as a capability; everything below resolves beneath it.
    fn open_root(&self, create: bool) -> Result<Dir, ServerError> {
        if create {
            std::fs::create_dir_all(&self.root)
                .map_err(|e| ServerError::io(&self.name, &self.root.to_string_lossy(), e))?;
        }
        Dir::open_ambient_dir(&self.root, ambient_authority()).map_err(|e| ServerError::Root {
            server: self.name.clone(),
            root: self.root.clone(),
            source: e,
        })
    }

    /// `file_path_root` + `path`, checked to be relative and free of `..`.
    fn rel(&self, file_path_root: Option<&str>, path: &str) -> Result<PathBuf, ServerError> {
        paths::relative(file_path_root, path).map_err(|reason| ServerError::InvalidPath {
            server: self.name.clone(),
            path: path.to_string(),
            reason: reason.into(),
        })
    }

    /// Maps an I/O error on `path` to a refusal when the path led outside the root.
    fn fail(&self, path: &str, e: std::io::Error) -> ServerError {
        if paths::is_escape(&e) {
            ServerError::InvalidPath {
                server: self.name.clone(),
                path: path.to_string(),
                reason: "a symlink leads outside the server root".into(),
            }
        } else if e.kind() == std::io::ErrorKind::NotFound {
            ServerError::NotFound {
                server: self.name.clone(),
                path: path.to_string(),
            }
        } else {
            ServerError::io(&self.name, path, e)
        }
    }

    /// The regular files named by `files` (folders recursively, in name order) with their
    /// sizes. Anything that is not a file or folder is refused, as is any path that leads
    /// outside the root.
    pub fn collect_sources(
        &self,
        file_path_root: Option<&str>,
        files: &[String],
    ) -> Result<Vec<SourceFile>, ServerError> {
        let root = self.open_root(false)?;
        let mut out = Vec::new();
        for f in files {
            let rel = self.rel(file_path_root, f)?;
            let md = root.metadata(&rel).map_err(|e| self.fail(f, e))?;
            if md.is_file() {
                out.push(SourceFile {
                    path: f.clone(),
                    size: md.len(),
                });
                continue;
            }
            if !md.is_dir() {
                return Err(self.not_regular(f));
            }
            let mut stack = vec![(rel, f.trim_end_matches('/').to_string())];
            while let Some((dir, name)) = stack.pop() {
                let mut entries = Vec::new();
                for e in root.read_dir(&dir).map_err(|e| self.fail(&name, e))? {
                    let e = e.map_err(|e| self.fail(&name, e))?;
                    entries.push(e.file_name());
                }
                entries.sort();
                // Pushed in reverse so the stack yields sub-folders in name order.
                let mut subdirs = Vec::new();
                for entry in entries {
                    let child = dir.join(&entry);
                    let child_name = format!("{name}/{}", entry.to_string_lossy());
                    let md = root
                        .metadata(&child)
                        .map_err(|e| self.fail(&child_name, e))?;
                    if md.is_dir() {
                        subdirs.push((child, child_name));
                    } else if md.is_file() {
                        out.push(SourceFile {
                            path: child_name,
                            size: md.len(),
                        });
                    } else {
                        return Err(self.not_regular(&child_name));
                    }
                }
                stack.extend(subdirs.into_iter().rev());
            }
        }
        Ok(out)
    }

    /// Opens `rel` below `root`, creating missing folders one at a time so that an existing
    /// link on the way is resolved (and refused if it leads out) rather than tripped over.
    fn make_dirs(&self, root: Dir, rel: &Path, path: &str) -> Result<Dir, ServerError> {
        let mut dir = root;
        for c in rel.components() {
            dir = match dir.open_dir(c) {
                Ok(d) => d,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    match dir.create_dir(c) {
                        Ok(()) => {}
                        // Another restore made it meanwhile.
                        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                        Err(e) => return Err(self.fail(path, e)),
                    }
                    dir.open_dir(c).map_err(|e| self.fail(path, e))?
                }
                Err(e) => return Err(self.fail(path, e)),
            };
        }
        Ok(dir)
    }

    fn not_regular(&self, path: &str) -> ServerError {
        ServerError::InvalidPath {
            server: self.name.clone(),
            path: path.to_string(),
            reason: "not a regular file or folder".into(),
        }
    }

    pub fn open_source(
        &self,
        file_path_root: Option<&str>,
        path: &str,
    ) -> Result<std::fs::File, ServerError> {
        let rel = self.rel(file_path_root, path)?;
        let root = self.open_root(false)?;
        let f = root.open(&rel).map_err(|e| self.fail(path, e))?;
        let md = f.metadata().map_err(|e| self.fail(path, e))?;
        if !md.is_file() {
            return Err(self.not_regular(path));
        }
        Ok(f.into_std())
    }

    pub fn remove_sources(
        &self,
        file_path_root: Option<&str>,
        paths: &[String],
    ) -> Result<(), ServerError> {
        let root = self.open_root(false)?;
        for p in paths {
            let rel = self.rel(file_path_root, p)?;
            root.remove_file(&rel).map_err(|e| self.fail(p, e))?;
        }
        Ok(())
    }

    /// Refuses a restore before it starts if any of `paths` cannot be written: outside the
    /// root, or already there while overwriting is not allowed.
    pub fn check_destination(
        &self,
        file_path_root: Option<&str>,
        paths: &[String],
        overwrite: bool,
    ) -> Result<(), ServerError> {
        let root = self.open_root(true)?;
        for p in paths {
            let rel = self.rel(file_path_root, p)?;
            // Every folder on the way must resolve beneath the root.
            if let Some(parent) = rel.parent().filter(|p| !p.as_os_str().is_empty()) {
                match root.metadata(parent) {
                    Ok(md) if !md.is_dir() => return Err(self.not_regular(p)),
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(self.fail(p, e)),
                }
            }
            match root.symlink_metadata(&rel) {
                Ok(_) if !overwrite => {
                    return Err(ServerError::Exists {
                        server: self.name.clone(),
                        path: p.clone(),
                    })
                }
                Ok(md) if md.is_dir() => return Err(self.not_regular(p)),
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(self.fail(p, e)),
            }
        }
        Ok(())
    }

    pub fn create_destination(
        &self,
        file_path_root: Option<&str>,
        path: &str,
        overwrite: bool,
    ) -> Result<DestinationFile, ServerError> {
        let rel = self.rel(file_path_root, path)?;
        let root = self.open_root(true)?;
        let (parent, file_name) = match (rel.parent(), rel.file_name()) {
            (Some(p), Some(n)) => (p.to_path_buf(), n.to_string_lossy().into_owned()),
            _ => {
                return Err(ServerError::InvalidPath {
                    server: self.name.clone(),
                    path: path.to_string(),
                    reason: "names no file".into(),
                })
            }
        };
        let dir = if parent.as_os_str().is_empty() {
            root
        } else {
            self.make_dirs(root, &parent, path)?
        };
        let tmp = PathBuf::from(format!(".{file_name}.partial"));
        let file = dir
            .open_with(
                &tmp,
                OpenOptions::new().write(true).create(true).truncate(true),
            )
            .map_err(|e| self.fail(path, e))?
            .into_std();
        Ok(DestinationFile {
            file,
            dir,
            tmp,
            dest: PathBuf::from(file_name),
            server: self.name.clone(),
            path: path.to_string(),
            overwrite,
            done: false,
        })
    }
}

#[cfg(test)]
mod tests;
