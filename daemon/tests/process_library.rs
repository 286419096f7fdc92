//! Library state through a real tapelibd process that is stopped and started again on the
//! same data directory: drive UP/DOWN survives SIGKILL and SIGTERM, and TapeAlert flags
//! (cleaning needed) show in ListDrives.

mod process_common;

use process_common::{sim_config, Devices, Lab};
use tapelib_proto::v1::{Drive, DriveState, ListDrivesRequest, SetDriveStateRequest};

async fn drives(lab: &Lab) -> Vec<Drive> {
    lab.library()
        .list_drives(ListDrivesRequest::default())
        .await
        .expect("ListDrives")
        .into_inner()
        .drives
}

async fn set_state(lab: &Lab, drive: &str, state: DriveState, reason: &str) {
    lab.library()
        .set_drive_state(SetDriveStateRequest {
            drive: drive.into(),
            state: state as i32,
            reason: reason.into(),
        })
        .await
        .expect("SetDriveState");
}

fn states(list: &[Drive]) -> Vec<(String, i32, String)> {
    list.iter()
        .map(|d| (d.name.clone(), d.state, d.state_reason.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drive_down_survives_kill_and_restart() {
    let mut lab = Lab::new(&sim_config(2, 2, ""), 2, Devices::Socket);
    lab.start().await;
    set_state(&lab, "drive1", DriveState::Down, "operator: loader jam").await;
    let expected = vec![
        ("drive0".to_string(), DriveState::Up as i32, String::new()),
        (
            "drive1".to_string(),
            DriveState::Down as i32,
            "operator: loader jam".to_string(),
        ),
    ];
    assert_eq!(states(&drives(&lab).await), expected);

    // A crash right after the answer: the DOWN was durable before it was acknowledged.
    lab.kill9();
    lab.start().await;
    assert_eq!(states(&drives(&lab).await), expected);

    // A graceful stop keeps it too; UP is just as durable.
    assert!(lab.terminate().success());
    lab.start().await;
    assert_eq!(states(&drives(&lab).await), expected);
    set_state(&lab, "drive1", DriveState::Up, "").await;
    lab.kill9();
    lab.start().await;
    let after = states(&drives(&lab).await);
    assert!(
        after.iter().all(|(_, s, _)| *s == DriveState::Up as i32),
        "{after:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tape_alerts_and_cleaning_needed_show_in_list_drives() {
    // Drive 1 asks for cleaning (TapeAlert 20); there is no cleaning cartridge, so it stays.
    let extra = "\n[[fault]]\nkind = \"cleaning-required\"\ndrive = 1\n";
    let mut lab = Lab::new(&sim_config(2, 1, extra), 2, Devices::Socket);
    lab.start().await;
    let list = drives(&lab).await;
    assert_eq!(list.len(), 2);
    assert!(!list[0].cleaning_needed, "{:?}", list[0]);
    assert!(list[0].tape_alerts.is_empty(), "{:?}", list[0]);
    let d1 = &list[1];
    assert!(d1.cleaning_needed, "{d1:?}");
    let flags: Vec<(u32, &str)> = d1
        .tape_alerts
        .iter()
        .map(|f| (f.number, f.name.as_str()))
        .collect();
    assert_eq!(flags, vec![(20, "Cleaning required")], "{d1:?}");
    assert!(d1.tape_alerts[0].raised.is_some());
    // The first-seen time holds across readings.
    let again = drives(&lab).await;
    assert_eq!(again[1].tape_alerts, d1.tape_alerts);
}
