//! `ObjectService`: archived objects with their files and instances, and the object list
//! with a since-date filter for clients that keep their own view in sync.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use tapelib_proto::v1::object_service_server::ObjectService;
use tapelib_proto::v1::{
    GetObjectInfoRequest, GetObjectInfoResponse, InstanceFileSegment, InstanceTape,
    ListObjectsRequest, ListObjectsResponse, ObjectFile, ObjectInfo, ObjectInstance, ObjectRef,
    ObjectSummary,
};
use time::OffsetDateTime;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use super::convert::offset_timestamp;
use super::paging::paginate;
use super::{blocking, ApiError, DaemonState};
use crate::catalog::{
    Catalog, CatalogError, Cursor, InstanceRecord, ObjectFilter, ObjectRecord, MAX_PAGE,
};

/// Audit actions that change an object, with the object as "collection/name" subject.
const OBJECT_ACTIONS: [&str; 4] = [
    "object.archive",
    "instance.add",
    "instance.delete",
    "object.delete",
];

/// The `ObjectService` implementation.
#[derive(Debug, Clone)]
pub struct ObjectApi {
    state: Arc<DaemonState>,
}

impl ObjectApi {
    pub fn new(state: Arc<DaemonState>) -> Self {
        ObjectApi { state }
    }
}

fn object_ref(collection: &str, name: &str) -> ObjectRef {
    ObjectRef {
        name: name.to_string(),
        collection: collection.to_string(),
    }
}

/// Last change known from the records themselves: the archive and every instance written.
fn modified(object: &ObjectRecord, instances: &[InstanceRecord]) -> OffsetDateTime {
    instances
        .iter()
        .map(|i| i.created)
        .fold(object.archived, OffsetDateTime::max)
}

fn info(catalog: &Catalog, object: ObjectRecord) -> Result<ObjectInfo, ApiError> {
    let instances = catalog.list_instances(&object.collection, &object.name)?;
    let mut tape_online: HashMap<String, bool> = HashMap::new();
    let mut out_instances = Vec::new();
    for inst in &instances {
        let mut tapes = Vec::new();
        for (seq, barcode) in inst.tapes.iter().enumerate() {
            let online = match tape_online.get(barcode) {
                Some(&o) => o,
                None => {
                    let o = catalog.get_tape(barcode)?.is_some_and(|t| t.online);
                    tape_online.insert(barcode.clone(), o);
                    o
                }
            };
            tapes.push(InstanceTape {
                barcode: barcode.clone(),
                sequence: u32::try_from(seq).unwrap_or(u32::MAX),
                online,
            });
        }
        // Files are written whole on one tape, so each file is one segment.
        let files = inst
            .files
            .iter()
            .map(|f| InstanceFileSegment {
                path: f.path.clone(),
                barcode: f.tape.clone(),
                ltfs_path: f.ltfs_path.clone(),
                offset: 0,
                length: object
                    .files
                    .iter()
                    .find(|o| o.path == f.path)
                    .map_or(0, |o| o.size),
            })
            .collect();
        out_instances.push(ObjectInstance {
            instance_id: u32::try_from(inst.id).unwrap_or(u32::MAX),
            group: inst.group.clone(),
            online: inst.online && tapes.iter().all(|t| t.online),
            tapes,
            files,
            created: Some(offset_timestamp(inst.created)),
            request_id: 0,
        });
    }
    let mut files: Vec<ObjectFile> = object
        .files
        .iter()
        .map(|f| ObjectFile {
            path: f.path.clone(),
            size_bytes: f.size,
            crc32: f.crc32,
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(ObjectInfo {
        object: Some(object_ref(&object.collection, &object.name)),
        files,
        total_size_bytes: object.total_size,
        online: out_instances.iter().any(|i| i.online),
        instances: out_instances,
        archive_time: Some(offset_timestamp(object.archived)),
        source_server: String::new(),
        comments: object.comments,
    })
}

fn get_info(catalog: &Catalog, req: &GetObjectInfoRequest) -> Result<ObjectInfo, ApiError> {
    let o = req.object.as_ref().ok_or(ApiError::InvalidParameter {
        parameter: "object",
        reason: "is required".into(),
    })?;
    let object = catalog.get_object(&o.collection, &o.name)?.ok_or_else(|| {
        CatalogError::ObjectNotFound {
            collection: o.collection.clone(),
            name: o.name.clone(),
        }
    })?;
    info(catalog, object)
}

/// Every object of `collection` (all when `None`), in (collection, name) order.
fn all_objects(catalog: &Catalog, collection: Option<&str>) -> Result<Vec<ObjectRecord>, ApiError> {
    let filter = ObjectFilter {
        collection: collection.map(str::to_string),
        since: None,
    };
    let mut out = Vec::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        let page = catalog.list_objects(&filter, cursor.as_ref(), MAX_PAGE)?;
        out.extend(page.items);
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
}

/// Object changes at or after `since` from the audit log: the latest change of each
/// object ("collection/name") and when it was last deleted.
struct AuditChanges {
    latest: HashMap<String, OffsetDateTime>,
    deleted: HashMap<String, OffsetDateTime>,
}

fn audit_changes(catalog: &Catalog, since: OffsetDateTime) -> Result<AuditChanges, ApiError> {
    let mut changes = AuditChanges {
        latest: HashMap::new(),
        deleted: HashMap::new(),
    };
    let mut cursor: Option<Cursor> = None;
    loop {
        let page = catalog.list_audit(cursor.as_ref(), MAX_PAGE)?;
        for e in page.items {
            if e.time < since || !OBJECT_ACTIONS.contains(&e.action.as_str()) {
                continue;
            }
            let t = changes.latest.entry(e.subject.clone()).or_insert(e.time);
            *t = (*t).max(e.time);
            if e.action == "object.delete" {
                let d = changes.deleted.entry(e.subject).or_insert(e.time);
                *d = (*d).max(e.time);
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(changes),
        }
    }
}

fn to_offset(t: &tapelib_proto::prost_types::Timestamp) -> Result<OffsetDateTime, ApiError> {
    let nanos = i128::from(t.seconds) * 1_000_000_000 + i128::from(t.nanos);
    OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|e| ApiError::InvalidParameter {
        parameter: "since",
        reason: e.to_string(),
    })
}

fn list(catalog: &Catalog, req: &ListObjectsRequest) -> Result<ListObjectsResponse, ApiError> {
    let collection = (!req.collection.is_empty()).then_some(req.collection.as_str());
    let since = req.since.as_ref().map(to_offset).transpose()?;
    let changes = since.map(|s| audit_changes(catalog, s)).transpose()?;
    // Keyed by (collection, name) so live and deleted objects merge in list order.
    let mut rows: BTreeMap<(String, String), ObjectSummary> = BTreeMap::new();
    for object in all_objects(catalog, collection)? {
        let instances = catalog.list_instances(&object.collection, &object.name)?;
        let mut changed = modified(&object, &instances);
        if let Some(c) = &changes {
            let subject = format!("{}/{}", object.collection, object.name);
            if let Some(&t) = c.latest.get(&subject) {
                changed = changed.max(t);
            }
        }
        if since.is_some_and(|s| changed < s) {
            continue;
        }
        let online = instances.iter().any(|i| i.online);
        rows.insert(
            (object.collection.clone(), object.name.clone()),
            ObjectSummary {
                object: Some(object_ref(&object.collection, &object.name)),
                file_count: u32::try_from(object.files.len()).unwrap_or(u32::MAX),
                total_size_bytes: object.total_size,
                instance_count: u32::try_from(instances.len()).unwrap_or(u32::MAX),
                online,
                archive_time: Some(offset_timestamp(object.archived)),
                modified_time: Some(offset_timestamp(changed)),
                deleted: false,
            },
        );
    }
    if let (Some(c), true) = (&changes, req.include_deleted) {
        for (subject, when) in &c.deleted {
            // The audit subject is "collection/name"; a collection holds no '/' in practice.
            let Some((coll, name)) = subject.split_once('/') else {
                continue;
            };
            if collection.is_some_and(|want| want != coll) {
                continue;
            }
            rows.entry((coll.to_string(), name.to_string()))
                .or_insert_with(|| ObjectSummary {
                    object: Some(object_ref(coll, name)),
                    modified_time: Some(offset_timestamp(*when)),
                    deleted: true,
                    ..ObjectSummary::default()
                });
        }
    }
    let (objects, page) = paginate(rows.into_values().collect(), req.page.as_ref());
    Ok(ListObjectsResponse {
        objects,
        page: Some(page),
    })
}

#[tonic::async_trait]
impl ObjectService for ObjectApi {
    async fn get_object_info(
        &self,
        request: Request<GetObjectInfoRequest>,
    ) -> Result<Response<GetObjectInfoResponse>, Status> {
        let req = request.into_inner();
        let state = self.state.clone();
        let span = tracing::debug_span!("rpc", rpc = "GetObjectInfo");
        let object = blocking(move || get_info(&state.catalog, &req))
            .instrument(span)
            .await?;
        Ok(Response::new(GetObjectInfoResponse {
            object: Some(object),
        }))
    }

    async fn list_objects(
        &self,
        request: Request<ListObjectsRequest>,
    ) -> Result<Response<ListObjectsResponse>, Status> {
        let req = request.into_inner();
        let state = self.state.clone();
        let span = tracing::debug_span!("rpc", rpc = "ListObjects");
        let out = blocking(move || list(&state.catalog, &req))
            .instrument(span)
            .await?;
        Ok(Response::new(out))
    }
}
