//! One end-to-end scenario of the SCSI layer against the simulator, written once over any
//! [`ScsiTransport`]: in process, over the simulator socket, or through SG_IO with the
//! interposer. It uses only the typed operations of [`Changer`] and [`Drive`]; operator actions
//! (inserting a cartridge, injecting faults) go through an [`Operator`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tapelib_scsi::spc::attribute::Attribute;
use tapelib_scsi::spc::log::TapeAlertFlag;
use tapelib_scsi::{
    Changer, Drive, DriveError, ErrorCategory, IndexPartitionSize, Inventory, MtxElement,
    NotReadyCause, ReadOutcome, ScsiError, ScsiTransport, SenseKey, WriteOutcome,
};
use tapelib_sim::client::SimControlClient;
use tapelib_sim::config::{FaultSpec, LibraryConfig, MediaOp, SlotRef};
use tapelib_sim::library::Library;

/// The library the scenario runs against: 8 slots, 2 I/E slots, an IBM LTO-8 and an HP LTO-7
/// drive; a plain cartridge, a write-protected one, a small one and one for media errors.
pub const CONFIG: &str = r#"
storage_slots = 8
ie_slots = 2
time_scale = 0.0

[changer]
vendor = "IBM"
product = "3573-TL"
serial = "SCNLIB0001"

[[drive]]
generation = "LTO-8"
personality = "IBM"
serial = "1013000001"

[[drive]]
generation = "LTO-7"
personality = "HP"
serial = "HU0000007"

[[cartridge]]
barcode = "SCN001L8"
slot = 1

[[cartridge]]
barcode = "SCN002L8"
slot = 2
write_protect = true

[[cartridge]]
barcode = "SCN003L8"
slot = 3
capacity = 4194304

[[cartridge]]
barcode = "SCN004L8"
slot = 4
"#;

/// Plain cartridge: loaded, written, partitioned, MAM.
const DATA: &str = "SCN001L8";
const PROTECTED: &str = "SCN002L8";
const SMALL: &str = "SCN003L8";
const SMALL_CAPACITY: u64 = 4 * 1024 * 1024;
const FAULTY: &str = "SCN004L8";
/// Inserted through the I/E station by the operator.
const IMPORTED: &str = "IEX001L8";
/// Storage slot the imported cartridge is moved to.
const IMPORT_DESTINATION_SLOT: u16 = 5;
/// Density code of LTO-8 media (LTO-6 5Ah, LTO-7 5Ch, LTO-8 5Eh, LTO-9 60h).
const LTO8_DENSITY: u8 = 0x5E;
/// MAM attribute identifiers (SPC-4 7.4.2).
const MAM_VOLUME_CHANGE_REFERENCE: u16 = 0x0009;
const MAM_USER_MEDIUM_TEXT_LABEL: u16 = 0x0803;
const MAM_BARCODE: u16 = 0x0806;
/// TapeAlert flag 20 (decimal): "clean now" (SSC-4 Annex A).
const TAPEALERT_CLEAN_NOW: u8 = 20;

/// Every step, in order; a complete run reports each one.
pub const STEPS: &[&str] = &[
    "changer_identify",
    "inventory",
    "mtx_numbering",
    "load",
    "drive_identify",
    "wait_ready",
    "variable_block_mode",
    "write",
    "read_position",
    "locate_read_back",
    "record_too_large",
    "partitions",
    "mam",
    "tapealert_and_statistics",
    "unload",
    "import_export",
    "write_protect",
    "early_warning",
    "media_error",
];

/// Operator actions on the library (outside SCSI).
pub trait Operator {
    /// Puts a cartridge into the first free I/E element; returns its address.
    fn insert(&mut self, barcode: &str) -> Result<u16, String>;
    fn inject_fault(&mut self, spec: FaultSpec) -> Result<(), String>;
    fn clear_faults(&mut self) -> Result<(), String>;
}

impl Operator for Arc<Library> {
    fn insert(&mut self, barcode: &str) -> Result<u16, String> {
        self.operator_insert(barcode, None)
            .map_err(|e| e.to_string())
    }
    fn inject_fault(&mut self, spec: FaultSpec) -> Result<(), String> {
        Library::inject_fault(self, spec).map_err(|e| e.to_string())
    }
    fn clear_faults(&mut self) -> Result<(), String> {
        Library::clear_faults(self);
        Ok(())
    }
}

impl Operator for SimControlClient {
    fn insert(&mut self, barcode: &str) -> Result<u16, String> {
        SimControlClient::insert(self, barcode, None).map_err(|e| e.to_string())
    }
    fn inject_fault(&mut self, spec: FaultSpec) -> Result<(), String> {
        SimControlClient::inject_fault(self, &spec).map_err(|e| e.to_string())
    }
    fn clear_faults(&mut self) -> Result<(), String> {
        SimControlClient::clear_faults(self).map_err(|e| e.to_string())
    }
}

/// A failed expectation or operation, with the step it happened in.
#[derive(Debug, thiserror::Error)]
#[error("step {step}: {message}")]
pub struct ScenarioError {
    pub step: &'static str,
    pub message: String,
}

/// Facts observed by each completed step (step name → key → value), for the caller to check
/// and print.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScenarioReport {
    pub steps: Vec<String>,
    pub facts: BTreeMap<String, BTreeMap<String, String>>,
}

type Result<T, E = ScenarioError> = std::result::Result<T, E>;

struct Run<'a, C: ScsiTransport, D: ScsiTransport> {
    changer: Changer<C>,
    drive: Drive<D>,
    operator: &'a mut dyn Operator,
    config: LibraryConfig,
    report: ScenarioReport,
    step: &'static str,
}

fn fail<T>(step: &'static str, message: impl Into<String>) -> Result<T> {
    Err(ScenarioError {
        step,
        message: message.into(),
    })
}

/// Runs the whole scenario on a freshly started library with [`CONFIG`]: `changer` addresses
/// `changer0`, `drive` addresses `drive0`.
pub fn run<C: ScsiTransport, D: ScsiTransport>(
    changer: C,
    drive: D,
    operator: &mut dyn Operator,
) -> Result<ScenarioReport> {
    let config = LibraryConfig::from_toml_str(CONFIG).map_err(|e| ScenarioError {
        step: "config",
        message: e.to_string(),
    })?;
    let mut r = Run {
        changer: Changer::new(changer),
        drive: Drive::new(drive),
        operator,
        config,
        report: ScenarioReport::default(),
        step: "start",
    };
    r.drive.set_poll_interval(Duration::from_millis(10));
    r.changer_identify()?;
    r.inventory()?;
    r.mtx_numbering()?;
    r.load()?;
    r.drive_identify()?;
    r.wait_ready()?;
    r.variable_block_mode()?;
    r.write()?;
    r.read_position()?;
    r.locate_read_back()?;
    r.record_too_large()?;
    r.partitions()?;
    r.mam()?;
    r.tapealert_and_statistics()?;
    r.unload()?;
    r.import_export()?;
    r.write_protect()?;
    r.early_warning()?;
    r.media_error()?;
    Ok(r.report)
}

/// Records written in the `write` step: sizes, then a filemark after the first five and after
/// the last two.
const RECORD_SIZES: [usize; 7] = [1, 512, 65_536, 262_144, 1_000, 4_096, 3];
const FIRST_FILE: usize = 5;

/// Deterministic contents of record `index` of `len` bytes.
fn record(index: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(31) ^ index.wrapping_mul(131) ^ (i >> 8)) as u8)
        .collect()
}

impl<C: ScsiTransport, D: ScsiTransport> Run<'_, C, D> {
    fn begin(&mut self, step: &'static str) {
        tracing::info!(step, "scenario step");
        self.step = step;
    }

    fn done(&mut self) {
        self.report.steps.push(self.step.to_string());
    }

    fn fact(&mut self, key: &str, value: impl ToString) {
        self.report
            .facts
            .entry(self.step.to_string())
            .or_default()
            .insert(key.to_string(), value.to_string());
    }

    fn check(&self, ok: bool, message: impl FnOnce() -> String) -> Result<()> {
        if ok {
            Ok(())
        } else {
            fail(self.step, message())
        }
    }

    fn eq<T: PartialEq + std::fmt::Debug>(&self, what: &str, got: T, want: T) -> Result<()> {
        self.check(got == want, || {
            format!("{what}: got {got:?}, expected {want:?}")
        })
    }

    fn ok<T, E: std::fmt::Display>(&self, what: &str, r: std::result::Result<T, E>) -> Result<T> {
        r.map_err(|e| ScenarioError {
            step: self.step,
            message: format!("{what}: {e}"),
        })
    }

    fn storage(&self, n: u16) -> Result<u16> {
        match self.config.storage_address(n) {
            Some(a) => Ok(a),
            None => fail(self.step, format!("no storage slot {n}")),
        }
    }

    fn ie(&self, n: u16) -> Result<u16> {
        match self.config.ie_address(n) {
            Some(a) => Ok(a),
            None => fail(self.step, format!("no I/E slot {n}")),
        }
    }

    fn drive_address(&self, index: u16) -> Result<u16> {
        match self.config.drive_address(index) {
            Some(a) => Ok(a),
            None => fail(self.step, format!("no drive {index}")),
        }
    }

    /// Inventory, clearing at most a few pending UNIT ATTENTIONs on the way (the first command
    /// after the mail slot was used reports 06/28/01, SMC-3 6.1).
    fn inventory_now(&mut self) -> Result<(Inventory, Vec<ErrorCategory>)> {
        let mut attentions = Vec::new();
        loop {
            match self.changer.inventory() {
                Ok(inv) => return Ok((inv, attentions)),
                Err(e) if e.is_unit_attention() && attentions.len() < 4 => {
                    attentions.push(e.category());
                    self.changer.invalidate_layout();
                }
                Err(e) => return fail(self.step, format!("inventory: {e}")),
            }
        }
    }

    fn move_medium(&mut self, from: u16, to: u16) -> Result<()> {
        let r = self.changer.move_medium(from, to);
        self.ok(&format!("MOVE MEDIUM {from} -> {to}"), r)
    }

    /// Asserts the element at `address` holds `barcode` (or is empty for `None`).
    fn expect_element(&self, inv: &Inventory, address: u16, barcode: Option<&str>) -> Result<()> {
        let Some(e) = inv.element(address) else {
            return fail(
                self.step,
                format!("element {address} missing from inventory"),
            );
        };
        self.eq(
            &format!("element {address} full"),
            e.full,
            barcode.is_some(),
        )?;
        self.eq(
            &format!("element {address} barcode"),
            e.barcode.as_deref(),
            barcode,
        )
    }

    fn changer_identify(&mut self) -> Result<()> {
        self.begin("changer_identify");
        let id = self.changer.identify();
        let id = self.ok("INQUIRY", id)?;
        self.eq("peripheral device type", id.peripheral_device_type, 0x08)?;
        self.eq(
            "vendor",
            id.vendor.as_str(),
            self.config.changer.vendor.as_str(),
        )?;
        self.eq(
            "product",
            id.product.as_str(),
            self.config.changer.product.as_str(),
        )?;
        self.fact("vendor", &id.vendor);
        self.fact("product", &id.product);
        self.done();
        Ok(())
    }

    fn inventory(&mut self) -> Result<()> {
        self.begin("inventory");
        let (inv, _) = self.inventory_now()?;
        self.check(!inv.transports.is_empty(), || "no medium transport".into())?;
        self.eq(
            "storage elements",
            inv.storage.len(),
            usize::from(self.config.storage_slots),
        )?;
        self.eq(
            "I/E elements",
            inv.import_export.len(),
            usize::from(self.config.ie_slots),
        )?;
        self.eq("drives", inv.drives.len(), self.config.drives.len())?;
        for n in 1..=self.config.storage_slots {
            let want = self
                .config
                .cartridges
                .iter()
                .find(|c| c.slot == Some(SlotRef::Storage(n)))
                .map(|c| c.barcode.as_str());
            self.expect_element(&inv, self.storage(n)?, want)?;
        }
        for n in 1..=self.config.ie_slots {
            self.expect_element(&inv, self.ie(n)?, None)?;
        }
        for (i, d) in self.config.drives.iter().enumerate() {
            let addr = self.drive_address(i as u16)?;
            self.expect_element(&inv, addr, None)?;
            let Some(el) = inv.drives.iter().find(|e| e.state.address == addr) else {
                return fail(self.step, format!("drive element {addr} missing"));
            };
            self.eq(
                &format!("DVCID serial of drive {i}"),
                el.serial.as_deref(),
                Some(d.serial.as_str()),
            )?;
        }
        self.fact("storage", inv.storage.len());
        self.fact("import_export", inv.import_export.len());
        self.fact("drives", inv.drives.len());
        self.fact(
            "drive0_serial",
            inv.drives
                .first()
                .and_then(|d| d.serial.clone())
                .unwrap_or_default(),
        );
        self.done();
        Ok(())
    }

    fn mtx_numbering(&mut self) -> Result<()> {
        self.begin("mtx_numbering");
        let (inv, _) = self.inventory_now()?;
        let slots = u32::from(self.config.storage_slots);
        self.eq(
            "mtx number of storage slot 1",
            inv.mtx_slot_number(self.storage(1)?),
            Some(MtxElement::Slot(1)),
        )?;
        self.eq(
            "mtx number of the last storage slot",
            inv.mtx_slot_number(self.storage(self.config.storage_slots)?),
            Some(MtxElement::Slot(slots)),
        )?;
        // mtx numbers I/E slots after the storage slots.
        self.eq(
            "mtx number of I/E slot 1",
            inv.mtx_slot_number(self.ie(1)?),
            Some(MtxElement::Slot(slots + 1)),
        )?;
        self.eq(
            "mtx number of drive 1",
            inv.mtx_slot_number(self.drive_address(1)?),
            Some(MtxElement::Drive(1)),
        )?;
        self.eq(
            "address of mtx slot after the I/E slots",
            inv.address_of_mtx(MtxElement::Slot(
                slots + u32::from(self.config.ie_slots) + 1,
            )),
            None,
        )?;
        self.eq(
            "address of mtx slot 2",
            inv.address_of_mtx(MtxElement::Slot(2)),
            Some(self.storage(2)?),
        )?;
        self.eq(
            "slot of SCN004L8",
            inv.find_barcode(FAULTY),
            Some(self.storage(4)?),
        )?;
        self.fact("ie1", format!("{:?}", inv.mtx_slot_number(self.ie(1)?)));
        self.done();
        Ok(())
    }

    /// Moves the cartridge in storage slot `slot` into drive 0 and waits until it is ready.
    fn mount(&mut self, slot: u16, barcode: &str) -> Result<()> {
        let (from, to) = (self.storage(slot)?, self.drive_address(0)?);
        self.move_medium(from, to)?;
        let r = self.drive.wait_ready(Duration::from_secs(30));
        self.ok(&format!("{barcode} ready"), r)?;
        let r = self.drive.set_block_size(0);
        self.ok("variable block mode", r)
    }

    /// Unloads drive 0 and moves its cartridge back to storage slot `slot`.
    fn dismount(&mut self, slot: u16) -> Result<()> {
        let r = self.drive.unload();
        self.ok("UNLOAD", r)?;
        let (from, to) = (self.drive_address(0)?, self.storage(slot)?);
        self.move_medium(from, to)
    }

    fn load(&mut self) -> Result<()> {
        self.begin("load");
        let (from, to) = (self.storage(1)?, self.drive_address(0)?);
        self.move_medium(from, to)?;
        let (inv, _) = self.inventory_now()?;
        self.expect_element(&inv, from, None)?;
        self.expect_element(&inv, to, Some(DATA))?;
        let source = inv.element(to).and_then(|e| e.source_address);
        self.eq("source address of the loaded cartridge", source, Some(from))?;
        self.fact("drive0", DATA);
        self.done();
        Ok(())
    }

    fn drive_identify(&mut self) -> Result<()> {
        self.begin("drive_identify");
        // The first commands after the load report the medium change (06/28/00) and the
        // load in progress; wait_ready clears them before the identity is read.
        let r = self.drive.wait_ready(Duration::from_secs(30));
        self.ok("wait_ready after the load", r)?;
        let id = self.drive.identify();
        let id = self.ok("identify", id)?;
        self.eq("vendor", id.vendor.as_str(), "IBM")?;
        self.eq("product", id.product.as_str(), "ULT3580-TD8")?;
        let (inv, _) = self.inventory_now()?;
        let dvcid = inv.drives.first().and_then(|d| d.serial.clone());
        self.eq(
            "serial (VPD 80h)",
            id.serial.clone(),
            Some("1013000001".into()),
        )?;
        self.eq(
            "serial matches the changer's DVCID",
            id.serial.clone(),
            dvcid,
        )?;
        self.eq("LTO generation", id.lto_generation, Some(8))?;
        self.eq("medium density", id.medium_density_code, Some(LTO8_DENSITY))?;
        self.fact("product", &id.product);
        self.fact("serial", id.serial.unwrap_or_default());
        self.fact("generation", id.lto_generation.unwrap_or(0));
        self.done();
        Ok(())
    }

    fn wait_ready(&mut self) -> Result<()> {
        self.begin("wait_ready");
        let r = self.drive.wait_ready(Duration::from_secs(30));
        self.ok("wait_ready", r)?;
        let r = self.drive.test_unit_ready();
        self.ok("TEST UNIT READY after wait_ready", r)?;
        self.done();
        Ok(())
    }

    fn variable_block_mode(&mut self) -> Result<()> {
        self.begin("variable_block_mode");
        let r = self.drive.set_block_size(0);
        self.ok("set_block_size(0)", r)?;
        self.eq("cached block size", self.drive.block_size(), 0)?;
        let r = self.drive.refresh_block_size();
        let size = self.ok("MODE SENSE block size", r)?;
        self.eq("block size from the drive", size, 0)?;
        self.fact("block_size", size);
        self.done();
        Ok(())
    }

    fn write(&mut self) -> Result<()> {
        self.begin("write");
        let r = self.drive.rewind();
        self.ok("REWIND", r)?;
        for (i, len) in RECORD_SIZES.iter().enumerate() {
            let r = self.drive.write_block(&record(i, *len));
            let w = self.ok(&format!("WRITE record {i} ({len} bytes)"), r)?;
            self.eq(&format!("outcome of record {i}"), w, WriteOutcome::Written)?;
            if i + 1 == FIRST_FILE {
                let r = self.drive.write_filemarks(1, false);
                self.ok("WRITE FILEMARKS", r)?;
            }
        }
        let r = self.drive.write_filemarks(1, false);
        self.ok("WRITE FILEMARKS", r)?;
        self.fact("records", RECORD_SIZES.len());
        self.fact("bytes", RECORD_SIZES.iter().sum::<usize>());
        self.done();
        Ok(())
    }

    fn read_position(&mut self) -> Result<()> {
        self.begin("read_position");
        let r = self.drive.read_position();
        let p = self.ok("READ POSITION", r)?;
        // Seven records and two filemarks are logical objects 0..=8.
        self.eq("partition", p.partition, 0)?;
        self.eq("block", p.block, RECORD_SIZES.len() as u64 + 2)?;
        self.check(!p.bpu, || "block position unknown".into())?;
        self.check(!p.bop, || "at beginning of partition after writing".into())?;
        self.fact("block", p.block);
        self.done();
        Ok(())
    }

    fn expect_read(&mut self, buf: &mut [u8], want: ReadOutcome, what: &str) -> Result<()> {
        let r = self.drive.read_block(buf);
        let got = self.ok(what, r)?;
        self.eq(what, got, want)
    }

    fn locate_read_back(&mut self) -> Result<()> {
        self.begin("locate_read_back");
        let r = self.drive.locate(0, 0);
        self.ok("LOCATE 0/0", r)?;
        let r = self.drive.read_position();
        let p = self.ok("READ POSITION", r)?;
        self.eq("block after locate", p.block, 0)?;
        self.check(p.bop, || "not at beginning of partition".into())?;
        let mut buf = vec![0u8; 512 * 1024];
        for (i, len) in RECORD_SIZES.iter().enumerate() {
            self.expect_read(&mut buf, ReadOutcome::Data(*len), &format!("record {i}"))?;
            let same = buf.get(..*len) == Some(record(i, *len).as_slice());
            self.check(same, || format!("record {i} differs from what was written"))?;
            if i + 1 == FIRST_FILE {
                self.expect_read(&mut buf, ReadOutcome::Filemark, "first filemark")?;
            }
        }
        self.expect_read(&mut buf, ReadOutcome::Filemark, "second filemark")?;
        self.expect_read(&mut buf, ReadOutcome::EndOfData, "end of data")?;
        // Locate back into the middle: the second file starts after the first filemark.
        let r = self.drive.locate(0, FIRST_FILE as u64 + 1);
        self.ok("LOCATE to the second file", r)?;
        self.expect_read(
            &mut buf,
            ReadOutcome::Data(RECORD_SIZES[FIRST_FILE]),
            "first record of the second file",
        )?;
        let same = buf.get(..RECORD_SIZES[FIRST_FILE])
            == Some(record(FIRST_FILE, RECORD_SIZES[FIRST_FILE]).as_slice());
        self.check(same, || "second file's first record differs".into())?;
        self.fact("records_compared", RECORD_SIZES.len() + 1);
        self.done();
        Ok(())
    }

    fn record_too_large(&mut self) -> Result<()> {
        self.begin("record_too_large");
        // Record 3 is 256 KiB.
        let r = self.drive.locate(0, 3);
        self.ok("LOCATE 0/3", r)?;
        let mut small = vec![0u8; 1000];
        match self.drive.read_block(&mut small) {
            Err(DriveError::RecordTooLarge {
                record_size,
                buffer,
            }) => {
                self.eq("record size", record_size, RECORD_SIZES[3] as u64)?;
                self.eq("buffer", buffer, 1000)?;
                self.fact("record_size", record_size);
            }
            other => {
                return fail(
                    self.step,
                    format!("READ of a 256 KiB record into 1000 bytes: {other:?}"),
                )
            }
        }
        // SSC-4 4.2.x: the position is after the oversized record.
        let r = self.drive.read_position();
        let p = self.ok("READ POSITION", r)?;
        self.eq("block after the oversized record", p.block, 4)?;
        let mut buf = vec![0u8; 4096];
        self.expect_read(&mut buf, ReadOutcome::Data(RECORD_SIZES[4]), "next record")?;
        self.done();
        Ok(())
    }

    fn partitions(&mut self) -> Result<()> {
        self.begin("partitions");
        let r = self
            .drive
            .format_partitioned(IndexPartitionSize::Megabytes(64));
        self.ok("FORMAT two partitions", r)?;
        let r = self.drive.partition_count();
        self.eq("partition count", self.ok("MODE SENSE 11h", r)?, 2)?;
        let labels = [b"index partition".as_slice(), b"data partition".as_slice()];
        for (p, label) in labels.iter().enumerate().rev() {
            let r = self.drive.locate(p as u8, 0);
            self.ok(&format!("LOCATE {p}/0"), r)?;
            let r = self.drive.write_block(label);
            self.ok(&format!("WRITE in partition {p}"), r)?;
            let r = self.drive.write_filemarks(1, false);
            self.ok(&format!("WRITE FILEMARKS in partition {p}"), r)?;
        }
        let mut buf = vec![0u8; 1024];
        for (p, label) in labels.iter().enumerate() {
            let r = self.drive.locate(p as u8, 0);
            self.ok(&format!("LOCATE {p}/0"), r)?;
            let r = self.drive.read_position();
            let pos = self.ok("READ POSITION", r)?;
            self.eq("partition after locate", pos.partition, p as u32)?;
            self.eq("block after locate", pos.block, 0)?;
            self.expect_read(&mut buf, ReadOutcome::Data(label.len()), "partition record")?;
            self.eq("partition record", buf.get(..label.len()), Some(*label))?;
            self.expect_read(&mut buf, ReadOutcome::Filemark, "partition filemark")?;
            self.expect_read(&mut buf, ReadOutcome::EndOfData, "partition end of data")?;
        }
        // Across partitions in one LOCATE: 0 → 1 at block 1 (after the record).
        let r = self.drive.locate(1, 1);
        self.ok("LOCATE 1/1", r)?;
        let r = self.drive.read_position();
        let pos = self.ok("READ POSITION", r)?;
        self.eq(
            "position after LOCATE 1/1",
            (pos.partition, pos.block),
            (1, 1),
        )?;
        self.expect_read(&mut buf, ReadOutcome::Filemark, "filemark at 1/1")?;
        self.fact("partitions", 2);
        self.done();
        Ok(())
    }

    fn attribute(&mut self, id: u16) -> Result<Attribute> {
        let r = self.drive.read_attribute(0, id);
        match self.ok(&format!("READ ATTRIBUTE {id:04x}h"), r)? {
            Some(a) => Ok(a),
            None => fail(self.step, format!("attribute {id:04x}h missing")),
        }
    }

    fn mam(&mut self) -> Result<()> {
        self.begin("mam");
        let label = "tapelib scenario label";
        let attrs = [
            Attribute::text(MAM_USER_MEDIUM_TEXT_LABEL, label, 160),
            Attribute::ascii(MAM_BARCODE, DATA, 32),
        ];
        let r = self.drive.write_attributes(0, &attrs);
        self.ok("WRITE ATTRIBUTE", r)?;
        let a = self.attribute(MAM_USER_MEDIUM_TEXT_LABEL)?;
        self.eq("user medium text label", a.as_string().as_str(), label)?;
        let a = self.attribute(MAM_BARCODE)?;
        self.eq("barcode attribute", a.as_string().as_str(), DATA)?;
        let before = self.attribute(MAM_VOLUME_CHANGE_REFERENCE)?.as_u64();
        self.check(before.is_some(), || {
            "volume change reference unreadable".into()
        })?;
        let r = self.drive.locate_end_of_data(1);
        self.ok("LOCATE end of data", r)?;
        let r = self.drive.write_block(b"changes the volume");
        self.ok("WRITE", r)?;
        let r = self.drive.flush();
        self.ok("flush", r)?;
        let after = self.attribute(MAM_VOLUME_CHANGE_REFERENCE)?.as_u64();
        self.check(after.is_some() && after != before, || {
            format!("volume change reference did not change on write: {before:?} -> {after:?}")
        })?;
        self.fact("label", label);
        self.fact("vcr_before", before.unwrap_or_default());
        self.fact("vcr_after", after.unwrap_or_default());
        self.done();
        Ok(())
    }

    fn tapealert_and_statistics(&mut self) -> Result<()> {
        self.begin("tapealert_and_statistics");
        let r = self.drive.tape_alerts();
        let flags = self.ok("TapeAlert", r)?;
        self.check(flags.is_empty(), || {
            format!("unexpected TapeAlert flags {flags:?}")
        })?;
        let r = self
            .operator
            .inject_fault(FaultSpec::CleaningRequired { drive: 0 });
        self.ok("inject cleaning-required", r)?;
        let r = self.drive.tape_alerts();
        let flags = self.ok("TapeAlert", r)?;
        let clean = TapeAlertFlag(TAPEALERT_CLEAN_NOW);
        self.eq(
            "TapeAlert flags with cleaning required",
            flags.iter().copied().collect::<Vec<_>>(),
            vec![clean],
        )?;
        self.fact("flag", clean.name());
        let r = self.operator.clear_faults();
        self.ok("clear faults", r)?;
        let r = self.drive.tape_alerts();
        let flags = self.ok("TapeAlert", r)?;
        self.check(flags.is_empty(), || {
            format!("flags after clearing: {flags:?}")
        })?;

        let r = self.drive.volume_statistics();
        let v = self.ok("volume statistics", r)?;
        self.eq("volume mounts", v.volume_mounts, Some(1))?;
        self.check(v.datasets_written.is_some_and(|n| n > 0), || {
            format!("datasets written {:?}", v.datasets_written)
        })?;
        self.check(v.datasets_read.is_some_and(|n| n > 0), || {
            format!("datasets read {:?}", v.datasets_read)
        })?;
        self.eq("write protect", v.write_protect, Some(false))?;
        self.check(
            v.volume_serial.as_ref().is_some_and(|s| !s.is_empty()),
            || format!("volume serial {:?}", v.volume_serial),
        )?;
        // Parameter 0042h: the volume's barcode as the drive saw it.
        let barcode = v
            .raw
            .iter()
            .find(|p| p.code == 0x0042)
            .map(|p| String::from_utf8_lossy(&p.value).trim().to_string());
        self.eq(
            "barcode in volume statistics",
            barcode.as_deref(),
            Some(DATA),
        )?;
        self.fact("datasets_written", v.datasets_written.unwrap_or_default());
        self.fact("volume_serial", v.volume_serial.unwrap_or_default());
        self.done();
        Ok(())
    }

    fn unload(&mut self) -> Result<()> {
        self.begin("unload");
        let r = self.drive.unload();
        self.ok("UNLOAD", r)?;
        match self.drive.test_unit_ready() {
            Err(e) if e.is_not_ready() => self.fact("after_unload", format!("{:?}", e.category())),
            other => {
                return fail(
                    self.step,
                    format!("TEST UNIT READY after unload: {other:?}"),
                )
            }
        }
        let (from, to) = (self.drive_address(0)?, self.storage(1)?);
        self.move_medium(from, to)?;
        let (inv, _) = self.inventory_now()?;
        self.expect_element(&inv, from, None)?;
        self.expect_element(&inv, to, Some(DATA))?;
        match self.drive.test_unit_ready() {
            Err(e) if e.category() == ErrorCategory::NotReady(NotReadyCause::MediumNotPresent) => {}
            other => {
                return fail(
                    self.step,
                    format!("TEST UNIT READY of an empty drive: {other:?}"),
                )
            }
        }
        self.done();
        Ok(())
    }

    fn import_export(&mut self) -> Result<()> {
        self.begin("import_export");
        let r = self.operator.insert(IMPORTED);
        let address = self.ok("operator insert", r)?;
        self.eq("I/E element used", address, self.ie(1)?)?;
        let (inv, attentions) = self.inventory_now()?;
        self.check(
            attentions.contains(&ErrorCategory::UnitAttention(
                tapelib_scsi::UnitAttentionCause::ImportExportAccessed,
            )),
            || format!("no 06/28/01 after the insert: {attentions:?}"),
        )?;
        self.expect_element(&inv, address, Some(IMPORTED))?;
        let imported = inv
            .import_export
            .iter()
            .find(|e| e.state.address == address)
            .is_some_and(|e| e.imported);
        self.check(imported, || "I/E element not flagged as imported".into())?;
        let dest = self.storage(IMPORT_DESTINATION_SLOT)?;
        self.move_medium(address, dest)?;
        let (inv, _) = self.inventory_now()?;
        self.expect_element(&inv, address, None)?;
        self.expect_element(&inv, dest, Some(IMPORTED))?;
        self.fact("unit_attentions", attentions.len());
        self.fact("moved_to", dest);
        self.done();
        Ok(())
    }

    fn write_protect(&mut self) -> Result<()> {
        self.begin("write_protect");
        self.mount(2, PROTECTED)?;
        let r = self.drive.rewind();
        self.ok("REWIND", r)?;
        match self.drive.write_block(b"must not be written") {
            Err(e) => {
                self.eq("category", e.category(), Some(ErrorCategory::DataProtect))?;
                let kaa = scsi_error(&e).and_then(ScsiError::key_asc_ascq);
                self.eq("sense", kaa, Some((SenseKey::DataProtect, 0x27, 0x00)))?;
            }
            Ok(w) => return fail(self.step, format!("write to a protected cartridge: {w:?}")),
        }
        let r = self.drive.volume_statistics();
        let v = self.ok("volume statistics", r)?;
        self.eq("write protect", v.write_protect, Some(true))?;
        self.dismount(2)?;
        self.done();
        Ok(())
    }

    fn early_warning(&mut self) -> Result<()> {
        self.begin("early_warning");
        self.mount(3, SMALL)?;
        let r = self.drive.rewind();
        self.ok("REWIND", r)?;
        let chunk = record(0, 64 * 1024);
        let mut written = 0u64;
        let mut warned_at = None;
        let overflow = loop {
            if written > 2 * SMALL_CAPACITY {
                return fail(self.step, format!("no overflow after {written} bytes"));
            }
            match self.drive.write_block(&chunk) {
                Ok(WriteOutcome::Written) => {
                    self.check(warned_at.is_none(), || {
                        "Written reported after early warning".into()
                    })?;
                    written += chunk.len() as u64;
                }
                Ok(WriteOutcome::EarlyWarning) => {
                    warned_at.get_or_insert(written);
                    written += chunk.len() as u64;
                }
                Err(e) => break e,
            }
        };
        self.eq(
            "category",
            overflow.category(),
            Some(ErrorCategory::VolumeOverflow),
        )?;
        let kaa = scsi_error(&overflow).and_then(ScsiError::key_asc_ascq);
        self.eq("sense", kaa, Some((SenseKey::VolumeOverflow, 0x00, 0x02)))?;
        let Some(warned_at) = warned_at else {
            return fail(self.step, "overflow without early warning first");
        };
        self.check(warned_at > 0 && warned_at < SMALL_CAPACITY, || {
            format!("early warning after {warned_at} of {SMALL_CAPACITY} bytes")
        })?;
        self.check(written <= SMALL_CAPACITY, || {
            format!("{written} bytes accepted by a {SMALL_CAPACITY}-byte cartridge")
        })?;
        self.fact("early_warning_at", warned_at);
        self.fact("accepted", written);
        self.dismount(3)?;
        self.done();
        Ok(())
    }

    fn media_error(&mut self) -> Result<()> {
        self.begin("media_error");
        self.mount(4, FAULTY)?;
        let r = self.drive.rewind();
        self.ok("REWIND", r)?;
        for i in 0..8 {
            let r = self.drive.write_block(&record(i, 2048));
            self.ok(&format!("WRITE record {i}"), r)?;
        }
        let r = self.drive.write_filemarks(1, false);
        self.ok("WRITE FILEMARKS", r)?;
        let r = self.operator.inject_fault(FaultSpec::MediaError {
            barcode: FAULTY.into(),
            partition: 0,
            block: 5,
            op: MediaOp::Read,
        });
        self.ok("inject media error", r)?;
        let r = self.drive.locate(0, 0);
        self.ok("LOCATE 0/0", r)?;
        let mut buf = vec![0u8; 4096];
        for i in 0..5 {
            self.expect_read(&mut buf, ReadOutcome::Data(2048), &format!("record {i}"))?;
            let same = buf.get(..2048) == Some(record(i, 2048).as_slice());
            self.check(same, || format!("record {i} differs"))?;
        }
        match self.drive.read_block(&mut buf) {
            Err(e) => {
                self.eq("category", e.category(), Some(ErrorCategory::MediumError))?;
                let Some(sense) = scsi_error(&e).and_then(ScsiError::sense) else {
                    return fail(self.step, format!("medium error without sense: {e}"));
                };
                self.eq("sense key", sense.key(), SenseKey::MediumError)?;
                self.eq("asc/ascq", sense.asc_ascq(), (0x11, 0x00))?;
                self.fact("sense", sense);
            }
            Ok(o) => return fail(self.step, format!("READ of the faulty block: {o:?}")),
        }
        let r = self.operator.clear_faults();
        self.ok("clear faults", r)?;
        let r = self.drive.locate(0, 5);
        self.ok("LOCATE 0/5", r)?;
        self.expect_read(&mut buf, ReadOutcome::Data(2048), "record 5 after clearing")?;
        self.dismount(4)?;
        self.done();
        Ok(())
    }
}

fn scsi_error(e: &DriveError) -> Option<&ScsiError> {
    match e {
        DriveError::Scsi(s) | DriveError::NotReady { last: s, .. } => Some(s),
        _ => None,
    }
}
