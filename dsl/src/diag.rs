//! Spans, diagnostic codes and rendering. Nothing phase-specific lives here.
//!
//! Every user-facing error is a [`Diagnostic`] with a stable [`Code`]. Codes are grouped by the
//! phase that finds them: `E01xx` syntax, `E02xx` names, `E03xx` shapes and types, `E04xx`
//! constructs the language parses but does not give a meaning to yet. `docs/LANGUAGE.md` lists
//! every code with a minimal failing spec; `Code::ALL` is the list a test keeps in sync with it.
//!
//! Spans are byte offsets into the source. Rendering (rustc style: `file:line:col`, the source
//! line, a caret under the span, `help:` lines) is done by `codespan-reporting`, which counts
//! columns in characters, so `β₀` is one column wide in `file:line:col`.

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label as CsLabel};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, Chars, Config};
use std::fmt;
use unicode_width::UnicodeWidthStr;

/// A half-open byte range `start..end` in one source file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
}

impl Span {
    /// A span from byte offsets (saturating at `u32::MAX`).
    pub fn new(start: usize, end: usize) -> Span {
        let clamp = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        Span {
            start: clamp(start),
            end: clamp(end.max(start)),
        }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// The byte range, for slicing the source.
    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

macro_rules! codes {
    ($($variant:ident = $text:literal, $summary:literal;)*) => {
        /// A stable diagnostic code. The number never changes meaning once released.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $(#[doc = $summary] $variant,)*
        }

        impl Code {
            /// Every code, in numeric order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The code as printed: `E0301`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $text,)* }
            }

            /// A one-line summary of what the code means.
            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => $summary,)* }
            }
        }
    };
}

codes! {
    E0101 = "E0101", "syntax error: the parser expected something else here";
    E0102 = "E0102", "brackets or big operators nested too deeply";
    E0103 = "E0103", "a numeric literal that is not a finite number";
    E0104 = "E0104", "a file with no model in it";
    E0105 = "E0105", "a symbol the language does not know";
    E0106 = "E0106", "a function applied with round brackets instead of square ones";
    E0107 = "E0107", "a character that is not allowed here (control character, stray mark)";
    E0108 = "E0108", "a fraction that can be read two ways (`a / b c`)";
    E0201 = "E0201", "unknown name";
    E0202 = "E0202", "a name defined twice";
    E0203 = "E0203", "unknown function";
    E0204 = "E0204", "wrong number of arguments";
    E0205 = "E0205", "a value used as a function";
    E0206 = "E0206", "a function used as a value";
    E0207 = "E0207", "an equation that redefines an input, target, parameter or hyper-parameter";
    E0208 = "E0208", "a family range whose bounds have no value";
    E0209 = "E0209", "an example index used outside a sum over the batch";
    E0210 = "E0210", "a loss over an unknown parameter group";
    E0211 = "E0211", "a name used before the equation that defines it";
    E0212 = "E0212", "a model that calls itself";
    E0213 = "E0213", "an unknown initialiser";
    E0214 = "E0214", "a name that is not a hyper-parameter where a number is needed";
    E0215 = "E0215", "a function definition whose arguments are not the model's inputs";
    E0216 = "E0216", "an override of a hyper-parameter the model does not have";
    E0217 = "E0217", "a declaration of `I`, which the book reserves for the number of examples";
    E0218 = "E0218", "a `let` function that calls itself, directly or through others";
    E0219 = "E0219", "two models of one file with the same name";
    E0220 = "E0220", "a parameter that no loss trains";
    E0221 = "E0221", "an index of `max`, `min`, `argmax` or `argmin` whose range cannot be told";
    E0222 = "E0222", "an index (a family's or a sum's) with the name of a value in scope";
    E0227 = "E0227", "a table of labels (`π : {1 … A}^{S}`) that does not start at one of its labels (`= 1`)";
    E0228 = "E0228", "a rule writing a table of labels whose right side is not an `argmax` or `argmin` over its labels";
    E0229 = "E0229", "a table of labels used as an index but not looked up with a label per example (`r[s, π[s]]`)";
    E0230 = "E0230", "a step counter `t` read both by a whole rule (from 0) and by the action `A_t` (from 1)";
    E0231 = "E0231", "a loss's gradient at another point than the parameters' values (Nesterov's look-ahead, eq. 6.12), not supported yet";
    E0240 = "E0240", "an unknown environment (`env CartPole`)";
    E0241 = "E0241", "a model with two environments";
    E0242 = "E0242", "the left side of an update `←` is neither an entry of a parameter's table (`q[s_t, a_t]`, `v[s]`) nor a whole parameter (`φ_{t+1}`)";
    E0243 = "E0243", "an update `←` whose right side is not one number (a table entry) or not one value of the parameter's shape (a whole rule)";
    E0244 = "E0244", "two updates `←` of one table in a model (its update step would write it twice)";
    E0245 = "E0245", "an observed number read as a table of other labels than the step's own (`r[s_t, a_t]`)";
    E0246 = "E0246", "a whole rule reads a new value `m_{t+1}` before the rule that computes it";
    E0247 = "E0247", "a model whose `←` rules are its training step has a loss they do not read, or a parameter that only the loss would train";
    E0250 = "E0250", "a policy defined through one action's probability (`π[a|s, θ] = …`)";
    E0255 = "E0255", "a sum that excludes something other than an example's class label (`∑_{j≠y_i}`)";
    E0256 = "E0256", "an exclusion `≠` on a big operator other than a plain sum, or with limits, or a summand that is not a scalar";
    E0257 = "E0257", "a max-norm constraint `‖w_j‖ ≤ c` on something other than a parameter or its columns";
    E0258 = "E0258", "a max-norm radius that is not a positive number";
    E0259 = "E0259", "an example index written as a superscript, `y^{(i)}` (the book's subscript is `y_i`)";
    E0260 = "E0260", "a neighbourhood `ne[n]` in a model without one adjacency input `ℝ^{N×N}`";
    E0261 = "E0261", "a node's value (`h^{(m)}`, `ne[m]`) outside the sum or node-wise equation that binds its node";
    E0262 = "E0262", "a node's value `h_k^{(n)}` whose matrix `H_k` is not defined";
    E0263 = "E0263", "a node-wise expression with no matrix reading (two nodes' values multiplied, a term mixing m and n)";
    E0264 = "E0264", "a neighbourhood `ne[n]` or a node index used as a value";
    E0301 = "E0301", "matrix product of incompatible shapes";
    E0302 = "E0302", "element-wise operation on different shapes";
    E0303 = "E0303", "scaling `·` with no scalar operand";
    E0304 = "E0304", "argument of the wrong shape";
    E0305 = "E0305", "a loss that is not a scalar";
    E0306 = "E0306", "a loss left per example (not summed over the batch)";
    E0307 = "E0307", "component index out of range";
    E0308 = "E0308", "class labels that do not match the vector they index";
    E0309 = "E0309", "a dimension that is not a positive integer";
    E0310 = "E0310", "a non-scalar exponent";
    E0311 = "E0311", "product of two column vectors";
    E0312 = "E0312", "a dimension expression that cannot be evaluated";
    E0313 = "E0313", "an empty family range";
    E0314 = "E0314", "an initialiser of the wrong kind";
    E0315 = "E0315", "a label type where a real value is needed, or a real value used as a class index";
    E0316 = "E0316", "a power of a matrix (`Ω^{-1}` is the inverse, `Ω²` the product `ΩΩ`)";
    E0317 = "E0317", "a size too large to allocate, or beyond the compiler's 32-bit dimensions";
    E0318 = "E0318", "batch normalisation of a value that is not per example (there is no batch to take statistics over)";
    E0319 = "E0319", "a matrix defined entry by entry whose entries do not fill it once (an entry twice or missing, indices from neither 0 nor 1)";
    E0320 = "E0320", "a determinant of a matrix the compiler does not know to be triangular or diagonal";
    E0321 = "E0321", "a triangular or diagonal declaration of a value that is not a square matrix, or with an initialiser";
    E0322 = "E0322", "a determinant or trace of a value that is not a square matrix";
    E0325 = "E0325", "a derivative with respect to something that is not a value (a number, a function, class labels)";
    E0326 = "E0326", "a derivative of a value per example with respect to a global one, or the reverse";
    E0327 = "E0327", "a derivative of a value with respect to something it does not depend on";
    E0328 = "E0328", "a derivative per example through a value that mixes the examples of the batch";
    E0330 = "E0330", "a table looked up with indices that do not fit it (`q[s, a]`: a label or number per axis, each within its axis)";
    E0331 = "E0331", "a sum over observed pairs that does not read as one (`∑_{(i,j)∈Ω}`: members are labels per example, `Ω` names nothing declared)";
    E0332 = "E0332", "`u_i` read as a row of the matrix `U` where that reading is ambiguous or does not fit";
    E0337 = "E0337", "a subscript on a norm other than `F` (`‖A‖_F`, the Frobenius norm, is `‖A‖`)";
    E0338 = "E0338", "`fmt --ascii` of a name with letters that have no ASCII spelling (`x̂`, a word mixing Greek and Latin letters)";
    E0339 = "E0339", "`fmt` could not lay out a file without changing how it parses (a bug in the formatter)";
    E0401 = "E0401", "a derivative inside a spec that is not supported yet (a Jacobian, `∂L/∂φ` outside a norm)";
    E0402 = "E0402", "probabilities `Pr(·|·)` are not supported yet; write the density";
    E0403 = "E0403", "index arithmetic over components (convolutions, eq. 10.4) is not supported yet";
    E0404 = "E0404", "this built-in function is not supported yet";
    E0405 = "E0405", "a family that is too large to unroll";
    E0406 = "E0406", "a construct that checks but cannot be compiled yet";
    E0407 = "E0407", "a model that expands beyond the size the compiler accepts";
    E0408 = "E0408", "the identity `I` beside a matrix that is not square";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A secondary label: another span with a short message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What to say there.
    pub message: String,
}

/// One error found in a spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The stable code.
    pub code: Code,
    /// The headline, in the book's notation.
    pub message: String,
    /// The exact sub-expression at fault.
    pub span: Span,
    /// Text printed under the caret.
    pub label: String,
    /// Other places worth showing.
    pub secondary: Vec<Label>,
    /// `help:` lines: likely fixes.
    pub help: Vec<String>,
    /// `note:` lines: context.
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// A diagnostic with a code, a headline and the span at fault.
    pub fn new(code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            message: message.into(),
            span,
            label: String::new(),
            secondary: Vec::new(),
            help: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Sets the text under the caret.
    pub fn label(mut self, text: impl Into<String>) -> Diagnostic {
        self.label = text.into();
        self
    }

    /// Adds a `help:` line.
    pub fn help(mut self, text: impl Into<String>) -> Diagnostic {
        self.help.push(text.into());
        self
    }

    /// Adds a `note:` line.
    pub fn note(mut self, text: impl Into<String>) -> Diagnostic {
        self.notes.push(text.into());
        self
    }

    /// Adds a secondary label.
    pub fn with(mut self, span: Span, text: impl Into<String>) -> Diagnostic {
        self.secondary.push(Label {
            span,
            message: text.into(),
        });
        self
    }
}

/// How many diagnostics of one code a report shows; the rest are counted in a note on the
/// last one shown (a family of 100 000 members, each with its error, reads as 20 and a count).
pub const MAX_SHOWN_PER_CODE: usize = 20;

/// Keeps the first [`MAX_SHOWN_PER_CODE`] diagnostics of each code, in order, and notes on
/// the last one kept how many more of that code there were.
pub fn summarise(diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut total: std::collections::BTreeMap<Code, usize> = Default::default();
    for d in &diags {
        *total.entry(d.code).or_default() += 1;
    }
    let mut seen: std::collections::BTreeMap<Code, usize> = Default::default();
    let mut out = Vec::with_capacity(diags.len().min(Code::ALL.len() * MAX_SHOWN_PER_CODE));
    for mut d in diags {
        let k = seen.entry(d.code).or_default();
        *k += 1;
        if *k > MAX_SHOWN_PER_CODE {
            continue;
        }
        let all = total.get(&d.code).copied().unwrap_or(0);
        if *k == MAX_SHOWN_PER_CODE && all > MAX_SHOWN_PER_CODE {
            let more = all - MAX_SHOWN_PER_CODE;
            let code = d.code;
            d = d.note(format!(
                "… and {more} more {code} errors like it, not shown"
            ));
        }
        out.push(d);
    }
    out
}

/// Renders diagnostics like rustc, without colour: the form used by the CLI's pipes, by
/// `compile_error!` and by every snapshot.
pub fn render(diags: &[Diagnostic], path: &str, src: &str) -> String {
    render_with(diags, path, src, false)
}

/// Renders diagnostics, in colour when `color` is set (for a terminal).
pub fn render_with(diags: &[Diagnostic], path: &str, src: &str, color: bool) -> String {
    // Control characters would be printed raw (an ESC reaches the terminal) and get no caret:
    // show each as `?`, which has the same length in bytes, so spans stay valid.
    let shown: String = src
        .chars()
        .map(|c| {
            if c.is_control() && !matches!(c, '\n' | '\r' | '\t') {
                '?'
            } else {
                c
            }
        })
        .collect();
    let src = shown.as_str();
    let file = SimpleFile::new(path, src);
    let config = Config {
        chars: Chars::ascii(),
        ..Config::default()
    };
    let mut out = String::new();
    for d in diags {
        let cs = to_codespan(d, src);
        if color {
            let mut buf = codespan_reporting::term::termcolor::Buffer::ansi();
            if term::emit_to_write_style(&mut buf, &config, &file, &cs).is_ok() {
                out.push_str(&String::from_utf8_lossy(buf.as_slice()));
                continue;
            }
        } else if let Ok(text) = term::emit_into_string(&config, &file, &cs) {
            out.push_str(&text);
            continue;
        }
        // Rendering can only fail on a span outside the file: fall back to a plain line.
        out.push_str(&format!("error[{}]: {}\n --> {path}\n", d.code, d.message));
    }
    out
}

/// Clamps a span into the source and onto character boundaries, so rendering never fails.
/// A span of text with no width (combining marks only, as in a mark that sits on no letter)
/// would get no caret: it is widened back over the character the marks sit on.
fn clamp(span: Span, src: &str) -> std::ops::Range<usize> {
    let mut start = (span.start as usize).min(src.len());
    let mut end = (span.end as usize).min(src.len()).max(start);
    while !src.is_char_boundary(start) {
        start -= 1;
    }
    while !src.is_char_boundary(end) {
        end += 1;
    }
    while start < end && src[start..end].width() == 0 {
        match src[..start].chars().next_back() {
            Some(c) if c != '\n' => start -= c.len_utf8(),
            _ => break,
        }
    }
    start..end
}

fn to_codespan(d: &Diagnostic, src: &str) -> CsDiagnostic<()> {
    let mut labels = vec![CsLabel::primary((), clamp(d.span, src)).with_message(&d.label)];
    for l in &d.secondary {
        labels.push(CsLabel::secondary((), clamp(l.span, src)).with_message(&l.message));
    }
    let notes = d
        .help
        .iter()
        .map(|h| format!("help: {h}"))
        .chain(d.notes.iter().map(|n| format!("note: {n}")))
        .collect();
    CsDiagnostic::error()
        .with_code(d.code.as_str())
        .with_message(&d.message)
        .with_labels(labels)
        .with_notes(notes)
}

/// The 1-based line and character column of a byte offset, as printed in `file:line:col`.
pub fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = &src[..floor_boundary(src, offset)];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn floor_boundary(src: &str, mut i: usize) -> usize {
    while !src.is_char_boundary(i) {
        i -= 1;
    }
    i
}
