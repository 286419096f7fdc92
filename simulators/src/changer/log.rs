//! LOG SENSE (SPC-4 6.8): supported pages (00h) and TapeAlert for medium changers (2Eh, SMC-3
//! annex: 64 one-byte flags, cleared once read).

use super::cdb::{be16, byte};
use super::{bad_field, respond, Changer, Reply};

const PAGE_SUPPORTED: u8 = 0x00;
const PAGE_TAPE_ALERT: u8 = 0x2E;

impl Changer {
    pub(super) fn log_sense(&mut self, cdb: &[u8], buf: &mut [u8]) -> Reply {
        if byte(cdb, 1) & 0x01 != 0 {
            // SP (save parameters): nothing is saved.
            return Err(bad_field(1, Some(0)));
        }
        let page = byte(cdb, 2) & 0x3f;
        let subpage = byte(cdb, 3);
        if subpage != 0 {
            return Err(bad_field(3, None));
        }
        let alloc = usize::from(be16(cdb, 7));
        let params: Vec<u8> = match page {
            PAGE_SUPPORTED => vec![PAGE_SUPPORTED, PAGE_TAPE_ALERT],
            PAGE_TAPE_ALERT => {
                // Both page controls (current cumulative 01b, and 00b which tapeinfo uses)
                // answer the same flags.
                let mut p = Vec::with_capacity(64 * 5);
                for flag in 1u8..=64 {
                    p.extend(u16::from(flag).to_be_bytes());
                    p.push(0x03); // parameter control: binary list format (LBIN), TSD
                    p.push(1);
                    p.push(u8::from(self.state.tape_alerts.contains(&flag)));
                }
                if !self.state.tape_alerts.is_empty() {
                    // Reading the TapeAlert page clears the flags (SSC-4 8.2.3 / SMC-3 annex).
                    self.state.tape_alerts.clear();
                    self.mark_dirty();
                }
                p
            }
            _ => return Err(bad_field(2, Some(5))),
        };
        let mut d = vec![page, 0];
        d.extend(
            u16::try_from(params.len())
                .unwrap_or(u16::MAX)
                .to_be_bytes(),
        );
        d.extend(params);
        Ok(respond(buf, alloc, &d))
    }
}
