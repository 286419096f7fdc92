//! The catalog: tapes, groups, objects, instances, requests, users and the audit log in sled.
//!
//! Every change that touches more than one key runs as one sled transaction over the data
//! trees, so a crash or a refused check leaves either all of it or none of it. Operations
//! that must scan an index before they transact (sled transactions cannot iterate) hold
//! the catalog's write lock so no other writer can change that index in between.

mod alerts;
mod drives;
mod error;
mod keys;
mod objects;
mod paging;
pub mod records;
mod requests;
pub mod schema;
mod tapes;
mod tx;
mod users;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use time::OffsetDateTime;

pub use alerts::{AlertEvent, AlertSeverity, AlertSource};
pub use drives::DriveStateRecord;
pub use error::CatalogError;
pub use objects::ObjectFilter;
pub use paging::{Cursor, Page, MAX_PAGE};
pub use records::{
    AuditEntry, ElementCache, ElementKind, InstanceFile, InstanceRecord, LibraryRecord,
    NewInstance, ObjectFile, ObjectRecord, TapeGroup, TapeLocation, TapePosition, TapeRecord,
    TapeState,
};
pub use schema::{Migration, MIGRATIONS, SCHEMA_VERSION};
pub use users::{UserRecord, MAX_USERNAME_LEN};

pub(crate) use tx::{fail, Tx, TxResult};

/// Names of the sled trees (also used in error messages).
pub(crate) mod tree {
    pub const META: &str = "meta";
    pub const LIBRARIES: &str = "libraries";
    pub const TAPES: &str = "tapes";
    pub const GROUPS: &str = "groups";
    pub const OBJECTS: &str = "objects";
    pub const OBJECTS_BY_TIME: &str = "objects_by_time";
    pub const INSTANCES: &str = "instances";
    pub const INSTANCES_BY_TAPE: &str = "instances_by_tape";
    pub const REQUESTS: &str = "requests";
    pub const REQUESTS_ACTIVE: &str = "requests_active";
    pub const AUDIT: &str = "audit";
    pub const COUNTERS: &str = "counters";
    pub const DRIVES: &str = "drives";
    pub const USERS: &str = "users";
    pub const REVOKED_TOKENS: &str = "revoked_tokens";
    pub const ALERTS: &str = "alerts";
}

pub(crate) struct Trees {
    pub meta: sled::Tree,
    pub libraries: sled::Tree,
    pub tapes: sled::Tree,
    pub groups: sled::Tree,
    pub objects: sled::Tree,
    pub objects_by_time: sled::Tree,
    pub instances: sled::Tree,
    pub instances_by_tape: sled::Tree,
    pub requests: sled::Tree,
    pub requests_active: sled::Tree,
    pub audit: sled::Tree,
    pub counters: sled::Tree,
    /// Operator-visible drive state (DOWN and why), keyed `library/drive`. Added without a
    /// schema bump: a catalog without the tree simply has every drive UP.
    pub drives: sled::Tree,
    pub users: sled::Tree,
    pub revoked_tokens: sled::Tree,
    /// TapeAlert and element exception history, keyed by sequence number. Outside the
    /// transactions, like `drives`.
    pub alerts: sled::Tree,
}

struct Inner {
    db: sled::Db,
    trees: Trees,
    write_lock: Mutex<()>,
}

/// Handle to the catalog; cheap to clone and shareable between threads.
#[derive(Clone)]
pub struct Catalog {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog").finish_non_exhaustive()
    }
}

impl Catalog {
    /// Opens (or creates) the catalog at `path` with the migrations of this build.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CatalogError> {
        Self::open_with(path, SCHEMA_VERSION, MIGRATIONS)
    }

    /// Opens the catalog, bringing it to schema `target` with `migrations`.
    pub fn open_with(
        path: impl AsRef<Path>,
        target: u32,
        migrations: &[Migration],
    ) -> Result<Self, CatalogError> {
        let path = path.as_ref();
        tracing::debug!(path = %path.display(), "opening catalog");
        let db = sled::Config::new().path(path).open()?;
        Self::from_db(db, target, migrations)
    }

    /// A catalog that lives in a temporary directory and is removed when dropped.
    pub fn temporary() -> Result<Self, CatalogError> {
        let db = sled::Config::new().temporary(true).open()?;
        Self::from_db(db, SCHEMA_VERSION, MIGRATIONS)
    }

    fn from_db(db: sled::Db, target: u32, migrations: &[Migration]) -> Result<Self, CatalogError> {
        let trees = Trees {
            meta: db.open_tree(tree::META)?,
            libraries: db.open_tree(tree::LIBRARIES)?,
            tapes: db.open_tree(tree::TAPES)?,
            groups: db.open_tree(tree::GROUPS)?,
            objects: db.open_tree(tree::OBJECTS)?,
            objects_by_time: db.open_tree(tree::OBJECTS_BY_TIME)?,
            instances: db.open_tree(tree::INSTANCES)?,
            instances_by_tape: db.open_tree(tree::INSTANCES_BY_TAPE)?,
            requests: db.open_tree(tree::REQUESTS)?,
            requests_active: db.open_tree(tree::REQUESTS_ACTIVE)?,
            audit: db.open_tree(tree::AUDIT)?,
            counters: db.open_tree(tree::COUNTERS)?,
            drives: db.open_tree(tree::DRIVES)?,
            users: db.open_tree(tree::USERS)?,
            revoked_tokens: db.open_tree(tree::REVOKED_TOKENS)?,
            alerts: db.open_tree(tree::ALERTS)?,
        };
        let has_data = [
            &trees.libraries,
            &trees.tapes,
            &trees.groups,
            &trees.objects,
            &trees.instances,
            &trees.requests,
            &trees.audit,
            &trees.counters,
            &trees.users,
        ]
        .iter()
        .any(|t| !t.is_empty());
        schema::ensure_version(&db, &trees.meta, has_data, target, migrations)?;
        Ok(Catalog {
            inner: Arc::new(Inner {
                db,
                trees,
                write_lock: Mutex::new(()),
            }),
        })
    }

    /// Schema version stored in the catalog.
    pub fn schema_version(&self) -> Result<u32, CatalogError> {
        schema::read_version(&self.inner.trees.meta)?
            .ok_or_else(|| CatalogError::InvalidRecord("schema_version missing".into()))
    }

    /// Writes everything to disk; returns the number of bytes flushed.
    pub fn flush(&self) -> Result<usize, CatalogError> {
        Ok(self.inner.db.flush()?)
    }

    /// Size of the catalog on disk in bytes.
    pub fn size_on_disk(&self) -> Result<u64, CatalogError> {
        Ok(self.inner.db.size_on_disk()?)
    }

    pub(crate) fn trees(&self) -> &Trees {
        &self.inner.trees
    }

    /// Serialises writers that scan an index before their transaction.
    pub(crate) fn lock(&self) -> MutexGuard<'_, ()> {
        // A panic while holding the lock leaves no partial state (the transaction either
        // committed or not), so a poisoned lock is safe to reuse.
        self.inner
            .write_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` as one transaction over every data tree.
    pub(crate) fn transact<R>(
        &self,
        f: impl Fn(&Tx<'_>) -> TxResult<R>,
    ) -> Result<R, CatalogError> {
        tx::run(&self.inner.trees, f)
    }

    /// Appends an audit entry on its own.
    pub fn audit(
        &self,
        actor: &str,
        action: &str,
        subject: &str,
        details: &str,
    ) -> Result<u64, CatalogError> {
        let now = OffsetDateTime::now_utc();
        self.transact(|tx| tx.audit(now, actor, action, subject, details))
    }

    /// Audit entries in sequence order, paged.
    pub fn list_audit(
        &self,
        cursor: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<AuditEntry>, CatalogError> {
        paging::scan(&self.inner.trees.audit, b"", cursor, limit, |k, v| {
            paging::decode(tree::AUDIT, k, v).map(Some)
        })
    }

    /// Stores the cached inventory of a library (replacing the previous one).
    pub fn put_library(&self, lib: &LibraryRecord) -> Result<(), CatalogError> {
        records::validate_component("library name", &lib.name)?;
        let bytes = tx::encode(tree::LIBRARIES, lib.name.as_bytes(), lib)?;
        self.inner
            .trees
            .libraries
            .insert(lib.name.as_bytes(), bytes)?;
        Ok(())
    }

    pub fn get_library(&self, name: &str) -> Result<Option<LibraryRecord>, CatalogError> {
        self.inner
            .trees
            .libraries
            .get(name.as_bytes())?
            .map(|v| paging::decode(tree::LIBRARIES, name.as_bytes(), &v))
            .transpose()
    }

    pub fn list_libraries(&self) -> Result<Vec<LibraryRecord>, CatalogError> {
        self.inner
            .trees
            .libraries
            .iter()
            .map(|r| {
                let (k, v) = r?;
                paging::decode(tree::LIBRARIES, &k, &v)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
