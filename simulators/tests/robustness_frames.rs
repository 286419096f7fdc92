//! Random and hostile socket frames never panic the server: undecodable payloads get an error
//! response, unusable frames close the connection, and the server keeps serving.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use proptest::prelude::*;

use tapelib_scsi::transport::{DataPhase, ScsiTransport};
use tapelib_sim::client::SimSocketTransport;
use tapelib_sim::config::LibraryConfig;
use tapelib_sim::library::Library;
use tapelib_sim::protocol::{
    self, request, response, ControlRequest, Direction, ErrorKind, Request, ScsiRequest,
};
use tapelib_sim::server::{handle_payload, Server, ServerHandle};

const CONFIG: &str = r#"
storage_slots = 6
ie_slots = 1

[[drive]]
generation = "LTO-6"
serial = "R0001"

[[cartridge]]
barcode = "R00001L6"
slot = "drive:0"

[[cartridge]]
barcode = "R00002L6"
slot = 1
"#;

struct Fixture {
    _dir: tempfile::TempDir,
    library: Arc<Library>,
    server: ServerHandle,
}

/// One library and one in-process server shared by every case of this file.
fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let library =
            Library::open(LibraryConfig::from_toml_str(CONFIG).unwrap(), dir.path()).unwrap();
        let server = Server::bind(library.clone(), dir.path())
            .unwrap()
            .spawn()
            .unwrap();
        Fixture {
            _dir: dir,
            library,
            server,
        }
    })
}

fn has_body(resp: &protocol::Response) -> bool {
    resp.body.is_some()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100_000))]

    /// Arbitrary payloads through the decode/dispatch function: always one response.
    #[test]
    fn arbitrary_payloads_get_a_response(bytes in prop::collection::vec(any::<u8>(), 0..96)) {
        let resp = handle_payload(&fixture().library, &bytes);
        prop_assert!(has_body(&resp));
    }
}

fn cdb_strategy() -> impl Strategy<Value = Vec<u8>> {
    let opcodes = prop::sample::select(vec![
        0x00u8, 0x01, 0x03, 0x05, 0x07, 0x08, 0x0a, 0x10, 0x11, 0x12, 0x15, 0x19, 0x1a, 0x1b, 0x1e,
        0x2b, 0x34, 0x4c, 0x4d, 0x55, 0x5a, 0x82, 0x8c, 0x8d, 0x91, 0x92, 0xa0, 0xa5, 0xa6, 0xb8,
        0xe7, 0xff,
    ]);
    (opcodes, prop::collection::vec(any::<u8>(), 0..18)).prop_map(|(op, mut rest)| {
        rest.insert(0, op);
        rest
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    /// Well-formed frames with random devices, CDBs, directions and sizes.
    #[test]
    fn structured_requests_get_a_consistent_response(
        device in prop::sample::select(vec!["changer0", "drive0", "drive7", "", "changer0\0"]),
        cdb in cdb_strategy(),
        direction in -1i32..4,
        data_out in prop::collection::vec(any::<u8>(), 0..64),
        alloc in prop_oneof![0u32..600, Just(70_000u32), Just(u32::MAX)],
    ) {
        let req = Request {
            body: Some(request::Body::Scsi(ScsiRequest {
                device: device.to_owned(),
                cdb,
                direction,
                data_out,
                allocation_length: alloc,
                timeout_ms: 1000,
            })),
        };
        let mut frame = Vec::new();
        protocol::encode_frame(&req, &mut frame).unwrap();
        let resp = handle_payload(&fixture().library, &frame[4..]);
        match resp.body {
            Some(response::Body::Scsi(r)) => {
                // Data in never exceeds what was offered; status is a byte.
                prop_assert!(r.data_in.len() <= alloc as usize);
                prop_assert!(r.status <= 0xff);
                prop_assert!(r.sense.len() <= 252);
            }
            Some(response::Body::Error(e)) => {
                prop_assert!(e.kind != ErrorKind::Internal as i32);
            }
            _ => prop_assert!(false, "unexpected response kind"),
        }
    }

    /// Control requests with random fields are answered (refused or carried out), never fatal.
    #[test]
    fn random_control_requests_are_answered(bytes in prop::collection::vec(any::<u8>(), 0..48)) {
        // A control envelope (field 2, length-delimited) around random bytes.
        let mut payload = vec![0x12, bytes.len() as u8];
        payload.extend_from_slice(&bytes);
        let resp = handle_payload(&fixture().library, &payload);
        prop_assert!(has_body(&resp));
    }
}

/// Sends raw bytes on a new connection, half-closes it and reads until the server closes.
fn send_raw(bytes: &[u8]) -> Vec<u8> {
    let mut s = UnixStream::connect(fixture().server.socket_path()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // The server may close early (bad header) while we still write: that is fine.
    let _ = s.write_all(bytes);
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

/// Every complete frame the server sent back decodes as a response.
fn responses(mut out: &[u8]) -> Vec<protocol::Response> {
    let mut v = Vec::new();
    let mut buf = Vec::new();
    while let Ok(true) = protocol::read_frame(&mut out, &mut buf) {
        v.push(protocol::decode_response(&buf).unwrap());
    }
    v
}

fn frame_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        // Random bytes, header included.
        prop::collection::vec(any::<u8>(), 0..64),
        // A sane header over random payload.
        prop::collection::vec(any::<u8>(), 0..64).prop_map(|p| {
            let mut f = (p.len() as u32).to_be_bytes().to_vec();
            f.extend_from_slice(&p);
            f
        }),
        // A header announcing more than is sent, or more than the limit.
        (any::<u32>(), prop::collection::vec(any::<u8>(), 0..16)).prop_map(|(n, p)| {
            let mut f = n.to_be_bytes().to_vec();
            f.extend_from_slice(&p);
            f
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// Through a real socket: whatever arrives, the server answers or closes, and stays up.
    #[test]
    fn random_frames_over_the_socket(frames in prop::collection::vec(frame_strategy(), 1..4)) {
        let bytes: Vec<u8> = frames.concat();
        let out = send_raw(&bytes);
        let _ = responses(&out);
        // The server still answers a well-formed request.
        let mut t = SimSocketTransport::connect(fixture().server.socket_path(), "changer0")
            .unwrap();
        let mut buf = [0u8; 36];
        let c = t
            .execute(&[0x12, 0, 0, 0, 36, 0], DataPhase::In(&mut buf), Duration::from_secs(5))
            .unwrap();
        prop_assert_eq!(c.transferred, 36);
    }
}

#[test]
fn oversize_header_gets_an_error_then_close() {
    let out = send_raw(&[0xff, 0xff, 0xff, 0xff, 1, 2, 3]);
    let r = responses(&out);
    assert_eq!(r.len(), 1);
    match &r[0].body {
        Some(response::Body::Error(e)) => {
            assert_eq!(e.kind, ErrorKind::Malformed as i32);
            assert!(e.message.contains("exceeds"), "{}", e.message);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn undecodable_payload_gets_an_error_and_the_connection_continues() {
    let mut bytes = vec![0, 0, 0, 2, 0x0f, 0x01];
    let good = Request {
        body: Some(request::Body::Control(ControlRequest {
            op: Some(protocol::control_request::Op::DeviceNames(
                protocol::Empty {},
            )),
        })),
    };
    let mut frame = Vec::new();
    protocol::encode_frame(&good, &mut frame).unwrap();
    bytes.extend_from_slice(&frame);
    let r = responses(&send_raw(&bytes));
    assert_eq!(r.len(), 2);
    assert!(
        matches!(&r[0].body, Some(response::Body::Error(e)) if e.kind == ErrorKind::Malformed as i32)
    );
    match &r[1].body {
        Some(response::Body::Control(c)) => assert_eq!(c.json, r#"["changer0","drive0"]"#),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn inconsistent_scsi_requests_are_refused() {
    let lib = &fixture().library;
    let bad = |direction: Direction, data_out: Vec<u8>, alloc: u32| {
        let req = Request {
            body: Some(request::Body::Scsi(ScsiRequest {
                device: "drive0".into(),
                cdb: vec![0x00; 6],
                direction: direction as i32,
                data_out,
                allocation_length: alloc,
                timeout_ms: 0,
            })),
        };
        tapelib_sim::server::handle_request(lib, req)
    };
    for resp in [
        bad(Direction::None, vec![1], 0),
        bad(Direction::In, vec![], u32::MAX),
        bad(Direction::Out, vec![1, 2], 5),
    ] {
        assert!(
            matches!(&resp.body, Some(response::Body::Error(e)) if e.kind == ErrorKind::Malformed as i32),
            "{resp:?}"
        );
    }
}
