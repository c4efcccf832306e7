//! The two spellings of the printed notation: Unicode text (`∂ℓ_i/∂Ω_k`, `⊙`, `ᵀ`) and LaTeX
//! (`\frac{\partial \ell_i}{\partial \Omega_k}`, `\odot`, `^{T}`), and names in each, with a
//! family index put in place of a number in a subscript (`f_2` → `f_{k-1}` for `k = 3`).

/// Which spelling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Unicode text, as the spec is written.
    Text,
    /// LaTeX math (amsmath, amssymb).
    Latex,
}

impl Style {
    /// `∂num/∂den`.
    pub fn partial(self, num: &str, den: &str) -> String {
        match self {
            Style::Text => format!("∂{num}/∂{den}"),
            Style::Latex => format!("\\frac{{\\partial {num}}}{{\\partial {den}}}"),
        }
    }

    /// The element-wise product sign.
    pub fn hadamard(self) -> &'static str {
        match self {
            Style::Text => "⊙",
            Style::Latex => "\\odot",
        }
    }

    /// The transpose mark after an atom.
    pub fn transpose(self) -> &'static str {
        match self {
            Style::Text => "ᵀ",
            Style::Latex => "^{T}",
        }
    }

    /// `x` transposed: in LaTeX the atom is braced, so that a name with a superscript of its
    /// own (`H'_1`, `f^{(2)}`) takes the transpose as a second one.
    pub fn transposed(self, x: &str) -> String {
        match self {
            Style::Text => format!("{x}ᵀ"),
            Style::Latex => format!("{{{x}}}^{{T}}"),
        }
    }

    /// The vector of ones.
    pub fn ones(self) -> &'static str {
        match self {
            Style::Text => "𝟏",
            Style::Latex => "\\mathbf{1}",
        }
    }

    /// The sum over the examples, followed by a space.
    pub fn sum_i(self) -> &'static str {
        match self {
            Style::Text => "∑_i ",
            Style::Latex => "\\sum_i ",
        }
    }

    /// `𝕀[x > 0]`.
    pub fn indicator(self, x: &str) -> String {
        match self {
            Style::Text => format!("𝕀[{x} > 0]"),
            Style::Latex => format!("\\mathbb{{I}}[{x} > 0]"),
        }
    }

    /// A function applied: `name[x]`.
    pub fn call(self, name: &str, args: &str) -> String {
        match self {
            Style::Text => format!("{name}[{args}]"),
            Style::Latex => format!("\\mathrm{{{}}}[{args}]", latex_escape(name)),
        }
    }

    /// `a / b`.
    pub fn frac(self, a: &str, b: &str) -> String {
        match self {
            Style::Text => format!("{a}/{b}"),
            Style::Latex => format!("\\frac{{{a}}}{{{b}}}"),
        }
    }

    /// `x²`, `x³`, `x^p`.
    pub fn power(self, x: &str, p: f64) -> String {
        let p = number(p);
        match (self, p.as_str()) {
            (Style::Text, "2") => format!("{x}²"),
            (Style::Text, "3") => format!("{x}³"),
            (Style::Text, _) => format!("{x}^{p}"),
            (Style::Latex, _) => format!("{x}^{{{p}}}"),
        }
    }

    /// `√x`.
    pub fn sqrt(self, x: &str) -> String {
        match self {
            Style::Text => format!("√{x}"),
            Style::Latex => format!("\\sqrt{{{x}}}"),
        }
    }

    /// `k ∈ {3, 2, 1}` for the members of a family.
    pub fn family(self, members: &[i64]) -> String {
        let list: Vec<String> = if members.len() > 4 {
            let n = members.len();
            vec![
                members[0].to_string(),
                members[1].to_string(),
                if self == Style::Text {
                    "…".into()
                } else {
                    "\\dots".into()
                },
                members[n - 1].to_string(),
            ]
        } else {
            members.iter().map(i64::to_string).collect()
        };
        match self {
            Style::Text => format!("for k ∈ {{{}}}", list.join(", ")),
            Style::Latex => format!("k \\in \\{{{}\\}}", list.join(", ")),
        }
    }

    /// A name as the spec writes it (`Ω_3`, `β_{v,1}`, `X''`), with each number of its
    /// subscript written relative to `k = at` when `at` is given, and every number of a
    /// subscript recorded in `seen`.
    pub fn name(self, raw: &str, at: Option<i64>, seen: &mut Vec<i64>) -> String {
        // A sub-model instance's parameter (`ψ'_4.Ω_2`): the instance, a dot, the name.
        if let (Style::Latex, Some((instance, inner))) = (self, raw.split_once('.')) {
            let instance = self.name(instance, None, &mut Vec::new());
            return format!("{{{instance}}}.{{{}}}", self.name(inner, at, seen));
        }
        let (base, sub) = match raw.split_once('_') {
            Some((b, s)) => (b, Some(s)),
            None => (raw, None),
        };
        let base = match self {
            Style::Text => base.to_string(),
            Style::Latex => latex_symbols(base),
        };
        let Some(sub) = sub else { return base };
        let inner = sub
            .strip_prefix('{')
            .and_then(|s| s.strip_suffix('}'))
            .unwrap_or(sub);
        let parts: Vec<String> = inner
            .split(',')
            .map(|p| match p.trim().parse::<i64>() {
                Ok(n) => {
                    seen.push(n);
                    match at {
                        Some(k) if n == k => "k".to_string(),
                        Some(k) if n < k => format!("k-{}", k - n),
                        Some(k) => format!("k+{}", n - k),
                        None => n.to_string(),
                    }
                }
                Err(_) => match self {
                    Style::Text => p.to_string(),
                    Style::Latex => latex_symbols(p),
                },
            })
            .collect();
        let joined = parts.join(",");
        let single = joined.chars().count() == 1;
        match self {
            Style::Text if single => format!("{base}_{joined}"),
            Style::Text => format!("{base}_{{{joined}}}"),
            Style::Latex => format!("{base}_{{{joined}}}"),
        }
    }
}

/// A number as a person writes it: `2`, `0.5`, `-1`.
pub fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// Escapes LaTeX's special characters in text set upright.
fn latex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '_' | '&' | '%' | '#' | '$' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            ' ' => out.push_str("\\ "),
            '×' => out.push_str("{\\times}"),
            '→' => out.push_str("{\\to}"),
            c if !c.is_ascii() => out.push_str(&latex_symbols(&c.to_string())),
            _ => out.push(c),
        }
    }
    out
}

const GREEK: &[(char, &str)] = &[
    ('α', "\\alpha"),
    ('β', "\\beta"),
    ('γ', "\\gamma"),
    ('δ', "\\delta"),
    ('ε', "\\epsilon"),
    ('ζ', "\\zeta"),
    ('η', "\\eta"),
    ('θ', "\\theta"),
    ('ι', "\\iota"),
    ('κ', "\\kappa"),
    ('λ', "\\lambda"),
    ('μ', "\\mu"),
    ('ν', "\\nu"),
    ('ξ', "\\xi"),
    ('π', "\\pi"),
    ('ρ', "\\rho"),
    ('σ', "\\sigma"),
    ('τ', "\\tau"),
    ('υ', "\\upsilon"),
    ('φ', "\\phi"),
    ('χ', "\\chi"),
    ('ψ', "\\psi"),
    ('ω', "\\omega"),
    ('Γ', "\\Gamma"),
    ('Δ', "\\Delta"),
    ('Θ', "\\Theta"),
    ('Λ', "\\Lambda"),
    ('Ξ', "\\Xi"),
    ('Π', "\\Pi"),
    ('Σ', "\\Sigma"),
    ('Φ', "\\Phi"),
    ('Ψ', "\\Psi"),
    ('Ω', "\\Omega"),
    ('ℓ', "\\ell"),
    ('∂', "\\partial"),
    ('′', "'"),
    ('⁻', "^{-}"),
];

/// A name's letters in LaTeX: Greek letters as commands, a word of several letters upright
/// (`Sa` → `\mathrm{Sa}`), combining marks as accents, anything else by its code point.
fn latex_symbols(s: &str) -> String {
    let mut out = String::new();
    let letters = s.chars().filter(|c| c.is_ascii_alphabetic()).count();
    let mut ascii_run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.is_empty() {
            return;
        }
        if letters > 1 {
            out.push_str(&format!("\\mathrm{{{run}}}"));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            ascii_run.push(c);
            continue;
        }
        flush(&mut ascii_run, &mut out);
        if let Some((_, cmd)) = GREEK.iter().find(|(g, _)| *g == c) {
            out.push_str(cmd);
            out.push(' ');
        } else if c == '\'' || c == '-' || c == '+' || c == ',' {
            out.push(c);
        } else if c == '\u{302}' {
            out.insert_str(0, "\\hat{");
            out.push('}');
        } else if c == '\u{303}' {
            out.insert_str(0, "\\tilde{");
            out.push('}');
        } else if c == 'ŷ' {
            out.push_str("\\hat{y}");
        } else {
            out.push_str(&format!("\\mathrm{{u{:04X}}}", c as u32));
        }
    }
    flush(&mut ascii_run, &mut out);
    out.trim_end().to_string()
}
