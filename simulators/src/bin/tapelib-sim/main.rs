//! `tapelib-sim`: serve a virtual tape library, operate it, and benchmark it.

mod bench;
mod ctl;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use tapelib_sim::config::LibraryConfig;
use tapelib_sim::library::Library;
use tapelib_sim::server::Server;

#[derive(Parser)]
#[command(name = "tapelib-sim", version, about = "Virtual SCSI tape library")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the library on STATE_DIR/tapelib-sim.sock and create STATE_DIR/dev/<device>.
    Serve {
        /// Library configuration (TOML); without it, the default mid-size library.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Where the library keeps its state (created when missing).
        #[arg(long)]
        state_dir: PathBuf,
    },
    /// Operator actions on a served library.
    Ctl(ctl::CtlArgs),
    /// Measure throughput in process, over the socket and through the SG_IO interposer.
    Bench(bench::BenchArgs),
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TAPELIB_SIM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { config, state_dir } => serve(config.as_deref(), &state_dir),
        Command::Ctl(args) => ctl::run(args),
        Command::Bench(args) => bench::run(args),
    }
}

fn load_config(path: Option<&Path>) -> Result<LibraryConfig> {
    match path {
        Some(p) => LibraryConfig::from_file(p)
            .with_context(|| format!("loading configuration {}", p.display())),
        None => Ok(LibraryConfig::default()),
    }
}

fn serve(config: Option<&Path>, state_dir: &Path) -> Result<()> {
    let config = load_config(config)?;
    std::fs::create_dir_all(state_dir)
        .with_context(|| format!("creating state directory {}", state_dir.display()))?;
    // Block SIGINT/SIGTERM before any thread starts, so every thread inherits the mask and only
    // the main thread receives them, through sigwait.
    let signals = termination_signals();
    // SAFETY: the set was initialised by sigemptyset/sigaddset.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &signals, std::ptr::null_mut()) };
    anyhow::ensure!(rc == 0, "cannot block termination signals");

    let library = Library::open(config, state_dir)
        .with_context(|| format!("opening the library in {}", state_dir.display()))?;
    let server = Server::bind(library, state_dir)?;
    eprintln!(
        "tapelib-sim: serving {} (devices in {})",
        server.socket_path().display(),
        state_dir.join("dev").display()
    );
    let handle = server.spawn().context("starting the server thread")?;

    let mut sig: libc::c_int = 0;
    // SAFETY: waits on the blocked set; `sig` receives the signal number.
    let rc = unsafe { libc::sigwait(&signals, &mut sig) };
    anyhow::ensure!(rc == 0, "sigwait failed");
    tracing::info!(signal = sig, "stopping");
    handle.shutdown();
    eprintln!("tapelib-sim: stopped (signal {sig}), state flushed");
    Ok(())
}

fn termination_signals() -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the zeroed set before sigaddset uses it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        set
    }
}
