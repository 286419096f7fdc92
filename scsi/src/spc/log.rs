//! LOG SENSE (SPC-4 6.8, 7.3) and the log pages tape drives report: supported pages 00h,
//! device status 11h (SSC-4 8.2.x), TapeAlert response 12h, volume statistics 17h, TapeAlert
//! 2Eh, and the vendor tape capacity page 31h.

use std::collections::BTreeSet;

use crate::decode::{be16, be_uint, slice, DecodeError};

pub const LOG_SENSE: u8 = 0x4d;

pub const PAGE_SUPPORTED: u8 = 0x00;
pub const PAGE_DEVICE_STATUS: u8 = 0x11;
pub const PAGE_TAPE_ALERT_RESPONSE: u8 = 0x12;
pub const PAGE_VOLUME_STATISTICS: u8 = 0x17;
pub const PAGE_TAPE_ALERT: u8 = 0x2e;
pub const PAGE_TAPE_CAPACITY: u8 = 0x31;

/// LOG SENSE with PC = 01b (cumulative values), SP = 0.
pub fn log_sense(page: u8, subpage: u8, param_pointer: u16, alloc: u16) -> [u8; 10] {
    let p = param_pointer.to_be_bytes();
    let a = alloc.to_be_bytes();
    [
        LOG_SENSE,
        0,
        0x40 | (page & 0x3f),
        subpage,
        0,
        p[0],
        p[1],
        a[0],
        a[1],
        0,
    ]
}

/// One log parameter (SPC-4 7.3.2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogParameter {
    pub code: u16,
    /// Control byte (DU, TSD, ETC, TMC, FORMAT AND LINKING).
    pub control: u8,
    pub value: Vec<u8>,
}

impl LogParameter {
    /// The value as an unsigned integer (1..=8 bytes).
    pub fn as_u64(&self) -> Option<u64> {
        be_uint(&self.value, "log parameter").ok()
    }
}

/// A decoded log page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPage {
    pub code: u8,
    pub subpage: u8,
    pub parameters: Vec<LogParameter>,
}

impl LogPage {
    /// Decode a LOG SENSE response. A page cut short keeps its complete parameters.
    pub fn decode(buf: &[u8]) -> Result<LogPage, DecodeError> {
        let h = slice(buf, 0, 4, "log page header")?;
        let len = be16(h, 2, "log page length")? as usize;
        let body = &buf[4..buf.len().min(4 + len)];
        let mut parameters = Vec::new();
        let mut at = 0usize;
        while at + 4 <= body.len() {
            let code = u16::from_be_bytes([body[at], body[at + 1]]);
            let control = body[at + 2];
            let plen = body[at + 3] as usize;
            let Some(value) = body.get(at + 4..at + 4 + plen) else {
                break;
            };
            parameters.push(LogParameter {
                code,
                control,
                value: value.to_vec(),
            });
            at += 4 + plen;
        }
        Ok(LogPage {
            code: h[0] & 0x3f,
            subpage: if h[0] & 0x40 != 0 { h[1] } else { 0 },
            parameters,
        })
    }

    /// Encode (for tests and the simulator).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![
            (self.code & 0x3f) | if self.subpage != 0 { 0x40 } else { 0 },
            self.subpage,
            0,
            0,
        ];
        for p in &self.parameters {
            out.extend_from_slice(&p.code.to_be_bytes());
            out.push(p.control);
            let n = p.value.len().min(0xff);
            out.push(n as u8);
            out.extend_from_slice(&p.value[..n]);
        }
        let n = ((out.len() - 4).min(0xffff) as u16).to_be_bytes();
        out[2] = n[0];
        out[3] = n[1];
        out
    }

    pub fn parameter(&self, code: u16) -> Option<&LogParameter> {
        self.parameters.iter().find(|p| p.code == code)
    }

    fn expect(self, code: u8, what: &'static str) -> Result<LogPage, DecodeError> {
        if self.code != code {
            return Err(DecodeError::invalid(
                what,
                format!("page code 0x{:02x}, expected 0x{code:02x}", self.code),
            ));
        }
        Ok(self)
    }
}

/// Supported log pages (page 00h): the page codes listed after the header.
pub fn decode_supported_pages(buf: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let h = slice(buf, 0, 4, "supported log pages")?;
    if h[0] & 0x3f != PAGE_SUPPORTED {
        return Err(DecodeError::invalid(
            "supported log pages",
            "wrong page code",
        ));
    }
    let len = be16(h, 2, "supported log pages")? as usize;
    Ok(buf[4..buf.len().min(4 + len)]
        .iter()
        .map(|b| b & 0x3f)
        .collect())
}

/// One of the 64 TapeAlert flags (SSC-4 Annex A / the TapeAlert specification), 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TapeAlertFlag(pub u8);

/// Severity classes of TapeAlert flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TapeAlertSeverity {
    Information,
    Warning,
    Critical,
}

static TAPE_ALERT_NAMES: [&str; 64] = [
    "Read warning",
    "Write warning",
    "Hard error",
    "Medium",
    "Read failure",
    "Write failure",
    "Medium life",
    "Not data grade",
    "Write protect",
    "Volume removal prevented",
    "Cleaning volume",
    "Unsupported format",
    "Recoverable mechanical cartridge failure",
    "Unrecoverable mechanical cartridge failure",
    "Memory chip in cartridge failure",
    "Forced eject",
    "Read only format",
    "Tape directory corrupted on load",
    "Nearing medium life",
    "Cleaning required",
    "Cleaning requested",
    "Expired cleaning volume",
    "Invalid cleaning volume",
    "Retension requested",
    "Multi-port interface error on a primary port",
    "Cooling fan failure",
    "Power supply failure",
    "Power consumption",
    "Drive preventive maintenance required",
    "Hardware A",
    "Hardware B",
    "Primary interface",
    "Eject volume",
    "Microcode update fail",
    "Drive humidity",
    "Drive temperature",
    "Drive voltage",
    "Predictive failure",
    "Diagnostics required",
    "Obsolete (28h)",
    "Obsolete (29h)",
    "Obsolete (2Ah)",
    "Obsolete (2Bh)",
    "Obsolete (2Ch)",
    "Obsolete (2Dh)",
    "Obsolete (2Eh)",
    "External data encryption control - communication failure",
    "External data encryption control - key manager returned an error",
    "Diminished native capacity",
    "Lost statistics",
    "Tape directory invalid at unload",
    "Tape system area write failure",
    "Tape system area read failure",
    "No start of data",
    "Loading or threading failure",
    "Unrecoverable unload failure",
    "Automation interface failure",
    "Microcode failure",
    "WORM volume - integrity check failed",
    "WORM volume - overwrite attempted",
    "Reserved (3Dh)",
    "Reserved (3Eh)",
    "Reserved (3Fh)",
    "Reserved (40h)",
];

impl TapeAlertFlag {
    /// Flag number 1..=64, `None` otherwise.
    pub fn new(n: u8) -> Option<TapeAlertFlag> {
        (1..=64).contains(&n).then_some(TapeAlertFlag(n))
    }

    pub fn name(self) -> &'static str {
        TAPE_ALERT_NAMES
            .get(usize::from(self.0).wrapping_sub(1))
            .copied()
            .unwrap_or("Invalid TapeAlert flag")
    }

    /// Severity per the TapeAlert specification's classification.
    pub fn severity(self) -> TapeAlertSeverity {
        match self.0 {
            3..=6
            | 0x0e
            | 0x0f
            | 0x12
            | 0x14
            | 0x16
            | 0x17
            | 0x1a
            | 0x1b
            | 0x1f
            | 0x22
            | 0x24
            | 0x25
            | 0x27
            | 0x33..=0x38
            | 0x3b
            | 0x3c => TapeAlertSeverity::Critical,
            1
            | 2
            | 7
            | 8
            | 0x0d
            | 0x10
            | 0x11
            | 0x13
            | 0x15
            | 0x18
            | 0x19
            | 0x1c
            | 0x1d
            | 0x1e
            | 0x20
            | 0x21
            | 0x23
            | 0x26
            | 0x2f..=0x32
            | 0x39
            | 0x3a => TapeAlertSeverity::Warning,
            _ => TapeAlertSeverity::Information,
        }
    }
}

impl std::fmt::Display for TapeAlertFlag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02X}h {}", self.0, self.name())
    }
}

/// TapeAlert page 2Eh: parameters 0001h..0040h, flag in bit 0 of a one-byte value. Reading
/// this page clears the flags on most drives.
pub fn decode_tape_alert(buf: &[u8]) -> Result<BTreeSet<TapeAlertFlag>, DecodeError> {
    let page = LogPage::decode(buf)?.expect(PAGE_TAPE_ALERT, "TapeAlert log page")?;
    Ok(page
        .parameters
        .iter()
        .filter(|p| p.value.first().is_some_and(|v| v & 0x01 != 0))
        .filter_map(|p| u8::try_from(p.code).ok().and_then(TapeAlertFlag::new))
        .collect())
}

/// TapeAlert response page 12h (SSC-4): parameter 0000h holds the 64 flags as a bit map, flag
/// 1 in the most significant bit of the first byte. Reading it does not clear the flags.
pub fn decode_tape_alert_response(buf: &[u8]) -> Result<BTreeSet<TapeAlertFlag>, DecodeError> {
    let page =
        LogPage::decode(buf)?.expect(PAGE_TAPE_ALERT_RESPONSE, "TapeAlert response log page")?;
    let p = page.parameter(0x0000).ok_or_else(|| {
        DecodeError::invalid("TapeAlert response log page", "parameter 0000h missing")
    })?;
    let bits = slice(&p.value, 0, 8, "TapeAlert response flags")?;
    let mut out = BTreeSet::new();
    for (i, byte) in bits.iter().enumerate() {
        for bit in 0..8u8 {
            if byte & (0x80 >> bit) != 0 {
                out.extend(TapeAlertFlag::new(i as u8 * 8 + bit + 1));
            }
        }
    }
    Ok(out)
}

/// Encode page 12h (simulator, tests).
pub fn encode_tape_alert_response(flags: &BTreeSet<TapeAlertFlag>) -> Vec<u8> {
    let mut bits = [0u8; 8];
    for f in flags {
        let i = usize::from(f.0 - 1);
        bits[i / 8] |= 0x80 >> (i % 8);
    }
    LogPage {
        code: PAGE_TAPE_ALERT_RESPONSE,
        subpage: 0,
        parameters: vec![LogParameter {
            code: 0,
            control: 0x03,
            value: bits.to_vec(),
        }],
    }
    .encode()
}

/// Volume statistics page 17h (SSC-4 8.2.x), the counters tapelib reports. Every parameter is
/// kept raw too, because drives add vendor and per-partition ones.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VolumeStatistics {
    /// Parameter 0001h, "thread count": times the medium was threaded (mounted).
    pub volume_mounts: Option<u64>,
    pub datasets_written: Option<u64>,
    pub write_retries: Option<u64>,
    pub unrecovered_write_errors: Option<u64>,
    pub datasets_read: Option<u64>,
    pub read_retries: Option<u64>,
    pub unrecovered_read_errors: Option<u64>,
    pub last_mount_mb_written: Option<u64>,
    pub last_mount_mb_read: Option<u64>,
    pub lifetime_mb_written: Option<u64>,
    pub lifetime_mb_read: Option<u64>,
    /// Total native capacity in MB.
    pub total_native_capacity_mb: Option<u64>,
    pub total_used_native_capacity_mb: Option<u64>,
    pub volume_serial: Option<String>,
    pub write_protect: Option<bool>,
    pub worm: Option<bool>,
    pub beginning_of_medium_passes: Option<u64>,
    pub middle_of_tape_passes: Option<u64>,
    pub raw: Vec<LogParameter>,
}

impl VolumeStatistics {
    pub fn decode(buf: &[u8]) -> Result<VolumeStatistics, DecodeError> {
        let page = LogPage::decode(buf)?.expect(PAGE_VOLUME_STATISTICS, "volume statistics")?;
        let num = |c: u16| page.parameter(c).and_then(LogParameter::as_u64);
        let flag = |c: u16| {
            page.parameter(c)
                .and_then(|p| p.value.first())
                .map(|v| v & 0x01 != 0)
        };
        Ok(VolumeStatistics {
            volume_mounts: num(0x0001),
            datasets_written: num(0x0002),
            write_retries: num(0x0003),
            unrecovered_write_errors: num(0x0004),
            datasets_read: num(0x0007),
            read_retries: num(0x0008),
            unrecovered_read_errors: num(0x0009),
            last_mount_mb_written: num(0x000e),
            last_mount_mb_read: num(0x000f),
            lifetime_mb_written: num(0x0010),
            lifetime_mb_read: num(0x0011),
            total_native_capacity_mb: num(0x0016),
            total_used_native_capacity_mb: num(0x0017),
            volume_serial: page
                .parameter(0x0040)
                .map(|p| crate::decode::ascii_trimmed(&p.value)),
            write_protect: flag(0x0080),
            worm: flag(0x0081),
            beginning_of_medium_passes: num(0x0101),
            middle_of_tape_passes: num(0x0102),
            raw: page.parameters,
        })
    }
}

/// Very high frequency data of the device status page 11h (SSC-4 8.2.x, parameter 0000h).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VhfData {
    /// Prevent/allow medium removal active.
    pub pamr: bool,
    /// Host initiated unload in progress.
    pub hiu: bool,
    /// Medium auxiliary memory accessible.
    pub macrw: bool,
    /// Compression enabled.
    pub cmpr: bool,
    /// Write protected.
    pub wrtp: bool,
    /// Cleaning requested.
    pub crqst: bool,
    /// Cleaning required.
    pub crqrd: bool,
    /// Device initialized: the rest of the VHF data is valid.
    pub dinit: bool,
    /// In transition (the state is changing).
    pub inxtn: bool,
    /// Robotic access allowed.
    pub raa: bool,
    /// Medium present.
    pub mprsnt: bool,
    /// Medium seated.
    pub mstd: bool,
    /// Medium threaded.
    pub mthrd: bool,
    /// Medium mounted and ready.
    pub mounted: bool,
    /// DT device activity code (0 idle, 1 cleaning, 2 loading, 3 unloading, 4 other medium
    /// activity, 5 reading, 6 writing, 7 locating, 8 rewinding, 9 erasing, 0Ah formatting,
    /// 0Bh calibrating, ...).
    pub activity: u8,
    /// Tape diagnostic data entry created.
    pub tddec: bool,
    /// Encryption parameters present.
    pub epp: bool,
    /// Encryption service request.
    pub esr: bool,
    /// Recovery requested.
    pub rrqst: bool,
    /// Interface failed.
    pub intfc: bool,
    /// TapeAlert state changed.
    pub tafc: bool,
}

impl VhfData {
    pub fn decode(v: &[u8]) -> Result<VhfData, DecodeError> {
        let b = slice(v, 0, 4, "very high frequency data")?;
        let bit = |byte: u8, n: u8| byte & (1 << n) != 0;
        Ok(VhfData {
            pamr: bit(b[0], 7),
            hiu: bit(b[0], 6),
            macrw: bit(b[0], 5),
            cmpr: bit(b[0], 4),
            wrtp: bit(b[0], 3),
            crqst: bit(b[0], 2),
            crqrd: bit(b[0], 1),
            dinit: bit(b[0], 0),
            inxtn: bit(b[1], 7),
            raa: bit(b[1], 5),
            mprsnt: bit(b[1], 4),
            mstd: bit(b[1], 2),
            mthrd: bit(b[1], 1),
            mounted: bit(b[1], 0),
            activity: b[2],
            tddec: bit(b[3], 5),
            epp: bit(b[3], 4),
            esr: bit(b[3], 3),
            rrqst: bit(b[3], 2),
            intfc: bit(b[3], 1),
            tafc: bit(b[3], 0),
        })
    }
}

/// Device status page 11h.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceStatus {
    pub vhf: Option<VhfData>,
    pub raw: Vec<LogParameter>,
}

impl DeviceStatus {
    pub fn decode(buf: &[u8]) -> Result<DeviceStatus, DecodeError> {
        let page = LogPage::decode(buf)?.expect(PAGE_DEVICE_STATUS, "device status log page")?;
        let vhf = match page.parameter(0x0000) {
            Some(p) => Some(VhfData::decode(&p.value)?),
            None => None,
        };
        Ok(DeviceStatus {
            vhf,
            raw: page.parameters,
        })
    }

    pub fn cleaning_required(&self) -> bool {
        self.vhf.is_some_and(|v| v.dinit && v.crqrd)
    }

    pub fn cleaning_requested(&self) -> bool {
        self.vhf.is_some_and(|v| v.dinit && v.crqst)
    }
}

/// Tape capacity page 31h (IBM and HP LTO drives): remaining and maximum capacity per
/// partition in MB. Parameter 1/2 remaining (partition 0/1), 3/4 maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TapeCapacity {
    pub partition0_remaining_mb: Option<u64>,
    pub partition1_remaining_mb: Option<u64>,
    pub partition0_maximum_mb: Option<u64>,
    pub partition1_maximum_mb: Option<u64>,
}

impl TapeCapacity {
    pub fn decode(buf: &[u8]) -> Result<TapeCapacity, DecodeError> {
        let page = LogPage::decode(buf)?.expect(PAGE_TAPE_CAPACITY, "tape capacity log page")?;
        let num = |c: u16| page.parameter(c).and_then(LogParameter::as_u64);
        Ok(TapeCapacity {
            partition0_remaining_mb: num(1),
            partition1_remaining_mb: num(2),
            partition0_maximum_mb: num(3),
            partition1_maximum_mb: num(4),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn page(code: u8, params: &[(u16, &[u8])]) -> Vec<u8> {
        LogPage {
            code,
            subpage: 0,
            parameters: params
                .iter()
                .map(|(c, v)| LogParameter {
                    code: *c,
                    control: 0x03,
                    value: v.to_vec(),
                })
                .collect(),
        }
        .encode()
    }

    #[test]
    fn tape_alert_2e_hp_style() {
        let mut params: Vec<(u16, Vec<u8>)> = (1..=64u16).map(|c| (c, vec![0])).collect();
        params[19].1 = vec![1]; // 14h cleaning required
        params[2].1 = vec![1]; // 03h hard error
        let refs: Vec<(u16, &[u8])> = params.iter().map(|(c, v)| (*c, v.as_slice())).collect();
        let flags = decode_tape_alert(&page(0x2e, &refs)).unwrap();
        let v: Vec<_> = flags.iter().map(|f| f.0).collect();
        assert_eq!(v, vec![3, 0x14]);
        assert_eq!(TapeAlertFlag(0x14).name(), "Cleaning required");
        assert_eq!(TapeAlertFlag(3).severity(), TapeAlertSeverity::Critical);
        assert!(decode_tape_alert(&page(0x12, &[])).is_err());
    }

    #[test]
    fn tape_alert_12_bitmap() {
        let b = page(0x12, &[(0, &[0x20, 0, 0, 0, 0, 0, 0, 0x01])]);
        let flags = decode_tape_alert_response(&b).unwrap();
        let v: Vec<_> = flags.iter().map(|f| f.0).collect();
        assert_eq!(v, vec![3, 64]);
        assert_eq!(encode_tape_alert_response(&flags), b);
        assert!(decode_tape_alert_response(&page(0x12, &[(0, &[0; 4])])).is_err());
    }

    #[test]
    fn all_flags_named() {
        for n in 1..=64 {
            let f = TapeAlertFlag::new(n).unwrap();
            assert!(!f.name().is_empty());
        }
        assert!(TapeAlertFlag::new(0).is_none() && TapeAlertFlag::new(65).is_none());
    }

    #[test]
    fn volume_statistics_ibm_style() {
        let b = page(
            0x17,
            &[
                (0x0000, &[1]),
                (0x0001, &[0, 0, 0, 42]),
                (0x0002, &[0, 0, 0, 0, 0, 0, 1, 0]),
                (0x0010, &[0, 0, 0x30, 0x39]),
                (0x0011, &[0, 0, 0, 7]),
                (0x0040, b"HU12345678  "),
                (0x0080, &[0]),
                (0x0081, &[1]),
                (0x0202, &[0, 8, 0, 0, 0, 0x1a, 0xb3, 0xf0]),
            ],
        );
        let v = VolumeStatistics::decode(&b).unwrap();
        assert_eq!(v.volume_mounts, Some(42));
        assert_eq!(v.datasets_written, Some(256));
        assert_eq!(v.lifetime_mb_written, Some(12345));
        assert_eq!(v.lifetime_mb_read, Some(7));
        assert_eq!(v.volume_serial.as_deref(), Some("HU12345678"));
        assert_eq!(v.write_protect, Some(false));
        assert_eq!(v.worm, Some(true));
        assert_eq!(v.raw.len(), 9);
        assert_eq!(v.datasets_read, None);
    }

    #[test]
    fn device_status_vhf() {
        let b = page(0x11, &[(0, &[0x03, 0x17, 0x05, 0x01])]);
        let d = DeviceStatus::decode(&b).unwrap();
        let v = d.vhf.unwrap();
        assert!(v.dinit && v.crqrd && !v.crqst);
        assert!(v.mprsnt && v.mstd && v.mthrd && v.mounted);
        assert_eq!(v.activity, 5);
        assert!(v.tafc);
        assert!(d.cleaning_required());
        assert!(DeviceStatus::decode(&page(0x11, &[(0, &[1])])).is_err());
    }

    #[test]
    fn tape_capacity_and_supported() {
        let b = page(
            0x31,
            &[
                (1, &[0, 0x17, 0x1a, 0x2b]),
                (2, &[0, 0, 0x09, 0x00]),
                (3, &[0, 0x17, 0x4e, 0x00]),
                (4, &[0, 0, 0x09, 0x00]),
            ],
        );
        let c = TapeCapacity::decode(&b).unwrap();
        assert_eq!(c.partition0_remaining_mb, Some(0x171a2b));
        assert_eq!(c.partition1_maximum_mb, Some(0x900));
        assert_eq!(
            decode_supported_pages(&[0, 0, 0, 4, 0, 0x11, 0x12, 0x2e]).unwrap(),
            vec![0, 0x11, 0x12, 0x2e]
        );
        assert_eq!(
            log_sense(0x2e, 0, 0, 0x400),
            [0x4d, 0, 0x6e, 0, 0, 0, 0, 4, 0, 0]
        );
    }

    #[test]
    fn truncated_parameter_dropped() {
        let mut b = page(0x17, &[(1, &[0, 0, 0, 1]), (2, &[0, 0, 0, 2])]);
        b.truncate(b.len() - 1);
        let p = LogPage::decode(&b).unwrap();
        assert_eq!(p.parameters.len(), 1);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]
        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = LogPage::decode(&b);
            let _ = decode_tape_alert(&b);
            let _ = decode_tape_alert_response(&b);
            let _ = VolumeStatistics::decode(&b);
            let _ = DeviceStatus::decode(&b);
            let _ = TapeCapacity::decode(&b);
            let _ = decode_supported_pages(&b);
        }

        #[test]
        fn round_trip(
            code in 0u8..0x3f,
            params in proptest::collection::vec((any::<u16>(), any::<u8>(), proptest::collection::vec(any::<u8>(), 0..12)), 0..10)
        ) {
            let p = LogPage {
                code, subpage: 0,
                parameters: params.into_iter().map(|(code, control, value)| LogParameter { code, control, value }).collect(),
            };
            prop_assert_eq!(LogPage::decode(&p.encode()).unwrap(), p);
        }

        #[test]
        fn tape_alert_response_round_trip(bits: u64) {
            let flags: BTreeSet<_> = (0..64u8).filter(|i| bits & (1 << i) != 0).map(|i| TapeAlertFlag(i + 1)).collect();
            prop_assert_eq!(decode_tape_alert_response(&encode_tape_alert_response(&flags)).unwrap(), flags);
        }
    }
}
