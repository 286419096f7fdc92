//! Human-readable tables of requests and objects.

use tapelib_proto::v1::{request_info, AuditEntry, ObjectInfo, ObjectSummary, RequestInfo};

use super::{or_dash, short_time as time_text, state_name, type_name};

/// Left-aligned columns separated by two spaces.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            text.push_str(&format!("{cell:<w$}"));
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

fn object_text(r: &RequestInfo) -> String {
    r.object
        .as_ref()
        .map(|o| format!("{}/{}", o.collection, o.name))
        .unwrap_or_default()
}

/// One line per request.
pub fn requests(list: &[RequestInfo]) -> String {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|r| {
            vec![
                r.request_id.to_string(),
                type_name(r.r#type),
                state_name(r.state),
                r.priority.to_string(),
                format!("{}%", r.progress_percent),
                or_dash(&object_text(r)),
                or_dash(&r.phase),
                time_text(r.submit_time.as_ref()),
            ]
        })
        .collect();
    table(
        &[
            "ID",
            "TYPE",
            "STATE",
            "PRIO",
            "PROGRESS",
            "OBJECT",
            "PHASE",
            "SUBMITTED",
        ],
        &rows,
    )
}

fn result_lines(r: &request_info::Result) -> Vec<(String, String)> {
    use request_info::Result as R;
    let list = |v: &[String]| or_dash(&v.join(", "));
    match r {
        R::Archive(a) => vec![
            ("instance".into(), a.instance_id.to_string()),
            ("tapes written".into(), list(&a.barcodes)),
            ("files".into(), a.file_count.to_string()),
            ("bytes".into(), a.bytes.to_string()),
        ],
        R::Restore(a) => vec![
            ("instance".into(), a.instance_id.to_string()),
            ("tapes read".into(), list(&a.barcodes)),
            ("files".into(), a.file_count.to_string()),
            ("bytes".into(), a.bytes.to_string()),
        ],
        R::PartialRestore(p) => {
            let mut v = vec![
                ("instance".into(), p.instance_id.to_string()),
                ("tapes read".into(), list(&p.barcodes)),
                ("bytes read".into(), p.bytes_read.to_string()),
                ("bytes written".into(), p.bytes_written.to_string()),
            ];
            for x in &p.parts {
                let frames = match (x.first_frame, x.last_frame) {
                    (Some(a), Some(b)) => format!(
                        ", frames {a}–{b} ({}–{})",
                        or_dash(&x.first_timecode),
                        or_dash(&x.last_timecode)
                    ),
                    _ => String::new(),
                };
                v.push((
                    x.destination.clone(),
                    format!(
                        "from {}: {} of {} bytes read{frames}{}",
                        x.source,
                        x.bytes_read,
                        x.source_size,
                        if x.note.is_empty() {
                            String::new()
                        } else {
                            format!("; {}", x.note)
                        }
                    ),
                ));
            }
            v
        }
        R::Copy(c) => vec![
            ("source instance".into(), c.source_instance_id.to_string()),
            ("new instance".into(), c.instance_id.to_string()),
            ("tapes written".into(), list(&c.barcodes)),
            ("bytes".into(), c.bytes.to_string()),
        ],
        R::Delete(d) => vec![
            (
                "instances removed".into(),
                or_dash(
                    &d.instance_ids
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
            ),
            ("object deleted".into(), d.object_deleted.to_string()),
        ],
        R::Insert(i) => vec![
            (
                "inserted".into(),
                or_dash(
                    &i.tapes
                        .iter()
                        .map(|t| format!("{} (slot {})", t.barcode, t.slot_address))
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
            ),
            ("left".into(), list(&i.left)),
        ],
        R::Eject(e) => vec![
            (
                "ejected".into(),
                or_dash(
                    &e.tapes
                        .iter()
                        .map(|t| format!("{} (I/E {})", t.barcode, t.import_export_address))
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
            ),
            ("failed".into(), list(&e.failed)),
        ],
        R::Repack(p) => vec![
            ("bytes moved".into(), p.bytes_moved.to_string()),
            ("bytes reclaimed".into(), p.bytes_reclaimed.to_string()),
            ("written to".into(), list(&p.destination_barcodes)),
        ],
        R::Export(x) => vec![
            ("tapes".into(), list(&x.barcodes)),
            ("objects".into(), x.object_count.to_string()),
        ],
        R::Import(i) => vec![
            (
                "objects".into(),
                or_dash(
                    &i.objects
                        .iter()
                        .map(|o| format!("{}/{}", o.collection, o.name))
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
            ),
            ("skipped".into(), list(&i.skipped)),
        ],
        R::Verify(v) => vec![
            ("files checked".into(), v.files_checked.to_string()),
            ("bytes".into(), v.bytes.to_string()),
            ("failures".into(), list(&v.failures)),
        ],
    }
}

fn fields(pairs: &[(String, String)]) -> String {
    // Keys are printed with their colon.
    let width = pairs.iter().map(|(k, _)| k.len() + 1).max().unwrap_or(0);
    pairs
        .iter()
        .map(|(k, v)| format!("{:<width$}  {v}\n", format!("{k}:")))
        .collect()
}

/// Every field of one request, one per line.
pub fn request(r: &RequestInfo) -> String {
    let status = r
        .status
        .as_ref()
        .map(|s| format!("{} {}", s.code, s.name))
        .unwrap_or_default();
    let mut pairs = vec![
        ("request".to_string(), r.request_id.to_string()),
        ("type".into(), type_name(r.r#type)),
        ("state".into(), state_name(r.state)),
        ("status".into(), status),
        ("priority".into(), r.priority.to_string()),
        ("phase".into(), or_dash(&r.phase)),
        (
            "progress".into(),
            format!(
                "{}% ({} of {} bytes)",
                r.progress_percent, r.bytes_done, r.bytes_total
            ),
        ),
        ("object".into(), or_dash(&object_text(r))),
        ("tapes".into(), or_dash(&r.barcodes.join(", "))),
        ("submitted by".into(), or_dash(&r.submitted_by)),
        (
            "submitted".into(),
            or_dash(&time_text(r.submit_time.as_ref())),
        ),
        ("started".into(), or_dash(&time_text(r.start_time.as_ref()))),
        ("ended".into(), or_dash(&time_text(r.end_time.as_ref()))),
    ];
    if !r.abort_reason.is_empty() {
        pairs.push(("reason".into(), r.abort_reason.clone()));
    }
    if r.cancel_requested {
        pairs.push(("cancel".into(), "requested".into()));
    }
    if let Some(res) = &r.result {
        pairs.extend(result_lines(res));
    }
    fields(&pairs)
}

/// One line per object.
pub fn objects(list: &[ObjectSummary]) -> String {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|o| {
            let (collection, name) = o
                .object
                .as_ref()
                .map(|r| (r.collection.clone(), r.name.clone()))
                .unwrap_or_default();
            vec![
                collection,
                name,
                o.file_count.to_string(),
                o.total_size_bytes.to_string(),
                o.instance_count.to_string(),
                if o.deleted {
                    "deleted".into()
                } else if o.online {
                    "online".into()
                } else {
                    "offline".into()
                },
                time_text(o.archive_time.as_ref()),
                time_text(o.modified_time.as_ref()),
            ]
        })
        .collect();
    table(
        &[
            "COLLECTION",
            "NAME",
            "FILES",
            "BYTES",
            "INSTANCES",
            "STATE",
            "ARCHIVED",
            "MODIFIED",
        ],
        &rows,
    )
}

/// An object: its fields, its instances and its files.
pub fn object(o: &ObjectInfo) -> String {
    let (collection, name) = o
        .object
        .as_ref()
        .map(|r| (r.collection.clone(), r.name.clone()))
        .unwrap_or_default();
    let mut out = fields(&[
        ("object".into(), name),
        ("collection".into(), collection),
        ("size".into(), format!("{} bytes", o.total_size_bytes)),
        ("files".into(), o.files.len().to_string()),
        (
            "state".into(),
            if o.online { "online" } else { "offline" }.into(),
        ),
        ("archived".into(), time_text(o.archive_time.as_ref())),
        ("comments".into(), or_dash(&o.comments)),
    ]);
    out.push('\n');
    let rows: Vec<Vec<String>> = o
        .instances
        .iter()
        .map(|i| {
            vec![
                i.instance_id.to_string(),
                i.group.clone(),
                if i.online { "online" } else { "offline" }.into(),
                i.tapes
                    .iter()
                    .map(|t| {
                        if t.online {
                            t.barcode.clone()
                        } else {
                            format!("{} (offline)", t.barcode)
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                time_text(i.created.as_ref()),
            ]
        })
        .collect();
    out.push_str(&table(
        &["INSTANCE", "GROUP", "STATE", "TAPES", "CREATED"],
        &rows,
    ));
    out.push('\n');
    let rows: Vec<Vec<String>> = o
        .files
        .iter()
        .map(|f| {
            vec![
                f.path.clone(),
                f.size_bytes.to_string(),
                format!("{:08x}", f.crc32),
            ]
        })
        .collect();
    out.push_str(&table(&["FILE", "BYTES", "CRC32"], &rows));
    out
}

/// One line per audit entry.
pub fn audit(entries: &[AuditEntry]) -> String {
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                e.seq.to_string(),
                time_text(e.time.as_ref()),
                e.actor.clone(),
                e.action.clone(),
                e.subject.clone(),
                e.details.clone(),
            ]
        })
        .collect();
    table(
        &["SEQ", "TIME", "ACTOR", "ACTION", "SUBJECT", "DETAILS"],
        &rows,
    )
}
