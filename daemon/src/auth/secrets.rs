//! Files only the daemon's user may read: the token signing key and the first
//! sysadmin's password. Created with mode 0600 atomically (O_EXCL), never rewritten.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::AuthError;

/// File name of the signing key in the auth state directory.
pub const SIGNING_KEY_FILE: &str = "token-signing.key";
/// File name of the first sysadmin's password.
pub const BOOTSTRAP_PASSWORD_FILE: &str = "initial-sysadmin-password";

fn io(path: &Path, e: std::io::Error) -> AuthError {
    AuthError::Internal(format!("{}: {e}", path.display()))
}

/// `n` random bytes from the OS.
pub fn random_bytes(n: usize) -> Result<Vec<u8>, AuthError> {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).map_err(|e| AuthError::Internal(format!("random: {e}")))?;
    Ok(b)
}

/// A random password of 24 characters from an unambiguous alphabet (~140 bits).
pub fn random_password() -> Result<String, AuthError> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    // 256 is not a multiple of the alphabet size; rejecting high bytes keeps it uniform.
    let limit = 256 - (256 % ALPHABET.len());
    let mut out = String::new();
    while out.len() < 24 {
        for b in random_bytes(32)? {
            if (b as usize) < limit && out.len() < 24 {
                out.push(ALPHABET[b as usize % ALPHABET.len()] as char);
            }
        }
    }
    Ok(out)
}

/// Writes `bytes` to a new file readable only by its owner; fails if it exists.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), AuthError> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| io(path, e))?;
    f.write_all(bytes).map_err(|e| io(path, e))?;
    f.sync_all().map_err(|e| io(path, e))
}

/// The signing key in `dir`, generated on first use. A key file others can read is
/// refused: anyone holding it could mint sysadmin tokens.
pub fn load_or_create_key(dir: &Path) -> Result<Vec<u8>, AuthError> {
    let path = dir.join(SIGNING_KEY_FILE);
    match std::fs::metadata(&path) {
        Ok(meta) => {
            if meta.permissions().mode() & 0o077 != 0 {
                return Err(AuthError::Internal(format!(
                    "{} is readable by others (mode {:o}); make it 0600",
                    path.display(),
                    meta.permissions().mode() & 0o777
                )));
            }
            let key = std::fs::read(&path).map_err(|e| io(&path, e))?;
            if key.len() < 32 {
                return Err(AuthError::Internal(format!(
                    "{} holds {} bytes; a key needs at least 32",
                    path.display(),
                    key.len()
                )));
            }
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = random_bytes(64)?;
            write_private(&path, &key)?;
            tracing::info!(path = %path.display(), "generated the token signing key");
            Ok(key)
        }
        Err(e) => Err(io(&path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_created_once_private_and_reused() {
        let dir = tempfile::tempdir().expect("dir");
        let k1 = load_or_create_key(dir.path()).expect("create");
        let mode = std::fs::metadata(dir.path().join(SIGNING_KEY_FILE))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(load_or_create_key(dir.path()).expect("load"), k1);
        std::fs::set_permissions(
            dir.path().join(SIGNING_KEY_FILE),
            std::fs::Permissions::from_mode(0o644),
        )
        .expect("chmod");
        assert!(load_or_create_key(dir.path()).is_err());
    }

    #[test]
    fn passwords_are_random_and_long() {
        let a = random_password().expect("pw");
        assert_eq!(a.len(), 24);
        assert_ne!(a, random_password().expect("pw"));
    }
}
