//! `Drive` against a small in-memory tape model that answers SSC-4 CDBs the way an LTO drive
//! does (variable blocks, filemarks, EOD, ILI residues, two partitions), through the public
//! API only.

use std::time::Duration;

use tapelib_scsi::sense::{SenseData, SenseKey};
use tapelib_scsi::ssc::position::Position;
use tapelib_scsi::{
    Completion, DataPhase, Drive, ErrorCategory, ReadOutcome, ScsiTransport, Space, SpaceOutcome,
    TransportError, WriteOutcome,
};

#[derive(Clone, Debug, PartialEq)]
enum Object {
    Block(Vec<u8>),
    Filemark,
}

/// Two partitions of objects; the position is (partition, index of the next object).
struct TapeModel {
    partitions: [Vec<Object>; 2],
    partition: usize,
    pos: usize,
    /// Objects before this count as written past early warning.
    early_warning_at: usize,
}

impl TapeModel {
    fn new() -> Self {
        TapeModel {
            partitions: [Vec::new(), Vec::new()],
            partition: 0,
            pos: 0,
            early_warning_at: usize::MAX,
        }
    }

    fn check(sense: SenseData, offered: usize, transferred: usize) -> Completion {
        Completion::check_condition(sense.to_fixed_bytes(), offered, transferred)
    }

    fn file_number(&self) -> u64 {
        self.partitions[self.partition][..self.pos]
            .iter()
            .filter(|o| **o == Object::Filemark)
            .count() as u64
    }
}

fn be24(b: &[u8]) -> usize {
    (usize::from(b[0]) << 16) | (usize::from(b[1]) << 8) | usize::from(b[2])
}

impl ScsiTransport for TapeModel {
    fn execute(
        &mut self,
        cdb: &[u8],
        data: DataPhase<'_>,
        _timeout: Duration,
    ) -> Result<Completion, TransportError> {
        let offered = data.len();
        let objs = &mut self.partitions[self.partition];
        Ok(match cdb[0] {
            0x00 => Completion::good(0, 0),
            0x01 => {
                self.pos = 0;
                Completion::good(0, 0)
            }
            0x0a => {
                let DataPhase::Out(buf) = data else {
                    panic!("WRITE without data")
                };
                assert_eq!(be24(&cdb[2..5]), buf.len());
                objs.truncate(self.pos);
                objs.push(Object::Block(buf.to_vec()));
                self.pos += 1;
                if self.pos > self.early_warning_at {
                    let mut s = SenseData::new(SenseKey::NoSense, 0, 0);
                    s.eom = true;
                    Self::check(s, offered, offered)
                } else {
                    Completion::good(offered, offered)
                }
            }
            0x10 => {
                objs.truncate(self.pos);
                for _ in 0..be24(&cdb[2..5]) {
                    objs.push(Object::Filemark);
                    self.pos += 1;
                }
                Completion::good(0, 0)
            }
            0x08 => {
                let DataPhase::In(buf) = data else {
                    panic!("READ without buffer")
                };
                let want = be24(&cdb[2..5]);
                match objs.get(self.pos).cloned() {
                    None => {
                        Self::check(SenseData::new(SenseKey::BlankCheck, 0x00, 0x05), offered, 0)
                    }
                    Some(Object::Filemark) => {
                        self.pos += 1;
                        let mut s = SenseData::new(SenseKey::NoSense, 0x00, 0x01);
                        s.filemark = true;
                        s.information = Some(want as u64);
                        Self::check(s, offered, 0)
                    }
                    Some(Object::Block(b)) => {
                        self.pos += 1;
                        let n = b.len().min(want);
                        buf[..n].copy_from_slice(&b[..n]);
                        if b.len() == want {
                            Completion::good(offered, n)
                        } else {
                            // SSC-4: ILI with information = requested - actual.
                            let mut s = SenseData::new(SenseKey::NoSense, 0, 0);
                            s.ili = true;
                            s.information =
                                Some((want as i64 - b.len() as i64) as i32 as u32 as u64);
                            Self::check(s, offered, n)
                        }
                    }
                }
            }
            0x11 => {
                let count = {
                    let v = be24(&cdb[2..5]) as i32;
                    (v << 8) >> 8
                };
                match cdb[1] & 0x0f {
                    1 if count > 0 => {
                        let mut left = count;
                        while left > 0 {
                            match objs.get(self.pos) {
                                None => {
                                    let mut s = SenseData::new(SenseKey::BlankCheck, 0x00, 0x05);
                                    s.information = Some(left as u64);
                                    return Ok(Self::check(s, 0, 0));
                                }
                                Some(Object::Filemark) => left -= 1,
                                Some(Object::Block(_)) => {}
                            }
                            self.pos += 1;
                        }
                        Completion::good(0, 0)
                    }
                    3 => {
                        self.pos = objs.len();
                        Completion::good(0, 0)
                    }
                    _ => Self::check(SenseData::new(SenseKey::IllegalRequest, 0x24, 0), 0, 0),
                }
            }
            0x92 => {
                if cdb[1] & 0x02 != 0 {
                    self.partition = usize::from(cdb[3]) & 1;
                }
                let mut id = [0u8; 8];
                id.copy_from_slice(&cdb[4..12]);
                let target = u64::from_be_bytes(id) as usize;
                let len = self.partitions[self.partition].len();
                if target > len {
                    self.pos = len;
                    Self::check(SenseData::new(SenseKey::BlankCheck, 0x00, 0x05), 0, 0)
                } else {
                    self.pos = target;
                    Completion::good(0, 0)
                }
            }
            0x34 => {
                let DataPhase::In(buf) = data else {
                    panic!("READ POSITION without buffer")
                };
                assert_eq!(cdb[1], 0x06, "long form asked first");
                let p = Position {
                    bop: self.pos == 0,
                    partition: self.partition as u32,
                    block: self.pos as u64,
                    file: Some(self.file_number()),
                    set: Some(0),
                    ..Position::default()
                };
                let b = p.encode_long();
                buf[..32].copy_from_slice(&b);
                Completion::good(offered, 32)
            }
            _ => Self::check(
                SenseData::new(SenseKey::IllegalRequest, 0x20, 0x00),
                offered,
                0,
            ),
        })
    }
}

#[test]
fn write_then_read_back_with_filemarks_and_eod() {
    let mut d = Drive::new(TapeModel::new());
    d.wait_ready(Duration::from_secs(1)).unwrap();
    assert_eq!(d.write_block(&[1u8; 512]).unwrap(), WriteOutcome::Written);
    assert_eq!(d.write_block(&[2u8; 100]).unwrap(), WriteOutcome::Written);
    d.write_filemarks(1, true).unwrap();
    assert_eq!(d.write_block(&[3u8; 64]).unwrap(), WriteOutcome::Written);
    d.write_filemarks(1, false).unwrap();
    let p = d.read_position().unwrap();
    assert_eq!((p.partition, p.block, p.file), (0, 5, Some(2)));

    d.rewind().unwrap();
    let mut buf = vec![0u8; 512];
    assert_eq!(d.read_block(&mut buf).unwrap(), ReadOutcome::Data(512));
    assert!(buf.iter().all(|b| *b == 1));
    assert_eq!(d.read_block(&mut buf).unwrap(), ReadOutcome::Data(100));
    assert!(buf[..100].iter().all(|b| *b == 2));
    assert_eq!(d.read_block(&mut buf).unwrap(), ReadOutcome::Filemark);
    assert_eq!(d.read_block(&mut buf).unwrap(), ReadOutcome::Data(64));
    assert_eq!(d.read_block(&mut buf).unwrap(), ReadOutcome::Filemark);
    assert_eq!(d.read_block(&mut buf).unwrap(), ReadOutcome::EndOfData);
}

#[test]
fn record_larger_than_buffer_reports_its_size() {
    let mut d = Drive::new(TapeModel::new());
    d.write_block(&vec![9u8; 4096]).unwrap();
    d.rewind().unwrap();
    let mut small = vec![0u8; 1000];
    let e = d.read_block(&mut small).unwrap_err();
    assert!(e.to_string().contains("4096"), "{e}");
}

#[test]
fn locate_across_partitions_and_space() {
    let mut d = Drive::new(TapeModel::new());
    d.locate(1, 0).unwrap();
    for i in 0..4u8 {
        d.write_block(&[i; 10]).unwrap();
    }
    d.write_filemarks(1, false).unwrap();
    d.locate(0, 0).unwrap();
    d.write_block(&[7u8; 10]).unwrap();

    d.locate(1, 2).unwrap();
    let mut buf = vec![0u8; 10];
    assert_eq!(d.read_block(&mut buf).unwrap(), ReadOutcome::Data(10));
    assert_eq!(buf[0], 2);
    let p = d.read_position().unwrap();
    assert_eq!((p.partition, p.block), (1, 3));

    d.locate(1, 0).unwrap();
    assert_eq!(d.space(Space::Filemarks(1)).unwrap(), SpaceOutcome::Done);
    assert_eq!(d.read_position().unwrap().block, 5);
    assert_eq!(
        d.space(Space::Filemarks(2)).unwrap(),
        SpaceOutcome::EndOfData { residue: 2 }
    );
    d.locate(0, 0).unwrap();
    assert_eq!(d.space(Space::EndOfData).unwrap(), SpaceOutcome::Done);
    assert_eq!(d.read_position().unwrap().block, 1);
    let e = d.locate(0, 10).unwrap_err();
    assert_eq!(e.category(), Some(ErrorCategory::EndOfData));
}

#[test]
fn early_warning_is_reported_not_failed() {
    let mut model = TapeModel::new();
    model.early_warning_at = 2;
    let mut d = Drive::new(model);
    assert_eq!(d.write_block(&[0; 8]).unwrap(), WriteOutcome::Written);
    assert_eq!(d.write_block(&[0; 8]).unwrap(), WriteOutcome::Written);
    assert_eq!(d.write_block(&[0; 8]).unwrap(), WriteOutcome::EarlyWarning);
}

#[test]
fn unsupported_command_is_a_typed_error() {
    let mut d = Drive::new(TapeModel::new());
    let e = d.erase(false).unwrap_err();
    assert_eq!(e.category(), Some(ErrorCategory::InvalidOpcode));
    assert!(e.to_string().contains("ERASE(6)"), "{e}");
}
