//! export: tapes leave the archive with everything needed to read them elsewhere. For each
//! tape the LTFS index is brought up to date (deleted objects dropped), an export document
//! listing every instance on it is written to the data directory, the tape is ejected, and
//! in one catalog transaction its instances leave the catalog (objects with no other
//! instance with them) and it becomes EXPORTED. A tape already ejected is exported where
//! it is, so an interrupted export can simply be submitted again.

use std::path::PathBuf;
use std::sync::Arc;

use tapelib_ltfs::{MountOptions, Volume};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::export_document::{ExportDocument, ExportedFile, ExportedObject, ExportedTape};
use super::insert::with_idle_drive;
use super::tape::{self, lt, Checkpoint};
use super::{eject, OpContext, OpOutcome};
use crate::catalog::{TapeRecord, TapeState};
use crate::engine::{OpError, OpResult};
use crate::library::TapeLibrary;
use crate::request::{DivaStatusCode, ExportParams, RequestResult, RequestState};

pub(crate) fn run(ctx: &mut OpContext, p: &ExportParams) -> OpResult<OpOutcome> {
    let exported = OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default();
    let mut tapes = Vec::new();
    let mut barcodes = Vec::new();
    let mut objects_gone = 0u64;
    let mut failed = Vec::new();
    for barcode in &p.barcodes {
        Checkpoint::new(ctx).check()?;
        match export_one(ctx, barcode, &p.comment, &exported) {
            Ok((entry, gone)) => {
                ctx.nothing_done = false;
                tapes.push(entry);
                barcodes.push(barcode.clone());
                objects_gone += gone;
            }
            Err(e @ (OpError::Cancelled | OpError::ShuttingDown)) => {
                ctx.partial_result = Some(result(
                    &p.comment,
                    &exported,
                    &tapes,
                    &barcodes,
                    objects_gone,
                ));
                return Err(e);
            }
            Err(e) => failed.push(format!("{barcode}: {e}")),
        }
    }
    if barcodes.is_empty() {
        return Err(OpError::diva(
            DivaStatusCode::DivaErrInternal,
            format!("no tape was exported: {}", failed.join("; ")),
        ));
    }
    let result = result(&p.comment, &exported, &tapes, &barcodes, objects_gone);
    if failed.is_empty() {
        Ok(OpOutcome::completed(result))
    } else {
        Ok(OpOutcome {
            state: RequestState::PartiallyCompleted,
            result,
            reason: Some(failed.join("; ")),
        })
    }
}

fn result(
    comments: &str,
    exported: &str,
    tapes: &[ExportedTape],
    barcodes: &[String],
    object_count: u64,
) -> RequestResult {
    RequestResult::Export {
        document: ExportDocument {
            exported: exported.to_string(),
            comments: comments.to_string(),
            tapes: tapes.to_vec(),
        }
        .to_xml(),
        barcodes: barcodes.to_vec(),
        object_count,
    }
}

/// Where the export document of a tape is kept.
pub fn document_path(data_dir: &std::path::Path, barcode: &str) -> PathBuf {
    data_dir.join("exports").join(format!("{barcode}.xml"))
}

fn export_one(
    ctx: &mut OpContext,
    barcode: &str,
    comment: &str,
    exported: &str,
) -> OpResult<(ExportedTape, u64)> {
    let tape = ctx.catalog().get_tape(barcode)?.ok_or_else(|| {
        OpError::diva(
            DivaStatusCode::DivaErrTapeDoesntExist,
            format!("tape {barcode} is not known"),
        )
    })?;
    if tape.state == TapeState::Exported {
        return Err(OpError::invalid(format!(
            "tape {barcode} is exported already"
        )));
    }
    if tape.state == TapeState::Repacking {
        return Err(OpError::invalid(format!(
            "tape {barcode} is being repacked; export it when the repack ends"
        )));
    }
    if !tape.pending_removals.is_empty() {
        if tape.online {
            drop_removed_files(ctx, &tape)?;
        } else {
            // An ejected tape cannot be rewritten: its document is what tells the truth.
            tracing::warn!(%barcode, files = tape.pending_removals.len(), "exporting an ejected tape whose index still lists deleted files");
        }
    }
    let entry = describe(ctx, &tape)?;
    let doc = ExportDocument {
        exported: exported.to_string(),
        comments: comment.to_string(),
        tapes: vec![entry.clone()],
    };
    let path = document_path(&super::data_dir(ctx.shared()), barcode);
    write_document(&path, &doc.to_xml()).map_err(|e| {
        OpError::diva(
            DivaStatusCode::DivaErrInternal,
            format!("cannot write the export document {}: {e}", path.display()),
        )
    })?;
    ctx.progress.phase(format!(
        "export document of {barcode} written to {}",
        path.display()
    ));
    if tape.online {
        eject::eject_one(ctx, barcode, comment)?;
    }
    let actor = ctx.actor();
    let reason = if comment.is_empty() {
        format!("exported by request {}", ctx.request.id)
    } else {
        format!("exported by request {}: {comment}", ctx.request.id)
    };
    let (_, gone) = ctx.catalog().export_tape(barcode, &reason, &actor)?;
    tracing::info!(%barcode, objects = entry.objects.len(), removed_objects = gone.len(), document = %path.display(), "tape exported");
    Ok((entry, gone.len() as u64))
}

fn write_document(path: &std::path::Path, xml: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("xml.tmp");
    std::fs::write(&tmp, xml)?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// The document entry of a tape from the catalog.
fn describe(ctx: &OpContext, tape: &TapeRecord) -> OpResult<ExportedTape> {
    let mut objects = Vec::new();
    for inst in ctx.catalog().instances_on_tape(&tape.barcode)? {
        let object = ctx
            .catalog()
            .get_object(&inst.collection, &inst.name)?
            .ok_or_else(|| {
                OpError::diva(
                    DivaStatusCode::DivaErrInternal,
                    format!(
                        "instance {} names missing object {}/{}",
                        inst.id, inst.collection, inst.name
                    ),
                )
            })?;
        let mut files = Vec::with_capacity(inst.files.len());
        for f in &inst.files {
            let o = object
                .files
                .iter()
                .find(|o| o.path == f.path)
                .ok_or_else(|| {
                    OpError::diva(
                        DivaStatusCode::DivaErrInternal,
                        format!(
                            "instance {} lists {}, not a file of the object",
                            inst.id, f.path
                        ),
                    )
                })?;
            files.push(ExportedFile {
                path: f.path.clone(),
                size: o.size,
                crc32: o.crc32,
                tape: f.tape.clone(),
                ltfs_path: f.ltfs_path.clone(),
                partition: f.position.map(|p| p.partition),
                block: f.position.map(|p| p.block),
            });
        }
        objects.push(ExportedObject {
            collection: inst.collection.clone(),
            name: inst.name.clone(),
            archived: object.archived.format(&Rfc3339).unwrap_or_default(),
            instance: inst.id,
            tapes: inst.tapes.clone(),
            comments: object.comments.clone(),
            files,
        });
    }
    Ok(ExportedTape {
        barcode: tape.barcode.clone(),
        volume_uuid: tape.volume_uuid.clone(),
        generation: tape.generation,
        group: tape.group.clone(),
        objects,
    })
}

/// Drops deleted objects' files from the tape's index, so that whoever reads the tape's own
/// xattrs sees only what the export document lists.
fn drop_removed_files(ctx: &mut OpContext, tape: &TapeRecord) -> OpResult<()> {
    let barcode = tape.barcode.clone();
    let lib = ctx.library_of(tape)?;
    while !ctx.shared().reserve_tape(&barcode) {
        ctx.progress
            .phase(format!("waiting for the requests using {barcode}"));
        Checkpoint::new(ctx).check()?;
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    let r = with_tape_loaded(ctx, &lib, &barcode, |ctx, drive| {
        ctx.progress.phase(format!(
            "dropping deleted files from the index of {barcode}"
        ));
        let pending = tape.pending_removals.clone();
        let b = barcode.clone();
        let removed = tape::on_drive(&lib, drive, "export", move |d| {
            let (mut vol, _) = Volume::mount(&mut *d, MountOptions::default()).map_err(lt(&b))?;
            let mut removed = Vec::new();
            for p in &pending {
                match tape::remove_tree(&mut vol, p) {
                    Ok(()) => {
                        if let Some(i) = p.rfind('/') {
                            tape::prune_empty_dirs(&mut vol, &p[..i]);
                        }
                        removed.push(p.clone());
                    }
                    // Already gone from the index (an earlier attempt): nothing to do.
                    Err(tapelib_ltfs::LtfsError::NotFound(_)) => removed.push(p.clone()),
                    Err(e) => return Err(OpError::ltfs(&b, e)),
                }
            }
            vol.unmount().map_err(lt(&b))?;
            Ok(removed)
        })?;
        ctx.catalog().update_tape(&barcode, |t| {
            t.pending_removals.retain(|p| !removed.contains(p));
            Ok(())
        })?;
        Ok(())
    });
    ctx.shared().release_tape(&barcode);
    r
}

/// Runs `f` with `barcode` loaded in a drive this request holds: the drive that has it
/// already (once idle), else any idle drive.
pub(crate) fn with_tape_loaded<R>(
    ctx: &mut OpContext,
    lib: &Arc<TapeLibrary>,
    barcode: &str,
    f: impl FnOnce(&mut OpContext, &str) -> OpResult<R>,
) -> OpResult<R> {
    if let Some(d) = lib
        .drives()
        .into_iter()
        .find(|d| d.loaded.as_deref() == Some(barcode))
    {
        ctx.wait_for_drive(&d.name)?;
        let r = f(ctx, &d.name);
        ctx.shared().release_drive(&d.name);
        return r;
    }
    let lib2 = lib.clone();
    with_idle_drive(ctx, lib, &format!("load {barcode}"), |ctx, drive| {
        lib2.mount(barcode, drive)?;
        f(ctx, drive)
    })
}
