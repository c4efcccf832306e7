//! Fuzz the whole front end: parse, check, and render diagnostics.
//!
//! Run with `cargo +nightly fuzz run check` from `dsl/`. The seeds in
//! `corpus/check/seed_*.nn` are copies of `specs/*.nn` and `dsl/tests/data/err/*.nn`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use nnspec_dsl::{check::Options, diag::render};

fuzz_target!(|data: &[u8]| {
    let src = String::from_utf8_lossy(data);
    let src: &str = &src;
    if let Err(diags) = nnspec_dsl::check_source(src, &Options::default()) {
        let _ = render(&diags, "fuzz.nn", src);
        let len = src.len();
        for d in &diags {
            let (s, e) = (d.span.start as usize, d.span.end as usize);
            assert!(
                s <= e && e <= len,
                "{}: span {s}..{e} outside source of {len} bytes",
                d.code
            );
            for l in &d.secondary {
                let (s, e) = (l.span.start as usize, l.span.end as usize);
                assert!(
                    s <= e && e <= len,
                    "{}: secondary span {s}..{e} outside source of {len} bytes",
                    d.code
                );
            }
        }
    }
});
