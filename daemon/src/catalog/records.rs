//! Typed catalog records. Values are stored as JSON so that fields can be added by
//! later schema versions with `#[serde(default)]` without rewriting every record.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::error::CatalogError;

/// Life-cycle state of a cartridge as the archive sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TapeState {
    /// Usable for reads and writes.
    Active,
    /// Taken out of service by an operator; kept readable for restores only by override.
    Disabled,
    /// Media or cartridge error; not used until an operator clears it.
    Broken,
    /// No room left for new objects; still readable.
    Full,
    /// Live data is being copied elsewhere so the tape can be reclaimed.
    Repacking,
    /// Removed from the archive's care (ejected and signed out).
    Exported,
}

impl TapeState {
    /// States that may follow `self`. Same-state changes are not transitions.
    pub fn allowed_next(self) -> &'static [TapeState] {
        use TapeState::*;
        match self {
            Active => &[Disabled, Broken, Full, Repacking, Exported],
            Disabled => &[Active, Broken, Repacking, Exported],
            Broken => &[Active, Disabled, Exported],
            Full => &[Active, Disabled, Broken, Repacking, Exported],
            Repacking => &[Active, Disabled, Broken, Full],
            Exported => &[Active],
        }
    }

    pub fn can_transition_to(self, to: TapeState) -> bool {
        self.allowed_next().contains(&to)
    }

    /// Whether new data may be written to a tape in this state (FULL is accepted so that
    /// the object that filled the tape can still be committed).
    pub fn accepts_commit(self) -> bool {
        matches!(self, TapeState::Active | TapeState::Full)
    }
}

/// Where a cartridge is. Addresses are SMC element addresses (SMC-3 6.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "address", rename_all = "snake_case")]
pub enum TapeLocation {
    Slot(u16),
    Drive(u16),
    ImportExport(u16),
    Outside,
}

/// A cartridge known to the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TapeRecord {
    pub barcode: String,
    /// LTO generation (5..9) when known.
    pub generation: Option<u8>,
    pub group: Option<String>,
    /// Library that holds the tape, when it is inside one.
    #[serde(default)]
    pub library: Option<String>,
    /// LTFS volume UUID from the label (LTFS 2.4 section 8.1), once formatted or read.
    pub volume_uuid: Option<String>,
    pub capacity_bytes: u64,
    pub used_bytes: u64,
    pub state: TapeState,
    pub state_reason: Option<String>,
    pub location: TapeLocation,
    /// False once the tape left the library (ejected); its instances are offline too.
    pub online: bool,
    pub mounts: u64,
    pub errors: u64,
    /// An LTFS tape written elsewhere, importable but not ours yet.
    pub foreign: bool,
    /// Blank tape not yet assigned to a group.
    pub scratch: bool,
    /// LTFS paths of deleted instances still in the tape's index; they are removed from the
    /// index the next time the tape is mounted for writing (LTFS cannot free the space:
    /// repack reclaims it).
    #[serde(default)]
    pub pending_removals: Vec<String>,
    /// Times a cleaning cartridge was used.
    #[serde(default)]
    pub cleaning_uses: u32,
    /// End of the last complete verify of the tape.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub verified: Option<OffsetDateTime>,
    /// Why the tape is suspect (a verify found data that does not match), until cleared.
    #[serde(default)]
    pub suspect: Option<String>,
}

impl TapeRecord {
    /// A freshly seen blank cartridge in `location`.
    pub fn new_scratch(barcode: impl Into<String>, location: TapeLocation) -> Self {
        TapeRecord {
            barcode: barcode.into(),
            generation: None,
            group: None,
            library: None,
            volume_uuid: None,
            capacity_bytes: 0,
            used_bytes: 0,
            state: TapeState::Active,
            state_reason: None,
            location,
            online: true,
            mounts: 0,
            errors: 0,
            foreign: false,
            scratch: true,
            pending_removals: Vec::new(),
            cleaning_uses: 0,
            verified: None,
            suspect: None,
        }
    }

    pub fn free_bytes(&self) -> u64 {
        self.capacity_bytes.saturating_sub(self.used_bytes)
    }

    pub(crate) fn validate(&self) -> Result<(), CatalogError> {
        validate_barcode(&self.barcode)
    }
}

/// A tape group: the pool of tapes an archive request names as its destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TapeGroup {
    pub name: String,
    pub description: String,
    /// Restrict the group to one LTO generation, when set.
    pub generation: Option<u8>,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
}

/// One file of an archived object; `path` is relative to the object root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectFile {
    pub path: String,
    pub size: u64,
    /// CRC-32 (IEEE) of the file content, as computed by crc32fast.
    pub crc32: u32,
}

/// An archived object: collection + name, its files and checksums.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRecord {
    pub collection: String,
    pub name: String,
    pub files: Vec<ObjectFile>,
    pub total_size: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub archived: OffsetDateTime,
    pub comments: String,
}

impl ObjectRecord {
    /// Builds a record whose `total_size` is the sum of the file sizes.
    pub fn new(
        collection: impl Into<String>,
        name: impl Into<String>,
        files: Vec<ObjectFile>,
        archived: OffsetDateTime,
        comments: impl Into<String>,
    ) -> Result<Self, CatalogError> {
        let total_size = files
            .iter()
            .try_fold(0u64, |acc, f| acc.checked_add(f.size))
            .ok_or_else(|| CatalogError::InvalidRecord("total size overflows u64".into()))?;
        let rec = ObjectRecord {
            collection: collection.into(),
            name: name.into(),
            files,
            total_size,
            archived,
            comments: comments.into(),
        };
        rec.validate()?;
        Ok(rec)
    }

    pub(crate) fn validate(&self) -> Result<(), CatalogError> {
        validate_component("collection", &self.collection)?;
        validate_component("object name", &self.name)?;
        let mut sum = 0u64;
        let mut seen = std::collections::HashSet::new();
        for f in &self.files {
            if f.path.is_empty() || f.path.contains('\0') {
                return Err(CatalogError::InvalidRecord(format!(
                    "object {}/{}: empty or NUL-bearing file path",
                    self.collection, self.name
                )));
            }
            if !seen.insert(f.path.as_str()) {
                return Err(CatalogError::InvalidRecord(format!(
                    "object {}/{}: duplicate file path {}",
                    self.collection, self.name, f.path
                )));
            }
            sum = sum
                .checked_add(f.size)
                .ok_or_else(|| CatalogError::InvalidRecord("total size overflows u64".into()))?;
        }
        if sum != self.total_size {
            return Err(CatalogError::InvalidRecord(format!(
                "object {}/{}: total size {} differs from sum of files {}",
                self.collection, self.name, self.total_size, sum
            )));
        }
        Ok(())
    }
}

/// Logical position on tape: partition and logical block (SSC-4 7.7, READ POSITION).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TapePosition {
    pub partition: u8,
    pub block: u64,
}

/// Where one file of an instance lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceFile {
    /// Path relative to the object root (matches `ObjectFile::path`).
    pub path: String,
    pub tape: String,
    /// Absolute path inside the LTFS volume.
    pub ltfs_path: String,
    /// Start of the file's first extent, used to order reads.
    pub position: Option<TapePosition>,
}

/// One copy of an object on tape; an object may span several tapes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceRecord {
    pub id: u64,
    pub collection: String,
    pub name: String,
    pub group: String,
    /// Barcodes in the order the instance was written.
    pub tapes: Vec<String>,
    pub files: Vec<InstanceFile>,
    pub online: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// Files a verify found unreadable or different from their checksum; reads prefer
    /// other instances.
    #[serde(default)]
    pub damaged: Vec<String>,
}

/// An instance about to be committed; the catalog assigns the id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInstance {
    pub group: String,
    pub files: Vec<InstanceFile>,
    pub created: OffsetDateTime,
}

impl NewInstance {
    /// Barcodes of the files in first-seen order.
    pub fn tapes(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for f in &self.files {
            if !out.iter().any(|t| t == &f.tape) {
                out.push(f.tape.clone());
            }
        }
        out
    }
}

/// Kind of element in the library slot cache (SMC-3 6.11.2 element type codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ElementKind {
    Transport,
    Storage,
    ImportExport,
    Drive,
}

/// One element in the cached inventory of a library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElementCache {
    pub address: u16,
    pub kind: ElementKind,
    pub full: bool,
    pub barcode: Option<String>,
}

/// Cached inventory of a library, refreshed from READ ELEMENT STATUS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LibraryRecord {
    pub name: String,
    pub vendor: String,
    pub product: String,
    pub serial: String,
    pub elements: Vec<ElementCache>,
    #[serde(with = "time::serde::rfc3339")]
    pub updated: OffsetDateTime,
}

/// An append-only audit log line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Sequence number (the key); assigned by the catalog.
    pub seq: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub details: String,
}

/// Collections, names, groups and barcodes become key parts joined by NUL.
pub(crate) fn validate_component(what: &'static str, s: &str) -> Result<(), CatalogError> {
    if s.is_empty() {
        return Err(CatalogError::InvalidName {
            what,
            reason: "empty".into(),
        });
    }
    if s.contains('\0') {
        return Err(CatalogError::InvalidName {
            what,
            reason: format!("{s:?} contains NUL"),
        });
    }
    Ok(())
}

pub(crate) fn validate_barcode(s: &str) -> Result<(), CatalogError> {
    validate_component("barcode", s)
}

#[cfg(test)]
pub(crate) mod strategies {
    //! proptest strategies for records, shared by the catalog and request tests.
    use super::*;
    use proptest::prelude::*;

    pub fn timestamp() -> impl Strategy<Value = OffsetDateTime> {
        // 1970..2100, nanosecond precision: RFC 3339 keeps all nine digits.
        (0i64..4_102_444_800, 0u32..1_000_000_000).prop_map(|(s, n)| {
            OffsetDateTime::from_unix_timestamp(s)
                .map(|t| t + time::Duration::nanoseconds(i64::from(n)))
                .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        })
    }

    pub fn name() -> impl Strategy<Value = String> {
        "[A-Za-z0-9_.\\- ]{1,16}"
    }

    pub fn tape_state() -> impl Strategy<Value = TapeState> {
        prop_oneof![
            Just(TapeState::Active),
            Just(TapeState::Disabled),
            Just(TapeState::Broken),
            Just(TapeState::Full),
            Just(TapeState::Repacking),
            Just(TapeState::Exported),
        ]
    }

    pub fn location() -> impl Strategy<Value = TapeLocation> {
        prop_oneof![
            any::<u16>().prop_map(TapeLocation::Slot),
            any::<u16>().prop_map(TapeLocation::Drive),
            any::<u16>().prop_map(TapeLocation::ImportExport),
            Just(TapeLocation::Outside),
        ]
    }

    prop_compose! {
        pub fn tape()(
            barcode in "[A-Z0-9]{6}L[5-9]",
            generation in proptest::option::of(5u8..=9),
            group in proptest::option::of(name()),
            library in proptest::option::of(name()),
            volume_uuid in proptest::option::of("[0-9a-f]{8}-[0-9a-f]{4}"),
            capacity_bytes in any::<u64>(),
            used_bytes in any::<u64>(),
            state in tape_state(),
            state_reason in proptest::option::of(".{0,20}"),
            location in location(),
            online in any::<bool>(),
            mounts in any::<u64>(),
            errors in any::<u64>(),
            foreign in any::<bool>(),
            scratch in any::<bool>(),
            pending_removals in proptest::collection::vec("/[a-z0-9/]{1,12}", 0..3),
            cleaning_uses in any::<u32>(),
        ) -> TapeRecord {
            TapeRecord { barcode, generation, group, library, volume_uuid, capacity_bytes,
                used_bytes, state, state_reason, location, online, mounts, errors, foreign, scratch,
                pending_removals, cleaning_uses, verified: None, suspect: None }
        }
    }

    prop_compose! {
        pub fn object()(
            collection in name(),
            name in name(),
            files in proptest::collection::btree_map("[a-z0-9/]{1,12}", (0u64..1 << 40, any::<u32>()), 0..6),
            archived in timestamp(),
            comments in ".{0,24}",
        ) -> ObjectRecord {
            let files: Vec<ObjectFile> = files
                .into_iter()
                .map(|(path, (size, crc32))| ObjectFile { path, size, crc32 })
                .collect();
            let total_size = files.iter().map(|f| f.size).sum();
            ObjectRecord { collection, name, files, total_size, archived, comments }
        }
    }

    prop_compose! {
        pub fn instance()(
            id in any::<u64>(),
            collection in name(),
            name in name(),
            group in name(),
            files in proptest::collection::vec(
                ("[a-z0-9/]{1,12}", "[A-Z0-9]{6}L8", proptest::option::of((0u8..2, any::<u64>()))),
                0..6),
            online in any::<bool>(),
            created in timestamp(),
        ) -> InstanceRecord {
            let files: Vec<InstanceFile> = files
                .into_iter()
                .map(|(path, tape, pos)| InstanceFile {
                    ltfs_path: format!("/{path}"),
                    path,
                    tape,
                    position: pos.map(|(partition, block)| TapePosition { partition, block }),
                })
                .collect();
            let new = NewInstance { group: group.clone(), files: files.clone(), created };
            InstanceRecord { id, collection, name, group, tapes: new.tapes(), files, online, created,
                damaged: Vec::new() }
        }
    }

    prop_compose! {
        pub fn audit()(
            seq in any::<u64>(),
            time in timestamp(),
            actor in name(),
            action in name(),
            subject in name(),
            details in ".{0,30}",
        ) -> AuditEntry {
            AuditEntry { seq, time, actor, action, subject, details }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::strategies::*;
    use super::*;
    use proptest::prelude::*;

    fn roundtrip<T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug>(v: &T) {
        let bytes = serde_json::to_vec(v).expect("encode");
        let back: T = serde_json::from_slice(&bytes).expect("decode");
        assert_eq!(&back, v);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn tape_roundtrip(t in tape()) { roundtrip(&t); }

        #[test]
        fn object_roundtrip(o in object()) { roundtrip(&o); prop_assert!(o.validate().is_ok()); }

        #[test]
        fn instance_roundtrip(i in instance()) { roundtrip(&i); }

        #[test]
        fn audit_roundtrip(a in audit()) { roundtrip(&a); }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = serde_json::from_slice::<TapeRecord>(&bytes);
            let _ = serde_json::from_slice::<ObjectRecord>(&bytes);
            let _ = serde_json::from_slice::<InstanceRecord>(&bytes);
        }
    }

    #[test]
    fn transitions_exclude_self_and_exported_only_returns_to_active() {
        for s in [
            TapeState::Active,
            TapeState::Disabled,
            TapeState::Broken,
            TapeState::Full,
            TapeState::Repacking,
            TapeState::Exported,
        ] {
            assert!(!s.can_transition_to(s), "{s:?}");
        }
        assert_eq!(TapeState::Exported.allowed_next(), &[TapeState::Active]);
        assert!(TapeState::Active.can_transition_to(TapeState::Full));
        assert!(!TapeState::Repacking.can_transition_to(TapeState::Exported));
    }

    #[test]
    fn object_new_sums_sizes_and_rejects_duplicates() {
        let f = |p: &str, s| ObjectFile {
            path: p.into(),
            size: s,
            crc32: 0,
        };
        let o = ObjectRecord::new(
            "c",
            "n",
            vec![f("a", 3), f("b", 4)],
            OffsetDateTime::UNIX_EPOCH,
            "",
        )
        .expect("valid");
        assert_eq!(o.total_size, 7);
        assert!(ObjectRecord::new(
            "c",
            "n",
            vec![f("a", 1), f("a", 2)],
            OffsetDateTime::UNIX_EPOCH,
            ""
        )
        .is_err());
        assert!(ObjectRecord::new(
            "c",
            "n",
            vec![f("a", u64::MAX), f("b", 1)],
            OffsetDateTime::UNIX_EPOCH,
            ""
        )
        .is_err());
        assert!(ObjectRecord::new("", "n", vec![], OffsetDateTime::UNIX_EPOCH, "").is_err());
        assert!(ObjectRecord::new("c\0x", "n", vec![], OffsetDateTime::UNIX_EPOCH, "").is_err());
    }

    #[test]
    fn location_json_shape_is_stable() {
        let j = serde_json::to_string(&TapeLocation::Slot(4097)).expect("encode");
        assert_eq!(j, r#"{"kind":"slot","address":4097}"#);
        let j = serde_json::to_string(&TapeLocation::Outside).expect("encode");
        assert_eq!(j, r#"{"kind":"outside"}"#);
    }
}
