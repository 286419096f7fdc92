//! Who made an API call: the actor recorded on requests and in the audit log.

/// The actor to record for a call: the user the enforcement layer admitted. Calls that
/// reach a handler without one (only possible when a service is served without the layer,
/// as in-process tests do) are attributed to "anonymous".
pub fn caller<T>(req: &tonic::Request<T>) -> String {
    super::authz::caller_of(req)
        .map(|c| c.username)
        .unwrap_or_else(|_| "anonymous".to_string())
}
