//! The canonical layout of a spec's lines: one statement per line (a `;` between statements
//! and a model's braces on a line with a statement become line breaks), statements indented
//! by four spaces (their continuation lines move with them), the declaration keywords padded
//! so that the declared names line up (`input  x`, `target y`, `param  β`), no trailing
//! spaces, at most one blank line in a row, and one line break at the end. The text inside a
//! line is kept: the author's alignment of equations and comments stays.

/// Statements inside a model start this far in.
const INDENT: usize = 4;
/// `target` and a space: where a declaration's first name starts after its keyword.
const DECL_WIDTH: usize = 7;

/// The text laid out; the text must be a spec that parses (comments may hold anything).
pub fn layout(text: &str) -> String {
    let split = split_statements(text);
    let mut out = String::with_capacity(split.len() + 64);
    let mut depth = 0usize;
    let mut continues = false;
    let mut shift: isize = 0;
    let mut blank_run = 0usize;
    for raw in split.lines() {
        let line = raw.trim_end();
        if line.is_empty() {
            blank_run += 1;
            continue;
        }
        if blank_run > 0 && !out.is_empty() {
            out.push('\n');
        }
        blank_run = 0;
        let body = line.trim_start();
        let old_indent = line.len() - body.len();
        let starts_statement = depth <= 1 && !continues && !starts_clause(body);
        let new_line = if starts_statement {
            let indent = if depth == 1 && !body.starts_with('}') {
                INDENT
            } else {
                0
            };
            shift = indent as isize - old_indent as isize;
            format!("{}{}", " ".repeat(indent), pad_keyword(body))
        } else {
            let indent = (old_indent as isize + shift).max(0) as usize;
            format!("{}{body}", " ".repeat(indent))
        };
        out.push_str(&new_line);
        out.push('\n');
        let code = code_of(body);
        depth = depth_after(code, depth);
        continues = depth > 1 || continues_after(code);
    }
    out
}

/// The code of a line, without its comment.
fn code_of(line: &str) -> &str {
    line.find('#').map_or(line, |i| &line[..i]).trim_end()
}

/// A line that continues the statement before it: a `for` clause or a group.
fn starts_clause(body: &str) -> bool {
    let word = |w: &str| {
        body.strip_prefix(w)
            .is_some_and(|r| !r.starts_with(|c: char| c.is_alphanumeric() || c == '_'))
    };
    word("for") || word("in") || body.starts_with('∈')
}

/// Whether a line ending this way continues on the next (after an operator or a comma, or
/// with a `\` at its end). An open bracket is counted by the depth.
fn continues_after(code: &str) -> bool {
    const OPS: &[&str] = &[
        "+", "-", "−", "·", "⋅", "*", "⊙", "/", ",", "=", "←", "<-", "\\",
    ];
    OPS.iter().any(|op| code.ends_with(op))
}

/// The bracket depth after a line of code.
fn depth_after(code: &str, mut depth: usize) -> usize {
    for c in code.chars() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    depth
}

/// `input x` → `input  x`: a declaration keyword and one space, padded to the longest.
fn pad_keyword(body: &str) -> String {
    for kw in ["input", "target", "param"] {
        if let Some(rest) = body.strip_prefix(kw)
            && rest.starts_with([' ', '\t'])
        {
            let rest = rest.trim_start();
            return format!("{kw}{}{rest}", " ".repeat(DECL_WIDTH - kw.len()));
        }
    }
    body.to_string()
}

/// The text with a line break for each `;` between statements and around a model's body
/// where it shares a line with a statement. Comments are copied as they are.
fn split_statements(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0usize;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '#' => {
                let end = text[i..].find('\n').map_or(text.len(), |n| i + n);
                out.push_str(&text[i..end]);
                while chars.peek().is_some_and(|&(j, _)| j < end) {
                    chars.next();
                }
            }
            ';' if depth <= 1 => {
                out.push('\n');
                while chars.peek().is_some_and(|&(_, c)| c == ' ' || c == '\t') {
                    chars.next();
                }
            }
            '{' if depth == 0 => {
                depth = 1;
                out.push('{');
                let rest = text[i + 1..].trim_start_matches([' ', '\t']);
                if !(rest.starts_with('\n') || rest.starts_with('#') || rest.is_empty()) {
                    out.push('\n');
                }
            }
            '}' if depth == 1 => {
                depth = 0;
                let line_start = out.rfind('\n').map_or(0, |n| n + 1);
                if !out[line_start..].trim().is_empty() {
                    out.push('\n');
                }
                out.push('}');
            }
            '(' | '[' | '{' => {
                depth += 1;
                out.push(c);
            }
            ')' | ']' | '}' => {
                depth = depth.saturating_sub(1);
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::layout;

    #[test]
    fn statements_one_per_line_indented_with_keywords_padded() {
        let src = "model M { input x : ℝ; param β : ℝ\n  f[x, β] = β x +\n     x\n}\n\n\n";
        let want =
            "model M {\n    input  x : ℝ\n    param  β : ℝ\n    f[x, β] = β x +\n       x\n}\n";
        assert_eq!(layout(src), want);
        assert_eq!(layout(want), want);
    }

    #[test]
    fn comments_and_stacks_keep_their_text() {
        let src = "# a; {b}\nmodel M {\n    y = [a; b] # c; d\n}\n";
        assert_eq!(layout(src), src);
    }
}
