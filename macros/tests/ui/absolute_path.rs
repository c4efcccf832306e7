nnspec_macros::model!("/etc/deep.nn");

fn main() {}
