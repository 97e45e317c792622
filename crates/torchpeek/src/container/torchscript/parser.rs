//! A parser for the Python subset TorchScript's printer writes (`code/**/*.py`): classes with their
//! attribute annotations and methods, functions, and in their bodies assignments, calls, `if`,
//! `for`, `while`, `return` and expressions. Never run. A statement it cannot read becomes
//! `Stmt::Unparsed` naming what and the line, and parsing goes on with the next statement; depth
//! is bounded (`limits::MAX_GRAPH_DEPTH`), so hostile text cannot overflow the stack.

use super::lexer::{tokenize, Tok, Token};
use crate::limits;

/// One `.py` file of the archive's code.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct File {
    pub classes: Vec<Class>,
    pub functions: Vec<Func>,
    /// Top-level statements that are neither (imports are skipped).
    pub unparsed: Vec<Unparsed>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Class {
    pub name: String,
    pub line: usize,
    /// `name : Type` annotations: attributes and submodules with their (qualified) types.
    pub attributes: Vec<(String, String)>,
    /// `__parameters__ = ["weight", ...]` and `__buffers__`.
    pub parameters: Vec<String>,
    pub buffers: Vec<String>,
    pub methods: Vec<Func>,
    /// Methods whose header could not be read.
    pub unparsed: Vec<Unparsed>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Func {
    pub name: String,
    pub line: usize,
    /// Parameters with their annotations (`""` when none).
    pub params: Vec<(String, String)>,
    pub returns: String,
    pub body: Vec<Stmt>,
}

/// Text that could not be read, with why.
#[derive(Debug, Clone, PartialEq)]
pub struct Unparsed {
    pub line: usize,
    pub text: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    /// `a = b = value`, `a, b = value`; an annotation `a : T = value` drops the type.
    Assign {
        targets: Vec<Expr>,
        value: Expr,
        line: usize,
    },
    /// `a += value`.
    AugAssign {
        target: Expr,
        op: String,
        value: Expr,
        line: usize,
    },
    Expr {
        value: Expr,
        line: usize,
    },
    Return {
        value: Option<Expr>,
        line: usize,
    },
    If {
        cond: Expr,
        then: Vec<Stmt>,
        orelse: Vec<Stmt>,
        line: usize,
    },
    For {
        target: Expr,
        iter: Expr,
        body: Vec<Stmt>,
        line: usize,
    },
    While {
        cond: Expr,
        body: Vec<Stmt>,
        line: usize,
    },
    /// `pass`, `break`, `continue`, and `assert` / `raise` (no dataflow drawn).
    Other {
        keyword: String,
        line: usize,
    },
    Unparsed(Unparsed),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Name(String),
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    None,
    Attr(Box<Expr>, String),
    Call {
        func: Box<Expr>,
        args: Vec<Expr>,
        kwargs: Vec<(String, Expr)>,
    },
    Subscript(Box<Expr>, Box<Expr>),
    Tuple(Vec<Expr>),
    List(Vec<Expr>),
    Dict(Vec<(Expr, Expr)>),
    /// `a + b`, `a == b`, `a and b`, `a is not None`, `a[1:2]`'s slice as `:`.
    Binary(String, Box<Expr>, Box<Expr>),
    Unary(String, Box<Expr>),
    /// `a if cond else b`.
    IfElse {
        cond: Box<Expr>,
        then: Box<Expr>,
        orelse: Box<Expr>,
    },
}

/// Parses one file's text. Never fails: what it cannot read is in `unparsed` or `Stmt::Unparsed`.
pub fn parse(text: &str) -> File {
    let tokens = tokenize(text);
    let lines: Vec<&str> = text.lines().collect();
    let mut p = Parser { t: tokens, at: 0, lines, depth: 0 };
    let mut file = File::default();
    while !p.is(&Tok::End) {
        if p.eat(&Tok::Newline) || p.eat(&Tok::Indent) || p.eat(&Tok::Dedent) {
            continue;
        }
        let start = p.at;
        p.depth = 0;
        if p.is_name("class") {
            match p.class() {
                Ok(c) => file.classes.push(c),
                Err(e) => file.unparsed.push(p.recover(start, e)),
            }
        } else if p.is_name("def") {
            match p.func() {
                Ok(f) => file.functions.push(f),
                Err(e) => file.unparsed.push(p.recover(start, e)),
            }
        } else if p.is_name("import") || p.is_name("from") {
            p.skip_statement();
        } else {
            // Module-level assignments (`__torch__ = ...`) carry no dataflow of a method.
            p.skip_statement();
        }
    }
    file
}

struct Parser<'a> {
    t: Vec<Token>,
    at: usize,
    lines: Vec<&'a str>,
    depth: usize,
}

type PResult<T> = Result<T, String>;
/// A call's positional and keyword arguments.
type CallArgs = (Vec<Expr>, Vec<(String, Expr)>);

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        self.t.get(self.at).map_or(&Tok::End, |t| &t.kind)
    }
    fn line(&self) -> usize {
        self.t.get(self.at).or(self.t.last()).map_or(0, |t| t.line)
    }
    fn is(&self, k: &Tok) -> bool {
        self.peek() == k
    }
    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Tok::Op(o) if *o == op)
    }
    fn is_name(&self, n: &str) -> bool {
        matches!(self.peek(), Tok::Name(s) if s == n)
    }
    fn bump(&mut self) -> Tok {
        let k = self.peek().clone();
        if self.at < self.t.len() {
            self.at += 1;
        }
        k
    }
    fn eat(&mut self, k: &Tok) -> bool {
        let hit = self.is(k);
        if hit {
            self.bump();
        }
        hit
    }
    fn eat_op(&mut self, op: &str) -> bool {
        let hit = self.is_op(op);
        if hit {
            self.bump();
        }
        hit
    }
    fn expect_op(&mut self, op: &str) -> PResult<()> {
        if self.eat_op(op) {
            Ok(())
        } else {
            Err(format!("expected {op:?}, found {}", self.describe()))
        }
    }
    fn name(&mut self) -> PResult<String> {
        match self.bump() {
            Tok::Name(n) => Ok(n),
            other => Err(format!("expected a name, found {}", describe(&other))),
        }
    }
    fn describe(&self) -> String {
        describe(self.peek())
    }

    /// Skips the rest of the logical line, and the indented block after it if it opens one.
    fn skip_statement(&mut self) {
        while !matches!(self.peek(), Tok::Newline | Tok::End) {
            self.bump();
        }
        self.eat(&Tok::Newline);
        if self.is(&Tok::Indent) {
            let mut level = 0usize;
            loop {
                match self.bump() {
                    Tok::Indent => level += 1,
                    Tok::Dedent => {
                        level -= 1;
                        if level == 0 {
                            break;
                        }
                    }
                    Tok::End => break,
                    _ => {}
                }
            }
        }
    }

    /// After an error in the statement that began at token `start`: the statement's text and
    /// the reason, and the parser past it (its block too).
    fn recover(&mut self, start: usize, reason: String) -> Unparsed {
        let line = self.t.get(start).map_or(0, |t| t.line);
        // Back to where the statement began, so a block it opened is skipped whole.
        self.at = start;
        self.skip_statement();
        let text = self.lines.get(line.saturating_sub(1)).map_or("", |l| l.trim()).to_string();
        Unparsed { line, text, reason }
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > limits::MAX_GRAPH_DEPTH {
            return Err(format!("nested deeper than {}", limits::MAX_GRAPH_DEPTH));
        }
        Ok(())
    }

    fn class(&mut self) -> PResult<Class> {
        let line = self.line();
        self.bump();
        let mut c = Class { name: self.name()?, line, ..Class::default() };
        if self.eat_op("(") {
            while !self.eat_op(")") {
                if matches!(self.bump(), Tok::Newline | Tok::End) {
                    return Err("the class's bases do not end".into());
                }
            }
        }
        self.expect_op(":")?;
        if !self.eat(&Tok::Newline) || !self.eat(&Tok::Indent) {
            return Err("a class without an indented body".into());
        }
        while !self.eat(&Tok::Dedent) && !self.is(&Tok::End) {
            if self.eat(&Tok::Newline) {
                continue;
            }
            let start = self.at;
            if self.is_name("def") {
                let saved = self.depth;
                match self.func() {
                    Ok(f) => c.methods.push(f),
                    Err(e) => {
                        self.depth = saved;
                        let u = self.recover(start, e);
                        c.unparsed.push(u);
                    }
                }
                continue;
            }
            let field = self.class_field(&mut c);
            if let Err(e) = field {
                // An attribute line it cannot read is not the class's dataflow: skip it.
                let _ = self.recover(start, e);
            }
        }
        Ok(c)
    }

    /// `name : Type [= value]`, `__annotations__["0"] = Type` (a name that is not an identifier)
    /// or `__parameters__ = [...]`.
    fn class_field(&mut self, c: &mut Class) -> PResult<()> {
        let name = self.name()?;
        if name == "__annotations__" && self.eat_op("[") {
            let Tok::Str(attr) = self.bump() else { return Err("expected a string key in __annotations__".into()) };
            self.expect_op("]")?;
            self.expect_op("=")?;
            let ty = self.type_text()?;
            c.attributes.push((attr, ty));
        } else if self.eat_op(":") {
            let ty = self.type_text()?;
            c.attributes.push((name, ty));
            while !matches!(self.peek(), Tok::Newline | Tok::End) {
                self.bump();
            }
        } else if self.eat_op("=") {
            let value = self.expr()?;
            let names = match value {
                Expr::List(items) => items.into_iter().filter_map(|e| if let Expr::Str(s) = e { Some(s) } else { None }).collect(),
                _ => Vec::new(),
            };
            match name.as_str() {
                "__parameters__" => c.parameters = names,
                "__buffers__" => c.buffers = names,
                _ => {}
            }
        } else {
            return Err(format!("expected an attribute annotation, found {}", self.describe()));
        }
        self.eat(&Tok::Newline);
        Ok(())
    }

    /// A type annotation as text: `Tensor`, `Optional[List[int]]`, `__torch__.a.b.C`.
    fn type_text(&mut self) -> PResult<String> {
        let mut s = String::new();
        let mut depth = 0usize;
        loop {
            match self.peek().clone() {
                Tok::Name(n) => s.push_str(&n),
                Tok::Op(".") => s.push('.'),
                Tok::Op(",") if depth > 0 => s.push_str(", "),
                Tok::Op("[") => {
                    depth += 1;
                    s.push('[');
                }
                Tok::Op("]") if depth > 0 => {
                    depth -= 1;
                    s.push(']');
                }
                Tok::Int(i) if depth > 0 => s.push_str(&i.to_string()),
                _ => break,
            }
            self.bump();
        }
        if s.is_empty() {
            Err(format!("expected a type, found {}", self.describe()))
        } else {
            Ok(s)
        }
    }

    fn func(&mut self) -> PResult<Func> {
        let line = self.line();
        self.bump();
        let mut f = Func { name: self.name()?, line, ..Func::default() };
        self.expect_op("(")?;
        while !self.eat_op(")") {
            let pname = self.name()?;
            let ty = if self.eat_op(":") { self.type_text()? } else { String::new() };
            if self.eat_op("=") {
                self.expr()?;
            }
            f.params.push((pname, ty));
            if !self.eat_op(",") && !self.is_op(")") {
                return Err(format!("expected \",\" or \")\" in the parameters, found {}", self.describe()));
            }
        }
        if self.eat_op("->") {
            f.returns = self.type_text()?;
        }
        self.expect_op(":")?;
        f.body = self.block()?;
        Ok(f)
    }

    /// NEWLINE INDENT statements DEDENT, or one simple statement on the same line.
    fn block(&mut self) -> PResult<Vec<Stmt>> {
        self.enter()?;
        let mut body = Vec::new();
        if !self.eat(&Tok::Newline) {
            body.push(self.simple()?);
            self.depth -= 1;
            return Ok(body);
        }
        if !self.eat(&Tok::Indent) {
            return Err("expected an indented block".into());
        }
        while !self.eat(&Tok::Dedent) && !self.is(&Tok::End) {
            if self.eat(&Tok::Newline) {
                continue;
            }
            let (start, saved) = (self.at, self.depth);
            match self.statement() {
                Ok(s) => body.push(s),
                Err(e) => {
                    self.depth = saved;
                    body.push(Stmt::Unparsed(self.recover(start, e)));
                }
            }
        }
        self.depth -= 1;
        Ok(body)
    }

    fn statement(&mut self) -> PResult<Stmt> {
        let line = self.line();
        if self.is_name("if") {
            self.bump();
            return self.if_rest(line);
        }
        if self.is_name("for") {
            self.bump();
            let target = self.target_list()?;
            if !self.is_name("in") {
                return Err(format!("expected \"in\", found {}", self.describe()));
            }
            self.bump();
            let iter = self.expr_list()?;
            self.expect_op(":")?;
            let body = self.block()?;
            return Ok(Stmt::For { target, iter, body, line });
        }
        if self.is_name("while") {
            self.bump();
            let cond = self.expr()?;
            self.expect_op(":")?;
            let body = self.block()?;
            return Ok(Stmt::While { cond, body, line });
        }
        if self.is_name("def") || self.is_name("class") || self.is_name("with") || self.is_name("try") {
            return Err(format!("a nested {} is not read", self.describe()));
        }
        self.simple()
    }

    fn if_rest(&mut self, line: usize) -> PResult<Stmt> {
        let cond = self.expr()?;
        self.expect_op(":")?;
        let then = self.block()?;
        let orelse = if self.is_name("elif") {
            let l = self.line();
            self.bump();
            vec![self.if_rest(l)?]
        } else if self.is_name("else") {
            self.bump();
            self.expect_op(":")?;
            self.block()?
        } else {
            Vec::new()
        };
        Ok(Stmt::If { cond, then, orelse, line })
    }

    /// A one-line statement, up to and including its NEWLINE.
    fn simple(&mut self) -> PResult<Stmt> {
        let line = self.line();
        let stmt = if let Tok::Name(k) = self.peek().clone() {
            match k.as_str() {
                "return" => {
                    self.bump();
                    let value = if matches!(self.peek(), Tok::Newline | Tok::End) { None } else { Some(self.expr_list()?) };
                    Stmt::Return { value, line }
                }
                "pass" | "break" | "continue" | "assert" | "raise" | "global" | "nonlocal" | "del" => {
                    self.bump();
                    while !matches!(self.peek(), Tok::Newline | Tok::End) {
                        self.bump();
                    }
                    Stmt::Other { keyword: k, line }
                }
                _ => self.assign_or_expr(line)?,
            }
        } else {
            self.assign_or_expr(line)?
        };
        if !self.eat(&Tok::Newline) && !self.is(&Tok::End) && !self.is(&Tok::Dedent) {
            return Err(format!("unexpected {} after the statement", self.describe()));
        }
        Ok(stmt)
    }

    fn assign_or_expr(&mut self, line: usize) -> PResult<Stmt> {
        let first = self.expr_list()?;
        if self.eat_op(":") {
            // `x : T = value`
            self.type_text()?;
            if !self.eat_op("=") {
                return Ok(Stmt::Other { keyword: "annotation".into(), line });
            }
            let value = self.expr_list()?;
            return Ok(Stmt::Assign { targets: vec![first], value, line });
        }
        for op in ["+=", "-=", "*=", "/=", "//=", "%=", "**=", "&=", "|=", "^=", "<<=", ">>="] {
            if self.eat_op(op) {
                let value = self.expr_list()?;
                return Ok(Stmt::AugAssign { target: first, op: op.trim_end_matches('=').to_string(), value, line });
            }
        }
        if !self.is_op("=") {
            return Ok(Stmt::Expr { value: first, line });
        }
        let mut targets = vec![first];
        let mut value;
        loop {
            self.expect_op("=")?;
            value = self.expr_list()?;
            if !self.is_op("=") {
                break;
            }
            targets.push(value);
        }
        Ok(Stmt::Assign { targets, value, line })
    }

    /// `a, b` (a tuple) or one target; for `for` loops, stopping before `in`.
    fn target_list(&mut self) -> PResult<Expr> {
        let mut items = vec![self.binary(BIN_LEVELS.len() - 1)?];
        while self.eat_op(",") {
            if self.is_name("in") {
                break;
            }
            items.push(self.binary(BIN_LEVELS.len() - 1)?);
        }
        Ok(if items.len() == 1 { items.pop().unwrap_or(Expr::None) } else { Expr::Tuple(items) })
    }

    /// `a, b, c` without brackets is a tuple.
    fn expr_list(&mut self) -> PResult<Expr> {
        let first = self.expr()?;
        if !self.is_op(",") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.eat_op(",") {
            if matches!(self.peek(), Tok::Newline | Tok::End) || self.is_op("=") || self.is_op(")") {
                break;
            }
            items.push(self.expr()?);
        }
        Ok(Expr::Tuple(items))
    }

    fn expr(&mut self) -> PResult<Expr> {
        self.enter()?;
        let e = self.ternary();
        self.depth -= 1;
        e
    }

    fn ternary(&mut self) -> PResult<Expr> {
        let then = self.or_expr()?;
        if self.is_name("if") {
            self.bump();
            let cond = self.or_expr()?;
            if !self.is_name("else") {
                return Err(format!("expected \"else\", found {}", self.describe()));
            }
            self.bump();
            let orelse = self.expr()?;
            return Ok(Expr::IfElse { cond: Box::new(cond), then: Box::new(then), orelse: Box::new(orelse) });
        }
        Ok(then)
    }

    fn or_expr(&mut self) -> PResult<Expr> {
        self.keyword_chain("or", Self::and_expr)
    }

    fn and_expr(&mut self) -> PResult<Expr> {
        self.keyword_chain("and", Self::not_expr)
    }

    /// `a or b or c`, `a and b and c`: a left-nested chain of the keyword operator `word` between
    /// operands that `operand` reads.
    fn keyword_chain(&mut self, word: &str, operand: fn(&mut Self) -> PResult<Expr>) -> PResult<Expr> {
        let mut a = operand(self)?;
        let mut chain = 0;
        while self.is_name(word) {
            self.bump();
            self.chain(&mut chain)?;
            a = Expr::Binary(word.into(), Box::new(a), Box::new(operand(self)?));
        }
        self.depth -= chain;
        Ok(a)
    }

    /// One more link of a left-nested chain (`a + b + c`, `a.b.c`, `f()()`): each nests the tree
    /// one level deeper, so each counts against the depth limit until the chain ends.
    fn chain(&mut self, links: &mut usize) -> PResult<()> {
        *links += 1;
        self.enter()
    }

    fn not_expr(&mut self) -> PResult<Expr> {
        if self.is_name("not") {
            self.bump();
            self.enter()?;
            let e = self.not_expr();
            self.depth -= 1;
            return Ok(Expr::Unary("not".into(), Box::new(e?)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> PResult<Expr> {
        let mut a = self.binary(0)?;
        let mut chain = 0;
        loop {
            let op = match self.peek() {
                Tok::Op(o @ ("==" | "!=" | "<" | "<=" | ">" | ">=")) => o.to_string(),
                Tok::Name(n) if n == "in" => "in".into(),
                Tok::Name(n) if n == "is" => "is".into(),
                Tok::Name(n) if n == "not" => "not in".into(),
                _ => {
                    self.depth -= chain;
                    return Ok(a);
                }
            };
            self.bump();
            let op = if op == "is" && self.is_name("not") {
                self.bump();
                "is not".to_string()
            } else if op == "not in" {
                if !self.is_name("in") {
                    return Err(format!("expected \"in\", found {}", self.describe()));
                }
                self.bump();
                op
            } else {
                op
            };
            chain += 1;
            self.enter()?;
            a = Expr::Binary(op, Box::new(a), Box::new(self.binary(0)?));
        }
    }

    /// Binary operators by precedence, loosest first: `|`, `^`, `&`, shifts, `+ -`, `* / // % @`.
    fn binary(&mut self, level: usize) -> PResult<Expr> {
        if level >= BIN_LEVELS.len() {
            return self.unary();
        }
        let mut a = self.binary(level + 1)?;
        let mut chain = 0;
        while let Tok::Op(o) = self.peek() {
            if !BIN_LEVELS[level].contains(o) {
                break;
            }
            let op = o.to_string();
            self.bump();
            self.chain(&mut chain)?;
            a = Expr::Binary(op, Box::new(a), Box::new(self.binary(level + 1)?));
        }
        self.depth -= chain;
        Ok(a)
    }

    fn unary(&mut self) -> PResult<Expr> {
        if let Tok::Op(o @ ("-" | "+" | "~")) = self.peek() {
            let op = o.to_string();
            self.bump();
            self.enter()?;
            let e = self.unary();
            self.depth -= 1;
            let e = e?;
            return Ok(match (op.as_str(), e) {
                ("-", Expr::Int(i)) => Expr::Int(i.wrapping_neg()),
                ("-", Expr::Float(f)) => Expr::Float(-f),
                (_, e) => Expr::Unary(op, Box::new(e)),
            });
        }
        let base = self.postfix()?;
        if self.eat_op("**") {
            self.enter()?;
            let exponent = self.unary();
            self.depth -= 1;
            return Ok(Expr::Binary("**".into(), Box::new(base), Box::new(exponent?)));
        }
        Ok(base)
    }

    fn postfix(&mut self) -> PResult<Expr> {
        let mut e = self.atom()?;
        let mut chain = 0;
        loop {
            if self.is_op(".") || self.is_op("(") || self.is_op("[") {
                self.chain(&mut chain)?;
            }
            if self.eat_op(".") {
                e = Expr::Attr(Box::new(e), self.name()?);
            } else if self.eat_op("(") {
                let (args, kwargs) = self.call_args()?;
                e = Expr::Call { func: Box::new(e), args, kwargs };
            } else if self.eat_op("[") {
                let index = self.slice()?;
                self.expect_op("]")?;
                e = Expr::Subscript(Box::new(e), Box::new(index));
            } else {
                self.depth -= chain;
                return Ok(e);
            }
        }
    }

    /// `a`, `a:b`, `a:b:c`, `a, b` inside `[]`.
    fn slice(&mut self) -> PResult<Expr> {
        let mut items = Vec::new();
        loop {
            let start = if self.is_op(":") { Expr::None } else { self.expr()? };
            let item = if self.eat_op(":") {
                let end = if self.is_op("]") || self.is_op(",") || self.is_op(":") { Expr::None } else { self.expr()? };
                let mut s = Expr::Binary(":".into(), Box::new(start), Box::new(end));
                if self.eat_op(":") {
                    let step = if self.is_op("]") || self.is_op(",") { Expr::None } else { self.expr()? };
                    s = Expr::Binary(":".into(), Box::new(s), Box::new(step));
                }
                s
            } else {
                start
            };
            items.push(item);
            if !self.eat_op(",") || self.is_op("]") {
                break;
            }
        }
        Ok(if items.len() == 1 { items.pop().unwrap_or(Expr::None) } else { Expr::Tuple(items) })
    }

    fn call_args(&mut self) -> PResult<CallArgs> {
        let mut args = Vec::new();
        let mut kwargs = Vec::new();
        while !self.eat_op(")") {
            if let (Tok::Name(n), Some(Tok::Op("="))) = (self.peek().clone(), self.t.get(self.at + 1).map(|t| &t.kind)) {
                self.bump();
                self.bump();
                kwargs.push((n, self.expr()?));
            } else {
                self.eat_op("*");
                args.push(self.expr()?);
            }
            if !self.eat_op(",") && !self.is_op(")") {
                return Err(format!("expected \",\" or \")\" in a call, found {}", self.describe()));
            }
        }
        Ok((args, kwargs))
    }

    fn atom(&mut self) -> PResult<Expr> {
        match self.bump() {
            Tok::Name(n) => Ok(match n.as_str() {
                "True" => Expr::Bool(true),
                "False" => Expr::Bool(false),
                "None" => Expr::None,
                _ => Expr::Name(n),
            }),
            Tok::Int(i) => Ok(Expr::Int(i)),
            Tok::Float(f) => Ok(Expr::Float(f)),
            Tok::Str(s) => {
                let mut s = s;
                while let Tok::Str(more) = self.peek().clone() {
                    self.bump();
                    s.push_str(&more);
                }
                Ok(Expr::Str(s))
            }
            Tok::Op("(") => {
                if self.eat_op(")") {
                    return Ok(Expr::Tuple(Vec::new()));
                }
                let first = self.expr()?;
                if self.eat_op(")") {
                    return Ok(first);
                }
                let mut items = vec![first];
                while self.eat_op(",") {
                    if self.is_op(")") {
                        break;
                    }
                    items.push(self.expr()?);
                }
                self.expect_op(")")?;
                Ok(Expr::Tuple(items))
            }
            Tok::Op("[") => {
                let mut items = Vec::new();
                while !self.eat_op("]") {
                    items.push(self.expr()?);
                    if !self.eat_op(",") && !self.is_op("]") {
                        return Err(format!("expected \",\" or \"]\" in a list, found {}", self.describe()));
                    }
                }
                Ok(Expr::List(items))
            }
            Tok::Op("{") => {
                let mut items = Vec::new();
                while !self.eat_op("}") {
                    let k = self.expr()?;
                    self.expect_op(":")?;
                    items.push((k, self.expr()?));
                    if !self.eat_op(",") && !self.is_op("}") {
                        return Err(format!("expected \",\" or \"}}\" in a dict, found {}", self.describe()));
                    }
                }
                Ok(Expr::Dict(items))
            }
            other => Err(format!("unexpected {}", describe(&other))),
        }
    }
}

const BIN_LEVELS: [&[&str]; 6] = [&["|"], &["^"], &["&"], &["<<", ">>"], &["+", "-"], &["*", "/", "//", "%", "@"]];

fn describe(t: &Tok) -> String {
    match t {
        Tok::Name(n) => format!("{n:?}"),
        Tok::Int(i) => i.to_string(),
        Tok::Float(f) => f.to_string(),
        Tok::Str(_) => "a string".into(),
        Tok::Op(o) => format!("{o:?}"),
        Tok::Newline => "the end of the line".into(),
        Tok::Indent => "an indent".into(),
        Tok::Dedent => "the end of the block".into(),
        Tok::Error(e) => e.clone(),
        Tok::End => "the end of the file".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GATE: &str = "class Gate(Module):
  __parameters__ = []
  __buffers__ = [\"scale\", ]
  scale : Tensor
  fc : __torch__.torch.nn.modules.linear.Linear
  __annotations__[\"0\"] = __torch__.torch.nn.modules.activation.GELU
  def forward(self: __torch__.Gate,
    x: Tensor,
    flag: bool) -> Tensor:
    steps = self.steps
    y = x
    for i in range(steps):
      fc = self.fc
      y0 = (fc).forward(y, )
      if flag:
        y1 = torch.relu(y0)
      else:
        y1 = torch.mul(y0, self.scale)
      y = y1
    _1 = bool(torch.gt(torch.sum(y), 100.))
    while _1:
      y3 = torch.div(y, 2)
      _1, y = bool(torch.gt(torch.sum(y3), 100.)), y3
    return torch.tanh(y)
";

    #[test]
    fn a_scripted_class_with_control_flow() {
        let f = parse(GATE);
        assert!(f.unparsed.is_empty(), "{:?}", f.unparsed);
        let c = &f.classes[0];
        assert_eq!(c.name, "Gate");
        assert_eq!(c.buffers, vec!["scale"]);
        assert_eq!(c.attributes[1], ("fc".into(), "__torch__.torch.nn.modules.linear.Linear".into()));
        assert_eq!(c.attributes[2], ("0".into(), "__torch__.torch.nn.modules.activation.GELU".into()));
        let m = &c.methods[0];
        assert_eq!(m.params.iter().map(|p| p.0.as_str()).collect::<Vec<_>>(), ["self", "x", "flag"]);
        assert!(matches!(m.body[2], Stmt::For { .. }));
        assert!(matches!(m.body[4], Stmt::While { .. }));
        let Stmt::For { body, .. } = &m.body[2] else { unreachable!() };
        assert!(matches!(body[2], Stmt::If { ref orelse, .. } if orelse.len() == 1));
        assert!(body.iter().chain(&m.body).all(|s| !matches!(s, Stmt::Unparsed(_))));
    }

    #[test]
    fn what_it_cannot_read_is_named_and_the_rest_goes_on() {
        let text = "class A(Module):\n  def forward(self, x):\n    y = torch.relu(x)\n    z = lambda q: q\n    with x:\n      pass\n    return torch.add(y, 1)\n";
        let f = parse(text);
        let body = &f.classes[0].methods[0].body;
        let bad: Vec<&Unparsed> = body.iter().filter_map(|s| if let Stmt::Unparsed(u) = s { Some(u) } else { None }).collect();
        assert_eq!(bad.len(), 2, "{body:?}");
        assert_eq!(bad[0].line, 4);
        assert_eq!(bad[0].text, "z = lambda q: q");
        assert_eq!(bad[1].line, 5);
        assert!(matches!(body.last(), Some(Stmt::Return { .. })));
    }

    #[test]
    fn hostile_nesting_is_an_unparsed_statement_not_a_crash() {
        let deep = format!("def f(x):\n  return {}x{}\n", "(".repeat(100_000), ")".repeat(100_000));
        let f = parse(&deep);
        assert!(matches!(&f.functions[0].body[0], Stmt::Unparsed(u) if u.reason.contains("nested")));
        let deep_blocks: String =
            (0..200).map(|i| format!("{}if x:\n", " ".repeat(i + 2))).collect::<String>() + &" ".repeat(203) + "pass\n";
        let f = parse(&format!("def g(x):\n{deep_blocks}"));
        let mut body = &f.functions[0].body;
        let mut levels = 0;
        while let [Stmt::If { then, .. }] = body.as_slice() {
            body = then;
            levels += 1;
        }
        assert!(matches!(body.as_slice(), [Stmt::Unparsed(u)] if u.reason.contains("nested")), "{levels}: {body:?}");
        assert!(levels < limits::MAX_GRAPH_DEPTH);
        // Long chains nest the tree as deep as brackets do.
        for chain in [
            " + x".repeat(100_000),
            ".a".repeat(100_000),
            "()".repeat(100_000),
            " and x".repeat(100_000),
            " < x".repeat(100_000),
            "[0]".repeat(100_000),
        ] {
            let f = parse(&format!("def h(x):\n  y = x{chain}\n  return y\n"));
            let body = &f.functions[0].body;
            assert!(matches!(&body[0], Stmt::Unparsed(u) if u.reason.contains("nested")), "{:?}", &chain[..8]);
            assert!(matches!(&body[1], Stmt::Return { .. }));
        }
        // Chains within the limit still read.
        let f = parse("def h(x):\n  return x.a.b + x + x + x\n");
        assert!(matches!(&f.functions[0].body[0], Stmt::Return { value: Some(Expr::Binary(..)), .. }));
        // Garbage of every kind ends.
        let _ = parse("class ((((\n\t\t  def )))):\n\"unterminated\n  \x00\u{feff}");
    }
}
