//! Outcome expressions: arithmetic over the outcomes of one or more arms.
//!
//! Sweeps, experiments and calibration targets name a quantity as an expression such as
//!
//! ```text
//! gain = infra:retention.SAU@2035 - control:retention.SAU@2035
//! foreign_elasticity = ln(wage:foreign_born.DEU@2030 / control:foreign_born.DEU@2030)
//!                      / ln(wage:wage.DEU@2030 / control:wage.DEU@2030)
//! ```
//!
//! Grammar (usual precedence, left-associative):
//!
//! ```text
//! named  := [NAME '='] expr
//! expr   := term (('+' | '-') term)*
//! term   := unary (('*' | '/') unary)*
//! unary  := '-' unary | atom
//! atom   := NUMBER | FUNC '(' expr ')' | '(' expr ')' | [ARM ':'] OUTCOME
//! FUNC   := ln | exp | abs | sqrt
//! ```
//!
//! `OUTCOME` is the syntax of [`crate::study::outcome`] (`retention.SAU@2030`, `hhi@end`,
//! `exits.USA@2025..2030`). An outcome without `ARM:` belongs to the only arm, and is an error
//! when there are several. Parsing checks the syntax, the arms and each outcome's own syntax;
//! each referenced outcome is then resolved against its arm's scenario by the caller and its
//! value handed to [`Expr::eval`] in the order of [`Expr::refs`].

use crate::scenario::text::echo;
use crate::study::outcome::{Outcome, OutcomeError};

/// Longest name of a named expression (a column of `results.csv`).
pub const MAX_NAME_CHARS: usize = 200;

/// Why an expression does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExprError {
    /// Bad syntax at a character position.
    #[error("`{text}`: {reason}")]
    Syntax {
        /// The expression as written (clipped).
        text: String,
        /// What is wrong, and where.
        reason: String,
    },
    /// An outcome inside the expression is malformed.
    #[error(transparent)]
    Outcome(#[from] OutcomeError),
}

/// A reference to one outcome of one arm.
#[derive(Clone, Debug, PartialEq)]
pub struct Ref {
    /// Index of the arm in the list given to [`Expr::parse`].
    pub arm: usize,
    /// The outcome, parsed but not yet tied to a scenario.
    pub outcome: Outcome,
}

/// A function an expression may call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Func {
    Ln,
    Exp,
    Abs,
    Sqrt,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

#[derive(Clone, Debug, PartialEq)]
enum Node {
    Num(f64),
    Ref(usize),
    Neg(Box<Node>),
    Bin(Op, Box<Node>, Box<Node>),
    Call(Func, Box<Node>),
}

/// A parsed expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    text: String,
    node: Node,
    refs: Vec<Ref>,
}

/// An expression with the name it is reported under (`NAME = EXPR`, or the text itself).
#[derive(Clone, Debug, PartialEq)]
pub struct NamedExpr {
    /// Column name.
    pub name: String,
    /// The expression.
    pub expr: Expr,
}

/// Longest expression accepted, in characters: a bound on parser work and on messages.
pub const MAX_EXPR_CHARS: usize = 4096;
/// Deepest nesting of parentheses and unary minus accepted (the parser recurses).
const MAX_DEPTH: usize = 64;

impl Expr {
    /// Parses `text`; `arms` are the arm names `ARM:` may refer to.
    pub fn parse(text: &str, arms: &[String]) -> Result<Expr, ExprError> {
        let clipped = echo(text);
        let syntax = |reason: String| ExprError::Syntax {
            text: clipped.clone(),
            reason,
        };
        if text.chars().count() > MAX_EXPR_CHARS {
            return Err(syntax(format!("longer than {MAX_EXPR_CHARS} characters")));
        }
        let tokens = tokenize(text).map_err(syntax)?;
        let mut p = Parser {
            tokens: &tokens,
            at: 0,
            depth: 0,
            arms,
            refs: Vec::new(),
        };
        let node = p.expr()?;
        if let Some(t) = tokens.get(p.at) {
            return Err(syntax(format!("unexpected {} at {}", t.describe(), t.pos)));
        }
        Ok(Expr {
            text: text.trim().to_string(),
            node,
            refs: p.refs,
        })
    }

    /// The outcomes the expression reads, in the order [`Expr::eval`] takes their values.
    pub fn refs(&self) -> &[Ref] {
        &self.refs
    }

    /// The expression as written (trimmed).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The value, given the value of every reference (`values[i]` for `refs()[i]`). IEEE
    /// arithmetic: `ln` of a non-positive number is NaN or −inf, which callers report.
    pub fn eval(&self, values: &[f64]) -> f64 {
        eval(&self.node, values)
    }

    /// Whether the expression is a single outcome of one arm (no arithmetic).
    pub fn is_single_ref(&self) -> bool {
        matches!(self.node, Node::Ref(_))
    }
}

fn eval(node: &Node, values: &[f64]) -> f64 {
    match node {
        Node::Num(x) => *x,
        Node::Ref(i) => values.get(*i).copied().unwrap_or(f64::NAN),
        Node::Neg(a) => -eval(a, values),
        Node::Bin(op, a, b) => {
            let (a, b) = (eval(a, values), eval(b, values));
            match op {
                Op::Add => a + b,
                Op::Sub => a - b,
                Op::Mul => a * b,
                Op::Div => a / b,
            }
        }
        Node::Call(f, a) => {
            let a = eval(a, values);
            match f {
                Func::Ln => libm::log(a),
                Func::Exp => libm::exp(a),
                Func::Abs => a.abs(),
                Func::Sqrt => a.sqrt(),
            }
        }
    }
}

impl NamedExpr {
    /// Parses `NAME = EXPR` or a bare `EXPR` (then named by its text). Names are 1 to
    /// [`MAX_NAME_CHARS`] characters without commas, quotes or control characters, so they can
    /// head a CSV column that is read back as plain text.
    pub fn parse(text: &str, arms: &[String]) -> Result<NamedExpr, ExprError> {
        let (name, body) = match split_name(text) {
            Some((n, e)) => (n.trim().to_string(), e),
            None => (text.trim().to_string(), text),
        };
        if name.is_empty()
            || name.chars().count() > MAX_NAME_CHARS
            || name.chars().any(|c| c == ',' || c == '"' || c.is_control())
        {
            return Err(ExprError::Syntax {
                text: echo(text),
                reason: format!(
                    "the name must be 1 to {MAX_NAME_CHARS} characters, without commas, quotes \
                     or control characters"
                ),
            });
        }
        Ok(NamedExpr {
            name,
            expr: Expr::parse(body, arms)?,
        })
    }
}

/// `NAME = EXPR` split at its `=`, when the part before it is a plain name.
fn split_name(text: &str) -> Option<(&str, &str)> {
    let (name, body) = text.split_once('=')?;
    let plain = name
        .trim()
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ' '));
    plain.then_some((name, body))
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Num(f64),
    Word(String),
    Op(char),
    Open,
    Close,
}

#[derive(Clone, Debug, PartialEq)]
struct Token {
    tok: Tok,
    pos: usize,
}

impl Token {
    fn describe(&self) -> String {
        match &self.tok {
            Tok::Num(x) => format!("number {x}"),
            Tok::Word(w) => format!("`{}`", w.chars().take(40).collect::<String>()),
            Tok::Op(c) => format!("`{c}`"),
            Tok::Open => "`(`".into(),
            Tok::Close => "`)`".into(),
        }
    }
}

/// Characters of an outcome reference: variable, country code, arm, `@`, years and `..`.
fn word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | ':' | '@' | '>')
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (pos, c) = chars[i];
        match c {
            _ if c.is_whitespace() => i += 1,
            '+' | '-' | '*' | '/' => {
                out.push(Token {
                    tok: Tok::Op(c),
                    pos,
                });
                i += 1;
            }
            '(' => {
                out.push(Token {
                    tok: Tok::Open,
                    pos,
                });
                i += 1;
            }
            ')' => {
                out.push(Token {
                    tok: Tok::Close,
                    pos,
                });
                i += 1;
            }
            _ if c.is_ascii_digit() || c == '.' => {
                let start = i;
                while i < chars.len() && (chars[i].1.is_ascii_digit() || chars[i].1 == '.') {
                    i += 1;
                }
                // An exponent: e or E, an optional sign, digits.
                if i < chars.len() && matches!(chars[i].1, 'e' | 'E') {
                    let mut j = i + 1;
                    if j < chars.len() && matches!(chars[j].1, '+' | '-') {
                        j += 1;
                    }
                    if j < chars.len() && chars[j].1.is_ascii_digit() {
                        i = j;
                        while i < chars.len() && chars[i].1.is_ascii_digit() {
                            i += 1;
                        }
                    }
                }
                if i < chars.len() && word_char(chars[i].1) {
                    // Not a number after all: a word that starts with digits (an arm name).
                    i = start;
                    while i < chars.len() && word_char(chars[i].1) {
                        i += 1;
                    }
                    let end = chars.get(i).map_or(text.len(), |&(p, _)| p);
                    out.push(Token {
                        tok: Tok::Word(text[pos..end].to_string()),
                        pos,
                    });
                    continue;
                }
                let end = chars.get(i).map_or(text.len(), |&(p, _)| p);
                let s = &text[pos..end];
                let x: f64 = s
                    .parse()
                    .ok()
                    .filter(|x: &f64| x.is_finite())
                    .ok_or_else(|| format!("`{s}` at {pos} is not a number"))?;
                out.push(Token {
                    tok: Tok::Num(x),
                    pos,
                });
            }
            _ if word_char(c) => {
                let start = pos;
                while i < chars.len() && word_char(chars[i].1) {
                    i += 1;
                }
                let end = chars.get(i).map_or(text.len(), |&(p, _)| p);
                out.push(Token {
                    tok: Tok::Word(text[start..end].to_string()),
                    pos,
                });
            }
            _ => {
                let shown = if c.is_control() {
                    format!("U+{:04X}", c as u32)
                } else {
                    c.to_string()
                };
                return Err(format!("unexpected character `{shown}` at {pos}"));
            }
        }
    }
    Ok(out)
}

struct Parser<'a> {
    tokens: &'a [Token],
    at: usize,
    depth: usize,
    arms: &'a [String],
    refs: Vec<Ref>,
}

impl Parser<'_> {
    fn error(&self, reason: String) -> ExprError {
        ExprError::Syntax {
            text: self
                .tokens
                .iter()
                .map(Token::describe)
                .collect::<Vec<_>>()
                .join(" ")
                .chars()
                .take(120)
                .collect(),
            reason,
        }
    }

    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.at).map(|t| &t.tok)
    }

    fn deeper(&mut self) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(format!("nested deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<Node, ExprError> {
        let mut node = self.term()?;
        while let Some(Tok::Op(c @ ('+' | '-'))) = self.peek() {
            let op = if *c == '+' { Op::Add } else { Op::Sub };
            self.at += 1;
            node = Node::Bin(op, Box::new(node), Box::new(self.term()?));
        }
        Ok(node)
    }

    fn term(&mut self) -> Result<Node, ExprError> {
        let mut node = self.unary()?;
        while let Some(Tok::Op(c @ ('*' | '/'))) = self.peek() {
            let op = if *c == '*' { Op::Mul } else { Op::Div };
            self.at += 1;
            node = Node::Bin(op, Box::new(node), Box::new(self.unary()?));
        }
        Ok(node)
    }

    fn unary(&mut self) -> Result<Node, ExprError> {
        if let Some(Tok::Op('-')) = self.peek() {
            self.at += 1;
            self.deeper()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Node::Neg(Box::new(inner)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Node, ExprError> {
        let Some(token) = self.tokens.get(self.at).cloned() else {
            return Err(self.error("the expression ends where a value was expected".into()));
        };
        self.at += 1;
        match token.tok {
            Tok::Num(x) => Ok(Node::Num(x)),
            Tok::Open => {
                self.deeper()?;
                let inner = self.expr()?;
                self.depth -= 1;
                self.close(token.pos)?;
                Ok(inner)
            }
            Tok::Word(w) => {
                let func = match w.as_str() {
                    "ln" => Some(Func::Ln),
                    "exp" => Some(Func::Exp),
                    "abs" => Some(Func::Abs),
                    "sqrt" => Some(Func::Sqrt),
                    _ => None,
                };
                match (func, self.peek()) {
                    (Some(f), Some(Tok::Open)) => {
                        let open = self.tokens[self.at].pos;
                        self.at += 1;
                        self.deeper()?;
                        let inner = self.expr()?;
                        self.depth -= 1;
                        self.close(open)?;
                        Ok(Node::Call(f, Box::new(inner)))
                    }
                    _ => self.reference(&w),
                }
            }
            Tok::Op(c) => {
                Err(self.error(format!("`{c}` at {} where a value was expected", token.pos)))
            }
            Tok::Close => Err(self.error(format!("`)` at {} without `(`", token.pos))),
        }
    }

    fn close(&mut self, open: usize) -> Result<(), ExprError> {
        match self.peek() {
            Some(Tok::Close) => {
                self.at += 1;
                Ok(())
            }
            _ => Err(self.error(format!("`(` at {open} is not closed"))),
        }
    }

    fn reference(&mut self, word: &str) -> Result<Node, ExprError> {
        let (arm, outcome) = match word.split_once(':') {
            Some((a, o)) => {
                let arm = self.arms.iter().position(|n| n == a).ok_or_else(|| {
                    self.error(format!(
                        "unknown arm `{}` (arms: {})",
                        a.chars().take(40).collect::<String>(),
                        self.arms.join(", ")
                    ))
                })?;
                (arm, o)
            }
            None if self.arms.len() == 1 => (0, word),
            None => {
                return Err(ExprError::Syntax {
                    text: echo(word),
                    reason: format!(
                        "name the arm (`ARM:{}`); arms: {}",
                        word.chars().take(60).collect::<String>(),
                        self.arms.join(", ")
                    ),
                })
            }
        };
        let outcome = Outcome::parse_any(outcome)?;
        self.refs.push(Ref { arm, outcome });
        Ok(Node::Ref(self.refs.len() - 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arms() -> Vec<String> {
        vec!["control".into(), "wage".into()]
    }

    fn value(text: &str, values: &[f64]) -> f64 {
        Expr::parse(text, &arms()).unwrap().eval(values)
    }

    #[test]
    fn precedence_and_associativity_are_the_usual_ones() {
        assert_eq!(value("1 + 2 * 3", &[]), 7.0);
        assert_eq!(value("(1 + 2) * 3", &[]), 9.0);
        assert_eq!(value("8 / 4 / 2", &[]), 1.0);
        assert_eq!(value("10 - 4 - 3", &[]), 3.0);
        assert_eq!(value("-2 * -3", &[]), 6.0);
        assert_eq!(value("2e-3 * 1E3", &[]), 2.0);
        assert_eq!(value("ln(exp(1.5))", &[]), 1.5);
        assert_eq!(value("sqrt(abs(-16))", &[]), 4.0);
    }

    #[test]
    fn references_are_numbered_in_order_and_take_their_arm() {
        let e = Expr::parse(
            "ln(wage:foreign_born.DEU@2030 / control:foreign_born.DEU@2030) / ln(wage:wage.DEU@2030 / control:wage.DEU@2030)",
            &arms(),
        )
        .unwrap();
        let which: Vec<usize> = e.refs().iter().map(|r| r.arm).collect();
        assert_eq!(which, [1, 0, 1, 0]);
        // Foreign stock +20 % for a wage +10 %: elasticity ln 1.2 / ln 1.1.
        let v = e.eval(&[120.0, 100.0, 110.0, 100.0]);
        assert!((v - libm::log(1.2) / libm::log(1.1)).abs() < 1e-15);
        assert!(!e.is_single_ref());
        assert!(Expr::parse("control:hhi@2030", &arms())
            .unwrap()
            .is_single_ref());
    }

    #[test]
    fn a_difference_of_two_arms_is_computed_as_the_sweep_always_did() {
        let e = Expr::parse(
            "wage:retention.SAU@2035 - control:retention.SAU@2035",
            &arms(),
        )
        .unwrap();
        let (a, b) = (0.123456789, 0.0987654321);
        assert_eq!(e.eval(&[a, b]).to_bits(), (a - b).to_bits());
    }

    #[test]
    fn names_split_at_the_first_equals_sign() {
        let n = NamedExpr::parse("gain = wage:hhi@2030 - control:hhi@2030", &arms()).unwrap();
        assert_eq!(n.name, "gain");
        let n = NamedExpr::parse("control:hhi@2030", &arms()).unwrap();
        assert_eq!(n.name, "control:hhi@2030");
        assert!(NamedExpr::parse("a,b = control:hhi@2030", &arms()).is_err());
        assert!(NamedExpr::parse("a\u{7}b = control:hhi@2030", &arms()).is_err());
    }

    #[test]
    fn errors_say_what_and_where() {
        let err = |t: &str| Expr::parse(t, &arms()).unwrap_err().to_string();
        assert!(
            err("hhi@2030").contains("name the arm"),
            "{}",
            err("hhi@2030")
        );
        assert!(err("other:hhi@2030").contains("unknown arm `other`"));
        assert!(err("control:hhi@2030 +").contains("ends where a value"));
        assert!(err("(1 + 2").contains("not closed"));
        assert!(err("1 + 2)").contains("unexpected"));
        assert!(err("1 $ 2").contains("unexpected character `$`"));
        assert!(err("1 \u{1b} 2").contains("U+001B"));
        assert!(err("control:nonsense.XX@2030").contains("not a per-country variable"));
        assert!(err("2x").contains("name the arm"), "{}", err("2x"));
        assert!(err("1.2.3").contains("not a number"));
        let deep = format!("{}1{}", "(".repeat(100), ")".repeat(100));
        assert!(err(&deep).contains("nested deeper"));
        let long = "1 + ".repeat(2000) + "1";
        assert!(err(&long).contains("longer than"));
        // An expression of a single arm needs no prefix.
        assert!(Expr::parse("hhi@2030 * 2", &["base".to_string()]).is_ok());
    }
}
