//! Every route of the facade in one list: path, method, handler and its documentation.
//! The router and the OpenAPI document are both built from this list, so they cannot
//! disagree.

use axum::routing::{delete, get, post, put, MethodRouter};
use serde_json::{json, Value};

use crate::{dataservice as ds, manager as m, AppState};

/// Documentation of one route.
pub struct Doc {
    pub summary: &'static str,
    /// Least role allowed (the daemon enforces it); `None` for public routes.
    pub role: Option<&'static str>,
    /// Query parameters: name, JSON type, required.
    pub query: &'static [(&'static str, &'static str, bool)],
    /// JSON schema of the body, if it takes one.
    pub body: Option<Value>,
}

pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub handler: MethodRouter<AppState>,
    pub doc: Doc,
}

const PAGING: &[(&str, &str, bool)] = &[("page", "integer", false), ("size", "integer", false)];

/// The alert logs' filters.
const ALERT_FILTERS: &[(&str, &str, bool)] = &[
    ("page", "integer", false),
    ("size", "integer", false),
    ("sinceDate", "string", false),
    ("untilDate", "string", false),
    ("libraryName", "string", false),
    ("driveName", "string", false),
];

fn obj(required: &[&str], props: Value) -> Option<Value> {
    Some(json!({"type": "object", "required": required, "properties": props}))
}

fn s() -> Value {
    json!({"type": "string"})
}
fn int() -> Value {
    json!({"type": "integer"})
}
fn strings() -> Value {
    json!({"type": "array", "items": {"type": "string"}})
}

fn r(
    method: &'static str,
    path: &'static str,
    handler: MethodRouter<AppState>,
    summary: &'static str,
    role: Option<&'static str>,
    query: &'static [(&'static str, &'static str, bool)],
    body: Option<Value>,
) -> Route {
    Route {
        method,
        path,
        handler,
        doc: Doc {
            summary,
            role,
            query,
            body,
        },
    }
}

/// All routes, in documentation order.
pub fn all() -> Vec<Route> {
    let u = Some("user");
    vec![
        r(
            "post",
            "/dataservice/users/login",
            post(ds::login),
            "Log in; returns a bearer token",
            None,
            &[],
            obj(
                &["username", "password"],
                json!({"username": s(), "password": s()}),
            ),
        ),
        r(
            "post",
            "/dataservice/users/logout",
            post(ds::logout),
            "Revoke the calling token",
            u,
            &[],
            None,
        ),
        r(
            "post",
            "/dataservice/users",
            post(ds::create_user),
            "Create a user",
            Some("sysadmin"),
            &[],
            obj(
                &["username", "password", "role"],
                json!({"username": s(), "password": s(),
              "role": {"type": "string", "enum": ["user", "operator", "advoperator", "admin", "sysadmin"]},
              "emailAddress": s(), "sessionTimeout": int()}),
            ),
        ),
        r(
            "post",
            "/dataservice/register",
            post(ds::create_user),
            "Create a user (alias of POST /users)",
            Some("sysadmin"),
            &[],
            obj(
                &["username", "password", "role"],
                json!({"username": s(), "password": s(),
              "role": {"type": "string", "enum": ["user", "operator", "advoperator", "admin", "sysadmin"]},
              "emailAddress": s(), "sessionTimeout": int()}),
            ),
        ),
        r(
            "get",
            "/dataservice/users",
            get(ds::list_users),
            "List users",
            u,
            PAGING,
            None,
        ),
        r(
            "delete",
            "/dataservice/users",
            delete(ds::delete_user),
            "Delete a user",
            Some("sysadmin"),
            &[("username", "string", true)],
            None,
        ),
        r(
            "get",
            "/dataservice/roles",
            get(ds::roles),
            "List roles",
            u,
            &[],
            None,
        ),
        r(
            "get",
            "/dataservice/profile",
            get(ds::get_profile),
            "The caller's profile",
            u,
            &[],
            None,
        ),
        r(
            "put",
            "/dataservice/profile",
            put(ds::put_profile),
            "Update the caller's profile",
            u,
            &[],
            obj(&[], json!({"emailAddress": s(), "sessionTimeout": int()})),
        ),
        r(
            "put",
            "/dataservice/users/{userName}/password",
            put(ds::change_password),
            "Change a password",
            u,
            &[],
            obj(
                &["newPassword"],
                json!({"oldPassword": s(), "newPassword": s()}),
            ),
        ),
        r(
            "get",
            "/manager/versions",
            get(m::versions),
            "Versions",
            u,
            &[],
            None,
        ),
        r(
            "get",
            "/manager/actors",
            get(m::actors),
            "Actors (data movers)",
            u,
            PAGING,
            None,
        ),
        r(
            "get",
            "/manager/actors/{name}",
            get(m::actor),
            "One actor",
            u,
            &[],
            None,
        ),
        r(
            "get",
            "/manager/arrays",
            get(m::arrays),
            "Disk arrays",
            u,
            PAGING,
            None,
        ),
        r(
            "get",
            "/manager/groups",
            get(m::groups),
            "Tape groups",
            u,
            PAGING,
            None,
        ),
        r(
            "get",
            "/manager/servers",
            get(m::servers),
            "Source and destination servers",
            u,
            PAGING,
            None,
        ),
        r(
            "get",
            "/manager/tapes",
            get(m::tapes),
            "Tapes",
            u,
            PAGING,
            None,
        ),
        r(
            "get",
            "/manager/tapes/{barcode}",
            get(m::tape),
            "One tape",
            u,
            &[],
            None,
        ),
        r(
            "get",
            "/manager/drives",
            get(m::drives),
            "Drives",
            u,
            PAGING,
            None,
        ),
        r(
            "get",
            "/manager/libraries",
            get(m::libraries),
            "Libraries",
            u,
            PAGING,
            None,
        ),
        r(
            "get",
            "/manager/analytics/drives/alerts/logs",
            get(m::drive_alerts),
            "TapeAlert history of the drives: flags raised and cleared, newest first",
            u,
            ALERT_FILTERS,
            None,
        ),
        r(
            "get",
            "/manager/analytics/libraries/alerts/logs",
            get(m::library_alerts),
            "Element exception history of the libraries, newest first",
            u,
            ALERT_FILTERS,
            None,
        ),
        r(
            "get",
            "/manager/object/info",
            get(m::object_info),
            "One object",
            u,
            &[
                ("objectName", "string", true),
                ("collectionName", "string", true),
            ],
            None,
        ),
        r(
            "get",
            "/manager/objects/list",
            get(m::objects_list),
            "Objects, optionally since a date",
            u,
            &[
                ("page", "integer", false),
                ("size", "integer", false),
                ("sinceDate", "string", false),
                ("collectionName", "string", false),
            ],
            None,
        ),
        r(
            "get",
            "/manager/requests",
            get(m::requests_list),
            "Requests",
            u,
            &[
                ("page", "integer", false),
                ("size", "integer", false),
                ("state", "string", false),
                ("sinceDate", "string", false),
            ],
            None,
        ),
        r(
            "put",
            "/manager/requests",
            put(m::change_priority),
            "Change a request's priority",
            Some("advoperator"),
            &[],
            obj(
                &["requestId", "priority"],
                json!({"requestId": int(), "priority": int()}),
            ),
        ),
        r(
            "get",
            "/manager/requests/{requestId}",
            get(m::request),
            "One request",
            u,
            &[],
            None,
        ),
        r(
            "post",
            "/manager/requests/archive",
            post(m::archive),
            "Archive an object",
            Some("operator"),
            &[],
            obj(
                &[
                    "objectName",
                    "collectionName",
                    "components",
                    "media",
                    "sourceServer",
                ],
                json!({
              "objectName": s(), "collectionName": s(), "components": strings(), "media": s(),
              "sourceServer": s(), "filePathRoot": s(), "priority": int(), "qos": int(),
              "comments": s(), "options": s()}),
            ),
        ),
        r(
            "post",
            "/manager/requests/restore",
            post(m::restore),
            "Restore an object",
            Some("operator"),
            &[],
            obj(
                &["objectName", "collectionName", "destinationServer"],
                json!({
              "objectName": s(), "collectionName": s(), "destinationServer": s(), "filePathRoot": s(),
              "instance": int(), "priority": int(), "qos": int(), "options": s()}),
            ),
        ),
        r(
            "post",
            "/manager/requests/copy",
            post(m::copy),
            "Copy an object to another group",
            Some("operator"),
            &[],
            obj(
                &["objectName", "collectionName", "media"],
                json!({
              "objectName": s(), "collectionName": s(), "media": s(), "instance": int(),
              "priority": int(), "qos": int(), "options": s()}),
            ),
        ),
        r(
            "post",
            "/manager/requests/delete",
            post(m::delete),
            "Delete an object or instance",
            Some("admin"),
            &[],
            obj(
                &["objectName", "collectionName"],
                json!({
              "objectName": s(), "collectionName": s(), "instance": int(), "priority": int(), "options": s()}),
            ),
        ),
        r(
            "post",
            "/manager/requests/cancel",
            post(m::cancel),
            "Cancel a request",
            Some("admin"),
            &[],
            obj(&["requestId"], json!({"requestId": int()})),
        ),
        r(
            "post",
            "/manager/requests/insertTape",
            post(m::insert_tape),
            "Insert tapes from the I/E slots",
            Some("advoperator"),
            &[],
            obj(
                &[],
                json!({"library": s(), "importExportAddresses": {"type": "array", "items": int()},
              "group": s(), "priority": int()}),
            ),
        ),
        r(
            "post",
            "/manager/requests/ejectTape",
            post(m::eject_tape),
            "Eject tapes to the I/E slots",
            Some("advoperator"),
            &[],
            obj(
                &["barcodes"],
                json!({"barcodes": strings(), "comments": s(), "priority": int()}),
            ),
        ),
        r(
            "post",
            "/manager/requests/partialRestore",
            post(m::partial_restore),
            "Restore part of an object: bytes (0), timecodes (5, 6, 11), files/folders (12), DPX frames (13)",
            Some("operator"),
            &[],
            obj(
                &["objectName", "collectionName", "destinationServer", "format", "offsets"],
                json!({
              "objectName": s(), "collectionName": s(), "destinationServer": s(), "filePathRoot": s(),
              "instance": int(), "priority": int(), "qos": int(), "options": s(), "format": int(),
              "offsets": {"type": "array", "items": {"type": "object", "properties": {
                  "sourceFile": s(), "destinationFile": s(),
                  "offsetPairs": {"type": "array", "items": {"type": "object", "properties": {
                      "bytesBegin": int(), "bytesEnd": int(), "timeCodeBegin": s(),
                      "timeCodeEnd": s(), "timeCode": {"type": "boolean"}}}},
                  "fileFolder": {"type": "object", "required": ["name"],
                      "properties": {"name": s(), "option": s()}},
                  "range": {"type": "object", "required": ["begin", "end"],
                      "properties": {"begin": int(), "end": int()}}}}}}),
            ),
        ),
        r(
            "post",
            "/manager/requests/repackTape",
            post(m::repack_tape),
            "Move a tape's live objects to other tapes and reclaim it",
            Some("advoperator"),
            &[],
            obj(
                &["barcode"],
                json!({"barcode": s(), "media": s(), "leaveEmpty": {"type": "boolean"},
                  "priority": int()}),
            ),
        ),
        r(
            "post",
            "/manager/requests/exportTape",
            post(m::export_tape),
            "Export tapes: export documents, eject, and their objects leave the catalog",
            Some("advoperator"),
            &[],
            obj(
                &["barcodes"],
                json!({"barcodes": strings(), "comments": s(), "priority": int()}),
            ),
        ),
        r(
            "post",
            "/manager/requests/importTape",
            post(m::import_tape),
            "Import inserted tapes into a group and register their objects",
            Some("advoperator"),
            &[],
            obj(
                &["barcodes", "media"],
                json!({"barcodes": strings(), "media": s(), "document": s(),
                  "collectionName": s(), "onConflict": {"type": "string",
                  "enum": ["skip", "addInstance", "refuse"]}, "verify": {"type": "boolean"},
                  "priority": int()}),
            ),
        ),
        r(
            "post",
            "/manager/requests/verifyTape",
            post(m::verify_tape),
            "Read a tape, or an object's instances, back and check their CRC-32s",
            Some("admin"),
            &[],
            obj(
                &[],
                json!({"barcode": s(), "objectName": s(), "collectionName": s(),
                  "instance": int(), "priority": int()}),
            ),
        ),
        r(
            "get",
            "/manager/bitIntegrity/{barcode}",
            get(m::bit_integrity),
            "The tape's latest bit-integrity report (from its last verifyTape): TSV with a header line, or JSON rows with Accept: application/json or format=json; headers Bit-Integrity-Report-Completion-Date and Bit-Integrity-Report-Result (SUCCESS or FAILURE)",
            u,
            &[("format", "string", false)],
            None,
        ),
    ]
}

/// The OpenAPI 3 document of `all()`.
pub fn openapi() -> Value {
    let mut paths = serde_json::Map::new();
    for route in all() {
        let mut params: Vec<Value> = route
            .doc
            .query
            .iter()
            .map(|(name, ty, required)| {
                json!({"name": name, "in": "query", "required": required, "schema": {"type": ty}})
            })
            .collect();
        for seg in route.path.split('/') {
            if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                let ty = if name == "requestId" {
                    "integer"
                } else {
                    "string"
                };
                params.push(
                    json!({"name": name, "in": "path", "required": true, "schema": {"type": ty}}),
                );
            }
        }
        let mut op = json!({
            "summary": route.doc.summary,
            "parameters": params,
            "responses": {
                "200": {"description": "Success", "content": {"application/json": {"schema": {}}}},
                "400": {"$ref": "#/components/responses/Error"},
                "403": {"$ref": "#/components/responses/Error"},
                "404": {"$ref": "#/components/responses/Error"},
                "409": {"$ref": "#/components/responses/Error"},
                "413": {"$ref": "#/components/responses/Error"},
                "default": {"$ref": "#/components/responses/Error"},
            },
        });
        if route.method == "post" && route.path.ends_with("/users")
            || route.path.ends_with("/register")
        {
            op["responses"]["201"] =
                json!({"description": "Created", "content": {"application/json": {"schema": {}}}});
        }
        match route.doc.role {
            Some(role) => {
                op["security"] = json!([{"bearer": []}]);
                op["description"] = Value::String(format!("Needs at least the {role} role."));
            }
            None => op["security"] = json!([]),
        }
        if let Some(body) = route.doc.body {
            op["requestBody"] =
                json!({"required": true, "content": {"application/json": {"schema": body}}});
        }
        paths
            .entry(route.path)
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .map(|o| o.insert(route.method.to_string(), op));
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "tapelib DIVA-compatible REST API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Data service (users, roles, profiles) and manager (resources and requests). Errors are JSON with the DIVA status code, name and a message.",
        },
        "paths": paths,
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": {"Error": {"type": "object", "required": ["code", "name", "message"], "properties": {
                "code": {"type": "integer"}, "name": {"type": "string"}, "message": {"type": "string"}}}},
            "responses": {"Error": {"description": "A DIVA error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/rest-openapi.yaml");

    /// docs/rest-openapi.yaml is the document the code builds; regenerate it with
    /// `TAPELIB_UPDATE_OPENAPI=1 cargo test -p tapelib-rest --lib`.
    #[test]
    fn the_document_in_docs_is_current() {
        let doc = openapi();
        if std::env::var_os("TAPELIB_UPDATE_OPENAPI").is_some() {
            let text = serde_yaml::to_string(&doc).expect("yaml");
            std::fs::write(DOC_PATH, text).expect("write docs/rest-openapi.yaml");
        }
        let text = std::fs::read_to_string(DOC_PATH).expect("docs/rest-openapi.yaml");
        let stored: Value = serde_yaml::from_str(&text).expect("valid YAML");
        assert!(
            stored == doc,
            "docs/rest-openapi.yaml is stale; regenerate with TAPELIB_UPDATE_OPENAPI=1"
        );
    }

    #[test]
    fn every_route_is_documented_once_with_its_parameters() {
        let doc = openapi();
        let mut seen = std::collections::HashSet::new();
        for route in all() {
            assert!(
                seen.insert((route.method, route.path)),
                "{} {} twice",
                route.method,
                route.path
            );
            let op = &doc["paths"][route.path][route.method];
            assert!(
                op.is_object(),
                "{} {} undocumented",
                route.method,
                route.path
            );
            for seg in route.path.split('/').filter(|s| s.starts_with('{')) {
                let name = seg.trim_matches(['{', '}']);
                assert!(
                    op["parameters"]
                        .as_array()
                        .expect("params")
                        .iter()
                        .any(|p| p["name"] == name),
                    "{} lacks path parameter {name}",
                    route.path
                );
            }
        }
        let documented: usize = doc["paths"]
            .as_object()
            .expect("paths")
            .values()
            .map(|p| p.as_object().expect("ops").len())
            .sum();
        assert_eq!(documented, seen.len());
    }
}
