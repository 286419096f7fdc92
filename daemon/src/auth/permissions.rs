//! Who may call what: one table from gRPC method to the least role allowed to call it,
//! following the DIVA guides' "Roles" section (user: every query, log in/out, own password
//! and profile; operator: + archive, restore, partial restore, copy; advoperator: + change
//! priority, insert, eject, repack, export, import; admin: + delete and every other
//! request; sysadmin: + user management). A method missing from the table is refused.

use tapelib_proto::v1::Role;

/// What a method needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without a token.
    Public,
    /// A valid token of a user with at least this role.
    Role(Role),
}

use Access::{Public, Role as R};

/// `(service, method, access)` for every RPC of tapelib.v1.
pub const METHODS: &[(&str, &str, Access)] = &[
    ("SystemService", "GetVersion", Public),
    ("SystemService", "Health", Public),
    // Not a DIVA endpoint; it shows who logged in from where, so not every user's to read.
    ("SystemService", "ListAuditLog", R(Role::Admin)),
    ("AuthService", "Login", Public),
    ("AuthService", "Logout", R(Role::User)),
    ("AuthService", "ChangePassword", R(Role::User)),
    ("AuthService", "GetProfile", R(Role::User)),
    ("AuthService", "UpdateProfile", R(Role::User)),
    ("AuthService", "ListUsers", R(Role::User)),
    ("AuthService", "ListRoles", R(Role::User)),
    ("AuthService", "CreateUser", R(Role::Sysadmin)),
    ("AuthService", "DeleteUser", R(Role::Sysadmin)),
    ("LibraryService", "GetInventory", R(Role::User)),
    ("LibraryService", "ListDrives", R(Role::User)),
    ("LibraryService", "ListAlertLog", R(Role::User)),
    ("LibraryService", "ListTapes", R(Role::User)),
    ("LibraryService", "GetTape", R(Role::User)),
    ("LibraryService", "ListGroups", R(Role::User)),
    ("LibraryService", "ListServers", R(Role::User)),
    ("LibraryService", "GetBitIntegrityReport", R(Role::User)),
    // Taking a drive or a tape out of service is tape handling, like insert and eject.
    ("LibraryService", "SetDriveState", R(Role::Advoperator)),
    ("LibraryService", "SetTapeState", R(Role::Advoperator)),
    ("LibraryService", "CreateGroup", R(Role::Admin)),
    ("ObjectService", "GetObjectInfo", R(Role::User)),
    ("ObjectService", "ListObjects", R(Role::User)),
    ("RequestService", "GetRequest", R(Role::User)),
    ("RequestService", "ListRequests", R(Role::User)),
    ("RequestService", "WatchRequest", R(Role::User)),
    ("RequestService", "SubmitArchive", R(Role::Operator)),
    ("RequestService", "SubmitRestore", R(Role::Operator)),
    ("RequestService", "SubmitPartialRestore", R(Role::Operator)),
    ("RequestService", "SubmitCopy", R(Role::Operator)),
    ("RequestService", "ChangePriority", R(Role::Advoperator)),
    ("RequestService", "SubmitInsert", R(Role::Advoperator)),
    ("RequestService", "SubmitEject", R(Role::Advoperator)),
    ("RequestService", "SubmitRepack", R(Role::Advoperator)),
    ("RequestService", "SubmitExport", R(Role::Advoperator)),
    ("RequestService", "SubmitImport", R(Role::Advoperator)),
    ("RequestService", "SubmitDelete", R(Role::Admin)),
    // Not in the guides' list: "all other requests require the administrator role".
    ("RequestService", "CancelRequest", R(Role::Admin)),
    ("RequestService", "SubmitVerify", R(Role::Admin)),
];

/// The access a gRPC path (`/tapelib.v1.Service/Method`) needs; `None` for unknown paths.
pub fn access_for_path(path: &str) -> Option<Access> {
    let rest = path.strip_prefix("/tapelib.v1.")?;
    let (service, method) = rest.split_once('/')?;
    METHODS
        .iter()
        .find(|(s, m, _)| *s == service && *m == method)
        .map(|(_, _, a)| *a)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROTOS: [&str; 5] = [
        include_str!("../../../proto/proto/tapelib/v1/auth.proto"),
        include_str!("../../../proto/proto/tapelib/v1/library.proto"),
        include_str!("../../../proto/proto/tapelib/v1/object.proto"),
        include_str!("../../../proto/proto/tapelib/v1/request.proto"),
        include_str!("../../../proto/proto/tapelib/v1/system.proto"),
    ];

    /// Every `rpc` of every service in the proto files, as (service, method).
    fn proto_methods() -> Vec<(String, String)> {
        let mut out = Vec::new();
        for text in PROTOS {
            let mut service = None;
            for line in text.lines().map(str::trim) {
                if let Some(rest) = line.strip_prefix("service ") {
                    service = rest.split_whitespace().next().map(str::to_string);
                } else if let Some(rest) = line.strip_prefix("rpc ") {
                    let name = rest.split('(').next().unwrap_or("").trim().to_string();
                    out.push((service.clone().expect("rpc outside a service"), name));
                }
            }
        }
        out
    }

    #[test]
    fn every_rpc_has_exactly_one_entry_and_no_entry_is_stale() {
        let methods = proto_methods();
        assert!(methods.len() >= 30, "parsed {methods:?}");
        for (s, m) in &methods {
            let n = METHODS
                .iter()
                .filter(|(ts, tm, _)| ts == s && tm == m)
                .count();
            assert_eq!(n, 1, "{s}/{m} has {n} entries");
        }
        for (s, m, _) in METHODS {
            assert!(
                methods.iter().any(|(ps, pm)| ps == s && pm == m),
                "{s}/{m} is not in the protos"
            );
        }
    }

    #[test]
    fn guide_roles() {
        let need = |p: &str| access_for_path(p).expect(p);
        assert_eq!(need("/tapelib.v1.AuthService/Login"), Public);
        assert_eq!(
            need("/tapelib.v1.RequestService/SubmitRestore"),
            R(Role::Operator)
        );
        assert_eq!(
            need("/tapelib.v1.RequestService/SubmitEject"),
            R(Role::Advoperator)
        );
        assert_eq!(
            need("/tapelib.v1.RequestService/SubmitDelete"),
            R(Role::Admin)
        );
        assert_eq!(
            need("/tapelib.v1.AuthService/CreateUser"),
            R(Role::Sysadmin)
        );
        assert_eq!(access_for_path("/tapelib.v1.Nope/Login"), None);
        assert_eq!(access_for_path("/grpc.health.v1.Health/Check"), None);
    }
}
