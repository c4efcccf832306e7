//! `notation`: the backward pass printed in the book's notation. The deep ReLU network of
//! specs/backprop.nn against eqs. 7.11 and 7.25–7.26 written out by hand; the text of every
//! spec in `specs/` as a snapshot; the LaTeX form is plain ASCII, balanced, and compiles where
//! `pdflatex` exists.

use crate::repo_root;
use nnspec_dsl::{check::Options, check_source, ir, notation};

fn graphs(src: &str) -> Vec<ir::Graph> {
    match check_source(src, &Options::default()) {
        Ok(c) => c.graphs.into_iter().flatten().collect(),
        Err(d) => panic!("{}", nnspec_dsl::diag::render(&d, "spec.nn", src)),
    }
}

fn spec(name: &str) -> String {
    std::fs::read_to_string(repo_root().join("specs").join(name)).expect("readable spec")
}

/// `lhs = rhs [for …]`, each equation's text without the alignment and the line numbers.
fn equations(src: &str) -> Vec<String> {
    let g = graphs(src).pop().expect("a model");
    let mut out = Vec::new();
    for s in notation::sections(&g, src, notation::Style::Text).expect("differentiable") {
        for e in s.equations {
            out.push(match e.family {
                Some(f) => format!("{} = {}  {f}", e.lhs, e.rhs),
                None => format!("{} = {}", e.lhs, e.rhs),
            });
        }
    }
    out
}

#[test]
fn backprop_reads_as_equations_7_25_and_7_26() {
    // ℓ_i = (y_i - f_3)², so ∂ℓ_i/∂f_3 = -2 (y_i - f_3) (eq. 7.11 with the book's sign).
    // Eq. 7.25 with h_k = a[f_{k-1}] named in the spec: ∂ℓ_i/∂h_k = Ω_kᵀ ∂ℓ_i/∂f_k, and the
    // ReLU's derivative 𝕀[f_{k-1} > 0] times it; eq. 7.26 for k = 0, whose input is x_i.
    let want = [
        "∂ℓ_i/∂f_3 = -2 (y_i - f_3)",
        "∂ℓ_i/∂β_k = ∂ℓ_i/∂f_k  for k ∈ {3, 2, 1, 0}",
        "∂ℓ_i/∂Ω_k = ∂ℓ_i/∂f_k h_kᵀ  for k ∈ {3, 2, 1}",
        "∂ℓ_i/∂h_k = Ω_kᵀ ∂ℓ_i/∂f_k  for k ∈ {3, 2, 1}",
        "∂ℓ_i/∂f_{k-1} = 𝕀[f_{k-1} > 0] ⊙ ∂ℓ_i/∂h_k  for k ∈ {3, 2, 1}",
        "∂ℓ_i/∂Ω_0 = ∂ℓ_i/∂f_0 x_iᵀ",
    ];
    assert_eq!(equations(&spec("backprop.nn")), want);
}

#[test]
fn each_equation_names_the_spec_line_it_comes_from() {
    let src = spec("backprop.nn");
    let g = graphs(&src).pop().expect("a model");
    let s = notation::sections(&g, &src, notation::Style::Text).expect("differentiable");
    let line_of = |needle: &str| {
        src.lines()
            .position(|l| l.trim_start().starts_with(needle))
            .expect("line in spec")
            + 1
    };
    let by_lhs = |lhs: &str| {
        s[0].equations
            .iter()
            .find(|e| e.lhs == lhs)
            .map(|e| e.lines.clone())
            .expect("equation")
    };
    // The ReLU's derivative comes from `h_k = a[f_{k-1}]`, the products from `f_k = β_k + Ω_k h_k`.
    assert_eq!(by_lhs("∂ℓ_i/∂f_{k-1}"), [line_of("h_k = a[f_{k-1}]")]);
    assert_eq!(by_lhs("∂ℓ_i/∂Ω_k"), [line_of("f_k = β_k + Ω_k h_k")]);
    assert_eq!(by_lhs("∂ℓ_i/∂f_3"), [line_of("ℓ_i = ")]);
    assert_eq!(
        by_lhs("∂ℓ_i/∂β_k"),
        [line_of("f_0 = β_0"), line_of("f_k = β_k + Ω_k h_k")]
    );
}

#[test]
fn a_loss_with_a_regulariser_is_written_for_the_whole_batch() {
    // L = ∑_i ℓ_i + λ ∑ ‖·‖²: not a sum over examples alone, so ∂L/∂… with ∑_i written out.
    let src = "model R[D = 3] {\n  input x : ℝ^D\n  target y : ℝ\n  param ω : ℝ^{1×D}\n  \
               f[x, φ] = ω x\n  loss L[φ] = ∑_i (y_i - f[x_i, φ])^2 + 0.5 ‖ω‖²\n}\n";
    let eqs = equations(src);
    let grad = eqs
        .iter()
        .find(|e| e.starts_with("∂L/∂ω = "))
        .expect("∂L/∂ω");
    assert!(grad.contains("∑_i "), "{grad}");
    assert!(!eqs.iter().any(|e| e.contains("ℓ_i")), "{eqs:?}");
}

#[test]
fn grad_text_of_every_spec() {
    for path in crate::nn_files(&repo_root().join("specs")) {
        let src = std::fs::read_to_string(&path).expect("readable");
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let mut text = String::new();
        for g in graphs(&src).iter().filter(|g| !g.losses.is_empty()) {
            text.push_str(&notation::text(g, &src).unwrap_or_else(|e| panic!("{stem}: {e}")));
        }
        if text.is_empty() {
            continue;
        }
        insta::with_settings!({ prepend_module_to_snapshot => false, snapshot_path => "snapshots" }, {
            insta::assert_snapshot!(format!("grad__{stem}"), text);
        });
    }
}

#[test]
fn latex_is_ascii_balanced_and_compiles_where_pdflatex_exists() {
    let src = spec("backprop.nn");
    let tex = notation::latex(&graphs(&src), &src).expect("differentiable");
    assert!(tex.starts_with("\\documentclass{article}"));
    assert!(tex.trim_end().ends_with("\\end{document}"));
    assert!(tex.contains("\\frac{\\partial \\ell_{i}}{\\partial \\Omega_{k}}"));
    let mut documents = vec![("backprop".to_string(), tex)];
    for path in crate::nn_files(&repo_root().join("specs")) {
        let src = std::fs::read_to_string(&path).expect("readable");
        let gs: Vec<_> = graphs(&src)
            .into_iter()
            .filter(|g| !g.losses.is_empty())
            .collect();
        let tex = notation::latex(&gs, &src).expect("differentiable");
        assert!(tex.is_ascii(), "{}: non-ASCII LaTeX", path.display());
        let depth = tex.chars().try_fold(0i64, |d, c| match c {
            '{' => Some(d + 1),
            '}' if d > 0 => Some(d - 1),
            '}' => None,
            _ => Some(d),
        });
        // Escaped braces (`\{`) come in pairs too, so the count balances either way.
        assert_eq!(depth, Some(0), "{}: unbalanced braces", path.display());
        // A spec of update rules only has no loss to differentiate (`nnspec grad` refuses it):
        // an empty document, which pdflatex makes no PDF of.
        if tex.contains("\\section*") {
            let stem = path.file_stem().expect("a file");
            documents.push((stem.to_string_lossy().into_owned(), tex));
        }
    }
    let Some(pdflatex) = which("pdflatex") else {
        eprintln!("skipped: no pdflatex on PATH, the LaTeX output was not compiled");
        return;
    };
    // Every spec's document compiles (a sub-model instance's parameter `ψ'_4.Ω_2`, a
    // transposed primed name `H'_1ᵀ` once broke it).
    let dir = std::env::temp_dir().join(format!("nnspec-grad-tex-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (stem, tex) in documents {
        let file = format!("{stem}.tex");
        std::fs::write(dir.join(&file), tex).expect("write");
        let status = std::process::Command::new(&pdflatex)
            .args(["-interaction=nonstopmode", "-halt-on-error", &file])
            .current_dir(&dir)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("pdflatex runs");
        assert!(
            status.success(),
            "pdflatex failed on {stem}; see {}",
            dir.display()
        );
        assert!(dir.join(format!("{stem}.pdf")).exists());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn which(tool: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

#[test]
fn a_long_formula_is_referred_to_by_its_node_and_never_overflows() {
    // 3000 terms: the recursion runs on the large stack, a formula longer than
    // MAX_FORMULA characters becomes a reference to its IR node.
    let terms = vec!["ω x"; 3000].join(" + ");
    let src = format!(
        "model Long {{\n  input x : ℝ\n  target y : ℝ\n  param ω : ℝ\n  f[x, φ] = {terms}\n  \
         loss L[φ] = ∑_i (y_i - f[x_i, φ])^2\n}}\n"
    );
    let text = notation::text(&graphs(&src).pop().expect("a model"), &src).expect("printed");
    let grad = text
        .lines()
        .find(|l| l.contains("∂ℓ_i/∂ω = "))
        .expect("∂ℓ_i/∂ω");
    assert!(grad.contains("of nnspec ir --stage grad⟩"), "{grad}");
    assert!(text.chars().count() < 4 * 2000, "{}", text.len());
}
