nnspec_macros::model!(Deep from "unknown_override.nn");

fn main() {}
