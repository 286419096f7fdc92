//! Encoding and decoding of API messages, and the descriptor set.

use proptest::prelude::*;
use prost::Message;
use tapelib_proto::v1::{
    offset_pair, partial_restore_offset, request_info, request_parameters, ArchiveResult,
    ByteRange, DivaStatusCode, Element, ElementType, FileFolder, FileOffsets, FrameRange,
    GetInventoryResponse, LibraryInventory, ObjectRef, OffsetPair, PartialRestoreFormat,
    PartialRestoreOffset, Qos, RequestInfo, RequestParameters, RequestState, RequestType,
    SubmitArchiveRequest, SubmitPartialRestoreRequest, TimecodeRange,
};

fn object(name: &str) -> ObjectRef {
    ObjectRef {
        name: name.into(),
        collection: "news".into(),
    }
}

fn round_trip<M: Message + Default + PartialEq + std::fmt::Debug>(message: &M) {
    let bytes = message.encode_to_vec();
    let back = M::decode(bytes.as_slice()).expect("decodes");
    assert_eq!(&back, message);
}

#[test]
fn partial_restore_of_every_selection_kind() {
    let request = SubmitPartialRestoreRequest {
        object: Some(object("clip1")),
        destination_server: "sourcedest".into(),
        file_path_root: "restore".into(),
        instance: None,
        priority: Some(70),
        qos: Qos::Default as i32,
        format: PartialRestoreFormat::Bytes as i32,
        offsets: vec![
            PartialRestoreOffset {
                selection: Some(partial_restore_offset::Selection::File(FileOffsets {
                    source_file: "a.mov".into(),
                    destination_file: "a-part.mov".into(),
                    pairs: vec![
                        OffsetPair {
                            range: Some(offset_pair::Range::Bytes(ByteRange { begin: 0, end: 1 })),
                        },
                        OffsetPair {
                            range: Some(offset_pair::Range::Timecode(TimecodeRange {
                                begin: "00:00:00:00".into(),
                                end: "00:00:00:01".into(),
                            })),
                        },
                    ],
                })),
            },
            PartialRestoreOffset {
                selection: Some(partial_restore_offset::Selection::FileFolder(FileFolder {
                    name: "reels/".into(),
                    option: String::new(),
                })),
            },
            PartialRestoreOffset {
                selection: Some(partial_restore_offset::Selection::Range(FrameRange {
                    begin: 3,
                    end: 4,
                })),
            },
        ],
        do_not_overwrite: true,
        options: String::new(),
    };
    round_trip(&request);
    // Unset optional fields stay unset; set ones keep their value even when
    // it is the proto3 default.
    let mut zero = request.clone();
    zero.priority = Some(0);
    let back =
        SubmitPartialRestoreRequest::decode(zero.encode_to_vec().as_slice()).expect("decodes");
    assert_eq!(back.priority, Some(0));
    assert_eq!(back.instance, None);
}

#[test]
fn request_info_with_times_parameters_and_result() {
    let info = RequestInfo {
        request_id: 42,
        r#type: RequestType::Archive as i32,
        state: RequestState::Completed as i32,
        priority: 50,
        phase: "done".into(),
        progress_percent: 100,
        bytes_done: 1 << 33,
        bytes_total: 1 << 33,
        status: Some(DivaStatusCode::DivaOk.to_diva_status()),
        abort_reason: String::new(),
        submit_time: Some(prost_types::Timestamp {
            seconds: 1_700_000_000,
            nanos: 1,
        }),
        start_time: Some(prost_types::Timestamp {
            seconds: 1_700_000_001,
            nanos: 0,
        }),
        end_time: Some(prost_types::Timestamp {
            seconds: 1_700_000_100,
            nanos: 999_999_999,
        }),
        object: Some(object("clip1")),
        barcodes: vec!["TL0001L8".into(), "TL0002L8".into()],
        submitted_by: "operator1".into(),
        cancel_requested: false,
        parameters: Some(RequestParameters {
            parameters: Some(request_parameters::Parameters::Archive(
                SubmitArchiveRequest {
                    object: Some(object("clip1")),
                    components: vec!["clip1.mxf".into()],
                    source_server: "ingest".into(),
                    media: "daily".into(),
                    ..Default::default()
                },
            )),
        }),
        result: Some(request_info::Result::Archive(ArchiveResult {
            instance_id: 1,
            barcodes: vec!["TL0001L8".into(), "TL0002L8".into()],
            file_count: 1,
            bytes: 1 << 33,
        })),
    };
    round_trip(&info);
    let back = RequestInfo::decode(info.encode_to_vec().as_slice()).expect("decodes");
    assert_eq!(back.state(), RequestState::Completed);
    assert_eq!(back.r#type(), RequestType::Archive);
    assert_eq!(back.status.map(|s| s.name), Some("DIVA_OK".to_owned()));
}

#[test]
fn inventory_round_trip() {
    let inventory = GetInventoryResponse {
        libraries: vec![LibraryInventory {
            name: "lib0".into(),
            online: true,
            slots: vec![Element {
                r#type: ElementType::Storage as i32,
                address: 0x1000,
                full: true,
                barcode: "TL0001L8".into(),
                source_address: Some(0x100),
                accessible: true,
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    round_trip(&inventory);
}

#[test]
fn descriptor_set_lists_every_service() {
    let set = prost_types::FileDescriptorSet::decode(tapelib_proto::FILE_DESCRIPTOR_SET)
        .expect("descriptor set decodes");
    let mut services: Vec<String> = set
        .file
        .iter()
        .filter(|f| f.package() == "tapelib.v1")
        .flat_map(|f| f.service.iter().map(|s| s.name().to_owned()))
        .collect();
    services.sort();
    assert_eq!(
        services,
        [
            "AuthService",
            "LibraryService",
            "ObjectService",
            "RequestService",
            "SystemService"
        ]
    );
    let request_service = set
        .file
        .iter()
        .flat_map(|f| f.service.iter())
        .find(|s| s.name() == "RequestService")
        .expect("RequestService");
    let watch = request_service
        .method
        .iter()
        .find(|m| m.name() == "WatchRequest")
        .expect("WatchRequest");
    assert!(watch.server_streaming());
    let methods: Vec<&str> = request_service.method.iter().map(|m| m.name()).collect();
    assert_eq!(
        methods,
        [
            "SubmitArchive",
            "SubmitRestore",
            "SubmitPartialRestore",
            "SubmitCopy",
            "SubmitDelete",
            "SubmitInsert",
            "SubmitEject",
            "SubmitRepack",
            "SubmitExport",
            "SubmitImport",
            "SubmitVerify",
            "GetRequest",
            "ListRequests",
            "CancelRequest",
            "ChangePriority",
            "WatchRequest",
        ]
    );
}

fn arb_archive() -> impl Strategy<Value = SubmitArchiveRequest> {
    (
        ".{0,40}",
        ".{0,40}",
        proptest::collection::vec(".{0,60}", 0..8),
        proptest::option::of(0u32..=100),
        0i32..5,
        any::<bool>(),
    )
        .prop_map(
            |(name, collection, components, priority, qos, delete_on_source)| {
                SubmitArchiveRequest {
                    object: Some(ObjectRef { name, collection }),
                    components,
                    source_server: "ingest".into(),
                    file_path_root: String::new(),
                    media: "daily".into(),
                    priority,
                    qos,
                    delete_on_source,
                    comments: String::new(),
                    options: String::new(),
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn archive_requests_round_trip(request in arb_archive()) {
        let back = SubmitArchiveRequest::decode(request.encode_to_vec().as_slice());
        prop_assert_eq!(back.ok(), Some(request));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = RequestInfo::decode(bytes.as_slice());
        let _ = SubmitPartialRestoreRequest::decode(bytes.as_slice());
        let _ = GetInventoryResponse::decode(bytes.as_slice());
    }
}
