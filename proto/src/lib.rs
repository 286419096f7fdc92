//! tapelib gRPC API (package `tapelib.v1`): the generated messages, clients
//! and servers, plus the DIVA status codes and the DIVA REST spellings the
//! daemon, `tapectl` and the REST facade share.

/// Generated messages, enums, clients and servers of package `tapelib.v1`.
#[allow(
    clippy::all,
    clippy::pedantic,
    missing_docs,
    rustdoc::bare_urls,
    rustdoc::invalid_html_tags
)]
pub mod v1 {
    tonic::include_proto!("tapelib.v1");
}

pub mod diva;
pub mod diva_names;
pub mod partial_restore;
pub mod status;

// The versions the generated code was built against, so users need not
// repeat (and possibly mismatch) them.
pub use prost;
pub use prost_types;
pub use tonic;

pub use diva::{DivaCodeError, DivaCodeInfo, DIVA_CODES};
pub use status::{diva_status, StatusDetailsError};

/// The API package name served, as reported by `SystemService.GetVersion`.
pub const API_PACKAGE: &str = "tapelib.v1";

/// Encoded `FileDescriptorSet` of the API, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("tapelib_v1_descriptor");
