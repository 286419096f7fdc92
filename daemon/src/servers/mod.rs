//! Source and destination servers: named local directory roots that archives read from and
//! restores write to. No path given in a request may lead outside its server's root.

mod error;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

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

pub struct DestinationFile {
    file: std::fs::File,
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
        let io = |source| ServerError::Io {
            server: self.server.clone(),
            path: self.path.clone(),
            source,
        };
        self.file.sync_all().map_err(io)?;
        if !self.overwrite && self.dest.exists() {
            return Err(ServerError::Exists {
                server: self.server.clone(),
                path: self.path.clone(),
            });
        }
        std::fs::rename(&self.tmp, &self.dest).map_err(io)?;
        self.done = true;
        Ok(())
    }
}

impl Drop for DestinationFile {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.tmp);
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

    fn rel(&self, file_path_root: Option<&str>, path: &str) -> Result<PathBuf, ServerError> {
        let mut out = PathBuf::new();
        for p in file_path_root.into_iter().chain(std::iter::once(path)) {
            for c in Path::new(p).components() {
                match c {
                    Component::Normal(n) => out.push(n),
                    Component::CurDir => {}
                    _ => {
                        return Err(ServerError::InvalidPath {
                            server: self.name.clone(),
                            path: path.to_string(),
                            reason: "absolute or parent components".into(),
                        })
                    }
                }
            }
        }
        Ok(out)
    }

    fn full(&self, file_path_root: Option<&str>, path: &str) -> Result<PathBuf, ServerError> {
        let full = self.root.join(self.rel(file_path_root, path)?);
        if let (Ok(c), Ok(r)) = (full.canonicalize(), self.root.canonicalize()) {
            if !c.starts_with(&r) {
                return Err(ServerError::InvalidPath {
                    server: self.name.clone(),
                    path: path.to_string(),
                    reason: "leads outside the server root".into(),
                });
            }
        }
        Ok(full)
    }

    pub fn collect_sources(
        &self,
        file_path_root: Option<&str>,
        files: &[String],
    ) -> Result<Vec<SourceFile>, ServerError> {
        let mut out = Vec::new();
        for f in files {
            let full = self.full(file_path_root, f)?;
            let md = std::fs::metadata(&full).map_err(|_| ServerError::NotFound {
                server: self.name.clone(),
                path: f.clone(),
            })?;
            if md.is_dir() {
                let mut stack = vec![(full.clone(), f.trim_end_matches('/').to_string())];
                while let Some((dir, rel)) = stack.pop() {
                    let mut entries: Vec<_> = std::fs::read_dir(&dir)
                        .map_err(|source| ServerError::Io {
                            server: self.name.clone(),
                            path: rel.clone(),
                            source,
                        })?
                        .filter_map(|e| e.ok())
                        .collect();
                    entries.sort_by_key(|e| e.file_name());
                    for e in entries {
                        let name = format!("{rel}/{}", e.file_name().to_string_lossy());
                        let p = self.full(file_path_root, &name)?;
                        let md = std::fs::metadata(&p).map_err(|_| ServerError::NotFound {
                            server: self.name.clone(),
                            path: name.clone(),
                        })?;
                        if md.is_dir() {
                            stack.push((p, name));
                        } else if md.is_file() {
                            out.push(SourceFile {
                                path: name,
                                size: md.len(),
                            });
                        }
                    }
                }
            } else if md.is_file() {
                out.push(SourceFile {
                    path: f.clone(),
                    size: md.len(),
                });
            }
        }
        Ok(out)
    }

    pub fn open_source(
        &self,
        file_path_root: Option<&str>,
        path: &str,
    ) -> Result<std::fs::File, ServerError> {
        std::fs::File::open(self.full(file_path_root, path)?).map_err(|_| ServerError::NotFound {
            server: self.name.clone(),
            path: path.to_string(),
        })
    }

    pub fn remove_sources(
        &self,
        file_path_root: Option<&str>,
        paths: &[String],
    ) -> Result<(), ServerError> {
        for p in paths {
            std::fs::remove_file(self.full(file_path_root, p)?).map_err(|source| {
                ServerError::Io {
                    server: self.name.clone(),
                    path: p.clone(),
                    source,
                }
            })?;
        }
        Ok(())
    }

    pub fn check_destination(
        &self,
        file_path_root: Option<&str>,
        paths: &[String],
        overwrite: bool,
    ) -> Result<(), ServerError> {
        for p in paths {
            let full = self.full(file_path_root, p)?;
            if !overwrite && full.exists() {
                return Err(ServerError::Exists {
                    server: self.name.clone(),
                    path: p.clone(),
                });
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
        let dest = self.full(file_path_root, path)?;
        let io = |source| ServerError::Io {
            server: self.name.clone(),
            path: path.to_string(),
            source,
        };
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let tmp = dest.with_file_name(format!(
            ".{}.partial",
            dest.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        ));
        let file = std::fs::File::create(&tmp).map_err(io)?;
        Ok(DestinationFile {
            file,
            tmp,
            dest,
            server: self.name.clone(),
            path: path.to_string(),
            overwrite,
            done: false,
        })
    }
}
