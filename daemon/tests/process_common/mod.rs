//! Real `tapelibd` processes against a `tapelib-sim serve` process: the simulated library
//! lives in its own process, so it survives the daemon being killed and restarted on the same
//! data directory (catalog, server roots).
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tapelib_proto::v1::auth_service_client::AuthServiceClient;
use tapelib_proto::v1::library_service_client::LibraryServiceClient;
use tapelib_proto::v1::object_service_client::ObjectServiceClient;
use tapelib_proto::v1::request_service_client::RequestServiceClient;
use tapelib_proto::v1::system_service_client::SystemServiceClient;
use tapelib_proto::v1::{
    GetObjectInfoRequest, GetRequestRequest, HealthRequest, LoginRequest, ObjectInfo, ObjectRef,
    RequestInfo, RequestState, SubmitArchiveRequest, SubmitRestoreRequest,
};
use tapelib_sim::testing::{artifacts, SimServer};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::service::Interceptor;
use tonic::transport::Channel;

/// Adds the sysadmin's bearer token to every call.
#[derive(Clone)]
pub struct Bearer(MetadataValue<Ascii>);

impl Interceptor for Bearer {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        req.metadata_mut().insert("authorization", self.0.clone());
        Ok(req)
    }
}

pub type Authed = InterceptedService<Channel, Bearer>;

/// How tapelibd reaches the simulator's devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Devices {
    /// `{ sim = "drive0" }` over the simulator's Unix socket.
    Socket,
    /// `{ sg = ".../dev/drive0" }` through the SG_IO interposer, as with real `/dev/sgN`.
    SgIo,
}

/// A simulated library with `drives` LTO-8 drives, `tapes` data cartridges in the first
/// slots and optional extra TOML (faults, a cleaning cartridge).
pub fn sim_config(drives: usize, tapes: usize, extra: &str) -> String {
    let mut s = String::from(
        "storage_slots = 16\nie_slots = 2\ntime_scale = 0.0\n\n[changer]\nvendor = \"TAPELIB\"\nproduct = \"SIMLIB\"\nserial = \"LIB0001\"\nrevision = \"0100\"\n",
    );
    for i in 0..drives {
        s.push_str(&format!(
            "\n[[drive]]\ngeneration = \"LTO-8\"\nserial = \"10130000{i:02}\"\n"
        ));
    }
    for i in 0..tapes {
        s.push_str(&format!(
            "\n[[cartridge]]\nbarcode = \"A{:05}L8\"\nslot = {}\n",
            i + 1,
            i + 1
        ));
    }
    s.push_str(extra);
    s
}

/// A data directory for tapelibd, a running simulator, and at most one daemon at a time.
pub struct Lab {
    pub daemon: Option<Daemon>,
    pub sim: SimServer,
    pub shim: PathBuf,
    pub dir: tempfile::TempDir,
    pub devices: Devices,
    pub drives: usize,
    /// Extra environment for tapelibd (e.g. RUST_LOG).
    pub env: Vec<(String, String)>,
}

/// One tapelibd process.
pub struct Daemon {
    pub child: Child,
    pub addr: String,
    pub channel: Channel,
    pub bearer: Bearer,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Lab {
    pub fn new(sim_toml: &str, drives: usize, devices: Devices) -> Lab {
        let a = artifacts().expect("tapelib-sim and the SG_IO interposer build");
        let sim = SimServer::start(&a.sim, sim_toml).expect("tapelib-sim serve starts");
        let dir = tempfile::tempdir().expect("temp dir");
        for d in ["demo", "restore"] {
            std::fs::create_dir_all(dir.path().join(d)).expect("server root");
        }
        let lab = Lab {
            daemon: None,
            sim,
            shim: a.shim,
            dir,
            devices,
            drives,
            env: Vec::new(),
        };
        std::fs::write(lab.config_path(), lab.config_text()).expect("write daemon config");
        lab
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("tapelibd.toml")
    }

    pub fn demo(&self) -> PathBuf {
        self.dir.path().join("demo")
    }

    pub fn restore_root(&self) -> PathBuf {
        self.dir.path().join("restore")
    }

    pub fn catalog_path(&self) -> PathBuf {
        self.dir.path().join("catalog")
    }

    fn config_text(&self) -> String {
        let dev = |name: &str| match self.devices {
            Devices::Socket => format!("{{ sim = \"{name}\" }}"),
            Devices::SgIo => format!("{{ sg = {:?} }}", self.sim.device(name)),
        };
        let mut s = format!(
            r#"catalog = "catalog"

[listen]
grpc = "127.0.0.1:0"

[limits]
ready_poll_interval = "5ms"
drive_ready_timeout = "20s"

[servers.demo]
root = "demo"

[servers.restore]
root = "restore"

[[group]]
name = "default"
description = "test group"

[[library]]
name = "lib0"
changer = {}
"#,
            dev("changer0")
        );
        if self.devices == Devices::Socket {
            s.push_str(&format!(
                "\n[library.simulator]\nstate_dir = {:?}\nconnect = true\n",
                self.sim.dir()
            ));
        }
        for i in 0..self.drives {
            s.push_str(&format!(
                "\n[[library.drive]]\ndevice = {}\n",
                dev(&format!("drive{i}"))
            ));
        }
        s
    }

    /// Starts tapelibd on the lab's data directory and waits until it answers Health.
    pub async fn start(&mut self) -> &Daemon {
        assert!(self.daemon.is_none(), "a daemon is already running");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tapelibd"));
        cmd.arg("--config")
            .arg(self.config_path())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if self.devices == Devices::SgIo {
            cmd.env("LD_PRELOAD", &self.shim)
                .env("TAPELIB_SIM_STATE_DIR", self.sim.dir());
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("tapelibd starts");
        let addr = listening_address(&mut child);
        let addr = format!("http://{addr}");
        let channel = wait_healthy(&mut child, &addr).await;
        let bearer = self.login(&channel).await;
        self.daemon = Some(Daemon {
            child,
            addr,
            channel,
            bearer,
        });
        self.daemon.as_ref().expect("just set")
    }

    pub fn daemon(&self) -> &Daemon {
        self.daemon.as_ref().expect("tapelibd is running")
    }

    /// Logs in as the sysadmin created at the first start (password in its file).
    async fn login(&self, channel: &Channel) -> Bearer {
        let password = std::fs::read_to_string(self.dir.path().join("initial-sysadmin-password"))
            .expect("bootstrap password file");
        let token = AuthServiceClient::new(channel.clone())
            .login(LoginRequest {
                username: "admin".into(),
                password: password.trim().to_string(),
            })
            .await
            .expect("login")
            .into_inner()
            .token;
        Bearer(format!("Bearer {token}").parse().expect("token is ASCII"))
    }

    pub fn channel(&self) -> Channel {
        self.daemon().channel.clone()
    }

    pub fn library(&self) -> LibraryServiceClient<Authed> {
        let d = self.daemon();
        LibraryServiceClient::with_interceptor(d.channel.clone(), d.bearer.clone())
    }

    pub fn requests(&self) -> RequestServiceClient<Authed> {
        let d = self.daemon();
        RequestServiceClient::with_interceptor(d.channel.clone(), d.bearer.clone())
    }

    pub fn objects(&self) -> ObjectServiceClient<Authed> {
        let d = self.daemon();
        ObjectServiceClient::with_interceptor(d.channel.clone(), d.bearer.clone())
    }

    /// SIGKILL: no flush, no checkpoint, as a crash or power cut would leave it.
    pub fn kill9(&mut self) {
        if let Some(mut d) = self.daemon.take() {
            let _ = d.child.kill();
            let _ = d.child.wait();
        }
    }

    /// SIGTERM and wait for the graceful stop; returns the exit status.
    pub fn terminate(&mut self) -> ExitStatus {
        let mut d = self.daemon.take().expect("tapelibd is running");
        let pid = nix::unistd::Pid::from_raw(i32::try_from(d.child.id()).expect("pid"));
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = d.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "tapelibd did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Lab {
    pub async fn submit_archive(&self, name: &str, files: &[&str]) -> Result<u64, tonic::Status> {
        Ok(self
            .requests()
            .submit_archive(SubmitArchiveRequest {
                object: Some(object_ref(name)),
                components: files.iter().map(|f| f.to_string()).collect(),
                source_server: "demo".into(),
                media: "default".into(),
                ..Default::default()
            })
            .await?
            .into_inner()
            .request_id)
    }

    /// Restores object `name` under `root` of the "restore" server.
    pub async fn submit_restore(&self, name: &str, root: &str) -> Result<u64, tonic::Status> {
        Ok(self
            .requests()
            .submit_restore(SubmitRestoreRequest {
                object: Some(object_ref(name)),
                destination_server: "restore".into(),
                file_path_root: root.into(),
                ..Default::default()
            })
            .await?
            .into_inner()
            .request_id)
    }

    pub async fn request(&self, id: u64) -> RequestInfo {
        self.requests()
            .get_request(GetRequestRequest { request_id: id })
            .await
            .expect("GetRequest")
            .into_inner()
            .request
            .expect("request info")
    }

    /// Polls request `id` until it is in a terminal state.
    pub async fn wait(&self, id: u64) -> RequestInfo {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let r = self.request(id).await;
            if is_terminal(r.state) {
                return r;
            }
            assert!(Instant::now() < deadline, "request {id} did not end: {r:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn object(&self, name: &str) -> Result<ObjectInfo, tonic::Status> {
        Ok(self
            .objects()
            .get_object_info(GetObjectInfoRequest {
                object: Some(object_ref(name)),
            })
            .await?
            .into_inner()
            .object
            .expect("object info"))
    }
}

pub const COLLECTION: &str = "e2e";

pub fn object_ref(name: &str) -> ObjectRef {
    ObjectRef {
        name: name.into(),
        collection: COLLECTION.into(),
    }
}

pub fn state(r: &RequestInfo) -> RequestState {
    RequestState::try_from(r.state).expect("request state")
}

pub fn is_terminal(state: i32) -> bool {
    matches!(
        RequestState::try_from(state),
        Ok(RequestState::Completed
            | RequestState::PartiallyCompleted
            | RequestState::Aborted
            | RequestState::Cancelled)
    )
}

/// Reads tapelibd's stdout until its "listening on ADDR" line; keeps draining it after.
fn listening_address(child: &mut Child) -> String {
    let out = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if let Some(addr) = line.strip_prefix("listening on ") {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(addr.trim().to_string());
                }
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(addr) => return addr,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = child.wait().expect("wait");
                panic!("tapelibd exited before listening: {status}");
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("tapelibd exited before listening: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "tapelibd never said where it listens"
        );
    }
}

async fn wait_healthy(child: &mut Child, addr: &str) -> Channel {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("tapelibd exited early: {status}");
        }
        if let Ok(channel) = Channel::from_shared(addr.to_string())
            .expect("address")
            .connect()
            .await
        {
            let mut client = SystemServiceClient::new(channel.clone());
            if client.health(HealthRequest {}).await.is_ok() {
                return channel;
            }
        }
        assert!(Instant::now() < deadline, "tapelibd never answered Health");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Writes `files` (relative path, content) under `root`.
pub fn write_files(root: &Path, files: &[(&str, Vec<u8>)]) {
    for (p, data) in files {
        let path = root.join(p);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, data).expect("write");
    }
}

/// Deterministic pseudo-random bytes.
pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}
