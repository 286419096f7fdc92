//! Checks serde cannot make: names, uniqueness, device kinds, simulator settings.

use std::collections::HashSet;

use super::{ConfigError, DaemonConfig, DeviceRef, LibraryConfig};

/// Names used as catalog keys and in paths: non-empty printable ASCII without `/`.
fn check_name(field: &str, name: &str) -> Result<(), ConfigError> {
    if name.is_empty()
        || name.len() > 64
        || !name.bytes().all(|b| b.is_ascii_graphic())
        || name.contains(['/', '\\'])
    {
        return Err(ConfigError::invalid(
            field,
            format!("{name:?} must be 1..=64 printable ASCII characters without spaces or slashes"),
        ));
    }
    Ok(())
}

fn positive(field: &str, d: std::time::Duration) -> Result<(), ConfigError> {
    if d.is_zero() {
        return Err(ConfigError::invalid(field, "must be longer than zero"));
    }
    Ok(())
}

impl DaemonConfig {
    /// Checks the whole configuration; the error names the first field at fault.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.catalog.as_os_str().is_empty() {
            return Err(ConfigError::invalid(
                "catalog",
                "a catalog path is required",
            ));
        }
        self.auth.validate()?;
        self.verify.validate()?;
        let l = &self.limits;
        if l.max_running_requests == 0 {
            return Err(ConfigError::invalid(
                "limits.max_running_requests",
                "must be at least 1",
            ));
        }
        if l.max_queued_requests == 0 {
            return Err(ConfigError::invalid(
                "limits.max_queued_requests",
                "must be at least 1",
            ));
        }
        positive("limits.status_timeout", l.status_timeout)?;
        positive("limits.motion_timeout", l.motion_timeout)?;
        positive("limits.format_timeout", l.format_timeout)?;
        positive("limits.inventory_timeout", l.inventory_timeout)?;
        positive("limits.drive_ready_timeout", l.drive_ready_timeout)?;
        positive("limits.ready_poll_interval", l.ready_poll_interval)?;
        if l.repack_buffer_bytes < crate::config::MIN_REPACK_BUFFER_BYTES {
            return Err(ConfigError::invalid(
                "limits.repack_buffer_bytes",
                format!(
                    "must be at least {} bytes",
                    crate::config::MIN_REPACK_BUFFER_BYTES
                ),
            ));
        }
        if l.repack_sync_bytes == 0 {
            return Err(ConfigError::invalid(
                "limits.repack_sync_bytes",
                "must be at least 1",
            ));
        }
        if let (Some(g), Some(r)) = (self.listen.grpc, self.listen.rest) {
            if g == r {
                return Err(ConfigError::invalid(
                    "listen.rest",
                    format!("same address as listen.grpc ({g})"),
                ));
            }
        }
        for (name, server) in &self.servers {
            check_name(&format!("servers.{name}"), name)?;
            if server.root.as_os_str().is_empty() {
                return Err(ConfigError::invalid(
                    format!("servers.{name}.root"),
                    "a root directory is required",
                ));
            }
        }
        let mut groups = HashSet::new();
        for (i, g) in self.groups.iter().enumerate() {
            check_name(&format!("group[{i}].name"), &g.name)?;
            if !groups.insert(g.name.as_str()) {
                return Err(ConfigError::invalid(
                    format!("group[{i}].name"),
                    format!("group {:?} is defined twice", g.name),
                ));
            }
            if let Some(gen) = g.generation {
                if !(1..=12).contains(&gen) {
                    return Err(ConfigError::invalid(
                        format!("group[{i}].generation"),
                        format!("LTO generation {gen} is out of range"),
                    ));
                }
            }
        }
        let mut libraries = HashSet::new();
        for (i, lib) in self.libraries.iter().enumerate() {
            if !libraries.insert(lib.name.as_str()) {
                return Err(ConfigError::invalid(
                    format!("library[{i}].name"),
                    format!("library {:?} is defined twice", lib.name),
                ));
            }
            lib.validate(&format!("library[{i}]"))?;
        }
        Ok(())
    }
}

impl LibraryConfig {
    fn validate(&self, at: &str) -> Result<(), ConfigError> {
        check_name(&format!("{at}.name"), &self.name)?;
        if let Some(sim) = &self.simulator {
            let f = |x: &str| format!("{at}.simulator.{x}");
            if sim.state_dir.as_os_str().is_empty() {
                return Err(ConfigError::invalid(
                    f("state_dir"),
                    "a state directory is required",
                ));
            }
            match (sim.connect, sim.config_file.is_some(), sim.inline.is_some()) {
                (true, false, false) | (false, true, false) | (false, false, true) => {}
                (true, _, _) => {
                    return Err(ConfigError::invalid(
                        f("connect"),
                        "a running simulator brings its own configuration; remove config_file and inline",
                    ))
                }
                (false, true, true) => {
                    return Err(ConfigError::invalid(
                        f("inline"),
                        "give either config_file or inline, not both",
                    ))
                }
                (false, false, false) => {
                    return Err(ConfigError::invalid(
                        f("config_file"),
                        "an in-process simulator needs config_file or inline",
                    ))
                }
            }
            if let Some(inline) = &sim.inline {
                inline
                    .validate()
                    .map_err(|e| ConfigError::invalid(f("inline"), e.to_string()))?;
            }
        }
        self.check_device(&format!("{at}.changer"), &self.changer)?;
        if self.drives.is_empty() {
            return Err(ConfigError::invalid(
                format!("{at}.drive"),
                "a library needs at least one drive",
            ));
        }
        let mut names = HashSet::new();
        let mut elements = HashSet::new();
        let mut devices = HashSet::new();
        devices.insert(&self.changer);
        for (i, d) in self.drives.iter().enumerate() {
            let here = format!("{at}.drive[{i}]");
            let name = self.drive_name(i);
            check_name(&format!("{here}.name"), &name)?;
            if !names.insert(name.clone()) {
                return Err(ConfigError::invalid(
                    format!("{here}.name"),
                    format!("drive name {name:?} is used twice"),
                ));
            }
            self.check_device(&format!("{here}.device"), &d.device)?;
            if !devices.insert(&d.device) {
                return Err(ConfigError::invalid(
                    format!("{here}.device"),
                    format!("device {} is configured twice", d.device),
                ));
            }
            if let Some(e) = d.element {
                if !elements.insert(e) {
                    return Err(ConfigError::invalid(
                        format!("{here}.element"),
                        format!("element address {e} is given to two drives"),
                    ));
                }
            }
        }
        Ok(())
    }

    fn check_device(&self, field: &str, dev: &DeviceRef) -> Result<(), ConfigError> {
        match dev {
            DeviceRef::Sg(p) if p.as_os_str().is_empty() => {
                Err(ConfigError::invalid(field, "an empty device path"))
            }
            DeviceRef::Sg(_) => Ok(()),
            DeviceRef::Sim(_) if self.simulator.is_none() => Err(ConfigError::invalid(
                field,
                "a sim device needs a [library.simulator] section",
            )),
            DeviceRef::Sim(name) => {
                let inline = self.simulator.as_ref().and_then(|s| s.inline.as_ref());
                if let Some(sim) = inline {
                    if !sim.device_names().iter().any(|n| n == name) {
                        return Err(ConfigError::invalid(
                            field,
                            format!(
                                "the simulator has no device {name:?} (it has {})",
                                sim.device_names().join(", ")
                            ),
                        ));
                    }
                }
                Ok(())
            }
        }
    }
}
