use std::os::unix::fs::PermissionsExt;

use super::*;

fn cheap_config() -> AuthConfig {
    AuthConfig {
        argon2_memory_kib: 64,
        argon2_iterations: 1,
        max_failed_logins: 3,
        ..AuthConfig::default()
    }
}

fn open() -> (Auth, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("dir");
    let catalog = Catalog::temporary().expect("catalog");
    let (auth, boot) = Auth::open(catalog, &cheap_config(), dir.path()).expect("open");
    let boot = boot.expect("first start bootstraps");
    let mode = std::fs::metadata(&boot.password_file)
        .expect("password file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let password = std::fs::read_to_string(&boot.password_file).expect("read");
    (auth, password.trim().to_string(), dir)
}

#[test]
fn first_start_sysadmin_logs_in_and_a_second_open_keeps_users_and_key() {
    let (auth, password, dir) = open();
    let t = auth.login("admin", &password, None).expect("login");
    assert_eq!(t.role, Role::Sysadmin);
    let caller = auth.verify(&t.token).expect("verify");
    assert_eq!(caller.username, "admin");
    let catalog = auth.catalog().clone();
    drop(auth);
    let (again, boot) = Auth::open(catalog, &cheap_config(), dir.path()).expect("reopen");
    assert!(boot.is_none(), "users exist: no second bootstrap");
    // Same signing key: the old token is still good.
    assert_eq!(again.verify(&t.token).expect("verify").username, "admin");
}

#[test]
fn logout_revokes_only_that_token_and_is_audited() {
    let (auth, password, _dir) = open();
    let a = auth.login("admin", &password, None).expect("login");
    let b = auth.login("admin", &password, None).expect("login");
    let caller = auth.verify(&a.token).expect("verify");
    auth.logout(&caller).expect("logout");
    assert!(matches!(
        auth.verify(&a.token),
        Err(AuthError::TokenRevoked)
    ));
    auth.verify(&b.token).expect("other token still valid");
    let actions: Vec<_> = auth
        .catalog()
        .list_audit(None, 100)
        .expect("audit")
        .items
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        ["user.create", "user.login", "user.login", "user.logout"]
    );
}

#[test]
fn failed_logins_lock_the_user_and_the_address() {
    let (auth, password, _dir) = open();
    let addr: IpAddr = "192.0.2.7".parse().expect("ip");
    for _ in 0..3 {
        assert!(matches!(
            auth.login("admin", "wrong password", Some(addr)),
            Err(AuthError::BadCredentials)
        ));
    }
    // Even the right password is refused while locked out.
    assert!(matches!(
        auth.login("admin", &password, None),
        Err(AuthError::LockedOut(_))
    ));
    // The address is locked for other names too.
    assert!(matches!(
        auth.login("someone", "whatever1", Some(addr)),
        Err(AuthError::LockedOut(_))
    ));
    let failed = auth
        .catalog()
        .list_audit(None, 100)
        .expect("audit")
        .items
        .iter()
        .filter(|e| e.action == "user.login_failed")
        .count();
    assert_eq!(failed, 5);
}

#[test]
fn user_management_roles_password_change_and_profile() {
    let (auth, password, _dir) = open();
    let root = auth
        .verify(&auth.login("admin", &password, None).expect("login").token)
        .expect("verify");
    auth.create_user(&root, "op", "operator-pw", Role::Operator, "op@x", 60)
        .expect("create");
    assert!(matches!(
        auth.create_user(&root, "short", "abc", Role::User, "", 0),
        Err(AuthError::InvalidParameter(_))
    ));
    assert!(matches!(
        auth.create_user(&root, "norole", "long enough", Role::Unspecified, "", 0),
        Err(AuthError::InvalidParameter(_))
    ));
    let t = auth.login("op", "operator-pw", None).expect("login");
    assert_eq!(t.role, Role::Operator);
    let validity = t.expires_at - OffsetDateTime::now_utc();
    assert!(validity.whole_minutes() >= 59 && validity.whole_minutes() <= 60);
    let op = auth.verify(&t.token).expect("verify");
    // Someone else's password needs sysadmin.
    assert!(matches!(
        auth.change_password(&op, "admin", "", "new password"),
        Err(AuthError::Forbidden(_))
    ));
    assert!(matches!(
        auth.change_password(&op, "op", "not it", "new password"),
        Err(AuthError::BadCredentials)
    ));
    auth.change_password(&op, "op", "operator-pw", "new password")
        .expect("change");
    assert!(matches!(
        auth.verify(&t.token),
        Err(AuthError::TokenRevoked)
    ));
    std::thread::sleep(Duration::from_millis(1100));
    let token = auth.login("op", "new password", None).expect("login").token;
    let op = auth.verify(&token).expect("verify");
    let p = auth.update_profile(&op, "new@x", 999_999).expect("profile");
    assert_eq!(p.email_address, "new@x");
    assert_eq!(p.session_timeout_minutes, 7 * 24 * 60, "clamped to 7 days");
    auth.delete_user(&root, "op").expect("delete");
    assert!(matches!(auth.verify(&token), Err(AuthError::TokenRevoked)));
}
