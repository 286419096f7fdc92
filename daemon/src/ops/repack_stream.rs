//! Two-drive repack: one drive reads the source tape while another writes the destination,
//! the bytes passing through a bounded in-memory channel (`limits.repack_buffer_bytes`).
//!
//! The reader sends, per object, a start marker, then each file as chunks closed by an end
//! marker once its size and CRC-32 matched the catalog — or a failure that ends the object.
//! The writer keeps the destination mounted for the whole pass, writes the index to the data
//! partition every `limits.repack_sync_bytes`, and only then switches the objects that index
//! covers to their new instances, each in one catalog transaction. A full destination ends
//! the pass; the next pass starts again from the object that did not fit, on another tape.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

use tapelib_ltfs::{LtfsError, MountOptions, Volume};
use time::OffsetDateTime;

use super::archive::{self, TapeChoice, WriteMount, Written, WrittenFile};
use super::tape::{self, lt, Checkpoint, CrcReader, CrcWriter};
use super::OpContext;
use crate::catalog::{InstanceRecord, NewInstance, ObjectFile, ObjectRecord, TapeRecord};
use crate::engine::{OpError, OpResult, Progress, Shared};
use crate::library::TapeLibrary;

/// One instance to move: it lies wholly on the source tape.
pub(crate) struct Item {
    pub inst: InstanceRecord,
    pub object: ObjectRecord,
    /// LTFS path on the source and catalog entry of each file, in position order.
    pub files: Vec<(String, ObjectFile)>,
    /// Tapes holding an instance of the object: the copy goes elsewhere.
    pub avoid: HashSet<String>,
}

impl Item {
    pub(crate) fn label(&self) -> String {
        format!("{}/{}", self.inst.collection, self.inst.name)
    }
}

/// Objects and bytes moved so far, against the totals, for the request's progress.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tally {
    pub objects: u64,
    pub objects_total: u64,
    pub bytes: u64,
    pub bytes_total: u64,
}

impl Tally {
    pub(crate) fn phase(&self, source: &str, doing: &str) -> String {
        format!(
            "repacking {source}: {} of {} objects, {} of {} bytes moved; {doing}",
            self.objects, self.objects_total, self.bytes, self.bytes_total
        )
    }
}

/// What the streaming passes did.
#[derive(Default)]
pub(crate) struct StreamOutcome {
    pub destinations: Vec<String>,
    /// Objects that could not be moved, as "collection/name: reason".
    pub failed: Vec<String>,
    /// Objects left to the disk-cache path (no destination for them here, or too big for
    /// the free space of one tape).
    pub left: Vec<Item>,
}

/// Chunk size and channel slots for a memory bound: at most `slots` chunks queued, one
/// being filled by the reader and one being drained by the writer.
pub(crate) fn buffer_shape(limit: u64) -> (usize, usize) {
    let chunk = (limit / 4).clamp(16 << 10, 1 << 20);
    let slots = (limit / chunk).saturating_sub(2).max(1);
    (chunk as usize, slots as usize)
}

/// Where a pass reads the objects from.
#[derive(Clone, Copy)]
pub(crate) enum Origin<'a> {
    /// The source tape, in the request's drive (the destination is in another).
    Tape,
    /// Copies staged under `<dir>/<instance id>/` (the destination may be in the same drive).
    Cache(&'a std::path::Path),
}

enum Msg {
    /// The files of item `n` follow.
    Object(usize),
    Data(Vec<u8>),
    /// The file is complete and matched the catalog.
    FileEnd,
    /// The object cannot be read; no more of its files follow.
    Failed(String),
}

/// Moves `items` from `source` (loaded in the request's drive) to tapes of `group`
/// written in `dest_drive`.
pub(crate) fn stream(
    ctx: &mut OpContext,
    source: &str,
    origin: Origin<'_>,
    group: &str,
    dest_drive: &str,
    items: Vec<Item>,
    tally: &mut Tally,
) -> OpResult<StreamOutcome> {
    let (lib, src_drive) = ctx.drive_and_library()?;
    let limits = ctx.shared().state.config.limits.clone();
    let (chunk, slots) = buffer_shape(limits.repack_buffer_bytes);
    let mut out = StreamOutcome::default();
    let mut todo = items;
    let mut excluded: HashSet<String> = HashSet::new();
    // Items that met a full destination once: a second time they go to the spanning path.
    let mut filled_once: HashSet<u64> = HashSet::new();
    while !todo.is_empty() {
        Checkpoint::new(ctx).check()?;
        if let Origin::Tape = origin {
            tape::mount(ctx, source)?;
        }
        let need: u64 = todo.iter().map(|i| i.object.total_size).sum();
        let no_avoid = HashSet::new();
        let choice = TapeChoice {
            group,
            avoid: &no_avoid,
        };
        let dest = match archive::choose_tape(ctx, &choice, &lib, dest_drive, &excluded, need) {
            Ok(t) => t,
            Err(e) => {
                tracing::info!(error = %e, "no destination for the second drive; the disk cache takes the rest");
                out.left.append(&mut todo);
                break;
            }
        };
        // Objects with an instance on this tape already need another one.
        let (pass, elsewhere): (Vec<Item>, Vec<Item>) = std::mem::take(&mut todo)
            .into_iter()
            .partition(|i| !i.avoid.contains(&dest.barcode));
        out.left.extend(elsewhere);
        if pass.is_empty() {
            ctx.give_back_tape(&dest.barcode);
            break;
        }
        let r = run_pass(
            ctx, &lib, &src_drive, dest_drive, source, origin, group, &dest, pass, chunk, slots,
            &limits, tally,
        );
        ctx.give_back_tape(&dest.barcode);
        let (pass, result) = r?;
        archive::record_written_tape(
            ctx,
            &dest.barcode,
            &result.volume_uuid,
            result.capacity,
            &result.removed,
        )?;
        if !result.moved.is_empty() && !out.destinations.contains(&dest.barcode) {
            out.destinations.push(dest.barcode.clone());
        }
        let progressed = !result.moved.is_empty() || !result.failed.is_empty();
        let mut done: HashSet<usize> = result.moved.iter().copied().collect();
        for (i, reason) in &result.failed {
            done.insert(*i);
            out.failed.push(format!("{}: {reason}", pass[*i].label()));
        }
        if result.full {
            excluded.insert(dest.barcode.clone());
            archive::mark_full(ctx, &dest.barcode, "early warning reached while repacking");
        }
        let full_at = result.full_at;
        if let Some(e) = result.stopped {
            // What the index covered is committed; the rest stays for a later run.
            return Err(e);
        }
        for (n, item) in pass.into_iter().enumerate() {
            if done.contains(&n) {
                continue;
            }
            if full_at == Some(n) && !filled_once.insert(item.inst.id) {
                // It did not fit in what two tapes had left: it spans tapes.
                out.left.push(item);
            } else {
                todo.push(item);
            }
        }
        if !progressed && !result.full {
            return Err(OpError::diva(
                crate::request::DivaStatusCode::DivaErrInternal,
                format!(
                    "repack of {source} made no progress writing to {}",
                    dest.barcode
                ),
            ));
        }
    }
    Ok(out)
}

/// What one pass (one destination mount) did. Indices are into the pass's items.
struct PassResult {
    moved: Vec<usize>,
    failed: Vec<(usize, String)>,
    full: bool,
    full_at: Option<usize>,
    stopped: Option<OpError>,
    volume_uuid: String,
    capacity: Option<u64>,
    removed: Vec<String>,
}

/// What the writer needs besides the volume.
struct WriterEnv {
    shared: Arc<Shared>,
    actor: String,
    group: String,
    source: String,
    sync_bytes: u64,
    check: Checkpoint,
    tally: Tally,
}

#[allow(clippy::too_many_arguments)]
fn run_pass(
    ctx: &mut OpContext,
    lib: &Arc<TapeLibrary>,
    src_drive: &str,
    dest_drive: &str,
    source: &str,
    origin: Origin<'_>,
    group: &str,
    dest: &TapeRecord,
    pass: Vec<Item>,
    chunk: usize,
    slots: usize,
    limits: &crate::config::Limits,
    tally: &mut Tally,
) -> OpResult<(Vec<Item>, PassResult)> {
    // Load the destination into the second drive.
    let own = ctx.drive.replace(dest_drive.to_string());
    let mounted = tape::mount(ctx, &dest.barcode);
    ctx.drive = own;
    mounted?;
    ctx.progress
        .phase(tally.phase(source, &format!("writing to {}", dest.barcode)));
    let items = Arc::new(pass);
    let (tx, rx) = sync_channel::<Msg>(slots);
    let reader = {
        let lib = lib.clone();
        let drive = src_drive.to_string();
        let barcode = source.to_string();
        let items = items.clone();
        let check = Checkpoint::new(ctx);
        let cache = match origin {
            Origin::Tape => None,
            Origin::Cache(dir) => Some(dir.to_path_buf()),
        };
        std::thread::Builder::new()
            .name(format!("repack-read-{drive}"))
            .spawn(move || match cache {
                None => tape::on_drive(&lib, &drive, "repack read", move |d| {
                    read_source(d, &barcode, &items, &tx, chunk, &check)
                }),
                Some(dir) => read_cache(&dir, &items, &tx, chunk, &check),
            })
            .map_err(|e| {
                OpError::diva(
                    crate::request::DivaStatusCode::DivaErrInternal,
                    format!("cannot start the repack reader: {e}"),
                )
            })?
    };
    let env = WriterEnv {
        shared: ctx.shared().clone(),
        actor: ctx.actor(),
        group: group.to_string(),
        source: source.to_string(),
        sync_bytes: limits.repack_sync_bytes.max(1),
        check: Checkpoint::new(ctx),
        tally: tally.clone(),
    };
    let barcode = dest.barcode.clone();
    let format = dest.volume_uuid.is_none();
    let pending = dest.pending_removals.clone();
    let mut progress = ctx.progress.clone();
    let witems = items.clone();
    let written = tape::on_drive(lib, dest_drive, "repack write", move |d| {
        let mut feed = Feed::new(rx);
        let mut env = env;
        let r = write_dest(
            d,
            &barcode,
            format,
            &pending,
            &witems,
            &mut feed,
            &mut env,
            &mut progress,
        );
        // The reader stops at its next send.
        drop(feed);
        Ok((r, progress, env.tally))
    });
    let read = reader.join().unwrap_or_else(|_| {
        Err(OpError::diva(
            crate::request::DivaStatusCode::DivaErrInternal,
            "the repack reader panicked",
        ))
    });
    let (result, progress, t) = written?;
    ctx.progress = progress;
    *tally = t;
    let mut result = result?;
    if !result.moved.is_empty() {
        ctx.nothing_done = false;
    }
    if let Err(e) = read {
        // A source that cannot be mounted or a failed source drive ends the pass.
        if result.stopped.is_none() {
            result.stopped = Some(e);
        }
    }
    let items = Arc::try_unwrap(items).map_err(|_| {
        OpError::diva(
            crate::request::DivaStatusCode::DivaErrInternal,
            "repack items still shared after the pass",
        )
    })?;
    Ok((items, result))
}

/// Sends the staged copies of the items (under `dir/<instance id>/`) to the writer.
fn read_cache(
    dir: &std::path::Path,
    items: &[Item],
    tx: &SyncSender<Msg>,
    chunk: usize,
    check: &Checkpoint,
) -> OpResult<()> {
    for (n, item) in items.iter().enumerate() {
        check.check()?;
        if tx.send(Msg::Object(n)).is_err() {
            return Ok(());
        }
        for (_, f) in &item.files {
            let path = dir.join(item.inst.id.to_string()).join(&f.path);
            let mut sink = CrcWriter::new(ChunkSink::new(tx, chunk), None);
            let r =
                std::fs::File::open(&path).and_then(|mut file| std::io::copy(&mut file, &mut sink));
            if sink.inner.closed {
                return Ok(());
            }
            let failure = match r {
                Ok(len) => {
                    if !sink.inner.send_rest() {
                        return Ok(());
                    }
                    let crc = sink.crc();
                    (len != f.size || crc != f.crc32).then(|| {
                        format!(
                            "{} changed in the repack cache ({len} bytes, CRC-32 {crc:08x})",
                            f.path
                        )
                    })
                }
                Err(e) => Some(format!(
                    "cannot read {} from the repack cache: {e}",
                    path.display()
                )),
            };
            let msg = match failure {
                None => Msg::FileEnd,
                Some(reason) => Msg::Failed(reason),
            };
            let failed = matches!(msg, Msg::Failed(_));
            if tx.send(msg).is_err() {
                return Ok(());
            }
            if failed {
                break;
            }
        }
    }
    Ok(())
}

/// Reads the items' files from the source and sends them to the writer. Ends early (Ok)
/// when the writer stops listening.
fn read_source(
    d: tape::Dev<'_>,
    barcode: &str,
    items: &[Item],
    tx: &SyncSender<Msg>,
    chunk: usize,
    check: &Checkpoint,
) -> OpResult<()> {
    let options = MountOptions {
        read_only: true,
        ..Default::default()
    };
    let (mut vol, _) = Volume::mount(&mut *d, options).map_err(lt(barcode))?;
    for (n, item) in items.iter().enumerate() {
        check.check()?;
        if tx.send(Msg::Object(n)).is_err() {
            return Ok(());
        }
        for (path, f) in &item.files {
            let mut sink = CrcWriter::new(ChunkSink::new(tx, chunk), None);
            let r = vol.read_file(path, &mut sink);
            if sink.inner.closed {
                return Ok(());
            }
            let failure = match r {
                Ok(len) => {
                    if !sink.inner.send_rest() {
                        return Ok(());
                    }
                    let crc = sink.crc();
                    if len == f.size && crc == f.crc32 {
                        None
                    } else {
                        Some(format!(
                            "{path} on {barcode}: read {len} bytes with CRC-32 {crc:08x}, the catalog has {} bytes with {:08x}",
                            f.size, f.crc32
                        ))
                    }
                }
                Err(e) => {
                    let e = OpError::ltfs(barcode, e);
                    if e.drive_failed() {
                        let _ = tx.send(Msg::Failed(e.to_string()));
                        return Err(e);
                    }
                    Some(e.to_string())
                }
            };
            match failure {
                None => {
                    if tx.send(Msg::FileEnd).is_err() {
                        return Ok(());
                    }
                }
                Some(reason) => {
                    tracing::warn!(%barcode, object = %item.label(), %reason, "cannot read an object to repack");
                    if tx.send(Msg::Failed(reason)).is_err() {
                        return Ok(());
                    }
                    break;
                }
            }
        }
    }
    Ok(())
}

/// Cuts what LTFS reads into chunks for the channel.
struct ChunkSink<'a> {
    tx: &'a SyncSender<Msg>,
    buf: Vec<u8>,
    chunk: usize,
    closed: bool,
}

impl<'a> ChunkSink<'a> {
    fn new(tx: &'a SyncSender<Msg>, chunk: usize) -> Self {
        ChunkSink {
            tx,
            buf: Vec::with_capacity(chunk),
            chunk,
            closed: false,
        }
    }

    /// Sends the partly filled chunk; false when the writer is gone.
    fn send_rest(&mut self) -> bool {
        if self.buf.is_empty() {
            return true;
        }
        let data = std::mem::replace(&mut self.buf, Vec::with_capacity(self.chunk));
        if self.tx.send(Msg::Data(data)).is_err() {
            self.closed = true;
        }
        !self.closed
    }
}

impl Write for ChunkSink<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.closed {
            return Err(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the repack writer stopped",
            ));
        }
        let n = data.len().min(self.chunk - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == self.chunk && !self.send_rest() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the repack writer stopped",
            ));
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The writer's end of the channel.
struct Feed {
    rx: Receiver<Msg>,
    peeked: Option<Msg>,
    chunk: Vec<u8>,
    pos: usize,
    /// Why the reader gave up on the current object.
    failure: Option<String>,
    /// The reader is gone (finished, stopped or failed).
    gone: bool,
}

impl Feed {
    fn new(rx: Receiver<Msg>) -> Self {
        Feed {
            rx,
            peeked: None,
            chunk: Vec::new(),
            pos: 0,
            failure: None,
            gone: false,
        }
    }

    fn recv(&mut self) -> Option<Msg> {
        if let Some(m) = self.peeked.take() {
            return Some(m);
        }
        match self.rx.recv() {
            Ok(m) => Some(m),
            Err(_) => {
                self.gone = true;
                None
            }
        }
    }

    /// The next object, skipping what is left of the current one; `None` once the reader
    /// is done.
    fn next_object(&mut self) -> Option<usize> {
        self.failure = None;
        self.chunk.clear();
        self.pos = 0;
        loop {
            match self.recv()? {
                Msg::Object(n) => return Some(n),
                Msg::Data(_) | Msg::FileEnd | Msg::Failed(_) => {}
            }
        }
    }

    /// A reader for the next file of the current object.
    fn file(&mut self) -> FileReader<'_> {
        FileReader {
            feed: self,
            eof: false,
        }
    }
}

struct FileReader<'a> {
    feed: &'a mut Feed,
    eof: bool,
}

impl Read for FileReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.eof || out.is_empty() {
            return Ok(0);
        }
        loop {
            let f = &mut *self.feed;
            if f.pos < f.chunk.len() {
                let n = out.len().min(f.chunk.len() - f.pos);
                out[..n].copy_from_slice(&f.chunk[f.pos..f.pos + n]);
                f.pos += n;
                return Ok(n);
            }
            match f.recv() {
                Some(Msg::Data(v)) => {
                    f.chunk = v;
                    f.pos = 0;
                }
                Some(Msg::FileEnd) => {
                    self.eof = true;
                    return Ok(0);
                }
                Some(Msg::Failed(reason)) => {
                    f.failure = Some(reason.clone());
                    return Err(std::io::Error::other(reason));
                }
                Some(m @ Msg::Object(_)) => {
                    f.peeked = Some(m);
                    f.failure = Some("the source sent the next object too early".into());
                    return Err(std::io::Error::other("the source ended the object early"));
                }
                None => return Err(std::io::Error::other("the source reader stopped")),
            }
        }
    }
}

/// How writing one object ended.
enum ItemEnd {
    Written(Vec<WrittenFile>),
    /// The source could not deliver it (unreadable, checksum): the object fails.
    SourceFailed(String),
    /// The reader is gone: the pass ends, the object stays to do.
    SourceGone,
    /// Early warning on the destination.
    Full,
    DestFailed(OpError),
}

#[allow(clippy::too_many_arguments)]
fn write_dest(
    d: tape::Dev<'_>,
    barcode: &str,
    format: bool,
    pending_removals: &[String],
    items: &[Item],
    feed: &mut Feed,
    env: &mut WriterEnv,
    progress: &mut Progress,
) -> OpResult<PassResult> {
    let WriteMount {
        mut vol,
        volume_uuid,
        capacity,
        removed,
    } = archive::open_for_write(d, barcode, format, pending_removals)?;
    if format {
        // Objects switch to this volume during the pass: the catalog must know it is
        // formatted before the first of them, or a run after a crash would format it again.
        env.shared.state.catalog.update_tape(barcode, |t| {
            t.volume_uuid = Some(volume_uuid.clone());
            t.scratch = false;
            if t.capacity_bytes == 0 {
                t.capacity_bytes = capacity.unwrap_or(0);
            }
            Ok(())
        })?;
    }
    let mut result = PassResult {
        moved: Vec::new(),
        failed: Vec::new(),
        full: false,
        full_at: None,
        stopped: None,
        volume_uuid,
        capacity,
        removed,
    };
    // Written, not yet covered by an index on tape.
    let mut uncovered: Vec<(usize, Vec<WrittenFile>)> = Vec::new();
    let mut uncovered_bytes = 0u64;
    loop {
        if let Err(e) = env.check.check() {
            result.stopped = Some(e);
            break;
        }
        let Some(n) = feed.next_object() else { break };
        let Some(item) = items.get(n) else {
            result.stopped = Some(OpError::diva(
                crate::request::DivaStatusCode::DivaErrInternal,
                format!("the repack reader named object {n} of {}", items.len()),
            ));
            break;
        };
        let before = progress.done();
        let end = write_item(&mut vol, barcode, item, feed, progress);
        if !matches!(end, ItemEnd::Written(_)) {
            progress.rewind(progress.done().saturating_sub(before));
        }
        match end {
            ItemEnd::Written(files) => {
                uncovered_bytes += item.object.total_size;
                uncovered.push((n, files));
                if uncovered_bytes >= env.sync_bytes {
                    if let Err(e) = vol.sync() {
                        result.stopped = Some(OpError::ltfs(barcode, e));
                        uncovered.clear();
                        break;
                    }
                    commit(env, barcode, items, &mut uncovered, &mut result, progress);
                    uncovered_bytes = 0;
                }
            }
            ItemEnd::SourceFailed(reason) => result.failed.push((n, reason)),
            ItemEnd::SourceGone => break,
            ItemEnd::Full => {
                tracing::info!(%barcode, object = %item.label(), "early warning: the destination is full");
                result.full = true;
                result.full_at = Some(n);
                break;
            }
            ItemEnd::DestFailed(e) => {
                result.stopped = Some(e);
                break;
            }
        }
    }
    // The final index on both partitions; what it covers switches over.
    match vol.unmount() {
        Ok(_) => commit(env, barcode, items, &mut uncovered, &mut result, progress),
        Err(e) => {
            tracing::error!(%barcode, error = %e, "cannot write the destination's index; its last objects stay on the source");
            if result.stopped.is_none() {
                result.stopped = Some(OpError::ltfs(barcode, e));
            }
        }
    }
    Ok(result)
}

/// Writes one object's files as they arrive; on any failure drops what it wrote of the
/// object from the index again.
fn write_item(
    vol: &mut Volume<tape::Dev<'_>>,
    barcode: &str,
    item: &Item,
    feed: &mut Feed,
    progress: &mut Progress,
) -> ItemEnd {
    let (collection, name) = (&item.inst.collection, &item.inst.name);
    let dir = archive::object_dir(collection, name);
    // No instance of the object is on this tape (see `Item::avoid`): a directory of it is
    // what an interrupted attempt left behind.
    if vol.entry(&dir).is_ok() {
        tracing::warn!(%barcode, %dir, "dropping files of an uncommitted attempt from the index");
        if let Err(e) = tape::remove_tree(vol, &dir) {
            return ItemEnd::DestFailed(OpError::ltfs(barcode, e));
        }
    }
    let archived = item
        .object
        .archived
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    if let Err(e) = archive::make_object_dir(
        vol,
        &dir,
        collection,
        name,
        &archived,
        &item.object.comments,
    ) {
        return ItemEnd::DestFailed(OpError::ltfs(barcode, e));
    }
    let mut out: Vec<WrittenFile> = Vec::new();
    let end = write_files(vol, barcode, item, &dir, feed, progress, &mut out);
    if !matches!(end, ItemEnd::Written(_)) {
        for w in &out {
            let _ = vol.remove(&w.ltfs_path);
        }
        tape::prune_empty_dirs(vol, &dir);
        return end;
    }
    ItemEnd::Written(out)
}

fn write_files(
    vol: &mut Volume<tape::Dev<'_>>,
    barcode: &str,
    item: &Item,
    dir: &str,
    feed: &mut Feed,
    progress: &mut Progress,
    out: &mut Vec<WrittenFile>,
) -> ItemEnd {
    let (collection, name) = (&item.inst.collection, &item.inst.name);
    for (_, f) in &item.files {
        let ltfs_path = format!("{dir}/{}", f.path);
        if let Some(i) = ltfs_path.rfind('/') {
            if i > dir.len() {
                if let Err(e) = vol.create_dir_all(&ltfs_path[..i]) {
                    return ItemEnd::DestFailed(OpError::ltfs(barcode, e));
                }
            }
        }
        let xattrs = archive::file_xattrs(collection, name, &f.path);
        let mut reader = CrcReader::new(feed.file(), progress);
        let r = vol.write_file(&ltfs_path, &mut reader, &xattrs);
        let crc = reader.crc();
        match r {
            Ok(len) => {
                out.push(WrittenFile {
                    path: f.path.clone(),
                    size: len,
                    crc32: crc,
                    tape: barcode.to_string(),
                    position: archive::file_position(vol, &ltfs_path),
                    ltfs_path: ltfs_path.clone(),
                });
                if len != f.size || crc != f.crc32 {
                    return ItemEnd::SourceFailed(format!(
                        "{}: {len} bytes with CRC-32 {crc:08x} reached the destination, the catalog has {} bytes with {:08x}",
                        f.path, f.size, f.crc32
                    ));
                }
                if let Err(e) = vol.set_xattr(
                    &ltfs_path,
                    archive::xattr_keys::CRC32,
                    format!("{crc:08x}").as_bytes(),
                ) {
                    return ItemEnd::DestFailed(OpError::ltfs(barcode, e));
                }
            }
            Err(LtfsError::NoSpace { .. }) => return ItemEnd::Full,
            Err(e) => {
                if let Some(reason) = feed.failure.take() {
                    return ItemEnd::SourceFailed(reason);
                }
                if feed.gone {
                    return ItemEnd::SourceGone;
                }
                return ItemEnd::DestFailed(OpError::ltfs(barcode, e));
            }
        }
    }
    ItemEnd::Written(Vec::new())
}

/// Switches every object the index on tape now covers to its new instance.
fn commit(
    env: &mut WriterEnv,
    barcode: &str,
    items: &[Item],
    uncovered: &mut Vec<(usize, Vec<WrittenFile>)>,
    result: &mut PassResult,
    progress: &mut Progress,
) {
    let catalog = &env.shared.state.catalog;
    for (n, files) in uncovered.drain(..) {
        let item = &items[n];
        let written = Written {
            files,
            tapes: vec![barcode.to_string()],
        };
        let new = NewInstance {
            group: env.group.clone(),
            files: archive::instance_files(&written),
            created: OffsetDateTime::now_utc(),
        };
        match catalog.replace_instance(
            &item.inst.collection,
            &item.inst.name,
            item.inst.id,
            &new,
            &env.actor,
        ) {
            Ok(_) => {
                result.moved.push(n);
                env.tally.objects += 1;
                env.tally.bytes += item.object.total_size;
            }
            Err(e) => {
                // Deleted meanwhile, or the catalog failed: the copy belongs to nothing.
                archive::forget_written_in(catalog, &written);
                result
                    .failed
                    .push((n, format!("cannot switch to the new instance: {e}")));
            }
        }
    }
    progress.phase(
        env.tally
            .phase(&env.source, &format!("writing to {barcode}")),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_buffer_stays_within_its_bound() {
        for limit in [64u64 << 10, 100_000, 1 << 20, 5 << 20, 256 << 20, 1 << 30] {
            let (chunk, slots) = buffer_shape(limit);
            // Queued chunks, plus one being filled and one being drained.
            let peak = (slots as u64 + 2) * chunk as u64;
            assert!(peak <= limit, "{limit}: {slots} x {chunk}");
            assert!(slots >= 1 && chunk >= 16 << 10);
        }
        assert_eq!(buffer_shape(256 << 20), (1 << 20, 254));
    }

    #[test]
    fn a_file_arrives_whole_or_fails() {
        let (tx, rx) = sync_channel(4);
        let mut feed = Feed::new(rx);
        let sender = std::thread::spawn(move || {
            tx.send(Msg::Object(0)).unwrap();
            let mut sink = ChunkSink::new(&tx, 16 << 10);
            sink.write_all(&[7u8; 40_000]).unwrap();
            assert!(sink.send_rest());
            tx.send(Msg::FileEnd).unwrap();
            tx.send(Msg::Data(vec![1, 2, 3])).unwrap();
            tx.send(Msg::Failed("medium error".into())).unwrap();
            tx.send(Msg::Object(1)).unwrap();
        });
        assert_eq!(feed.next_object(), Some(0));
        let mut got = Vec::new();
        feed.file().read_to_end(&mut got).unwrap();
        assert_eq!(got, vec![7u8; 40_000]);
        let mut rest = Vec::new();
        let e = feed.file().read_to_end(&mut rest).unwrap_err();
        assert!(e.to_string().contains("medium error"));
        assert_eq!(feed.failure.as_deref(), Some("medium error"));
        assert_eq!(feed.next_object(), Some(1));
        sender.join().unwrap();
        assert_eq!(feed.next_object(), None);
        assert!(feed.gone);
    }
}
