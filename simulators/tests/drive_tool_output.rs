//! What sg_logs and sg_read_attr show for the volume identifiers of the loaded cartridge,
//! through the SG_IO interposer: the VOLSER and barcode are the barcode, the medium serial
//! number is the cartridge's own serial.

mod socket_common;

use socket_common::{tool, SimServer, CONFIG};

/// Value after `key` on the line that contains it (`key: value`).
fn field<'a>(out: &'a str, key: &str) -> Option<&'a str> {
    out.lines()
        .find(|l| l.contains(key))
        .and_then(|l| l.split_once(':').map(|(_, v)| v.trim()))
}

#[test]
fn volume_identifiers_in_sg_logs_and_sg_read_attr() {
    let (Some(sg_logs), Some(sg_read_attr), Some(sg_turs)) =
        (tool("sg_logs"), tool("sg_read_attr"), tool("sg_turs"))
    else {
        return;
    };
    let sim = SimServer::start(CONFIG);
    let d = sim.device("drive0").to_str().unwrap().to_owned();
    for _ in 0..5 {
        if sim.run_tool(&sg_turs, &[&d]).status.success() {
            break;
        }
    }
    let out = sim.tool_ok(&sg_logs, &["--page=0x17", &d]);
    assert_eq!(
        field(&out, "Volume serial number"),
        Some("A00005L8"),
        "{out}"
    );
    assert_eq!(field(&out, "Volume barcode"), Some("A00005L8"), "{out}");
    assert_eq!(
        field(&out, "Total native capacity"),
        Some("12000000"),
        "{out}"
    );

    let out = sim.tool_ok(&sg_read_attr, &[&d]);
    let serial = field(&out, "Medium serial number").expect("medium serial number");
    assert!(!serial.contains("A00005"), "{out}");
    assert_eq!(serial.len(), 10, "{out}");
    assert_eq!(field(&out, "Barcode"), Some("A00005L8"), "{out}");
}
