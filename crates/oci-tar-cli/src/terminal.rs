//! Text from a hostile image as it may reach a terminal: control characters
//! (C0, DEL, C1: escape sequences) and the invisible characters that reorder
//! or hide text (bidi overrides and isolates such as U+202E, zero-width
//! characters, line separators) are shown escaped, never sent, so a name in
//! a tar cannot rewrite the screen or pass for another name.

use std::borrow::Cow;

/// Whether `c` must not reach a terminal as it is.
pub(crate) fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}'
        )
}

/// `text` with every unsafe character escaped as Rust writes it (`\u{202e}`,
/// `\n`); borrowed when there is none.
pub(crate) fn clean(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_unsafe(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// JSON text with every unsafe character left by the serialiser written as
/// a JSON `\uXXXX` escape: the same JSON value, safe to print. (Every unsafe
/// character is in the Basic Multilingual Plane.)
pub(crate) fn clean_json(json: &str) -> Cow<'_, str> {
    if !json.chars().any(is_unsafe) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if is_unsafe(c) {
            // Outside strings JSON holds only ASCII punctuation and
            // whitespace, which serde_json writes as \n and spaces, not raw
            // control characters; so every one found is inside a string.
            match c {
                '\n' => out.push('\n'),
                _ => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_and_c1_controls_are_escaped() {
        assert_eq!(clean("evil\u{202e}gpj.exe"), "evil\\u{202e}gpj.exe");
        assert_eq!(clean("a\u{9b}31m"), "a\\u{9b}31m");
        assert_eq!(clean("a\u{1b}[2J\n"), "a\\u{1b}[2J\\n");
        assert!(matches!(clean("plain é"), Cow::Borrowed("plain é")));
    }

    #[test]
    fn json_stays_the_same_value() {
        let value = serde_json::json!({"name": "x\u{202e}y\u{85}z\u{1b}"});
        let json = serde_json::to_string_pretty(&value).unwrap_or_default();
        let cleaned = clean_json(&json);
        assert!(
            !cleaned.chars().any(|c| is_unsafe(c) && c != '\n'),
            "{cleaned}"
        );
        let back: serde_json::Value = serde_json::from_str(&cleaned).unwrap_or_default();
        assert_eq!(back, value);
    }
}
