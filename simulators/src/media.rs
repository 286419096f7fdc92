//! LTO media: generations, density codes, capacities, rates and drive/medium compatibility.
//!
//! Figures are the LTO Consortium's native (uncompressed) values. Density codes are those a drive
//! reports in the MODE SENSE block descriptor and REPORT DENSITY SUPPORT (SSC-4).

use serde::{Deserialize, Serialize};

/// An LTO generation the simulator models (drives and data cartridges).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LtoGeneration {
    Lto5,
    Lto6,
    Lto7,
    Lto8,
    Lto9,
}

impl LtoGeneration {
    /// Every modeled generation, oldest first.
    pub const ALL: [LtoGeneration; 5] = [
        LtoGeneration::Lto5,
        LtoGeneration::Lto6,
        LtoGeneration::Lto7,
        LtoGeneration::Lto8,
        LtoGeneration::Lto9,
    ];

    /// The generation number (5 for LTO-5, ...).
    pub fn number(self) -> u8 {
        match self {
            LtoGeneration::Lto5 => 5,
            LtoGeneration::Lto6 => 6,
            LtoGeneration::Lto7 => 7,
            LtoGeneration::Lto8 => 8,
            LtoGeneration::Lto9 => 9,
        }
    }

    /// The generation with number `n`, if modeled.
    pub fn from_number(n: u8) -> Option<LtoGeneration> {
        LtoGeneration::ALL.into_iter().find(|g| g.number() == n)
    }

    /// Primary density code of the generation's own media.
    pub fn density_code(self) -> u8 {
        match self {
            LtoGeneration::Lto5 => 0x58,
            LtoGeneration::Lto6 => 0x5A,
            LtoGeneration::Lto7 => 0x5C,
            LtoGeneration::Lto8 => 0x5E,
            LtoGeneration::Lto9 => 0x60,
        }
    }

    /// Native capacity in bytes (decimal terabytes, as the LTO figures are quoted).
    pub fn native_capacity_bytes(self) -> u64 {
        const TB: u64 = 1_000_000_000_000;
        match self {
            LtoGeneration::Lto5 => 1_500_000_000_000,
            LtoGeneration::Lto6 => 2_500_000_000_000,
            LtoGeneration::Lto7 => 6 * TB,
            LtoGeneration::Lto8 => 12 * TB,
            LtoGeneration::Lto9 => 18 * TB,
        }
    }

    /// Native transfer rate in bytes per second.
    pub fn native_rate_bytes_per_sec(self) -> u64 {
        const MB: u64 = 1_000_000;
        match self {
            LtoGeneration::Lto5 => 140 * MB,
            LtoGeneration::Lto6 => 160 * MB,
            LtoGeneration::Lto7 => 300 * MB,
            LtoGeneration::Lto8 => 360 * MB,
            LtoGeneration::Lto9 => 400 * MB,
        }
    }

    /// Whether the generation supports two partitions (LTO-5 and later: all modeled ones).
    pub fn supports_partitions(self) -> bool {
        true
    }

    /// Number of data wraps on the tape (used by the serpentine locate model).
    pub fn wraps(self) -> u32 {
        match self {
            LtoGeneration::Lto5 => 80,
            LtoGeneration::Lto6 => 136,
            LtoGeneration::Lto7 => 112,
            LtoGeneration::Lto8 => 208,
            LtoGeneration::Lto9 => 280,
        }
    }

    /// Tape length in metres (used by the locate model).
    pub fn tape_length_m(self) -> f64 {
        match self {
            LtoGeneration::Lto5 => 846.0,
            LtoGeneration::Lto6 => 846.0,
            LtoGeneration::Lto7 => 960.0,
            LtoGeneration::Lto8 => 960.0,
            LtoGeneration::Lto9 => 1035.0,
        }
    }
}

impl std::fmt::Display for LtoGeneration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LTO-{}", self.number())
    }
}

/// What a cartridge is: a data cartridge of some generation, or a cleaning cartridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MediaKind {
    /// A data cartridge. `m8` marks LTO-7 Type M media initialized to 9 TB (density 0x5D).
    Data { generation: LtoGeneration, m8: bool },
    /// A universal cleaning cartridge.
    Cleaning,
}

impl MediaKind {
    /// A plain data cartridge of `generation`.
    pub fn data(generation: LtoGeneration) -> MediaKind {
        MediaKind::Data {
            generation,
            m8: false,
        }
    }

    /// The media kind from a barcode: `CLN*` is cleaning; otherwise the last two characters
    /// `L5`..`L9` or `M8` (case-insensitive) give the generation.
    pub fn from_barcode(barcode: &str) -> Option<MediaKind> {
        let upper = barcode.trim().to_ascii_uppercase();
        if upper.starts_with("CLN") {
            return Some(MediaKind::Cleaning);
        }
        let suffix = upper.get(upper.len().checked_sub(2)?..)?;
        match suffix {
            "M8" => Some(MediaKind::Data {
                generation: LtoGeneration::Lto7,
                m8: true,
            }),
            s if s.starts_with('L') => {
                let n = s[1..].parse::<u8>().ok()?;
                LtoGeneration::from_number(n).map(MediaKind::data)
            }
            _ => None,
        }
    }

    /// The generation of a data cartridge.
    pub fn generation(self) -> Option<LtoGeneration> {
        match self {
            MediaKind::Data { generation, .. } => Some(generation),
            MediaKind::Cleaning => None,
        }
    }

    /// Whether this is a cleaning cartridge.
    pub fn is_cleaning(self) -> bool {
        matches!(self, MediaKind::Cleaning)
    }

    /// Density code of the medium as formatted (0x5D for M8).
    pub fn density_code(self) -> u8 {
        match self {
            MediaKind::Data { m8: true, .. } => 0x5D,
            MediaKind::Data { generation, .. } => generation.density_code(),
            MediaKind::Cleaning => 0x00,
        }
    }

    /// Native capacity in bytes (9 TB for M8; 0 for cleaning cartridges).
    pub fn native_capacity_bytes(self) -> u64 {
        match self {
            MediaKind::Data { m8: true, .. } => 9_000_000_000_000,
            MediaKind::Data { generation, .. } => generation.native_capacity_bytes(),
            MediaKind::Cleaning => 0,
        }
    }

    /// The medium type byte of the MODE SENSE header and MAM attribute 0x0408 (SSC-4 / SPC-4
    /// 7.4.2.3: 00h data, 01h cleaning).
    pub fn medium_type_code(self) -> u8 {
        match self {
            MediaKind::Data { .. } => 0x00,
            MediaKind::Cleaning => 0x01,
        }
    }

    /// The barcode suffix this kind is written with (`L5`..`L9`, `M8`; `CLN` for cleaning).
    pub fn barcode_suffix(self) -> &'static str {
        match self {
            MediaKind::Data { m8: true, .. } => "M8",
            MediaKind::Data { generation, .. } => match generation {
                LtoGeneration::Lto5 => "L5",
                LtoGeneration::Lto6 => "L6",
                LtoGeneration::Lto7 => "L7",
                LtoGeneration::Lto8 => "L8",
                LtoGeneration::Lto9 => "L9",
            },
            MediaKind::Cleaning => "CLN",
        }
    }
}

/// Whether a `drive` of some generation can read `media`.
///
/// LTO-5..7 drives read N, N−1 and N−2; LTO-8 reads 7 (incl. M8) and 8; LTO-9 reads 8 and 9.
/// Type M8 media is only usable in LTO-8 drives (and later ones that read LTO-8).
pub fn can_read(drive: LtoGeneration, media: MediaKind) -> bool {
    let (mg, m8) = match media {
        MediaKind::Data { generation, m8 } => (generation.number(), m8),
        MediaKind::Cleaning => return false,
    };
    let dg = drive.number();
    if m8 {
        return dg == 8;
    }
    match dg {
        5..=7 => mg <= dg && mg + 2 >= dg,
        _ => mg <= dg && mg + 1 >= dg,
    }
}

/// Whether a `drive` of some generation can write `media`.
///
/// LTO-5..7 drives write N and N−1; LTO-8 writes 7 (incl. M8) and 8; LTO-9 writes 8 and 9.
pub fn can_write(drive: LtoGeneration, media: MediaKind) -> bool {
    let (mg, m8) = match media {
        MediaKind::Data { generation, m8 } => (generation.number(), m8),
        MediaKind::Cleaning => return false,
    };
    let dg = drive.number();
    if m8 {
        return dg == 8;
    }
    mg <= dg && mg + 1 >= dg
}

#[cfg(test)]
mod tests {
    use super::*;
    use LtoGeneration::*;

    #[test]
    fn barcode_suffixes() {
        assert_eq!(
            MediaKind::from_barcode("ABC123L5"),
            Some(MediaKind::data(Lto5))
        );
        assert_eq!(
            MediaKind::from_barcode("abc123l9"),
            Some(MediaKind::data(Lto9))
        );
        assert_eq!(
            MediaKind::from_barcode("XYZ001M8"),
            Some(MediaKind::Data {
                generation: Lto7,
                m8: true
            })
        );
        assert_eq!(
            MediaKind::from_barcode("CLN001L1"),
            Some(MediaKind::Cleaning)
        );
        assert_eq!(MediaKind::from_barcode("ABC123L4"), None);
        assert_eq!(MediaKind::from_barcode("ABC123"), None);
        assert_eq!(MediaKind::from_barcode("L"), None);
        assert_eq!(MediaKind::from_barcode(""), None);
        assert_eq!(MediaKind::from_barcode("é"), None);
    }

    #[test]
    fn density_and_capacity() {
        assert_eq!(Lto5.density_code(), 0x58);
        assert_eq!(Lto9.density_code(), 0x60);
        assert_eq!(
            MediaKind::Data {
                generation: Lto7,
                m8: true
            }
            .density_code(),
            0x5D
        );
        assert_eq!(Lto8.native_capacity_bytes(), 12_000_000_000_000);
        assert_eq!(Lto7.native_rate_bytes_per_sec(), 300_000_000);
    }

    #[test]
    fn compatibility_matrix() {
        let d = MediaKind::data;
        // LTO-7 drive: writes 6, 7; reads 5, 6, 7.
        assert!(can_write(Lto7, d(Lto7)) && can_write(Lto7, d(Lto6)));
        assert!(!can_write(Lto7, d(Lto5)) && can_read(Lto7, d(Lto5)));
        assert!(!can_read(Lto7, d(Lto8)));
        // LTO-6 drive reads LTO-5 media but not newer.
        assert!(can_read(Lto6, d(Lto5)) && !can_read(Lto6, d(Lto7)));
        // LTO-8: 7 and 8 only.
        assert!(can_write(Lto8, d(Lto7)) && can_write(Lto8, d(Lto8)));
        assert!(!can_read(Lto8, d(Lto6)));
        assert!(can_write(
            Lto8,
            MediaKind::Data {
                generation: Lto7,
                m8: true
            }
        ));
        // LTO-9: 8 and 9 only.
        assert!(can_write(Lto9, d(Lto8)) && !can_read(Lto9, d(Lto7)));
        assert!(!can_read(
            Lto9,
            MediaKind::Data {
                generation: Lto7,
                m8: true
            }
        ));
        assert!(!can_read(Lto9, MediaKind::Cleaning));
    }
}
