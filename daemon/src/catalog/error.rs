//! Typed catalog errors.

use super::records::TapeState;

/// Everything that can go wrong in the catalog. Each variant keeps the key it concerns.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("object {collection}/{name} already exists")]
    ObjectExists { collection: String, name: String },
    #[error("object {collection}/{name} not found")]
    ObjectNotFound { collection: String, name: String },
    #[error("instance {instance} of object {collection}/{name} not found")]
    InstanceNotFound {
        collection: String,
        name: String,
        instance: u64,
    },
    #[error("instance {instance} is the last instance of object {collection}/{name}")]
    LastInstance {
        collection: String,
        name: String,
        instance: u64,
    },
    #[error("tape {barcode} not found")]
    TapeNotFound { barcode: String },
    #[error("tape {barcode} already exists")]
    TapeExists { barcode: String },
    #[error("tape {barcode} is {state:?} and cannot take data")]
    TapeNotWritable { barcode: String, state: TapeState },
    #[error("tape {barcode} belongs to group {tape_group:?}, not {group}")]
    TapeGroupMismatch {
        barcode: String,
        tape_group: Option<String>,
        group: String,
    },
    #[error("tape group {name} not found")]
    GroupNotFound { name: String },
    #[error("tape group {name} already exists")]
    GroupExists { name: String },
    #[error("tape group {name} is in use by {tapes} tape(s)")]
    GroupInUse { name: String, tapes: usize },
    #[error("library {name} not found")]
    LibraryNotFound { name: String },
    #[error("request {id} not found")]
    RequestNotFound { id: u64 },
    #[error("tape {barcode}: transition {from:?} -> {to:?} not allowed")]
    InvalidTransition {
        barcode: String,
        from: TapeState,
        to: TapeState,
    },
    #[error("tape {barcode}: a reason is required to set state {to:?}")]
    ReasonRequired { barcode: String, to: TapeState },
    #[error("invalid {what}: {reason}")]
    InvalidName { what: &'static str, reason: String },
    #[error("invalid record: {0}")]
    InvalidRecord(String),
    #[error("catalog schema version {found} is newer than supported version {supported}")]
    SchemaVersion { found: u32, supported: u32 },
    #[error("catalog schema version {found} cannot be migrated to {supported}: no migration from {found}")]
    NoMigration { found: u32, supported: u32 },
    #[error("migration from schema version {from} failed: {reason}")]
    Migration { from: u32, reason: String },
    #[error("user {username} not found")]
    UserNotFound { username: String },
    #[error("user {username} already exists")]
    UserExists { username: String },
    #[error("user {username} is the last sysadmin")]
    LastSysadmin { username: String },
    #[error("invalid paging cursor")]
    InvalidCursor,
    #[error("catalog storage: {0}")]
    Storage(#[from] sled::Error),
    #[error("catalog record in tree {tree}, key {key}: {source}")]
    Codec {
        tree: &'static str,
        key: String,
        #[source]
        source: serde_json::Error,
    },
    /// A request-level rule refused an update made through the catalog.
    #[error("request {id}: {reason}")]
    RequestRejected { id: u64, reason: String },
}

impl From<sled::transaction::TransactionError<CatalogError>> for CatalogError {
    fn from(e: sled::transaction::TransactionError<CatalogError>) -> Self {
        match e {
            sled::transaction::TransactionError::Abort(e) => e,
            sled::transaction::TransactionError::Storage(e) => CatalogError::Storage(e),
        }
    }
}

/// Printable form of a binary key for error messages (NUL shown as '/').
pub(crate) fn key_text(key: &[u8]) -> String {
    key.iter()
        .map(|&b| match b {
            0 => '/'.to_string(),
            0x20..=0x7e => (b as char).to_string(),
            _ => format!("\\x{b:02x}"),
        })
        .collect()
}
