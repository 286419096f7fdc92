//! Library configuration: a TOML file describing the changer, its element address map, the drives,
//! the cartridges and the faults active from the start.
//!
//! Element addresses default to the map of an IBM-style mid-size library (TS3100/TS4300 family):
//! medium transport 1, import/export 16.., data transfer 256.., storage 4096... Numbers an operator
//! writes (storage slot, I/E slot) count from 1; drives are numbered from 0 like their device
//! names (`drive0`, `drive1`, ...).

use std::collections::HashSet;
use std::fmt;
use std::path::Path;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use crate::media::{LtoGeneration, MediaKind};

/// Problems reading or validating a configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// TOML syntax or a field of the wrong type; `line`/`column` count from 1 when known.
    #[error("configuration line {line}, column {column}: {message}")]
    Parse {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("configuration: {field}: {message}")]
    Invalid { field: String, message: String },
}

impl ConfigError {
    fn invalid(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Identity the changer reports in INQUIRY and VPD pages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChangerIdentity {
    /// T10 vendor identification (8 characters, space padded in INQUIRY).
    pub vendor: String,
    /// Product identification (16 characters).
    pub product: String,
    /// Unit serial number (VPD 0x80).
    pub serial: String,
    /// Product revision level (4 characters).
    pub revision: String,
    /// Identifier the data transfer descriptors carry when DVCID is requested.
    pub dvcid: DvcidFormat,
    /// Report UNIT ATTENTION 06/29/00 on the changer after the library (re)opens.
    pub power_on_unit_attention: bool,
}

impl Default for ChangerIdentity {
    fn default() -> Self {
        ChangerIdentity {
            vendor: "IBM".into(),
            product: "3555L3A".into(),
            serial: "SIMLIB0001".into(),
            revision: "1.40".into(),
            dvcid: DvcidFormat::Serial,
            power_on_unit_attention: false,
        }
    }
}

/// Device identifier format in data transfer element descriptors (SMC-3 6.10.6; code set 2 ASCII).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DvcidFormat {
    /// Identifier type 0: the drive serial number only.
    Serial,
    /// Identifier type 1: vendor (8) + product (16) + serial number (10), space padded.
    VendorProductSerial,
}

/// First element address of each element type (SMC-3 element address assignment page 0x1D).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AddressMap {
    pub transport: u16,
    pub import_export: u16,
    pub drive: u16,
    pub storage: u16,
}

impl Default for AddressMap {
    fn default() -> Self {
        AddressMap {
            transport: 1,
            import_export: 16,
            drive: 256,
            storage: 4096,
        }
    }
}

/// Vendor personality of a drive (INQUIRY identity and vendor quirks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DrivePersonality {
    #[serde(rename = "IBM", alias = "ibm", alias = "Ibm")]
    Ibm,
    #[serde(rename = "HP", alias = "hp", alias = "Hp", alias = "HPE")]
    Hp,
}

/// One `[[drive]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriveConfig {
    /// `"LTO-8"`, `"L8"` or `8`.
    #[serde(with = "generation_serde")]
    pub generation: LtoGeneration,
    #[serde(default = "default_personality")]
    pub personality: DrivePersonality,
    pub serial: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
}

fn default_personality() -> DrivePersonality {
    DrivePersonality::Ibm
}

/// Where a configured cartridge starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlotRef {
    /// Storage slot, counted from 1.
    Storage(u16),
    /// Import/export slot, counted from 1 (`"ie:N"`).
    ImportExport(u16),
    /// Drive index, counted from 0 like the device names (`"drive:N"`).
    Drive(u16),
}

impl fmt::Display for SlotRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SlotRef::Storage(n) => write!(f, "{n}"),
            SlotRef::ImportExport(n) => write!(f, "ie:{n}"),
            SlotRef::Drive(n) => write!(f, "drive:{n}"),
        }
    }
}

impl std::str::FromStr for SlotRef {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let num = |t: &str| {
            t.trim()
                .parse::<u16>()
                .map_err(|_| format!("invalid slot number {t:?} in {s:?}"))
        };
        if let Some(rest) = s.strip_prefix("ie:") {
            Ok(SlotRef::ImportExport(num(rest)?))
        } else if let Some(rest) = s.strip_prefix("drive:") {
            Ok(SlotRef::Drive(num(rest)?))
        } else {
            Ok(SlotRef::Storage(num(s.strip_prefix("slot:").unwrap_or(s))?))
        }
    }
}

impl Serialize for SlotRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            SlotRef::Storage(n) => s.serialize_u16(*n),
            other => s.serialize_str(&other.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for SlotRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = SlotRef;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a storage slot number, \"ie:N\" or \"drive:N\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SlotRef, E> {
                u16::try_from(v)
                    .map(SlotRef::Storage)
                    .map_err(|_| E::custom(format!("slot {v} out of range")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SlotRef, E> {
                u16::try_from(v)
                    .map(SlotRef::Storage)
                    .map_err(|_| E::custom(format!("slot {v} out of range")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SlotRef, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// One `[[cartridge]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CartridgeConfig {
    pub barcode: String,
    /// Generation when the barcode suffix does not tell (`"LTO-7"`, `"M8"`, `7`).
    #[serde(
        default,
        with = "opt_media_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub generation: Option<MediaKind>,
    /// Starting place; `None` leaves the cartridge outside the library (for `operator_insert`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<SlotRef>,
    #[serde(default)]
    pub write_protect: bool,
    /// Capacity override in bytes (small tapes for tests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u64>,
}

impl CartridgeConfig {
    /// The media kind: cleaning for `CLN*`, otherwise explicit generation or barcode suffix.
    pub fn media_kind(&self) -> Option<MediaKind> {
        if self.barcode.to_ascii_uppercase().starts_with("CLN") {
            return Some(MediaKind::Cleaning);
        }
        self.generation
            .or_else(|| MediaKind::from_barcode(&self.barcode))
    }
}

/// A fault, from the configuration (`[[fault]]`) or injected at run time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum FaultSpec {
    /// Medium error at a block of a cartridge: reads give 03/11/00, writes 03/0C/00.
    MediaError {
        barcode: String,
        #[serde(default)]
        partition: u8,
        block: u64,
        op: MediaOp,
    },
    /// The drive fails every medium access with HARDWARE ERROR.
    DriveFailure { drive: u16 },
    /// Robot moves fail with HARDWARE ERROR 15/01; `count` limits it to the next N moves.
    RobotMoveFailure {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        count: Option<u32>,
    },
    /// The drive asks for cleaning (TapeAlert flag 20).
    CleaningRequired { drive: u16 },
    /// The cartridge is write protected (as if its tab were slid).
    WriteProtect { barcode: String },
    /// The cartridge reports end of medium after `after_bytes` more bytes.
    CartridgeFull { barcode: String, after_bytes: u64 },
    /// UNIT ATTENTION 06/29/00 on a device (`"changer0"`, `"drive1"`) or, without one, on all.
    PowerOnReset {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        device: Option<String>,
    },
    /// The import/export station door is open: I/E elements are not accessible.
    IeDoorOpen,
}

/// Which direction a media error fault hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MediaOp {
    Read,
    Write,
}

/// The whole library configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LibraryConfig {
    pub changer: ChangerIdentity,
    pub addresses: AddressMap,
    pub storage_slots: u16,
    pub ie_slots: u16,
    /// Modeled time multiplier: 0 = instant, 1 = real time.
    pub time_scale: f64,
    #[serde(rename = "drive")]
    pub drives: Vec<DriveConfig>,
    #[serde(rename = "cartridge")]
    pub cartridges: Vec<CartridgeConfig>,
    #[serde(rename = "fault")]
    pub faults: Vec<FaultSpec>,
}

impl Default for LibraryConfig {
    /// A mid-size library: 40 storage slots, 4 I/E slots, two IBM LTO-8 drives, no cartridges.
    fn default() -> Self {
        LibraryConfig {
            changer: ChangerIdentity::default(),
            addresses: AddressMap::default(),
            storage_slots: 40,
            ie_slots: 4,
            time_scale: 0.0,
            drives: (0..2)
                .map(|i| DriveConfig {
                    generation: LtoGeneration::Lto8,
                    personality: DrivePersonality::Ibm,
                    serial: format!("10130000{:02}", i + 1),
                    vendor: None,
                    product: None,
                })
                .collect(),
            cartridges: Vec::new(),
            faults: Vec::new(),
        }
    }
}

impl LibraryConfig {
    /// Parses and validates a TOML configuration.
    pub fn from_toml_str(text: &str) -> Result<LibraryConfig, ConfigError> {
        let config: LibraryConfig = toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|span| line_column(text, span.start))
                .unwrap_or((0, 0));
            ConfigError::Parse {
                line,
                column,
                message: e.message().to_string(),
            }
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Reads, parses and validates a TOML configuration file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<LibraryConfig, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.display().to_string(),
            source,
        })?;
        LibraryConfig::from_toml_str(&text)
    }

    /// Serializes to TOML (the form `from_toml_str` reads back).
    pub fn to_toml_string(&self) -> Result<String, ConfigError> {
        toml::to_string(self).map_err(|e| ConfigError::invalid("(config)", e.to_string()))
    }

    /// Element address of storage slot `n` (from 1).
    pub fn storage_address(&self, n: u16) -> Option<u16> {
        (1..=self.storage_slots)
            .contains(&n)
            .then(|| self.addresses.storage.checked_add(n - 1))
            .flatten()
    }

    /// Element address of I/E slot `n` (from 1).
    pub fn ie_address(&self, n: u16) -> Option<u16> {
        (1..=self.ie_slots)
            .contains(&n)
            .then(|| self.addresses.import_export.checked_add(n - 1))
            .flatten()
    }

    /// Element address of drive `index` (from 0).
    pub fn drive_address(&self, index: u16) -> Option<u16> {
        (usize::from(index) < self.drives.len())
            .then(|| self.addresses.drive.checked_add(index))
            .flatten()
    }

    /// Checks everything serde cannot: ranges, uniqueness, capacity of the library.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.time_scale.is_finite() && self.time_scale >= 0.0) {
            return Err(ConfigError::invalid(
                "time_scale",
                format!("must be a finite number >= 0, got {}", self.time_scale),
            ));
        }
        if self.storage_slots == 0 {
            return Err(ConfigError::invalid(
                "storage_slots",
                "a library needs at least one storage slot",
            ));
        }
        if self.drives.is_empty() {
            return Err(ConfigError::invalid(
                "drive",
                "a library needs at least one drive",
            ));
        }
        for (field, value, len) in [
            ("changer.vendor", &self.changer.vendor, 8),
            ("changer.product", &self.changer.product, 16),
            ("changer.revision", &self.changer.revision, 4),
            ("changer.serial", &self.changer.serial, 32),
        ] {
            check_ascii(field, value, len)?;
        }
        let drive_count = u16::try_from(self.drives.len())
            .map_err(|_| ConfigError::invalid("drive", "too many drives"))?;
        let a = &self.addresses;
        let ranges = [
            ("addresses.transport", a.transport, 1u16),
            ("addresses.import_export", a.import_export, self.ie_slots),
            ("addresses.drive", a.drive, drive_count),
            ("addresses.storage", a.storage, self.storage_slots),
        ];
        for (name, start, count) in ranges {
            if u32::from(start) + u32::from(count) > 0x1_0000 {
                return Err(ConfigError::invalid(
                    name,
                    format!("{count} elements from address {start} do not fit in 16 bits"),
                ));
            }
        }
        for (i, (n1, s1, c1)) in ranges.iter().enumerate() {
            for (n2, s2, c2) in ranges.iter().skip(i + 1) {
                let (s1, e1) = (u32::from(*s1), u32::from(*s1) + u32::from(*c1));
                let (s2, e2) = (u32::from(*s2), u32::from(*s2) + u32::from(*c2));
                if *c1 > 0 && *c2 > 0 && s1 < e2 && s2 < e1 {
                    return Err(ConfigError::invalid(
                        format!("{n1}/{n2}"),
                        format!(
                            "address ranges overlap: {s1}..{} and {s2}..{}",
                            e1 - 1,
                            e2 - 1
                        ),
                    ));
                }
            }
        }
        let mut serials = HashSet::new();
        for (i, d) in self.drives.iter().enumerate() {
            check_ascii(&format!("drive[{i}].serial"), &d.serial, 32)?;
            if d.serial.is_empty() {
                return Err(ConfigError::invalid(
                    format!("drive[{i}].serial"),
                    "is empty",
                ));
            }
            if !serials.insert(d.serial.clone()) {
                return Err(ConfigError::invalid(
                    format!("drive[{i}].serial"),
                    format!("serial {:?} used by two drives", d.serial),
                ));
            }
        }
        let total =
            usize::from(self.storage_slots) + usize::from(self.ie_slots) + self.drives.len();
        let placed = self.cartridges.iter().filter(|c| c.slot.is_some()).count();
        if placed > total {
            return Err(ConfigError::invalid(
                "cartridge",
                format!("{placed} cartridges placed but the library has only {total} places"),
            ));
        }
        let mut barcodes = HashSet::new();
        let mut slots = HashSet::new();
        for (i, c) in self.cartridges.iter().enumerate() {
            let field = format!("cartridge[{i}]");
            validate_barcode(&c.barcode).map_err(|m| ConfigError::invalid(&field, m))?;
            if !barcodes.insert(c.barcode.clone()) {
                return Err(ConfigError::invalid(
                    field,
                    format!("duplicate barcode {:?}", c.barcode),
                ));
            }
            if c.media_kind().is_none() {
                return Err(ConfigError::invalid(
                    field,
                    format!(
                        "barcode {:?} does not end in L5..L9 or M8; give `generation`",
                        c.barcode
                    ),
                ));
            }
            if let Some(slot) = c.slot {
                let ok = match slot {
                    SlotRef::Storage(n) => (1..=self.storage_slots).contains(&n),
                    SlotRef::ImportExport(n) => (1..=self.ie_slots).contains(&n),
                    SlotRef::Drive(n) => usize::from(n) < self.drives.len(),
                };
                if !ok {
                    return Err(ConfigError::invalid(
                        format!("{field}.slot"),
                        format!(
                            "slot {slot} of {:?} is out of range ({} storage, {} I/E, {} drives)",
                            c.barcode,
                            self.storage_slots,
                            self.ie_slots,
                            self.drives.len()
                        ),
                    ));
                }
                if !slots.insert(slot) {
                    return Err(ConfigError::invalid(
                        format!("{field}.slot"),
                        format!("slot {slot} of {:?} already holds a cartridge", c.barcode),
                    ));
                }
            }
        }
        for (i, f) in self.faults.iter().enumerate() {
            let field = format!("fault[{i}]");
            match f {
                FaultSpec::DriveFailure { drive } | FaultSpec::CleaningRequired { drive }
                    if usize::from(*drive) >= self.drives.len() =>
                {
                    return Err(ConfigError::invalid(
                        field,
                        format!("no drive {drive} (drives are numbered from 0)"),
                    ));
                }
                FaultSpec::PowerOnReset {
                    device: Some(device),
                } if !self.device_names().contains(device) => {
                    return Err(ConfigError::invalid(field, format!("no device {device:?}")));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Device names of the library: `changer0`, then `drive0`, `drive1`, ...
    pub fn device_names(&self) -> Vec<String> {
        std::iter::once("changer0".to_string())
            .chain((0..self.drives.len()).map(|i| format!("drive{i}")))
            .collect()
    }
}

/// A barcode fits the 32-byte volume identifier field: printable ASCII without spaces.
pub fn validate_barcode(barcode: &str) -> Result<(), String> {
    if barcode.is_empty() || barcode.len() > 32 {
        return Err(format!("barcode {barcode:?} must be 1..=32 characters"));
    }
    if !barcode.bytes().all(|b| b.is_ascii_graphic()) || barcode.contains(['/', '\\']) {
        return Err(format!(
            "barcode {barcode:?} must be printable ASCII without spaces or slashes"
        ));
    }
    Ok(())
}

fn check_ascii(field: &str, value: &str, max: usize) -> Result<(), ConfigError> {
    if value.len() > max || !value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(ConfigError::invalid(
            field,
            format!("{value:?} must be printable ASCII of at most {max} characters"),
        ));
    }
    Ok(())
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn parse_generation(s: &str) -> Option<MediaKind> {
    let u = s.trim().to_ascii_uppercase();
    if u == "CLN" {
        return Some(MediaKind::Cleaning);
    }
    if u == "M8" || u == "LTO-7M8" || u == "LTO-M8" {
        return MediaKind::from_barcode("M8");
    }
    let n = u
        .strip_prefix("LTO-")
        .or_else(|| u.strip_prefix("LTO"))
        .or_else(|| u.strip_prefix('L'))
        .unwrap_or(&u);
    n.parse::<u8>()
        .ok()
        .and_then(LtoGeneration::from_number)
        .map(MediaKind::data)
}

struct GenVisitor;
impl Visitor<'_> for GenVisitor {
    type Value = MediaKind;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an LTO generation: 5..9, \"LTO-8\", \"L8\" or \"M8\"")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<MediaKind, E> {
        u8::try_from(v)
            .ok()
            .and_then(LtoGeneration::from_number)
            .map(MediaKind::data)
            .ok_or_else(|| E::custom(format!("unsupported LTO generation {v} (5..9)")))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<MediaKind, E> {
        self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<MediaKind, E> {
        parse_generation(v).ok_or_else(|| E::custom(format!("unsupported LTO generation {v:?}")))
    }
}

mod generation_serde {
    use super::*;
    pub fn serialize<S: serde::Serializer>(g: &LtoGeneration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&g.to_string())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<LtoGeneration, D::Error> {
        match d.deserialize_any(GenVisitor)? {
            MediaKind::Data {
                generation,
                m8: false,
            } => Ok(generation),
            _ => Err(de::Error::custom("a drive generation is LTO-5..LTO-9")),
        }
    }
}

mod opt_media_serde {
    use super::*;
    pub fn serialize<S: serde::Serializer>(k: &Option<MediaKind>, s: S) -> Result<S::Ok, S::Error> {
        match k {
            Some(MediaKind::Data { m8: true, .. }) => s.serialize_str("M8"),
            Some(MediaKind::Data { generation, .. }) => s.serialize_str(&generation.to_string()),
            Some(MediaKind::Cleaning) => s.serialize_str("CLN"),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<MediaKind>, D::Error> {
        d.deserialize_any(GenVisitor).map(Some)
    }
}
