//! `[verify]`: the scheduled verify policy. Off by default; when on, the daemon submits
//! whole-tape verify requests itself, oldest-verified tape first.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// When and how much the daemon verifies on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VerifyPolicy {
    /// Submit verify requests at all.
    pub enabled: bool,
    /// Every tape holding data is verified at least this often (`"90d"`); a tape never
    /// verified is due at once.
    #[serde(with = "humantime_serde")]
    pub period: Duration,
    /// How often the policy looks for due tapes.
    #[serde(with = "humantime_serde")]
    pub check_interval: Duration,
    /// Scheduled verifies pending or running at once (each takes one drive).
    pub max_drives: usize,
    /// Submit only while no client request is pending or running.
    pub only_when_idle: bool,
    /// Priority of the verify requests, 0–100 (low, so client work goes first).
    pub priority: u8,
}

impl Default for VerifyPolicy {
    fn default() -> Self {
        VerifyPolicy {
            enabled: false,
            period: Duration::from_secs(90 * 24 * 3600),
            check_interval: Duration::from_secs(10 * 60),
            max_drives: 1,
            only_when_idle: true,
            priority: 10,
        }
    }
}

impl VerifyPolicy {
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.period.is_zero() {
            return Err(ConfigError::invalid(
                "verify.period",
                "must be longer than zero",
            ));
        }
        if self.check_interval.is_zero() {
            return Err(ConfigError::invalid(
                "verify.check_interval",
                "must be longer than zero",
            ));
        }
        if self.max_drives == 0 {
            return Err(ConfigError::invalid(
                "verify.max_drives",
                "must be at least 1",
            ));
        }
        if u32::from(self.priority) > tapelib_proto::diva_names::MAX_PRIORITY {
            return Err(ConfigError::invalid(
                "verify.priority",
                format!("{} is above 100", self.priority),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::DaemonConfig;
    use std::time::Duration;

    const BASE: &str = "catalog = \"c\"\n";

    #[test]
    fn off_by_default_and_read_from_its_section() {
        let c = DaemonConfig::from_toml_str(BASE).unwrap();
        assert!(!c.verify.enabled);
        let c = DaemonConfig::from_toml_str(&format!(
            "{BASE}[verify]\nenabled = true\nperiod = \"30d\"\ncheck_interval = \"5m\"\n\
             max_drives = 2\nonly_when_idle = false\npriority = 5\n"
        ))
        .unwrap();
        let v = c.verify;
        assert!(v.enabled && !v.only_when_idle);
        assert_eq!(v.period, Duration::from_secs(30 * 24 * 3600));
        assert_eq!(v.check_interval, Duration::from_secs(300));
        assert_eq!((v.max_drives, v.priority), (2, 5));
    }

    #[test]
    fn nonsense_is_refused_naming_the_key() {
        for (text, key) in [
            ("max_drives = 0", "verify.max_drives"),
            ("period = \"0s\"", "verify.period"),
            ("check_interval = \"0s\"", "verify.check_interval"),
            ("priority = 101", "verify.priority"),
        ] {
            let e = DaemonConfig::from_toml_str(&format!("{BASE}[verify]\n{text}\n"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(key), "{text}: {e}");
        }
        assert!(DaemonConfig::from_toml_str(&format!("{BASE}[verify]\nevery = 3\n")).is_err());
    }
}
