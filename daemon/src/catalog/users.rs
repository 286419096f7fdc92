//! User accounts and revoked tokens.
//!
//! A user record keeps the argon2id hash (never the password) and the role by its DIVA
//! name. `tokens_valid_after` revokes every token issued before it at once (password
//! change, deletion); single tokens (logout) are revoked by id in `revoked_tokens`, keyed
//! by token id with the token's expiry, so entries can be dropped once the token could no
//! longer be used anyway.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::error::CatalogError;
use super::paging::{self, Cursor, Page};
use super::{fail, tree, Catalog};

/// Longest user name accepted.
pub const MAX_USERNAME_LEN: usize = 64;

/// One user account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    pub username: String,
    /// DIVA role name: `user`, `operator`, `advoperator`, `admin` or `sysadmin`.
    pub role: String,
    /// PHC string of the argon2id hash.
    pub password_hash: String,
    #[serde(default)]
    pub email_address: String,
    /// Token validity in minutes; 0 for the daemon's default.
    #[serde(default)]
    pub session_timeout_minutes: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_login: Option<OffsetDateTime>,
    /// Tokens issued before this instant (unix seconds) are refused.
    #[serde(default)]
    pub tokens_valid_after: i64,
}

/// Checks a user name: 1 to 64 letters, digits, `_`, `-`, `.` and `@`.
pub(crate) fn validate_username(name: &str) -> Result<(), CatalogError> {
    let bad = |reason: String| {
        Err(CatalogError::InvalidName {
            what: "user name",
            reason,
        })
    };
    if name.is_empty() || name.chars().count() > MAX_USERNAME_LEN {
        return bad(format!("must be 1 to {MAX_USERNAME_LEN} characters"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@')))
    {
        return bad(format!("{name:?} contains {c:?}"));
    }
    Ok(())
}

impl Catalog {
    /// Number of user accounts.
    pub fn user_count(&self) -> usize {
        self.trees().users.len()
    }

    /// Creates a user; refuses a taken name. Audited as `user.create` by `actor`.
    pub fn create_user(&self, user: &UserRecord, actor: &str) -> Result<(), CatalogError> {
        validate_username(&user.username)?;
        let now = OffsetDateTime::now_utc();
        self.transact(|tx| {
            let key = user.username.as_bytes();
            if tx.users.get(key)?.is_some() {
                return fail(CatalogError::UserExists {
                    username: user.username.clone(),
                });
            }
            tx.put(tx.users, tree::USERS, key, user)?;
            tx.audit(now, actor, "user.create", &user.username, &user.role)?;
            Ok(())
        })
    }

    pub fn get_user(&self, username: &str) -> Result<Option<UserRecord>, CatalogError> {
        self.trees()
            .users
            .get(username.as_bytes())?
            .map(|v| paging::decode(tree::USERS, username.as_bytes(), &v))
            .transpose()
    }

    /// Users sorted by name, paged.
    pub fn list_users(
        &self,
        cursor: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<UserRecord>, CatalogError> {
        paging::scan(&self.trees().users, b"", cursor, limit, |k, v| {
            paging::decode(tree::USERS, k, v).map(Some)
        })
    }

    /// Applies `f` to a user atomically. When `audit_action` is set the change is audited
    /// in the same transaction with `details`.
    pub fn update_user(
        &self,
        username: &str,
        actor: &str,
        audit_action: Option<(&str, &str)>,
        f: impl Fn(&mut UserRecord),
    ) -> Result<UserRecord, CatalogError> {
        let now = OffsetDateTime::now_utc();
        self.transact(|tx| {
            let key = username.as_bytes();
            let Some(mut user) = tx.get::<UserRecord>(tx.users, tree::USERS, key)? else {
                return fail(CatalogError::UserNotFound {
                    username: username.to_string(),
                });
            };
            f(&mut user);
            tx.put(tx.users, tree::USERS, key, &user)?;
            if let Some((action, details)) = audit_action {
                tx.audit(now, actor, action, username, details)?;
            }
            Ok(user)
        })
    }

    /// Deletes a user; the last sysadmin cannot be deleted. Audited as `user.delete`.
    pub fn delete_user(&self, username: &str, actor: &str) -> Result<(), CatalogError> {
        // The sysadmin count is a scan, so hold the writer lock across it and the delete.
        let _guard = self.lock();
        let target = self
            .get_user(username)?
            .ok_or_else(|| CatalogError::UserNotFound {
                username: username.to_string(),
            })?;
        if target.role == "sysadmin" {
            let mut sysadmins = 0;
            for item in self.trees().users.iter() {
                let (k, v) = item?;
                let u: UserRecord = paging::decode(tree::USERS, &k, &v)?;
                if u.role == "sysadmin" {
                    sysadmins += 1;
                }
            }
            if sysadmins <= 1 {
                return Err(CatalogError::LastSysadmin {
                    username: username.to_string(),
                });
            }
        }
        let now = OffsetDateTime::now_utc();
        self.transact(|tx| {
            if tx.users.remove(username.as_bytes())?.is_none() {
                return fail(CatalogError::UserNotFound {
                    username: username.to_string(),
                });
            }
            tx.audit(now, actor, "user.delete", username, "")?;
            Ok(())
        })
    }

    /// Revokes one token until `expires` (unix seconds). Audited as `user.logout`.
    pub fn revoke_token(
        &self,
        token_id: &str,
        expires: i64,
        username: &str,
    ) -> Result<(), CatalogError> {
        let now = OffsetDateTime::now_utc();
        self.transact(|tx| {
            tx.revoked_tokens
                .insert(token_id.as_bytes(), expires.to_be_bytes().to_vec())?;
            tx.audit(now, username, "user.logout", username, token_id)?;
            Ok(())
        })?;
        self.purge_revoked(now.unix_timestamp())?;
        Ok(())
    }

    /// True when the token with this id was revoked.
    pub fn is_token_revoked(&self, token_id: &str) -> Result<bool, CatalogError> {
        Ok(self
            .trees()
            .revoked_tokens
            .contains_key(token_id.as_bytes())?)
    }

    /// Drops revocations of tokens that expired before `now` (they are refused anyway).
    fn purge_revoked(&self, now: i64) -> Result<(), CatalogError> {
        let tree = &self.trees().revoked_tokens;
        for item in tree.iter() {
            let (k, v) = item?;
            let expires = <[u8; 8]>::try_from(v.as_ref())
                .map(i64::from_be_bytes)
                .unwrap_or(i64::MAX);
            if expires < now {
                tree.remove(k)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, role: &str) -> UserRecord {
        UserRecord {
            username: name.into(),
            role: role.into(),
            password_hash: "$argon2id$x".into(),
            email_address: String::new(),
            session_timeout_minutes: 0,
            created: OffsetDateTime::now_utc(),
            last_login: None,
            tokens_valid_after: 0,
        }
    }

    #[test]
    fn create_list_update_delete_with_audit() {
        let c = Catalog::temporary().expect("catalog");
        c.create_user(&user("root", "sysadmin"), "boot")
            .expect("create");
        c.create_user(&user("alice", "operator"), "root")
            .expect("create");
        assert!(matches!(
            c.create_user(&user("alice", "user"), "root"),
            Err(CatalogError::UserExists { .. })
        ));
        assert!(matches!(
            c.create_user(&user("../x", "user"), "root"),
            Err(CatalogError::InvalidName { .. })
        ));
        let names: Vec<_> = c
            .list_users(None, 10)
            .expect("list")
            .items
            .into_iter()
            .map(|u| u.username)
            .collect();
        assert_eq!(names, ["alice", "root"]);
        let u = c
            .update_user("alice", "root", Some(("user.password", "")), |u| {
                u.tokens_valid_after = 42
            })
            .expect("update");
        assert_eq!(u.tokens_valid_after, 42);
        assert!(matches!(
            c.delete_user("root", "root"),
            Err(CatalogError::LastSysadmin { .. })
        ));
        c.delete_user("alice", "root").expect("delete");
        assert!(c.get_user("alice").expect("get").is_none());
        let actions: Vec<_> = c
            .list_audit(None, 100)
            .expect("audit")
            .items
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(
            actions,
            ["user.create", "user.create", "user.password", "user.delete"]
        );
    }

    #[test]
    fn revocations_persist_and_expired_ones_are_purged() {
        let c = Catalog::temporary().expect("catalog");
        let now = OffsetDateTime::now_utc().unix_timestamp();
        c.revoke_token("old", now - 10, "alice").expect("revoke");
        c.revoke_token("live", now + 3600, "alice").expect("revoke");
        assert!(c.is_token_revoked("live").expect("check"));
        assert!(!c.is_token_revoked("old").expect("check"));
        assert!(!c.is_token_revoked("other").expect("check"));
    }
}
