//! Drive states that must survive a restart: a drive set DOWN (by an operator or after a
//! hardware error) stays DOWN until someone sets it UP.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{paging, records, tree, tx, Catalog, CatalogError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriveStateRecord {
    pub library: String,
    pub drive: String,
    /// Why the drive is DOWN.
    pub reason: String,
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
}

fn key(library: &str, drive: &str) -> Vec<u8> {
    format!("{library}/{drive}").into_bytes()
}

impl Catalog {
    /// Records a drive as DOWN with its reason, durably, with an audit entry.
    pub fn set_drive_down(&self, rec: &DriveStateRecord, actor: &str) -> Result<(), CatalogError> {
        records::validate_component("library name", &rec.library)?;
        records::validate_component("drive name", &rec.drive)?;
        let k = key(&rec.library, &rec.drive);
        let bytes = tx::encode(tree::DRIVES, &k, rec)?;
        self.trees().drives.insert(k, bytes)?;
        self.audit(
            actor,
            "drive.down",
            &format!("{}/{}", rec.library, rec.drive),
            &rec.reason,
        )?;
        self.trees().drives.flush()?;
        Ok(())
    }

    /// Forgets a DOWN state: the drive is UP.
    pub fn set_drive_up(
        &self,
        library: &str,
        drive: &str,
        actor: &str,
    ) -> Result<(), CatalogError> {
        self.trees().drives.remove(key(library, drive))?;
        self.audit(actor, "drive.up", &format!("{library}/{drive}"), "")?;
        self.trees().drives.flush()?;
        Ok(())
    }

    /// The recorded DOWN state of a drive, if any.
    pub fn drive_state(
        &self,
        library: &str,
        drive: &str,
    ) -> Result<Option<DriveStateRecord>, CatalogError> {
        let k = key(library, drive);
        self.trees()
            .drives
            .get(&k)?
            .map(|v| paging::decode(tree::DRIVES, &k, &v))
            .transpose()
    }
}
