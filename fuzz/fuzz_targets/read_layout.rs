//! Arbitrary bytes into the image-tar reader: it must never panic, hang or
//! allocate without bound, whatever the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(report) = oci_layout_reader::read_layout(data) {
        // Every problem renders (the messages format digests and names).
        for problem in &report.problems {
            let _ = problem.to_string();
        }
        // A report with no problems describes a readable index.
        if report.is_valid() {
            assert!(report.index.is_some());
        }
    }
});
