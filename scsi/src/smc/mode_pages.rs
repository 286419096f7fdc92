//! Medium changer mode pages (SMC-3 7.3) and the MODE SENSE framing around them.
//!
//! - 1Dh element address assignment: where each element type's addresses start and how many;
//! - 1Eh transport geometry: whether each transport can rotate media;
//! - 1Fh device capabilities: which element types can store media and which moves and
//!   exchanges between types the changer supports.

use super::{opcode, ElementType};
use crate::decode::{be16, slice, u8_at, DecodeError};
use crate::spc::mode::{mode_sense_10, mode_sense_6, ModeData, ModePage, PageControl};

pub const ELEMENT_ADDRESS_ASSIGNMENT_PAGE: u8 = 0x1D;
pub const TRANSPORT_GEOMETRY_PAGE: u8 = 0x1E;
pub const DEVICE_CAPABILITIES_PAGE: u8 = 0x1F;

/// Which MODE SENSE form a parameter list came from (SPC-4 7.5.4, tables 453/454).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeSenseForm {
    Six,
    Ten,
}

impl ModeSenseForm {
    pub fn opcode(self) -> u8 {
        match self {
            ModeSenseForm::Six => opcode::MODE_SENSE_6,
            ModeSenseForm::Ten => opcode::MODE_SENSE_10,
        }
    }

    /// MODE SENSE CDB for `page_code`, current values, block descriptors disabled (changers
    /// have none worth reading). The (6) form for page 1Dh with 0x88 bytes is exactly what
    /// `mtx status` sends: `1A 08 1D 00 88 00`.
    pub fn cdb(self, page_code: u8, allocation_length: u16) -> Vec<u8> {
        match self {
            ModeSenseForm::Six => mode_sense_6(
                page_code,
                0,
                PageControl::Current,
                true,
                allocation_length.min(0xff) as u8,
            )
            .to_vec(),
            ModeSenseForm::Ten => {
                mode_sense_10(page_code, 0, PageControl::Current, true, allocation_length).to_vec()
            }
        }
    }
}

/// Finds page `page_code` in a MODE SENSE response (header and block descriptors skipped by
/// [`ModeData`]) and returns it with its 2-byte page header, as the page decoders expect. A
/// page cut short keeps what arrived, with its length field saying so.
pub fn find_mode_page(
    buf: &[u8],
    form: ModeSenseForm,
    page_code: u8,
) -> Result<Vec<u8>, DecodeError> {
    let data = match form {
        ModeSenseForm::Six => ModeData::decode_6(buf)?,
        ModeSenseForm::Ten => ModeData::decode_10(buf)?,
    };
    let page = data.page(page_code).ok_or_else(|| {
        DecodeError::invalid(
            "mode parameter list",
            format!("page 0x{page_code:02x} not present"),
        )
    })?;
    let mut out = Vec::with_capacity(page.data.len() + 2);
    out.push((u8::from(page.ps) << 7) | (page.code & 0x3f));
    out.push(page.data.len().min(0xff) as u8);
    out.extend_from_slice(&page.data[..page.data.len().min(0xff)]);
    Ok(out)
}

/// Wraps encoded pages (each starting with its page header) in a MODE SENSE response of the
/// given form, without block descriptors (the simulator's answer to MODE SENSE).
pub fn encode_mode_parameter_list(form: ModeSenseForm, pages: &[&[u8]]) -> Vec<u8> {
    let data = ModeData {
        pages: pages
            .iter()
            .filter(|p| p.len() >= 2)
            .map(|p| ModePage {
                code: p[0] & 0x3f,
                subpage: None,
                ps: p[0] & 0x80 != 0,
                data: p[2..].to_vec(),
            })
            .collect(),
        ..ModeData::default()
    };
    let mut out = match form {
        ModeSenseForm::Six => data.encode_sense_6(),
        ModeSenseForm::Ten => data.encode_sense_10(),
    };
    // MODE SELECT framing clears PS; a MODE SENSE answer reports it.
    let mut at = match form {
        ModeSenseForm::Six => 4,
        ModeSenseForm::Ten => 8,
    };
    for p in pages.iter().filter(|p| p.len() >= 2) {
        if let Some(b) = out.get_mut(at) {
            *b |= p[0] & 0x80;
        }
        at += p.len();
    }
    out
}

fn page_body<'a>(
    page: &'a [u8],
    code: u8,
    min_len: usize,
    what: &'static str,
) -> Result<&'a [u8], DecodeError> {
    let got = u8_at(page, 0, what)? & 0x3f;
    if got != code {
        return Err(DecodeError::invalid(
            what,
            format!("page code 0x{got:02x}, expected 0x{code:02x}"),
        ));
    }
    let len = usize::from(u8_at(page, 1, what)?);
    if len + 2 < min_len {
        return Err(DecodeError::invalid(
            what,
            format!("page length {len} is below {}", min_len - 2),
        ));
    }
    slice(page, 0, min_len, what)
}

/// First address and count of one element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct ElementRange {
    pub first: u16,
    pub count: u16,
}

impl ElementRange {
    pub fn new(first: u16, count: u16) -> Self {
        ElementRange { first, count }
    }

    pub fn contains(&self, address: u16) -> bool {
        address >= self.first && u32::from(address) < u32::from(self.first) + u32::from(self.count)
    }

    /// Last address, if the range is not empty.
    pub fn last(&self) -> Option<u16> {
        if self.count == 0 {
            None
        } else {
            Some(self.first.saturating_add(self.count - 1))
        }
    }
}

/// Element address assignment page (1Dh, SMC-3 7.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ElementAddressAssignment {
    pub parameters_saveable: bool,
    pub transport: ElementRange,
    pub storage: ElementRange,
    pub import_export: ElementRange,
    pub data_transfer: ElementRange,
}

impl ElementAddressAssignment {
    pub const PAGE_LEN: usize = 20;

    pub fn range(&self, t: ElementType) -> ElementRange {
        match t {
            ElementType::MediumTransport => self.transport,
            ElementType::Storage => self.storage,
            ElementType::ImportExport => self.import_export,
            ElementType::DataTransfer => self.data_transfer,
        }
    }

    /// The type whose range holds `address`.
    pub fn element_type_of(&self, address: u16) -> Option<ElementType> {
        ElementType::ALL
            .into_iter()
            .find(|t| self.range(*t).contains(address))
    }

    /// Decodes the page (starting at its page code byte).
    pub fn decode(page: &[u8]) -> Result<Self, DecodeError> {
        let what = "element address assignment page";
        let p = page_body(page, ELEMENT_ADDRESS_ASSIGNMENT_PAGE, 18, what)?;
        let r = |at| -> Result<ElementRange, DecodeError> {
            Ok(ElementRange::new(
                be16(p, at, what)?,
                be16(p, at + 2, what)?,
            ))
        };
        Ok(ElementAddressAssignment {
            parameters_saveable: p[0] & 0x80 != 0,
            transport: r(2)?,
            storage: r(6)?,
            import_export: r(10)?,
            data_transfer: r(14)?,
        })
    }

    pub fn encode(&self) -> [u8; Self::PAGE_LEN] {
        let mut p = [0u8; Self::PAGE_LEN];
        p[0] = (u8::from(self.parameters_saveable) << 7) | ELEMENT_ADDRESS_ASSIGNMENT_PAGE;
        p[1] = (Self::PAGE_LEN - 2) as u8;
        for (i, r) in [
            self.transport,
            self.storage,
            self.import_export,
            self.data_transfer,
        ]
        .iter()
        .enumerate()
        {
            let at = 2 + 4 * i;
            p[at..at + 2].copy_from_slice(&r.first.to_be_bytes());
            p[at + 2..at + 4].copy_from_slice(&r.count.to_be_bytes());
        }
        p
    }
}

/// Transport geometry page (1Eh, SMC-3 7.3.4): one descriptor per medium transport.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TransportGeometry {
    pub parameters_saveable: bool,
    pub transports: Vec<TransportGeometryDescriptor>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TransportGeometryDescriptor {
    /// ROTATE: the transport can turn media over.
    pub rotate: bool,
    pub member_number: u8,
}

impl TransportGeometry {
    pub fn decode(page: &[u8]) -> Result<Self, DecodeError> {
        let what = "transport geometry page";
        let p = page_body(page, TRANSPORT_GEOMETRY_PAGE, 2, what)?;
        let len = usize::from(p[1]);
        // Descriptors are two bytes each; a trailing odd byte or bytes past the data are ignored.
        let body = page.get(2..(2 + len).min(page.len())).unwrap_or(&[]);
        Ok(TransportGeometry {
            parameters_saveable: p[0] & 0x80 != 0,
            transports: body
                .chunks_exact(2)
                .map(|d| TransportGeometryDescriptor {
                    rotate: d[0] & 0x01 != 0,
                    member_number: d[1],
                })
                .collect(),
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let n = self.transports.len().min(127);
        let mut p = vec![
            (u8::from(self.parameters_saveable) << 7) | TRANSPORT_GEOMETRY_PAGE,
            (2 * n) as u8,
        ];
        for d in &self.transports[..n] {
            p.push(u8::from(d.rotate));
            p.push(d.member_number);
        }
        p
    }
}

/// A set of element types, as the bits of the device capabilities page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct ElementTypeSet(pub u8);

impl ElementTypeSet {
    pub fn contains(self, t: ElementType) -> bool {
        self.0 & t.capability_bit() != 0
    }

    pub fn with(self, t: ElementType) -> Self {
        ElementTypeSet(self.0 | t.capability_bit())
    }

    pub fn of(types: &[ElementType]) -> Self {
        types.iter().fold(ElementTypeSet(0), |s, t| s.with(*t))
    }
}

/// Device capabilities page (1Fh, SMC-3 7.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeviceCapabilities {
    pub parameters_saveable: bool,
    /// StorMT / StorST / StorI/E / StorDT: element types that can hold media.
    pub storage: ElementTypeSet,
    /// `moves[source]`: destinations MOVE MEDIUM accepts from a source of that type (indexed
    /// in [`ElementType::ALL`] order).
    pub moves: [ElementTypeSet; 4],
    /// `exchanges[type]`: types that EXCHANGE MEDIUM can swap with that type.
    pub exchanges: [ElementTypeSet; 4],
}

fn type_index(t: ElementType) -> usize {
    usize::from(t.code() - 1)
}

impl DeviceCapabilities {
    pub const PAGE_LEN: usize = 20;

    pub fn can_move(&self, from: ElementType, to: ElementType) -> bool {
        self.moves[type_index(from)].contains(to)
    }

    pub fn can_exchange(&self, a: ElementType, b: ElementType) -> bool {
        self.exchanges[type_index(a)].contains(b)
    }

    pub fn decode(page: &[u8]) -> Result<Self, DecodeError> {
        let what = "device capabilities page";
        let p = page_body(page, DEVICE_CAPABILITIES_PAGE, 16, what)?;
        let set = |at: usize| ElementTypeSet(p[at] & 0x0f);
        Ok(DeviceCapabilities {
            parameters_saveable: p[0] & 0x80 != 0,
            storage: set(2),
            moves: [set(4), set(5), set(6), set(7)],
            exchanges: [set(12), set(13), set(14), set(15)],
        })
    }

    pub fn encode(&self) -> [u8; Self::PAGE_LEN] {
        let mut p = [0u8; Self::PAGE_LEN];
        p[0] = (u8::from(self.parameters_saveable) << 7) | DEVICE_CAPABILITIES_PAGE;
        p[1] = (Self::PAGE_LEN - 2) as u8;
        p[2] = self.storage.0 & 0x0f;
        for i in 0..4 {
            p[4 + i] = self.moves[i].0 & 0x0f;
            p[12 + i] = self.exchanges[i].0 & 0x0f;
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mtx_mode_sense_cdb() {
        assert_eq!(
            ModeSenseForm::Six.cdb(ELEMENT_ADDRESS_ASSIGNMENT_PAGE, 0x88),
            [0x1A, 0x08, 0x1D, 0x00, 0x88, 0x00]
        );
        assert_eq!(
            ModeSenseForm::Ten.cdb(0x1F, 0x100),
            [0x5A, 0x08, 0x1F, 0, 0, 0, 0, 0x01, 0x00, 0]
        );
    }

    #[test]
    fn address_assignment_in_both_forms() {
        let page = ElementAddressAssignment {
            parameters_saveable: false,
            transport: ElementRange::new(0, 1),
            storage: ElementRange::new(0x1000, 24),
            import_export: ElementRange::new(0x0010, 4),
            data_transfer: ElementRange::new(0x0100, 2),
        };
        let bytes = page.encode();
        assert_eq!(&bytes[..8], &[0x1D, 0x12, 0, 0, 0, 1, 0x10, 0x00]);
        for form in [ModeSenseForm::Six, ModeSenseForm::Ten] {
            let list = encode_mode_parameter_list(form, &[&bytes]);
            let p = find_mode_page(&list, form, 0x1D).unwrap();
            assert_eq!(ElementAddressAssignment::decode(&p).unwrap(), page);
        }
        assert_eq!(page.element_type_of(0x1017), Some(ElementType::Storage));
        assert_eq!(page.element_type_of(0x1018), None);
        assert!(ElementAddressAssignment::decode(&bytes[..10]).is_err());
    }

    #[test]
    fn block_descriptors_are_skipped() {
        // MODE SENSE(6) header with an 8-byte block descriptor before page 1Fh.
        let mut list = vec![0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0];
        let caps = DeviceCapabilities {
            storage: ElementTypeSet::of(&[ElementType::Storage, ElementType::DataTransfer]),
            moves: [ElementTypeSet(0x0e); 4],
            ..Default::default()
        };
        list.extend_from_slice(&caps.encode());
        list[0] = (list.len() - 1) as u8;
        let p = find_mode_page(&list, ModeSenseForm::Six, 0x1F).unwrap();
        let d = DeviceCapabilities::decode(&p).unwrap();
        assert_eq!(d, caps);
        assert!(d.can_move(ElementType::Storage, ElementType::DataTransfer));
        assert!(!d.can_move(ElementType::Storage, ElementType::MediumTransport));
        assert!(find_mode_page(&list, ModeSenseForm::Six, 0x1D).is_err());
    }

    #[test]
    fn transport_geometry() {
        let page = [0x1E, 0x04, 0x01, 0x00, 0x00, 0x01];
        let g = TransportGeometry::decode(&page).unwrap();
        assert_eq!(g.transports.len(), 2);
        assert!(g.transports[0].rotate && !g.transports[1].rotate);
        assert_eq!(g.encode(), page);
    }
}
