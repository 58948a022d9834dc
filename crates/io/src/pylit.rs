//! A small, non-panicking parser for the Python literals found in `.npy` headers.
//!
//! It accepts dicts, lists, tuples, strings (single or double quoted, optional `u`/`b` prefix),
//! integers (optionally with Python 2's `L` suffix), `True`, `False` and `None`: everything
//! `numpy.lib.format` writes, and nothing that needs evaluation. Nesting depth is bounded so
//! that hostile headers cannot exhaust the stack.

/// Maximum nesting depth of containers.
const MAX_DEPTH: usize = 32;

/// A parsed Python literal.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Lit {
    Dict(Vec<(Lit, Lit)>),
    List(Vec<Lit>),
    Tuple(Vec<Lit>),
    Str(String),
    Int(i128),
    Bool(bool),
    None,
}

impl Lit {
    /// A short name of the literal's Python type, for error messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Lit::Dict(_) => "dict",
            Lit::List(_) => "list",
            Lit::Tuple(_) => "tuple",
            Lit::Str(_) => "str",
            Lit::Int(_) => "int",
            Lit::Bool(_) => "bool",
            Lit::None => "None",
        }
    }
}

/// A parse failure: the character index where it happened and what was wrong.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LitError {
    /// Index into the char sequence given to [`parse`].
    pub(crate) pos: usize,
    pub(crate) reason: String,
}

struct Parser<'a> {
    chars: &'a [char],
    pos: usize,
}

/// Parse exactly one literal from `chars`, allowing surrounding whitespace.
pub(crate) fn parse(chars: &[char]) -> Result<Lit, LitError> {
    let mut p = Parser { chars, pos: 0 };
    p.skip_ws();
    let value = p.value(0)?;
    p.skip_ws();
    if p.pos < chars.len() {
        return Err(p.err("unexpected text after the header dict"));
    }
    Ok(value)
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn err(&self, reason: impl Into<String>) -> LitError {
        LitError {
            pos: self.pos,
            reason: reason.into(),
        }
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r' | '\x0c')) {
            self.pos += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<Lit, LitError> {
        if depth > MAX_DEPTH {
            return Err(self.err("literal nested too deeply"));
        }
        match self.peek() {
            None => Err(self.err("unexpected end of header")),
            Some('{') => self.dict(depth),
            Some('[') => self.seq(depth, ']').map(|(v, _)| Lit::List(v)),
            Some('(') => {
                let (items, had_comma) = self.seq(depth, ')')?;
                // `(x)` is just `x` in Python; `(x,)` and `()` are tuples.
                if items.len() == 1 && !had_comma {
                    Ok(items.into_iter().next().unwrap_or(Lit::None))
                } else {
                    Ok(Lit::Tuple(items))
                }
            }
            Some('\'' | '"') => self.string(),
            Some('u' | 'U' | 'b' | 'B')
                if matches!(self.chars.get(self.pos + 1), Some('\'' | '"')) =>
            {
                self.pos += 1;
                self.string()
            }
            Some(c) if c == '-' || c == '+' || c.is_ascii_digit() => self.int(),
            Some(c) if c.is_ascii_alphabetic() || c == '_' => self.name(),
            Some(c) => Err(self.err(format!("unexpected character {c:?}"))),
        }
    }

    fn dict(&mut self, depth: usize) -> Result<Lit, LitError> {
        self.pos += 1; // '{'
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            if self.peek() == Some('}') {
                self.pos += 1;
                return Ok(Lit::Dict(items));
            }
            let key = self.value(depth + 1)?;
            self.skip_ws();
            if self.peek() != Some(':') {
                return Err(self.err("expected ':' after a dict key"));
            }
            self.pos += 1;
            self.skip_ws();
            let val = self.value(depth + 1)?;
            items.push((key, val));
            self.skip_ws();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some('}') => {}
                Some(c) => {
                    return Err(self.err(format!("expected ',' or '}}' in dict, found {c:?}")));
                }
                None => return Err(self.err("unexpected end of header inside dict")),
            }
        }
    }

    /// Parse a list or tuple body; returns the items and whether any comma was seen.
    fn seq(&mut self, depth: usize, close: char) -> Result<(Vec<Lit>, bool), LitError> {
        self.pos += 1; // '[' or '('
        let mut items = Vec::new();
        let mut had_comma = false;
        loop {
            self.skip_ws();
            if self.peek() == Some(close) {
                self.pos += 1;
                return Ok((items, had_comma));
            }
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.peek() {
                Some(',') => {
                    had_comma = true;
                    self.pos += 1;
                }
                Some(c) if c == close => {}
                Some(c) => {
                    return Err(self.err(format!("expected ',' or {close:?}, found {c:?}")));
                }
                None => return Err(self.err("unexpected end of header inside a list or tuple")),
            }
        }
    }

    fn string(&mut self) -> Result<Lit, LitError> {
        let quote = self.peek().unwrap_or('\'');
        self.pos += 1;
        let mut s = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.err("unterminated string"));
            };
            self.pos += 1;
            if c == quote {
                return Ok(Lit::Str(s));
            }
            if c == '\n' {
                return Err(self.err("newline inside a string"));
            }
            if c != '\\' {
                s.push(c);
                continue;
            }
            let Some(e) = self.peek() else {
                return Err(self.err("unterminated string"));
            };
            self.pos += 1;
            match e {
                '\\' => s.push('\\'),
                '\'' => s.push('\''),
                '"' => s.push('"'),
                'n' => s.push('\n'),
                't' => s.push('\t'),
                'r' => s.push('\r'),
                '0' => s.push('\0'),
                'x' => s.push(self.hex_escape(2)?),
                'u' => s.push(self.hex_escape(4)?),
                other => {
                    // Python keeps unknown escapes verbatim.
                    s.push('\\');
                    s.push(other);
                }
            }
        }
    }

    fn hex_escape(&mut self, digits: usize) -> Result<char, LitError> {
        let mut v: u32 = 0;
        for _ in 0..digits {
            let d = self
                .peek()
                .and_then(|c| c.to_digit(16))
                .ok_or_else(|| self.err("bad hex escape in string"))?;
            v = v * 16 + d;
            self.pos += 1;
        }
        char::from_u32(v).ok_or_else(|| self.err("escape is not a valid character"))
    }

    fn int(&mut self) -> Result<Lit, LitError> {
        let start = self.pos;
        let negative = match self.peek() {
            Some('-') => {
                self.pos += 1;
                true
            }
            Some('+') => {
                self.pos += 1;
                false
            }
            _ => false,
        };
        let mut v: i128 = 0;
        let mut n_digits = 0usize;
        while let Some(d) = self.peek().and_then(|c| c.to_digit(10)) {
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add(i128::from(d)))
                .ok_or_else(|| LitError {
                    pos: start,
                    reason: "integer too large".into(),
                })?;
            n_digits += 1;
            self.pos += 1;
        }
        if n_digits == 0 {
            return Err(self.err("expected digits"));
        }
        // Python 2 long suffix, as written by old numpy versions.
        if matches!(self.peek(), Some('L' | 'l')) {
            self.pos += 1;
        }
        if matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == '.' || c == '_') {
            return Err(self.err("expected an integer"));
        }
        Ok(Lit::Int(if negative { -v } else { v }))
    }

    fn name(&mut self) -> Result<Lit, LitError> {
        let start = self.pos;
        while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == '_') {
            self.pos += 1;
        }
        let word: String = self
            .chars
            .get(start..self.pos)
            .unwrap_or(&[])
            .iter()
            .collect();
        match word.as_str() {
            "True" => Ok(Lit::Bool(true)),
            "False" => Ok(Lit::Bool(false)),
            "None" => Ok(Lit::None),
            _ => Err(LitError {
                pos: start,
                reason: format!(
                    "unexpected name {word:?} (only True, False and None are literals)"
                ),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Lit, LitError> {
        let chars: Vec<char> = s.chars().collect();
        parse(&chars)
    }

    #[test]
    fn parses_numpy_header() {
        let v =
            p("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }          \n").unwrap();
        assert_eq!(
            v,
            Lit::Dict(vec![
                (Lit::Str("descr".into()), Lit::Str("<f8".into())),
                (Lit::Str("fortran_order".into()), Lit::Bool(false)),
                (
                    Lit::Str("shape".into()),
                    Lit::Tuple(vec![Lit::Int(3), Lit::Int(4)])
                ),
            ])
        );
    }

    #[test]
    fn tuples_and_parentheses() {
        assert_eq!(p("(3,)").unwrap(), Lit::Tuple(vec![Lit::Int(3)]));
        assert_eq!(p("()").unwrap(), Lit::Tuple(vec![]));
        assert_eq!(p("(3)").unwrap(), Lit::Int(3));
        assert_eq!(
            p("(3L, 4L)").unwrap(),
            Lit::Tuple(vec![Lit::Int(3), Lit::Int(4)])
        );
        assert_eq!(p("-7").unwrap(), Lit::Int(-7));
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(p(r#""a\"b""#).unwrap(), Lit::Str("a\"b".into()));
        assert_eq!(p(r"u'\x41\u00e9'").unwrap(), Lit::Str("Aé".into()));
        assert_eq!(p(r"'\q'").unwrap(), Lit::Str("\\q".into()));
    }

    #[test]
    fn rejects_garbage_with_position() {
        let e = p("{'a': 1 'b': 2}").unwrap_err();
        assert_eq!(e.pos, 8);
        assert!(p("{'a': 1").is_err());
        assert!(p("'abc").is_err());
        assert!(p("{'a': foo}").is_err());
        assert!(p("1.5").is_err());
        assert!(p("99999999999999999999999999999999999999999999").is_err());
        assert!(p("{} x").is_err());
        assert!(p("").is_err());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let s = "[".repeat(100_000);
        let e = p(&s).unwrap_err();
        assert!(e.reason.contains("nested"));
    }
}
