//! The language reference is tested: every ` ```nn ` block in `docs/LANGUAGE.md` checks clean,
//! except the one under each `### E….` heading, which must fail with exactly that code.

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
