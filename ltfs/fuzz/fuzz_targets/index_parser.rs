//! `cargo fuzz run index_parser`: the index parser never panics, and whatever it accepts
//! serializes and parses back to the same index.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tapelib_ltfs::index::{parse_index, write_index};

fuzz_target!(|data: &[u8]| {
    if let Ok(index) = parse_index(data) {
        let mut xml = Vec::new();
        write_index(&index, &mut xml).expect("writing to memory");
        let again = parse_index(&xml[..]).expect("our own output parses");
        assert_eq!(again, index);
    }
});
