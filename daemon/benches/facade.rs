//! REST facade against direct gRPC, in one run against one real `tapelibd` (simulated
//! library at time scale 0, REST on loopback): with N concurrent clients (64 by default),
//! requests per second and p50/p99 latency of `GET /requests/{id}` and
//! `POST /requests/restore`, the same calls over gRPC, and the ratios REST ÷ gRPC. Then
//! login throughput over REST with the daemon's default argon2 cost.
//!
//! Each client has its own connection (HTTP/1.1 keep-alive for REST, one HTTP/2
//! connection for gRPC). Restore submissions are measured to acceptance (request id
//! returned); the restores they queue are of a 1 KiB object, and they run last so their
//! work does not weigh on the other phases.
//!
//! Knobs: `TAPELIB_BENCH_SECS` (seconds per measured phase, default 5),
//! `TAPELIB_BENCH_CLIENTS` (default 64).

use std::future::Future;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tapelib_daemon::config::AuthConfig;
use tapelib_proto::v1::request_service_client::RequestServiceClient;
use tapelib_proto::v1::{
    GetRequestRequest, ObjectRef, RequestState, SubmitArchiveRequest, SubmitRestoreRequest,
};
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;

const SIM: &str = r#"
storage_slots = 4
ie_slots = 1
time_scale = 0.0

[[drive]]
generation = "LTO-8"
serial = "1013000001"

[[drive]]
generation = "LTO-8"
serial = "1013000002"

[[cartridge]]
barcode = "A00001L8"
slot = 1

[[cartridge]]
barcode = "A00002L8"
slot = 2
"#;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("address").port()
}

/// A daemon configuration with the daemon's default auth settings (so login costs what
/// it costs in production) and room for every restore the run queues.
fn write_config(dir: &Path, grpc: u16, rest: u16) -> std::path::PathBuf {
    std::fs::write(dir.join("sim.toml"), SIM).expect("simulator config");
    for d in ["demo/clip", "restore"] {
        std::fs::create_dir_all(dir.join(d)).expect("server root");
    }
    std::fs::write(dir.join("demo/clip/a.bin"), vec![7u8; 1024]).expect("object file");
    let config = format!(
        r#"
catalog = "catalog"

[listen]
grpc = "127.0.0.1:{grpc}"
rest = "127.0.0.1:{rest}"

[limits]
max_queued_requests = 1000000
ready_poll_interval = "5ms"

[servers.demo]
root = "demo"

[servers.restore]
root = "restore"

[[group]]
name = "default"

[[library]]
name = "lib0"
changer = {{ sim = "changer0" }}

[library.simulator]
state_dir = "sim"
config_file = "sim.toml"

[[library.drive]]
device = {{ sim = "drive0" }}

[[library.drive]]
device = {{ sim = "drive1" }}
"#
    );
    let path = dir.join("tapelibd.toml");
    std::fs::write(&path, config).expect("daemon config");
    path
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Latencies of one phase and its wall time.
struct Stats {
    calls: usize,
    errors: usize,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
}

impl Stats {
    fn rate(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64()
    }

    fn print(&self, what: &str) {
        println!(
            "  {what:<34} {:>9.0} req/s   p50 {:>8.2} ms   p99 {:>8.2} ms   ({} calls, {} errors)",
            self.rate(),
            self.p50.as_secs_f64() * 1e3,
            self.p99.as_secs_f64() * 1e3,
            self.calls,
            self.errors
        );
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Runs `clients` loops of `call` (each client made by `make`) for `secs` seconds.
async fn measure<C, M, MF, F, FF>(clients: usize, secs: u64, make: M, call: F) -> Stats
where
    C: Send + 'static,
    M: Fn() -> MF,
    MF: Future<Output = C>,
    F: Fn(C) -> FF + Send + Sync + 'static,
    FF: Future<Output = (C, bool)> + Send,
{
    let call = Arc::new(call);
    let mut made = Vec::with_capacity(clients);
    for _ in 0..clients {
        made.push(make().await);
    }
    let start = Instant::now();
    let end = start + Duration::from_secs(secs);
    let mut tasks = Vec::with_capacity(clients);
    for client in made {
        let call = call.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0;
            let mut client = client;
            while Instant::now() < end {
                let t = Instant::now();
                let (c, ok) = call(client).await;
                client = c;
                lat.push(t.elapsed());
                if !ok {
                    errors += 1;
                }
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (lat, e) = t.await.expect("client task");
        all.extend(lat);
        errors += e;
    }
    let elapsed = start.elapsed();
    all.sort_unstable();
    Stats {
        calls: all.len(),
        errors,
        elapsed,
        p50: percentile(&all, 0.50),
        p99: percentile(&all, 0.99),
    }
}

fn rest_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .timeout(Duration::from_secs(60))
        .build()
        .expect("HTTP client")
}

type Grpc = RequestServiceClient<Channel>;

async fn grpc_client(addr: &str) -> Grpc {
    let ch = Channel::from_shared(addr.to_string())
        .expect("URL")
        .connect()
        .await
        .expect("gRPC connect");
    RequestServiceClient::new(ch)
}

fn authed<T>(msg: T, token: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut().insert(
        "authorization",
        MetadataValue::try_from(token).expect("token is ASCII"),
    );
    r
}

fn object() -> ObjectRef {
    ObjectRef {
        name: "bench".into(),
        collection: "bench".into(),
    }
}

fn main() {
    let secs = env_num("TAPELIB_BENCH_SECS", 5);
    let clients = env_num("TAPELIB_BENCH_CLIENTS", 64) as usize;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(secs, clients));
}

async fn run(secs: u64, clients: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (grpc_port, rest_port) = (free_port(), free_port());
    let config = write_config(dir.path(), grpc_port, rest_port);
    let _daemon = Daemon(
        Command::new(env!("CARGO_BIN_EXE_tapelibd"))
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("tapelibd starts"),
    );
    let rest = format!("http://127.0.0.1:{rest_port}");
    let grpc = format!("http://127.0.0.1:{grpc_port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", rest_port)).is_err() {
        assert!(Instant::now() < deadline, "tapelibd never listened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let password = std::fs::read_to_string(dir.path().join("initial-sysadmin-password"))
        .expect("password file")
        .trim()
        .to_string();
    let login_body = json!({"username": "admin", "password": password});
    let login: Value = rest_client()
        .post(format!("{rest}/dataservice/users/login"))
        .json(&login_body)
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login JSON");
    let token = login["token"].as_str().expect("token").to_string();

    // One archived 1 KiB object to poll and to restore.
    let mut g = grpc_client(&grpc).await;
    let id = g
        .submit_archive(authed(
            SubmitArchiveRequest {
                object: Some(object()),
                components: vec!["clip".into()],
                source_server: "demo".into(),
                media: "default".into(),
                ..Default::default()
            },
            &token,
        ))
        .await
        .expect("archive")
        .into_inner()
        .request_id;
    loop {
        let r = g
            .get_request(authed(GetRequestRequest { request_id: id }, &token))
            .await
            .expect("GetRequest")
            .into_inner();
        let state = r.request.as_ref().map(|r| r.state).unwrap_or_default();
        if state == RequestState::Completed as i32 {
            break;
        }
        assert!(
            state == RequestState::Pending as i32 || state == RequestState::Running as i32,
            "archive ended {state}"
        );
        assert!(Instant::now() < deadline, "archive never finished");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    println!(
        "facade benchmark: {clients} concurrent clients, {secs} s per phase, one connection each"
    );
    let token = Arc::new(token);

    let get_url = Arc::new(format!("{rest}/manager/requests/{id}"));
    let (t, u) = (token.clone(), get_url.clone());
    let rest_get = measure(
        clients,
        secs,
        || async { rest_client() },
        move |c| {
            let (t, u) = (t.clone(), u.clone());
            async move {
                let ok = match c
                    .get(u.as_str())
                    .header("Authorization", t.as_str())
                    .send()
                    .await
                {
                    Ok(r) => r.status() == 200 && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                (c, ok)
            }
        },
    )
    .await;
    let t = token.clone();
    let grpc_get = measure(
        clients,
        secs,
        || grpc_client(&grpc),
        move |mut c: Grpc| {
            let t = t.clone();
            async move {
                let ok = c
                    .get_request(authed(GetRequestRequest { request_id: id }, &t))
                    .await
                    .is_ok();
                (c, ok)
            }
        },
    )
    .await;

    // Before the restores, whose queued work would compete for the CPU.
    let login_url = Arc::new(format!("{rest}/dataservice/users/login"));
    let login_body = Arc::new(login_body);
    let logins = measure(
        clients,
        secs,
        || async { rest_client() },
        move |c| {
            let (u, b) = (login_url.clone(), login_body.clone());
            async move {
                let ok = match c.post(u.as_str()).json(&*b).send().await {
                    Ok(r) => r.status() == 200 && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                (c, ok)
            }
        },
    )
    .await;

    let restore_url = Arc::new(format!("{rest}/manager/requests/restore"));
    let body = Arc::new(json!({
        "objectName": "bench", "collectionName": "bench", "destinationServer": "restore",
        "filePathRoot": "rest"}));
    let (t, u) = (token.clone(), restore_url.clone());
    let rest_restore = measure(
        clients,
        secs,
        || async { rest_client() },
        move |c| {
            let (t, u, b) = (t.clone(), u.clone(), body.clone());
            async move {
                let ok = match c
                    .post(u.as_str())
                    .header("Authorization", t.as_str())
                    .json(&*b)
                    .send()
                    .await
                {
                    Ok(r) => {
                        r.status() == 200
                            && r.json::<Value>()
                                .await
                                .is_ok_and(|v| v["requestId"].as_u64().is_some())
                    }
                    Err(_) => false,
                };
                (c, ok)
            }
        },
    )
    .await;
    let t = token.clone();
    let grpc_restore = measure(
        clients,
        secs,
        || grpc_client(&grpc),
        move |mut c: Grpc| {
            let t = t.clone();
            async move {
                let r = SubmitRestoreRequest {
                    object: Some(object()),
                    destination_server: "restore".into(),
                    file_path_root: "grpc".into(),
                    ..Default::default()
                };
                let ok = c
                    .submit_restore(authed(r, &t))
                    .await
                    .is_ok_and(|r| r.into_inner().request_id > 0);
                (c, ok)
            }
        },
    )
    .await;

    println!("GET /requests/{{id}}:");
    rest_get.print("REST GET /manager/requests/{id}");
    grpc_get.print("gRPC GetRequest");
    println!(
        "  REST ÷ gRPC: throughput {:.2}, p99 {:.2}",
        rest_get.rate() / grpc_get.rate(),
        rest_get.p99.as_secs_f64() / grpc_get.p99.as_secs_f64()
    );
    println!("POST /requests/restore (to acceptance):");
    rest_restore.print("REST POST /manager/requests/restore");
    grpc_restore.print("gRPC SubmitRestore");
    println!(
        "  REST ÷ gRPC: throughput {:.2}, p99 {:.2}",
        rest_restore.rate() / grpc_restore.rate(),
        rest_restore.p99.as_secs_f64() / grpc_restore.p99.as_secs_f64()
    );
    let a = AuthConfig::default();
    println!(
        "login over REST (argon2id m={} KiB, t={}, p=1; the daemon's defaults):",
        a.argon2_memory_kib, a.argon2_iterations
    );
    logins.print("REST POST /dataservice/users/login");
}
