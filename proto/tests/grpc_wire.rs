//! A DIVA error packed into a gRPC status survives a real HTTP/2 round trip
//! between a tonic server and client on loopback.

use tapelib_proto::diva_status;
use tapelib_proto::v1::object_service_client::ObjectServiceClient;
use tapelib_proto::v1::object_service_server::{ObjectService, ObjectServiceServer};
use tapelib_proto::v1::{
    DivaError, DivaStatusCode, GetObjectInfoRequest, GetObjectInfoResponse, ListObjectsRequest,
    ListObjectsResponse, ObjectInfo, ObjectRef, PageInfo,
};
use tonic::{Request, Response, Status};

/// Knows exactly one object, news/clip1.
struct OneObject;

#[tonic::async_trait]
impl ObjectService for OneObject {
    async fn get_object_info(
        &self,
        request: Request<GetObjectInfoRequest>,
    ) -> Result<Response<GetObjectInfoResponse>, Status> {
        let wanted = request.into_inner().object.unwrap_or_default();
        if wanted.collection == "news" && wanted.name == "clip1" {
            return Ok(Response::new(GetObjectInfoResponse {
                object: Some(ObjectInfo {
                    object: Some(wanted),
                    total_size_bytes: 5,
                    online: true,
                    ..Default::default()
                }),
            }));
        }
        Err(diva_status(
            DivaStatusCode::DivaErrObjectDoesntExist,
            format!(
                "object {}/{} is not in the catalog",
                wanted.collection, wanted.name
            ),
        ))
    }

    async fn list_objects(
        &self,
        _request: Request<ListObjectsRequest>,
    ) -> Result<Response<ListObjectsResponse>, Status> {
        Ok(Response::new(ListObjectsResponse {
            objects: Vec::new(),
            page: Some(PageInfo::default()),
        }))
    }
}

#[tokio::test]
async fn diva_error_details_cross_the_wire() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(ObjectServiceServer::new(OneObject))
            .serve_with_incoming(incoming),
    );

    let mut client = ObjectServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("connect");

    let found = client
        .get_object_info(GetObjectInfoRequest {
            object: Some(ObjectRef {
                name: "clip1".into(),
                collection: "news".into(),
            }),
        })
        .await
        .expect("known object")
        .into_inner();
    assert_eq!(found.object.map(|o| o.total_size_bytes), Some(5));

    let status = client
        .get_object_info(GetObjectInfoRequest {
            object: Some(ObjectRef {
                name: "nope".into(),
                collection: "news".into(),
            }),
        })
        .await
        .expect_err("unknown object");
    assert_eq!(status.code(), tonic::Code::NotFound);
    assert_eq!(status.message(), "object news/nope is not in the catalog");
    let error = DivaError::from_status(&status).expect("DIVA details");
    assert_eq!(
        error.status_code(),
        Ok(DivaStatusCode::DivaErrObjectDoesntExist)
    );
    assert_eq!(error.name, "DIVA_ERR_OBJECT_DOESNT_EXIST");

    server.abort();
}
