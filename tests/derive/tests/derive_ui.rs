//! The derive as a user meets it: every misuse in `ui/fail` is a
//! compile error whose text (the `.stderr` beside it, reviewed as
//! user-facing text) points at the user's token and says how to fix it;
//! everything in `ui/pass` compiles.
//!
//! To accept changed messages after reviewing them:
//! `TRYBUILD=overwrite cargo test -p ophyd-derive-tests`.

#[test]
fn misuse_of_the_derive_is_a_compile_error_that_says_how_to_fix_it() {
    trybuild::TestCases::new().compile_fail("ui/fail/*.rs");
}

#[test]
fn every_attribute_and_combination_compiles() {
    trybuild::TestCases::new().pass("ui/pass/*.rs");
}
