//! `libtapelib_sgshim.so`: an `LD_PRELOAD` interposer that makes tapelib-sim device files behave
//! like Linux SCSI generic (`/dev/sgN`) devices.
//!
//! With `LD_PRELOAD=libtapelib_sgshim.so TAPELIB_SIM_STATE_DIR=DIR`, a program that opens
//! `DIR/dev/<device>` (a regular file the server creates) and calls `ioctl` on it gets the
//! sg driver's answers; `SG_IO` (v3 `sg_io_hdr`) is forwarded to the simulator over
//! `DIR/tapelib-sim.sock`. Every other request, and every descriptor that is not a simulated
//! device, goes to the real libc `ioctl` untouched.
//!
//! Nothing runs at load time: the state directory is read and the socket connected on the first
//! intercepted call.

#[path = "../../src/protocol.rs"]
#[allow(dead_code)]
mod protocol;

mod sg;

use std::collections::HashMap;
use std::ffi::{c_int, c_ulong, c_void};
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use protocol::{Direction, ScsiRequestRef, ScsiResponseRef};
use sg::*;

type IoctlFn = unsafe extern "C" fn(c_int, c_ulong, *mut c_void) -> c_int;

/// The next `ioctl` in the link chain (normally libc's), resolved on first use.
static REAL_IOCTL: AtomicUsize = AtomicUsize::new(0);

fn real_ioctl() -> Option<IoctlFn> {
    let mut addr = REAL_IOCTL.load(Ordering::Acquire);
    if addr == 0 {
        // SAFETY: dlsym with a NUL-terminated name; RTLD_NEXT skips this library.
        addr = unsafe { libc::dlsym(libc::RTLD_NEXT, c"ioctl".as_ptr()) } as usize;
        if addr == 0 {
            return None;
        }
        REAL_IOCTL.store(addr, Ordering::Release);
    }
    // SAFETY: `addr` is the non-null address of libc's `ioctl`, whose ABI for the fixed
    // three-argument call matches on x86-64 and aarch64 Linux.
    Some(unsafe { std::mem::transmute::<usize, IoctlFn>(addr) })
}

/// Interposed `ioctl`. C declares it variadic; every request answered here takes one pointer or
/// integer argument, which the Linux x86-64 and aarch64 ABIs pass like a fixed third argument.
///
/// # Safety
/// Same contract as libc's `ioctl`: `arg` must be valid for the request.
#[no_mangle]
pub unsafe extern "C" fn ioctl(fd: c_int, request: c_ulong, arg: *mut c_void) -> c_int {
    if is_sg_request(request) {
        if let Some(dev) = simulated_device(fd) {
            return handle(&dev, request, arg);
        }
    }
    match real_ioctl() {
        Some(f) => f(fd, request, arg),
        None => fail(libc::ENOSYS),
    }
}

fn is_sg_request(request: c_ulong) -> bool {
    matches!(
        request,
        SG_IO
            | SG_GET_VERSION_NUM
            | SG_SET_TIMEOUT
            | SG_GET_TIMEOUT
            | SG_GET_SCSI_ID
            | SG_EMULATED_HOST
            | SCSI_IOCTL_GET_IDLUN
    )
}

fn fail(errno: c_int) -> c_int {
    // SAFETY: errno is thread-local; writing it is always valid.
    unsafe { *libc::__errno_location() = errno };
    -1
}

/// Per-descriptor state, as the sg driver keeps per open file.
struct SimFd {
    /// Identity of the open file, to notice a reused descriptor number.
    dev: u64,
    ino: u64,
    device: String,
    /// SCSI target number: 0 for the changer, n+1 for `driven`.
    target: i32,
    /// SG_SET_TIMEOUT value (user jiffies, the kernel's default 60 s).
    timeout: c_int,
    conn: Option<Connection>,
}

/// A connection with the buffers it reuses for every request.
struct Connection {
    stream: UnixStream,
    /// Encoded request header.
    out: Vec<u8>,
    /// Payload of the last response.
    frame: Vec<u8>,
}

type FdTable = HashMap<c_int, Arc<Mutex<SimFd>>>;
static FDS: Mutex<Option<FdTable>> = Mutex::new(None);
static STATE_DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
static WARNED: AtomicBool = AtomicBool::new(false);

fn state_dir() -> Option<&'static Path> {
    STATE_DIR
        .get_or_init(|| {
            let dir = std::env::var_os("TAPELIB_SIM_STATE_DIR")?;
            // /proc/self/fd links are canonical paths; compare against the canonical form.
            std::fs::canonicalize(dir).ok()
        })
        .as_deref()
}

fn debug(msg: &str) {
    if std::env::var_os("TAPELIB_SIM_DEBUG").is_some() && !WARNED.swap(true, Ordering::Relaxed) {
        let _ = writeln!(std::io::stderr(), "tapelib_sgshim: {msg}");
    }
}

/// Returns the state of `fd` when it is an open simulated device file.
fn simulated_device(fd: c_int) -> Option<Arc<Mutex<SimFd>>> {
    let dir = state_dir()?;
    let (dev, ino) = file_id(fd)?;
    let mut table = FDS.lock().unwrap_or_else(|p| p.into_inner());
    let table = table.get_or_insert_with(HashMap::new);
    if let Some(entry) = table.get(&fd) {
        let same = {
            let e = entry.lock().unwrap_or_else(|p| p.into_inner());
            e.dev == dev && e.ino == ino
        };
        if same {
            return Some(Arc::clone(entry));
        }
        table.remove(&fd);
    }
    let device = device_name(fd, dir)?;
    // `close` is not intercepted: drop entries whose descriptor no longer refers to the file
    // they were made for, so their connections do not outlive them.
    table.retain(|&other, entry| match entry.try_lock() {
        Ok(e) => file_id(other) == Some((e.dev, e.ino)),
        // In use by a command right now: certainly still open.
        Err(_) => true,
    });
    let target = target_of(&device);
    let entry = Arc::new(Mutex::new(SimFd {
        dev,
        ino,
        device,
        target,
        timeout: 60 * USER_HZ,
        conn: None,
    }));
    table.insert(fd, Arc::clone(&entry));
    Some(entry)
}

/// Device and inode of an open regular file.
fn file_id(fd: c_int) -> Option<(u64, u64)> {
    // SAFETY: fstat into a zeroed stat buffer owned here.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd, &mut st) } != 0 || (st.st_mode & libc::S_IFMT) != libc::S_IFREG {
        return None;
    }
    Some((st.st_dev, st.st_ino))
}

/// The device name when `/proc/self/fd/<fd>` points at `<state dir>/dev/<name>`.
fn device_name(fd: c_int, dir: &Path) -> Option<String> {
    let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()?;
    let rest = link.strip_prefix(dir.join("dev")).ok()?;
    let mut parts = rest.components();
    let name = parts.next()?.as_os_str();
    if parts.next().is_some() {
        return None;
    }
    name.to_str().map(str::to_owned)
}

fn target_of(device: &str) -> i32 {
    match device
        .strip_prefix("drive")
        .and_then(|n| n.parse::<i32>().ok())
    {
        Some(n) => n.saturating_add(1),
        None => 0,
    }
}

/// SCSI peripheral device type (SPC-4 6.4.2): 08h medium changer, 01h sequential access.
fn scsi_type(device: &str) -> c_int {
    if device.starts_with("changer") {
        8
    } else {
        1
    }
}

unsafe fn handle(entry: &Mutex<SimFd>, request: c_ulong, arg: *mut c_void) -> c_int {
    let mut fd = entry.lock().unwrap_or_else(|p| p.into_inner());
    match request {
        SG_GET_VERSION_NUM => write_int(arg, SG_VERSION),
        SG_EMULATED_HOST => write_int(arg, 0),
        SG_SET_TIMEOUT => {
            if arg.is_null() {
                return fail(libc::EFAULT);
            }
            let val = std::ptr::read_unaligned(arg as *const c_int);
            if val < 0 {
                return fail(libc::EIO);
            }
            fd.timeout = val;
            0
        }
        // The sg driver returns the timeout as the ioctl's value.
        SG_GET_TIMEOUT => fd.timeout,
        SCSI_IOCTL_GET_IDLUN => {
            if arg.is_null() {
                return fail(libc::EFAULT);
            }
            // dev_id packs target, lun, channel and host (lun and channel 0, host 0).
            let idlun = ScsiIdlun {
                dev_id: fd.target & 0xff,
                host_unique_id: 0,
            };
            std::ptr::write_unaligned(arg as *mut ScsiIdlun, idlun);
            0
        }
        SG_GET_SCSI_ID => {
            if arg.is_null() {
                return fail(libc::EFAULT);
            }
            let id = SgScsiId {
                host_no: 0,
                channel: 0,
                scsi_id: fd.target,
                lun: 0,
                scsi_type: scsi_type(&fd.device),
                h_cmd_per_lun: 1,
                d_queue_depth: 1,
                unused: [0; 2],
            };
            std::ptr::write_unaligned(arg as *mut SgScsiId, id);
            0
        }
        SG_IO => sg_io(&mut fd, arg as *mut SgIoHdr),
        _ => fail(libc::EINVAL),
    }
}

unsafe fn write_int(arg: *mut c_void, value: c_int) -> c_int {
    if arg.is_null() {
        return fail(libc::EFAULT);
    }
    std::ptr::write_unaligned(arg as *mut c_int, value);
    0
}

/// SG_IO with a v3 header: forward the CDB and data phase, fill in the outputs.
unsafe fn sg_io(fd: &mut SimFd, hdr_ptr: *mut SgIoHdr) -> c_int {
    if hdr_ptr.is_null() {
        return fail(libc::EFAULT);
    }
    let mut hdr = std::ptr::read_unaligned(hdr_ptr);
    if hdr.interface_id != c_int::from(b'S') {
        return fail(libc::ENOSYS);
    }
    if hdr.iovec_count != 0 {
        // Scatter-gather lists are not supported (no known user sends them).
        return fail(libc::EINVAL);
    }
    if hdr.cmdp.is_null() || hdr.cmd_len < 6 {
        return fail(libc::EINVAL);
    }
    let len = hdr.dxfer_len as usize;
    if len > protocol::MAX_DATA {
        return fail(libc::ENOMEM);
    }
    if len > 0 && hdr.dxferp.is_null() && hdr.dxfer_direction != SG_DXFER_NONE {
        return fail(libc::EFAULT);
    }
    let cdb = std::slice::from_raw_parts(hdr.cmdp, usize::from(hdr.cmd_len));
    let (direction, data_out, allocation_length): (_, &[u8], _) = match hdr.dxfer_direction {
        SG_DXFER_NONE => (Direction::None, &[], 0),
        SG_DXFER_TO_DEV => {
            let data: &[u8] = if len == 0 {
                &[]
            } else {
                std::slice::from_raw_parts(hdr.dxferp as *const u8, len)
            };
            (Direction::Out, data, 0)
        }
        // TO_FROM_DEV moves data in only, as for the sg driver with a plain SCSI target.
        SG_DXFER_FROM_DEV | SG_DXFER_TO_FROM_DEV => (Direction::In, &[], len as u32),
        _ => return fail(libc::EINVAL),
    };
    let req = ScsiRequestRef {
        device: &fd.device,
        cdb,
        direction: direction as i32,
        data_out,
        allocation_length,
        timeout_ms: hdr.timeout,
    };
    let dxferp = hdr.dxferp as *mut u8;
    // Data-in goes straight from the received frame into the caller's buffer.
    let answer = transact(&mut fd.conn, &req, |resp| {
        let mut transferred = resp.transferred as usize;
        if direction == Direction::In {
            let n = resp.data_in.len().min(len);
            if n > 0 {
                // SAFETY: `dxferp` holds `len` bytes (the caller's SG_IO contract), n <= len.
                std::ptr::copy_nonoverlapping(resp.data_in.as_ptr(), dxferp, n);
            }
            transferred = n;
        }
        let mut sense = [0u8; 252];
        let sense_len = resp.sense.len().min(sense.len());
        sense[..sense_len].copy_from_slice(&resp.sense[..sense_len]);
        Answer {
            status: resp.status,
            transferred,
            sense,
            sense_len,
            duration_us: resp.duration_us,
        }
    });
    let resp = match answer {
        Ok(r) => r,
        Err(msg) => {
            debug(&msg);
            return fail(libc::EIO);
        }
    };
    let transferred = resp.transferred.min(len);
    let status = (resp.status & 0xff) as u8;
    let sense_len = resp.sense_len.min(usize::from(hdr.mx_sb_len));
    if sense_len > 0 && !hdr.sbp.is_null() {
        std::ptr::copy_nonoverlapping(resp.sense.as_ptr(), hdr.sbp, sense_len);
        hdr.sb_len_wr = sense_len as u8;
    } else {
        hdr.sb_len_wr = 0;
    }
    hdr.status = status;
    hdr.masked_status = (status >> 1) & 0x7f;
    hdr.msg_status = 0;
    hdr.host_status = 0;
    hdr.driver_status = if hdr.sb_len_wr > 0 { DRIVER_SENSE } else { 0 };
    hdr.resid = (len - transferred) as c_int;
    hdr.duration = u32::try_from(resp.duration_us / 1000).unwrap_or(u32::MAX);
    hdr.info = if status != 0 || hdr.driver_status != 0 {
        SG_INFO_CHECK
    } else {
        0
    };
    std::ptr::write_unaligned(hdr_ptr, hdr);
    0
}

/// What SG_IO reports back, taken from the response before its frame buffer is reused.
struct Answer {
    status: u32,
    transferred: usize,
    sense: [u8; 252],
    sense_len: usize,
    duration_us: u64,
}

/// Sends one request, reconnecting once if the server went away (for example, restarted);
/// `answer` reads the response in place.
fn transact<R>(
    conn: &mut Option<Connection>,
    req: &ScsiRequestRef<'_>,
    mut answer: impl FnMut(&ScsiResponseRef<'_>) -> R,
) -> Result<R, String> {
    let mut last = String::new();
    for _ in 0..2 {
        if conn.is_none() {
            *conn = Some(connect()?);
        }
        let Some(c) = conn.as_mut() else {
            continue;
        };
        match exchange(c, req, &mut answer) {
            Ok(resp) => return Ok(resp),
            Err(Retry::Yes(m)) => {
                *conn = None;
                last = m;
            }
            Err(Retry::No(m)) => {
                *conn = None;
                return Err(m);
            }
        }
    }
    Err(last)
}

enum Retry {
    Yes(String),
    No(String),
}

fn connect() -> Result<Connection, String> {
    let dir = state_dir().ok_or("TAPELIB_SIM_STATE_DIR is not set or does not exist")?;
    let path = dir.join("tapelib-sim.sock");
    let stream = UnixStream::connect(&path)
        .map_err(|e| format!("cannot connect to {}: {e}", path.display()))?;
    {
        use std::os::fd::AsRawFd;
        // Room for a whole large record per direction; the kernel caps the size.
        let size: c_int = 4 * 1024 * 1024;
        for opt in [libc::SO_SNDBUF, libc::SO_RCVBUF] {
            // SAFETY: setsockopt with a c_int value on an open socket; failure only costs speed.
            unsafe {
                libc::setsockopt(
                    stream.as_raw_fd(),
                    libc::SOL_SOCKET,
                    opt,
                    (&size as *const c_int).cast(),
                    std::mem::size_of::<c_int>() as libc::socklen_t,
                )
            };
        }
    }
    Ok(Connection {
        stream,
        out: Vec::new(),
        frame: Vec::new(),
    })
}

fn exchange<R>(
    conn: &mut Connection,
    req: &ScsiRequestRef<'_>,
    answer: &mut impl FnMut(&ScsiResponseRef<'_>) -> R,
) -> Result<R, Retry> {
    // A failure to send means the connection is stale (the server restarted since the last
    // request); the request never reached a server, so it may go out again.
    let mut out = NoSigPipe(&conn.stream);
    protocol::write_scsi_request_ref(&mut out, req, &mut conn.out).map_err(|e| match e {
        protocol::ProtocolError::Io(e) => Retry::Yes(e.to_string()),
        other => Retry::No(other.to_string()),
    })?;
    // Once sent, the server may have carried it out: never send it twice.
    match protocol::read_frame(&mut conn.stream, &mut conn.frame) {
        Ok(true) => {}
        Ok(false) => return Err(Retry::No("server closed the connection".into())),
        Err(e) => return Err(Retry::No(e.to_string())),
    }
    if let Some(r) = ScsiResponseRef::decode(&conn.frame).map_err(|e| Retry::No(e.to_string()))? {
        return Ok(answer(&r));
    }
    let resp = protocol::decode_response(&conn.frame).map_err(|e| Retry::No(e.to_string()))?;
    match resp.body {
        Some(protocol::response::Body::Scsi(r)) => Ok(answer(&ScsiResponseRef {
            status: r.status,
            sense: &r.sense,
            data_in: &r.data_in,
            residual: r.residual,
            transferred: r.transferred,
            duration_us: r.duration_us,
        })),
        Some(protocol::response::Body::Error(e)) => Err(Retry::No(format!(
            "simulator refused the request: {}",
            e.message
        ))),
        _ => Err(Retry::No("unexpected response from the simulator".into())),
    }
}

/// A writer sending with MSG_NOSIGNAL: the host program may not ignore SIGPIPE, and a closed
/// server must show up as an error, not kill it.
struct NoSigPipe<'a>(&'a UnixStream);

impl Write for NoSigPipe<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        use std::os::fd::AsRawFd;
        // SAFETY: the pointer and length describe `buf`, a live slice.
        let n = unsafe {
            libc::send(
                self.0.as_raw_fd(),
                buf.as_ptr() as *const c_void,
                buf.len(),
                libc::MSG_NOSIGNAL,
            )
        };
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(n as usize)
    }

    /// One `sendmsg` for a frame's header and data.
    fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
        use std::os::fd::AsRawFd;
        // SAFETY: an all-zero msghdr is valid (no name, no control data).
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        // IoSlice is ABI compatible with struct iovec.
        msg.msg_iov = bufs.as_ptr() as *mut libc::iovec;
        msg.msg_iovlen = bufs.len() as _;
        // SAFETY: msg_iov points to `bufs.len()` live iovecs.
        let n = unsafe { libc::sendmsg(self.0.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(n as usize)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_distinct_per_device() {
        assert_eq!(target_of("changer0"), 0);
        assert_eq!(target_of("drive0"), 1);
        assert_eq!(target_of("drive7"), 8);
        assert_eq!(scsi_type("changer0"), 8);
        assert_eq!(scsi_type("drive3"), 1);
    }

    #[test]
    fn only_sg_requests_are_intercepted() {
        assert!(is_sg_request(SG_IO));
        assert!(is_sg_request(SCSI_IOCTL_GET_IDLUN));
        assert!(!is_sg_request(libc::TIOCGWINSZ as c_ulong));
        assert!(!is_sg_request(libc::FIONREAD as c_ulong));
    }

    #[test]
    fn header_layout_matches_the_kernel() {
        // struct sg_io_hdr is 88 bytes on LP64 (include/scsi/sg.h).
        assert_eq!(std::mem::size_of::<SgIoHdr>(), 88);
        assert_eq!(std::mem::size_of::<SgScsiId>(), 32);
    }
}
