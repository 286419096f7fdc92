//! MODE SENSE / MODE SELECT (6 and 10) with the block descriptor and the pages an LTO drive
//! offers: 0x0F data compression, 0x10 device configuration and 0x11
//! medium partition (SSC-4).

use tapelib_scsi::transport::{Completion, DataPhase};

use super::{data_in, PartitionPlan, SimDrive};
use crate::cartridge::MAX_PARTITIONS;
use crate::sense::{
    invalid_cdb_field, invalid_param_field, key, param_list_length_error, SenseBuilder,
};

/// PARTITION UNITS exponent for a capacity: the smallest of 10^6 / 10^9 that fits 16 bits.
fn partition_units(total: u64) -> u8 {
    if total / 1_000_000 < 0xFFFF {
        6
    } else {
        9
    }
}

fn page_0f(drive: &SimDrive) -> Vec<u8> {
    let mut p = vec![0u8; 16];
    p[0] = 0x0F;
    p[1] = 0x0E;
    p[2] = 0x40 | if drive.compression { 0x80 } else { 0 }; // DCC, DCE
    p[3] = 0x80; // DDE
    p[4..8].copy_from_slice(&1u32.to_be_bytes());
    p[8..12].copy_from_slice(&1u32.to_be_bytes());
    p
}

fn page_10(drive: &SimDrive) -> Vec<u8> {
    let mut p = vec![0u8; 16];
    p[0] = 0x10;
    p[1] = 0x0E;
    p[3] = drive.pos.partition;
    p[10] = 0x18; // EEG, SEW
    p[14] = 0x01; // default compression algorithm
    p
}

fn page_11(drive: &SimDrive) -> Vec<u8> {
    let (count, sizes, total): (u8, Vec<u64>, u64) = match drive.cart.as_ref() {
        Some(c) => {
            let n = c.partition_count();
            (
                n,
                (0..n).map(|p| c.partition_capacity(p)).collect(),
                c.spec().total_capacity(),
            )
        }
        None => (1, vec![0], 0),
    };
    let units = partition_units(total);
    let div = 10u64.pow(u32::from(units));
    let mut p = vec![0u8; 8 + 2 * usize::from(MAX_PARTITIONS)];
    p[0] = 0x11;
    p[1] = (p.len() - 2) as u8;
    p[2] = MAX_PARTITIONS - 1; // maximum additional partitions
    p[3] = count.saturating_sub(1);
    p[4] = 0x18 | if count > 1 { 0x20 } else { 0 }; // PSUM 11b, IDP when partitioned
    p[5] = 0x03; // format and partition recognition
    p[6] = units;
    for (i, s) in sizes.iter().enumerate().take(usize::from(MAX_PARTITIONS)) {
        let v = (s / div).min(0xFFFF) as u16;
        p[8 + 2 * i..10 + 2 * i].copy_from_slice(&v.to_be_bytes());
    }
    p
}

pub(crate) fn mode_sense(drive: &mut SimDrive, cdb: &[u8], data: DataPhase<'_>) -> Completion {
    let ten = cdb[0] == 0x5A;
    let dbd = cdb[1] & 0x08 != 0;
    let pc = cdb[2] >> 6;
    let page = cdb[2] & 0x3F;
    let subpage = cdb[3];
    let alloc = if ten {
        usize::from(u16::from_be_bytes([cdb[7], cdb[8]]))
    } else {
        usize::from(cdb[4])
    };
    let offered = data.len();
    if pc == 3 {
        // Saved values are not supported: SAVING PARAMETERS NOT SUPPORTED (SPC-4).
        return SenseBuilder::new(key::ILLEGAL_REQUEST, 0x39, 0x00).check(offered);
    }
    if subpage != 0 && !(subpage == 0xFF && page == 0x3F) {
        return invalid_cdb_field(3, None, offered);
    }
    let mut pages = Vec::new();
    let mut add = |p: Vec<u8>| {
        if pc == 1 {
            // Changeable values: which bits MODE SELECT may change.
            let mut m = vec![0u8; p.len()];
            m[0] = p[0];
            m[1] = p[1];
            match p[0] {
                0x0F => m[2] = 0x80,
                0x11 => {
                    m[3] = 0xFF;
                    m[4] = 0xFC;
                    for b in m.iter_mut().skip(8) {
                        *b = 0xFF;
                    }
                }
                _ => {}
            }
            pages.extend_from_slice(&m);
        } else {
            pages.extend_from_slice(&p);
        }
    };
    match page {
        0x0F => add(page_0f(drive)),
        0x10 => add(page_10(drive)),
        0x11 => add(page_11(drive)),
        0x3F => {
            add(page_0f(drive));
            add(page_10(drive));
            add(page_11(drive));
        }
        0x00 => {}
        _ => return invalid_cdb_field(2, Some(5), offered),
    }
    let (density, wp) = match drive.cart.as_ref() {
        Some(c) if drive.state == super::MediumState::Loaded => (
            c.kind().density_code(),
            c.write_protected() || !crate::media::can_write(drive.spec.generation, c.kind()),
        ),
        _ => (0, false),
    };
    let mut bd = Vec::new();
    if !dbd {
        bd = vec![0u8; 8];
        bd[0] = if pc == 1 { 0 } else { density };
        let bl = if pc == 1 {
            0xFF_FFFF
        } else {
            drive.block_length
        };
        bd[5..8].copy_from_slice(&bl.to_be_bytes()[1..]);
    }
    // Device-specific parameter: WP, buffered mode 1 (SSC-4).
    let dsp = if wp { 0x80 } else { 0 } | 0x10;
    let medium_type = drive
        .cart
        .as_ref()
        .map_or(0, |c| c.kind().medium_type_code());
    let mut out = if ten {
        let mut h = vec![0u8; 8];
        h[2] = medium_type;
        h[3] = dsp;
        h[6..8].copy_from_slice(&(bd.len() as u16).to_be_bytes());
        h
    } else {
        vec![0, medium_type, dsp, bd.len() as u8]
    };
    out.extend_from_slice(&bd);
    out.extend_from_slice(&pages);
    if ten {
        let len = (out.len() - 2) as u16;
        out[0..2].copy_from_slice(&len.to_be_bytes());
    } else {
        out[0] = (out.len() - 1).min(255) as u8;
    }
    data_in(data, &out, alloc)
}

pub(crate) fn mode_select(drive: &mut SimDrive, cdb: &[u8], data: DataPhase<'_>) -> Completion {
    let ten = cdb[0] == 0x55;
    let offered = data.len();
    if cdb[1] & 0x01 != 0 {
        // SP: saved pages are not supported.
        return invalid_cdb_field(1, Some(0), offered);
    }
    let len = if ten {
        usize::from(u16::from_be_bytes([cdb[7], cdb[8]]))
    } else {
        usize::from(cdb[4])
    };
    if len == 0 {
        return Completion::good(offered, 0);
    }
    let src: &[u8] = match &data {
        DataPhase::Out(b) => b,
        _ => &[],
    };
    let Some(params) = src.get(..len) else {
        return param_list_length_error(offered);
    };
    let hdr = if ten { 8 } else { 4 };
    if params.len() < hdr {
        return param_list_length_error(offered);
    }
    let bd_len = if ten {
        usize::from(u16::from_be_bytes([params[6], params[7]]))
    } else {
        usize::from(params[3])
    };
    if bd_len != 0 && bd_len != 8 {
        return invalid_param_field(if ten { 6 } else { 3 }, None, offered);
    }
    if params.len() < hdr + bd_len {
        return param_list_length_error(offered);
    }
    let mut block_length = drive.block_length;
    if bd_len == 8 {
        let bd = &params[hdr..hdr + 8];
        let density = bd[0];
        let supported = density == 0
            || density == 0x7F
            || drive
                .cart
                .as_ref()
                .is_some_and(|c| c.kind().density_code() == density)
            || crate::media::LtoGeneration::ALL.iter().any(|g| {
                g.density_code() == density
                    && crate::media::can_read(
                        drive.spec.generation,
                        crate::media::MediaKind::data(*g),
                    )
            });
        if !supported {
            return invalid_param_field(hdr as u16, None, offered);
        }
        let bl = u32::from_be_bytes([0, bd[5], bd[6], bd[7]]);
        if bl > super::inquiry::MAX_BLOCK_LENGTH {
            return invalid_param_field((hdr + 5) as u16, None, offered);
        }
        block_length = bl;
    }
    // Validate every page before applying any.
    let mut compression = drive.compression;
    let mut plan = drive.plan.clone();
    let mut off = hdr + bd_len;
    while off < params.len() {
        let (Some(&code), Some(&plen)) = (params.get(off), params.get(off + 1)) else {
            return param_list_length_error(offered);
        };
        let plen = usize::from(plen);
        let Some(page) = params.get(off..off + 2 + plen) else {
            return param_list_length_error(offered);
        };
        match code & 0x3F {
            0x0F => {
                if plen != 0x0E {
                    return invalid_param_field((off + 1) as u16, None, offered);
                }
                compression = page[2] & 0x80 != 0;
            }
            0x10 => {
                if plen != 0x0E {
                    return invalid_param_field((off + 1) as u16, None, offered);
                }
            }
            0x11 => match parse_partition_page(drive, page, off) {
                Ok(p) => plan = p,
                Err((byte, bit)) => return invalid_param_field(byte, bit, offered),
            },
            _ => return invalid_param_field(off as u16, None, offered),
        }
        off += 2 + plen;
    }
    drive.block_length = block_length;
    drive.compression = compression;
    drive.plan = plan;
    Completion::good(offered, 0)
}

/// Decodes a medium partition page into a plan; errors carry the parameter-list byte and bit.
fn parse_partition_page(
    drive: &SimDrive,
    page: &[u8],
    off: usize,
) -> Result<Option<PartitionPlan>, (u16, Option<u8>)> {
    let at = |i: usize| (off + i) as u16;
    if page.len() < 8 {
        return Err((at(1), None));
    }
    let additional = page[3];
    if additional >= MAX_PARTITIONS {
        return Err((at(3), None));
    }
    let flags = page[4];
    let (fdp, sdp, idp) = (flags & 0x80 != 0, flags & 0x40 != 0, flags & 0x20 != 0);
    if u8::from(fdp) + u8::from(sdp) + u8::from(idp) > 1 {
        return Err((at(4), Some(7)));
    }
    let total = drive
        .cart
        .as_ref()
        .map_or(drive.spec.generation.native_capacity_bytes(), |c| {
            c.spec().total_capacity()
        });
    let count = usize::from(additional) + 1;
    if count == 1 {
        return Ok(Some(PartitionPlan { sizes: vec![total] }));
    }
    if fdp || sdp || !idp {
        // Device-chosen layout: a small index partition first, as LTFS expects.
        let p0 = (total / 20).max(1);
        return Ok(Some(PartitionPlan {
            sizes: vec![p0, total - p0],
        }));
    }
    let unit = match (flags >> 3) & 0x03 {
        0 => 1u64,
        1 => 1_000,
        2 => 1_000_000,
        _ => {
            let e = page[6] & 0x0F;
            if e > 15 {
                return Err((at(6), None));
            }
            10u64.pow(u32::from(e))
        }
    };
    let mut sizes = Vec::with_capacity(count);
    let mut rest_at = None;
    for i in 0..count {
        let Some(b) = page.get(8 + 2 * i..10 + 2 * i) else {
            return Err((at(1), None));
        };
        let v = u16::from_be_bytes([b[0], b[1]]);
        if v == 0xFFFF {
            if rest_at.is_some() {
                return Err((at(8 + 2 * i), None));
            }
            rest_at = Some(i);
            sizes.push(0);
        } else {
            sizes.push(u64::from(v).saturating_mul(unit));
        }
    }
    let fixed: u64 = sizes.iter().sum();
    if fixed > total {
        return Err((at(8), None));
    }
    match rest_at {
        Some(i) => sizes[i] = total - fixed,
        None if sizes.last() == Some(&0) => {
            // A zero last size takes the remaining capacity, as the LTO drives do.
            let last = sizes.len() - 1;
            sizes[last] = total - fixed;
        }
        None => {}
    }
    if sizes.contains(&0) {
        return Err((at(8), None));
    }
    Ok(Some(PartitionPlan { sizes }))
}
