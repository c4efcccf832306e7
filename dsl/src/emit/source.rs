//! The spec's lines in generated code: each statement starts with an inert `let _ = "…";`
//! naming the line it implements, which [`comments_from_markers`] turns into `//` comments
//! for people reading `nnspec emit`.

/// The longest spec line a comment of generated code quotes in full (bytes, then a word).
const MAX_COMMENT: usize = 160;

/// The spec a graph came from, for the comments that tie statements to its lines.
pub(crate) struct Source<'s> {
    text: &'s str,
    file: &'s str,
    /// The byte offset of every line's start, so that a span's line is a binary search.
    line_starts: Vec<usize>,
}

impl<'s> Source<'s> {
    pub(crate) fn new(text: &'s str, file: &'s str) -> Source<'s> {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Source {
            text,
            file,
            line_starts,
        }
    }

    /// `h_1 = a[β_0 + Ω_0 x] (deep.nn:10)`: the source line of a span, trimmed.
    pub(crate) fn line(&self, span: crate::diag::Span) -> Option<String> {
        if span.end == 0 {
            return None;
        }
        let at = (span.start as usize).min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= at);
        let start = self.line_starts[line - 1];
        let end = self.line_starts.get(line).map_or(self.text.len(), |&e| e);
        let text = self.text.get(start..end)?.trim_end_matches(['\n', '\r']);
        let text = text.split('#').next().unwrap_or(text);
        // Every statement of a line repeats its comment: a long line is cut.
        let mut words = String::new();
        for w in text.split_whitespace() {
            if words.len() > MAX_COMMENT {
                words.push_str(" …");
                break;
            }
            if !words.is_empty() {
                words.push(' ');
            }
            words.push_str(w);
        }
        Some(format!("{words} ({}:{line})", self.file))
    }
}

/// Turns the `let _ = "…";` markers of generated code into `// …` comments, for people
/// reading `nnspec emit` (the macro's expansion keeps them as inert statements).
pub fn comments_from_markers(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    for line in code.lines() {
        let t = line.trim_start();
        match t
            .strip_prefix("let _ = \"")
            .and_then(|r| r.strip_suffix("\";"))
        {
            Some(text) => {
                let indent = &line[..line.len() - t.len()];
                let text = text.replace("\\\"", "\"").replace("\\\\", "\\");
                out.push_str(indent);
                out.push_str("// ");
                out.push_str(&text);
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}
