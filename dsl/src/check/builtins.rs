//! The built-in functions the book uses, with their argument and result shapes.

/// A built-in function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Builtin {
    /// `ReLU[z]` (eq. 3.2).
    Relu,
    /// `LReLU_α[z]`: leaky ReLU with slope α (eq. 7.43); α defaults to 0.01.
    LRelu,
    /// `sig[z]`, the logistic sigmoid (eq. 5.18).
    Sig,
    /// `tanh[z]`.
    Tanh,
    /// `exp[z]`.
    Exp,
    /// `log[z]`.
    Log,
    /// `sin[z]`.
    Sin,
    /// `cos[z]`.
    Cos,
    /// `sqrt[z]`.
    Sqrt,
    /// `abs[z]`.
    Abs,
    /// `softplus[z] = log[1 + exp[z]]`.
    Softplus,
    /// `HardSwish[z]` (eq. 3.13).
    HardSwish,
    /// `Heaviside[z]` (eq. 7.40).
    Heaviside,
    /// `rect[z]` (eq. 7.41).
    Rect,
    /// `softmax[z]`, or `softmax_k[z]` for one component (eq. 5.22).
    Softmax,
    /// `Softmax[Z]`, column by column (eq. 12.7).
    SoftmaxCols,
    /// `logsumexp[z] = log[∑_k exp[z_k]]`.
    LogSumExp,
    /// `LayerNorm[z]`; of a matrix (the tokens `X` of eq. 12.13), column by column.
    LayerNorm,
    /// `BatchNorm[h]`: each component of a per-example vector normalised over the batch
    /// (eq. 11.7–11.8).
    BatchNorm,
    /// `Norm_y[μ, σ²]`, the normal density of `y` (eq. 5.7).
    NormPdf,
    /// `MaxPool[H]`: the maximum of each 2×2 region of an image (§10.4), `ℝ^{H×W} →
    /// ℝ^{H/2×W/2}`, `H` and `W` even.
    MaxPool,
    /// `MeanPool[H]`: the mean of each 2×2 region of an image (§10.4.1, "mean pooling"),
    /// `ℝ^{H×W} → ℝ^{H/2×W/2}`, `H` and `W` even.
    MeanPool,
    /// `Upsample[H]`: each position duplicated into a 2×2 block (§10.4.2, up-sampling),
    /// `ℝ^{H×W} → ℝ^{2H×2W}`.
    Upsample,
    /// `MaxUnpool[P, H]`: max unpooling (§10.4.2), the entries of `P ∈ ℝ^{H/2×W/2}` put back
    /// where the maxima of the 2×2 regions of `H ∈ ℝ^{H×W}` are, zeros elsewhere.
    MaxUnpool,
    /// `vec[P]`: a matrix `ℝ^{H×W}` as the vector `ℝ^{HW}` of its columns one under the other.
    Vec,
    /// `diag[v]`: the square matrix with `v` on its diagonal, zero elsewhere (the degree
    /// matrix `D = diag[A 𝟏]` of eq. 13.18–13.20).
    Diag,
    /// `Softmask[S, M]`: column by column, a softmax over the entries of `S` where the mask
    /// `M` is not zero, zero elsewhere (eq. 13.24; a causal mask).
    Softmask,
    /// `MaxNe[H, A]`: eq. 13.21's `max_{m ∈ ne[n]} [h_m]` for every node at once, row by
    /// row: of the columns of `H ∈ ℝ^{D×N}` at node `n`'s neighbours (`A[m, n] ≠ 0`), the
    /// largest entry; 0 for a node with no neighbour.
    MaxNe,
    /// `det[A]`: the determinant of a square matrix known to be triangular or diagonal, or a
    /// product of such (eq. 16.9): the product of the diagonals.
    Det,
    /// `Tr[A]`, `trace[A]`: the sum of a square matrix's diagonal.
    Trace,
    /// `max[a, b]`: the larger of two values, entry by entry (a scalar broadcast).
    Max,
    /// `min[a, b]`: the smaller of two values, entry by entry.
    Min,
}

/// How a built-in maps argument shapes to a result shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// One argument of any shape; the result has its shape.
    Elementwise,
    /// One column vector in, one column vector out.
    VectorToVector,
    /// One column vector in, a scalar out.
    VectorToScalar,
    /// One matrix (or vector) in, the same shape out, column by column.
    Columns,
    /// `Norm_y[μ, σ²]`: the subscript is the point, the result has its shape.
    Density,
    /// One matrix in (an image per example): `MaxPool`, `MeanPool`, `Upsample`, `vec`.
    Image,
    /// One column vector in, the square diagonal matrix out: `diag`.
    Diagonal,
    /// Two matrices of one shape in (scores and a mask), the first's shape out: `Softmask`.
    Mask,
    /// Node features `ℝ^{D×N}` and an adjacency `ℝ^{N×N}` in, the features' shape out:
    /// `MaxNe`.
    Neighbours,
    /// Two values of one shape (or a scalar and a value) in, that shape out: `max`, `min`.
    Pair,
    /// Pooled values and the image they were pooled from, the image's shape out: `MaxUnpool`.
    Unpool,
    /// One square matrix in, a scalar out: `det`, `Tr`.
    Square,
}

const TABLE: &[(&str, Builtin, Kind)] = &[
    ("ReLU", Builtin::Relu, Kind::Elementwise),
    ("LReLU", Builtin::LRelu, Kind::Elementwise),
    ("sig", Builtin::Sig, Kind::Elementwise),
    ("tanh", Builtin::Tanh, Kind::Elementwise),
    ("exp", Builtin::Exp, Kind::Elementwise),
    ("log", Builtin::Log, Kind::Elementwise),
    ("sin", Builtin::Sin, Kind::Elementwise),
    ("cos", Builtin::Cos, Kind::Elementwise),
    ("sqrt", Builtin::Sqrt, Kind::Elementwise),
    ("abs", Builtin::Abs, Kind::Elementwise),
    ("softplus", Builtin::Softplus, Kind::Elementwise),
    ("HardSwish", Builtin::HardSwish, Kind::Elementwise),
    ("Heaviside", Builtin::Heaviside, Kind::Elementwise),
    ("heaviside", Builtin::Heaviside, Kind::Elementwise),
    ("rect", Builtin::Rect, Kind::Elementwise),
    ("softmax", Builtin::Softmax, Kind::VectorToVector),
    ("Softmax", Builtin::SoftmaxCols, Kind::Columns),
    ("logsumexp", Builtin::LogSumExp, Kind::VectorToScalar),
    ("LayerNorm", Builtin::LayerNorm, Kind::Columns),
    ("BatchNorm", Builtin::BatchNorm, Kind::VectorToVector),
    ("Norm", Builtin::NormPdf, Kind::Density),
    ("MaxPool", Builtin::MaxPool, Kind::Image),
    ("MeanPool", Builtin::MeanPool, Kind::Image),
    ("Upsample", Builtin::Upsample, Kind::Image),
    ("MaxUnpool", Builtin::MaxUnpool, Kind::Unpool),
    ("vec", Builtin::Vec, Kind::Image),
    ("diag", Builtin::Diag, Kind::Diagonal),
    ("Softmask", Builtin::Softmask, Kind::Mask),
    ("MaxNe", Builtin::MaxNe, Kind::Neighbours),
    ("det", Builtin::Det, Kind::Square),
    ("Tr", Builtin::Trace, Kind::Square),
    ("trace", Builtin::Trace, Kind::Square),
    ("max", Builtin::Max, Kind::Pair),
    ("min", Builtin::Min, Kind::Pair),
];

/// The `ε` of `LayerNorm[z] = (z − mean(z)) / √(var(z) + ε)`, as in eq. 11.10's `√(f_4 + ε)`.
pub const LAYER_NORM_EPSILON: f64 = 1e-5;

/// The `ε` of `BatchNorm[h] = (h − m_h) / (s_h + ε)` (eq. 11.8), "a small constant added to
/// prevent division by zero"; the same number as LayerNorm's.
pub const BATCH_NORM_EPSILON: f64 = 1e-5;

/// Functions the book uses that the language parses but does not support yet.
pub const UNSUPPORTED: &[(&str, &str)] = &[
    ("D_{KL}", "the KL divergence `D_KL[q ‖ p]` (eq. 17.21)"),
    ("E", "expectations `E[…]`"),
];

/// An initialiser or distribution a `param` may name after `~` (and `Norm`, `Uniform`,
/// `Bernoulli` for noise): resolved here once, by [`distribution`], for the checker and
/// lowering alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Distribution {
    /// `He`: normal with variance 2/fan-in (eq. 7.32).
    He,
    /// `Glorot`: normal with variance 4/(fan-in + fan-out) (eq. 7.34).
    Glorot,
    /// `LeCun`: normal with variance 1/fan-in.
    LeCun,
    /// `Norm[μ, σ²]`.
    Norm,
    /// `Uniform[a, b]`.
    Uniform,
    /// `Bernoulli[p]`.
    Bernoulli,
}

impl Distribution {
    /// How many parameters it takes.
    pub fn arity(self) -> usize {
        match self {
            Distribution::He | Distribution::Glorot | Distribution::LeCun => 0,
            Distribution::Norm | Distribution::Uniform => 2,
            Distribution::Bernoulli => 1,
        }
    }

    /// Its parameters as written in messages (`[μ, σ²]`).
    pub fn form(self) -> &'static str {
        match self {
            Distribution::He | Distribution::Glorot | Distribution::LeCun => "",
            Distribution::Norm => "[μ, σ²]",
            Distribution::Uniform => "[a, b]",
            Distribution::Bernoulli => "[p]",
        }
    }
}

/// The distributions by the names the language uses.
const DISTRIBUTIONS: &[(&str, Distribution)] = &[
    ("He", Distribution::He),
    ("Glorot", Distribution::Glorot),
    ("LeCun", Distribution::LeCun),
    ("Norm", Distribution::Norm),
    ("Uniform", Distribution::Uniform),
    ("Bernoulli", Distribution::Bernoulli),
];

/// The distribution a name means, if it names one.
pub fn distribution(word: &str) -> Option<Distribution> {
    DISTRIBUTIONS
        .iter()
        .find(|(w, _)| *w == word)
        .map(|(_, d)| *d)
}

/// The names of the initialisers, for messages.
pub fn initialiser_names() -> impl Iterator<Item = &'static str> {
    DISTRIBUTIONS.iter().map(|(w, _)| *w)
}

/// Whether an expression is the identity `I`, which as a distribution's variance
/// (`Norm[0, I]`) is 1: entries are drawn independently.
pub fn is_identity(e: &crate::ast::Expr) -> bool {
    matches!(&e.kind, crate::ast::ExprKind::Identity)
}

/// Other names for the initialisers, with the one the language uses.
const INITIALISER_SYNONYMS: &[(&str, &str)] = &[
    ("Xavier", "Glorot"),
    ("xavier", "Glorot"),
    ("Kaiming", "He"),
    ("kaiming", "He"),
    ("Gaussian", "Norm"),
    ("Normal", "Norm"),
    ("N", "Norm"),
    ("normal", "Norm"),
    ("uniform", "Uniform"),
    ("U", "Uniform"),
];

/// The initialiser a misspelt or foreign name most likely means.
pub fn suggest_initialiser(word: &str) -> Option<&'static str> {
    if let Some((_, i)) = INITIALISER_SYNONYMS.iter().find(|(s, _)| *s == word) {
        return Some(i);
    }
    if let Some(i) = initialiser_names().find(|i| i.eq_ignore_ascii_case(word)) {
        return Some(i);
    }
    crate::names::closest(word, initialiser_names())
}

/// Looks up a built-in by the name the user wrote.
pub fn lookup(word: &str) -> Option<(Builtin, Kind)> {
    TABLE
        .iter()
        .find(|(w, _, _)| *w == word)
        .map(|(_, b, k)| (*b, *k))
}

/// The built-in a bare name (no subscript, prime, frozen mark or node superscript) spells,
/// matched as the enum: `|det[A]|`'s `abs` and `det`, node-wise `sqrt` and `abs`.
pub fn named(func: &crate::ast::Name) -> Option<Builtin> {
    let bare = func.sub.is_empty() && func.primes == 0 && !func.frozen && func.node.is_none();
    lookup(&func.word).filter(|_| bare).map(|(b, _)| b)
}

/// Spellings from other libraries, with the book's name.
const SYNONYMS: &[(&str, &str)] = &[
    ("relu", "ReLU"),
    ("Relu", "ReLU"),
    ("sigmoid", "sig"),
    ("Sigmoid", "sig"),
    ("σ", "sig"),
    ("ln", "log"),
    ("leaky_relu", "LReLU"),
    ("LeakyReLU", "LReLU"),
    ("hardswish", "HardSwish"),
    ("log_softmax", "softmax"),
    ("step", "Heaviside"),
];

/// The built-in a misspelt or foreign function name most likely means.
pub fn suggest(word: &str) -> Option<&'static str> {
    if let Some((_, b)) = SYNONYMS.iter().find(|(s, _)| *s == word) {
        return Some(b);
    }
    if let Some(w) = names().find(|w| w.eq_ignore_ascii_case(word)) {
        return Some(w);
    }
    crate::names::closest(word, names())
}

/// Every built-in name, for "did you mean" help.
pub fn names() -> impl Iterator<Item = &'static str> {
    TABLE.iter().map(|(w, _, _)| *w)
}

impl Builtin {
    /// The name the book writes.
    pub fn name(self) -> &'static str {
        TABLE
            .iter()
            .find(|(_, b, _)| *b == self)
            .map_or("?", |(w, _, _)| w)
    }
}
