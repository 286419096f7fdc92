//! Drive tests against a scripted transport: each step expects a CDB prefix and answers with
//! fixed bytes, sense, or a status.

use std::collections::VecDeque;
use std::time::Duration;

use super::*;
use crate::sense::{SenseData, SenseKey};
use crate::spc::attribute::{encode_attributes, id};
use crate::spc::log::{LogPage, LogParameter};
use crate::spc::mode::ModePage;
use crate::transport::{Completion, TransportError};

enum Reply {
    /// GOOD with these data-in bytes (truncated to the allocation).
    Data(Vec<u8>),
    Good,
    /// CHECK CONDITION with sense; `transferred` data-in bytes.
    Check(SenseData, Vec<u8>),
}

struct Scripted {
    steps: VecDeque<(Vec<u8>, Reply)>,
    /// Every CDB seen and the data-out bytes sent with it.
    seen: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Scripted {
    fn new() -> Self {
        Scripted {
            steps: VecDeque::new(),
            seen: Vec::new(),
        }
    }

    fn on(mut self, cdb_prefix: &[u8], reply: Reply) -> Self {
        self.steps.push_back((cdb_prefix.to_vec(), reply));
        self
    }
}

impl ScsiTransport for Scripted {
    fn execute(
        &mut self,
        cdb: &[u8],
        data: DataPhase<'_>,
        _timeout: Duration,
    ) -> std::result::Result<Completion, TransportError> {
        let out = match &data {
            DataPhase::Out(b) => b.to_vec(),
            _ => Vec::new(),
        };
        self.seen.push((cdb.to_vec(), out));
        let (prefix, reply) = self
            .steps
            .pop_front()
            .unwrap_or_else(|| panic!("unexpected CDB {cdb:02x?}"));
        assert!(
            cdb.starts_with(&prefix),
            "expected CDB starting {prefix:02x?}, got {cdb:02x?}"
        );
        let offered = data.len();
        let fill = |data: DataPhase<'_>, bytes: &[u8]| -> usize {
            match data {
                DataPhase::In(buf) => {
                    let n = bytes.len().min(buf.len());
                    buf[..n].copy_from_slice(&bytes[..n]);
                    n
                }
                DataPhase::Out(b) => b.len(),
                DataPhase::None => 0,
            }
        };
        Ok(match reply {
            Reply::Good => {
                let n = fill(data, &[]);
                Completion::good(offered, n)
            }
            Reply::Data(b) => {
                let n = fill(data, &b);
                Completion::good(offered, n)
            }
            Reply::Check(s, b) => {
                let n = fill(data, &b);
                Completion::check_condition(s.to_fixed_bytes(), offered, n)
            }
        })
    }
}

fn sense(key: SenseKey, asc: u8, ascq: u8) -> SenseData {
    SenseData::new(key, asc, ascq)
}

fn drive(s: Scripted) -> Drive<Scripted> {
    let mut d = Drive::new(s);
    d.set_poll_interval(Duration::ZERO);
    d
}

fn inquiry_bytes(vendor: &str, product: &str) -> Vec<u8> {
    StandardInquiry {
        peripheral_qualifier: 0,
        peripheral_device_type: 1,
        rmb: true,
        version: 6,
        response_data_format: 2,
        mchngr: false,
        vendor: vendor.into(),
        product: product.into(),
        revision: "KAJ1".into(),
        vendor_specific: Vec::new(),
    }
    .encode()
}

fn density(code: u8, wrtok: bool) -> DensityDescriptor {
    DensityDescriptor {
        primary_density_code: code,
        secondary_density_code: code,
        wrtok,
        ..Default::default()
    }
}

fn mode_with(density: u8, block_length: u32, pages: Vec<ModePage>) -> ModeData {
    ModeData {
        medium_type: 0,
        device_specific: 0x10,
        block_descriptors: vec![BlockDescriptor {
            density_code: density,
            number_of_blocks: 0,
            block_length,
        }],
        pages,
    }
}

fn compression_page() -> ModePage {
    let mut p = DataCompressionPage {
        dce: true,
        dcc: true,
        dde: true,
        red: 0,
        compression_algorithm: 1,
        decompression_algorithm: 1,
    }
    .to_page();
    p.ps = true;
    p
}

#[test]
fn identify_ibm_lto8() {
    let mut serial = vec![1, 0x80, 0, 10];
    serial.extend_from_slice(b"1013000655");
    let s = Scripted::new()
        .on(&[0x12, 0], Reply::Data(inquiry_bytes("IBM", "ULT3580-TD8")))
        .on(&[0x12, 1, 0x80], Reply::Data(serial))
        .on(
            &[0x44, 0],
            Reply::Data(density::encode_density_support(&[
                density(0x5e, true),
                density(0x5c, true),
                density(0x5a, false),
            ])),
        )
        .on(
            &[0x5a],
            Reply::Data(mode_with(0x5c, 0, vec![compression_page()]).encode_sense_10()),
        );
    let mut d = drive(s);
    let id = d.identify().unwrap();
    assert_eq!(id.vendor, "IBM");
    assert_eq!(id.product, "ULT3580-TD8");
    assert_eq!(id.serial.as_deref(), Some("1013000655"));
    assert_eq!(id.drive_density_code, Some(0x5e));
    assert_eq!(id.lto_generation, Some(8));
    assert_eq!(id.medium_density_code, Some(0x5c));
}

#[test]
fn identify_reissues_status_commands_after_unit_attentions() {
    // Right after power-on and a load, the first commands report 06/29/00 then 06/28/00 and
    // are not executed; identify must still learn the generation.
    let mut serial = vec![1, 0x80, 0, 10];
    serial.extend_from_slice(b"1013000655");
    let s = Scripted::new()
        .on(&[0x12, 0], Reply::Data(inquiry_bytes("IBM", "ULT3580-TD8")))
        .on(&[0x12, 1, 0x80], Reply::Data(serial))
        .on(
            &[0x44, 0],
            Reply::Check(sense(SenseKey::UnitAttention, 0x29, 0), vec![]),
        )
        .on(
            &[0x44, 0],
            Reply::Check(sense(SenseKey::UnitAttention, 0x28, 0), vec![]),
        )
        .on(
            &[0x44, 0],
            Reply::Data(density::encode_density_support(&[density(0x5e, true)])),
        )
        .on(
            &[0x5a],
            Reply::Data(mode_with(0x5e, 0, vec![compression_page()]).encode_sense_10()),
        );
    let mut d = drive(s);
    let id = d.identify().unwrap();
    assert_eq!(id.drive_density_code, Some(0x5e));
    assert_eq!(id.lto_generation, Some(8));
    assert_eq!(id.medium_density_code, Some(0x5e));
    assert_eq!(d.transport_mut().seen.len(), 6);
}

#[test]
fn status_commands_give_up_on_a_persistent_unit_attention() {
    let mut s = Scripted::new();
    for _ in 0..4 {
        s = s.on(
            &[0x34],
            Reply::Check(sense(SenseKey::UnitAttention, 0x29, 0), vec![]),
        );
    }
    let mut d = drive(s);
    let e = d.read_position_form(PositionForm::Long).unwrap_err();
    assert!(matches!(
        e.category(),
        Some(ErrorCategory::UnitAttention(UnitAttentionCause::Reset))
    ));
    assert_eq!(d.transport_mut().seen.len(), 4);
}

#[test]
fn identify_hp_without_serial_page_and_mode_sense_10() {
    let s = Scripted::new()
        .on(
            &[0x12, 0],
            Reply::Data(inquiry_bytes("HP", "Ultrium 6-SCSI")),
        )
        .on(
            &[0x12, 1],
            Reply::Check(sense(SenseKey::IllegalRequest, 0x24, 0), vec![]),
        )
        .on(
            &[0x44],
            Reply::Data(density::encode_density_support(&[
                density(0x5a, true),
                density(0x58, true),
            ])),
        )
        .on(
            &[0x5a],
            Reply::Check(sense(SenseKey::IllegalRequest, 0x20, 0), vec![]),
        )
        .on(
            &[0x1a],
            Reply::Data(mode_with(0x5a, 0, vec![]).encode_sense_6()),
        );
    let mut d = drive(s);
    let id = d.identify().unwrap();
    assert_eq!(id.serial, None);
    assert_eq!(id.lto_generation, Some(6));
    assert!(d.quirks().capacity_from_log_page_31);
    assert!(d.mode6, "fell back to 6-byte mode commands");
}

#[test]
fn wait_ready_swallows_attention_and_waits_becoming_ready() {
    let s = Scripted::new()
        .on(
            &[0x00],
            Reply::Check(sense(SenseKey::UnitAttention, 0x29, 0x00), vec![]),
        )
        .on(
            &[0x00],
            Reply::Check(sense(SenseKey::UnitAttention, 0x28, 0x00), vec![]),
        )
        .on(
            &[0x00],
            Reply::Check(sense(SenseKey::NotReady, 0x04, 0x01), vec![]),
        )
        .on(
            &[0x00],
            Reply::Check(sense(SenseKey::NotReady, 0x04, 0x85), vec![]),
        )
        .on(&[0x00], Reply::Good);
    let mut d = drive(s);
    d.wait_ready(Duration::from_secs(5)).unwrap();
    assert_eq!(d.into_inner().seen.len(), 5);
}

#[test]
fn wait_ready_reports_medium_not_present() {
    let s = Scripted::new().on(
        &[0x00],
        Reply::Check(sense(SenseKey::NotReady, 0x3a, 0x00), vec![]),
    );
    let e = drive(s).wait_ready(Duration::from_secs(5)).unwrap_err();
    assert_eq!(
        e.category(),
        Some(ErrorCategory::NotReady(NotReadyCause::MediumNotPresent))
    );
}

#[test]
fn wait_ready_times_out() {
    let mut s = Scripted::new();
    for _ in 0..3 {
        s = s.on(
            &[0x00],
            Reply::Check(sense(SenseKey::NotReady, 0x04, 0x01), vec![]),
        );
    }
    let mut d = drive(s);
    d.set_poll_interval(Duration::from_millis(20));
    let e = d.wait_ready(Duration::from_millis(30)).unwrap_err();
    assert!(matches!(e, DriveError::NotReady { .. }), "{e}");
}

#[test]
fn locate_16_then_fallback_to_10() {
    let s = Scripted::new()
        .on(&[0x92, 0x02, 0, 1, 0, 0, 0, 0, 0, 0, 0, 42], Reply::Good)
        .on(
            &[0x92],
            Reply::Check(sense(SenseKey::IllegalRequest, 0x20, 0), vec![]),
        )
        .on(&[0x2b, 0x02, 0, 0, 0, 0, 7, 0, 0], Reply::Good);
    let mut d = drive(s);
    d.locate(1, 42).unwrap();
    d.locate(0, 7).unwrap();
    assert!(d.locate10);
}

#[test]
fn locate_applies_quirk_offset() {
    let s = Scripted::new().on(&[0x92, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9], Reply::Good);
    let q = Quirks {
        locate_block_offset: -1,
        ..Quirks::default()
    };
    let mut d = drive(s).with_quirks(q);
    d.locate(0, 10).unwrap();
}

#[test]
fn read_position_long_and_short_fallback() {
    let p = Position {
        partition: 1,
        block: 77,
        file: Some(3),
        set: Some(0),
        ..Position::default()
    };
    let mut short = [0u8; 20];
    short[0] = 0x80;
    let s = Scripted::new()
        .on(&[0x34, 0x06], Reply::Data(p.encode_long().to_vec()))
        .on(
            &[0x34, 0x06],
            Reply::Check(sense(SenseKey::IllegalRequest, 0x24, 0), vec![]),
        )
        .on(&[0x34, 0x00], Reply::Data(short.to_vec()));
    let mut d = drive(s);
    assert_eq!(d.read_position().unwrap(), p);
    let q = d.read_position().unwrap();
    assert!(q.bop);
    assert_eq!(q.block, 0);
}

#[test]
fn read_block_outcomes() {
    let mut fm = sense(SenseKey::NoSense, 0x00, 0x01);
    fm.filemark = true;
    fm.ili = true;
    fm.information = Some(1024);
    let mut short = sense(SenseKey::NoSense, 0, 0);
    short.ili = true;
    short.information = Some(1024 - 100);
    let mut long = sense(SenseKey::NoSense, 0, 0);
    long.ili = true;
    long.information = Some(u64::from((-3000i32) as u32));
    let s = Scripted::new()
        .on(&[0x08, 0x00, 0, 4, 0], Reply::Data(vec![7u8; 1024]))
        .on(&[0x08], Reply::Check(short, vec![1u8; 100]))
        .on(&[0x08], Reply::Check(fm, vec![]))
        .on(&[0x08], Reply::Check(long, vec![0u8; 1024]))
        .on(
            &[0x08],
            Reply::Check(sense(SenseKey::BlankCheck, 0x00, 0x05), vec![]),
        )
        .on(
            &[0x08],
            Reply::Check(sense(SenseKey::MediumError, 0x11, 0x00), vec![]),
        );
    let mut d = drive(s);
    let mut buf = vec![0u8; 1024];
    assert_eq!(d.read_block(&mut buf).unwrap(), ReadOutcome::Data(1024));
    assert_eq!(d.read_block(&mut buf).unwrap(), ReadOutcome::Data(100));
    assert_eq!(d.read_block(&mut buf).unwrap(), ReadOutcome::Filemark);
    match d.read_block(&mut buf).unwrap_err() {
        DriveError::RecordTooLarge {
            record_size,
            buffer,
        } => {
            assert_eq!((record_size, buffer), (4024, 1024));
        }
        e => panic!("{e}"),
    }
    assert_eq!(d.read_block(&mut buf).unwrap(), ReadOutcome::EndOfData);
    let e = d.read_block(&mut buf).unwrap_err();
    assert_eq!(e.category(), Some(ErrorCategory::MediumError));
    assert!(e.to_string().contains("UNRECOVERED READ ERROR"), "{e}");
}

#[test]
fn write_block_early_warning_and_overflow() {
    let mut ew = sense(SenseKey::NoSense, 0, 0);
    ew.eom = true;
    let mut ov = sense(SenseKey::VolumeOverflow, 0x00, 0x02);
    ov.eom = true;
    let s = Scripted::new()
        .on(&[0x0a, 0x00, 0, 0, 4], Reply::Good)
        .on(&[0x0a], Reply::Check(ew.clone(), vec![]))
        .on(&[0x0a], Reply::Check(ov, vec![]))
        .on(&[0x10, 0x01, 0, 0, 1], Reply::Check(ew, vec![]))
        .on(&[0x10, 0x00, 0, 0, 0], Reply::Good)
        .on(
            &[0x0a],
            Reply::Check(sense(SenseKey::DataProtect, 0x27, 0), vec![]),
        );
    let mut d = drive(s);
    let data = vec![1u8; 4];
    assert_eq!(d.write_block(&data).unwrap(), WriteOutcome::Written);
    assert_eq!(d.write_block(&data).unwrap(), WriteOutcome::EarlyWarning);
    let e = d.write_block(&data).unwrap_err();
    assert_eq!(e.category(), Some(ErrorCategory::VolumeOverflow));
    assert_eq!(
        d.write_filemarks(1, true).unwrap(),
        WriteOutcome::EarlyWarning
    );
    assert_eq!(d.flush().unwrap(), WriteOutcome::Written);
    let e = d.write_block(&data).unwrap_err();
    assert_eq!(e.category(), Some(ErrorCategory::DataProtect));
    let t = d.into_inner();
    assert_eq!(t.seen[0].1, data, "data-out bytes reach the transport");
}

#[test]
fn space_outcomes() {
    let mut fm = sense(SenseKey::NoSense, 0x00, 0x01);
    fm.filemark = true;
    fm.information = Some(3);
    let mut eod = sense(SenseKey::BlankCheck, 0x00, 0x05);
    eod.information = Some(1);
    let mut bop = sense(SenseKey::NoSense, 0x00, 0x04);
    bop.eom = true;
    bop.information = Some(2);
    let s = Scripted::new()
        .on(&[0x11, 0x01, 0xff, 0xff, 0xff], Reply::Good)
        .on(&[0x11, 0x00, 0, 0, 10], Reply::Check(fm, vec![]))
        .on(&[0x11, 0x03], Reply::Check(eod, vec![]))
        .on(&[0x11, 0x00, 0xff, 0xff, 0xfb], Reply::Check(bop, vec![]))
        .on(&[0x91, 0x00, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0], Reply::Good);
    let mut d = drive(s);
    assert_eq!(d.space(Space::Filemarks(-1)).unwrap(), SpaceOutcome::Done);
    assert_eq!(
        d.space(Space::Blocks(10)).unwrap(),
        SpaceOutcome::Filemark { residue: 3 }
    );
    assert_eq!(
        d.space(Space::EndOfData).unwrap(),
        SpaceOutcome::EndOfData { residue: 1 }
    );
    assert_eq!(
        d.space(Space::Blocks(-5)).unwrap(),
        SpaceOutcome::PartitionBoundary { residue: 2 }
    );
    assert_eq!(d.space(Space::Blocks(1 << 32)).unwrap(), SpaceOutcome::Done);
}

#[test]
fn set_block_size_and_compression() {
    let sensed = mode_with(0x5e, 0, vec![compression_page()]);
    let s = Scripted::new()
        .on(&[0x5a, 0, 0x0f], Reply::Data(sensed.encode_sense_10()))
        .on(&[0x55, 0x10], Reply::Good)
        .on(&[0x5a, 0, 0x0f], Reply::Data(sensed.encode_sense_10()))
        .on(&[0x55, 0x10], Reply::Good);
    let mut d = drive(s);
    d.set_block_size(0).unwrap();
    assert_eq!(d.block_size(), 0);
    d.set_compression(false).unwrap();
    let t = d.into_inner();
    let bs = decode_select_10(&t.seen[1].1);
    assert_eq!(bs.block_descriptors[0].block_length, 0);
    assert_eq!(bs.block_descriptors[0].density_code, 0);
    let sel = &t.seen[3].1;
    assert_eq!(
        &sel[..2],
        &[0, 0],
        "mode data length is reserved in MODE SELECT"
    );
    let m = decode_select_10(sel);
    let p = m.page(0x0f).unwrap();
    assert!(!p.ps, "PS cleared before MODE SELECT");
    let c = DataCompressionPage::decode(p).unwrap();
    assert!(!c.dce && c.dde);
}

/// A MODE SELECT(10) parameter list has its length field reserved (0); fill it to decode.
fn decode_select_10(list: &[u8]) -> ModeData {
    assert_eq!(&list[..2], &[0, 0]);
    let mut v = list.to_vec();
    let n = (v.len() - 2) as u16;
    v[..2].copy_from_slice(&n.to_be_bytes());
    ModeData::decode_10(&v).unwrap()
}

fn partition_page(defined: u8) -> ModePage {
    MediumPartitionPage {
        maximum_additional_partitions: 1,
        additional_partitions_defined: defined,
        fdp: false,
        sdp: false,
        idp: false,
        psum: 2,
        pofm: false,
        clear: false,
        addp: false,
        medium_format_recognition: 3,
        partition_units: 0,
        partition_sizes: vec![0, 0],
    }
    .to_page()
}

#[test]
fn format_two_partitions() {
    let s = Scripted::new()
        .on(
            &[0x5a, 0, 0x11],
            Reply::Data(mode_with(0x5e, 0, vec![partition_page(0)]).encode_sense_10()),
        )
        .on(&[0x55], Reply::Good)
        .on(&[0x04, 0x00, 0x01], Reply::Good)
        .on(
            &[0x5a, 0, 0x11],
            Reply::Data(mode_with(0x5e, 0, vec![partition_page(1)]).encode_sense_10()),
        );
    let mut d = drive(s);
    d.format_partitioned(IndexPartitionSize::Megabytes(37_500))
        .unwrap();
    assert_eq!(d.partition_count().unwrap(), 2);
    let t = d.into_inner();
    let m = decode_select_10(&t.seen[1].1);
    let p = MediumPartitionPage::decode(m.page(0x11).unwrap()).unwrap();
    assert_eq!(p.additional_partitions_defined, 1);
    assert!(p.idp);
    assert_eq!(p.psum, 2);
    assert_eq!(p.partition_sizes, vec![37_500, 0xffff]);
    assert_eq!(m.buffered_mode(), 1, "buffered mode kept");
}

#[test]
fn format_single_resets_partitions() {
    let s = Scripted::new()
        .on(
            &[0x5a, 0, 0x11],
            Reply::Data(mode_with(0x5e, 0, vec![partition_page(1)]).encode_sense_10()),
        )
        .on(&[0x55], Reply::Good)
        .on(&[0x04, 0x00, 0x00], Reply::Good);
    drive(s).format_single().unwrap();
}

#[test]
fn attributes() {
    let vals = encode_attributes(
        &[
            Attribute::ascii(id::BARCODE, "ABC123L8", 32),
            Attribute::binary(id::LOAD_COUNT, vec![0, 0, 0, 0, 0, 0, 0, 5]),
        ],
        true,
    );
    let s = Scripted::new()
        .on(
            &[0x8c, 0x00, 0, 0, 0, 0, 0, 1, 0x08, 0x06],
            Reply::Data(vals.clone()),
        )
        .on(
            &[0x8c],
            Reply::Check(sense(SenseKey::IllegalRequest, 0x24, 0), vec![]),
        )
        .on(&[0x8c, 0x00, 0, 0, 0, 0, 0, 0, 0, 0], Reply::Data(vals))
        .on(&[0x8d, 0x00, 0, 0, 0, 0, 0, 1], Reply::Good);
    let mut d = drive(s);
    let a = d.read_attribute(1, id::BARCODE).unwrap().unwrap();
    assert_eq!(a.as_string(), "ABC123L8");
    assert!(d
        .read_attribute(0, id::VOLUME_COHERENCY_INFORMATION)
        .unwrap()
        .is_none());
    assert_eq!(d.read_all_attributes(0).unwrap().len(), 2);
    d.write_attributes(1, &[Attribute::ascii(id::APPLICATION_VENDOR, "TAPELIB", 8)])
        .unwrap();
    let t = d.into_inner();
    let (cdb, out) = t.seen.last().unwrap();
    assert_eq!(&cdb[10..14], &(out.len() as u32).to_be_bytes());
    assert_eq!(&out[4..6], &[0x08, 0x00]);
}

#[test]
fn tape_alerts_prefer_page_12_and_fall_back() {
    let flags: BTreeSet<_> = [TapeAlertFlag(0x14)].into_iter().collect();
    let page_2e = LogPage {
        code: 0x2e,
        subpage: 0,
        parameters: (1..=64u16)
            .map(|c| LogParameter {
                code: c,
                control: 0,
                value: vec![u8::from(c == 3)],
            })
            .collect(),
    }
    .encode();
    let s = Scripted::new()
        .on(
            &[0x4d, 0, 0x52],
            Reply::Data(log::encode_tape_alert_response(&flags)),
        )
        .on(
            &[0x4d, 0, 0x52],
            Reply::Check(sense(SenseKey::IllegalRequest, 0x24, 0), vec![]),
        )
        .on(&[0x4d, 0, 0x6e], Reply::Data(page_2e.clone()))
        .on(&[0x4d, 0, 0x6e], Reply::Data(page_2e));
    let mut d = drive(s);
    assert_eq!(d.tape_alerts().unwrap(), flags);
    let v: Vec<u8> = d.tape_alerts().unwrap().iter().map(|f| f.0).collect();
    assert_eq!(v, vec![3]);
    // Page 12h is not asked again once the drive rejected it.
    d.tape_alerts().unwrap();
}

#[test]
fn volume_statistics_and_capacity() {
    let page = LogPage {
        code: 0x17,
        subpage: 0,
        parameters: vec![
            LogParameter {
                code: 1,
                control: 0,
                value: vec![0, 0, 0, 9],
            },
            LogParameter {
                code: 0x16,
                control: 0,
                value: vec![0, 0xb7, 0x1b, 0],
            },
        ],
    }
    .encode();
    let s = Scripted::new()
        .on(&[0x4d, 0, 0x57], Reply::Data(page.clone()))
        .on(&[0x4d, 0, 0x57], Reply::Data(page));
    let mut d = drive(s);
    assert_eq!(d.volume_statistics().unwrap().volume_mounts, Some(9));
    assert_eq!(d.native_capacity_mb().unwrap(), 0xb71b00);
}

#[test]
fn simple_commands() {
    let s = Scripted::new()
        .on(&[0x1b, 0, 0, 0, 1], Reply::Good)
        .on(&[0x1b, 0, 0, 0, 0], Reply::Good)
        .on(&[0x01, 0], Reply::Good)
        .on(&[0x19, 1], Reply::Good)
        .on(&[0x82, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 5], Reply::Good)
        .on(&[0x0b, 0, 0, 0x80, 0], Reply::Good)
        .on(&[0x1e, 0, 0, 0, 1], Reply::Good)
        .on(&[0x05], Reply::Data(vec![0, 0x80, 0, 0, 0, 1]));
    let mut d = drive(s);
    d.load().unwrap();
    d.unload().unwrap();
    d.rewind().unwrap();
    d.erase(true).unwrap();
    d.allow_overwrite(1, 5).unwrap();
    d.set_capacity(0x8000).unwrap();
    d.prevent_medium_removal(true).unwrap();
    assert_eq!(d.read_block_limits().unwrap().max_block_length, 0x800000);
}

#[test]
fn garbage_responses_are_decode_errors() {
    let s = Scripted::new()
        .on(&[0x34], Reply::Data(vec![0; 5]))
        .on(&[0x12], Reply::Data(vec![1, 2, 3]));
    let mut d = drive(s);
    let e = d.read_position().unwrap_err();
    assert_eq!(e.category(), Some(ErrorCategory::Decode));
    assert!(e.to_string().contains("READ POSITION"), "{e}");
    assert!(d.inquiry().is_err());
}
