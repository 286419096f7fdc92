//! `LibraryService`: inventory, drives, tapes, groups and servers, and drive UP/DOWN.
//! Tape states, groups, and the bit-integrity reports verify keeps.

use std::sync::Arc;

use tapelib_proto::v1::library_service_server::LibraryService;
use tapelib_proto::v1::{
    BitIntegrityResult, BitIntegrityRow, CreateGroupRequest, CreateGroupResponse, DriveState,
    ElementType, GetBitIntegrityReportRequest, GetBitIntegrityReportResponse, GetInventoryRequest,
    GetInventoryResponse, GetTapeRequest, GetTapeResponse, LibraryInventory, ListDrivesRequest,
    ListDrivesResponse, ListGroupsRequest, ListGroupsResponse, ListServersRequest,
    ListServersResponse, ListTapesRequest, ListTapesResponse, LocationKind, Server,
    SetDriveStateRequest, SetDriveStateResponse, SetTapeStateRequest, SetTapeStateResponse, Tape,
    TapeContent, TapeGroup, TapeState as ProtoTapeState,
};
use tonic::{Request, Response, Status};

use super::paging::paginate;
use super::{blocking, convert, ApiError, DaemonState};
use crate::catalog::{Cursor, TapeRecord, TapeState, MAX_PAGE};
use crate::library::TapeLibrary;
use crate::ops::bit_integrity::{self, Verdict};

/// The `LibraryService` implementation.
#[derive(Debug, Clone)]
pub struct LibraryApi {
    state: Arc<DaemonState>,
}

impl LibraryApi {
    pub fn new(state: Arc<DaemonState>) -> Self {
        LibraryApi { state }
    }
}

/// The libraries named by a request filter (empty: all), sorted by name.
fn select_libraries(state: &DaemonState, name: &str) -> Result<Vec<Arc<TapeLibrary>>, ApiError> {
    let mut libs: Vec<Arc<TapeLibrary>> = state
        .libraries
        .iter()
        .filter(|l| name.is_empty() || l.name() == name)
        .cloned()
        .collect();
    if libs.is_empty() && !name.is_empty() {
        return Err(ApiError::UnknownLibrary {
            library: name.to_string(),
        });
    }
    libs.sort_by(|a, b| a.name().cmp(b.name()));
    Ok(libs)
}

fn inventory(
    state: &DaemonState,
    req: &GetInventoryRequest,
) -> Result<GetInventoryResponse, ApiError> {
    let mut libraries = Vec::new();
    for lib in select_libraries(state, &req.library)? {
        let inv = if req.refresh {
            lib.refresh_inventory()?
        } else {
            lib.inventory()
        };
        let identity = lib.changer_identity();
        let drives = lib.drives();
        let updated = state
            .catalog
            .get_library(lib.name())?
            .map(|r| convert::offset_timestamp(r.updated));
        let mut out = LibraryInventory {
            name: lib.name().to_string(),
            vendor: identity.vendor,
            product: identity.product,
            serial: identity.serial,
            online: true,
            transports: inv
                .transports
                .iter()
                .map(|e| convert::element(ElementType::MediumTransport, e))
                .collect(),
            slots: inv
                .storage
                .iter()
                .map(|e| convert::element(ElementType::Storage, e))
                .collect(),
            import_export: inv
                .import_export
                .iter()
                .map(|ie| {
                    let mut e = convert::element(ElementType::ImportExport, &ie.state);
                    e.imported_by_operator = ie.imported;
                    e
                })
                .collect(),
            drives: inv
                .drives
                .iter()
                .map(|dte| {
                    let mut e = convert::element(ElementType::DataTransfer, &dte.state);
                    e.drive_serial = dte.serial.clone().unwrap_or_default();
                    e.drive_name = drives
                        .iter()
                        .find(|d| d.element == dte.state.address)
                        .map(|d| d.name.clone())
                        .unwrap_or_default();
                    e
                })
                .collect(),
            updated,
        };
        for list in [
            &mut out.transports,
            &mut out.slots,
            &mut out.import_export,
            &mut out.drives,
        ] {
            list.sort_by_key(|e| e.address);
        }
        libraries.push(out);
    }
    Ok(GetInventoryResponse { libraries })
}

fn list_drives(state: &DaemonState, library: &str) -> Result<ListDrivesResponse, ApiError> {
    let mut drives = Vec::new();
    for lib in select_libraries(state, library)? {
        lib.refresh_idle_tape_alerts();
        let mut these: Vec<_> = lib
            .drives()
            .into_iter()
            .map(|d| convert::drive(lib.name(), d))
            .collect();
        these.sort_by_key(|d| d.element_address);
        drives.extend(these);
    }
    Ok(ListDrivesResponse { drives })
}

/// The library holding drive `name`: drive names are unique per library, and the first
/// library (by name) wins when two libraries use the same name.
fn find_drive(state: &DaemonState, name: &str) -> Result<Arc<TapeLibrary>, ApiError> {
    select_libraries(state, "")?
        .into_iter()
        .find(|l| l.drive(name).is_ok())
        .ok_or_else(|| ApiError::UnknownDrive {
            drive: name.to_string(),
        })
}

fn set_drive_state(
    state: &DaemonState,
    req: &SetDriveStateRequest,
) -> Result<SetDriveStateResponse, ApiError> {
    let wanted = DriveState::try_from(req.state).unwrap_or(DriveState::Unspecified);
    let lib = find_drive(state, &req.drive)?;
    match wanted {
        DriveState::Up => lib.set_drive_up(&req.drive)?,
        DriveState::Down => {
            let reason = if req.reason.trim().is_empty() {
                "set DOWN by an operator"
            } else {
                req.reason.trim()
            };
            lib.set_drive_down(&req.drive, reason)?;
        }
        DriveState::Unspecified => {
            return Err(ApiError::InvalidParameter {
                parameter: "state",
                reason: format!("{} is not UP or DOWN", req.state),
            })
        }
    }
    let info = lib.drive(&req.drive)?;
    Ok(SetDriveStateResponse {
        drive: Some(convert::drive(lib.name(), info)),
    })
}

/// Every tape of the catalog in barcode order.
fn all_tapes(state: &DaemonState) -> Result<Vec<TapeRecord>, ApiError> {
    let mut tapes = Vec::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        let page = state.catalog.list_tapes(cursor.as_ref(), MAX_PAGE)?;
        tapes.extend(page.items);
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(tapes),
        }
    }
}

fn object_count(state: &DaemonState, barcode: &str) -> Result<u64, ApiError> {
    Ok(state.catalog.instances_on_tape(barcode)?.len() as u64)
}

/// An enum filter field: 0 (UNSPECIFIED) matches everything, unknown values are refused.
fn enum_filter<E: TryFrom<i32>>(
    parameter: &'static str,
    value: i32,
) -> Result<Option<E>, ApiError> {
    if value == 0 {
        return Ok(None);
    }
    E::try_from(value)
        .map(Some)
        .map_err(|_| ApiError::InvalidParameter {
            parameter,
            reason: format!("unknown value {value}"),
        })
}

fn list_tapes(state: &DaemonState, req: &ListTapesRequest) -> Result<ListTapesResponse, ApiError> {
    let want_state: Option<ProtoTapeState> = enum_filter("state", req.state)?;
    let want_location: Option<LocationKind> = enum_filter("location", req.location)?;
    let want_content: Option<TapeContent> = enum_filter("content", req.content)?;
    let matching: Vec<TapeRecord> = all_tapes(state)?
        .into_iter()
        .filter(|t| req.group.is_empty() || t.group.as_deref() == Some(req.group.as_str()))
        .filter(|t| req.library.is_empty() || t.library.as_deref() == Some(req.library.as_str()))
        .filter(|t| want_state.is_none_or(|s| convert::tape_state(t.state) == s))
        .filter(|t| want_location.is_none_or(|l| convert::location_kind(t.location) == l))
        .filter(|t| want_content.is_none_or(|c| convert::tape_content(t) == c))
        .collect();
    let (page, info) = paginate(matching, req.page.as_ref());
    let tapes = page
        .into_iter()
        .map(|t| {
            let count = object_count(state, &t.barcode)?;
            Ok(convert::tape(t, &state.libraries, count))
        })
        .collect::<Result<Vec<Tape>, ApiError>>()?;
    Ok(ListTapesResponse {
        tapes,
        page: Some(info),
    })
}

fn get_tape(state: &DaemonState, barcode: &str) -> Result<GetTapeResponse, ApiError> {
    let barcode = barcode.trim();
    let Some(t) = state.catalog.get_tape(barcode)? else {
        return Err(ApiError::UnknownTape {
            barcode: barcode.to_string(),
        });
    };
    let count = object_count(state, &t.barcode)?;
    Ok(GetTapeResponse {
        tape: Some(convert::tape(t, &state.libraries, count)),
    })
}

/// Operators set ACTIVE, DISABLED, BROKEN and FULL; REPACKING and EXPORTED belong to the
/// requests that do the work. The catalog checks the transition and the reason.
fn set_tape_state(
    state: &DaemonState,
    req: &SetTapeStateRequest,
    actor: &str,
) -> Result<SetTapeStateResponse, ApiError> {
    use tapelib_proto::v1::TapeState as P;
    let to = match P::try_from(req.state) {
        Ok(P::Active) => TapeState::Active,
        Ok(P::Disabled) => TapeState::Disabled,
        Ok(P::Broken) => TapeState::Broken,
        Ok(P::Full) => TapeState::Full,
        Ok(P::Repacking) | Ok(P::Exported) => {
            return Err(ApiError::InvalidParameter {
                parameter: "state",
                reason: "REPACKING and EXPORTED are set by repack and export requests".into(),
            })
        }
        Ok(P::Unspecified) | Err(_) => {
            return Err(ApiError::InvalidParameter {
                parameter: "state",
                reason: "a tape state is required".into(),
            })
        }
    };
    let barcode = req.barcode.trim();
    let reason = Some(req.reason.as_str()).filter(|r| !r.trim().is_empty());
    let t = state.catalog.set_tape_state(barcode, to, reason, actor)?;
    let count = object_count(state, &t.barcode)?;
    Ok(SetTapeStateResponse {
        tape: Some(convert::tape(t, &state.libraries, count)),
    })
}

fn create_group(
    state: &DaemonState,
    req: &CreateGroupRequest,
    actor: &str,
) -> Result<CreateGroupResponse, ApiError> {
    let group = crate::catalog::TapeGroup {
        name: req.name.trim().to_string(),
        description: req.description.clone(),
        generation: None,
        created: time::OffsetDateTime::now_utc(),
    };
    state.catalog.create_group(&group, actor)?;
    let created = list_groups(
        state,
        &ListGroupsRequest {
            page: Some(tapelib_proto::v1::PageRequest {
                page: 1,
                size: MAX_PAGE as u32,
            }),
        },
    )?
    .groups
    .into_iter()
    .find(|g| g.name == group.name);
    Ok(CreateGroupResponse { group: created })
}

fn list_groups(
    state: &DaemonState,
    req: &ListGroupsRequest,
) -> Result<ListGroupsResponse, ApiError> {
    let groups = state.catalog.list_groups()?;
    let (page, info) = paginate(groups, req.page.as_ref());
    let tapes = if page.is_empty() {
        Vec::new()
    } else {
        all_tapes(state)?
    };
    let mut out = Vec::with_capacity(page.len());
    for g in page {
        let members: Vec<&TapeRecord> = tapes
            .iter()
            .filter(|t| t.group.as_deref() == Some(g.name.as_str()))
            .collect();
        let mut objects = 0u64;
        for t in &members {
            objects += object_count(state, &t.barcode)?;
        }
        out.push(TapeGroup {
            tape_count: u32::try_from(members.len()).unwrap_or(u32::MAX),
            capacity_bytes: members.iter().map(|t| t.capacity_bytes).sum(),
            used_bytes: members.iter().map(|t| t.used_bytes).sum(),
            object_count: objects,
            created: Some(convert::offset_timestamp(g.created)),
            name: g.name,
            description: g.description,
        });
    }
    Ok(ListGroupsResponse {
        groups: out,
        page: Some(info),
    })
}

/// The report the tape's last whole-tape verify kept, as stored and parsed.
fn bit_integrity_report(
    state: &DaemonState,
    barcode: &str,
) -> Result<GetBitIntegrityReportResponse, ApiError> {
    let barcode = barcode.trim();
    if state.catalog.get_tape(barcode)?.is_none() {
        return Err(ApiError::UnknownTape {
            barcode: barcode.to_string(),
        });
    }
    let (tsv, modified) = bit_integrity::load_with_time(&state.data_dir(), barcode)
        .map_err(|e| ApiError::Internal(format!("bit-integrity report of {barcode}: {e}")))?
        .ok_or_else(|| ApiError::NoBitIntegrityReport {
            barcode: barcode.to_string(),
        })?;
    let parsed = bit_integrity::parse_tsv(&tsv)
        .map_err(|e| ApiError::Internal(format!("bit-integrity report of {barcode}: {e}")))?;
    let success = parsed.iter().all(|r| r.verdict == Verdict::Valid);
    let rows = parsed
        .into_iter()
        .map(|r| {
            let (collection, name) = match r.object.split_once('/') {
                Some((c, n)) => (c.to_string(), n.to_string()),
                None => (String::new(), r.object.clone()),
            };
            BitIntegrityRow {
                checked: Some(convert::offset_timestamp(r.checked)),
                barcode: r.tape,
                collection,
                name,
                instance: r.instance,
                file: r.file,
                result: match r.verdict {
                    Verdict::Valid => BitIntegrityResult::Valid,
                    Verdict::Mismatch => BitIntegrityResult::Mismatch,
                    Verdict::Unreadable => BitIntegrityResult::Unreadable,
                } as i32,
                expected_crc32: format!("{:08x}", r.expected_crc32),
                computed_crc32: r
                    .computed_crc32
                    .map(|c| format!("{c:08x}"))
                    .unwrap_or_default(),
                details: r.details,
            }
        })
        .collect();
    Ok(GetBitIntegrityReportResponse {
        barcode: barcode.to_string(),
        completed: Some(convert::timestamp(modified)),
        success,
        tsv,
        rows,
    })
}

fn list_servers(state: &DaemonState, req: &ListServersRequest) -> ListServersResponse {
    // BTreeMap iteration: already sorted by name.
    let servers: Vec<Server> = state
        .config
        .servers
        .iter()
        .map(|(name, s)| Server {
            name: name.clone(),
            root: s.root.display().to_string(),
            description: String::new(),
            source: true,
            destination: true,
            online: s.root.is_dir(),
        })
        .collect();
    let (servers, info) = paginate(servers, req.page.as_ref());
    ListServersResponse {
        servers,
        page: Some(info),
    }
}

#[tonic::async_trait]
impl LibraryService for LibraryApi {
    async fn list_alert_log(
        &self,
        request: Request<tapelib_proto::v1::ListAlertLogRequest>,
    ) -> Result<Response<tapelib_proto::v1::ListAlertLogResponse>, Status> {
        let state = self.state.clone();
        let req = request.into_inner();
        Ok(Response::new(
            blocking(move || super::alerts::list(&state, &req)).await?,
        ))
    }

    async fn get_inventory(
        &self,
        request: Request<GetInventoryRequest>,
    ) -> Result<Response<GetInventoryResponse>, Status> {
        let state = self.state.clone();
        let req = request.into_inner();
        Ok(Response::new(
            blocking(move || inventory(&state, &req)).await?,
        ))
    }

    async fn list_drives(
        &self,
        request: Request<ListDrivesRequest>,
    ) -> Result<Response<ListDrivesResponse>, Status> {
        let state = self.state.clone();
        let req = request.into_inner();
        Ok(Response::new(
            blocking(move || list_drives(&state, &req.library)).await?,
        ))
    }

    async fn set_drive_state(
        &self,
        request: Request<SetDriveStateRequest>,
    ) -> Result<Response<SetDriveStateResponse>, Status> {
        let state = self.state.clone();
        let req = request.into_inner();
        Ok(Response::new(
            blocking(move || set_drive_state(&state, &req)).await?,
        ))
    }

    async fn list_tapes(
        &self,
        request: Request<ListTapesRequest>,
    ) -> Result<Response<ListTapesResponse>, Status> {
        let state = self.state.clone();
        let req = request.into_inner();
        Ok(Response::new(
            blocking(move || list_tapes(&state, &req)).await?,
        ))
    }

    async fn get_tape(
        &self,
        request: Request<GetTapeRequest>,
    ) -> Result<Response<GetTapeResponse>, Status> {
        let state = self.state.clone();
        let req = request.into_inner();
        Ok(Response::new(
            blocking(move || get_tape(&state, &req.barcode)).await?,
        ))
    }

    async fn set_tape_state(
        &self,
        request: Request<SetTapeStateRequest>,
    ) -> Result<Response<SetTapeStateResponse>, Status> {
        let actor = super::caller(&request);
        let state = self.state.clone();
        let req = request.into_inner();
        Ok(Response::new(
            blocking(move || set_tape_state(&state, &req, &actor)).await?,
        ))
    }

    async fn list_groups(
        &self,
        request: Request<ListGroupsRequest>,
    ) -> Result<Response<ListGroupsResponse>, Status> {
        let state = self.state.clone();
        let req = request.into_inner();
        Ok(Response::new(
            blocking(move || list_groups(&state, &req)).await?,
        ))
    }

    async fn create_group(
        &self,
        request: Request<CreateGroupRequest>,
    ) -> Result<Response<CreateGroupResponse>, Status> {
        let actor = super::caller(&request);
        let state = self.state.clone();
        let req = request.into_inner();
        Ok(Response::new(
            blocking(move || create_group(&state, &req, &actor)).await?,
        ))
    }

    async fn get_bit_integrity_report(
        &self,
        request: Request<GetBitIntegrityReportRequest>,
    ) -> Result<Response<GetBitIntegrityReportResponse>, Status> {
        let state = self.state.clone();
        let req = request.into_inner();
        Ok(Response::new(
            blocking(move || bit_integrity_report(&state, &req.barcode)).await?,
        ))
    }

    async fn list_servers(
        &self,
        request: Request<ListServersRequest>,
    ) -> Result<Response<ListServersResponse>, Status> {
        let state = self.state.clone();
        let req = request.into_inner();
        Ok(Response::new(
            blocking(move || Ok(list_servers(&state, &req))).await?,
        ))
    }
}
