//! archive: files from a source server onto tapes of a group, as LTFS files under
//! `/<collection>/<name>/<path>` with `user.tapelib.*` extended attributes. The object is
//! committed to the catalog only after its data and an index covering it are on tape.
//! When a tape reaches early warning the object continues on another tape of the group.

use std::collections::HashSet;
use std::sync::Arc;

use tapelib_ltfs::index::Xattr;
use tapelib_ltfs::{FormatOptions, LtfsError, MountOptions, Volume};
use time::OffsetDateTime;

use super::tape::{self, lt, Checkpoint, CrcReader};
use super::{OpContext, OpOutcome};
use crate::catalog::{
    InstanceFile, NewInstance, ObjectFile, ObjectRecord, TapeLocation, TapePosition, TapeRecord,
    TapeState,
};
use crate::engine::{OpError, OpResult, Progress};
use crate::library::TapeLibrary;
use crate::request::{ArchiveParams, DivaStatusCode, RequestResult};
use crate::servers::{Server, SourceFile};

/// Objects live under the volume root: `/<collection>/<name>/...`.
pub const LTFS_OBJECT_ROOT: &str = "/";

/// Extended attribute keys (LTFS stores them without the `user.` prefix).
pub mod xattr_keys {
    pub const COLLECTION: &str = "user.tapelib.collection";
    pub const NAME: &str = "user.tapelib.name";
    pub const PATH: &str = "user.tapelib.path";
    pub const CRC32: &str = "user.tapelib.crc32";
    pub const ARCHIVED: &str = "user.tapelib.archived";
    pub const COMMENTS: &str = "user.tapelib.comments";
}

/// The LTFS directory of an object.
pub(crate) fn object_dir(collection: &str, name: &str) -> String {
    format!("{LTFS_OBJECT_ROOT}{collection}/{name}")
}

/// One file written to tape.
#[derive(Debug, Clone)]
pub(crate) struct WrittenFile {
    pub path: String,
    pub size: u64,
    pub crc32: u32,
    pub tape: String,
    pub ltfs_path: String,
    pub position: Option<TapePosition>,
}

/// Where the data of the files comes from.
#[derive(Clone)]
pub(crate) struct Source {
    pub server: Arc<Server>,
    pub root: Option<String>,
}

/// What goes on tape: an object's identity and its files.
pub(crate) struct WriteJob {
    pub collection: String,
    pub name: String,
    pub group: String,
    pub comments: String,
    pub archived: OffsetDateTime,
    pub source: Source,
    pub files: Vec<SourceFile>,
    /// Tapes that must not receive this instance (e.g. holding another instance of it).
    pub avoid: HashSet<String>,
}

/// Result of writing the files to tape.
pub(crate) struct Written {
    pub files: Vec<WrittenFile>,
    pub tapes: Vec<String>,
}

pub(crate) fn run(ctx: &mut OpContext, p: &ArchiveParams) -> OpResult<OpOutcome> {
    let server = ctx.servers().get(&p.source_server)?;
    ctx.progress.phase("collecting source files");
    let files = server.collect_sources(p.file_path_root.as_deref(), &p.files)?;
    if files.is_empty() {
        return Err(OpError::invalid("the archive names no regular file"));
    }
    if ctx.catalog().get_object(&p.collection, &p.name)?.is_some() {
        return Err(OpError::diva(
            DivaStatusCode::DivaErrObjectAlreadyExists,
            format!("object {}/{} already exists", p.collection, p.name),
        ));
    }
    if ctx.catalog().get_group(&p.group)?.is_none() {
        return Err(OpError::diva(
            DivaStatusCode::DivaErrGroupDoesntExist,
            format!("tape group {} does not exist", p.group),
        ));
    }
    let job = WriteJob {
        collection: p.collection.clone(),
        name: p.name.clone(),
        group: p.group.clone(),
        comments: p.comments.clone(),
        archived: OffsetDateTime::now_utc(),
        source: Source {
            server: server.clone(),
            root: p.file_path_root.clone(),
        },
        files,
        avoid: HashSet::new(),
    };
    let written = write_instance(ctx, &job)?;
    ctx.progress.phase("committing to the catalog");
    let object = ObjectRecord::new(
        &p.collection,
        &p.name,
        written
            .files
            .iter()
            .map(|f| ObjectFile {
                path: f.path.clone(),
                size: f.size,
                crc32: f.crc32,
            })
            .collect(),
        job.archived,
        &p.comments,
    )?;
    let instance = NewInstance {
        group: p.group.clone(),
        files: instance_files(&written),
        created: job.archived,
    };
    let actor = ctx.actor();
    let rec = match ctx.catalog().commit_archive(&object, &instance, &actor) {
        Ok(r) => r,
        Err(e) => {
            // The files are on tape but belong to nothing: drop them at the next write mount.
            forget_written(ctx, &written);
            return Err(e.into());
        }
    };
    ctx.nothing_done = false;
    if p.delete_on_source {
        ctx.progress.phase("deleting the source files");
        let paths: Vec<String> = written.files.iter().map(|f| f.path.clone()).collect();
        if let Err(e) = server.remove_sources(p.file_path_root.as_deref(), &paths) {
            return Ok(OpOutcome {
                state: crate::request::RequestState::PartiallyCompleted,
                result: archive_result(rec.id, &written),
                reason: Some(format!("archived, but the sources were not deleted: {e}")),
            });
        }
    }
    Ok(OpOutcome::completed(archive_result(rec.id, &written)))
}

fn archive_result(instance_id: u64, w: &Written) -> RequestResult {
    RequestResult::Archive {
        instance_id,
        barcodes: w.tapes.clone(),
        file_count: w.files.len() as u64,
        bytes: w.files.iter().map(|f| f.size).sum(),
    }
}

pub(crate) fn instance_files(w: &Written) -> Vec<InstanceFile> {
    w.files
        .iter()
        .map(|f| InstanceFile {
            path: f.path.clone(),
            tape: f.tape.clone(),
            ltfs_path: f.ltfs_path.clone(),
            position: f.position,
        })
        .collect()
}

/// Records the LTFS paths of written but uncommitted files as pending removals of their
/// tapes, so the next write mount drops them from the index.
pub(crate) fn forget_written(ctx: &OpContext, w: &Written) {
    forget_written_in(ctx.catalog(), w)
}

/// [`forget_written`] for code that holds the catalog but no context (a drive worker).
pub(crate) fn forget_written_in(catalog: &crate::catalog::Catalog, w: &Written) {
    for barcode in &w.tapes {
        let paths: Vec<String> = w
            .files
            .iter()
            .filter(|f| &f.tape == barcode)
            .map(|f| f.ltfs_path.clone())
            .collect();
        let r = catalog.update_tape(barcode, |t| {
            for p in &paths {
                if !t.pending_removals.contains(p) {
                    t.pending_removals.push(p.clone());
                }
            }
            Ok(())
        });
        if let Err(e) = r {
            tracing::error!(%barcode, error = %e, "cannot record files to drop from the index");
        }
    }
}

/// Whether a drive of generation `drive` writes media of generation `tape` (LTO drives
/// write their own generation and the one before; LTO-8 does not write LTO-6).
fn writes_generation(drive: Option<u8>, tape: Option<u8>) -> bool {
    match (drive, tape) {
        (Some(d), Some(t)) => t == d || t + 1 == d,
        _ => true,
    }
}

/// Every tape record (the catalog pages them).
pub(crate) fn all_tapes(ctx: &OpContext) -> OpResult<Vec<TapeRecord>> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = ctx
            .catalog()
            .list_tapes(cursor.as_ref(), crate::catalog::MAX_PAGE)?;
        out.extend(page.items);
        match page.next {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}

/// What a tape to write to must belong to, and the tapes it must not be.
pub(crate) struct TapeChoice<'a> {
    pub group: &'a str,
    pub avoid: &'a HashSet<String>,
}

/// Picks the tape to write to: the tape in the drive when it belongs to the group and has
/// room; else a group tape with room for everything left (the fullest such, to keep tapes
/// filling one by one); else a group tape with some room; else a scratch tape, which joins
/// the group.
pub(crate) fn choose_tape(
    ctx: &mut OpContext,
    job: &TapeChoice<'_>,
    lib: &TapeLibrary,
    drive: &str,
    excluded: &HashSet<String>,
    need: u64,
) -> OpResult<TapeRecord> {
    let info = lib.drive(drive)?;
    let drive_gen = info.identity.lto_generation;
    let group = ctx.catalog().get_group(job.group)?;
    let group_gen = group.as_ref().and_then(|g| g.generation);
    let usable = |t: &TapeRecord| {
        t.state == TapeState::Active
            && t.online
            && !t.foreign
            && t.library.as_deref() == Some(lib.name())
            && !excluded.contains(&t.barcode)
            && !job.avoid.contains(&t.barcode)
            && writes_generation(drive_gen, t.generation)
            && group_gen.is_none_or(|g| t.generation.is_none_or(|tg| tg == g))
            && match t.location {
                TapeLocation::Slot(_) => true,
                TapeLocation::Drive(e) => e == info.element,
                _ => false,
            }
    };
    let tapes = all_tapes(ctx)?;
    let free = |t: &TapeRecord| {
        if t.capacity_bytes == 0 {
            u64::MAX
        } else {
            t.free_bytes()
        }
    };
    let mut group_tapes: Vec<&TapeRecord> = tapes
        .iter()
        .filter(|t| t.group.as_deref() == Some(job.group) && usable(t) && free(t) > 0)
        .collect();
    if let Some(loaded) = &info.loaded {
        if let Some(t) = group_tapes.iter().find(|t| &t.barcode == loaded) {
            if ctx.take_tape(&t.barcode) {
                return Ok((*t).clone());
            }
        }
    }
    group_tapes.sort_by_key(|t| free(t));
    let fits: Vec<&&TapeRecord> = group_tapes.iter().filter(|t| free(t) >= need).collect();
    for t in fits
        .into_iter()
        .chain(group_tapes.iter().rev().collect::<Vec<_>>())
    {
        if ctx.take_tape(&t.barcode) {
            return Ok((*t).clone());
        }
    }
    // A scratch tape joins the group.
    for t in tapes
        .iter()
        .filter(|t| t.scratch && t.group.is_none() && usable(t))
    {
        if ctx.take_tape(&t.barcode) {
            let actor = ctx.actor();
            match ctx
                .catalog()
                .assign_tape_group(&t.barcode, Some(job.group), &actor)
            {
                Ok(t) => {
                    tracing::info!(barcode = %t.barcode, group = %job.group, "scratch tape joins the group");
                    return Ok(t);
                }
                Err(e) => {
                    ctx.give_back_tape(&t.barcode);
                    return Err(e.into());
                }
            }
        }
    }
    Err(OpError::diva(
        DivaStatusCode::DivaErrInternal,
        format!(
            "no tape to write to: group {} has no ACTIVE tape with free space in library {} and no scratch tape is left",
            job.group,
            lib.name()
        ),
    ))
}

/// What one tape took.
struct Segment {
    files: Vec<WrittenFile>,
    /// Early warning reached: the tape is full.
    full: bool,
    volume_uuid: String,
    capacity: Option<u64>,
    removed: Vec<String>,
}

/// Writes all files of `job` to tapes of its group, spanning tapes when one fills.
pub(crate) fn write_instance(ctx: &mut OpContext, job: &WriteJob) -> OpResult<Written> {
    let (lib, drive) = ctx.drive_and_library()?;
    let total: u64 = job.files.iter().map(|f| f.size).sum();
    ctx.progress.set_total(total);
    let mut written = Written {
        files: Vec::new(),
        tapes: Vec::new(),
    };
    let mut excluded: HashSet<String> = HashSet::new();
    let mut next = 0usize;
    while next < job.files.len() {
        if let Err(e) = Checkpoint::new(ctx).check() {
            forget_written(ctx, &written);
            return Err(e);
        }
        let need: u64 = job.files[next..].iter().map(|f| f.size).sum();
        let choice = TapeChoice {
            group: &job.group,
            avoid: &job.avoid,
        };
        let tape = match choose_tape(ctx, &choice, &lib, &drive, &excluded, need) {
            Ok(t) => t,
            Err(e) => {
                forget_written(ctx, &written);
                return Err(e);
            }
        };
        let barcode = tape.barcode.clone();
        let result = write_segment(ctx, job, &lib, &drive, &tape, next);
        ctx.give_back_tape(&barcode);
        let seg = match result {
            Ok(s) => s,
            Err(e) => {
                forget_written(ctx, &written);
                return Err(e);
            }
        };
        // What the tape now holds, whatever comes next.
        record_written_tape(ctx, &barcode, &seg.volume_uuid, seg.capacity, &seg.removed)?;
        if seg.full {
            excluded.insert(barcode.clone());
            mark_full(ctx, &barcode, "early warning reached while archiving");
            if seg.files.is_empty() && tape.volume_uuid.is_none() {
                // Nothing fits on an empty tape: spanning cannot help.
                let f = &job.files[next];
                forget_written(ctx, &written);
                return Err(OpError::invalid(format!(
                    "file {} ({} bytes) does not fit on an empty tape",
                    f.path, f.size
                )));
            }
        }
        next += seg.files.len();
        if !seg.files.is_empty() {
            written.tapes.push(barcode.clone());
        }
        written.files.extend(seg.files);
    }
    Ok(written)
}

/// Records what a write mount left on a tape: its volume, that it is no longer scratch, its
/// capacity once known, and the pending removals the mount carried out.
pub(crate) fn record_written_tape(
    ctx: &OpContext,
    barcode: &str,
    volume_uuid: &str,
    capacity: Option<u64>,
    removed: &[String],
) -> OpResult<()> {
    ctx.catalog().update_tape(barcode, |t| {
        t.volume_uuid = Some(volume_uuid.to_string());
        t.scratch = false;
        if let Some(c) = capacity {
            if t.capacity_bytes == 0 {
                t.capacity_bytes = c;
            }
        }
        t.pending_removals.retain(|p| !removed.contains(p));
        Ok(())
    })?;
    Ok(())
}

/// Marks a tape FULL after early warning (a failure to do so is logged: the next write
/// finds the tape full again).
pub(crate) fn mark_full(ctx: &OpContext, barcode: &str, why: &str) {
    let actor = ctx.actor();
    if let Err(e) = ctx
        .catalog()
        .set_tape_state(barcode, TapeState::Full, Some(why), &actor)
    {
        tracing::warn!(%barcode, error = %e, "cannot mark tape FULL");
    }
}

/// Mounts `tape`, then on the worker: formats or mounts LTFS, drops pending removals and
/// leftovers of interrupted attempts, writes files from `start` until done or full, and
/// unmounts (index on both partitions).
fn write_segment(
    ctx: &mut OpContext,
    job: &WriteJob,
    lib: &Arc<TapeLibrary>,
    drive: &str,
    tape: &TapeRecord,
    start: usize,
) -> OpResult<Segment> {
    tape::mount(ctx, &tape.barcode)?;
    ctx.progress
        .phase(format!("writing {} to {}", job.name, tape.barcode));
    let barcode = tape.barcode.clone();
    let format = tape.volume_uuid.is_none();
    let pending = tape.pending_removals.clone();
    let files: Vec<SourceFile> = job.files[start..].to_vec();
    let source = job.source.clone();
    let collection = job.collection.clone();
    let name = job.name.clone();
    let comments = job.comments.clone();
    let archived = job
        .archived
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let check = Checkpoint::new(ctx);
    let mut progress = ctx.progress.clone();
    let first_segment = start == 0;
    let (seg, progress) = tape::on_drive(lib, drive, "archive", move |d| {
        let r = write_on_drive(
            d,
            &barcode,
            format,
            &pending,
            &files,
            &source,
            &collection,
            &name,
            &comments,
            &archived,
            first_segment,
            &check,
            &mut progress,
        );
        Ok((r, progress))
    })?;
    ctx.progress = progress;
    let seg = seg?;
    if !seg.files.is_empty() {
        ctx.nothing_done = false;
    }
    Ok(seg)
}

#[allow(clippy::too_many_arguments)]
fn write_on_drive(
    d: tape::Dev<'_>,
    barcode: &str,
    format: bool,
    pending: &[String],
    files: &[SourceFile],
    source: &Source,
    collection: &str,
    name: &str,
    comments: &str,
    archived: &str,
    first_segment: bool,
    check: &Checkpoint,
    progress: &mut Progress,
) -> OpResult<Segment> {
    let WriteMount {
        mut vol,
        volume_uuid,
        capacity,
        removed,
    } = open_for_write(d, barcode, format, pending)?;
    let dir = object_dir(collection, name);
    // Leftovers of an attempt that never committed (the object is not in the catalog, or
    // this is another instance's first segment on this tape) are dropped first.
    if first_segment && vol.entry(&dir).is_ok() {
        tracing::warn!(%barcode, %dir, "dropping files of an uncommitted attempt from the index");
        tape::remove_tree(&mut vol, &dir).map_err(lt(barcode))?;
    }
    if vol.entry(&dir).is_err() {
        make_object_dir(&mut vol, &dir, collection, name, archived, comments)
            .map_err(lt(barcode))?;
    }
    let mut out = Vec::new();
    let mut full = false;
    let mut failure: Option<OpError> = None;
    for f in files {
        if let Err(e) = check.check() {
            failure = Some(e);
            break;
        }
        let ltfs_path = format!("{dir}/{}", f.path);
        if let Some(i) = ltfs_path.rfind('/') {
            if i > dir.len() {
                if let Err(e) = vol.create_dir_all(&ltfs_path[..i]) {
                    failure = Some(OpError::ltfs(barcode, e));
                    break;
                }
            }
        }
        let reader = match source.server.open_source(source.root.as_deref(), &f.path) {
            Ok(r) => r,
            Err(e) => {
                failure = Some(e.into());
                break;
            }
        };
        let before = progress.done();
        let mut reader = CrcReader::new(reader, progress);
        let xattrs = file_xattrs(collection, name, &f.path);
        match vol.write_file(&ltfs_path, &mut reader, &xattrs) {
            Ok(len) => {
                let crc = reader.crc();
                if len != f.size {
                    failure = Some(OpError::invalid(format!(
                        "source file {} changed while it was archived ({} bytes expected, {len} read)",
                        f.path, f.size
                    )));
                    // Drop the half-truth from the index.
                    let _ = vol.remove(&ltfs_path);
                    break;
                }
                if let Err(e) = vol.set_xattr(
                    &ltfs_path,
                    xattr_keys::CRC32,
                    format!("{crc:08x}").as_bytes(),
                ) {
                    failure = Some(OpError::ltfs(barcode, e));
                    break;
                }
                let position = file_position(&vol, &ltfs_path);
                out.push(WrittenFile {
                    path: f.path.clone(),
                    size: len,
                    crc32: crc,
                    tape: barcode.to_string(),
                    ltfs_path,
                    position,
                });
            }
            Err(LtfsError::NoSpace { .. }) => {
                // The partial file is not in the index; its bytes count again on the next tape.
                let partial = reader.bytes;
                drop(reader);
                progress.rewind(progress.done().saturating_sub(before).min(partial));

                tracing::info!(%barcode, file = %f.path, "early warning: the tape is full");
                full = true;
                break;
            }
            Err(e) => {
                failure = Some(OpError::ltfs(barcode, e));
                break;
            }
        }
    }
    if failure.is_some() {
        // Leave the index without this attempt's files, so the tape stays consistent.
        for w in &out {
            let _ = vol.remove(&w.ltfs_path);
        }
        tape::prune_empty_dirs(&mut vol, &dir);
        out.clear();
    }
    let unmounted = vol.unmount().map(|_| ()).map_err(lt(barcode));
    if let Some(e) = failure {
        if let Err(u) = unmounted {
            tracing::error!(%barcode, error = %u, "cannot write the index after a failed archive");
        }
        return Err(e);
    }
    unmounted?;
    Ok(Segment {
        files: out,
        full,
        volume_uuid,
        capacity,
        removed,
    })
}

/// A volume mounted for writing, with what the mount found and did.
pub(crate) struct WriteMount<'d> {
    pub vol: Volume<tape::Dev<'d>>,
    pub volume_uuid: String,
    /// Native capacity reported by the drive, in bytes.
    pub capacity: Option<u64>,
    /// Pending removals carried out.
    pub removed: Vec<String>,
}

/// Formats (a tape never written) or mounts the volume in the drive for writing, and drops
/// the files the catalog no longer wants from the index.
pub(crate) fn open_for_write<'d>(
    d: tape::Dev<'d>,
    barcode: &str,
    format: bool,
    pending: &[String],
) -> OpResult<WriteMount<'d>> {
    let capacity = d
        .native_capacity_mb()
        .ok()
        .map(|mb| mb.saturating_mul(1_000_000));
    let mut vol: Volume<tape::Dev<'d>> = if format {
        tracing::info!(%barcode, "formatting LTFS");
        tapelib_ltfs::format(d, &FormatOptions::new(&tape::volser(barcode), None))
            .map_err(lt(barcode))?
    } else {
        Volume::mount(d, MountOptions::default())
            .map_err(lt(barcode))?
            .0
    };
    let volume_uuid = vol.label().volume_uuid.hyphenated().to_string();
    let mut removed = Vec::new();
    for p in pending {
        match tape::remove_tree(&mut vol, p) {
            Ok(()) => {
                if let Some(i) = p.rfind('/') {
                    tape::prune_empty_dirs(&mut vol, &p[..i]);
                }
                removed.push(p.clone());
            }
            Err(e) => {
                tracing::warn!(%barcode, path = %p, error = %e, "cannot drop a deleted file from the index")
            }
        }
    }
    Ok(WriteMount {
        vol,
        volume_uuid,
        capacity,
        removed,
    })
}

/// Creates an object's directory with the xattrs that let the tape describe it.
pub(crate) fn make_object_dir<D: tapelib_ltfs::TapeDevice>(
    vol: &mut Volume<D>,
    dir: &str,
    collection: &str,
    name: &str,
    archived: &str,
    comments: &str,
) -> Result<(), LtfsError> {
    vol.create_dir_all(dir)?;
    vol.set_xattr(dir, xattr_keys::COLLECTION, collection.as_bytes())?;
    vol.set_xattr(dir, xattr_keys::NAME, name.as_bytes())?;
    vol.set_xattr(dir, xattr_keys::ARCHIVED, archived.as_bytes())?;
    if !comments.is_empty() {
        vol.set_xattr(dir, xattr_keys::COMMENTS, comments.as_bytes())?;
    }
    Ok(())
}

/// The xattrs every object file carries.
pub(crate) fn file_xattrs(collection: &str, name: &str, path: &str) -> [Xattr; 3] {
    [
        Xattr {
            key: xattr_keys::COLLECTION.into(),
            value: collection.as_bytes().to_vec(),
        },
        Xattr {
            key: xattr_keys::NAME.into(),
            value: name.as_bytes().to_vec(),
        },
        Xattr {
            key: xattr_keys::PATH.into(),
            value: path.as_bytes().to_vec(),
        },
    ]
}

/// Where a file of the index starts on tape.
pub(crate) fn file_position<D: tapelib_ltfs::TapeDevice>(
    vol: &Volume<D>,
    ltfs_path: &str,
) -> Option<TapePosition> {
    match vol.entry(ltfs_path) {
        Ok(tapelib_ltfs::index::Entry::File(file)) => file.extents.first().map(|e| TapePosition {
            partition: partition_number(e.partition),
            block: e.start_block,
        }),
        _ => None,
    }
}

/// LTFS partition letters as numbers: `a` is 0, `b` is 1 (LTFS 2.4 §7.6).
pub(crate) fn partition_number(p: char) -> u8 {
    (p as u32)
        .saturating_sub('a' as u32)
        .min(u32::from(u8::MAX)) as u8
}

/// The tape an archive into `group` should go to, so the scheduler can put it on the drive
/// that holds it: a group tape with room already in an idle drive, else one in a slot.
/// `None` when the group has no usable tape (a scratch tape is taken when the archive runs).
pub(crate) fn preferred_tape(
    shared: &crate::engine::Shared,
    group: &str,
) -> OpResult<Option<(String, String)>> {
    let catalog = &shared.state.catalog;
    let mut cursor = None;
    let mut in_drive = None;
    let mut in_slot = None;
    loop {
        let page = catalog.list_tapes(cursor.as_ref(), crate::catalog::MAX_PAGE)?;
        for t in page.items {
            let usable = t.group.as_deref() == Some(group)
                && t.state == TapeState::Active
                && t.online
                && !t.foreign
                && (t.capacity_bytes == 0 || t.free_bytes() > 0);
            let Some(lib) = t.library.clone().filter(|_| usable) else {
                continue;
            };
            match t.location {
                // Only a drive that is UP can give the tape back.
                TapeLocation::Drive(e) if in_drive.is_none() && drive_up(shared, &lib, e) => {
                    in_drive = Some((lib, t.barcode))
                }
                TapeLocation::Slot(_) if in_slot.is_none() => in_slot = Some((lib, t.barcode)),
                _ => {}
            }
        }
        match page.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    Ok(in_drive.or(in_slot))
}

/// Whether the drive at element `element` of library `lib` is UP.
fn drive_up(shared: &crate::engine::Shared, lib: &str, element: u16) -> bool {
    shared
        .state
        .libraries
        .iter()
        .filter(|l| l.name() == lib)
        .flat_map(|l| l.drives())
        .any(|d| d.element == element && d.status == crate::library::DriveStatus::Up)
}
