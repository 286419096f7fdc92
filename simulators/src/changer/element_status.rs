//! READ ELEMENT STATUS (SMC-3 6.10): element status data header, one page per run of elements of
//! the same type, and the element descriptors of each type.

use super::cdb::{be16, be24, byte};
use super::{
    ascii_field, bad_address, bad_field, respond, Changer, DriveBay, Element, ElementType, Reply,
};
use crate::config::DvcidFormat;
use crate::media::MediaKind;

/// Length of the primary volume tag field (SMC-3 6.10.7: 32 bytes identifier, 2 reserved, 2 sequence).
const VOLUME_TAG_LEN: usize = 36;
/// Bytes 0..12 common to every descriptor.
const DESCRIPTOR_BASE_LEN: usize = 12;
/// Code set, identifier type, reserved, identifier length.
const IDENTIFIER_HEADER_LEN: usize = 4;

/// What the initiator asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElementStatusRequest {
    /// `None` = all element types.
    pub element_type: Option<ElementType>,
    pub voltag: bool,
    pub dvcid: bool,
    pub start: u16,
    pub count: u16,
}

/// One element as it will be reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportedElement {
    pub element: Element,
    /// Robot can reach it (Access bit).
    pub accessible: bool,
    /// Except bit with its additional sense code.
    pub except: Option<(u8, u8)>,
    /// Device identifier for a data transfer element (already in its final form).
    pub identifier: Option<Vec<u8>>,
}

impl Changer {
    pub(super) fn read_element_status(
        &mut self,
        cdb: &[u8],
        buf: &mut [u8],
        bay: &dyn DriveBay,
    ) -> Reply {
        let b1 = byte(cdb, 1);
        let type_code = b1 & 0x0f;
        let element_type = match type_code {
            0 => None,
            code => Some(ElementType::from_code(code).ok_or_else(|| bad_field(1, Some(3)))?),
        };
        let request = ElementStatusRequest {
            element_type,
            voltag: b1 & 0x10 != 0,
            dvcid: byte(cdb, 6) & 0x01 != 0,
            start: be16(cdb, 2),
            count: be16(cdb, 4),
        };
        let alloc = usize::try_from(be24(cdb, 7)).unwrap_or(usize::MAX);
        let matching: Vec<&Element> = self
            .state
            .elements()
            .into_iter()
            .filter(|e| match element_type {
                None => true,
                Some(t) => e.element_type == t,
            })
            .filter(|e| e.address >= request.start)
            .take(usize::from(request.count))
            .collect();
        if matching.is_empty() && request.count > 0 {
            return Err(bad_address(2));
        }
        let ie_accessible = self.state.ie_accessible();
        let format = self.identity.dvcid;
        let reported: Vec<ReportedElement> = matching
            .into_iter()
            .map(|e| {
                let drive = self.state.drive_index(e.address);
                ReportedElement {
                    element: e.clone(),
                    accessible: e.element_type != ElementType::ImportExport || ie_accessible,
                    except: drive.filter(|&i| bay.failed(i)).map(|_| (0x44, 0x00)),
                    identifier: drive
                        .filter(|_| request.dvcid)
                        .and_then(|i| bay.identity(i))
                        .map(|id| device_identifier(format, &id.vendor, &id.product, &id.serial)),
                }
            })
            .collect();
        let report = encode_element_status(&reported, request.voltag, request.dvcid, format);
        Ok(respond(buf, alloc, &report))
    }
}

/// The identifier bytes a data transfer descriptor carries for DVCID (SMC-3 6.10.6, SPC-4 7.8.6).
pub fn device_identifier(
    format: DvcidFormat,
    vendor: &str,
    product: &str,
    serial: &str,
) -> Vec<u8> {
    match format {
        DvcidFormat::Serial => serial.as_bytes().to_vec(),
        DvcidFormat::VendorProductSerial => {
            let mut v = ascii_field(vendor, 8);
            v.extend(ascii_field(product, 16));
            v.extend(ascii_field(serial, serial.len().max(10)));
            v
        }
    }
}

/// The whole report: data header, then one page per run of same-type elements. The header and
/// page headers count every byte available, whatever the allocation length (SMC-3 6.10.2).
pub fn encode_element_status(
    elements: &[ReportedElement],
    voltag: bool,
    dvcid: bool,
    format: DvcidFormat,
) -> Vec<u8> {
    let mut pages: Vec<u8> = Vec::new();
    let mut i = 0;
    while let Some(first) = elements.get(i) {
        let t = first.element.element_type;
        let run: Vec<&ReportedElement> = elements
            .iter()
            .skip(i)
            .take_while(|e| e.element.element_type == t)
            .collect();
        i += run.len();
        // Every descriptor of a page has the same length: pad identifiers to the longest.
        let id_len = if dvcid && t == ElementType::DataTransfer {
            run.iter()
                .filter_map(|e| e.identifier.as_ref().map(Vec::len))
                .max()
                .unwrap_or(0)
                .min(255)
        } else {
            0
        };
        let desc_len = DESCRIPTOR_BASE_LEN
            + if voltag { VOLUME_TAG_LEN } else { 0 }
            + IDENTIFIER_HEADER_LEN
            + id_len;
        let data_len = desc_len * run.len();
        pages.push(t.code());
        pages.push(if voltag { 0x80 } else { 0x00 });
        pages.extend((desc_len as u16).to_be_bytes());
        pages.push(0);
        pages.extend(be24_bytes(data_len));
        for e in run {
            pages.extend(encode_descriptor(e, voltag, id_len, format));
        }
    }
    let mut out = Vec::with_capacity(8 + pages.len());
    out.extend(
        elements
            .first()
            .map_or(0, |e| e.element.address)
            .to_be_bytes(),
    );
    out.extend((elements.len().min(usize::from(u16::MAX)) as u16).to_be_bytes());
    out.push(0);
    out.extend(be24_bytes(pages.len()));
    out.extend(pages);
    out
}

fn be24_bytes(n: usize) -> [u8; 3] {
    let n = u32::try_from(n).unwrap_or(u32::MAX).min(0x00ff_ffff);
    let b = n.to_be_bytes();
    [b[1], b[2], b[3]]
}

/// One element descriptor (SMC-3 6.10.3 to 6.10.6).
fn encode_descriptor(
    e: &ReportedElement,
    voltag: bool,
    id_len: usize,
    format: DvcidFormat,
) -> Vec<u8> {
    let el = &e.element;
    let mut d = vec![0u8; DESCRIPTOR_BASE_LEN];
    d[0..2].copy_from_slice(&el.address.to_be_bytes());
    let mut flags = 0u8;
    if el.medium.is_some() {
        flags |= 0x01; // FULL
    }
    if e.except.is_some() {
        flags |= 0x04; // EXCEPT
    }
    match el.element_type {
        ElementType::MediumTransport => {}
        ElementType::Storage | ElementType::DataTransfer => {
            if e.accessible {
                flags |= 0x08; // ACCESS
            }
        }
        ElementType::ImportExport => {
            if el.medium.as_ref().is_some_and(|m| m.imported) {
                flags |= 0x02; // IMPEXP: placed by an operator
            }
            if e.accessible {
                flags |= 0x08;
            }
            flags |= 0x10 | 0x20; // EXENAB, INENAB
        }
    }
    d[2] = flags;
    if let Some((asc, ascq)) = e.except {
        d[4] = asc;
        d[5] = ascq;
    }
    if let Some(m) = &el.medium {
        if let Some(source) = m.source {
            d[9] |= 0x80; // SVALID
            d[10..12].copy_from_slice(&source.to_be_bytes());
        }
        // MEDIUM TYPE (SMC-3 table 30): 1 data, 2 cleaning.
        d[9] |= match m.kind {
            MediaKind::Cleaning => 0x02,
            MediaKind::Data { .. } => 0x01,
        };
    }
    if voltag {
        let mut tag = vec![0u8; VOLUME_TAG_LEN];
        if let Some(m) = &el.medium {
            tag[..32].copy_from_slice(&ascii_field(&m.barcode, 32));
        }
        d.extend(tag);
    }
    if id_len > 0 {
        let id = e.identifier.clone().unwrap_or_default();
        let code_set = 0x02; // ASCII
        let id_type = match format {
            DvcidFormat::Serial => 0x00,
            DvcidFormat::VendorProductSerial => 0x01,
        };
        d.extend([code_set, id_type, 0, id_len as u8]);
        let mut id = id;
        id.resize(id_len, b' ');
        d.extend(id);
    } else {
        d.extend([0u8; IDENTIFIER_HEADER_LEN]);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changer::Medium;
    use crate::media::LtoGeneration;
    use proptest::prelude::*;

    fn reported(address: u16, t: ElementType, barcode: Option<&str>) -> ReportedElement {
        ReportedElement {
            element: Element {
                address,
                element_type: t,
                medium: barcode.map(|b| Medium {
                    barcode: b.into(),
                    kind: MediaKind::data(LtoGeneration::Lto8),
                    source: Some(0x1234),
                    imported: true,
                }),
            },
            accessible: true,
            except: None,
            identifier: (t == ElementType::DataTransfer).then(|| b"SER".to_vec()),
        }
    }

    #[test]
    fn import_export_descriptor_bits() {
        let e = reported(16, ElementType::ImportExport, Some("ABC123L8"));
        let d = encode_element_status(&[e], false, false, DvcidFormat::Serial);
        // Header, page header (type 3, no tags, length 16, 16 bytes), descriptor.
        assert_eq!(
            &d[..16],
            &[0, 16, 0, 1, 0, 0, 0, 24, 3, 0, 0, 16, 0, 0, 0, 16]
        );
        assert_eq!(d[16 + 2], 0x01 | 0x02 | 0x08 | 0x10 | 0x20);
        assert_eq!(&d[16 + 9..16 + 12], &[0x81, 0x12, 0x34]);
    }

    #[test]
    fn identifiers_pad_to_the_longest_in_the_page() {
        let mut a = reported(256, ElementType::DataTransfer, None);
        a.identifier = Some(b"LONGSERIAL".to_vec());
        let b = reported(257, ElementType::DataTransfer, None);
        let d = encode_element_status(&[a, b], false, true, DvcidFormat::Serial);
        assert_eq!(&d[10..12], &[0, 26]);
        let second = &d[16 + 26..16 + 52];
        assert_eq!(&second[12..16], &[2, 0, 0, 10]);
        assert_eq!(&second[16..], b"SER       ");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Header and page counts always describe exactly the bytes produced.
        #[test]
        fn counts_match_the_bytes(
            types in proptest::collection::vec(1u8..=4, 0..40),
            full in proptest::collection::vec(any::<bool>(), 40),
            voltag in any::<bool>(),
            dvcid in any::<bool>(),
        ) {
            let mut types = types;
            types.sort();
            let elements: Vec<ReportedElement> = types
                .iter()
                .enumerate()
                .map(|(i, &t)| {
                    let t = ElementType::from_code(t).unwrap_or(ElementType::Storage);
                    reported(i as u16, t, full[i].then_some("X00001L8"))
                })
                .collect();
            let d = encode_element_status(&elements, voltag, dvcid, DvcidFormat::Serial);
            prop_assert_eq!(u16::from_be_bytes([d[2], d[3]]) as usize, elements.len());
            let count = u32::from_be_bytes([0, d[5], d[6], d[7]]) as usize;
            prop_assert_eq!(count + 8, d.len());
            let mut p = 8;
            let mut seen = 0;
            while p < d.len() {
                let dlen = u16::from_be_bytes([d[p + 2], d[p + 3]]) as usize;
                let bytes = u32::from_be_bytes([0, d[p + 5], d[p + 6], d[p + 7]]) as usize;
                prop_assert!(dlen > 0);
                prop_assert_eq!(bytes % dlen, 0);
                seen += bytes / dlen;
                p += 8 + bytes;
            }
            prop_assert_eq!(p, d.len());
            prop_assert_eq!(seen, elements.len());
        }
    }
}
