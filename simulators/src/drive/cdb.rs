//! CDB shape checks: length by operation code group and reserved bits per command.
//!
//! Each supported command has a mask per CDB byte (from byte 1 to the byte before CONTROL)
//! of the bits it defines; any other bit set is ILLEGAL REQUEST, INVALID FIELD IN CDB (24/00)
//! with a field pointer at that byte and bit (SPC-4 4.5.2.4.2). In CONTROL (SAM-5) only
//! the vendor-specific bits 7-6 may be set: NACA and LINK are not supported.

use tapelib_scsi::transport::Completion;

use crate::sense::{invalid_cdb_field, invalid_opcode};

/// CDB length of an operation code's group (SPC-4 4.2.5.1), `None` for reserved or
/// vendor-specific groups.
pub fn cdb_length(opcode: u8) -> Option<usize> {
    match opcode >> 5 {
        0 => Some(6),
        1 | 2 => Some(10),
        4 => Some(16),
        5 => Some(12),
        _ => None,
    }
}

/// Defined bits of bytes 1..len-1 (all but the operation code and CONTROL) for each supported
/// command; `None` for unsupported operation codes.
pub fn defined_bits(opcode: u8) -> Option<&'static [u8]> {
    masks(opcode)
}

fn masks(opcode: u8) -> Option<&'static [u8]> {
    Some(match opcode {
        0x00 => &[0, 0, 0, 0],                                  // TEST UNIT READY
        0x01 => &[0x01, 0, 0, 0],                               // REWIND: IMMED
        0x03 => &[0x01, 0, 0, 0xFF], // REQUEST SENSE: DESC, allocation length
        0x04 => &[0x03, 0x0F, 0xFF, 0xFF], // FORMAT MEDIUM: VERIFY, IMMED, FORMAT, length
        0x05 => &[0x01, 0, 0, 0],    // READ BLOCK LIMITS: MLOI
        0x08 => &[0x03, 0xFF, 0xFF, 0xFF], // READ(6): SILI, FIXED, transfer length
        0x0A => &[0x01, 0xFF, 0xFF, 0xFF], // WRITE(6): FIXED, transfer length
        0x0B => &[0x01, 0, 0xFF, 0xFF], // SET CAPACITY: IMMED, proportion
        0x10 => &[0x03, 0xFF, 0xFF, 0xFF], // WRITE FILEMARKS(6): WSMK, IMMED, count
        0x11 => &[0x0F, 0xFF, 0xFF, 0xFF], // SPACE(6): CODE, count
        0x12 => &[0x01, 0xFF, 0xFF, 0xFF], // INQUIRY: EVPD, page, allocation length
        0x15 => &[0x11, 0, 0, 0xFF], // MODE SELECT(6): PF, SP, length
        0x16 | 0x17 => &[0, 0, 0, 0], // RESERVE(6) / RELEASE(6)
        0x19 => &[0x03, 0, 0, 0],    // ERASE(6): IMMED, LONG
        0x1A => &[0x08, 0xFF, 0xFF, 0xFF], // MODE SENSE(6): DBD, PC/page, subpage, length
        0x1B => &[0x01, 0, 0, 0x0F], // LOAD UNLOAD: IMMED; HOLD, EOT, RETEN, LOAD
        0x1E => &[0, 0, 0, 0x03],    // PREVENT ALLOW MEDIUM REMOVAL
        0x2B => &[0x07, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0xFF], // LOCATE(10): BT, CP, IMMED
        0x34 => &[0x1F, 0, 0, 0, 0, 0, 0xFF, 0xFF], // READ POSITION: service action, length
        0x44 => &[0x03, 0, 0, 0, 0, 0, 0xFF, 0xFF], // REPORT DENSITY SUPPORT: MEDIUM TYPE, MEDIA
        0x4D => &[0x03, 0xFF, 0xFF, 0, 0xFF, 0xFF, 0xFF, 0xFF], // LOG SENSE
        0x55 => &[0x11, 0, 0, 0, 0, 0, 0xFF, 0xFF], // MODE SELECT(10)
        0x5A => &[0x18, 0xFF, 0xFF, 0, 0, 0, 0xFF, 0xFF], // MODE SENSE(10): LLBAA, DBD
        0x82 => &[
            0, 0x0F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0,
        ], // ALLOW OVERWRITE
        0x8C => &[
            0x1F, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01,
        ], // READ ATTRIBUTE
        0x8D => &[
            0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0xFF, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0,
        ], // WRITE ATTRIBUTE
        0x91 => &[
            0x0F, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0,
        ], // SPACE(16)
        0x92 => &[
            0x3B, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0,
        ], // LOCATE(16)
        0xA0 => &[0, 0xFF, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0], // REPORT LUNS
        _ => return None,
    })
}

/// Checks the CDB's length, reserved bits and CONTROL byte. On success `cdb` is at least as
/// long as the command's group requires, so handlers may index it directly.
pub fn validate(cdb: &[u8], offered: usize) -> Result<(), Completion> {
    let Some(&opcode) = cdb.first() else {
        return Err(invalid_opcode(offered));
    };
    let (Some(len), Some(mask)) = (cdb_length(opcode), masks(opcode)) else {
        return Err(invalid_opcode(offered));
    };
    if cdb.len() < len {
        // A truncated CDB: point at the first missing byte's predecessor, the last one given.
        return Err(invalid_cdb_field((cdb.len() - 1) as u16, None, offered));
    }
    for (i, (&b, &m)) in cdb[1..len - 1].iter().zip(mask).enumerate() {
        let bad = b & !m;
        if bad != 0 {
            let bit = 7 - bad.leading_zeros() as u8;
            return Err(invalid_cdb_field((i + 1) as u16, Some(bit), offered));
        }
    }
    let control = cdb[len - 1];
    if control & 0x3F != 0 {
        let bad = control & 0x3F;
        let bit = 7 - bad.leading_zeros() as u8;
        return Err(invalid_cdb_field((len - 1) as u16, Some(bit), offered));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sense::key_asc_ascq;

    #[test]
    fn mask_lengths_match_groups() {
        for op in 0..=255u8 {
            if let (Some(len), Some(m)) = (cdb_length(op), masks(op)) {
                assert_eq!(m.len(), len - 2, "opcode {op:#04x}");
            }
        }
    }

    #[test]
    fn reserved_bit_pointer() {
        let e = validate(&[0x00, 0x20, 0, 0, 0, 0], 0).unwrap_err();
        assert_eq!(key_asc_ascq(&e.sense), Some((5, 0x24, 0)));
        assert_eq!(e.sense[15], 0x80 | 0x40 | 0x08 | 5);
        assert_eq!(&e.sense[16..18], &[0, 1]);
        let e = validate(&[0x00, 0, 0, 0, 0, 0x01], 0).unwrap_err();
        assert_eq!(&e.sense[16..18], &[0, 5]);
        assert!(validate(&[0x00, 0, 0, 0, 0, 0xC0], 0).is_ok());
        let e = validate(&[0xFF, 0, 0, 0, 0, 0], 0).unwrap_err();
        assert_eq!(key_asc_ascq(&e.sense), Some((5, 0x20, 0)));
        let e = validate(&[0x08, 0], 0).unwrap_err();
        assert_eq!(key_asc_ascq(&e.sense), Some((5, 0x24, 0)));
        assert!(validate(&[], 0).is_err());
    }
}
