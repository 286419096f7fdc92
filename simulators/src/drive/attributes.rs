//! READ ATTRIBUTE / WRITE ATTRIBUTE (SPC-4): MAM per partition. Device attributes
//! (remaining and maximum capacity, load count, volume change reference, ...) are computed by
//! the drive; medium attributes come from the cartridge; host attributes are stored.

use tapelib_scsi::transport::{Completion, DataPhase};

use super::{data_in, SimDrive};
use crate::cartridge::mam::{format, host_writable, id, MamAttribute, HOST_CAPACITY};
use crate::cartridge::Cartridge;
use crate::sense::{
    invalid_cdb_field, invalid_param_field, key, param_list_length_error, SenseBuilder,
};

fn device_attributes(cart: &mut Cartridge, partition: u8) -> Vec<MamAttribute> {
    let ro = |id, format, value: Vec<u8>| MamAttribute {
        id,
        format,
        read_only: true,
        value,
    };
    let mib = |b: u64| (b >> 20).to_be_bytes().to_vec();
    vec![
        ro(
            id::REMAINING_CAPACITY,
            format::BINARY,
            mib(cart.remaining_bytes(partition)),
        ),
        ro(
            id::MAXIMUM_CAPACITY,
            format::BINARY,
            mib(cart.effective_capacity(partition)),
        ),
        ro(
            id::LOAD_COUNT,
            format::BINARY,
            cart.load_count().to_be_bytes().to_vec(),
        ),
        ro(
            id::FORMAT_DENSITY_CODE,
            format::BINARY,
            vec![cart.kind().density_code()],
        ),
        ro(
            id::INITIALIZATION_COUNT,
            format::BINARY,
            cart.initialization_count().to_be_bytes().to_vec(),
        ),
        ro(
            id::VOLUME_CHANGE_REFERENCE,
            format::BINARY,
            cart.volume_change_reference().to_be_bytes().to_vec(),
        ),
    ]
}

/// Every attribute of `partition`, sorted by identifier.
fn all_attributes(cart: &mut Cartridge, partition: u8) -> Vec<MamAttribute> {
    let mut v = device_attributes(cart, partition);
    v.extend(cart.medium_attributes());
    v.extend(cart.mam().partition(partition).cloned());
    v.sort_by_key(|a| a.id);
    v
}

pub(crate) fn read_attribute(drive: &mut SimDrive, cdb: &[u8], data: DataPhase<'_>) -> Completion {
    let offered = data.len();
    let sa = cdb[1] & 0x1F;
    let volume = cdb[5];
    let partition = cdb[7];
    let first = u16::from_be_bytes([cdb[8], cdb[9]]);
    let alloc = u32::from_be_bytes([cdb[10], cdb[11], cdb[12], cdb[13]]) as usize;
    if !matches!(sa, 0x00 | 0x01 | 0x03 | 0x05) {
        return invalid_cdb_field(1, Some(4), offered);
    }
    if volume != 0 {
        return invalid_cdb_field(5, None, offered);
    }
    if let Err(c) = drive.check_ready(offered) {
        return c;
    }
    let Some(cart) = drive.cart.as_mut() else {
        return SenseBuilder::new(key::NOT_READY, 0x3A, 0).check(offered);
    };
    if partition >= cart.partition_count() {
        return invalid_cdb_field(7, None, offered);
    }
    let mut body = Vec::new();
    match sa {
        0x00 => {
            for a in all_attributes(cart, partition)
                .iter()
                .filter(|a| a.id >= first)
            {
                body.extend_from_slice(&a.encode());
            }
        }
        0x01 | 0x05 => {
            // Attribute list (present ones) / supported attributes (same set here).
            for a in all_attributes(cart, partition)
                .iter()
                .filter(|a| a.id >= first)
            {
                body.extend_from_slice(&a.id.to_be_bytes());
            }
        }
        _ => {
            // Partition list: first and number of partitions (SPC-4).
            body.extend_from_slice(&[0, cart.partition_count()]);
            let mut b = vec![0, 2];
            b.extend_from_slice(&body);
            return data_in(data, &b, alloc);
        }
    }
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    data_in(data, &out, alloc)
}

pub(crate) fn write_attribute(drive: &mut SimDrive, cdb: &[u8], data: DataPhase<'_>) -> Completion {
    let offered = data.len();
    let volume = cdb[5];
    let partition = cdb[7];
    let len = u32::from_be_bytes([cdb[10], cdb[11], cdb[12], cdb[13]]) as usize;
    if volume != 0 {
        return invalid_cdb_field(5, None, offered);
    }
    if let Err(c) = drive.check_ready(offered) {
        return c;
    }
    let src: &[u8] = match &data {
        DataPhase::Out(b) => b,
        _ => &[],
    };
    let Some(params) = src.get(..len) else {
        return param_list_length_error(offered);
    };
    let Some(cart) = drive.cart.as_mut() else {
        return SenseBuilder::new(key::NOT_READY, 0x3A, 0).check(offered);
    };
    if partition >= cart.partition_count() {
        return invalid_cdb_field(7, None, offered);
    }
    if len == 0 {
        return Completion::good(offered, 0);
    }
    if params.len() < 4 {
        return param_list_length_error(offered);
    }
    let declared = u32::from_be_bytes([params[0], params[1], params[2], params[3]]) as usize;
    if declared > params.len() - 4 {
        return param_list_length_error(offered);
    }
    // Validate the whole list before storing anything.
    let mut attrs = Vec::new();
    let mut off = 4;
    while off < 4 + declared {
        let Some((a, used)) = MamAttribute::decode(&params[off..4 + declared]) else {
            return param_list_length_error(offered);
        };
        if !host_writable(a.id) {
            // Read-only attribute: INVALID FIELD IN PARAMETER LIST at its identifier.
            return invalid_param_field(off as u16, None, offered);
        }
        if a.format > format::TEXT {
            return invalid_param_field((off + 2) as u16, Some(1), offered);
        }
        attrs.push(MamAttribute {
            read_only: false,
            ..a
        });
        off += used;
    }
    // The result must fit the MAM: otherwise nothing changes (SPC-4: 55/06 MAM FULL).
    let mut after = cart.mam().clone();
    for a in &attrs {
        after.set(partition, a.clone());
    }
    if after.used_bytes(partition) > HOST_CAPACITY {
        return SenseBuilder::new(key::ILLEGAL_REQUEST, 0x55, 0x06).check(offered);
    }
    for a in attrs {
        if let Err(e) = cart.set_attribute(partition, a) {
            return super::medium_error_sense(&e, true).check(offered);
        }
    }
    Completion::good(offered, 0)
}
