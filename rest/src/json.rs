//! JSON forms of the daemon's messages, with the DIVA REST field names.

use serde_json::{json, Value};
use tapelib_proto::prost_types::Timestamp;
use tapelib_proto::v1::{
    Drive, DriveState, ObjectInfo, ObjectRef, ObjectSummary, PageInfo, RequestInfo, RequestState,
    RequestType, Role, Server, Tape, TapeContent, TapeGroup, TapeState, User,
};

/// RFC 3339 text of a timestamp; null when unset.
pub fn ts(t: &Option<Timestamp>) -> Value {
    t.as_ref()
        .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t.seconds).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .map_or(Value::Null, Value::String)
}

/// The name of an enum value without its prefix (`DRIVE_STATE_UP` -> `UP`).
fn enum_text(name: Option<&str>, prefix: &str) -> String {
    name.map(|n| n.trim_start_matches(prefix).to_string())
        .unwrap_or_else(|| "UNKNOWN".into())
}

pub fn role(r: i32) -> Value {
    Role::try_from(r)
        .ok()
        .and_then(Role::diva_name)
        .map_or(Value::Null, |n| Value::String(n.into()))
}

pub fn user(u: &User) -> Value {
    json!({
        "username": u.username,
        "role": role(u.role),
        "emailAddress": u.email_address,
        "sessionTimeout": u.session_timeout_minutes,
        "created": ts(&u.created),
        "lastLogin": ts(&u.last_login),
    })
}

pub fn page(p: &Option<PageInfo>) -> Value {
    match p {
        Some(p) => json!({
            "page": p.page,
            "size": p.size,
            "totalElements": p.total_items,
            "hasMore": p.has_more,
        }),
        None => Value::Null,
    }
}

pub fn drive(d: &Drive) -> Value {
    json!({
        "name": d.name,
        "library": d.library,
        "elementAddress": d.element_address,
        "vendor": d.vendor,
        "product": d.product,
        "serialNumber": d.serial,
        "firmware": d.firmware,
        "generation": d.generation,
        "state": enum_text(DriveState::try_from(d.state).ok().map(|s| s.as_str_name()), "DRIVE_STATE_"),
        "stateReason": d.state_reason,
        "loadedBarcode": d.loaded_barcode,
        "currentRequestId": d.current_request_id,
        "cleaningNeeded": d.cleaning_needed,
        "mounts": d.mounts,
        "errors": d.errors,
        "tapeAlerts": d.tape_alerts.iter().map(|a| json!({
            "number": a.number, "name": a.name, "raised": ts(&a.raised),
        })).collect::<Vec<_>>(),
    })
}

pub fn tape(t: &Tape) -> Value {
    let location = t.location.as_ref().map(
        |l| json!({"library": l.library, "elementAddress": l.element_address, "drive": l.drive}),
    );
    json!({
        "barcode": t.barcode,
        "generation": t.generation,
        "content": enum_text(TapeContent::try_from(t.content).ok().map(|s| s.as_str_name()), "TAPE_CONTENT_"),
        "group": t.group,
        "state": enum_text(TapeState::try_from(t.state).ok().map(|s| s.as_str_name()), "TAPE_STATE_"),
        "stateReason": t.state_reason,
        "capacityBytes": t.capacity_bytes,
        "usedBytes": t.used_bytes,
        "remainingBytes": t.remaining_bytes,
        "online": t.online,
        "objectCount": t.object_count,
        "location": location,
        "lastMounted": ts(&t.last_mounted),
    })
}

pub fn group(g: &TapeGroup) -> Value {
    json!({
        "name": g.name,
        "description": g.description,
        "tapeCount": g.tape_count,
        "capacityBytes": g.capacity_bytes,
        "usedBytes": g.used_bytes,
        "objectCount": g.object_count,
        "created": ts(&g.created),
    })
}

pub fn server(s: &Server) -> Value {
    json!({
        "name": s.name,
        "description": s.description,
        "source": s.source,
        "destination": s.destination,
        "online": s.online,
    })
}

fn object_ref(o: &Option<ObjectRef>) -> (String, String) {
    o.as_ref()
        .map(|o| (o.name.clone(), o.collection.clone()))
        .unwrap_or_default()
}

pub fn request(r: &RequestInfo) -> Value {
    let (name, collection) = object_ref(&r.object);
    let status = r.status.clone().unwrap_or_default();
    json!({
        "requestId": r.request_id,
        "type": enum_text(RequestType::try_from(r.r#type).ok().map(|s| s.as_str_name()), "REQUEST_TYPE_"),
        "state": RequestState::try_from(r.state).ok().and_then(RequestState::diva_name),
        "priority": r.priority,
        "phase": r.phase,
        "progress": r.progress_percent,
        "bytesTransferred": r.bytes_done,
        "bytesTotal": r.bytes_total,
        "statusCode": status.code,
        "statusName": status.name,
        "statusDescription": status.description,
        "abortReason": r.abort_reason,
        "objectName": name,
        "collectionName": collection,
        "barcodes": r.barcodes,
        "submittedBy": r.submitted_by,
        "submitTime": ts(&r.submit_time),
        "startTime": ts(&r.start_time),
        "endTime": ts(&r.end_time),
    })
}

pub fn object_info(o: &ObjectInfo) -> Value {
    let (name, collection) = object_ref(&o.object);
    json!({
        "objectName": name,
        "collectionName": collection,
        "totalSizeBytes": o.total_size_bytes,
        "online": o.online,
        "archiveTime": ts(&o.archive_time),
        "sourceServer": o.source_server,
        "comments": o.comments,
        "files": o.files.iter().map(|f| json!({"path": f.path, "sizeBytes": f.size_bytes})).collect::<Vec<_>>(),
        "instances": o.instances.iter().map(|i| json!({
            "instanceId": i.instance_id,
            "media": i.group,
            "online": i.online,
            "tapes": i.tapes.iter().map(|t| t.barcode.clone()).collect::<Vec<_>>(),
            "created": ts(&i.created),
        })).collect::<Vec<_>>(),
    })
}

pub fn object_summary(o: &ObjectSummary) -> Value {
    let (name, collection) = object_ref(&o.object);
    json!({
        "objectName": name,
        "collectionName": collection,
        "fileCount": o.file_count,
        "totalSizeBytes": o.total_size_bytes,
        "instanceCount": o.instance_count,
        "online": o.online,
        "deleted": o.deleted,
        "archiveTime": ts(&o.archive_time),
        "modifiedTime": ts(&o.modified_time),
    })
}
