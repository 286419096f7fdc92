//! verify: reads instances back from tape and checks every file's size and CRC-32 against
//! the catalog. A whole tape is read in position order; an object's instances are read
//! tape by tape. Files that do not match mark their instance damaged and the tape suspect;
//! a tape verify stores its bit-integrity report in the data directory.

use std::collections::HashMap;
use std::sync::Arc;

use tapelib_ltfs::{MountOptions, Volume};
use time::OffsetDateTime;

use super::bit_integrity::{self, ReportRow, Verdict};
use super::tape::{self, lt, Checkpoint, CrcWriter};
use super::{restore, OpContext, OpOutcome};
use crate::catalog::{InstanceFile, InstanceRecord, ObjectFile};
use crate::engine::{OpError, OpResult, Progress};
use crate::library::TapeLibrary;
use crate::request::{DivaStatusCode, RequestResult, RequestState, VerifyParams};

/// One file to read back.
#[derive(Clone)]
struct Item {
    collection: String,
    name: String,
    instance: u64,
    file: InstanceFile,
    expected: ObjectFile,
}

pub(crate) fn run(ctx: &mut OpContext, p: &VerifyParams) -> OpResult<OpOutcome> {
    let (plan, whole_tape) = match p {
        VerifyParams::Tape { barcode } => (tape_plan(ctx, barcode)?, Some(barcode.clone())),
        VerifyParams::Object {
            collection,
            name,
            instance,
        } => (object_plan(ctx, collection, name, *instance)?, None),
    };
    let total: u64 = plan
        .iter()
        .flat_map(|(_, items)| items.iter().map(|i| i.expected.size))
        .sum();
    ctx.progress.set_total(total);
    let (lib, drive) = ctx.drive_and_library()?;
    let mut rows: Vec<ReportRow> = Vec::new();
    for (barcode, items) in &plan {
        Checkpoint::new(ctx).check()?;
        ctx.wait_for_tape(barcode)?;
        let r = verify_tape(ctx, &lib, &drive, barcode, items);
        ctx.give_back_tape(barcode);
        rows.extend(r?);
    }
    record(ctx, &rows, whole_tape.as_deref())
}

/// Every live file on a tape, in position order.
fn tape_plan(ctx: &OpContext, barcode: &str) -> OpResult<Vec<(String, Vec<Item>)>> {
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
    let mut items = Vec::new();
    for inst in ctx.catalog().instances_on_tape(barcode)? {
        let files = object_files(ctx, &inst)?;
        for f in inst.files.iter().filter(|f| f.tape == barcode) {
            items.push(item(&inst, f, &files)?);
        }
    }
    items.sort_by_key(|i| (i.file.position.is_none(), i.file.position));
    Ok(vec![(barcode.to_string(), items)])
}

/// The chosen instance, or every online instance, of an object: tape by tape.
fn object_plan(
    ctx: &OpContext,
    collection: &str,
    name: &str,
    instance: Option<u64>,
) -> OpResult<Vec<(String, Vec<Item>)>> {
    let instances: Vec<InstanceRecord> = match instance {
        Some(id) => vec![super::choose_instance(
            ctx.shared(),
            collection,
            name,
            Some(id),
        )?],
        None => {
            // Fails with the right code when the object is unknown or wholly offline.
            super::choose_instance(ctx.shared(), collection, name, None)?;
            let mut out = Vec::new();
            for inst in ctx.catalog().list_instances(collection, name)? {
                let mut readable = inst.online;
                for b in &inst.tapes {
                    readable &= super::tape_readable(ctx.catalog(), b)?;
                }
                if readable {
                    out.push(inst);
                }
            }
            out
        }
    };
    let mut plan = Vec::new();
    for inst in &instances {
        let files = object_files(ctx, inst)?;
        for (barcode, list) in restore::read_plan(inst) {
            let items = list
                .into_iter()
                .map(|f| item(inst, f, &files))
                .collect::<OpResult<Vec<_>>>()?;
            plan.push((barcode, items));
        }
    }
    Ok(plan)
}

fn object_files(ctx: &OpContext, inst: &InstanceRecord) -> OpResult<HashMap<String, ObjectFile>> {
    let object = ctx
        .catalog()
        .get_object(&inst.collection, &inst.name)?
        .ok_or_else(|| {
            OpError::diva(
                DivaStatusCode::DivaErrObjectDoesntExist,
                format!("object {}/{} does not exist", inst.collection, inst.name),
            )
        })?;
    Ok(object
        .files
        .into_iter()
        .map(|f| (f.path.clone(), f))
        .collect())
}

fn item(
    inst: &InstanceRecord,
    f: &InstanceFile,
    files: &HashMap<String, ObjectFile>,
) -> OpResult<Item> {
    let expected = files.get(&f.path).cloned().ok_or_else(|| {
        OpError::diva(
            DivaStatusCode::DivaErrInternal,
            format!(
                "instance {} of {}/{} lists {}, which is not a file of the object",
                inst.id, inst.collection, inst.name, f.path
            ),
        )
    })?;
    Ok(Item {
        collection: inst.collection.clone(),
        name: inst.name.clone(),
        instance: inst.id,
        file: f.clone(),
        expected,
    })
}

fn verify_tape(
    ctx: &mut OpContext,
    lib: &Arc<TapeLibrary>,
    drive: &str,
    barcode: &str,
    items: &[Item],
) -> OpResult<Vec<ReportRow>> {
    tape::mount(ctx, barcode)?;
    ctx.progress.phase(format!("verifying {barcode}"));
    let work = items.to_vec();
    let barcode_s = barcode.to_string();
    let check = Checkpoint::new(ctx);
    let mut progress = ctx.progress.clone();
    let (r, progress) = tape::on_drive(lib, drive, "verify", move |d| {
        let r = read_back(d, &barcode_s, &work, &check, &mut progress);
        Ok((r, progress))
    })?;
    ctx.progress = progress;
    r
}

fn read_back(
    d: tape::Dev<'_>,
    barcode: &str,
    items: &[Item],
    check: &Checkpoint,
    progress: &mut Progress,
) -> OpResult<Vec<ReportRow>> {
    let options = MountOptions {
        read_only: true,
        ..Default::default()
    };
    let (mut vol, _) = Volume::mount(&mut *d, options).map_err(lt(barcode))?;
    let mut rows = Vec::with_capacity(items.len());
    for it in items {
        check.check()?;
        let mut w = CrcWriter::new(std::io::sink(), &mut *progress);
        let read = vol.read_file(&it.file.ltfs_path, &mut w);
        let crc = w.crc();
        let bytes = *read.as_ref().unwrap_or(&0);
        let (verdict, computed, details) = match read {
            Ok(n) if n == it.expected.size && crc == it.expected.crc32 => {
                (Verdict::Valid, Some(crc), String::new())
            }
            Ok(n) if n != it.expected.size => (
                Verdict::Mismatch,
                Some(crc),
                format!("read {n} bytes, the catalog has {}", it.expected.size),
            ),
            Ok(_) => (Verdict::Mismatch, Some(crc), "checksum differs".to_string()),
            Err(e) => {
                let err = OpError::ltfs(barcode, e);
                // A drive that failed is not the tape's fault: the request is retried elsewhere.
                if err.drive_failed() {
                    return Err(err);
                }
                (Verdict::Unreadable, None, err.to_string())
            }
        };
        rows.push(ReportRow {
            checked: OffsetDateTime::now_utc(),
            tape: barcode.to_string(),
            object: format!("{}/{}", it.collection, it.name),
            instance: it.instance,
            file: it.file.path.clone(),
            verdict,
            expected_crc32: it.expected.crc32,
            computed_crc32: computed,
            details,
            bytes,
        });
    }
    Ok(rows)
}

/// Marks damaged instances and suspect tapes, stores the tape's report, and builds the
/// outcome: PARTIALLY_COMPLETED when any file failed.
fn record(
    ctx: &mut OpContext,
    rows: &[ReportRow],
    whole_tape: Option<&str>,
) -> OpResult<OpOutcome> {
    let actor = ctx.actor();
    let now = OffsetDateTime::now_utc();
    // Per instance: the files that failed (an instance read whole and clean is cleared).
    let mut per_instance: HashMap<(String, u64), Vec<String>> = HashMap::new();
    let mut bad_tapes: HashMap<String, usize> = HashMap::new();
    for r in rows {
        let e = per_instance
            .entry((r.object.clone(), r.instance))
            .or_default();
        if r.verdict != Verdict::Valid {
            e.push(r.file.clone());
            *bad_tapes.entry(r.tape.clone()).or_default() += 1;
        }
    }
    for ((object, id), damaged) in &per_instance {
        let (collection, name) = object.split_once('/').unwrap_or((object.as_str(), ""));
        let mut damaged = damaged.clone();
        if whole_tape.is_some() {
            // A tape verify reads only that tape's part of a spanning instance: keep marks
            // on files elsewhere.
            if let Some(inst) = ctx.catalog().get_instance(collection, name, *id)? {
                let here: Vec<&str> = rows
                    .iter()
                    .filter(|r| r.object == *object && r.instance == *id)
                    .map(|r| r.file.as_str())
                    .collect();
                for f in inst.damaged {
                    if !here.contains(&f.as_str()) && !damaged.contains(&f) {
                        damaged.push(f);
                    }
                }
            }
        }
        damaged.sort();
        ctx.catalog()
            .mark_instance_damaged(collection, name, *id, &damaged, &actor)?;
    }
    for (barcode, n) in &bad_tapes {
        let reason = format!("verify found {n} damaged file(s) at {now}");
        ctx.catalog().update_tape(barcode, |t| {
            t.suspect = Some(reason.clone());
            Ok(())
        })?;
        ctx.catalog()
            .audit(&actor, "tape.suspect", barcode, &reason)?;
    }
    if let Some(barcode) = whole_tape {
        let clean = !bad_tapes.contains_key(barcode);
        ctx.catalog().update_tape(barcode, |t| {
            t.verified = Some(now);
            if clean {
                t.suspect = None;
            }
            Ok(())
        })?;
        let tsv = bit_integrity::to_tsv(rows);
        bit_integrity::store(&super::data_dir(ctx.shared()), barcode, &tsv).map_err(|e| {
            OpError::diva(
                DivaStatusCode::DivaErrInternal,
                format!("cannot store the bit-integrity report of {barcode}: {e}"),
            )
        })?;
    }
    let failures: Vec<String> = rows
        .iter()
        .filter(|r| r.verdict != Verdict::Valid)
        .map(|r| {
            format!(
                "{} {} instance {} {}: {} {}",
                r.tape,
                r.object,
                r.instance,
                r.file,
                r.verdict.as_str(),
                r.details
            )
        })
        .collect();
    let bytes = rows
        .iter()
        .filter(|r| r.verdict == Verdict::Valid)
        .map(|r| r.bytes)
        .sum();
    let result = RequestResult::Verify {
        files_checked: rows.len() as u64,
        failures: failures.clone(),
        bytes,
    };
    ctx.nothing_done = false;
    if failures.is_empty() {
        Ok(OpOutcome::completed(result))
    } else {
        Ok(OpOutcome {
            state: RequestState::PartiallyCompleted,
            reason: Some(format!("{} file(s) failed verification", failures.len())),
            result,
        })
    }
}
