//! A changer's typed inventory, mtx slot numbering and the `mtx status` rendering.
//!
//! mtx numbers elements by position, not by SCSI address: storage slots from 1 in the order
//! the changer reports them, import/export slots continuing after the last storage slot, data
//! transfer elements (drives) from 0. Operators know libraries by these numbers, so tapelib
//! shows them too; commands still go to element addresses.

use std::fmt;

use crate::smc::element_status::{DeviceIdentifier, ElementDescriptor, VolumeTag};
use crate::smc::ElementType;

/// State common to every element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementState {
    pub address: u16,
    pub full: bool,
    /// Primary volume tag identifier (the barcode label).
    pub barcode: Option<String>,
    /// Primary volume tag with its sequence number.
    pub primary_tag: Option<VolumeTag>,
    pub alternate_tag: Option<VolumeTag>,
    /// Storage element the medium came from (SVALID).
    pub source_address: Option<u16>,
    /// EXCEPT with its ASC/ASCQ: the element is in an abnormal state.
    pub exception: Option<(u8, u8)>,
    /// ACCESS: the robot can reach the element (always true for transports).
    pub access: bool,
}

impl ElementState {
    pub fn from_descriptor(d: &ElementDescriptor) -> Self {
        ElementState {
            address: d.address,
            full: d.full,
            barcode: d.barcode().map(str::to_string),
            primary_tag: d.primary_tag.clone(),
            alternate_tag: d.alternate_tag.clone(),
            source_address: d.source_address,
            exception: d.except.then_some((d.asc, d.ascq)),
            access: d.access || d.element_type == ElementType::MediumTransport,
        }
    }
}

/// An import/export element (mail slot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportExportElement {
    pub state: ElementState,
    /// INENAB: the element can import media into the library.
    pub import_enabled: bool,
    /// EXENAB: the element can export media out of the library.
    pub export_enabled: bool,
    /// IMPEXP: the medium was placed by an operator (imported), not by the robot.
    pub imported: bool,
}

/// A data transfer element (drive), with the identity reported through DVCID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataTransferElement {
    pub state: ElementState,
    pub serial: Option<String>,
    /// Vendor and product, when the device identifier is of type 1 (T10 vendor ID based).
    pub vendor: Option<String>,
    pub product: Option<String>,
    pub device_id: Option<DeviceIdentifier>,
}

impl DataTransferElement {
    pub fn from_descriptor(d: &ElementDescriptor) -> Self {
        let id = d.device_id.as_ref();
        DataTransferElement {
            state: ElementState::from_descriptor(d),
            serial: id
                .and_then(DeviceIdentifier::serial)
                .filter(|s| !s.is_empty()),
            vendor: id
                .and_then(DeviceIdentifier::vendor)
                .filter(|s| !s.is_empty()),
            product: id
                .and_then(DeviceIdentifier::product)
                .filter(|s| !s.is_empty()),
            device_id: d.device_id.clone(),
        }
    }
}

/// Every element of a changer, by type, each list in the order the changer reported it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Inventory {
    pub transports: Vec<ElementState>,
    pub storage: Vec<ElementState>,
    pub import_export: Vec<ImportExportElement>,
    pub drives: Vec<DataTransferElement>,
}

/// An element as mtx numbers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MtxElement {
    /// `Storage Element N` (1-based; I/E slots follow the storage slots).
    Slot(u32),
    /// `Data Transfer Element N` (0-based).
    Drive(u32),
}

impl Inventory {
    /// Builds an inventory from decoded descriptors of any types.
    pub fn from_descriptors<'a>(
        descriptors: impl IntoIterator<Item = &'a ElementDescriptor>,
    ) -> Self {
        let mut inv = Inventory::default();
        inv.extend(descriptors);
        inv
    }

    /// Adds decoded descriptors, each to the list of its type.
    pub fn extend<'a>(&mut self, descriptors: impl IntoIterator<Item = &'a ElementDescriptor>) {
        for d in descriptors {
            self.push(d);
        }
    }

    fn push(&mut self, d: &ElementDescriptor) {
        match d.element_type {
            ElementType::MediumTransport => self.transports.push(ElementState::from_descriptor(d)),
            ElementType::Storage => self.storage.push(ElementState::from_descriptor(d)),
            ElementType::ImportExport => self.import_export.push(ImportExportElement {
                state: ElementState::from_descriptor(d),
                import_enabled: d.inenab,
                export_enabled: d.exenab,
                imported: d.impexp,
            }),
            ElementType::DataTransfer => self.drives.push(DataTransferElement::from_descriptor(d)),
        }
    }

    /// Storage and I/E elements in mtx order.
    fn mtx_slots(&self) -> impl Iterator<Item = &ElementState> {
        self.storage
            .iter()
            .chain(self.import_export.iter().map(|e| &e.state))
    }

    /// mtx number of the element at `address`; `None` for transports and unknown addresses.
    pub fn mtx_slot_number(&self, address: u16) -> Option<MtxElement> {
        if let Some(i) = self.drives.iter().position(|d| d.state.address == address) {
            return Some(MtxElement::Drive(i as u32));
        }
        self.mtx_slots()
            .position(|s| s.address == address)
            .map(|i| MtxElement::Slot(i as u32 + 1))
    }

    /// Element address of an mtx-numbered element.
    pub fn address_of_mtx(&self, element: MtxElement) -> Option<u16> {
        match element {
            MtxElement::Drive(n) => self
                .drives
                .get(usize::try_from(n).ok()?)
                .map(|d| d.state.address),
            MtxElement::Slot(0) => None,
            MtxElement::Slot(n) => self
                .mtx_slots()
                .nth(usize::try_from(n - 1).ok()?)
                .map(|s| s.address),
        }
    }

    /// Which type of element sits at `address`.
    pub fn element_type_of(&self, address: u16) -> Option<ElementType> {
        if self.transports.iter().any(|e| e.address == address) {
            Some(ElementType::MediumTransport)
        } else if self.storage.iter().any(|e| e.address == address) {
            Some(ElementType::Storage)
        } else if self
            .import_export
            .iter()
            .any(|e| e.state.address == address)
        {
            Some(ElementType::ImportExport)
        } else if self.drives.iter().any(|e| e.state.address == address) {
            Some(ElementType::DataTransfer)
        } else {
            None
        }
    }

    /// State of any element by address.
    pub fn element(&self, address: u16) -> Option<&ElementState> {
        self.transports
            .iter()
            .chain(self.storage.iter())
            .chain(self.import_export.iter().map(|e| &e.state))
            .chain(self.drives.iter().map(|d| &d.state))
            .find(|e| e.address == address)
    }

    /// Address of the element holding the cartridge labelled `barcode`.
    pub fn find_barcode(&self, barcode: &str) -> Option<u16> {
        self.transports
            .iter()
            .chain(self.storage.iter())
            .chain(self.import_export.iter().map(|e| &e.state))
            .chain(self.drives.iter().map(|d| &d.state))
            .find(|e| e.full && e.barcode.as_deref() == Some(barcode))
            .map(|e| e.address)
    }

    /// Full `mtx status` output, header line included, for the changer at `device`.
    pub fn mtx_status(&self, device: &str) -> String {
        format!(
            "  Storage Changer {device}:{} Drives, {} Slots ( {} Import/Export )\n{self}",
            self.drives.len(),
            self.storage.len() + self.import_export.len(),
            self.import_export.len()
        )
    }
}

/// The element lines of `mtx status` (mtx 1.3.12 `Status()`): drives, then storage and
/// import/export slots. mtx prints volume tags with their space padding; here they are printed
/// trimmed, so compare tag values trimmed.
impl fmt::Display for Inventory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.drives.iter().enumerate() {
            write!(f, "Data Transfer Element {i}:")?;
            if d.state.full {
                match d.state.source_address.and_then(|a| self.mtx_slot_number(a)) {
                    Some(MtxElement::Slot(n)) => write!(f, "Full (Storage Element {n} Loaded)")?,
                    _ => f.write_str("Full (Unknown Storage Element Loaded)")?,
                }
                if let Some(t) = nonempty_tag(&d.state.primary_tag) {
                    write!(f, ":VolumeTag = {t}")?;
                }
                if let Some(t) = nonempty_tag(&d.state.alternate_tag) {
                    write!(f, ":AlternateVolumeTag = {t}")?;
                }
                writeln!(f)?;
            } else {
                writeln!(f, "Empty")?;
            }
        }
        let ie_flags = self.import_export.iter().map(|_| true);
        let flags = self.storage.iter().map(|_| false).chain(ie_flags);
        for (i, (slot, is_ie)) in self.mtx_slots().zip(flags).enumerate() {
            write!(
                f,
                "      Storage Element {}{}:{}",
                i + 1,
                if is_ie { " IMPORT/EXPORT" } else { "" },
                if slot.full { "Full " } else { "Empty" }
            )?;
            if let Some(t) = nonempty_tag(&slot.primary_tag) {
                write!(f, ":VolumeTag={t}")?;
            }
            if let Some(t) = nonempty_tag(&slot.alternate_tag) {
                write!(f, ":AlternateVolumeTag={t}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

fn nonempty_tag(tag: &Option<VolumeTag>) -> Option<&str> {
    tag.as_ref()
        .map(|t| t.identifier.as_str())
        .filter(|s| !s.is_empty())
}
