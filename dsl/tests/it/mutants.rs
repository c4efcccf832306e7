//! Mutations of a spec, shared by the property tests of the compiler and the whole-pipeline
//! test of the command-line crate (which includes this file by path): character mutations
//! (truncate, delete, duplicate, swap a bracket, insert or replace a character from the
//! language's symbols, look-alikes and noise) and token mutations (delete, duplicate, replace,
//! insert or swap words, numbers and symbols of the same spec).

#![allow(dead_code)]

/// Characters the mutations insert: the language's own symbols, look-alikes, and noise.
pub const STRAY: &[char] = &[
    'β', 'Ω', 'φ', 'ℝ', '×', '∈', '…', '·', '⊙', 'ᵀ', '‖', '𝟏', '∑', '∏', '√', '∂', '²', '⁻', '′',
    '₀', '₉', '[', ']', '(', ')', '{', '}', '_', '^', '=', '~', ',', ';', '\n', '#', ':', '|',
    '\'', '"', '\\', '−', 'Σ', '∘', '→', '\u{200B}', '\u{FEFF}', '\u{0301}', 'é', '😀', '\t', '\r',
    '\u{7}', '0', '9', '.',
];

#[derive(Clone, Debug)]
pub enum Mutation {
    Truncate(usize),
    Delete(usize),
    Duplicate(usize),
    SwapBrackets(usize),
    Insert(usize, char),
    Replace(usize, char),
}

pub fn apply(src: &str, m: &Mutation) -> String {
    let mut chars: Vec<char> = src.chars().collect();
    if chars.is_empty() {
        return String::new();
    }
    let at = |i: usize| i % chars.len();
    match *m {
        Mutation::Truncate(i) => chars.truncate(at(i)),
        Mutation::Delete(i) => {
            chars.remove(at(i));
        }
        Mutation::Duplicate(i) => {
            let k = at(i);
            chars.insert(k, chars[k]);
        }
        Mutation::SwapBrackets(i) => {
            let k = at(i);
            let swapped = match chars[k] {
                '[' => ']',
                ']' => '[',
                '(' => ')',
                ')' => '(',
                '{' => '}',
                '}' => '{',
                c => c,
            };
            chars[k] = swapped;
        }
        Mutation::Insert(i, c) => chars.insert(at(i), c),
        Mutation::Replace(i, c) => {
            let k = at(i);
            chars[k] = c;
        }
    }
    chars.into_iter().collect()
}

/// A token-level mutation: the spec split into words, numbers and single symbols.
#[derive(Clone, Debug)]
pub enum TokenMutation {
    Delete(usize),
    Duplicate(usize),
    /// Replace token `.0` by a copy of token `.1` of the same spec.
    Replace(usize, usize),
    /// Insert a copy of token `.1` before token `.0`.
    Insert(usize, usize),
    Swap(usize, usize),
}

pub fn tokens(src: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut word = String::new();
    for c in src.chars() {
        if c.is_alphanumeric() || c == '_' || c == '.' {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
        out.push(c.to_string());
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

pub fn apply_tokens(src: &str, m: &TokenMutation) -> String {
    let mut t = tokens(src);
    if t.is_empty() {
        return String::new();
    }
    let n = t.len();
    match *m {
        TokenMutation::Delete(i) => {
            t.remove(i % n);
        }
        TokenMutation::Duplicate(i) => {
            let k = i % n;
            t.insert(k, t[k].clone());
        }
        TokenMutation::Replace(i, j) => t[i % n] = t[j % n].clone(),
        TokenMutation::Insert(i, j) => {
            let tok = t[j % n].clone();
            t.insert(i % n, tok);
        }
        TokenMutation::Swap(i, j) => t.swap(i % n, j % n),
    }
    t.concat()
}

/// `src` with the token mutations, then the character mutations, applied.
pub fn mutant(src: &str, chars: &[Mutation], toks: &[TokenMutation]) -> String {
    let mut src = src.to_string();
    for m in toks {
        src = apply_tokens(&src, m);
    }
    for m in chars {
        src = apply(&src, m);
    }
    src
}

/// Random mutations drawn from `next` (any source of 64-bit numbers): up to one character
/// mutation and one or two token mutations, as the property tests draw them.
pub fn draw(next: &mut impl FnMut() -> u64) -> (Vec<Mutation>, Vec<TokenMutation>) {
    let mut n = || next() as usize;
    let chars = (0..n() % 2)
        .map(|_| match n() % 6 {
            0 => Mutation::Truncate(n()),
            1 => Mutation::Delete(n()),
            2 => Mutation::Duplicate(n()),
            3 => Mutation::SwapBrackets(n()),
            4 => Mutation::Insert(n(), STRAY[n() % STRAY.len()]),
            _ => Mutation::Replace(n(), STRAY[n() % STRAY.len()]),
        })
        .collect();
    let toks = (0..1 + n() % 2)
        .map(|_| match n() % 5 {
            0 => TokenMutation::Delete(n()),
            1 => TokenMutation::Duplicate(n()),
            2 => TokenMutation::Replace(n(), n()),
            3 => TokenMutation::Insert(n(), n()),
            _ => TokenMutation::Swap(n(), n()),
        })
        .collect();
    (chars, toks)
}
