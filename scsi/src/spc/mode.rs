//! MODE SENSE / MODE SELECT (SPC-4 6.11–6.14, 7.5): headers, block descriptors and pages.

use crate::decode::{be16, be24, slice, u8_at, DecodeError};

pub const MODE_SELECT_6: u8 = 0x15;
pub const MODE_SENSE_6: u8 = 0x1a;
pub const MODE_SELECT_10: u8 = 0x55;
pub const MODE_SENSE_10: u8 = 0x5a;

/// Page control field of MODE SENSE (SPC-4 6.11, table 100).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PageControl {
    Current = 0,
    Changeable = 1,
    Default = 2,
    Saved = 3,
}

/// Page code asking for every page.
pub const ALL_PAGES: u8 = 0x3f;

/// MODE SENSE(6); `dbd` disables block descriptors.
pub fn mode_sense_6(page: u8, subpage: u8, pc: PageControl, dbd: bool, alloc: u8) -> [u8; 6] {
    [
        MODE_SENSE_6,
        if dbd { 0x08 } else { 0 },
        ((pc as u8) << 6) | (page & 0x3f),
        subpage,
        alloc,
        0,
    ]
}

/// MODE SENSE(10).
pub fn mode_sense_10(page: u8, subpage: u8, pc: PageControl, dbd: bool, alloc: u16) -> [u8; 10] {
    let a = alloc.to_be_bytes();
    [
        MODE_SENSE_10,
        if dbd { 0x08 } else { 0 },
        ((pc as u8) << 6) | (page & 0x3f),
        subpage,
        0,
        0,
        0,
        a[0],
        a[1],
        0,
    ]
}

/// MODE SELECT(6) with PF = 1 (pages follow the standard format); `save` sets SP.
pub fn mode_select_6(len: u8, save: bool) -> [u8; 6] {
    [MODE_SELECT_6, 0x10 | u8::from(save), 0, 0, len, 0]
}

/// MODE SELECT(10) with PF = 1.
pub fn mode_select_10(len: u16, save: bool) -> [u8; 10] {
    let l = len.to_be_bytes();
    [
        MODE_SELECT_10,
        0x10 | u8::from(save),
        0,
        0,
        0,
        0,
        0,
        l[0],
        l[1],
        0,
    ]
}

/// Short block descriptor of a sequential-access device (SSC-4 8.3.2 / SPC-4 7.5.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockDescriptor {
    pub density_code: u8,
    /// Number of blocks (24 bits; 0 for tape = all remaining).
    pub number_of_blocks: u32,
    /// Block length (24 bits; 0 = variable-block mode on tape).
    pub block_length: u32,
}

impl BlockDescriptor {
    fn decode(b: &[u8]) -> Result<BlockDescriptor, DecodeError> {
        Ok(BlockDescriptor {
            density_code: u8_at(b, 0, "block descriptor")?,
            number_of_blocks: be24(b, 1, "block descriptor")?,
            block_length: be24(b, 5, "block descriptor")?,
        })
    }

    fn encode(&self) -> [u8; 8] {
        let n = self.number_of_blocks.to_be_bytes();
        let l = self.block_length.to_be_bytes();
        [self.density_code, n[1], n[2], n[3], 0, l[1], l[2], l[3]]
    }
}

/// One mode page (SPC-4 7.5.7): page code, optional subpage, parameter bytes after the page
/// header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModePage {
    pub code: u8,
    /// `Some` for sub-page format (SPF = 1).
    pub subpage: Option<u8>,
    /// Parameters saveable (PS); must be zero in MODE SELECT, which [`ModeData::encode_6`]
    /// and [`ModeData::encode_10`] ensure.
    pub ps: bool,
    /// Bytes after the page header (the page length's worth).
    pub data: Vec<u8>,
}

impl ModePage {
    pub fn new(code: u8, data: Vec<u8>) -> ModePage {
        ModePage {
            code,
            subpage: None,
            ps: false,
            data,
        }
    }

    /// Byte `i` of the page as the standard numbers it (header included: data starts at 2,
    /// or 4 for sub-pages); 0 when absent.
    pub fn byte(&self, i: usize) -> u8 {
        let hdr = if self.subpage.is_some() { 4 } else { 2 };
        i.checked_sub(hdr)
            .and_then(|j| self.data.get(j))
            .copied()
            .unwrap_or(0)
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        // PS is reserved in MODE SELECT (SPC-4 7.5.7): always write it cleared.
        match self.subpage {
            None => {
                out.push(self.code & 0x3f);
                out.push(self.data.len().min(0xff) as u8);
                out.extend_from_slice(&self.data[..self.data.len().min(0xff)]);
            }
            Some(sp) => {
                out.push(0x40 | (self.code & 0x3f));
                out.push(sp);
                let n = self.data.len().min(0xffff);
                out.extend_from_slice(&(n as u16).to_be_bytes());
                out.extend_from_slice(&self.data[..n]);
            }
        }
    }
}

/// A MODE SENSE response, or the parameter list of a MODE SELECT.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ModeData {
    pub medium_type: u8,
    /// Device-specific parameter (SSC-4 8.3.1: WP bit 7, BUFFERED MODE bits 6–4, SPEED 3–0).
    pub device_specific: u8,
    pub block_descriptors: Vec<BlockDescriptor>,
    pub pages: Vec<ModePage>,
}

impl ModeData {
    /// Write protected (SSC-4 device-specific parameter WP).
    pub fn write_protected(&self) -> bool {
        self.device_specific & 0x80 != 0
    }

    /// Buffered mode field (1 = buffered writes, the usual setting).
    pub fn buffered_mode(&self) -> u8 {
        (self.device_specific >> 4) & 0x07
    }

    pub fn page(&self, code: u8) -> Option<&ModePage> {
        self.pages
            .iter()
            .find(|p| p.code == code && p.subpage.is_none())
    }

    pub fn page_mut(&mut self, code: u8) -> Option<&mut ModePage> {
        self.pages
            .iter_mut()
            .find(|p| p.code == code && p.subpage.is_none())
    }

    /// Decode a MODE SENSE(6) response (4-byte header).
    pub fn decode_6(buf: &[u8]) -> Result<ModeData, DecodeError> {
        let h = slice(buf, 0, 4, "mode parameter header(6)")?;
        let total = (h[0] as usize + 1).min(buf.len());
        Self::decode_body(&buf[..total.max(4)], 4, h[1], h[2], h[3] as usize)
    }

    /// Decode a MODE SENSE(10) response (8-byte header).
    pub fn decode_10(buf: &[u8]) -> Result<ModeData, DecodeError> {
        let h = slice(buf, 0, 8, "mode parameter header(10)")?;
        let total = (be16(h, 0, "mode data length")? as usize + 2).min(buf.len());
        if h[4] & 0x01 != 0 {
            return Err(DecodeError::invalid(
                "mode parameter header(10)",
                "long LBA block descriptors are not used by tape devices",
            ));
        }
        let bdl = be16(h, 6, "block descriptor length")? as usize;
        Self::decode_body(&buf[..total.max(8)], 8, h[2], h[3], bdl)
    }

    fn decode_body(
        buf: &[u8],
        hdr: usize,
        medium_type: u8,
        device_specific: u8,
        bd_len: usize,
    ) -> Result<ModeData, DecodeError> {
        let bd = slice(buf, hdr, bd_len, "block descriptors")?;
        let block_descriptors = bd
            .chunks_exact(8)
            .map(BlockDescriptor::decode)
            .collect::<Result<Vec<_>, _>>()?;
        let mut pages = Vec::new();
        let mut at = hdr + bd_len;
        while at + 2 <= buf.len() {
            let b0 = buf[at];
            let spf = b0 & 0x40 != 0;
            let (subpage, len, data_at) = if spf {
                if at + 4 > buf.len() {
                    break;
                }
                (
                    Some(buf[at + 1]),
                    be16(buf, at + 2, "sub-page length")? as usize,
                    at + 4,
                )
            } else {
                (None, buf[at + 1] as usize, at + 2)
            };
            // A page cut short by the allocation length keeps what arrived.
            let end = (data_at + len).min(buf.len());
            pages.push(ModePage {
                code: b0 & 0x3f,
                subpage,
                ps: b0 & 0x80 != 0,
                data: buf[data_at..end].to_vec(),
            });
            at = data_at + len;
        }
        Ok(ModeData {
            medium_type,
            device_specific,
            block_descriptors,
            pages,
        })
    }

    fn encode_tail(&self, out: &mut Vec<u8>) {
        for bd in &self.block_descriptors {
            out.extend_from_slice(&bd.encode());
        }
        for p in &self.pages {
            p.encode_into(out);
        }
    }

    /// MODE SELECT(6) parameter list. The mode data length is reserved (0) in MODE SELECT and
    /// the WP bit of the device-specific parameter is ignored by devices, so both are cleared.
    pub fn encode_6(&self) -> Vec<u8> {
        let mut out = vec![
            0,
            self.medium_type,
            self.device_specific & 0x7f,
            (self.block_descriptors.len() * 8).min(0xff) as u8,
        ];
        self.encode_tail(&mut out);
        out
    }

    /// MODE SELECT(10) parameter list.
    pub fn encode_10(&self) -> Vec<u8> {
        let bdl = (self.block_descriptors.len() * 8) as u16;
        let b = bdl.to_be_bytes();
        let mut out = vec![
            0,
            0,
            self.medium_type,
            self.device_specific & 0x7f,
            0,
            0,
            b[0],
            b[1],
        ];
        self.encode_tail(&mut out);
        out
    }

    /// Response form of [`ModeData::encode_6`] (mode data length filled in), for the
    /// simulator and tests.
    pub fn encode_sense_6(&self) -> Vec<u8> {
        let mut out = self.encode_6();
        out[0] = (out.len() - 1).min(0xff) as u8;
        out[2] = self.device_specific;
        out
    }

    /// Response form of [`ModeData::encode_10`].
    pub fn encode_sense_10(&self) -> Vec<u8> {
        let mut out = self.encode_10();
        let n = ((out.len() - 2).min(0xffff) as u16).to_be_bytes();
        out[0] = n[0];
        out[1] = n[1];
        out[3] = self.device_specific;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// IBM LTO-8 MODE SENSE(6) of page 0Fh with one block descriptor (density 5Eh, variable).
    fn ibm_sense6() -> Vec<u8> {
        let mut b = vec![0, 0, 0x10, 8, 0x5e, 0, 0, 0, 0, 0, 0, 0];
        b.extend_from_slice(&[0x8f, 0x0e, 0xc0, 0x80, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0]);
        b[0] = (b.len() - 1) as u8;
        b
    }

    #[test]
    fn sense6_with_descriptor_and_page() {
        let m = ModeData::decode_6(&ibm_sense6()).unwrap();
        assert_eq!(m.block_descriptors.len(), 1);
        assert_eq!(m.block_descriptors[0].density_code, 0x5e);
        assert_eq!(m.block_descriptors[0].block_length, 0);
        assert_eq!(m.buffered_mode(), 1);
        assert!(!m.write_protected());
        let p = m.page(0x0f).unwrap();
        assert!(p.ps);
        assert_eq!(p.data.len(), 14);
        assert_eq!(p.byte(2), 0xc0);
    }

    #[test]
    fn select_clears_ps_and_length() {
        let m = ModeData::decode_6(&ibm_sense6()).unwrap();
        let sel = m.encode_6();
        assert_eq!(sel[0], 0);
        assert_eq!(sel[12], 0x0f, "PS cleared");
        assert_eq!(sel.len(), ibm_sense6().len());
        let sel10 = m.encode_10();
        assert_eq!(&sel10[..8], &[0, 0, 0, 0x10, 0, 0, 0, 8]);
    }

    #[test]
    fn sense10_hp_style_no_descriptor() {
        // HP LTO drives answer MODE SENSE(10) with DBD: header then page 10h.
        let mut b = vec![0, 0, 0, 0x10, 0, 0, 0, 0];
        b.extend_from_slice(&[0x90, 0x0e, 0, 0, 0, 0, 0, 0, 0x00, 0, 0x18, 0, 0, 0, 1, 0]);
        let n = (b.len() - 2) as u16;
        b[0..2].copy_from_slice(&n.to_be_bytes());
        let m = ModeData::decode_10(&b).unwrap();
        assert!(m.block_descriptors.is_empty());
        assert_eq!(m.page(0x10).unwrap().byte(10), 0x18);
    }

    #[test]
    fn truncated_and_subpage() {
        // Length claims more than arrived; sub-page header too.
        let b = [40, 0, 0, 0, 0x51, 0x01, 0x00, 0x04, 1, 2];
        let m = ModeData::decode_6(&b).unwrap();
        assert_eq!(m.pages[0].subpage, Some(1));
        assert_eq!(m.pages[0].data, vec![1, 2]);
        assert!(ModeData::decode_6(&[3, 0, 0, 16, 0]).is_err());
    }

    #[test]
    fn cdbs() {
        assert_eq!(
            mode_sense_6(0x0f, 0, PageControl::Current, false, 0xff),
            [0x1a, 0, 0x0f, 0, 0xff, 0]
        );
        assert_eq!(
            mode_sense_10(0x11, 0, PageControl::Changeable, true, 0x100),
            [0x5a, 0x08, 0x51, 0, 0, 0, 0, 1, 0, 0]
        );
        assert_eq!(mode_select_6(28, false), [0x15, 0x10, 0, 0, 28, 0]);
        assert_eq!(
            mode_select_10(28, true),
            [0x55, 0x11, 0, 0, 0, 0, 0, 0, 28, 0]
        );
    }

    fn arb_mode() -> impl Strategy<Value = ModeData> {
        (
            any::<u8>(),
            any::<u8>(),
            proptest::collection::vec((any::<u8>(), 0u32..1 << 24, 0u32..1 << 24), 0..2),
            proptest::collection::vec(
                (
                    0u8..0x3f,
                    proptest::option::of(any::<u8>()),
                    proptest::collection::vec(any::<u8>(), 0..30),
                ),
                0..4,
            ),
        )
            .prop_map(|(mt, ds, bds, pages)| ModeData {
                medium_type: mt,
                device_specific: ds,
                block_descriptors: bds
                    .into_iter()
                    .map(|(d, n, l)| BlockDescriptor {
                        density_code: d,
                        number_of_blocks: n,
                        block_length: l,
                    })
                    .collect(),
                pages: pages
                    .into_iter()
                    .map(|(code, subpage, data)| ModePage {
                        code,
                        subpage,
                        ps: false,
                        data,
                    })
                    .collect(),
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]
        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = ModeData::decode_6(&b);
            let _ = ModeData::decode_10(&b);
        }

        #[test]
        fn round_trip(m in arb_mode()) {
            prop_assert_eq!(ModeData::decode_6(&m.encode_sense_6()).unwrap(), m.clone());
            prop_assert_eq!(ModeData::decode_10(&m.encode_sense_10()).unwrap(), m);
        }
    }
}
