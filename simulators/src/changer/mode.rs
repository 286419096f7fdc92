//! MODE SENSE(6)/(10) (SPC-4 6.11/6.12) with the SMC-3 pages: element address assignment (1Dh),
//! transport geometry parameters (1Eh) and device capabilities (1Fh); 3Fh returns all three.

use super::cdb::{be16, byte};
use super::{bad_field, respond, Changer, Reply};

const PAGE_ELEMENT_ADDRESS: u8 = 0x1D;
const PAGE_TRANSPORT_GEOMETRY: u8 = 0x1E;
const PAGE_DEVICE_CAPABILITIES: u8 = 0x1F;
const PAGE_ALL: u8 = 0x3F;

/// Page control field (SPC-4 6.11.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PageControl {
    Current,
    Changeable,
    Default,
    Saved,
}

impl Changer {
    pub(super) fn mode_sense(&mut self, cdb: &[u8], buf: &mut [u8]) -> Reply {
        let ten = byte(cdb, 0) == 0x5A;
        let pc = match byte(cdb, 2) >> 6 {
            0 => PageControl::Current,
            1 => PageControl::Changeable,
            2 => PageControl::Default,
            _ => PageControl::Saved,
        };
        let page = byte(cdb, 2) & 0x3f;
        if byte(cdb, 3) != 0 && byte(cdb, 3) != 0xff {
            return Err(bad_field(3, None));
        }
        let alloc = if ten {
            usize::from(be16(cdb, 7))
        } else {
            usize::from(byte(cdb, 4))
        };
        let pages: Vec<u8> = match page {
            PAGE_ELEMENT_ADDRESS | PAGE_TRANSPORT_GEOMETRY | PAGE_DEVICE_CAPABILITIES => {
                self.mode_page(page, pc)
            }
            PAGE_ALL => [
                PAGE_ELEMENT_ADDRESS,
                PAGE_TRANSPORT_GEOMETRY,
                PAGE_DEVICE_CAPABILITIES,
            ]
            .into_iter()
            .flat_map(|p| self.mode_page(p, pc))
            .collect(),
            _ => return Err(bad_field(2, Some(5))),
        };
        // Headers without block descriptors: changers have none (SMC-3 7.3.1).
        let data = if ten {
            let mut d = vec![0u8; 8];
            let len = u16::try_from(pages.len() + 6).unwrap_or(u16::MAX);
            d[0..2].copy_from_slice(&len.to_be_bytes());
            d.extend(pages);
            d
        } else {
            let mut d = vec![0u8; 4];
            d[0] = u8::try_from(pages.len() + 3).unwrap_or(u8::MAX);
            d.extend(pages);
            d
        };
        Ok(respond(buf, alloc, &data))
    }

    /// One mode page; for the changeable values every field reads 0 (nothing can be changed).
    fn mode_page(&self, page: u8, pc: PageControl) -> Vec<u8> {
        let mut p = match page {
            PAGE_ELEMENT_ADDRESS => {
                // SMC-3 7.3.3: first address and count of each element type.
                let s = &self.state;
                let mut p = vec![PAGE_ELEMENT_ADDRESS, 0x12];
                let first =
                    |v: &[super::Element], fallback: u16| v.first().map_or(fallback, |e| e.address);
                let a = self.addresses;
                for (start, n) in [
                    (first(&s.transport, a.transport), s.transport.len()),
                    (first(&s.storage, a.storage), s.storage.len()),
                    (
                        first(&s.import_export, a.import_export),
                        s.import_export.len(),
                    ),
                    (first(&s.drives, a.drive), s.drives.len()),
                ] {
                    p.extend(start.to_be_bytes());
                    p.extend(u16::try_from(n).unwrap_or(u16::MAX).to_be_bytes());
                }
                p.extend([0, 0]);
                p
            }
            PAGE_TRANSPORT_GEOMETRY => {
                // SMC-3 7.3.4: one 2-byte descriptor per transport: no ROTATE, member 0.
                let n = self.state.transport.len().min(127);
                let mut p = vec![PAGE_TRANSPORT_GEOMETRY, (2 * n) as u8];
                p.extend(std::iter::repeat_n([0u8, 0u8], n).flatten());
                p
            }
            _ => {
                // SMC-3 7.3.2 device capabilities. Bits: 3 DT, 2 I/E, 1 ST, 0 MT.
                const ST_IE_DT: u8 = 0x0E;
                let mut p = vec![PAGE_DEVICE_CAPABILITIES, 0x12];
                p.push(ST_IE_DT); // StorDT, StorI/E, StorST: those can hold media
                p.push(0);
                // MOVE MEDIUM capabilities, by source type MT, ST, I/E, DT.
                p.extend([0, ST_IE_DT, ST_IE_DT, ST_IE_DT]);
                p.extend([0; 4]);
                // EXCHANGE MEDIUM capabilities, same order.
                p.extend([0, ST_IE_DT, ST_IE_DT, ST_IE_DT]);
                p.extend([0; 4]);
                p
            }
        };
        if pc == PageControl::Changeable {
            for b in p.iter_mut().skip(2) {
                *b = 0;
            }
        }
        p
    }
}
