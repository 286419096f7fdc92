//! INQUIRY (standard data, VPD 0x00/0x80/0x83), REQUEST SENSE and REPORT LUNS (SPC-4).

use super::cdb::{be16, be32, byte};
use super::{ascii_field, bad_field, respond, Changer, Reply};
use crate::sense::{key, SenseBuilder};

/// Peripheral device type of a medium changer (SPC-4 table 48).
const PERIPHERAL_CHANGER: u8 = 0x08;

impl Changer {
    /// INQUIRY (SPC-4 6.6).
    pub(super) fn inquiry(&mut self, cdb: &[u8], buf: &mut [u8]) -> Reply {
        let evpd = byte(cdb, 1) & 0x01 != 0;
        if byte(cdb, 1) & 0x02 != 0 {
            // CMDDT is obsolete.
            return Err(bad_field(1, Some(1)));
        }
        let page = byte(cdb, 2);
        let alloc = usize::from(be16(cdb, 3));
        let data = if evpd {
            self.vpd_page(page).ok_or_else(|| bad_field(2, None))?
        } else {
            if page != 0 {
                return Err(bad_field(2, None));
            }
            self.standard_inquiry()
        };
        Ok(respond(buf, alloc, &data))
    }

    fn standard_inquiry(&self) -> Vec<u8> {
        let id = &self.identity;
        let mut d = vec![0u8; 56];
        d[0] = PERIPHERAL_CHANGER;
        d[2] = 0x06; // SPC-4
        d[3] = 0x02; // response data format 2
        d[4] = (d.len() - 5) as u8;
        d[8..16].copy_from_slice(&ascii_field(&id.vendor, 8));
        d[16..32].copy_from_slice(&ascii_field(&id.product, 16));
        d[32..36].copy_from_slice(&ascii_field(&id.revision, 4));
        // Bytes 36..56 are vendor specific; IBM libraries carry the serial there.
        d[36..48].copy_from_slice(&ascii_field(&id.serial, 12));
        d
    }

    fn vpd_page(&self, page: u8) -> Option<Vec<u8>> {
        let id = &self.identity;
        let body: Vec<u8> = match page {
            0x00 => vec![0x00, 0x80, 0x83],
            0x80 => id.serial.as_bytes().to_vec(),
            0x83 => {
                // One designator: T10 vendor ID based (type 1), ASCII (code set 2), associated
                // with the logical unit (SPC-4 7.8.6.4): vendor (8) + product (16) + serial.
                let mut ident = ascii_field(&id.vendor, 8);
                ident.extend(ascii_field(&id.product, 16));
                ident.extend(id.serial.bytes());
                let mut d = vec![0x02, 0x01, 0x00, u8::try_from(ident.len()).ok()?];
                d.extend(ident);
                d
            }
            _ => return None,
        };
        let len = u16::try_from(body.len()).ok()?;
        let mut d = vec![PERIPHERAL_CHANGER, page];
        d.extend(len.to_be_bytes());
        d.extend(body);
        Some(d)
    }

    /// REQUEST SENSE (SPC-4 6.29): a pending UNIT ATTENTION, else NO SENSE.
    pub(super) fn request_sense(&mut self, cdb: &[u8], buf: &mut [u8]) -> Reply {
        let alloc = usize::from(byte(cdb, 4));
        let sense = if self.state.unit_attentions.is_empty() {
            SenseBuilder::new(key::NO_SENSE, 0, 0).build()
        } else {
            let (asc, ascq) = self.state.unit_attentions.remove(0);
            self.mark_dirty();
            SenseBuilder::new(key::UNIT_ATTENTION, asc, ascq).build()
        };
        Ok(respond(buf, alloc, &sense))
    }

    /// REPORT LUNS (SPC-4 6.33): the changer is LUN 0 alone.
    pub(super) fn report_luns(&mut self, cdb: &[u8], buf: &mut [u8]) -> Reply {
        let alloc = usize::try_from(be32(cdb, 6)).unwrap_or(usize::MAX);
        if byte(cdb, 2) > 0x02 {
            return Err(bad_field(2, None));
        }
        let mut d = vec![0u8; 16];
        d[3] = 8; // LUN list length: one 8-byte LUN
        Ok(respond(buf, alloc, &d))
    }
}
