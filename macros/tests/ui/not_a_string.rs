nnspec_macros::model!(42);

fn main() {}
