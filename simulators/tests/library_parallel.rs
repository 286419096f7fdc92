//! Commands to different devices run in parallel: each drive has its own lock.

mod library_common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use library_common::*;
use tapelib_scsi::{DataPhase, ScsiTransport, TransportError};
use tapelib_sim::library::Library;

fn settle(lib: &Library, device: &str) {
    for _ in 0..400 {
        if cmd(lib, device, &[0, 0, 0, 0, 0, 0]).status.is_good() {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("{device} does not become ready");
}

#[test]
fn a_slow_drive_does_not_block_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = small_config();
    // An LTO-8 unload is modeled at 17 s: 1.7 s of real time at this scale.
    config.time_scale = 0.1;
    let lib = Library::open(config, dir.path()).unwrap();
    settle(&lib, "drive0");
    let done = Arc::new(AtomicBool::new(false));
    let worker = {
        let lib = Arc::clone(&lib);
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let c = cmd(&lib, "drive0", &[0x1B, 0, 0, 0, 0, 0]);
            done.store(true, Ordering::SeqCst);
            c
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    // While drive0 unloads: drive1 and the changer answer at once.
    for _ in 0..20 {
        let (c, _) = cmd_in(&lib, "drive1", &[0x03, 0, 0, 0, 18, 0], 18);
        assert_good(&c);
        let (c, _) = cmd_in(&lib, "drive1", &[0x12, 0, 0, 0, 36, 0], 36);
        assert_good(&c);
    }
    let cdb = read_element_status_cdb(0, true, 0, 100, true, 4096);
    let (c, _) = cmd_in(&lib, CHANGER, &cdb, 4096);
    assert_eq!(c.status, tapelib_scsi::ScsiStatus::GOOD);
    assert!(
        !done.load(Ordering::SeqCst),
        "drive1 and the changer waited for drive0's unload"
    );
    assert_good(&worker.join().unwrap());
    assert_good(&move_medium(&lib, DRIVE0, SLOT2));
}

#[test]
fn concurrent_traffic_keeps_the_library_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open_small(dir.path());
    let threads: Vec<_> = ["drive0", "drive1"]
        .into_iter()
        .map(|d| {
            let mut t = lib.transport(d).unwrap();
            std::thread::spawn(move || {
                for _ in 0..200 {
                    let mut buf = [0u8; 36];
                    let c = t
                        .execute(
                            &[0x12, 0, 0, 0, 36, 0],
                            DataPhase::In(&mut buf),
                            Duration::from_secs(5),
                        )
                        .unwrap();
                    assert!(c.status.is_good());
                    assert_eq!(&buf[..1], &[0x01], "sequential-access device");
                    let _ = t.execute(&[0, 0, 0, 0, 0, 0], DataPhase::None, Duration::from_secs(5));
                }
            })
        })
        .collect();
    drain_unit_attention(&lib, CHANGER);
    for _ in 0..25 {
        assert_good(&move_medium(&lib, SLOT1, SLOT2));
        assert_good(&move_medium(&lib, SLOT2, SLOT1));
    }
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(lib.stats().robot.moves, 50);
}

#[test]
fn sim_transport() {
    let dir = tempfile::tempdir().unwrap();
    let lib = open_small(dir.path());
    assert!(lib.transport("drive9").is_err());
    let mut t = lib.transport(CHANGER).unwrap();
    let mut buf = [0u8; 56];
    let c = t
        .execute(
            &[0x12, 0, 0, 0, 56, 0],
            DataPhase::In(&mut buf),
            Duration::from_secs(1),
        )
        .unwrap();
    assert!(c.status.is_good());
    assert_eq!(c.transferred, 56);
    assert!(c.duration.is_some());
    assert_eq!(buf[0], 0x08);
    assert!(matches!(
        t.execute(&[0x12, 0, 0], DataPhase::None, Duration::from_secs(1)),
        Err(TransportError::InvalidCdb(3))
    ));
    let mut boxed: Box<dyn ScsiTransport> = Box::new(lib.transport("drive1").unwrap());
    assert!(boxed
        .execute(
            &[0x12, 0, 0, 0, 36, 0],
            DataPhase::In(&mut [0u8; 36]),
            Duration::from_secs(1)
        )
        .unwrap()
        .status
        .is_good());
}
