//! The typed SCSI error, its categories, and the command runner every device uses.

use std::time::Duration;

use crate::decode::DecodeError;
use crate::sense::{SenseData, SenseKey};
use crate::transport::{Completion, DataPhase, ScsiStatus, ScsiTransport, TransportError};

/// A command failed: below SCSI, with a status, with sense, or with an undecodable response.
#[derive(Debug, thiserror::Error)]
pub enum ScsiError {
    #[error("{} (0x{opcode:02x}): {source}", opcode_name(*opcode))]
    Transport {
        opcode: u8,
        #[source]
        source: TransportError,
    },
    /// CHECK CONDITION with decodable sense. `transferred`/`residual` come from the completion:
    /// informational conditions (filemark, early warning, ILI) still move data.
    #[error("{} (0x{opcode:02x}): {sense}", opcode_name(*opcode))]
    Check {
        opcode: u8,
        sense: SenseData,
        transferred: usize,
        residual: usize,
    },
    /// A non-GOOD status without usable sense (BUSY, RESERVATION CONFLICT, TASK SET FULL, or
    /// CHECK CONDITION whose sense was missing or undecodable).
    #[error("{} (0x{opcode:02x}): status {}", opcode_name(*opcode), status_name(*status))]
    Status {
        opcode: u8,
        status: ScsiStatus,
        /// Raw sense bytes, if any arrived.
        sense: Vec<u8>,
    },
    #[error("{} (0x{opcode:02x}): bad response: {source}", opcode_name(*opcode))]
    Decode {
        opcode: u8,
        #[source]
        source: DecodeError,
    },
}

/// Cause of a NOT READY condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotReadyCause {
    /// 04/01, and the vendor "library paused" 04/85: retry later.
    BecomingReady,
    /// 3A/xx.
    MediumNotPresent,
    /// 04/03 (manual intervention), 3A/02 (tray open), 04/12 (offline): needs an operator.
    DoorOpen,
    Other,
}

/// Cause of a UNIT ATTENTION condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnitAttentionCause {
    /// 29/xx power on, reset.
    Reset,
    /// 28/00.
    MediumMayHaveChanged,
    /// 28/01 an import/export element was opened or closed.
    ImportExportAccessed,
    /// 2A/xx.
    ModeParametersChanged,
    Other,
}

/// What an error means for the caller, independent of the exact codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCategory {
    NotReady(NotReadyCause),
    UnitAttention(UnitAttentionCause),
    MediumError,
    HardwareError,
    IllegalRequest,
    /// 20/00 specifically: the device does not implement the opcode (fallbacks use this).
    InvalidOpcode,
    /// DATA PROTECT: write protected cartridge, WORM overwrite.
    DataProtect,
    /// BLANK CHECK: end of data or blank medium.
    EndOfData,
    VolumeOverflow,
    AbortedCommand,
    /// NO SENSE / RECOVERED ERROR carried with CHECK CONDITION (informational).
    Informational,
    Busy,
    ReservationConflict,
    Transport,
    Timeout,
    Decode,
    Other,
}

impl ScsiError {
    pub fn opcode(&self) -> u8 {
        match self {
            ScsiError::Transport { opcode, .. }
            | ScsiError::Check { opcode, .. }
            | ScsiError::Status { opcode, .. }
            | ScsiError::Decode { opcode, .. } => *opcode,
        }
    }

    /// Decoded sense, for CHECK CONDITION errors.
    pub fn sense(&self) -> Option<&SenseData> {
        match self {
            ScsiError::Check { sense, .. } => Some(sense),
            _ => None,
        }
    }

    /// `(key, ASC, ASCQ)` when sense is available.
    pub fn key_asc_ascq(&self) -> Option<(SenseKey, u8, u8)> {
        self.sense().map(|s| (s.key(), s.asc, s.ascq))
    }

    pub fn category(&self) -> ErrorCategory {
        match self {
            ScsiError::Transport {
                source: TransportError::Timeout(_),
                ..
            } => ErrorCategory::Timeout,
            ScsiError::Transport { .. } => ErrorCategory::Transport,
            ScsiError::Decode { .. } => ErrorCategory::Decode,
            ScsiError::Status { status, .. } => match status.0 & 0x3e {
                0x08 => ErrorCategory::Busy,
                0x18 => ErrorCategory::ReservationConflict,
                0x28 => ErrorCategory::Busy, // TASK SET FULL: retry later, as BUSY
                0x40 => ErrorCategory::AbortedCommand,
                _ => ErrorCategory::Other,
            },
            ScsiError::Check { sense, .. } => category_of_sense(sense),
        }
    }

    pub fn is_not_ready(&self) -> bool {
        matches!(self.category(), ErrorCategory::NotReady(_))
    }

    pub fn is_unit_attention(&self) -> bool {
        matches!(self.category(), ErrorCategory::UnitAttention(_))
    }

    /// The device does not implement this command (ILLEGAL REQUEST 20/00).
    pub fn is_invalid_opcode(&self) -> bool {
        self.category() == ErrorCategory::InvalidOpcode
    }
}

/// Category of a sense (SPC-4 4.5.6 keys refined by ASC/ASCQ).
pub fn category_of_sense(sense: &SenseData) -> ErrorCategory {
    let (asc, ascq) = (sense.asc, sense.ascq);
    match sense.key() {
        SenseKey::NotReady => ErrorCategory::NotReady(match (asc, ascq) {
            (0x04, 0x01) | (0x04, 0x85) | (0x04, 0x04) | (0x04, 0x07) => {
                NotReadyCause::BecomingReady
            }
            (0x3a, 0x02) | (0x04, 0x03) | (0x04, 0x12) => NotReadyCause::DoorOpen,
            (0x3a, _) => NotReadyCause::MediumNotPresent,
            _ => NotReadyCause::Other,
        }),
        SenseKey::UnitAttention => ErrorCategory::UnitAttention(match (asc, ascq) {
            (0x29, _) => UnitAttentionCause::Reset,
            (0x28, 0x00) => UnitAttentionCause::MediumMayHaveChanged,
            (0x28, 0x01) => UnitAttentionCause::ImportExportAccessed,
            (0x2a, _) => UnitAttentionCause::ModeParametersChanged,
            _ => UnitAttentionCause::Other,
        }),
        SenseKey::MediumError => ErrorCategory::MediumError,
        SenseKey::HardwareError => ErrorCategory::HardwareError,
        SenseKey::IllegalRequest if (asc, ascq) == (0x20, 0x00) => ErrorCategory::InvalidOpcode,
        SenseKey::IllegalRequest => ErrorCategory::IllegalRequest,
        SenseKey::DataProtect => ErrorCategory::DataProtect,
        SenseKey::BlankCheck => ErrorCategory::EndOfData,
        SenseKey::VolumeOverflow => ErrorCategory::VolumeOverflow,
        SenseKey::AbortedCommand => ErrorCategory::AbortedCommand,
        SenseKey::NoSense | SenseKey::RecoveredError => ErrorCategory::Informational,
        _ => ErrorCategory::Other,
    }
}

fn status_name(s: ScsiStatus) -> String {
    let name = match s.0 & 0x3e {
        0x00 => "GOOD",
        0x02 => "CHECK CONDITION (no usable sense)",
        0x04 => "CONDITION MET",
        0x08 => "BUSY",
        0x18 => "RESERVATION CONFLICT",
        0x28 => "TASK SET FULL",
        0x30 => "ACA ACTIVE",
        0x40 => "TASK ABORTED",
        _ => "unknown",
    };
    format!("{name} (0x{:02x})", s.0)
}

/// Name of an operation code used by tape drives and changers (SPC-4, SSC-4, SMC-3).
pub fn opcode_name(opcode: u8) -> &'static str {
    match opcode {
        0x00 => "TEST UNIT READY",
        0x01 => "REWIND",
        0x03 => "REQUEST SENSE",
        0x04 => "FORMAT MEDIUM",
        0x05 => "READ BLOCK LIMITS",
        0x07 => "INITIALIZE ELEMENT STATUS",
        0x08 => "READ(6)",
        0x0a => "WRITE(6)",
        0x0b => "SET CAPACITY",
        0x10 => "WRITE FILEMARKS(6)",
        0x11 => "SPACE(6)",
        0x12 => "INQUIRY",
        0x15 => "MODE SELECT(6)",
        0x16 => "RESERVE(6)",
        0x17 => "RELEASE(6)",
        0x19 => "ERASE(6)",
        0x1a => "MODE SENSE(6)",
        // SSC LOAD UNLOAD and SMC OPEN/CLOSE IMPORT/EXPORT ELEMENT share opcode 1Bh.
        0x1b => "LOAD UNLOAD / OPEN/CLOSE IMPORT/EXPORT ELEMENT",
        0x1d => "SEND DIAGNOSTIC",
        0x1e => "PREVENT ALLOW MEDIUM REMOVAL",
        // SSC LOCATE(10) and SMC POSITION TO ELEMENT share opcode 2Bh.
        0x2b => "LOCATE(10) / POSITION TO ELEMENT",
        0x34 => "READ POSITION",
        0x37 => "INITIALIZE ELEMENT STATUS WITH RANGE",
        0x3b => "WRITE BUFFER",
        0x3c => "READ BUFFER",
        0x44 => "REPORT DENSITY SUPPORT",
        0x4c => "LOG SELECT",
        0x4d => "LOG SENSE",
        0x55 => "MODE SELECT(10)",
        0x5a => "MODE SENSE(10)",
        0x5e => "PERSISTENT RESERVE IN",
        0x5f => "PERSISTENT RESERVE OUT",
        0x82 => "ALLOW OVERWRITE",
        0x8c => "READ ATTRIBUTE",
        0x8d => "WRITE ATTRIBUTE",
        0x91 => "SPACE(16)",
        0x92 => "LOCATE(16)",
        0x93 => "ERASE(16)",
        0xa0 => "REPORT LUNS",
        0xa2 => "SECURITY PROTOCOL IN",
        0xa3 => "MAINTENANCE IN",
        0xa5 => "MOVE MEDIUM",
        0xa6 => "EXCHANGE MEDIUM",
        0xb5 => "SECURITY PROTOCOL OUT",
        0xb8 => "READ ELEMENT STATUS",
        _ => "UNKNOWN COMMAND",
    }
}

/// Per-class command timeouts. Defaults follow what drive vendors document for LTO and
/// libraries; all are configurable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// INQUIRY, TEST UNIT READY, READ POSITION, MODE/LOG SENSE, attributes, status commands.
    pub status: Duration,
    /// Tape motion: LOAD/UNLOAD, REWIND, LOCATE, SPACE, READ, WRITE, WRITE FILEMARKS, short
    /// ERASE, robot moves.
    pub motion: Duration,
    /// INITIALIZE ELEMENT STATUS (a full library scan).
    pub initialize_element_status: Duration,
    /// FORMAT MEDIUM, long ERASE, SET CAPACITY.
    pub format: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            status: Duration::from_secs(30),
            motion: Duration::from_secs(10 * 60),
            initialize_element_status: Duration::from_secs(30 * 60),
            format: Duration::from_secs(4 * 60 * 60),
        }
    }
}

impl Timeouts {
    /// The timeout class for an opcode (long ERASE and FORMAT are recognised by opcode; short
    /// ERASE callers may pass `motion` explicitly).
    pub fn for_opcode(&self, opcode: u8) -> Duration {
        match opcode {
            0x07 | 0x37 => self.initialize_element_status,
            0x04 | 0x0b | 0x19 | 0x93 => self.format,
            0x01 | 0x08 | 0x0a | 0x10 | 0x11 | 0x1b | 0x2b | 0x91 | 0x92 | 0xa5 | 0xa6 => {
                self.motion
            }
            _ => self.status,
        }
    }
}

/// Execute one CDB and classify the outcome: GOOD (and CONDITION MET) is `Ok`; CHECK CONDITION
/// with decodable sense is [`ScsiError::Check`]; any other status is [`ScsiError::Status`].
pub fn run<T: ScsiTransport + ?Sized>(
    t: &mut T,
    cdb: &[u8],
    data: DataPhase<'_>,
    timeout: Duration,
) -> Result<Completion, ScsiError> {
    let opcode = cdb.first().copied().unwrap_or(0);
    let c = t
        .execute(cdb, data, timeout)
        .map_err(|source| ScsiError::Transport { opcode, source })?;
    check_completion(opcode, c)
}

/// Classify a completion (the part of [`run`] that does not talk to a device).
pub fn check_completion(opcode: u8, c: Completion) -> Result<Completion, ScsiError> {
    if c.status.is_good() {
        return Ok(c);
    }
    if c.status.0 & 0x3e == ScsiStatus::CHECK_CONDITION.0 {
        if let Ok(sense) = SenseData::decode(&c.sense) {
            tracing::debug!(
                opcode = format_args!("0x{opcode:02x}"),
                %sense,
                "check condition"
            );
            return Err(ScsiError::Check {
                opcode,
                sense,
                transferred: c.transferred,
                residual: c.residual,
            });
        }
    }
    Err(ScsiError::Status {
        opcode,
        status: c.status,
        sense: c.sense,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(Result<Completion, ()>);

    impl ScsiTransport for Fixed {
        fn execute(
            &mut self,
            _cdb: &[u8],
            _data: DataPhase<'_>,
            timeout: Duration,
        ) -> Result<Completion, TransportError> {
            self.0.clone().map_err(|_| TransportError::Timeout(timeout))
        }
    }

    fn sense(key: SenseKey, asc: u8, ascq: u8) -> Vec<u8> {
        SenseData::new(key, asc, ascq).to_fixed_bytes()
    }

    #[test]
    fn good_is_ok() {
        let mut t = Fixed(Ok(Completion::good(36, 36)));
        let c = run(
            &mut t,
            &[0x12, 0, 0, 0, 36, 0],
            DataPhase::None,
            Duration::from_secs(1),
        );
        assert_eq!(c.unwrap().transferred, 36);
    }

    #[test]
    fn check_condition_keeps_sense_and_counts() {
        let mut t = Fixed(Ok(Completion::check_condition(
            sense(SenseKey::NotReady, 0x3a, 0x00),
            512,
            0,
        )));
        let e = run(
            &mut t,
            &[0x08, 1, 0, 0, 1, 0],
            DataPhase::None,
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert_eq!(e.opcode(), 0x08);
        assert_eq!(
            e.category(),
            ErrorCategory::NotReady(NotReadyCause::MediumNotPresent)
        );
        assert!(matches!(e, ScsiError::Check { residual: 512, .. }));
        let text = e.to_string();
        assert!(text.contains("READ(6)"), "{text}");
        assert!(
            text.contains("NOT READY 3A/00 (MEDIUM NOT PRESENT)"),
            "{text}"
        );
    }

    #[test]
    fn check_condition_without_sense_is_status() {
        let mut t = Fixed(Ok(Completion::check_condition(vec![], 0, 0)));
        let e = run(&mut t, &[0x00; 6], DataPhase::None, Duration::from_secs(1)).unwrap_err();
        assert!(matches!(e, ScsiError::Status { .. }));
        assert_eq!(e.category(), ErrorCategory::Other);
    }

    #[test]
    fn busy_and_reservation_conflict() {
        let mut c = Completion::good(0, 0);
        c.status = ScsiStatus::BUSY;
        let e = check_completion(0xa5, c.clone()).unwrap_err();
        assert_eq!(e.category(), ErrorCategory::Busy);
        assert!(e.to_string().contains("MOVE MEDIUM"));
        c.status = ScsiStatus::RESERVATION_CONFLICT;
        let e = check_completion(0xa5, c).unwrap_err();
        assert_eq!(e.category(), ErrorCategory::ReservationConflict);
    }

    #[test]
    fn transport_timeout_category() {
        let mut t = Fixed(Err(()));
        let e = run(&mut t, &[0x01; 6], DataPhase::None, Duration::from_secs(3)).unwrap_err();
        assert_eq!(e.category(), ErrorCategory::Timeout);
        assert_eq!(e.opcode(), 0x01);
    }

    #[test]
    fn categories() {
        let cat = |k, a, q| category_of_sense(&SenseData::new(k, a, q));
        use ErrorCategory as C;
        assert_eq!(
            cat(SenseKey::NotReady, 0x04, 0x01),
            C::NotReady(NotReadyCause::BecomingReady)
        );
        assert_eq!(
            cat(SenseKey::NotReady, 0x04, 0x85),
            C::NotReady(NotReadyCause::BecomingReady)
        );
        assert_eq!(
            cat(SenseKey::NotReady, 0x3a, 0x02),
            C::NotReady(NotReadyCause::DoorOpen)
        );
        assert_eq!(
            cat(SenseKey::UnitAttention, 0x29, 0x01),
            C::UnitAttention(UnitAttentionCause::Reset)
        );
        assert_eq!(
            cat(SenseKey::UnitAttention, 0x28, 0x00),
            C::UnitAttention(UnitAttentionCause::MediumMayHaveChanged)
        );
        assert_eq!(
            cat(SenseKey::UnitAttention, 0x28, 0x01),
            C::UnitAttention(UnitAttentionCause::ImportExportAccessed)
        );
        assert_eq!(
            cat(SenseKey::UnitAttention, 0x2a, 0x01),
            C::UnitAttention(UnitAttentionCause::ModeParametersChanged)
        );
        assert_eq!(cat(SenseKey::IllegalRequest, 0x20, 0x00), C::InvalidOpcode);
        assert_eq!(cat(SenseKey::IllegalRequest, 0x24, 0x00), C::IllegalRequest);
        assert_eq!(cat(SenseKey::DataProtect, 0x27, 0x00), C::DataProtect);
        assert_eq!(cat(SenseKey::BlankCheck, 0x00, 0x05), C::EndOfData);
        assert_eq!(cat(SenseKey::VolumeOverflow, 0x00, 0x02), C::VolumeOverflow);
        assert_eq!(cat(SenseKey::MediumError, 0x11, 0x00), C::MediumError);
        assert_eq!(cat(SenseKey::HardwareError, 0x44, 0x00), C::HardwareError);
        assert_eq!(cat(SenseKey::AbortedCommand, 0x00, 0x00), C::AbortedCommand);
        assert_eq!(cat(SenseKey::NoSense, 0x00, 0x01), C::Informational);
    }

    #[test]
    fn timeouts_by_class() {
        let t = Timeouts::default();
        assert_eq!(t.for_opcode(0x12), Duration::from_secs(30));
        assert_eq!(t.for_opcode(0x34), Duration::from_secs(30));
        assert_eq!(t.for_opcode(0x92), Duration::from_secs(600));
        assert_eq!(t.for_opcode(0x07), Duration::from_secs(1800));
        assert_eq!(t.for_opcode(0x04), Duration::from_secs(4 * 3600));
        assert_eq!(opcode_name(0xb8), "READ ELEMENT STATUS");
    }
}
