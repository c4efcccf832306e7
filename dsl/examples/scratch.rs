//! scratch
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let src = std::fs::read_to_string(&path).unwrap();
    match nnspec_dsl::check_source(&src, &Default::default()) {
        Ok(c) => print!(
            "{}{}",
            nnspec_dsl::dump::ast(&c.ast, &src),
            nnspec_dsl::check::dump(&c.info)
        ),
        Err(d) => print!("{}", nnspec_dsl::diag::render(&d, &path, &src)),
    }
}
