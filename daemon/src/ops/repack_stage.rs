//! One-drive repack staging: a whole batch of instances lying wholly on the source tape is
//! read into the disk cache in ONE mount of the source, files in tape position order.
//!
//! Mounting an LTFS volume reads its labels and index; doing it once per batch instead of
//! once per object is what keeps the one-drive path near the tape's streaming rate. Each
//! file's size and CRC-32 are checked against the catalog while it is read: a mismatch or
//! an unreadable file fails its object only (named in the failures), and the object's
//! later files are skipped. A failed drive ends the batch with the error.

use std::sync::Arc;

use tapelib_ltfs::{MountOptions, TapeDevice, Volume};

use super::restore;
use super::tape::{self, lt, Checkpoint};
use super::OpContext;
use crate::catalog::{InstanceRecord, ObjectFile, ObjectRecord, TapePosition};
use crate::engine::{OpError, OpResult};
use crate::request::DivaStatusCode;
use crate::servers::Server;

/// One file to stage: the item it belongs to, its LTFS path and its catalog entry.
struct StageFile {
    item: usize,
    ltfs_path: String,
    file: ObjectFile,
    position: Option<TapePosition>,
}

/// Whether every file of `inst` lies on `barcode` (it can be staged in the batch mount).
pub(crate) fn wholly_on(inst: &InstanceRecord, barcode: &str) -> bool {
    inst.tapes.iter().all(|t| t == barcode) && inst.files.iter().all(|f| f.tape == barcode)
}

/// Reads the files of `batch` (each wholly on `barcode`) into `cache` under
/// `<instance id>/<path>`, in one mount. Returns, per item, `None` when it is staged whole
/// and matched the catalog, else the reason it failed. `Err` is for what ends the request
/// (cancel, shutdown, a failed drive).
pub(crate) fn stage(
    ctx: &mut OpContext,
    barcode: &str,
    batch: &[(&InstanceRecord, &ObjectRecord)],
    cache: &Arc<Server>,
) -> OpResult<Vec<Option<String>>> {
    let mut files = Vec::new();
    for (n, (inst, object)) in batch.iter().enumerate() {
        for f in &inst.files {
            let o = object
                .files
                .iter()
                .find(|o| o.path == f.path)
                .ok_or_else(|| {
                    OpError::diva(
                        DivaStatusCode::DivaErrInternal,
                        format!("instance file {} is not a file of the object", f.path),
                    )
                })?;
            files.push(StageFile {
                item: n,
                ltfs_path: f.ltfs_path.clone(),
                file: o.clone(),
                position: f.position,
            });
        }
    }
    // One pass down the tape; files without a known position go last.
    files.sort_by_key(|f| (f.position.is_none(), f.position));
    let roots: Vec<String> = batch.iter().map(|(i, _)| i.id.to_string()).collect();
    let n_items = batch.len();
    if files.is_empty() {
        return Ok(vec![None; n_items]);
    }
    let (lib, drive) = ctx.drive_and_library()?;
    Checkpoint::new(ctx).check()?;
    // Another request writing to the source finishes first.
    ctx.wait_for_tape(barcode)?;
    let r = (|| {
        tape::mount(ctx, barcode)?;
        let check = Checkpoint::new(ctx);
        let cache = cache.clone();
        let barcode_s = barcode.to_string();
        tape::on_drive(&lib, &drive, "repack stage", move |d| {
            stage_on_drive(d, &barcode_s, &files, &roots, n_items, &cache, &check)
        })
    })();
    ctx.give_back_tape(barcode);
    let (failed, stop) = r?;
    if let Some(e) = stop {
        return Err(e);
    }
    Ok(failed)
}

/// The per-item outcome, and the error that stopped the batch, if one did.
type Staged = (Vec<Option<String>>, Option<OpError>);

fn stage_on_drive(
    d: tape::Dev<'_>,
    barcode: &str,
    files: &[StageFile],
    roots: &[String],
    n_items: usize,
    cache: &Server,
    check: &Checkpoint,
) -> OpResult<Staged> {
    let mut failed: Vec<Option<String>> = vec![None; n_items];
    let options = MountOptions {
        read_only: true,
        ..Default::default()
    };
    let mut vol = match Volume::mount(&mut *d, options).map_err(lt(barcode)) {
        Ok((v, _)) => v,
        Err(e) if e.drive_failed() => return Err(e),
        Err(e) => {
            // Nothing of the batch can be read: every object fails, the source is kept.
            let reason = e.to_string();
            return Ok((vec![Some(reason); n_items], None));
        }
    };
    for f in files {
        if failed[f.item].is_some() {
            continue;
        }
        if let Err(e) = check.check() {
            return Ok((failed, Some(e)));
        }
        match stage_file(&mut vol, barcode, f, &roots[f.item], cache) {
            Ok(()) => {}
            Err(e) if e.drive_failed() => return Ok((failed, Some(e))),
            Err(e) => {
                tracing::warn!(%barcode, path = %f.ltfs_path, error = %e, "cannot stage a file to repack");
                failed[f.item] = Some(e.to_string());
            }
        }
    }
    Ok((failed, None))
}

/// Reads one file into the cache, committing it only when its size and CRC-32 match.
fn stage_file<D: TapeDevice>(
    vol: &mut Volume<D>,
    barcode: &str,
    f: &StageFile,
    root: &str,
    cache: &Server,
) -> OpResult<()> {
    let out = cache.create_destination(Some(root), &f.file.path, true)?;
    // Staging is not progress: bytes count once they are on the destination tape.
    restore::read_checked(vol, barcode, &f.ltfs_path, &f.file, out, cache, None)?;
    Ok(())
}
