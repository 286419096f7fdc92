//! `tapelib.v1` request messages to request kinds, and persisted requests back to
//! `RequestInfo`.

use tapelib_proto::diva_names::effective_priority;
use tapelib_proto::v1::{
    self as pb, request_info, request_parameters, submit_verify_request, ObjectRef, RequestInfo,
    RequestType,
};

use super::convert::offset_timestamp;
use super::ApiError;
use crate::request::{
    ArchiveParams, CopyParams, DeleteParams, EjectParams, ExportParams, ImportConflict,
    ImportParams, InsertParams, Priority, RepackParams, RepackRetire, RequestKind, RequestRecord,
    RequestResult, RestoreParams, TapeContent, VerifyParams,
};

fn invalid(parameter: &'static str, reason: impl Into<String>) -> ApiError {
    ApiError::InvalidParameter {
        parameter,
        reason: reason.into(),
    }
}

/// The priority of a submission: unset is the default, above 100 is refused.
pub fn priority(p: Option<u32>) -> Result<Priority, ApiError> {
    let value = effective_priority(p).map_err(|e| invalid("priority", e.to_string()))?;
    Priority::new(i64::from(value)).map_err(ApiError::from)
}

/// (collection, name) of a required object reference.
fn object(o: Option<&ObjectRef>) -> Result<(String, String), ApiError> {
    let o = o.ok_or_else(|| invalid("object", "is required"))?;
    Ok((o.collection.clone(), o.name.clone()))
}

fn optional_path(p: &str) -> Option<String> {
    (!p.is_empty()).then(|| p.to_string())
}

fn instance(i: Option<u32>) -> Option<u64> {
    i.map(u64::from)
}

pub fn archive(r: &pb::SubmitArchiveRequest) -> Result<RequestKind, ApiError> {
    let (collection, name) = object(r.object.as_ref())?;
    Ok(RequestKind::Archive(ArchiveParams {
        collection,
        name,
        source_server: r.source_server.clone(),
        file_path_root: optional_path(&r.file_path_root),
        files: r.components.clone(),
        group: r.media.clone(),
        comments: r.comments.clone(),
        delete_on_source: r.delete_on_source,
    }))
}

pub fn restore(r: &pb::SubmitRestoreRequest) -> Result<RequestKind, ApiError> {
    let (collection, name) = object(r.object.as_ref())?;
    Ok(RequestKind::Restore(RestoreParams {
        collection,
        name,
        instance: instance(r.instance),
        destination_server: r.destination_server.clone(),
        file_path_root: optional_path(&r.file_path_root),
        overwrite: !r.do_not_overwrite,
    }))
}

pub fn copy(r: &pb::SubmitCopyRequest) -> Result<RequestKind, ApiError> {
    let (collection, name) = object(r.object.as_ref())?;
    Ok(RequestKind::Copy(CopyParams {
        collection,
        name,
        source_instance: instance(r.instance),
        group: r.media.clone(),
    }))
}

pub fn delete(r: &pb::SubmitDeleteRequest) -> Result<RequestKind, ApiError> {
    let (collection, name) = object(r.object.as_ref())?;
    Ok(RequestKind::Delete(DeleteParams {
        collection,
        name,
        instance: instance(r.instance),
    }))
}

/// An insert names one library; an empty name is accepted when there is only one.
pub fn insert(r: &pb::SubmitInsertRequest, libraries: &[String]) -> Result<RequestKind, ApiError> {
    if !r.group.is_empty() {
        return Err(ApiError::Unsupported(
            "assigning inserted tapes to a group is not supported; leave group empty and assign \
             the tapes afterwards"
                .into(),
        ));
    }
    let library = if r.library.is_empty() {
        match libraries {
            [only] => only.clone(),
            _ => {
                return Err(invalid(
                    "library",
                    format!(
                        "the daemon has {} libraries; name one of: {}",
                        libraries.len(),
                        libraries.join(", ")
                    ),
                ))
            }
        }
    } else if libraries.contains(&r.library) {
        r.library.clone()
    } else {
        return Err(ApiError::UnknownLibrary {
            library: r.library.clone(),
        });
    };
    let ie_addresses = r
        .import_export_addresses
        .iter()
        .map(|&a| {
            u16::try_from(a).map_err(|_| {
                invalid(
                    "import_export_addresses",
                    format!("{a} is not an element address"),
                )
            })
        })
        .collect::<Result<Vec<u16>, ApiError>>()?;
    Ok(RequestKind::Insert(InsertParams {
        library,
        ie_addresses,
    }))
}

pub fn eject(r: &pb::SubmitEjectRequest) -> RequestKind {
    RequestKind::Eject(EjectParams {
        barcodes: r.barcodes.clone(),
        comment: r.comments.clone(),
    })
}

pub fn repack(r: &pb::SubmitRepackRequest) -> RequestKind {
    RequestKind::Repack(RepackParams {
        barcode: r.barcode.clone(),
        target_group: optional_path(&r.target_group),
        retire: match pb::RepackRetire::try_from(r.retire) {
            Ok(pb::RepackRetire::Empty) => RepackRetire::Empty,
            _ => RepackRetire::Scratch,
        },
    })
}

pub fn export(r: &pb::SubmitExportRequest) -> RequestKind {
    RequestKind::Export(ExportParams {
        barcodes: r.barcodes.clone(),
        comment: r.comments.clone(),
    })
}

pub fn import(r: &pb::SubmitImportRequest) -> Result<RequestKind, ApiError> {
    let on_conflict = match pb::ImportConflict::try_from(r.on_conflict) {
        Ok(pb::ImportConflict::Skip) => ImportConflict::Skip,
        Ok(pb::ImportConflict::AddInstance) => ImportConflict::AddInstance,
        Ok(pb::ImportConflict::Refuse) => ImportConflict::Refuse,
        Err(_) => return Err(invalid("on_conflict", "unknown policy")),
    };
    // A document that cannot be read is refused now rather than when the tape is mounted.
    if !r.document.trim().is_empty() {
        if let Err(e) = crate::ops::export_document::ExportDocument::parse(&r.document) {
            return Err(invalid("document", e.to_string()));
        }
    }
    Ok(RequestKind::Import(ImportParams {
        barcodes: r.barcodes.clone(),
        group: r.media.clone(),
        document: Some(r.document.clone()).filter(|d| !d.trim().is_empty()),
        collection: optional_path(&r.collection),
        on_conflict,
        verify: r.verify,
    }))
}

pub fn verify(r: &pb::SubmitVerifyRequest) -> Result<RequestKind, ApiError> {
    match &r.target {
        Some(submit_verify_request::Target::Object(o)) => {
            Ok(RequestKind::Verify(VerifyParams::Object {
                collection: o.collection.clone(),
                name: o.name.clone(),
                instance: instance(r.instance),
            }))
        }
        Some(submit_verify_request::Target::Barcode(barcode)) => {
            if r.instance.is_some() {
                return Err(invalid("instance", "only applies to an object"));
            }
            Ok(RequestKind::Verify(VerifyParams::Tape {
                barcode: barcode.clone(),
            }))
        }
        None => Err(invalid("target", "an object or a barcode is required")),
    }
}

pub fn request_type(kind: &RequestKind) -> RequestType {
    match kind {
        RequestKind::Archive(_) => RequestType::Archive,
        RequestKind::Restore(_) => RequestType::Restore,
        RequestKind::PartialRestore(_) => RequestType::PartialRestore,
        RequestKind::Copy(_) => RequestType::Copy,
        RequestKind::Delete(_) => RequestType::Delete,
        RequestKind::Insert(_) => RequestType::Insert,
        RequestKind::Eject(_) => RequestType::Eject,
        RequestKind::Repack(_) => RequestType::Repack,
        RequestKind::Export(_) => RequestType::Export,
        RequestKind::Import(_) => RequestType::Import,
        RequestKind::Verify(_) => RequestType::Verify,
    }
}

fn object_ref(collection: &str, name: &str) -> ObjectRef {
    ObjectRef {
        name: name.to_string(),
        collection: collection.to_string(),
    }
}

/// The object a request is about, if any.
pub fn request_object(kind: &RequestKind) -> Option<ObjectRef> {
    match kind {
        RequestKind::Archive(p) => Some(object_ref(&p.collection, &p.name)),
        RequestKind::Restore(p) => Some(object_ref(&p.collection, &p.name)),
        RequestKind::PartialRestore(p) => Some(object_ref(&p.collection, &p.name)),
        RequestKind::Copy(p) => Some(object_ref(&p.collection, &p.name)),
        RequestKind::Delete(p) => Some(object_ref(&p.collection, &p.name)),
        RequestKind::Verify(VerifyParams::Object {
            collection, name, ..
        }) => Some(object_ref(collection, name)),
        _ => None,
    }
}

fn u32_of(v: Option<u64>) -> Option<u32> {
    v.map(|i| u32::try_from(i).unwrap_or(u32::MAX))
}

fn count(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// The submitted parameters in their proto form. Values a request kind does not keep
/// (qos, options) read back as their defaults.
fn parameters(rec: &RequestRecord) -> request_parameters::Parameters {
    use request_parameters::Parameters as P;
    let priority = Some(u32::from(rec.priority.get()));
    match &rec.kind {
        RequestKind::Archive(p) => P::Archive(pb::SubmitArchiveRequest {
            object: Some(object_ref(&p.collection, &p.name)),
            components: p.files.clone(),
            source_server: p.source_server.clone(),
            file_path_root: p.file_path_root.clone().unwrap_or_default(),
            media: p.group.clone(),
            priority,
            delete_on_source: p.delete_on_source,
            comments: p.comments.clone(),
            ..Default::default()
        }),
        RequestKind::Restore(p) => P::Restore(pb::SubmitRestoreRequest {
            object: Some(object_ref(&p.collection, &p.name)),
            destination_server: p.destination_server.clone(),
            file_path_root: p.file_path_root.clone().unwrap_or_default(),
            instance: u32_of(p.instance),
            priority,
            do_not_overwrite: !p.overwrite,
            ..Default::default()
        }),
        RequestKind::PartialRestore(p) => P::PartialRestore(pb::SubmitPartialRestoreRequest {
            object: Some(object_ref(&p.collection, &p.name)),
            destination_server: p.destination_server.clone(),
            file_path_root: p.file_path_root.clone().unwrap_or_default(),
            instance: u32_of(p.instance),
            priority,
            do_not_overwrite: !p.overwrite,
            ..Default::default()
        }),
        RequestKind::Copy(p) => P::Copy(pb::SubmitCopyRequest {
            object: Some(object_ref(&p.collection, &p.name)),
            media: p.group.clone(),
            instance: u32_of(p.source_instance),
            priority,
            ..Default::default()
        }),
        RequestKind::Delete(p) => P::Delete(pb::SubmitDeleteRequest {
            object: Some(object_ref(&p.collection, &p.name)),
            instance: u32_of(p.instance),
            priority,
            options: String::new(),
        }),
        RequestKind::Insert(p) => P::Insert(pb::SubmitInsertRequest {
            library: p.library.clone(),
            import_export_addresses: p.ie_addresses.iter().map(|&a| u32::from(a)).collect(),
            group: String::new(),
            priority,
        }),
        RequestKind::Eject(p) => P::Eject(pb::SubmitEjectRequest {
            barcodes: p.barcodes.clone(),
            comments: p.comment.clone(),
            priority,
        }),
        RequestKind::Repack(p) => P::Repack(pb::SubmitRepackRequest {
            barcode: p.barcode.clone(),
            priority,
            target_group: p.target_group.clone().unwrap_or_default(),
            retire: match p.retire {
                RepackRetire::Scratch => pb::RepackRetire::Scratch,
                RepackRetire::Empty => pb::RepackRetire::Empty,
            } as i32,
        }),
        RequestKind::Export(p) => P::Export(pb::SubmitExportRequest {
            barcodes: p.barcodes.clone(),
            comments: p.comment.clone(),
            priority,
        }),
        RequestKind::Import(p) => P::Import(pb::SubmitImportRequest {
            barcodes: p.barcodes.clone(),
            media: p.group.clone(),
            document: p.document.clone().unwrap_or_default(),
            priority,
            collection: p.collection.clone().unwrap_or_default(),
            on_conflict: match p.on_conflict {
                ImportConflict::Skip => pb::ImportConflict::Skip,
                ImportConflict::AddInstance => pb::ImportConflict::AddInstance,
                ImportConflict::Refuse => pb::ImportConflict::Refuse,
            } as i32,
            verify: p.verify,
        }),
        RequestKind::Verify(v) => {
            let (target, instance) = match v {
                VerifyParams::Object {
                    collection,
                    name,
                    instance,
                } => (
                    submit_verify_request::Target::Object(object_ref(collection, name)),
                    u32_of(*instance),
                ),
                VerifyParams::Tape { barcode } => (
                    submit_verify_request::Target::Barcode(barcode.clone()),
                    None,
                ),
            };
            P::Verify(pb::SubmitVerifyRequest {
                target: Some(target),
                instance,
                priority,
            })
        }
    }
}

fn tape_content(c: TapeContent) -> pb::TapeContent {
    match c {
        TapeContent::Blank => pb::TapeContent::Scratch,
        TapeContent::Ltfs => pb::TapeContent::GroupMember,
        TapeContent::ForeignLtfs => pb::TapeContent::Foreign,
        TapeContent::Cleaning => pb::TapeContent::Cleaning,
        // Readable but not LTFS: the proto has no closer value.
        TapeContent::Unknown => pb::TapeContent::Unspecified,
    }
}

fn result(r: &RequestResult) -> request_info::Result {
    use request_info::Result as R;
    match r {
        RequestResult::Archive {
            instance_id,
            barcodes,
            file_count,
            bytes,
        } => R::Archive(pb::ArchiveResult {
            instance_id: count(*instance_id),
            barcodes: barcodes.clone(),
            file_count: count(*file_count),
            bytes: *bytes,
        }),
        RequestResult::Restore {
            instance_id,
            barcodes,
            file_count,
            bytes,
        } => R::Restore(pb::RestoreResult {
            instance_id: count(*instance_id),
            barcodes: barcodes.clone(),
            file_count: count(*file_count),
            bytes: *bytes,
        }),
        RequestResult::PartialRestore {
            instance_id,
            barcodes,
            parts,
            bytes_read,
            bytes_written,
        } => R::PartialRestore(pb::PartialRestoreResult {
            instance_id: count(*instance_id),
            barcodes: barcodes.clone(),
            parts: parts
                .iter()
                .map(|p| pb::RestoredPart {
                    source: p.source.clone(),
                    destination: p.destination.clone(),
                    bytes_read: p.bytes_read,
                    source_size: p.source_size,
                    bytes_written: p.bytes_written,
                    first_frame: p.first_frame,
                    last_frame: p.last_frame,
                    first_timecode: p.first_timecode.clone().unwrap_or_default(),
                    last_timecode: p.last_timecode.clone().unwrap_or_default(),
                    note: p.note.clone().unwrap_or_default(),
                })
                .collect(),
            bytes_read: *bytes_read,
            bytes_written: *bytes_written,
        }),
        RequestResult::Copy {
            source_instance_id,
            instance_id,
            barcodes,
            bytes,
        } => R::Copy(pb::CopyResult {
            source_instance_id: count(*source_instance_id),
            instance_id: count(*instance_id),
            barcodes: barcodes.clone(),
            bytes: *bytes,
        }),
        RequestResult::Delete {
            instance_ids,
            object_deleted,
        } => R::Delete(pb::DeleteResult {
            instance_ids: instance_ids.iter().map(|&i| count(i)).collect(),
            object_deleted: *object_deleted,
        }),
        RequestResult::Insert { tapes, left } => R::Insert(pb::InsertResult {
            tapes: tapes
                .iter()
                .map(|t| pb::InsertedTape {
                    barcode: t.barcode.clone(),
                    content: tape_content(t.content) as i32,
                    known: t.known,
                    slot_address: u32::from(t.slot),
                })
                .collect(),
            left: left.clone(),
        }),
        RequestResult::Eject { tapes, failed } => R::Eject(pb::EjectResult {
            tapes: tapes
                .iter()
                .map(|t| pb::EjectedTape {
                    barcode: t.barcode.clone(),
                    import_export_address: u32::from(t.ie_address),
                })
                .collect(),
            failed: failed.clone(),
        }),
        RequestResult::Repack {
            bytes_moved,
            bytes_reclaimed,
            destination_barcodes,
        } => R::Repack(pb::RepackResult {
            bytes_moved: *bytes_moved,
            bytes_reclaimed: *bytes_reclaimed,
            destination_barcodes: destination_barcodes.clone(),
        }),
        RequestResult::Export {
            document,
            barcodes,
            object_count,
        } => R::Export(pb::ExportResult {
            document: document.clone(),
            barcodes: barcodes.clone(),
            object_count: count(*object_count),
        }),
        RequestResult::Import { objects, skipped } => R::Import(pb::ImportResult {
            objects: objects.iter().map(|(c, n)| object_ref(c, n)).collect(),
            skipped: skipped.clone(),
        }),
        RequestResult::Verify {
            files_checked,
            failures,
            bytes,
        } => R::Verify(pb::VerifyResult {
            files_checked: count(*files_checked),
            failures: failures.clone(),
            bytes: *bytes,
        }),
    }
}

/// A persisted request as the API reports it.
pub fn request_info(rec: &RequestRecord) -> RequestInfo {
    RequestInfo {
        request_id: rec.id,
        r#type: request_type(&rec.kind) as i32,
        state: rec.state as i32,
        priority: u32::from(rec.priority.get()),
        phase: rec.phase.clone(),
        progress_percent: u32::from(rec.progress),
        bytes_done: rec.bytes_done,
        bytes_total: rec.bytes_total,
        status: Some(pb::DivaStatus {
            code: rec.status as i32,
            name: rec.status.name().to_string(),
            description: rec.status.description().to_string(),
        }),
        abort_reason: rec.abort_reason.clone().unwrap_or_default(),
        submit_time: Some(offset_timestamp(rec.submitted)),
        start_time: rec.started.map(offset_timestamp),
        end_time: rec.ended.map(offset_timestamp),
        object: request_object(&rec.kind),
        barcodes: rec.barcodes.clone(),
        submitted_by: rec.actor.clone(),
        cancel_requested: rec.cancel_requested,
        parameters: Some(pb::RequestParameters {
            parameters: Some(parameters(rec)),
        }),
        result: rec.result.as_ref().map(result),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_default_and_bound() {
        assert_eq!(priority(None).expect("default"), Priority::DEFAULT);
        assert_eq!(priority(Some(100)).expect("max").get(), 100);
        let e = priority(Some(101)).expect_err("above 100");
        assert_eq!(
            e.diva_code(),
            tapelib_proto::v1::DivaStatusCode::DivaErrInvalidParameter
        );
    }

    #[test]
    fn insert_resolves_the_library() {
        let libs = vec!["lib0".to_string()];
        let r = pb::SubmitInsertRequest {
            import_export_addresses: vec![17],
            ..Default::default()
        };
        assert_eq!(
            insert(&r, &libs).expect("single library"),
            RequestKind::Insert(InsertParams {
                library: "lib0".into(),
                ie_addresses: vec![17],
            })
        );
        let two = vec!["a".to_string(), "b".to_string()];
        assert!(insert(&r, &two).is_err());
        let bad = pb::SubmitInsertRequest {
            library: "lib0".into(),
            import_export_addresses: vec![70_000],
            ..Default::default()
        };
        assert!(insert(&bad, &libs).is_err());
        let unknown = pb::SubmitInsertRequest {
            library: "nope".into(),
            ..Default::default()
        };
        assert!(matches!(
            insert(&unknown, &libs),
            Err(ApiError::UnknownLibrary { .. })
        ));
    }

    #[test]
    fn submissions_round_trip_through_the_record() {
        let req = pb::SubmitRestoreRequest {
            object: Some(object_ref("news", "evening")),
            destination_server: "restore".into(),
            file_path_root: "out".into(),
            instance: Some(2),
            priority: Some(70),
            do_not_overwrite: true,
            ..Default::default()
        };
        let kind = restore(&req).expect("kind");
        let rec = RequestRecord::new(
            9,
            kind,
            priority(req.priority).expect("priority"),
            "op",
            time::OffsetDateTime::UNIX_EPOCH,
        );
        let info = request_info(&rec);
        assert_eq!(info.r#type, RequestType::Restore as i32);
        assert_eq!(info.object, Some(object_ref("news", "evening")));
        assert_eq!(info.submitted_by, "op");
        let Some(request_parameters::Parameters::Restore(back)) =
            info.parameters.and_then(|p| p.parameters)
        else {
            panic!("restore parameters expected");
        };
        assert_eq!(back, req);
        let no_object = pb::SubmitCopyRequest::default();
        assert!(copy(&no_object).is_err());
    }
}
