//! Rust emission: an optimised training graph → Rust tokens for a model type.
//!
//! For each model of a file, [`expand`] generates a type generic over the scalar
//! (`DeepNet<T>` for `f32` and `f64`) whose fields are the parameters as faer matrices named
//! after the spec (`beta_0`, `omega_0`), a workspace type holding every buffer of the memory
//! plan, and straight-line `forward` / `loss_and_grad` bodies that call the `nnspec-runtime`
//! kernels: GEMMs with transposes as views, one loop per fusion group, no allocation once the
//! workspace exists. Class labels are passed as `&[usize]`.
pub(crate) mod cx;
mod docs;
mod fused;
mod impls;
mod model;
pub(crate) mod names;
mod rules;
mod sampler;
pub(crate) mod source;
mod stmt;
mod supervised;
mod tabular;

pub use source::comments_from_markers;
pub use tabular::TRANSITION_INPUTS;

use crate::check::Options as CheckOptions;
use proc_macro2::TokenStream;
use quote::quote;
use source::Source;

/// What to expand and how to name the runtime.
#[derive(Clone, Debug)]
pub struct Options {
    /// The path generated code uses for the facade crate (`::nnspec`); its `__private`
    /// module re-exports the runtime and faer.
    pub krate: TokenStream,
    /// Only this model (default: every model of the file that can be compiled).
    pub model: Option<String>,
    /// Hyper-parameter overrides, as for checking.
    pub check: CheckOptions,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            krate: quote!(::nnspec),
            model: None,
            check: CheckOptions::default(),
        }
    }
}

/// Checks, lowers, optimises and emits `src`. On failure, the rendered diagnostics (rustc
/// style, naming `path:line:col`), ready for `compile_error!`.
pub fn expand(src: &str, path: &str, opts: &Options) -> Result<TokenStream, String> {
    let checked =
        crate::check_source(src, &opts.check).map_err(|d| crate::diag::render(&d, path, src))?;
    let mut out = TokenStream::new();
    let mut found = false;
    for (info, graph) in checked.info.models.iter().zip(&checked.graphs) {
        if opts.model.as_ref().is_some_and(|m| *m != info.name) {
            continue;
        }
        let Some(graph) = graph else {
            if opts.model.is_some() {
                return Err(format!(
                    "error: model `{}` in {path} has hyper-parameters without values; give them defaults or override them",
                    info.name
                ));
            }
            continue;
        };
        found = true;
        let train = crate::training_graph(graph)
            .map_err(|e| format!("error: internal compiler error in {path}: {e}"))?;
        if let Some(why) = rules::refused(&train) {
            return Err(format!("error: model `{}` in {path}: {why}", info.name));
        }
        let source = Source::new(src, path.rsplit('/').next().unwrap_or(path));
        // With several losses (GAN, eq. 15.5), each also gets a step of its own.
        let mut per_loss = Vec::new();
        if graph.losses.len() > 1 {
            let fwd = crate::opt::optimize(graph)
                .map_err(|e| format!("error: internal compiler error in {path}: {e}"))?;
            for loss in &graph.losses {
                let g = crate::ad::grad(&fwd, &loss.name, &loss.wrt)
                    .and_then(|g| crate::opt::optimize(&g))
                    .map_err(|e| format!("error: internal compiler error in {path}: {e}"))?;
                per_loss.push((loss.name.clone(), g));
            }
        }
        out.extend(model::model(&train, &opts.krate, &source, &per_loss));
    }
    if !found {
        return Err(match &opts.model {
            Some(m) => format!("error: no model `{m}` in {path}"),
            None => format!(
                "error: no model in {path} can be compiled (every hyper-parameter needs a value)"
            ),
        });
    }
    Ok(out)
}

/// Whether `graph` is trained on data by rules of whole parameters (an optimiser as printed,
/// eqs. 6.3–6.17): it has such a rule and no rule of table entries. A model with table entries
/// (chapter 19) is run by the runtime's tabular loops whatever it writes, the step counter
/// `t ← t + 1` of `A_t` included: its generated code implements `runtime::tabular::Rules`
/// (`tabular.rs`), writing every rule, whole ones too.
pub fn trained_by_whole_rules(graph: &crate::ir::Graph) -> bool {
    graph.updates.iter().any(|u| u.index.is_empty())
        && graph.updates.iter().all(|u| u.index.is_empty())
}
