//! tapectl: operator command line for tapelibd over its gRPC API.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};
use tapelib_daemon::auth::client::{self as auth_client, AuthedChannel, Target};
use tapelib_daemon::cli::{self, enum_name, or_dash, table::table};
use tapelib_proto::v1::auth_service_client::AuthServiceClient;
use tapelib_proto::v1::library_service_client::LibraryServiceClient;
use tapelib_proto::v1::object_service_client::ObjectServiceClient;
use tapelib_proto::v1::request_service_client::RequestServiceClient;
use tapelib_proto::v1::system_service_client::SystemServiceClient;
use tapelib_proto::v1::{
    offset_pair, partial_restore_offset, submit_verify_request, ByteRange, CreateGroupRequest,
    FileFolder, FileOffsets, FrameRange, ImportConflict, OffsetPair, PartialRestoreFormat,
    PartialRestoreOffset, RepackRetire, SetTapeStateRequest, SubmitExportRequest,
    SubmitImportRequest, SubmitPartialRestoreRequest, SubmitRepackRequest, SubmitVerifyRequest,
    TimecodeRange,
};
use tapelib_proto::v1::{
    BitIntegrityResult, DivaError, Drive, DriveState, Element, GetBitIntegrityReportRequest,
    GetInventoryRequest, GetVersionRequest, ListDrivesRequest, ListTapesRequest, LocationKind,
    PageRequest, SetDriveStateRequest, Tape, TapeContent, TapeState,
};
use tapelib_proto::v1::{
    CancelRequestRequest, ChangePriorityRequest, GetObjectInfoRequest, GetRequestRequest,
    ListAuditLogRequest, ListObjectsRequest, ListRequestsRequest, ObjectRef, RequestInfo,
    RequestState, RequestType, SubmitArchiveRequest, SubmitCopyRequest, SubmitDeleteRequest,
    SubmitEjectRequest, SubmitInsertRequest, SubmitRestoreRequest, WatchRequestRequest,
};
use tapelib_proto::v1::{LoginRequest, LogoutRequest, PageInfo};

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
    /// Archive files of a source server as a new object.
    Archive {
        collection: String,
        name: String,
        /// Files or folders, relative to the server root (and --path-root).
        #[arg(required = true)]
        files: Vec<String>,
        /// Source server.
        #[arg(long)]
        server: String,
        /// Tape group to write to.
        #[arg(long)]
        media: String,
        /// Directory under the server root holding the files.
        #[arg(long, default_value = "")]
        path_root: String,
        /// Free text stored with the object.
        #[arg(long, default_value = "")]
        comments: String,
        /// Delete the source files after a successful archive.
        #[arg(long)]
        delete_on_source: bool,
        #[command(flatten)]
        submit: SubmitOpts,
    },
    /// Restore an object to a destination server.
    Restore {
        collection: String,
        name: String,
        /// Destination server.
        #[arg(long)]
        server: String,
        /// Directory under the server root to restore into.
        #[arg(long, default_value = "")]
        path_root: String,
        /// Instance to read (default: any online one).
        #[arg(long)]
        instance: Option<u32>,
        /// Refuse to replace existing files.
        #[arg(long)]
        no_overwrite: bool,
        #[command(flatten)]
        submit: SubmitOpts,
    },
    /// Write a new instance of an object on another tape group.
    Copy {
        collection: String,
        name: String,
        /// Destination tape group.
        #[arg(long)]
        media: String,
        /// Instance to read (default: any online one).
        #[arg(long)]
        instance: Option<u32>,
        #[command(flatten)]
        submit: SubmitOpts,
    },
    /// Delete an object, or one of its instances.
    Delete {
        collection: String,
        name: String,
        /// Only this instance.
        #[arg(long)]
        instance: Option<u32>,
        #[command(flatten)]
        submit: SubmitOpts,
    },
    /// Take in cartridges put in the import/export slots.
    Insert {
        /// Library (default: the only one).
        #[arg(long, default_value = "")]
        library: String,
        /// Only these import/export element addresses.
        #[arg(long = "address")]
        addresses: Vec<u32>,
        #[command(flatten)]
        submit: SubmitOpts,
    },
    /// Move cartridges to the import/export slots.
    Eject {
        #[arg(required = true)]
        barcodes: Vec<String>,
        /// Text recorded with the tapes (e.g. shelf location).
        #[arg(long, default_value = "")]
        comments: String,
        #[command(flatten)]
        submit: SubmitOpts,
    },
    /// Restore part of an object: byte ranges, timecode ranges, files/folders or DPX
    /// frames (DIVA partial restore formats 0, 2–13).
    PartialRestore {
        collection: String,
        name: String,
        /// Destination server.
        #[arg(long)]
        server: String,
        /// Folder under the server root to restore into.
        #[arg(long, default_value = "")]
        path_root: String,
        /// Format: bytes, mxf, ts, autodetect, files or dpx.
        #[arg(long, value_enum)]
        format: PartialFormatArg,
        /// Bytes or timecodes of one file: SOURCE[=DEST]@BEGIN-END[,BEGIN-END...]. Byte
        /// ends are exclusive; timecodes are HH:MM:SS:FF (';' before FF for drop-frame),
        /// both ends included.
        #[arg(long = "range")]
        ranges: Vec<String>,
        /// A file or folder of the object (format files).
        #[arg(long = "path")]
        paths: Vec<String>,
        /// DPX frames BEGIN-END, both included (format dpx).
        #[arg(long = "frames")]
        frames: Vec<String>,
        /// Instance to read.
        #[arg(long)]
        instance: Option<u32>,
        /// Refuse to replace existing files.
        #[arg(long)]
        no_overwrite: bool,
        #[command(flatten)]
        submit: SubmitOpts,
    },
    /// Copy a tape's live objects to other tapes and reclaim it.
    Repack {
        barcode: String,
        /// Group to write to (default: the tape's own).
        #[arg(long, default_value = "")]
        media: String,
        /// Leave the tape empty and DISABLED instead of reformatting it to scratch.
        #[arg(long)]
        leave_empty: bool,
        #[command(flatten)]
        submit: SubmitOpts,
    },
    /// Export tapes: export documents, eject, and their objects leave the catalog.
    Export {
        #[arg(required = true)]
        barcodes: Vec<String>,
        /// Text written into the export document.
        #[arg(long, default_value = "")]
        comments: String,
        #[command(flatten)]
        submit: SubmitOpts,
    },
    /// Import inserted tapes into a group and register their objects.
    Import {
        #[arg(required = true)]
        barcodes: Vec<String>,
        /// Tape group the tapes join.
        #[arg(long)]
        media: String,
        /// An export document (XML file) describing the tapes.
        #[arg(long)]
        document: Option<std::path::PathBuf>,
        /// Collection for tapes written by other software.
        #[arg(long, default_value = "")]
        collection: String,
        /// An object that exists already: skip, add-instance or refuse.
        #[arg(long, value_enum, default_value = "skip")]
        on_conflict: ConflictArg,
        /// Read every file and check it against the tape's checksums.
        #[arg(long)]
        verify: bool,
        #[command(flatten)]
        submit: SubmitOpts,
    },
    /// Read data back and check its CRC-32s: a whole tape, or an object.
    Verify {
        /// A tape barcode, or COLLECTION with NAME for an object.
        target: String,
        name: Option<String>,
        /// With an object: only this instance.
        #[arg(long)]
        instance: Option<u32>,
        #[command(flatten)]
        submit: SubmitOpts,
    },
    /// The latest bit-integrity report of a tape (TSV as kept; rows with --json). Exits 2
    /// when a file failed verification.
    BitIntegrity { barcode: String },
    /// Set a tape's state (active, disabled, broken, full); a reason is required but for active.
    TapeState {
        barcode: String,
        #[arg(value_enum)]
        state: TapeStateArg,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Create a tape group.
    GroupCreate {
        name: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List requests, newest first.
    Requests {
        /// Only these states (pending, running, completed, ...).
        #[arg(long = "state", value_enum)]
        states: Vec<StateArg>,
        /// Only these types.
        #[arg(long = "type", value_enum)]
        types: Vec<TypeArg>,
        /// Only requests submitted at or after this RFC 3339 instant.
        #[arg(long)]
        since: Option<String>,
        #[command(flatten)]
        page: PageOpts,
    },
    /// Show one request.
    Request { id: u64 },
    /// Follow a request to its end; exits 0 when COMPLETED, 2 when PARTIALLY_COMPLETED,
    /// 1 otherwise.
    Watch { id: u64 },
    /// Cancel a request.
    Cancel { id: u64 },
    /// Change the priority (0-100) of a pending request.
    Priority { id: u64, priority: u32 },
    /// List archived objects.
    Objects {
        /// Only this collection.
        #[arg(long, default_value = "")]
        collection: String,
        /// Only objects changed at or after this RFC 3339 instant.
        #[arg(long)]
        since: Option<String>,
        /// With --since: also list objects deleted since then.
        #[arg(long, requires = "since")]
        include_deleted: bool,
        #[command(flatten)]
        page: PageOpts,
    },
    /// Show an object with its instances and files.
    Object { collection: String, name: String },
    /// The audit log, newest first.
    Audit {
        /// Only entries at or after this RFC 3339 instant.
        #[arg(long)]
        since: Option<String>,
        /// Only entries by this actor.
        #[arg(long, default_value = "")]
        actor: String,
        /// Only actions starting with this (e.g. "object." or "request.state").
        #[arg(long, default_value = "")]
        action: String,
        /// Only entries about this subject ("collection/name", request id, barcode).
        #[arg(long, default_value = "")]
        subject: String,
        #[command(flatten)]
        page: PageOpts,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum PartialFormatArg {
    Bytes,
    Mxf,
    Ts,
    Autodetect,
    Files,
    Dpx,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ConflictArg {
    Skip,
    AddInstance,
    Refuse,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TapeStateArg {
    Active,
    Disabled,
    Broken,
    Full,
}

/// Options of every submission.
#[derive(Debug, ClapArgs)]
struct SubmitOpts {
    /// Priority 0 (lowest) to 100 (default 50).
    #[arg(long)]
    priority: Option<u32>,
    /// Follow the request to its end, as `watch` does (same exit codes).
    #[arg(long)]
    wait: bool,
}

/// Paging of lists; without --page every page is fetched.
#[derive(Debug, ClapArgs)]
struct PageOpts {
    /// Page number (1-based); all pages when unset.
    #[arg(long)]
    page: Option<u32>,
    /// Items per page.
    #[arg(long, default_value_t = 100)]
    size: u32,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StateArg {
    Pending,
    Running,
    Completed,
    PartiallyCompleted,
    Aborted,
    Cancelled,
}

impl From<StateArg> for RequestState {
    fn from(s: StateArg) -> Self {
        match s {
            StateArg::Pending => RequestState::Pending,
            StateArg::Running => RequestState::Running,
            StateArg::Completed => RequestState::Completed,
            StateArg::PartiallyCompleted => RequestState::PartiallyCompleted,
            StateArg::Aborted => RequestState::Aborted,
            StateArg::Cancelled => RequestState::Cancelled,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TypeArg {
    Archive,
    Restore,
    PartialRestore,
    Copy,
    Delete,
    Insert,
    Eject,
    Repack,
    Export,
    Import,
    Verify,
}

impl From<TypeArg> for RequestType {
    fn from(t: TypeArg) -> Self {
        match t {
            TypeArg::Archive => RequestType::Archive,
            TypeArg::Restore => RequestType::Restore,
            TypeArg::PartialRestore => RequestType::PartialRestore,
            TypeArg::Copy => RequestType::Copy,
            TypeArg::Delete => RequestType::Delete,
            TypeArg::Insert => RequestType::Insert,
            TypeArg::Eject => RequestType::Eject,
            TypeArg::Repack => RequestType::Repack,
            TypeArg::Export => RequestType::Export,
            TypeArg::Import => RequestType::Import,
            TypeArg::Verify => RequestType::Verify,
        }
    }
}

/// What a command prints and the exit status it ends with.
struct Output {
    text: String,
    code: u8,
}

impl From<String> for Output {
    fn from(text: String) -> Self {
        Output { text, code: 0 }
    }
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
    Ok(auth_client::connect_with_token(&ctx.target, ctx.token.as_deref()).await?)
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
    let channel = auth_client::connect_with_token(&addr.target, None).await?;
    let r = AuthServiceClient::new(channel)
        .login(LoginRequest {
            username: username.to_string(),
            password,
        })
        .await
        .map_err(CallError::from)?
        .into_inner();
    let path = auth_client::token_file()?;
    auth_client::store_token(&path, &r.token)?;
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
    let path = auth_client::token_file()?;
    if addr.token.is_none() {
        anyhow::bail!("not logged in (no token in {})", path.display());
    }
    let result = AuthServiceClient::new(connect(addr).await?)
        .logout(LogoutRequest {})
        .await;
    // Forget the token even if the daemon already refuses it.
    auth_client::remove_token(&path)?;
    result.map_err(CallError::from)?;
    Ok("logged out".into())
}

fn object(collection: &str, name: &str) -> Option<ObjectRef> {
    Some(ObjectRef {
        name: name.to_string(),
        collection: collection.to_string(),
    })
}

fn pretty(v: &Value) -> Result<String> {
    Ok(serde_json::to_string_pretty(v)?)
}

/// Follows request `id` until it ends, showing a progress bar on a terminal.
async fn follow(channel: AuthedChannel, id: u64, show_bar: bool) -> Result<RequestInfo> {
    let mut client = RequestServiceClient::new(channel);
    let mut stream = client
        .watch_request(WatchRequestRequest { request_id: id })
        .await
        .map_err(CallError::from)?
        .into_inner();
    let bar = if show_bar {
        let bar = ProgressBar::new(100);
        let style = ProgressStyle::with_template("request {prefix} [{bar:30}] {pos:>3}% {msg}")
            .context("progress bar template")?
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(id.to_string());
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut last = None;
    while let Some(msg) = stream.message().await.map_err(CallError::from)? {
        if let Some(info) = msg.request {
            bar.set_position(u64::from(info.progress_percent));
            bar.set_message(format!("{} {}", cli::state_name(info.state), info.phase));
            last = Some(info);
        }
    }
    bar.finish_and_clear();
    let Some(info) = last else {
        bail!("the daemon ended the watch of request {id} without any update");
    };
    let terminal = RequestState::try_from(info.state).is_ok_and(|s| s.is_terminal());
    if !terminal {
        bail!(
            "the watch of request {id} ended while it was {}",
            cli::state_name(info.state)
        );
    }
    Ok(info)
}

fn request_output(info: &RequestInfo, json_out: bool, code: u8) -> Result<Output> {
    let text = if json_out {
        pretty(&cli::json::request(info))?
    } else {
        cli::table::request(info)
    };
    Ok(Output { text, code })
}

async fn watch(channel: AuthedChannel, id: u64, json_out: bool) -> Result<Output> {
    let info = follow(channel, id, !json_out).await?;
    request_output(&info, json_out, cli::exit_code(&info))
}

/// Reports a submitted request, or follows it to its end with --wait.
async fn submitted(
    channel: AuthedChannel,
    id: u64,
    opts: &SubmitOpts,
    json_out: bool,
) -> Result<Output> {
    if opts.wait {
        return watch(channel, id, json_out).await;
    }
    if json_out {
        return Ok(pretty(&json!({ "request_id": id }))?.into());
    }
    Ok(format!("request {id} submitted").into())
}

fn partial_format(f: PartialFormatArg) -> PartialRestoreFormat {
    match f {
        PartialFormatArg::Bytes => PartialRestoreFormat::Bytes,
        PartialFormatArg::Mxf => PartialRestoreFormat::Mxf,
        PartialFormatArg::Ts => PartialRestoreFormat::Mpeg2Ts,
        PartialFormatArg::Autodetect => PartialRestoreFormat::Autodetect,
        PartialFormatArg::Files => PartialRestoreFormat::FileFolder,
        PartialFormatArg::Dpx => PartialRestoreFormat::Dpx,
    }
}

/// Builds DIVA `offsets` from the command line's --range, --path and --frames.
fn partial_offsets(
    format: PartialFormatArg,
    ranges: &[String],
    paths: &[String],
    frames: &[String],
) -> Result<Vec<PartialRestoreOffset>> {
    use partial_restore_offset::Selection;
    let mut out = Vec::new();
    for r in ranges {
        let (file, list) = r
            .rsplit_once('@')
            .with_context(|| format!("--range {r:?}: expected SOURCE[=DEST]@BEGIN-END"))?;
        let (source, dest) = file.split_once('=').unwrap_or((file, file));
        let mut pairs = Vec::new();
        for part in list.split(',') {
            let (b, e) = part
                .split_once('-')
                .with_context(|| format!("--range {r:?}: {part:?} is not BEGIN-END"))?;
            let range = if matches!(format, PartialFormatArg::Bytes) {
                offset_pair::Range::Bytes(ByteRange {
                    begin: b
                        .trim()
                        .parse()
                        .with_context(|| format!("byte offset {b:?}"))?,
                    end: e
                        .trim()
                        .parse()
                        .with_context(|| format!("byte offset {e:?}"))?,
                })
            } else {
                offset_pair::Range::Timecode(TimecodeRange {
                    begin: b.trim().to_string(),
                    end: e.trim().to_string(),
                })
            };
            pairs.push(OffsetPair { range: Some(range) });
        }
        out.push(PartialRestoreOffset {
            selection: Some(Selection::File(FileOffsets {
                source_file: source.to_string(),
                destination_file: dest.to_string(),
                pairs,
            })),
        });
    }
    for p in paths {
        out.push(PartialRestoreOffset {
            selection: Some(Selection::FileFolder(FileFolder {
                name: p.clone(),
                option: String::new(),
            })),
        });
    }
    for f in frames {
        let (b, e) = f
            .split_once('-')
            .with_context(|| format!("--frames {f:?}: expected BEGIN-END"))?;
        out.push(PartialRestoreOffset {
            selection: Some(Selection::Range(FrameRange {
                begin: b.trim().parse().with_context(|| format!("frame {b:?}"))?,
                end: e.trim().parse().with_context(|| format!("frame {e:?}"))?,
            })),
        });
    }
    Ok(out)
}

async fn set_tape_state(
    channel: AuthedChannel,
    barcode: String,
    state: TapeStateArg,
    reason: String,
    json_out: bool,
) -> Result<String> {
    let state = match state {
        TapeStateArg::Active => TapeState::Active,
        TapeStateArg::Disabled => TapeState::Disabled,
        TapeStateArg::Broken => TapeState::Broken,
        TapeStateArg::Full => TapeState::Full,
    };
    let tape = LibraryServiceClient::new(channel)
        .set_tape_state(SetTapeStateRequest {
            barcode,
            state: state as i32,
            reason,
        })
        .await
        .map_err(CallError::from)?
        .into_inner()
        .tape
        .context("the daemon returned no tape")?;
    let name = enum_name(
        TapeState::try_from(tape.state)
            .ok()
            .map(|s| s.as_str_name()),
        "TAPE_STATE_",
    );
    if json_out {
        return pretty(&json!({
            "barcode": tape.barcode,
            "state": name,
            "state_reason": tape.state_reason,
        }));
    }
    Ok(format!(
        "{}: {}{}",
        tape.barcode,
        name,
        if tape.state_reason.is_empty() {
            String::new()
        } else {
            format!(" ({})", tape.state_reason)
        }
    ))
}

async fn bit_integrity(channel: AuthedChannel, barcode: String, json_out: bool) -> Result<Output> {
    let r = LibraryServiceClient::new(channel)
        .get_bit_integrity_report(GetBitIntegrityReportRequest { barcode })
        .await
        .map_err(CallError::from)?
        .into_inner();
    let code = if r.success { 0 } else { 2 };
    let text = if json_out {
        let rows: Vec<Value> = r
            .rows
            .iter()
            .map(|row| {
                json!({
                    "checked": cli::time_text(row.checked.as_ref()),
                    "barcode": row.barcode,
                    "collection": row.collection,
                    "name": row.name,
                    "instance": row.instance,
                    "file": row.file,
                    "result": enum_name(
                        BitIntegrityResult::try_from(row.result).ok().map(|v| v.as_str_name()),
                        "BIT_INTEGRITY_RESULT_",
                    ),
                    "expected_crc32": row.expected_crc32,
                    "computed_crc32": row.computed_crc32,
                    "details": row.details,
                })
            })
            .collect();
        pretty(&json!({
            "barcode": r.barcode,
            "completed": cli::time_text(r.completed.as_ref()),
            "success": r.success,
            "rows": rows,
        }))?
    } else {
        r.tsv
    };
    Ok(Output { text, code })
}

async fn create_group(
    channel: AuthedChannel,
    name: String,
    description: String,
    json_out: bool,
) -> Result<String> {
    let g = LibraryServiceClient::new(channel)
        .create_group(CreateGroupRequest { name, description })
        .await
        .map_err(CallError::from)?
        .into_inner()
        .group
        .context("the daemon returned no group")?;
    if json_out {
        return pretty(&json!({ "name": g.name, "description": g.description }));
    }
    Ok(format!("group {} created", g.name))
}

async fn submit(channel: AuthedChannel, command: Command, json_out: bool) -> Result<Output> {
    let mut client = RequestServiceClient::new(channel.clone());
    let (response, opts) = match command {
        Command::Archive {
            collection,
            name,
            files,
            server,
            media,
            path_root,
            comments,
            delete_on_source,
            submit,
        } => (
            client
                .submit_archive(SubmitArchiveRequest {
                    object: object(&collection, &name),
                    components: files,
                    source_server: server,
                    file_path_root: path_root,
                    media,
                    priority: submit.priority,
                    delete_on_source,
                    comments,
                    ..Default::default()
                })
                .await,
            submit,
        ),
        Command::Restore {
            collection,
            name,
            server,
            path_root,
            instance,
            no_overwrite,
            submit,
        } => (
            client
                .submit_restore(SubmitRestoreRequest {
                    object: object(&collection, &name),
                    destination_server: server,
                    file_path_root: path_root,
                    instance,
                    priority: submit.priority,
                    do_not_overwrite: no_overwrite,
                    ..Default::default()
                })
                .await,
            submit,
        ),
        Command::Copy {
            collection,
            name,
            media,
            instance,
            submit,
        } => (
            client
                .submit_copy(SubmitCopyRequest {
                    object: object(&collection, &name),
                    media,
                    instance,
                    priority: submit.priority,
                    ..Default::default()
                })
                .await,
            submit,
        ),
        Command::Delete {
            collection,
            name,
            instance,
            submit,
        } => (
            client
                .submit_delete(SubmitDeleteRequest {
                    object: object(&collection, &name),
                    instance,
                    priority: submit.priority,
                    options: String::new(),
                })
                .await,
            submit,
        ),
        Command::Insert {
            library,
            addresses,
            submit,
        } => (
            client
                .submit_insert(SubmitInsertRequest {
                    library,
                    import_export_addresses: addresses,
                    group: String::new(),
                    priority: submit.priority,
                })
                .await,
            submit,
        ),
        Command::Eject {
            barcodes,
            comments,
            submit,
        } => (
            client
                .submit_eject(SubmitEjectRequest {
                    barcodes,
                    comments,
                    priority: submit.priority,
                })
                .await,
            submit,
        ),
        Command::PartialRestore {
            collection,
            name,
            server,
            path_root,
            format,
            ranges,
            paths,
            frames,
            instance,
            no_overwrite,
            submit,
        } => (
            client
                .submit_partial_restore(SubmitPartialRestoreRequest {
                    object: object(&collection, &name),
                    destination_server: server,
                    file_path_root: path_root,
                    instance,
                    priority: submit.priority,
                    format: partial_format(format) as i32,
                    offsets: partial_offsets(format, &ranges, &paths, &frames)?,
                    do_not_overwrite: no_overwrite,
                    ..Default::default()
                })
                .await,
            submit,
        ),
        Command::Repack {
            barcode,
            media,
            leave_empty,
            submit,
        } => (
            client
                .submit_repack(SubmitRepackRequest {
                    barcode,
                    priority: submit.priority,
                    target_group: media,
                    retire: if leave_empty {
                        RepackRetire::Empty
                    } else {
                        RepackRetire::Scratch
                    } as i32,
                })
                .await,
            submit,
        ),
        Command::Export {
            barcodes,
            comments,
            submit,
        } => (
            client
                .submit_export(SubmitExportRequest {
                    barcodes,
                    comments,
                    priority: submit.priority,
                })
                .await,
            submit,
        ),
        Command::Import {
            barcodes,
            media,
            document,
            collection,
            on_conflict,
            verify,
            submit,
        } => {
            let document = match document {
                Some(path) => std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?,
                None => String::new(),
            };
            (
                client
                    .submit_import(SubmitImportRequest {
                        barcodes,
                        media,
                        document,
                        priority: submit.priority,
                        collection,
                        on_conflict: match on_conflict {
                            ConflictArg::Skip => ImportConflict::Skip,
                            ConflictArg::AddInstance => ImportConflict::AddInstance,
                            ConflictArg::Refuse => ImportConflict::Refuse,
                        } as i32,
                        verify,
                    })
                    .await,
                submit,
            )
        }
        Command::Verify {
            target,
            name,
            instance,
            submit,
        } => {
            let target = match name {
                Some(name) => submit_verify_request::Target::Object(
                    object(&target, &name).context("an object needs a collection and a name")?,
                ),
                None => submit_verify_request::Target::Barcode(target),
            };
            (
                client
                    .submit_verify(SubmitVerifyRequest {
                        target: Some(target),
                        instance,
                        priority: submit.priority,
                    })
                    .await,
                submit,
            )
        }
        other => bail!("{other:?} is not a submission"),
    };
    let id = response.map_err(CallError::from)?.into_inner().request_id;
    submitted(channel, id, &opts, json_out).await
}

/// Every page of a listing when no page is asked for, else just that page: `fetch` returns
/// one page's items and its page info.
async fn collect_pages<T, F, Fut>(
    paging: &PageOpts,
    mut fetch: F,
) -> Result<(Vec<T>, Option<PageInfo>)>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<PageInfo>), tonic::Status>>,
{
    let mut all = Vec::new();
    let mut page = paging.page.unwrap_or(1);
    loop {
        let (items, info) = fetch(PageRequest {
            page,
            size: paging.size,
        })
        .await
        .map_err(CallError::from)?;
        all.extend(items);
        match info {
            Some(p) if p.has_more && paging.page.is_none() => page += 1,
            info => return Ok((all, info)),
        }
    }
}

async fn requests(
    channel: AuthedChannel,
    json_out: bool,
    filter: ListRequestsRequest,
    paging: &PageOpts,
) -> Result<String> {
    let client = RequestServiceClient::new(channel);
    let (all, info) = collect_pages(paging, |page| {
        let (mut client, filter) = (client.clone(), filter.clone());
        async move {
            let r = client
                .list_requests(ListRequestsRequest {
                    page: Some(page),
                    ..filter
                })
                .await?
                .into_inner();
            Ok((r.requests, r.page))
        }
    })
    .await?;
    if json_out {
        return pretty(&cli::json::requests(&all, info.as_ref()));
    }
    Ok(cli::table::requests(&all))
}

async fn objects(
    channel: AuthedChannel,
    json_out: bool,
    filter: ListObjectsRequest,
    paging: &PageOpts,
) -> Result<String> {
    let client = ObjectServiceClient::new(channel);
    let (all, info) = collect_pages(paging, |page| {
        let (mut client, filter) = (client.clone(), filter.clone());
        async move {
            let r = client
                .list_objects(ListObjectsRequest {
                    page: Some(page),
                    ..filter
                })
                .await?
                .into_inner();
            Ok((r.objects, r.page))
        }
    })
    .await?;
    if json_out {
        return pretty(&cli::json::objects(&all, info.as_ref()));
    }
    Ok(cli::table::objects(&all))
}

async fn audit(
    channel: AuthedChannel,
    json_out: bool,
    filter: ListAuditLogRequest,
    paging: &PageOpts,
) -> Result<String> {
    let client = SystemServiceClient::new(channel);
    let (all, info) = collect_pages(paging, |page| {
        let (mut client, filter) = (client.clone(), filter.clone());
        async move {
            let r = client
                .list_audit_log(ListAuditLogRequest {
                    page: Some(page),
                    ..filter
                })
                .await?
                .into_inner();
            Ok((r.entries, r.page))
        }
    })
    .await?;
    if json_out {
        return pretty(&cli::json::audit(&all, info.as_ref()));
    }
    Ok(cli::table::audit(&all))
}

fn since(text: Option<&str>) -> Result<Option<tapelib_proto::prost_types::Timestamp>> {
    text.map(|t| {
        cli::parse_time(t).with_context(|| format!("--since {t:?} is not an RFC 3339 instant"))
    })
    .transpose()
}

async fn run(args: Args) -> Result<Output> {
    // No configuration directory simply means no stored token.
    let token = match auth_client::token_file() {
        Ok(path) => auth_client::load_token(&path)?,
        Err(_) => None,
    };
    let ctx = Ctx {
        target: target(&args),
        token,
    };
    let (addr, j) = (&ctx, args.json);
    match args.command {
        Command::Login { username } => login(addr, &username).await.map(Output::from),
        Command::Logout => logout(addr).await.map(Output::from),
        Command::Status { refresh } => status(addr, j, refresh).await.map(Output::from),
        Command::Drives => drives(addr, j).await.map(Output::from),
        Command::Tapes => tapes(addr, j).await.map(Output::from),
        Command::Drive {
            state,
            name,
            reason,
        } => set_drive(addr, j, state, &name, &reason)
            .await
            .map(Output::from),
        Command::Version => version(addr, j).await.map(Output::from),
        command @ (Command::Archive { .. }
        | Command::Restore { .. }
        | Command::Copy { .. }
        | Command::Delete { .. }
        | Command::Insert { .. }
        | Command::Eject { .. }
        | Command::PartialRestore { .. }
        | Command::Repack { .. }
        | Command::Export { .. }
        | Command::Import { .. }
        | Command::Verify { .. }) => submit(connect(addr).await?, command, j).await,
        Command::TapeState {
            barcode,
            state,
            reason,
        } => set_tape_state(connect(addr).await?, barcode, state, reason, j)
            .await
            .map(Output::from),
        Command::BitIntegrity { barcode } => bit_integrity(connect(addr).await?, barcode, j).await,
        Command::GroupCreate { name, description } => {
            create_group(connect(addr).await?, name, description, j)
                .await
                .map(Output::from)
        }
        Command::Requests {
            states,
            types,
            since: from,
            page,
        } => {
            let filter = ListRequestsRequest {
                states: states
                    .into_iter()
                    .map(|s| RequestState::from(s) as i32)
                    .collect(),
                types: types
                    .into_iter()
                    .map(|t| RequestType::from(t) as i32)
                    .collect(),
                since: since(from.as_deref())?,
                ..Default::default()
            };
            requests(connect(addr).await?, j, filter, &page)
                .await
                .map(Output::from)
        }
        Command::Request { id } => {
            let mut client = RequestServiceClient::new(connect(addr).await?);
            let info = client
                .get_request(GetRequestRequest { request_id: id })
                .await
                .map_err(CallError::from)?
                .into_inner()
                .request
                .context("the daemon answered without the request")?;
            request_output(&info, j, 0)
        }
        Command::Watch { id } => watch(connect(addr).await?, id, j).await,
        Command::Cancel { id } => {
            let mut client = RequestServiceClient::new(connect(addr).await?);
            let info = client
                .cancel_request(CancelRequestRequest { request_id: id })
                .await
                .map_err(CallError::from)?
                .into_inner()
                .request
                .context("the daemon answered without the request")?;
            request_output(&info, j, 0)
        }
        Command::Priority { id, priority } => {
            let mut client = RequestServiceClient::new(connect(addr).await?);
            let info = client
                .change_priority(ChangePriorityRequest {
                    request_id: id,
                    priority,
                })
                .await
                .map_err(CallError::from)?
                .into_inner()
                .request
                .context("the daemon answered without the request")?;
            request_output(&info, j, 0)
        }
        Command::Objects {
            collection,
            since: from,
            include_deleted,
            page,
        } => {
            let filter = ListObjectsRequest {
                since: since(from.as_deref())?,
                collection,
                include_deleted,
                ..Default::default()
            };
            objects(connect(addr).await?, j, filter, &page)
                .await
                .map(Output::from)
        }
        Command::Object { collection, name } => {
            let mut client = ObjectServiceClient::new(connect(addr).await?);
            let info = client
                .get_object_info(GetObjectInfoRequest {
                    object: object(&collection, &name),
                })
                .await
                .map_err(CallError::from)?
                .into_inner()
                .object
                .context("the daemon answered without the object")?;
            Ok(if j {
                pretty(&cli::json::object(&info))?
            } else {
                cli::table::object(&info)
            }
            .into())
        }
        Command::Audit {
            since: from,
            actor,
            action,
            subject,
            page,
        } => {
            let filter = ListAuditLogRequest {
                since: since(from.as_deref())?,
                actor,
                action_prefix: action,
                subject,
                ..Default::default()
            };
            audit(connect(addr).await?, j, filter, &page)
                .await
                .map(Output::from)
        }
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
        Ok(out) => {
            println!("{}", out.text.trim_end());
            ExitCode::from(out.code)
        }
        Err(e) => {
            eprintln!("tapectl: {e:#}");
            ExitCode::FAILURE
        }
    }
}
