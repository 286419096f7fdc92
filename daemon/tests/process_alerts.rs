//! The alert history through a real tapelibd process against the simulator process: a
//! TapeAlert flag injected in the simulator is recorded with its time when the daemon
//! polls, is still there (once) after a restart, and its clearing is recorded; changer
//! element exceptions the same way. The REST facade's alert logs read the same history.

mod process_common;

use process_common::{sim_config, Devices, Lab};
use serde_json::{json, Value};
use tapelib_proto::v1::{
    AlertEvent, AlertSource, GetInventoryRequest, ListAlertLogRequest, ListDrivesRequest,
    TapeAlertSeverity,
};

async fn poll_drives(lab: &Lab) {
    lab.library()
        .list_drives(ListDrivesRequest::default())
        .await
        .expect("ListDrives");
}

async fn refresh_inventory(lab: &Lab) {
    lab.library()
        .get_inventory(GetInventoryRequest {
            library: String::new(),
            refresh: true,
        })
        .await
        .expect("GetInventory");
}

async fn history(lab: &Lab, source: AlertSource) -> Vec<AlertEvent> {
    lab.library()
        .list_alert_log(ListAlertLogRequest {
            source: source as i32,
            ..Default::default()
        })
        .await
        .expect("ListAlertLog")
        .into_inner()
        .events
}

fn summary(events: &[AlertEvent]) -> Vec<(String, u32, bool)> {
    events
        .iter()
        .map(|e| (e.drive.clone(), e.code, e.raised))
        .collect()
}

fn ctl(lab: &Lab, args: &[&str]) {
    let out = lab.sim.ctl(args).expect("tapelib-sim ctl runs");
    assert!(
        out.status.success(),
        "ctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Serves the facade in this process over the daemon's gRPC port; returns its base URL.
async fn facade(lab: &Lab) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let app = tapelib_rest::router(lab.channel());
    tokio::spawn(tapelib_rest::serve(
        app,
        listener,
        tapelib_rest::Transport::Plain {
            allow_remote: false,
        },
        std::future::pending(),
    ));
    format!("http://{addr}")
}

async fn rest_login(lab: &Lab, base: &str) -> String {
    let password = std::fs::read_to_string(lab.dir.path().join("initial-sysadmin-password"))
        .expect("password file");
    let body: Value = reqwest::Client::new()
        .post(format!("{base}/dataservice/users/login"))
        .json(&json!({"username": "admin", "password": password.trim()}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("JSON");
    body["token"].as_str().expect("token").to_string()
}

async fn rest_get(base: &str, token: &str, path: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .header("Authorization", token)
        .send()
        .await
        .expect("GET");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tape_alerts_are_recorded_kept_across_restarts_and_cleared() {
    // Drive 1 asks for cleaning (TapeAlert 20) from the start.
    let extra = "\n[[fault]]\nkind = \"cleaning-required\"\ndrive = 1\n";
    let mut lab = Lab::new(&sim_config(2, 1, extra), 2, Devices::Socket);
    lab.start().await;
    let before = time::OffsetDateTime::now_utc() - time::Duration::seconds(60);
    poll_drives(&lab).await;
    let events = history(&lab, AlertSource::TapeAlert).await;
    assert_eq!(summary(&events), vec![("drive1".into(), 20, true)]);
    let raised = &events[0];
    assert_eq!(raised.name, "Cleaning required");
    assert_eq!(raised.library, "lib0");
    assert_eq!(raised.severity, TapeAlertSeverity::Critical as i32);
    let at = raised.time.expect("time");
    assert!(at.seconds >= before.unix_timestamp(), "{raised:?}");
    // Polling again while the flag stays set records nothing new.
    poll_drives(&lab).await;
    assert_eq!(history(&lab, AlertSource::TapeAlert).await.len(), 1);

    // The REST facade reads the same history, with the guides' paging and date filters.
    let base = facade(&lab).await;
    let token = rest_login(&lab, &base).await;
    let path = "/manager/analytics/drives/alerts/logs?page=1&size=10";
    let (status, body) = rest_get(&base, &token, path).await;
    assert_eq!(status, 200, "{body}");
    let alert = &body["alerts"][0];
    assert_eq!(alert["driveName"], "drive1", "{body}");
    assert_eq!(alert["alertNumber"], 20, "{body}");
    assert_eq!(alert["state"], "RAISED", "{body}");
    assert_eq!(alert["severity"], "CRITICAL", "{body}");
    assert!(
        alert["date"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    assert_eq!(body["page"]["totalElements"], 1, "{body}");
    let later = "/manager/analytics/drives/alerts/logs?sinceDate=2999-01-01T00:00:00Z";
    let (status, body) = rest_get(&base, &token, later).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["alerts"].as_array().map(Vec::len), Some(0), "{body}");
    let other = "/manager/analytics/drives/alerts/logs?driveName=drive0";
    let (_, body) = rest_get(&base, &token, other).await;
    assert_eq!(body["alerts"].as_array().map(Vec::len), Some(0), "{body}");
    let bad = "/manager/analytics/drives/alerts/logs?sinceDate=yesterday";
    let (status, body) = rest_get(&base, &token, bad).await;
    assert_eq!(status, 400, "{body}");
    let backwards = "/manager/analytics/drives/alerts/logs?sinceDate=2020-01-02T00:00:00Z&untilDate=2020-01-01T00:00:00Z";
    let (status, body) = rest_get(&base, &token, backwards).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], 1008, "{body}");

    // After a restart the history is still there, the flag still set is not raised again
    // and the drive keeps the time it was first seen.
    assert!(lab.terminate().success());
    lab.start().await;
    poll_drives(&lab).await;
    let events = history(&lab, AlertSource::TapeAlert).await;
    assert_eq!(summary(&events), vec![("drive1".into(), 20, true)]);
    assert_eq!(events[0].time, Some(at));
    let drives = lab
        .library()
        .list_drives(ListDrivesRequest::default())
        .await
        .expect("ListDrives")
        .into_inner()
        .drives;
    assert_eq!(drives[1].tape_alerts[0].raised, Some(at));

    // Cleared in the library: the next poll records it, newest first.
    ctl(&lab, &["fault", "clear"]);
    poll_drives(&lab).await;
    let events = history(&lab, AlertSource::TapeAlert).await;
    assert_eq!(
        summary(&events),
        vec![("drive1".into(), 20, false), ("drive1".into(), 20, true)]
    );
    assert!(events[0].seq > events[1].seq);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn element_exceptions_are_recorded_and_cleared() {
    let mut lab = Lab::new(&sim_config(2, 1, ""), 2, Devices::Socket);
    lab.start().await;
    refresh_inventory(&lab).await;
    assert!(history(&lab, AlertSource::ElementException)
        .await
        .is_empty());

    ctl(&lab, &["fault", "add", "drive-failure", "--drive", "0"]);
    refresh_inventory(&lab).await;
    let events = history(&lab, AlertSource::ElementException).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert!(e.raised);
    assert_eq!(e.drive, "drive0");
    assert_eq!(e.code, 0x4400, "{e:?}");
    assert_eq!(e.severity, TapeAlertSeverity::Critical as i32);
    assert!(e.name.contains("44/00"), "{e:?}");
    // Drive alerts and library alerts are kept apart.
    assert!(history(&lab, AlertSource::TapeAlert).await.is_empty());

    let base = facade(&lab).await;
    let token = rest_login(&lab, &base).await;
    let (status, body) = rest_get(
        &base,
        &token,
        "/manager/analytics/libraries/alerts/logs?libraryName=lib0",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["alerts"][0]["asc"], 0x44, "{body}");
    assert_eq!(body["alerts"][0]["state"], "RAISED", "{body}");
    let (status, body) = rest_get(
        &base,
        &token,
        "/manager/analytics/libraries/alerts/logs?libraryName=nope",
    )
    .await;
    assert_eq!(status, 404, "{body}");

    // The exception is remembered across a restart and not raised again.
    assert!(lab.terminate().success());
    lab.start().await;
    refresh_inventory(&lab).await;
    assert_eq!(history(&lab, AlertSource::ElementException).await.len(), 1);

    ctl(&lab, &["fault", "clear"]);
    refresh_inventory(&lab).await;
    let events = history(&lab, AlertSource::ElementException).await;
    let states: Vec<bool> = events.iter().map(|e| e.raised).collect();
    assert_eq!(states, vec![false, true], "{events:?}");
}
