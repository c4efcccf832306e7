//! One open document of the language server: its text, what checking found, and the answers
//! to the editor's questions — diagnostics, hover, definition, completion — in the protocol's
//! positions (lines and UTF-16 columns: specs are full of characters outside ASCII).

use lsp_types::{
    CompletionItem, CompletionItemKind, CompletionTextEdit, DiagnosticSeverity, Position, Range,
    TextEdit,
};
use nnspec::dsl;
use nnspec::dsl::check::{ModelInfo, SymbolInfo};

/// An open document and what its last check found.
pub(crate) struct Doc {
    pub(crate) text: String,
    /// The file's diagnostics (empty when it checks clean).
    pub(crate) diags: Vec<dsl::Diagnostic>,
    /// The models as checked, with the byte range of each model in the text; empty when the
    /// file does not parse or check.
    models: Vec<(std::ops::Range<usize>, ModelInfo)>,
}

impl Doc {
    /// Checks the text (with default hyper-parameters).
    pub(crate) fn new(text: String) -> Doc {
        let opts = dsl::check::Options::default();
        let diags = match dsl::check_source(&text, &opts) {
            Ok(_) => Vec::new(),
            Err(d) => d,
        };
        let src = text.clone();
        let models = dsl::with_big_stack(move || {
            let Ok(ast) = dsl::syntax::parse(&src) else {
                return Vec::new();
            };
            let Ok(info) = dsl::check::check_with(&ast, &src, &opts) else {
                return Vec::new();
            };
            ast.models
                .iter()
                .map(|m| m.span.range())
                .zip(info.models)
                .collect()
        });
        Doc {
            text,
            diags,
            models,
        }
    }

    /// The byte offset of a protocol position (clamped to the text).
    pub(crate) fn offset(&self, pos: Position) -> usize {
        let mut start = 0usize;
        for _ in 0..pos.line {
            match self.text[start..].find('\n') {
                Some(n) => start += n + 1,
                None => return self.text.len(),
            }
        }
        let line_end = self.text[start..]
            .find('\n')
            .map_or(self.text.len(), |n| start + n);
        let mut units = 0u32;
        for (i, c) in self.text[start..line_end].char_indices() {
            if units >= pos.character {
                return start + i;
            }
            units += c.len_utf16() as u32;
        }
        line_end
    }

    /// The protocol position of a byte offset.
    pub(crate) fn position(&self, offset: usize) -> Position {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() as u32;
        let line_start = before.rfind('\n').map_or(0, |n| n + 1);
        let character = before[line_start..].encode_utf16().count() as u32;
        Position { line, character }
    }

    fn range(&self, span: dsl::Span) -> Range {
        Range {
            start: self.position(span.range().start),
            end: self.position(span.range().end),
        }
    }

    /// The diagnostics in the protocol's form.
    pub(crate) fn lsp_diagnostics(&self) -> Vec<lsp_types::Diagnostic> {
        self.diags
            .iter()
            .map(|d| {
                let mut message = d.message.clone();
                for extra in d.notes.iter().chain(d.help.iter()) {
                    message.push('\n');
                    message.push_str(extra);
                }
                lsp_types::Diagnostic {
                    range: self.range(d.span),
                    severity: Some(DiagnosticSeverity::ERROR),
                    code: Some(lsp_types::NumberOrString::String(d.code.to_string())),
                    source: Some("nnspec".to_string()),
                    message,
                    ..Default::default()
                }
            })
            .collect()
    }

    /// The name under the cursor: its byte range and canonical form (`Omega_0` → `Ω_0`).
    fn name_at(&self, offset: usize) -> Option<(std::ops::Range<usize>, String)> {
        let t = &self.text;
        let part = |c: char| c.is_alphanumeric() || c == '_' || c == '\'' || c == '′';
        let mut start = offset.min(t.len());
        while let Some(c) = t[..start].chars().next_back().filter(|&c| part(c)) {
            start -= c.len_utf8();
        }
        let mut end = offset.min(t.len());
        while let Some(c) = t[end..].chars().next().filter(|&c| part(c) || c == '{') {
            if c == '{' {
                if !t[..end].ends_with('_') {
                    break;
                }
                end += t[end..].find('}').map_or(1, |n| n + 1);
            } else {
                end += c.len_utf8();
            }
        }
        let text = t.get(start..end)?;
        let text = text.trim_end_matches('_');
        if text.is_empty() {
            return None;
        }
        let canonical = dsl::names::canonical_name(text)?;
        Some((start..start + text.len(), canonical))
    }

    /// The symbols a name stands for in the model around `offset`: the symbol itself, a
    /// function `f[x, φ]`, or the members of a family (`Ω_k` → `Ω_1`, `Ω_2`, …).
    fn symbols_at(&self, offset: usize) -> Vec<&SymbolInfo> {
        let Some((_, name)) = self.name_at(offset) else {
            return Vec::new();
        };
        let Some((_, model)) = self.models.iter().find(|(r, _)| r.contains(&offset)) else {
            return Vec::new();
        };
        let exact: Vec<&SymbolInfo> = model
            .symbols
            .iter()
            .filter(|s| s.name == name || s.name.starts_with(&format!("{name}[")))
            .collect();
        if !exact.is_empty() {
            return exact;
        }
        let (word, sub) = name.split_once('_').unwrap_or((&name, ""));
        if sub.is_empty() {
            return Vec::new();
        }
        model
            .symbols
            .iter()
            .filter(|s| {
                s.name
                    .split_once('_')
                    .is_some_and(|(w, _)| w == word && !s.name.contains('['))
            })
            .collect()
    }

    /// The hover text: each symbol's kind, name and type in the book's notation
    /// (`param Ω_0 : ℝ^{D×D_i} (= ℝ^{16×8})`), and the range of the name.
    pub(crate) fn hover(&self, pos: Position) -> Option<(String, Range)> {
        let offset = self.offset(pos);
        let symbols = self.symbols_at(offset);
        let (range, _) = self.name_at(offset)?;
        if symbols.is_empty() {
            return None;
        }
        let lines: Vec<String> = symbols
            .iter()
            .take(6)
            .map(|s| {
                let ty = s.ty.to_string();
                let sep = if ty.starts_with('=') { "" } else { ": " };
                let per = if s.per_example { "  (per example)" } else { "" };
                format!("{} {} {sep}{ty}{per}", kind_word(s), s.name)
            })
            .collect();
        let more = if symbols.len() > 6 {
            format!("\n… and {} more", symbols.len() - 6)
        } else {
            String::new()
        };
        let span = dsl::Span::new(range.start, range.end);
        Some((
            format!("```\n{}{more}\n```", lines.join("\n")),
            self.range(span),
        ))
    }

    /// Where the name under the cursor is defined.
    pub(crate) fn definition(&self, pos: Position) -> Option<Range> {
        let s = self.symbols_at(self.offset(pos)).into_iter().next()?;
        Some(self.range(s.span))
    }

    /// Completions of the ASCII or LaTeX name before the cursor (`\beta`, `Omega`, `sum`) to
    /// its symbol, replacing what was typed.
    pub(crate) fn completions(&self, pos: Position) -> Vec<CompletionItem> {
        let offset = self.offset(pos);
        let before = &self.text[..offset];
        let typed_start = before
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_alphabetic() || matches!(c, '\\' | '{' | '}'))
            .last()
            .map_or(offset, |(i, _)| i);
        // A backslash starts the typed text; anything before it is not part of it.
        let typed_start = before[typed_start..]
            .rfind('\\')
            .map_or(typed_start, |i| typed_start + i);
        let typed = &before[typed_start..];
        if typed.is_empty() {
            return Vec::new();
        }
        let range = Range {
            start: self.position(typed_start),
            end: pos,
        };
        dsl::spelling::completions()
            .into_iter()
            .filter(|c| c.typed.starts_with(typed))
            .map(|c| CompletionItem {
                label: c.typed.clone(),
                kind: Some(CompletionItemKind::TEXT),
                detail: Some(format!("{} — {}", c.symbol, c.what)),
                filter_text: Some(c.typed.clone()),
                text_edit: Some(CompletionTextEdit::Edit(TextEdit {
                    range,
                    new_text: c.symbol,
                })),
                ..Default::default()
            })
            .collect()
    }
}

fn kind_word(s: &SymbolInfo) -> &'static str {
    use dsl::check::SymbolKind as K;
    match s.kind {
        K::Input => "input",
        K::Target => "target",
        K::Noise => "noise",
        K::Param => "param",
        K::Value => "value",
        K::Function => "fn",
        K::Loss => "loss",
    }
}
