//! Users, roles and tokens: password checks with failed-login limits, signed tokens and
//! their revocation, user management with audit entries, and the table of which role may
//! call which method. Enforcement on the gRPC server is `api::authz`.

pub mod client;
mod password;
pub mod permissions;
mod ratelimit;
pub mod secrets;
mod token;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tapelib_proto::v1::{DivaError, DivaStatusCode, Role};
use time::OffsetDateTime;

use crate::catalog::{Catalog, CatalogError, Cursor, Page, UserRecord};
use crate::config::{AuthConfig, MAX_TOKEN_VALIDITY};

pub use password::{check_new_password, PasswordHashing, MIN_PASSWORD_LEN};
pub use permissions::{access_for_path, Access, METHODS};
pub use ratelimit::{FailureLimiter, LimitKey};
pub use token::{Claims, TokenKeys, ISSUER};

/// Why an authentication or user-management call failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("access denied: no token")]
    MissingToken,
    #[error("access denied: invalid token: {0}")]
    InvalidToken(String),
    #[error("access denied: the token has expired")]
    TokenExpired,
    #[error("access denied: the token was revoked")]
    TokenRevoked,
    #[error("access denied: wrong user name or password")]
    BadCredentials,
    #[error("access denied: too many failed logins; try again in {0} s")]
    LockedOut(u64),
    #[error("access denied: {method} needs the {required} role, {username} is {role}")]
    RoleNotAllowed {
        method: String,
        required: &'static str,
        username: String,
        role: &'static str,
    },
    #[error("access denied: {0}")]
    Forbidden(String),
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    #[error("catalog: {0}")]
    Catalog(#[from] CatalogError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AuthError {
    /// True for refusals of the caller's identity (as opposed to its role or its input).
    pub fn is_unauthenticated(&self) -> bool {
        matches!(
            self,
            AuthError::MissingToken
                | AuthError::InvalidToken(_)
                | AuthError::TokenExpired
                | AuthError::TokenRevoked
                | AuthError::BadCredentials
                | AuthError::LockedOut(_)
        )
    }

    pub fn diva_code(&self) -> DivaStatusCode {
        match self {
            AuthError::InvalidParameter(_)
            | AuthError::Catalog(CatalogError::UserExists { .. })
            | AuthError::Catalog(CatalogError::LastSysadmin { .. })
            | AuthError::Catalog(CatalogError::InvalidName { .. })
            | AuthError::Catalog(CatalogError::InvalidCursor) => {
                DivaStatusCode::DivaErrInvalidParameter
            }
            AuthError::Catalog(CatalogError::UserNotFound { .. }) => {
                DivaStatusCode::DivaErrComponentNotFound
            }
            AuthError::Catalog(_) | AuthError::Internal(_) => DivaStatusCode::DivaErrInternal,
            _ => DivaStatusCode::DivaErrAccessDenied,
        }
    }
}

impl From<AuthError> for tonic::Status {
    fn from(e: AuthError) -> Self {
        let code = e.diva_code();
        if code == DivaStatusCode::DivaErrInternal {
            tracing::error!(error = %e, "authentication failed internally");
        } else {
            tracing::debug!(error = %e, "refused");
        }
        let unauthenticated = e.is_unauthenticated();
        let status = DivaError::new(code, e.to_string()).into_status();
        if unauthenticated {
            tonic::Status::with_details(
                tonic::Code::Unauthenticated,
                status.message(),
                status.details().to_vec().into(),
            )
        } else {
            status
        }
    }
}

/// The authenticated caller of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub username: String,
    pub role: Role,
    /// The token's id and expiry; `None` for peers of the local socket.
    pub token: Option<(String, i64)>,
}

/// A token handed out by `login`.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    pub expires_at: OffsetDateTime,
    pub role: Role,
}

/// The role a stored DIVA role name stands for; an unknown name grants nothing.
pub fn role_of(name: &str) -> Role {
    Role::from_diva_name(name).unwrap_or(Role::Unspecified)
}

/// The DIVA name of a role ("-" for UNSPECIFIED).
pub fn role_name(role: Role) -> &'static str {
    role.diva_name().unwrap_or("-")
}

/// Authentication state shared by the gRPC services and the enforcement layer.
#[derive(Debug)]
pub struct Auth {
    catalog: Catalog,
    config: AuthConfig,
    keys: TokenKeys,
    hashing: PasswordHashing,
    limiter: Mutex<FailureLimiter>,
    /// Verified against for unknown users, so the answer takes as long as for known ones.
    dummy_hash: String,
}

/// What `Auth::open` did on first start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bootstrap {
    pub username: String,
    /// The 0600 file holding the new sysadmin's password.
    pub password_file: PathBuf,
}

impl Auth {
    /// Loads (or creates) the signing key in `state_dir` and, when the catalog has no users
    /// yet, creates the sysadmin `config.bootstrap_user` with a random password written to a
    /// 0600 file in `state_dir`.
    pub fn open(
        catalog: Catalog,
        config: &AuthConfig,
        state_dir: &Path,
    ) -> Result<(Auth, Option<Bootstrap>), AuthError> {
        std::fs::create_dir_all(state_dir)
            .map_err(|e| AuthError::Internal(format!("{}: {e}", state_dir.display())))?;
        let key = secrets::load_or_create_key(state_dir)?;
        let hashing = PasswordHashing::new(config.argon2_memory_kib, config.argon2_iterations)?;
        let dummy_hash = hashing.hash("no such user")?;
        let auth = Auth {
            catalog,
            config: config.clone(),
            keys: TokenKeys::new(&key),
            hashing,
            limiter: Mutex::new(FailureLimiter::new(
                config.max_failed_logins,
                config.failure_window,
            )),
            dummy_hash,
        };
        let bootstrap = if auth.catalog.user_count() == 0 {
            Some(auth.bootstrap(state_dir)?)
        } else {
            None
        };
        Ok((auth, bootstrap))
    }

    fn bootstrap(&self, state_dir: &Path) -> Result<Bootstrap, AuthError> {
        let username = self.config.bootstrap_user.clone();
        let password = secrets::random_password()?;
        let path = state_dir.join(secrets::BOOTSTRAP_PASSWORD_FILE);
        // A file left from an earlier catalog would be stale; replace it.
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(AuthError::Internal(format!("{}: {e}", path.display()))),
        }
        secrets::write_private(&path, format!("{password}\n").as_bytes())?;
        self.catalog.create_user(
            &UserRecord {
                username: username.clone(),
                role: "sysadmin".into(),
                password_hash: self.hashing.hash(&password)?,
                email_address: String::new(),
                session_timeout_minutes: 0,
                created: OffsetDateTime::now_utc(),
                last_login: None,
                tokens_valid_after: 0,
            },
            "tapelibd",
        )?;
        Ok(Bootstrap {
            username,
            password_file: path,
        })
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    fn lock_limiter(&self) -> std::sync::MutexGuard<'_, FailureLimiter> {
        // The limiter holds counters only; a panic mid-update leaves them usable.
        self.limiter.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Checks a password and issues a token. Blocks for the argon2 hash (run it on the
    /// blocking pool). Failures are counted per user name and per client address.
    pub fn login(
        &self,
        username: &str,
        password: &str,
        client: Option<IpAddr>,
    ) -> Result<IssuedToken, AuthError> {
        let now = Instant::now();
        let user_key = LimitKey::User(username.to_string());
        let addr_key = client.map(LimitKey::Address);
        {
            let mut l = self.lock_limiter();
            for key in std::iter::once(&user_key).chain(addr_key.as_ref()) {
                if let Some(wait) = l.locked_for(key, now) {
                    let secs = wait.as_secs().max(1);
                    drop(l);
                    self.audit_failure(username, client, "locked out");
                    return Err(AuthError::LockedOut(secs));
                }
            }
        }
        let user = if password.len() > password::MAX_PASSWORD_LEN {
            None
        } else {
            self.catalog.get_user(username)?
        };
        let ok = match &user {
            Some(u) => self.hashing.verify(password, &u.password_hash),
            None => {
                let _ = self.hashing.verify(password, &self.dummy_hash);
                false
            }
        };
        let Some(user) = user.filter(|_| ok) else {
            {
                let mut l = self.lock_limiter();
                l.record_failure(user_key, now);
                if let Some(k) = addr_key {
                    l.record_failure(k, now);
                }
            }
            self.audit_failure(username, client, "bad credentials");
            return Err(AuthError::BadCredentials);
        };
        self.lock_limiter().clear(&user_key);
        let issued = self.issue(&user)?;
        let at = OffsetDateTime::now_utc();
        let details = client.map(|a| format!("from {a}")).unwrap_or_default();
        self.catalog
            .update_user(username, username, Some(("user.login", &details)), |u| {
                u.last_login = Some(at)
            })?;
        Ok(issued)
    }

    fn audit_failure(&self, username: &str, client: Option<IpAddr>, why: &str) {
        let from = client.map(|a| format!(" from {a}")).unwrap_or_default();
        if let Err(e) = self.catalog.audit(
            username,
            "user.login_failed",
            username,
            &format!("{why}{from}"),
        ) {
            tracing::warn!(error = %e, "cannot audit a failed login");
        }
    }

    /// The validity of a new token for `user`.
    fn validity(&self, user: &UserRecord) -> Duration {
        match user.session_timeout_minutes {
            0 => self.config.token_validity,
            m => Duration::from_secs(u64::from(m) * 60).min(MAX_TOKEN_VALIDITY),
        }
    }

    fn issue(&self, user: &UserRecord) -> Result<IssuedToken, AuthError> {
        let now = OffsetDateTime::now_utc();
        let expires_at = now + self.validity(user);
        let jti: String = secrets::random_bytes(16)?
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let claims = Claims {
            sub: user.username.clone(),
            role: user.role.clone(),
            iat: now.unix_timestamp(),
            exp: expires_at.unix_timestamp(),
            jti,
            iss: ISSUER.into(),
        };
        Ok(IssuedToken {
            token: self.keys.sign(&claims)?,
            expires_at,
            role: role_of(&user.role),
        })
    }

    /// The caller a bearer token stands for: signature, expiry, revocation and the user's
    /// current role are all checked.
    pub fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        let claims = self.keys.check(token)?;
        if self.catalog.is_token_revoked(&claims.jti)? {
            return Err(AuthError::TokenRevoked);
        }
        let user = self
            .catalog
            .get_user(&claims.sub)?
            .ok_or(AuthError::TokenRevoked)?;
        if claims.iat < user.tokens_valid_after {
            return Err(AuthError::TokenRevoked);
        }
        Ok(Caller {
            username: user.username,
            role: role_of(&user.role),
            token: Some((claims.jti, claims.exp)),
        })
    }

    /// Revokes the caller's token (persisted in the catalog, audited).
    pub fn logout(&self, caller: &Caller) -> Result<(), AuthError> {
        match &caller.token {
            Some((jti, exp)) => Ok(self.catalog.revoke_token(jti, *exp, &caller.username)?),
            None => Err(AuthError::InvalidParameter(
                "this connection is authenticated by the local socket and has no token".into(),
            )),
        }
    }

    /// Creates a user (the caller's role was checked by the enforcement layer).
    pub fn create_user(
        &self,
        caller: &Caller,
        username: &str,
        password: &str,
        role: Role,
        email_address: &str,
        session_timeout_minutes: u32,
    ) -> Result<UserRecord, AuthError> {
        let Some(role_name) = role.diva_name() else {
            return Err(AuthError::InvalidParameter("a role is required".into()));
        };
        check_new_password(password)?;
        let max_minutes = (MAX_TOKEN_VALIDITY.as_secs() / 60) as u32;
        let user = UserRecord {
            username: username.to_string(),
            role: role_name.to_string(),
            password_hash: self.hashing.hash(password)?,
            email_address: email_address.to_string(),
            session_timeout_minutes: session_timeout_minutes.min(max_minutes),
            created: OffsetDateTime::now_utc(),
            last_login: None,
            tokens_valid_after: 0,
        };
        self.catalog.create_user(&user, &caller.username)?;
        Ok(user)
    }

    pub fn delete_user(&self, caller: &Caller, username: &str) -> Result<(), AuthError> {
        Ok(self.catalog.delete_user(username, &caller.username)?)
    }

    /// Changes a password: one's own with the old password, anyone's as sysadmin. Every
    /// token of the user issued before the change is revoked.
    pub fn change_password(
        &self,
        caller: &Caller,
        username: &str,
        old_password: &str,
        new_password: &str,
    ) -> Result<(), AuthError> {
        let own = caller.username == username;
        if !own && !caller.role.includes(Role::Sysadmin) {
            return Err(AuthError::Forbidden(format!(
                "only a sysadmin may change the password of {username}"
            )));
        }
        check_new_password(new_password)?;
        let user = self
            .catalog
            .get_user(username)?
            .ok_or_else(|| CatalogError::UserNotFound {
                username: username.to_string(),
            })?;
        // A sysadmin on the local socket has no password of its own to give.
        if own && caller.token.is_some() && !self.hashing.verify(old_password, &user.password_hash)
        {
            return Err(AuthError::BadCredentials);
        }
        let hash = self.hashing.hash(new_password)?;
        // Tokens carry whole seconds; the next second on is valid again.
        let valid_after = OffsetDateTime::now_utc().unix_timestamp() + 1;
        self.catalog.update_user(
            username,
            &caller.username,
            Some(("user.password", "")),
            |u| {
                u.password_hash = hash.clone();
                u.tokens_valid_after = valid_after;
            },
        )?;
        Ok(())
    }

    /// The caller's own record.
    pub fn profile(&self, caller: &Caller) -> Result<UserRecord, AuthError> {
        self.catalog.get_user(&caller.username)?.ok_or_else(|| {
            AuthError::Catalog(CatalogError::UserNotFound {
                username: caller.username.clone(),
            })
        })
    }

    pub fn update_profile(
        &self,
        caller: &Caller,
        email_address: &str,
        session_timeout_minutes: u32,
    ) -> Result<UserRecord, AuthError> {
        let max_minutes = (MAX_TOKEN_VALIDITY.as_secs() / 60) as u32;
        let minutes = session_timeout_minutes.min(max_minutes);
        Ok(self.catalog.update_user(
            &caller.username,
            &caller.username,
            Some(("user.profile", "")),
            |u| {
                u.email_address = email_address.to_string();
                u.session_timeout_minutes = minutes;
            },
        )?)
    }

    pub fn list_users(
        &self,
        cursor: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<UserRecord>, AuthError> {
        Ok(self.catalog.list_users(cursor, limit)?)
    }
}

#[cfg(test)]
mod tests;
