//! JSON of the `tapelib.v1` request and object messages for `tapectl --json`. Field names
//! are the proto field names; enums are their value names without prefix; times are
//! RFC 3339.

use serde_json::{json, Value};
use tapelib_proto::v1::{
    request_info, AuditEntry, DivaStatus, ObjectInfo, ObjectRef, ObjectSummary, PageInfo,
    RequestInfo,
};

use super::{state_name, time_text, type_name};

fn object_ref(o: Option<&ObjectRef>) -> Value {
    match o {
        Some(o) => json!({ "collection": o.collection, "name": o.name }),
        None => Value::Null,
    }
}

fn time(t: Option<&tapelib_proto::prost_types::Timestamp>) -> Value {
    match time_text(t) {
        s if s.is_empty() => Value::Null,
        s => Value::String(s),
    }
}

fn status(s: Option<&DivaStatus>) -> Value {
    match s {
        Some(s) => json!({ "code": s.code, "name": s.name, "description": s.description }),
        None => Value::Null,
    }
}

pub fn page(p: Option<&PageInfo>) -> Value {
    match p {
        Some(p) => json!({
            "page": p.page,
            "size": p.size,
            "total_items": p.total_items,
            "has_more": p.has_more,
        }),
        None => Value::Null,
    }
}

fn result(r: &request_info::Result) -> Value {
    use request_info::Result as R;
    match r {
        R::Archive(a) => json!({
            "archive": {
                "instance_id": a.instance_id,
                "barcodes": a.barcodes,
                "file_count": a.file_count,
                "bytes": a.bytes,
            }
        }),
        R::Restore(a) => json!({
            "restore": {
                "instance_id": a.instance_id,
                "barcodes": a.barcodes,
                "file_count": a.file_count,
                "bytes": a.bytes,
            }
        }),
        R::PartialRestore(p) => json!({
            "partial_restore": {
                "instance_id": p.instance_id,
                "barcodes": p.barcodes,
                "bytes_read": p.bytes_read,
                "bytes_written": p.bytes_written,
                "parts": p.parts.iter().map(|x| json!({
                    "source": x.source,
                    "destination": x.destination,
                    "bytes_read": x.bytes_read,
                    "source_size": x.source_size,
                    "bytes_written": x.bytes_written,
                    "first_frame": x.first_frame,
                    "last_frame": x.last_frame,
                    "first_timecode": x.first_timecode,
                    "last_timecode": x.last_timecode,
                    "note": x.note,
                })).collect::<Vec<_>>(),
            }
        }),
        R::Copy(c) => json!({
            "copy": {
                "source_instance_id": c.source_instance_id,
                "instance_id": c.instance_id,
                "barcodes": c.barcodes,
                "bytes": c.bytes,
            }
        }),
        R::Delete(d) => json!({
            "delete": { "instance_ids": d.instance_ids, "object_deleted": d.object_deleted }
        }),
        R::Insert(i) => json!({
            "insert": {
                "tapes": i.tapes.iter().map(|t| json!({
                    "barcode": t.barcode,
                    "content": super::enum_name(
                        tapelib_proto::v1::TapeContent::try_from(t.content)
                            .ok()
                            .map(|c| c.as_str_name()),
                        "TAPE_CONTENT_",
                    ),
                    "known": t.known,
                    "slot_address": t.slot_address,
                })).collect::<Vec<_>>(),
                "left": i.left,
            }
        }),
        R::Eject(e) => json!({
            "eject": {
                "tapes": e.tapes.iter().map(|t| json!({
                    "barcode": t.barcode,
                    "import_export_address": t.import_export_address,
                })).collect::<Vec<_>>(),
                "failed": e.failed,
            }
        }),
        R::Repack(p) => json!({
            "repack": {
                "bytes_moved": p.bytes_moved,
                "bytes_reclaimed": p.bytes_reclaimed,
                "destination_barcodes": p.destination_barcodes,
            }
        }),
        R::Export(x) => json!({
            "export": {
                "document": x.document,
                "barcodes": x.barcodes,
                "object_count": x.object_count,
            }
        }),
        R::Import(i) => json!({
            "import": {
                "objects": i.objects.iter().map(|o| object_ref(Some(o))).collect::<Vec<_>>(),
                "skipped": i.skipped,
            }
        }),
        R::Verify(v) => json!({
            "verify": {
                "files_checked": v.files_checked,
                "failures": v.failures,
                "bytes": v.bytes,
            }
        }),
    }
}

pub fn request(r: &RequestInfo) -> Value {
    json!({
        "request_id": r.request_id,
        "type": type_name(r.r#type),
        "state": state_name(r.state),
        "priority": r.priority,
        "phase": r.phase,
        "progress_percent": r.progress_percent,
        "bytes_done": r.bytes_done,
        "bytes_total": r.bytes_total,
        "status": status(r.status.as_ref()),
        "abort_reason": r.abort_reason,
        "submit_time": time(r.submit_time.as_ref()),
        "start_time": time(r.start_time.as_ref()),
        "end_time": time(r.end_time.as_ref()),
        "object": object_ref(r.object.as_ref()),
        "barcodes": r.barcodes,
        "submitted_by": r.submitted_by,
        "cancel_requested": r.cancel_requested,
        "result": r.result.as_ref().map_or(Value::Null, result),
    })
}

pub fn requests(list: &[RequestInfo], p: Option<&PageInfo>) -> Value {
    json!({
        "requests": list.iter().map(request).collect::<Vec<_>>(),
        "page": page(p),
    })
}

pub fn object_summary(o: &ObjectSummary) -> Value {
    json!({
        "object": object_ref(o.object.as_ref()),
        "file_count": o.file_count,
        "total_size_bytes": o.total_size_bytes,
        "instance_count": o.instance_count,
        "online": o.online,
        "archive_time": time(o.archive_time.as_ref()),
        "modified_time": time(o.modified_time.as_ref()),
        "deleted": o.deleted,
    })
}

pub fn objects(list: &[ObjectSummary], p: Option<&PageInfo>) -> Value {
    json!({
        "objects": list.iter().map(object_summary).collect::<Vec<_>>(),
        "page": page(p),
    })
}

pub fn object(o: &ObjectInfo) -> Value {
    json!({
        "object": object_ref(o.object.as_ref()),
        "files": o.files.iter().map(|f| json!({
            "path": f.path,
            "size_bytes": f.size_bytes,
            "crc32": format!("{:08x}", f.crc32),
        })).collect::<Vec<_>>(),
        "total_size_bytes": o.total_size_bytes,
        "instances": o.instances.iter().map(|i| json!({
            "instance_id": i.instance_id,
            "group": i.group,
            "online": i.online,
            "tapes": i.tapes.iter().map(|t| json!({
                "barcode": t.barcode,
                "sequence": t.sequence,
                "online": t.online,
            })).collect::<Vec<_>>(),
            "files": i.files.iter().map(|f| json!({
                "path": f.path,
                "barcode": f.barcode,
                "ltfs_path": f.ltfs_path,
                "offset": f.offset,
                "length": f.length,
            })).collect::<Vec<_>>(),
            "created": time(i.created.as_ref()),
            "request_id": i.request_id,
        })).collect::<Vec<_>>(),
        "online": o.online,
        "archive_time": time(o.archive_time.as_ref()),
        "source_server": o.source_server,
        "comments": o.comments,
    })
}

pub fn audit(entries: &[AuditEntry], p: Option<&PageInfo>) -> Value {
    json!({
        "entries": entries.iter().map(|e| json!({
            "seq": e.seq,
            "time": time(e.time.as_ref()),
            "actor": e.actor,
            "action": e.action,
            "subject": e.subject,
            "details": e.details,
        })).collect::<Vec<_>>(),
        "page": page(p),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tapelib_proto::v1::{ArchiveResult, RequestState, RequestType};

    #[test]
    fn request_json_names_enums_and_result() {
        let info = RequestInfo {
            request_id: 7,
            r#type: RequestType::Archive as i32,
            state: RequestState::Completed as i32,
            object: Some(ObjectRef {
                name: "n".into(),
                collection: "c".into(),
            }),
            result: Some(request_info::Result::Archive(ArchiveResult {
                instance_id: 1,
                barcodes: vec!["A00001L8".into()],
                file_count: 2,
                bytes: 3,
            })),
            ..Default::default()
        };
        let v = request(&info);
        assert_eq!(v["request_id"], 7);
        assert_eq!(v["type"], "archive");
        assert_eq!(v["state"], "COMPLETED");
        assert_eq!(v["object"]["collection"], "c");
        assert_eq!(v["result"]["archive"]["barcodes"][0], "A00001L8");
        assert_eq!(v["start_time"], Value::Null);
    }
}
