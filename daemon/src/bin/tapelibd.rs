//! tapelibd: the tape library daemon. Opens the catalog and the configured libraries,
//! reads their inventory, starts the request engine and serves the tapelib.v1 gRPC API
//! until SIGINT or SIGTERM.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::Parser;
use tapelib_daemon::api::{self, DaemonState};
use tapelib_daemon::auth::Auth;
use tapelib_daemon::catalog::{Catalog, TapeGroup};
use tapelib_daemon::config::{DaemonConfig, ListenConfig, TlsPaths};
use tapelib_daemon::engine::Engine;
use tapelib_daemon::library::TapeLibrary;
use tokio::signal::unix::{signal, SignalKind};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(name = "tapelibd", version, about = "tapelib tape library daemon")]
struct Args {
    /// Daemon configuration file (TOML).
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "simulate",
        required_unless_present = "simulate"
    )]
    config: Option<PathBuf>,
    /// Run against a built-in simulated library (4 LTO-8 drives, 48 slots) kept in the data
    /// directory.
    #[arg(long)]
    simulate: bool,
    /// Data directory for --simulate (default $XDG_DATA_HOME/tapelib or
    /// ~/.local/share/tapelib).
    #[arg(long, value_name = "DIR", requires = "simulate")]
    data_dir: Option<PathBuf>,
    /// Serve the DIVA-compatible REST facade on this address (default: the configuration's
    /// [listen] rest; 127.0.0.1:8765 with --simulate).
    #[arg(long, value_name = "ADDR")]
    rest: Option<std::net::SocketAddr>,
    /// Serve REST over HTTPS with this PEM certificate chain (default: the configuration's
    /// [listen] rest_tls).
    #[arg(long, value_name = "PATH", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, value_name = "PATH", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Allow plain-HTTP REST on an address other than loopback (tokens and passwords then
    /// cross the network in clear).
    #[arg(long, conflicts_with = "tls_cert")]
    rest_allow_plain_http: bool,
}

fn default_data_dir() -> Result<PathBuf> {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d).join("tapelib"));
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .context("neither XDG_DATA_HOME nor HOME is set; give --data-dir")?;
    Ok(PathBuf::from(home).join(".local/share/tapelib"))
}

fn load_config(args: &Args) -> Result<DaemonConfig> {
    if let Some(path) = &args.config {
        return DaemonConfig::from_file(path)
            .with_context(|| format!("reading configuration {}", path.display()));
    }
    let dir = match &args.data_dir {
        Some(d) => d.clone(),
        None => default_data_dir()?,
    };
    let config = DaemonConfig::simulate_default(&dir);
    for server in config.servers.values() {
        std::fs::create_dir_all(&server.root)
            .with_context(|| format!("creating server root {}", server.root.display()))?;
    }
    Ok(config)
}

/// Creates the configured tape groups the catalog does not know yet.
fn ensure_groups(catalog: &Catalog, config: &DaemonConfig) -> Result<()> {
    for g in &config.groups {
        if catalog.get_group(&g.name)?.is_none() {
            catalog
                .create_group(
                    &TapeGroup {
                        name: g.name.clone(),
                        description: g.description.clone(),
                        generation: g.generation,
                        created: time::OffsetDateTime::now_utc(),
                    },
                    "tapelibd",
                )
                .with_context(|| format!("creating tape group {}", g.name))?;
        }
    }
    Ok(())
}

/// Opens the catalog and every library and reads their inventory (blocking).
fn open_all(config: &DaemonConfig) -> Result<(Catalog, Vec<Arc<TapeLibrary>>)> {
    if let Some(parent) = config.catalog.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let catalog = Catalog::open(&config.catalog)
        .with_context(|| format!("opening catalog {}", config.catalog.display()))?;
    ensure_groups(&catalog, config)?;
    let mut libraries = Vec::new();
    for lc in &config.libraries {
        let lib = TapeLibrary::open(lc, &config.limits, catalog.clone())
            .with_context(|| format!("opening library {}", lc.name))?;
        lib.refresh_inventory()
            .with_context(|| format!("reading the inventory of library {}", lc.name))?;
        libraries.push(Arc::new(lib));
    }
    Ok((catalog, libraries))
}

/// Opens the users, the signing key and (first start) the sysadmin account.
fn open_auth(config: &DaemonConfig, catalog: &Catalog) -> Result<Auth> {
    let dir = match &config.auth.state_dir {
        Some(d) => d.clone(),
        None => config
            .catalog
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from(".")),
    };
    let (auth, bootstrap) = Auth::open(catalog.clone(), &config.auth, &dir)
        .with_context(|| format!("opening authentication state in {}", dir.display()))?;
    if let Some(b) = bootstrap {
        println!(
            "Created sysadmin {:?}; its password is in {} (readable only by this user).",
            b.username,
            b.password_file.display()
        );
    }
    Ok(auth)
}

/// Binds the local socket, replacing a socket file a previous run left behind.
fn bind_unix(path: &Path) -> Result<tokio::net::UnixListener> {
    use std::os::unix::fs::FileTypeExt;
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            bail!("{} exists and is not a socket", path.display());
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            bail!("{} is in use by another daemon", path.display());
        }
        std::fs::remove_file(path).with_context(|| format!("removing {}", path.display()))?;
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    tokio::net::UnixListener::bind(path).with_context(|| format!("binding {}", path.display()))
}

fn print_banner(state: &DaemonState, addr: std::net::SocketAddr, config_hint: &str) {
    println!("tapelibd {} serving tapelib.v1", env!("CARGO_PKG_VERSION"));
    println!("  catalog: {}", state.config.catalog.display());
    for lib in &state.libraries {
        let inv = lib.inventory();
        let id = lib.changer_identity();
        let tapes = inv
            .storage
            .iter()
            .chain(inv.import_export.iter().map(|e| &e.state))
            .chain(inv.drives.iter().map(|e| &e.state))
            .filter(|e| e.full)
            .count();
        println!(
            "  library {}: {} {} serial {}: {} slots, {} I/E slots, {} drives, {} tapes",
            lib.name(),
            id.vendor,
            id.product,
            if id.serial.is_empty() {
                "-"
            } else {
                &id.serial
            },
            inv.storage.len(),
            inv.import_export.len(),
            inv.drives.len(),
            tapes
        );
        for d in lib.drives() {
            println!(
                "    drive {} ({}, element {}, serial {})",
                d.name,
                d.device,
                d.element,
                d.identity.serial.as_deref().unwrap_or("-")
            );
        }
    }
    println!("  gRPC: http://{addr}");
    // Scripts and tests wait for this line.
    println!("listening on {addr}");
    for (name, server) in &state.config.servers {
        println!("  server {name}: {}", server.root.display());
    }
    let tapectl = match state.config.listen.unix_socket.as_ref() {
        Some(socket) => {
            println!("  local socket: {}", socket.display());
            format!("tapectl --socket {}", socket.display())
        }
        None => {
            println!("  log in first: tapectl --addr http://{addr} login USER");
            format!("tapectl --addr http://{addr}")
        }
    };
    println!("Try:");
    println!("  {tapectl} status                  library table: slots, drives, I/E");
    println!("  {tapectl} drives | tapes | objects | requests");
    let group = state
        .config
        .groups
        .first()
        .map_or("GROUP", |g| g.name.as_str());
    if let Some(server) = state.config.servers.keys().next() {
        println!(
            "  {tapectl} archive COLLECTION NAME FILE... --server {server} --media {group} --wait"
        );
        println!("  {tapectl} restore COLLECTION NAME --server {server} --path-root DIR --wait");
    }
    println!("  {tapectl} watch ID | cancel ID | object COLLECTION NAME | --help");
    println!("Stop with Ctrl-C or SIGTERM{config_hint}.");
}

/// Completes on the first SIGINT or SIGTERM.
async fn shutdown_signal() {
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    match (term, int) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM received"),
                _ = int.recv() => tracing::info!("SIGINT received"),
            }
        }
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = %e, "cannot install signal handlers; stopping");
        }
    }
}

fn flush_all(catalog: &Catalog, libraries: &[Arc<TapeLibrary>]) -> Result<()> {
    for lib in libraries {
        if let Some(sim) = lib.simulator() {
            sim.flush()
                .with_context(|| format!("flushing the simulator of library {}", lib.name()))?;
        }
    }
    catalog.flush().context("flushing the catalog")?;
    Ok(())
}

/// The REST facade's transport and URL scheme: HTTPS when a certificate is configured
/// (its files read now, so a bad path stops the start).
fn rest_transport(listen: &ListenConfig) -> Result<(tapelib_rest::Transport, &'static str)> {
    Ok(match &listen.rest_tls {
        Some(tls) => {
            let files = tapelib_rest::TlsFiles {
                cert: tls.cert.clone(),
                key: tls.key.clone(),
            };
            (
                tapelib_rest::Transport::Tls(files.server_config()?),
                "https",
            )
        }
        None => (
            tapelib_rest::Transport::Plain {
                allow_remote: listen.rest_allow_plain_http,
            },
            "http",
        ),
    })
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let args = Args::parse();
    let mut config = load_config(&args)?;
    if let Some(rest) = args.rest {
        config.listen.rest = Some(rest);
    }
    if let (Some(cert), Some(key)) = (args.tls_cert.clone(), args.tls_key.clone()) {
        config.listen.rest_tls = Some(TlsPaths { cert, key });
    }
    if args.rest_allow_plain_http {
        config.listen.rest_allow_plain_http = true;
    }
    let Some(addr) = config.listen.grpc else {
        bail!("the configuration has no [listen] grpc address");
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    // Certificate files and the plain-HTTP rule are checked before anything is opened.
    let rest = match config.listen.rest {
        Some(rest_addr) => {
            let (transport, scheme) = rest_transport(&config.listen)?;
            tapelib_rest::check_transport(rest_addr, &transport)?;
            Some(RestListen {
                addr: rest_addr,
                transport,
                scheme,
            })
        }
        None => None,
    };
    runtime.block_on(run(config, addr, rest, args.config.as_deref()))
}

/// Where and how the REST facade is served.
struct RestListen {
    addr: std::net::SocketAddr,
    transport: tapelib_rest::Transport,
    scheme: &'static str,
}

async fn run(
    config: DaemonConfig,
    addr: std::net::SocketAddr,
    rest: Option<RestListen>,
    config_file: Option<&Path>,
) -> Result<()> {
    let opened = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || open_all(&config))
            .await
            .context("opening task failed")??
    };
    let (catalog, libraries) = opened;
    let auth = {
        let (config, catalog) = (config.clone(), catalog.clone());
        tokio::task::spawn_blocking(move || open_auth(&config, &catalog))
            .await
            .context("auth task failed")??
    };
    let auth = Arc::new(auth);
    let state = Arc::new(DaemonState::new(config, catalog.clone(), libraries.clone()));
    let engine = {
        let state = state.clone();
        tokio::task::spawn_blocking(move || Engine::start(state))
            .await
            .context("engine start task failed")?
            .context("starting the request engine")?
    };
    let engine = Arc::new(engine);
    let hint = match config_file {
        Some(p) => format!(" (configuration {})", p.display()),
        None => String::new(),
    };
    // Bind before announcing, so a taken port is reported as such.
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding gRPC address {addr}"))?;
    // The bound address, so that port 0 in the configuration tells where it ended up.
    let addr = listener
        .local_addr()
        .context("reading the bound gRPC address")?;
    let unix = match &state.config.listen.unix_socket {
        Some(path) => Some((path.clone(), bind_unix(path)?)),
        None => None,
    };
    print_banner(&state, addr, &hint);
    tracing::info!(%addr, "serving gRPC");
    // One signal stops every listener.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let rest = match rest {
        Some(RestListen {
            addr: rest_addr,
            transport,
            scheme,
        }) => {
            let listener = tokio::net::TcpListener::bind(rest_addr)
                .await
                .with_context(|| format!("binding REST address {rest_addr}"))?;
            // The facade calls the gRPC API over loopback TCP like any client, never the
            // local socket, whose peer credentials would stand in for its callers.
            let port = addr.port();
            let grpc = if addr.ip().is_unspecified() {
                format!("http://127.0.0.1:{port}")
            } else {
                format!("http://{addr}")
            };
            let channel = tapelib_rest::channel(&tapelib_rest::DaemonAddr::Url(grpc))?;
            println!("  REST: {scheme}://{rest_addr} (OpenAPI at /api-docs)");
            let rx = stop_rx.clone();
            Some(tokio::spawn(tapelib_rest::serve(
                tapelib_rest::router(channel),
                listener,
                transport,
                stopped(rx),
            )))
        }
        None => None,
    };
    let local = unix.map(|(path, listener)| {
        let (engine, auth, rx) = (engine.clone(), auth.clone(), stop_rx.clone());
        let task =
            tokio::spawn(async move { api::serve_unix(engine, auth, listener, stopped(rx)).await });
        (path, task)
    });
    let tcp = api::serve_with_listener(engine.clone(), auth.clone(), listener, stopped(stop_rx));
    tokio::pin!(tcp);
    let served = tokio::select! {
        r = &mut tcp => r,
        _ = shutdown_signal() => {
            let _ = stop_tx.send(true);
            tcp.await
        }
    };
    let _ = stop_tx.send(true);
    let rest_served = match rest {
        Some(task) => task.await.context("REST task failed")?,
        None => Ok(()),
    };
    let local_served = match local {
        Some((path, task)) => {
            let r = task.await.context("local socket task failed")?;
            let _ = std::fs::remove_file(&path);
            r
        }
        None => Ok(()),
    };
    tracing::info!("gRPC stopped; stopping the request engine");
    {
        let engine = engine.clone();
        tokio::task::spawn_blocking(move || engine.shutdown())
            .await
            .context("engine shutdown task failed")?;
    }
    served.context("gRPC server failed")?;
    local_served.context("local socket server failed")?;
    rest_served.context("REST server failed")?;
    tracing::info!("flushing");
    drop(auth);
    drop(engine);
    drop(state);
    tokio::task::spawn_blocking(move || flush_all(&catalog, &libraries))
        .await
        .context("flush task failed")??;
    tracing::info!("stopped");
    Ok(())
}
