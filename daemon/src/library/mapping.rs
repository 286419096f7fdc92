//! Which data transfer element each configured drive is. The changer names its drives by
//! the serial numbers in the DVCID device identifiers of READ ELEMENT STATUS (SMC-3 6.10.6);
//! each drive reports its own in the unit serial number page (SPC-4 7.8.16). A configured
//! element address wins over the serial.

use std::collections::HashMap;

use tapelib_scsi::{Drive, DriveIdentity, Inventory};

use super::{LibraryError, Transport};

/// A drive opened and identified, not yet mapped.
pub(crate) struct OpenedDrive {
    pub name: String,
    pub device: String,
    /// Element address from the configuration.
    pub element: Option<u16>,
    pub identity: DriveIdentity,
    pub drive: Drive<Transport>,
}

/// Serials compare without padding and case (libraries space-pad DVCID fields).
fn same_serial(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    !a.is_empty() && a.eq_ignore_ascii_case(b)
}

/// The changer's drives as `address=serial` for error messages.
fn describe(inv: &Inventory) -> String {
    if inv.drives.is_empty() {
        return "no drives".into();
    }
    inv.drives
        .iter()
        .map(|d| {
            format!(
                "{}={}",
                d.state.address,
                d.serial.as_deref().unwrap_or("(no serial)")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Element address of every drive, in the order of `drives`.
pub(crate) fn map_drives(
    library: &str,
    drives: &[OpenedDrive],
    inv: &Inventory,
) -> Result<Vec<u16>, LibraryError> {
    let mut taken: HashMap<u16, &str> = HashMap::new();
    let mut out = Vec::with_capacity(drives.len());
    for d in drives {
        let serial = d.identity.serial.as_deref();
        let element = match d.element {
            Some(a) => inv.drives.iter().find(|e| e.state.address == a).map(|e| {
                if let (Some(mine), Some(theirs)) = (serial, e.serial.as_deref()) {
                    if !same_serial(mine, theirs) {
                        tracing::warn!(
                            drive = %d.name,
                            element = a,
                            drive_serial = mine,
                            changer_serial = theirs,
                            "configured element reports another serial number"
                        );
                    }
                }
                a
            }),
            None => serial.and_then(|s| {
                inv.drives
                    .iter()
                    .find(|e| e.serial.as_deref().is_some_and(|t| same_serial(s, t)))
                    .map(|e| e.state.address)
            }),
        };
        let Some(element) = element else {
            return Err(LibraryError::DriveUnmatched {
                library: library.to_string(),
                drive: d.name.clone(),
                device: match d.element {
                    Some(a) => format!("{}, configured element {a}", d.device),
                    None => d.device.clone(),
                },
                serial: d.identity.serial.clone(),
                changer: describe(inv),
            });
        };
        if let Some(first) = taken.insert(element, &d.name) {
            return Err(LibraryError::DriveElementTwice {
                library: library.to_string(),
                first: first.to_string(),
                second: d.name.clone(),
                element,
            });
        }
        out.push(element);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tapelib_scsi::changer::{DataTransferElement, ElementState};
    use tapelib_scsi::{Completion, DataPhase, ScsiTransport, TransportError};

    use super::*;

    /// Mapping never talks to the drive; any command would be a bug.
    struct NoDevice;

    impl ScsiTransport for NoDevice {
        fn execute(
            &mut self,
            _cdb: &[u8],
            _data: DataPhase<'_>,
            _timeout: Duration,
        ) -> Result<Completion, TransportError> {
            Err(TransportError::Disconnected("no device".into()))
        }
    }

    fn element(address: u16, serial: Option<&str>) -> DataTransferElement {
        DataTransferElement {
            state: ElementState {
                address,
                full: false,
                barcode: None,
                primary_tag: None,
                alternate_tag: None,
                source_address: None,
                exception: None,
                access: true,
            },
            serial: serial.map(str::to_string),
            vendor: None,
            product: None,
            device_id: None,
        }
    }

    fn opened(name: &str, serial: Option<&str>, element: Option<u16>) -> OpenedDrive {
        OpenedDrive {
            name: name.into(),
            device: format!("/dev/{name}"),
            element,
            identity: DriveIdentity {
                vendor: "IBM".into(),
                product: "ULT3580-TD8".into(),
                revision: "Q3F2".into(),
                serial: serial.map(str::to_string),
                drive_density_code: None,
                lto_generation: None,
                medium_density_code: None,
            },
            drive: Drive::new(Box::new(NoDevice) as Transport),
        }
    }

    fn inventory() -> Inventory {
        Inventory {
            drives: vec![
                element(256, Some("1013000001")),
                element(257, Some("  1013000002  ")),
                element(258, None),
            ],
            ..Inventory::default()
        }
    }

    #[test]
    fn maps_by_serial_ignoring_padding_and_case() {
        let drives = [
            opened("a", Some("1013000002"), None),
            opened("b", Some("1013000001"), None),
        ];
        assert_eq!(
            map_drives("l", &drives, &inventory()).unwrap(),
            vec![257, 256]
        );
        let drives = [opened("a", Some("hu1"), None)];
        let inv = Inventory {
            drives: vec![element(300, Some("HU1"))],
            ..Inventory::default()
        };
        assert_eq!(map_drives("l", &drives, &inv).unwrap(), vec![300]);
    }

    #[test]
    fn explicit_element_wins_over_serial() {
        let drives = [opened("a", Some("1013000001"), Some(258))];
        assert_eq!(map_drives("l", &drives, &inventory()).unwrap(), vec![258]);
    }

    #[test]
    fn unknown_serial_names_both_sides() {
        let drives = [opened("a", Some("9999999999"), None)];
        let err = map_drives("l", &drives, &inventory()).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, LibraryError::DriveUnmatched { .. }), "{text}");
        assert!(text.contains("9999999999"), "{text}");
        assert!(text.contains("256=1013000001"), "{text}");
        assert!(text.contains("258=(no serial)"), "{text}");
        assert!(text.contains("/dev/a"), "{text}");
        // A drive without a serial cannot be matched either.
        let drives = [opened("a", None, None)];
        assert!(matches!(
            map_drives("l", &drives, &inventory()),
            Err(LibraryError::DriveUnmatched { .. })
        ));
        // An empty serial does not match an element without one.
        let drives = [opened("a", Some(""), None)];
        assert!(map_drives("l", &drives, &inventory()).is_err());
    }

    #[test]
    fn two_drives_with_one_serial_are_refused() {
        let drives = [
            opened("a", Some("1013000001"), None),
            opened("b", Some("1013000001"), None),
        ];
        assert!(matches!(
            map_drives("l", &drives, &inventory()),
            Err(LibraryError::DriveElementTwice { element: 256, .. })
        ));
    }
}
