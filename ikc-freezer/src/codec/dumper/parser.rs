//! Reading Dumper text as data.
//!
//! The text is one assignment of a literal to the freezer's variable,
//! followed by the fix-up assignments `Purity = 1` adds for references seen
//! twice. Literals are read with an explicit stack (no recursion), so
//! nesting is limited by [`Limits::max_depth`](crate::Limits::max_depth)
//! and never by the thread's stack.

use crate::error::ThawError;
use crate::limits::{Budget, Limits};
use crate::value::number::{Number, parse_number};
use crate::value::{Hash, Key, Value};

use super::VAR_NAME;
use super::fixup::{self, Path, Step};
use super::lexer::{Lexer, Text, Token, malformed, not_data};

/// A literal the parser is inside of.
enum Open {
    /// `[` ... : the elements so far.
    Array(Vec<Value>),
    /// `{` ... : the entries so far and the key of the value being read.
    Hash(Hash, Key),
    /// `\` before a value.
    Ref,
    /// `bless(` before a value.
    Bless,
    /// `do{\(my $o =` before a value.
    DoRef,
}

pub(super) fn thaw(input: &[u8], limits: Limits) -> Result<Value, ThawError> {
    let mut budget = Budget::new(limits, input.len())?;
    let mut lexer = Lexer::new(input);
    let at = lexer.offset();
    match lexer.next()? {
        Token::Var(name) if name == VAR_NAME => {}
        _ => return Err(malformed(at, format!("expected `${VAR_NAME} =`"))),
    }
    expect(&mut lexer, &Token::Assign, "`=`")?;
    let mut root = literal(&mut lexer, &mut budget)?;
    expect(&mut lexer, &Token::Semicolon, "`;`")?;
    while lexer.peek()? != Token::End {
        let at = lexer.offset();
        let target = path(&mut lexer)?;
        expect(&mut lexer, &Token::Assign, "`=`")?;
        let source_at = lexer.offset();
        let take_reference = lexer.peek()? == Token::Backslash;
        if take_reference {
            lexer.next()?;
        }
        let source = path(&mut lexer)?;
        expect(&mut lexer, &Token::Semicolon, "`;`")?;
        // `a = \a` or `a->{x} = a`: a value that would contain itself.
        let cycle = if take_reference {
            source.is_prefix_of(&target)
        } else {
            source.is_prefix_of(&target) && source != target
        };
        if cycle {
            return Err(ThawError::Cycle { offset: at });
        }
        let mut value = fixup::copy(&root, &source, target.len(), &mut budget, source_at)?;
        if take_reference {
            value = Value::Ref(Box::new(value));
        }
        fixup::assign(&mut root, &target, value, at)?;
    }
    Ok(root)
}

fn expect(lexer: &mut Lexer<'_>, want: &Token<'_>, what: &str) -> Result<(), ThawError> {
    let at = lexer.offset();
    let got = lexer.next()?;
    if &got == want {
        Ok(())
    } else {
        Err(malformed(
            at,
            format!("expected {what}, found {}", describe(&got)),
        ))
    }
}

fn describe(token: &Token<'_>) -> String {
    match token {
        Token::End => "the end of the text".to_owned(),
        Token::Word(w) => format!("`{w}`"),
        Token::Number(n) => format!("the number {n}"),
        Token::Text(_) => "a string".to_owned(),
        Token::Var(v) => format!("`${v}`"),
        other => format!("{other:?}"),
    }
}

/// A path into the value being built: `$VAR1->{'k'}[0]`, `${$VAR1->[1]}`.
fn path(lexer: &mut Lexer<'_>) -> Result<Path, ThawError> {
    let at = lexer.offset();
    let mut steps = match lexer.next()? {
        Token::Var(name) if name == VAR_NAME => Vec::new(),
        Token::DerefVar => {
            let mut inner = path_base(lexer, at)?;
            inner.push(Step::Deref);
            inner
        }
        Token::DerefBlock => {
            let mut inner = path(lexer)?.into_steps();
            expect(lexer, &Token::RBrace, "`}`")?;
            inner.push(Step::Deref);
            inner
        }
        other => {
            return Err(malformed(
                at,
                format!(
                    "expected a path into `${VAR_NAME}`, found {}",
                    describe(&other)
                ),
            ));
        }
    };
    let mut first = true;
    loop {
        let at = lexer.offset();
        match lexer.peek()? {
            Token::Arrow => {
                lexer.next()?;
                match lexer.next()? {
                    Token::LBrace => steps.push(Step::Key(hash_key(lexer)?)),
                    Token::LBracket => steps.push(Step::Index(index(lexer)?)),
                    _ => return Err(malformed(at, "expected `{` or `[` after `->`")),
                }
            }
            Token::LBrace | Token::LBracket if !first => {
                if lexer.next()? == Token::LBrace {
                    steps.push(Step::Key(hash_key(lexer)?));
                } else {
                    steps.push(Step::Index(index(lexer)?));
                }
            }
            _ => return Ok(Path::new(steps)),
        }
        first = false;
        match steps.last() {
            Some(Step::Key(_)) => expect(lexer, &Token::RBrace, "`}`")?,
            Some(Step::Index(_)) => expect(lexer, &Token::RBracket, "`]`")?,
            _ => {}
        }
    }
}

fn path_base(lexer: &mut Lexer<'_>, at: usize) -> Result<Vec<Step>, ThawError> {
    match lexer.next()? {
        Token::Var(name) if name == VAR_NAME => Ok(Vec::new()),
        _ => Err(malformed(at, format!("expected `${VAR_NAME}` after `$$`"))),
    }
}

fn index(lexer: &mut Lexer<'_>) -> Result<usize, ThawError> {
    let at = lexer.offset();
    match lexer.next()? {
        Token::Number(n) => n
            .parse::<usize>()
            .map_err(|_| malformed(at, format!("bad array index {n}"))),
        _ => Err(malformed(at, "expected an array index")),
    }
}

/// A hash key: a string, a bareword or an integer.
fn hash_key(lexer: &mut Lexer<'_>) -> Result<Key, ThawError> {
    let at = lexer.offset();
    match lexer.next()? {
        Token::Text(Text::Bytes(b)) => Ok(Key::from_byte_slice(&b)),
        Token::Text(Text::Str(s)) => Ok(Key::from(s)),
        Token::Word(w) => Ok(Key::from(w)),
        Token::Number(n) if !n.contains(['.', 'e', 'E']) => Ok(Key::from(n)),
        other => Err(malformed(
            at,
            format!("expected a hash key, found {}", describe(&other)),
        )),
    }
}

/// One literal, read without recursion.
fn literal(lexer: &mut Lexer<'_>, budget: &mut Budget) -> Result<Value, ThawError> {
    let mut stack: Vec<Open> = Vec::new();
    loop {
        // Read the start of a value: a scalar finishes it at once; an
        // opening bracket, backslash, bless or do-block pushes a frame.
        let at = lexer.offset();
        let mut value = match lexer.next()? {
            Token::LBracket => {
                if lexer.peek()? == Token::RBracket {
                    lexer.next()?;
                    budget.take_elements(1)?;
                    Value::Array(Vec::new())
                } else {
                    open(&mut stack, Open::Array(Vec::new()), budget)?;
                    continue;
                }
            }
            Token::LBrace => {
                if lexer.peek()? == Token::RBrace {
                    lexer.next()?;
                    budget.take_elements(1)?;
                    Value::Hash(Hash::new())
                } else {
                    let key = entry_key(lexer)?;
                    open(&mut stack, Open::Hash(Hash::new(), key), budget)?;
                    continue;
                }
            }
            Token::Backslash => {
                open(&mut stack, Open::Ref, budget)?;
                continue;
            }
            Token::Word("bless") => {
                expect(lexer, &Token::LParen, "`(` after bless")?;
                open(&mut stack, Open::Bless, budget)?;
                continue;
            }
            Token::Word("do") => {
                if do_block(lexer)? {
                    open(&mut stack, Open::DoRef, budget)?;
                    continue;
                }
                // `do{my $o}`: a placeholder a fix-up fills in.
                budget.take_elements(1)?;
                Value::Undef
            }
            token => {
                let value = scalar(token, at, budget)?;
                budget.take_elements(1)?;
                value
            }
        };
        // Hand the finished value to what it belongs to.
        loop {
            let at = lexer.offset();
            match stack.last_mut() {
                None => return Ok(value),
                Some(Open::Array(items)) => {
                    items.push(value);
                    if !list_continues(lexer, &Token::RBracket, "`]`")? {
                        break;
                    }
                    let Some(Open::Array(items)) = stack.pop() else {
                        return Err(malformed(at, "parser stack mismatch"));
                    };
                    value = Value::Array(items);
                }
                Some(Open::Hash(hash, key)) => {
                    hash.insert(std::mem::replace(key, Key::from(String::new())), value);
                    if !list_continues(lexer, &Token::RBrace, "`}`")? {
                        *key = entry_key(lexer)?;
                        break;
                    }
                    let Some(Open::Hash(hash, _)) = stack.pop() else {
                        return Err(malformed(at, "parser stack mismatch"));
                    };
                    value = Value::Hash(hash);
                }
                Some(Open::Ref) => {
                    stack.pop();
                    value = Value::Ref(Box::new(value));
                }
                Some(Open::DoRef) => {
                    expect(lexer, &Token::RParen, "`)`")?;
                    expect(lexer, &Token::RBrace, "`}`")?;
                    stack.pop();
                    value = Value::Ref(Box::new(value));
                }
                Some(Open::Bless) => {
                    expect(lexer, &Token::Comma, "`,` in bless")?;
                    let class_at = lexer.offset();
                    let class = match lexer.next()? {
                        Token::Text(Text::Bytes(b)) => String::from_utf8(b.into_owned())
                            .map_err(|_| malformed(class_at, "class name is not UTF-8"))?,
                        Token::Text(Text::Str(s)) => s,
                        _ => return Err(malformed(class_at, "expected a class name")),
                    };
                    expect(lexer, &Token::RParen, "`)` closing bless")?;
                    if !matches!(value, Value::Array(_) | Value::Hash(_) | Value::Ref(_)) {
                        return Err(malformed(at, format!("cannot bless a {}", value.kind())));
                    }
                    stack.pop();
                    value = Value::blessed(class, value);
                }
            }
        }
    }
}

fn open(stack: &mut Vec<Open>, frame: Open, budget: &mut Budget) -> Result<(), ThawError> {
    budget.check_depth(stack.len() + 1)?;
    budget.take_elements(1)?;
    stack.push(frame);
    Ok(())
}

/// After an element: `true` if the list closed (with `close`), `false` if
/// another element follows a `,`. A trailing comma is allowed.
fn list_continues(lexer: &mut Lexer<'_>, close: &Token<'_>, what: &str) -> Result<bool, ThawError> {
    let at = lexer.offset();
    let token = lexer.next()?;
    if &token == close {
        return Ok(true);
    }
    if token != Token::Comma {
        return Err(malformed(
            at,
            format!("expected `,` or {what}, found {}", describe(&token)),
        ));
    }
    if &lexer.peek()? == close {
        lexer.next()?;
        return Ok(true);
    }
    Ok(false)
}

/// `KEY =>` at the start of a hash entry.
fn entry_key(lexer: &mut Lexer<'_>) -> Result<Key, ThawError> {
    let key = hash_key(lexer)?;
    expect(lexer, &Token::FatComma, "`=>`")?;
    Ok(key)
}

/// After `do`: `{my $o}` (returns `false`) or `{\(my $o =` (returns `true`:
/// the value and `)}` follow).
fn do_block(lexer: &mut Lexer<'_>) -> Result<bool, ThawError> {
    let at = lexer.offset();
    let refused = || not_data(at, "a do block other than Dumper's `do{my $o}` forms");
    if lexer.next()? != Token::LBrace {
        return Err(refused());
    }
    let with_value = lexer.peek()? == Token::Backslash;
    if with_value {
        lexer.next()?;
        if lexer.next()? != Token::LParen {
            return Err(refused());
        }
    }
    if lexer.next()? != Token::Word("my") || lexer.next()? != Token::Var("o") {
        return Err(refused());
    }
    let next = lexer.next()?;
    match (with_value, next) {
        (false, Token::RBrace) => Ok(false),
        (true, Token::Assign) => Ok(true),
        _ => Err(refused()),
    }
}

/// A scalar literal.
fn scalar(token: Token<'_>, at: usize, budget: &Budget) -> Result<Value, ThawError> {
    Ok(match token {
        Token::Word("undef") => Value::Undef,
        Token::Number(text) => match parse_number(text.as_bytes()) {
            Some(Number::Int(i)) => Value::Int(i),
            Some(Number::UInt(u)) => Value::UInt(u),
            Some(Number::Float(f)) => Value::Float(f),
            None => return Err(malformed(at, format!("bad number {text}"))),
        },
        Token::Text(Text::Bytes(b)) => {
            budget.check_string(b.len())?;
            Value::Bytes(b.into_owned())
        }
        Token::Text(Text::Str(s)) => {
            budget.check_string(s.len())?;
            Value::Str(s)
        }
        Token::Word(
            word @ ("sub" | "qr" | "qw" | "q" | "qq" | "eval" | "require" | "use" | "do"),
        ) => {
            return Err(not_data(at, &format!("`{word}`")));
        }
        Token::Word(word) => return Err(not_data(at, &format!("the bareword or call `{word}`"))),
        Token::Var(_) | Token::DerefBlock | Token::DerefVar => {
            return Err(not_data(
                at,
                "a reference to the value being built inside its own literal",
            ));
        }
        other => {
            return Err(malformed(
                at,
                format!("expected a value, found {}", describe(&other)),
            ));
        }
    })
}
