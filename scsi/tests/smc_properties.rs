//! Property tests for the SMC-3 encoders and decoders: round trips, and arbitrary or mutated
//! bytes never panic.

use proptest::prelude::*;
use tapelib_scsi::smc::commands::{
    ExchangeMedium, ImportExportAction, InitializeElementStatus, InitializeElementStatusWithRange,
    MoveMedium, OpenCloseImportExportElement, PositionToElement, PreventAllowMediumRemoval,
};
use tapelib_scsi::smc::element_status::{
    DataTransferBus, DeviceIdentifier, ElementDescriptor, ElementStatus, ElementStatusPage,
    ReadElementStatus, VolumeTag,
};
use tapelib_scsi::smc::mode_pages::{
    encode_mode_parameter_list, find_mode_page, DeviceCapabilities, ElementAddressAssignment,
    ElementRange, ElementTypeSet, ModeSenseForm, TransportGeometry, TransportGeometryDescriptor,
};
use tapelib_scsi::smc::{ElementType, ElementTypeCode};

fn element_type() -> impl Strategy<Value = ElementType> {
    prop::sample::select(ElementType::ALL.to_vec())
}

fn volume_tag() -> impl Strategy<Value = VolumeTag> {
    ("[A-Z0-9]{1,32}", any::<u16>()).prop_map(|(identifier, sequence)| VolumeTag {
        identifier,
        sequence,
    })
}

fn device_id() -> impl Strategy<Value = DeviceIdentifier> {
    prop_oneof![
        "[A-Z0-9]{1,20}".prop_map(|s| DeviceIdentifier::serial_only(&s)),
        ("[A-Z]{1,8}", "[A-Z0-9-]{1,16}", "[A-Z0-9]{1,10}")
            .prop_map(|(v, p, s)| DeviceIdentifier::t10(&v, &p, &s)),
        (1u8..4, 0u8..16, prop::collection::vec(any::<u8>(), 1..40)).prop_map(
            |(code_set, identifier_type, identifier)| DeviceIdentifier::new(
                code_set,
                identifier_type,
                identifier
            )
        ),
    ]
}

/// A descriptor whose fields are only those its type defines, so it survives a round trip.
fn descriptor(
    t: ElementType,
    pvoltag: bool,
    avoltag: bool,
) -> impl Strategy<Value = ElementDescriptor> {
    (
        any::<u16>(),
        any::<[bool; 9]>(),
        any::<(u8, u8)>(),
        proptest::option::of(any::<u16>()),
        0u8..8,
        proptest::option::of(volume_tag()),
        proptest::option::of(volume_tag()),
        proptest::option::of(device_id()),
        (any::<[bool; 3]>(), 0u8..8, any::<u8>()),
    )
        .prop_map(
            move |(address, f, (asc, ascq), source, medium_type, pt, at, id, bus)| {
                let mut d = ElementDescriptor::empty(t, address);
                d.full = f[0];
                d.except = f[1];
                d.access = t != ElementType::MediumTransport && f[2];
                if t == ElementType::ImportExport {
                    d.impexp = f[3];
                    d.exenab = f[4];
                    d.inenab = f[5];
                    d.cmc = f[6];
                    d.oir = f[7];
                }
                d.asc = asc;
                d.ascq = ascq;
                d.svalid = source.is_some();
                d.source_address = source;
                d.invert = f[8];
                d.medium_type = medium_type;
                d.primary_tag = if pvoltag { pt } else { None };
                d.alternate_tag = if avoltag { at } else { None };
                d.device_id = id;
                if t == ElementType::DataTransfer {
                    d.bus = Some(DataTransferBus {
                        not_bus: bus.0[0],
                        id_valid: bus.0[1],
                        lu_valid: bus.0[2],
                        lun: bus.1,
                        scsi_bus_address: bus.2,
                    });
                }
                d
            },
        )
}

fn page() -> impl Strategy<Value = ElementStatusPage> {
    (element_type(), any::<bool>(), any::<bool>(), 0u16..200).prop_flat_map(|(t, pv, av, pad)| {
        prop::collection::vec(descriptor(t, pv, av), 0..6).prop_map(move |descriptors| {
            let mut p = ElementStatusPage::new(t, pv, av, descriptors);
            p.descriptor_length = pad;
            p
        })
    })
}

fn element_status() -> impl Strategy<Value = ElementStatus> {
    prop::collection::vec(page(), 0..4).prop_map(ElementStatus::for_pages)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn element_status_round_trips(status in element_status()) {
        let bytes = status.encode();
        let decoded = ElementStatus::decode(&bytes).unwrap();
        prop_assert!(!decoded.truncated);
        prop_assert_eq!(decoded.header.first_element_address, status.header.first_element_address);
        prop_assert_eq!(decoded.header.number_of_elements, status.header.number_of_elements);
        prop_assert_eq!(decoded.header.full_report_length(), bytes.len());
        prop_assert_eq!(decoded.pages.len(), status.pages.len());
        for (d, s) in decoded.pages.iter().zip(&status.pages) {
            prop_assert_eq!(&d.descriptors, &s.descriptors);
            prop_assert_eq!(usize::from(d.descriptor_length), s.encoded_descriptor_length());
        }
        prop_assert_eq!(decoded.encode(), bytes);
    }

    #[test]
    fn element_status_cut_anywhere_keeps_complete_descriptors(
        status in element_status(), cut in any::<prop::sample::Index>()
    ) {
        let bytes = status.encode();
        let n = cut.index(bytes.len() + 1);
        match ElementStatus::decode(&bytes[..n]) {
            Ok(d) => {
                prop_assert!(n >= 8);
                prop_assert_eq!(d.truncated, n < bytes.len());
                let all: Vec<_> = status.pages.iter().flat_map(|p| p.descriptors.iter()).collect();
                let got: Vec<_> = d.descriptors().collect();
                prop_assert!(got.len() <= all.len());
                for (g, a) in got.iter().zip(&all) {
                    prop_assert_eq!(*g, *a);
                }
            }
            Err(_) => prop_assert!(n < 8),
        }
    }

    #[test]
    fn element_status_ignores_trailing_excess(status in element_status(), extra in prop::collection::vec(any::<u8>(), 1..64)) {
        let bytes = status.encode();
        let mut longer = bytes.clone();
        longer.extend_from_slice(&extra);
        prop_assert_eq!(ElementStatus::decode(&longer).unwrap(), ElementStatus::decode(&bytes).unwrap());
    }

    #[test]
    fn read_element_status_cdb_round_trips(
        t in 0u8..5, voltag in any::<bool>(), start in any::<u16>(), count in any::<u16>(),
        curdata in any::<bool>(), dvcid in any::<bool>(), alloc in 0u32..=0xFF_FFFF, control in any::<u8>()
    ) {
        let mut r = ReadElementStatus::new(ElementTypeCode::from_code(t).unwrap(), start, count);
        r.voltag = voltag;
        r.curdata = curdata;
        r.dvcid = dvcid;
        r.allocation_length = alloc;
        r.control = control;
        prop_assert_eq!(ReadElementStatus::parse(&r.cdb()).unwrap(), r);
        r.allocation_cap = 0xFFFF;
        prop_assert_eq!(ReadElementStatus::parse(&r.cdb()).unwrap().allocation_length, alloc.min(0xFFFF));
    }

    #[test]
    fn command_cdbs_round_trip(
        a in any::<u16>(), b in any::<u16>(), c in any::<u16>(), d in any::<u16>(),
        f in any::<[bool; 3]>(), control in any::<u8>()
    ) {
        let m = MoveMedium { transport: a, source: b, destination: c, invert: f[0], control };
        prop_assert_eq!(MoveMedium::parse(&m.cdb()).unwrap(), m);
        let x = ExchangeMedium {
            transport: a, source: b, first_destination: c, second_destination: d,
            invert1: f[0], invert2: f[1], control,
        };
        prop_assert_eq!(ExchangeMedium::parse(&x.cdb()).unwrap(), x);
        let r = InitializeElementStatusWithRange { fast: f[0], range: f[1], start: a, count: b, control };
        prop_assert_eq!(InitializeElementStatusWithRange::parse(&r.cdb()).unwrap(), r);
        let i = InitializeElementStatus { control };
        prop_assert_eq!(InitializeElementStatus::parse(&i.cdb()).unwrap(), i);
        let p = PositionToElement { transport: a, destination: b, invert: f[2], control };
        prop_assert_eq!(PositionToElement::parse(&p.cdb()).unwrap(), p);
        let pr = PreventAllowMediumRemoval { prevent: (a & 3) as u8, control };
        prop_assert_eq!(PreventAllowMediumRemoval::parse(&pr.cdb()).unwrap(), pr);
        let action = if f[0] { ImportExportAction::Open } else { ImportExportAction::Close };
        let o = OpenCloseImportExportElement { element_address: a, action, control };
        prop_assert_eq!(OpenCloseImportExportElement::parse(&o.cdb()).unwrap(), o);
    }

    #[test]
    fn mode_pages_round_trip(
        ranges in any::<[(u16, u16); 4]>(), ps in any::<bool>(),
        storage in 0u8..16, moves in any::<[u8; 4]>(), exchanges in any::<[u8; 4]>(),
        geometry in prop::collection::vec((any::<bool>(), any::<u8>()), 0..10),
        ten in any::<bool>()
    ) {
        let r = |i: usize| ElementRange::new(ranges[i].0, ranges[i].1);
        let eaa = ElementAddressAssignment {
            parameters_saveable: ps,
            transport: r(0), storage: r(1), import_export: r(2), data_transfer: r(3),
        };
        let caps = DeviceCapabilities {
            parameters_saveable: ps,
            storage: ElementTypeSet(storage),
            moves: moves.map(|m| ElementTypeSet(m & 0x0f)),
            exchanges: exchanges.map(|m| ElementTypeSet(m & 0x0f)),
        };
        let geo = TransportGeometry {
            parameters_saveable: ps,
            transports: geometry
                .iter()
                .map(|&(rotate, member_number)| TransportGeometryDescriptor { rotate, member_number })
                .collect(),
        };
        let form = if ten { ModeSenseForm::Ten } else { ModeSenseForm::Six };
        let (e, c, g) = (eaa.encode(), caps.encode(), geo.encode());
        let list = encode_mode_parameter_list(form, &[&e, &g, &c]);
        prop_assert_eq!(ElementAddressAssignment::decode(&find_mode_page(&list, form, 0x1D).unwrap()).unwrap(), eaa);
        prop_assert_eq!(DeviceCapabilities::decode(&find_mode_page(&list, form, 0x1F).unwrap()).unwrap(), caps);
        prop_assert_eq!(TransportGeometry::decode(&find_mode_page(&list, form, 0x1E).unwrap()).unwrap(), geo);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn element_status_arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = ElementStatus::decode(&bytes);
    }

    #[test]
    fn element_status_mutations_never_panic(
        status in element_status(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = status.encode();
        if !bytes.is_empty() {
            for (i, v) in edits {
                let at = i.index(bytes.len());
                bytes[at] = v;
            }
        }
        if let Ok(d) = ElementStatus::decode(&bytes) {
            // Whatever decodes must be bounded by the input.
            prop_assert!(d.descriptors().count() <= bytes.len() / 12);
        }
    }

    #[test]
    fn mode_pages_arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        for form in [ModeSenseForm::Six, ModeSenseForm::Ten] {
            for code in [0x1D, 0x1E, 0x1F] {
                if let Ok(p) = find_mode_page(&bytes, form, code) {
                    prop_assert!(p.len() <= bytes.len());
                }
            }
        }
        let _ = ElementAddressAssignment::decode(&bytes);
        let _ = DeviceCapabilities::decode(&bytes);
        let _ = TransportGeometry::decode(&bytes);
    }

    #[test]
    fn cdb_parsers_arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..16)) {
        let _ = ReadElementStatus::parse(&bytes);
        let _ = MoveMedium::parse(&bytes);
        let _ = ExchangeMedium::parse(&bytes);
        let _ = InitializeElementStatus::parse(&bytes);
        let _ = InitializeElementStatusWithRange::parse(&bytes);
        let _ = PositionToElement::parse(&bytes);
        let _ = PreventAllowMediumRemoval::parse(&bytes);
        let _ = OpenCloseImportExportElement::parse(&bytes);
    }
}
