//! The IR of every valid spec (lowered, and the optimised training graph with its memory
//! plan) is snapshotted, verified, and each optimisation pass has its own before/after
//! snapshot on a spec chosen to exercise it.

use crate::valid_specs;
use nnspec_dsl::diag::Code;
use nnspec_dsl::{check::Options, check_source, ir, opt};
use std::fmt::Write;

fn snapshot(name: &str, text: &str) {
    insta::with_settings!({ prepend_module_to_snapshot => false, snapshot_path => "snapshots" }, {
        insta::assert_snapshot!(name, text);
    });
}

fn graphs(src: &str) -> Vec<ir::Graph> {
    match check_source(src, &Options::default()) {
        Ok(c) => c.graphs.into_iter().flatten().collect(),
        Err(d) => panic!("{}", nnspec_dsl::diag::render(&d, "spec.nn", src)),
    }
}

#[test]
fn every_spec_lowers_differentiates_and_optimises_to_a_verified_graph() {
    for path in valid_specs() {
        let src = std::fs::read_to_string(&path).expect("readable");
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let mut text = String::new();
        for g in graphs(&src) {
            ir::verify(&g).unwrap_or_else(|e| panic!("{stem}/{}: {e}", g.name));
            let train =
                nnspec_dsl::training_graph(&g).unwrap_or_else(|e| panic!("{stem}/{}: {e}", g.name));
            ir::verify(&train).unwrap_or_else(|e| panic!("{stem}/{} (training): {e}", g.name));
            for loss in &g.losses {
                for p in &loss.wrt {
                    let want = format!("∂{}/∂{}", loss.name, g.params[*p as usize].name);
                    assert!(
                        train.output(&want).is_some(),
                        "{stem}/{}: no output {want}",
                        g.name
                    );
                }
            }
            let grad =
                nnspec_dsl::ad::grad_all(&g).unwrap_or_else(|e| panic!("{stem}/{}: {e}", g.name));
            let plan = opt::plan::plan(&train);
            let _ = write!(
                text,
                "lowered:\n{g}\ngrad:\n{grad}\noptimised:\n{train}\n{}\n",
                opt::plan::render(&train, &plan)
            );
        }
        snapshot(&format!("ir__{stem}"), &text);
    }
}

/// The graph of the last model of `src` before and after one pass.
fn pass_snapshot(pass: &str, src: &str, training: bool) {
    let g = graphs(src).pop().expect("a model");
    let g = if training {
        nnspec_dsl::ad::grad_all(&g).expect("differentiates")
    } else {
        g
    };
    let after = opt::run_pass(pass, &g).expect("a pass of that name");
    let after = after.unwrap_or_else(|| panic!("`{pass}` changed nothing on its example"));
    ir::verify(&after).unwrap_or_else(|e| panic!("after {pass}: {e}"));
    snapshot(
        &format!("pass__{pass}"),
        &format!("before:\n{g}\nafter:\n{after}"),
    );
}

#[test]
fn pass_stable_rewrites_log_softmax_and_log_sigmoid() {
    pass_snapshot(
        "stable",
        "model M[D = 3] { input x : ℝ^D; target y : {0 … 2}; target b : {0, 1}; param Ω : ℝ^{D×D}
         f[x, φ] = Ω x
         loss L[φ] = -∑_i log[softmax_{y_i}[f[x_i, φ]]] - ∑_i log[sig[f_1[x_i, φ]]] }",
        false,
    );
}

#[test]
fn pass_simplify_applies_named_rules() {
    pass_snapshot(
        "simplify",
        "model M[D = 2] { input x : ℝ^D; param ω : ℝ
         h = 1 · (x - 0) + --x
         loss L[φ] = ∑_i ‖ω h_i‖^2 }",
        false,
    );
}

#[test]
fn pass_fold_computes_constants() {
    pass_snapshot(
        "fold",
        "model M { input x : ℝ; param ω : ℝ; loss L[φ] = ∑_i (2 · 3 + √4) ω x_i }",
        false,
    );
}

#[test]
fn pass_cse_merges_repeated_subexpressions() {
    pass_snapshot(
        "cse",
        "model M[D = 2] { input x : ℝ^D; param Ω : ℝ^{D×D}
         loss L[φ] = ∑_i 𝟏ᵀ(exp[Ω x_i] + exp[Ω x_i]) }",
        false,
    );
}

#[test]
fn pass_dce_drops_the_input_gradient() {
    // The backward pass computes ∂L/∂x on the way; nothing uses it.
    pass_snapshot(
        "dce",
        "model M[D = 2] { input x : ℝ^D; param Ω : ℝ^{D×D}; loss L[φ] = ∑_i 𝟏ᵀ tanh[Ω x_i] }",
        true,
    );
}

#[test]
fn softmax_cross_entropy_gradient_is_softmax_minus_onehot() {
    let src = std::fs::read_to_string(crate::repo_root().join("specs/deep.nn")).expect("deep.nn");
    let g = graphs(&src).pop().expect("DeepNet");
    let train = nnspec_dsl::training_graph(&g).expect("optimises");
    let text = train.to_string();
    assert!(
        !text.contains("= log "),
        "no log of a probability left:\n{text}"
    );
    assert!(text.contains("log_sum_exp"), "{text}");
    assert!(
        train.nodes.iter().any(|n| n.op == ir::Op::Sub
            && matches!(train.node(n.args[0]).op, ir::Op::Softmax)
            && matches!(train.node(n.args[1]).op, ir::Op::OneHot { .. })),
        "expected softmax − onehot in\n{text}"
    );
}

#[test]
fn every_simplification_rule_has_a_name() {
    let names: Vec<&str> = opt::RULES.iter().map(|(n, _)| *n).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(
        sorted.len(),
        names.len(),
        "duplicate rule names in {names:?}"
    );
}

/// Replays a plan: every value read (by a node, or by a node fused into it) must still be in
/// its buffer when the reading node runs.
fn check_plan(g: &ir::Graph, p: &opt::plan::Plan) -> Result<(), String> {
    let mut holds: Vec<Option<usize>> = vec![None; p.buffers.len()];
    for i in 0..g.nodes.len() {
        if p.fused_into[i].is_some() {
            continue;
        }
        let mut reads: Vec<usize> = g.nodes[i].args.iter().map(|a| a.index()).collect();
        for j in 0..i {
            if p.fused_into[j] == Some(ir::NodeId(i as u32)) {
                reads.extend(g.nodes[j].args.iter().map(|a| a.index()));
            }
        }
        for r in reads {
            if let Some(b) = p.buffer[r]
                && holds[b] != Some(r)
            {
                return Err(format!(
                    "%{i} reads %{r} from buffer {b}, which holds {:?}",
                    holds[b]
                ));
            }
        }
        if let Some(b) = p.buffer[i] {
            holds[b] = Some(i);
        }
    }
    for (name, id) in &g.outputs {
        if let Some(b) = p.buffer[id.index()]
            && holds[b] != Some(id.index())
        {
            return Err(format!(
                "output {name} (%{}) was overwritten in buffer {b}",
                id.0
            ));
        }
    }
    Ok(())
}

#[test]
fn every_buffer_plan_is_sound_and_deep_nets_share_buffers() {
    for path in valid_specs() {
        let src = std::fs::read_to_string(&path).expect("readable");
        for g in graphs(&src) {
            let train = nnspec_dsl::training_graph(&g).expect("optimises");
            let plan = opt::plan::plan(&train);
            check_plan(&train, &plan)
                .unwrap_or_else(|e| panic!("{}/{}: {e}", path.display(), g.name));
        }
    }
    let src = std::fs::read_to_string(crate::repo_root().join("specs/deep.nn")).expect("deep.nn");
    let train =
        nnspec_dsl::training_graph(&graphs(&src).pop().expect("DeepNet")).expect("optimises");
    let plan = opt::plan::plan(&train);
    let buffered = plan.buffer.iter().flatten().count();
    assert!(
        plan.buffers.len() < buffered,
        "{} buffers for {buffered} values: no sharing",
        plan.buffers.len()
    );
}

#[test]
fn a_bar_inside_a_call_opens_a_norm_except_between_a_divergences_arguments() {
    // `exp[λ ‖β‖²]` is `exp[λ · ‖β‖²]`: inside any call but a divergence (`D_KL[q ‖ p]`), a
    // bar after a value opens a norm juxtaposed with it, as it does outside brackets.
    let spec = |loss: &str| {
        format!(
            "model M[D = 2, λ = 0.5] {{ input x : ℝ^D\n target y : ℝ^D\n param β : ℝ^D\n \
             f = x + β\n loss L[φ] = ∑_i ‖y_i - f_i‖² + {loss}\n}}"
        )
    };
    let text = |src: &str| {
        graphs(src)
            .iter()
            .map(|g| g.to_string())
            .collect::<String>()
    };
    let juxtaposed = text(&spec("exp[λ ‖β‖²] + log[1 + λ ‖β‖ ‖β‖]"));
    let explicit = text(&spec("exp[λ · ‖β‖²] + log[1 + λ · ‖β‖ · ‖β‖]"));
    assert_eq!(juxtaposed, explicit);
    assert!(juxtaposed.contains("exp"), "{juxtaposed}");
}

#[test]
fn a_bar_in_a_calls_first_argument_is_the_policys_given() {
    // `π[a_i|s_i, θ]` is `π_{a_i}[s_i, θ]`, component a_i of π[s_i, θ] (eqs. 19.29–19.45);
    // an absolute value that starts an argument, one after a comma and an ASCII norm keep
    // their readings.
    let spec = |loss: &str| {
        format!(
            "model M[D = 2, A = 2] {{ input s : ℝ^D\n target a : {{1 … A}}\n \
             param Ω : ℝ^{{A×D}}, w : ℝ^D\n π[s, θ] = softmax[Ω s]\n loss L[θ] = {loss}\n}}"
        )
    };
    let text = |src: &str| {
        graphs(src)
            .iter()
            .map(|g| g.to_string())
            .collect::<String>()
    };
    let given = text(&spec("-∑_i log[π[a_i|s_i, θ]]"));
    let picked = text(&spec("-∑_i log[π_{a_i}[s_i, θ]]"));
    assert_eq!(given, picked);
    assert!(given.contains("pick_label"), "{given}");
    let bars = text(&spec(
        "∑_i 𝟏ᵀ |Ω s_i| + log[|w_1| + 1] + max[1, |w_2|] + exp[2 ||Ω||^2]",
    ));
    let words = text(&spec(
        "∑_i 𝟏ᵀ abs[Ω s_i] + log[abs[w_1] + 1] + max[1, abs[w_2]] + exp[2 · ‖Ω‖²]",
    ));
    assert_eq!(bars, words);
    // Only `π` has a given: in any other call a juxtaposed absolute value is a product (eq.
    // 13.19's `√[|ne[n]| |ne[m]|]`).
    let product = text(&spec("log[2 |w_1|] + log[|w_1| |w_2|]"));
    let dotted = text(&spec("log[2 · |w_1|] + log[|w_1| · |w_2|]"));
    assert_eq!(product, dotted);
    // In `π`'s first argument a juxtaposed absolute value, and a bar after `π` with a
    // subscript, are errors, never another reading; a bar on a left side is E0250.
    for (loss, code) in [
        ("-∑_i log[π[2 |a_i| |s_i, θ]]", Code::E0101),
        ("-∑_i log[π_1[a_i|s_i, θ]]", Code::E0101),
    ] {
        let got = check_source(&spec(loss), &Options::default()).unwrap_err();
        assert_eq!(got[0].code, code, "{loss}");
        assert!(
            got[0].help.iter().any(|h| h.contains("π[a_i|s_i, θ]")),
            "{loss}: {:?}",
            got[0].help
        );
    }
    let defined = "model M[A = 2] { input s : ℝ^{4}; target a : {1 … A}; param Ω : ℝ^{A×4}; \
                   π[a|s, θ] = softmax_a[Ω s]; loss L[θ] = -∑_i log[π[a_i|s_i, θ]] }";
    let got = check_source(defined, &Options::default()).unwrap_err();
    assert_eq!(got[0].code, Code::E0250);
}

#[test]
fn pass_stack_makes_products_with_one_right_operand_one_product() {
    // Two gates reading the same h: one product of [U_f; U_i], then its two row blocks.
    pass_snapshot(
        "stack",
        "model M[D = 3] { input h : ℝ^D; param U_f : ℝ^{D×D}, U_i : ℝ^{D×D}, U_o : ℝ^{2×D}
         f = sig[U_f h]
         i = sig[U_i h]
         o = U_o h
         loss L[φ] = ∑_i 𝟏ᵀ(f_i ⊙ i_i) + ∑_i 𝟏ᵀ o_i }",
        false,
    );
}

#[test]
fn an_lstm_takes_one_product_a_step_and_one_for_the_inputs() {
    // specs/sequences.nn's LSTM over T = 8 steps: the four input weights [W_f; W_i; W_o; W_c]
    // times every X_t as one product of the whole sequence, `[W_f; …] X` (`hoist`), one
    // product of the four recurrent weights with h_{t-1} per step (none at t = 1, where
    // h_0 = 0), and the read-out: 1 + (T - 1) + 1 = 9 products, not 8T - 3.
    let src = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/sequences.nn"),
    )
    .unwrap();
    let g = graphs(&src)
        .into_iter()
        .find(|g| g.name == "LSTMDigits")
        .unwrap();
    let forward = opt::optimize(&g).unwrap();
    let products = |g: &ir::Graph| {
        g.nodes
            .iter()
            .filter(|n| matches!(n.op, ir::Op::MatMul { .. }))
            .count()
    };
    assert_eq!(products(&forward), 9);
    // The gradient of the stacked input weights is one product too, `∂P Xᵀ` over the whole
    // sequence (`add-example-cols` joins the 8 placed columns of ∂P), where it was 8.
    let train = nnspec_dsl::training_graph(&g).unwrap();
    let x = train.inputs.iter().find(|s| s.name == "X").unwrap().node;
    let reads_x = train
        .nodes
        .iter()
        .filter(|n| matches!(n.op, ir::Op::MatMul { .. }) && n.args.contains(&x))
        .count();
    assert_eq!(reads_x, 2, "[W_f; …] X forward and ∂P Xᵀ backward");
    assert!(
        !train
            .nodes
            .iter()
            .any(|n| matches!(n.op, ir::Op::PlaceExampleCol { .. }))
    );
}

#[test]
fn pass_hoist_makes_the_products_of_every_column_one_product() {
    // W x_t for t = 1, 2, 3, the three columns of a matrix per example: one product W X and
    // its three columns.
    pass_snapshot(
        "hoist",
        "model M[D = 2, T = 3] { input X : ℝ^{D×T}; param W : ℝ^{D×D}
         h_t = sig[W X_t]    for t ∈ {1 … T}
         s = h_1 ⊙ h_2 ⊙ h_3
         loss L[φ] = ∑_i 𝟏ᵀ s_i }",
        false,
    );
}

#[test]
fn products_with_constant_sides_of_at_most_8_are_planned_as_straight_line_code() {
    use opt::plan::Tiny;
    // The shallow network 2 → D → 1. Its five products (by hand): Ω_0 x (D×2 by 2×B),
    // Ω_1 h (1×D by D×B), the input gradient Ω_1ᵀ ∂f (D×1 by 1×B), and the weight gradients
    // ∂f hᵀ (1×D, summed over B) and ∂h' xᵀ (D×2, summed over B).
    let tiny = |d: usize| {
        let src = format!(
            "model M[D = {d}, D_i = 2] {{\n input x : ℝ^{{D_i}}\n target y : ℝ\n \
             param β_0 : ℝ^D, Ω_0 : ℝ^{{D×D_i}}\n param β_1 : ℝ, Ω_1 : ℝ^{{1×D}}\n \
             h = ReLU[β_0 + Ω_0 x]\n f[x, φ] = β_1 + Ω_1 h\n \
             loss L[φ] = ∑_i (f[x_i, φ] - y_i)^2\n}}"
        );
        let g = graphs(&src).pop().expect("M");
        let train = nnspec_dsl::training_graph(&g).expect("optimises");
        let plan = opt::plan::plan(&train);
        let mut forms: Vec<String> = plan
            .tiny
            .iter()
            .flatten()
            .map(|t| format!("{t:?}"))
            .collect();
        forms.sort();
        forms
    };
    let mut want = [
        Tiny::Cols { m: 8, k: 2 },
        Tiny::Cols { m: 1, k: 8 },
        Tiny::Cols { m: 8, k: 1 },
        Tiny::Inner { m: 1, n: 8 },
        Tiny::Inner { m: 8, n: 2 },
    ]
    .map(|t| format!("{t:?}"));
    want.sort();
    assert_eq!(tiny(8), want);
    // One side of 9: every product is a GEMM.
    assert_eq!(tiny(9), Vec::<String>::new());
}
