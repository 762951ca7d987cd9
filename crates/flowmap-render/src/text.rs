//! Escaping and the small text rules every picture shares: number formatting that never
//! varies between runs, and fitting text into boxes whose size is fixed.

/// Escapes text for SVG, HTML and XML, both as element content and as a quoted attribute
/// value.
///
/// The five characters with meaning in markup become entities: `&` `<` `>` `"` `'`.
/// Characters XML 1.0 forbids outright (control characters other than tab, line feed and
/// carriage return, and the non-characters U+FFFE and U+FFFF) become U+FFFD, the
/// replacement character, so a stray control byte in a map file cannot make the SVG
/// unreadable to an XML parser.
///
/// Every string that comes from a map file passes through here before it is written into
/// a picture or a page.
///
/// ```
/// use flowmap_render::escape;
/// assert_eq!(escape("<b>\"R&D\" isn't</b>"), "&lt;b&gt;&quot;R&amp;D&quot; isn&#39;t&lt;/b&gt;");
/// assert_eq!(escape("tab\tok, bell\u{7} not"), "tab\tok, bell\u{FFFD} not");
/// ```
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A number for an SVG coordinate or a label: rounded to one decimal, without a trailing
/// `.0`, and never `-0`. Fixed rounding keeps the output byte-for-byte stable.
pub(crate) fn num(x: f64) -> String {
    let rounded = (x * 10.0).round() / 10.0;
    if rounded == rounded.trunc() {
        format!("{}", rounded as i64)
    } else {
        format!("{rounded:.1}")
    }
}

/// A fraction as a percentage with at most one decimal: `0.85` → `85%`, `0.041` → `4.1%`.
pub(crate) fn percent(fraction: f64) -> String {
    format!("{}%", num(fraction * 100.0))
}

/// A rough width in pixels of `text` in a proportional sans-serif font.
///
/// No font metrics are available when writing an SVG by hand, so this uses an average
/// glyph width; it is tuned to overestimate slightly, which makes text wrap early rather
/// than overflow its box.
pub(crate) fn text_width(text: &str, font_size: f64, bold: bool) -> f64 {
    let per_char = if bold { 0.62 } else { 0.56 };
    text.chars().count() as f64 * font_size * per_char
}

/// How many characters fit in `width` pixels (at least one).
pub(crate) fn chars_fitting(width: f64, font_size: f64, bold: bool) -> usize {
    ((width / text_width("x", font_size, bold)).floor() as usize).max(1)
}

/// Shortens `text` to at most `max_chars` characters, ending in `…` when cut.
pub(crate) fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let kept: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    format!("{}…", kept.trim_end())
}

/// Wraps `text` at spaces into at most `max_lines` lines of at most `max_chars` characters.
///
/// A word longer than a line is split. When the text needs more lines, the last line ends
/// in `…`; the second value then is `true`, telling the caller to keep the full text in a
/// tooltip.
pub(crate) fn wrap(text: &str, max_chars: usize, max_lines: usize) -> (Vec<String>, bool) {
    let max_chars = max_chars.max(1);
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let used = current.chars().count();
            let space = usize::from(used > 0);
            if used + space + word.len() <= max_chars {
                if space == 1 {
                    current.push(' ');
                }
                current.extend(word.iter());
                break;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut current));
                continue;
            }
            let rest = word.split_off(max_chars);
            lines.push(word.iter().collect());
            word = rest;
            if word.is_empty() {
                break;
            }
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    if lines.len() <= max_lines {
        return (lines, false);
    }
    lines.truncate(max_lines);
    if let Some(last) = lines.last_mut() {
        let cut: String = last.chars().take(max_chars.saturating_sub(1)).collect();
        *last = format!("{}…", cut.trim_end());
    }
    (lines, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(escape("plain — text"), "plain — text");
    }

    #[test]
    fn replaces_characters_xml_forbids() {
        assert_eq!(
            escape("a\u{0}b\u{1b}c\u{FFFF}"),
            "a\u{FFFD}b\u{FFFD}c\u{FFFD}"
        );
        assert_eq!(escape("line\nbreak\r\tok"), "line\nbreak\r\tok");
    }

    #[test]
    fn numbers_are_stable() {
        assert_eq!(num(12.0), "12");
        assert_eq!(num(12.34), "12.3");
        assert_eq!(num(12.96), "13");
        assert_eq!(num(-0.01), "0");
        assert_eq!(num(-2.5), "-2.5");
        assert_eq!(percent(0.85), "85%");
        assert_eq!(percent(1.0 - 0.95), "5%");
        assert_eq!(percent(0.041_23), "4.1%");
    }

    #[test]
    fn wraps_at_spaces() {
        assert_eq!(
            wrap("Deploy to production", 12, 2),
            (
                vec!["Deploy to".to_string(), "production".to_string()],
                false
            )
        );
        assert_eq!(wrap("CI", 12, 2), (vec!["CI".to_string()], false));
        assert_eq!(wrap("", 12, 2), (vec![], false));
    }

    #[test]
    fn splits_long_words_and_marks_truncation() {
        assert_eq!(
            wrap("abcdefghij", 4, 3),
            (
                vec!["abcd".to_string(), "efgh".to_string(), "ij".to_string()],
                false
            )
        );
        assert_eq!(
            wrap("one two three four", 5, 2),
            (vec!["one".to_string(), "two…".to_string()], true)
        );
    }

    #[test]
    fn truncates_with_ellipsis() {
        assert_eq!(truncate("Platform team", 20), "Platform team");
        assert_eq!(truncate("Change advisory board", 10), "Change ad…");
        assert_eq!(truncate("abcdef", 4), "abc…");
    }
}
