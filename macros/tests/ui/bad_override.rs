nnspec_macros::model!(Shallow[D = eight] from "unknown_override.nn");

fn main() {}
