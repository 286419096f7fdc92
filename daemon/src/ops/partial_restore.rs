//! partial restore: byte ranges, files and folders, DPX frames and timecode cuts of MXF,
//! GXF and MPEG-TS clips. Every read goes through LTFS byte-range reads that locate to the
//! blocks needed; work on one tape runs in tape position order. New files appear under the
//! destination root only once complete.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use tapelib_ltfs::{LtfsError, MountOptions, TapeDevice, Volume};
use tapelib_media::{dpx, MediaError, RangeSource, TimecodeRange};
use tapelib_proto::v1::{offset_pair, partial_restore_offset, SubmitPartialRestoreRequest};

use super::tape::{self, lt, Checkpoint};
use super::{choose_instance, OpContext, OpOutcome};
use crate::catalog::{InstanceFile, InstanceRecord, ObjectFile, ObjectRecord};
use crate::engine::{OpError, OpResult, Progress, Shared};
use crate::request::{
    partial_format as fmt, DivaStatusCode, PartialRange, PartialRestoreParams, PartialSelection,
    RequestResult, RestoredPart,
};
use crate::servers::{Server, ServerError};

/// Converts a gRPC partial restore into request parameters, refusing selections that do
/// not suit their format. Files are replaced unless `do_not_overwrite` is set.
pub fn partial_params_from_proto(
    req: &SubmitPartialRestoreRequest,
) -> Result<PartialRestoreParams, OpError> {
    req.check_selection()
        .map_err(|e| OpError::diva(e.diva_code(), e.to_string()))?;
    let object = req
        .object
        .as_ref()
        .ok_or_else(|| OpError::invalid("partial restore names no object"))?;
    let mut selection = Vec::with_capacity(req.offsets.len());
    for o in &req.offsets {
        use partial_restore_offset::Selection;
        selection.push(match &o.selection {
            Some(Selection::File(f)) => PartialSelection::File {
                source_file: f.source_file.clone(),
                destination_file: f.destination_file.clone(),
                ranges: f
                    .pairs
                    .iter()
                    .filter_map(|p| match &p.range {
                        Some(offset_pair::Range::Bytes(b)) => Some(PartialRange::Bytes {
                            begin: b.begin,
                            end: b.end,
                        }),
                        Some(offset_pair::Range::Timecode(t)) => Some(PartialRange::Timecode {
                            begin: t.begin.clone(),
                            end: t.end.clone(),
                        }),
                        None => None,
                    })
                    .collect(),
            },
            Some(Selection::FileFolder(f)) => PartialSelection::FileFolder {
                name: f.name.clone(),
                option: f.option.clone(),
            },
            Some(Selection::Range(r)) => PartialSelection::Frames {
                begin: r.begin,
                end: r.end,
            },
            None => return Err(OpError::invalid("an offsets entry selects nothing")),
        });
    }
    let p = PartialRestoreParams {
        collection: object.collection.clone(),
        name: object.name.clone(),
        instance: req.instance.map(u64::from),
        destination_server: req.destination_server.clone(),
        file_path_root: Some(req.file_path_root.clone()).filter(|s| !s.is_empty()),
        overwrite: !req.do_not_overwrite,
        items: Vec::new(),
        format: req.format.max(0) as u32,
        selection,
    };
    crate::request::RequestKind::PartialRestore(p.clone()).validate()?;
    Ok(p)
}

/// What to do with one file of the object.
#[derive(Debug, Clone)]
enum Work {
    /// Bytes `[begin, end)` ranges, concatenated in order.
    Bytes(Vec<(u64, u64)>),
    /// The whole file, CRC-checked; `dpx` holds its frame number when it is a DPX frame.
    Whole { dpx: Option<u64> },
    /// A timecode cut of a clip in a DIVA video format.
    Cut { format: u32, range: TimecodeRange },
}

#[derive(Debug, Clone)]
struct Job {
    file: InstanceFile,
    object_file: ObjectFile,
    destination: String,
    work: Work,
}

fn normalize(path: &str) -> &str {
    let p = path.trim_start_matches("./").trim_start_matches('/');
    p.trim_end_matches('/')
}

/// `clip.mxf` → `clip_2.mxf` for the second timecode range of a file.
fn numbered(dest: &str, n: usize) -> String {
    if n == 1 {
        return dest.to_string();
    }
    let (dir, file) = match dest.rfind('/') {
        Some(i) => (&dest[..=i], &dest[i + 1..]),
        None => ("", dest),
    };
    match file.rfind('.') {
        Some(i) if i > 0 => format!("{dir}{}_{n}{}", &file[..i], &file[i..]),
        _ => format!("{dir}{file}_{n}"),
    }
}

/// The jobs a request asks for, checked against the object: files exist, byte ranges lie
/// inside them, DPX ranges select frames. Returns the jobs and notes for the result.
fn plan(
    p: &PartialRestoreParams,
    object: &ObjectRecord,
    inst: &InstanceRecord,
) -> OpResult<(Vec<Job>, Vec<String>)> {
    let files: HashMap<&str, &ObjectFile> =
        object.files.iter().map(|f| (f.path.as_str(), f)).collect();
    let placed: HashMap<&str, &InstanceFile> =
        inst.files.iter().map(|f| (f.path.as_str(), f)).collect();
    let lookup = |path: &str| -> OpResult<(InstanceFile, ObjectFile)> {
        let path = normalize(path);
        match (files.get(path), placed.get(path)) {
            (Some(o), Some(i)) => Ok(((*i).clone(), (*o).clone())),
            _ => Err(OpError::invalid(format!(
                "object {}/{} has no file {path}",
                object.collection, object.name
            ))),
        }
    };
    let mut jobs = Vec::new();
    let mut notes = Vec::new();
    let selection = effective_selection(p);
    for sel in &selection {
        match sel {
            PartialSelection::File {
                source_file,
                destination_file,
                ranges,
            } => {
                let (file, object_file) = lookup(source_file)?;
                if p.format == fmt::BYTES {
                    let mut list = Vec::new();
                    for r in ranges {
                        let PartialRange::Bytes { begin, end } = r else {
                            return Err(OpError::invalid("a timecode range in a byte restore"));
                        };
                        if begin >= end || *end > object_file.size {
                            return Err(OpError::invalid(format!(
                                "byte range {begin}-{end} (end exclusive) of {} is empty, reversed or past its end ({} bytes)",
                                object_file.path, object_file.size
                            )));
                        }
                        list.push((*begin, *end));
                    }
                    jobs.push(Job {
                        file,
                        object_file,
                        destination: destination_file.clone(),
                        work: Work::Bytes(list),
                    });
                } else {
                    for (i, r) in ranges.iter().enumerate() {
                        let PartialRange::Timecode { begin, end } = r else {
                            return Err(OpError::invalid("a byte range in a timecode restore"));
                        };
                        let range = TimecodeRange::parse(begin, end)
                            .map_err(|e| OpError::invalid(e.to_string()))?;
                        jobs.push(Job {
                            file: file.clone(),
                            object_file: object_file.clone(),
                            destination: numbered(destination_file, i + 1),
                            work: Work::Cut {
                                format: p.format,
                                range,
                            },
                        });
                    }
                }
            }
            PartialSelection::FileFolder { name, .. } => {
                let name = normalize(name);
                let prefix = format!("{name}/");
                let mut any = false;
                for o in &object.files {
                    if name.is_empty() || o.path == name || o.path.starts_with(&prefix) {
                        let (file, object_file) = lookup(&o.path)?;
                        jobs.push(Job {
                            destination: o.path.clone(),
                            file,
                            object_file,
                            work: Work::Whole { dpx: None },
                        });
                        any = true;
                    }
                }
                if !any {
                    return Err(OpError::invalid(format!(
                        "object {}/{} has no file or folder {name}",
                        object.collection, object.name
                    )));
                }
            }
            PartialSelection::Frames { begin, end } => {
                let sel =
                    dpx::select_frames(object.files.iter().map(|f| f.path.as_str()), *begin, *end)
                        .map_err(media_error)?;
                if !sel.gaps.is_empty() {
                    notes.push(format!(
                        "frames {begin}-{end}: {} missing ({}{})",
                        sel.gaps.len(),
                        sel.gaps
                            .iter()
                            .take(10)
                            .map(u64::to_string)
                            .collect::<Vec<_>>()
                            .join(", "),
                        if sel.gaps.len() > 10 { ", …" } else { "" }
                    ));
                }
                if !sel.duplicates.is_empty() {
                    notes.push(format!(
                        "frames held by more than one file: {}",
                        sel.duplicates
                            .iter()
                            .map(u64::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                for (n, path) in sel.files {
                    let (file, object_file) = lookup(&path)?;
                    jobs.push(Job {
                        destination: path,
                        file,
                        object_file,
                        work: Work::Whole { dpx: Some(n) },
                    });
                }
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    for j in &jobs {
        if !seen.insert(j.destination.as_str()) {
            return Err(OpError::invalid(format!(
                "two selections write the same destination file {}",
                j.destination
            )));
        }
    }
    Ok((jobs, notes))
}

/// The selection, with the simple `items` form turned into DIVA selections.
fn effective_selection(p: &PartialRestoreParams) -> Vec<PartialSelection> {
    if !p.selection.is_empty() {
        return p.selection.clone();
    }
    p.items
        .iter()
        .map(|item| match &item.range {
            Some(r) => PartialSelection::File {
                source_file: item.source_path.clone(),
                destination_file: item
                    .destination_path
                    .clone()
                    .unwrap_or_else(|| item.source_path.clone()),
                ranges: vec![PartialRange::Bytes {
                    begin: r.offset,
                    end: r.length.map_or(u64::MAX, |l| r.offset.saturating_add(l)),
                }],
            },
            None => PartialSelection::FileFolder {
                name: item.source_path.clone(),
                option: String::new(),
            },
        })
        .collect()
}

fn media_error(e: MediaError) -> OpError {
    match e {
        MediaError::Io(io) => OpError::diva(DivaStatusCode::DivaErrInternal, io.to_string()),
        e => OpError::invalid(e.to_string()),
    }
}

/// Checks what can be checked before the request is queued: the instance, the files and
/// ranges against the catalog, and the destination files.
pub(crate) fn precheck(shared: &Shared, p: &PartialRestoreParams) -> OpResult<()> {
    let server = shared.servers.get(&p.destination_server)?;
    let inst = choose_instance(shared, &p.collection, &p.name, p.instance)?;
    let object = load_object(shared, p)?;
    let p = clamp_items(p, &object);
    let (jobs, _) = plan(&p, &object, &inst)?;
    let dests: Vec<String> = jobs.iter().map(|j| j.destination.clone()).collect();
    server.check_destination(p.file_path_root.as_deref(), &dests, p.overwrite)?;
    Ok(())
}

fn load_object(shared: &Shared, p: &PartialRestoreParams) -> OpResult<ObjectRecord> {
    shared
        .state
        .catalog
        .get_object(&p.collection, &p.name)?
        .ok_or_else(|| {
            OpError::diva(
                DivaStatusCode::DivaErrObjectDoesntExist,
                format!("object {}/{} does not exist", p.collection, p.name),
            )
        })
}

/// Simple-form items whose range runs to the end of the file end at its size.
fn clamp_items(p: &PartialRestoreParams, object: &ObjectRecord) -> PartialRestoreParams {
    let mut p = p.clone();
    for item in &mut p.items {
        if let Some(r) = &mut item.range {
            if r.length.is_none() {
                let size = object
                    .files
                    .iter()
                    .find(|f| f.path == normalize(&item.source_path))
                    .map_or(0, |f| f.size);
                r.length = Some(size.saturating_sub(r.offset));
            }
        }
    }
    p
}

pub(crate) fn run(ctx: &mut OpContext, p: &PartialRestoreParams) -> OpResult<OpOutcome> {
    let span = tracing::info_span!("partial_restore", request = ctx.request.id, object = %format!("{}/{}", p.collection, p.name), format = p.format);
    let _enter = span.enter();
    let inst = choose_instance(ctx.shared(), &p.collection, &p.name, p.instance)?;
    let object = load_object(ctx.shared(), p)?;
    let p = clamp_items(p, &object);
    let (jobs, notes) = plan(&p, &object, &inst)?;
    let server = ctx.servers().get(&p.destination_server)?;
    let resumed = ctx.request.attempts > 1;
    let overwrite = p.overwrite || resumed;
    if !resumed {
        let dests: Vec<String> = jobs.iter().map(|j| j.destination.clone()).collect();
        server.check_destination(p.file_path_root.as_deref(), &dests, p.overwrite)?;
    }
    ctx.progress.set_total(jobs.iter().map(estimate).sum());
    let (lib, drive) = ctx.drive_and_library()?;
    let mut parts = Vec::new();
    // Tapes in written order; on each, files by position.
    for barcode in &inst.tapes {
        let mut list: Vec<Job> = jobs
            .iter()
            .filter(|j| &j.file.tape == barcode)
            .cloned()
            .collect();
        if list.is_empty() {
            continue;
        }
        list.sort_by_key(|j| (j.file.position.is_none(), j.file.position));
        Checkpoint::new(ctx).check()?;
        ctx.wait_for_tape(barcode)?;
        let r = read_tape(
            ctx,
            &lib,
            &drive,
            barcode,
            list,
            &server,
            p.file_path_root.clone(),
            overwrite,
        );
        ctx.give_back_tape(barcode);
        let done = r?;
        if !done.is_empty() {
            ctx.nothing_done = false;
        }
        parts.extend(done);
    }
    if let Some(first) = parts.first_mut() {
        if !notes.is_empty() {
            let n = notes.join("; ");
            first.note = Some(match first.note.take() {
                Some(m) => format!("{m}; {n}"),
                None => n,
            });
        }
    }
    let bytes_read = parts.iter().map(|p| p.bytes_read).sum();
    let bytes_written = parts.iter().map(|p| p.bytes_written).sum();
    tracing::info!(
        parts = parts.len(),
        bytes_read,
        bytes_written,
        "partial restore done"
    );
    Ok(OpOutcome::completed(RequestResult::PartialRestore {
        instance_id: inst.id,
        barcodes: inst.tapes.clone(),
        parts,
        bytes_read,
        bytes_written,
    }))
}

fn estimate(j: &Job) -> u64 {
    match &j.work {
        Work::Bytes(r) => r.iter().map(|(a, b)| b - a).sum(),
        Work::Whole { .. } => j.object_file.size,
        // A cut reads a fraction that is only known once the index is read.
        Work::Cut { .. } => 0,
    }
}

#[allow(clippy::too_many_arguments)]
fn read_tape(
    ctx: &mut OpContext,
    lib: &Arc<crate::library::TapeLibrary>,
    drive: &str,
    barcode: &str,
    jobs: Vec<Job>,
    server: &Arc<Server>,
    root: Option<String>,
    overwrite: bool,
) -> OpResult<Vec<RestoredPart>> {
    tape::mount(ctx, barcode)?;
    ctx.progress.phase(format!("reading from {barcode}"));
    let barcode_s = barcode.to_string();
    let server = server.clone();
    let check = Checkpoint::new(ctx);
    let mut progress = ctx.progress.clone();
    let (r, progress) = tape::on_drive(lib, drive, "partial_restore", move |d| {
        let r = (|| {
            let options = MountOptions {
                read_only: true,
                ..Default::default()
            };
            let (mut vol, _) = Volume::mount(&mut *d, options).map_err(lt(&barcode_s))?;
            let mut parts = Vec::new();
            for job in &jobs {
                check.check()?;
                let out =
                    server.create_destination(root.as_deref(), &job.destination, overwrite)?;
                parts.push(run_job(
                    &mut vol,
                    &barcode_s,
                    job,
                    out,
                    &server,
                    &mut progress,
                )?);
            }
            Ok(parts)
        })();
        Ok((r, progress))
    })?;
    ctx.progress = progress;
    r
}

fn run_job<D: TapeDevice>(
    vol: &mut Volume<D>,
    barcode: &str,
    job: &Job,
    mut out: crate::servers::DestinationFile,
    server: &Server,
    progress: &mut Progress,
) -> OpResult<RestoredPart> {
    let span =
        tracing::info_span!("part", source = %job.object_file.path, destination = %job.destination);
    let _enter = span.enter();
    let write_err = |source: std::io::Error| {
        OpError::Server(ServerError::Io {
            server: server.name().to_string(),
            path: job.destination.clone(),
            source,
        })
    };
    let ltfs_err = |e: LtfsError| match e {
        LtfsError::Io { source, .. } => write_err(source),
        e => OpError::ltfs(barcode, e),
    };
    let mut part = RestoredPart {
        source: job.object_file.path.clone(),
        destination: job.destination.clone(),
        bytes_read: 0,
        source_size: job.object_file.size,
        bytes_written: 0,
        first_frame: None,
        last_frame: None,
        first_timecode: None,
        last_timecode: None,
        note: None,
    };
    match &job.work {
        Work::Bytes(ranges) => {
            for &(begin, end) in ranges {
                let n = vol
                    .read_range(&job.file.ltfs_path, begin, end - begin, &mut out)
                    .map_err(ltfs_err)?;
                if n != end - begin {
                    return Err(OpError::invalid(format!(
                        "{} ends at {} on tape, before byte {end}",
                        job.object_file.path,
                        begin + n
                    )));
                }
                progress.add(n);
                part.bytes_read += n;
            }
            part.bytes_written = part.bytes_read;
        }
        Work::Whole { dpx: frame } => {
            let mut data = Vec::with_capacity(job.object_file.size.min(1 << 30) as usize);
            let n = vol
                .read_file(&job.file.ltfs_path, &mut data)
                .map_err(ltfs_err)?;
            let crc = crc32fast::hash(&data);
            if n != job.object_file.size || crc != job.object_file.crc32 {
                return Err(OpError::Checksum {
                    barcode: barcode.to_string(),
                    path: job.file.ltfs_path.clone(),
                    expected: job.object_file.crc32,
                    computed: crc,
                });
            }
            if let Some(f) = frame {
                let h = dpx::parse_header(&data, n)
                    .map_err(|e| OpError::invalid(format!("{}: {e}", job.object_file.path)))?;
                part.first_frame = Some(*f);
                part.last_frame = Some(*f);
                part.first_timecode = h.timecode.map(|t| t.to_string());
                part.last_timecode = part.first_timecode.clone();
            }
            out.write_all(&data).map_err(write_err)?;
            progress.add(n);
            part.bytes_read = n;
            part.bytes_written = n;
        }
        Work::Cut { format, range } => {
            let mut src = TapeFile::new(vol, &job.file.ltfs_path, job.object_file.size);
            let r = match *format {
                fmt::GXF => tapelib_media::cut_gxf(&mut src, range, &mut out),
                fmt::MXF => tapelib_media::cut_mxf(&mut src, range, &mut out),
                fmt::MPEG2_TS => tapelib_media::cut_ts(&mut src, range, &mut out),
                fmt::AUTODETECT => tapelib_media::cut_auto(&mut src, range, &mut out),
                f => Err(MediaError::Unsupported(format!(
                    "partial restore format {f} not supported"
                ))),
            };
            let read = src.bytes_read;
            if let Some(e) = src.error.take() {
                return Err(ltfs_err(e));
            }
            let r = r.map_err(|e| match e {
                MediaError::Io(io) => write_err(io),
                e => OpError::invalid(format!("{}: {e}", job.object_file.path)),
            })?;
            progress.add(read);
            part.bytes_read = read;
            part.bytes_written = r.bytes_written;
            part.first_frame = Some(r.first_frame);
            part.last_frame = Some(r.last_frame);
            part.first_timecode = Some(r.first_timecode.clone());
            part.last_timecode = Some(r.last_timecode.clone());
            let asked = format!("{}-{}", range.begin, range.end);
            let got = format!("{}-{}", r.first_timecode, r.last_timecode);
            if asked != got {
                part.note = Some(format!(
                    "asked {asked}, restored {got} (whole GOPs around the range)"
                ));
            }
        }
    }
    out.commit()?;
    tracing::info!(
        bytes_read = part.bytes_read,
        bytes_written = part.bytes_written,
        "restored"
    );
    Ok(part)
}

/// A file on an LTFS volume read by byte ranges. Small reads fetch whole tape blocks and
/// keep them, since the drive reads whole records anyway; large reads go straight through.
/// Recently read runs of blocks stay cached (up to `CACHE_BYTES`), so a parser that scans
/// forward to its in point and then copies from a point it passed reads those blocks once
/// and does not locate back.
struct TapeFile<'v, D: TapeDevice> {
    vol: &'v mut Volume<D>,
    path: String,
    len: u64,
    block: u64,
    /// Block-aligned runs `(offset, bytes)`, most recently used last.
    cache: Vec<(u64, Vec<u8>)>,
    /// End of the last fetch from tape, to recognise reads that continue it.
    last_end: Option<u64>,
    /// Bytes read from tape.
    bytes_read: u64,
    /// The tape error behind a failed read, reported as such instead of as bad media.
    error: Option<LtfsError>,
}

const CACHE_BYTES: usize = 32 << 20;

impl<'v, D: TapeDevice> TapeFile<'v, D> {
    fn new(vol: &'v mut Volume<D>, path: &str, len: u64) -> Self {
        let block = vol.blocksize().max(1) as u64;
        TapeFile {
            vol,
            path: path.to_string(),
            len,
            block,
            cache: Vec::new(),
            last_end: None,
            bytes_read: 0,
            error: None,
        }
    }

    /// The cached bytes `[offset, offset + len)`, if one run holds them all.
    fn cached(&mut self, offset: u64, len: usize) -> Option<Vec<u8>> {
        let i = self
            .cache
            .iter()
            .rposition(|(at, run)| offset >= *at && offset + len as u64 <= at + run.len() as u64)?;
        let entry = self.cache.remove(i);
        let s = (offset - entry.0) as usize;
        let out = entry.1[s..s + len].to_vec();
        self.cache.push(entry);
        Some(out)
    }

    fn keep(&mut self, at: u64, run: Vec<u8>) {
        let mut total: usize = self.cache.iter().map(|(_, r)| r.len()).sum::<usize>() + run.len();
        while total > CACHE_BYTES && !self.cache.is_empty() {
            total -= self.cache.remove(0).1.len();
        }
        self.cache.push((at, run));
    }

    fn fetch(&mut self, offset: u64, len: u64) -> Result<Vec<u8>, MediaError> {
        let mut buf = Vec::with_capacity(len as usize);
        match self.vol.read_range(&self.path, offset, len, &mut buf) {
            Ok(n) if n == len => {
                self.bytes_read += n;
                Ok(buf)
            }
            Ok(n) => Err(MediaError::InvalidMedia(format!(
                "the file ends on tape at {}, before {}",
                offset + n,
                offset + len
            ))),
            Err(e) => {
                let msg = e.to_string();
                self.error = Some(e);
                Err(MediaError::Io(std::io::Error::other(msg)))
            }
        }
    }
}

impl<D: TapeDevice> RangeSource for TapeFile<'_, D> {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&mut self, offset: u64, len: usize) -> Result<Vec<u8>, MediaError> {
        let end = offset
            .checked_add(len as u64)
            .filter(|&e| e <= self.len)
            .ok_or_else(|| {
                MediaError::InvalidMedia(format!(
                    "read of {len} bytes at {offset} runs past the end of the file ({} bytes)",
                    self.len
                ))
            })?;
        if let Some(hit) = self.cached(offset, len) {
            return Ok(hit);
        }
        if len as u64 >= 2 * self.block {
            let data = self.fetch(offset, len as u64)?;
            self.last_end = Some(end);
            return Ok(data);
        }
        // Bytes already cached at the front of the read are not fetched again.
        let mut out = Vec::with_capacity(len);
        let mut start = offset / self.block * self.block;
        if let Some((at, run)) = self
            .cache
            .iter()
            .rev()
            .find(|(at, run)| offset >= *at && offset < at + run.len() as u64)
        {
            out.extend_from_slice(&run[(offset - at) as usize..]);
            start = at + run.len() as u64;
        }
        // A read that continues the previous fetch is a scan or a copy under way: fetch
        // several blocks per command. Other reads (probes) fetch only the blocks they touch.
        let ahead = if self.last_end == Some(start) { 8 } else { 1 };
        let stop = end
            .div_ceil(self.block)
            .max(start / self.block + ahead)
            .saturating_mul(self.block)
            .min(self.len);
        let run = self.fetch(start, stop - start)?;
        self.last_end = Some(stop);
        let s = (offset.max(start) - start) as usize;
        let need = len - out.len();
        out.extend_from_slice(&run[s..s + need]);
        self.keep(start, run);
        Ok(out)
    }
}
