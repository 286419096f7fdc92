//! Robustness: random CDBs with random data phases never panic the drive and always produce a
//! well-formed completion; reserved bits are reported with an exact field pointer.

use std::sync::{Mutex, OnceLock};

use proptest::prelude::*;
use tapelib_scsi::transport::{Completion, DataPhase, ScsiStatus};
use tapelib_sim::cartridge::{Cartridge, CartridgeSpec};
use tapelib_sim::drive::cdb::{cdb_length, defined_bits};
use tapelib_sim::drive::{DriveSpec, Personality, SimDrive};
use tapelib_sim::media::LtoGeneration;
use tapelib_sim::timing::TimeModel;

const OPCODES: &[u8] = &[
    0x00, 0x01, 0x03, 0x04, 0x05, 0x08, 0x0A, 0x0B, 0x10, 0x11, 0x12, 0x15, 0x16, 0x17, 0x19, 0x1A,
    0x1B, 0x1E, 0x2B, 0x34, 0x44, 0x4D, 0x55, 0x5A, 0x82, 0x8C, 0x8D, 0x91, 0x92, 0xA0,
];

struct Bench {
    drive: SimDrive,
    _dir: tempfile::TempDir,
    next: u32,
    dir_path: std::path::PathBuf,
}

impl Bench {
    fn new() -> Bench {
        // tmpfs when available: synchronous filemarks fsync, which should stay cheap here.
        let dir = if std::path::Path::new("/dev/shm").is_dir() {
            tempfile::tempdir_in("/dev/shm").unwrap_or_else(|_| tempfile::tempdir().unwrap())
        } else {
            tempfile::tempdir().unwrap()
        };
        let drive = SimDrive::new(
            DriveSpec {
                generation: LtoGeneration::Lto8,
                personality: Personality::Hp,
                serial: "FUZZ000001".into(),
                vendor: None,
                product: None,
            },
            TimeModel::instant(),
        );
        let dir_path = dir.path().to_path_buf();
        let mut b = Bench {
            drive,
            _dir: dir,
            next: 0,
            dir_path,
        };
        b.refill();
        b
    }

    /// Keeps a small cartridge in the drive so medium commands do real work.
    fn refill(&mut self) {
        if self.drive.medium_present() && !self.drive.ready_for_removal() {
            return;
        }
        if let Some(c) = self.drive.remove() {
            drop(c);
        }
        self.next += 1;
        // Alternate generations so compatibility paths run too.
        let barcode = match self.next % 4 {
            0 => format!("FZ{:04}L7", self.next % 10000),
            1 => format!("FZ{:04}L6", self.next % 10000),
            _ => format!("FZ{:04}L8", self.next % 10000),
        };
        let mut spec = CartridgeSpec::from_barcode(&barcode).unwrap();
        spec.capacity_bytes = Some(4 << 20);
        let path = self.dir_path.join(&barcode);
        let _ = std::fs::remove_dir_all(&path);
        let cart = Cartridge::create(&path, spec).unwrap();
        self.drive.insert(cart).unwrap();
    }
}

fn bench() -> &'static Mutex<Bench> {
    static B: OnceLock<Mutex<Bench>> = OnceLock::new();
    B.get_or_init(|| Mutex::new(Bench::new()))
}

#[derive(Debug, Clone)]
enum Phase {
    None,
    In(usize),
    Out(Vec<u8>),
}

fn phase() -> impl Strategy<Value = Phase> {
    prop_oneof![
        Just(Phase::None),
        (0usize..4096).prop_map(Phase::In),
        proptest::collection::vec(any::<u8>(), 0..4096).prop_map(Phase::Out),
    ]
}

fn run(drive: &mut SimDrive, cdb: &[u8], p: &Phase) -> Completion {
    match p {
        Phase::None => drive.execute(cdb, DataPhase::None),
        Phase::In(n) => {
            let mut buf = vec![0u8; *n];
            drive.execute(cdb, DataPhase::In(&mut buf))
        }
        Phase::Out(d) => drive.execute(cdb, DataPhase::Out(d)),
    }
}

fn well_formed(c: &Completion, offered: usize) -> Result<(), TestCaseError> {
    prop_assert!(c.transferred <= offered);
    prop_assert_eq!(c.residual, offered - c.transferred);
    if c.status == ScsiStatus::CHECK_CONDITION {
        prop_assert_eq!(c.sense.len(), 18);
        prop_assert_eq!(c.sense[0] & 0x7F, 0x70);
        prop_assert_eq!(c.sense[7], 10);
    } else {
        prop_assert_eq!(c.status, ScsiStatus::GOOD);
        prop_assert!(c.sense.is_empty());
    }
    Ok(())
}

/// A CDB for a supported command: random bytes, usually restricted to the defined bits, with
/// small transfer lengths often enough that data really moves.
fn plausible_cdb() -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::sample::select(OPCODES),
        proptest::collection::vec(any::<u8>(), 16),
        any::<bool>(),
        any::<bool>(),
        0u32..6000,
    )
        .prop_map(|(op, mut bytes, masked, small, len)| {
            let n = cdb_length(op).unwrap_or(6);
            bytes.truncate(n);
            bytes[0] = op;
            if masked {
                if let Some(m) = defined_bits(op) {
                    for (b, m) in bytes[1..n - 1].iter_mut().zip(m) {
                        *b &= m;
                    }
                }
                bytes[n - 1] &= 0xC0;
            }
            if small && n == 6 && matches!(op, 0x08 | 0x0A | 0x10 | 0x11 | 0x03 | 0x12) {
                let l = len.to_be_bytes();
                bytes[2..5].copy_from_slice(&l[1..4]);
            }
            bytes
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(60_000))]

    #[test]
    fn plausible_cdbs_never_panic(cdb in plausible_cdb(), p in phase()) {
        let mut b = bench().lock().unwrap_or_else(|e| e.into_inner());
        let offered = match &p { Phase::None => 0, Phase::In(n) => *n, Phase::Out(d) => d.len() };
        let c = run(&mut b.drive, &cdb, &p);
        well_formed(&c, offered)?;
        b.refill();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(30_000))]

    #[test]
    fn arbitrary_bytes_never_panic(cdb in proptest::collection::vec(any::<u8>(), 0..24), p in phase()) {
        let mut b = bench().lock().unwrap_or_else(|e| e.into_inner());
        let offered = match &p { Phase::None => 0, Phase::In(n) => *n, Phase::Out(d) => d.len() };
        let c = run(&mut b.drive, &cdb, &p);
        well_formed(&c, offered)?;
        b.refill();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn reserved_bits_get_an_exact_field_pointer(op in proptest::sample::select(OPCODES), pick in any::<u16>()) {
        let n = cdb_length(op).unwrap();
        let mask = defined_bits(op).unwrap();
        // Every reserved bit position in bytes 1..n-1, plus NACA/LINK and bits 5-2 of CONTROL.
        let mut reserved: Vec<(usize, u8)> = Vec::new();
        for (i, m) in mask.iter().enumerate() {
            for bit in 0..8 {
                if m & (1 << bit) == 0 {
                    reserved.push((i + 1, bit));
                }
            }
        }
        for bit in 0..6 {
            reserved.push((n - 1, bit));
        }
        let (byte, bit) = reserved[usize::from(pick) % reserved.len()];
        let mut cdb = vec![0u8; n];
        cdb[0] = op;
        cdb[byte] |= 1 << bit;
        let mut b = bench().lock().unwrap_or_else(|e| e.into_inner());
        let c = b.drive.execute(&cdb, DataPhase::None);
        prop_assert_eq!(c.status, ScsiStatus::CHECK_CONDITION);
        prop_assert_eq!((c.sense[2] & 0x0F, c.sense[12], c.sense[13]), (5, 0x24, 0));
        prop_assert_eq!(c.sense[15], 0x80 | 0x40 | 0x08 | bit);
        prop_assert_eq!(usize::from(u16::from_be_bytes([c.sense[16], c.sense[17]])), byte);
    }
}

#[test]
fn unsupported_opcodes_are_invalid_operation_codes() {
    let mut b = bench().lock().unwrap_or_else(|e| e.into_inner());
    for op in 0..=255u8 {
        if OPCODES.contains(&op) {
            continue;
        }
        let cdb = vec![op; cdb_length(op).unwrap_or(6)];
        let mut cdb = cdb;
        cdb[1..].fill(0);
        let c = b.drive.execute(&cdb, DataPhase::None);
        assert_eq!(
            (c.sense[2] & 0x0F, c.sense[12], c.sense[13]),
            (5, 0x20, 0),
            "opcode {op:#04x}"
        );
        assert_eq!(c.sense[15], 0xC0);
        assert_eq!(&c.sense[16..18], &[0, 0]);
    }
}
