nnspec_macros::model!(Shallow[D = 8, D_i = 2, lambda = 0.5] from "unknown_override.nn");

fn main() {}
