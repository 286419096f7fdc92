//! A library whose devices are a `tapelib-sim` server reached over its Unix socket.

mod library_common;

use library_common::*;
use tapelib_daemon::catalog::{Catalog, TapeLocation};
use tapelib_daemon::config::SimulatorConfig;
use tapelib_daemon::library::TapeLibrary;
use tapelib_sim::library::Library;
use tapelib_sim::server::Server;

#[test]
fn mounts_through_a_running_simulator() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Library::open(sim_config(), dir.path()).unwrap();
    let server = Server::bind(sim.clone(), dir.path())
        .unwrap()
        .spawn()
        .unwrap();

    let mut config = library_config(dir.path(), &["drive0", "drive1"], &[]);
    config.simulator = Some(SimulatorConfig {
        state_dir: dir.path().to_path_buf(),
        connect: true,
        config_file: None,
        inline: None,
    });
    let catalog = Catalog::temporary().unwrap();
    let lib = TapeLibrary::open(&config, &limits(), catalog.clone()).unwrap();
    assert!(lib.simulator().is_none());
    assert_eq!(
        lib.drive("drive1").unwrap().identity.serial.as_deref(),
        Some("HU10000002")
    );

    let moves = sim.stats().robot.moves;
    lib.mount("A00001L8", "drive0").unwrap();
    assert_eq!(
        catalog.get_tape("A00001L8").unwrap().unwrap().location,
        TapeLocation::Drive(DRIVE0)
    );
    lib.unmount("drive0").unwrap();
    assert_eq!(sim.stats().robot.moves, moves + 2);
    drop(lib);
    server.shutdown();
}

#[test]
fn opens_an_in_process_simulator_from_its_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sim.toml");
    std::fs::write(&file, SIM).unwrap();
    let state = dir.path().join("state");
    let mut config = library_config(&state, &["drive0", "drive1"], &[]);
    config.simulator = Some(SimulatorConfig {
        state_dir: state.clone(),
        connect: false,
        config_file: Some(file),
        inline: None,
    });
    let lib = TapeLibrary::open(&config, &limits(), Catalog::temporary().unwrap()).unwrap();
    assert_eq!(lib.simulator().unwrap().state_dir(), state.as_path());
    assert_eq!(lib.drives().len(), 2);
}
