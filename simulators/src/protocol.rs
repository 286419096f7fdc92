//! The simulator's socket protocol: length-prefixed protobuf frames over a Unix stream socket.
//!
//! A frame is a 4-byte big-endian payload length followed by one prost-encoded message: the
//! client sends a [`Request`], the server answers with one [`Response`] per request, in order.
//! Payloads are bounded by [`MAX_PAYLOAD`] so a hostile length prefix cannot make either side
//! allocate without limit.
//!
//! This file depends only on `std` and `prost`: the SG_IO interposer (`libtapelib_sgshim.so`)
//! compiles it as its own module so both ends share one definition.

use std::fmt;
use std::io::{self, Read, Write};

/// Largest data phase carried in one frame (64 MiB).
pub const MAX_DATA: usize = 64 * 1024 * 1024;
/// Largest payload of one frame: the data phase plus room for the other fields.
pub const MAX_PAYLOAD: usize = MAX_DATA + 64 * 1024;
/// Length of the frame header (the big-endian payload length).
pub const FRAME_HEADER_LEN: usize = 4;

/// One request from a client.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Request {
    #[prost(oneof = "request::Body", tags = "1, 2")]
    pub body: Option<request::Body>,
}

pub mod request {
    /// What the client asks for.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Body {
        #[prost(message, tag = "1")]
        Scsi(super::ScsiRequest),
        #[prost(message, tag = "2")]
        Control(super::ControlRequest),
    }
}

/// Direction of a command's data phase, as SG_IO's `dxfer_direction` distinguishes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum Direction {
    None = 0,
    /// Device to host.
    In = 1,
    /// Host to device.
    Out = 2,
}

/// One CDB for one device, with its data phase.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ScsiRequest {
    /// Device name: `changer0`, `drive0`, ...
    #[prost(string, tag = "1")]
    pub device: String,
    #[prost(bytes = "vec", tag = "2")]
    pub cdb: Vec<u8>,
    #[prost(enumeration = "Direction", tag = "3")]
    pub direction: i32,
    /// Data sent to the device (direction `Out`).
    #[prost(bytes = "vec", tag = "4")]
    pub data_out: Vec<u8>,
    /// Bytes the host offers to receive (direction `In`).
    #[prost(uint32, tag = "5")]
    pub allocation_length: u32,
    #[prost(uint32, tag = "6")]
    pub timeout_ms: u32,
}

/// How a CDB completed. A transport failure is an [`ErrorResponse`] instead.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ScsiResponse {
    /// SCSI status byte (SAM-5 5.3).
    #[prost(uint32, tag = "1")]
    pub status: u32,
    #[prost(bytes = "vec", tag = "2")]
    pub sense: Vec<u8>,
    /// Data returned by the device; its length is the number of bytes transferred in.
    #[prost(bytes = "vec", tag = "3")]
    pub data_in: Vec<u8>,
    /// Bytes offered but not transferred.
    #[prost(uint32, tag = "4")]
    pub residual: u32,
    /// Bytes transferred (for `Out`, how many the device consumed).
    #[prost(uint32, tag = "5")]
    pub transferred: u32,
    /// Time the device took, in microseconds; 0 when unknown.
    #[prost(uint64, tag = "6")]
    pub duration_us: u64,
}

/// An operator-side request (the `tapelib-sim ctl` commands).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ControlRequest {
    #[prost(oneof = "control_request::Op", tags = "1, 2, 3, 4, 5, 6, 7, 8, 9")]
    pub op: Option<control_request::Op>,
}

pub mod control_request {
    /// The operator action.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Op {
        #[prost(message, tag = "1")]
        Insert(super::InsertRequest),
        #[prost(message, tag = "2")]
        Remove(super::RemoveRequest),
        #[prost(message, tag = "3")]
        InjectFault(super::FaultRequest),
        #[prost(message, tag = "4")]
        ClearFaults(super::Empty),
        #[prost(message, tag = "5")]
        Stats(super::Empty),
        #[prost(message, tag = "6")]
        Contents(super::Empty),
        #[prost(message, tag = "7")]
        ExportImage(super::ExportImageRequest),
        #[prost(message, tag = "8")]
        ImportImage(super::ImportImageRequest),
        #[prost(message, tag = "9")]
        DeviceNames(super::Empty),
    }
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Empty {}

/// Put a cartridge into an import/export slot (the first free one when no address is given).
#[derive(Clone, PartialEq, prost::Message)]
pub struct InsertRequest {
    #[prost(string, tag = "1")]
    pub barcode: String,
    #[prost(uint32, optional, tag = "2")]
    pub ie_address: Option<u32>,
}

/// Take the cartridge out of an import/export slot.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RemoveRequest {
    #[prost(uint32, tag = "1")]
    pub ie_address: u32,
}

/// A fault to inject, as the JSON form of the library's fault specification.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FaultRequest {
    #[prost(string, tag = "1")]
    pub spec_json: String,
}

/// Export a cartridge's tape image in the reference file-backend layout.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExportImageRequest {
    #[prost(string, tag = "1")]
    pub barcode: String,
    /// Directory on the server's host.
    #[prost(string, tag = "2")]
    pub out_dir: String,
}

/// Import a tape image (reference file-backend layout) as a new cartridge.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ImportImageRequest {
    /// Directory on the server's host.
    #[prost(string, tag = "1")]
    pub src_dir: String,
    #[prost(string, tag = "2")]
    pub barcode: String,
    #[prost(bool, tag = "3")]
    pub write_protected: bool,
    #[prost(uint64, optional, tag = "4")]
    pub capacity_bytes: Option<u64>,
}

/// The answer to a control request: a short message and, where there is a result, its JSON.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ControlResponse {
    #[prost(string, tag = "1")]
    pub message: String,
    #[prost(string, tag = "2")]
    pub json: String,
}

/// The request could not be carried out (unknown device, malformed request, operator error).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ErrorResponse {
    #[prost(enumeration = "ErrorKind", tag = "1")]
    pub kind: i32,
    #[prost(string, tag = "2")]
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum ErrorKind {
    Internal = 0,
    /// The frame or message could not be decoded or is inconsistent.
    Malformed = 1,
    UnknownDevice = 2,
    /// The library refused an operator action.
    Refused = 3,
}

/// One response from the server.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Response {
    #[prost(oneof = "response::Body", tags = "1, 2, 3")]
    pub body: Option<response::Body>,
}

pub mod response {
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Body {
        #[prost(message, tag = "1")]
        Scsi(super::ScsiResponse),
        #[prost(message, tag = "2")]
        Control(super::ControlResponse),
        #[prost(message, tag = "3")]
        Error(super::ErrorResponse),
    }
}

impl Response {
    pub fn error(kind: ErrorKind, message: impl Into<String>) -> Response {
        Response {
            body: Some(response::Body::Error(ErrorResponse {
                kind: kind as i32,
                message: message.into(),
            })),
        }
    }
}

/// Why a frame could not be read or decoded.
#[derive(Debug)]
pub enum ProtocolError {
    Io(io::Error),
    /// The length prefix announces more than [`MAX_PAYLOAD`] bytes.
    FrameTooLarge(u64),
    /// The stream ended inside a frame.
    Truncated {
        expected: usize,
        got: usize,
    },
    Decode(prost::DecodeError),
    /// The message decoded but is inconsistent (missing body, bad direction, oversize data...).
    Invalid(String),
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::Io(e) => write!(f, "socket I/O: {e}"),
            ProtocolError::FrameTooLarge(n) => {
                write!(f, "frame of {n} bytes exceeds the limit of {MAX_PAYLOAD}")
            }
            ProtocolError::Truncated { expected, got } => {
                write!(f, "stream ended inside a frame ({got} of {expected} bytes)")
            }
            ProtocolError::Decode(e) => write!(f, "undecodable message: {e}"),
            ProtocolError::Invalid(m) => write!(f, "invalid message: {m}"),
        }
    }
}

impl std::error::Error for ProtocolError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ProtocolError::Io(e) => Some(e),
            ProtocolError::Decode(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for ProtocolError {
    fn from(e: io::Error) -> Self {
        ProtocolError::Io(e)
    }
}

impl From<prost::DecodeError> for ProtocolError {
    fn from(e: prost::DecodeError) -> Self {
        ProtocolError::Decode(e)
    }
}

/// Parses a frame header; errors when the announced length exceeds [`MAX_PAYLOAD`].
pub fn parse_header(header: [u8; FRAME_HEADER_LEN]) -> Result<usize, ProtocolError> {
    let len = u32::from_be_bytes(header);
    let len = usize::try_from(len).map_err(|_| ProtocolError::FrameTooLarge(u64::from(len)))?;
    if len > MAX_PAYLOAD {
        return Err(ProtocolError::FrameTooLarge(len as u64));
    }
    Ok(len)
}

/// Reads one frame's payload into `buf` (replacing its contents).
///
/// Returns `Ok(false)` on a clean end of stream before the first header byte.
pub fn read_frame<R: Read>(reader: &mut R, buf: &mut Vec<u8>) -> Result<bool, ProtocolError> {
    let mut header = [0u8; FRAME_HEADER_LEN];
    let got = read_full(reader, &mut header)?;
    if got == 0 {
        return Ok(false);
    }
    if got < FRAME_HEADER_LEN {
        return Err(ProtocolError::Truncated {
            expected: FRAME_HEADER_LEN,
            got,
        });
    }
    let len = parse_header(header)?;
    // Reuse the buffer without zeroing what `read_full` overwrites anyway.
    if buf.len() < len {
        buf.resize(len, 0);
    } else {
        buf.truncate(len);
    }
    let got = read_full(reader, buf)?;
    if got < len {
        return Err(ProtocolError::Truncated { expected: len, got });
    }
    Ok(true)
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
fn read_full<R: Read>(reader: &mut R, buf: &mut [u8]) -> Result<usize, ProtocolError> {
    let mut done = 0;
    while done < buf.len() {
        let rest = buf.get_mut(done..).unwrap_or_default();
        match reader.read(rest) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ProtocolError::Io(e)),
        }
    }
    Ok(done)
}

/// Encodes `msg` as one frame (header and payload) into `out`, replacing its contents.
pub fn encode_frame<M: prost::Message>(msg: &M, out: &mut Vec<u8>) -> Result<(), ProtocolError> {
    let len = msg.encoded_len();
    if len > MAX_PAYLOAD {
        return Err(ProtocolError::FrameTooLarge(len as u64));
    }
    out.clear();
    out.reserve(FRAME_HEADER_LEN + len);
    // `len` fits in u32: MAX_PAYLOAD is far below u32::MAX.
    out.extend_from_slice(&(len as u32).to_be_bytes());
    msg.encode(out)
        .map_err(|e| ProtocolError::Invalid(format!("encoding failed: {e}")))?;
    Ok(())
}

/// Writes `msg` as one frame, using `scratch` as the encoding buffer.
pub fn write_frame<W: Write, M: prost::Message>(
    writer: &mut W,
    msg: &M,
    scratch: &mut Vec<u8>,
) -> Result<(), ProtocolError> {
    encode_frame(msg, scratch)?;
    writer.write_all(scratch)?;
    Ok(())
}

/// Writes a SCSI response wrapped in a [`Response`] as one frame, sending `data_in` straight from
/// its buffer instead of copying it into `scratch` (protobuf fields may come in any order, so the
/// data field goes last).
pub fn write_scsi_response<W: Write>(
    writer: &mut W,
    mut resp: ScsiResponse,
    scratch: &mut Vec<u8>,
) -> Result<(), ProtocolError> {
    let data = std::mem::take(&mut resp.data_in);
    write_scsi_response_with(writer, &resp, &data, scratch)
}

/// Like [`write_scsi_response`], with the data-in beside the response (whose `data_in` must be
/// empty), e.g. in a buffer the connection reuses.
pub fn write_scsi_response_with<W: Write>(
    writer: &mut W,
    resp: &ScsiResponse,
    data: &[u8],
    scratch: &mut Vec<u8>,
) -> Result<(), ProtocolError> {
    if !resp.data_in.is_empty() {
        return Err(ProtocolError::Invalid(
            "data-in given twice (in the response and beside it)".into(),
        ));
    }
    // Response.body = scsi (field 1); ScsiResponse.data_in is field 3.
    write_with_bytes_field(writer, resp, 3, data, scratch)
}

/// Writes a SCSI request wrapped in a [`Request`] as one frame, with `data_out` sent straight
/// from the caller's buffer (it replaces `req.data_out`, which should be empty).
pub fn write_scsi_request<W: Write>(
    writer: &mut W,
    req: &ScsiRequest,
    data_out: &[u8],
    scratch: &mut Vec<u8>,
) -> Result<(), ProtocolError> {
    if !req.data_out.is_empty() {
        return Err(ProtocolError::Invalid(
            "data-out given twice (in the request and beside it)".into(),
        ));
    }
    // Request.body = scsi (field 1); ScsiRequest.data_out is field 4.
    write_with_bytes_field(writer, req, 4, data_out, scratch)
}

/// One frame holding `msg` as field 1 of the envelope, followed by `data` as the bytes field
/// `tag` of `msg`, appended after the encoded message (protobuf allows fields in any order)
/// and written from the caller's buffer without a copy.
fn write_with_bytes_field<W: Write, M: prost::Message>(
    writer: &mut W,
    msg: &M,
    tag: u32,
    data: &[u8],
    scratch: &mut Vec<u8>,
) -> Result<(), ProtocolError> {
    use prost::encoding::{encode_key, encode_varint, encoded_len_varint, WireType};
    let data_field = if data.is_empty() {
        0
    } else {
        1 + encoded_len_varint(data.len() as u64) + data.len()
    };
    let inner = msg.encoded_len() + data_field;
    let outer = 1 + encoded_len_varint(inner as u64) + inner;
    if outer > MAX_PAYLOAD {
        return Err(ProtocolError::FrameTooLarge(outer as u64));
    }
    scratch.clear();
    scratch.extend_from_slice(&(outer as u32).to_be_bytes());
    encode_key(1, WireType::LengthDelimited, scratch);
    encode_varint(inner as u64, scratch);
    msg.encode(scratch)
        .map_err(|e| ProtocolError::Invalid(format!("encoding failed: {e}")))?;
    if !data.is_empty() {
        encode_key(tag, WireType::LengthDelimited, scratch);
        encode_varint(data.len() as u64, scratch);
    }
    write_two(writer, scratch, data)?;
    Ok(())
}

/// Writes a SCSI request from borrowed fields as one frame, exactly as
/// [`write_scsi_request`] encodes the owned message (fields in tag order, proto3 defaults
/// left out), without building a [`ScsiRequest`] first.
pub fn write_scsi_request_ref<W: Write>(
    writer: &mut W,
    req: &ScsiRequestRef<'_>,
    scratch: &mut Vec<u8>,
) -> Result<(), ProtocolError> {
    use prost::encoding::{encode_key, encode_varint, encoded_len_varint, WireType};
    fn bytes_len(b: &[u8]) -> usize {
        if b.is_empty() {
            0
        } else {
            1 + encoded_len_varint(b.len() as u64) + b.len()
        }
    }
    fn varint_len(v: u64) -> usize {
        if v == 0 {
            0
        } else {
            1 + encoded_len_varint(v)
        }
    }
    // A negative enum value goes out as a 10-byte varint, as prost sends it.
    let direction = i64::from(req.direction) as u64;
    let inner = bytes_len(req.device.as_bytes())
        + bytes_len(req.cdb)
        + varint_len(direction)
        + bytes_len(req.data_out)
        + varint_len(u64::from(req.allocation_length))
        + varint_len(u64::from(req.timeout_ms));
    let outer = 1 + encoded_len_varint(inner as u64) + inner;
    if outer > MAX_PAYLOAD {
        return Err(ProtocolError::FrameTooLarge(outer as u64));
    }
    scratch.clear();
    scratch.extend_from_slice(&(outer as u32).to_be_bytes());
    // Request.body = scsi (field 1), length-delimited.
    encode_key(1, WireType::LengthDelimited, scratch);
    encode_varint(inner as u64, scratch);
    for (tag, b) in [(1, req.device.as_bytes()), (2, req.cdb)] {
        if !b.is_empty() {
            encode_key(tag, WireType::LengthDelimited, scratch);
            encode_varint(b.len() as u64, scratch);
            scratch.extend_from_slice(b);
        }
    }
    if direction != 0 {
        encode_key(3, WireType::Varint, scratch);
        encode_varint(direction, scratch);
    }
    // The data-out field (4) goes last, sent from the caller's buffer; protobuf fields may
    // come in any order.
    for (tag, v) in [(5, req.allocation_length), (6, req.timeout_ms)] {
        if v != 0 {
            encode_key(tag, WireType::Varint, scratch);
            encode_varint(u64::from(v), scratch);
        }
    }
    if !req.data_out.is_empty() {
        encode_key(4, WireType::LengthDelimited, scratch);
        encode_varint(req.data_out.len() as u64, scratch);
    }
    write_two(writer, scratch, req.data_out)?;
    Ok(())
}

/// Decodes a request payload.
pub fn decode_request(payload: &[u8]) -> Result<Request, ProtocolError> {
    Ok(<Request as prost::Message>::decode(payload)?)
}

/// Decodes a response payload.
pub fn decode_response(payload: &[u8]) -> Result<Response, ProtocolError> {
    Ok(<Response as prost::Message>::decode(payload)?)
}

impl ScsiRequest {
    /// The data-phase direction, rejecting values outside the enumeration.
    pub fn checked_direction(&self) -> Result<Direction, ProtocolError> {
        Direction::try_from(self.direction)
            .map_err(|_| ProtocolError::Invalid(format!("direction {}", self.direction)))
    }

    /// Checks the fields a server relies on: CDB length, direction and data sizes.
    pub fn validate(&self) -> Result<Direction, ProtocolError> {
        validate_scsi(
            self.direction,
            self.cdb.len(),
            self.data_out.len(),
            self.allocation_length,
        )
    }
}

/// The checks of [`ScsiRequest::validate`], on the field values.
fn validate_scsi(
    direction: i32,
    cdb_len: usize,
    data_out_len: usize,
    allocation_length: u32,
) -> Result<Direction, ProtocolError> {
    let direction = Direction::try_from(direction)
        .map_err(|_| ProtocolError::Invalid(format!("direction {direction}")))?;
    if cdb_len == 0 || cdb_len > 260 {
        return Err(ProtocolError::Invalid(format!("CDB of {cdb_len} bytes")));
    }
    if data_out_len > MAX_DATA || allocation_length as usize > MAX_DATA {
        return Err(ProtocolError::Invalid(format!(
            "data phase of {} bytes exceeds {MAX_DATA}",
            data_out_len.max(allocation_length as usize)
        )));
    }
    match direction {
        Direction::Out if allocation_length != 0 && allocation_length as usize != data_out_len => {
            return Err(ProtocolError::Invalid(format!(
                "data-out of {data_out_len} bytes but allocation length {allocation_length}"
            )));
        }
        Direction::In | Direction::None if data_out_len != 0 => {
            return Err(ProtocolError::Invalid(
                "data-out bytes on a command without data-out phase".into(),
            ));
        }
        _ => {}
    }
    if direction == Direction::None && allocation_length != 0 {
        return Err(ProtocolError::Invalid(
            "allocation length on a command without data phase".into(),
        ));
    }
    Ok(direction)
}

// ---- borrowed decoding of the hot path ------------------------------------------------------
//
// Decoding a `ScsiRequest`/`ScsiResponse` with prost copies the data phase into a new `Vec`;
// these views point into the received frame instead, so a record crosses the socket with one
// copy on each side (into the device's or the caller's buffer).

/// One field of a protobuf message as it appears on the wire.
enum WireValue<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    /// Fixed 32/64-bit values: no field of the SCSI messages uses them; skipped.
    Fixed,
}

/// Iterates over the fields of an encoded message, borrowing length-delimited values.
struct WireFields<'a> {
    rest: &'a [u8],
}

impl<'a> WireFields<'a> {
    fn new(buf: &'a [u8]) -> Self {
        WireFields { rest: buf }
    }

    fn varint(&mut self) -> Result<u64, ProtocolError> {
        Ok(prost::encoding::decode_varint(&mut self.rest)?)
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], ProtocolError> {
        let n = usize::try_from(n)
            .map_err(|_| ProtocolError::Invalid(format!("field of {n} bytes")))?;
        if n > self.rest.len() {
            return Err(ProtocolError::Invalid(format!(
                "field of {n} bytes with {} left in the message",
                self.rest.len()
            )));
        }
        let (value, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(value)
    }

    /// The next `(tag, value)`, `None` at the end of the message.
    fn next_field(&mut self) -> Result<Option<(u32, WireValue<'a>)>, ProtocolError> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let tag = u32::try_from(key >> 3)
            .ok()
            .filter(|t| *t != 0)
            .ok_or_else(|| ProtocolError::Invalid(format!("field key {key}")))?;
        let value = match key & 0x7 {
            0 => WireValue::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                WireValue::Fixed
            }
            2 => {
                let n = self.varint()?;
                WireValue::Bytes(self.take(n)?)
            }
            5 => {
                self.take(4)?;
                WireValue::Fixed
            }
            w => {
                return Err(ProtocolError::Invalid(format!(
                    "wire type {w} (field {tag})"
                )))
            }
        };
        Ok(Some((tag, value)))
    }
}

/// The only occurrence of field 1 (the `scsi` body) of a `Request`/`Response`, `None` when the
/// body is something else or field 1 repeats (protobuf would merge the repeats; the full
/// decoder handles that rare case).
fn scsi_body(payload: &[u8]) -> Result<Option<&[u8]>, ProtocolError> {
    let mut fields = WireFields::new(payload);
    let mut body = None;
    let mut last_tag = 0;
    while let Some((tag, value)) = fields.next_field()? {
        if tag == 1 && body.is_some() {
            return Ok(None);
        }
        if let (1, WireValue::Bytes(b)) = (tag, &value) {
            body = Some(*b);
        }
        if matches!(tag, 1..=3) {
            last_tag = tag;
        }
    }
    Ok(if last_tag == 1 { body } else { None })
}

fn wire_str<'a>(b: &'a [u8], what: &str) -> Result<&'a str, ProtocolError> {
    std::str::from_utf8(b).map_err(|_| ProtocolError::Invalid(format!("{what} is not UTF-8")))
}

/// A SCSI request that borrows its CDB and data-out from the frame it was decoded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScsiRequestRef<'a> {
    pub device: &'a str,
    pub cdb: &'a [u8],
    pub direction: i32,
    pub data_out: &'a [u8],
    pub allocation_length: u32,
    pub timeout_ms: u32,
}

impl<'a> ScsiRequestRef<'a> {
    /// Decodes a `Request` payload whose body is a SCSI request; `Ok(None)` for any other
    /// body (decode those with [`decode_request`]).
    pub fn decode(payload: &'a [u8]) -> Result<Option<Self>, ProtocolError> {
        let Some(body) = scsi_body(payload)? else {
            return Ok(None);
        };
        let mut r = ScsiRequestRef::default();
        let mut fields = WireFields::new(body);
        while let Some((tag, value)) = fields.next_field()? {
            match (tag, value) {
                (1, WireValue::Bytes(b)) => r.device = wire_str(b, "device")?,
                (2, WireValue::Bytes(b)) => r.cdb = b,
                // Protobuf truncates over-long 32-bit varints; so does prost.
                (3, WireValue::Varint(v)) => r.direction = v as i32,
                (4, WireValue::Bytes(b)) => r.data_out = b,
                (5, WireValue::Varint(v)) => r.allocation_length = v as u32,
                (6, WireValue::Varint(v)) => r.timeout_ms = v as u32,
                (1..=6, _) => {
                    return Err(ProtocolError::Invalid(format!(
                        "ScsiRequest field {tag} with the wrong wire type"
                    )))
                }
                _ => {}
            }
        }
        Ok(Some(r))
    }

    /// The checks of [`ScsiRequest::validate`].
    pub fn validate(&self) -> Result<Direction, ProtocolError> {
        validate_scsi(
            self.direction,
            self.cdb.len(),
            self.data_out.len(),
            self.allocation_length,
        )
    }
}

/// A SCSI response that borrows its sense and data-in from the frame it was decoded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScsiResponseRef<'a> {
    pub status: u32,
    pub sense: &'a [u8],
    pub data_in: &'a [u8],
    pub residual: u32,
    pub transferred: u32,
    pub duration_us: u64,
}

impl<'a> ScsiResponseRef<'a> {
    /// Decodes a `Response` payload whose body is a SCSI response; `Ok(None)` for any other
    /// body (decode those with [`decode_response`]).
    pub fn decode(payload: &'a [u8]) -> Result<Option<Self>, ProtocolError> {
        let Some(body) = scsi_body(payload)? else {
            return Ok(None);
        };
        let mut r = ScsiResponseRef::default();
        let mut fields = WireFields::new(body);
        while let Some((tag, value)) = fields.next_field()? {
            match (tag, value) {
                (1, WireValue::Varint(v)) => r.status = v as u32,
                (2, WireValue::Bytes(b)) => r.sense = b,
                (3, WireValue::Bytes(b)) => r.data_in = b,
                (4, WireValue::Varint(v)) => r.residual = v as u32,
                (5, WireValue::Varint(v)) => r.transferred = v as u32,
                (6, WireValue::Varint(v)) => r.duration_us = v,
                (1..=6, _) => {
                    return Err(ProtocolError::Invalid(format!(
                        "ScsiResponse field {tag} with the wrong wire type"
                    )))
                }
                _ => {}
            }
        }
        Ok(Some(r))
    }
}

/// Writes `head` then `data` with as few `writev` calls as the socket allows (one, unless the
/// kernel takes a partial write), so a frame does not cost a system call per part.
pub fn write_two<W: Write>(writer: &mut W, head: &[u8], data: &[u8]) -> io::Result<()> {
    let (mut head, mut data) = (head, data);
    while !head.is_empty() || !data.is_empty() {
        let n = match writer.write_vectored(&[io::IoSlice::new(head), io::IoSlice::new(data)]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let from_head = n.min(head.len());
        head = head.get(from_head..).unwrap_or_default();
        data = data.get(n - from_head..).unwrap_or_default();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scsi(direction: Direction, data_out: Vec<u8>, alloc: u32) -> ScsiRequest {
        ScsiRequest {
            device: "drive0".into(),
            cdb: vec![0x00, 0, 0, 0, 0, 0],
            direction: direction as i32,
            data_out,
            allocation_length: alloc,
            timeout_ms: 1000,
        }
    }

    #[test]
    fn frame_round_trip() {
        let req = Request {
            body: Some(request::Body::Scsi(scsi(Direction::Out, vec![1, 2, 3], 3))),
        };
        let mut frame = Vec::new();
        encode_frame(&req, &mut frame).unwrap();
        let len = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
        assert_eq!(len + 4, frame.len());
        let mut buf = Vec::new();
        assert!(read_frame(&mut &frame[..], &mut buf).unwrap());
        assert_eq!(decode_request(&buf).unwrap(), req);
    }

    #[test]
    fn scsi_response_written_without_copy_decodes_identically() {
        for data_in in [vec![], vec![7u8; 3], vec![1u8; 300]] {
            let r = ScsiResponse {
                status: 2,
                sense: vec![0x70, 0, 5],
                data_in,
                residual: 9,
                transferred: 3,
                duration_us: 77,
            };
            let mut out = Vec::new();
            let mut scratch = Vec::new();
            write_scsi_response(&mut out, r.clone(), &mut scratch).unwrap();
            let mut expected = Vec::new();
            let whole = Response {
                body: Some(response::Body::Scsi(r)),
            };
            encode_frame(&whole, &mut expected).unwrap();
            assert_eq!(out.len(), expected.len());
            let mut buf = Vec::new();
            assert!(read_frame(&mut &out[..], &mut buf).unwrap());
            assert_eq!(decode_response(&buf).unwrap(), whole);
        }
    }

    #[test]
    fn scsi_request_written_without_copy_decodes_identically() {
        for data in [vec![], vec![9u8; 200]] {
            let mut req = scsi(Direction::Out, vec![], 0);
            let mut out = Vec::new();
            let mut scratch = Vec::new();
            write_scsi_request(&mut out, &req, &data, &mut scratch).unwrap();
            req.data_out = data;
            let mut buf = Vec::new();
            assert!(read_frame(&mut &out[..], &mut buf).unwrap());
            let whole = Request {
                body: Some(request::Body::Scsi(req.clone())),
            };
            assert_eq!(decode_request(&buf).unwrap(), whole);
            if !req.data_out.is_empty() {
                assert!(write_scsi_request(&mut out, &req, &[1], &mut scratch).is_err());
            }
        }
    }

    #[test]
    fn borrowed_views_match_the_full_decoder() {
        for (direction, data, alloc) in [
            (Direction::Out, vec![7u8; 300], 0),
            (Direction::In, Vec::new(), 4096),
            (Direction::None, Vec::new(), 0),
        ] {
            let req = scsi(direction, data.clone(), alloc);
            let mut owned = Vec::new();
            let mut blank = req.clone();
            blank.data_out.clear();
            write_scsi_request(&mut owned, &blank, &data, &mut Vec::new()).unwrap();
            let view = ScsiRequestRef::decode(&owned[FRAME_HEADER_LEN..])
                .unwrap()
                .unwrap();
            assert_eq!(view.device, req.device);
            assert_eq!(view.cdb, req.cdb.as_slice());
            assert_eq!(view.direction, req.direction);
            assert_eq!(view.data_out, data.as_slice());
            assert_eq!(view.allocation_length, req.allocation_length);
            assert_eq!(view.timeout_ms, req.timeout_ms);
            // Re-encoding the view gives a frame the full decoder reads as the same request.
            let mut again = Vec::new();
            write_scsi_request_ref(&mut again, &view, &mut Vec::new()).unwrap();
            let back = decode_request(&again[FRAME_HEADER_LEN..]).unwrap();
            assert_eq!(back.body, Some(request::Body::Scsi(req)));
        }
        let resp = ScsiResponse {
            status: 2,
            sense: vec![0x70, 0, 3],
            data_in: vec![9u8; 1000],
            residual: 24,
            transferred: 1000,
            duration_us: 17,
        };
        let mut framed = Vec::new();
        write_scsi_response(&mut framed, resp.clone(), &mut Vec::new()).unwrap();
        let view = ScsiResponseRef::decode(&framed[FRAME_HEADER_LEN..])
            .unwrap()
            .unwrap();
        assert_eq!(view.status, 2);
        assert_eq!(view.sense, resp.sense.as_slice());
        assert_eq!(view.data_in, resp.data_in.as_slice());
        assert_eq!(
            (view.residual, view.transferred, view.duration_us),
            (24, 1000, 17)
        );
        // Other bodies are left to the full decoder.
        let err = Response::error(ErrorKind::Refused, "no");
        let mut framed = Vec::new();
        write_frame(&mut framed, &err, &mut Vec::new()).unwrap();
        assert_eq!(
            ScsiResponseRef::decode(&framed[FRAME_HEADER_LEN..]).unwrap(),
            None
        );
    }

    #[test]
    fn vectored_writes_survive_partial_writes() {
        /// Takes at most 3 bytes per call, across slices.
        struct Trickle(Vec<u8>);
        impl Write for Trickle {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                let n = buf.len().min(3);
                self.0.extend_from_slice(&buf[..n]);
                Ok(n)
            }
            fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
                let mut n = 0;
                for b in bufs {
                    let take = b.len().min(3 - n);
                    self.0.extend_from_slice(&b[..take]);
                    n += take;
                }
                Ok(n)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut w = Trickle(Vec::new());
        write_two(&mut w, b"head", b"and the data").unwrap();
        assert_eq!(w.0, b"headand the data");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        #[test]
        fn borrowed_decoders_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
            let _ = ScsiRequestRef::decode(&bytes);
            let _ = ScsiResponseRef::decode(&bytes);
        }
    }

    #[test]
    fn empty_stream_is_clean_eof() {
        let mut buf = Vec::new();
        assert!(!read_frame(&mut &[][..], &mut buf).unwrap());
    }

    #[test]
    fn short_header_and_payload_are_truncated() {
        let mut buf = Vec::new();
        assert!(matches!(
            read_frame(&mut &[0u8, 0][..], &mut buf),
            Err(ProtocolError::Truncated {
                expected: 4,
                got: 2
            })
        ));
        assert!(matches!(
            read_frame(&mut &[0u8, 0, 0, 9, 1, 2][..], &mut buf),
            Err(ProtocolError::Truncated {
                expected: 9,
                got: 2
            })
        ));
    }

    #[test]
    fn oversize_header_is_refused_before_allocating() {
        let mut buf = Vec::new();
        assert!(matches!(
            read_frame(&mut &[0xffu8, 0xff, 0xff, 0xff][..], &mut buf),
            Err(ProtocolError::FrameTooLarge(0xffff_ffff))
        ));
        assert!(buf.capacity() < 1024);
        assert_eq!(
            parse_header((MAX_PAYLOAD as u32).to_be_bytes()).unwrap(),
            MAX_PAYLOAD
        );
        assert!(parse_header((MAX_PAYLOAD as u32 + 1).to_be_bytes()).is_err());
    }

    #[test]
    fn validate_checks_direction_and_sizes() {
        assert_eq!(
            scsi(Direction::None, vec![], 0).validate().unwrap(),
            Direction::None
        );
        assert_eq!(
            scsi(Direction::In, vec![], 0).validate().unwrap(),
            Direction::In
        );
        assert_eq!(
            scsi(Direction::Out, vec![], 0).validate().unwrap(),
            Direction::Out
        );
        assert!(scsi(Direction::Out, vec![1, 2], 3).validate().is_err());
        assert!(scsi(Direction::In, vec![1], 1).validate().is_err());
        assert!(scsi(Direction::None, vec![], 4).validate().is_err());
        let mut bad = scsi(Direction::In, vec![], 0);
        bad.direction = 7;
        assert!(bad.validate().is_err());
        bad = scsi(Direction::In, vec![], MAX_DATA as u32 + 1);
        assert!(bad.validate().is_err());
        bad = scsi(Direction::None, vec![], 0);
        bad.cdb.clear();
        assert!(bad.validate().is_err());
    }

    #[test]
    fn garbage_payload_is_a_decode_error() {
        // A field tag with wire type 7 does not exist.
        assert!(decode_request(&[0x0f, 0x01]).is_err());
        assert!(decode_response(&[0x0a, 0xff]).is_err());
    }
}
