//! repack: the live instances of a tape move to other ACTIVE tapes of a group, and the tape
//! is then reformatted to scratch (or left EMPTY and DISABLED for the operator).
//!
//! With a second idle drive the source is read on the request's drive and the destination
//! written on the other, streaming through a bounded memory buffer (see `repack_stream`).
//! With one drive, and for instances that span tapes, objects are read into the data
//! directory in batches bounded by `limits.repack_cache_bytes`: the instances of a batch
//! lying wholly on the source are read in one mount of it, in tape position order
//! (`repack_stage`); those spanning tapes mount each of their tapes. The batch is then
//! written in one mount of the destination.
//!
//! Either way an object switches to its new instance in one catalog transaction, only after
//! the new copy is on tape with an index covering it and its CRC-32s matched while reading:
//! the object never has fewer readable instances. A repack that is interrupted runs again
//! and finds only the instances not moved yet.

use std::collections::{BTreeMap, HashSet};

use tapelib_ltfs::FormatOptions;
use time::OffsetDateTime;

use super::archive::{self, Source, WriteJob};
use super::repack_stage;
use super::repack_stream::{self, Item, Origin, Tally};
use super::restore::{self, Destination};
use super::tape::{self, lt, Checkpoint};
use super::{OpContext, OpOutcome};
use crate::catalog::{InstanceRecord, NewInstance, ObjectFile, ObjectRecord, TapeState};
use crate::config::ServerConfig;
use crate::engine::{OpError, OpResult};
use crate::request::{DivaStatusCode, RepackParams, RepackRetire, RequestResult, RequestState};
use crate::servers::{Servers, SourceFile};

pub(crate) fn run(ctx: &mut OpContext, p: &RepackParams) -> OpResult<OpOutcome> {
    let barcode = p.barcode.as_str();
    let tape = ctx.catalog().get_tape(barcode)?.ok_or_else(|| {
        OpError::diva(
            DivaStatusCode::DivaErrTapeDoesntExist,
            format!("tape {barcode} is not known"),
        )
    })?;
    if !tape.online || tape.library.is_none() {
        return Err(OpError::diva(
            DivaStatusCode::DivaErrObjectOffline,
            format!("tape {barcode} is not in a library"),
        ));
    }
    // A run resumed after a crash during the retirement finds nothing live and the tape
    // already out of its group: it only finishes the retirement.
    let live = !ctx.catalog().instances_on_tape(barcode)?.is_empty();
    let group = match (&p.target_group, &tape.group) {
        (Some(g), _) | (None, Some(g)) => g.clone(),
        (None, None) if !live => String::new(),
        (None, None) => {
            return Err(OpError::invalid(format!(
                "tape {barcode} belongs to no group: name the group to write to"
            )))
        }
    };
    if live && ctx.catalog().get_group(&group)?.is_none() {
        return Err(OpError::diva(
            DivaStatusCode::DivaErrGroupDoesntExist,
            format!("tape group {group} does not exist"),
        ));
    }
    let actor = ctx.actor();
    // The state before the repack, to return to when live data stays behind.
    let prior = match tape.state {
        TapeState::Repacking => TapeState::Disabled,
        TapeState::Active | TapeState::Full | TapeState::Disabled => {
            ctx.catalog().set_tape_state(
                barcode,
                TapeState::Repacking,
                Some(&format!("repack by request {}", ctx.request.id)),
                &actor,
            )?;
            ctx.nothing_done = false;
            tape.state
        }
        s => {
            return Err(OpError::invalid(format!(
                "tape {barcode} is {s:?} and cannot be repacked"
            )))
        }
    };
    let used_before = tape.used_bytes;
    let dir = super::data_dir(ctx.shared())
        .join("staging")
        .join(format!("repack-{}", ctx.request.id));
    // Leftovers of an interrupted attempt are not trusted.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| {
        OpError::diva(
            DivaStatusCode::DivaErrInternal,
            format!("cannot create the repack cache {}: {e}", dir.display()),
        )
    })?;
    let moved = move_instances(ctx, barcode, &group, &dir);
    if let Err(e) = std::fs::remove_dir_all(&dir) {
        tracing::warn!(dir = %dir.display(), error = %e, "cannot remove the repack cache");
    }
    let (bytes_moved, destinations, failed) = match moved {
        Ok(m) => m,
        Err(e) => {
            if !matches!(e, OpError::ShuttingDown) {
                restore_state(ctx, barcode, prior, &format!("repack stopped: {e}"));
            }
            return Err(e);
        }
    };
    let result = RequestResult::Repack {
        bytes_moved,
        // Deleted data's space comes back only when the whole tape is rewritten.
        bytes_reclaimed: if failed.is_empty() {
            used_before.saturating_sub(bytes_moved)
        } else {
            0
        },
        destination_barcodes: destinations,
    };
    if !failed.is_empty() {
        restore_state(
            ctx,
            barcode,
            prior,
            &format!("repack left {} object(s) behind", failed.len()),
        );
        return Ok(OpOutcome {
            state: RequestState::PartiallyCompleted,
            reason: Some(format!(
                "{} object(s) not moved; {barcode} was kept: {}",
                failed.len(),
                failed.join("; ")
            )),
            result,
        });
    }
    retire(ctx, barcode, p.retire)?;
    Ok(OpOutcome::completed(result))
}

fn restore_state(ctx: &OpContext, barcode: &str, to: TapeState, why: &str) {
    let actor = ctx.actor();
    let reason = (to != TapeState::Active).then_some(why);
    if let Err(e) = ctx.catalog().set_tape_state(barcode, to, reason, &actor) {
        tracing::error!(%barcode, error = %e, "cannot take the tape out of REPACKING");
    }
}

type Moved = (u64, Vec<String>, Vec<String>);

/// Moves every live instance off `barcode`: streamed to a second drive when one is free,
/// the rest (or everything, with one drive) through the disk cache. Returns the bytes
/// moved, the destination tapes and the objects that could not be moved, as
/// "collection/name: reason".
fn move_instances(
    ctx: &mut OpContext,
    barcode: &str,
    group: &str,
    dir: &std::path::Path,
) -> OpResult<Moved> {
    let mut work: Vec<(InstanceRecord, ObjectRecord)> = Vec::new();
    for inst in ctx.catalog().instances_on_tape(barcode)? {
        let object = ctx
            .catalog()
            .get_object(&inst.collection, &inst.name)?
            .ok_or_else(|| {
                OpError::diva(
                    DivaStatusCode::DivaErrInternal,
                    format!("instance {} names a missing object", inst.id),
                )
            })?;
        work.push((inst, object));
    }
    // Read in the order the data lies on the source tape.
    work.sort_by_key(|(inst, _)| {
        inst.files
            .iter()
            .filter(|f| f.tape == barcode)
            .filter_map(|f| f.position)
            .min()
    });
    let mut tally = Tally {
        objects_total: work.len() as u64,
        bytes_total: work.iter().map(|(_, o)| o.total_size).sum(),
        ..Tally::default()
    };
    ctx.progress.set_total(tally.bytes_total);
    let mut failed = Vec::new();
    let mut destinations: Vec<String> = Vec::new();
    let second = if work.is_empty() {
        None
    } else {
        let (lib, _) = ctx.drive_and_library()?;
        ctx.shared()
            .claim_idle_drive(&lib, false)
            .map(|d| DriveClaim {
                shared: ctx.shared().clone(),
                drive: d,
            })
    };
    if let Some(claim) = &second {
        let (items, rest) = stream_items(ctx, barcode, work)?;
        tracing::info!(source = %barcode, dest_drive = %claim.drive, objects = items.len(), "repack streams to a second drive");
        let out = repack_stream::stream(
            ctx,
            barcode,
            Origin::Tape,
            group,
            &claim.drive,
            items,
            &mut tally,
        )?;
        destinations = out.destinations;
        failed = out.failed;
        work = rest;
        work.extend(out.left.into_iter().map(|i| (i.inst, i.object)));
    }
    drop(second);
    if !work.is_empty() {
        let (d, f) = move_through_cache(ctx, barcode, group, dir, &work, &mut tally)?;
        for t in d {
            if !destinations.contains(&t) {
                destinations.push(t);
            }
        }
        failed.extend(f);
    }
    Ok((tally.bytes, destinations, failed))
}

/// A drive taken for the writing side of a repack, given back when dropped.
struct DriveClaim {
    shared: std::sync::Arc<crate::engine::Shared>,
    drive: String,
}

impl Drop for DriveClaim {
    fn drop(&mut self) {
        self.shared.release_drive(&self.drive);
    }
}

/// Splits the work into instances that lie wholly on the source (streamed) and the rest
/// (instances spanning tapes, read through the cache).
#[allow(clippy::type_complexity)]
fn stream_items(
    ctx: &OpContext,
    barcode: &str,
    work: Vec<(InstanceRecord, ObjectRecord)>,
) -> OpResult<(Vec<Item>, Vec<(InstanceRecord, ObjectRecord)>)> {
    let mut items = Vec::new();
    let mut rest = Vec::new();
    for (inst, object) in work {
        if inst.tapes.iter().any(|t| t != barcode) || inst.files.iter().any(|f| f.tape != barcode) {
            rest.push((inst, object));
            continue;
        }
        let mut files: Vec<(&crate::catalog::InstanceFile, ObjectFile)> = Vec::new();
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
            files.push((f, o.clone()));
        }
        files.sort_by_key(|(f, _)| (f.position.is_none(), f.position));
        let mut avoid = HashSet::new();
        for i in ctx.catalog().list_instances(&inst.collection, &inst.name)? {
            avoid.extend(i.tapes);
        }
        let files = files
            .into_iter()
            .map(|(f, o)| (f.ltfs_path.clone(), o))
            .collect();
        items.push(Item {
            inst,
            object,
            files,
            avoid,
        });
    }
    Ok((items, rest))
}

/// One drive: reads a batch of objects into the disk cache, then writes it out.
fn move_through_cache(
    ctx: &mut OpContext,
    barcode: &str,
    group: &str,
    dir: &std::path::Path,
    work: &[(InstanceRecord, ObjectRecord)],
    tally: &mut Tally,
) -> OpResult<(Vec<String>, Vec<String>)> {
    let mut map = BTreeMap::new();
    map.insert(
        "repack-cache".to_string(),
        ServerConfig {
            root: dir.to_path_buf(),
        },
    );
    let cache = Servers::from_config(&map)?.get("repack-cache")?;
    let limit = ctx.shared().state.config.limits.repack_cache_bytes.max(1);
    let mut failed = Vec::new();
    let mut destinations: Vec<String> = Vec::new();
    let mut next = 0;
    while next < work.len() {
        // A batch: as many objects as the cache holds (at least one).
        let mut end = next;
        let mut staged = 0u64;
        while end < work.len() && (end == next || staged + work[end].1.total_size <= limit) {
            staged += work[end].1.total_size;
            end += 1;
        }
        let batch = &work[next..end];
        // Instances wholly on the source are staged together in one mount of it; those
        // spanning tapes are read one by one, mounting each of their tapes.
        let (whole, spanning): (Vec<_>, Vec<_>) = batch
            .iter()
            .map(|(i, o)| (i, o))
            .partition(|(i, _)| repack_stage::wholly_on(i, barcode));
        let mut ready = Vec::new();
        if !whole.is_empty() {
            Checkpoint::new(ctx).check()?;
            ctx.progress.phase(tally.phase(
                barcode,
                &format!("reading {} objects into the cache", whole.len()),
            ));
            let staged = repack_stage::stage(ctx, barcode, &whole, &cache)?;
            for ((inst, object), failure) in whole.into_iter().zip(staged) {
                match failure {
                    None => ready.push((inst, object)),
                    Some(e) => failed.push(format!("{}/{}: {e}", inst.collection, inst.name)),
                }
            }
        }
        for (inst, object) in spanning {
            Checkpoint::new(ctx).check()?;
            ctx.progress.phase(tally.phase(
                barcode,
                &format!("reading {}/{} into the cache", inst.collection, inst.name),
            ));
            let dest = Destination {
                server: cache.clone(),
                root: Some(inst.id.to_string()),
                overwrite: true,
                accept_identical: false,
            };
            // Progress counts bytes on their destination tape only.
            let before = ctx.progress.done();
            let r = restore::read_instance(ctx, object, inst, &dest);
            ctx.progress
                .rewind(ctx.progress.done().saturating_sub(before));
            ctx.progress.set_total(tally.bytes_total);
            match r {
                Ok(_) => ready.push((inst, object)),
                Err(e) if stops(&e) => return Err(e),
                Err(e) => failed.push(format!("{}/{}: {e}", inst.collection, inst.name)),
            }
        }
        // Write in source order, whichever way each object was staged.
        let order: std::collections::HashMap<u64, usize> = batch
            .iter()
            .enumerate()
            .map(|(n, (i, _))| (i.id, n))
            .collect();
        ready.sort_by_key(|(i, _)| order.get(&i.id).copied());
        // The staged batch goes out in one mount of the destination, with an index per
        // sync interval rather than per object.
        let mut items = Vec::new();
        for (inst, object) in ready {
            let mut avoid = HashSet::new();
            for i in ctx.catalog().list_instances(&inst.collection, &inst.name)? {
                avoid.extend(i.tapes);
            }
            items.push(Item {
                inst: inst.clone(),
                object: object.clone(),
                files: object
                    .files
                    .iter()
                    .map(|f| (String::new(), f.clone()))
                    .collect(),
                avoid,
            });
        }
        let (_, drive) = ctx.drive_and_library()?;
        let out = repack_stream::stream(
            ctx,
            barcode,
            Origin::Cache(dir),
            group,
            &drive,
            items,
            tally,
        )?;
        for t in out.destinations {
            if !destinations.contains(&t) {
                destinations.push(t);
            }
        }
        failed.extend(out.failed);
        // What needs another tape than the batch's, or spans tapes, goes one by one.
        for item in out.left {
            let (inst, object) = (&item.inst, &item.object);
            Checkpoint::new(ctx).check()?;
            ctx.progress.phase(tally.phase(
                barcode,
                &format!("writing {}/{} to group {group}", inst.collection, inst.name),
            ));
            let before = ctx.progress.done();
            let r = write_copy(ctx, inst, object, group, &cache);
            if r.is_err() {
                ctx.progress
                    .rewind(ctx.progress.done().saturating_sub(before));
            }
            ctx.progress.set_total(tally.bytes_total);
            match r {
                Ok(tapes) => {
                    tally.objects += 1;
                    tally.bytes += object.total_size;
                    for t in tapes {
                        if !destinations.contains(&t) {
                            destinations.push(t);
                        }
                    }
                }
                Err(e) if stops(&e) => return Err(e),
                Err(e) => failed.push(format!("{}/{}: {e}", inst.collection, inst.name)),
            }
        }
        for (inst, _) in batch {
            let _ = std::fs::remove_dir_all(dir.join(inst.id.to_string()));
        }
        next = end;
    }
    Ok((destinations, failed))
}

/// Errors that end the whole request rather than one object's move.
fn stops(e: &OpError) -> bool {
    matches!(e, OpError::Cancelled | OpError::ShuttingDown) || e.drive_failed()
}

/// Writes the staged copy of `inst` to the group and switches the object to it.
fn write_copy(
    ctx: &mut OpContext,
    inst: &InstanceRecord,
    object: &ObjectRecord,
    group: &str,
    cache: &std::sync::Arc<crate::servers::Server>,
) -> OpResult<Vec<String>> {
    // Tapes holding an instance of the object already are not written again.
    let mut avoid = HashSet::new();
    for i in ctx.catalog().list_instances(&inst.collection, &inst.name)? {
        avoid.extend(i.tapes);
    }
    let job = WriteJob {
        collection: inst.collection.clone(),
        name: inst.name.clone(),
        group: group.to_string(),
        comments: object.comments.clone(),
        archived: object.archived,
        source: Source {
            server: cache.clone(),
            root: Some(inst.id.to_string()),
        },
        files: object
            .files
            .iter()
            .map(|f| SourceFile {
                path: f.path.clone(),
                size: f.size,
            })
            .collect(),
        avoid,
    };
    let written = archive::write_instance(ctx, &job)?;
    for w in &written.files {
        let ok = object
            .files
            .iter()
            .any(|o| o.path == w.path && o.crc32 == w.crc32 && o.size == w.size);
        if !ok {
            archive::forget_written(ctx, &written);
            return Err(OpError::invalid(format!(
                "{} changed in the repack cache (CRC-32 {:08x})",
                w.path, w.crc32
            )));
        }
    }
    let actor = ctx.actor();
    let new = NewInstance {
        group: group.to_string(),
        files: archive::instance_files(&written),
        created: OffsetDateTime::now_utc(),
    };
    if let Err(e) =
        ctx.catalog()
            .replace_instance(&inst.collection, &inst.name, inst.id, &new, &actor)
    {
        archive::forget_written(ctx, &written);
        return Err(e.into());
    }
    Ok(written.tapes)
}

/// The source holds nothing live any more: reformat it to scratch, or leave it EMPTY.
fn retire(ctx: &mut OpContext, barcode: &str, how: RepackRetire) -> OpResult<()> {
    let actor = ctx.actor();
    match how {
        RepackRetire::Empty => {
            ctx.catalog().set_tape_state(
                barcode,
                TapeState::Disabled,
                Some(&format!(
                    "repacked by request {}: no live data, left for the operator",
                    ctx.request.id
                )),
                &actor,
            )?;
        }
        RepackRetire::Scratch => {
            ctx.wait_for_tape(barcode)?;
            let r = reformat(ctx, barcode);
            ctx.give_back_tape(barcode);
            let uuid = r?;
            ctx.catalog().update_tape(barcode, |t| {
                t.used_bytes = 0;
                t.pending_removals.clear();
                t.volume_uuid = Some(uuid.clone());
                t.suspect = None;
                Ok(())
            })?;
            ctx.catalog()
                .set_tape_state(barcode, TapeState::Active, None, &actor)?;
            ctx.catalog().assign_tape_group(barcode, None, &actor)?;
            ctx.catalog().update_tape(barcode, |t| {
                t.scratch = true;
                Ok(())
            })?;
        }
    }
    Ok(())
}

fn reformat(ctx: &mut OpContext, barcode: &str) -> OpResult<String> {
    let (lib, drive) = ctx.drive_and_library()?;
    tape::mount(ctx, barcode)?;
    ctx.progress.phase(format!("reformatting {barcode}"));
    let b = barcode.to_string();
    tape::on_drive(&lib, &drive, "repack", move |d| {
        let vol = tapelib_ltfs::format(&mut *d, &FormatOptions::new(&tape::volser(&b), None))
            .map_err(lt(&b))?;
        let uuid = vol.label().volume_uuid.hyphenated().to_string();
        vol.unmount().map_err(lt(&b))?;
        Ok(uuid)
    })
}
