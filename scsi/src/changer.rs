//! `Changer<T>`: a SCSI medium changer (SMC-3) as typed operations.
//!
//! The changer reads its element map from the element address assignment page, then reads
//! each element type separately, in chunks, with volume tags. Drive identities come from
//! DVCID, in the same query when the changer accepts VolTag and DVCID together, else in a
//! second query merged by address.

mod inventory;

use std::time::Duration;

pub use inventory::{
    DataTransferElement, ElementState, ImportExportElement, Inventory, MtxElement,
};

use crate::error::{run, ErrorCategory, ScsiError, Timeouts};
use crate::quirks::Quirks;
use crate::smc::commands::{
    ExchangeMedium, ImportExportAction, InitializeElementStatus, InitializeElementStatusWithRange,
    MoveMedium, OpenCloseImportExportElement, PositionToElement, PreventAllowMediumRemoval,
};
use crate::smc::element_status::{
    ElementDescriptor, ElementStatus, ReadElementStatus, DATA_HEADER_LEN, MAX_ALLOCATION_LENGTH,
    PAGE_HEADER_LEN,
};
use crate::smc::mode_pages::{
    find_mode_page, DeviceCapabilities, ElementAddressAssignment, ElementRange, ModeSenseForm,
    DEVICE_CAPABILITIES_PAGE, ELEMENT_ADDRESS_ASSIGNMENT_PAGE,
};
use crate::smc::{opcode, ElementType};
use crate::spc::inquiry::{inquiry, StandardInquiry, INQUIRY, TYPE_MEDIUM_CHANGER};
use crate::transport::{DataPhase, ScsiTransport};
use crate::DecodeError;

/// Bytes budgeted per element descriptor when sizing a READ ELEMENT STATUS allocation:
/// 12 fixed + two 36-byte volume tags + a 4-byte identifier header and a 34-byte T10 DVCID,
/// rounded up.
const DESCRIPTOR_BUDGET: usize = 128;

/// How this changer must be spoken to: from the quirks table, then refined by what the
/// device rejects at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangerSettings {
    /// READ ELEMENT STATUS with both VolTag and DVCID is rejected: query drives twice.
    pub reject_dvcid_with_voltag: bool,
    /// Highest ALLOCATION LENGTH the changer reads correctly (0xFFFF for changers that read
    /// only two of the three bytes).
    pub allocation_cap: u32,
    /// Only MODE SENSE(6) works.
    pub mode_sense_6_only: bool,
    /// Most elements asked for in one READ ELEMENT STATUS; larger ranges are read in chunks.
    pub max_elements_per_read: u16,
}

impl ChangerSettings {
    /// Settings for a device with `quirks`.
    pub fn from_quirks(quirks: &Quirks) -> Self {
        ChangerSettings {
            reject_dvcid_with_voltag: quirks.dvcid_separate_query,
            allocation_cap: quirks.max_element_status_alloc.min(MAX_ALLOCATION_LENGTH),
            mode_sense_6_only: quirks.mode_sense_6_only,
            ..ChangerSettings::default()
        }
    }
}

/// The standard as written: VolTag with DVCID, full 3-byte allocation length, MODE SENSE(10).
impl Default for ChangerSettings {
    fn default() -> Self {
        ChangerSettings {
            reject_dvcid_with_voltag: false,
            allocation_cap: MAX_ALLOCATION_LENGTH,
            mode_sense_6_only: false,
            max_elements_per_read: 512,
        }
    }
}

/// A medium changer behind a transport.
pub struct Changer<T: ScsiTransport> {
    transport: T,
    timeouts: Timeouts,
    settings: ChangerSettings,
    layout: Option<ElementAddressAssignment>,
    identity: Option<StandardInquiry>,
    /// Rejections seen at run time; they survive a later `identify`.
    learned: Learned,
}

#[derive(Debug, Clone, Copy, Default)]
struct Learned {
    voltag_dvcid_rejected: bool,
    mode_sense_10_rejected: bool,
}

impl<T: ScsiTransport> Changer<T> {
    /// A changer with the conservative default quirks until [`Changer::identify`] names the
    /// device.
    pub fn new(transport: T) -> Self {
        Changer {
            transport,
            timeouts: Timeouts::default(),
            settings: ChangerSettings::from_quirks(&Quirks::default()),
            layout: None,
            identity: None,
            learned: Learned::default(),
        }
    }

    /// INQUIRY: checks the device is a medium changer (peripheral device type 08h) and loads
    /// its quirks. What the changer already rejected at run time stays remembered.
    pub fn identify(&mut self) -> Result<StandardInquiry, ScsiError> {
        let data = self.run_in(&inquiry(96), 96)?;
        let inq = StandardInquiry::decode(&data).map_err(|source| decode_error(INQUIRY, source))?;
        if inq.peripheral_device_type != TYPE_MEDIUM_CHANGER {
            return Err(decode_error(
                INQUIRY,
                DecodeError::invalid(
                    "INQUIRY",
                    format!(
                        "{} {} has peripheral device type 0x{:02x}, not a medium changer (08h)",
                        inq.vendor, inq.product, inq.peripheral_device_type
                    ),
                ),
            ));
        }
        let mut settings =
            ChangerSettings::from_quirks(&Quirks::for_device(&inq.vendor, &inq.product));
        settings.reject_dvcid_with_voltag |= self.learned.voltag_dvcid_rejected;
        settings.mode_sense_6_only |= self.learned.mode_sense_10_rejected;
        settings.max_elements_per_read = self.settings.max_elements_per_read;
        tracing::debug!(vendor = %inq.vendor, product = %inq.product, ?settings, "changer identified");
        self.settings = settings;
        self.identity = Some(inq.clone());
        Ok(inq)
    }

    /// INQUIRY data from the last [`Changer::identify`].
    pub fn identity(&self) -> Option<&StandardInquiry> {
        self.identity.as_ref()
    }

    pub fn with_settings(mut self, settings: ChangerSettings) -> Self {
        self.settings = settings;
        self
    }

    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    pub fn settings(&self) -> &ChangerSettings {
        &self.settings
    }

    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    pub fn into_transport(self) -> T {
        self.transport
    }

    fn timeout(&self, opcode: u8) -> Duration {
        self.timeouts.for_opcode(opcode)
    }

    /// Runs a command without data.
    fn run_none(&mut self, cdb: &[u8]) -> Result<(), ScsiError> {
        let op = cdb.first().copied().unwrap_or(0);
        let timeout = self.timeout(op);
        run(&mut self.transport, cdb, DataPhase::None, timeout).map(|_| ())
    }

    /// Runs a data-in command; returns the bytes actually transferred.
    fn run_in(&mut self, cdb: &[u8], alloc: usize) -> Result<Vec<u8>, ScsiError> {
        let op = cdb.first().copied().unwrap_or(0);
        let timeout = self.timeout(op);
        let mut buf = vec![0u8; alloc];
        let c = run(&mut self.transport, cdb, DataPhase::In(&mut buf), timeout)?;
        // Devices that report the allocation length rather than the real length leave the
        // zeroed tail in place; the decoders rely on their own length fields.
        buf.truncate(c.transferred.min(alloc));
        Ok(buf)
    }

    /// MODE SENSE for one page: (10) first, (6) when the changer only knows that.
    fn mode_page(&mut self, page_code: u8) -> Result<Vec<u8>, ScsiError> {
        if !self.settings.mode_sense_6_only {
            match self.run_in(&ModeSenseForm::Ten.cdb(page_code, 0x400), 0x400) {
                Ok(data) => {
                    let page = find_mode_page(&data, ModeSenseForm::Ten, page_code)
                        .map_err(|source| decode_error(opcode::MODE_SENSE_10, source))?;
                    return Ok(page);
                }
                Err(e) if matches!(e.category(), ErrorCategory::InvalidOpcode) => {
                    tracing::debug!("MODE SENSE(10) rejected, using MODE SENSE(6) from now on");
                    self.settings.mode_sense_6_only = true;
                    self.learned.mode_sense_10_rejected = true;
                }
                Err(e) => return Err(e),
            }
        }
        let data = self.run_in(&ModeSenseForm::Six.cdb(page_code, 0xff), 0xff)?;
        let page = find_mode_page(&data, ModeSenseForm::Six, page_code)
            .map_err(|source| decode_error(opcode::MODE_SENSE_6, source))?;
        Ok(page)
    }

    /// Element address assignment page (1Dh), cached after the first read.
    pub fn element_addresses(&mut self) -> Result<ElementAddressAssignment, ScsiError> {
        if let Some(l) = self.layout {
            return Ok(l);
        }
        let page = self.mode_page(ELEMENT_ADDRESS_ASSIGNMENT_PAGE)?;
        let layout = ElementAddressAssignment::decode(&page)
            .map_err(|source| decode_error(self.mode_sense_opcode(), source))?;
        self.layout = Some(layout);
        Ok(layout)
    }

    /// Device capabilities page (1Fh).
    pub fn capabilities(&mut self) -> Result<DeviceCapabilities, ScsiError> {
        let page = self.mode_page(DEVICE_CAPABILITIES_PAGE)?;
        DeviceCapabilities::decode(&page)
            .map_err(|source| decode_error(self.mode_sense_opcode(), source))
    }

    fn mode_sense_opcode(&self) -> u8 {
        if self.settings.mode_sense_6_only {
            opcode::MODE_SENSE_6
        } else {
            opcode::MODE_SENSE_10
        }
    }

    /// Forgets the cached element map (after a library reconfiguration).
    pub fn invalidate_layout(&mut self) {
        self.layout = None;
    }

    /// One READ ELEMENT STATUS, decoded. Retries once with the size the header reports when
    /// the first answer was cut by the allocation length and the cap allows more.
    pub fn read_element_status(
        &mut self,
        request: ReadElementStatus,
    ) -> Result<ElementStatus, ScsiError> {
        let mut request = request;
        request.allocation_cap = request.allocation_cap.min(self.settings.allocation_cap);
        let alloc = request.effective_allocation_length() as usize;
        let data = self.run_in(&request.cdb(), alloc)?;
        let status = ElementStatus::decode(&data)
            .map_err(|source| decode_error(opcode::READ_ELEMENT_STATUS, source))?;
        let wanted = status.header.full_report_length();
        let cap = request.allocation_cap.min(MAX_ALLOCATION_LENGTH) as usize;
        if status.truncated && wanted > alloc && alloc < cap {
            request.allocation_length = wanted.min(cap) as u32;
            let alloc = request.effective_allocation_length() as usize;
            tracing::debug!(
                alloc,
                "element status larger than allocation, reading again"
            );
            let data = self.run_in(&request.cdb(), alloc)?;
            return ElementStatus::decode(&data)
                .map_err(|source| decode_error(opcode::READ_ELEMENT_STATUS, source));
        }
        Ok(status)
    }

    /// Reads every element of `element_type` in `range`, in chunks: each request starts at
    /// the last address returned + 1, until the range is covered, the changer reports no more
    /// elements, or an answer makes no progress.
    pub fn read_elements(
        &mut self,
        element_type: ElementType,
        range: ElementRange,
        voltag: bool,
        dvcid: bool,
    ) -> Result<Vec<ElementDescriptor>, ScsiError> {
        let end = u32::from(range.first) + u32::from(range.count);
        let cap = self.settings.allocation_cap.min(MAX_ALLOCATION_LENGTH) as usize;
        let per_cap = (cap.saturating_sub(DATA_HEADER_LEN + PAGE_HEADER_LEN) / DESCRIPTOR_BUDGET)
            .clamp(1, usize::from(u16::MAX)) as u16;
        let per_read = self.settings.max_elements_per_read.clamp(1, per_cap);
        let mut out: Vec<ElementDescriptor> = Vec::new();
        let mut start = u32::from(range.first);
        while start < end {
            let count = (end - start).min(u32::from(per_read)) as u16;
            let mut req = ReadElementStatus::new(element_type, start as u16, count);
            req.voltag = voltag;
            req.dvcid = dvcid;
            req.allocation_length =
                (DATA_HEADER_LEN + PAGE_HEADER_LEN + usize::from(count) * DESCRIPTOR_BUDGET) as u32;
            let status = self.read_element_status(req)?;
            let before = out.len();
            let mut last: Option<u16> = None;
            for d in status.descriptors() {
                if d.element_type != element_type {
                    tracing::debug!(
                        address = d.address,
                        got = %d.element_type,
                        asked = %element_type,
                        "ignoring element of another type"
                    );
                    continue;
                }
                if u32::from(d.address) < start || u32::from(d.address) >= end {
                    continue;
                }
                last = Some(last.map_or(d.address, |l| l.max(d.address)));
                out.push(d.clone());
            }
            match last {
                Some(l) if out.len() > before => start = u32::from(l) + 1,
                _ => {
                    if status.header.number_of_elements != 0 {
                        tracing::warn!(
                            element_type = %element_type,
                            start,
                            "READ ELEMENT STATUS made no progress; stopping"
                        );
                    }
                    break;
                }
            }
        }
        Ok(out)
    }

    /// The whole library: every element type, barcodes, drive identities.
    pub fn inventory(&mut self) -> Result<Inventory, ScsiError> {
        let layout = self.element_addresses()?;
        let mut inv = Inventory::default();
        for t in [
            ElementType::MediumTransport,
            ElementType::Storage,
            ElementType::ImportExport,
        ] {
            let range = layout.range(t);
            if range.count == 0 {
                continue;
            }
            let descriptors = self.read_elements(t, range, true, false)?;
            inv.extend(&descriptors);
        }
        if layout.data_transfer.count > 0 {
            let drives = self.read_drives(layout.data_transfer)?;
            inv.extend(&drives);
        }
        Ok(inv)
    }

    /// Drives with volume tags and device identifiers.
    fn read_drives(&mut self, range: ElementRange) -> Result<Vec<ElementDescriptor>, ScsiError> {
        let dt = ElementType::DataTransfer;
        if !self.settings.reject_dvcid_with_voltag {
            match self.read_elements(dt, range, true, true) {
                Ok(d) => return Ok(d),
                Err(e) if is_illegal_request(&e) => {
                    tracing::info!(
                        error = %e,
                        "changer rejects VolTag with DVCID; querying drive identities separately"
                    );
                    self.settings.reject_dvcid_with_voltag = true;
                    self.learned.voltag_dvcid_rejected = true;
                }
                Err(e) => return Err(e),
            }
        }
        let mut drives = self.read_elements(dt, range, true, false)?;
        match self.read_elements(dt, range, false, true) {
            Ok(ids) => {
                for id in ids {
                    if let Some(d) = drives.iter_mut().find(|d| d.address == id.address) {
                        d.device_id = id.device_id;
                    }
                }
            }
            // A changer without DVCID support still has a usable inventory.
            Err(e) if is_illegal_request(&e) => {
                tracing::warn!(error = %e, "changer does not report drive identities (DVCID)");
            }
            Err(e) => return Err(e),
        }
        Ok(drives)
    }

    /// First medium transport address (the robot that moves media).
    pub fn transport_address(&mut self) -> Result<u16, ScsiError> {
        Ok(self.element_addresses()?.transport.first)
    }

    /// MOVE MEDIUM from `source` to `destination` with the first transport.
    pub fn move_medium(&mut self, source: u16, destination: u16) -> Result<(), ScsiError> {
        let transport = self.transport_address()?;
        self.run_move(MoveMedium::new(transport, source, destination))
    }

    /// MOVE MEDIUM with every field chosen by the caller (transport, invert, control byte).
    pub fn run_move(&mut self, m: MoveMedium) -> Result<(), ScsiError> {
        tracing::info!(
            source = m.source,
            destination = m.destination,
            "move medium"
        );
        self.run_none(&m.cdb())
    }

    /// EXCHANGE MEDIUM: `source` to `first`, the medium in `first` to `second`.
    pub fn exchange(&mut self, source: u16, first: u16, second: u16) -> Result<(), ScsiError> {
        let transport = self.transport_address()?;
        tracing::info!(source, first, second, "exchange medium");
        self.run_none(&ExchangeMedium::new(transport, source, first, second).cdb())
    }

    /// INITIALIZE ELEMENT STATUS: full re-inventory (can take many minutes).
    pub fn initialize_element_status(&mut self) -> Result<(), ScsiError> {
        self.run_none(&InitializeElementStatus::default().cdb())
    }

    /// INITIALIZE ELEMENT STATUS WITH RANGE over `count` elements from `start`.
    pub fn initialize_element_status_range(
        &mut self,
        start: u16,
        count: u16,
        fast: bool,
    ) -> Result<(), ScsiError> {
        let mut c = InitializeElementStatusWithRange::new(start, count);
        c.fast = fast;
        self.run_none(&c.cdb())
    }

    /// POSITION TO ELEMENT with the first transport.
    pub fn position_to_element(&mut self, destination: u16) -> Result<(), ScsiError> {
        let transport = self.transport_address()?;
        self.run_none(&PositionToElement::new(transport, destination).cdb())
    }

    /// PREVENT/ALLOW MEDIUM REMOVAL: lock or unlock the mail slots.
    pub fn prevent_removal(&mut self, prevent: bool) -> Result<(), ScsiError> {
        self.run_none(&PreventAllowMediumRemoval::new(prevent).cdb())
    }

    /// OPEN IMPORT/EXPORT ELEMENT at `address`.
    pub fn open_import_export(&mut self, address: u16) -> Result<(), ScsiError> {
        self.run_none(&OpenCloseImportExportElement::new(address, ImportExportAction::Open).cdb())
    }

    /// CLOSE IMPORT/EXPORT ELEMENT at `address`.
    pub fn close_import_export(&mut self, address: u16) -> Result<(), ScsiError> {
        self.run_none(&OpenCloseImportExportElement::new(address, ImportExportAction::Close).cdb())
    }
}

fn decode_error(opcode: u8, source: DecodeError) -> ScsiError {
    ScsiError::Decode { opcode, source }
}

fn is_illegal_request(e: &ScsiError) -> bool {
    matches!(
        e.category(),
        ErrorCategory::IllegalRequest | ErrorCategory::InvalidOpcode
    )
}
