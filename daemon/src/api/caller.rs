//! Who made an API call: the actor recorded on requests and in the audit log.

/// The actor to record for a call. Every call is attributed to "grpc" until callers
/// authenticate; then the authenticated user name is returned.
pub fn caller<T>(_req: &tonic::Request<T>) -> String {
    "grpc".to_string()
}
