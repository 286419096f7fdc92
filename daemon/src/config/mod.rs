//! The daemon's TOML configuration: libraries and their devices, tape groups, servers, the
//! catalog, listen addresses, limits and timeouts.
//!
//! Relative paths in a file are taken relative to the directory of that file, so a
//! configuration and the data next to it can be moved together.

mod auth;
mod defaults;
mod error;
mod validate;
mod verify;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use auth::{AuthConfig, MAX_TOKEN_VALIDITY};
pub use error::ConfigError;
pub use verify::VerifyPolicy;

/// The whole daemon configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonConfig {
    /// Directory of the sled catalog.
    pub catalog: PathBuf,
    #[serde(default)]
    pub listen: ListenConfig,
    #[serde(default)]
    pub limits: Limits,
    /// Named sources and destinations of archive and restore requests.
    #[serde(default)]
    pub servers: BTreeMap<String, ServerConfig>,
    #[serde(default, rename = "group")]
    pub groups: Vec<GroupConfig>,
    #[serde(default, rename = "library")]
    pub libraries: Vec<LibraryConfig>,
    #[serde(default)]
    pub auth: AuthConfig,
    /// The scheduled verify policy.
    #[serde(default)]
    pub verify: VerifyPolicy,
}

/// Where the daemon listens. A missing address disables that endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListenConfig {
    pub grpc: Option<SocketAddr>,
    pub rest: Option<SocketAddr>,
    /// Serve the REST facade over HTTPS with this certificate and key.
    pub rest_tls: Option<TlsPaths>,
    /// Allow plain HTTP for the REST facade on an address other than loopback.
    pub rest_allow_plain_http: bool,
    /// Local Unix socket for `tapectl`.
    pub unix_socket: Option<PathBuf>,
}

/// The smallest memory buffer a two-drive repack streams through: a few records.
pub const MIN_REPACK_BUFFER_BYTES: u64 = 64 << 10;

/// A PEM certificate chain and its private key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsPaths {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Limits and timeouts. Durations are written the human way: `"30s"`, `"10m"`, `"4h"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Requests running at once (at most one per drive does tape work).
    pub max_running_requests: usize,
    /// Requests accepted into the queue before new ones are refused.
    pub max_queued_requests: usize,
    /// INQUIRY, TEST UNIT READY, MODE/LOG SENSE and other status commands.
    #[serde(with = "humantime_serde")]
    pub status_timeout: Duration,
    /// Tape motion (LOAD/UNLOAD, REWIND, LOCATE, READ, WRITE) and robot moves.
    #[serde(with = "humantime_serde")]
    pub motion_timeout: Duration,
    /// FORMAT MEDIUM, long ERASE.
    #[serde(with = "humantime_serde")]
    pub format_timeout: Duration,
    /// INITIALIZE ELEMENT STATUS (a full library scan).
    #[serde(with = "humantime_serde")]
    pub inventory_timeout: Duration,
    /// How long a drive may take to become ready after a cartridge was moved into it.
    #[serde(with = "humantime_serde")]
    pub drive_ready_timeout: Duration,
    /// How often TEST UNIT READY is polled while waiting for a drive.
    #[serde(with = "humantime_serde")]
    pub ready_poll_interval: Duration,
    /// Bytes a repack may stage on disk at once (one-drive repack reads a batch of objects
    /// into the data directory, then writes them out).
    pub repack_cache_bytes: u64,
    /// Bytes a two-drive repack holds in memory between the drive reading the source and
    /// the drive writing the destination.
    pub repack_buffer_bytes: u64,
    /// Bytes a repack writes to a destination between two index writes; the objects an
    /// index covers switch to their new instances right after it is on tape.
    pub repack_sync_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        let t = tapelib_scsi::Timeouts::default();
        Limits {
            max_running_requests: 16,
            max_queued_requests: 10_000,
            status_timeout: t.status,
            motion_timeout: t.motion,
            format_timeout: t.format,
            inventory_timeout: t.initialize_element_status,
            // LTO drives document load-to-ready times of a few minutes at worst.
            drive_ready_timeout: Duration::from_secs(15 * 60),
            ready_poll_interval: Duration::from_secs(1),
            repack_cache_bytes: 32 << 30,
            repack_buffer_bytes: 256 << 20,
            repack_sync_bytes: 1 << 30,
        }
    }
}

impl Limits {
    /// The per-command timeouts handed to the SCSI devices.
    pub fn scsi_timeouts(&self) -> tapelib_scsi::Timeouts {
        tapelib_scsi::Timeouts {
            status: self.status_timeout,
            motion: self.motion_timeout,
            initialize_element_status: self.inventory_timeout,
            format: self.format_timeout,
        }
    }
}

/// A named server: today a local directory whose root no request path may escape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub root: PathBuf,
}

/// A tape group known from the start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupConfig {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Restrict the group to one LTO generation.
    #[serde(default)]
    pub generation: Option<u8>,
}

/// One tape library: a changer and its drives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LibraryConfig {
    pub name: String,
    /// The simulated library that `sim` devices of this library belong to.
    #[serde(default)]
    pub simulator: Option<SimulatorConfig>,
    pub changer: DeviceRef,
    #[serde(rename = "drive")]
    pub drives: Vec<DriveConfig>,
}

/// How a device is reached: `{ sg = "/dev/sg3" }` (also `/dev/tape/by-id/...` links to SG
/// nodes) or `{ sim = "drive0" }` (a device of the library's simulator).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum DeviceRef {
    Sg(PathBuf),
    Sim(String),
}

impl std::fmt::Display for DeviceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceRef::Sg(p) => write!(f, "{}", p.display()),
            DeviceRef::Sim(d) => write!(f, "sim:{d}"),
        }
    }
}

/// One drive of a library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriveConfig {
    /// Name operators and requests use; `drive<N>` (position in this list) when absent.
    #[serde(default)]
    pub name: Option<String>,
    pub device: DeviceRef,
    /// Data transfer element address of the drive. Without it the drive is found by matching
    /// its unit serial number (VPD 80h) with the changer's DVCID serials (SMC-3 6.10.6).
    #[serde(default)]
    pub element: Option<u16>,
}

/// A simulated library: opened in this process, or a running `tapelib-sim serve`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatorConfig {
    /// State directory of the simulated library (cartridges, state; the socket when connecting).
    pub state_dir: PathBuf,
    /// Connect to the server already running on `state_dir` instead of opening it here.
    #[serde(default)]
    pub connect: bool,
    /// A tapelib-sim configuration file (in-process only).
    #[serde(default)]
    pub config_file: Option<PathBuf>,
    /// The tapelib-sim configuration written inline (in-process only).
    #[serde(default)]
    pub inline: Option<tapelib_sim::config::LibraryConfig>,
}

impl DaemonConfig {
    /// Parses and validates a configuration; relative paths stay as written.
    pub fn from_toml_str(text: &str) -> Result<DaemonConfig, ConfigError> {
        let config: DaemonConfig = toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|span| error::line_column(text, span.start))
                .unwrap_or((0, 0));
            ConfigError::Parse {
                path: None,
                line,
                column,
                message: e.message().to_string(),
            }
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Reads, parses and validates a file; relative paths are resolved against its directory.
    pub fn from_file(path: impl AsRef<Path>) -> Result<DaemonConfig, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config = DaemonConfig::from_toml_str(&text).map_err(|e| e.in_file(path))?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.resolve_paths(base);
        Ok(config)
    }

    /// Serializes to TOML (the form `from_toml_str` reads back).
    pub fn to_toml_string(&self) -> Result<String, ConfigError> {
        toml::to_string(self).map_err(|e| ConfigError::invalid("(config)", e.to_string()))
    }

    /// The library named `name`.
    pub fn library(&self, name: &str) -> Option<&LibraryConfig> {
        self.libraries.iter().find(|l| l.name == name)
    }

    /// Makes every relative path absolute against `base`.
    pub fn resolve_paths(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        fix(&mut self.catalog);
        if let Some(d) = self.auth.state_dir.as_mut() {
            fix(d);
        }
        if let Some(s) = self.listen.unix_socket.as_mut() {
            fix(s);
        }
        if let Some(t) = self.listen.rest_tls.as_mut() {
            fix(&mut t.cert);
            fix(&mut t.key);
        }
        for server in self.servers.values_mut() {
            fix(&mut server.root);
        }
        for lib in &mut self.libraries {
            if let Some(sim) = lib.simulator.as_mut() {
                fix(&mut sim.state_dir);
                if let Some(f) = sim.config_file.as_mut() {
                    fix(f);
                }
            }
            for dev in std::iter::once(&mut lib.changer)
                .chain(lib.drives.iter_mut().map(|d| &mut d.device))
            {
                if let DeviceRef::Sg(p) = dev {
                    fix(p);
                }
            }
        }
    }
}

impl LibraryConfig {
    /// The name of drive `index`: its configured name or `drive<index>`.
    pub fn drive_name(&self, index: usize) -> String {
        self.drives
            .get(index)
            .and_then(|d| d.name.clone())
            .unwrap_or_else(|| format!("drive{index}"))
    }
}
