//! Text from data printed on a terminal: the one place control characters are escaped.
//!
//! Service names, token names and titles come from files, webhooks and git, so they may
//! carry terminal escape sequences (`ESC [ 2 J` clears the screen, OSC 8 forges links).
//! Everything the CLI prints from data goes through [`safe`], which writes control
//! characters as visible `\u{..}` escapes.

use std::borrow::Cow;

/// `text` with every control character (C0, DEL and C1) written as `\u{XX}`.
pub fn safe(text: &str) -> Cow<'_, str> {
    escape(text, |_| false)
}

/// A whole report for the terminal: like [`safe`], but its own line breaks and tabs stay.
pub fn safe_report(text: &str) -> Cow<'_, str> {
    escape(text, |c| c == '\n' || c == '\t')
}

fn escape(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    let escaped = |c: char| c.is_control() && !keep(c);
    if !text.chars().any(escaped) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if escaped(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::{safe, safe_report};

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(safe("checkout"), "checkout");
        assert_eq!(safe("käse ✓"), "käse ✓");
        assert_eq!(safe("\u{1b}[2Jevil\u{7}"), "\\u{1b}[2Jevil\\u{7}");
        assert_eq!(safe("a\u{9b}b\tc\n"), "a\\u{9b}b\\u{9}c\\u{a}");
        assert_eq!(safe_report("shop\u{1b}]8;;x\n"), "shop\\u{1b}]8;;x\n");
        assert_eq!(safe_report("a\tb\r\n"), "a\tb\\u{d}\n");
    }
}
