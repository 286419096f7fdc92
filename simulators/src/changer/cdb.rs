//! Reading CDB fields without trusting the CDB's length.

/// CDB length implied by the operation code's group (SPC-4 4.2.5.1); `None` for groups with
/// vendor-specific or variable lengths, which the changer does not implement.
pub(crate) fn cdb_length(opcode: u8) -> Option<usize> {
    match opcode >> 5 {
        0 => Some(6),
        1 | 2 => Some(10),
        4 => Some(16),
        5 => Some(12),
        _ => None,
    }
}

/// Byte `i` of the CDB, 0 when absent.
pub(crate) fn byte(cdb: &[u8], i: usize) -> u8 {
    cdb.get(i).copied().unwrap_or(0)
}

/// Big-endian 16-bit field at `i`.
pub(crate) fn be16(cdb: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([byte(cdb, i), byte(cdb, i + 1)])
}

/// Big-endian 24-bit field at `i`.
pub(crate) fn be24(cdb: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([0, byte(cdb, i), byte(cdb, i + 1), byte(cdb, i + 2)])
}

/// Big-endian 32-bit field at `i`.
pub(crate) fn be32(cdb: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([
        byte(cdb, i),
        byte(cdb, i + 1),
        byte(cdb, i + 2),
        byte(cdb, i + 3),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_by_group() {
        assert_eq!(cdb_length(0x12), Some(6));
        assert_eq!(cdb_length(0x5A), Some(10));
        assert_eq!(cdb_length(0xA5), Some(12));
        assert_eq!(cdb_length(0xB8), Some(12));
        assert_eq!(cdb_length(0x88), Some(16));
        assert_eq!(cdb_length(0x7F), None);
        assert_eq!(cdb_length(0xE0), None);
    }

    #[test]
    fn fields_past_the_end_read_as_zero() {
        let cdb = [0xB8, 0x12, 0x10, 0x00, 0x00];
        assert_eq!(be16(&cdb, 2), 0x1000);
        assert_eq!(be16(&cdb, 4), 0);
        assert_eq!(be24(&cdb, 7), 0);
        assert_eq!(be32(&cdb, 1), 0x1210_0000);
    }
}
