//! tapelib-rest: the DIVA-compatible REST facade as its own process.

use anyhow::{Context, Result};
use clap::Parser;
use std::path::PathBuf;

use tapelib_rest::{channel, check_transport, router, serve, DaemonAddr, TlsFiles, Transport};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(
    name = "tapelib-rest",
    version,
    about = "DIVA-compatible REST facade for tapelibd"
)]
struct Args {
    /// The daemon: a gRPC URL (http://127.0.0.1:50051) or its local socket (unix:/path).
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    daemon: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8765")]
    listen: std::net::SocketAddr,
    /// PEM certificate chain: serve HTTPS (needs --tls-key).
    #[arg(long, value_name = "PATH", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, value_name = "PATH", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Allow plain HTTP on an address other than loopback (tokens and passwords then
    /// cross the network in clear).
    #[arg(long, conflicts_with = "tls_cert")]
    allow_plain_http: bool,
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let ch = channel(&DaemonAddr::parse(&args.daemon))?;
        let (transport, scheme) = match (args.tls_cert, args.tls_key) {
            (Some(cert), Some(key)) => (
                Transport::Tls(TlsFiles { cert, key }.server_config()?),
                "https",
            ),
            _ => (
                Transport::Plain {
                    allow_remote: args.allow_plain_http,
                },
                "http",
            ),
        };
        check_transport(args.listen, &transport)?;
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("binding {}", args.listen))?;
        println!(
            "tapelib-rest on {scheme}://{} -> {}",
            args.listen, args.daemon
        );
        serve(router(ch), listener, transport, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
        Ok(())
    })
}
