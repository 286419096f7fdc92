//! An SSC-4 LTO tape drive answering CDBs: identity and VPD ([`inquiry`]), mode pages
//! ([`mode`]), log pages ([`log`]), MAM ([`attributes`]), positioning and medium handling
//! ([`motion`]) and data transfer ([`io`]). [`cdb`] checks reserved bits for every supported
//! command. Every error is returned as sense data; nothing here panics on hostile input.

pub mod attributes;
pub mod cdb;
pub mod inquiry;
pub mod io;
pub mod log;
pub mod mode;
pub mod motion;

use std::collections::VecDeque;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tapelib_scsi::transport::{Completion, DataPhase, ScsiStatus};

use crate::cartridge::{Cartridge, CartridgeError};
use crate::media::{can_read, can_write, LtoGeneration, MediaKind};
use crate::sense::{key, SenseBuilder};
use crate::stats::DriveStats;
use crate::timing::{add_seconds, Activity, ModeledClock, TapePosition, TimeModel};

/// Vendor personality: what INQUIRY says and which vendor quirks apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Personality {
    #[default]
    Ibm,
    Hp,
}

/// What a drive is: generation, personality, serial, and optional identity overrides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriveSpec {
    pub generation: LtoGeneration,
    pub personality: Personality,
    pub serial: String,
    /// INQUIRY vendor identification (8 characters) instead of the personality's.
    pub vendor: Option<String>,
    /// INQUIRY product identification (16 characters) instead of the personality's.
    pub product: Option<String>,
}

/// Faults injected into a drive.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriveFaults {
    /// Every medium-access command fails with HARDWARE ERROR 04/44/00 (internal target failure).
    pub hardware_failure: bool,
    /// The drive asks for cleaning: TapeAlert flag 20 and the device status page's CRQST bit.
    /// Cleared when a cleaning cartridge is inserted.
    pub cleaning_required: bool,
    /// A power-on reset happened: the next command gets UNIT ATTENTION 06/29/00. The drive
    /// clears it once reported.
    pub power_on_reset: bool,
}

/// Errors of the drive's robot-side interface.
#[derive(Debug, thiserror::Error)]
pub enum DriveError {
    #[error("drive {serial} already holds cartridge {barcode}")]
    Occupied { serial: String, barcode: String },
    #[error("drive {serial}: {source}")]
    Cartridge {
        serial: String,
        #[source]
        source: CartridgeError,
    },
}

/// Where the cartridge is in the drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MediumState {
    /// No cartridge.
    Empty,
    /// Threaded and ready (or becoming ready at `ready_at`).
    Loaded,
    /// Unthreaded and ejected: the robot may take it.
    Ejected,
}

/// Logical position: partition and block address (records and filemarks both count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Position {
    pub partition: u8,
    pub block: u64,
}

/// Partitioning requested through mode page 0x11, applied by FORMAT MEDIUM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartitionPlan {
    /// Sizes in bytes; one entry per partition.
    pub sizes: Vec<u64>,
}

/// Flags of TapeAlert (SSC-4 annex; flag n is bit n-1).
pub(crate) mod tapealert {
    pub const HARD_ERROR: u8 = 3;
    pub const MEDIA: u8 = 4;
    pub const READ_FAILURE: u8 = 5;
    pub const WRITE_FAILURE: u8 = 6;
    pub const WRITE_PROTECT: u8 = 9;
    pub const UNSUPPORTED_FORMAT: u8 = 12;
    pub const CLEAN_NOW: u8 = 20;
    pub const HARDWARE_A: u8 = 30;
}

/// A simulated LTO drive.
#[derive(Debug)]
pub struct SimDrive {
    pub(crate) spec: DriveSpec,
    pub(crate) timing: TimeModel,
    pub(crate) clock: ModeledClock,
    pub(crate) stats: DriveStats,
    pub(crate) faults: DriveFaults,
    pub(crate) cart: Option<Cartridge>,
    pub(crate) state: MediumState,
    /// Why the cartridge in the drive was refused (sense key, ASC, ASCQ).
    pub(crate) refused: Option<(u8, u8, u8)>,
    pub(crate) ready_at: Option<Instant>,
    pub(crate) pos: Position,
    /// Fixed block length from the MODE SELECT block descriptor (0 = variable).
    pub(crate) block_length: u32,
    pub(crate) compression: bool,
    pub(crate) plan: Option<PartitionPlan>,
    pub(crate) prevent_removal: bool,
    pub(crate) unit_attentions: VecDeque<(u8, u8)>,
    pub(crate) tapealert: u64,
}

/// The result of a command handler: a completion (GOOD or CHECK CONDITION).
pub(crate) type CmdResult = Completion;

impl SimDrive {
    /// A drive with no cartridge; the first command sees the power-on UNIT ATTENTION 06/29/00.
    pub fn new(spec: DriveSpec, timing: TimeModel) -> SimDrive {
        let clock = ModeledClock::new(timing.scale);
        SimDrive {
            spec,
            timing,
            clock,
            stats: DriveStats::default(),
            faults: DriveFaults::default(),
            cart: None,
            state: MediumState::Empty,
            refused: None,
            ready_at: None,
            pos: Position::default(),
            block_length: 0,
            compression: true,
            plan: None,
            prevent_removal: false,
            unit_attentions: VecDeque::from([(0x29, 0x00)]),
            tapealert: 0,
        }
    }

    /// The drive's specification.
    pub fn spec(&self) -> &DriveSpec {
        &self.spec
    }

    /// The robot put `cart` into the drive: it loads and threads it as library drives do.
    /// A cleaning cartridge cleans the drive and is ejected; a cartridge of a generation the
    /// drive cannot read is ejected and reported as incompatible.
    pub fn insert(&mut self, cart: Cartridge) -> Result<(), DriveError> {
        if let Some(c) = &self.cart {
            return Err(DriveError::Occupied {
                serial: self.spec.serial.clone(),
                barcode: c.barcode().to_string(),
            });
        }
        let gen = self.spec.generation;
        let load_s = self.timing.load_seconds(gen);
        self.pos = Position::default();
        self.refused = None;
        let kind = cart.kind();
        let barcode = cart.barcode().to_string();
        // The cartridge is in the drive before the load time is modeled, so the seconds count
        // on it as well as on the drive.
        self.cart = Some(cart);
        match kind {
            MediaKind::Cleaning => {
                tracing::info!(drive = %self.spec.serial, %barcode, "cleaning");
                self.faults.cleaning_required = false;
                self.clear_alert(tapealert::CLEAN_NOW);
                self.busy(Activity::Load, load_s, true);
                self.refused = Some((key::NOT_READY, 0x30, 0x03));
                self.state = MediumState::Ejected;
            }
            kind if !can_read(gen, kind) => {
                tracing::warn!(drive = %self.spec.serial, %barcode, "incompatible medium");
                self.set_alert(tapealert::UNSUPPORTED_FORMAT);
                self.refused = Some((key::MEDIUM_ERROR, 0x30, 0x01));
                self.state = MediumState::Ejected;
            }
            _ => {
                self.busy(Activity::Load, load_s, true);
                if let Some(Err(source)) = self.cart.as_mut().map(Cartridge::record_load) {
                    // The load failed: the cartridge stays with the robot.
                    self.cart = None;
                    self.ready_at = None;
                    return Err(DriveError::Cartridge {
                        serial: self.spec.serial.clone(),
                        source,
                    });
                }
                self.stats.loads += 1;
                self.state = MediumState::Loaded;
                self.unit_attentions.push_back((0x28, 0x00));
            }
        }
        Ok(())
    }

    /// Puts `cart` back where it was when the simulator stopped: threaded (`loaded`) or
    /// unloaded and ejected. Unlike [`SimDrive::insert`] this is no new load: the load count
    /// (MAM 0003h), the statistics and the modeled time stay as they are, and the host sees
    /// the power-on UNIT ATTENTION 06/29/00 rather than 06/28/00 (SAM-5: a restart is a reset).
    pub fn restore(&mut self, cart: Cartridge, loaded: bool) -> Result<(), DriveError> {
        if let Some(c) = &self.cart {
            return Err(DriveError::Occupied {
                serial: self.spec.serial.clone(),
                barcode: c.barcode().to_string(),
            });
        }
        self.pos = Position::default();
        self.ready_at = None;
        self.refused = None;
        self.state = MediumState::Ejected;
        let kind = cart.kind();
        if kind == MediaKind::Cleaning {
            // A cleaning cartridge is never left threaded: it was ejected after cleaning.
            self.refused = Some((key::NOT_READY, 0x30, 0x03));
        } else if !can_read(self.spec.generation, kind) {
            self.refused = Some((key::MEDIUM_ERROR, 0x30, 0x01));
        } else if loaded {
            self.state = MediumState::Loaded;
        }
        self.cart = Some(cart);
        self.unit_attentions.clear();
        self.unit_attentions.push_back((0x29, 0x00));
        Ok(())
    }

    /// Barcode of the cartridge in the drive (loaded or ejected).
    pub fn loaded_barcode(&self) -> Option<String> {
        self.cart.as_ref().map(|c| c.barcode().to_string())
    }

    /// Whether a cartridge is in the drive (loaded or ejected).
    pub fn medium_present(&self) -> bool {
        self.cart.is_some()
    }

    /// Whether the cartridge is unloaded and ejected, so the robot may pull it.
    pub fn ready_for_removal(&self) -> bool {
        self.cart.is_some() && self.state == MediumState::Ejected
    }

    /// Whether removal is prevented by PREVENT ALLOW MEDIUM REMOVAL.
    pub fn removal_prevented(&self) -> bool {
        self.prevent_removal
    }

    /// The robot takes the ejected cartridge; `None` if there is none or it is still loaded.
    pub fn remove(&mut self) -> Option<Cartridge> {
        if !self.ready_for_removal() {
            return None;
        }
        self.take_cartridge()
    }

    /// Unloads (making data durable) and takes the cartridge whatever its state, as an
    /// operator pulling a tape from a failed drive would.
    pub fn force_remove(&mut self) -> Option<Cartridge> {
        if self.state == MediumState::Loaded {
            if let Some(c) = self.cart.as_mut() {
                if let Err(e) = c.record_unload() {
                    tracing::error!(drive = %self.spec.serial, error = %e, "sync on forced removal failed");
                }
            }
            self.stats.unloads += 1;
        }
        self.take_cartridge()
    }

    fn take_cartridge(&mut self) -> Option<Cartridge> {
        let cart = self.cart.take();
        self.state = MediumState::Empty;
        self.refused = None;
        self.ready_at = None;
        self.pos = Position::default();
        self.prevent_removal = false;
        cart
    }

    /// The cartridge in the drive, for fault injection and inspection.
    pub fn cartridge_mut(&mut self) -> Option<&mut Cartridge> {
        self.cart.as_mut()
    }

    pub fn cartridge(&self) -> Option<&Cartridge> {
        self.cart.as_ref()
    }

    /// Statistics of the drive, with the modeled seconds so far.
    pub fn stats(&self) -> DriveStats {
        let mut s = self.stats.clone();
        s.modeled_seconds = self.clock.spent().clone();
        s
    }

    /// Replaces the statistics (reloading persisted state).
    pub fn restore_stats(&mut self, stats: DriveStats) {
        self.clock.set_spent(stats.modeled_seconds.clone());
        self.stats = stats;
    }

    pub fn faults(&self) -> &DriveFaults {
        &self.faults
    }

    /// Injected faults; changes take effect with the next command.
    pub fn faults_mut(&mut self) -> &mut DriveFaults {
        &mut self.faults
    }

    /// Makes everything written so far durable.
    pub fn flush(&mut self) -> Result<(), CartridgeError> {
        match self.cart.as_mut() {
            Some(c) => c.sync(),
            None => Ok(()),
        }
    }

    /// Executes one CDB. Never panics; every failure is CHECK CONDITION with sense data.
    pub fn execute(&mut self, cdb: &[u8], data: DataPhase<'_>) -> Completion {
        let offered = data.len();
        let c = self.dispatch(cdb, data, offered);
        if c.status == ScsiStatus::CHECK_CONDITION {
            // The sense went back with the completion (autosense, SAM-5): it is not kept
            // for a later REQUEST SENSE.
            self.stats.check_conditions += 1;
        }
        c
    }

    fn dispatch(&mut self, cdb: &[u8], data: DataPhase<'_>, offered: usize) -> CmdResult {
        if let Err(c) = cdb::validate(cdb, offered) {
            return c;
        }
        let op = cdb[0];
        if self.faults.power_on_reset {
            // A reset restores the default mode parameters and drops the medium removal
            // prevention (SPC-4, power on); the loaded cartridge stays where it is.
            self.faults.power_on_reset = false;
            self.unit_attentions.clear();
            self.unit_attentions.push_back((0x29, 0x00));
            self.block_length = 0;
            self.compression = true;
            self.plan = None;
            self.prevent_removal = false;
        }
        // INQUIRY, REQUEST SENSE and REPORT LUNS never report a unit attention (SAM-5).
        if !matches!(op, 0x12 | 0x03 | 0xA0) {
            if let Some((asc, ascq)) = self.unit_attentions.pop_front() {
                return SenseBuilder::new(key::UNIT_ATTENTION, asc, ascq).check(offered);
            }
        }
        match op {
            0x12 => inquiry::inquiry(self, cdb, data),
            0x03 => self.request_sense(cdb, data),
            0xA0 => inquiry::report_luns(cdb, data),
            0x00 => self.test_unit_ready(offered),
            0x05 => inquiry::read_block_limits(cdb, data),
            0x1A | 0x5A => mode::mode_sense(self, cdb, data),
            0x15 | 0x55 => mode::mode_select(self, cdb, data),
            0x4D => log::log_sense(self, cdb, data),
            0x44 => inquiry::report_density_support(self, cdb, data),
            0x8C => attributes::read_attribute(self, cdb, data),
            0x8D => attributes::write_attribute(self, cdb, data),
            0x1E => self.prevent_allow(cdb, offered),
            0x16 | 0x17 => Completion::good(offered, 0),
            0x1B => motion::load_unload(self, cdb, offered),
            0x01 => motion::rewind(self, cdb, offered),
            0x11 | 0x91 => motion::space(self, cdb, offered),
            0x2B | 0x92 => motion::locate(self, cdb, offered),
            0x34 => motion::read_position(self, cdb, data),
            0x19 => motion::erase(self, cdb, offered),
            0x04 => motion::format_medium(self, cdb, offered),
            0x0B => motion::set_capacity(self, cdb, offered),
            0x82 => motion::allow_overwrite(self, cdb, offered),
            0x08 => io::read(self, cdb, data),
            0x0A => io::write(self, cdb, data),
            0x10 => io::write_filemarks(self, cdb, offered),
            _ => crate::sense::invalid_opcode(offered),
        }
    }

    fn request_sense(&mut self, cdb: &[u8], data: DataPhase<'_>) -> CmdResult {
        let alloc = usize::from(cdb[4]);
        if cdb[1] & 0x01 != 0 {
            // Descriptor format sense is not supported (SPC-4).
            return crate::sense::invalid_cdb_field(1, Some(0), data.len());
        }
        let sense = if let Some((asc, ascq)) = self.unit_attentions.pop_front() {
            SenseBuilder::new(key::UNIT_ATTENTION, asc, ascq).build()
        } else if let Err(c) = self.check_ready(0) {
            c.sense
        } else {
            SenseBuilder::new(key::NO_SENSE, 0, 0).build()
        };
        data_in(data, &sense, alloc)
    }

    fn test_unit_ready(&mut self, offered: usize) -> CmdResult {
        match self.check_ready(offered) {
            Ok(()) => Completion::good(offered, 0),
            Err(c) => c,
        }
    }

    fn prevent_allow(&mut self, cdb: &[u8], offered: usize) -> CmdResult {
        match cdb[4] & 0x03 {
            0 => self.prevent_removal = false,
            1 => self.prevent_removal = true,
            _ => return crate::sense::invalid_cdb_field(4, Some(1), offered),
        }
        Completion::good(offered, 0)
    }

    /// NOT READY / HARDWARE ERROR conditions for medium-access commands.
    pub(crate) fn check_ready(&mut self, offered: usize) -> Result<(), Completion> {
        if self.faults.hardware_failure {
            self.set_alert(tapealert::HARDWARE_A);
            return Err(SenseBuilder::new(key::HARDWARE_ERROR, 0x44, 0x00).check(offered));
        }
        match self.state {
            MediumState::Empty => {
                return Err(SenseBuilder::new(key::NOT_READY, 0x3A, 0x00).check(offered))
            }
            MediumState::Ejected => {
                let (k, asc, ascq) = self.refused.unwrap_or((key::NOT_READY, 0x3A, 0x00));
                return Err(SenseBuilder::new(k, asc, ascq).check(offered));
            }
            MediumState::Loaded => {}
        }
        if let Some(t) = self.ready_at {
            if Instant::now() < t {
                // SPC-4: LOGICAL UNIT IS IN PROCESS OF BECOMING READY.
                return Err(SenseBuilder::new(key::NOT_READY, 0x04, 0x01).check(offered));
            }
            self.ready_at = None;
        }
        Ok(())
    }

    /// Models `seconds` of mechanical work: with IMMED (or a robot-side load) at a non-zero
    /// scale the drive answers at once and is NOT READY 04/01 until the time has passed.
    pub(crate) fn busy(&mut self, activity: Activity, seconds: f64, immediate: bool) {
        if let Some(c) = self.cart.as_mut() {
            add_seconds(&mut c.stats_mut().modeled_seconds, activity, seconds);
        }
        let scale = self.clock.scale();
        if immediate && scale > 0.0 {
            self.clock.account(activity, seconds);
            let until =
                Instant::now() + std::time::Duration::from_secs_f64((seconds * scale).min(3600.0));
            self.ready_at = Some(self.ready_at.map_or(until, |t| t.max(until)));
        } else {
            self.clock.charge(activity, seconds);
        }
    }

    /// Whether the loaded medium may be written (tab and generation).
    pub(crate) fn check_writable(&mut self, offered: usize) -> Result<(), Completion> {
        let Some(c) = self.cart.as_ref() else {
            return Err(SenseBuilder::new(key::NOT_READY, 0x3A, 0x00).check(offered));
        };
        if c.write_protected() {
            self.set_alert(tapealert::WRITE_PROTECT);
            return Err(SenseBuilder::new(key::DATA_PROTECT, 0x27, 0x00).check(offered));
        }
        if !can_write(self.spec.generation, c.kind()) {
            // Readable but not writable generation: CANNOT WRITE MEDIUM, INCOMPATIBLE FORMAT.
            return Err(SenseBuilder::new(key::DATA_PROTECT, 0x30, 0x05).check(offered));
        }
        Ok(())
    }

    /// Serpentine position of the current logical position, for the locate model.
    pub(crate) fn tape_position(&self, pos: Position) -> TapePosition {
        let Some(c) = self.cart.as_ref() else {
            return TapePosition::BOT;
        };
        let gen = self.spec.generation;
        let offset = c
            .object(pos.partition, pos.block)
            .map_or_else(|| c.used_bytes(pos.partition), |e| e.offset);
        let total: u64 = (0..c.partition_count())
            .map(|p| c.partition_capacity(p))
            .sum::<u64>()
            .max(1);
        let wraps = gen.wraps();
        let mut first = 0u32;
        let mut mine = wraps;
        for p in 0..c.partition_count() {
            let share = ((u128::from(c.partition_capacity(p)) * u128::from(wraps)
                / u128::from(total)) as u32)
                .max(2)
                & !1;
            if p == pos.partition {
                mine = share;
                break;
            }
            first += share;
        }
        TapePosition::of_offset(
            gen,
            offset,
            c.partition_capacity(pos.partition),
            first,
            mine,
        )
    }

    /// Moves to `to`, charging the serpentine locate time and counting the distance.
    pub(crate) fn move_to(&mut self, to: Position, activity: Activity, immediate: bool) {
        let from_tp = self.tape_position(self.pos);
        let to_tp = self.tape_position(to);
        let gen = self.spec.generation;
        let secs = self.timing.locate_seconds(gen, from_tp, to_tp);
        let dist = (from_tp.longitudinal_m - to_tp.longitudinal_m).abs();
        self.stats.distance_m += dist;
        if let Some(c) = self.cart.as_mut() {
            c.stats_mut().distance_m += dist;
        }
        self.pos = to;
        self.busy(activity, secs, immediate);
    }

    pub(crate) fn set_alert(&mut self, flag: u8) {
        if (1..=64).contains(&flag) {
            self.tapealert |= 1u64 << (flag - 1);
        }
    }

    pub(crate) fn clear_alert(&mut self, flag: u8) {
        if (1..=64).contains(&flag) {
            self.tapealert &= !(1u64 << (flag - 1));
        }
    }

    /// Current TapeAlert flags, including the ones conditions keep raised.
    pub(crate) fn alerts(&self) -> u64 {
        let mut a = self.tapealert;
        if self.faults.cleaning_required {
            a |= 1u64 << (tapealert::CLEAN_NOW - 1);
        }
        if self.faults.hardware_failure {
            a |= 1u64 << (tapealert::HARDWARE_A - 1);
        }
        a
    }
}

/// Copies `bytes` (cut to `alloc` and to the buffer) into the data-in buffer.
pub(crate) fn data_in(data: DataPhase<'_>, bytes: &[u8], alloc: usize) -> Completion {
    match data {
        DataPhase::In(buf) => {
            let n = bytes.len().min(alloc).min(buf.len());
            buf[..n].copy_from_slice(&bytes[..n]);
            Completion::good(buf.len(), n)
        }
        other => Completion::good(other.len(), 0),
    }
}

/// Maps a cartridge store error to sense: CRC mismatch and I/O are unrecovered read errors.
pub(crate) fn medium_error_sense(e: &CartridgeError, write: bool) -> SenseBuilder {
    tracing::error!(error = %e, "cartridge store error");
    if write {
        SenseBuilder::new(key::MEDIUM_ERROR, 0x0C, 0x00)
    } else {
        SenseBuilder::new(key::MEDIUM_ERROR, 0x11, 0x00)
    }
}
