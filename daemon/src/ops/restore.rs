//! restore: an object (or a chosen instance) to a destination server. Files are read tape
//! by tape in position order, checked against the catalog's CRC-32 while they stream, and
//! appear under their final names only once complete and correct.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;

use tapelib_ltfs::{MountOptions, TapeDevice, Volume};

use super::tape::{self, lt, Checkpoint, CrcWriter};
use super::{choose_instance, OpContext, OpOutcome};
use crate::catalog::{InstanceFile, InstanceRecord, ObjectFile, ObjectRecord};
use crate::engine::{OpError, OpResult, Progress};
use crate::library::TapeLibrary;
use crate::request::{DivaStatusCode, RequestResult, RestoreParams};
use crate::servers::{DestinationFile, Server, ServerError};

/// Where restored files go.
#[derive(Clone)]
pub(crate) struct Destination {
    pub server: Arc<Server>,
    pub root: Option<String>,
    pub overwrite: bool,
    /// A file already at the destination with the right size and CRC-32 counts as restored
    /// (a restore that runs again after a restart).
    pub accept_identical: bool,
}

pub(crate) fn run(ctx: &mut OpContext, p: &RestoreParams) -> OpResult<OpOutcome> {
    let inst = choose_instance(ctx.shared(), &p.collection, &p.name, p.instance)?;
    let object = ctx
        .catalog()
        .get_object(&p.collection, &p.name)?
        .ok_or_else(|| {
            OpError::diva(
                DivaStatusCode::DivaErrObjectDoesntExist,
                format!("object {}/{} does not exist", p.collection, p.name),
            )
        })?;
    let server = ctx.servers().get(&p.destination_server)?;
    let resumed = ctx.request.attempts > 1;
    if !resumed {
        let paths: Vec<String> = object.files.iter().map(|f| f.path.clone()).collect();
        server.check_destination(p.file_path_root.as_deref(), &paths, p.overwrite)?;
    }
    let dest = Destination {
        server,
        root: p.file_path_root.clone(),
        overwrite: p.overwrite,
        accept_identical: resumed,
    };
    let (files, bytes) = read_instance(ctx, &object, &inst, &dest)?;
    Ok(OpOutcome::completed(RequestResult::Restore {
        instance_id: inst.id,
        barcodes: inst.tapes.clone(),
        file_count: files,
        bytes,
    }))
}

/// The instance's files grouped by tape, tapes in written order, files by position.
pub(crate) fn read_plan(inst: &InstanceRecord) -> Vec<(String, Vec<&InstanceFile>)> {
    let mut out: Vec<(String, Vec<&InstanceFile>)> =
        inst.tapes.iter().map(|t| (t.clone(), Vec::new())).collect();
    for f in &inst.files {
        match out.iter_mut().find(|(t, _)| t == &f.tape) {
            Some((_, v)) => v.push(f),
            None => out.push((f.tape.clone(), vec![f])),
        }
    }
    for (_, v) in &mut out {
        // Files without a known position go last, in catalog order.
        v.sort_by_key(|f| (f.position.is_none(), f.position));
    }
    out.retain(|(_, v)| !v.is_empty());
    out
}

/// Reads every file of `inst` to `dest`. Returns (files, bytes).
pub(crate) fn read_instance(
    ctx: &mut OpContext,
    object: &ObjectRecord,
    inst: &InstanceRecord,
    dest: &Destination,
) -> OpResult<(u64, u64)> {
    let (lib, drive) = ctx.drive_and_library()?;
    ctx.progress.set_total(object.total_size);
    let sizes: HashMap<String, ObjectFile> = object
        .files
        .iter()
        .map(|f| (f.path.clone(), f.clone()))
        .collect();
    let mut files = 0u64;
    let mut bytes = 0u64;
    for (barcode, list) in read_plan(inst) {
        Checkpoint::new(ctx).check()?;
        // Another request writing to this tape finishes first.
        ctx.wait_for_tape(&barcode)?;
        let r = read_tape(ctx, &lib, &drive, &barcode, &list, &sizes, dest);
        ctx.give_back_tape(&barcode);
        let (f, b) = r?;
        files += f;
        bytes += b;
    }
    Ok((files, bytes))
}

fn read_tape(
    ctx: &mut OpContext,
    lib: &Arc<TapeLibrary>,
    drive: &str,
    barcode: &str,
    list: &[&InstanceFile],
    sizes: &HashMap<String, ObjectFile>,
    dest: &Destination,
) -> OpResult<(u64, u64)> {
    tape::mount(ctx, barcode)?;
    ctx.progress.phase(format!("reading from {barcode}"));
    let mut work: Vec<(InstanceFile, ObjectFile)> = Vec::new();
    for f in list {
        let o = sizes.get(&f.path).ok_or_else(|| {
            OpError::diva(
                DivaStatusCode::DivaErrInternal,
                format!("instance file {} is not a file of the object", f.path),
            )
        })?;
        work.push(((*f).clone(), o.clone()));
    }
    let barcode_s = barcode.to_string();
    let dest = dest.clone();
    let check = Checkpoint::new(ctx);
    let mut progress = ctx.progress.clone();
    let (r, progress) = tape::on_drive(lib, drive, "restore", move |d| {
        let r = read_on_drive(d, &barcode_s, &work, &dest, &check, &mut progress);
        Ok((r, progress))
    })?;
    ctx.progress = progress;
    r
}

/// CRC-32 and size of a file already at the destination, if it is there.
fn existing(dest: &Destination, path: &str) -> Option<(u64, u32)> {
    let mut f = dest.server.open_source(dest.root.as_deref(), path).ok()?;
    let mut h = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => {
                h.update(&buf[..k]);
                n += k as u64;
            }
            Err(_) => return None,
        }
    }
    Some((n, h.finalize()))
}

fn read_on_drive(
    d: tape::Dev<'_>,
    barcode: &str,
    work: &[(InstanceFile, ObjectFile)],
    dest: &Destination,
    check: &Checkpoint,
    progress: &mut Progress,
) -> OpResult<(u64, u64)> {
    let options = MountOptions {
        read_only: true,
        ..Default::default()
    };
    let (mut vol, _) = Volume::mount(&mut *d, options).map_err(lt(barcode))?;
    let mut files = 0u64;
    let mut bytes = 0u64;
    for (f, o) in work {
        check.check()?;
        if dest.accept_identical && existing(dest, &o.path) == Some((o.size, o.crc32)) {
            progress.add(o.size);
            files += 1;
            bytes += o.size;
            continue;
        }
        let overwrite = dest.overwrite || dest.accept_identical;
        let out = dest
            .server
            .create_destination(dest.root.as_deref(), &o.path, overwrite)?;
        let n = read_checked(
            &mut vol,
            barcode,
            &f.ltfs_path,
            o,
            out,
            &dest.server,
            &mut *progress,
        )?;
        files += 1;
        bytes += n;
    }
    Ok((files, bytes))
}

/// Reads `ltfs_path` into `out` (a new file `file.path` on `server`) and commits it only when
/// its size and CRC-32 match the catalog's `file`; otherwise the temporary file goes away.
/// A failing write is the destination's error, not the tape's.
pub(crate) fn read_checked<'p, D: TapeDevice>(
    vol: &mut Volume<D>,
    barcode: &str,
    ltfs_path: &str,
    file: &ObjectFile,
    out: DestinationFile,
    server: &Server,
    progress: impl Into<Option<&'p mut Progress>>,
) -> OpResult<u64> {
    let mut w = CrcWriter::new(out, progress);
    let n = vol.read_file(ltfs_path, &mut w).map_err(|e| match e {
        tapelib_ltfs::LtfsError::Io { source, .. } => OpError::Server(ServerError::Io {
            server: server.name().to_string(),
            path: file.path.clone(),
            source,
        }),
        e => OpError::ltfs(barcode, e),
    })?;
    let crc = w.crc();
    if n != file.size || crc != file.crc32 {
        return Err(OpError::Checksum {
            barcode: barcode.to_string(),
            path: ltfs_path.to_string(),
            expected: file.crc32,
            computed: crc,
        });
    }
    w.inner.commit()?;
    Ok(n)
}
