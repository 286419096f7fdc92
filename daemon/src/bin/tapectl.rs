//! tapectl: operator command line for tapelibd over its gRPC API.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::{json, Value};
use tapelib_daemon::auth::client::{self, AuthedChannel, Target};
use tapelib_proto::v1::auth_service_client::AuthServiceClient;
use tapelib_proto::v1::library_service_client::LibraryServiceClient;
use tapelib_proto::v1::system_service_client::SystemServiceClient;
use tapelib_proto::v1::{
    DivaError, Drive, DriveState, Element, GetInventoryRequest, GetVersionRequest,
    ListDrivesRequest, ListTapesRequest, LocationKind, PageRequest, SetDriveStateRequest, Tape,
    TapeContent, TapeState,
};
use tapelib_proto::v1::{LoginRequest, LogoutRequest};

#[derive(Debug, Parser)]
#[command(name = "tapectl", version, about = "Operate a tapelib daemon")]
struct Args {
    /// gRPC address of tapelibd (default http://127.0.0.1:50051 unless the local socket of
    /// `tapelibd --simulate` exists).
    #[arg(long, global = true)]
    addr: Option<String>,
    /// The daemon's local socket; root and the daemon's own user need no login there.
    /// Default: the socket of `tapelibd --simulate` in its data directory, when present.
    #[arg(long, global = true, value_name = "PATH", conflicts_with = "addr")]
    socket: Option<PathBuf>,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Libraries: slots, drives and I/E slots with their cartridges.
    Status {
        /// Re-read the element status from the changers first.
        #[arg(long)]
        refresh: bool,
    },
    /// Drives and their state.
    Drives,
    /// Tapes known to the catalog.
    Tapes,
    /// Set a drive UP or DOWN.
    Drive {
        state: UpDown,
        /// Drive name.
        name: String,
        /// Why (kept in the audit log and shown while DOWN).
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Versions of tapectl and the daemon.
    Version,
    /// Log in and keep the token (0600) in the user's configuration directory; the
    /// password is read from standard input.
    Login {
        /// User name.
        username: String,
    },
    /// Revoke the stored token and forget it.
    Logout,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum UpDown {
    Up,
    Down,
}

/// A failed call, reported with its DIVA code when the daemon sent one.
#[derive(Debug, thiserror::Error)]
#[error("{} ({}): {}", .0.name, .0.code, .0.message)]
struct CallError(DivaError);

impl From<tonic::Status> for CallError {
    fn from(s: tonic::Status) -> Self {
        CallError(DivaError::from_status_lossy(&s))
    }
}

/// Left-aligned columns separated by two spaces.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            text.push_str(&format!("{cell:<w$}"));
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

fn or_dash(s: &str) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        s.to_string()
    }
}

fn enum_name(name: Option<&str>, prefix: &str) -> String {
    name.map(|n| n.trim_start_matches(prefix).to_string())
        .unwrap_or_else(|| "?".into())
}

fn drive_state(d: &Drive) -> String {
    enum_name(
        DriveState::try_from(d.state).ok().map(|s| s.as_str_name()),
        "DRIVE_STATE_",
    )
}

fn element_json(e: &Element) -> Value {
    json!({
        "address": e.address,
        "full": e.full,
        "barcode": e.barcode,
        "exception": e.exception,
        "exception_reason": e.exception_reason,
        "drive_name": e.drive_name,
    })
}

fn drive_json(d: &Drive) -> Value {
    json!({
        "name": d.name,
        "library": d.library,
        "element": d.element_address,
        "device": d.device,
        "vendor": d.vendor,
        "product": d.product,
        "serial": d.serial,
        "firmware": d.firmware,
        "generation": d.generation,
        "state": drive_state(d),
        "state_reason": d.state_reason,
        "loaded": d.loaded_barcode,
    })
}

fn location_text(t: &Tape) -> String {
    let Some(l) = &t.location else {
        return "?".into();
    };
    match LocationKind::try_from(l.kind).unwrap_or(LocationKind::Unspecified) {
        LocationKind::StorageSlot => format!("{} slot {}", l.library, l.element_address),
        LocationKind::Drive => format!("{} drive {}", l.library, or_dash(&l.drive)),
        LocationKind::ImportExport => format!("{} I/E {}", l.library, l.element_address),
        LocationKind::Transport => format!("{} picker", l.library),
        LocationKind::Outside => "outside".into(),
        LocationKind::Unspecified => "?".into(),
    }
}

fn tape_json(t: &Tape) -> Value {
    json!({
        "barcode": t.barcode,
        "generation": t.generation,
        "state": enum_name(TapeState::try_from(t.state).ok().map(|s| s.as_str_name()), "TAPE_STATE_"),
        "content": enum_name(TapeContent::try_from(t.content).ok().map(|s| s.as_str_name()), "TAPE_CONTENT_"),
        "group": t.group,
        "location": location_text(t),
        "online": t.online,
        "capacity_bytes": t.capacity_bytes,
        "used_bytes": t.used_bytes,
        "object_count": t.object_count,
    })
}

async fn status(addr: &Ctx, json_out: bool, refresh: bool) -> Result<String> {
    let mut client = LibraryServiceClient::new(connect(addr).await?);
    let inv = client
        .get_inventory(GetInventoryRequest {
            library: String::new(),
            refresh,
        })
        .await
        .map_err(CallError::from)?
        .into_inner();
    if json_out {
        let libs: Vec<Value> = inv
            .libraries
            .iter()
            .map(|l| {
                json!({
                    "name": l.name,
                    "vendor": l.vendor,
                    "product": l.product,
                    "serial": l.serial,
                    "online": l.online,
                    "slots": l.slots.iter().map(element_json).collect::<Vec<_>>(),
                    "import_export": l.import_export.iter().map(element_json).collect::<Vec<_>>(),
                    "drives": l.drives.iter().map(element_json).collect::<Vec<_>>(),
                })
            })
            .collect();
        return Ok(serde_json::to_string_pretty(&json!({ "libraries": libs }))?);
    }
    let mut out = String::new();
    for l in &inv.libraries {
        let full = |v: &[Element]| v.iter().filter(|e| e.full).count();
        out.push_str(&format!(
            "Library {} ({} {}, serial {}): slots {}/{} full, drives {}/{} loaded, I/E {}/{} full\n\n",
            l.name,
            l.vendor,
            l.product,
            or_dash(&l.serial),
            full(&l.slots),
            l.slots.len(),
            full(&l.drives),
            l.drives.len(),
            full(&l.import_export),
            l.import_export.len(),
        ));
        let rows: Vec<Vec<String>> = [
            ("drive", &l.drives),
            ("I/E", &l.import_export),
            ("slot", &l.slots),
        ]
        .iter()
        .flat_map(|(kind, elements)| {
            elements.iter().map(move |e| {
                vec![
                    kind.to_string(),
                    e.address.to_string(),
                    or_dash(&e.drive_name),
                    if e.full {
                        or_dash(&e.barcode)
                    } else {
                        "(empty)".into()
                    },
                    if e.exception {
                        e.exception_reason.clone()
                    } else {
                        String::new()
                    },
                ]
            })
        })
        .collect();
        out.push_str(&table(
            &["KIND", "ADDRESS", "NAME", "CARTRIDGE", "EXCEPTION"],
            &rows,
        ));
    }
    Ok(out)
}

fn drives_table(drives: &[Drive]) -> String {
    let rows: Vec<Vec<String>> = drives
        .iter()
        .map(|d| {
            vec![
                d.name.clone(),
                d.library.clone(),
                d.element_address.to_string(),
                drive_state(d),
                or_dash(&d.loaded_barcode),
                or_dash(&d.generation),
                or_dash(&d.serial),
                d.state_reason.clone(),
            ]
        })
        .collect();
    table(
        &[
            "NAME",
            "LIBRARY",
            "ELEMENT",
            "STATE",
            "LOADED",
            "GENERATION",
            "SERIAL",
            "REASON",
        ],
        &rows,
    )
}

async fn drives(addr: &Ctx, json_out: bool) -> Result<String> {
    let mut client = LibraryServiceClient::new(connect(addr).await?);
    let list = client
        .list_drives(ListDrivesRequest::default())
        .await
        .map_err(CallError::from)?
        .into_inner();
    if json_out {
        let v: Vec<Value> = list.drives.iter().map(drive_json).collect();
        return Ok(serde_json::to_string_pretty(&json!({ "drives": v }))?);
    }
    Ok(drives_table(&list.drives))
}

async fn tapes(addr: &Ctx, json_out: bool) -> Result<String> {
    let mut client = LibraryServiceClient::new(connect(addr).await?);
    let mut all = Vec::new();
    let mut page = 1;
    loop {
        let resp = client
            .list_tapes(ListTapesRequest {
                page: Some(PageRequest { page, size: 500 }),
                ..ListTapesRequest::default()
            })
            .await
            .map_err(CallError::from)?
            .into_inner();
        all.extend(resp.tapes);
        match resp.page {
            Some(info) if info.has_more => page += 1,
            _ => break,
        }
    }
    if json_out {
        let v: Vec<Value> = all.iter().map(tape_json).collect();
        return Ok(serde_json::to_string_pretty(&json!({ "tapes": v }))?);
    }
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|t| {
            let j = tape_json(t);
            let field = |k: &str| j.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            vec![
                t.barcode.clone(),
                or_dash(&t.generation),
                field("state"),
                field("content"),
                or_dash(&t.group),
                location_text(t),
            ]
        })
        .collect();
    Ok(table(
        &[
            "BARCODE",
            "GENERATION",
            "STATE",
            "CONTENT",
            "GROUP",
            "LOCATION",
        ],
        &rows,
    ))
}

async fn set_drive(
    addr: &Ctx,
    json_out: bool,
    state: UpDown,
    name: &str,
    reason: &str,
) -> Result<String> {
    let mut client = LibraryServiceClient::new(connect(addr).await?);
    let wanted = match state {
        UpDown::Up => DriveState::Up,
        UpDown::Down => DriveState::Down,
    };
    let resp = client
        .set_drive_state(SetDriveStateRequest {
            drive: name.to_string(),
            state: wanted as i32,
            reason: reason.to_string(),
        })
        .await
        .map_err(CallError::from)?
        .into_inner();
    let drive = resp
        .drive
        .context("the daemon answered without the drive")?;
    if json_out {
        return Ok(serde_json::to_string_pretty(&drive_json(&drive))?);
    }
    Ok(drives_table(std::slice::from_ref(&drive)))
}

async fn version(addr: &Ctx, json_out: bool) -> Result<String> {
    let mut client = SystemServiceClient::new(connect(addr).await?);
    let v = client
        .get_version(GetVersionRequest {})
        .await
        .map_err(CallError::from)?
        .into_inner();
    if json_out {
        return Ok(serde_json::to_string_pretty(&json!({
            "tapectl": env!("CARGO_PKG_VERSION"),
            "daemon": v.version,
            "api": v.api_version,
            "git_commit": v.git_commit,
        }))?);
    }
    Ok(format!(
        "tapectl {}\ntapelibd {} (API {}{})\n",
        env!("CARGO_PKG_VERSION"),
        v.version,
        v.api_version,
        if v.git_commit.is_empty() {
            String::new()
        } else {
            format!(", commit {}", v.git_commit)
        }
    ))
}

/// Where the daemon is and the token to send.
struct Ctx {
    target: Target,
    token: Option<String>,
}

/// The default socket of `tapelibd --simulate` (same data directory rules as tapelibd).
fn simulate_socket() -> Option<PathBuf> {
    let data = match std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d).join("tapelib"),
        None => PathBuf::from(std::env::var_os("HOME").filter(|h| !h.is_empty())?)
            .join(".local/share/tapelib"),
    };
    Some(data.join("tapelibd.sock")).filter(|p| p.exists())
}

fn target(args: &Args) -> Target {
    if let Some(s) = &args.socket {
        return Target::Socket(s.clone());
    }
    if let Some(a) = &args.addr {
        return Target::Addr(a.clone());
    }
    simulate_socket()
        .map(Target::Socket)
        .unwrap_or_else(|| Target::Addr("http://127.0.0.1:50051".into()))
}

async fn connect(ctx: &Ctx) -> Result<AuthedChannel> {
    Ok(client::connect_with_token(&ctx.target, ctx.token.as_deref()).await?)
}

/// Reads the password from standard input, without echo when it is a terminal.
fn read_password() -> Result<String> {
    use std::io::{BufRead, IsTerminal};
    let stdin = std::io::stdin();
    let tty = stdin.is_terminal();
    let saved = if tty {
        eprint!("Password: ");
        let saved = nix::sys::termios::tcgetattr(&stdin).context("reading terminal mode")?;
        let mut quiet = saved.clone();
        quiet
            .local_flags
            .remove(nix::sys::termios::LocalFlags::ECHO);
        nix::sys::termios::tcsetattr(&stdin, nix::sys::termios::SetArg::TCSANOW, &quiet)
            .context("turning echo off")?;
        Some(saved)
    } else {
        None
    };
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if let Some(saved) = saved {
        let _ = nix::sys::termios::tcsetattr(&stdin, nix::sys::termios::SetArg::TCSANOW, &saved);
        eprintln!();
    }
    read.context("reading the password")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

async fn login(addr: &Ctx, username: &str) -> Result<String> {
    let password = read_password()?;
    // Log in without an older token: it may be expired or revoked.
    let channel = client::connect_with_token(&addr.target, None).await?;
    let r = AuthServiceClient::new(channel)
        .login(LoginRequest {
            username: username.to_string(),
            password,
        })
        .await
        .map_err(CallError::from)?
        .into_inner();
    let path = client::token_file()?;
    client::store_token(&path, &r.token)?;
    let until = r
        .expires_at
        .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t.seconds).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    let role = enum_name(
        tapelib_proto::v1::Role::try_from(r.role)
            .ok()
            .map(|r| r.as_str_name()),
        "ROLE_",
    )
    .to_lowercase();
    Ok(format!(
        "logged in as {username} ({role}) until {until}; token kept in {}",
        path.display()
    ))
}

async fn logout(addr: &Ctx) -> Result<String> {
    let path = client::token_file()?;
    if addr.token.is_none() {
        anyhow::bail!("not logged in (no token in {})", path.display());
    }
    let result = AuthServiceClient::new(connect(addr).await?)
        .logout(LogoutRequest {})
        .await;
    // Forget the token even if the daemon already refuses it.
    client::remove_token(&path)?;
    result.map_err(CallError::from)?;
    Ok("logged out".into())
}

async fn run(args: Args) -> Result<String> {
    // No configuration directory simply means no stored token.
    let token = match client::token_file() {
        Ok(path) => client::load_token(&path)?,
        Err(_) => None,
    };
    let ctx = Ctx {
        target: target(&args),
        token,
    };
    let (addr, j) = (&ctx, args.json);
    match args.command {
        Command::Status { refresh } => status(addr, j, refresh).await,
        Command::Drives => drives(addr, j).await,
        Command::Tapes => tapes(addr, j).await,
        Command::Drive {
            state,
            name,
            reason,
        } => set_drive(addr, j, state, &name, &reason).await,
        Command::Version => version(addr, j).await,
        Command::Login { username } => login(addr, &username).await,
        Command::Logout => logout(addr).await,
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tapectl: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(text) => {
            let text = text.trim_end();
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tapectl: {e:#}");
            ExitCode::FAILURE
        }
    }
}
