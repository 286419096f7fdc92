//! Medium handling and positioning (SSC-4): LOAD UNLOAD, REWIND, SPACE(6/16), LOCATE(10/16),
//! READ POSITION, ERASE, FORMAT MEDIUM, SET CAPACITY and ALLOW OVERWRITE.

use tapelib_scsi::transport::{Completion, DataPhase};

use super::{medium_error_sense, MediumState, Position, SimDrive};
use crate::cartridge::ObjectKind;
use crate::sense::{invalid_cdb_field, key, SenseBuilder};
use crate::timing::Activity;

/// Modeled seconds of a FORMAT MEDIUM (partitioning rewrites the housekeeping data).
const FORMAT_SECONDS: f64 = 60.0;

fn clamp_info(v: u64) -> i64 {
    v.min(u64::from(u32::MAX)) as i64
}

pub(crate) fn load_unload(drive: &mut SimDrive, cdb: &[u8], offered: usize) -> Completion {
    let immed = cdb[1] & 0x01 != 0;
    let load = cdb[4] & 0x01 != 0;
    if load && cdb[4] & 0x04 != 0 {
        // EOT together with LOAD is invalid (SSC-4, LOAD UNLOAD).
        return invalid_cdb_field(4, Some(2), offered);
    }
    if drive.faults.hardware_failure {
        return SenseBuilder::new(key::HARDWARE_ERROR, 0x44, 0x00).check(offered);
    }
    let gen = drive.spec.generation;
    match (drive.state, load) {
        (MediumState::Empty, _) => SenseBuilder::new(key::NOT_READY, 0x3A, 0x00).check(offered),
        (MediumState::Loaded, true) => {
            if let Err(c) = drive.check_ready(offered) {
                return c;
            }
            drive.move_to(Position::default(), Activity::Rewind, immed);
            Completion::good(offered, 0)
        }
        (MediumState::Ejected, true) => {
            if let Some((k, asc, ascq)) = drive.refused {
                return SenseBuilder::new(k, asc, ascq).check(offered);
            }
            // The modeled time is on the cartridge before its metadata is saved.
            let secs = drive.timing.load_seconds(gen);
            drive.busy(Activity::Load, secs, immed);
            if let Some(c) = drive.cart.as_mut() {
                if let Err(e) = c.record_load() {
                    drive.ready_at = None;
                    return medium_error_sense(&e, false).check(offered);
                }
            }
            drive.stats.loads += 1;
            drive.state = MediumState::Loaded;
            drive.pos = Position::default();
            Completion::good(offered, 0)
        }
        (MediumState::Ejected, false) => Completion::good(offered, 0),
        (MediumState::Loaded, false) => {
            if drive.prevent_removal {
                // MEDIUM REMOVAL PREVENTED.
                return SenseBuilder::new(key::ILLEGAL_REQUEST, 0x53, 0x02).check(offered);
            }
            drive.move_to(Position::default(), Activity::Rewind, false);
            // Account the unload on drive and cartridge before the cartridge's metadata is
            // made durable, so the cartridge's modeled time survives leaving the drive.
            let secs = drive.timing.unload_seconds(gen);
            drive.busy(Activity::Unload, secs, false);
            if let Some(c) = drive.cart.as_mut() {
                if let Err(e) = c.record_unload() {
                    return medium_error_sense(&e, true).check(offered);
                }
            }
            drive.stats.unloads += 1;
            drive.ready_at = None;
            drive.state = MediumState::Ejected;
            Completion::good(offered, 0)
        }
    }
}

pub(crate) fn rewind(drive: &mut SimDrive, cdb: &[u8], offered: usize) -> Completion {
    if let Err(c) = drive.check_ready(offered) {
        return c;
    }
    // Buffered data reaches the medium before the tape moves (SSC-4 buffered mode).
    if let Some(c) = drive.cart.as_mut() {
        if let Err(e) = c.sync() {
            return medium_error_sense(&e, true).check(offered);
        }
    }
    drive.move_to(Position::default(), Activity::Rewind, cdb[1] & 0x01 != 0);
    Completion::good(offered, 0)
}

pub(crate) fn space(drive: &mut SimDrive, cdb: &[u8], offered: usize) -> Completion {
    let code = cdb[1] & 0x0F;
    let count: i64 = if cdb[0] == 0x11 {
        // 24-bit two's complement count.
        let raw = i32::from_be_bytes([0, cdb[2], cdb[3], cdb[4]]);
        i64::from((raw << 8) >> 8)
    } else {
        if cdb[12] != 0 || cdb[13] != 0 {
            // PARAMETER LENGTH must be zero: no parameter data is defined for LTO.
            return invalid_cdb_field(if cdb[12] != 0 { 12 } else { 13 }, None, offered);
        }
        i64::from_be_bytes([
            cdb[4], cdb[5], cdb[6], cdb[7], cdb[8], cdb[9], cdb[10], cdb[11],
        ])
    };
    if !matches!(code, 0 | 1 | 3) {
        return invalid_cdb_field(1, Some(3), offered);
    }
    if let Err(c) = drive.check_ready(offered) {
        return c;
    }
    let Some(cart) = drive.cart.as_ref() else {
        return SenseBuilder::new(key::NOT_READY, 0x3A, 0).check(offered);
    };
    let p = drive.pos.partition;
    let objs = cart.objects(p);
    let eod = objs.len() as u64;
    let is_fm = |b: u64| {
        objs.get(b as usize)
            .is_some_and(|e| e.kind == ObjectKind::Filemark)
    };
    let mut b = drive.pos.block.min(eod);
    let mut sense: Option<SenseBuilder> = None;
    let n = count.unsigned_abs();
    let mut done = 0u64;
    match (code, count >= 0) {
        (3, _) => b = eod,
        (0, true) => {
            while done < n {
                if b >= eod {
                    sense = Some(
                        SenseBuilder::new(key::BLANK_CHECK, 0x00, 0x05)
                            .information(clamp_info(n - done)),
                    );
                    break;
                }
                b += 1;
                if is_fm(b - 1) {
                    sense = Some(
                        SenseBuilder::new(key::NO_SENSE, 0x00, 0x01)
                            .filemark()
                            .information(clamp_info(n - done)),
                    );
                    break;
                }
                done += 1;
            }
        }
        (0, false) => {
            while done < n {
                if b == 0 {
                    sense = Some(
                        SenseBuilder::new(key::NO_SENSE, 0x00, 0x04)
                            .eom()
                            .information(-clamp_info(n - done)),
                    );
                    break;
                }
                b -= 1;
                if is_fm(b) {
                    sense = Some(
                        SenseBuilder::new(key::NO_SENSE, 0x00, 0x01)
                            .filemark()
                            .information(-clamp_info(n - done)),
                    );
                    break;
                }
                done += 1;
            }
        }
        (1, true) => {
            while done < n {
                if b >= eod {
                    sense = Some(
                        SenseBuilder::new(key::BLANK_CHECK, 0x00, 0x05)
                            .information(clamp_info(n - done)),
                    );
                    break;
                }
                if is_fm(b) {
                    done += 1;
                }
                b += 1;
            }
        }
        _ => {
            while done < n {
                if b == 0 {
                    sense = Some(
                        SenseBuilder::new(key::NO_SENSE, 0x00, 0x04)
                            .eom()
                            .information(-clamp_info(n - done)),
                    );
                    break;
                }
                b -= 1;
                if is_fm(b) {
                    done += 1;
                }
            }
        }
    }
    drive.stats.spaces += 1;
    if let Some(c) = drive.cart.as_mut() {
        c.stats_mut().spaces += 1;
    }
    drive.move_to(
        Position {
            partition: p,
            block: b,
        },
        Activity::Space,
        false,
    );
    match sense {
        Some(s) => s.check(offered),
        None => Completion::good(offered, 0),
    }
}

pub(crate) fn locate(drive: &mut SimDrive, cdb: &[u8], offered: usize) -> Completion {
    let immed = cdb[1] & 0x01 != 0;
    let cp = cdb[1] & 0x02 != 0;
    let (dest_type, partition, id) = if cdb[0] == 0x2B {
        if cdb[1] & 0x04 != 0 {
            // BT (vendor-specific block addresses) is not supported.
            return invalid_cdb_field(1, Some(2), offered);
        }
        (
            0u8,
            cdb[8],
            u64::from(u32::from_be_bytes([cdb[3], cdb[4], cdb[5], cdb[6]])),
        )
    } else {
        let dt = (cdb[1] >> 3) & 0x07;
        if !matches!(dt, 0 | 1 | 3) {
            return invalid_cdb_field(1, Some(5), offered);
        }
        if cdb[2] & 0x01 != 0 {
            // BAM (implicit address mode) is not supported.
            return invalid_cdb_field(2, Some(0), offered);
        }
        (
            dt,
            cdb[3],
            u64::from_be_bytes([
                cdb[4], cdb[5], cdb[6], cdb[7], cdb[8], cdb[9], cdb[10], cdb[11],
            ]),
        )
    };
    if !cp && partition != 0 {
        return invalid_cdb_field(if cdb[0] == 0x2B { 8 } else { 3 }, None, offered);
    }
    if let Err(c) = drive.check_ready(offered) {
        return c;
    }
    let Some(cart) = drive.cart.as_ref() else {
        return SenseBuilder::new(key::NOT_READY, 0x3A, 0).check(offered);
    };
    let p = if cp { partition } else { drive.pos.partition };
    if p >= cart.partition_count() {
        return invalid_cdb_field(if cdb[0] == 0x2B { 8 } else { 3 }, None, offered);
    }
    let objs = cart.objects(p);
    let eod = objs.len() as u64;
    let target = match dest_type {
        0 => Some(id),
        3 => Some(eod),
        _ => {
            // Logical file identifier: the object after the id-th filemark.
            if id == 0 {
                Some(0)
            } else {
                let mut seen = 0u64;
                objs.iter()
                    .position(|e| {
                        if e.kind == ObjectKind::Filemark {
                            seen += 1;
                        }
                        seen == id
                    })
                    .map(|i| i as u64 + 1)
            }
        }
    };
    drive.stats.locates += 1;
    if let Some(c) = drive.cart.as_mut() {
        c.stats_mut().locates += 1;
    }
    match target {
        Some(t) if t <= eod => {
            drive.move_to(
                Position {
                    partition: p,
                    block: t,
                },
                Activity::Locate,
                immed,
            );
            Completion::good(offered, 0)
        }
        _ => {
            drive.move_to(
                Position {
                    partition: p,
                    block: eod,
                },
                Activity::Locate,
                false,
            );
            SenseBuilder::new(key::BLANK_CHECK, 0x00, 0x05).check(offered)
        }
    }
}

pub(crate) fn read_position(drive: &mut SimDrive, cdb: &[u8], data: DataPhase<'_>) -> Completion {
    let offered = data.len();
    let sa = cdb[1] & 0x1F;
    if !matches!(sa, 0x00 | 0x01 | 0x06 | 0x08) {
        return invalid_cdb_field(1, Some(4), offered);
    }
    if let Err(c) = drive.check_ready(offered) {
        return c;
    }
    let Some(cart) = drive.cart.as_ref() else {
        return SenseBuilder::new(key::NOT_READY, 0x3A, 0).check(offered);
    };
    let pos = drive.pos;
    let eod = cart.object_count(pos.partition);
    let bop = pos.block == 0;
    // EOP: between early warning and the end of the partition (SSC-4, READ POSITION).
    let eop =
        pos.block >= eod && cart.space_used(pos.partition) >= cart.early_warning_at(pos.partition);
    let flags = if bop { 0x80 } else { 0 } | if eop { 0x40 } else { 0 };
    let (bytes, alloc) = match sa {
        0x00 | 0x01 => {
            let mut b = vec![0u8; 20];
            b[0] = flags;
            b[1] = pos.partition;
            let blk = pos.block.min(u64::from(u32::MAX)) as u32;
            b[4..8].copy_from_slice(&blk.to_be_bytes());
            b[8..12].copy_from_slice(&blk.to_be_bytes());
            (b, 20)
        }
        0x06 => {
            let mut b = vec![0u8; 32];
            b[0] = flags;
            b[4..8].copy_from_slice(&u32::from(pos.partition).to_be_bytes());
            b[8..16].copy_from_slice(&pos.block.to_be_bytes());
            b[16..24].copy_from_slice(
                &cart
                    .filemarks_before(pos.partition, pos.block)
                    .to_be_bytes(),
            );
            (b, 32)
        }
        _ => {
            let mut b = vec![0u8; 32];
            b[0] = flags;
            b[1] = pos.partition;
            b[2..4].copy_from_slice(&0x1Cu16.to_be_bytes());
            b[8..16].copy_from_slice(&pos.block.to_be_bytes());
            b[16..24].copy_from_slice(&pos.block.to_be_bytes());
            (b, usize::from(u16::from_be_bytes([cdb[7], cdb[8]])))
        }
    };
    super::data_in(data, &bytes, alloc)
}

pub(crate) fn erase(drive: &mut SimDrive, cdb: &[u8], offered: usize) -> Completion {
    let immed = cdb[1] & 0x02 != 0;
    let long = cdb[1] & 0x01 != 0;
    if let Err(c) = drive.check_ready(offered) {
        return c;
    }
    if let Err(c) = drive.check_writable(offered) {
        return c;
    }
    let pos = drive.pos;
    let gen = drive.spec.generation;
    let Some(cart) = drive.cart.as_mut() else {
        return SenseBuilder::new(key::NOT_READY, 0x3A, 0).check(offered);
    };
    let rest = cart.remaining_bytes(pos.partition);
    if let Err(e) = cart.erase_from(pos.partition, pos.block) {
        return medium_error_sense(&e, true).check(offered);
    }
    if long {
        // A long erase runs the tape to the end of the partition at the native rate.
        let secs = drive.timing.transfer_seconds(gen, rest);
        drive.busy(Activity::Erase, secs, immed);
    }
    Completion::good(offered, 0)
}

pub(crate) fn format_medium(drive: &mut SimDrive, cdb: &[u8], offered: usize) -> Completion {
    let immed = cdb[1] & 0x01 != 0;
    let format = cdb[2] & 0x0F;
    if cdb[3] != 0 || cdb[4] != 0 {
        // No format parameter list is defined for LTO.
        return invalid_cdb_field(if cdb[3] != 0 { 3 } else { 4 }, None, offered);
    }
    if format > 2 {
        return invalid_cdb_field(2, Some(3), offered);
    }
    if let Err(c) = drive.check_ready(offered) {
        return c;
    }
    if let Err(c) = drive.check_writable(offered) {
        return c;
    }
    let plan = drive.plan.clone();
    let Some(cart) = drive.cart.as_mut() else {
        return SenseBuilder::new(key::NOT_READY, 0x3A, 0).check(offered);
    };
    let total = cart.spec().total_capacity();
    let sizes = match (format, plan) {
        (0, _) => vec![total],
        (_, Some(p)) => p.sizes,
        // No new partitioning requested: keep the current layout.
        (_, None) => (0..cart.partition_count())
            .map(|p| cart.partition_capacity(p))
            .collect(),
    };
    if let Err(e) = cart.format(&sizes) {
        tracing::warn!(error = %e, "format refused");
        return SenseBuilder::new(key::ILLEGAL_REQUEST, 0x26, 0x00).check(offered);
    }
    drive.plan = None;
    drive.move_to(Position::default(), Activity::Rewind, false);
    drive.busy(Activity::Format, FORMAT_SECONDS, immed);
    Completion::good(offered, 0)
}

pub(crate) fn set_capacity(drive: &mut SimDrive, cdb: &[u8], offered: usize) -> Completion {
    let immed = cdb[1] & 0x01 != 0;
    let proportion = u64::from(u16::from_be_bytes([cdb[3], cdb[4]]));
    if let Err(c) = drive.check_ready(offered) {
        return c;
    }
    if let Err(c) = drive.check_writable(offered) {
        return c;
    }
    if drive.pos != Position::default() {
        // Only at the beginning of partition 0 (SSC-4, SET CAPACITY): COMMAND SEQUENCE ERROR.
        return SenseBuilder::new(key::ILLEGAL_REQUEST, 0x2C, 0x00).check(offered);
    }
    let Some(cart) = drive.cart.as_mut() else {
        return SenseBuilder::new(key::NOT_READY, 0x3A, 0).check(offered);
    };
    let total = cart.spec().total_capacity();
    let cap = ((u128::from(total) * u128::from(proportion) / 65535) as u64).max(total.min(1 << 20));
    if let Err(e) = cart.format(&[cap]) {
        return medium_error_sense(&e, true).check(offered);
    }
    drive.busy(Activity::Format, FORMAT_SECONDS, immed);
    Completion::good(offered, 0)
}

pub(crate) fn allow_overwrite(drive: &mut SimDrive, cdb: &[u8], offered: usize) -> Completion {
    let value = cdb[2] & 0x0F;
    if value > 2 {
        return invalid_cdb_field(2, Some(3), offered);
    }
    if let Err(c) = drive.check_ready(offered) {
        return c;
    }
    if value == 1 {
        let id = u64::from_be_bytes([
            cdb[4], cdb[5], cdb[6], cdb[7], cdb[8], cdb[9], cdb[10], cdb[11],
        ]);
        if cdb[3] != drive.pos.partition {
            return invalid_cdb_field(3, None, offered);
        }
        if id != drive.pos.block {
            return invalid_cdb_field(4, None, offered);
        }
    }
    // The drive does not run in append-only mode, so overwriting is always allowed; the
    // command is validated and accepted.
    Completion::good(offered, 0)
}
