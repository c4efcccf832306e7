//! The abstract syntax tree of a `.nn` file: plain data with byte spans, nothing semantic.
//!
//! The tree mirrors what the user wrote. Spellings are kept as written (`beta_0`, `Ω₀`); turning
//! them into one canonical name is the checker's job ([`crate::names`]). Every node carries the
//! [`Span`] of its source text so that any later stage can point back at it.

// The tree is built once per file and walked a few times; variant sizes do not matter here.
#![allow(clippy::large_enum_variant)]

use crate::diag::Span;

/// A whole `.nn` file: one or more models.
#[derive(Clone, Debug, PartialEq)]
pub struct File {
    /// The models, in source order.
    pub models: Vec<Model>,
}

/// `model Name[K = 3, D] { … }`.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    /// The model's name, a plain word.
    pub name: Word,
    /// Hyper-parameters with optional defaults, in source order.
    pub hypers: Vec<Hyper>,
    /// The statements of the body, in source order.
    pub stmts: Vec<Stmt>,
    /// `env CartPole`: the environment it acts in (chapter 19), each such line in order.
    pub env: Vec<Word>,
    /// `‖w_j‖ ≤ c`: max-norm constraints, in order (`check::max_norm`).
    pub max_norms: Vec<MaxNorm>,
    /// The whole model, keyword to closing brace.
    pub span: Span,
}

/// `‖w_j‖ ≤ c`, a max-norm constraint: what the norm bars hold and the bound.
#[derive(Clone, Debug, PartialEq)]
pub struct MaxNorm {
    /// Inside the bars: a parameter `w`, or `w_j`, its columns.
    pub of: Expr,
    /// The radius `c`.
    pub bound: Expr,
    /// The whole line.
    pub span: Span,
}

/// A plain word, such as a model name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    /// The text as written.
    pub text: String,
    /// Where it was written.
    pub span: Span,
}

/// A hyper-parameter `D = 64` (or `D` with no default).
#[derive(Clone, Debug, PartialEq)]
pub struct Hyper {
    /// The hyper-parameter's name.
    pub name: Name,
    /// Its default value, an expression over earlier hyper-parameters.
    pub default: Option<Expr>,
    /// The whole `D = 64`.
    pub span: Span,
}

/// A name as written: `β_0`, `beta_0`, `Ω₀`, `h_{k+1}`, `φ'_1`, `φ⁻`.
#[derive(Clone, Debug, PartialEq)]
pub struct Name {
    /// The word before any prime or subscript (`β`, `beta`, `Omega`, `softmax`).
    pub word: String,
    /// The number of primes (`h'` has one).
    pub primes: u8,
    /// The frozen mark `⁻` (ASCII `^-`) of eq. 19.18.
    pub frozen: bool,
    /// The subscript's index expressions: `h_{k+1}` has one, `x_{i,j}` two, `h` none.
    pub sub: Vec<Expr>,
    /// The node superscript of `h_k^{(n)}` (eq. 13.9): the node index it names.
    pub node: Option<Box<Name>>,
    /// The whole name.
    pub span: Span,
}

impl Name {
    /// Whether this is `word` alone: no subscript, prime or frozen mark (`I`, not `I_1` or `I'`).
    pub fn is_bare(&self, word: &str) -> bool {
        self.word == word
            && self.sub.is_empty()
            && self.primes == 0
            && !self.frozen
            && self.node.is_none()
    }
}

/// One statement of a model body.
#[derive(Clone, Debug, PartialEq)]
pub struct Stmt {
    /// What the statement says.
    pub kind: StmtKind,
    /// The trailing `for k ∈ {1 … K}` that repeats it, if any.
    pub family: Option<Family>,
    /// The whole statement.
    pub span: Span,
}

/// The kinds of statements.
#[derive(Clone, Debug, PartialEq)]
pub enum StmtKind {
    /// `input x : ℝ^{D_i}` (one or more names).
    Input(Vec<Typed>),
    /// `target y : {0 … D_o-1}` (one or more names).
    Target(Vec<Typed>),
    /// `param β_0 : ℝ^D, Ω_0 : ℝ^{D×D_i} ~ He ∈ θ`.
    Param {
        /// The declared parameters.
        items: Vec<ParamItem>,
        /// The parameter group they belong to (`∈ θ`), if named.
        group: Option<Name>,
    },
    /// `ε : ℝ^{D} ~ Norm[0, I]`: noise the runtime samples each step.
    Noise {
        /// The noise variable.
        name: Name,
        /// Its declared type.
        ty: Option<Type>,
        /// The distribution it is drawn from.
        dist: Expr,
    },
    /// `let a = ReLU`, or a function `let swish[z] = z · sig[z]`.
    Let {
        /// The bound name.
        name: Name,
        /// Formal arguments, empty for a plain alias.
        formals: Vec<Name>,
        /// The bound expression.
        body: Expr,
    },
    /// `h_1 = a[β_0 + Ω_0 x]`, `f[x, φ] = …`, or (with `loss`) `loss L[φ] = …`.
    Equation {
        /// The left-hand side.
        lhs: Lhs,
        /// The right-hand side.
        rhs: Expr,
        /// Whether the statement starts with `loss`.
        loss: bool,
    },
    /// `q[s_t, a_t] ← q[s_t, a_t] + α (…)`: an update rule (eqs. 19.11–19.15); the model's
    /// `←` statements together are one simultaneous update step.
    Update {
        /// The entry written: a table of a parameter indexed by labels or numbers.
        lhs: Lhs,
        /// Its new value, read before any entry is written.
        rhs: Expr,
    },
}

/// `x : ℝ^{D}` in an `input` or `target` declaration.
#[derive(Clone, Debug, PartialEq)]
pub struct Typed {
    /// The declared name.
    pub name: Name,
    /// Its type.
    pub ty: Type,
}

/// `Ω_0 : ℝ^{D×D_i} ~ He` in a `param` declaration.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamItem {
    /// The declared name.
    pub name: Name,
    /// Its type.
    pub ty: Type,
    /// `lower triangular`, `unit lower triangular`, `strictly upper triangular`, `diagonal`:
    /// the entries the parameter may have (eq. 16.9), if declared.
    pub structure: Option<Structure>,
    /// The initialiser, if given.
    pub init: Option<Init>,
}

/// A square parameter's declared structure (eq. 16.9's `L`, `U`, `D`): which entries may be
/// non-zero, and what its diagonal is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Structure {
    /// Entries below the diagonal may be non-zero.
    pub below: bool,
    /// Entries above the diagonal may be non-zero.
    pub above: bool,
    /// The diagonal.
    pub diagonal: OnDiagonal,
    /// The words as written.
    pub span: Span,
}

/// The diagonal of a structured parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnDiagonal {
    /// Trained (`lower triangular`, `diagonal`).
    Free,
    /// Fixed at one (`unit lower triangular`, eq. 16.9's `L`).
    One,
    /// Fixed at zero (`strictly upper triangular`, eq. 16.9's `U`).
    Zero,
}

impl Structure {
    /// The words of the declaration, as the language spells them.
    pub fn words(&self) -> &'static str {
        match (self.below, self.above, self.diagonal) {
            (true, false, OnDiagonal::Free) => "lower triangular",
            (true, false, OnDiagonal::One) => "unit lower triangular",
            (true, false, OnDiagonal::Zero) => "strictly lower triangular",
            (false, true, OnDiagonal::Free) => "upper triangular",
            (false, true, OnDiagonal::One) => "unit upper triangular",
            (false, true, OnDiagonal::Zero) => "strictly upper triangular",
            _ => "diagonal",
        }
    }
}

/// A parameter initialiser: `~ He`, `~ Norm[0, 0.01]` (random) or `= 0` (constant).
#[derive(Clone, Debug, PartialEq)]
pub struct Init {
    /// `true` for `~` (a distribution), `false` for `=` (a constant).
    pub random: bool,
    /// The initialiser expression.
    pub expr: Expr,
    /// The whole initialiser, sign included.
    pub span: Span,
}

/// The left-hand side of an equation: `h_{k+1}`, `f[x, φ]`, `ℓ_i`, `L[φ]`, `σ²`.
#[derive(Clone, Debug, PartialEq)]
pub struct Lhs {
    /// The defined name.
    pub name: Name,
    /// `σ²` or `σ^2` on the left: defines the name `σ²`.
    pub squared: bool,
    /// The bracketed arguments of a function definition, if any.
    pub args: Option<Vec<Expr>>,
    /// `π[a|s, θ] = …`: the bar after the first argument, which defines nothing (E0250).
    pub given: Option<Span>,
    /// The whole left-hand side.
    pub span: Span,
}

/// `for k ∈ {1 … K-1}`.
#[derive(Clone, Debug, PartialEq)]
pub struct Family {
    /// The family variable.
    pub var: Name,
    /// The first value.
    pub lo: Expr,
    /// The last value (inclusive).
    pub hi: Expr,
    /// The second value of `{T, T-1, …, 1}`, whose difference from the first is the step
    /// (`None`: the step is 1).
    pub next: Option<Expr>,
    /// The whole `for …` clause (of a second variable: its `j ∈ {…}`).
    pub span: Span,
    /// The second variable of `for i ∈ {1 … H}, j ∈ {1 … W}` (an image defined entry by
    /// entry, eq. 10.6); its own `second` is the third of `for c ∈ {1 … C}, i ∈ {1 … H}, j ∈
    /// {1 … W}` (an image with channels).
    pub second: Option<Box<Family>>,
}

/// A declared type.
#[derive(Clone, Debug, PartialEq)]
pub struct Type {
    /// What the type says.
    pub kind: TypeKind,
    /// The whole type.
    pub span: Span,
}

/// The kinds of types.
#[derive(Clone, Debug, PartialEq)]
pub enum TypeKind {
    /// `ℝ`, `ℝ^D`, `ℝ^{D×E}`: a real scalar, vector or matrix.
    Real(Vec<Dim>),
    /// `{0 … K-1}`, `{0, 1}`, `{0, 1}^{D}`: class labels.
    Label {
        /// The set of values.
        set: LabelSet,
        /// Dimensions of a vector of labels (empty for one label).
        dims: Vec<Dim>,
    },
}

/// The value set of a label type.
#[derive(Clone, Debug, PartialEq)]
pub enum LabelSet {
    /// `{lo … hi}`.
    Range(Expr, Expr),
    /// `{a, b, …}`.
    Set(Vec<Expr>),
}

/// A dimension expression: `D`, `D_o`, `64`, `K+1`, `2·D`.
#[derive(Clone, Debug, PartialEq)]
pub struct Dim {
    /// The expression (a restricted [`Expr`]: numbers, names, `+ - · * /`).
    pub expr: Expr,
}

/// An expression node.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What the node is.
    pub kind: ExprKind,
    /// The source text it covers.
    pub span: Span,
}

impl Expr {
    /// `lhs op rhs`, spanning both.
    pub fn binary(op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
        let span = lhs.span.to(rhs.span);
        Expr {
            kind: ExprKind::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            },
            span,
        }
    }
}

/// Binary operators, in the book's notation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `·` or `*`: scaling.
    Scale,
    /// `⊙`: element-wise product.
    Hadamard,
    /// `/`.
    Div,
    /// Juxtaposition `Ω x`: the matrix product (or scaling when one side is a scalar).
    Juxt,
}

impl BinOp {
    /// The operator as the book writes it.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Scale => "·",
            BinOp::Hadamard => "⊙",
            BinOp::Div => "/",
            BinOp::Juxt => "",
        }
    }
}

/// Big operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BigOp {
    /// `∑` / `sum`.
    Sum,
    /// `∏` / `prod`.
    Prod,
    /// `max_k`: the largest of the terms, entry by entry.
    Max,
    /// `min_k`: the smallest of the terms, entry by entry.
    Min,
    /// `argmax_k`: the index of the largest term (the first on a tie), entry by entry.
    ArgMax,
    /// `argmin_k`: the index of the smallest term (the first on a tie), entry by entry.
    ArgMin,
}

impl BigOp {
    /// The operator as the language spells it.
    pub fn symbol(self) -> &'static str {
        match self {
            BigOp::Sum => "∑",
            BigOp::Prod => "∏",
            BigOp::Max => "max",
            BigOp::Min => "min",
            BigOp::ArgMax => "argmax",
            BigOp::ArgMin => "argmin",
        }
    }

    /// What it computes, in words: "sum", "product", "maximum", …
    pub fn word(self) -> &'static str {
        match self {
            BigOp::Sum => "sum",
            BigOp::Prod => "product",
            BigOp::Max => "maximum",
            BigOp::Min => "minimum",
            BigOp::ArgMax => "argmax",
            BigOp::ArgMin => "argmin",
        }
    }

    /// For `max`, `min`, `argmax`, `argmin`: the extreme it selects, and whether the result is
    /// the index rather than the value.
    pub fn extreme(self) -> Option<(nnspec_ops::Extreme, bool)> {
        use nnspec_ops::Extreme;
        match self {
            BigOp::Sum | BigOp::Prod => None,
            BigOp::Max => Some((Extreme::Max, false)),
            BigOp::Min => Some((Extreme::Min, false)),
            BigOp::ArgMax => Some((Extreme::Max, true)),
            BigOp::ArgMin => Some((Extreme::Min, true)),
        }
    }
}

/// The binder of a big operator: `_{i=1}`, `_{i ∈ B}`, `_i`, `_{j≠y_i}`.
#[derive(Clone, Debug, PartialEq)]
pub struct Binder {
    /// The bound index.
    pub var: Name,
    /// `= lo` (then the upper limit follows the operator).
    pub lo: Option<Box<Expr>>,
    /// `∈ set`.
    pub set: Option<Box<Expr>>,
    /// `≠ y_i`: every class but this label (`∑_{j≠y_i}`, `check::except`).
    pub except: Option<Box<Expr>>,
    /// `(i, j)` of `_{(i,j) ∈ Ω}`: the labels of an observed pair, each data declared with a
    /// label set; `var` is then their names run together (`ij`, the example index that
    /// `r_{ij}` reads) and `set` the observed set `Ω` (`check::pairs`). Empty otherwise.
    pub pair: Vec<Name>,
    /// The whole binder.
    pub span: Span,
}

/// The kinds of expression nodes.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// A numeric literal.
    Number(f64),
    /// A name.
    Name(Name),
    /// `𝟏`, the vector of ones.
    Ones,
    /// `|B|`, or `I` used as a value: the number of examples in the batch, known at run time.
    BatchSize,
    /// `f[x, φ]`, `a[z]`, `softmax_{y_i}[z]`: the function's name may carry a subscript.
    Call {
        /// The function's name.
        func: Name,
        /// The arguments (separated by `,` or `‖`).
        args: Vec<Expr>,
    },
    /// Unary minus.
    Neg(Box<Expr>),
    /// A binary operation.
    Binary {
        /// The operator.
        op: BinOp,
        /// The left operand.
        lhs: Box<Expr>,
        /// The right operand.
        rhs: Box<Expr>,
    },
    /// `( e )`: kept so that diagnostics can tell `exp(x)` from `exp[x]`.
    Paren(Box<Expr>),
    /// `eᵀ`, `e^T`.
    Transpose(Box<Expr>),
    /// `e^p`, `e²`.
    Power(Box<Expr>, Box<Expr>),
    /// `‖e‖`.
    Norm(Box<Expr>),
    /// `√e`.
    Sqrt(Box<Expr>),
    /// `∑_{i=1}^{I} body`, `∏ …`.
    Big {
        /// Which operator.
        op: BigOp,
        /// `_{…}`.
        binder: Option<Binder>,
        /// `^{…}`.
        upper: Option<Box<Expr>>,
        /// The summand.
        body: Box<Expr>,
    },
    /// `Pr(y | x)`.
    Prob {
        /// The event.
        event: Box<Expr>,
        /// What it is conditioned on.
        given: Vec<Expr>,
    },
    /// `I` where it is the identity matrix (`A + I`, eq. 13.10; `(1 + ε_k) I`, eq. 13.14), its
    /// size that of what it meets; `I` as a sum's upper limit or in a denominator is the batch
    /// size instead ([`ExprKind::BatchSize`], decided in `conventions`).
    Identity,
    /// `[A, B; C, D]`: a block matrix, rows of blocks separated by `;`, the blocks of a row
    /// by `,`; `…` stands for a family's members between its neighbours (eq. 12.12).
    Stack(Vec<Vec<Entry>>),
    /// `∂L/∂φ`.
    Deriv {
        /// The differentiated quantity.
        of: Box<Expr>,
        /// With respect to.
        wrt: Name,
    },
}

/// One entry of a block matrix `[…]`.
#[derive(Clone, Debug, PartialEq)]
pub enum Entry {
    /// A block.
    Item(Expr),
    /// `…`: the members of a family between the blocks on either side (`a_2, …, a_H`).
    Ellipsis(Span),
}
