//! Re-spelling: the edits that turn each symbol into its ASCII or Unicode spelling, from the
//! parsed leaves and the punctuation between them, and their application to the text.

use super::Spelling;
use crate::diag::{Code, Diagnostic, Span};
use crate::names;
use crate::spelling::{by_ascii, by_unicode};
use crate::syntax::Leaf;

/// A replacement of `start..end` by `text` (an insertion where `start == end`).
#[derive(Debug)]
pub(super) struct Edit {
    start: usize,
    end: usize,
    text: String,
}

/// A character that continues a word in the grammar (a letter but `ᵀ` and `ℝ`, or an ASCII
/// digit).
fn word_char(c: char) -> bool {
    (c.is_alphabetic() && c != 'ᵀ' && c != 'ℝ') || c.is_ascii_digit()
}

/// The edits for one spelling, in source order.
pub(super) fn edits(
    src: &str,
    leaves: &[(Span, Leaf)],
    spelling: Spelling,
) -> Result<Vec<Edit>, Vec<Diagnostic>> {
    let mut out = Vec::new();
    if spelling == Spelling::Keep {
        return Ok(out);
    }
    let mut errors = Vec::new();
    for &(span, leaf) in leaves {
        let r = span.range();
        let text = &src[r.clone()];
        let mut edit = |start: usize, end: usize, t: &str| {
            out.push(Edit {
                start,
                end,
                text: t.to_string(),
            })
        };
        match (spelling, leaf) {
            (_, Leaf::Word) => match respell_word(text, spelling) {
                Ok(Some(w)) => edit(r.start, r.end, &w),
                Ok(None) => {}
                Err(()) => errors.push(no_ascii(span, text)),
            },
            (_, Leaf::DimSep) => {
                let (start, end) = around_spaces(src, r.start, r.end);
                let t = if spelling == Spelling::Ascii {
                    " x "
                } else {
                    "×"
                };
                edit(start, end, t);
            }
            (Spelling::Ascii, Leaf::Sqrt(operand)) => {
                let o = without_trivia(&src[operand.range()]);
                let operand = Span::new(operand.range().start, operand.range().start + o.len());
                if is_bracketed(o) {
                    edit(r.start, operand.range().start, "sqrt");
                } else {
                    edit(r.start, operand.range().start, "sqrt[");
                    edit(operand.range().end, operand.range().end, "]");
                }
            }
            (Spelling::Ascii, Leaf::Number) => {
                if let Some(&(_, v)) = crate::syntax::VULGAR_FRACTIONS
                    .iter()
                    .find(|(f, _)| text.starts_with(*f))
                {
                    edit(r.start, r.end, &format!("{v}"));
                }
            }
            (Spelling::Ascii, Leaf::Primes | Leaf::SubUnicode) => {
                edit(r.start, r.end, &ascii_digits_and_primes(text, leaf));
            }
            (Spelling::Unicode, Leaf::KwPartial) => {
                let (_, end) = around_spaces(src, r.end, r.end);
                edit(r.start, end, "∂");
            }
            (Spelling::Unicode, Leaf::OnesWord) => edit(r.start, r.end, "𝟏"),
            (Spelling::Unicode, Leaf::Power) if text == "^2" || text == "^3" => {
                edit(r.start, r.end, if text == "^2" { "²" } else { "³" });
            }
            (Spelling::Unicode, Leaf::Transpose) if text == "^{T}" => {
                edit(r.start, r.end, "ᵀ");
            }
            (
                _,
                Leaf::Real
                | Leaf::Transpose
                | Leaf::Square
                | Leaf::Cube
                | Leaf::BigOp
                | Leaf::Minus
                | Leaf::MulOp
                | Leaf::Frozen
                | Leaf::Ones
                | Leaf::KwIn
                | Leaf::StackDots,
            ) => {
                if let Some(t) = symbol(text, spelling) {
                    edit(r.start, r.end, t);
                }
            }
            _ => {}
        }
    }
    gaps(src, leaves, spelling, &mut out);
    if errors.is_empty() {
        out.sort_by_key(|e| (e.start, e.end));
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The other spelling of a symbol written `text`, if it has one and differs.
fn symbol(text: &str, spelling: Spelling) -> Option<&'static str> {
    match spelling {
        Spelling::Ascii => by_unicode(text).map(|s| s.ascii),
        Spelling::Unicode => by_ascii(text)
            .filter(|s| s.to_unicode)
            .or_else(|| by_unicode(text).filter(|s| s.unicode != text))
            .map(|s| s.unicode),
        Spelling::Keep => None,
    }
}

fn no_ascii(span: Span, text: &str) -> Diagnostic {
    Diagnostic::new(Code::E0338, span, format!("`{text}` has no ASCII spelling"))
        .label("only a Greek letter on its own has an ASCII name")
        .help("rename it with ASCII letters, or keep the file in Unicode")
}

/// A word in the other spelling: a Greek letter's ASCII name, or the letter for its name.
/// `Err` for a word with letters that have no ASCII spelling (`x̂`, `βx`).
fn respell_word(text: &str, spelling: Spelling) -> Result<Option<String>, ()> {
    let word = text.trim_end_matches(['\'', '′']);
    let primes: String = text[word.len()..].chars().map(|_| '\'').collect();
    let canonical = names::word(&names::composed(word)).to_string();
    let new = match spelling {
        Spelling::Ascii if word.is_ascii() => word.to_string(),
        Spelling::Ascii => {
            let mut cs = canonical.chars();
            match (cs.next().and_then(names::ascii_letter), cs.next()) {
                (Some(a), None) => a.to_string(),
                _ => return Err(()),
            }
        }
        _ => canonical,
    };
    let new = new + &primes;
    Ok((new != text).then_some(new))
}

/// Primes as `'` and Unicode subscript digits as `_` and ASCII digits.
fn ascii_digits_and_primes(text: &str, leaf: Leaf) -> String {
    let digits = text.chars().map(|c| match c {
        '′' => '\'',
        '₀'..='₉' => char::from_digit(c as u32 - '₀' as u32, 10).unwrap_or('0'),
        c => c,
    });
    let prefix = if leaf == Leaf::SubUnicode { "_" } else { "" };
    prefix.chars().chain(digits).collect()
}

/// The span `start..end` widened over the spaces and tabs on either side.
fn around_spaces(src: &str, start: usize, end: usize) -> (usize, usize) {
    let before = src[..start].trim_end_matches([' ', '\t']).len();
    let after = end + (src[end..].len() - src[end..].trim_start_matches([' ', '\t']).len());
    (before, after)
}

/// The text without the spaces, line breaks and comments at its end (pest's span of a
/// repetition may take them in).
fn without_trivia(mut t: &str) -> &str {
    loop {
        let u = t.trim_end();
        let line = u.rfind('\n').map_or(0, |i| i + 1);
        match u[line..].find('#') {
            Some(h) => t = &u[..line + h],
            None => return u,
        }
    }
}

/// Whether the text is one bracket `[…]` from its first character to its last.
fn is_bracketed(o: &str) -> bool {
    if !o.starts_with('[') {
        return false;
    }
    let mut depth = 0usize;
    for (i, c) in o.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1 == o.len();
                }
            }
            _ => {}
        }
    }
    false
}

/// The punctuation between leaves and outside comments, spelt by silent grammar rules.
fn gaps(src: &str, leaves: &[(Span, Leaf)], spelling: Spelling, out: &mut Vec<Edit>) {
    let mut covered: Vec<(usize, usize)> = leaves
        .iter()
        .filter(|(_, l)| !matches!(l, Leaf::Sqrt(_)))
        .map(|(s, _)| (s.range().start, s.range().end))
        .collect();
    covered.sort_unstable();
    let mut next_leaf = 0usize;
    let mut i = 0usize;
    while i < src.len() {
        while next_leaf < covered.len() && covered[next_leaf].1 <= i {
            next_leaf += 1;
        }
        if next_leaf < covered.len() && covered[next_leaf].0 <= i {
            i = covered[next_leaf].1;
            continue;
        }
        let rest = &src[i..];
        if rest.starts_with('#') {
            i += rest.find('\n').unwrap_or(rest.len());
            continue;
        }
        let found = GAP_SYMBOLS.iter().find(|t| rest.starts_with(**t));
        match found.and_then(|t| symbol(t, spelling).map(|s| (t.len(), s))) {
            Some((len, s)) => {
                out.push(Edit {
                    start: i,
                    end: i + len,
                    text: s.to_string(),
                });
                i += len;
            }
            None => {
                i += found.map_or_else(
                    || rest.chars().next().map_or(1, char::len_utf8),
                    |t| t.len(),
                )
            }
        }
    }
}

/// The spellings of the symbols that silent grammar rules match, longest first.
const GAP_SYMBOLS: &[&str] = &[
    "...", "..", "…", "⋯", "||", "‖", "<-", "←", "<=", "≤", "!=", "≠", "∂", "∈",
];

/// The text with the edits applied; a word put beside a word gets a space between them.
pub(super) fn apply(src: &str, edits: Vec<Edit>) -> String {
    let mut out = String::with_capacity(src.len() + src.len() / 8);
    let mut at = 0usize;
    for e in edits {
        if e.start < at {
            continue; // inside an edit already made (a number inside a power)
        }
        out.push_str(&src[at..e.start]);
        let first = e.text.chars().next();
        if first.is_some_and(word_char) && out.chars().next_back().is_some_and(word_char) {
            out.push(' ');
        }
        out.push_str(&e.text);
        let next = src[e.end..].chars().next();
        if e.text.chars().next_back().is_some_and(word_char) && next.is_some_and(word_char) {
            out.push(' ');
        }
        at = e.end;
    }
    out.push_str(&src[at..]);
    keep_comment_columns(src, &out)
}

/// The respelt text with each comment that was aligned after code (two or more spaces before
/// its `#`) moved back to its column where the code's width changed (`∑` → `sum`). The edits
/// never add or remove a line, so the lines of `src` and `out` correspond.
fn keep_comment_columns(src: &str, out: &str) -> String {
    let column = |line: &str| -> Option<(usize, usize)> {
        let hash = line.find('#')?;
        let code = line[..hash].trim_end_matches(' ');
        let spaces = hash - code.len();
        (spaces >= 2 && !code.trim().is_empty()).then(|| (code.chars().count(), spaces))
    };
    let mut lines = Vec::new();
    for (old, new) in src.split('\n').zip(out.split('\n')) {
        match (column(old), column(new)) {
            (Some((code, spaces)), Some((new_code, _))) => {
                let want = (code + spaces).saturating_sub(new_code).max(2);
                let hash = new.find('#').unwrap_or(new.len());
                let text = new[..hash].trim_end_matches(' ');
                lines.push(format!("{text}{}{}", " ".repeat(want), &new[hash..]));
            }
            _ => lines.push(new.to_string()),
        }
    }
    lines.join("\n")
}
