//! Linux SG_IO (sg v3 interface, `include/scsi/sg.h`) transport.
//!
//! Works on any descriptor that answers `ioctl(SG_IO)`: `/dev/sgN`, `/dev/nstN`, bsg, and the
//! simulator's interposed regular files. Header construction and result interpretation are
//! pure functions so they can be tested without a device.

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::time::Duration;

use crate::transport::{Completion, DataPhase, ScsiStatus, ScsiTransport, TransportError};

/// `SG_IO` ioctl request number.
pub const SG_IO: u64 = 0x2285;
pub const SG_DXFER_NONE: i32 = -1;
pub const SG_DXFER_TO_DEV: i32 = -2;
pub const SG_DXFER_FROM_DEV: i32 = -3;
/// Host status "no error" (`DID_OK`) and "timed out" (`DID_TIME_OUT`).
pub const DID_OK: u16 = 0x00;
pub const DID_TIME_OUT: u16 = 0x03;
/// Driver status: sense data valid / command timed out (low nibble).
pub const DRIVER_SENSE: u16 = 0x08;
pub const DRIVER_TIMEOUT: u16 = 0x06;
/// Sense buffer size: SPC-4 caps sense data at 252 bytes.
pub const SENSE_LEN: usize = 252;

/// The kernel's `struct sg_io_hdr`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SgIoHdr {
    pub interface_id: libc::c_int,
    pub dxfer_direction: libc::c_int,
    pub cmd_len: libc::c_uchar,
    pub mx_sb_len: libc::c_uchar,
    pub iovec_count: libc::c_ushort,
    pub dxfer_len: libc::c_uint,
    pub dxferp: *mut libc::c_void,
    pub cmdp: *const libc::c_uchar,
    pub sbp: *mut libc::c_uchar,
    pub timeout: libc::c_uint,
    pub flags: libc::c_uint,
    pub pack_id: libc::c_int,
    pub usr_ptr: *mut libc::c_void,
    pub status: libc::c_uchar,
    pub masked_status: libc::c_uchar,
    pub msg_status: libc::c_uchar,
    pub sb_len_wr: libc::c_uchar,
    pub host_status: libc::c_ushort,
    pub driver_status: libc::c_ushort,
    pub resid: libc::c_int,
    pub duration: libc::c_uint,
    pub info: libc::c_uint,
}

nix::ioctl_readwrite_bad!(sg_io_ioctl, SG_IO, SgIoHdr);

/// Build a header for one command. Pointers must stay valid until the ioctl returns.
pub fn build_header(
    cdb: &[u8],
    direction: i32,
    data: *mut u8,
    data_len: usize,
    sense: &mut [u8],
    timeout: Duration,
) -> Result<SgIoHdr, TransportError> {
    if cdb.is_empty() || cdb.len() > 16 {
        return Err(TransportError::InvalidCdb(cdb.len()));
    }
    let dxfer_len = u32::try_from(data_len)
        .map_err(|_| TransportError::Connection(format!("transfer of {data_len} bytes")))?;
    Ok(SgIoHdr {
        interface_id: b'S' as libc::c_int,
        dxfer_direction: direction,
        cmd_len: cdb.len() as u8,
        mx_sb_len: sense.len().min(255) as u8,
        iovec_count: 0,
        dxfer_len,
        dxferp: data.cast(),
        cmdp: cdb.as_ptr(),
        sbp: sense.as_mut_ptr(),
        timeout: u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX - 1),
        flags: 0,
        pack_id: 0,
        usr_ptr: std::ptr::null_mut(),
        status: 0,
        masked_status: 0,
        msg_status: 0,
        sb_len_wr: 0,
        host_status: 0,
        driver_status: 0,
        resid: 0,
        duration: 0,
        info: 0,
    })
}

/// Turn a completed header into a [`Completion`] (or a transport failure).
pub fn interpret(
    hdr: &SgIoHdr,
    offered: usize,
    sense: &[u8],
    timeout: Duration,
) -> Result<Completion, TransportError> {
    if hdr.host_status == DID_TIME_OUT || hdr.driver_status & 0x0f == DRIVER_TIMEOUT {
        return Err(TransportError::Timeout(timeout));
    }
    if hdr.host_status != DID_OK {
        return Err(TransportError::Host {
            host_status: hdr.host_status,
            driver_status: hdr.driver_status,
        });
    }
    let driver = hdr.driver_status & 0x0f;
    if driver != 0 && driver != DRIVER_SENSE {
        return Err(TransportError::Host {
            host_status: hdr.host_status,
            driver_status: hdr.driver_status,
        });
    }
    let sense_len = usize::from(hdr.sb_len_wr).min(sense.len());
    let sense = sense[..sense_len].to_vec();
    // Older drivers fill only masked_status (status >> 1); DRIVER_SENSE with sense bytes and
    // no status still means CHECK CONDITION.
    let mut status = if hdr.status != 0 {
        hdr.status
    } else {
        hdr.masked_status << 1
    };
    if status == 0 && driver == DRIVER_SENSE && !sense.is_empty() {
        status = ScsiStatus::CHECK_CONDITION.0;
    }
    let resid = usize::try_from(hdr.resid.max(0)).unwrap_or(0).min(offered);
    Ok(Completion {
        status: ScsiStatus(status),
        sense,
        transferred: offered - resid,
        residual: resid,
        duration: Some(Duration::from_millis(u64::from(hdr.duration))),
    })
}

fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(p)
        .ok()
        .filter(|p| p.is_power_of_two())
        .unwrap_or(4096)
}

/// A zeroed, page-aligned byte buffer: SG_IO can map it for direct I/O, and the Drive reads
/// and writes blocks in it without copying.
pub struct AlignedBuf {
    ptr: *mut u8,
    len: usize,
    layout: Layout,
}

// SAFETY: AlignedBuf owns its allocation exclusively, like a Vec<u8>.
unsafe impl Send for AlignedBuf {}
// SAFETY: shared access only reads.
unsafe impl Sync for AlignedBuf {}

impl AlignedBuf {
    pub fn new(len: usize) -> AlignedBuf {
        let align = page_size();
        let size = len.max(1).div_ceil(align) * align;
        let layout = Layout::from_size_align(size, align).expect("page-aligned layout");
        // SAFETY: layout has a non-zero size.
        let ptr = unsafe { alloc_zeroed(layout) };
        if ptr.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        AlignedBuf { ptr, len, layout }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Capacity rounded up to whole pages.
    pub fn capacity(&self) -> usize {
        self.layout.size()
    }

    /// Change the visible length within the capacity (grows by reallocating).
    pub fn resize(&mut self, len: usize) {
        if len > self.capacity() {
            let mut n = AlignedBuf::new(len);
            n[..self.len].copy_from_slice(self);
            *self = n;
        } else {
            self.len = len;
        }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        // SAFETY: ptr was allocated with this layout.
        unsafe { dealloc(self.ptr, self.layout) }
    }
}

impl std::ops::Deref for AlignedBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: ptr is valid for capacity >= len bytes, initialised (zeroed) at allocation.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl std::ops::DerefMut for AlignedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as above, and &mut self gives exclusive access.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl std::fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlignedBuf")
            .field("len", &self.len)
            .finish()
    }
}

/// Whether `p` is page aligned.
pub fn is_page_aligned(p: *const u8) -> bool {
    (p as usize).is_multiple_of(page_size())
}

/// A SCSI device reached through SG_IO.
#[derive(Debug)]
pub struct SgDevice {
    file: File,
    path: String,
    bounce: AlignedBuf,
}

impl SgDevice {
    /// Open `path` O_RDWR|O_NONBLOCK (so a busy tape device does not block the open), then
    /// clear O_NONBLOCK so commands block until they complete. Any descriptor type is accepted.
    pub fn open(path: impl AsRef<std::path::Path>) -> Result<SgDevice, TransportError> {
        let p = path.as_ref();
        let shown = p.display().to_string();
        let open_err = |source| TransportError::Open {
            path: shown.clone(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(p)
            .map_err(open_err)?;
        let fd = file.as_raw_fd();
        // SAFETY: fd is a valid open descriptor owned by `file`.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        if flags < 0 {
            return Err(open_err(std::io::Error::last_os_error()));
        }
        // SAFETY: as above.
        if unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
            return Err(open_err(std::io::Error::last_os_error()));
        }
        tracing::debug!(path = %shown, "opened SG_IO device");
        Ok(SgDevice {
            file,
            path: shown,
            bounce: AlignedBuf::new(0),
        })
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    fn ioctl(&self, hdr: &mut SgIoHdr) -> Result<(), TransportError> {
        // SAFETY: hdr points at a valid sg_io_hdr whose buffers outlive this call.
        unsafe { sg_io_ioctl(self.file.as_raw_fd(), hdr) }
            .map(|_| ())
            .map_err(|e| TransportError::Ioctl(std::io::Error::from(e)))
    }
}

impl ScsiTransport for SgDevice {
    fn execute(
        &mut self,
        cdb: &[u8],
        data: DataPhase<'_>,
        timeout: Duration,
    ) -> Result<Completion, TransportError> {
        let mut sense = [0u8; SENSE_LEN];
        let offered = data.len();
        match data {
            DataPhase::None => {
                let mut hdr = build_header(
                    cdb,
                    SG_DXFER_NONE,
                    std::ptr::null_mut(),
                    0,
                    &mut sense,
                    timeout,
                )?;
                self.ioctl(&mut hdr)?;
                interpret(&hdr, 0, &sense, timeout)
            }
            DataPhase::In(buf) => {
                let direct = is_page_aligned(buf.as_ptr());
                let ptr = if direct {
                    buf.as_mut_ptr()
                } else {
                    self.bounce.resize(offered);
                    self.bounce.as_mut_ptr()
                };
                let mut hdr =
                    build_header(cdb, SG_DXFER_FROM_DEV, ptr, offered, &mut sense, timeout)?;
                self.ioctl(&mut hdr)?;
                let c = interpret(&hdr, offered, &sense, timeout)?;
                if !direct {
                    buf[..c.transferred].copy_from_slice(&self.bounce[..c.transferred]);
                }
                Ok(c)
            }
            DataPhase::Out(buf) => {
                let ptr = if is_page_aligned(buf.as_ptr()) {
                    // The kernel only reads a TO_DEV buffer.
                    buf.as_ptr().cast_mut()
                } else {
                    self.bounce.resize(offered);
                    self.bounce.copy_from_slice(buf);
                    self.bounce.as_mut_ptr()
                };
                let mut hdr =
                    build_header(cdb, SG_DXFER_TO_DEV, ptr, offered, &mut sense, timeout)?;
                self.ioctl(&mut hdr)?;
                interpret(&hdr, offered, &sense, timeout)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(hdr: &mut SgIoHdr) {
        hdr.status = 0;
        hdr.masked_status = 0;
        hdr.host_status = 0;
        hdr.driver_status = 0;
        hdr.resid = 0;
    }

    #[test]
    fn header_layout_matches_kernel() {
        // x86-64 / aarch64 sizeof(sg_io_hdr) is 88.
        assert_eq!(std::mem::size_of::<SgIoHdr>(), 88);
        assert_eq!(std::mem::offset_of!(SgIoHdr, dxferp), 16);
        assert_eq!(std::mem::offset_of!(SgIoHdr, timeout), 40);
        assert_eq!(std::mem::offset_of!(SgIoHdr, status), 64);
        assert_eq!(std::mem::offset_of!(SgIoHdr, resid), 72);
        assert_eq!(std::mem::offset_of!(SgIoHdr, info), 80);
    }

    #[test]
    fn build_header_fields() {
        let cdb = [0x12, 0, 0, 0, 96, 0];
        let mut data = [0u8; 96];
        let mut sense = [0u8; SENSE_LEN];
        let h = build_header(
            &cdb,
            SG_DXFER_FROM_DEV,
            data.as_mut_ptr(),
            96,
            &mut sense,
            Duration::from_secs(30),
        )
        .unwrap();
        assert_eq!(h.interface_id, b'S' as i32);
        assert_eq!(h.dxfer_direction, -3);
        assert_eq!((h.cmd_len, h.mx_sb_len, h.dxfer_len), (6, 252, 96));
        assert_eq!(h.timeout, 30_000);
        assert_eq!(h.iovec_count, 0);
        assert!(build_header(
            &[],
            SG_DXFER_NONE,
            std::ptr::null_mut(),
            0,
            &mut sense,
            Duration::ZERO
        )
        .is_err());
        assert!(build_header(
            &[0; 17],
            SG_DXFER_NONE,
            std::ptr::null_mut(),
            0,
            &mut sense,
            Duration::ZERO
        )
        .is_err());
    }

    fn hdr() -> SgIoHdr {
        let mut sense = [0u8; 8];
        let mut h = build_header(
            &[0; 6],
            SG_DXFER_NONE,
            std::ptr::null_mut(),
            0,
            &mut sense,
            Duration::ZERO,
        )
        .unwrap();
        done(&mut h);
        h
    }

    #[test]
    fn interpret_good_with_resid() {
        let mut h = hdr();
        h.resid = 60;
        h.duration = 12;
        let c = interpret(&h, 96, &[], Duration::from_secs(1)).unwrap();
        assert!(c.status.is_good());
        assert_eq!((c.transferred, c.residual), (36, 60));
        assert_eq!(c.duration, Some(Duration::from_millis(12)));
        h.resid = -5;
        assert_eq!(
            interpret(&h, 96, &[], Duration::ZERO).unwrap().transferred,
            96
        );
        h.resid = 500;
        assert_eq!(
            interpret(&h, 96, &[], Duration::ZERO).unwrap().transferred,
            0
        );
    }

    #[test]
    fn interpret_check_condition_with_sense() {
        let mut h = hdr();
        h.status = 0x02;
        h.masked_status = 0x01;
        h.driver_status = DRIVER_SENSE;
        h.sb_len_wr = 18;
        let sense = [0x70u8; SENSE_LEN];
        let c = interpret(&h, 0, &sense, Duration::ZERO).unwrap();
        assert_eq!(c.status, ScsiStatus::CHECK_CONDITION);
        assert_eq!(c.sense.len(), 18);
        // Only masked_status set, or only DRIVER_SENSE.
        h.status = 0;
        assert_eq!(
            interpret(&h, 0, &sense, Duration::ZERO).unwrap().status,
            ScsiStatus::CHECK_CONDITION
        );
        h.masked_status = 0;
        assert_eq!(
            interpret(&h, 0, &sense, Duration::ZERO).unwrap().status,
            ScsiStatus::CHECK_CONDITION
        );
    }

    #[test]
    fn interpret_failures() {
        let mut h = hdr();
        h.host_status = 0x01; // DID_NO_CONNECT
        assert!(matches!(
            interpret(&h, 0, &[], Duration::ZERO),
            Err(TransportError::Host { host_status: 1, .. })
        ));
        h.host_status = DID_TIME_OUT;
        assert!(matches!(
            interpret(&h, 0, &[], Duration::ZERO),
            Err(TransportError::Timeout(_))
        ));
        h.host_status = 0;
        h.driver_status = DRIVER_TIMEOUT;
        assert!(matches!(
            interpret(&h, 0, &[], Duration::ZERO),
            Err(TransportError::Timeout(_))
        ));
        h.driver_status = 0x04; // DRIVER_ERROR
        assert!(matches!(
            interpret(&h, 0, &[], Duration::ZERO),
            Err(TransportError::Host { .. })
        ));
        h.driver_status = 0;
        h.status = 0x08;
        assert_eq!(
            interpret(&h, 0, &[], Duration::ZERO).unwrap().status,
            ScsiStatus::BUSY
        );
    }

    #[test]
    fn aligned_buf() {
        let mut b = AlignedBuf::new(1000);
        assert_eq!(b.len(), 1000);
        assert!(is_page_aligned(b.as_ptr()));
        b[999] = 7;
        b.resize(10_000);
        assert_eq!(b[999], 7);
        assert!(is_page_aligned(b.as_ptr()));
        assert_eq!(b.capacity() % page_size(), 0);
    }

    #[test]
    fn open_missing_path_names_it() {
        let e = SgDevice::open("/nonexistent/sg99").unwrap_err();
        assert!(e.to_string().contains("/nonexistent/sg99"));
    }

    #[test]
    fn ioctl_on_regular_file_is_a_transport_error() {
        let dir = std::env::temp_dir().join(format!("tapelib-sg-{}", std::process::id()));
        std::fs::write(&dir, b"").unwrap();
        let mut d = SgDevice::open(&dir).unwrap();
        assert_eq!(d.path(), dir.display().to_string());
        let e = d
            .execute(&[0; 6], DataPhase::None, Duration::from_secs(1))
            .unwrap_err();
        assert!(matches!(e, TransportError::Ioctl(_)));
        std::fs::remove_file(&dir).ok();
    }
}
