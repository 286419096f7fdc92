//! The simulator as a process: a Unix socket server in front of a [`Library`].
//!
//! `DIR/tapelib-sim.sock` accepts connections, one thread each, blocking I/O. Each connection
//! carries a sequence of [`protocol`] frames: one [`Request`], one [`Response`]. A frame that
//! cannot be decoded gets an error response; a frame whose header is unusable (too large, cut
//! short) closes the connection, since the stream can no longer be trusted to be in step.
//!
//! The server also creates `DIR/dev/<device>` as regular files: the SG_IO interposer recognises
//! descriptors opened on them.

use std::io::{self, BufReader};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use tapelib_scsi::transport::DataPhase;

use crate::config::FaultSpec;
use crate::library::Library;
use crate::protocol::{
    self, control_request::Op, request, response, ControlRequest, ControlResponse, Direction,
    ErrorKind, Request, Response, ScsiRequest, ScsiRequestRef, ScsiResponse,
};

/// File name of the socket inside the state directory.
pub const SOCKET_NAME: &str = "tapelib-sim.sock";
/// Directory of the device files inside the state directory.
pub const DEV_DIR: &str = "dev";

/// Path of the socket for a state directory.
pub fn socket_path(state_dir: &Path) -> PathBuf {
    state_dir.join(SOCKET_NAME)
}

/// Path of a device file for a state directory.
pub fn device_path(state_dir: &Path, device: &str) -> PathBuf {
    state_dir.join(DEV_DIR).join(device)
}

/// Failures starting or running the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("another simulator is already serving {0}")]
    AlreadyRunning(PathBuf),
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// A bound, not yet serving, simulator socket.
pub struct Server {
    library: Arc<Library>,
    listener: UnixListener,
    socket: PathBuf,
    stop: Arc<AtomicBool>,
}

impl Server {
    /// Creates the device files and binds `state_dir/tapelib-sim.sock`.
    ///
    /// A socket file nobody answers on is stale (a killed server) and is replaced; one that
    /// accepts a connection belongs to a live server and makes this fail.
    pub fn bind(library: Arc<Library>, state_dir: &Path) -> Result<Server, ServerError> {
        create_device_files(state_dir, &library.device_names())?;
        let socket = socket_path(state_dir);
        if socket.exists() {
            if UnixStream::connect(&socket).is_ok() {
                return Err(ServerError::AlreadyRunning(socket));
            }
            std::fs::remove_file(&socket).map_err(|source| ServerError::Io {
                what: "cannot remove stale socket",
                path: socket.clone(),
                source,
            })?;
        }
        let listener = UnixListener::bind(&socket).map_err(|source| ServerError::Io {
            what: "cannot bind",
            path: socket.clone(),
            source,
        })?;
        Ok(Server {
            library,
            listener,
            socket,
            stop: Arc::new(AtomicBool::new(false)),
        })
    }

    pub fn socket_path(&self) -> &Path {
        &self.socket
    }

    /// Accepts connections until [`ServerHandle::shutdown`] (or forever), one thread each.
    pub fn serve(self) {
        for stream in self.listener.incoming() {
            if self.stop.load(Ordering::Acquire) {
                break;
            }
            match stream {
                Ok(stream) => {
                    let library = Arc::clone(&self.library);
                    let spawned = std::thread::Builder::new()
                        .name("sim-conn".into())
                        .spawn(move || serve_connection(&library, stream));
                    if let Err(e) = spawned {
                        tracing::error!(error = %e, "cannot start a connection thread");
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
            }
        }
    }

    /// Serves on a background thread; the handle stops it.
    pub fn spawn(self) -> io::Result<ServerHandle> {
        let socket = self.socket.clone();
        let stop = Arc::clone(&self.stop);
        let library = Arc::clone(&self.library);
        let thread = std::thread::Builder::new()
            .name("sim-accept".into())
            .spawn(move || self.serve())?;
        Ok(ServerHandle {
            socket,
            stop,
            library,
            thread: Some(thread),
        })
    }
}

/// A server running on a background thread.
pub struct ServerHandle {
    socket: PathBuf,
    stop: Arc<AtomicBool>,
    library: Arc<Library>,
    thread: Option<JoinHandle<()>>,
}

impl ServerHandle {
    pub fn socket_path(&self) -> &Path {
        &self.socket
    }

    /// Stops accepting, removes the socket and flushes the library. Open connections finish
    /// on their own threads.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.stop.store(true, Ordering::Release);
            // Wake the blocking accept.
            let _ = UnixStream::connect(&self.socket);
            let _ = thread.join();
            let _ = std::fs::remove_file(&self.socket);
            if let Err(e) = self.library.flush() {
                tracing::error!(error = %e, "flush at shutdown failed");
            }
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// Creates `state_dir/dev/<name>` for every device as an empty regular file.
pub fn create_device_files(state_dir: &Path, devices: &[String]) -> Result<(), ServerError> {
    let dev = state_dir.join(DEV_DIR);
    std::fs::create_dir_all(&dev).map_err(|source| ServerError::Io {
        what: "cannot create",
        path: dev.clone(),
        source,
    })?;
    for name in devices {
        let path = dev.join(name);
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| ServerError::Io {
                what: "cannot create device file",
                path,
                source,
            })?;
    }
    Ok(())
}

/// Socket buffer size asked for on both ends: a whole 512 KiB record (and more) fits, so a
/// transfer does not ping-pong between the processes in 200 KiB pieces.
pub const SOCKET_BUFFER: libc::c_int = 4 * 1024 * 1024;

/// Enlarges the send and receive buffers of a connection (the kernel caps them at
/// `net.core.wmem_max` / `rmem_max`). Failure only costs throughput.
pub fn tune_socket(stream: &UnixStream) {
    use std::os::fd::AsRawFd;
    for opt in [libc::SO_SNDBUF, libc::SO_RCVBUF] {
        // SAFETY: setsockopt on an open socket with a c_int option value of the right size.
        let rc = unsafe {
            libc::setsockopt(
                stream.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&SOCKET_BUFFER as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            tracing::debug!(error = %io::Error::last_os_error(), "setsockopt failed");
        }
    }
}

/// Serves one connection until the peer closes it or sends an unusable frame.
pub fn serve_connection(library: &Library, stream: UnixStream) {
    tune_socket(&stream);
    let peer = stream
        .peer_addr()
        .ok()
        .and_then(|a| a.as_pathname().map(|p| p.display().to_string()));
    let Ok(write_half) = stream.try_clone() else {
        tracing::warn!("cannot clone a connection's socket");
        return;
    };
    let mut reader = BufReader::with_capacity(READ_BUFFER, stream);
    // Frames go out whole, in one `writev` each: no buffering layer on the write side.
    let mut writer = write_half;
    // Buffers kept for the life of the connection: no allocation per request once they have
    // grown to the largest record.
    let mut payload = Vec::new();
    let mut frame = Vec::new();
    let mut data_in = Vec::new();
    loop {
        match protocol::read_frame(&mut reader, &mut payload) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                // The stream is out of step: report once, then close.
                tracing::debug!(?peer, error = %e, "closing connection after a bad frame");
                let resp = Response::error(ErrorKind::Malformed, e.to_string());
                let _ = protocol::write_frame(&mut writer, &resp, &mut frame);
                break;
            }
        }
        let written = match ScsiRequestRef::decode(&payload) {
            // The hot path: CDB and data-out borrowed from the frame.
            Ok(Some(req)) => match execute_scsi_ref(library, &req, &mut data_in) {
                Ok((resp, n)) => protocol::write_scsi_response_with(
                    &mut writer,
                    &resp,
                    data_in.get(..n).unwrap_or_default(),
                    &mut frame,
                ),
                Err(resp) => protocol::write_frame(&mut writer, &resp, &mut frame),
            },
            Ok(None) => match handle_payload(library, &payload).body {
                Some(response::Body::Scsi(scsi)) => {
                    protocol::write_scsi_response(&mut writer, scsi, &mut frame)
                }
                body => protocol::write_frame(&mut writer, &Response { body }, &mut frame),
            },
            Err(e) => {
                let resp = Response::error(ErrorKind::Malformed, e.to_string());
                protocol::write_frame(&mut writer, &resp, &mut frame)
            }
        };
        // One oversized request must not pin its buffers for the connection's life.
        for buf in [&mut data_in, &mut payload, &mut frame] {
            if buf.capacity() > RETAINED_BUFFER {
                *buf = Vec::new();
            }
        }
        if let Err(e) = written {
            tracing::debug!(?peer, error = %e, "connection closed while answering");
            break;
        }
    }
}

/// Read buffer of a connection: a small frame (most commands) arrives in one `read`, while a
/// record's payload beyond it is read straight into the payload buffer, not copied through a
/// larger staging buffer.
pub const READ_BUFFER: usize = 4096;

/// Largest buffer a connection keeps between requests (two 8 MiB records fit).
const RETAINED_BUFFER: usize = 16 * 1024 * 1024;

/// Decodes one request payload and carries it out. Never panics on any input.
pub fn handle_payload(library: &Library, payload: &[u8]) -> Response {
    match protocol::decode_request(payload) {
        Ok(req) => handle_request(library, req),
        Err(e) => Response::error(ErrorKind::Malformed, e.to_string()),
    }
}

/// Carries out one decoded request.
pub fn handle_request(library: &Library, req: Request) -> Response {
    match req.body {
        Some(request::Body::Scsi(scsi)) => match execute_scsi(library, scsi) {
            Ok(r) => Response {
                body: Some(response::Body::Scsi(r)),
            },
            Err(e) => e,
        },
        Some(request::Body::Control(ctl)) => match control(library, ctl) {
            Ok(r) => Response {
                body: Some(response::Body::Control(r)),
            },
            Err(e) => e,
        },
        None => Response::error(ErrorKind::Malformed, "request without a body"),
    }
}

fn execute_scsi(library: &Library, req: ScsiRequest) -> Result<ScsiResponse, Response> {
    let view = ScsiRequestRef {
        device: &req.device,
        cdb: &req.cdb,
        direction: req.direction,
        data_out: &req.data_out,
        allocation_length: req.allocation_length,
        timeout_ms: req.timeout_ms,
    };
    let mut data_in = Vec::new();
    let (mut resp, n) = execute_scsi_ref(library, &view, &mut data_in)?;
    data_in.truncate(n);
    resp.data_in = data_in;
    Ok(resp)
}

/// Carries out one SCSI request. Data-in lands in `data_in` (grown as needed, never shrunk);
/// returns the response without its data and the number of bytes of `data_in` to send.
fn execute_scsi_ref(
    library: &Library,
    req: &ScsiRequestRef<'_>,
    data_in: &mut Vec<u8>,
) -> Result<(ScsiResponse, usize), Response> {
    let direction = req
        .validate()
        .map_err(|e| Response::error(ErrorKind::Malformed, e.to_string()))?;
    let start = Instant::now();
    let phase = match direction {
        Direction::None => DataPhase::None,
        Direction::Out => DataPhase::Out(req.data_out),
        Direction::In => {
            let alloc = req.allocation_length as usize;
            if data_in.len() < alloc {
                data_in.resize(alloc, 0);
            }
            // Only the `transferred` bytes the device wrote are sent back; what lies beyond
            // them in the reused buffer never leaves the server.
            DataPhase::In(data_in.get_mut(..alloc).unwrap_or_default())
        }
    };
    let offered = phase.len();
    let completion = library
        .execute(req.device, req.cdb, phase)
        .map_err(|e| Response::error(ErrorKind::UnknownDevice, e.to_string()))?;
    let transferred = completion.transferred.min(offered);
    let duration = completion.duration.unwrap_or_else(|| start.elapsed());
    let resp = ScsiResponse {
        status: u32::from(completion.status.0),
        sense: completion.sense,
        data_in: Vec::new(),
        residual: u32::try_from(offered - transferred).unwrap_or(u32::MAX),
        transferred: u32::try_from(transferred).unwrap_or(u32::MAX),
        duration_us: u64::try_from(duration.as_micros()).unwrap_or(u64::MAX),
    };
    let sent = if direction == Direction::In {
        transferred
    } else {
        0
    };
    Ok((resp, sent))
}

fn refused(e: impl std::fmt::Display) -> Response {
    Response::error(ErrorKind::Refused, e.to_string())
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, Response> {
    serde_json::to_string(value).map_err(|e| Response::error(ErrorKind::Internal, e.to_string()))
}

fn done(message: impl Into<String>) -> ControlResponse {
    ControlResponse {
        message: message.into(),
        json: String::new(),
    }
}

fn control(library: &Library, req: ControlRequest) -> Result<ControlResponse, Response> {
    let Some(op) = req.op else {
        return Err(Response::error(
            ErrorKind::Malformed,
            "control request without an operation",
        ));
    };
    match op {
        Op::Insert(ins) => {
            let addr = match ins.ie_address {
                Some(a) => Some(u16::try_from(a).map_err(|_| {
                    Response::error(ErrorKind::Malformed, format!("element address {a}"))
                })?),
                None => None,
            };
            let at = library
                .operator_insert(&ins.barcode, addr)
                .map_err(refused)?;
            Ok(ControlResponse {
                message: format!("inserted {} into I/E element {at}", ins.barcode),
                json: json(&at)?,
            })
        }
        Op::Remove(rm) => {
            let addr = u16::try_from(rm.ie_address).map_err(|_| {
                Response::error(
                    ErrorKind::Malformed,
                    format!("element address {}", rm.ie_address),
                )
            })?;
            let barcode = library.operator_remove(addr).map_err(refused)?;
            Ok(ControlResponse {
                message: format!("removed {barcode} from I/E element {addr}"),
                json: json(&barcode)?,
            })
        }
        Op::InjectFault(f) => {
            let spec: FaultSpec = serde_json::from_str(&f.spec_json)
                .map_err(|e| Response::error(ErrorKind::Malformed, format!("fault: {e}")))?;
            library.inject_fault(spec.clone()).map_err(refused)?;
            Ok(done(format!("fault injected: {spec:?}")))
        }
        Op::ClearFaults(_) => {
            library.clear_faults();
            Ok(done("faults cleared"))
        }
        Op::Stats(_) => Ok(ControlResponse {
            message: String::new(),
            json: json(&library.stats())?,
        }),
        Op::Contents(_) => Ok(ControlResponse {
            message: String::new(),
            json: json(&library.contents())?,
        }),
        Op::DeviceNames(_) => Ok(ControlResponse {
            message: String::new(),
            json: json(&library.device_names())?,
        }),
        Op::ExportImage(x) => {
            library
                .export_cartridge_image(&x.barcode, Path::new(&x.out_dir))
                .map_err(refused)?;
            Ok(done(format!("exported {} to {}", x.barcode, x.out_dir)))
        }
        Op::ImportImage(x) => {
            library
                .import_cartridge_image(
                    Path::new(&x.src_dir),
                    &x.barcode,
                    x.write_protected,
                    x.capacity_bytes,
                )
                .map_err(refused)?;
            Ok(done(format!("imported {} from {}", x.barcode, x.src_dir)))
        }
    }
}
