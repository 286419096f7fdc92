//! Small SPC-4 commands: TEST UNIT READY, REQUEST SENSE, REPORT LUNS, PREVENT ALLOW MEDIUM
//! REMOVAL.

use crate::decode::{be32, slice, DecodeError};

pub const TEST_UNIT_READY: u8 = 0x00;
pub const REQUEST_SENSE: u8 = 0x03;
pub const PREVENT_ALLOW_MEDIUM_REMOVAL: u8 = 0x1e;
pub const REPORT_LUNS: u8 = 0xa0;

/// TEST UNIT READY (SPC-4 6.47).
pub fn test_unit_ready() -> [u8; 6] {
    [TEST_UNIT_READY, 0, 0, 0, 0, 0]
}

/// REQUEST SENSE (SPC-4 6.39); `descriptor` asks for descriptor-format sense.
pub fn request_sense(alloc: u8, descriptor: bool) -> [u8; 6] {
    [REQUEST_SENSE, u8::from(descriptor), 0, 0, alloc, 0]
}

/// PREVENT ALLOW MEDIUM REMOVAL (SPC-4 6.13; SMC-3 and SSC-4 use the same CDB).
pub fn prevent_allow_medium_removal(prevent: bool) -> [u8; 6] {
    [PREVENT_ALLOW_MEDIUM_REMOVAL, 0, 0, 0, u8::from(prevent), 0]
}

/// REPORT LUNS (SPC-4 6.33) with SELECT REPORT 00h (all logical units).
pub fn report_luns(alloc: u32) -> [u8; 12] {
    let a = alloc.to_be_bytes();
    [REPORT_LUNS, 0, 0, 0, 0, 0, a[0], a[1], a[2], a[3], 0, 0]
}

/// REPORT LUNS parameter data: 8-byte LUN entries. A list cut short by the allocation
/// length decodes the complete entries that arrived; `list_length` tells the caller to retry
/// with a larger buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportLuns {
    /// LUN list length in bytes, as the device reported it.
    pub list_length: u32,
    pub luns: Vec<[u8; 8]>,
}

impl ReportLuns {
    pub fn decode(buf: &[u8]) -> Result<ReportLuns, DecodeError> {
        let list_length = be32(buf, 0, "REPORT LUNS header")?;
        slice(buf, 0, 8, "REPORT LUNS header")?;
        let avail = buf.len().saturating_sub(8).min(list_length as usize);
        let luns = buf[8..8 + avail]
            .chunks_exact(8)
            .map(|c| {
                let mut l = [0u8; 8];
                l.copy_from_slice(c);
                l
            })
            .collect();
        Ok(ReportLuns { list_length, luns })
    }

    /// Flat-space / peripheral-device addressing LUN numbers (SAM-5 4.7), for the common
    /// single-level case; other address methods are kept raw in `luns`.
    pub fn simple_lun_numbers(&self) -> Vec<u16> {
        self.luns
            .iter()
            .filter(|l| l[2..].iter().all(|b| *b == 0) && l[0] >> 6 <= 1)
            .map(|l| u16::from_be_bytes([l[0] & 0x3f, l[1]]))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cdbs() {
        assert_eq!(test_unit_ready(), [0; 6]);
        assert_eq!(request_sense(252, false), [0x03, 0, 0, 0, 252, 0]);
        assert_eq!(prevent_allow_medium_removal(true), [0x1e, 0, 0, 0, 1, 0]);
        assert_eq!(
            report_luns(0x1000),
            [0xa0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0]
        );
    }

    #[test]
    fn report_luns_decodes_and_truncates() {
        let mut b = vec![0, 0, 0, 24, 0, 0, 0, 0];
        b.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        b.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
        let r = ReportLuns::decode(&b).unwrap();
        assert_eq!(r.list_length, 24);
        assert_eq!(r.luns.len(), 2);
        assert_eq!(r.simple_lun_numbers(), vec![0, 1]);
        assert!(ReportLuns::decode(&[0, 0, 0]).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]
        #[test]
        fn report_luns_never_panics(b in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = ReportLuns::decode(&b);
        }
    }
}
