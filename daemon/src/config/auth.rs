//! The `[auth]` section: token validity, where the signing key and the first sysadmin's
//! password live, failed-login limits and password hashing cost.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// Longest token validity a user or the configuration may ask for (DIVA: 10080 minutes).
pub const MAX_TOKEN_VALIDITY: Duration = Duration::from_secs(7 * 24 * 3600);

/// Authentication settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Default validity of a token (DIVA: 1440 minutes).
    #[serde(with = "humantime_serde")]
    pub token_validity: Duration,
    /// Directory of the signing key and the first sysadmin's password file; the catalog's
    /// parent directory when absent.
    pub state_dir: Option<PathBuf>,
    /// Name of the account created on first start.
    pub bootstrap_user: String,
    /// Failed logins allowed per user and per client address within `failure_window`.
    pub max_failed_logins: u32,
    /// Window over which failed logins are counted; also how long a locked-out user or
    /// address waits.
    #[serde(with = "humantime_serde")]
    pub failure_window: Duration,
    /// argon2id memory cost in KiB and iterations for new password hashes.
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            token_validity: Duration::from_secs(24 * 3600),
            state_dir: None,
            bootstrap_user: "admin".into(),
            max_failed_logins: 5,
            failure_window: Duration::from_secs(5 * 60),
            // The argon2 crate's defaults (OWASP's 19 MiB, 2 passes).
            argon2_memory_kib: 19 * 1024,
            argon2_iterations: 2,
        }
    }
}

impl AuthConfig {
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.token_validity < Duration::from_secs(1) || self.token_validity > MAX_TOKEN_VALIDITY
        {
            return Err(ConfigError::invalid(
                "auth.token_validity",
                "must be between 1s and 7 days",
            ));
        }
        if self.max_failed_logins == 0 {
            return Err(ConfigError::invalid(
                "auth.max_failed_logins",
                "must be at least 1",
            ));
        }
        if self.failure_window.is_zero() {
            return Err(ConfigError::invalid(
                "auth.failure_window",
                "must be longer than zero",
            ));
        }
        if self.argon2_memory_kib < 8 || self.argon2_iterations == 0 {
            return Err(ConfigError::invalid(
                "auth.argon2_memory_kib",
                "argon2 needs at least 8 KiB and 1 iteration",
            ));
        }
        if self.bootstrap_user.is_empty() {
            return Err(ConfigError::invalid(
                "auth.bootstrap_user",
                "must not be empty",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DaemonConfig;

    #[test]
    fn auth_section_parses_and_is_checked() {
        let c = DaemonConfig::from_toml_str(
            "catalog = \"c\"\n[auth]\ntoken_validity = \"2h\"\nmax_failed_logins = 3\n",
        )
        .expect("config");
        assert_eq!(c.auth.token_validity, Duration::from_secs(7200));
        assert_eq!(c.auth.max_failed_logins, 3);
        let e = DaemonConfig::from_toml_str("catalog = \"c\"\n[auth]\ntoken_validity = \"8d\"\n")
            .expect_err("too long");
        assert!(e.to_string().contains("auth.token_validity"), "{e}");
    }
}
