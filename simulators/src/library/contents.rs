//! A serializable picture of the library: every element and what it holds.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use crate::changer::{ChangerState, ElementType};
use crate::config::FaultSpec;
use crate::media::MediaKind;

/// One element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElementContents {
    pub address: u16,
    pub element_type: ElementType,
    /// Operator-facing name: `transport`, `slot 3`, `ie 1`, `drive0`.
    pub name: String,
    pub barcode: Option<String>,
    pub kind: Option<MediaKind>,
    /// Element the cartridge came from (SValid).
    pub source: Option<u16>,
    /// For drives holding a cartridge: threaded (not unloaded).
    pub loaded: Option<bool>,
}

/// The whole library.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LibraryContents {
    pub elements: Vec<ElementContents>,
    /// Barcodes known to the library but outside it.
    pub outside: Vec<String>,
    pub ie_open: bool,
    pub prevent_removal: bool,
    pub faults: Vec<FaultSpec>,
}

impl LibraryContents {
    /// The element holding `barcode`.
    pub fn find(&self, barcode: &str) -> Option<&ElementContents> {
        self.elements
            .iter()
            .find(|e| e.barcode.as_deref() == Some(barcode))
    }
}

pub(super) fn build(
    state: &ChangerState,
    loaded: &[AtomicBool],
    outside: &BTreeMap<String, MediaKind>,
    faults: &[FaultSpec],
) -> LibraryContents {
    let mut elements = Vec::new();
    let groups: [(&[crate::changer::Element], &str); 4] = [
        (&state.transport, "transport"),
        (&state.storage, "slot "),
        (&state.import_export, "ie "),
        (&state.drives, "drive"),
    ];
    for (list, prefix) in groups {
        for (i, e) in list.iter().enumerate() {
            let name = match e.element_type {
                ElementType::MediumTransport => prefix.to_string(),
                ElementType::DataTransfer => format!("{prefix}{i}"),
                _ => format!("{prefix}{}", i + 1),
            };
            let loaded_flag = (e.element_type == ElementType::DataTransfer && e.medium.is_some())
                .then(|| loaded.get(i).is_some_and(|l| l.load(Ordering::SeqCst)));
            elements.push(ElementContents {
                address: e.address,
                element_type: e.element_type,
                name,
                barcode: e.medium.as_ref().map(|m| m.barcode.clone()),
                kind: e.medium.as_ref().map(|m| m.kind),
                source: e.medium.as_ref().and_then(|m| m.source),
                loaded: loaded_flag,
            });
        }
    }
    elements.sort_by_key(|e| e.address);
    LibraryContents {
        elements,
        outside: outside.keys().cloned().collect(),
        ie_open: state.ie_open,
        prevent_removal: state.prevent_removal,
        faults: faults.to_vec(),
    }
}
