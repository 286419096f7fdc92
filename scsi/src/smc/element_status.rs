//! READ ELEMENT STATUS (B8h) and element status data (SMC-3 6.10 / 6.11).
//!
//! The decoder is deliberately tolerant, because changers are not: a response may stop short
//! of what its headers claim (decoded up to the last complete descriptor, `truncated` set),
//! run past them (excess ignored), pad descriptors beyond the fields defined for them, or hold
//! more descriptors than the header counts. What it refuses is what would make a reader loop or
//! lie: a zero descriptor length on a non-empty page, a descriptor too short for the mandatory
//! fields, an unknown element type.

use super::{expect_cdb, opcode, ElementType, ElementTypeCode};
use crate::decode::{ascii_trimmed, be16, be24, slice, u8_at, DecodeError};

/// Largest value of the 3-byte ALLOCATION LENGTH field.
pub const MAX_ALLOCATION_LENGTH: u32 = 0x00FF_FFFF;
/// Element status data header (SMC-3 6.11.1) and page header (6.11.2) sizes.
pub const DATA_HEADER_LEN: usize = 8;
pub const PAGE_HEADER_LEN: usize = 8;
/// Fields common to every element descriptor, before the volume tags (SMC-3 6.11.3..6.11.6).
pub const DESCRIPTOR_BASE_LEN: usize = 12;
/// A primary or alternate volume tag: 32-byte identifier, 2 reserved, 2-byte sequence number
/// (SMC-3 6.11.7 / 6.11.8).
pub const VOLUME_TAG_LEN: usize = 36;
const VOLUME_IDENTIFIER_LEN: usize = 32;
/// Code set, identifier type, reserved, identifier length (SMC-3 6.11.6 device identifier).
const DEVICE_ID_HEADER_LEN: usize = 4;

/// The READ ELEMENT STATUS CDB (SMC-3 6.10, table 43).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadElementStatus {
    pub element_type: ElementTypeCode,
    /// Report volume tags (barcodes).
    pub voltag: bool,
    pub starting_address: u16,
    pub number_of_elements: u16,
    /// Report current data without moving the robot to re-scan.
    pub curdata: bool,
    /// Report the device identifier of data transfer elements.
    pub dvcid: bool,
    /// Bytes requested; the CDB carries `min(allocation_length, allocation_cap)`.
    pub allocation_length: u32,
    /// Highest allocation length the device reads correctly: `MAX_ALLOCATION_LENGTH` per the
    /// standard, 0xFFFF for changers that only read the two low bytes (quirk).
    pub allocation_cap: u32,
    pub control: u8,
}

impl ReadElementStatus {
    /// A request for `count` elements of `element_type` from `start`, volume tags on.
    pub fn new(element_type: impl Into<ElementTypeCode>, start: u16, count: u16) -> Self {
        ReadElementStatus {
            element_type: element_type.into(),
            voltag: true,
            starting_address: start,
            number_of_elements: count,
            curdata: false,
            dvcid: false,
            allocation_length: MAX_ALLOCATION_LENGTH,
            allocation_cap: MAX_ALLOCATION_LENGTH,
            control: 0,
        }
    }

    /// The ALLOCATION LENGTH actually sent.
    pub fn effective_allocation_length(&self) -> u32 {
        self.allocation_length
            .min(self.allocation_cap)
            .min(MAX_ALLOCATION_LENGTH)
    }

    pub fn cdb(&self) -> [u8; 12] {
        let alloc = self.effective_allocation_length().to_be_bytes();
        let start = self.starting_address.to_be_bytes();
        let count = self.number_of_elements.to_be_bytes();
        [
            opcode::READ_ELEMENT_STATUS,
            (u8::from(self.voltag) << 4) | (self.element_type.code() & 0x0f),
            start[0],
            start[1],
            count[0],
            count[1],
            (u8::from(self.curdata) << 1) | u8::from(self.dvcid),
            alloc[1],
            alloc[2],
            alloc[3],
            0,
            self.control,
        ]
    }

    /// Parses a CDB (the simulator's side). `allocation_cap` is reported as the maximum.
    pub fn parse(cdb: &[u8]) -> Result<Self, DecodeError> {
        let c = expect_cdb(
            cdb,
            opcode::READ_ELEMENT_STATUS,
            12,
            "READ ELEMENT STATUS CDB",
        )?;
        Ok(ReadElementStatus {
            element_type: ElementTypeCode::from_code(c[1] & 0x0f)?,
            voltag: c[1] & 0x10 != 0,
            starting_address: be16(c, 2, "starting element address")?,
            number_of_elements: be16(c, 4, "number of elements")?,
            curdata: c[6] & 0x02 != 0,
            dvcid: c[6] & 0x01 != 0,
            allocation_length: be24(c, 7, "allocation length")?,
            allocation_cap: MAX_ALLOCATION_LENGTH,
            control: c[11],
        })
    }
}

/// Element status data header (SMC-3 6.11.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ElementStatusHeader {
    pub first_element_address: u16,
    /// NUMBER OF ELEMENTS AVAILABLE: descriptors the device reports in this response.
    pub number_of_elements: u16,
    /// BYTE COUNT OF REPORT AVAILABLE: bytes after the header the device has, which may be
    /// more than the allocation length let through.
    pub report_byte_count: u32,
}

impl ElementStatusHeader {
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let h = slice(buf, 0, DATA_HEADER_LEN, "element status data header")?;
        Ok(ElementStatusHeader {
            first_element_address: be16(h, 0, "first element address")?,
            number_of_elements: be16(h, 2, "number of elements")?,
            report_byte_count: be24(h, 5, "byte count of report")?,
        })
    }

    /// Allocation length that would hold the whole report.
    pub fn full_report_length(&self) -> usize {
        DATA_HEADER_LEN + self.report_byte_count as usize
    }
}

/// A volume tag (SMC-3 6.11.7): the barcode, trimmed of space and NUL padding, and the
/// volume sequence number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VolumeTag {
    pub identifier: String,
    pub sequence: u16,
}

impl VolumeTag {
    pub fn new(identifier: impl Into<String>) -> Self {
        VolumeTag {
            identifier: identifier.into(),
            sequence: 0,
        }
    }

    fn decode(b: &[u8]) -> Result<Option<Self>, DecodeError> {
        let id = slice(b, 0, VOLUME_IDENTIFIER_LEN, "volume identifier")?;
        let identifier = ascii_trimmed(id);
        let sequence = be16(b, 34, "volume sequence number")?;
        // An all-blank tag means "no label read", not an empty barcode.
        if identifier.is_empty() && sequence == 0 {
            return Ok(None);
        }
        Ok(Some(VolumeTag {
            identifier,
            sequence,
        }))
    }

    /// 36 bytes: identifier left-aligned, space padded (SMC-3 6.11.7), truncated at 32.
    fn encode_into(tag: Option<&VolumeTag>, out: &mut Vec<u8>) {
        let mut field = [b' '; VOLUME_TAG_LEN];
        field[32..].fill(0);
        match tag {
            Some(t) => {
                let id = t.identifier.as_bytes();
                let n = id.len().min(VOLUME_IDENTIFIER_LEN);
                field[..n].copy_from_slice(&id[..n]);
                field[34..36].copy_from_slice(&t.sequence.to_be_bytes());
            }
            None => field[..VOLUME_IDENTIFIER_LEN].fill(0),
        }
        out.extend_from_slice(&field);
    }
}

/// Device identifier of a data transfer element, reported with DVCID (SMC-3 6.11.6).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeviceIdentifier {
    /// CODE SET: 1 binary, 2 ASCII, 3 UTF-8 (SPC-4 7.8.6.1).
    pub code_set: u8,
    /// IDENTIFIER TYPE: 0 vendor specific (serial only), 1 T10 vendor ID based, ...
    pub identifier_type: u8,
    /// IDENTIFIER LENGTH as reported; larger than `identifier.len()` when the descriptor
    /// ended before the identifier did.
    pub identifier_length: u8,
    pub identifier: Vec<u8>,
}

/// Widths of the T10-vendor-ID-based DVCID form the drives in libraries use:
/// vendor (8) + product (16) + serial (10).
const T10_VENDOR_LEN: usize = 8;
const T10_PRODUCT_LEN: usize = 16;

impl DeviceIdentifier {
    /// A code set 2 (ASCII), type 0 identifier: the drive serial number only.
    pub fn serial_only(serial: &str) -> Self {
        DeviceIdentifier::new(2, 0, serial.as_bytes().to_vec())
    }

    /// A code set 2, type 1 identifier: vendor (8), product (16), serial (10), space padded.
    pub fn t10(vendor: &str, product: &str, serial: &str) -> Self {
        let mut id = Vec::with_capacity(34);
        for (s, w) in [(vendor, 8), (product, 16), (serial, 10)] {
            let mut field = vec![b' '; w];
            let n = s.len().min(w);
            field[..n].copy_from_slice(&s.as_bytes()[..n]);
            id.extend_from_slice(&field);
        }
        DeviceIdentifier::new(2, 1, id)
    }

    /// An identifier with its length field matching its bytes (at most 255 are encoded).
    pub fn new(code_set: u8, identifier_type: u8, identifier: Vec<u8>) -> Self {
        DeviceIdentifier {
            code_set,
            identifier_type,
            identifier_length: identifier.len().min(255) as u8,
            identifier,
        }
    }

    fn is_ascii_form(&self) -> bool {
        self.code_set == 2 || self.code_set == 3
    }

    /// The drive serial number: the whole identifier for type 0, what follows vendor and
    /// product for type 1. `None` for binary identifiers.
    pub fn serial(&self) -> Option<String> {
        if !self.is_ascii_form() {
            return None;
        }
        match self.identifier_type {
            0 => Some(ascii_trimmed(&self.identifier)),
            1 => self
                .identifier
                .get(T10_VENDOR_LEN + T10_PRODUCT_LEN..)
                .map(ascii_trimmed),
            _ => None,
        }
    }

    /// T10 vendor identification (type 1 only).
    pub fn vendor(&self) -> Option<String> {
        if !self.is_ascii_form() || self.identifier_type != 1 {
            return None;
        }
        Some(ascii_trimmed(
            self.identifier
                .get(..T10_VENDOR_LEN)
                .unwrap_or(&self.identifier),
        ))
    }

    /// Product identification (type 1 only).
    pub fn product(&self) -> Option<String> {
        if !self.is_ascii_form() || self.identifier_type != 1 {
            return None;
        }
        let end = self.identifier.len().min(T10_VENDOR_LEN + T10_PRODUCT_LEN);
        self.identifier.get(T10_VENDOR_LEN..end).map(ascii_trimmed)
    }
}

/// Bus fields of a data transfer element descriptor (SMC-3 6.11.6 byte 6..7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DataTransferBus {
    pub not_bus: bool,
    pub id_valid: bool,
    pub lu_valid: bool,
    pub lun: u8,
    pub scsi_bus_address: u8,
}

/// One element descriptor of any type (SMC-3 6.11.3..6.11.6). Flags not defined for the
/// element's type are decoded as `false` whatever the device sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementDescriptor {
    pub element_type: ElementType,
    pub address: u16,
    pub full: bool,
    /// I/E only: medium was placed by an operator (true) or by the robot (false).
    pub impexp: bool,
    pub except: bool,
    /// Storage, I/E, data transfer: the robot can reach the element.
    pub access: bool,
    /// I/E only: the element supports export.
    pub exenab: bool,
    /// I/E only: the element supports import.
    pub inenab: bool,
    /// I/E only: CMC (element is a cartridge magazine with elements of its own).
    pub cmc: bool,
    /// I/E only: OIR (operator intervention required).
    pub oir: bool,
    /// Meaningful when `except` is set.
    pub asc: u8,
    pub ascq: u8,
    /// Data transfer elements only.
    pub bus: Option<DataTransferBus>,
    /// SVALID: `source_address` is valid.
    pub svalid: bool,
    pub invert: bool,
    /// ED (element disabled, SMC-3 byte 9 bit 3).
    pub disabled: bool,
    /// MEDIUM TYPE (SMC-3 table 58: 0 unspecified, 1 data, 2 cleaning, 3 diagnostic, 4 WORM).
    pub medium_type: u8,
    /// Last storage element the medium came from (only when `svalid`).
    pub source_address: Option<u16>,
    pub primary_tag: Option<VolumeTag>,
    pub alternate_tag: Option<VolumeTag>,
    pub device_id: Option<DeviceIdentifier>,
}

impl ElementDescriptor {
    /// An empty, accessible element with every optional field absent.
    pub fn empty(element_type: ElementType, address: u16) -> Self {
        ElementDescriptor {
            element_type,
            address,
            full: false,
            impexp: false,
            except: false,
            access: element_type != ElementType::MediumTransport,
            exenab: false,
            inenab: false,
            cmc: false,
            oir: false,
            asc: 0,
            ascq: 0,
            bus: None,
            svalid: false,
            invert: false,
            disabled: false,
            medium_type: 0,
            source_address: None,
            primary_tag: None,
            alternate_tag: None,
            device_id: None,
        }
    }

    /// Barcode of the primary volume tag, if any.
    pub fn barcode(&self) -> Option<&str> {
        self.primary_tag.as_ref().map(|t| t.identifier.as_str())
    }

    /// Flag byte 2, restricted to the bits the element type defines.
    fn flag_byte(&self) -> u8 {
        let mut b = u8::from(self.full) | (u8::from(self.except) << 2);
        if self.element_type != ElementType::MediumTransport {
            b |= u8::from(self.access) << 3;
        }
        if self.element_type == ElementType::ImportExport {
            b |= (u8::from(self.impexp) << 1)
                | (u8::from(self.exenab) << 4)
                | (u8::from(self.inenab) << 5)
                | (u8::from(self.cmc) << 6)
                | (u8::from(self.oir) << 7);
        }
        b
    }

    /// Decodes one descriptor of `len` bytes (`len` ≥ 12 is checked by the caller).
    fn decode(
        element_type: ElementType,
        d: &[u8],
        pvoltag: bool,
        avoltag: bool,
    ) -> Result<Self, DecodeError> {
        let what = "element descriptor";
        let flags = u8_at(d, 2, what)?;
        let b9 = u8_at(d, 9, what)?;
        let svalid = b9 & 0x80 != 0;
        let mut e = ElementDescriptor::empty(element_type, be16(d, 0, what)?);
        e.full = flags & 0x01 != 0;
        e.except = flags & 0x04 != 0;
        e.access = element_type != ElementType::MediumTransport && flags & 0x08 != 0;
        if element_type == ElementType::ImportExport {
            e.impexp = flags & 0x02 != 0;
            e.exenab = flags & 0x10 != 0;
            e.inenab = flags & 0x20 != 0;
            e.cmc = flags & 0x40 != 0;
            e.oir = flags & 0x80 != 0;
        }
        e.asc = u8_at(d, 4, what)?;
        e.ascq = u8_at(d, 5, what)?;
        if element_type == ElementType::DataTransfer {
            let b6 = u8_at(d, 6, what)?;
            e.bus = Some(DataTransferBus {
                not_bus: b6 & 0x80 != 0,
                id_valid: b6 & 0x20 != 0,
                lu_valid: b6 & 0x10 != 0,
                lun: b6 & 0x07,
                scsi_bus_address: u8_at(d, 7, what)?,
            });
        }
        e.svalid = svalid;
        e.invert = b9 & 0x40 != 0;
        e.disabled = b9 & 0x08 != 0;
        e.medium_type = b9 & 0x07;
        e.source_address = if svalid {
            Some(be16(d, 10, what)?)
        } else {
            None
        };

        // Optional trailing parts: present when the page flags say so and they fit in the
        // descriptor length; a descriptor too short for an announced tag simply lacks it.
        let mut at = DESCRIPTOR_BASE_LEN;
        if pvoltag {
            if let Ok(t) = slice(d, at, VOLUME_TAG_LEN, "primary volume tag") {
                e.primary_tag = VolumeTag::decode(t)?;
            }
            at += VOLUME_TAG_LEN;
        }
        if avoltag {
            if let Ok(t) = slice(d, at, VOLUME_TAG_LEN, "alternate volume tag") {
                e.alternate_tag = VolumeTag::decode(t)?;
            }
            at += VOLUME_TAG_LEN;
        }
        if let Ok(h) = slice(d, at, DEVICE_ID_HEADER_LEN, "device identifier header") {
            let id_len = usize::from(h[3]);
            if id_len > 0 {
                // A length beyond the descriptor is clamped: keep what the device sent.
                let avail = d.len().saturating_sub(at + DEVICE_ID_HEADER_LEN);
                let id = slice(d, at + DEVICE_ID_HEADER_LEN, id_len.min(avail), what)?;
                e.device_id = Some(DeviceIdentifier {
                    code_set: h[0] & 0x0f,
                    identifier_type: h[1] & 0x0f,
                    identifier_length: h[3],
                    identifier: id.to_vec(),
                });
            }
        }
        Ok(e)
    }

    /// Length of this descriptor's defined fields with the given page flags.
    fn needed_len(&self, pvoltag: bool, avoltag: bool) -> usize {
        let mut n = DESCRIPTOR_BASE_LEN;
        if pvoltag {
            n += VOLUME_TAG_LEN;
        }
        if avoltag {
            n += VOLUME_TAG_LEN;
        }
        if let Some(id) = &self.device_id {
            n += DEVICE_ID_HEADER_LEN + id.identifier.len().min(255);
        }
        n
    }

    fn encode_into(&self, pvoltag: bool, avoltag: bool, len: usize, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&self.address.to_be_bytes());
        out.push(self.flag_byte());
        out.push(0);
        out.push(self.asc);
        out.push(self.ascq);
        match (self.element_type, self.bus) {
            (ElementType::DataTransfer, Some(b)) => {
                out.push(
                    (u8::from(b.not_bus) << 7)
                        | (u8::from(b.id_valid) << 5)
                        | (u8::from(b.lu_valid) << 4)
                        | (b.lun & 0x07),
                );
                out.push(b.scsi_bus_address);
            }
            _ => out.extend_from_slice(&[0, 0]),
        }
        out.push(0);
        let source = self.source_address.filter(|_| self.svalid);
        out.push(
            (u8::from(source.is_some()) << 7)
                | (u8::from(self.invert) << 6)
                | (u8::from(self.disabled) << 3)
                | (self.medium_type & 0x07),
        );
        out.extend_from_slice(&source.unwrap_or(0).to_be_bytes());
        if pvoltag {
            VolumeTag::encode_into(self.primary_tag.as_ref(), out);
        }
        if avoltag {
            VolumeTag::encode_into(self.alternate_tag.as_ref(), out);
        }
        if let Some(id) = &self.device_id {
            let n = id.identifier.len().min(255);
            out.push(id.code_set & 0x0f);
            out.push(id.identifier_type & 0x0f);
            out.push(0);
            out.push(n as u8);
            out.extend_from_slice(&id.identifier[..n]);
        }
        // Pad to the page's descriptor length (other descriptors may carry longer fields).
        out.resize(start + len, 0);
    }
}

/// One element status page: descriptors of a single element type (SMC-3 6.11.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementStatusPage {
    pub element_type: ElementType,
    /// PVOLTAG: descriptors carry a primary volume tag.
    pub pvoltag: bool,
    /// AVOLTAG: descriptors carry an alternate volume tag.
    pub avoltag: bool,
    /// ELEMENT DESCRIPTOR LENGTH as reported (encoders pad to at least this).
    pub descriptor_length: u16,
    /// BYTE COUNT OF DESCRIPTOR DATA AVAILABLE as reported.
    pub descriptor_byte_count: u32,
    pub descriptors: Vec<ElementDescriptor>,
}

impl ElementStatusPage {
    /// A page for `descriptors`; lengths are computed when encoding.
    pub fn new(
        element_type: ElementType,
        pvoltag: bool,
        avoltag: bool,
        descriptors: Vec<ElementDescriptor>,
    ) -> Self {
        ElementStatusPage {
            element_type,
            pvoltag,
            avoltag,
            descriptor_length: 0,
            descriptor_byte_count: 0,
            descriptors,
        }
    }

    /// Descriptor length the encoder uses: the largest needed, at least `descriptor_length`.
    pub fn encoded_descriptor_length(&self) -> usize {
        self.descriptors
            .iter()
            .map(|d| d.needed_len(self.pvoltag, self.avoltag))
            .max()
            .unwrap_or(DESCRIPTOR_BASE_LEN)
            .max(usize::from(self.descriptor_length))
            .max(DESCRIPTOR_BASE_LEN)
    }
}

/// Decoded element status data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementStatus {
    pub header: ElementStatusHeader,
    pub pages: Vec<ElementStatusPage>,
    /// The response ended before what its headers announced (allocation length too small,
    /// or a device that reports more than it sends). Everything in `pages` is complete.
    pub truncated: bool,
}

impl ElementStatus {
    /// All descriptors of all pages, in response order.
    pub fn descriptors(&self) -> impl Iterator<Item = &ElementDescriptor> {
        self.pages.iter().flat_map(|p| p.descriptors.iter())
    }

    /// Decodes element status data (SMC-3 6.11).
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let header = ElementStatusHeader::decode(buf)?;
        let claimed_end = header.full_report_length();
        let end = claimed_end.min(buf.len());
        let mut truncated = buf.len() < claimed_end;
        let mut pages = Vec::new();
        let mut at = DATA_HEADER_LEN;
        while at < end {
            let Some(ph) = buf.get(at..end).and_then(|b| b.get(..PAGE_HEADER_LEN)) else {
                truncated = true;
                break;
            };
            let element_type = ElementType::from_code(ph[0] & 0x0f)?;
            let pvoltag = ph[1] & 0x80 != 0;
            let avoltag = ph[1] & 0x40 != 0;
            let descriptor_length = be16(ph, 2, "element descriptor length")?;
            let descriptor_byte_count = be24(ph, 5, "byte count of descriptor data")?;
            at += PAGE_HEADER_LEN;

            let claimed = descriptor_byte_count as usize;
            let data_end = at.saturating_add(claimed).min(end);
            if data_end < at.saturating_add(claimed) {
                truncated = true;
            }
            let dlen = usize::from(descriptor_length);
            if claimed > 0 && dlen == 0 {
                return Err(DecodeError::invalid(
                    "element status page",
                    format!(
                        "{element_type} page with {claimed} bytes of descriptors has descriptor length 0"
                    ),
                ));
            }
            if claimed > 0 && dlen < DESCRIPTOR_BASE_LEN {
                return Err(DecodeError::invalid(
                    "element status page",
                    format!("descriptor length {dlen} is below the {DESCRIPTOR_BASE_LEN} mandatory bytes"),
                ));
            }
            let mut descriptors = Vec::new();
            let mut d_at = at;
            while dlen > 0 && d_at < data_end {
                match buf.get(d_at..data_end).and_then(|b| b.get(..dlen)) {
                    Some(d) => {
                        descriptors.push(ElementDescriptor::decode(
                            element_type,
                            d,
                            pvoltag,
                            avoltag,
                        )?);
                        d_at += dlen;
                    }
                    None => {
                        // A partial descriptor at the end: the response was cut short.
                        truncated = true;
                        break;
                    }
                }
            }
            pages.push(ElementStatusPage {
                element_type,
                pvoltag,
                avoltag,
                descriptor_length,
                descriptor_byte_count,
                descriptors,
            });
            at = data_end;
        }
        if truncated {
            tracing::debug!(
                got = buf.len(),
                claimed = claimed_end,
                "element status data shorter than its header claims"
            );
        }
        Ok(ElementStatus {
            header,
            pages,
            truncated,
        })
    }

    /// Encodes element status data. A device answer is this, cut to the allocation length:
    /// the header keeps the size of the whole report (SMC-3 6.11.1). Byte counts and descriptor lengths are computed from the
    /// content; `header.first_element_address` and `header.number_of_elements` are written as
    /// given (a device reports what it was asked for, see [`ElementStatus::for_pages`]).
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        for page in &self.pages {
            let dlen = page.encoded_descriptor_length().min(usize::from(u16::MAX));
            let count = dlen * page.descriptors.len();
            body.push(page.element_type.code());
            body.push((u8::from(page.pvoltag) << 7) | (u8::from(page.avoltag) << 6));
            body.extend_from_slice(&(dlen as u16).to_be_bytes());
            body.push(0);
            body.extend_from_slice(
                &(count.min(MAX_ALLOCATION_LENGTH as usize) as u32).to_be_bytes()[1..],
            );
            for d in &page.descriptors {
                d.encode_into(page.pvoltag, page.avoltag, dlen, &mut body);
            }
        }
        let mut out = Vec::with_capacity(DATA_HEADER_LEN + body.len());
        out.extend_from_slice(&self.header.first_element_address.to_be_bytes());
        out.extend_from_slice(&self.header.number_of_elements.to_be_bytes());
        out.push(0);
        out.extend_from_slice(
            &(body.len().min(MAX_ALLOCATION_LENGTH as usize) as u32).to_be_bytes()[1..],
        );
        out.extend_from_slice(&body);
        out
    }

    /// Element status data for `pages`, with the header's first address and element count
    /// taken from the descriptors.
    pub fn for_pages(pages: Vec<ElementStatusPage>) -> Self {
        let first = pages
            .iter()
            .flat_map(|p| p.descriptors.iter())
            .map(|d| d.address)
            .min()
            .unwrap_or(0);
        let n: usize = pages.iter().map(|p| p.descriptors.len()).sum();
        ElementStatus {
            header: ElementStatusHeader {
                first_element_address: first,
                number_of_elements: n.min(usize::from(u16::MAX)) as u16,
                report_byte_count: 0,
            },
            pages,
            truncated: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdb_layout_matches_smc3_table_43() {
        let mut r = ReadElementStatus::new(ElementType::DataTransfer, 0x0100, 4);
        r.dvcid = true;
        r.curdata = true;
        r.allocation_length = 0x012345;
        assert_eq!(
            r.cdb(),
            [0xB8, 0x14, 0x01, 0x00, 0x00, 0x04, 0x03, 0x01, 0x23, 0x45, 0, 0]
        );
        r.allocation_cap = 0xFFFF;
        assert_eq!(&r.cdb()[7..10], &[0x00, 0xFF, 0xFF]);
        r.allocation_length = 0x1000;
        assert_eq!(&r.cdb()[7..10], &[0x00, 0x10, 0x00]);
        assert_eq!(
            ReadElementStatus::parse(&r.cdb())
                .unwrap()
                .allocation_length,
            0x1000
        );
    }

    #[test]
    fn mtx_style_cdb_parses() {
        // What `mtx status` sends for storage elements: VolTag, type 2, no DVCID/CURDATA.
        let cdb = [
            0xB8, 0x12, 0x00, 0x20, 0x00, 0x10, 0x00, 0x00, 0x10, 0x00, 0, 0,
        ];
        let r = ReadElementStatus::parse(&cdb).unwrap();
        assert_eq!(r.element_type, ElementTypeCode::Only(ElementType::Storage));
        assert!(r.voltag && !r.dvcid && !r.curdata);
        assert_eq!((r.starting_address, r.number_of_elements), (0x20, 0x10));
        assert!(ReadElementStatus::parse(&cdb[..11]).is_err());
        assert!(ReadElementStatus::parse(&[0xB9; 12]).is_err());
    }

    #[test]
    fn header_needs_eight_bytes() {
        assert!(ElementStatus::decode(&[0, 1, 0, 2, 0, 0, 0]).is_err());
        let s = ElementStatus::decode(&[0, 1, 0, 0, 0, 0, 0, 0]).unwrap();
        assert!(s.pages.is_empty() && !s.truncated);
    }
}
