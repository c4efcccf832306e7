nnspec_macros::model!("shape_error.nn");

fn main() {}
