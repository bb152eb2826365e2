//! Splits expression text into tokens on demand.
//!
//! The parser pulls one token at a time, so the first problem reported is the
//! leftmost one even when a later character could not be tokenized either.
//! Positions are 0-based character indexes here and become 1-based in
//! [`ParseError`].

use std::str::FromStr;

use crate::error::{ParseError, ParseErrorKind};
use crate::quote;

/// Parses a JSON number, or returns `None` if `text` is not one or is out of
/// the range of a 64-bit float.
///
/// serde_json checks the grammar, but its default float parsing can be off by
/// one unit in the last place, so floats are parsed again with the standard
/// library, which rounds correctly. Otherwise the shortest text that
/// `Display` writes for a float could parse back to a different float.
fn parse_number(text: &str) -> Option<serde_json::Number> {
    let number = serde_json::Number::from_str(text).ok()?;
    if number.is_i64() || number.is_u64() {
        return Some(number);
    }
    let float = f64::from_str(text).ok()?;
    serde_json::Number::from_f64(float)
}

/// A token and the character index where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub kind: TokenKind,
    pub start: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TokenKind {
    /// An attribute path, operator, keyword or `true`/`false`/`null`, which
    /// only the parser can tell apart.
    Word(String),
    /// A decoded string literal.
    String(String),
    /// A number, with the text as written for error messages.
    Number(serde_json::Number, String),
    OpenParenthesis,
    CloseParenthesis,
    End,
}

impl TokenKind {
    /// Describes the token for an error message, such as "`equals`" or "the
    /// end of the expression".
    pub fn describe(&self) -> String {
        match self {
            Self::Word(word) => format!("`{word}`"),
            Self::String(text) => format!("the string {}", quote(text)),
            Self::Number(_, text) => format!("the number {text}"),
            Self::OpenParenthesis => "`(`".into(),
            Self::CloseParenthesis => "`)`".into(),
            Self::End => "the end of the expression".into(),
        }
    }
}

pub(crate) struct Lexer {
    chars: Vec<char>,
    index: usize,
    peeked: Option<Token>,
}

impl Lexer {
    pub fn new(text: &str) -> Self {
        Self {
            chars: text.chars().collect(),
            index: 0,
            peeked: None,
        }
    }

    /// Returns the next token without consuming it.
    pub fn peek(&mut self) -> Result<&Token, ParseError> {
        let token = match self.peeked.take() {
            Some(token) => token,
            None => self.lex()?,
        };
        Ok(self.peeked.insert(token))
    }

    /// Consumes and returns the next token.
    pub fn next_token(&mut self) -> Result<Token, ParseError> {
        match self.peeked.take() {
            Some(token) => Ok(token),
            None => self.lex(),
        }
    }

    fn lex(&mut self) -> Result<Token, ParseError> {
        while self
            .chars
            .get(self.index)
            .is_some_and(|c| c.is_whitespace())
        {
            self.index += 1;
        }
        let start = self.index;
        let Some(&first) = self.chars.get(start) else {
            return Ok(Token {
                kind: TokenKind::End,
                start,
            });
        };

        let kind = match first {
            '(' => {
                self.index += 1;
                TokenKind::OpenParenthesis
            }
            ')' => {
                self.index += 1;
                TokenKind::CloseParenthesis
            }
            '"' => TokenKind::String(self.lex_string()?),
            '\'' => return Err(self.single_quotes_error()),
            '-' | '0'..='9' => self.lex_number()?,
            c if c.is_ascii_alphabetic() || c == '_' => TokenKind::Word(self.lex_word()?),
            found => {
                return Err(ParseError::at(
                    start,
                    ParseErrorKind::UnexpectedCharacter { found },
                ))
            }
        };
        Ok(Token { kind, start })
    }

    /// Lexes a word: an attribute path or a keyword. Paths are dot-separated
    /// segments that start with a letter or `_` and go on with letters,
    /// digits, `_` or `-`.
    fn lex_word(&mut self) -> Result<String, ParseError> {
        let start = self.index;
        let word = self.take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));

        let valid = word.split('.').all(|segment| {
            segment
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        });
        if !valid {
            let kind = ParseErrorKind::InvalidAttribute { path: word };
            return Err(ParseError::at(start, kind));
        }
        Ok(word)
    }

    /// Lexes a JSON number. The run of number characters is taken whole, so
    /// `1.2.3` is reported as one invalid number rather than split up.
    fn lex_number(&mut self) -> Result<TokenKind, ParseError> {
        let start = self.index;
        let text =
            self.take_while(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'));

        match parse_number(&text) {
            Some(number) => Ok(TokenKind::Number(number, text)),
            None => Err(ParseError::at(
                start,
                ParseErrorKind::InvalidNumber { text },
            )),
        }
    }

    /// Lexes a double-quoted string with JSON escapes, starting at the
    /// opening quote.
    fn lex_string(&mut self) -> Result<String, ParseError> {
        let start = self.index;
        let unterminated = || ParseError::at(start, ParseErrorKind::UnterminatedString);
        self.index += 1;

        let mut text = String::new();
        loop {
            let Some(&c) = self.chars.get(self.index) else {
                return Err(unterminated());
            };
            self.index += 1;
            match c {
                '"' => return Ok(text),
                '\\' => {
                    if self.index >= self.chars.len() {
                        return Err(unterminated());
                    }
                    text.push(self.lex_escape()?);
                }
                _ => text.push(c),
            }
        }
    }

    /// Decodes the escape after a backslash. `self.index` is just past the
    /// backslash.
    fn lex_escape(&mut self) -> Result<char, ParseError> {
        let backslash = self.index - 1;
        let Some(&letter) = self.chars.get(self.index) else {
            return Err(self.escape_error(backslash));
        };
        self.index += 1;

        let decoded = match letter {
            '"' => '"',
            '\\' => '\\',
            '/' => '/',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => return self.lex_unicode_escape(backslash),
            _ => return Err(self.escape_error(backslash)),
        };
        Ok(decoded)
    }

    /// Decodes `\uXXXX`, or a UTF-16 surrogate pair written as two such
    /// escapes. `self.index` is just past the `u`.
    fn lex_unicode_escape(&mut self, backslash: usize) -> Result<char, ParseError> {
        let Some(unit) = self.hex4() else {
            return Err(self.escape_error(backslash));
        };
        if !(0xD800..0xE000).contains(&unit) {
            return char::from_u32(unit).ok_or_else(|| self.escape_error(backslash));
        }
        if unit >= 0xDC00 {
            // A low surrogate must follow a high one.
            return Err(self.escape_error(backslash));
        }

        let has_second_escape = self.chars.get(self.index) == Some(&'\\')
            && self.chars.get(self.index + 1) == Some(&'u');
        if !has_second_escape {
            return Err(self.escape_error(backslash));
        }
        self.index += 2;
        match self.hex4() {
            Some(low @ 0xDC00..=0xDFFF) => {
                let scalar = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                char::from_u32(scalar).ok_or_else(|| self.escape_error(backslash))
            }
            _ => Err(self.escape_error(backslash)),
        }
    }

    /// Reads four hex digits, or returns `None` and leaves the index after
    /// the digits it could read.
    fn hex4(&mut self) -> Option<u32> {
        let mut unit = 0;
        for _ in 0..4 {
            let digit = self.chars.get(self.index)?.to_digit(16)?;
            self.index += 1;
            unit = unit * 16 + digit;
        }
        Some(unit)
    }

    /// Builds an invalid escape error that quotes the text from the
    /// backslash to the current index.
    fn escape_error(&self, backslash: usize) -> ParseError {
        let end = self.index.min(self.chars.len());
        let escape: String = self.chars[backslash..end].iter().collect();
        ParseError::at(backslash, ParseErrorKind::InvalidEscape { escape })
    }

    /// Builds the error for a string in single quotes, suggesting the same
    /// text in double quotes.
    fn single_quotes_error(&self) -> ParseError {
        let start = self.index;
        let rest = &self.chars[start + 1..];
        let (inner, found) = match rest.iter().position(|&c| c == '\'') {
            Some(end) => {
                let inner: String = rest[..end].iter().collect();
                let found = format!("'{inner}'");
                (inner, found)
            }
            None => {
                let inner: String = rest.iter().collect();
                let found = format!("'{inner}");
                (inner, found)
            }
        };

        let suggestion = quote(&inner);
        ParseError::at(start, ParseErrorKind::SingleQuotes { found, suggestion })
    }

    fn take_while(&mut self, accept: impl Fn(char) -> bool) -> String {
        let start = self.index;
        while self.chars.get(self.index).is_some_and(|&c| accept(c)) {
            self.index += 1;
        }
        self.chars[start..self.index].iter().collect()
    }
}
