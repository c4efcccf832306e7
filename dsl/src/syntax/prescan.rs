//! The lexical pre-scan that runs before pest: control characters, nesting deeper than
//! [`MAX_NESTING`] and too many norm bars in one statement, so that the recursive-descent
//! parser cannot overflow its stack.

use super::MAX_NESTING;
use crate::diag::{Code, Diagnostic, Span};

pub(super) fn prescan(src: &str) -> Result<(), Vec<Diagnostic>> {
    let mut diags = Vec::new();
    // `open` holds, per open bracket, the big operators (∑ ∏ √ ∂) seen since the last `+`/`-`
    // at that level: each of them nests its body, a `+` or `-` ends their bodies.
    let mut open: Vec<usize> = vec![0];
    let mut reported_depth = false;
    let mut in_comment = false;
    // Norm bars in the current statement, `‖` counting 2 and `|` 1: a norm's bars look alike,
    // so how deeply norms nest is bounded through how many bars a statement has.
    let mut bars = 0usize;
    for (i, c) in src.char_indices() {
        let span = Span::new(i, i + c.len_utf8());
        if c == '\n' {
            in_comment = false;
            if open.len() == 1 {
                open[0] = 0;
            }
            // A line break at the level of a model's statements ends a statement.
            if open.len() <= 2 {
                bars = 0;
            }
            continue;
        }
        if c.is_control() && c != '\t' && c != '\r' {
            diags.push(
                Diagnostic::new(
                    Code::E0107,
                    span,
                    format!("control character U+{:04X} in the source", c as u32),
                )
                .label("not allowed here")
                .help("delete it; only tabs, spaces and line breaks may separate tokens"),
            );
            continue;
        }
        if in_comment {
            continue;
        }
        match c {
            '#' => in_comment = true,
            '[' | '(' | '{' => open.push(0),
            ']' | ')' | '}' if open.len() > 1 => {
                open.pop();
            }
            '∑' | '∏' | '√' | '∂' => {
                if let Some(n) = open.last_mut() {
                    *n += 1;
                }
            }
            '+' | '-' | '−' | ';' | ',' | '=' => {
                if let Some(n) = open.last_mut() {
                    *n = 0;
                }
                if c == ';' && open.len() <= 2 {
                    bars = 0;
                }
            }
            '‖' => bars += 2,
            '|' => bars += 1,
            _ => {}
        }
        if bars > 4 * MAX_NESTING && !reported_depth {
            reported_depth = true;
            diags.push(
                Diagnostic::new(
                    Code::E0102,
                    span,
                    format!("more than {} norm bars `‖` in one statement", 2 * MAX_NESTING),
                )
                .label("one bar too many")
                .help("name an intermediate quantity with its own equation, as the book does with h_1, h_2, …"),
            );
        }
        let nesting = open.len() - 1 + open.iter().sum::<usize>();
        if nesting > MAX_NESTING && !reported_depth {
            reported_depth = true;
            diags.push(
                Diagnostic::new(
                    Code::E0102,
                    span,
                    format!("nested more than {MAX_NESTING} levels deep"),
                )
                .label("too deep here")
                .help("name an intermediate quantity with its own equation, as the book does with h_1, h_2, …"),
            );
        }
    }
    if diags.is_empty() { Ok(()) } else { Err(diags) }
}
