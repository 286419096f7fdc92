//! `/manager`: resources (versions, actors, arrays, groups, servers, tapes, drives,
//! libraries, objects) and requests, over the daemon's System, Library, Object and
//! Request services.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tapelib_proto::diva_names::{priority_from_diva, split_diva_qos};
use tapelib_proto::v1::library_service_client::LibraryServiceClient;
use tapelib_proto::v1::object_service_client::ObjectServiceClient;
use tapelib_proto::v1::request_service_client::RequestServiceClient;
use tapelib_proto::v1::system_service_client::SystemServiceClient;
use tapelib_proto::v1::*;

use crate::dataservice::Paging;
use crate::error::RestError;
use crate::extract::{Body, Caller, PathParam, Query};
use crate::{json as j, AppState};

type Reply = Result<Json<Value>, RestError>;
type Ch = tonic::transport::Channel;

fn system(s: &AppState) -> SystemServiceClient<Ch> {
    SystemServiceClient::new(s.channel.clone())
}
fn library(s: &AppState) -> LibraryServiceClient<Ch> {
    LibraryServiceClient::new(s.channel.clone())
}
fn objects(s: &AppState) -> ObjectServiceClient<Ch> {
    ObjectServiceClient::new(s.channel.clone())
}
fn requests(s: &AppState) -> RequestServiceClient<Ch> {
    RequestServiceClient::new(s.channel.clone())
}

/// A list answer: the items of one page and the page.
fn listing(key: &str, items: Vec<Value>, page: &Option<PageInfo>) -> Value {
    json!({ key: items, "page": j::page(page) })
}

/// Pages a complete list the daemon returns unpaged, in the given (deterministic) order.
fn page_of(items: Vec<Value>, p: &Paging) -> (Vec<Value>, Option<PageInfo>) {
    let page = p.page.unwrap_or(1).max(1);
    let size = match p.size.unwrap_or(0) {
        0 => 100,
        s => s.min(1000),
    };
    let total = items.len();
    let start = (page as usize - 1).saturating_mul(size as usize);
    let out: Vec<Value> = items.into_iter().skip(start).take(size as usize).collect();
    let has_more = start.saturating_add(out.len()) < total;
    (
        out,
        Some(PageInfo {
            page,
            size,
            total_items: total as u64,
            has_more,
        }),
    )
}

pub async fn versions(State(s): State<AppState>, caller: Caller) -> Reply {
    let v = system(&s)
        .get_version(caller.request(GetVersionRequest {})?)
        .await?
        .into_inner();
    Ok(Json(json!({
        "name": "tapelib",
        "version": v.version,
        "apiVersion": v.api_version,
        "restVersion": env!("CARGO_PKG_VERSION"),
    })))
}

/// The data movers: the daemon is the one actor; its health says whether it is online.
async fn actor_list(s: &AppState, caller: &Caller) -> Result<Vec<Value>, RestError> {
    // Health is public; a token check first keeps /actors behind authentication.
    library(s)
        .list_servers(caller.request(ListServersRequest { page: None })?)
        .await?;
    let h = system(s)
        .health(caller.request(HealthRequest {})?)
        .await?
        .into_inner();
    let online = HealthStatus::try_from(h.status) == Ok(HealthStatus::Serving);
    Ok(vec![json!({
        "name": "tapelibd",
        "online": online,
        "runningRequests": h.running_requests,
        "pendingRequests": h.pending_requests,
    })])
}

pub async fn actors(State(s): State<AppState>, caller: Caller, Query(p): Query<Paging>) -> Reply {
    let (items, page) = page_of(actor_list(&s, &caller).await?, &p);
    Ok(Json(listing("actors", items, &page)))
}

pub async fn actor(
    State(s): State<AppState>,
    caller: Caller,
    PathParam(name): PathParam<String>,
) -> Reply {
    actor_list(&s, &caller)
        .await?
        .into_iter()
        .find(|a| a["name"] == name.as_str())
        .map(Json)
        .ok_or_else(|| {
            RestError::new(
                axum::http::StatusCode::NOT_FOUND,
                DivaStatusCode::DivaErrComponentNotFound,
                format!("no actor named {name}"),
            )
        })
}

pub async fn arrays(State(s): State<AppState>, caller: Caller, Query(p): Query<Paging>) -> Reply {
    // No disk arrays exist; still check the caller like any other GET.
    library(&s)
        .list_servers(caller.request(ListServersRequest { page: None })?)
        .await?;
    let (items, page) = page_of(Vec::new(), &p);
    Ok(Json(listing("arrays", items, &page)))
}

pub async fn groups(State(s): State<AppState>, caller: Caller, Query(p): Query<Paging>) -> Reply {
    let r = library(&s)
        .list_groups(caller.request(ListGroupsRequest { page: p.request() })?)
        .await?
        .into_inner();
    Ok(Json(listing(
        "groups",
        r.groups.iter().map(j::group).collect(),
        &r.page,
    )))
}

pub async fn servers(State(s): State<AppState>, caller: Caller, Query(p): Query<Paging>) -> Reply {
    let r = library(&s)
        .list_servers(caller.request(ListServersRequest { page: p.request() })?)
        .await?
        .into_inner();
    Ok(Json(listing(
        "servers",
        r.servers.iter().map(j::server).collect(),
        &r.page,
    )))
}

pub async fn tapes(State(s): State<AppState>, caller: Caller, Query(p): Query<Paging>) -> Reply {
    let r = library(&s)
        .list_tapes(caller.request(ListTapesRequest {
            page: p.request(),
            ..Default::default()
        })?)
        .await?
        .into_inner();
    Ok(Json(listing(
        "tapes",
        r.tapes.iter().map(j::tape).collect(),
        &r.page,
    )))
}

pub async fn tape(
    State(s): State<AppState>,
    caller: Caller,
    PathParam(barcode): PathParam<String>,
) -> Reply {
    let r = library(&s)
        .get_tape(caller.request(GetTapeRequest { barcode })?)
        .await?
        .into_inner();
    Ok(Json(r.tape.as_ref().map(j::tape).unwrap_or(Value::Null)))
}

pub async fn drives(State(s): State<AppState>, caller: Caller, Query(p): Query<Paging>) -> Reply {
    let r = library(&s)
        .list_drives(caller.request(ListDrivesRequest::default())?)
        .await?
        .into_inner();
    let (items, page) = page_of(r.drives.iter().map(j::drive).collect(), &p);
    Ok(Json(listing("drives", items, &page)))
}

pub async fn libraries(
    State(s): State<AppState>,
    caller: Caller,
    Query(p): Query<Paging>,
) -> Reply {
    let r = library(&s)
        .get_inventory(caller.request(GetInventoryRequest::default())?)
        .await?
        .into_inner();
    let all = r
        .libraries
        .iter()
        .map(|l| {
            json!({
                "name": l.name,
                "vendor": l.vendor,
                "product": l.product,
                "serialNumber": l.serial,
                "online": l.online,
                "slots": l.slots.len(),
                "importExportSlots": l.import_export.len(),
                "drives": l.drives.len(),
                "tapes": l.slots.iter().chain(&l.import_export).chain(&l.drives).filter(|e| e.full).count(),
            })
        })
        .collect();
    let (items, page) = page_of(all, &p);
    Ok(Json(listing("libraries", items, &page)))
}

/// Filters of the alert logs: the guides' paging, a date range and where.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertQuery {
    #[serde(default)]
    page: Option<u32>,
    #[serde(default)]
    size: Option<u32>,
    /// RFC 3339: events at or after then.
    #[serde(default)]
    since_date: Option<String>,
    /// RFC 3339: events before then.
    #[serde(default)]
    until_date: Option<String>,
    #[serde(default)]
    library_name: Option<String>,
    #[serde(default)]
    drive_name: Option<String>,
}

fn severity_name(code: i32) -> &'static str {
    match TapeAlertSeverity::try_from(code) {
        Ok(TapeAlertSeverity::Information) => "INFORMATION",
        Ok(TapeAlertSeverity::Warning) => "WARNING",
        Ok(TapeAlertSeverity::Critical) => "CRITICAL",
        _ => "UNKNOWN",
    }
}

/// One page of the daemon's alert history of `source`, newest first.
async fn alert_log(
    s: &AppState,
    caller: &Caller,
    q: AlertQuery,
    source: AlertSource,
) -> Result<ListAlertLogResponse, RestError> {
    let time =
        |field: &str, v: &Option<String>| v.as_deref().map(|t| parse_time(field, t)).transpose();
    Ok(library(s)
        .list_alert_log(caller.request(ListAlertLogRequest {
            page: Some(PageRequest {
                page: q.page.unwrap_or(1),
                size: q.size.unwrap_or(0),
            }),
            source: source as i32,
            library: q.library_name.unwrap_or_default(),
            drive: q.drive_name.unwrap_or_default(),
            since: time("sinceDate", &q.since_date)?,
            until: time("untilDate", &q.until_date)?,
        })?)
        .await?
        .into_inner())
}

fn event_state(e: &AlertEvent) -> &'static str {
    if e.raised {
        "RAISED"
    } else {
        "CLEARED"
    }
}

/// TapeAlert history: each flag a drive raised or cleared, newest first.
pub async fn drive_alerts(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<AlertQuery>,
) -> Reply {
    let r = alert_log(&s, &caller, q, AlertSource::TapeAlert).await?;
    let items = r
        .events
        .iter()
        .map(|e| {
            json!({
                "id": e.seq, "date": j::ts(&e.time), "libraryName": e.library,
                "driveName": e.drive, "barcode": e.barcode, "alertNumber": e.code,
                "alertName": e.name, "severity": severity_name(e.severity),
                "state": event_state(e),
            })
        })
        .collect();
    Ok(Json(listing("alerts", items, &r.page)))
}

/// Library alert history: each changer element exception that appeared or went away.
pub async fn library_alerts(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<AlertQuery>,
) -> Reply {
    let r = alert_log(&s, &caller, q, AlertSource::ElementException).await?;
    let items = r
        .events
        .iter()
        .map(|e| {
            json!({
                "id": e.seq, "date": j::ts(&e.time), "libraryName": e.library,
                "elementAddress": e.element_address, "driveName": e.drive,
                "barcode": e.barcode, "asc": e.code >> 8, "ascq": e.code & 0xff,
                "reason": e.name, "severity": severity_name(e.severity),
                "state": event_state(e),
            })
        })
        .collect();
    Ok(Json(listing("alerts", items, &r.page)))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectQuery {
    object_name: String,
    collection_name: String,
}

pub async fn object_info(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<ObjectQuery>,
) -> Reply {
    let r = objects(&s)
        .get_object_info(caller.request(GetObjectInfoRequest {
            object: Some(ObjectRef {
                name: q.object_name,
                collection: q.collection_name,
            }),
        })?)
        .await?
        .into_inner();
    Ok(Json(
        r.object.as_ref().map(j::object_info).unwrap_or(Value::Null),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectsQuery {
    #[serde(default)]
    page: Option<u32>,
    #[serde(default)]
    size: Option<u32>,
    /// RFC 3339 date: objects archived or changed since then.
    #[serde(default)]
    since_date: Option<String>,
    #[serde(default)]
    collection_name: Option<String>,
}

fn parse_time(field: &str, text: &str) -> Result<tapelib_proto::prost_types::Timestamp, RestError> {
    let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|e| RestError::bad_request(format!("{field}: {e}")))?;
    Ok(tapelib_proto::prost_types::Timestamp {
        seconds: t.unix_timestamp(),
        nanos: t.nanosecond() as i32,
    })
}

pub async fn objects_list(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<ObjectsQuery>,
) -> Reply {
    let since = q
        .since_date
        .as_deref()
        .map(|t| parse_time("sinceDate", t))
        .transpose()?;
    let r = objects(&s)
        .list_objects(caller.request(ListObjectsRequest {
            page: Some(PageRequest {
                page: q.page.unwrap_or(1),
                size: q.size.unwrap_or(0),
            }),
            since,
            collection: q.collection_name.unwrap_or_default(),
            include_deleted: since.is_some(),
        })?)
        .await?
        .into_inner();
    Ok(Json(listing(
        "objects",
        r.objects.iter().map(j::object_summary).collect(),
        &r.page,
    )))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestsQuery {
    #[serde(default)]
    page: Option<u32>,
    #[serde(default)]
    size: Option<u32>,
    /// DIVA state name (PENDING, RUNNING, ...).
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    since_date: Option<String>,
}

pub async fn requests_list(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<RequestsQuery>,
) -> Reply {
    let states = match q.state.as_deref() {
        None | Some("") => Vec::new(),
        Some(name) => vec![RequestState::from_diva_name(name)
            .map_err(|e| RestError::bad_request(e.to_string()))? as i32],
    };
    let since = q
        .since_date
        .as_deref()
        .map(|t| parse_time("sinceDate", t))
        .transpose()?;
    let r = requests(&s)
        .list_requests(caller.request(ListRequestsRequest {
            page: Some(PageRequest {
                page: q.page.unwrap_or(1),
                size: q.size.unwrap_or(0),
            }),
            states,
            types: Vec::new(),
            since,
            object: None,
        })?)
        .await?
        .into_inner();
    Ok(Json(listing(
        "requests",
        r.requests.iter().map(j::request).collect(),
        &r.page,
    )))
}

pub async fn request(
    State(s): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<u64>,
) -> Reply {
    let r = requests(&s)
        .get_request(caller.request(GetRequestRequest { request_id: id })?)
        .await?
        .into_inner();
    Ok(Json(
        r.request.as_ref().map(j::request).unwrap_or(Value::Null),
    ))
}

/// A relative path inside a server root: no `..`, no absolute path, no NUL. The daemon
/// checks again against the real root (symlinks); this refuses the obvious early.
fn check_relative(field: &str, p: &str) -> Result<(), RestError> {
    let bad = p.starts_with('/')
        || p.contains('\0')
        || p.contains('\\')
        || p.split('/').any(|c| c == "..");
    if bad {
        return Err(RestError::bad_request(format!(
            "{field} {p:?} must stay inside the server root"
        )));
    }
    Ok(())
}

fn priority(p: Option<i64>) -> Result<Option<u32>, RestError> {
    match p {
        None => Ok(None),
        Some(p) => priority_from_diva(p).map_err(|e| RestError::bad_request(e.to_string())),
    }
}

fn qos(q: Option<i32>) -> Result<(Qos, bool), RestError> {
    split_diva_qos(q.unwrap_or(0)).map_err(|e| RestError::bad_request(e.to_string()))
}

fn submitted(r: SubmitResponse) -> Json<Value> {
    Json(json!({ "requestId": r.request_id }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchiveBody {
    object_name: String,
    collection_name: String,
    components: Vec<String>,
    media: String,
    source_server: String,
    #[serde(default)]
    file_path_root: String,
    #[serde(default)]
    priority: Option<i64>,
    #[serde(default)]
    qos: Option<i32>,
    #[serde(default)]
    comments: String,
    #[serde(default)]
    options: String,
}

pub async fn archive(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<ArchiveBody>,
) -> Reply {
    check_relative("filePathRoot", &b.file_path_root)?;
    for c in &b.components {
        check_relative("components", c)?;
    }
    let (qos, delete_on_source) = qos(b.qos)?;
    let r = requests(&s)
        .submit_archive(caller.request(SubmitArchiveRequest {
            object: Some(ObjectRef {
                name: b.object_name,
                collection: b.collection_name,
            }),
            components: b.components,
            source_server: b.source_server,
            file_path_root: b.file_path_root,
            media: b.media,
            priority: priority(b.priority)?,
            qos: qos as i32,
            delete_on_source,
            comments: b.comments,
            options: b.options,
        })?)
        .await?
        .into_inner();
    Ok(submitted(r))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreBody {
    object_name: String,
    collection_name: String,
    destination_server: String,
    #[serde(default)]
    file_path_root: String,
    #[serde(default)]
    instance: Option<u32>,
    #[serde(default)]
    priority: Option<i64>,
    #[serde(default)]
    qos: Option<i32>,
    #[serde(default)]
    options: String,
}

pub async fn restore(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<RestoreBody>,
) -> Reply {
    check_relative("filePathRoot", &b.file_path_root)?;
    let (qos, _) = qos(b.qos)?;
    let r = requests(&s)
        .submit_restore(caller.request(SubmitRestoreRequest {
            object: Some(ObjectRef {
                name: b.object_name,
                collection: b.collection_name,
            }),
            destination_server: b.destination_server,
            file_path_root: b.file_path_root,
            instance: b.instance,
            priority: priority(b.priority)?,
            qos: qos as i32,
            do_not_overwrite: false,
            options: b.options,
        })?)
        .await?
        .into_inner();
    Ok(submitted(r))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CopyBody {
    object_name: String,
    collection_name: String,
    media: String,
    #[serde(default)]
    instance: Option<u32>,
    #[serde(default)]
    priority: Option<i64>,
    #[serde(default)]
    qos: Option<i32>,
    #[serde(default)]
    options: String,
}

pub async fn copy(State(s): State<AppState>, caller: Caller, Body(b): Body<CopyBody>) -> Reply {
    let (qos, _) = qos(b.qos)?;
    let r = requests(&s)
        .submit_copy(caller.request(SubmitCopyRequest {
            object: Some(ObjectRef {
                name: b.object_name,
                collection: b.collection_name,
            }),
            media: b.media,
            instance: b.instance,
            priority: priority(b.priority)?,
            qos: qos as i32,
            options: b.options,
        })?)
        .await?
        .into_inner();
    Ok(submitted(r))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteBody {
    object_name: String,
    collection_name: String,
    #[serde(default)]
    instance: Option<u32>,
    #[serde(default)]
    priority: Option<i64>,
    #[serde(default)]
    options: String,
}

pub async fn delete(State(s): State<AppState>, caller: Caller, Body(b): Body<DeleteBody>) -> Reply {
    let r = requests(&s)
        .submit_delete(caller.request(SubmitDeleteRequest {
            object: Some(ObjectRef {
                name: b.object_name,
                collection: b.collection_name,
            }),
            instance: b.instance,
            priority: priority(b.priority)?,
            options: b.options,
        })?)
        .await?
        .into_inner();
    Ok(submitted(r))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestIdBody {
    request_id: u64,
}

pub async fn cancel(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<RequestIdBody>,
) -> Reply {
    let r = requests(&s)
        .cancel_request(caller.request(CancelRequestRequest {
            request_id: b.request_id,
        })?)
        .await?
        .into_inner();
    Ok(Json(
        r.request.as_ref().map(j::request).unwrap_or(Value::Null),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InsertBody {
    #[serde(default)]
    library: String,
    #[serde(default)]
    import_export_addresses: Vec<u32>,
    /// Tape group for new blank tapes.
    #[serde(default, alias = "media")]
    group: String,
    #[serde(default)]
    priority: Option<i64>,
}

pub async fn insert_tape(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<InsertBody>,
) -> Reply {
    let r = requests(&s)
        .submit_insert(caller.request(SubmitInsertRequest {
            library: b.library,
            import_export_addresses: b.import_export_addresses,
            group: b.group,
            priority: priority(b.priority)?,
        })?)
        .await?
        .into_inner();
    Ok(submitted(r))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EjectBody {
    #[serde(alias = "tapes", alias = "vsns")]
    barcodes: Vec<String>,
    #[serde(default)]
    comments: String,
    #[serde(default)]
    priority: Option<i64>,
}

pub async fn eject_tape(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<EjectBody>,
) -> Reply {
    let r = requests(&s)
        .submit_eject(caller.request(SubmitEjectRequest {
            barcodes: b.barcodes,
            comments: b.comments,
            priority: priority(b.priority)?,
        })?)
        .await?
        .into_inner();
    Ok(submitted(r))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriorityBody {
    request_id: u64,
    priority: i64,
}

pub async fn change_priority(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<PriorityBody>,
) -> Reply {
    let p = priority(Some(b.priority))?.unwrap_or(tapelib_proto::diva_names::DEFAULT_PRIORITY);
    let r = requests(&s)
        .change_priority(caller.request(ChangePriorityRequest {
            request_id: b.request_id,
            priority: p,
        })?)
        .await?
        .into_inner();
    Ok(Json(
        r.request.as_ref().map(j::request).unwrap_or(Value::Null),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        for ok in ["", "a", "a/b.mxf", "a/./b", "..a"] {
            assert!(check_relative("x", ok).is_ok(), "{ok}");
        }
        for bad in ["/etc", "../x", "a/../../b", "a/..", "a\\..\\b", "a\0b"] {
            assert!(check_relative("x", bad).is_err(), "{bad}");
        }
    }
}

/// DIVA's "any instance": -1 (or absent).
fn instance(i: Option<i64>) -> Result<Option<u32>, RestError> {
    match i {
        None | Some(-1) => Ok(None),
        Some(n) => u32::try_from(n)
            .map(Some)
            .map_err(|_| RestError::bad_request(format!("instance {n} is not an instance number"))),
    }
}

/// One DIVA `offsetPairs` entry: bytes, or timecodes when `timeCode` is true.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OffsetPairBody {
    #[serde(default)]
    bytes_begin: u64,
    #[serde(default)]
    bytes_end: u64,
    #[serde(default)]
    time_code_begin: String,
    #[serde(default)]
    time_code_end: String,
    #[serde(default)]
    time_code: bool,
}

#[derive(Debug, Deserialize)]
pub struct FileFolderBody {
    name: String,
    #[serde(default)]
    option: String,
}

#[derive(Debug, Deserialize)]
pub struct RangeBody {
    begin: u64,
    end: u64,
}

/// One DIVA `offsets` entry; which fields are set depends on the format.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OffsetBody {
    #[serde(default)]
    source_file: Option<String>,
    #[serde(default)]
    destination_file: Option<String>,
    #[serde(default)]
    offset_pairs: Vec<OffsetPairBody>,
    #[serde(default)]
    file_folder: Option<FileFolderBody>,
    #[serde(default)]
    range: Option<RangeBody>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartialRestoreBody {
    object_name: String,
    collection_name: String,
    destination_server: String,
    #[serde(default)]
    file_path_root: String,
    #[serde(default)]
    instance: Option<i64>,
    #[serde(default)]
    priority: Option<i64>,
    #[serde(default)]
    qos: Option<i32>,
    format: i32,
    offsets: Vec<OffsetBody>,
    #[serde(default)]
    options: String,
}

fn offset(o: OffsetBody) -> Result<PartialRestoreOffset, RestError> {
    use partial_restore_offset::Selection;
    let selection = if let Some(f) = o.file_folder {
        Selection::FileFolder(FileFolder {
            name: f.name,
            option: f.option,
        })
    } else if let Some(r) = o.range {
        Selection::Range(FrameRange {
            begin: r.begin,
            end: r.end,
        })
    } else {
        // An entry with nothing in it is the daemon's to refuse (after the role check).
        let Some(source) = o.source_file else {
            return Ok(PartialRestoreOffset { selection: None });
        };
        for p in [Some(&source), o.destination_file.as_ref()]
            .into_iter()
            .flatten()
        {
            check_relative("offsets", p)?;
        }
        Selection::File(FileOffsets {
            destination_file: o.destination_file.unwrap_or_else(|| source.clone()),
            source_file: source,
            pairs: o
                .offset_pairs
                .into_iter()
                .map(|p| OffsetPair {
                    range: Some(if p.time_code {
                        offset_pair::Range::Timecode(TimecodeRange {
                            begin: p.time_code_begin,
                            end: p.time_code_end,
                        })
                    } else {
                        offset_pair::Range::Bytes(ByteRange {
                            begin: p.bytes_begin,
                            end: p.bytes_end,
                        })
                    }),
                })
                .collect(),
        })
    };
    Ok(PartialRestoreOffset {
        selection: Some(selection),
    })
}

pub async fn partial_restore(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<PartialRestoreBody>,
) -> Reply {
    check_relative("filePathRoot", &b.file_path_root)?;
    let (qos, _) = qos(b.qos)?;
    let offsets = b
        .offsets
        .into_iter()
        .map(offset)
        .collect::<Result<Vec<_>, _>>()?;
    let r = requests(&s)
        .submit_partial_restore(caller.request(SubmitPartialRestoreRequest {
            object: Some(ObjectRef {
                name: b.object_name,
                collection: b.collection_name,
            }),
            destination_server: b.destination_server,
            file_path_root: b.file_path_root,
            instance: instance(b.instance)?,
            priority: priority(b.priority)?,
            qos: qos as i32,
            format: b.format,
            offsets,
            do_not_overwrite: false,
            options: b.options,
        })?)
        .await?
        .into_inner();
    Ok(submitted(r))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepackBody {
    #[serde(alias = "tape", alias = "vsn")]
    barcode: String,
    /// Group to write to; the tape's own when empty.
    #[serde(default)]
    media: String,
    /// Leave the tape empty and DISABLED instead of returning it to scratch.
    #[serde(default)]
    leave_empty: bool,
    #[serde(default)]
    priority: Option<i64>,
}

pub async fn repack_tape(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<RepackBody>,
) -> Reply {
    let r = requests(&s)
        .submit_repack(caller.request(SubmitRepackRequest {
            barcode: b.barcode,
            priority: priority(b.priority)?,
            target_group: b.media,
            retire: if b.leave_empty {
                RepackRetire::Empty
            } else {
                RepackRetire::Scratch
            } as i32,
        })?)
        .await?
        .into_inner();
    Ok(submitted(r))
}

pub async fn export_tape(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<EjectBody>,
) -> Reply {
    let r = requests(&s)
        .submit_export(caller.request(SubmitExportRequest {
            barcodes: b.barcodes,
            comments: b.comments,
            priority: priority(b.priority)?,
        })?)
        .await?
        .into_inner();
    Ok(submitted(r))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportBody {
    #[serde(alias = "tapes", alias = "vsns")]
    barcodes: Vec<String>,
    /// Tape group the tapes join.
    media: String,
    /// An export document (XML).
    #[serde(default)]
    document: String,
    /// Collection for tapes written by other software.
    #[serde(default)]
    collection_name: String,
    /// skip, addInstance or refuse.
    #[serde(default)]
    on_conflict: Option<String>,
    #[serde(default)]
    verify: bool,
    #[serde(default)]
    priority: Option<i64>,
}

pub async fn import_tape(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<ImportBody>,
) -> Reply {
    let on_conflict = match b.on_conflict.as_deref() {
        None | Some("skip") => ImportConflict::Skip,
        Some("addInstance") => ImportConflict::AddInstance,
        Some("refuse") => ImportConflict::Refuse,
        Some(other) => {
            return Err(RestError::bad_request(format!(
                "onConflict {other:?}: expected skip, addInstance or refuse"
            )))
        }
    };
    let r = requests(&s)
        .submit_import(caller.request(SubmitImportRequest {
            barcodes: b.barcodes,
            media: b.media,
            document: b.document,
            priority: priority(b.priority)?,
            collection: b.collection_name,
            on_conflict: on_conflict as i32,
            verify: b.verify,
        })?)
        .await?
        .into_inner();
    Ok(submitted(r))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyBody {
    /// A tape to verify whole.
    #[serde(default, alias = "tape", alias = "vsn")]
    barcode: Option<String>,
    /// Or an object.
    #[serde(default)]
    object_name: Option<String>,
    #[serde(default)]
    collection_name: Option<String>,
    #[serde(default)]
    instance: Option<i64>,
    #[serde(default)]
    priority: Option<i64>,
}

pub async fn verify_tape(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<VerifyBody>,
) -> Reply {
    // Anything but exactly one target is the daemon's to refuse (after the role check).
    let target = match (b.barcode, b.object_name, b.collection_name) {
        (Some(barcode), None, None) => Some(submit_verify_request::Target::Barcode(barcode)),
        (None, Some(name), Some(collection)) => {
            Some(submit_verify_request::Target::Object(ObjectRef {
                name,
                collection,
            }))
        }
        _ => None,
    };
    let r = requests(&s)
        .submit_verify(caller.request(SubmitVerifyRequest {
            target,
            instance: instance(b.instance)?,
            priority: priority(b.priority)?,
        })?)
        .await?
        .into_inner();
    Ok(submitted(r))
}

/// `?format=` of the bit-integrity report.
#[derive(Debug, Deserialize)]
pub struct ReportFormat {
    format: Option<String>,
}

/// True when the report should be JSON: `?format=json`, or an `Accept` naming JSON but not
/// TSV. Without either the report is the TSV, as DuraCloud serves it.
fn report_as_json(format: Option<&str>, accept: Option<&str>) -> Result<bool, RestError> {
    match format.map(str::trim) {
        Some("json") => return Ok(true),
        Some("tsv") => return Ok(false),
        Some(other) => {
            return Err(RestError::bad_request(format!(
                "format {other:?} is neither tsv nor json"
            )))
        }
        None => {}
    }
    let accept = accept.unwrap_or("").to_ascii_lowercase();
    Ok(accept.contains("application/json") && !accept.contains("text/tab-separated-values"))
}

/// DuraCloud's `yyyy-MM-ddTHH:mm:ss`, in UTC.
fn completion_date(t: &Option<tapelib_proto::prost_types::Timestamp>) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    t.as_ref()
        .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t.seconds).ok())
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

fn bit_integrity_row(r: &BitIntegrityRow) -> Value {
    let result = BitIntegrityResult::try_from(r.result)
        .ok()
        .map(|v| v.as_str_name().trim_start_matches("BIT_INTEGRITY_RESULT_"))
        .unwrap_or("UNKNOWN");
    json!({
        "dateChecked": j::ts(&r.checked),
        "tape": r.barcode,
        "collectionName": r.collection,
        "objectName": r.name,
        "instance": r.instance,
        "file": r.file,
        "result": result,
        "expectedChecksum": r.expected_crc32,
        "computedChecksum": r.computed_crc32,
        "checksumType": "CRC32",
        "details": r.details,
    })
}

/// The tape's latest bit-integrity report: the TSV with DuraCloud's headers, or JSON rows.
pub async fn bit_integrity(
    State(s): State<AppState>,
    caller: Caller,
    PathParam(barcode): PathParam<String>,
    Query(q): Query<ReportFormat>,
    headers: axum::http::HeaderMap,
) -> Result<axum::response::Response, RestError> {
    use axum::response::IntoResponse;
    let accept = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    let as_json = report_as_json(q.format.as_deref(), accept)?;
    let r = library(&s)
        .get_bit_integrity_report(caller.request(GetBitIntegrityReportRequest { barcode })?)
        .await?
        .into_inner();
    let date = completion_date(&r.completed);
    let result = if r.success { "SUCCESS" } else { "FAILURE" };
    let report_headers = [
        ("Bit-Integrity-Report-Completion-Date", date.clone()),
        ("Bit-Integrity-Report-Result", result.to_string()),
    ];
    if as_json {
        let body = json!({
            "barcode": r.barcode,
            "completionDate": date,
            "result": result,
            "rows": r.rows.iter().map(bit_integrity_row).collect::<Vec<_>>(),
        });
        Ok((report_headers, Json(body)).into_response())
    } else {
        let content_type = (
            axum::http::header::CONTENT_TYPE.as_str(),
            "text/tab-separated-values; charset=utf-8".to_string(),
        );
        let [a, b] = report_headers;
        Ok(([content_type, a, b], r.tsv).into_response())
    }
}

#[cfg(test)]
mod report_tests {
    use super::*;

    #[test]
    fn tsv_unless_json_is_asked_for() {
        assert!(!report_as_json(None, None).unwrap());
        assert!(!report_as_json(None, Some("*/*")).unwrap());
        assert!(report_as_json(None, Some("application/json")).unwrap());
        assert!(!report_as_json(
            None,
            Some("text/tab-separated-values, application/json;q=0.5")
        )
        .unwrap());
        assert!(report_as_json(Some("json"), Some("text/plain")).unwrap());
        assert!(!report_as_json(Some("tsv"), Some("application/json")).unwrap());
        let e = report_as_json(Some("xml"), None).unwrap_err();
        assert_eq!(e.code, DivaStatusCode::DivaErrInvalidParameter.code());
    }

    #[test]
    fn completion_date_is_duracloud_shaped() {
        let t = Some(tapelib_proto::prost_types::Timestamp {
            seconds: 1_700_000_000,
            nanos: 5,
        });
        assert_eq!(completion_date(&t), "2023-11-14T22:13:20");
        assert_eq!(completion_date(&None), "");
    }
}
