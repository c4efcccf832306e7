//! Generated data sets with structure, built in for the models that read it: small graphs to
//! classify (a graph network, `specs/gcn.nn`) and sequences to reverse (a transformer,
//! `specs/sequence.nn`), and ratings of users for items (matrix factorisation,
//! `specs/matrix_factorisation.nn`). All are deterministic functions of the seed, and all name their
//! inputs ([`Dataset::inputs`]), so they are used as given, not standardised: an adjacency
//! matrix and one-hot tokens keep their meaning.

use crate::runtime::data::{Dataset, InputShape, Targets, input_feature_names};
use crate::runtime::{Rng, Scalar};
use faer::Mat;

/// An index in `0..n` from the high bits of a 64-bit draw.
fn below(rng: &mut Rng, n: usize) -> usize {
    ((u128::from(rng.next_u64()) * n as u128) >> 64) as usize
}

/// A uniformly shuffled `0..n`.
fn permutation(rng: &mut Rng, n: usize) -> Vec<usize> {
    let mut p: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        p.swap(i, below(rng, i + 1));
    }
    p
}

/// The edges of a cycle through all `n` nodes, or of a random tree on them; the nodes in a
/// random order.
fn graph_edges(rng: &mut Rng, n: usize, cycle: bool) -> Vec<(usize, usize)> {
    let p = permutation(rng, n);
    if cycle {
        (0..n).map(|i| (p[i], p[(i + 1) % n])).collect()
    } else {
        // Each node after the first joins a node before it: a tree on n nodes, n − 1 edges.
        (1..n).map(|i| (p[i], p[below(rng, i)])).collect()
    }
}

/// `count` graphs of `nodes` nodes, half of them a cycle through every node (class 1), half a
/// random tree (class 0), as a graph network reads them: node features `X ∈ ℝ^{D×N}` (`name_x`,
/// each node's degree `d` one-hot, its 1 in row `min(d, D − 1) + 1`; for `D = 1` every entry
/// is 1) and the adjacency matrix `A ∈ ℝ^{N×N}` (`name_a`, symmetric, 0 or 1, no self-loops), each example's column
/// `X` then `A`, column by column. A tree has at least two leaves (degree 1), a cycle none, so
/// aggregating over neighbours (`X (A + I)`, eq. 13.10) can tell them apart.
pub fn graphs<T: Scalar>(
    (name_x, dims): (&str, usize),
    name_a: &str,
    nodes: usize,
    count: usize,
    seed: u64,
) -> Dataset<T> {
    let mut rng = Rng::new(seed ^ 0x6AF5);
    let dims = dims.max(1);
    let features = dims * nodes + nodes * nodes;
    let mut x = Mat::<T>::zeros(features, count);
    let mut labels = Vec::with_capacity(count);
    for j in 0..count {
        let cycle = j % 2 == 1;
        labels.push(usize::from(cycle));
        let a = dims * nodes;
        let mut degree = vec![0usize; nodes];
        for (u, v) in graph_edges(&mut rng, nodes, cycle) {
            x[(a + v * nodes + u, j)] = T::ONE;
            x[(a + u * nodes + v, j)] = T::ONE;
            degree[u] += 1;
            degree[v] += 1;
        }
        for (v, d) in degree.iter().enumerate() {
            x[(v * dims + (*d).min(dims - 1), j)] = T::ONE;
        }
    }
    let inputs = vec![
        InputShape {
            name: name_x.to_string(),
            rows: dims,
            cols: nodes,
        },
        InputShape {
            name: name_a.to_string(),
            rows: nodes,
            cols: nodes,
        },
    ];
    Dataset {
        feature_names: input_feature_names(&inputs),
        x,
        y: Targets::Labels {
            values: labels,
            lo: 0,
            classes: 2,
        },
        class_names: Vec::new(),
        inputs,
    }
}

/// `count` sequences of `len` symbols drawn uniformly from `symbols`, one-hot as the columns of
/// `X ∈ ℝ^{S×N}` (`name`), with the target the same sequence reversed, one-hot as the columns
/// of `Y ∈ {0, 1}^{S×N}`: token `n` of the output is token `N + 1 − n` of the input.
pub fn reversal<T: Scalar>(
    name: &str,
    symbols: usize,
    len: usize,
    count: usize,
    seed: u64,
) -> Dataset<T> {
    let mut rng = Rng::new(seed ^ 0x5E0);
    let mut x = Mat::<T>::zeros(symbols * len, count);
    let mut y = Mat::<T>::zeros(symbols * len, count);
    for j in 0..count {
        let seq: Vec<usize> = (0..len).map(|_| below(&mut rng, symbols)).collect();
        for (n, &s) in seq.iter().enumerate() {
            x[(n * symbols + s, j)] = T::ONE;
            y[((len - 1 - n) * symbols + s, j)] = T::ONE;
        }
    }
    let inputs = vec![InputShape {
        name: name.to_string(),
        rows: symbols,
        cols: len,
    }];
    Dataset {
        feature_names: input_feature_names(&inputs),
        x,
        y: Targets::Values(y),
        class_names: Vec::new(),
        inputs,
    }
}

/// The rule of [`ratings`]: the rank of the true factors and the noise's standard deviation.
pub const RATINGS_RANK: usize = 3;
/// The standard deviation σ of the ratings' Gaussian noise: the RMSE a perfect model of the
/// low-rank part still makes on held-out ratings.
pub const RATINGS_NOISE: f64 = 0.1;

/// Synthetic ratings for matrix factorisation (course notes 004): true factors
/// `u*_i, v*_j ∈ ℝ^{3}` with entries `N(0, 1)`, each of the `users × items` pairs observed
/// with probability ½ (the set Ω), its rating `r_{ij} = u*_iᵀ v*_j / √3 + ε`, `ε ~ N(0, 0.1²)`;
/// one example per observed pair, the user label `i ∈ {lo_u …}` (`name_u`) and the item label
/// `j` (`name_v`) as the inputs, the rating as the target. The noise is the floor of the
/// held-out RMSE.
pub fn ratings<T: Scalar>(
    (name_u, users, lo_u): (&str, usize, i32),
    (name_v, items, lo_v): (&str, usize, i32),
    seed: u64,
) -> Dataset<T> {
    let mut rng = Rng::new(seed ^ 0x4A7E);
    let k = RATINGS_RANK;
    let u: Vec<f64> = (0..users * k).map(|_| rng.normal(1.0)).collect();
    let v: Vec<f64> = (0..items * k).map(|_| rng.normal(1.0)).collect();
    let mut pairs = Vec::new();
    for i in 0..users {
        for j in 0..items {
            if rng.uniform() < 0.5 {
                pairs.push((i, j));
            }
        }
    }
    let mut x = Mat::<T>::zeros(2, pairs.len());
    let mut y = Mat::<T>::zeros(1, pairs.len());
    let scale = (k as f64).sqrt();
    for (c, &(i, j)) in pairs.iter().enumerate() {
        let dot: f64 = (0..k).map(|l| u[i * k + l] * v[j * k + l]).sum();
        x[(0, c)] = T::from_f64((i as f64) + f64::from(lo_u));
        x[(1, c)] = T::from_f64((j as f64) + f64::from(lo_v));
        y[(0, c)] = T::from_f64(dot / scale + rng.normal(RATINGS_NOISE));
    }
    let one = |name: &str| InputShape {
        name: name.to_string(),
        rows: 1,
        cols: 1,
    };
    let inputs = vec![one(name_u), one(name_v)];
    Dataset {
        feature_names: input_feature_names(&inputs),
        x,
        y: Targets::Values(y),
        class_names: Vec::new(),
        inputs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trees_have_leaves_and_cycles_none() {
        let ds = graphs::<f64>(("X", 1), "A", 6, 40, 3);
        assert!(
            (0..6).all(|f| ds.x[(f, 0)] == 1.0),
            "D = 1: constant features"
        );
        let hot = graphs::<f64>(("X", 6), "A", 6, 40, 3);
        for v in 0..6 {
            let deg: f64 = (0..6).map(|u| hot.x[(36 + v * 6 + u, 0)]).sum();
            let row = (0..6).position(|r| hot.x[(v * 6 + r, 0)] == 1.0);
            assert_eq!(row, Some(deg as usize), "degree one-hot");
        }
        let Targets::Labels { values, .. } = &ds.y else {
            panic!("labels")
        };
        for (j, label) in values.iter().enumerate() {
            let deg: Vec<f64> = (0..6)
                .map(|v| (0..6).map(|u| ds.x[(6 + v * 6 + u, j)]).sum())
                .collect();
            let edges: f64 = deg.iter().sum::<f64>() / 2.0;
            if *label == 1 {
                assert!(deg.iter().all(|&d| d == 2.0), "{deg:?}");
            } else {
                assert_eq!(edges, 5.0);
                assert!(deg.iter().filter(|&&d| d == 1.0).count() >= 2, "{deg:?}");
            }
            for v in 0..6 {
                assert_eq!(ds.x[(6 + v * 6 + v, j)], 0.0, "no self-loop");
            }
        }
        assert_eq!(ds, graphs::<f64>(("X", 1), "A", 6, 40, 3), "deterministic");
    }

    #[test]
    fn reversed_sequences() {
        let ds = reversal::<f64>("X", 4, 5, 10, 1);
        let Targets::Values(y) = &ds.y else {
            panic!("values")
        };
        for j in 0..10 {
            for n in 0..5 {
                for s in 0..4 {
                    assert_eq!(ds.x[(n * 4 + s, j)], y[((4 - n) * 4 + s, j)]);
                }
                let ones: f64 = (0..4).map(|s| ds.x[(n * 4 + s, j)]).sum();
                assert_eq!(ones, 1.0);
            }
        }
    }
}
