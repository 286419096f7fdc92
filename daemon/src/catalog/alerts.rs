//! The alert history: every TapeAlert flag a drive raised or cleared and every changer
//! element exception that appeared or went away, in the order the daemon saw them.
//!
//! A tree of its own, appended outside the data transactions (an alert touches nothing
//! else) and added without a schema bump: a catalog without it simply has no history.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{paging, tree, tx, Catalog, CatalogError, Cursor, Page};

/// What reported an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertSource {
    /// A drive's TapeAlert flag; `code` is the flag number.
    TapeAlert,
    /// A changer element exception; `code` is ASC * 256 + ASCQ.
    ElementException,
}

/// How serious an alert is (TapeAlert's classes, also used for element exceptions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertSeverity {
    Information,
    Warning,
    Critical,
}

/// One change of an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertEvent {
    /// Sequence number (the key); assigned by the catalog.
    pub seq: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    pub library: String,
    /// Drive name; empty for an element that is not a drive.
    pub drive: String,
    pub element: u16,
    /// Cartridge in the drive or element when known; empty otherwise.
    pub barcode: String,
    pub source: AlertSource,
    pub code: u16,
    pub name: String,
    pub severity: AlertSeverity,
    /// Raised (true) or cleared (false).
    pub raised: bool,
}

impl AlertEvent {
    /// What identifies one alert across its raised and cleared events.
    pub fn identity(&self) -> (AlertSource, &str, u16, u16) {
        (self.source, &self.drive, self.element, self.code)
    }
}

impl Catalog {
    /// Appends `event` (its `seq` is assigned here) durably; returns the sequence number.
    pub fn record_alert(&self, event: &AlertEvent) -> Result<u64, CatalogError> {
        let seq = self.inner.db.generate_id()?;
        let event = AlertEvent {
            seq,
            ..event.clone()
        };
        let k = seq.to_be_bytes();
        let bytes = tx::encode(tree::ALERTS, &k, &event)?;
        let t = &self.trees().alerts;
        t.insert(k, bytes)?;
        // Alerts are rare and are what an operator looks for after a crash.
        t.flush()?;
        Ok(seq)
    }

    /// Alert events in sequence order, paged.
    pub fn list_alerts(
        &self,
        cursor: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<AlertEvent>, CatalogError> {
        paging::scan(&self.trees().alerts, b"", cursor, limit, |k, v| {
            paging::decode(tree::ALERTS, k, v).map(Some)
        })
    }

    /// The alerts of `library` whose last event is a raise: what was still set when the
    /// daemon last looked, in sequence order of those raises.
    pub fn open_alerts(&self, library: &str) -> Result<Vec<AlertEvent>, CatalogError> {
        let mut last = std::collections::BTreeMap::new();
        for r in self.trees().alerts.iter() {
            let (k, v) = r?;
            let e: AlertEvent = paging::decode(tree::ALERTS, &k, &v)?;
            if e.library != library {
                continue;
            }
            let id = (e.source, e.drive.clone(), e.element, e.code);
            last.insert(id, e);
        }
        let mut open: Vec<AlertEvent> = last.into_values().filter(|e| e.raised).collect();
        open.sort_by_key(|e| e.seq);
        Ok(open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(drive: &str, code: u16, raised: bool) -> AlertEvent {
        AlertEvent {
            seq: 0,
            time: OffsetDateTime::now_utc(),
            library: "lib0".into(),
            drive: drive.into(),
            element: 256,
            barcode: "A00001L8".into(),
            source: AlertSource::TapeAlert,
            code,
            name: "Cleaning required".into(),
            severity: AlertSeverity::Warning,
            raised,
        }
    }

    #[test]
    fn events_keep_their_order_and_survive_reopening() {
        let dir = tempfile::tempdir().expect("temp dir");
        {
            let c = Catalog::open(dir.path()).expect("open");
            let a = c.record_alert(&event("drive0", 20, true)).expect("record");
            let b = c.record_alert(&event("drive0", 20, false)).expect("record");
            assert!(b > a);
        }
        let c = Catalog::open(dir.path()).expect("reopen");
        let page = c.list_alerts(None, 100).expect("list");
        let got: Vec<(u16, bool)> = page.items.iter().map(|e| (e.code, e.raised)).collect();
        assert_eq!(got, vec![(20, true), (20, false)]);
        assert!(page.items[0].seq < page.items[1].seq);
    }

    #[test]
    fn open_alerts_are_those_last_raised() {
        let c = Catalog::temporary().expect("catalog");
        c.record_alert(&event("drive0", 20, true)).expect("record");
        c.record_alert(&event("drive1", 3, true)).expect("record");
        c.record_alert(&event("drive0", 20, false)).expect("record");
        c.record_alert(&event("drive1", 4, true)).expect("record");
        let mut other = event("drive0", 5, true);
        other.library = "lib1".into();
        c.record_alert(&other).expect("record");
        let open: Vec<(String, u16)> = c
            .open_alerts("lib0")
            .expect("open")
            .into_iter()
            .map(|e| (e.drive, e.code))
            .collect();
        assert_eq!(open, vec![("drive1".into(), 3), ("drive1".into(), 4)]);
    }
}
