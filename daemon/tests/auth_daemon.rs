//! Authentication against the real `tapelibd`: the first-start sysadmin, tokens over TCP,
//! the local socket by peer credentials, every role against every method of the
//! permission table, token expiry, revocation, and `tapectl login`/`logout`.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tapelib_daemon::auth::client::{self, AuthedChannel, Target};
use tapelib_daemon::auth::{Access, METHODS};
use tapelib_proto::v1::auth_service_client::AuthServiceClient;
use tapelib_proto::v1::library_service_client::LibraryServiceClient;
use tapelib_proto::v1::system_service_client::SystemServiceClient;
use tapelib_proto::v1::{
    CreateUserRequest, DivaError, GetVersionRequest, ListDrivesRequest, LoginRequest,
    LogoutRequest, Role,
};
use tonic::Code;

const SIM: &str = r#"
storage_slots = 4
ie_slots = 1
time_scale = 0.0

[[drive]]
generation = "LTO-8"
serial = "1013000001"

[[cartridge]]
barcode = "A00001L8"
slot = 1
"#;

struct Daemon {
    child: Child,
    addr: String,
    dir: tempfile::TempDir,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Daemon {
    fn socket(&self) -> Target {
        Target::Socket(self.dir.path().join("tapelibd.sock"))
    }

    fn tcp(&self) -> Target {
        Target::Addr(self.addr.clone())
    }

    fn password(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("initial-sysadmin-password"))
            .expect("password file")
            .trim()
            .to_string()
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

fn write_config(dir: &Path, port: u16) -> PathBuf {
    std::fs::write(dir.join("sim.toml"), SIM).expect("write simulator config");
    let config = format!(
        r#"
catalog = "catalog"

[listen]
grpc = "127.0.0.1:{port}"
unix_socket = "tapelibd.sock"

[auth]
token_validity = "3s"
argon2_memory_kib = 64
argon2_iterations = 1
max_failed_logins = 3

[[library]]
name = "lib0"
changer = {{ sim = "changer0" }}

[library.simulator]
state_dir = "sim"
config_file = "sim.toml"

[[library.drive]]
device = {{ sim = "drive0" }}
"#
    );
    let path = dir.join("tapelibd.toml");
    std::fs::write(&path, config).expect("write daemon config");
    path
}

async fn start() -> Daemon {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let config = write_config(dir.path(), port);
    let child = Command::new(env!("CARGO_BIN_EXE_tapelibd"))
        .arg("--config")
        .arg(&config)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("tapelibd starts");
    let mut daemon = Daemon {
        child,
        addr: format!("http://127.0.0.1:{port}"),
        dir,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(Some(status)) = daemon.child.try_wait() {
            panic!("tapelibd exited early: {status}");
        }
        if let Ok(ch) = client::connect(&daemon.tcp()).await {
            if SystemServiceClient::new(ch)
                .get_version(GetVersionRequest {})
                .await
                .is_ok()
            {
                break;
            }
        }
        assert!(Instant::now() < deadline, "tapelibd never answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    daemon
}

async fn channel(target: &Target, token: Option<&str>) -> AuthedChannel {
    client::connect_with_token(target, token)
        .await
        .expect("connect")
}

async fn login(d: &Daemon, user: &str, password: &str) -> Result<String, tonic::Status> {
    AuthServiceClient::new(channel(&d.tcp(), None).await)
        .login(LoginRequest {
            username: user.into(),
            password: password.into(),
        })
        .await
        .map(|r| r.into_inner().token)
}

async fn list_drives(target: &Target, token: Option<&str>) -> Result<(), tonic::Status> {
    LibraryServiceClient::new(channel(target, token).await)
        .list_drives(ListDrivesRequest::default())
        .await
        .map(|_| ())
}

fn access_denied(s: &tonic::Status, code: Code) {
    assert_eq!(s.code(), code, "{s:?}");
    let d = DivaError::from_status(s).expect("DIVA details");
    assert_eq!(d.name, "DIVA_ERR_ACCESS_DENIED");
    assert_eq!(d.code, 1035);
}

/// Calls `path` with an empty message (every field default) and returns the status code.
async fn call_empty(target: &Target, token: &str, path: &'static str) -> Code {
    let mut grpc = tonic::client::Grpc::new(channel(target, Some(token)).await);
    grpc.ready().await.expect("ready");
    let codec = tonic::codec::ProstCodec::<(), ()>::default();
    match grpc
        .unary(
            tonic::Request::new(()),
            http::uri::PathAndQuery::from_static(path),
            codec,
        )
        .await
    {
        Ok(_) => Code::Ok,
        Err(s) => s.code(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_roles_socket_and_expiry() {
    let d = start().await;
    let password = d.password();
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(d.dir.path().join("initial-sysadmin-password"))
            .expect("meta")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);

    // Without a token only the public methods answer over TCP.
    access_denied(
        &list_drives(&d.tcp(), None).await.expect_err("no token"),
        Code::Unauthenticated,
    );
    access_denied(
        &list_drives(&d.tcp(), Some("not.a.token"))
            .await
            .expect_err("junk"),
        Code::Unauthenticated,
    );
    // The local socket trusts this process's uid (the daemon's own user).
    list_drives(&d.socket(), None)
        .await
        .expect("peer credentials");

    access_denied(
        &login(&d, "admin", "wrong").await.expect_err("bad password"),
        Code::Unauthenticated,
    );
    let root = login(&d, "admin", &password).await.expect("login");
    list_drives(&d.tcp(), Some(&root)).await.expect("token");

    // One user per role, created by the local sysadmin.
    let mut auth = AuthServiceClient::new(channel(&d.socket(), None).await);
    let mut tokens = Vec::new();
    for role in Role::ALL {
        let name = format!("u-{}", role.diva_name().expect("name"));
        auth.create_user(CreateUserRequest {
            username: name.clone(),
            password: "password-1".into(),
            role: role as i32,
            email_address: String::new(),
            // Longer than the 3 s default of this configuration: the matrix takes a while.
            session_timeout_minutes: 10,
        })
        .await
        .expect("create user");
        tokens.push((role, login(&d, &name, "password-1").await.expect("login")));
    }

    // The role matrix, straight from the permission table. Allowed calls run with empty
    // messages and fail on their input; refused ones never reach the handler.
    // Logout would end the token and ChangePassword checks the target user itself.
    for (role, token) in &tokens {
        for (service, method, access) in METHODS {
            let Access::Role(required) = access else {
                continue;
            };
            if matches!(*method, "Logout" | "ChangePassword" | "WatchRequest") {
                continue;
            }
            let path: &'static str =
                Box::leak(format!("/tapelib.v1.{service}/{method}").into_boxed_str());
            let code = call_empty(&d.tcp(), token, path).await;
            if role.includes(*required) {
                assert!(
                    !matches!(code, Code::PermissionDenied | Code::Unauthenticated),
                    "{role:?} refused {path}: {code:?}"
                );
            } else {
                assert_eq!(code, Code::PermissionDenied, "{role:?} calling {path}");
            }
        }
    }

    // Logout revokes exactly that token.
    let (_, user_token) = &tokens[0];
    AuthServiceClient::new(channel(&d.tcp(), Some(user_token)).await)
        .logout(LogoutRequest {})
        .await
        .expect("logout");
    access_denied(
        &list_drives(&d.tcp(), Some(user_token))
            .await
            .expect_err("revoked"),
        Code::Unauthenticated,
    );
    list_drives(&d.tcp(), Some(&tokens[1].1))
        .await
        .expect("other token");

    // tapectl: login over TCP with the password on stdin, use, logout.
    let cfg = d.dir.path().join("config");
    let tapectl = |args: &[&str], stdin: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tapectl"))
            .arg("--addr")
            .arg(&d.addr)
            .args(args)
            .env("XDG_CONFIG_HOME", &cfg)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tapectl");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write");
        child.wait_with_output().expect("output")
    };
    let out = tapectl(&["drives"], "");
    assert!(!out.status.success(), "no token yet");
    assert!(String::from_utf8_lossy(&out.stderr).contains("DIVA_ERR_ACCESS_DENIED"));
    let out = tapectl(&["login", "u-operator"], "password-1\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token_path = cfg.join("tapelib/token");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&token_path)
            .expect("token file")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let stored = std::fs::read_to_string(&token_path).expect("token");
    assert!(tapectl(&["drives"], "").status.success());
    // An operator may not take a drive down.
    let out = tapectl(&["drive", "down", "drive0", "--reason", "x"], "");
    assert!(!out.status.success());
    let out = tapectl(&["logout"], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!token_path.exists());
    assert!(list_drives(&d.tcp(), Some(stored.trim())).await.is_err());

    // Tokens live 3 s in this configuration; claims are whole seconds and the expiry second
    // itself is still accepted, so allow one more.
    let root = login(&d, "admin", &password).await.expect("login");
    list_drives(&d.tcp(), Some(&root)).await.expect("fresh");
    tokio::time::sleep(Duration::from_millis(4100)).await;
    access_denied(
        &list_drives(&d.tcp(), Some(&root))
            .await
            .expect_err("expired"),
        Code::Unauthenticated,
    );
}
