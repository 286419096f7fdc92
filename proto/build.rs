//! Compiles `proto/tapelib/v1/*.proto` with the protoc binary shipped by
//! `protoc-bin-vendored`, so building needs no system protoc.

use std::path::PathBuf;

const PROTO_ROOT: &str = "proto";
const PROTOS: &[&str] = &[
    "proto/tapelib/v1/common.proto",
    "proto/tapelib/v1/library.proto",
    "proto/tapelib/v1/request.proto",
    "proto/tapelib/v1/object.proto",
    "proto/tapelib/v1/system.proto",
    "proto/tapelib/v1/auth.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // prost-build reads PROTOC; the build script is single-threaded, so
    // setting the variable here races with nothing.
    std::env::set_var("PROTOC", &protoc);
    let well_known = protoc_bin_vendored::include_path()?;

    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_build::configure()
        .file_descriptor_set_path(out_dir.join("tapelib_v1_descriptor.bin"))
        .compile_protos(PROTOS, &[PathBuf::from(PROTO_ROOT), well_known])?;
    println!("cargo:rerun-if-changed={PROTO_ROOT}");
    Ok(())
}
