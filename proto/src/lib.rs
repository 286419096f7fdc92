//! tapelib gRPC API definitions (filled in with the daemon).
