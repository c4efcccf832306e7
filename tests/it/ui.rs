//! Compile-fail cases that need generated code (and so the facade and faer): the compiler's
//! own type errors at a `model!` call site. The macro's input and spec errors are tested in
//! `macros/tests/ui/`, where the trybuild project skips faer.

#[test]
fn generated_code_rejects_the_wrong_input_type() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
