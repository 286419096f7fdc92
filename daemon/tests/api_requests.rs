//! RequestService and ObjectService over real TCP gRPC against an in-process daemon on the
//! simulated library (time scale 0), and the `tapectl` binary against the same server.

mod engine_common;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use engine_common::{bytes, config, start_with, write_files, Harness};
use serde_json::Value;
use tapelib_daemon::api;
use tapelib_daemon::auth::Auth;
use tapelib_daemon::engine::Engine;
use tapelib_proto::prost_types::Timestamp;
use tapelib_proto::v1::library_service_client::LibraryServiceClient;
use tapelib_proto::v1::object_service_client::ObjectServiceClient;
use tapelib_proto::v1::request_service_client::RequestServiceClient;
use tapelib_proto::v1::system_service_client::SystemServiceClient;
use tapelib_proto::v1::{
    request_info, request_parameters, submit_verify_request, ChangePriorityRequest, DivaError,
    DriveState, GetObjectInfoRequest, GetRequestRequest, ListAuditLogRequest, ListDrivesRequest,
    ListObjectsRequest, ListRequestsRequest, ObjectRef, PageRequest, RequestInfo, RequestState,
    RequestType, SetDriveStateRequest, SubmitArchiveRequest, SubmitDeleteRequest,
    SubmitEjectRequest, SubmitInsertRequest, SubmitPartialRestoreRequest, SubmitRestoreRequest,
    SubmitVerifyRequest, WatchRequestRequest,
};
use tapelib_proto::v1::{CancelRequestRequest, DivaStatusCode, SubmitImportRequest};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Channel;

/// The actor of calls that reach the services without the enforcement layer.
const ACTOR: &str = "anonymous";

/// A daemon serving on 127.0.0.1 until `stop`.
struct Daemon {
    addr: String,
    channel: Channel,
    engine: Arc<Engine>,
    server: tokio::task::JoinHandle<Result<(), tonic::transport::Error>>,
    stop: tokio::sync::oneshot::Sender<()>,
    dir: tempfile::TempDir,
}

async fn daemon() -> Daemon {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(dir.path(), |_| {});
    let Harness { engine, dir } = tokio::task::spawn_blocking(move || start_with(dir, cfg))
        .await
        .expect("start");
    let engine = Arc::new(engine);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    // The services without the enforcement layer: these tests are about requests and
    // objects; roles and tokens have their own tests.
    let (auth, _) = Auth::open(
        engine.state().catalog.clone(),
        &engine.state().config.auth,
        &dir.path().join("auth"),
    )
    .expect("auth");
    let (stopping_tx, stopping) = tokio::sync::watch::channel(false);
    let routes = api::routes_until(engine.clone(), Arc::new(auth), stopping);
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_routes(routes)
            .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async move {
                let _ = stopped.await;
                stopping_tx.send_replace(true);
            }),
    );
    let channel = Channel::from_shared(addr.clone())
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    Daemon {
        addr,
        channel,
        engine,
        server,
        stop,
        dir,
    }
}

impl Daemon {
    /// Stops the server, then the engine, before the data directory goes away.
    async fn stop(self) {
        let Daemon {
            channel,
            engine,
            server,
            stop,
            dir,
            ..
        } = self;
        drop(channel);
        let _ = stop.send(());
        tokio::time::timeout(Duration::from_secs(20), server)
            .await
            .expect("server stopped in time")
            .expect("server task")
            .expect("server");
        tokio::task::spawn_blocking(move || {
            engine.shutdown();
            drop(engine);
            drop(dir);
        })
        .await
        .expect("engine stopped");
    }

    fn requests(&self) -> RequestServiceClient<Channel> {
        RequestServiceClient::new(self.channel.clone())
    }

    fn objects(&self) -> ObjectServiceClient<Channel> {
        ObjectServiceClient::new(self.channel.clone())
    }

    fn demo(&self) -> std::path::PathBuf {
        self.dir.path().join("demo")
    }

    async fn archive(&self, collection: &str, name: &str, files: &[&str]) -> u64 {
        self.requests()
            .submit_archive(archive_req(collection, name, files))
            .await
            .expect("submit archive")
            .into_inner()
            .request_id
    }

    /// Watches `id` to its end; returns every update.
    async fn watch(&self, id: u64) -> Vec<RequestInfo> {
        let mut stream = self
            .requests()
            .watch_request(WatchRequestRequest { request_id: id })
            .await
            .expect("watch")
            .into_inner();
        let mut out = Vec::new();
        let run = async {
            while let Some(m) = stream.message().await.expect("stream") {
                out.push(m.request.expect("request"));
            }
        };
        tokio::time::timeout(Duration::from_secs(30), run)
            .await
            .expect("watch ended in time");
        out
    }

    async fn get(&self, id: u64) -> RequestInfo {
        self.requests()
            .get_request(GetRequestRequest { request_id: id })
            .await
            .expect("get")
            .into_inner()
            .request
            .expect("request")
    }

    async fn drives(&self, state: DriveState) {
        let mut lib = LibraryServiceClient::new(self.channel.clone());
        let drives = lib
            .list_drives(ListDrivesRequest::default())
            .await
            .expect("drives")
            .into_inner()
            .drives;
        for d in drives {
            lib.set_drive_state(SetDriveStateRequest {
                drive: d.name,
                state: state as i32,
                reason: "test".into(),
            })
            .await
            .expect("drive state");
        }
    }
}

fn object(collection: &str, name: &str) -> Option<ObjectRef> {
    Some(ObjectRef {
        name: name.into(),
        collection: collection.into(),
    })
}

fn archive_req(collection: &str, name: &str, files: &[&str]) -> SubmitArchiveRequest {
    SubmitArchiveRequest {
        object: object(collection, name),
        components: files.iter().map(|f| f.to_string()).collect(),
        source_server: "demo".into(),
        media: "default".into(),
        ..Default::default()
    }
}

fn diva(status: &tonic::Status) -> DivaStatusCode {
    DivaError::from_status(status)
        .expect("DIVA details")
        .status_code()
        .expect("known code")
}

fn now() -> Timestamp {
    Timestamp::from(std::time::SystemTime::now())
}

fn state(info: &RequestInfo) -> RequestState {
    RequestState::try_from(info.state).expect("state")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_watch_object_info_restore_round_trip() {
    let d = daemon().await;
    let files = [
        ("clip/a.bin", bytes(1, 300_000)),
        ("clip/b.bin", bytes(2, 1000)),
        ("notes.txt", b"tape".to_vec()),
    ];
    write_files(&d.demo(), &files);
    let id = d.archive("news", "evening", &["clip", "notes.txt"]).await;
    let updates = d.watch(id).await;
    let last = updates.last().expect("updates");
    assert_eq!(state(last), RequestState::Completed, "{last:?}");
    assert_eq!(last.progress_percent, 100);
    assert_eq!(last.submitted_by, ACTOR);
    assert_eq!(last.r#type, RequestType::Archive as i32);
    // Updates only on change: no two equal messages in a row.
    assert!(updates.windows(2).all(|w| w[0] != w[1]));

    let info = d
        .objects()
        .get_object_info(GetObjectInfoRequest {
            object: object("news", "evening"),
        })
        .await
        .expect("object info")
        .into_inner()
        .object
        .expect("object");
    assert!(info.online);
    assert_eq!(info.files.len(), 3);
    assert_eq!(info.total_size_bytes, 301_004);
    assert_eq!(info.instances.len(), 1);
    let inst = &info.instances[0];
    assert!(inst.online && !inst.tapes.is_empty() && inst.tapes[0].online);
    assert_eq!(inst.files.len(), 3);
    let a = info
        .files
        .iter()
        .find(|f| f.path == "clip/a.bin")
        .expect("a");
    assert_eq!(a.crc32, crc32fast::hash(&files[0].1));

    let rid = d
        .requests()
        .submit_restore(SubmitRestoreRequest {
            object: object("news", "evening"),
            destination_server: "restore".into(),
            file_path_root: "out".into(),
            priority: Some(80),
            ..Default::default()
        })
        .await
        .expect("restore")
        .into_inner()
        .request_id;
    let last = d.watch(rid).await.pop().expect("updates");
    assert_eq!(state(&last), RequestState::Completed, "{last:?}");
    assert_eq!(last.priority, 80);
    for (p, data) in &files {
        let back = std::fs::read(d.dir.path().join("restore/out").join(p)).expect("restored");
        assert_eq!(&back, data, "{p}");
    }

    // Refusals carry their DIVA code.
    let e = d
        .requests()
        .submit_archive(archive_req("news", "evening", &["notes.txt"]))
        .await
        .expect_err("duplicate");
    assert_eq!(diva(&e), DivaStatusCode::DivaErrObjectAlreadyExists);
    assert_eq!(e.code(), tonic::Code::AlreadyExists);
    let mut bad = archive_req("news", "other", &["notes.txt"]);
    bad.source_server = "nowhere".into();
    let e = d.requests().submit_archive(bad).await.expect_err("server");
    assert_eq!(
        diva(&e),
        DivaStatusCode::DivaErrSourceOrDestinationDoesntExist
    );
    let mut bad = archive_req("news", "other", &["notes.txt"]);
    bad.priority = Some(101);
    let e = d
        .requests()
        .submit_archive(bad)
        .await
        .expect_err("priority");
    assert_eq!(diva(&e), DivaStatusCode::DivaErrInvalidParameter);
    let e = d
        .requests()
        .submit_restore(SubmitRestoreRequest {
            object: object("news", "nope"),
            destination_server: "restore".into(),
            ..Default::default()
        })
        .await
        .expect_err("unknown object");
    assert_eq!(diva(&e), DivaStatusCode::DivaErrObjectDoesntExist);
    let e = d
        .objects()
        .get_object_info(GetObjectInfoRequest {
            object: object("news", "nope"),
        })
        .await
        .expect_err("unknown object");
    assert_eq!(diva(&e), DivaStatusCode::DivaErrObjectDoesntExist);
    assert_eq!(e.code(), tonic::Code::NotFound);
    let e = d
        .requests()
        .get_request(GetRequestRequest { request_id: 9999 })
        .await
        .expect_err("unknown request");
    assert_eq!(diva(&e), DivaStatusCode::DivaErrNoSuchRequest);
    let e = d
        .requests()
        .watch_request(WatchRequestRequest { request_id: 9999 })
        .await
        .expect_err("unknown request");
    assert_eq!(diva(&e), DivaStatusCode::DivaErrNoSuchRequest);
    let e = d
        .requests()
        .cancel_request(CancelRequestRequest { request_id: id })
        .await
        .expect_err("finished");
    assert_eq!(diva(&e), DivaStatusCode::DivaErrNotCancelable);
    let e = d
        .requests()
        .submit_partial_restore(SubmitPartialRestoreRequest::default())
        .await
        .expect_err("partial restore without a selection");
    assert_eq!(diva(&e), DivaStatusCode::DivaErrInvalidParameter);

    // Verify: the target is kept as submitted; no target is refused.
    let vid = d
        .requests()
        .submit_verify(SubmitVerifyRequest {
            target: Some(submit_verify_request::Target::Object(
                object("news", "evening").expect("ref"),
            )),
            instance: Some(1),
            priority: Some(5),
        })
        .await
        .expect("verify")
        .into_inner()
        .request_id;
    let v = d.get(vid).await;
    assert_eq!(v.r#type, RequestType::Verify as i32);
    assert_eq!(v.object, object("news", "evening"));
    let Some(request_parameters::Parameters::Verify(p)) = v.parameters.and_then(|p| p.parameters)
    else {
        panic!("verify parameters");
    };
    assert_eq!(p.instance, Some(1));
    assert_eq!(p.priority, Some(5));
    let e = d
        .requests()
        .submit_verify(SubmitVerifyRequest::default())
        .await
        .expect_err("no target");
    assert_eq!(diva(&e), DivaStatusCode::DivaErrInvalidParameter);
    let e = d
        .requests()
        .submit_import(SubmitImportRequest {
            barcodes: vec!["TL0001L8".into()],
            media: "default".into(),
            document: "{}".into(),
            ..Default::default()
        })
        .await
        .expect_err("document");
    assert_eq!(diva(&e), DivaStatusCode::DivaErrInvalidParameter);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_and_objects_list_with_paging_and_filters() {
    let d = daemon().await;
    write_files(
        &d.demo(),
        &[
            ("a", bytes(3, 10)),
            ("b", bytes(4, 10)),
            ("c", bytes(5, 10)),
        ],
    );
    let first = d.archive("col", "a", &["a"]).await;
    assert_eq!(
        state(d.watch(first).await.last().expect("a")),
        RequestState::Completed
    );
    let second = d.archive("col", "b", &["b"]).await;
    d.watch(second).await;
    // Timestamps have nanoseconds; a short pause keeps the instants apart anyway.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let between = now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let third = d.archive("other", "c", &["c"]).await;
    d.watch(third).await;

    // Newest first, two per page.
    let page = |n: u32| ListRequestsRequest {
        page: Some(PageRequest { page: n, size: 2 }),
        ..Default::default()
    };
    let p1 = d
        .requests()
        .list_requests(page(1))
        .await
        .expect("p1")
        .into_inner();
    let ids: Vec<u64> = p1.requests.iter().map(|r| r.request_id).collect();
    assert_eq!(ids, vec![third, second]);
    let info = p1.page.expect("page");
    assert!(info.has_more);
    assert_eq!(info.total_items, 3);
    let p2 = d
        .requests()
        .list_requests(page(2))
        .await
        .expect("p2")
        .into_inner();
    assert_eq!(p2.requests.len(), 1);
    assert_eq!(p2.requests[0].request_id, first);
    assert!(!p2.page.expect("page").has_more);

    let since = d
        .requests()
        .list_requests(ListRequestsRequest {
            since: Some(between),
            ..Default::default()
        })
        .await
        .expect("since")
        .into_inner();
    assert_eq!(since.requests.len(), 1);
    assert_eq!(since.requests[0].request_id, third);
    let by_object = d
        .requests()
        .list_requests(ListRequestsRequest {
            object: object("col", "b"),
            ..Default::default()
        })
        .await
        .expect("object")
        .into_inner();
    assert_eq!(by_object.requests.len(), 1);
    assert_eq!(by_object.requests[0].request_id, second);

    let del = d
        .requests()
        .submit_delete(SubmitDeleteRequest {
            object: object("col", "a"),
            ..Default::default()
        })
        .await
        .expect("delete")
        .into_inner()
        .request_id;
    assert_eq!(
        state(d.watch(del).await.last().expect("del")),
        RequestState::Completed
    );
    let filtered = d
        .requests()
        .list_requests(ListRequestsRequest {
            states: vec![RequestState::Completed as i32],
            types: vec![RequestType::Delete as i32, RequestType::Restore as i32],
            ..Default::default()
        })
        .await
        .expect("filter")
        .into_inner();
    assert_eq!(
        filtered
            .requests
            .iter()
            .map(|r| r.request_id)
            .collect::<Vec<_>>(),
        vec![del]
    );
    let pending = d
        .requests()
        .list_requests(ListRequestsRequest {
            states: vec![RequestState::Pending as i32],
            ..Default::default()
        })
        .await
        .expect("pending")
        .into_inner();
    assert!(pending.requests.is_empty());
    // UNSPECIFIED is ignored; an unknown value is refused.
    let list = |states: Vec<i32>| ListRequestsRequest {
        states,
        ..Default::default()
    };
    let r = d
        .requests()
        .list_requests(list(vec![RequestState::Unspecified as i32]))
        .await
        .expect("unspecified")
        .into_inner();
    assert_eq!(r.requests.len(), 4);
    let r = d
        .requests()
        .list_requests(list(vec![
            RequestState::Pending as i32,
            RequestState::Unspecified as i32,
        ]))
        .await
        .expect("pending")
        .into_inner();
    assert!(r.requests.is_empty());
    let e = d
        .requests()
        .list_requests(list(vec![99]))
        .await
        .expect_err("unknown state");
    assert_eq!(diva(&e), DivaStatusCode::DivaErrInvalidParameter);

    // Objects in (collection, name) order, paged; since-date; deletions on request.
    let all = d
        .objects()
        .list_objects(ListObjectsRequest {
            page: Some(PageRequest { page: 1, size: 1 }),
            ..Default::default()
        })
        .await
        .expect("objects")
        .into_inner();
    assert_eq!(all.objects.len(), 1);
    assert_eq!(all.objects[0].object, object("col", "b"));
    let info = all.page.expect("page");
    assert_eq!((info.total_items, info.has_more), (2, true));
    let since = |include_deleted| ListObjectsRequest {
        since: Some(between),
        include_deleted,
        ..Default::default()
    };
    let changed = d
        .objects()
        .list_objects(since(false))
        .await
        .expect("since")
        .into_inner();
    let names: Vec<_> = changed.objects.iter().map(|o| o.object.clone()).collect();
    assert_eq!(names, vec![object("other", "c")]);
    let changed = d
        .objects()
        .list_objects(since(true))
        .await
        .expect("since")
        .into_inner();
    let rows: Vec<_> = changed
        .objects
        .iter()
        .map(|o| (o.object.clone(), o.deleted))
        .collect();
    assert_eq!(
        rows,
        vec![(object("col", "a"), true), (object("other", "c"), false)]
    );
    let one = d
        .objects()
        .list_objects(ListObjectsRequest {
            collection: "other".into(),
            ..Default::default()
        })
        .await
        .expect("collection")
        .into_inner();
    assert_eq!(one.objects.len(), 1);
    assert_eq!(one.objects[0].file_count, 1);
    assert_eq!(one.objects[0].instance_count, 1);

    // The audit log, newest first, filtered by subject and action.
    let log = SystemServiceClient::new(d.channel.clone())
        .list_audit_log(ListAuditLogRequest {
            subject: "col/a".into(),
            action_prefix: "object.".into(),
            ..Default::default()
        })
        .await
        .expect("audit")
        .into_inner();
    let actions: Vec<&str> = log.entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, vec!["object.delete", "object.archive"]);
    assert!(log.entries[0].seq > log.entries[1].seq);
    let requests_by_grpc = SystemServiceClient::new(d.channel.clone())
        .list_audit_log(ListAuditLogRequest {
            actor: ACTOR.into(),
            action_prefix: "request.submit".into(),
            page: Some(PageRequest { page: 1, size: 2 }),
            ..Default::default()
        })
        .await
        .expect("audit")
        .into_inner();
    assert_eq!(requests_by_grpc.entries.len(), 2);
    assert_eq!(requests_by_grpc.page.expect("page").total_items, 4);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_requests_change_priority_and_cancel() {
    let d = daemon().await;
    write_files(&d.demo(), &[("x", bytes(6, 100)), ("y", bytes(7, 100))]);
    d.drives(DriveState::Down).await;
    let x = d.archive("c", "x", &["x"]).await;
    let y = d.archive("c", "y", &["y"]).await;
    // Nothing runs without an UP drive.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(state(&d.get(x).await), RequestState::Pending);

    let changed = d
        .requests()
        .change_priority(ChangePriorityRequest {
            request_id: y,
            priority: 90,
        })
        .await
        .expect("priority")
        .into_inner()
        .request
        .expect("request");
    assert_eq!(changed.priority, 90);
    assert_eq!(d.get(y).await.priority, 90);
    let e = d
        .requests()
        .change_priority(ChangePriorityRequest {
            request_id: y,
            priority: 200,
        })
        .await
        .expect_err("out of range");
    assert_eq!(diva(&e), DivaStatusCode::DivaErrInvalidParameter);

    // A watcher of x sees it end CANCELLED.
    let watcher = {
        let mut client = d.requests();
        tokio::spawn(async move {
            let mut s = client
                .watch_request(WatchRequestRequest { request_id: x })
                .await
                .expect("watch")
                .into_inner();
            let mut last = None;
            while let Some(m) = s.message().await.expect("stream") {
                last = m.request;
            }
            last.expect("update")
        })
    };
    let cancelled = d
        .requests()
        .cancel_request(CancelRequestRequest { request_id: x })
        .await
        .expect("cancel")
        .into_inner()
        .request
        .expect("request");
    assert_eq!(state(&cancelled), RequestState::Cancelled);
    let seen = tokio::time::timeout(Duration::from_secs(10), watcher)
        .await
        .expect("watch ended")
        .expect("watch task");
    assert_eq!(state(&seen), RequestState::Cancelled);
    let e = d
        .requests()
        .change_priority(ChangePriorityRequest {
            request_id: x,
            priority: 10,
        })
        .await
        .expect_err("not pending");
    assert_eq!(diva(&e), DivaStatusCode::DivaErrInvalidParameter);

    d.drives(DriveState::Up).await;
    let last = d.watch(y).await.pop().expect("y");
    assert_eq!(state(&last), RequestState::Completed, "{last:?}");
    assert!(d
        .engine
        .state()
        .catalog
        .get_object("c", "x")
        .expect("catalog")
        .is_none());
    d.stop().await;
}

/// Runs `tapectl --addr ADDR ARGS...` and returns (exit code, stdout, stderr).
async fn tapectl_full(addr: &str, args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tapectl"));
    cmd.arg("--addr").arg(addr).args(args);
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("run tapectl");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().expect("exit code"), stdout, stderr)
}

/// Runs `tapectl --addr ADDR ARGS...` and returns (exit code, stdout).
async fn tapectl(addr: &str, args: &[&str]) -> (i32, String) {
    let (code, stdout, stderr) = tapectl_full(addr, args).await;
    if code != 0 {
        eprintln!("tapectl stderr: {stderr}");
    }
    (code, stdout)
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tapectl_submits_waits_and_reports_json() {
    let d = daemon().await;
    let content = bytes(8, 50_000);
    write_files(&d.demo(), &[("dir/f.bin", content.clone())]);
    let (code, out) = tapectl(
        &d.addr,
        &[
            "--json", "archive", "show", "ep1", "dir", "--server", "demo", "--media", "default",
            "--wait",
        ],
    )
    .await;
    assert_eq!(code, 0, "{out}");
    let v = parse(&out);
    assert_eq!(v["state"], "COMPLETED");
    assert_eq!(v["type"], "archive");
    assert_eq!(v["result"]["archive"]["file_count"], 1);
    let id = v["request_id"].as_u64().expect("id");

    let (code, out) = tapectl(&d.addr, &["requests", "--json"]).await;
    assert_eq!(code, 0);
    let v = parse(&out);
    assert_eq!(v["requests"][0]["request_id"], id);
    assert_eq!(v["page"]["total_items"], 1);

    let (code, out) = tapectl(&d.addr, &["object", "show", "ep1", "--json"]).await;
    assert_eq!(code, 0);
    let v = parse(&out);
    assert_eq!(v["files"][0]["path"], "dir/f.bin");
    assert_eq!(v["files"][0]["size_bytes"], 50_000);
    assert_eq!(v["instances"][0]["online"], true);
    assert_eq!(
        v["files"][0]["crc32"],
        format!("{:08x}", crc32fast::hash(&content))
    );
    let (code, out) = tapectl(&d.addr, &["--json", "audit", "--action", "object."]).await;
    assert_eq!(code, 0, "{out}");
    let v = parse(&out);
    assert_eq!(v["entries"][0]["action"], "object.archive");
    assert_eq!(v["entries"][0]["subject"], "show/ep1");
    assert_eq!(v["entries"][0]["actor"], ACTOR);
    let (code, out) = tapectl(&d.addr, &["objects"]).await;
    assert_eq!(code, 0);
    assert!(
        out.lines()
            .any(|l| l.starts_with("show") && l.contains("ep1")),
        "{out}"
    );

    let (code, out) = tapectl(&d.addr, &["watch", &id.to_string()]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("COMPLETED"), "{out}");
    let (code, out) = tapectl(&d.addr, &["request", &id.to_string()]).await;
    assert_eq!(code, 0);
    assert!(out.contains("show/ep1"), "{out}");

    // A restore whose destination appears while it waits for a drive ends ABORTED at
    // run time: watch exits 1.
    d.drives(DriveState::Down).await;
    let (code, out) = tapectl(
        &d.addr,
        &[
            "restore",
            "show",
            "ep1",
            "--server",
            "restore",
            "--path-root",
            "clash",
            "--no-overwrite",
        ],
    )
    .await;
    assert_eq!(code, 0, "{out}");
    let rid: u64 = out
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("request id in {out:?}"));
    write_files(
        &d.dir.path().join("restore/clash"),
        &[("dir/f.bin", vec![1])],
    );
    d.drives(DriveState::Up).await;
    let (code, out) = tapectl(&d.addr, &["--json", "watch", &rid.to_string()]).await;
    let v = parse(&out);
    assert_eq!(v["state"], "ABORTED", "{out}");
    assert_eq!(code, 1);

    // A cancelled request: exit 1.
    write_files(&d.demo(), &[("late.bin", bytes(9, 10))]);
    d.drives(DriveState::Down).await;
    let (code, out) = tapectl(
        &d.addr,
        &[
            "--json", "archive", "show", "ep2", "late.bin", "--server", "demo", "--media",
            "default",
        ],
    )
    .await;
    assert_eq!(code, 0, "{out}");
    let pid = parse(&out)["request_id"].as_u64().expect("id");
    let (code, out) = tapectl(&d.addr, &["--json", "priority", &pid.to_string(), "75"]).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(parse(&out)["priority"], 75);
    let (code, out) = tapectl(&d.addr, &["cancel", &pid.to_string()]).await;
    assert_eq!(code, 0, "{out}");
    let (code, out) = tapectl(&d.addr, &["watch", &pid.to_string()]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("CANCELLED"), "{out}");

    // Refusals print the DIVA name and exit 1.
    let (code, _) = tapectl(&d.addr, &["object", "show", "missing"]).await;
    assert_eq!(code, 1);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eject_takes_an_object_offline_and_insert_brings_it_back() {
    let d = daemon().await;
    write_files(&d.demo(), &[("f", bytes(10, 1000))]);
    let id = d.archive("vault", "o", &["f"]).await;
    let done = d.watch(id).await.pop().expect("archive");
    let Some(request_info::Result::Archive(a)) = &done.result else {
        panic!("archive result: {done:?}");
    };
    let tape = a.barcodes[0].clone();
    let info = |d: &Daemon| {
        let mut client = d.objects();
        async move {
            client
                .get_object_info(GetObjectInfoRequest {
                    object: object("vault", "o"),
                })
                .await
                .expect("object")
                .into_inner()
                .object
                .expect("object")
        }
    };

    let e = d
        .requests()
        .submit_eject(SubmitEjectRequest {
            barcodes: vec!["NOPE01L8".into()],
            ..Default::default()
        })
        .await
        .expect_err("unknown tape");
    assert_eq!(diva(&e), DivaStatusCode::DivaErrTapeDoesntExist);
    let eid = d
        .requests()
        .submit_eject(SubmitEjectRequest {
            barcodes: vec![tape.clone()],
            comments: "shelf 3".into(),
            priority: None,
        })
        .await
        .expect("eject")
        .into_inner()
        .request_id;
    let ejected = d.watch(eid).await.pop().expect("eject");
    assert_eq!(state(&ejected), RequestState::Completed, "{ejected:?}");
    let Some(request_info::Result::Eject(r)) = &ejected.result else {
        panic!("eject result: {ejected:?}");
    };
    assert_eq!(r.tapes[0].barcode, tape);

    let o = info(&d).await;
    assert!(!o.online);
    assert!(!o.instances[0].online && !o.instances[0].tapes[0].online);
    let e = d
        .requests()
        .submit_restore(SubmitRestoreRequest {
            object: object("vault", "o"),
            destination_server: "restore".into(),
            ..Default::default()
        })
        .await
        .expect_err("offline");
    assert_eq!(diva(&e), DivaStatusCode::DivaErrObjectOffline);

    let iid = d
        .requests()
        .submit_insert(SubmitInsertRequest::default())
        .await
        .expect("insert")
        .into_inner()
        .request_id;
    let inserted = d.watch(iid).await.pop().expect("insert");
    assert_eq!(state(&inserted), RequestState::Completed, "{inserted:?}");
    let Some(request_info::Result::Insert(r)) = &inserted.result else {
        panic!("insert result: {inserted:?}");
    };
    assert!(r.tapes.iter().any(|t| t.barcode == tape && t.known));
    assert!(info(&d).await.online);
    let e = d
        .requests()
        .submit_insert(SubmitInsertRequest {
            library: "nowhere".into(),
            ..Default::default()
        })
        .await
        .expect_err("unknown library");
    assert_eq!(e.code(), tonic::Code::NotFound);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_watch_does_not_hold_up_shutdown() {
    let d = daemon().await;
    write_files(&d.demo(), &[("w", bytes(11, 10))]);
    d.drives(DriveState::Down).await;
    let id = d.archive("c", "w", &["w"]).await;
    let mut stream = d
        .requests()
        .watch_request(WatchRequestRequest { request_id: id })
        .await
        .expect("watch")
        .into_inner();
    let first = stream.message().await.expect("first").expect("update");
    assert_eq!(
        first.request.map(|r| state(&r)),
        Some(RequestState::Pending)
    );
    // `stop` waits for the server to finish, which it can only do once the stream ends.
    d.stop().await;
    let end = tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("stream ended");
    match end {
        Err(status) => assert_eq!(status.code(), tonic::Code::Unavailable),
        Ok(None) => {}
        Ok(Some(m)) => panic!("unexpected update after shutdown: {m:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tapectl_copies_to_another_group_and_deletes_an_instance() {
    let d = daemon().await;
    d.engine
        .state()
        .catalog
        .create_group(
            &tapelib_daemon::catalog::TapeGroup {
                name: "offsite".into(),
                description: String::new(),
                generation: None,
                created: time::OffsetDateTime::now_utc(),
            },
            "test",
        )
        .expect("group");
    write_files(&d.demo(), &[("m.mxf", bytes(12, 20_000))]);
    let (code, out) = tapectl(
        &d.addr,
        &[
            "archive", "news", "m", "m.mxf", "--server", "demo", "--media", "default", "--wait",
        ],
    )
    .await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("COMPLETED"), "{out}");

    let (code, _, err) = tapectl_full(&d.addr, &["copy", "news", "m", "--media", "nowhere"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("DIVA_ERR_GROUP_DOESNT_EXIST"), "{err}");
    let (code, out) = tapectl(
        &d.addr,
        &[
            "--json", "copy", "news", "m", "--media", "offsite", "--wait",
        ],
    )
    .await;
    assert_eq!(code, 0, "{out}");
    let v = parse(&out);
    assert_eq!(v["state"], "COMPLETED");
    assert_eq!(v["result"]["copy"]["source_instance_id"], 1);
    let copy = v["result"]["copy"]["instance_id"]
        .as_u64()
        .expect("instance");
    let (_, out) = tapectl(&d.addr, &["--json", "object", "news", "m"]).await;
    let v = parse(&out);
    let groups: Vec<&str> = v["instances"]
        .as_array()
        .expect("instances")
        .iter()
        .filter_map(|i| i["group"].as_str())
        .collect();
    assert_eq!(groups, vec!["default", "offsite"]);

    let (code, out) = tapectl(
        &d.addr,
        &["--json", "delete", "news", "m", "--instance", "1", "--wait"],
    )
    .await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(parse(&out)["result"]["delete"]["object_deleted"], false);
    // The copy is the last instance now: deleting it alone is refused.
    let (code, out, err) = tapectl_full(
        &d.addr,
        &[
            "--json",
            "delete",
            "news",
            "m",
            "--instance",
            &copy.to_string(),
            "--wait",
        ],
    )
    .await;
    assert_eq!(code, 1, "{out}");
    assert!(
        err.contains("DIVA_ERR_LAST_INSTANCE") || out.contains("DIVA_ERR_LAST_INSTANCE"),
        "{out}{err}"
    );
    let (_, out) = tapectl(&d.addr, &["--json", "object", "news", "m"]).await;
    assert_eq!(parse(&out)["instances"].as_array().map(Vec::len), Some(1));
    d.stop().await;
}
