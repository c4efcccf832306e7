//! The language reference is tested: every ` ```nn ` block in `docs/LANGUAGE.md` checks clean,
//! except the one under each `### E….` heading, which must fail with exactly that code. The
//! documentation site (`docs/SUMMARY.md`, `mdbook build docs`): every page it lists exists, and
//! every spec a page shows or names is in `specs/`.

use crate::repo_root;
use nnspec_dsl::{check::Options, check_source, diag};

/// `(heading, block)` for every `nn` code block, in order.
fn blocks(doc: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut heading = String::new();
    let mut block: Option<String> = None;
    for line in doc.lines() {
        if let Some(b) = block.as_mut() {
            if line.starts_with("```") {
                out.push((heading.clone(), block.take().unwrap_or_default()));
            } else {
                b.push_str(line);
                b.push('\n');
            }
        } else if line.starts_with("```nn") {
            block = Some(String::new());
        } else if let Some(h) = line.strip_prefix('#') {
            heading = h.trim_start_matches('#').trim().to_string();
        }
    }
    out
}

#[test]
fn every_example_in_the_language_reference_behaves_as_documented() {
    let doc =
        std::fs::read_to_string(repo_root().join("docs/LANGUAGE.md")).expect("docs/LANGUAGE.md");
    let all = blocks(&doc);
    assert!(
        all.len() > 40,
        "expected the reference's examples, found {}",
        all.len()
    );
    for (heading, src) in all {
        let src = src.replace("\\u{0}", "\u{0}");
        let result = check_source(&src, &Options::default());
        let is_code = heading.len() == 5 && heading.starts_with('E');
        match (is_code, result) {
            (false, Ok(_)) => {}
            (false, Err(d)) => panic!(
                "example under `{heading}` should check clean:\n{}",
                diag::render(&d, "doc.nn", &src)
            ),
            (true, Ok(_)) => panic!("the example for {heading} checks clean"),
            (true, Err(d)) => {
                let codes: Vec<&str> = d.iter().map(|d| d.code.as_str()).collect();
                assert!(
                    codes.iter().all(|c| *c == heading),
                    "{heading}: got {codes:?}\n{}",
                    diag::render(&d, "doc.nn", &src)
                );
            }
        }
    }
}

/// The spec files a documentation page shows or names: `{{#include ../specs/x.nn}}` and
/// `specs/x.nn` (not `benches/specs/…`).
fn specs_named(page: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = page;
    while let Some(at) = rest.find("specs/") {
        let before = rest[..at].chars().next_back();
        let tail = &rest[at + "specs/".len()..];
        let name: String = tail
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-' || *c == '.')
            .collect();
        let inside_other_folder = before.is_some_and(|c| c.is_alphanumeric() || c == '_')
            || rest[..at].ends_with("benches/");
        if !inside_other_folder && name.ends_with(".nn") {
            out.push(name);
        }
        rest = tail;
    }
    out
}

#[test]
fn every_page_of_the_site_exists_and_every_spec_it_shows_is_in_specs() {
    let docs = repo_root().join("docs");
    let summary = std::fs::read_to_string(docs.join("SUMMARY.md")).expect("docs/SUMMARY.md");
    let pages: Vec<&str> = summary
        .split("](")
        .skip(1)
        .filter_map(|s| s.split(')').next())
        .collect();
    assert!(
        pages.contains(&"TOUR.md") && pages.contains(&"GRAD.md"),
        "{pages:?}"
    );
    let mut shown = 0;
    for page in pages {
        let text = std::fs::read_to_string(docs.join(page))
            .unwrap_or_else(|e| panic!("SUMMARY.md lists {page}: {e}"));
        for spec in specs_named(&text) {
            let path = repo_root().join("specs").join(&spec);
            assert!(
                path.is_file(),
                "{page} shows specs/{spec}, which is not in specs/"
            );
            shown += 1;
        }
    }
    // The tour includes a spec for each of fifteen chapters; the other pages name more.
    assert!(shown >= 15, "{shown}");
    let tour = std::fs::read_to_string(docs.join("TOUR.md")).expect("TOUR.md");
    assert_eq!(tour.matches("{{#include ../specs/").count(), 15);
}
