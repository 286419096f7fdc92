//! `Drive<T>`: typed operations on an SSC-4 tape drive over any [`ScsiTransport`].

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::error::{run, ErrorCategory, NotReadyCause, ScsiError, Timeouts, UnitAttentionCause};
use crate::quirks::Quirks;
use crate::sense::{SenseData, SenseKey};
use crate::spc::attribute::{self, Attribute, AttributeValues, ReadAttributeAction};
use crate::spc::commands::{prevent_allow_medium_removal, test_unit_ready};
use crate::spc::inquiry::{self, StandardInquiry};
use crate::spc::log::{self, DeviceStatus, TapeAlertFlag, TapeCapacity, VolumeStatistics};
use crate::spc::mode::{self, BlockDescriptor, ModeData, PageControl};
use crate::ssc::block_limits::BlockLimits;
use crate::ssc::commands::{self as cmd, FormatField, LocateDestination, SpaceCode};
use crate::ssc::density::{self, DensityDescriptor, DensitySupport};
use crate::ssc::mode_pages::{
    DataCompressionPage, MediumPartitionPage, PAGE_DATA_COMPRESSION, PAGE_MEDIUM_PARTITION,
};
use crate::ssc::position::{read_position, Position, PositionForm};
use crate::transport::{DataPhase, ScsiTransport};

/// Failures of drive operations: a SCSI error, or an outcome the caller must handle.
#[derive(Debug, thiserror::Error)]
pub enum DriveError {
    #[error(transparent)]
    Scsi(#[from] ScsiError),
    /// READ found a record longer than the buffer (SSC-4 ILI with negative residue).
    #[error("record of {record_size} bytes does not fit a buffer of {buffer} bytes")]
    RecordTooLarge { record_size: u64, buffer: usize },
    /// `wait_ready` gave up; `last` is the last condition the drive reported.
    #[error("drive not ready after {waited:?}: {last}")]
    NotReady {
        waited: Duration,
        #[source]
        last: ScsiError,
    },
    /// The drive answered with something this operation cannot use.
    #[error("{0}")]
    Unexpected(String),
}

impl DriveError {
    /// Category of the underlying SCSI error, if any.
    pub fn category(&self) -> Option<ErrorCategory> {
        match self {
            DriveError::Scsi(e) | DriveError::NotReady { last: e, .. } => Some(e.category()),
            _ => None,
        }
    }
}

pub type Result<T, E = DriveError> = std::result::Result<T, E>;

/// What `identify` found out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriveIdentity {
    pub vendor: String,
    pub product: String,
    pub revision: String,
    /// Unit serial number (VPD 80h), when the drive reports one.
    pub serial: Option<String>,
    /// Highest writable density the drive supports (REPORT DENSITY SUPPORT).
    pub drive_density_code: Option<u8>,
    /// LTO generation of the drive, from `drive_density_code`.
    pub lto_generation: Option<u8>,
    /// Density of the loaded medium (mode block descriptor), when a medium is loaded.
    pub medium_density_code: Option<u8>,
}

/// Result of reading one block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOutcome {
    /// A record of this many bytes was read into the buffer.
    Data(usize),
    /// A filemark was read; the position is after it.
    Filemark,
    /// End of recorded data (BLANK CHECK).
    EndOfData,
    /// End of partition reached while reading.
    EndOfPartition,
}

/// Result of a write that succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    Written,
    /// Written, but the early-warning point is passed: finish up and stop.
    EarlyWarning,
}

/// What to space over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Space {
    /// Blocks, negative backwards.
    Blocks(i64),
    /// Filemarks, negative backwards.
    Filemarks(i64),
    EndOfData,
}

/// How a SPACE ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpaceOutcome {
    Done,
    /// Spacing over blocks stopped at a filemark; `residue` items were not spaced.
    Filemark {
        residue: i64,
    },
    /// Stopped at end of data.
    EndOfData {
        residue: i64,
    },
    /// Stopped at the beginning or end of the partition.
    PartitionBoundary {
        residue: i64,
    },
}

/// Size of the index partition (partition 0) for `format_partitioned`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum IndexPartitionSize {
    Megabytes(u32),
    /// Fraction of the native capacity (0 < f < 1).
    Fraction(f64),
}

/// An SSC tape drive.
pub struct Drive<T: ScsiTransport> {
    t: T,
    timeouts: Timeouts,
    quirks: Quirks,
    /// MODE SENSE/SELECT(10) unsupported: use the 6-byte forms.
    mode6: bool,
    /// LOCATE(16) unsupported.
    locate10: bool,
    /// Page 12h unsupported: TapeAlert from 2Eh.
    no_tape_alert_response: bool,
    /// Current block size (0 = variable), as last set or read.
    block_size: u32,
    poll_interval: Duration,
}

impl<T: ScsiTransport> std::fmt::Debug for Drive<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Drive")
            .field("quirks", &self.quirks)
            .field("block_size", &self.block_size)
            .finish_non_exhaustive()
    }
}

/// Sense of a CHECK CONDITION error with its residual count.
fn check_sense(e: &ScsiError) -> Option<(&SenseData, usize)> {
    match e {
        ScsiError::Check {
            sense, transferred, ..
        } => Some((sense, *transferred)),
        _ => None,
    }
}

impl<T: ScsiTransport> Drive<T> {
    pub fn new(t: T) -> Drive<T> {
        Drive {
            t,
            timeouts: Timeouts::default(),
            quirks: Quirks::default(),
            mode6: false,
            locate10: false,
            no_tape_alert_response: false,
            block_size: 0,
            poll_interval: Duration::from_secs(1),
        }
    }

    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    pub fn with_quirks(mut self, quirks: Quirks) -> Self {
        self.mode6 |= quirks.mode_sense_6_only;
        self.quirks = quirks;
        self
    }

    /// How often `wait_ready` polls.
    pub fn set_poll_interval(&mut self, d: Duration) {
        self.poll_interval = d;
    }

    pub fn quirks(&self) -> &Quirks {
        &self.quirks
    }

    pub fn timeouts(&self) -> &Timeouts {
        &self.timeouts
    }

    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.t
    }

    pub fn into_inner(self) -> T {
        self.t
    }

    /// Current block size (0 = variable) as far as this `Drive` knows.
    pub fn block_size(&self) -> u32 {
        self.block_size
    }

    fn none(&mut self, cdb: &[u8], timeout: Duration) -> Result<(), ScsiError> {
        run(&mut self.t, cdb, DataPhase::None, timeout).map(|_| ())
    }

    /// Data-in status command (INQUIRY, MODE/LOG SENSE, READ POSITION, attributes...) returning
    /// the bytes actually transferred.
    ///
    /// A drive reports a pending UNIT ATTENTION (power-on, medium changed) on the first command
    /// after the event (SAM-5 5.14, SPC-4 4.5.6) and does not execute that command. Status
    /// commands move nothing, so re-issuing them is safe; motion and data commands are never
    /// retried here, because after a reset or a medium change their position is gone.
    fn data_in(&mut self, cdb: &[u8], alloc: usize) -> Result<Vec<u8>, ScsiError> {
        // Several conditions may be queued (e.g. power-on, then medium changed).
        const ATTEMPTS: usize = 4;
        let mut buf = vec![0u8; alloc];
        let mut attempt = 1;
        let c = loop {
            match run(
                &mut self.t,
                cdb,
                DataPhase::In(&mut buf),
                self.timeouts.status,
            ) {
                Err(e) if attempt < ATTEMPTS && is_benign_unit_attention(e.category()) => {
                    tracing::debug!(error = %e, "unit attention cleared; re-issuing");
                    attempt += 1;
                }
                r => break r?,
            }
        };
        buf.truncate(c.transferred.min(alloc));
        Ok(buf)
    }

    fn data_out(&mut self, cdb: &[u8], data: &[u8], timeout: Duration) -> Result<(), ScsiError> {
        run(&mut self.t, cdb, DataPhase::Out(data), timeout).map(|_| ())
    }

    // ---- identification -------------------------------------------------------------

    pub fn inquiry(&mut self) -> Result<StandardInquiry> {
        let b = self.data_in(&inquiry::inquiry(96), 96)?;
        StandardInquiry::decode(&b).map_err(|source| decode_err(inquiry::INQUIRY, source))
    }

    /// Unit serial number (VPD 80h).
    pub fn serial_number(&mut self) -> Result<String> {
        let b = self.data_in(
            &inquiry::inquiry_vpd(inquiry::VPD_UNIT_SERIAL_NUMBER, 255),
            255,
        )?;
        inquiry::decode_unit_serial(&b).map_err(|source| decode_err(inquiry::INQUIRY, source))
    }

    /// Vendor, product, revision, serial and LTO generation. Also selects the device quirks.
    pub fn identify(&mut self) -> Result<DriveIdentity> {
        let q = self.inquiry()?;
        let quirks = Quirks::for_device(&q.vendor, &q.product);
        self.mode6 |= quirks.mode_sense_6_only;
        self.quirks = quirks;
        let serial = match self.serial_number() {
            Ok(s) if !s.is_empty() => Some(s),
            Ok(_) => None,
            Err(e) => {
                tracing::debug!(error = %e, "no unit serial number VPD page");
                None
            }
        };
        let drive_density_code = match self.density_support(false) {
            Ok(d) => d
                .iter()
                .filter(|d| d.wrtok)
                .map(|d| d.primary_density_code)
                .filter(|c| density::lto_generation(*c).is_some())
                .max_by_key(|c| (density::lto_generation(*c), *c != density::DENSITY_LTO7_M8)),
            Err(e) => {
                tracing::debug!(error = %e, "REPORT DENSITY SUPPORT failed");
                None
            }
        };
        let medium_density_code = match self.mode_sense(PAGE_DATA_COMPRESSION) {
            Ok(m) => m
                .block_descriptors
                .first()
                .map(|b| b.density_code)
                .filter(|c| *c != 0),
            Err(_) => None,
        };
        let lto_generation = drive_density_code
            .or(medium_density_code)
            .and_then(density::lto_generation);
        Ok(DriveIdentity {
            vendor: q.vendor,
            product: q.product,
            revision: q.revision,
            serial,
            drive_density_code,
            lto_generation,
            medium_density_code,
        })
    }

    /// REPORT DENSITY SUPPORT density descriptors; `media` restricts to the loaded medium.
    pub fn density_support(&mut self, media: bool) -> Result<Vec<DensityDescriptor>> {
        let cdb = cmd::report_density_support(media, false, 0x2000);
        let b = self.data_in(&cdb, 0x2000)?;
        match density::decode_density_support(&b, false) {
            Ok(DensitySupport::Densities(d)) => Ok(d),
            Ok(DensitySupport::MediumTypes(_)) => Err(DriveError::Unexpected(
                "medium type descriptors where density descriptors were asked".into(),
            )),
            Err(source) => Err(decode_err(cmd::REPORT_DENSITY_SUPPORT, source)),
        }
    }

    pub fn read_block_limits(&mut self) -> Result<BlockLimits> {
        let b = self.data_in(&cmd::read_block_limits(), 6)?;
        BlockLimits::decode(&b).map_err(|source| decode_err(cmd::READ_BLOCK_LIMITS, source))
    }

    // ---- readiness and medium handling -------------------------------------------------

    pub fn test_unit_ready(&mut self) -> Result<(), ScsiError> {
        let t = self.timeouts.status;
        self.none(&test_unit_ready(), t)
    }

    /// Poll TEST UNIT READY until the drive is ready or `timeout` passes. Waits on NOT READY
    /// 04/01 (becoming ready) and the vendor pause 04/85; swallows UNIT ATTENTION (power on,
    /// reset, medium changed, parameters changed); fails at once on any other condition,
    /// including medium not present.
    pub fn wait_ready(&mut self, timeout: Duration) -> Result<()> {
        let start = Instant::now();
        // Each TEST UNIT READY clears one queued UNIT ATTENTION; a device that keeps raising
        // them is polled at the normal pace after a few immediate retries.
        let mut attentions = 0u32;
        loop {
            let e = match self.test_unit_ready() {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            let retry_now = match e.category() {
                ErrorCategory::UnitAttention(c) => {
                    tracing::debug!(cause = ?c, "unit attention cleared while waiting");
                    attentions += 1;
                    attentions <= 8
                }
                ErrorCategory::NotReady(NotReadyCause::BecomingReady) | ErrorCategory::Busy => {
                    false
                }
                _ => return Err(e.into()),
            };
            let waited = start.elapsed();
            if waited >= timeout {
                return Err(DriveError::NotReady { waited, last: e });
            }
            if !retry_now {
                std::thread::sleep(self.poll_interval.min(timeout - waited));
            }
        }
    }

    pub fn load(&mut self) -> Result<()> {
        let t = self.timeouts.motion;
        let o = cmd::LoadUnload {
            load: true,
            ..Default::default()
        };
        Ok(self.none(&cmd::load_unload(o), t)?)
    }

    pub fn unload(&mut self) -> Result<()> {
        let t = self.timeouts.motion;
        Ok(self.none(&cmd::load_unload(cmd::LoadUnload::default()), t)?)
    }

    pub fn rewind(&mut self) -> Result<()> {
        let t = self.timeouts.motion;
        Ok(self.none(&cmd::rewind(false), t)?)
    }

    pub fn prevent_medium_removal(&mut self, prevent: bool) -> Result<()> {
        let t = self.timeouts.status;
        Ok(self.none(&prevent_allow_medium_removal(prevent), t)?)
    }

    // ---- positioning -----------------------------------------------------------------

    /// Locate to `block` of `partition` (LOCATE(16) with change-partition, falling back to
    /// LOCATE(10) on drives without it). The quirk offset is applied to the block.
    pub fn locate(&mut self, partition: u8, block: u64) -> Result<()> {
        let t = self.timeouts.motion;
        let target = self.quirks.locate_block(block);
        if !self.locate10 {
            let cdb = cmd::locate_16(
                LocateDestination::LogicalObject,
                target,
                Some(partition),
                false,
            );
            match self.none(&cdb, t) {
                Err(e) if e.is_invalid_opcode() => {
                    tracing::info!("LOCATE(16) unsupported, using LOCATE(10)");
                    self.locate10 = true;
                }
                r => return Ok(r?),
            }
        }
        let b32 = u32::try_from(target).map_err(|_| {
            DriveError::Unexpected(format!("block {target} beyond LOCATE(10) range"))
        })?;
        Ok(self.none(&cmd::locate_10(b32, Some(partition), false), t)?)
    }

    /// Locate to end of data of `partition` (LOCATE(16) destination EOD, else SPACE EOD).
    pub fn locate_end_of_data(&mut self, partition: u8) -> Result<()> {
        let t = self.timeouts.motion;
        if !self.locate10 {
            let cdb = cmd::locate_16(LocateDestination::EndOfData, 0, Some(partition), false);
            match self.none(&cdb, t) {
                Err(e) if e.is_invalid_opcode() => self.locate10 = true,
                r => return Ok(r?),
            }
        }
        self.locate(partition, 0)?;
        self.space(Space::EndOfData)?;
        Ok(())
    }

    /// READ POSITION, long form (partition, block, file); short form on drives without it.
    pub fn read_position(&mut self) -> Result<Position> {
        match self.read_position_form(PositionForm::Long) {
            Err(DriveError::Scsi(e)) if e.category() == ErrorCategory::IllegalRequest => {
                self.read_position_form(PositionForm::Short)
            }
            r => r,
        }
    }

    pub fn read_position_form(&mut self, form: PositionForm) -> Result<Position> {
        let b = self.data_in(&read_position(form), form.length())?;
        Position::decode(form, &b).map_err(|source| decode_err(cmd::READ_POSITION, source))
    }

    /// SPACE over blocks or filemarks, or to end of data.
    pub fn space(&mut self, what: Space) -> Result<SpaceOutcome> {
        let t = self.timeouts.motion;
        let (code, count) = match what {
            Space::Blocks(n) => (SpaceCode::Blocks, n),
            Space::Filemarks(n) => (SpaceCode::Filemarks, n),
            Space::EndOfData => (SpaceCode::EndOfData, 0),
        };
        let r = if (-(1i64 << 23)..(1i64 << 23)).contains(&count) {
            self.none(&cmd::space_6(code, count as i32), t)
        } else {
            self.none(&cmd::space_16(code, count), t)
        };
        let e = match r {
            Ok(()) => return Ok(SpaceOutcome::Done),
            Err(e) => e,
        };
        let Some((s, _)) = check_sense(&e) else {
            return Err(e.into());
        };
        let residue = s.residue().unwrap_or(0);
        Ok(match s.key() {
            SenseKey::NoSense | SenseKey::RecoveredError if s.filemark => {
                SpaceOutcome::Filemark { residue }
            }
            SenseKey::BlankCheck => SpaceOutcome::EndOfData { residue },
            SenseKey::NoSense | SenseKey::RecoveredError | SenseKey::MediumError
                if s.eom || matches!((s.asc, s.ascq), (0x00, 0x02) | (0x00, 0x04)) =>
            {
                SpaceOutcome::PartitionBoundary { residue }
            }
            SenseKey::NoSense | SenseKey::RecoveredError => SpaceOutcome::Done,
            _ => return Err(e.into()),
        })
    }

    // ---- data transfer -----------------------------------------------------------------

    /// Read one record. Variable mode: any record up to `buf.len()` gives `Data(n)`; a longer
    /// one is [`DriveError::RecordTooLarge`] (the position is then after that record). Fixed
    /// mode: reads `buf.len() / block_size` blocks.
    pub fn read_block(&mut self, buf: &mut [u8]) -> Result<ReadOutcome> {
        let t = self.timeouts.motion;
        let fixed = self.block_size != 0;
        let len = buf.len();
        let count = if fixed {
            len / self.block_size as usize
        } else {
            len
        };
        if count == 0 || count >= 1 << 24 {
            return Err(DriveError::Unexpected(format!(
                "read buffer of {len} bytes does not fit READ(6) (block size {})",
                self.block_size
            )));
        }
        let cdb = cmd::read_6(fixed, false, count as u32);
        let e = match run(&mut self.t, &cdb, DataPhase::In(buf), t) {
            Ok(c) => return Ok(ReadOutcome::Data(c.transferred.min(len))),
            Err(e) => e,
        };
        let Some((s, transferred)) = check_sense(&e) else {
            return Err(e.into());
        };
        if s.key() == SenseKey::BlankCheck {
            return Ok(ReadOutcome::EndOfData);
        }
        let informational = matches!(s.key(), SenseKey::NoSense | SenseKey::RecoveredError);
        if informational && s.filemark {
            return Ok(ReadOutcome::Filemark);
        }
        if informational && s.ili && !fixed {
            // SSC-4 4.2.x: information = requested length - actual record length.
            let residue = s.residue().unwrap_or(0);
            if residue < 0 {
                return Err(DriveError::RecordTooLarge {
                    record_size: (len as u64).saturating_add(residue.unsigned_abs()),
                    buffer: len,
                });
            }
            let n = usize::try_from(residue)
                .ok()
                .and_then(|r| len.checked_sub(r))
                .unwrap_or(transferred);
            return Ok(ReadOutcome::Data(n));
        }
        if s.eom
            && matches!(
                s.key(),
                SenseKey::NoSense | SenseKey::MediumError | SenseKey::VolumeOverflow
            )
        {
            return Ok(ReadOutcome::EndOfPartition);
        }
        if informational {
            return Ok(ReadOutcome::Data(transferred.min(len)));
        }
        Err(e.into())
    }

    /// Write one record (variable mode) or `buf.len() / block_size` blocks (fixed mode).
    /// VOLUME OVERFLOW comes back as an error (category `VolumeOverflow`).
    pub fn write_block(&mut self, buf: &[u8]) -> Result<WriteOutcome> {
        let t = self.timeouts.motion;
        let fixed = self.block_size != 0;
        let count = if fixed {
            buf.len() / self.block_size as usize
        } else {
            buf.len()
        };
        if count >= 1 << 24 || (fixed && !buf.len().is_multiple_of(self.block_size as usize)) {
            return Err(DriveError::Unexpected(format!(
                "write of {} bytes does not fit WRITE(6) (block size {})",
                buf.len(),
                self.block_size
            )));
        }
        let r = run(
            &mut self.t,
            &cmd::write_6(fixed, count as u32),
            DataPhase::Out(buf),
            t,
        );
        write_outcome(r.map(|_| ()))
    }

    /// Write `count` filemarks; `immediate` returns before they reach the medium (no flush).
    pub fn write_filemarks(&mut self, count: u32, immediate: bool) -> Result<WriteOutcome> {
        let t = self.timeouts.motion;
        write_outcome(self.none(&cmd::write_filemarks_6(count, immediate), t))
    }

    /// Flush the drive buffer to the medium (WRITE FILEMARKS with count 0).
    pub fn flush(&mut self) -> Result<WriteOutcome> {
        self.write_filemarks(0, false)
    }

    // ---- mode parameters -----------------------------------------------------------------

    /// MODE SENSE of `page` (current values): MODE SENSE(10), falling back to (6) for devices
    /// that reject it with ILLEGAL REQUEST 20/00.
    pub fn mode_sense(&mut self, page: u8) -> Result<ModeData> {
        if !self.mode6 {
            let cdb = mode::mode_sense_10(page, 0, PageControl::Current, false, 0x1000);
            match self.data_in(&cdb, 0x1000) {
                Ok(b) => {
                    return ModeData::decode_10(&b)
                        .map_err(|source| decode_err(mode::MODE_SENSE_10, source));
                }
                Err(e) if e.is_invalid_opcode() => {
                    tracing::info!("MODE SENSE(10) unsupported, using 6-byte mode commands");
                    self.mode6 = true;
                }
                Err(e) => return Err(e.into()),
            }
        }
        let cdb = mode::mode_sense_6(page, 0, PageControl::Current, false, 0xff);
        let b = self.data_in(&cdb, 0xff)?;
        ModeData::decode_6(&b).map_err(|source| decode_err(mode::MODE_SENSE_6, source))
    }

    /// MODE SELECT of `data` (PS bits and mode data length cleared by the encoders).
    pub fn mode_select(&mut self, data: &ModeData) -> Result<()> {
        let t = self.timeouts.status;
        if !self.mode6 {
            let list = data.encode_10();
            let len = u16::try_from(list.len())
                .map_err(|_| DriveError::Unexpected("mode parameter list too long".into()))?;
            match self.data_out(&mode::mode_select_10(len, false), &list, t) {
                Err(e) if e.is_invalid_opcode() => self.mode6 = true,
                r => return Ok(r?),
            }
        }
        let list = data.encode_6();
        let len = u8::try_from(list.len())
            .map_err(|_| DriveError::Unexpected("mode parameter list too long".into()))?;
        Ok(self.data_out(&mode::mode_select_6(len, false), &list, t)?)
    }

    /// Set the block size (0 = variable-block mode) through the mode block descriptor.
    pub fn set_block_size(&mut self, size: u32) -> Result<()> {
        if size >= 1 << 24 {
            return Err(DriveError::Unexpected(format!(
                "block size {size} over 24 bits"
            )));
        }
        let cur = self.mode_sense(PAGE_DATA_COMPRESSION)?;
        let sel = ModeData {
            medium_type: 0,
            device_specific: cur.device_specific,
            block_descriptors: vec![BlockDescriptor {
                // Density 0: keep the current density (SSC-4 8.3.2).
                density_code: 0,
                number_of_blocks: 0,
                block_length: size,
            }],
            pages: Vec::new(),
        };
        self.mode_select(&sel)?;
        self.block_size = size;
        Ok(())
    }

    /// Read the block size from the mode block descriptor.
    pub fn refresh_block_size(&mut self) -> Result<u32> {
        let m = self.mode_sense(PAGE_DATA_COMPRESSION)?;
        if let Some(bd) = m.block_descriptors.first() {
            self.block_size = bd.block_length;
        }
        Ok(self.block_size)
    }

    /// Enable or disable hardware compression (data compression page 0Fh, DCE).
    pub fn set_compression(&mut self, enabled: bool) -> Result<()> {
        let cur = self.mode_sense(PAGE_DATA_COMPRESSION)?;
        let page = cur.page(PAGE_DATA_COMPRESSION).ok_or_else(|| {
            DriveError::Unexpected("drive did not return the data compression page".into())
        })?;
        let mut c = DataCompressionPage::decode(page)
            .map_err(|source| decode_err(mode::MODE_SENSE_10, source))?;
        if enabled && !c.dcc {
            return Err(DriveError::Unexpected(
                "drive is not compression capable".into(),
            ));
        }
        c.dce = enabled;
        c.dde = true;
        let mut p = c.to_page();
        // Keep the drive's page length.
        p.data.resize(page.data.len().max(p.data.len()), 0);
        self.mode_select(&ModeData {
            medium_type: 0,
            device_specific: cur.device_specific,
            block_descriptors: Vec::new(),
            pages: vec![p],
        })
    }

    pub fn medium_partition_page(&mut self) -> Result<MediumPartitionPage> {
        Ok(self.medium_partition_mode()?.1)
    }

    /// The device-specific parameter (kept on MODE SELECT: it carries the buffered mode) and
    /// the medium partition page.
    fn medium_partition_mode(&mut self) -> Result<(u8, MediumPartitionPage)> {
        let m = self.mode_sense(PAGE_MEDIUM_PARTITION)?;
        let page = m.page(PAGE_MEDIUM_PARTITION).ok_or_else(|| {
            DriveError::Unexpected("drive did not return the medium partition page".into())
        })?;
        let p = MediumPartitionPage::decode(page)
            .map_err(|source| decode_err(mode::MODE_SENSE_10, source))?;
        Ok((m.device_specific, p))
    }

    /// Number of partitions on the loaded medium.
    pub fn partition_count(&mut self) -> Result<u16> {
        Ok(self.medium_partition_page()?.partition_count())
    }

    /// Format the medium into two partitions: partition 0 (index) of the given size, partition
    /// 1 the rest (MODE SELECT page 11h, then FORMAT MEDIUM partition).
    pub fn format_partitioned(&mut self, index: IndexPartitionSize) -> Result<()> {
        let mb: u64 = match index {
            IndexPartitionSize::Megabytes(m) => u64::from(m),
            IndexPartitionSize::Fraction(f) => {
                if !(f > 0.0 && f < 1.0) {
                    return Err(DriveError::Unexpected(format!("partition fraction {f}")));
                }
                let total = self.native_capacity_mb()?;
                ((total as f64) * f).ceil() as u64
            }
        };
        if mb == 0 {
            return Err(DriveError::Unexpected("index partition of 0 MB".into()));
        }
        let (device_specific, cur) = self.medium_partition_mode()?;
        if cur.maximum_additional_partitions < 1 {
            return Err(DriveError::Unexpected(
                "medium does not support partitions".into(),
            ));
        }
        // PSUM 10b (MB) when it fits 16 bits, else PSUM 11b with 10^9-byte units (SSC-4 8.3.5).
        let mut page = if mb < 0xffff {
            MediumPartitionPage::two_partitions(&cur, 2, mb as u16)
        } else {
            let gb = mb.div_ceil(1000).min(0xfffe) as u16;
            let mut p = MediumPartitionPage::two_partitions(&cur, 3, gb);
            p.partition_units = 9;
            p
        };
        page.clear = false;
        page.addp = false;
        self.mode_select(&ModeData {
            device_specific,
            pages: vec![page.to_page()],
            ..ModeData::default()
        })?;
        let t = self.timeouts.format;
        Ok(self.none(&cmd::format_medium(FormatField::Partition, false, false), t)?)
    }

    /// Format the medium as one partition.
    pub fn format_single(&mut self) -> Result<()> {
        let (device_specific, cur) = self.medium_partition_mode()?;
        if cur.additional_partitions_defined != 0 {
            let page = MediumPartitionPage::single(&cur);
            self.mode_select(&ModeData {
                device_specific,
                pages: vec![page.to_page()],
                ..ModeData::default()
            })?;
        }
        let t = self.timeouts.format;
        Ok(self.none(&cmd::format_medium(FormatField::Default, false, false), t)?)
    }

    /// Native capacity of the loaded medium in MB (volume statistics, else page 31h).
    pub fn native_capacity_mb(&mut self) -> Result<u64> {
        if !self.quirks.capacity_from_log_page_31 {
            if let Ok(v) = self.volume_statistics() {
                if let Some(c) = v.total_native_capacity_mb.filter(|c| *c > 0) {
                    return Ok(c);
                }
            }
        }
        let c = self.tape_capacity()?;
        let total = c.partition0_maximum_mb.unwrap_or(0) + c.partition1_maximum_mb.unwrap_or(0);
        if total == 0 {
            return Err(DriveError::Unexpected("drive reports no capacity".into()));
        }
        Ok(total)
    }

    // ---- medium auxiliary memory -----------------------------------------------------------

    /// One attribute of `partition`, `None` when the medium does not hold it.
    pub fn read_attribute(&mut self, partition: u8, id: u16) -> Result<Option<Attribute>> {
        let cdb =
            attribute::read_attribute(ReadAttributeAction::AttributeValues, partition, id, 0x1000);
        match self.data_in(&cdb, 0x1000) {
            Ok(b) => {
                let v = AttributeValues::decode(&b)
                    .map_err(|source| decode_err(attribute::READ_ATTRIBUTE, source))?;
                Ok(v.attributes.into_iter().find(|a| a.id == id))
            }
            // SPC-4 6.17: an attribute not present is ILLEGAL REQUEST, INVALID FIELD IN CDB.
            Err(e) if e.category() == ErrorCategory::IllegalRequest => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Every attribute of `partition`, growing the buffer when the drive has more.
    pub fn read_all_attributes(&mut self, partition: u8) -> Result<Vec<Attribute>> {
        let mut alloc: usize = 0x4000;
        loop {
            let cdb = attribute::read_attribute(
                ReadAttributeAction::AttributeValues,
                partition,
                0,
                alloc as u32,
            );
            let b = self.data_in(&cdb, alloc)?;
            let v = AttributeValues::decode(&b)
                .map_err(|source| decode_err(attribute::READ_ATTRIBUTE, source))?;
            let need = (v.available as usize).saturating_add(4);
            if need <= alloc || alloc >= 1 << 20 {
                return Ok(v.attributes);
            }
            alloc = need.min(1 << 20);
        }
    }

    /// WRITE ATTRIBUTE of `attrs` to `partition`.
    pub fn write_attributes(&mut self, partition: u8, attrs: &[Attribute]) -> Result<()> {
        let list = attribute::encode_attributes(attrs, false);
        let t = self.timeouts.status;
        Ok(self.data_out(
            &attribute::write_attribute(partition, list.len() as u32, false),
            &list,
            t,
        )?)
    }

    // ---- logs ------------------------------------------------------------------------------

    fn log_page(&mut self, page: u8) -> Result<Vec<u8>, ScsiError> {
        self.data_in(&log::log_sense(page, 0, 0, 0xfff0), 0xfff0)
    }

    /// Active TapeAlert flags. Page 12h (not clearing) when the drive has it, else page 2Eh
    /// (reading it clears the flags on most drives).
    pub fn tape_alerts(&mut self) -> Result<BTreeSet<TapeAlertFlag>> {
        if !self.no_tape_alert_response {
            match self.log_page(log::PAGE_TAPE_ALERT_RESPONSE) {
                Ok(b) => {
                    return log::decode_tape_alert_response(&b)
                        .map_err(|source| decode_err(log::LOG_SENSE, source));
                }
                Err(e) if e.category() == ErrorCategory::IllegalRequest => {
                    tracing::debug!("no TapeAlert response page, using page 2Eh");
                    self.no_tape_alert_response = true;
                }
                Err(e) => return Err(e.into()),
            }
        }
        let b = self.log_page(log::PAGE_TAPE_ALERT)?;
        log::decode_tape_alert(&b).map_err(|source| decode_err(log::LOG_SENSE, source))
    }

    pub fn volume_statistics(&mut self) -> Result<VolumeStatistics> {
        let b = self.log_page(log::PAGE_VOLUME_STATISTICS)?;
        VolumeStatistics::decode(&b).map_err(|source| decode_err(log::LOG_SENSE, source))
    }

    pub fn device_status(&mut self) -> Result<DeviceStatus> {
        let b = self.log_page(log::PAGE_DEVICE_STATUS)?;
        DeviceStatus::decode(&b).map_err(|source| decode_err(log::LOG_SENSE, source))
    }

    pub fn tape_capacity(&mut self) -> Result<TapeCapacity> {
        let b = self.log_page(log::PAGE_TAPE_CAPACITY)?;
        TapeCapacity::decode(&b).map_err(|source| decode_err(log::LOG_SENSE, source))
    }

    // ---- other SSC commands --------------------------------------------------------------------

    /// ALLOW OVERWRITE at the current position (`partition`, `block`), needed before an
    /// overwrite on drives in append-only mode (SSC-4 4.2.x).
    pub fn allow_overwrite(&mut self, partition: u8, block: u64) -> Result<()> {
        let t = self.timeouts.status;
        let cdb = cmd::allow_overwrite(cmd::AllowOverwrite::CurrentPosition, partition, block);
        Ok(self.none(&cdb, t)?)
    }

    /// ERASE from the current position; `long` erases to the end of the partition.
    pub fn erase(&mut self, long: bool) -> Result<()> {
        let t = if long {
            self.timeouts.format
        } else {
            self.timeouts.motion
        };
        Ok(self.none(&cmd::erase_6(long, false), t)?)
    }

    /// SET CAPACITY to `proportion`/65535 of the native capacity (at BOP of partition 0).
    pub fn set_capacity(&mut self, proportion: u16) -> Result<()> {
        let t = self.timeouts.format;
        Ok(self.none(&cmd::set_capacity(proportion, false), t)?)
    }
}

fn decode_err(opcode: u8, source: crate::decode::DecodeError) -> DriveError {
    DriveError::Scsi(ScsiError::Decode { opcode, source })
}

/// Turn a write completion into an outcome: early warning (EOM with NO SENSE / RECOVERED
/// ERROR, or 00/07 programmable early warning) is success with a warning.
fn write_outcome(r: Result<(), ScsiError>) -> Result<WriteOutcome> {
    let e = match r {
        Ok(()) => return Ok(WriteOutcome::Written),
        Err(e) => e,
    };
    if let Some((s, _)) = check_sense(&e) {
        let informational = matches!(s.key(), SenseKey::NoSense | SenseKey::RecoveredError);
        if informational
            && (s.eom || (s.asc, s.ascq) == (0x00, 0x07) || (s.asc, s.ascq) == (0x00, 0x02))
        {
            return Ok(WriteOutcome::EarlyWarning);
        }
        if informational && s.is_current() && !s.filemark && !s.ili {
            return Ok(WriteOutcome::Written);
        }
    }
    Err(e.into())
}

/// UNIT ATTENTION causes `wait_ready` swallows (exposed for the daemon's own loops).
pub fn is_benign_unit_attention(c: ErrorCategory) -> bool {
    matches!(
        c,
        ErrorCategory::UnitAttention(
            UnitAttentionCause::Reset
                | UnitAttentionCause::MediumMayHaveChanged
                | UnitAttentionCause::ModeParametersChanged
                | UnitAttentionCause::Other
        )
    )
}

#[cfg(test)]
mod tests;
