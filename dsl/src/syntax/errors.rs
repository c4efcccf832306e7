//! pest's errors as diagnostics: `E0101` with the expected tokens named in words (and help
//! for the usual slips: an unfinished line, a keyword as a name, round brackets applying a
//! function, …), an unclosed bracket, or `E0105` for a symbol the language does not know.

use super::Rule;
use super::expr::VULGAR_FRACTIONS;
use crate::diag::{Code, Diagnostic, Span};

/// Symbols the language knows; any other non-ASCII symbol at an error is reported as unknown.
const KNOWN_SYMBOLS: &str = "ℝ×∈…⋯·⋅⊙ᵀ‖𝟏𝟙∑∏√∂²³⁻′−₀₁₂₃₄₅₆₇₈₉½⅓⅔¼¾⅕⅖⅗⅘⅙⅚⅐⅛⅜⅝⅞⅑⅒";

pub(super) fn pest_error(src: &str, e: &pest::error::Error<Rule>) -> Diagnostic {
    let (pos, literals) = error_position(src, e);
    let rest = &src[pos.min(src.len())..];
    let found = rest.chars().next();
    // Point at the whole word that was found, or at the end of the line (zero width).
    let len = match found {
        Some(c) if c.is_alphanumeric() => rest
            .find(|c: char| !c.is_alphanumeric() && c != '_')
            .unwrap_or(rest.len()),
        Some('\n' | '\r') | None => 0,
        Some(c) => c.len_utf8(),
    };
    let span = Span::new(pos, pos + len);
    if let Some(d) = found.and_then(|c| unknown_symbol(c, span)) {
        return d;
    }
    let (expected, label) = expected_words(&e.variant, &literals);
    if let Some(d) = unclosed(src, pos, found) {
        return d;
    }
    let found_text = match found {
        None => "the end of the file".to_string(),
        Some('\n') | Some('\r') => "the end of the line".to_string(),
        Some(_) => format!("`{}`", &rest[..len]),
    };
    let message = if expected.is_empty() {
        format!("unexpected {found_text}")
    } else {
        format!("expected {expected}, found {found_text}")
    };
    let d = Diagnostic::new(Code::E0101, span, message).label(label);
    let d = continuation_help(d, src, pos, &rest[..len], &expected);
    line_help(d, src, pos, found, &expected)
}

/// Where a pest error is reported, and the literal tokens expected there (`` `=` ``): the
/// furthest position pest's attempt tracking reached, moved back to a keyword pest refused
/// as a name, and past blanks to the token found.
fn error_position(src: &str, e: &pest::error::Error<Rule>) -> (usize, Vec<String>) {
    use pest::error::InputLocation;
    let mut pos = match e.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    // pest's attempt tracking knows the furthest position and the literal tokens (`=`, `]`)
    // expected there; its rule list alone never names them.
    let attempts = e.parse_attempts();
    let mut literals: Vec<String> = Vec::new();
    if let Some(a) = &attempts
        && a.max_position >= pos
        && a.max_position <= src.len()
    {
        pos = a.max_position;
        for t in a.expected_tokens() {
            let token = t.to_string();
            if is_shown_literal(&token) {
                literals.push(format!("`{token}`"));
            }
        }
    }
    while pos < src.len() && !src.is_char_boundary(pos) {
        pos += 1;
    }
    // pest may have looked past a keyword it then refused as a name: report the keyword.
    let before = src[..pos].trim_end();
    if let Some(kw) = KEYWORDS.iter().find(|k| {
        before.ends_with(*k)
            && !before[..before.len() - k.len()]
                .ends_with(|c: char| c.is_alphanumeric() || c == '_')
    }) && !src[pos..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
    {
        pos = before.len() - kw.len();
    }
    // Report the token found, not the blank before it.
    while let Some(c) = src[pos..].chars().next()
        && (c == ' ' || c == '\t')
    {
        pos += c.len_utf8();
    }
    (pos, literals)
}

/// `E0105` for a character at an error that is a symbol the language does not know (or a
/// combining mark on no letter).
fn unknown_symbol(c: char, span: Span) -> Option<Diagnostic> {
    if !c.is_ascii() && !c.is_alphabetic() && !KNOWN_SYMBOLS.contains(c) && !c.is_whitespace() {
        if is_mark(c) {
            return Some(Diagnostic::new(
                Code::E0105,
                span,
                format!("combining mark U+{:04X} on no letter", c as u32),
            )
            .label("a mark here sits on a character that is not a letter of a name")
            .help("a name's letters may carry marks, as the book's `\\hat{x}` and `\\tilde{h}`: write `x̂`, `h̃`"));
        }
        let mut d = Diagnostic::new(Code::E0105, span, format!("unknown symbol `{c}`"))
            .label("the language has no meaning for this symbol");
        if let Some(h) = symbol_help(c) {
            d = d.help(h);
        }
        return Some(d);
    }
    None
}

/// What pest expected, in words, and the label saying so: the literal tokens, then the
/// phrases of the rules (a literal starting a phrase's example is named by the phrase).
fn expected_words(
    variant: &pest::error::ErrorVariant<Rule>,
    literals: &[String],
) -> (String, String) {
    use pest::error::ErrorVariant;
    match variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let mut rules: Vec<&str> = positives.iter().filter_map(|r| rule_words(*r)).collect();
            rules.sort_unstable();
            rules.dedup();
            // A literal that starts a phrase's example (`[` in "hyper-parameters `[D = 3]`",
            // `~` in "an initialiser `~ He`") is named once, by the phrase.
            let mut words: Vec<&str> = literals
                .iter()
                .map(String::as_str)
                .filter(|l| {
                    let bare = l.trim_matches('`');
                    !rules.iter().any(|r| r.contains(&format!("`{bare}")))
                })
                .collect();
            words.extend(rules);
            words.dedup();
            let list = join_or(&words);
            (
                list.clone(),
                if list.is_empty() {
                    String::new()
                } else {
                    format!("expected {list}")
                },
            )
        }
        ErrorVariant::CustomError { message } => (message.clone(), message.clone()),
    }
}

/// Help for an error at the start of a line that continues an unfinished statement (the line
/// before ends with an operator, `,` or `=`), a statement outside a model, or a keyword
/// (`word`, the word found) used as a name.
fn continuation_help(
    mut d: Diagnostic,
    src: &str,
    pos: usize,
    word: &str,
    expected: &str,
) -> Diagnostic {
    let line_start = src[..pos.min(src.len())].rfind('\n').map_or(0, |i| i + 1);
    let starts_line = src[line_start..pos].trim().is_empty();
    // The code before this token, without blank lines and comments.
    let prev = previous_code(&src[..line_start]);
    let continued = prev
        .chars()
        .last()
        .filter(|c| matches!(c, '+' | '-' | '−' | '·' | '*' | '/' | '⊙' | ',' | '='));
    if let (true, Some(op)) = (starts_line, continued) {
        // The statement on the line before is unfinished: this line was read as its rest.
        let end = line_start.saturating_sub(1).min(src.len());
        let op_at = src[..end].rfind(op).unwrap_or(end);
        let help = match op {
            '=' => "write the right-hand side after `=`, on the same line".to_string(),
            ',' => "write the next item after `,`, or delete the `,`".to_string(),
            _ => format!("finish the expression after `{op}`, or delete the `{op}`"),
        };
        d = d
            .with(
                Span::new(op_at, op_at + op.len_utf8()),
                format!("the line ends with `{op}`, so the next line continues it"),
            )
            .help(help);
    } else if starts_line && expected.contains("`model`") {
        d = d.help("statements belong inside a model: `model Name[D = 3] { … }`");
    } else if let Some(kw) = KEYWORDS.iter().find(|k| word == **k)
        && !starts_line
    {
        d = d.help(format!("`{kw}` is a keyword and cannot be used as a name"));
    }
    d
}

/// Help for the usual slips of a line: `:` for `=`, a range's dots, a missing comma between
/// declarations, a distribution in round brackets, `Σ` for `∑`, round brackets applying a
/// function, a mixed number.
fn line_help(
    mut d: Diagnostic,
    src: &str,
    pos: usize,
    found: Option<char>,
    expected: &str,
) -> Diagnostic {
    let line_start = src[..pos.min(src.len())].rfind('\n').map_or(0, |i| i + 1);
    let line_before = &src[line_start..pos.min(src.len())];
    if found == Some('=') && line_before.trim_end().ends_with(':') {
        d = d.help("an equation is written `h = …`; `h : ℝ^{D}` declares a type");
    }
    if expected.contains("`…`") && line_before.contains('{') {
        d = d.help("a range is written `{1 … K}` (ASCII `{1 ... K}`) or `{1, …, K}`");
    }
    let first_word = line_before.split_whitespace().next().unwrap_or("");
    if matches!(first_word, "param" | "input" | "target")
        && expected.contains("`,`")
        && found.is_some_and(char::is_alphabetic)
    {
        d = d.help("separate the declarations of one line with commas: `β : ℝ^D, Ω : ℝ^{D×E}`");
    }
    if found == Some(',')
        && let Some(tilde) = line_before.rfind('~')
        && line_before[tilde..].contains('(')
    {
        d = d.help("a distribution's parameters go in square brackets: `~ Norm[0, 0.01]`");
    }
    // A bar inside an open call: the policy's given (`π[a|s, θ]`) or an absolute value.
    let single_bar = line_before.replace("||", "").contains('|');
    if single_bar && line_before.matches('[').count() > line_before.matches(']').count() {
        d = d.help(
            "in a call's first argument a bar after a value is the given of `π[a_i|s_i, θ]` \
             (after `π` without a subscript); write an absolute value there with a product, \
             `a · |x|`",
        );
    }
    if src[line_start..pos.min(src.len())].contains("Σ_") {
        d = d.help("the sum is `∑` (U+2211) or `sum`; `Σ` is the Greek capital sigma, a name");
    }
    if found == Some('(') {
        d = d.help("square brackets apply a function: `a[z]`; round brackets only group");
    }
    if let Some(c) = found
        && let Some((_, v)) = VULGAR_FRACTIONS.iter().find(|(f, _)| *f == c)
        && let Some(digits) = mixed_number_digits(&src[..pos])
    {
        d = d.help(format!(
            "`{digits}{c}` could be a mixed number or a product: write `{}` for the number, or `{digits}·{c}` for the product",
            digits.parse::<f64>().unwrap_or(0.0) + v
        ));
    }
    d
}

/// The digits written right before a fraction (`2` of `2½`), if any.
fn mixed_number_digits(before: &str) -> Option<&str> {
    let start = before
        .trim_end_matches(|c: char| c.is_ascii_digit() || c == '.')
        .len();
    let digits = &before[start..];
    digits
        .starts_with(|c: char| c.is_ascii_digit())
        .then_some(digits)
}

/// The source before a line, without trailing blank lines and comments.
fn previous_code(before: &str) -> &str {
    let mut text = before;
    loop {
        let trimmed = text.trim_end();
        let line_start = trimmed.rfind('\n').map_or(0, |i| i + 1);
        let line = &trimmed[line_start..];
        match line.find('#') {
            // A comment: drop it (a `#` cannot occur in code).
            Some(i) if line[..i].trim().is_empty() => text = &trimmed[..line_start],
            Some(i) => return trimmed[..line_start + i].trim_end(),
            None => return trimmed,
        }
        if text.is_empty() {
            return text;
        }
    }
}

/// An error where a bracket opened earlier is still open: at the end of the file, at the end
/// of a line inside `[…]` or `(…)`, or at a closing bracket of the wrong kind.
fn unclosed(src: &str, pos: usize, found: Option<char>) -> Option<Diagnostic> {
    let mut stack: Vec<(usize, char)> = Vec::new();
    let mut in_comment = false;
    for (i, c) in src[..pos.min(src.len())].char_indices() {
        match c {
            '\n' => in_comment = false,
            _ if in_comment => {}
            '#' => in_comment = true,
            '[' | '(' | '{' => stack.push((i, c)),
            ']' | ')' | '}' if stack.last().is_some_and(|(_, o)| closer(*o) == c) => {
                stack.pop();
            }
            _ => {}
        }
    }
    let &(at, open) = stack.last()?;
    let later_line = src[at..pos.min(src.len())].contains('\n');
    let relevant = match found {
        None => true,
        Some('\n' | '\r') => open != '{',
        Some(c @ (']' | ')' | '}')) => c != closer(open),
        // A new statement on a later line while `[` or `(` is still open.
        Some(_) => open != '{' && later_line,
    };
    if !relevant {
        return None;
    }
    // Past the end of the bracket's line: point at the end of the last line with text.
    let (pos, found) = if found.is_some_and(|c| !matches!(c, '\n' | '\r' | ']' | ')' | '}')) {
        let end = src[..pos].trim_end().len();
        (end, Some('\n'))
    } else {
        (pos, found)
    };
    let close = closer(open);
    let found_text = match found {
        None => "the end of the file".to_string(),
        Some('\n' | '\r') => "the end of the line".to_string(),
        Some(c) => format!("`{c}`"),
    };
    let here = Span::new(
        pos,
        pos + found
            .filter(|c| !matches!(c, '\n' | '\r'))
            .map_or(0, char::len_utf8),
    );
    Some(
        Diagnostic::new(
            Code::E0101,
            here,
            format!("expected `{close}` to close the `{open}`, found {found_text}"),
        )
        .label(format!("expected `{close}`"))
        .with(Span::new(at, at + open.len_utf8()), "opened here"),
    )
}

fn closer(open: char) -> char {
    match open {
        '[' => ']',
        '(' => ')',
        _ => '}',
    }
}

/// Whether `c` is a combining diacritical mark (the blocks `x̂`, `h̃`, `x⃗` draw from).
fn is_mark(c: char) -> bool {
    matches!(c, '\u{300}'..='\u{36F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}

fn symbol_help(c: char) -> Option<&'static str> {
    Some(match c {
        '∘' => "write the composition out: `f[g[x]]`",
        '≤' | '≥' | '<' | '>' => {
            "comparisons are not part of the language; use `ReLU`, `Heaviside` or `rect`"
        }
        '→' | '←' | '⟵' | '⟶' => {
            "an equation uses `=`; updates such as `φ ← φ - α ∂L/∂φ` belong to the optimiser"
        }
        '∇' => "gradients are derived by the compiler; write the loss and use `loss L[φ] = …`",
        '∫' => "integrals are not part of the language",
        'Σ' => "the sum is `∑` (U+2211) or `sum`; `Σ` is the Greek letter",
        '∙' | '•' => "scaling is `·` (U+00B7) or `*`",
        _ => return None,
    })
}

/// The reserved words of the grammar.
const KEYWORDS: &[&str] = &[
    "model", "input", "target", "param", "let", "loss", "for", "in", "partial", "sum", "prod",
];

/// Literal tokens worth naming in "expected …": punctuation and keywords, not every operator.
fn is_shown_literal(token: &str) -> bool {
    matches!(
        token,
        "=" | "]" | ")" | "}" | "{" | "[" | ":" | "…" | "," | "~" | "model"
    )
}

fn rule_words(r: Rule) -> Option<&'static str> {
    Some(match r {
        Rule::expr | Rule::term | Rule::unary | Rule::juxt | Rule::factor | Rule::atom => {
            "an expression"
        }
        Rule::postfix
        | Rule::paren
        | Rule::call
        | Rule::given_head
        | Rule::sub_head
        | Rule::given_bar
        | Rule::norm
        | Rule::abs
        | Rule::sqrt
        | Rule::bigop => "an expression",
        Rule::stack | Rule::stack_open | Rule::stack_row | Rule::stack_item => "an expression",
        Rule::stack_dots => "`…`",
        Rule::structure => "a structure such as `lower triangular`",
        Rule::name | Rule::name_atom | Rule::name_plain | Rule::word => "a name",
        Rule::number | Rule::dim_leaf | Rule::dim_expr | Rule::dim_term => "a number or a name",
        Rule::model | Rule::kw_model => "`model`",
        Rule::stmt => "a statement",
        Rule::input_decl | Rule::kw_input => "`input`",
        Rule::target_decl | Rule::kw_target => "`target`",
        Rule::param_decl | Rule::kw_param => "`param`",
        Rule::let_decl | Rule::kw_let => "`let`",
        Rule::loss_eq | Rule::kw_loss => "`loss`",
        Rule::equation | Rule::lhs => "an equation",
        Rule::noise_decl => "`~`",
        Rule::family | Rule::kw_for => "`for`",
        Rule::family_var => "a range `i ∈ {1 … D}`",
        Rule::type_expr | Rule::real_type | Rule::label_type => {
            "a type such as `ℝ^{D}` or `{0 … K-1}`"
        }
        Rule::dims => "dimensions such as `{D×E}`",
        Rule::add_op => "an operator",
        Rule::mul_op => "an operator",
        Rule::transpose | Rule::power | Rule::square | Rule::cube => "an operator",
        Rule::hypers | Rule::hyper => "hyper-parameters `[D = 3]`",
        Rule::init => "an initialiser `~ He`",
        Rule::group => "`∈`",
        Rule::subscript
        | Rule::sub_items
        | Rule::sub_digits
        | Rule::sub_word
        | Rule::sub_keyword
        | Rule::sub_unicode => "a subscript",
        Rule::binder => "a binder `_{i=1}`",
        Rule::upper => "an upper limit `^{I}`",
        Rule::EOI => "the end of the file",
        _ => return None,
    })
}

fn join_or(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}
