//! Clients of the simulator socket: [`SimSocketTransport`] (SCSI commands for one device) and
//! [`SimControlClient`] (the operator side, as `tapelib-sim ctl` uses it).

use std::io::BufReader;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tapelib_scsi::transport::{Completion, DataPhase, ScsiStatus, ScsiTransport, TransportError};

use crate::config::FaultSpec;
use crate::library::LibraryContents;
use crate::protocol::{
    self, control_request::Op, request, response, ControlRequest, ControlResponse, Direction,
    Empty, ExportImageRequest, FaultRequest, ImportImageRequest, InsertRequest, RemoveRequest,
    Request, Response, ScsiRequestRef, ScsiResponse, ScsiResponseRef,
};
use crate::server::SOCKET_NAME;
use crate::stats::LibraryStats;

/// Resolves a state directory or a socket path to the socket path.
pub fn resolve_socket(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join(SOCKET_NAME)
    } else {
        path.to_path_buf()
    }
}

/// One connection to the server, with the buffers it reuses for every exchange.
struct Connection {
    reader: BufReader<UnixStream>,
    /// Frames go out whole, in one `writev` each: no buffering layer on the write side.
    writer: UnixStream,
    /// Encoded request header (and whole control requests).
    out: Vec<u8>,
    /// Payload of the last response.
    frame: Vec<u8>,
}

impl Connection {
    fn open(socket: &Path) -> Result<Connection, TransportError> {
        let stream = UnixStream::connect(socket).map_err(|e| {
            TransportError::Connection(format!("cannot connect to {}: {e}", socket.display()))
        })?;
        crate::server::tune_socket(&stream);
        let write_half = stream.try_clone().map_err(|e| {
            TransportError::Connection(format!("cannot clone socket {}: {e}", socket.display()))
        })?;
        Ok(Connection {
            reader: BufReader::with_capacity(crate::server::READ_BUFFER, stream),
            writer: write_half,
            out: Vec::new(),
            frame: Vec::new(),
        })
    }
}

/// Why one exchange failed, and whether the request can be sent again.
enum ExchangeError {
    /// The request could not be sent (the server restarted since the last one): it never
    /// reached a server, so a fresh connection may send it.
    Stale(String),
    Fatal(String),
}

/// A persistent connection that reconnects once when the server restarted.
struct Link {
    socket: PathBuf,
    conn: Option<Connection>,
}

impl Link {
    fn new(socket: PathBuf) -> Result<Link, TransportError> {
        let conn = Some(Connection::open(&socket)?);
        Ok(Link { socket, conn })
    }

    /// Sends `req` and hands the response payload to `parse`.
    fn exchange<R>(
        &mut self,
        req: Outgoing<'_>,
        mut parse: impl FnMut(&[u8]) -> Result<R, String>,
    ) -> Result<R, TransportError> {
        let mut last = String::new();
        for attempt in 0..2 {
            if self.conn.is_none() {
                self.conn = Some(Connection::open(&self.socket)?);
            }
            let Some(conn) = self.conn.as_mut() else {
                continue;
            };
            match exchange_once(conn, req, &mut parse) {
                Ok(r) => return r.map_err(TransportError::Connection),
                Err(ExchangeError::Stale(m)) => {
                    tracing::debug!(socket = %self.socket.display(), attempt, error = %m,
                        "simulator connection lost; reconnecting");
                    self.conn = None;
                    last = m;
                }
                Err(ExchangeError::Fatal(m)) => {
                    self.conn = None;
                    return Err(TransportError::Connection(format!(
                        "{}: {m}",
                        self.socket.display()
                    )));
                }
            }
        }
        Err(TransportError::Connection(format!(
            "{}: {last} (after reconnecting)",
            self.socket.display()
        )))
    }
}

/// What goes out: a whole message, or a SCSI request whose data-out is sent from the caller's
/// buffer without an intermediate copy.
#[derive(Clone, Copy)]
enum Outgoing<'a> {
    Message(&'a Request),
    Scsi(&'a ScsiRequestRef<'a>),
}

fn exchange_once<R>(
    conn: &mut Connection,
    req: Outgoing<'_>,
    parse: &mut impl FnMut(&[u8]) -> Result<R, String>,
) -> Result<Result<R, String>, ExchangeError> {
    match req {
        Outgoing::Message(m) => protocol::write_frame(&mut conn.writer, m, &mut conn.out),
        Outgoing::Scsi(r) => protocol::write_scsi_request_ref(&mut conn.writer, r, &mut conn.out),
    }
    .map_err(|e| ExchangeError::Stale(format!("sending: {e}")))?;
    // Once the request went out, the server may have carried it out: never send it twice.
    match protocol::read_frame(&mut conn.reader, &mut conn.frame) {
        Ok(true) => {}
        Ok(false) => {
            return Err(ExchangeError::Fatal(
                "server closed the connection before answering".into(),
            ))
        }
        Err(e) => return Err(ExchangeError::Fatal(format!("receiving: {e}"))),
    }
    // The frame arrived whole, so the stream stays in step whatever `parse` thinks of it.
    let r = parse(&conn.frame);
    // A huge transfer must not pin its buffer for the connection's life.
    if conn.frame.capacity() > RETAINED_BUFFER {
        conn.frame = Vec::new();
    }
    Ok(r)
}

/// Largest response buffer a connection keeps between exchanges.
const RETAINED_BUFFER: usize = 16 * 1024 * 1024;

fn decode_message(frame: &[u8]) -> Result<Response, String> {
    protocol::decode_response(frame).map_err(|e| e.to_string())
}

/// [`ScsiTransport`] to one device of a simulator served over its Unix socket.
pub struct SimSocketTransport {
    link: Link,
    device: String,
}

impl SimSocketTransport {
    /// Connects to `path` (a state directory or the socket itself) for `device`.
    pub fn connect(path: impl AsRef<Path>, device: &str) -> Result<Self, TransportError> {
        Ok(SimSocketTransport {
            link: Link::new(resolve_socket(path.as_ref()))?,
            device: device.to_owned(),
        })
    }

    pub fn device(&self) -> &str {
        &self.device
    }
}

impl ScsiTransport for SimSocketTransport {
    fn execute(
        &mut self,
        cdb: &[u8],
        data: DataPhase<'_>,
        timeout: Duration,
    ) -> Result<Completion, TransportError> {
        if cdb.is_empty() || cdb.len() > 260 {
            return Err(TransportError::InvalidCdb(cdb.len()));
        }
        let offered = data.len();
        if offered > protocol::MAX_DATA {
            return Err(TransportError::Connection(format!(
                "data phase of {offered} bytes exceeds the protocol limit of {}",
                protocol::MAX_DATA
            )));
        }
        let (direction, allocation_length) = match &data {
            DataPhase::None => (Direction::None, 0),
            DataPhase::Out(_) => (Direction::Out, 0),
            DataPhase::In(b) => (Direction::In, b.len() as u32),
        };
        let data_out: &[u8] = match &data {
            DataPhase::Out(b) => b,
            _ => &[],
        };
        // Borrowed fields: nothing is allocated to send a command.
        let req = ScsiRequestRef {
            device: &self.device,
            cdb,
            direction: direction as i32,
            data_out,
            allocation_length,
            timeout_ms: u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX),
        };
        let device = &self.device;
        let mut data = data;
        self.link.exchange(Outgoing::Scsi(&req), |frame| {
            match ScsiResponseRef::decode(frame).map_err(|e| e.to_string())? {
                // The hot path: data-in copied once, from the frame into the caller's buffer.
                Some(r) => completion(&r, &mut data, offered),
                None => {
                    let resp = decode_message(frame)?;
                    let r = scsi_response(resp, device, cdb)?;
                    let view = ScsiResponseRef {
                        status: r.status,
                        sense: &r.sense,
                        data_in: &r.data_in,
                        residual: r.residual,
                        transferred: r.transferred,
                        duration_us: r.duration_us,
                    };
                    completion(&view, &mut data, offered)
                }
            }
        })
    }
}

fn scsi_response(resp: Response, device: &str, cdb: &[u8]) -> Result<ScsiResponse, String> {
    let opcode = cdb.first().copied().unwrap_or(0);
    match resp.body {
        Some(response::Body::Scsi(r)) => Ok(r),
        Some(response::Body::Error(e)) => Err(format!(
            "{device}: opcode 0x{opcode:02x} refused by the simulator: {}",
            e.message
        )),
        _ => Err(format!(
            "{device}: opcode 0x{opcode:02x}: unexpected response from the simulator"
        )),
    }
}

fn completion(
    r: &ScsiResponseRef<'_>,
    data: &mut DataPhase<'_>,
    offered: usize,
) -> Result<Completion, String> {
    let status = u8::try_from(r.status)
        .map_err(|_| format!("simulator sent status {} (not a byte)", r.status))?;
    let transferred = match data {
        DataPhase::In(buf) => {
            let Some(dst) = buf.get_mut(..r.data_in.len()) else {
                return Err(format!(
                    "simulator returned {} bytes for an allocation of {}",
                    r.data_in.len(),
                    buf.len()
                ));
            };
            dst.copy_from_slice(r.data_in);
            r.data_in.len()
        }
        DataPhase::Out(_) => (r.transferred as usize).min(offered),
        DataPhase::None => 0,
    };
    Ok(Completion {
        status: ScsiStatus(status),
        sense: r.sense.to_vec(),
        transferred,
        residual: offered - transferred,
        duration: (r.duration_us > 0).then(|| Duration::from_micros(r.duration_us)),
    })
}

/// Failures of an operator request.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The simulator refused or could not carry out the request.
    #[error("simulator: {0}")]
    Refused(String),
    #[error("undecodable result from the simulator: {0}")]
    Decode(String),
}

/// The operator side of a served simulator (`tapelib-sim ctl`).
pub struct SimControlClient {
    link: Link,
}

impl SimControlClient {
    /// Connects to `path` (a state directory or the socket itself).
    pub fn connect(path: impl AsRef<Path>) -> Result<Self, ControlError> {
        Ok(SimControlClient {
            link: Link::new(resolve_socket(path.as_ref()))?,
        })
    }

    /// Sends one control operation and returns the server's answer.
    pub fn call(&mut self, op: Op) -> Result<ControlResponse, ControlError> {
        let req = Request {
            body: Some(request::Body::Control(ControlRequest { op: Some(op) })),
        };
        match self
            .link
            .exchange(Outgoing::Message(&req), decode_message)?
            .body
        {
            Some(response::Body::Control(r)) => Ok(r),
            Some(response::Body::Error(e)) => Err(ControlError::Refused(e.message)),
            _ => Err(ControlError::Decode("unexpected response kind".into())),
        }
    }

    fn call_json<T: serde::de::DeserializeOwned>(&mut self, op: Op) -> Result<T, ControlError> {
        let r = self.call(op)?;
        serde_json::from_str(&r.json).map_err(|e| ControlError::Decode(e.to_string()))
    }

    /// Puts a cartridge into an I/E element; returns the element address used.
    pub fn insert(&mut self, barcode: &str, ie_address: Option<u16>) -> Result<u16, ControlError> {
        self.call_json(Op::Insert(InsertRequest {
            barcode: barcode.to_owned(),
            ie_address: ie_address.map(u32::from),
        }))
    }

    /// Takes the cartridge out of an I/E element; returns its barcode.
    pub fn remove(&mut self, ie_address: u16) -> Result<String, ControlError> {
        self.call_json(Op::Remove(RemoveRequest {
            ie_address: u32::from(ie_address),
        }))
    }

    pub fn inject_fault(&mut self, spec: &FaultSpec) -> Result<(), ControlError> {
        let spec_json =
            serde_json::to_string(spec).map_err(|e| ControlError::Decode(e.to_string()))?;
        self.call(Op::InjectFault(FaultRequest { spec_json }))
            .map(|_| ())
    }

    pub fn clear_faults(&mut self) -> Result<(), ControlError> {
        self.call(Op::ClearFaults(Empty {})).map(|_| ())
    }

    pub fn stats(&mut self) -> Result<LibraryStats, ControlError> {
        self.call_json(Op::Stats(Empty {}))
    }

    /// Every element and what it holds.
    pub fn contents(&mut self) -> Result<LibraryContents, ControlError> {
        self.call_json(Op::Contents(Empty {}))
    }

    pub fn device_names(&mut self) -> Result<Vec<String>, ControlError> {
        self.call_json(Op::DeviceNames(Empty {}))
    }

    /// Exports a cartridge's image to `out_dir` (a path on the server's host).
    pub fn export_image(&mut self, barcode: &str, out_dir: &Path) -> Result<(), ControlError> {
        self.call(Op::ExportImage(ExportImageRequest {
            barcode: barcode.to_owned(),
            out_dir: out_dir.display().to_string(),
        }))
        .map(|_| ())
    }

    /// Imports an image from `src_dir` (a path on the server's host) as cartridge `barcode`.
    pub fn import_image(
        &mut self,
        src_dir: &Path,
        barcode: &str,
        write_protected: bool,
        capacity_bytes: Option<u64>,
    ) -> Result<(), ControlError> {
        self.call(Op::ImportImage(ImportImageRequest {
            src_dir: src_dir.display().to_string(),
            barcode: barcode.to_owned(),
            write_protected,
            capacity_bytes,
        }))
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(data_in: &[u8], status: u32, transferred: u32) -> ScsiResponseRef<'_> {
        ScsiResponseRef {
            status,
            sense: &[],
            data_in,
            residual: 0,
            transferred,
            duration_us: 1500,
        }
    }

    #[test]
    fn completion_copies_data_in_and_computes_residual() {
        let mut buf = [0u8; 8];
        let c = completion(&resp(&[1, 2, 3], 0, 3), &mut DataPhase::In(&mut buf), 8).unwrap();
        assert_eq!((c.transferred, c.residual), (3, 5));
        assert_eq!(c.duration, Some(Duration::from_micros(1500)));
        assert_eq!(&buf[..4], &[1, 2, 3, 0]);
        let data = [0u8; 10];
        let c = completion(&resp(&[], 2, 4), &mut DataPhase::Out(&data), 10).unwrap();
        assert_eq!((c.transferred, c.residual), (4, 6));
        assert_eq!(c.status, ScsiStatus::CHECK_CONDITION);
    }

    #[test]
    fn hostile_responses_are_connection_errors() {
        let mut buf = [0u8; 2];
        assert!(completion(&resp(&[1, 2, 3], 0, 3), &mut DataPhase::In(&mut buf), 2).is_err());
        assert!(completion(&resp(&[], 0x1ff, 0), &mut DataPhase::None, 0).is_err());
        let err = scsi_response(Response::default(), "drive0", &[0x12]).unwrap_err();
        assert!(err.to_string().contains("opcode 0x12"), "{err}");
    }
}
