//! Rust identifiers for spec names: `β_0` → `beta_0`, `Ω_0` → `omega_0`, `h'` → `h_prime`,
//! `φ_1.β` → `phi_1_beta`. Where two names of a model would meet (`ω_0` and `Ω_0`), the
//! capital's gets a `big_` prefix; any remaining clash gets a numeric suffix.

use std::collections::{HashMap, HashSet};

/// A snake-case identifier for one name, and whether it spelled a capital Greek letter.
fn ident(name: &str) -> (String, bool) {
    let mut out = String::new();
    let mut capital = false;
    for c in name.chars() {
        if let Some(w) = crate::names::ascii_letter(c) {
            capital |= w.starts_with(|c: char| c.is_ascii_uppercase());
            push_word(&mut out, &w.to_ascii_lowercase());
        } else if c == '\'' || c == '′' {
            push_word(&mut out, "prime");
        } else if c == '⁻' {
            push_word(&mut out, "frozen");
        } else if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    let mut out = out.trim_end_matches('_').to_string();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "v_");
    }
    if matches!(
        out.as_str(),
        "self"
            | "type"
            | "fn"
            | "let"
            | "mod"
            | "use"
            | "ws"
            | "grads"
            | "batch"
            | "in"
            | "loop"
            | "match"
            | "ref"
            | "move"
            | "r"
            | "j"
            | "dst"
            | "src"
    ) {
        out.push('_');
    }
    (out, capital)
}

fn push_word(out: &mut String, w: &str) {
    if !out.is_empty()
        && !out.ends_with('_')
        && out.chars().last().is_some_and(|c| c.is_ascii_alphabetic())
    {
        out.push('_');
    }
    out.push_str(w);
}

/// Identifiers for a list of names, distinct within the list.
pub fn fields<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let raw: Vec<(String, bool)> = names.map(ident).collect();
    let mut count: HashMap<&str, usize> = HashMap::new();
    for (id, _) in &raw {
        *count.entry(id.as_str()).or_default() += 1;
    }
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    let mut taken: HashSet<String> = HashSet::with_capacity(raw.len());
    // The next suffix worth trying per name: every smaller one is taken already.
    let mut next: HashMap<&str, usize> = HashMap::new();
    for (raw_id, capital) in &raw {
        let clash = count.get(raw_id.as_str()).is_some_and(|&c| c > 1);
        let mut id = if clash && *capital {
            format!("big_{raw_id}")
        } else {
            raw_id.clone()
        };
        let n = next.entry(raw_id.as_str()).or_insert(2);
        while taken.contains(&id) {
            id = format!("{raw_id}_{n}");
            *n += 1;
        }
        taken.insert(id.clone());
        out.push(id);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greek_names_become_snake_case() {
        let f = fields(["β_0", "Ω_0", "ω_0", "h'", "φ_1.β", "θ_{10}", "x"].into_iter());
        assert_eq!(
            f,
            [
                "beta_0",
                "big_omega_0",
                "omega_0",
                "h_prime",
                "phi_1_beta",
                "theta_10",
                "x"
            ]
        );
    }
}
