//! `cargo fuzz run label_parser`: label and MAM decoders never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tapelib_ltfs::label::{LtfsLabel, Vol1Label};
use tapelib_ltfs::mam::VolumeCoherency;

fuzz_target!(|data: &[u8]| {
    let _ = Vol1Label::decode(data);
    let _ = VolumeCoherency::decode(data);
    if let Ok(label) = LtfsLabel::parse(data) {
        assert_eq!(
            LtfsLabel::parse(label.to_xml().as_bytes()).ok(),
            Some(label)
        );
    }
});
