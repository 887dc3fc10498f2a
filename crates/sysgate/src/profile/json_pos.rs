//! Where things are in a JSON text: the line and column of the value at a path.
//!
//! serde gives us the data but not where each piece came from, and rule origins
//! (`profile.json:123:9`) need the position of every `syscalls[]` entry. This scanner walks
//! text that serde_json has already accepted, so it only needs to skip strings (with their
//! escapes, and whatever braces they contain), numbers and literals, and count lines. It never
//! panics on malformed text either: it answers `None` or stops early.
//!
//! Columns are 1-based and count characters, not bytes, so they match what an editor shows.
//! Keys match ignoring case, as Go's encoding/json (and so the profile readers) match them.

use std::borrow::Cow;

/// A 1-based line and column (in characters), and the byte offset, where a value starts.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Pos {
    pub line: usize,
    pub column: usize,
    pub offset: usize,
}

impl Pos {
    /// The start of the document.
    pub const START: Pos = Pos {
        line: 1,
        column: 1,
        offset: 0,
    };
}

/// One step of a path into a JSON document.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Seg<'a> {
    /// The value of this key in an object.
    Key(&'a str),
    /// This element of an array.
    Index(usize),
}

/// The position of the first character of the value at `path` inside the value at `from`
/// (a position this module returned, or [`Pos::START`]). Starting from an enclosing value keeps
/// repeated look-ups inside it from rescanning the whole document.
pub(crate) fn locate(text: &str, from: Pos, path: &[Seg<'_>]) -> Option<Pos> {
    let mut s = Scanner::new(text, from);
    s.ws();
    for seg in path {
        s.enter(*seg)?;
    }
    s.ws();
    (s.i < s.bytes.len()).then(|| s.pos())
}

/// The positions of the elements of the array at `path` inside the value at `from` (empty if
/// there is no such array).
pub(crate) fn elements(text: &str, from: Pos, path: &[Seg<'_>]) -> Vec<Pos> {
    let mut s = Scanner::new(text, from);
    s.ws();
    for seg in path {
        if s.enter(*seg).is_none() {
            return Vec::new();
        }
    }
    let mut out = Vec::new();
    s.ws();
    if s.peek() != Some(b'[') {
        return out;
    }
    s.i += 1;
    loop {
        s.ws();
        match s.peek() {
            Some(b']') | None => return out,
            Some(b',') => s.i += 1,
            Some(_) => {
                out.push(s.pos());
                if s.skip_value().is_none() {
                    return out;
                }
            }
        }
    }
}

/// One member of a JSON object: its key (escapes decoded), where the key starts, where its
/// value starts, and the byte offset just past the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Member {
    pub key: String,
    pub key_at: Pos,
    pub value_at: Pos,
    pub value_end: usize,
}

/// The object at `from`: the byte offset of its `{`, its members in order, and the byte offset
/// of its `}`. `None` if the value there is not an object or the text is malformed.
pub(crate) fn members(text: &str, from: Pos) -> Option<(usize, Vec<Member>, usize)> {
    let mut s = Scanner::new(text, from);
    s.ws();
    if s.peek()? != b'{' {
        return None;
    }
    let open = s.i;
    s.i += 1;
    let mut out = Vec::new();
    loop {
        s.ws();
        match s.peek()? {
            b'}' => return Some((open, out, s.i)),
            b',' => {
                s.i += 1;
                continue;
            }
            _ => {}
        }
        let key_at = s.pos();
        let key = decode(s.string()?).into_owned();
        s.ws();
        if s.peek()? != b':' {
            return None;
        }
        s.i += 1;
        s.ws();
        let value_at = s.pos();
        s.skip_value()?;
        out.push(Member {
            key,
            key_at,
            value_at,
            value_end: s.i,
        });
    }
}

/// serde_json reports columns in bytes, counted from 0 at the start of the line (so the
/// byte count is the 1-based column of the last byte read). Turn that into a 1-based
/// character column on the same line.
pub(crate) fn char_column(text: &str, line: usize, byte_column: usize) -> usize {
    let Some(line_text) = text.split('\n').nth(line.saturating_sub(1)) else {
        return byte_column.max(1);
    };
    let mut end = byte_column.min(line_text.len());
    while !line_text.is_char_boundary(end) {
        end -= 1;
    }
    line_text[..end].chars().count().max(1)
}

/// serde_json reports a bad value where it stopped reading: at the last character of a string,
/// number or literal it read, or just before an array or object it refused unread. The start of
/// the value reads better and matches rule origins, so from a string's closing quote go back to
/// its opening quote, from the end of a number or literal back to its first character, and from
/// just before an array or object forward to its bracket (maybe on a later line). `line` and
/// `column` are 1-based, in characters; any other position comes back as it is.
pub(crate) fn value_start(text: &str, line: usize, column: usize) -> (usize, usize) {
    let unchanged = (line, column);
    let Some(line_text) = text.split('\n').nth(line.saturating_sub(1)) else {
        return unchanged;
    };
    let chars: Vec<char> = line_text.chars().collect();
    let Some(end) = column.checked_sub(1).filter(|e| *e < chars.len()) else {
        return unchanged;
    };
    let is_word_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '+' | '.');
    match chars[end] {
        '"' => {
            // The opening quote is the first one going back that no backslash escapes (an
            // even number of backslashes before it).
            (0..end)
                .rev()
                .find(|k| {
                    chars[*k] == '"'
                        && chars[..*k].iter().rev().take_while(|c| **c == '\\').count() % 2 == 0
                })
                .map_or(unchanged, |k| (line, k + 1))
        }
        c if is_word_char(c) => {
            let start = chars[..end].iter().rposition(|c| !is_word_char(*c));
            (line, start.map_or(1, |p| p + 2))
        }
        _ => {
            let line_offset: usize = text.split('\n').take(line - 1).map(|l| l.len() + 1).sum();
            let after: usize = chars[..=end].iter().map(|c| c.len_utf8()).sum();
            let (mut l, mut c) = (line, column);
            for ch in text[line_offset + after..].chars() {
                c += 1;
                match ch {
                    '\n' => (l, c) = (l + 1, 0),
                    ' ' | '\t' | '\r' => {}
                    '[' | '{' => return (l, c),
                    _ => return unchanged,
                }
            }
            unchanged
        }
    }
}

struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    i: usize,
    line: usize,
    /// A byte offset on the current line and its 0-based character column: columns are
    /// counted on from the last one computed, so that the positions of every element of a
    /// one-line (minified) document cost one pass over the line, not one pass each.
    anchor: (usize, usize),
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str, from: Pos) -> Scanner<'a> {
        // `from` is a position this module returned, so its column is that of its offset:
        // no need to look back for the start of its line.
        let i = from.offset.min(text.len());
        Scanner {
            text,
            bytes: text.as_bytes(),
            i,
            line: from.line,
            anchor: (i, from.column.saturating_sub(1)),
        }
    }

    fn pos(&mut self) -> Pos {
        let (at, column) = self.anchor;
        let column = column + self.text.get(at..self.i).map_or(0, |s| s.chars().count());
        self.anchor = (self.i, column);
        Pos {
            line: self.line,
            column: column + 1,
            offset: self.i,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.i).copied()
    }

    fn newline(&mut self) {
        self.line += 1;
        self.anchor = (self.i + 1, 0);
    }

    fn ws(&mut self) {
        while let Some(b) = self.peek() {
            match b {
                b'\n' => self.newline(),
                b' ' | b'\t' | b'\r' => {}
                _ => return,
            }
            self.i += 1;
        }
    }

    /// At a `"`: consume the string and return its raw contents (escapes not decoded).
    fn string(&mut self) -> Option<&'a str> {
        if self.peek() != Some(b'"') {
            return None;
        }
        self.i += 1;
        let start = self.i;
        while let Some(b) = self.peek() {
            match b {
                b'"' => {
                    let raw = self.text.get(start..self.i)?;
                    self.i += 1;
                    return Some(raw);
                }
                b'\\' => self.i += 2,
                b'\n' => {
                    self.newline();
                    self.i += 1;
                }
                _ => self.i += 1,
            }
        }
        None
    }

    /// Skip one value of any kind (strings keep their braces to themselves).
    fn skip_value(&mut self) -> Option<()> {
        self.ws();
        let mut depth = 0usize;
        loop {
            match self.peek()? {
                b'"' => {
                    self.string()?;
                }
                b'{' | b'[' => {
                    depth += 1;
                    self.i += 1;
                }
                b'}' | b']' => {
                    depth = depth.checked_sub(1)?;
                    self.i += 1;
                }
                b',' | b':' if depth > 0 => self.i += 1,
                b'\n' => {
                    self.newline();
                    self.i += 1;
                }
                b' ' | b'\t' | b'\r' => self.i += 1,
                b',' | b':' => return None,
                _ => {
                    // A number or literal: up to the next delimiter.
                    while let Some(b) = self.peek() {
                        if matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n') {
                            break;
                        }
                        self.i += 1;
                    }
                }
            }
            if depth == 0 {
                return Some(());
            }
        }
    }

    /// Move to the start of the value that `seg` names inside the current value.
    fn enter(&mut self, seg: Seg<'_>) -> Option<()> {
        self.ws();
        match seg {
            Seg::Key(want) => {
                if self.peek()? != b'{' {
                    return None;
                }
                self.i += 1;
                loop {
                    self.ws();
                    match self.peek()? {
                        b'}' => return None,
                        b',' => {
                            self.i += 1;
                            continue;
                        }
                        _ => {}
                    }
                    let key = self.string()?;
                    self.ws();
                    if self.peek()? != b':' {
                        return None;
                    }
                    self.i += 1;
                    self.ws();
                    // Keys match ignoring case, as they do for serde here (see docker::Obj).
                    let key = decode(key);
                    if key == want || fold_case(&key) == fold_case(want) {
                        return Some(());
                    }
                    self.skip_value()?;
                }
            }
            Seg::Index(n) => {
                if self.peek()? != b'[' {
                    return None;
                }
                self.i += 1;
                let mut k = 0;
                loop {
                    self.ws();
                    match self.peek()? {
                        b']' => return None,
                        b',' => {
                            self.i += 1;
                            continue;
                        }
                        _ => {}
                    }
                    if k == n {
                        return Some(());
                    }
                    self.skip_value()?;
                    k += 1;
                }
            }
        }
    }
}

/// A key folded for matching ignoring case, as Go's encoding/json matches keys to fields:
/// upper then lower case also maps `ſ` (long s) to `s` and `K` (Kelvin sign) to `k`.
pub(crate) fn fold_case(s: &str) -> String {
    s.to_uppercase().to_lowercase()
}

/// A key as serde sees it: escapes decoded (rare in keys, so only then is there work).
fn decode(raw: &str) -> Cow<'_, str> {
    if !raw.contains('\\') {
        return Cow::Borrowed(raw);
    }
    serde_json::from_str::<String>(&format!("\"{raw}\""))
        .map(Cow::Owned)
        .unwrap_or(Cow::Borrowed(raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "{\n  \"a\": \"{[}\\\"]\",\n  \"list\": [\n    {\"x\": 1},\n\t\t{\"y\": [1, 2]}, 3\n  ],\n  \"n\\u0061me\": true\n}";

    fn at(p: Pos) -> (usize, usize) {
        (p.line, p.column)
    }

    fn all(ps: Vec<Pos>) -> Vec<(usize, usize)> {
        ps.into_iter().map(at).collect()
    }

    #[test]
    fn strings_with_braces_and_escapes_do_not_confuse_it() {
        let list = [Seg::Key("list")];
        assert_eq!(
            all(elements(DOC, Pos::START, &list)),
            [(4, 5), (5, 3), (5, 18)]
        );
        let y = [Seg::Key("list"), Seg::Index(1), Seg::Key("y")];
        assert_eq!(locate(DOC, Pos::START, &y).map(at), Some((5, 9)));
        let name = [Seg::Key("name")];
        assert_eq!(locate(DOC, Pos::START, &name).map(at), Some((7, 16)));
        assert_eq!(locate(DOC, Pos::START, &[Seg::Key("missing")]), None);
        let past_end = [Seg::Key("list"), Seg::Index(3)];
        assert_eq!(locate(DOC, Pos::START, &past_end), None);
    }

    #[test]
    fn look_ups_can_start_inside_the_document() {
        let second = elements(DOC, Pos::START, &[Seg::Key("list")])[1];
        let y = locate(DOC, second, &[Seg::Key("y")]).unwrap();
        assert_eq!(at(y), (5, 9));
        assert_eq!(
            all(elements(DOC, second, &[Seg::Key("y")])),
            [(5, 10), (5, 13)]
        );
        assert_eq!(at(locate(DOC, y, &[Seg::Index(1)]).unwrap()), (5, 13));
    }

    #[test]
    fn columns_count_characters() {
        let doc = "{\"é\": [ \"ü\", 1]}";
        assert_eq!(
            all(elements(doc, Pos::START, &[Seg::Key("é")])),
            [(1, 9), (1, 14)]
        );
        // serde_json's byte column 13 (just after `"ü"`) is character 11: é and ü are two bytes.
        assert_eq!(char_column(doc, 1, 13), 11);
    }

    #[test]
    fn value_start_finds_the_start_of_the_value_serde_json_stopped_in() {
        let doc = "{\"a\": \"x\\\"y\\\\\", \"b\": -12.5e3, \"c\": true, \"d\":\n  {}}";
        // {"a": "x\"y\\", "b": -12.5e3, "c": true, "d":
        //   {}}
        assert_eq!(value_start(doc, 1, 14), (1, 7));
        assert_eq!(value_start(doc, 1, 28), (1, 22));
        assert_eq!(value_start(doc, 1, 39), (1, 36));
        // Just before an unread object: forward to its brace, on the next line.
        assert_eq!(value_start(doc, 1, 45), (2, 3));
        // A closing brace (a missing field) stays.
        assert_eq!(value_start(doc, 2, 5), (2, 5));
        assert_eq!(value_start(doc, 9, 1), (9, 1));
        assert_eq!(value_start(doc, 1, 400), (1, 400));
    }

    #[test]
    fn positions_late_on_a_very_long_line_are_right() {
        // A minified profile: every element on line 2, after a line of its own, with
        // multi-byte characters ahead of them (columns count characters, not bytes).
        let n = 20_000;
        let elements_text: Vec<String> = (0..n).map(|i| format!("{{\"é\":{i}}}")).collect();
        let doc = format!(
            "{{\"x\": 1,\n\"list\":[{}],\"last\":\"ü\"}}",
            elements_text.join(",")
        );
        let list = elements(&doc, Pos::START, &[Seg::Key("list")]);
        assert_eq!(list.len(), n);
        // `"list":[` is 8 characters; element k starts after the k elements and commas before.
        let expected_column = |k: usize| {
            9 + elements_text[..k]
                .iter()
                .map(|e| e.chars().count() + 1)
                .sum::<usize>()
        };
        for k in [0, 1, n / 2, n - 1] {
            assert_eq!(at(list[k]), (2, expected_column(k)), "element {k}");
        }
        // Looking up from an element on the same line keeps counting from its column.
        let inner = locate(&doc, list[n - 1], &[Seg::Key("é")]).unwrap();
        assert_eq!(at(inner), (2, expected_column(n - 1) + 5));
        let last = locate(&doc, Pos::START, &[Seg::Key("last")]).unwrap();
        // After the last element: `],"last":`.
        assert_eq!(at(last), (2, expected_column(n) + 8));
        assert_eq!(doc[last.offset..].chars().next(), Some('"'));
    }

    #[test]
    fn malformed_text_gives_up_quietly() {
        for bad in ["", "[", "{\"a\"", "{\"a\": [1, ", "]]]]", "{\"a\": \"\\"] {
            let _ = locate(bad, Pos::START, &[Seg::Key("a"), Seg::Index(0)]);
            let _ = elements(bad, Pos::START, &[Seg::Key("a")]);
            let past = Pos {
                offset: 99,
                ..Pos::START
            };
            let _ = locate(bad, past, &[Seg::Key("a")]);
        }
    }
}
