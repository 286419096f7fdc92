//! READ BLOCK LIMITS data (SSC-4 7.7.2).

use crate::decode::{be16, be24, slice, DecodeError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockLimits {
    /// Supported block lengths are multiples of 2^granularity.
    pub granularity: u8,
    pub max_block_length: u32,
    pub min_block_length: u16,
}

impl BlockLimits {
    pub fn decode(buf: &[u8]) -> Result<BlockLimits, DecodeError> {
        let b = slice(buf, 0, 6, "READ BLOCK LIMITS data")?;
        Ok(BlockLimits {
            granularity: b[0] & 0x1f,
            max_block_length: be24(b, 1, "maximum block length")?,
            min_block_length: be16(b, 4, "minimum block length")?,
        })
    }

    pub fn encode(&self) -> [u8; 6] {
        let m = self.max_block_length.to_be_bytes();
        let n = self.min_block_length.to_be_bytes();
        [self.granularity & 0x1f, m[1], m[2], m[3], n[0], n[1]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lto_limits() {
        // IBM LTO: 8 MiB maximum, 1 byte minimum.
        let l = BlockLimits::decode(&[0, 0x80, 0, 0, 0, 1]).unwrap();
        assert_eq!(l.max_block_length, 0x800000);
        assert_eq!(l.min_block_length, 1);
        assert!(BlockLimits::decode(&[0; 5]).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]
        #[test]
        fn round_trip(g in 0u8..32, max in 0u32..1 << 24, min: u16) {
            let l = BlockLimits { granularity: g, max_block_length: max, min_block_length: min };
            prop_assert_eq!(BlockLimits::decode(&l.encode()).unwrap(), l);
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..10)) {
            let _ = BlockLimits::decode(&b);
        }
    }
}
