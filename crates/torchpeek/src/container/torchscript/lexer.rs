//! Tokens of the Python subset TorchScript's printer writes into an archive's `code/`: names,
//! numbers, strings, operators and brackets, with Python's line structure (NEWLINE, INDENT,
//! DEDENT; no line ends inside brackets; `#` comments). Text it does not know becomes an `Error`
//! token where it stands, so the parser can skip that statement and go on.

/// One token, with the 1-based line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub kind: Tok,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Name(String),
    Int(i64),
    Float(f64),
    Str(String),
    /// Operators and punctuation: `(`, `->`, `==`, `//`, `**`, ...
    Op(&'static str),
    Newline,
    Indent,
    Dedent,
    /// A character that is not Python here, or an unterminated string.
    Error(String),
    End,
}

const OPS: [&str; 47] = [
    "**=", "//=", ">>=", "<<=", "->", "**", "//", "==", "!=", "<=", ">=", "<<", ">>", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", ":=",
    "(", ")", "[", "]", "{", "}", ",", ":", ".", ";", "=", "+", "-", "*", "/", "%", "<", ">", "&", "|", "^", "~", "@", "!", "?",
];

/// The tokens of `text`. Bounded by the text: each token consumes at least one byte, and
/// indentation levels are at most the line's width.
pub fn tokenize(text: &str) -> Vec<Token> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut indents: Vec<usize> = vec![0];
    let mut depth = 0usize; // open brackets
    let mut line = 1usize;
    let mut i = 0usize;
    let mut at_line_start = true;
    while i < b.len() {
        if at_line_start && depth == 0 {
            // Indentation of a line with content; blank and comment-only lines do not count.
            let mut j = i;
            let mut width = 0usize;
            while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
                width += if b[j] == b'\t' { 8 - width % 8 } else { 1 };
                j += 1;
            }
            if j >= b.len() {
                break;
            }
            if b[j] == b'\n' || b[j] == b'\r' || b[j] == b'#' {
                while j < b.len() && b[j] != b'\n' {
                    j += 1;
                }
                i = j + 1;
                line += 1;
                continue;
            }
            let top = *indents.last().unwrap_or(&0);
            if width > top {
                indents.push(width);
                out.push(Token { kind: Tok::Indent, line });
            } else {
                while width < *indents.last().unwrap_or(&0) {
                    indents.pop();
                    out.push(Token { kind: Tok::Dedent, line });
                }
                if width != *indents.last().unwrap_or(&0) {
                    out.push(Token { kind: Tok::Error("inconsistent indentation".into()), line });
                }
            }
            i = j;
            at_line_start = false;
        }
        let c = b[i];
        match c {
            b'\n' => {
                if depth == 0 {
                    out.push(Token { kind: Tok::Newline, line });
                    at_line_start = true;
                }
                line += 1;
                i += 1;
            }
            b' ' | b'\t' | b'\r' => i += 1,
            b'\\' if b.get(i + 1) == Some(&b'\n') => {
                line += 1;
                i += 2;
            }
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' | b'\'' => {
                let (kind, next, lines) = string(b, i);
                out.push(Token { kind, line });
                line += lines;
                i = next;
            }
            b'0'..=b'9' => {
                let (kind, next) = number(b, i);
                out.push(Token { kind, line });
                i = next;
            }
            b'.' if b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                let (kind, next) = number(b, i);
                out.push(Token { kind, line });
                i = next;
            }
            _ if c == b'_' || c.is_ascii_alphabetic() || c >= 0x80 => {
                let start = i;
                while i < b.len() && (b[i] == b'_' || b[i].is_ascii_alphanumeric() || b[i] >= 0x80) {
                    i += 1;
                }
                out.push(Token { kind: Tok::Name(String::from_utf8_lossy(&b[start..i]).into_owned()), line });
            }
            _ => match OPS.iter().find(|op| b[i..].starts_with(op.as_bytes())) {
                Some(op) => {
                    match *op {
                        "(" | "[" | "{" => depth += 1,
                        ")" | "]" | "}" => depth = depth.saturating_sub(1),
                        _ => {}
                    }
                    out.push(Token { kind: Tok::Op(op), line });
                    i += op.len();
                }
                None => {
                    out.push(Token { kind: Tok::Error(format!("unexpected character {:?}", c as char)), line });
                    i += 1;
                }
            },
        }
    }
    if !matches!(out.last().map(|t| &t.kind), None | Some(Tok::Newline)) {
        out.push(Token { kind: Tok::Newline, line });
    }
    for _ in 1..indents.len() {
        out.push(Token { kind: Tok::Dedent, line });
    }
    out.push(Token { kind: Tok::End, line });
    out
}

/// A string literal at `i` (single, double or triple quoted; escapes read): the token, where the
/// text goes on, and the line ends it spans.
fn string(b: &[u8], i: usize) -> (Tok, usize, usize) {
    let q = b[i];
    let triple = b.get(i + 1) == Some(&q) && b.get(i + 2) == Some(&q);
    let mut j = if triple { i + 3 } else { i + 1 };
    let mut s = Vec::new();
    let mut lines = 0;
    while j < b.len() {
        let c = b[j];
        if c == q && (!triple || (b.get(j + 1) == Some(&q) && b.get(j + 2) == Some(&q))) {
            let end = if triple { j + 3 } else { j + 1 };
            return (Tok::Str(String::from_utf8_lossy(&s).into_owned()), end, lines);
        }
        if c == b'\n' {
            if !triple {
                break;
            }
            lines += 1;
        }
        if c == b'\\' && j + 1 < b.len() {
            j += 1;
            s.push(match b[j] {
                b'n' => b'\n',
                b't' => b'\t',
                b'r' => b'\r',
                b'0' => 0,
                other => other,
            });
        } else {
            s.push(c);
        }
        j += 1;
    }
    (Tok::Error("a string that does not end".into()), j, lines)
}

/// A number at `i`: `3`, `2.`, `1.0000000000000001e-05`, `0x1f`.
fn number(b: &[u8], i: usize) -> (Tok, usize) {
    let mut j = i;
    if b[i] == b'0' && matches!(b.get(i + 1), Some(b'x' | b'X')) {
        j += 2;
        while j < b.len() && b[j].is_ascii_hexdigit() {
            j += 1;
        }
        let text = std::str::from_utf8(&b[i + 2..j]).unwrap_or("");
        return (i64::from_str_radix(text, 16).map_or_else(|_| Tok::Error("a hex number out of range".into()), Tok::Int), j);
    }
    let mut float = false;
    while j < b.len() {
        match b[j] {
            b'0'..=b'9' | b'_' => j += 1,
            b'.' if !float => {
                float = true;
                j += 1;
            }
            b'e' | b'E' if matches!(b.get(j + 1), Some(b'0'..=b'9' | b'+' | b'-')) => {
                float = true;
                j += 2;
            }
            _ => break,
        }
    }
    let text: String = String::from_utf8_lossy(&b[i..j]).replace('_', "");
    let kind = if float {
        text.parse::<f64>().map_or_else(|_| Tok::Error(format!("not a number: {text}")), Tok::Float)
    } else {
        text.parse::<i64>()
            .map(Tok::Int)
            .or_else(|_| text.parse::<f64>().map(Tok::Float))
            .unwrap_or_else(|_| Tok::Error(format!("not a number: {text}")))
    };
    (kind, j)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<Tok> {
        tokenize(text).into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn lines_indentation_and_brackets() {
        let t = kinds("def f(x,\n    y):\n  return torch.add(x, 2.)\n# done\n");
        assert!(t.contains(&Tok::Indent));
        assert_eq!(t.iter().filter(|k| **k == Tok::Newline).count(), 2, "no NEWLINE inside brackets: {t:?}");
        assert!(t.contains(&Tok::Float(2.0)));
        assert_eq!(t.iter().filter(|k| **k == Tok::Dedent).count(), 1);
        assert_eq!(t.last(), Some(&Tok::End));
    }

    #[test]
    fn numbers_strings_and_stray_characters() {
        assert_eq!(kinds("1.0000000000000001e-05")[0], Tok::Float(1e-05));
        assert_eq!(kinds("'a\\'b'")[0], Tok::Str("a'b".into()));
        assert_eq!(kinds("99999999999999999999")[0], Tok::Float(1e20));
        assert!(matches!(kinds("\"open")[0], Tok::Error(_)));
        assert!(matches!(kinds("$")[0], Tok::Error(_)));
    }
}
