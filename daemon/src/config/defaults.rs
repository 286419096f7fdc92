//! The configuration `tapelibd --simulate` runs with: everything under one data directory.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

use tapelib_sim::config::{
    CartridgeConfig, DriveConfig as SimDriveConfig, DrivePersonality, LibraryConfig as SimConfig,
    SlotRef,
};
use tapelib_sim::media::LtoGeneration;

use super::{
    DaemonConfig, DeviceRef, DriveConfig, GroupConfig, LibraryConfig, Limits, ListenConfig,
    ServerConfig, SimulatorConfig,
};

/// Drives, slots and cartridges of the simulated library.
const DRIVES: u16 = 4;
const STORAGE_SLOTS: u16 = 48;
const IE_SLOTS: u16 = 4;
const DATA_CARTRIDGES: u16 = 24;
/// Modeled time runs at 1/50 of real time: moves and loads take a noticeable fraction of a
/// second, so progress is visible without making demos slow.
const TIME_SCALE: f64 = 0.02;

impl DaemonConfig {
    /// An in-process simulated library with 4 LTO-8 drives, 48 slots, 4 I/E slots, 24 data
    /// cartridges and a cleaning cartridge; catalog, simulator state and a demo server root
    /// under `data_dir`; gRPC on 127.0.0.1:50051 and REST on 127.0.0.1:8765.
    pub fn simulate_default(data_dir: impl AsRef<Path>) -> DaemonConfig {
        let data_dir = data_dir.as_ref();
        let mut cartridges: Vec<CartridgeConfig> = (1..=DATA_CARTRIDGES)
            .map(|n| CartridgeConfig {
                barcode: format!("TL{n:04}L8"),
                generation: None,
                slot: Some(SlotRef::Storage(n)),
                write_protect: false,
                capacity: None,
            })
            .collect();
        cartridges.push(CartridgeConfig {
            barcode: "CLN001CU".into(),
            generation: None,
            slot: Some(SlotRef::Storage(STORAGE_SLOTS)),
            write_protect: false,
            capacity: None,
        });
        let sim = SimConfig {
            storage_slots: STORAGE_SLOTS,
            ie_slots: IE_SLOTS,
            time_scale: TIME_SCALE,
            drives: (0..DRIVES)
                .map(|i| SimDriveConfig {
                    generation: LtoGeneration::Lto8,
                    personality: DrivePersonality::Ibm,
                    serial: format!("10130000{:02}", i + 1),
                    vendor: None,
                    product: None,
                })
                .collect(),
            cartridges,
            ..SimConfig::default()
        };
        let library = LibraryConfig {
            name: "sim0".into(),
            simulator: Some(SimulatorConfig {
                state_dir: data_dir.join("simulator"),
                connect: false,
                config_file: None,
                inline: Some(sim),
            }),
            changer: DeviceRef::Sim("changer0".into()),
            drives: (0..DRIVES)
                .map(|i| DriveConfig {
                    name: None,
                    device: DeviceRef::Sim(format!("drive{i}")),
                    element: None,
                })
                .collect(),
        };
        let mut servers = BTreeMap::new();
        servers.insert(
            "demo".to_string(),
            ServerConfig {
                root: data_dir.join("demo"),
            },
        );
        DaemonConfig {
            catalog: data_dir.join("catalog"),
            listen: ListenConfig {
                grpc: Some(SocketAddr::from((Ipv4Addr::LOCALHOST, 50051))),
                rest: Some(SocketAddr::from((Ipv4Addr::LOCALHOST, 8765))),
                unix_socket: Some(data_dir.join("tapelibd.sock")),
                ..ListenConfig::default()
            },
            limits: Limits::default(),
            servers,
            groups: vec![GroupConfig {
                name: "default".into(),
                description: "Tapes of the simulated library".into(),
                generation: Some(8),
            }],
            libraries: vec![library],
            auth: Default::default(),
            verify: Default::default(),
        }
    }
}
