//! The DIVA status code table against the DIVA REST API guides: every code,
//! with its exact name.

use tapelib_proto::diva::{self, DIVA_CODES};
use tapelib_proto::v1::DivaStatusCode;

/// The table of the guides (8.0 and 9.0 agree on numbers and names).
const EXPECTED: &str = "\
1000 DIVA_OK
1001 DIVA_ERR_UNKNOWN
1002 DIVA_ERR_INTERNAL
1003 DIVA_ERR_NO_ARCHIVE_SYSTEM
1004 DIVA_ERR_BROKEN_CONNECTION
1005 DIVA_ERR_DISCONNECTING
1006 DIVA_ERR_ALREADY_CONNECTED
1007 DIVA_ERR_WRONG_VERSION
1008 DIVA_ERR_INVALID_PARAMETER
1009 DIVA_ERR_OBJECT_DOESNT_EXIST
1010 DIVA_ERR_SEVERAL_OBJECTS
1011 DIVA_ERR_NO_SUCH_REQUEST
1012 DIVA_ERR_NOT_CANCELABLE
1013 DIVA_ERR_SYSTEM_IDLE
1014 DIVA_ERR_WRONG_LIST_SIZE
1015 DIVA_ERR_LIST_NOT_INITIALIZED
1016 DIVA_ERR_OBJECT_ALREADY_EXISTS
1017 DIVA_ERR_GROUP_DOESNT_EXIST
1018 DIVA_ERR_SOURCE_OR_DESTINATION_DOESNT_EXIST
1019 DIVA_WARN_NO_MORE_OBJECTS
1020 DIVA_ERR_NOT_CONNECTED
1021 DIVA_ERR_GROUP_ALREADY_EXISTS
1022 DIVA_ERR_GROUP_IN_USE
1023 DIVA_ERR_OBJECT_OFFLINE
1024 DIVA_ERR_TIMEOUT
1025 DIVA_ERR_LAST_INSTANCE
1026 DIVA_ERR_PATH_DESTINATION
1027 DIVA_ERR_INSTANCE_DOESNT_EXIST
1028 DIVA_ERR_INSTANCE_OFFLINE
1029 DIVA_ERR_INSTANCE_MUST_BE_ON_TAPE
1030 DIVA_ERR_NO_INSTANCE_TAPE_EXIST
1031 DIVA_ERR_OBJECT_IN_USE
1032 DIVA_ERR_CANNOT_ACCEPT_MORE_REQUESTS
1033 DIVA_ERR_TAPE_DOESNT_EXIST
1034 DIVA_ERR_INVALID_INSTANCE_TYPE
1035 DIVA_ERR_ACCESS_DENIED
1036 DIVA_ERR_OBJECT_PARTIALLY_DELETED
1037 DIVA_ERR_LICENSE_DOES_NOT_SUPPORT_THIS_FEATURE
1038 DIVA_ERR_COMPONENT_NOT_FOUND
1039 DIVA_ERR_OBJECT_IS_LOCKED
1040 DIVA_ERR_OBJECT_BEING_ARCHIVED
";

fn expected() -> Vec<(i32, String)> {
    EXPECTED
        .lines()
        .map(|line| {
            let (code, name) = line.split_once(' ').expect("code and name");
            (code.parse().expect("number"), name.to_owned())
        })
        .collect()
}

fn ours() -> Vec<(i32, String)> {
    DIVA_CODES
        .iter()
        .map(|row| (row.code, row.name.to_owned()))
        .collect()
}

#[test]
fn table_matches_the_guides_list() {
    assert_eq!(ours(), expected());
    for (code, name) in expected() {
        assert_eq!(diva::name_of(code), Some(name.as_str()));
        assert_eq!(diva::code_of(&name), Some(code));
        let value = DivaStatusCode::from_code(code).expect("in proto enum");
        assert_eq!(value.as_str_name(), name, "proto enum value name");
    }
}

/// Rows "1023\tDIVA_ERR_OBJECT_OFFLINE\tError: Object offline" of a guide's
/// status code table; the per-request tables after it repeat some codes, so
/// only the first occurrence of each code counts.
fn parse_guide(text: &str) -> Vec<(i32, String, String)> {
    let mut rows: Vec<(i32, String, String)> = Vec::new();
    for line in text.lines() {
        let mut fields = line.split('\t');
        let (Some(code), Some(name), Some(description)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let Ok(code) = code.trim().parse::<i32>() else {
            continue;
        };
        if !name.starts_with("DIVA_") || rows.iter().any(|r| r.0 == code) {
            continue;
        }
        rows.push((code, name.trim().to_owned(), description.trim().to_owned()));
    }
    rows
}

/// Checks against the guide texts themselves when the project's reference
/// directory is present (it sits beside the repository, in `shared/`).
#[test]
fn table_matches_the_guide_texts() {
    let explicit = std::env::var_os("TAPELIB_REFERENCE_DIR").map(std::path::PathBuf::from);
    let dir = explicit.clone().unwrap_or_else(|| {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference")
    });
    assert!(
        explicit.is_none() || dir.is_dir(),
        "TAPELIB_REFERENCE_DIR={} is not a directory",
        dir.display()
    );
    if !dir.is_dir() {
        eprintln!(
            "skipping: no DIVA guides at {} (set TAPELIB_REFERENCE_DIR)",
            dir.display()
        );
        return;
    }
    for guide in [
        "diva-9.0-rest-api-guide.txt",
        "diva-core-8.0-rest-api-guide.txt",
    ] {
        let text = std::fs::read_to_string(dir.join(guide))
            .unwrap_or_else(|e| panic!("reading {guide}: {e}"));
        let rows = parse_guide(&text);
        let pairs: Vec<(i32, String)> = rows.iter().map(|r| (r.0, r.1.clone())).collect();
        assert_eq!(pairs, ours(), "{guide}");
        if guide.starts_with("diva-9.0") {
            for (code, _, description) in &rows {
                assert_eq!(
                    diva::description_of(*code),
                    Some(description.as_str()),
                    "{guide} description of {code}"
                );
            }
        }
    }
}
