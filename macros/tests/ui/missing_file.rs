nnspec_macros::model!("specs/does_not_exist.nn");

fn main() {}
