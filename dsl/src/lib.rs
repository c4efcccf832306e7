//! The nnspec compiler as a library: `.nn` source in, checked models and diagnostics out.
//!
//! ```text
//!   syntax::parse ─► ast::File ─► check::check ─► check::Checked (names, shapes, families)
//! ```
//!
//! Invariants:
//! - No IO. Callers (the CLI, the macro, tests) read files and pass `&str`.
//! - Nothing here panics on any input: every user error is a [`Diagnostic`] with a span.
//! - Output is deterministic: no hash-map iteration order reaches a dump or a diagnostic.
//! - Recursion depth is bounded: the parser rejects nesting deeper than
//!   [`syntax::MAX_NESTING`], and [`check_source`] runs on a thread with a large stack so that
//!   long left-associative chains (`a + b + … `) cannot overflow it.

pub mod ad;
pub mod ast;
pub mod check;
pub(crate) mod conventions;
pub mod diag;
pub mod dump;
pub(crate) mod ellipsis;
pub mod emit;
pub mod eval;
pub mod export;
pub mod fmt;
pub mod graph_svg;
pub mod ir;
pub mod names;
pub mod notation;
pub mod opt;
pub(crate) mod resolve;
pub mod shape;
pub mod spelling;
pub mod syntax;

pub use diag::{Code, Diagnostic, Span};

/// Stack size for the compiler thread: deep enough for any expression the parser accepts.
const STACK_BYTES: usize = 256 << 20;

/// Runs `f` on a thread with a large stack (falling back to the current thread if one cannot
/// be spawned). The compiler's passes are recursive over expressions; this keeps them safe
/// for long chains whatever the caller's stack (test threads have 2 MiB).
pub fn with_big_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    let slot = std::sync::Mutex::new(Some(f));
    let take = || slot.lock().ok().and_then(|mut g| g.take());
    let spawned = std::thread::scope(|s| {
        let handle = std::thread::Builder::new()
            .name("nnspec".into())
            .stack_size(STACK_BYTES)
            .spawn_scoped(s, || take().map(|f| f()));
        match handle.map(|h| h.join()) {
            Ok(Ok(v)) => v,
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            Err(_) => None,
        }
    });
    match spawned {
        Some(v) => v,
        // The thread could not be started: run here, on the caller's stack.
        None => match take() {
            Some(f) => f(),
            None => unreachable!("the closure runs exactly once"),
        },
    }
}

/// The optimised training graph of a model: the forward graph optimised (stable forms
/// first), every loss differentiated, and the joint graph optimised again.
pub fn training_graph(forward: &ir::Graph) -> Result<ir::Graph, ir::ShapeError> {
    let fwd = opt::optimize(forward)?;
    let joint = ad::grad_all(&fwd)?;
    opt::optimize(&joint)
}

/// The optimised graph `nnspec eval` runs: the forward pass, with the gradients of every loss
/// (`grads`) and of the first loss with respect to the real-valued inputs (`input_grads`).
pub fn eval_graph(
    forward: &ir::Graph,
    grads: bool,
    input_grads: bool,
) -> Result<ir::Graph, ir::ShapeError> {
    let mut g = opt::optimize(forward)?;
    if grads {
        g = ad::grad_all(&g)?;
    }
    if input_grads && let Some(loss) = forward.losses.first() {
        let real: Vec<u32> = (0..g.inputs.len() as u32)
            .filter(|&i| g.inputs[i as usize].labels.is_none())
            .collect();
        g = ad::grad_with_inputs(&g, &loss.name, &[], &real)?;
    }
    opt::optimize(&g)
}

/// What [`check_source`] returns on success: the tree, what checking found, and the IR.
#[derive(Clone, Debug, PartialEq)]
pub struct Checked {
    /// The parsed file.
    pub ast: ast::File,
    /// Names and shapes of every model.
    pub info: check::Checked,
    /// Each model lowered to the IR, in source order; `None` for a model whose
    /// hyper-parameters do not all have values (it can be checked, not compiled).
    pub graphs: Vec<Option<ir::Graph>>,
}

impl Checked {
    /// The graph of the model with this name, or of the last model that has one.
    pub fn graph(&self, model: Option<&str>) -> Option<&ir::Graph> {
        match model {
            Some(m) => self.graphs.iter().flatten().find(|g| g.name == m),
            None => self.graphs.iter().rev().flatten().next(),
        }
    }
}

/// The checks of a lowered graph that need the whole model: its sizes (`E0317`) and that every
/// parameter is trained by a loss (`E0220`).
fn accept(g: ir::Graph) -> Result<ir::Graph, Vec<Diagnostic>> {
    ir::size::check(&g).map_err(|d| vec![*d])?;
    let untrained = ir::trained::check(&g);
    if untrained.is_empty() {
        Ok(g)
    } else {
        Err(untrained)
    }
}

/// Parses and checks one file's source. Errors are every diagnostic found, in source order.
pub fn check_source(src: &str, opts: &check::Options) -> Result<Checked, Vec<Diagnostic>> {
    with_big_stack(|| {
        let ast = syntax::parse(src)?;
        let info = check::check_with(&ast, src, opts)?;
        let mut graphs = Vec::new();
        let mut errors = Vec::new();
        for (i, m) in info.models.iter().enumerate() {
            if m.hypers.iter().any(|(_, v)| v.is_none()) {
                graphs.push(None);
                continue;
            }
            match ir::lower::lower(&ast, &info.models, i).and_then(accept) {
                Ok(g) => graphs.push(Some(g)),
                Err(d) => {
                    errors.extend(d);
                    graphs.push(None);
                }
            }
        }
        if !errors.is_empty() {
            // A sub-model's failure is met again in every model that calls it.
            errors.sort_by_key(|d| (d.span.start, d.span.end));
            errors.dedup_by(|a, b| a.span == b.span && a.message == b.message);
            return Err(errors);
        }
        Ok(Checked { ast, info, graphs })
    })
    .map_err(diag::summarise)
}
