//! Linux SCSI generic definitions (include/scsi/sg.h, include/scsi/scsi_ioctl.h).

use std::ffi::{c_int, c_uchar, c_uint, c_ulong, c_ushort, c_void};

pub const SG_SET_TIMEOUT: c_ulong = 0x2201;
pub const SG_GET_TIMEOUT: c_ulong = 0x2202;
pub const SG_EMULATED_HOST: c_ulong = 0x2203;
pub const SG_GET_SCSI_ID: c_ulong = 0x2276;
pub const SG_GET_VERSION_NUM: c_ulong = 0x2282;
pub const SG_IO: c_ulong = 0x2285;
pub const SCSI_IOCTL_GET_IDLUN: c_ulong = 0x5382;

/// sg driver version 3.5.36: at least 30000 for mtx, below 40000 so sg3_utils stays on v3.
pub const SG_VERSION: c_int = 30536;
/// Clock ticks per second the sg driver uses for SG_SET_TIMEOUT.
pub const USER_HZ: c_int = 100;

pub const SG_DXFER_NONE: c_int = -1;
pub const SG_DXFER_TO_DEV: c_int = -2;
pub const SG_DXFER_FROM_DEV: c_int = -3;
pub const SG_DXFER_TO_FROM_DEV: c_int = -4;

pub const SG_INFO_CHECK: c_uint = 0x1;
pub const DRIVER_SENSE: c_ushort = 0x08;

/// `struct sg_io_hdr` (the v3 interface).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SgIoHdr {
    pub interface_id: c_int,
    pub dxfer_direction: c_int,
    pub cmd_len: c_uchar,
    pub mx_sb_len: c_uchar,
    pub iovec_count: c_ushort,
    pub dxfer_len: c_uint,
    pub dxferp: *mut c_void,
    pub cmdp: *const c_uchar,
    pub sbp: *mut c_uchar,
    pub timeout: c_uint,
    pub flags: c_uint,
    pub pack_id: c_int,
    pub usr_ptr: *mut c_void,
    pub status: c_uchar,
    pub masked_status: c_uchar,
    pub msg_status: c_uchar,
    pub sb_len_wr: c_uchar,
    pub host_status: c_ushort,
    pub driver_status: c_ushort,
    pub resid: c_int,
    pub duration: c_uint,
    pub info: c_uint,
}

/// `struct sg_scsi_id` (SG_GET_SCSI_ID).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SgScsiId {
    pub host_no: c_int,
    pub channel: c_int,
    pub scsi_id: c_int,
    pub lun: c_int,
    pub scsi_type: c_int,
    pub h_cmd_per_lun: i16,
    pub d_queue_depth: i16,
    pub unused: [c_int; 2],
}

/// The two ints SCSI_IOCTL_GET_IDLUN returns.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ScsiIdlun {
    /// target | lun << 8 | channel << 16 | host_no << 24
    pub dev_id: c_int,
    pub host_unique_id: c_int,
}
