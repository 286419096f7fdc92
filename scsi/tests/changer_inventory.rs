//! `Changer` against a small scripted changer: element map, chunked reads, the DVCID merge and
//! its fallback, mtx numbering and rendering, and the movement CDBs.

use std::time::Duration;

use tapelib_scsi::changer::{Changer, ChangerSettings, Inventory, MtxElement};
use tapelib_scsi::quirks::Quirks;
use tapelib_scsi::smc::element_status::{
    DeviceIdentifier, ElementDescriptor, ElementStatus, ElementStatusPage, ReadElementStatus,
    VolumeTag,
};
use tapelib_scsi::smc::mode_pages::{
    encode_mode_parameter_list, ElementAddressAssignment, ElementRange, ModeSenseForm,
};
use tapelib_scsi::smc::{ElementType, ElementTypeCode};
use tapelib_scsi::spc::inquiry::StandardInquiry;
use tapelib_scsi::{Completion, DataPhase, ScsiTransport, SenseData, SenseKey, TransportError};

/// A scripted library: answers MODE SENSE 1Dh and READ ELEMENT STATUS from a list of
/// descriptors, with the misbehaviours real changers show switched on per test.
struct ScriptedChanger {
    layout: ElementAddressAssignment,
    elements: Vec<ElementDescriptor>,
    /// Most descriptors in one answer, whatever was asked (forces chunking).
    max_per_answer: usize,
    /// Reject READ ELEMENT STATUS with VolTag and DVCID together (ILLEGAL REQUEST 24/00).
    reject_voltag_dvcid: bool,
    /// Reject DVCID altogether.
    reject_dvcid: bool,
    /// Reject MODE SENSE(10) as an invalid opcode.
    only_mode_sense_6: bool,
    /// Always answer with the first element only (a changer that ignores the start address).
    stuck: bool,
    inquiry: StandardInquiry,
    cdbs: Vec<Vec<u8>>,
}

fn inquiry_data(device_type: u8, vendor: &str, product: &str) -> StandardInquiry {
    StandardInquiry {
        peripheral_qualifier: 0,
        peripheral_device_type: device_type,
        rmb: true,
        version: 6,
        response_data_format: 2,
        mchngr: false,
        vendor: vendor.into(),
        product: product.into(),
        revision: "B.50".into(),
        vendor_specific: vec![],
    }
}

impl ScriptedChanger {
    fn new(layout: ElementAddressAssignment, elements: Vec<ElementDescriptor>) -> Self {
        ScriptedChanger {
            layout,
            elements,
            max_per_answer: usize::MAX,
            reject_voltag_dvcid: false,
            reject_dvcid: false,
            only_mode_sense_6: false,
            stuck: false,
            inquiry: inquiry_data(0x08, "IBM", "3573-TL"),
            cdbs: Vec::new(),
        }
    }

    fn illegal(&self, asc: u8, offered: usize) -> Completion {
        Completion::check_condition(
            SenseData::new(SenseKey::IllegalRequest, asc, 0).to_fixed_bytes(),
            offered,
            0,
        )
    }

    fn read_element_status(&self, cdb: &[u8], buf: &mut [u8]) -> Completion {
        let r = ReadElementStatus::parse(cdb).unwrap();
        if (r.dvcid && r.voltag && self.reject_voltag_dvcid) || (r.dvcid && self.reject_dvcid) {
            return self.illegal(0x24, buf.len());
        }
        let ElementTypeCode::Only(t) = r.element_type else {
            return self.illegal(0x24, buf.len());
        };
        let mut matching: Vec<ElementDescriptor> = self
            .elements
            .iter()
            .filter(|d| d.element_type == t)
            .filter(|d| self.stuck || d.address >= r.starting_address)
            .take(usize::from(r.number_of_elements).min(self.max_per_answer))
            .cloned()
            .collect();
        if self.stuck {
            matching.truncate(1);
        }
        for d in &mut matching {
            if !r.voltag {
                d.primary_tag = None;
                d.alternate_tag = None;
            }
            if !r.dvcid {
                d.device_id = None;
            }
        }
        let pages = if matching.is_empty() {
            vec![]
        } else {
            vec![ElementStatusPage::new(t, r.voltag, false, matching)]
        };
        let bytes = ElementStatus::for_pages(pages).encode();
        let n = bytes.len().min(buf.len());
        buf[..n].copy_from_slice(&bytes[..n]);
        Completion::good(buf.len(), n)
    }
}

impl ScsiTransport for ScriptedChanger {
    fn execute(
        &mut self,
        cdb: &[u8],
        data: DataPhase<'_>,
        _timeout: Duration,
    ) -> Result<Completion, TransportError> {
        self.cdbs.push(cdb.to_vec());
        let offered = data.len();
        match (cdb[0], data) {
            (0x5A, _) if self.only_mode_sense_6 => Ok(self.illegal(0x20, offered)),
            (0x12, DataPhase::In(buf)) => {
                let bytes = self.inquiry.encode();
                let n = bytes.len().min(buf.len());
                buf[..n].copy_from_slice(&bytes[..n]);
                Ok(Completion::good(offered, n))
            }
            (0x1A | 0x5A, DataPhase::In(buf)) => {
                assert_eq!(cdb[2] & 0x3f, 0x1D);
                let form = if cdb[0] == 0x1A {
                    ModeSenseForm::Six
                } else {
                    ModeSenseForm::Ten
                };
                let page = self.layout.encode();
                let bytes = encode_mode_parameter_list(form, &[&page]);
                let n = bytes.len().min(buf.len());
                buf[..n].copy_from_slice(&bytes[..n]);
                Ok(Completion::good(offered, n))
            }
            (0xB8, DataPhase::In(buf)) => Ok(self.read_element_status(cdb, buf)),
            (0xA5 | 0xA6 | 0x07 | 0x37 | 0x2B | 0x1E | 0x1B, DataPhase::None) => {
                Ok(Completion::good(0, 0))
            }
            _ => Ok(self.illegal(0x20, offered)),
        }
    }
}

fn slot(address: u16, barcode: Option<&str>) -> ElementDescriptor {
    let mut d = ElementDescriptor::empty(ElementType::Storage, address);
    d.full = barcode.is_some();
    d.primary_tag = barcode.map(VolumeTag::new);
    d
}

fn ie(address: u16, barcode: Option<&str>) -> ElementDescriptor {
    let mut d = ElementDescriptor::empty(ElementType::ImportExport, address);
    d.full = barcode.is_some();
    d.primary_tag = barcode.map(VolumeTag::new);
    d.inenab = true;
    d.exenab = true;
    d.impexp = barcode.is_some();
    d
}

fn drive(address: u16, loaded: Option<(&str, u16)>, id: DeviceIdentifier) -> ElementDescriptor {
    let mut d = ElementDescriptor::empty(ElementType::DataTransfer, address);
    if let Some((barcode, source)) = loaded {
        d.full = true;
        d.primary_tag = Some(VolumeTag::new(barcode));
        d.svalid = true;
        d.source_address = Some(source);
    }
    d.device_id = Some(id);
    d
}

/// IBM-style map: robot 1, I/E 0x10.., drives 0x100.., storage 0x1000...
fn ibm_library(slots: u16) -> ScriptedChanger {
    let layout = ElementAddressAssignment {
        parameters_saveable: false,
        transport: ElementRange::new(1, 1),
        storage: ElementRange::new(0x1000, slots),
        import_export: ElementRange::new(0x10, 2),
        data_transfer: ElementRange::new(0x100, 2),
    };
    let mut elements = vec![ElementDescriptor::empty(ElementType::MediumTransport, 1)];
    for i in 0..slots {
        let barcode = format!("A{i:05}L8");
        elements.push(slot(0x1000 + i, (i % 3 != 1).then_some(barcode.as_str())));
    }
    elements.push(ie(0x10, Some("IMP001L8")));
    elements.push(ie(0x11, None));
    elements.push(drive(
        0x100,
        Some(("A00001L8", 0x1001)),
        DeviceIdentifier::t10("IBM", "ULT3580-TD8", "1013000001"),
    ));
    elements.push(drive(
        0x101,
        None,
        DeviceIdentifier::t10("IBM", "ULT3580-TD8", "1013000002"),
    ));
    ScriptedChanger::new(layout, elements)
}

fn res_cdbs(t: &ScriptedChanger) -> Vec<ReadElementStatus> {
    t.cdbs
        .iter()
        .filter(|c| c[0] == 0xB8)
        .map(|c| ReadElementStatus::parse(c).unwrap())
        .collect()
}

#[test]
fn inventory_reads_each_type_with_voltag_and_dvcid() {
    let mut c = Changer::new(ibm_library(6)).with_settings(ChangerSettings::default());
    let inv = c.inventory().unwrap();
    assert_eq!(inv.transports.len(), 1);
    assert_eq!(inv.storage.len(), 6);
    assert_eq!(inv.import_export.len(), 2);
    assert_eq!(inv.drives.len(), 2);
    assert_eq!(inv.storage[0].barcode.as_deref(), Some("A00000L8"));
    assert!(!inv.storage[1].full && inv.storage[1].barcode.is_none());
    assert!(inv.import_export[0].imported && inv.import_export[0].import_enabled);
    let d = &inv.drives[0];
    assert_eq!(d.serial.as_deref(), Some("1013000001"));
    assert_eq!(d.vendor.as_deref(), Some("IBM"));
    assert_eq!(d.product.as_deref(), Some("ULT3580-TD8"));
    assert_eq!(d.state.source_address, Some(0x1001));
    assert_eq!(inv.find_barcode("A00001L8"), Some(0x100));

    let reads = res_cdbs(c.transport_mut());
    assert_eq!(reads.len(), 4, "one read per element type");
    assert!(reads.iter().all(|r| r.voltag && !r.curdata));
    let dt = reads
        .iter()
        .find(|r| r.element_type == ElementTypeCode::Only(ElementType::DataTransfer))
        .unwrap();
    assert!(dt.dvcid);
    assert_eq!((dt.starting_address, dt.number_of_elements), (0x100, 2));
}

#[test]
fn large_library_is_read_in_chunks_from_last_address_plus_one() {
    let mut lib = ibm_library(50);
    lib.max_per_answer = 16;
    let mut c = Changer::new(lib).with_settings(ChangerSettings {
        max_elements_per_read: 20,
        ..ChangerSettings::default()
    });
    let inv = c.inventory().unwrap();
    assert_eq!(inv.storage.len(), 50);
    let addresses: Vec<u16> = inv.storage.iter().map(|s| s.address).collect();
    assert_eq!(addresses, (0x1000..0x1000 + 50).collect::<Vec<_>>());
    let storage_reads: Vec<_> = res_cdbs(c.transport_mut())
        .into_iter()
        .filter(|r| r.element_type == ElementTypeCode::Only(ElementType::Storage))
        .map(|r| (r.starting_address, r.number_of_elements))
        .collect();
    // 16 per answer: 0..16, 16..32, 32..48, 48..50.
    assert_eq!(
        storage_reads,
        vec![(0x1000, 20), (0x1010, 20), (0x1020, 18), (0x1030, 2)]
    );
}

#[test]
fn allocation_length_is_capped_for_two_byte_changers() {
    let mut lib = ibm_library(1000);
    lib.max_per_answer = 1000;
    let mut c = Changer::new(lib).with_settings(ChangerSettings {
        allocation_cap: 0xFFFF,
        max_elements_per_read: 1000,
        ..ChangerSettings::default()
    });
    let inv = c.inventory().unwrap();
    assert_eq!(inv.storage.len(), 1000);
    let reads = res_cdbs(c.transport_mut());
    assert!(reads.iter().all(|r| r.allocation_length <= 0xFFFF));
    let storage = reads
        .iter()
        .filter(|r| r.element_type == ElementTypeCode::Only(ElementType::Storage))
        .count();
    assert!(
        storage > 1,
        "1000 slots cannot fit one 64 KiB answer at the budgeted size"
    );
}

#[test]
fn voltag_dvcid_rejection_falls_back_and_is_remembered() {
    let mut lib = ibm_library(4);
    lib.reject_voltag_dvcid = true;
    let mut c = Changer::new(lib).with_settings(ChangerSettings::default());
    let inv = c.inventory().unwrap();
    assert!(c.settings().reject_dvcid_with_voltag);
    // Barcodes from the VolTag query, serials from the DVCID query, merged by address.
    assert_eq!(inv.drives[0].state.barcode.as_deref(), Some("A00001L8"));
    assert_eq!(inv.drives[0].serial.as_deref(), Some("1013000001"));
    assert_eq!(inv.drives[1].serial.as_deref(), Some("1013000002"));

    c.transport_mut().cdbs.clear();
    let again = c.inventory().unwrap();
    assert_eq!(again, inv);
    let dt: Vec<_> = res_cdbs(c.transport_mut())
        .into_iter()
        .filter(|r| r.element_type == ElementTypeCode::Only(ElementType::DataTransfer))
        .map(|r| (r.voltag, r.dvcid))
        .collect();
    assert_eq!(
        dt,
        vec![(true, false), (false, true)],
        "no combined query once rejected"
    );
}

#[test]
fn quirk_setting_queries_drives_twice_from_the_start() {
    let mut c = Changer::new(ibm_library(2)).with_settings(ChangerSettings {
        reject_dvcid_with_voltag: true,
        ..ChangerSettings::default()
    });
    let inv = c.inventory().unwrap();
    assert_eq!(inv.drives[1].serial.as_deref(), Some("1013000002"));
    assert!(res_cdbs(c.transport_mut())
        .iter()
        .all(|r| !(r.voltag && r.dvcid)));
}

#[test]
fn changer_without_dvcid_still_inventories() {
    let mut lib = ibm_library(2);
    lib.reject_dvcid = true;
    let mut c = Changer::new(lib);
    let inv = c.inventory().unwrap();
    assert_eq!(inv.drives.len(), 2);
    assert!(inv.drives.iter().all(|d| d.serial.is_none()));
    assert_eq!(inv.drives[0].state.barcode.as_deref(), Some("A00001L8"));
}

#[test]
fn a_changer_that_makes_no_progress_cannot_loop() {
    let mut lib = ibm_library(30);
    lib.stuck = true;
    let mut c = Changer::new(lib).with_settings(ChangerSettings {
        max_elements_per_read: 5,
        ..ChangerSettings::default()
    });
    let inv = c.inventory().unwrap();
    assert_eq!(inv.storage.len(), 1);
    assert!(c.transport_mut().cdbs.len() < 20);
}

#[test]
fn mode_sense_falls_back_to_six_bytes() {
    let mut lib = ibm_library(2);
    lib.only_mode_sense_6 = true;
    let mut c = Changer::new(lib);
    let layout = c.element_addresses().unwrap();
    assert_eq!(layout.storage, ElementRange::new(0x1000, 2));
    assert!(c.settings().mode_sense_6_only);
    let cdbs = &c.transport_mut().cdbs;
    assert_eq!(cdbs[0][0], 0x5A);
    assert_eq!(cdbs[1], vec![0x1A, 0x08, 0x1D, 0x00, 0xFF, 0x00]);
}

#[test]
fn movement_commands_use_the_first_transport() {
    let mut c = Changer::new(ibm_library(2));
    c.move_medium(0x1000, 0x100).unwrap();
    c.exchange(0x1000, 0x100, 0x1001).unwrap();
    c.position_to_element(0x1000).unwrap();
    c.prevent_removal(true).unwrap();
    c.open_import_export(0x10).unwrap();
    c.close_import_export(0x10).unwrap();
    c.initialize_element_status().unwrap();
    c.initialize_element_status_range(0x1000, 2, true).unwrap();
    let cdbs = &c.transport_mut().cdbs;
    let sent: Vec<&Vec<u8>> = cdbs.iter().filter(|c| c[0] != 0x5A).collect();
    assert_eq!(
        sent[0],
        &vec![0xA5, 0, 0, 1, 0x10, 0x00, 0x01, 0x00, 0, 0, 0, 0]
    );
    assert_eq!(
        sent[1],
        &vec![0xA6, 0, 0, 1, 0x10, 0, 0x01, 0, 0x10, 0x01, 0, 0]
    );
    assert_eq!(sent[2], &vec![0x2B, 0, 0, 1, 0x10, 0, 0, 0, 0, 0]);
    assert_eq!(sent[3], &vec![0x1E, 0, 0, 0, 1, 0]);
    assert_eq!(sent[4], &vec![0x1B, 0, 0, 0x10, 0, 0]);
    assert_eq!(sent[5], &vec![0x1B, 0, 0, 0x10, 1, 0]);
    assert_eq!(sent[6], &vec![0x07, 0, 0, 0, 0, 0]);
    assert_eq!(sent[7], &vec![0x37, 0x03, 0x10, 0x00, 0, 0, 0, 2, 0, 0]);
    // The element map is read once and cached.
    assert_eq!(cdbs.iter().filter(|c| c[0] == 0x5A).count(), 1);
}

#[test]
fn check_condition_keeps_opcode_and_sense() {
    let mut lib = ibm_library(2);
    lib.only_mode_sense_6 = true;
    let mut c = Changer::new(lib);
    // READ ELEMENT STATUS for "all types" is refused by the script: the error says which
    // command failed and why.
    let mut req = ReadElementStatus::new(ElementTypeCode::All, 0, 10);
    req.allocation_length = 4096;
    let e = c.read_element_status(req).unwrap_err();
    assert_eq!(e.opcode(), 0xB8);
    let (key, asc, _) = e.key_asc_ascq().unwrap();
    assert_eq!((key, asc), (SenseKey::IllegalRequest, 0x24));
}

fn display_inventory() -> Inventory {
    let mut c = Changer::new(ibm_library(4));
    c.inventory().unwrap()
}

#[test]
fn mtx_numbering_and_inverse() {
    let inv = display_inventory();
    assert_eq!(inv.mtx_slot_number(0x1000), Some(MtxElement::Slot(1)));
    assert_eq!(inv.mtx_slot_number(0x1003), Some(MtxElement::Slot(4)));
    assert_eq!(inv.mtx_slot_number(0x10), Some(MtxElement::Slot(5)));
    assert_eq!(inv.mtx_slot_number(0x11), Some(MtxElement::Slot(6)));
    assert_eq!(inv.mtx_slot_number(0x100), Some(MtxElement::Drive(0)));
    assert_eq!(inv.mtx_slot_number(0x101), Some(MtxElement::Drive(1)));
    assert_eq!(inv.mtx_slot_number(1), None);
    for a in [0x1000, 0x1003, 0x10, 0x11, 0x100, 0x101] {
        assert_eq!(inv.address_of_mtx(inv.mtx_slot_number(a).unwrap()), Some(a));
    }
    assert_eq!(inv.address_of_mtx(MtxElement::Slot(0)), None);
    assert_eq!(inv.address_of_mtx(MtxElement::Slot(7)), None);
    assert_eq!(inv.address_of_mtx(MtxElement::Drive(2)), None);
}

#[test]
fn mtx_status_rendering() {
    let mut inv = display_inventory();
    inv.drives[1].state.full = true;
    inv.drives[1].state.barcode = None;
    inv.drives[1].state.primary_tag = None;
    inv.storage[2].alternate_tag = Some(VolumeTag::new("ALT2"));
    let expected = concat!(
        "  Storage Changer /dev/sg3:2 Drives, 6 Slots ( 2 Import/Export )\n",
        "Data Transfer Element 0:Full (Storage Element 2 Loaded):VolumeTag = A00001L8\n",
        "Data Transfer Element 1:Full (Unknown Storage Element Loaded)\n",
        "      Storage Element 1:Full :VolumeTag=A00000L8\n",
        "      Storage Element 2:Empty\n",
        "      Storage Element 3:Full :VolumeTag=A00002L8:AlternateVolumeTag=ALT2\n",
        "      Storage Element 4:Full :VolumeTag=A00003L8\n",
        "      Storage Element 5 IMPORT/EXPORT:Full :VolumeTag=IMP001L8\n",
        "      Storage Element 6 IMPORT/EXPORT:Empty\n",
    );
    assert_eq!(inv.mtx_status("/dev/sg3"), expected);
}

#[test]
fn new_changer_is_conservative_until_identified() {
    let mut c = Changer::new(ibm_library(2));
    assert!(c.settings().reject_dvcid_with_voltag);
    assert_eq!(c.settings().allocation_cap, 0xFFFF);
    let inq = c.identify().unwrap();
    assert_eq!(
        (inq.vendor.as_str(), inq.product.as_str()),
        ("IBM", "3573-TL")
    );
    assert_eq!(c.identity().unwrap().product, "3573-TL");
    // Settings now follow the quirks table entry for this vendor/product.
    let q = Quirks::for_device("IBM", "3573-TL");
    assert_eq!(*c.settings(), ChangerSettings::from_quirks(&q));
    let inv = c.inventory().unwrap();
    assert_eq!(inv.drives[0].serial.as_deref(), Some("1013000001"));
    let dt = res_cdbs(c.transport_mut())
        .into_iter()
        .filter(|r| r.element_type == ElementTypeCode::Only(ElementType::DataTransfer))
        .count();
    assert_eq!(dt, if q.dvcid_separate_query { 2 } else { 1 });
}

#[test]
fn identify_keeps_what_was_learned_and_refuses_non_changers() {
    let mut lib = ibm_library(2);
    lib.reject_voltag_dvcid = true;
    let mut c = Changer::new(lib).with_settings(ChangerSettings::default());
    c.inventory().unwrap();
    c.identify().unwrap();
    assert!(
        c.settings().reject_dvcid_with_voltag,
        "a rejection is not forgotten"
    );
    assert_eq!(
        c.inventory().unwrap().drives[1].serial.as_deref(),
        Some("1013000002")
    );

    let mut drive = ibm_library(2);
    drive.inquiry = inquiry_data(0x01, "IBM", "ULT3580-TD8");
    let e = Changer::new(drive).identify().unwrap_err();
    assert_eq!(e.opcode(), 0x12);
    assert!(e.to_string().contains("not a medium changer"), "{e}");
}

#[test]
fn answer_cut_by_allocation_is_read_again_at_the_reported_size() {
    let mut c = Changer::new(ibm_library(10)).with_settings(ChangerSettings::default());
    let mut req = ReadElementStatus::new(ElementType::Storage, 0x1000, 10);
    req.allocation_length = 100;
    let status = c.read_element_status(req).unwrap();
    assert!(!status.truncated);
    assert_eq!(status.descriptors().count(), 10);
    let reads = res_cdbs(c.transport_mut());
    assert_eq!(reads.len(), 2);
    assert_eq!(reads[0].allocation_length, 100);
    assert_eq!(
        reads[1].allocation_length as usize,
        status.header.full_report_length()
    );
}

#[test]
fn dvcid_merge_is_by_address() {
    let mut lib = ibm_library(2);
    lib.reject_voltag_dvcid = true;
    // A third drive the element map does not cover must not leak in.
    lib.elements
        .push(drive(0x102, None, DeviceIdentifier::serial_only("STRAY")));
    let ids: Vec<_> = lib
        .elements
        .iter()
        .filter(|d| d.element_type == ElementType::DataTransfer)
        .map(|d| d.address)
        .collect();
    assert_eq!(ids, vec![0x100, 0x101, 0x102]);
    let mut c = Changer::new(lib);
    let inv = c.inventory().unwrap();
    assert_eq!(inv.drives.len(), 2);
    assert_eq!(inv.drives[0].state.address, 0x100);
    assert_eq!(inv.drives[0].serial.as_deref(), Some("1013000001"));
    assert_eq!(inv.drives[1].state.address, 0x101);
    assert_eq!(inv.drives[1].serial.as_deref(), Some("1013000002"));
    assert_eq!(inv.element_type_of(0x101), Some(ElementType::DataTransfer));
    assert_eq!(inv.element_type_of(0x10), Some(ElementType::ImportExport));
    assert_eq!(inv.element_type_of(1), Some(ElementType::MediumTransport));
    assert_eq!(inv.element_type_of(0x102), None);
    assert_eq!(
        inv.element(0x1000).unwrap().barcode.as_deref(),
        Some("A00000L8")
    );
}
