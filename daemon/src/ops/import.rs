//! import: tapes written elsewhere (exported by another tapelib, or by other LTFS software)
//! join a tape group and their objects enter the catalog. What an object is comes from, in
//! order: an export document given with the request; the `user.tapelib.*` xattrs on the
//! tape; else every top-level folder (or file) of the volume is one object in the
//! collection the request names. Files whose checksum the tape does not carry are read to
//! compute it, since a catalog entry without a checksum could not be verified on restore;
//! with `verify`, files that carry one are read and checked too.

use std::collections::BTreeMap;

use tapelib_ltfs::index::Entry;
use tapelib_ltfs::volume::EntryKind;
use tapelib_ltfs::{MountOptions, TapeDevice, Volume};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::archive::{partition_number, xattr_keys};
use super::export_document::ExportDocument;
use super::tape::{self, lt, Checkpoint, CrcWriter};
use super::{OpContext, OpOutcome};
use crate::catalog::{
    InstanceFile, NewInstance, ObjectFile, ObjectRecord, TapePosition, TapeRecord, TapeState,
};
use crate::engine::{OpError, OpResult, Progress};
use crate::request::{DivaStatusCode, ImportConflict, ImportParams, RequestResult, RequestState};

/// A file found for an object.
#[derive(Debug, Clone)]
struct FoundFile {
    path: String,
    size: u64,
    crc32: Option<u32>,
    tape: String,
    ltfs_path: String,
    position: Option<TapePosition>,
}

/// An object found on the tapes (or in the document).
#[derive(Debug, Clone, Default)]
struct Found {
    archived: Option<String>,
    comments: String,
    files: Vec<FoundFile>,
    /// Files the document lists; the object is registered only when all were found.
    expected: Option<usize>,
    /// Why the object cannot be registered.
    problem: Option<String>,
}

/// How the objects of a tape are recognised.
#[derive(Clone)]
enum Mode {
    Document(ExportDocument),
    Xattrs,
    Foreign(String),
}

pub(crate) fn run(ctx: &mut OpContext, p: &ImportParams) -> OpResult<OpOutcome> {
    if ctx.catalog().get_group(&p.group)?.is_none() {
        return Err(OpError::diva(
            DivaStatusCode::DivaErrGroupDoesntExist,
            format!("tape group {} does not exist", p.group),
        ));
    }
    let document = match &p.document {
        Some(xml) if !xml.trim().is_empty() => Some(
            ExportDocument::parse(xml)
                .map_err(|e| OpError::invalid(format!("the export document: {e}")))?,
        ),
        _ => None,
    };
    let mut tapes = Vec::new();
    for b in &p.barcodes {
        tapes.push(check_tape(ctx, b, &p.group)?);
    }
    let mut found: BTreeMap<(String, String), Found> = BTreeMap::new();
    for t in &tapes {
        Checkpoint::new(ctx).check()?;
        let mode = match &document {
            Some(d) if d.tape(&t.barcode).is_some() => Mode::Document(d.clone()),
            Some(_) => {
                return Err(OpError::invalid(format!(
                    "the export document does not describe tape {}",
                    t.barcode
                )))
            }
            None => Mode::Xattrs,
        };
        let (uuid, objects) = scan_tape(ctx, &t.barcode, mode, p)?;
        ctx.catalog().update_tape(&t.barcode, |r| {
            if uuid.is_some() {
                r.volume_uuid = uuid.clone();
            }
            Ok(())
        })?;
        for (key, f) in objects {
            let e = found.entry(key).or_default();
            if e.archived.is_none() {
                e.archived = f.archived;
            }
            if e.comments.is_empty() {
                e.comments = f.comments;
            }
            e.expected = e.expected.or(f.expected);
            e.problem = e.problem.take().or(f.problem);
            for file in f.files {
                if !e.files.iter().any(|x| x.path == file.path) {
                    e.files.push(file);
                }
            }
        }
    }
    register(ctx, p, &tapes, found)
}

/// The tape may be imported: known (inserted), in a library, and not another group's.
fn check_tape(ctx: &OpContext, barcode: &str, group: &str) -> OpResult<TapeRecord> {
    let t = ctx.catalog().get_tape(barcode)?.ok_or_else(|| {
        OpError::diva(
            DivaStatusCode::DivaErrTapeDoesntExist,
            format!("tape {barcode} is not known: insert it first"),
        )
    })?;
    if !t.online || t.library.is_none() {
        return Err(OpError::diva(
            DivaStatusCode::DivaErrObjectOffline,
            format!("tape {barcode} is not in a library: insert it first"),
        ));
    }
    if matches!(t.state, TapeState::Broken | TapeState::Repacking) {
        return Err(OpError::invalid(format!(
            "tape {barcode} is {:?} and cannot be imported",
            t.state
        )));
    }
    if t.scratch && t.volume_uuid.is_none() {
        return Err(OpError::invalid(format!(
            "tape {barcode} is blank: nothing to import"
        )));
    }
    if let Some(g) = &t.group {
        if g != group && !ctx.catalog().instances_on_tape(barcode)?.is_empty() {
            return Err(OpError::invalid(format!(
                "tape {barcode} holds objects of group {g} already"
            )));
        }
    }
    Ok(t)
}

type Scanned = (Option<String>, Vec<((String, String), Found)>);

/// Mounts the tape, reads its index, recognises its objects and computes missing checksums.
fn scan_tape(
    ctx: &mut OpContext,
    barcode: &str,
    mode: Mode,
    p: &ImportParams,
) -> OpResult<Scanned> {
    let (lib, drive) = ctx.drive_and_library()?;
    ctx.wait_for_tape(barcode)?;
    let r = (|| {
        tape::mount(ctx, barcode)?;
        ctx.progress
            .phase(format!("reading the index of {barcode}"));
        let b = barcode.to_string();
        let check = Checkpoint::new(ctx);
        let mut progress = ctx.progress.clone();
        let verify = p.verify;
        let collection = p.collection.clone();
        let (r, progress) = tape::on_drive(&lib, &drive, "import", move |d| {
            let r = scan_on_drive(d, &b, mode, collection, verify, &check, &mut progress);
            Ok((r, progress))
        })?;
        ctx.progress = progress;
        r
    })();
    ctx.give_back_tape(barcode);
    r
}

fn scan_on_drive(
    d: tape::Dev<'_>,
    barcode: &str,
    mode: Mode,
    collection: Option<String>,
    verify: bool,
    check: &Checkpoint,
    progress: &mut Progress,
) -> OpResult<Scanned> {
    let options = MountOptions {
        read_only: true,
        ..Default::default()
    };
    let (mut vol, _) = Volume::mount(&mut *d, options).map_err(lt(barcode))?;
    let uuid = Some(vol.label().volume_uuid.hyphenated().to_string());
    let mode = match mode {
        Mode::Xattrs if !has_tapelib_objects(&vol, barcode)? => match collection {
            Some(c) => Mode::Foreign(c),
            None => {
                return Err(OpError::invalid(format!(
                    "tape {barcode} was written by other software: name the collection its folders go to"
                )))
            }
        },
        m => m,
    };
    let mut objects = match &mode {
        Mode::Document(doc) => from_document(&vol, barcode, doc)?,
        Mode::Xattrs => from_xattrs(&vol, barcode)?,
        Mode::Foreign(c) => from_folders(&vol, barcode, c)?,
    };
    // Read what needs reading in position order: files without a checksum, and all of
    // this tape's files when asked to verify.
    let mut reads: Vec<(usize, usize)> = Vec::new();
    for (oi, (_, o)) in objects.iter().enumerate() {
        for (fi, f) in o.files.iter().enumerate() {
            if f.tape == barcode && (f.crc32.is_none() || verify) && o.problem.is_none() {
                reads.push((oi, fi));
            }
        }
    }
    reads.sort_by_key(|&(oi, fi)| {
        let p = objects[oi].1.files[fi].position;
        (p.is_none(), p)
    });
    let total: u64 = reads
        .iter()
        .map(|&(oi, fi)| objects[oi].1.files[fi].size)
        .sum();
    progress.set_total(total);
    for (oi, fi) in reads {
        check.check()?;
        let f = objects[oi].1.files[fi].clone();
        let mut w = CrcWriter::new(std::io::sink(), &mut *progress);
        let n = vol.read_file(&f.ltfs_path, &mut w).map_err(lt(barcode))?;
        let crc = w.crc();
        let o = &mut objects[oi].1;
        if n != f.size {
            o.problem = Some(format!("{} reads {n} bytes, not {}", f.path, f.size));
        } else if let Some(expected) = f.crc32.filter(|&e| e != crc) {
            o.problem = Some(format!(
                "{}: CRC-32 {crc:08x} read, {expected:08x} recorded",
                f.path
            ));
        } else {
            o.files[fi].crc32 = Some(crc);
        }
    }
    Ok((uuid, objects))
}

/// Whether any object folder carries our xattrs (`/<collection>/<name>`).
fn has_tapelib_objects<D: TapeDevice>(vol: &Volume<D>, barcode: &str) -> OpResult<bool> {
    for c in vol.list("/").map_err(lt(barcode))? {
        if c.kind != EntryKind::Directory {
            continue;
        }
        let cdir = format!("/{}", c.name);
        for o in vol.list(&cdir).map_err(lt(barcode))? {
            let odir = format!("{cdir}/{}", o.name);
            if o.kind == EntryKind::Directory
                && vol
                    .xattr(&odir, xattr_keys::COLLECTION)
                    .map_err(lt(barcode))?
                    .is_some()
            {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

fn text<D: TapeDevice>(vol: &Volume<D>, path: &str, key: &str) -> Option<String> {
    vol.xattr(path, key)
        .ok()
        .flatten()
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// Files under `dir` (recursively) as (path relative to `dir`, LTFS path, size, position).
fn walk<D: TapeDevice>(
    vol: &Volume<D>,
    barcode: &str,
    dir: &str,
    out: &mut Vec<(String, String, u64, Option<TapePosition>)>,
) -> OpResult<()> {
    let mut stack = vec![(dir.to_string(), String::new())];
    while let Some((abs, rel)) = stack.pop() {
        for e in vol.list(&abs).map_err(lt(barcode))? {
            let child_abs = if abs == "/" {
                format!("/{}", e.name)
            } else {
                format!("{abs}/{}", e.name)
            };
            let child_rel = if rel.is_empty() {
                e.name.clone()
            } else {
                format!("{rel}/{}", e.name)
            };
            match e.kind {
                EntryKind::Directory => stack.push((child_abs, child_rel)),
                EntryKind::File => {
                    let position = position_of(vol, &child_abs);
                    out.push((child_rel, child_abs, e.length, position));
                }
                // Links are not data: they are not part of an object.
                EntryKind::Symlink => {}
            }
        }
    }
    Ok(())
}

fn position_of<D: TapeDevice>(vol: &Volume<D>, path: &str) -> Option<TapePosition> {
    match vol.entry(path) {
        Ok(Entry::File(f)) => f.extents.first().map(|e| TapePosition {
            partition: partition_number(e.partition),
            block: e.start_block,
        }),
        _ => None,
    }
}

fn from_document<D: TapeDevice>(
    vol: &Volume<D>,
    barcode: &str,
    doc: &ExportDocument,
) -> OpResult<Vec<((String, String), Found)>> {
    let Some(entry) = doc.tape(barcode) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for o in &entry.objects {
        let mut found = Found {
            archived: Some(o.archived.clone()).filter(|a| !a.is_empty()),
            comments: o.comments.clone(),
            files: Vec::new(),
            expected: Some(o.files.len()),
            problem: None,
        };
        for f in o.files.iter().filter(|f| f.tape == barcode) {
            let on_tape = match vol.entry(&f.ltfs_path) {
                Ok(Entry::File(file)) => Some(file.length),
                _ => None,
            };
            if on_tape != Some(f.size) {
                found.problem = Some(format!(
                    "{} is not on {barcode} as the document says ({} bytes expected, {})",
                    f.ltfs_path,
                    f.size,
                    on_tape.map_or("missing".to_string(), |n| format!("{n} found"))
                ));
            }
            found.files.push(FoundFile {
                path: f.path.clone(),
                size: f.size,
                crc32: Some(f.crc32),
                tape: barcode.to_string(),
                ltfs_path: f.ltfs_path.clone(),
                position: position_of(vol, &f.ltfs_path),
            });
        }
        out.push(((o.collection.clone(), o.name.clone()), found));
    }
    Ok(out)
}

fn from_xattrs<D: TapeDevice>(
    vol: &Volume<D>,
    barcode: &str,
) -> OpResult<Vec<((String, String), Found)>> {
    let mut out = Vec::new();
    for c in vol.list("/").map_err(lt(barcode))? {
        if c.kind != EntryKind::Directory {
            continue;
        }
        let cdir = format!("/{}", c.name);
        for o in vol.list(&cdir).map_err(lt(barcode))? {
            let odir = format!("{cdir}/{}", o.name);
            if o.kind != EntryKind::Directory {
                continue;
            }
            let (Some(collection), Some(name)) = (
                text(vol, &odir, xattr_keys::COLLECTION),
                text(vol, &odir, xattr_keys::NAME),
            ) else {
                continue;
            };
            let mut files = Vec::new();
            walk(vol, barcode, &odir, &mut files)?;
            let found = Found {
                archived: text(vol, &odir, xattr_keys::ARCHIVED),
                comments: text(vol, &odir, xattr_keys::COMMENTS).unwrap_or_default(),
                files: files
                    .into_iter()
                    .map(|(rel, abs, size, position)| FoundFile {
                        path: text(vol, &abs, xattr_keys::PATH).unwrap_or(rel),
                        size,
                        crc32: text(vol, &abs, xattr_keys::CRC32)
                            .and_then(|c| u32::from_str_radix(c.trim(), 16).ok()),
                        tape: barcode.to_string(),
                        ltfs_path: abs,
                        position,
                    })
                    .collect(),
                expected: None,
                problem: None,
            };
            out.push(((collection, name), found));
        }
    }
    Ok(out)
}

fn from_folders<D: TapeDevice>(
    vol: &Volume<D>,
    barcode: &str,
    collection: &str,
) -> OpResult<Vec<((String, String), Found)>> {
    let mut out = Vec::new();
    for e in vol.list("/").map_err(lt(barcode))? {
        let abs = format!("/{}", e.name);
        let files = match e.kind {
            EntryKind::Directory => {
                let mut files = Vec::new();
                walk(vol, barcode, &abs, &mut files)?;
                files
            }
            EntryKind::File => vec![(
                e.name.clone(),
                abs.clone(),
                e.length,
                position_of(vol, &abs),
            )],
            EntryKind::Symlink => continue,
        };
        if files.is_empty() {
            continue;
        }
        let found = Found {
            archived: None,
            comments: format!("imported from tape {barcode}"),
            files: files
                .into_iter()
                .map(|(rel, abs, size, position)| FoundFile {
                    path: rel,
                    size,
                    crc32: None,
                    tape: barcode.to_string(),
                    ltfs_path: abs,
                    position,
                })
                .collect(),
            expected: None,
            problem: None,
        };
        out.push(((collection.to_string(), e.name.clone()), found));
    }
    Ok(out)
}

/// Brings the tapes into the group and registers the objects.
fn register(
    ctx: &mut OpContext,
    p: &ImportParams,
    tapes: &[TapeRecord],
    found: BTreeMap<(String, String), Found>,
) -> OpResult<OpOutcome> {
    let actor = ctx.actor();
    // Decide everything before changing anything: a refused conflict imports nothing.
    let mut plan: Vec<(ObjectRecord, NewInstance, bool)> = Vec::new();
    let mut skipped = Vec::new();
    let mut imported = Vec::new();
    for ((collection, name), f) in found {
        let label = format!("{collection}/{name}");
        if let Some(problem) = &f.problem {
            skipped.push(format!("{label}: {problem}"));
            continue;
        }
        if let Some(n) = f.expected.filter(|&n| n != f.files.len()) {
            skipped.push(format!(
                "{label}: {} of {n} files are on the imported tapes (it spans tapes not in this import)",
                f.files.len()
            ));
            continue;
        }
        let archived = f
            .archived
            .as_deref()
            .and_then(|a| OffsetDateTime::parse(a, &Rfc3339).ok())
            .unwrap_or_else(OffsetDateTime::now_utc);
        let files: Vec<ObjectFile> = f
            .files
            .iter()
            .map(|x| ObjectFile {
                path: x.path.clone(),
                size: x.size,
                crc32: x.crc32.unwrap_or(0),
            })
            .collect();
        let object =
            match ObjectRecord::new(&collection, &name, files, archived, f.comments.clone()) {
                Ok(o) => o,
                Err(e) => {
                    skipped.push(format!("{label}: {e}"));
                    continue;
                }
            };
        let instance = NewInstance {
            group: p.group.clone(),
            files: f
                .files
                .iter()
                .map(|x| InstanceFile {
                    path: x.path.clone(),
                    tape: x.tape.clone(),
                    ltfs_path: x.ltfs_path.clone(),
                    position: x.position,
                })
                .collect(),
            created: OffsetDateTime::now_utc(),
        };
        let existing = ctx.catalog().get_object(&collection, &name)?;
        let Some(existing) = existing else {
            plan.push((object, instance, false));
            continue;
        };
        // Registered by an earlier attempt of this import: done already.
        let here: Vec<&str> = instance
            .files
            .iter()
            .map(|f| f.ltfs_path.as_str())
            .collect();
        let done = ctx
            .catalog()
            .list_instances(&collection, &name)?
            .iter()
            .any(|i| {
                i.files.iter().all(|f| here.contains(&f.ltfs_path.as_str()))
                    && i.tapes
                        .iter()
                        .all(|t| tapes.iter().any(|x| &x.barcode == t))
            });
        if done {
            imported.push((collection, name));
            continue;
        }
        match p.on_conflict {
            ImportConflict::Skip => skipped.push(format!("{label}: exists in the catalog")),
            ImportConflict::Refuse => {
                return Err(OpError::diva(
                    DivaStatusCode::DivaErrObjectAlreadyExists,
                    format!("object {label} exists in the catalog; nothing was imported"),
                ))
            }
            ImportConflict::AddInstance => {
                let mut a = existing.files.clone();
                let mut b = object.files.clone();
                a.sort_by(|x, y| x.path.cmp(&y.path));
                b.sort_by(|x, y| x.path.cmp(&y.path));
                if a == b {
                    plan.push((object, instance, true));
                } else {
                    skipped.push(format!(
                        "{label}: exists in the catalog with other files or checksums"
                    ));
                }
            }
        }
    }
    // The tapes join the group, as active, known tapes.
    for t in tapes {
        if t.state == TapeState::Exported {
            ctx.catalog()
                .set_tape_state(&t.barcode, TapeState::Active, None, &actor)?;
        }
        if t.group.as_deref() != Some(p.group.as_str()) {
            ctx.catalog()
                .assign_tape_group(&t.barcode, Some(&p.group), &actor)?;
        }
        ctx.catalog().update_tape(&t.barcode, |r| {
            r.foreign = false;
            r.scratch = false;
            Ok(())
        })?;
    }
    ctx.nothing_done = false;
    for (object, instance, as_instance) in plan {
        let label = format!("{}/{}", object.collection, object.name);
        let r = if as_instance {
            ctx.catalog()
                .commit_instance(&object.collection, &object.name, &instance, &actor)
        } else {
            ctx.catalog().commit_archive(&object, &instance, &actor)
        };
        match r {
            Ok(_) => imported.push((object.collection.clone(), object.name.clone())),
            Err(e) => skipped.push(format!("{label}: {e}")),
        }
    }
    for t in tapes {
        tracing::info!(barcode = %t.barcode, group = %p.group, "tape imported");
    }
    let result = RequestResult::Import {
        objects: imported.clone(),
        skipped: skipped.clone(),
    };
    if skipped.is_empty() {
        Ok(OpOutcome::completed(result))
    } else {
        Ok(OpOutcome {
            state: RequestState::PartiallyCompleted,
            result,
            reason: Some(format!("{} object(s) not imported", skipped.len())),
        })
    }
}
