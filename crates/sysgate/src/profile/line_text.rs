//! Positions in line-based profile formats (systemd unit settings, LXC seccomp files): words
//! with their 1-based line and character column, so every error can name `file:line:column`.

/// A word of a line and where it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Word {
    /// The text, quotes removed.
    pub text: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

/// The 1-based character column of byte offset `byte` in `line` (clamped to the line).
pub(crate) fn column(line: &str, byte: usize) -> usize {
    let byte = byte.min(line.len());
    let byte = (0..=byte)
        .rev()
        .find(|b| line.is_char_boundary(*b))
        .unwrap_or(0);
    line[..byte].chars().count() + 1
}

/// Split `text` (which sits on `line` from character column `first_column` on) into words
/// separated by whitespace. Double and single quotes group a word and are removed; a quote
/// left open is an error naming its column.
pub(crate) fn words(text: &str, line: usize, first_column: usize) -> Result<Vec<Word>, usize> {
    let mut out = Vec::new();
    let mut current: Option<(String, usize)> = None;
    let mut quote: Option<(char, usize)> = None;
    for (i, c) in text.chars().enumerate() {
        let col = first_column + i;
        match quote {
            Some((q, _)) if c == q => quote = None,
            Some(_) => current
                .get_or_insert_with(|| (String::new(), col))
                .0
                .push(c),
            None if c == '"' || c == '\'' => {
                quote = Some((c, col));
                current.get_or_insert_with(|| (String::new(), col));
            }
            None if c.is_whitespace() => {
                if let Some((w, column)) = current.take() {
                    out.push(Word {
                        text: w,
                        line,
                        column,
                    });
                }
            }
            None => current
                .get_or_insert_with(|| (String::new(), col))
                .0
                .push(c),
        }
    }
    if let Some((_, col)) = quote {
        return Err(col);
    }
    if let Some((w, column)) = current {
        out.push(Word {
            text: w,
            line,
            column,
        });
    }
    Ok(out)
}

/// Split `text` (on `line` from character column `first_column` on) into words separated by
/// systemd's whitespace (space, tab, CR, LF) and nothing else, keeping quotes as characters:
/// how systemd splits `SystemCallFilter=` and `SystemCallLog=` (`extract_first_word` without
/// `EXTRACT_UNQUOTE`), so `"read"` is a word with quotes in it, and a no-break space is part
/// of a word. A backslash takes the next character as it is, a space included (`ptr\ace` is
/// `ptrace`, `a\ b` one word).
pub(crate) fn literal_words(text: &str, line: usize, first_column: usize) -> Vec<Word> {
    let mut out = Vec::new();
    let mut current: Option<(String, usize)> = None;
    let mut escaped = false;
    for (i, c) in text.chars().enumerate() {
        if escaped {
            escaped = false;
            current
                .get_or_insert_with(|| (String::new(), first_column + i - 1))
                .0
                .push(c);
        } else if c == '\\' {
            escaped = true;
        } else if matches!(c, ' ' | '\t' | '\r' | '\n') {
            if let Some((w, column)) = current.take() {
                out.push(Word {
                    text: w,
                    line,
                    column,
                });
            }
        } else {
            current
                .get_or_insert_with(|| (String::new(), first_column + i))
                .0
                .push(c);
        }
    }
    if escaped {
        // A backslash at the very end: kept, so the word names nothing.
        current
            .get_or_insert_with(|| (String::new(), first_column + text.chars().count() - 1))
            .0
            .push('\\');
    }
    if let Some((w, column)) = current {
        out.push(Word {
            text: w,
            line,
            column,
        });
    }
    out
}

/// The whitespace-separated words of `s` (no quoting) with their 1-based character columns.
/// Columns are counted along the way (not from the start of the line for each word, which made
/// a long line quadratic).
pub(crate) fn plain_words(s: &str) -> Vec<(&str, usize)> {
    let mut out = Vec::new();
    // The word's first byte and its 1-based column.
    let mut start: Option<(usize, usize)> = None;
    for (column, (i, c)) in (1..).zip(s.char_indices()) {
        match (c.is_whitespace(), start) {
            (true, Some((b, col))) => {
                out.push((&s[b..i], col));
                start = None;
            }
            (false, None) => start = Some((i, column)),
            _ => {}
        }
    }
    if let Some((b, col)) = start {
        out.push((&s[b..], col));
    }
    out
}

/// An integer as C's `strtol(s, 0)` and Go's `strconv.ParseInt(s, 0, 64)` both read one
/// (systemd's `safe_atoi`, kubectl's YAML): an optional sign, then `0x` hex, `0o` octal, `0b`
/// binary, a leading `0` octal (`010` is 8, `09` is no number), else decimal, and nothing
/// after the digits. The sign (`true`: negative) and the magnitude; `None` for anything else
/// or a magnitude beyond `u64`.
pub(crate) fn c_style_int(text: &str) -> Option<(bool, u64)> {
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = unsigned.to_ascii_lowercase();
    let (digits, radix) = if let Some(d) = lower.strip_prefix("0x") {
        (d, 16)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (d, 8)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (d, 2)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (&lower[1..], 8)
    } else {
        (lower.as_str(), 10)
    };
    // from_str_radix takes a sign of its own: the sign was read above, once.
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    Some((negative, u64::from_str_radix(digits, radix).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_know_their_columns() {
        let w = words("a  \"b c\" d", 3, 10).unwrap();
        let got: Vec<(&str, usize)> = w.iter().map(|w| (w.text.as_str(), w.column)).collect();
        assert_eq!(got, vec![("a", 10), ("b c", 13), ("d", 19)]);
        assert_eq!(words("a \"b", 1, 1), Err(3));
        let w = literal_words("a  \"b c\"\u{a0}d", 3, 10);
        let got: Vec<(&str, usize)> = w.iter().map(|w| (w.text.as_str(), w.column)).collect();
        assert_eq!(got, vec![("a", 10), ("\"b", 13), ("c\"\u{a0}d", 16)]);
        let w = literal_words("ptr\\ace\\ mount re\\\\ad", 1, 1);
        let got: Vec<(&str, usize)> = w.iter().map(|w| (w.text.as_str(), w.column)).collect();
        assert_eq!(got, vec![("ptrace mount", 1), ("re\\ad", 16)]);
        assert_eq!(column("é=x", 3), 3);
        assert_eq!(column("ab", 99), 3);
    }

    #[test]
    fn plain_words_late_on_a_very_long_line_have_their_columns() {
        let line = "é ".repeat(50_000) + "last";
        let w = plain_words(&line);
        assert_eq!(w.len(), 50_001);
        assert_eq!(w[1], ("é", 3));
        assert_eq!(w[50_000], ("last", 100_001));
    }
}
