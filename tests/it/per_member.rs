//! Numbers that differ per family member — a sum's and a maximum's upper limit `k`, an
//! exponent `k + 1`, `LReLU`'s slope `0.1 k` — and a block matrix's `…` between `z_1` and
//! `z_K`: checking evaluates each once per member and lowering reads those values, so the
//! model computes, member by member, what the equations say. Expected values by hand below.

use faer::Mat;
use nnspec::dsl;

const SRC: &str = "model PerMember[K = 3] {
    input  x : ℝ
    param  β : ℝ = 0.5
    z_1     = x
    z_{k+1} = ∑_{j=1}^{k} z_k + β^{k+1} + LReLU_{0.1 k}[-x] + max_{j=1}^{k} [j x]      for k ∈ {1 … K-1}
    f[x, φ] = [z_1, …, z_K] 𝟏
}
";

/// By hand, with β = 1/2 and `LReLU_α[u] = u` for u ≥ 0, `α u` below:
/// z_2 = z_1 + β² + LReLU_{0.1}[−x] + x, z_3 = 2 z_2 + β³ + LReLU_{0.2}[−x] + max(x, 2x),
/// f = z_1 + z_2 + z_3. At x = 2: z_2 = 2 + 0.25 − 0.2 + 2 = 4.05, z_3 = 8.1 + 0.125 − 0.4 + 4
/// = 11.825, f = 17.875. At x = −1: z_2 = −1 + 0.25 + 1 − 1 = −0.75, z_3 = −1.5 + 0.125 + 1
/// − 1 = −1.375, f = −3.125.
#[test]
fn limits_exponents_and_slopes_per_member() {
    let checked = dsl::check_source(SRC, &dsl::check::Options::default())
        .unwrap_or_else(|d| panic!("{}", dsl::diag::render(&d, "per_member.nn", SRC)));
    let g = checked.graph(None).unwrap().clone();
    let x = Mat::from_fn(1, 2, |_, j| [2.0, -1.0][j]);
    let params: Vec<Mat<f64>> = g
        .params
        .iter()
        .map(|_| Mat::from_fn(1, 1, |_, _| 0.5))
        .collect();
    let values = nnspec::interp::run(&g, &[x], &params).unwrap();
    let f = values.output("f").unwrap();
    for (j, want) in [17.875, -3.125].into_iter().enumerate() {
        assert!(
            (f[(0, j)] - want).abs() < 1e-12,
            "f at example {j}: {} ≠ {want}",
            f[(0, j)]
        );
    }
}
