//! Opening the devices of a configured library: SG nodes, or devices of a simulated library
//! (in this process, or a `tapelib-sim serve` over its socket).

use std::path::PathBuf;
use std::sync::Arc;

use tapelib_scsi::{ScsiTransport, SgDevice};
use tapelib_sim::client::SimSocketTransport;
use tapelib_sim::config::LibraryConfig as SimConfig;
use tapelib_sim::library::Library as SimLibrary;

use super::LibraryError;
use crate::config::{DeviceRef, LibraryConfig, SimulatorConfig};

/// Every device is driven through the transport seam, whatever is behind it.
pub type Transport = Box<dyn ScsiTransport>;

/// The simulator behind `sim` devices.
pub(crate) enum SimHandle {
    InProcess(Arc<SimLibrary>),
    Socket(PathBuf),
}

fn sim_error(library: &str, message: impl Into<String>) -> LibraryError {
    LibraryError::Simulator {
        library: library.to_string(),
        message: message.into(),
    }
}

pub(crate) fn open_simulator(lib: &LibraryConfig) -> Result<Option<SimHandle>, LibraryError> {
    let Some(sim) = &lib.simulator else {
        return Ok(None);
    };
    if sim.connect {
        return Ok(Some(SimHandle::Socket(sim.state_dir.clone())));
    }
    let config = sim_config(&lib.name, sim)?;
    let library = SimLibrary::open(config, &sim.state_dir).map_err(|e| {
        sim_error(
            &lib.name,
            format!("cannot open {}: {e}", sim.state_dir.display()),
        )
    })?;
    tracing::info!(library = %lib.name, state = %sim.state_dir.display(), "simulated library opened in process");
    Ok(Some(SimHandle::InProcess(library)))
}

fn sim_config(library: &str, sim: &SimulatorConfig) -> Result<SimConfig, LibraryError> {
    match (&sim.inline, &sim.config_file) {
        (Some(inline), _) => Ok(inline.clone()),
        (None, Some(file)) => {
            SimConfig::from_file(file).map_err(|e| sim_error(library, e.to_string()))
        }
        (None, None) => Err(sim_error(
            library,
            "an in-process simulator needs config_file or inline",
        )),
    }
}

pub(crate) fn open_device(
    library: &str,
    dev: &DeviceRef,
    sim: Option<&SimHandle>,
) -> Result<Transport, LibraryError> {
    let open_err = |source| LibraryError::Open {
        library: library.to_string(),
        device: dev.to_string(),
        source,
    };
    match (dev, sim) {
        (DeviceRef::Sg(path), _) => Ok(Box::new(SgDevice::open(path).map_err(open_err)?)),
        (DeviceRef::Sim(name), Some(SimHandle::InProcess(lib))) => {
            Ok(Box::new(lib.transport(name).map_err(|e| {
                sim_error(library, format!("device {name}: {e}"))
            })?))
        }
        (DeviceRef::Sim(name), Some(SimHandle::Socket(dir))) => Ok(Box::new(
            SimSocketTransport::connect(dir, name).map_err(open_err)?,
        )),
        (DeviceRef::Sim(name), None) => Err(sim_error(
            library,
            format!("device {name} needs a [library.simulator] section"),
        )),
    }
}
