//! Unmodified Debian `mtx` against the simulator through the SG_IO interposer.

mod socket_common;

use std::collections::BTreeMap;
use std::path::Path;

use socket_common::{ctl, tool, SimServer, CONFIG};

/// What `mtx status` reports about one element.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Element {
    full: bool,
    barcode: Option<String>,
    /// Drives: "(Storage Element N Loaded)".
    loaded_from: Option<u32>,
    import_export: bool,
}

#[derive(Debug)]
struct Status {
    drives_header: u32,
    slots_header: u32,
    ie_header: u32,
    drives: BTreeMap<u32, Element>,
    slots: BTreeMap<u32, Element>,
}

fn barcode_of(s: &str) -> Option<String> {
    let (_, tag) = s.split_once("VolumeTag")?;
    let tag = tag.trim_start_matches([' ', '=']).trim();
    (!tag.is_empty()).then(|| tag.to_owned())
}

/// Parses `mtx status` output (format of mtx 1.3.12).
fn parse_status(out: &str) -> Status {
    let mut st = Status {
        drives_header: 0,
        slots_header: 0,
        ie_header: 0,
        drives: BTreeMap::new(),
        slots: BTreeMap::new(),
    };
    for line in out.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("Storage Changer ") {
            // "<dev>:2 Drives, 12 Slots ( 2 Import/Export )"
            let (_, counts) = rest.rsplit_once(':').expect("header counts");
            let nums: Vec<u32> = counts
                .split(|c: char| !c.is_ascii_digit())
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().unwrap())
                .collect();
            assert_eq!(nums.len(), 3, "header {line:?}");
            st.drives_header = nums[0];
            st.slots_header = nums[1];
            st.ie_header = nums[2];
        } else if let Some(rest) = line.strip_prefix("Data Transfer Element ") {
            let (num, state) = rest.split_once(':').expect("drive line");
            let full = state.starts_with("Full");
            let loaded_from = state
                .split_once("(Storage Element ")
                .and_then(|(_, r)| r.split_once(" Loaded)"))
                .map(|(n, _)| n.parse().unwrap());
            st.drives.insert(
                num.parse().unwrap(),
                Element {
                    full,
                    barcode: barcode_of(state),
                    loaded_from,
                    import_export: false,
                },
            );
        } else if let Some(rest) = line.strip_prefix("Storage Element ") {
            let (head, state) = rest.split_once(':').expect("slot line");
            let import_export = head.contains("IMPORT/EXPORT");
            let num = head.split_whitespace().next().unwrap().parse().unwrap();
            st.slots.insert(
                num,
                Element {
                    full: state.starts_with("Full"),
                    barcode: barcode_of(state),
                    loaded_from: None,
                    import_export,
                },
            );
        }
    }
    st
}

fn mtx_status(sim: &SimServer, mtx: &Path) -> Status {
    let dev = sim.device("changer0");
    let out = sim.tool_ok(mtx, &["-f", dev.to_str().unwrap(), "status"]);
    parse_status(&out)
}

fn mtx_ok(sim: &SimServer, mtx: &Path, args: &[&str]) -> String {
    let dev = sim.device("changer0");
    let mut full = vec!["-f", dev.to_str().unwrap()];
    full.extend_from_slice(args);
    sim.tool_ok(mtx, &full)
}

/// Unloads the cartridge in a drive (SSC-4 LOAD UNLOAD with LOAD=0), as an operator's
/// `mt offline` would before the robot takes it.
fn unload_drive(sim: &SimServer, drive: &str) {
    let Some(sg_raw) = tool("sg_raw") else {
        panic!("sg_raw is needed to unload a drive before mtx unload");
    };
    let dev = sim.device(drive);
    // The first command after power-on may report UNIT ATTENTION: retry.
    for _ in 0..4 {
        if sim
            .run_tool(
                &sg_raw,
                &[dev.to_str().unwrap(), "1b", "00", "00", "00", "00", "00"],
            )
            .status
            .success()
        {
            return;
        }
    }
    panic!("LOAD UNLOAD on {drive} kept failing");
}

#[test]
fn status_reports_slots_barcodes_ie_and_drives() {
    let Some(mtx) = tool("mtx") else { return };
    let sim = SimServer::start(CONFIG);
    let st = mtx_status(&sim, &mtx);
    assert_eq!(st.drives_header, 2);
    // mtx counts I/E elements among the storage elements.
    assert_eq!(st.slots_header, 12);
    assert_eq!(st.ie_header, 2);
    assert_eq!(st.drives.len(), 2);
    assert_eq!(st.slots.len(), 12);
    for n in 1..=10 {
        assert!(!st.slots[&n].import_export, "slot {n}");
    }
    for n in 11..=12 {
        assert!(
            st.slots[&n].import_export,
            "slot {n} should be IMPORT/EXPORT"
        );
        assert!(!st.slots[&n].full);
    }
    let expect = [
        (1, "A00001L8"),
        (2, "A00002L8"),
        (3, "A00003L7"),
        (4, "A00004L8"),
        (6, "CLN001L1"),
    ];
    for (n, bc) in expect {
        assert!(st.slots[&n].full, "slot {n}");
        assert_eq!(st.slots[&n].barcode.as_deref(), Some(bc), "slot {n}");
    }
    for n in [5, 7, 8, 9, 10] {
        assert!(!st.slots[&n].full, "slot {n} should be empty");
        assert_eq!(st.slots[&n].barcode, None);
    }
    let d0 = &st.drives[&0];
    assert!(d0.full);
    assert_eq!(d0.barcode.as_deref(), Some("A00005L8"));
    assert!(d0.loaded_from.is_some(), "{d0:?}");
    assert_eq!(
        st.drives[&1],
        Element {
            full: false,
            barcode: None,
            loaded_from: None,
            import_export: false
        }
    );
}

#[test]
fn load_unload_transfer_and_eepos() {
    let Some(mtx) = tool("mtx") else { return };
    if tool("sg_raw").is_none() {
        return;
    }
    let sim = SimServer::start(CONFIG);

    let out = mtx_ok(&sim, &mtx, &["load", "1", "1"]);
    assert!(
        out.contains("Loading media from Storage Element 1 into drive 1"),
        "{out}"
    );
    let st = mtx_status(&sim, &mtx);
    assert!(!st.slots[&1].full);
    let d1 = &st.drives[&1];
    assert!(d1.full);
    assert_eq!(d1.barcode.as_deref(), Some("A00001L8"));
    assert_eq!(d1.loaded_from, Some(1), "{d1:?}");

    // The drive ejects first, then the robot returns the cartridge to where it came from.
    unload_drive(&sim, "drive1");
    let out = mtx_ok(&sim, &mtx, &["unload", "1", "1"]);
    assert!(
        out.contains("Unloading drive 1 into Storage Element 1"),
        "{out}"
    );
    let st = mtx_status(&sim, &mtx);
    assert!(!st.drives[&1].full);
    assert_eq!(st.slots[&1].barcode.as_deref(), Some("A00001L8"));

    // Empty drive 0 into slot 5, then load it from slot 4: `unload` without arguments
    // (drive 0, no slot) uses the drive descriptor's source element.
    unload_drive(&sim, "drive0");
    mtx_ok(&sim, &mtx, &["unload", "5", "0"]);
    mtx_ok(&sim, &mtx, &["load", "4", "0"]);
    let st = mtx_status(&sim, &mtx);
    assert_eq!(st.slots[&5].barcode.as_deref(), Some("A00005L8"));
    assert_eq!(st.drives[&0].loaded_from, Some(4));
    unload_drive(&sim, "drive0");
    let out = mtx_ok(&sim, &mtx, &["unload"]);
    assert!(
        out.contains("Unloading drive 0 into Storage Element 4"),
        "{out}"
    );
    let st = mtx_status(&sim, &mtx);
    assert!(!st.drives[&0].full);
    assert_eq!(st.slots[&4].barcode.as_deref(), Some("A00004L8"));

    mtx_ok(&sim, &mtx, &["transfer", "2", "7"]);
    let st = mtx_status(&sim, &mtx);
    assert!(!st.slots[&2].full);
    assert_eq!(st.slots[&7].barcode.as_deref(), Some("A00002L8"));

    // Into the mail slot with the eepos bits of MOVE MEDIUM set.
    mtx_ok(&sim, &mtx, &["eepos", "1", "transfer", "7", "11"]);
    let st = mtx_status(&sim, &mtx);
    assert!(!st.slots[&7].full);
    assert!(st.slots[&11].import_export);
    assert_eq!(st.slots[&11].barcode.as_deref(), Some("A00002L8"));

    // A move into a full slot is refused and changes nothing.
    let dev = sim.device("changer0");
    let out = sim.run_tool(&mtx, &["-f", dev.to_str().unwrap(), "transfer", "3", "4"]);
    assert!(!out.status.success());
    let st = mtx_status(&sim, &mtx);
    assert_eq!(st.slots[&3].barcode.as_deref(), Some("A00003L7"));
    assert_eq!(st.slots[&4].barcode.as_deref(), Some("A00004L8"));
}

#[test]
fn inventory_first_next_and_mail_slot_insert() {
    let Some(mtx) = tool("mtx") else { return };
    if tool("sg_raw").is_none() {
        return;
    }
    let sim = SimServer::start(CONFIG);
    mtx_ok(&sim, &mtx, &["inventory"]);
    let before = mtx_status(&sim, &mtx);
    assert_eq!(before.slots[&1].barcode.as_deref(), Some("A00001L8"));

    // `first` loads the lowest full storage slot into drive 1; `next` unloads it back and
    // loads the following full slot.
    mtx_ok(&sim, &mtx, &["first", "1"]);
    let st = mtx_status(&sim, &mtx);
    assert_eq!(st.drives[&1].barcode.as_deref(), Some("A00001L8"));
    assert_eq!(st.drives[&1].loaded_from, Some(1));
    unload_drive(&sim, "drive1");
    mtx_ok(&sim, &mtx, &["next", "1"]);
    let st = mtx_status(&sim, &mtx);
    assert_eq!(st.slots[&1].barcode.as_deref(), Some("A00001L8"));
    assert_eq!(st.drives[&1].barcode.as_deref(), Some("A00002L8"));
    assert_eq!(st.drives[&1].loaded_from, Some(2));

    // The operator puts a new cartridge into the mail slot; mtx sees it after the
    // UNIT ATTENTION (it retries on 06/28/01).
    let out = ctl(sim.dir(), &["insert", "NEW001L8", "--slot", "2"]);
    assert!(out.contains("NEW001L8"), "{out}");
    let st = mtx_status(&sim, &mtx);
    assert!(st.slots[&12].import_export);
    assert_eq!(st.slots[&12].barcode.as_deref(), Some("NEW001L8"));
    mtx_ok(&sim, &mtx, &["transfer", "12", "9"]);
    let st = mtx_status(&sim, &mtx);
    assert_eq!(st.slots[&9].barcode.as_deref(), Some("NEW001L8"));
    assert!(!st.slots[&12].full);
}

#[test]
fn parse_status_reads_mtx_format() {
    let out = "  Storage Changer /x/changer0:2 Drives, 4 Slots ( 1 Import/Export )\n\
Data Transfer Element 0:Full (Storage Element 2 Loaded):VolumeTag = A00001L8    \n\
Data Transfer Element 1:Empty\n\
      Storage Element 1:Full :VolumeTag=B00002L8   \n\
      Storage Element 2:Empty\n\
      Storage Element 3:Empty\n\
      Storage Element 4 IMPORT/EXPORT:Full :VolumeTag=C00003L8\n";
    let st = parse_status(out);
    assert_eq!((st.drives_header, st.slots_header, st.ie_header), (2, 4, 1));
    assert_eq!(st.drives[&0].loaded_from, Some(2));
    assert_eq!(st.drives[&0].barcode.as_deref(), Some("A00001L8"));
    assert!(!st.drives[&1].full);
    assert!(st.slots[&4].import_export);
    assert_eq!(st.slots[&4].barcode.as_deref(), Some("C00003L8"));
}
