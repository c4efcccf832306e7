//! Compile-fail tests of `model!`: every failure is a `compile_error!` on the literal with the
//! full rendered message. Regenerate the `.stderr` files with
//! `TRYBUILD=overwrite cargo test -p nnspec-macros --test ui`, and read every one.

#[test]
fn ui() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
