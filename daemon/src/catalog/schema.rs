//! Schema versioning. The `meta` tree holds `schema_version` (u32 BE). Opening a catalog
//! written by a newer daemon is refused; older catalogs are brought forward one version at
//! a time by registered migrations, each step persisted before the next.

use super::error::CatalogError;

/// Version written by this build.
pub const SCHEMA_VERSION: u32 = 1;

pub(crate) const META_SCHEMA_VERSION: &[u8] = b"schema_version";

/// One migration step from `from` to `from + 1`.
#[derive(Clone, Copy)]
pub struct Migration {
    pub from: u32,
    pub apply: fn(&sled::Db) -> Result<(), CatalogError>,
}

impl std::fmt::Debug for Migration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Migration({} -> {})", self.from, self.from + 1)
    }
}

/// Migrations shipped with this build. Version 1 is the first released layout, so there is
/// nothing to migrate yet; a catalog without a version but with data is version 0 and is
/// refused with `NoMigration` until a step for it exists.
pub const MIGRATIONS: &[Migration] = &[];

pub(crate) fn read_version(meta: &sled::Tree) -> Result<Option<u32>, CatalogError> {
    match meta.get(META_SCHEMA_VERSION)? {
        None => Ok(None),
        Some(v) => {
            let arr: [u8; 4] = v.as_ref().try_into().map_err(|_| {
                CatalogError::InvalidRecord(format!(
                    "meta/schema_version has {} bytes, expected 4",
                    v.len()
                ))
            })?;
            Ok(Some(u32::from_be_bytes(arr)))
        }
    }
}

pub(crate) fn write_version(meta: &sled::Tree, v: u32) -> Result<(), CatalogError> {
    meta.insert(META_SCHEMA_VERSION, &v.to_be_bytes())?;
    Ok(())
}

/// Brings the catalog to `target`, returning the version it was found at.
pub(crate) fn ensure_version(
    db: &sled::Db,
    meta: &sled::Tree,
    has_data: bool,
    target: u32,
    migrations: &[Migration],
) -> Result<u32, CatalogError> {
    let found = match read_version(meta)? {
        Some(v) => v,
        None if !has_data => {
            write_version(meta, target)?;
            meta.flush()?;
            return Ok(target);
        }
        None => 0,
    };
    if found > target {
        return Err(CatalogError::SchemaVersion {
            found,
            supported: target,
        });
    }
    let mut v = found;
    while v < target {
        let step = migrations
            .iter()
            .find(|m| m.from == v)
            .ok_or(CatalogError::NoMigration {
                found: v,
                supported: target,
            })?;
        tracing::info!(from = v, to = v + 1, "migrating catalog schema");
        (step.apply)(db).map_err(|e| CatalogError::Migration {
            from: v,
            reason: e.to_string(),
        })?;
        v += 1;
        write_version(meta, v)?;
        db.flush()?;
    }
    Ok(found)
}
