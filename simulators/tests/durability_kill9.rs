//! Durability: `kill -9` the server while a client writes; after a restart every record
//! acknowledged by a synchronous WRITE FILEMARKS reads back intact (the cartridge checks each
//! record's CRC-32 on read; a mismatch would be a MEDIUM ERROR).

mod socket_common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use socket_common::SimServer;
use tapelib_scsi::transport::{Completion, DataPhase, ScsiTransport};
use tapelib_sim::client::SimSocketTransport;

const CONFIG: &str = r#"
storage_slots = 4
ie_slots = 1

[[drive]]
generation = "LTO-7"
serial = "D0001"

[[cartridge]]
barcode = "DUR001L7"
slot = "drive:0"
"#;

const T: Duration = Duration::from_secs(30);
const RECORD: usize = 64 * 1024;
const PER_COMMIT: u32 = 4;

fn record(round: u32, seq: u32) -> Vec<u8> {
    let mut r = Vec::with_capacity(RECORD);
    r.extend_from_slice(&round.to_be_bytes());
    r.extend_from_slice(&seq.to_be_bytes());
    let mut x = round.wrapping_mul(0x9e37_79b9) ^ seq.wrapping_mul(0x85eb_ca6b) ^ 1;
    while r.len() < RECORD {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        r.push(x as u8);
    }
    r
}

/// The tape as a sequence of objects.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Object {
    Record(u32, u32),
    Filemark,
}

fn ready(t: &mut SimSocketTransport) {
    for _ in 0..6 {
        if t.execute(&[0; 6], DataPhase::None, T)
            .unwrap()
            .status
            .is_good()
        {
            return;
        }
    }
    panic!("drive not ready after restart");
}

fn good(c: Completion, what: &str) {
    assert!(c.status.is_good(), "{what}: sense {:02x?}", c.sense);
}

fn sense_key(c: &Completion) -> u8 {
    c.sense.get(2).map_or(0xff, |b| b & 0x0f)
}

/// Writes rounds of records with a synchronous filemark after every `PER_COMMIT`, recording the
/// committed objects, until the server disappears.
fn writer(dir: std::path::PathBuf, round: u32, start: u64, committed: Arc<Mutex<Vec<Object>>>) {
    let Ok(mut t) = SimSocketTransport::connect(&dir, "drive0") else {
        return;
    };
    ready(&mut t);
    // Continue right after the last committed object; anything later is truncated.
    let b = (start as u32).to_be_bytes();
    good(
        t.execute(
            &[0x2b, 0, 0, b[0], b[1], b[2], b[3], 0, 0, 0],
            DataPhase::None,
            T,
        )
        .unwrap(),
        "LOCATE",
    );
    let len = (RECORD as u32).to_be_bytes();
    let mut seq = 0;
    loop {
        for _ in 0..PER_COMMIT {
            let data = record(round, seq);
            match t.execute(
                &[0x0a, 0, len[1], len[2], len[3], 0],
                DataPhase::Out(&data),
                T,
            ) {
                Ok(c) => good(c, "WRITE"),
                Err(_) => return,
            }
            seq += 1;
        }
        match t.execute(&[0x10, 0, 0, 0, 1, 0], DataPhase::None, T) {
            Ok(c) => good(c, "WRITE FILEMARKS"),
            Err(_) => return,
        }
        let mut c = committed.lock().unwrap();
        for s in seq - PER_COMMIT..seq {
            c.push(Object::Record(round, s));
        }
        c.push(Object::Filemark);
    }
}

/// Reads the whole tape from BOT until BLANK CHECK; a record that fails its CRC (MEDIUM ERROR)
/// or does not match its own header fails the test once it lies in the committed prefix.
fn read_tape(t: &mut SimSocketTransport, committed_len: usize) -> Vec<Object> {
    good(
        t.execute(&[0x01, 0, 0, 0, 0, 0], DataPhase::None, T)
            .unwrap(),
        "REWIND",
    );
    let mut objects = Vec::new();
    let len = (RECORD as u32).to_be_bytes();
    loop {
        let mut buf = vec![0u8; RECORD];
        let c = t
            .execute(
                &[0x08, 0, len[1], len[2], len[3], 0],
                DataPhase::In(&mut buf),
                T,
            )
            .unwrap();
        let filemark = c.sense.get(2).is_some_and(|b| b & 0x80 != 0);
        if c.status.is_good() {
            let round = u32::from_be_bytes(buf[0..4].try_into().unwrap());
            let seq = u32::from_be_bytes(buf[4..8].try_into().unwrap());
            assert_eq!(c.transferred, RECORD);
            let ok = buf == record(round, seq);
            assert!(
                ok || objects.len() >= committed_len,
                "record {} corrupted",
                objects.len()
            );
            objects.push(Object::Record(round, seq));
        } else if filemark {
            objects.push(Object::Filemark);
        } else if sense_key(&c) == 0x08 {
            return objects;
        } else {
            assert!(
                objects.len() >= committed_len,
                "object {} unreadable: {:02x?}",
                objects.len(),
                c.sense
            );
            return objects;
        }
    }
}

#[test]
fn acknowledged_records_survive_kill9() {
    let mut sim = SimServer::start(CONFIG);
    let committed = Arc::new(Mutex::new(Vec::<Object>::new()));
    for round in 0..4u32 {
        let start = committed.lock().unwrap().len() as u64;
        let c2 = Arc::clone(&committed);
        let dir = sim.dir().to_path_buf();
        let th = std::thread::spawn(move || writer(dir, round, start, c2));
        // Let some commits happen, then crash the server mid-stream.
        let target = start as usize + 3 * (PER_COMMIT as usize + 1);
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while committed.lock().unwrap().len() < target && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(u64::from(round) * 3));
        sim.kill9();
        th.join().unwrap();
        sim.spawn();

        let expected = committed.lock().unwrap().clone();
        assert!(expected.len() >= target, "round {round}: too few commits");
        let mut t = SimSocketTransport::connect(sim.dir(), "drive0").unwrap();
        ready(&mut t);
        let tape = read_tape(&mut t, expected.len());
        assert!(
            tape.len() >= expected.len(),
            "round {round}: {} objects on tape, {} committed",
            tape.len(),
            expected.len()
        );
        assert_eq!(tape[..expected.len()], expected[..], "round {round}");
    }

    // The state is sane after the crashes: the cartridge is still in the drive and the
    // changer agrees.
    let mut c = tapelib_sim::client::SimControlClient::connect(sim.dir()).unwrap();
    let contents = c.contents().unwrap();
    let e = contents.find("DUR001L7").expect("cartridge known");
    assert_eq!(
        e.element_type,
        tapelib_sim::changer::ElementType::DataTransfer
    );
}
