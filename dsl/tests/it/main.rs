//! The compiler's integration tests, one binary: data-driven spec corpora with snapshots,
//! property tests that nothing panics, and the limits on nesting and size.

mod corpus;
mod docs;
mod emit;
mod fmt;
mod grad;
mod ir;
mod limits;
mod mutants;
mod props;

use std::path::{Path, PathBuf};

/// The repository root (the workspace), from this crate's manifest directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The `.nn` files of a folder, sorted by name.
pub fn nn_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "nn"))
        .collect();
    files.sort();
    files
}

/// The valid specs: the book's models in `specs/` and the extra cases in `data/ok/`.
pub fn valid_specs() -> Vec<PathBuf> {
    let mut v = nn_files(&repo_root().join("specs"));
    v.extend(nn_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ok"),
    ));
    v
}
