nnspec_macros::model!("parse_error.nn");

fn main() {}
