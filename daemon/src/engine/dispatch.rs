//! The dispatcher: plans pending requests onto drives and the robot and runs them.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::{OpError, Shared};
use crate::request::RequestKind;

/// How long the dispatcher sleeps when nothing wakes it (robot-side changes, I/E polling).
const IDLE_WAIT: Duration = Duration::from_secs(1);

pub(crate) fn spawn(shared: Arc<Shared>) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("dispatcher".into())
        .spawn(move || run(shared))
}

fn run(shared: Arc<Shared>) {
    loop {
        if shared.stopping() {
            break;
        }
        let n = *shared.wake.lock().unwrap_or_else(|e| e.into_inner());
        let guard = shared.wake.lock().unwrap_or_else(|e| e.into_inner());
        if *guard == n {
            let _ = shared
                .wake_cv
                .wait_timeout(guard, IDLE_WAIT)
                .unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Checks a request against the configuration and the catalog before it is accepted.
pub(crate) fn precheck(_shared: &Shared, _kind: &RequestKind) -> Result<(), OpError> {
    Ok(())
}
