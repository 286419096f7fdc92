//! READ(6), WRITE(6) and WRITE FILEMARKS(6) (SSC-4), fixed and variable mode, with the
//! ILI/FILEMARK/EOM sense and the residues SSC-4 defines for each.

use tapelib_scsi::transport::{Completion, DataPhase};

use super::{medium_error_sense, tapealert, SimDrive};
use crate::cartridge::ObjectKind;
use crate::sense::{invalid_cdb_field, key, SenseBuilder};
use crate::timing::Activity;

fn transfer_length(cdb: &[u8]) -> u64 {
    u64::from(u32::from_be_bytes([0, cdb[2], cdb[3], cdb[4]]))
}

/// Fixed-mode checks shared by READ and WRITE: FIXED needs a block length from MODE SELECT.
fn fixed_block_length(
    drive: &SimDrive,
    cdb: &[u8],
    offered: usize,
) -> Result<Option<u64>, Completion> {
    if cdb[1] & 0x01 == 0 {
        return Ok(None);
    }
    if drive.block_length == 0 {
        return Err(invalid_cdb_field(1, Some(0), offered));
    }
    Ok(Some(u64::from(drive.block_length)))
}

pub(crate) fn read(drive: &mut SimDrive, cdb: &[u8], data: DataPhase<'_>) -> Completion {
    let offered = data.len();
    let sili = cdb[1] & 0x02 != 0;
    let fixed = match fixed_block_length(drive, cdb, offered) {
        Ok(f) => f,
        Err(c) => return c,
    };
    if fixed.is_some() && sili {
        // SILI with FIXED is not supported (SSC-4, READ(6)).
        return invalid_cdb_field(1, Some(1), offered);
    }
    let count = transfer_length(cdb);
    if let Err(c) = drive.check_ready(offered) {
        return c;
    }
    let DataPhase::In(buf) = data else {
        if count == 0 {
            return Completion::good(offered, 0);
        }
        // A read with nothing to receive the data: treat as a zero-byte buffer.
        return read_into(drive, &mut [], offered, count, fixed, sili);
    };
    read_into(drive, buf, offered, count, fixed, sili)
}

fn read_into(
    drive: &mut SimDrive,
    buf: &mut [u8],
    offered: usize,
    count: u64,
    fixed: Option<u64>,
    sili: bool,
) -> Completion {
    if count == 0 {
        return Completion::good(offered, 0);
    }
    let (records, record_len) = match fixed {
        Some(bl) => (count, bl),
        None => (1, count),
    };
    let gen = drive.spec.generation;
    let mut transferred = 0usize;
    let mut bytes_read = 0u64;
    let mut outcome: Option<SenseBuilder> = None;
    for i in 0..records {
        let p = drive.pos.partition;
        let block = drive.pos.block;
        let Some(cart) = drive.cart.as_mut() else {
            break;
        };
        // Residue for the sense INFORMATION field: blocks (fixed) or bytes (variable) not read.
        let residue = |n: u64| -> i64 { (n.min(u64::from(u32::MAX))) as i64 };
        let remaining = if fixed.is_some() { count - i } else { count };
        let Some(entry) = cart.object(p, block) else {
            // End of data: BLANK CHECK, EOD DETECTED.
            outcome = Some(
                SenseBuilder::new(key::BLANK_CHECK, 0x00, 0x05).information(residue(remaining)),
            );
            break;
        };
        if entry.kind == ObjectKind::Filemark {
            drive.pos.block += 1;
            outcome = Some(
                SenseBuilder::new(key::NO_SENSE, 0x00, 0x01)
                    .filemark()
                    .information(residue(remaining)),
            );
            break;
        }
        if cart.faults().read_errors.contains(&(p, block)) {
            drive.set_alert(tapealert::READ_FAILURE);
            drive.set_alert(tapealert::MEDIA);
            outcome = Some(
                SenseBuilder::new(key::MEDIUM_ERROR, 0x11, 0x00).information(residue(remaining)),
            );
            break;
        }
        let want = record_len.min(usize::MAX as u64) as usize;
        let start = transferred.min(buf.len());
        let end = start.saturating_add(want).min(buf.len());
        let actual = match cart.read_record(p, block, &mut buf[start..end]) {
            Ok(n) => n,
            Err(e) => {
                drive.set_alert(tapealert::HARD_ERROR);
                drive.set_alert(tapealert::READ_FAILURE);
                outcome = Some(medium_error_sense(&e, false).information(residue(remaining)));
                break;
            }
        };
        let moved = actual.min(end - start);
        transferred += moved;
        bytes_read += moved as u64;
        drive.pos.block += 1;
        drive.stats.records_read += 1;
        let actual = actual as u64;
        if actual != record_len {
            match fixed {
                Some(_) => {
                    // Incorrect length in fixed mode: blocks not read, not counting this one.
                    outcome = Some(
                        SenseBuilder::new(key::NO_SENSE, 0, 0)
                            .ili()
                            .information(residue(count - i - 1)),
                    );
                    break;
                }
                None => {
                    // Underlength with SILI is not reported; overlength always is, with a
                    // negative residue (SSC-4, READ(6)).
                    if !(sili && actual < record_len) {
                        let diff = record_len as i64 - actual.min(i64::MAX as u64) as i64;
                        outcome = Some(
                            SenseBuilder::new(key::NO_SENSE, 0, 0)
                                .ili()
                                .information(diff),
                        );
                    }
                }
            }
        }
    }
    drive.stats.bytes_read += bytes_read;
    let secs = drive.timing.transfer_seconds(gen, bytes_read);
    drive.busy(Activity::Read, secs, false);
    match outcome {
        Some(s) => s.check_after(offered, transferred),
        None => Completion::good(offered, transferred),
    }
}

/// Early warning and overflow accounting before writing `len` bytes.
enum Room {
    Fits { early_warning: bool },
    Overflow,
}

fn room_for(drive: &SimDrive, len: u64) -> Room {
    let Some(c) = drive.cart.as_ref() else {
        return Room::Overflow;
    };
    let p = drive.pos.partition;
    // A write replaces everything after the current position.
    let base = c.space_used_before(p, drive.pos.block);
    let after = base.saturating_add(len);
    if after > c.effective_capacity(p) {
        Room::Overflow
    } else {
        Room::Fits {
            early_warning: after >= c.early_warning_at(p),
        }
    }
}

pub(crate) fn write(drive: &mut SimDrive, cdb: &[u8], data: DataPhase<'_>) -> Completion {
    let offered = data.len();
    let fixed = match fixed_block_length(drive, cdb, offered) {
        Ok(f) => f,
        Err(c) => return c,
    };
    let count = transfer_length(cdb);
    if fixed.is_none() && count > u64::from(super::inquiry::MAX_BLOCK_LENGTH) {
        // Beyond the maximum block length READ BLOCK LIMITS reports.
        return invalid_cdb_field(2, None, offered);
    }
    if let Err(c) = drive.check_ready(offered) {
        return c;
    }
    if let Err(c) = drive.check_writable(offered) {
        return c;
    }
    if count == 0 {
        return Completion::good(offered, 0);
    }
    let src: &[u8] = match &data {
        DataPhase::Out(b) => b,
        _ => &[],
    };
    let (records, record_len) = match fixed {
        Some(bl) => (count, bl),
        None => (1, count),
    };
    let needed = records.saturating_mul(record_len);
    if (src.len() as u64) < needed {
        // The data-out phase is shorter than the CDB's transfer length.
        return SenseBuilder::new(key::ILLEGAL_REQUEST, 0x24, 0x00)
            .cdb_field(2, None)
            .check(offered);
    }
    let gen = drive.spec.generation;
    let mut written = 0u64;
    let mut outcome: Option<SenseBuilder> = None;
    let residue = |n: u64| -> i64 { (n.min(u64::from(u32::MAX))) as i64 };
    for i in 0..records {
        let remaining = if fixed.is_some() { count - i } else { count };
        let early_warning = match room_for(drive, record_len) {
            Room::Overflow => {
                // VOLUME OVERFLOW, EOM: nothing of this record was written.
                outcome = Some(
                    SenseBuilder::new(key::VOLUME_OVERFLOW, 0x00, 0x02)
                        .eom()
                        .information(residue(remaining)),
                );
                break;
            }
            Room::Fits { early_warning } => early_warning,
        };
        let p = drive.pos.partition;
        let block = drive.pos.block;
        let Some(cart) = drive.cart.as_mut() else {
            break;
        };
        if cart.faults().write_errors.contains(&(p, block)) {
            drive.set_alert(tapealert::WRITE_FAILURE);
            drive.set_alert(tapealert::MEDIA);
            outcome = Some(
                SenseBuilder::new(key::MEDIUM_ERROR, 0x0C, 0x00).information(residue(remaining)),
            );
            break;
        }
        let start = (i * record_len) as usize;
        let rec = &src[start..start + record_len as usize];
        if let Err(e) = cart.write_record(p, block, rec) {
            drive.set_alert(tapealert::WRITE_FAILURE);
            outcome = Some(medium_error_sense(&e, true).information(residue(remaining)));
            break;
        }
        drive.pos.block += 1;
        drive.stats.records_written += 1;
        written += record_len;
        if early_warning && i + 1 == records {
            // Early warning: the write succeeded; report EOM with NO SENSE 00/02.
            outcome = Some(
                SenseBuilder::new(key::NO_SENSE, 0x00, 0x02)
                    .eom()
                    .information(0),
            );
        }
    }
    drive.stats.bytes_written += written;
    let secs = drive.timing.transfer_seconds(gen, written);
    drive.busy(Activity::Write, secs, false);
    match outcome {
        Some(s) => s.check_after(offered, written as usize),
        None => Completion::good(offered, written as usize),
    }
}

pub(crate) fn write_filemarks(drive: &mut SimDrive, cdb: &[u8], offered: usize) -> Completion {
    let immed = cdb[1] & 0x01 != 0;
    if cdb[1] & 0x02 != 0 {
        // Setmarks are not supported by LTO.
        return invalid_cdb_field(1, Some(1), offered);
    }
    let count = transfer_length(cdb);
    if let Err(c) = drive.check_ready(offered) {
        return c;
    }
    if let Err(c) = drive.check_writable(offered) {
        return c;
    }
    let room = count.saturating_mul(crate::cartridge::FILEMARK_SPACE);
    let early_warning = match room_for(drive, room) {
        Room::Overflow => {
            return SenseBuilder::new(key::VOLUME_OVERFLOW, 0x00, 0x02)
                .eom()
                .information(count as i64)
                .check(offered)
        }
        Room::Fits { early_warning } => early_warning,
    };
    let p = drive.pos.partition;
    let block = drive.pos.block;
    let Some(cart) = drive.cart.as_mut() else {
        return SenseBuilder::new(key::NOT_READY, 0x3A, 0).check(offered);
    };
    if count > 0 {
        if let Err(e) = cart.write_filemarks(p, block, count) {
            return medium_error_sense(&e, true)
                .information(count as i64)
                .check(offered);
        }
    }
    // Without IMMED, everything written so far is on the medium when the command returns.
    let sync = if immed { cart.flush() } else { cart.sync() };
    if let Err(e) = sync {
        return medium_error_sense(&e, true).check(offered);
    }
    drive.pos.block += count;
    drive.stats.filemarks_written += count;
    if early_warning && count > 0 {
        return SenseBuilder::new(key::NO_SENSE, 0x00, 0x02)
            .eom()
            .information(0)
            .check(offered);
    }
    Completion::good(offered, 0)
}
