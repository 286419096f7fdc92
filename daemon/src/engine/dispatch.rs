//! The dispatcher: each pass reads the pending requests, works out what each needs (a given
//! tape, any drive, or only the robot and catalog), plans them onto drives with the
//! scheduler, and starts the assignments on threads of their own.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use time::OffsetDateTime;

use super::{DriveUse, OpError, Shared};
use crate::catalog::TapeState;
use crate::library::{DriveStatus, TapeLibrary};
use crate::ops::{self, OpContext};
use crate::request::{DivaStatusCode, RequestKind, RequestRecord, RequestState};
use crate::scheduler::{self, DriveView, PendingWork, RequestQueue, Target};

/// How long the dispatcher sleeps when nothing wakes it (robot-side changes, I/E polling).
const IDLE_WAIT: Duration = Duration::from_secs(1);

/// A request that failed on a broken drive runs again on another one at most this often.
const MAX_ATTEMPTS: u32 = 3;

pub(crate) fn spawn(shared: Arc<Shared>) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("dispatcher".into())
        .spawn(move || run(shared))
}

fn run(shared: Arc<Shared>) {
    let span = tracing::info_span!("dispatcher");
    let _enter = span.enter();
    let mut seen = 0u64;
    loop {
        if shared.stopping() {
            break;
        }
        if let Err(e) = pass(&shared) {
            tracing::error!(error = %e, "scheduling pass failed");
        }
        super::cleaning::maybe_clean(&shared);
        super::scheduled_verify::maybe_verify(&shared);
        let guard = shared.wake.lock().unwrap_or_else(|e| e.into_inner());
        if *guard == seen {
            let (guard, _) = shared
                .wake_cv
                .wait_timeout(guard, IDLE_WAIT)
                .unwrap_or_else(|e| e.into_inner());
            seen = *guard;
        } else {
            seen = *guard;
        }
    }
    // Let running work reach its next safe point.
    let threads: Vec<JoinHandle<()>> = std::mem::take(&mut *shared.threads());
    for t in threads {
        if t.join().is_err() {
            tracing::error!("a request thread panicked");
        }
    }
    tracing::info!("dispatcher stopped");
}

/// Which library holds `barcode`, and the target of work on it.
fn tape_target(
    shared: &Shared,
    barcode: &str,
    position: Option<crate::catalog::TapePosition>,
) -> Result<(String, Target), OpError> {
    let tape = shared.state.catalog.get_tape(barcode)?.ok_or_else(|| {
        OpError::diva(
            DivaStatusCode::DivaErrTapeDoesntExist,
            format!("tape {barcode} is not known"),
        )
    })?;
    if !tape.online {
        return Err(OpError::diva(
            DivaStatusCode::DivaErrObjectOffline,
            format!("tape {barcode} is not in a library (ejected or exported)"),
        ));
    }
    let library = tape.library.clone().ok_or_else(|| {
        OpError::diva(
            DivaStatusCode::DivaErrObjectOffline,
            format!("tape {barcode} is in no library"),
        )
    })?;
    Ok((
        library,
        Target::Tape {
            barcode: barcode.to_string(),
            position,
        },
    ))
}

/// What a request needs in order to run: `(library, target)`; library `None` means any.
fn target_of(shared: &Shared, rec: &RequestRecord) -> Result<(Option<String>, Target), OpError> {
    match &rec.kind {
        RequestKind::Archive(p) => match ops::preferred_tape(shared, &p.group)? {
            Some((lib, barcode)) => Ok((
                Some(lib),
                Target::Tape {
                    barcode,
                    position: None,
                },
            )),
            None => Ok((None, Target::AnyDrive)),
        },
        RequestKind::Restore(p) => {
            let inst = ops::choose_instance(shared, &p.collection, &p.name, p.instance)?;
            first_tape(shared, &inst)
        }
        RequestKind::PartialRestore(p) => {
            let inst = ops::choose_instance(shared, &p.collection, &p.name, p.instance)?;
            first_tape(shared, &inst)
        }
        RequestKind::Copy(p) => {
            let inst = ops::choose_instance(shared, &p.collection, &p.name, p.source_instance)?;
            first_tape(shared, &inst)
        }
        RequestKind::Verify(crate::request::VerifyParams::Object {
            collection,
            name,
            instance,
        }) => {
            let inst = ops::choose_instance(shared, collection, name, *instance)?;
            first_tape(shared, &inst)
        }
        RequestKind::Verify(crate::request::VerifyParams::Tape { barcode })
        | RequestKind::Repack(crate::request::RepackParams { barcode, .. }) => {
            let (lib, t) = tape_target(shared, barcode, None)?;
            Ok((Some(lib), t))
        }
        RequestKind::Import(p) => match p.barcodes.first() {
            Some(b) => {
                let (lib, t) = tape_target(shared, b, None)?;
                Ok((Some(lib), t))
            }
            None => Ok((None, Target::NoDrive)),
        },
        RequestKind::Delete(_)
        | RequestKind::Insert(_)
        | RequestKind::Eject(_)
        | RequestKind::Export(_) => Ok((None, Target::NoDrive)),
    }
}

fn first_tape(
    shared: &Shared,
    inst: &crate::catalog::InstanceRecord,
) -> Result<(Option<String>, Target), OpError> {
    let mut files: Vec<&crate::catalog::InstanceFile> = inst.files.iter().collect();
    // The tape written first is read first; on it, the lowest position.
    let first = inst.tapes.first().cloned().ok_or_else(|| {
        OpError::diva(
            DivaStatusCode::DivaErrNoInstanceTapeExist,
            format!("instance {} lists no tape", inst.id),
        )
    })?;
    files.retain(|f| f.tape == first);
    let position = files.iter().filter_map(|f| f.position).min();
    let (lib, t) = tape_target(shared, &first, position)?;
    Ok((Some(lib), t))
}

/// Ends a pending request that cannot run at all.
fn abort_pending(shared: &Shared, rec: &RequestRecord, e: &OpError) {
    tracing::warn!(id = rec.id, error = %e, "request cannot run");
    if let Err(err) = shared.requests.finish_with(
        rec.id,
        RequestState::Aborted,
        e.diva_status(),
        Some(&e.to_string()),
        None,
    ) {
        tracing::error!(id = rec.id, error = %err, "cannot abort request");
    }
}

fn drive_views(shared: &Shared, lib: &TapeLibrary) -> Vec<DriveView> {
    let uses = shared.drive_uses();
    lib.drives()
        .into_iter()
        .map(|d| {
            let u = uses.get(&d.name).cloned().unwrap_or_default();
            DriveView {
                id: d.name.clone(),
                status: d.status.clone(),
                loaded: d.loaded.clone(),
                busy: u.busy.is_some(),
                last_used: u.last_used,
            }
        })
        .collect()
}

/// One scheduling pass.
fn pass(shared: &Arc<Shared>) -> Result<(), OpError> {
    let active = shared.requests.active()?;
    let claimed: HashSet<u64> = shared.claimed().clone();
    let pending: Vec<RequestRecord> = active
        .into_iter()
        .filter(|r| r.state == RequestState::Pending && !claimed.contains(&r.id))
        .collect();
    if pending.is_empty() {
        return Ok(());
    }
    // Queue per library; work for any library goes to the first that can take it.
    let mut per_lib: HashMap<String, RequestQueue> = HashMap::new();
    let mut any: Vec<PendingWork> = Vec::new();
    let mut no_drive: Vec<PendingWork> = Vec::new();
    let mut records: HashMap<u64, RequestRecord> = HashMap::new();
    for rec in pending {
        let (lib, target) = match target_of(shared, &rec) {
            Ok(t) => t,
            Err(e) => {
                abort_pending(shared, &rec, &e);
                continue;
            }
        };
        let work = PendingWork {
            id: rec.id,
            priority: rec.priority,
            submitted: rec.submitted,
            target: target.clone(),
        };
        records.insert(rec.id, rec);
        match (lib, target) {
            (_, Target::NoDrive) => no_drive.push(work),
            (Some(lib), _) => per_lib.entry(lib).or_default().push(work),
            (None, _) => any.push(work),
        }
    }

    // Robot-only and catalog-only work: one thread each, in queue order.
    for w in no_drive {
        if let Some(rec) = records.remove(&w.id) {
            start_thread(shared, None, None, None, vec![rec]);
        }
    }

    for lib in shared.state.libraries.iter() {
        let mut queue = per_lib.remove(lib.name()).unwrap_or_default();
        for w in &any {
            if records.contains_key(&w.id) {
                queue.push(w.clone());
            }
        }
        if queue.is_empty() {
            continue;
        }
        let views = drive_views(shared, lib);
        let plan = scheduler::plan(&queue, &views);
        for a in plan.assignments {
            let recs: Vec<RequestRecord> = a
                .items
                .iter()
                .filter_map(|w| records.remove(&w.id))
                .collect();
            if recs.is_empty() {
                continue;
            }
            // A tape another request works on (an archive writing to it, an eject taking
            // it out) waits; the requests stay pending for the next pass.
            if let Some(b) = &a.barcode {
                if !shared.reserve_tape(b) {
                    continue;
                }
            }
            start_thread(shared, Some(lib.clone()), Some(a.drive), a.barcode, recs);
        }
    }
    Ok(())
}

/// Claims the requests (and the drive) and runs them on a new thread.
fn start_thread(
    shared: &Arc<Shared>,
    library: Option<Arc<TapeLibrary>>,
    drive: Option<String>,
    barcode: Option<String>,
    recs: Vec<RequestRecord>,
) {
    {
        let mut claimed = shared.claimed();
        for r in &recs {
            claimed.insert(r.id);
        }
    }
    if let Some(d) = &drive {
        let first = recs.first().map(|r| r.id).unwrap_or(0);
        shared.drive_uses().entry(d.clone()).or_default().busy = Some(first);
    }
    let s = shared.clone();
    let ids: Vec<u64> = recs.iter().map(|r| r.id).collect();
    let name = match &drive {
        Some(d) => format!("req-{d}"),
        None => format!("req-{}", ids.first().copied().unwrap_or(0)),
    };
    let spawned = std::thread::Builder::new().name(name).spawn({
        let drive = drive.clone();
        move || {
            run_batch(&s, library, drive.clone(), barcode.clone(), recs);
            if let Some(b) = &barcode {
                s.release_tape(b);
            }
            {
                let mut claimed = s.claimed();
                for id in &ids {
                    claimed.remove(id);
                }
            }
            if let Some(d) = drive {
                let mut uses = s.drive_uses();
                let u = uses.entry(d).or_default();
                u.busy = None;
                u.last_used = Some(OffsetDateTime::now_utc());
            }
            s.wake();
        }
    });
    match spawned {
        Ok(h) => {
            let mut threads = shared.threads();
            threads.retain(|t| !t.is_finished());
            threads.push(h);
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot start a request thread");
            let mut claimed = shared.claimed();
            claimed.clear();
            if let Some(d) = drive {
                shared.drive_uses().insert(d, DriveUse::default());
            }
        }
    }
}

/// Runs the requests of one assignment in order on one drive (or none).
fn run_batch(
    shared: &Arc<Shared>,
    library: Option<Arc<TapeLibrary>>,
    drive: Option<String>,
    barcode: Option<String>,
    recs: Vec<RequestRecord>,
) {
    let span = tracing::info_span!(
        "batch",
        drive = drive.as_deref().unwrap_or("-"),
        tape = barcode.as_deref().unwrap_or("-")
    );
    let _enter = span.enter();
    for rec in recs {
        if shared.stopping() {
            // Not started: stays PENDING for the next start.
            continue;
        }
        // Cancelled or changed while waiting.
        match shared.requests.get(rec.id) {
            Ok(r) if r.state == RequestState::Pending => {}
            _ => continue,
        }
        let rec = match shared.requests.start(rec.id, "starting") {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(id = rec.id, error = %e, "cannot start request");
                continue;
            }
        };
        run_one(shared, library.clone(), drive.clone(), barcode.clone(), rec);
    }
}

fn run_one(
    shared: &Arc<Shared>,
    library: Option<Arc<TapeLibrary>>,
    drive: Option<String>,
    batch_tape: Option<String>,
    rec: RequestRecord,
) {
    let span = tracing::info_span!("request", id = rec.id, kind = rec.kind.name());
    let _enter = span.enter();
    tracing::info!("request started");
    let id = rec.id;
    let kind = rec.kind.clone();
    let attempts = rec.attempts;
    let mut ctx = OpContext::new(shared.clone(), library, drive.clone(), rec);
    ctx.batch_tape = batch_tape;
    let outcome = ops::run(&mut ctx, &kind);
    let partial = ctx.partial_result.take();
    let requests = &shared.requests;
    let done = match outcome {
        Ok(out) => {
            tracing::info!(state = ?out.state, "request finished");
            requests.finish_with(
                id,
                out.state,
                DivaStatusCode::DivaOk,
                out.reason.as_deref(),
                Some(out.result),
            )
        }
        Err(OpError::Cancelled) => {
            tracing::info!("request cancelled");
            requests.finish_with(
                id,
                RequestState::Cancelled,
                DivaStatusCode::DivaOk,
                Some("cancelled at a safe point"),
                partial,
            )
        }
        Err(OpError::ShuttingDown) => {
            if kind.resumable() || ctx.nothing_done {
                tracing::info!("request checkpointed for the next start");
                requests.requeue(
                    id,
                    "the daemon stopped; the request runs again at the next start",
                )
            } else {
                requests.finish_with(
                    id,
                    RequestState::Aborted,
                    DivaStatusCode::DivaErrInternal,
                    Some("the daemon stopped during the request; nothing was committed"),
                    partial,
                )
            }
        }
        Err(e)
            if e.drive_failed()
                && (ctx.nothing_done || kind.resumable())
                && attempts < MAX_ATTEMPTS =>
        {
            if let (Some(lib), Some(d)) = (ctx.library.as_ref(), drive.as_deref()) {
                if lib
                    .drive_status(d)
                    .map(|s| s == DriveStatus::Up)
                    .unwrap_or(false)
                {
                    if let Err(err) = lib.set_drive_down(d, &format!("request {id}: {e}")) {
                        tracing::error!(error = %err, "cannot set drive DOWN");
                    }
                }
            }
            tracing::warn!(error = %e, "drive failed; the request runs again on another drive");
            requests.requeue(
                id,
                &format!("drive {} failed: {e}", drive.as_deref().unwrap_or("-")),
            )
        }
        Err(e) => {
            if e.drive_failed() {
                if let (Some(lib), Some(d)) = (ctx.library.as_ref(), drive.as_deref()) {
                    let _ = lib.set_drive_down(d, &format!("request {id}: {e}"));
                }
            }
            tracing::warn!(error = %e, "request aborted");
            requests.finish_with(
                id,
                RequestState::Aborted,
                e.diva_status(),
                Some(&e.to_string()),
                partial,
            )
        }
    };
    if let Err(e) = done {
        tracing::error!(error = %e, "cannot record the end of the request");
    }
}

/// Checks a request against the configuration and the catalog before it is accepted, so
/// that a client hears at once about an unknown server, group or object.
pub(crate) fn precheck(shared: &Shared, kind: &RequestKind) -> Result<(), OpError> {
    kind.validate()?;
    let catalog = &shared.state.catalog;
    let group_exists = |g: &str| -> Result<(), OpError> {
        if catalog.get_group(g)?.is_none() {
            return Err(OpError::diva(
                DivaStatusCode::DivaErrGroupDoesntExist,
                format!("tape group {g} does not exist"),
            ));
        }
        Ok(())
    };
    match kind {
        RequestKind::Archive(p) => {
            let server = shared.servers.get(&p.source_server)?;
            group_exists(&p.group)?;
            if catalog.get_object(&p.collection, &p.name)?.is_some() {
                return Err(OpError::diva(
                    DivaStatusCode::DivaErrObjectAlreadyExists,
                    format!("object {}/{} already exists", p.collection, p.name),
                ));
            }
            for r in shared.requests.active()? {
                if let RequestKind::Archive(q) = &r.kind {
                    if q.collection == p.collection && q.name == p.name {
                        return Err(OpError::diva(
                            DivaStatusCode::DivaErrObjectBeingArchived,
                            format!(
                                "object {}/{} is being archived by request {}",
                                p.collection, p.name, r.id
                            ),
                        ));
                    }
                }
            }
            let files = server.collect_sources(p.file_path_root.as_deref(), &p.files)?;
            if files.is_empty() {
                return Err(OpError::invalid("the archive names no regular file"));
            }
        }
        RequestKind::Restore(p) => {
            let server = shared.servers.get(&p.destination_server)?;
            ops::choose_instance(shared, &p.collection, &p.name, p.instance)?;
            let object = catalog.get_object(&p.collection, &p.name)?.ok_or_else(|| {
                OpError::diva(
                    DivaStatusCode::DivaErrObjectDoesntExist,
                    format!("object {}/{} does not exist", p.collection, p.name),
                )
            })?;
            let paths: Vec<String> = object.files.iter().map(|f| f.path.clone()).collect();
            server.check_destination(p.file_path_root.as_deref(), &paths, p.overwrite)?;
        }
        RequestKind::PartialRestore(p) => ops::partial_restore::precheck(shared, p)?,
        RequestKind::Copy(p) => {
            group_exists(&p.group)?;
            ops::choose_instance(shared, &p.collection, &p.name, p.source_instance)?;
        }
        RequestKind::Delete(p) => {
            let Some(_) = catalog.get_object(&p.collection, &p.name)? else {
                return Err(OpError::diva(
                    DivaStatusCode::DivaErrObjectDoesntExist,
                    format!("object {}/{} does not exist", p.collection, p.name),
                ));
            };
            if let Some(i) = p.instance {
                if catalog.get_instance(&p.collection, &p.name, i)?.is_none() {
                    return Err(OpError::diva(
                        DivaStatusCode::DivaErrInstanceDoesntExist,
                        format!("object {}/{} has no instance {i}", p.collection, p.name),
                    ));
                }
            }
        }
        RequestKind::Insert(p) if !shared.state.libraries.iter().any(|l| l.name() == p.library) => {
            return Err(OpError::invalid(format!("no library named {}", p.library)));
        }
        RequestKind::Eject(p) => {
            for b in &p.barcodes {
                let t = catalog.get_tape(b)?.ok_or_else(|| {
                    OpError::diva(
                        DivaStatusCode::DivaErrTapeDoesntExist,
                        format!("tape {b} is not known"),
                    )
                })?;
                if !t.online || t.library.is_none() {
                    return Err(OpError::diva(
                        DivaStatusCode::DivaErrObjectOffline,
                        format!("tape {b} is not in a library"),
                    ));
                }
                if t.state == TapeState::Repacking {
                    return Err(OpError::invalid(format!("tape {b} is being repacked")));
                }
            }
        }
        _ => {}
    }
    Ok(())
}
