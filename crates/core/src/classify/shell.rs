//! A quote-aware parser for the subset of bash the classifier needs.
//!
//! It is a hand-written, single-pass recursive-descent parser: lists and pipelines are parsed
//! iteratively, and recursion happens only at real nesting (`( )`, `{ }`, `$( )`, backticks,
//! `<( )`, `${ }`, `$(( ))`), capped at [`MAX_DEPTH`]. Anything it does not understand is a
//! [`ParseError`], which the classifier turns into "ask", never "allow".
//!
//! Words come out cooked (quotes removed, escapes applied), with a `dynamic` flag when an
//! expansion makes their runtime value unknowable; the parsed bodies of command substitutions
//! travel with the word so they can be graded too. Heredoc bodies are attached to their redirect.
//! This is deliberately not a full bash grammar: control-flow keywords are skipped rather than
//! structured, because the classifier grades every command wherever it sits.

use std::fmt;

/// Nesting cap for groups, substitutions and parameter expansions.
pub const MAX_DEPTH: usize = 32;
/// Longest command line we try to understand.
pub const MAX_INPUT: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    TooLong,
    TooDeep,
    Unterminated(&'static str),
    Unexpected(&'static str),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::TooLong => write!(f, "command is longer than {MAX_INPUT} bytes"),
            ParseError::TooDeep => write!(f, "nesting deeper than {MAX_DEPTH} levels"),
            ParseError::Unterminated(what) => write!(f, "unterminated {what}"),
            ParseError::Unexpected(what) => write!(f, "unexpected {what}"),
        }
    }
}

type PResult<T> = Result<T, ParseError>;

/// A command list: everything separated by `;`, `&`, `&&`, `||` or newlines.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Script {
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub pipeline: Pipeline,
    /// Followed by a single `&`.
    pub background: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pipeline {
    pub stages: Vec<Command>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Simple(SimpleCommand),
    /// `( … )`, `{ …; }` or the clauses of a `case`.
    Group {
        body: Script,
        redirects: Vec<Redirect>,
    },
    /// `name() body` or `function name body`.
    Function {
        name: String,
        body: Box<Command>,
    },
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SimpleCommand {
    /// Leading `NAME=value` words.
    pub assigns: Vec<Word>,
    pub words: Vec<Word>,
    pub redirects: Vec<Redirect>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Word {
    /// Cooked text. Expansions keep their raw source (`$HOME`, `$(…)`) so the text can be shown
    /// or parsed again.
    pub text: String,
    /// Contains a parameter, command or arithmetic expansion.
    pub dynamic: bool,
    /// Some part was quoted or escaped.
    pub quoted: bool,
    /// Parsed bodies of `$( )`, backticks and `<( )` / `>( )` inside the word.
    pub subs: Vec<Script>,
    /// Where each substitution's raw source sits in `text`: (index into `subs`, start, end), so
    /// a substitution whose output is known can be folded into the text.
    pub sub_spans: Vec<(usize, usize, usize)>,
    /// The elements of an array assignment (`a=(rm -rf /)`), when none is a command
    /// substitution; parameter expansions are kept as written (`$HOME`).
    pub array: Option<Vec<String>>,
    /// An expansion outside quotes (`$c"f"`): its value is split into fields even though
    /// another part of the word is quoted.
    pub unquoted_expansion: bool,
    /// Byte length of the leading plain (unquoted, unexpanded) part of `text`.
    plain_prefix: usize,
}

impl Word {
    /// A static, unquoted word (used when the classifier rebuilds words after expansion).
    pub fn literal(text: &str) -> Word {
        Word {
            text: text.to_owned(),
            plain_prefix: text.len(),
            ..Word::default()
        }
    }

    /// `NAME=…` or `NAME+=…` with an unquoted name.
    pub fn is_assignment(&self) -> bool {
        // Only the plain prefix can hold the name and its `=` (this runs for every word).
        let prefix = &self.text.as_bytes()[..self.plain_prefix.min(self.text.len())];
        let Some(eq) = prefix.iter().position(|&b| b == b'=') else {
            return false;
        };
        let name = self.text[..eq]
            .strip_suffix('+')
            .unwrap_or(&self.text[..eq]);
        let mut chars = name.chars();
        matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirKind {
    /// `<`
    Input,
    /// `>` or `>|`
    Output,
    /// `>>`
    Append,
    /// `&>`, `>&file`
    OutErr,
    /// `&>>`
    OutErrAppend,
    /// `<>`
    ReadWrite,
    /// `>&2`, `2>&1`, `>&-`: not a file.
    DupOut,
    /// `<&3`
    DupIn,
    /// `<<` / `<<-`; the target is the body.
    HereDoc,
    /// `<<<`; the target is the string.
    HereString,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Redirect {
    pub fd: Option<u32>,
    pub kind: RedirKind,
    pub target: Word,
    heredoc: Option<usize>,
}

impl Redirect {
    /// Opens `target` as a file for writing.
    pub fn writes_file(&self) -> bool {
        matches!(
            self.kind,
            RedirKind::Output
                | RedirKind::Append
                | RedirKind::OutErr
                | RedirKind::OutErrAppend
                | RedirKind::ReadWrite
        )
    }

    /// Feeds text to the command's stdin (heredoc or here-string).
    pub fn feeds_stdin(&self) -> bool {
        matches!(self.kind, RedirKind::HereDoc | RedirKind::HereString)
    }
}

/// Parses a whole command line.
pub fn parse(src: &str) -> PResult<Script> {
    parse_at_depth(src, 0)
}

/// Parses text found inside another construct (`bash -c`, `eval`, backticks) without resetting
/// the nesting budget.
pub fn parse_at_depth(src: &str, depth: usize) -> PResult<Script> {
    if src.len() > MAX_INPUT {
        return Err(ParseError::TooLong);
    }
    if depth > MAX_DEPTH {
        return Err(ParseError::TooDeep);
    }
    let mut p = Parser {
        src: src.as_bytes(),
        pos: 0,
        depth,
        bodies: Vec::new(),
        pending: Vec::new(),
    };
    let mut script = p.parse_list(Term::Eof)?;
    // A heredoc whose body never started (no newline after the operator) has an empty body.
    p.read_heredocs()?;
    if !p.bodies.is_empty() {
        attach_script(&mut script, &mut p.bodies);
    }
    Ok(script)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Term {
    Eof,
    Paren,
    Brace,
    Case,
}

struct PendingHeredoc {
    id: usize,
    delim: Vec<u8>,
    strip_tabs: bool,
    quoted: bool,
}

struct Parser<'s> {
    src: &'s [u8],
    pos: usize,
    depth: usize,
    bodies: Vec<Option<Word>>,
    pending: Vec<PendingHeredoc>,
}

fn is_meta(c: u8) -> bool {
    matches!(
        c,
        b' ' | b'\t' | b'\n' | b'\r' | b';' | b'&' | b'|' | b'(' | b')' | b'<' | b'>'
    )
}

/// Words that only structure control flow; the commands around them are what we grade.
const PREFIX_KEYWORDS: [&str; 10] = [
    "if", "then", "else", "elif", "while", "until", "do", "!", "time", "coproc",
];
const END_KEYWORDS: [&str; 3] = ["fi", "done", "esac"];

impl<'s> Parser<'s> {
    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn peek_at(&self, off: usize) -> Option<u8> {
        self.src.get(self.pos + off).copied()
    }

    fn starts_with(&self, s: &str) -> bool {
        self.src[self.pos..].starts_with(s.as_bytes())
    }

    /// `kw` as a whole unquoted word at the cursor.
    fn at_word(&self, kw: &str) -> bool {
        self.starts_with(kw)
            && self
                .src
                .get(self.pos + kw.len())
                .is_none_or(|&c| is_meta(c))
    }

    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        if self.depth >= MAX_DEPTH {
            return Err(ParseError::TooDeep);
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }

    /// Skips blanks, line continuations and comments, but not newlines.
    fn skip_blanks(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\r' => self.pos += 1,
                b'\\' if self.peek_at(1) == Some(b'\n') => self.pos += 2,
                b'#' => {
                    while self.peek().is_some_and(|c| c != b'\n') {
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
    }

    fn skip_blanks_and_newlines(&mut self) -> PResult<()> {
        loop {
            self.skip_blanks();
            if self.peek() == Some(b'\n') {
                self.pos += 1;
                self.read_heredocs()?;
            } else {
                return Ok(());
            }
        }
    }

    fn parse_list(&mut self, term: Term) -> PResult<Script> {
        let mut script = Script::default();
        loop {
            self.skip_blanks();
            match self.peek() {
                None if term == Term::Eof => return Ok(script),
                None => return Err(ParseError::Unterminated(term_name(term))),
                Some(b'\n') => {
                    self.pos += 1;
                    self.read_heredocs()?;
                    continue;
                }
                Some(b';') => {
                    if term == Term::Case && matches!(self.peek_at(1), Some(b';' | b'&')) {
                        return Ok(script);
                    }
                    self.pos += 1;
                    continue;
                }
                Some(b')') if term == Term::Paren => {
                    self.pos += 1;
                    return Ok(script);
                }
                Some(b')') => return Err(ParseError::Unexpected("`)`")),
                _ => {}
            }
            if term == Term::Brace && self.at_word("}") {
                self.pos += 1;
                return Ok(script);
            }
            if term == Term::Case && self.at_word("esac") {
                return Ok(script);
            }
            let pipeline = self.parse_pipeline()?;
            self.skip_blanks();
            let mut background = false;
            match (self.peek(), self.peek_at(1)) {
                (Some(b'&'), Some(b'&')) | (Some(b'|'), Some(b'|')) => self.pos += 2,
                (Some(b'&'), _) => {
                    self.pos += 1;
                    background = true;
                }
                (Some(b';'), Some(b';' | b'&')) if term == Term::Case => {}
                (Some(b';'), _) => self.pos += 1,
                (None | Some(b'\n' | b')'), _) => {}
                _ if term == Term::Brace && self.at_word("}") => {}
                _ => return Err(ParseError::Unexpected("token after command")),
            }
            if !pipeline.stages.is_empty() {
                script.items.push(Item {
                    pipeline,
                    background,
                });
            }
        }
    }

    fn parse_pipeline(&mut self) -> PResult<Pipeline> {
        let mut pipeline = Pipeline::default();
        loop {
            if let Some(cmd) = self.parse_command()? {
                pipeline.stages.push(cmd);
            }
            self.skip_blanks();
            if self.peek() == Some(b'|') && self.peek_at(1) != Some(b'|') {
                self.pos += 1;
                if self.peek() == Some(b'&') {
                    self.pos += 1; // `|&`
                }
                self.skip_blanks_and_newlines()?;
                if matches!(self.peek(), None | Some(b';' | b'&' | b'|' | b')')) {
                    return Err(ParseError::Unexpected("end of pipeline"));
                }
                continue;
            }
            return Ok(pipeline);
        }
    }

    fn parse_command(&mut self) -> PResult<Option<Command>> {
        loop {
            self.skip_blanks();
            // Only a word starting like a keyword can be one (saves ~13 compares per command).
            let c0 = self.peek();
            let maybe_prefix = matches!(
                c0,
                Some(b'i' | b't' | b'e' | b'w' | b'u' | b'd' | b'!' | b'c')
            );
            let maybe_end = matches!(c0, Some(b'f' | b'd' | b'e'));
            if let Some(kw) = PREFIX_KEYWORDS
                .iter()
                .filter(|_| maybe_prefix)
                .find(|kw| self.at_word(kw))
            {
                self.pos += kw.len();
                if *kw == "coproc" {
                    return self.parse_coproc();
                }
                if *kw == "time" {
                    self.skip_blanks();
                    if self.at_word("-p") {
                        self.pos += 2;
                    }
                }
                continue;
            }
            if let Some(kw) = END_KEYWORDS
                .iter()
                .filter(|_| maybe_end)
                .find(|kw| self.at_word(kw))
            {
                self.pos += kw.len();
                // `done < file`, `fi > log`: keep the redirects, they still open files.
                let redirects = self.parse_trailing_redirects()?;
                return Ok((!redirects.is_empty()).then(|| {
                    Command::Simple(SimpleCommand {
                        redirects,
                        ..SimpleCommand::default()
                    })
                }));
            }
            break;
        }
        match self.peek() {
            None | Some(b'\n' | b';' | b'&' | b'|' | b')') => Ok(None),
            Some(b'(') if self.peek_at(1) == Some(b'(') => {
                self.pos += 2;
                self.refuse_ambiguous_arith()?;
                let mut w = Word::default();
                self.nested(|p| p.parse_arith(&mut w))?;
                Ok(Some(simple_with(Word::literal("(("), w)))
            }
            Some(b'(') => {
                self.pos += 1;
                let body = self.nested(|p| p.parse_list(Term::Paren))?;
                let redirects = self.parse_trailing_redirects()?;
                Ok(Some(Command::Group { body, redirects }))
            }
            _ if self.at_word("{") => {
                self.pos += 1;
                let body = self.nested(|p| p.parse_list(Term::Brace))?;
                let redirects = self.parse_trailing_redirects()?;
                Ok(Some(Command::Group { body, redirects }))
            }
            _ if self.at_word("[[") => self.parse_conditional().map(Some),
            _ if self.at_word("case") => self.parse_case().map(Some),
            _ if self.at_word("function") => {
                self.pos += "function".len();
                self.skip_blanks();
                let name = self.parse_word()?;
                self.skip_blanks();
                if self.starts_with("()") {
                    self.pos += 2;
                }
                self.parse_function_body(name.text).map(Some)
            }
            _ => self.parse_simple().map(Some),
        }
    }

    fn parse_function_body(&mut self, name: String) -> PResult<Command> {
        self.skip_blanks_and_newlines()?;
        let body = self
            .nested(|p| p.parse_command())?
            .ok_or(ParseError::Unexpected("missing function body"))?;
        Ok(Command::Function {
            name,
            body: Box::new(body),
        })
    }

    fn parse_trailing_redirects(&mut self) -> PResult<Vec<Redirect>> {
        let mut out = Vec::new();
        loop {
            self.skip_blanks();
            match self.try_redirect()? {
                Some(r) => out.push(r),
                None => return Ok(out),
            }
        }
    }

    fn parse_simple(&mut self) -> PResult<Command> {
        let mut cmd = SimpleCommand::default();
        loop {
            self.skip_blanks();
            let Some(c) = self.peek() else { break };
            if let Some(r) = self.try_redirect()? {
                cmd.redirects.push(r);
                continue;
            }
            match c {
                b'\n' | b';' | b'&' | b'|' | b')' => break,
                b'(' => {
                    // `name() body`: a function definition.
                    let only_name = cmd.words.len() == 1 && cmd.assigns.is_empty();
                    self.pos += 1;
                    self.skip_blanks();
                    if only_name && self.peek() == Some(b')') {
                        self.pos += 1;
                        let name = cmd.words.pop().map(|w| w.text).unwrap_or_default();
                        return self.parse_function_body(name);
                    }
                    return Err(ParseError::Unexpected("`(`"));
                }
                _ => {}
            }
            let start = self.pos;
            let mut word = self.parse_word()?;
            if self.pos == start {
                return Err(ParseError::Unexpected("character"));
            }
            if cmd.words.is_empty() && word.is_assignment() {
                if word.text.ends_with('=') && self.peek() == Some(b'(') {
                    self.pos += 1;
                    self.parse_array(&mut word)?;
                }
                cmd.assigns.push(word);
            } else if word.is_assignment()
                && word.text.ends_with('=')
                && self.peek() == Some(b'(')
                && cmd.words.first().is_some_and(|w| {
                    matches!(
                        w.text.as_str(),
                        "declare" | "typeset" | "local" | "export" | "readonly"
                    )
                })
            {
                // `declare -A m=([a]=1)`: an array assignment as the builtin's argument.
                self.pos += 1;
                self.parse_array(&mut word)?;
                cmd.words.push(word);
            } else {
                cmd.words.push(word);
            }
        }
        Ok(Command::Simple(cmd))
    }

    /// `name=( a b c )`: the elements only matter for the substitutions they contain.
    fn parse_array(&mut self, into: &mut Word) -> PResult<()> {
        let mut elems = Some(Vec::new());
        loop {
            self.skip_blanks_and_newlines()?;
            match self.peek() {
                None => return Err(ParseError::Unterminated("array")),
                Some(b')') => {
                    self.pos += 1;
                    into.dynamic = true;
                    into.array = elems;
                    return Ok(());
                }
                _ => {
                    let start = self.pos;
                    let w = self.parse_word()?;
                    if self.pos == start {
                        return Err(ParseError::Unexpected("character in array"));
                    }
                    // Parameter expansions stay in the text (`$HOME`) for the walker to fill
                    // in; a command substitution makes the array unknown.
                    if !w.subs.is_empty() || elems.as_ref().is_some_and(|e| e.len() >= 256) {
                        elems = None;
                    } else if let Some(e) = elems.as_mut() {
                        e.push(w.text.clone());
                    }
                    into.subs.extend(w.subs);
                }
            }
        }
    }

    /// `[[ … ]]`: operators inside are words, not list separators.
    fn parse_conditional(&mut self) -> PResult<Command> {
        self.pos += 2;
        let mut cmd = SimpleCommand {
            words: vec![Word::literal("[[")],
            ..SimpleCommand::default()
        };
        loop {
            self.skip_blanks_and_newlines()?;
            if self.at_word("]]") {
                self.pos += 2;
                break;
            }
            match self.peek() {
                None => return Err(ParseError::Unterminated("`[[`")),
                Some(c @ (b'&' | b'|' | b'<' | b'>' | b'(' | b')' | b';')) => {
                    self.pos += 1;
                    if self.peek() == Some(c) {
                        self.pos += 1;
                    }
                }
                _ => {
                    let start = self.pos;
                    let w = self.parse_word()?;
                    if self.pos == start {
                        return Err(ParseError::Unexpected("character in `[[`"));
                    }
                    cmd.words.push(w);
                }
            }
        }
        cmd.redirects = self.parse_trailing_redirects()?;
        Ok(Command::Simple(cmd))
    }

    /// `case WORD in pat) list ;; … esac`, flattened into one group.
    fn parse_case(&mut self) -> PResult<Command> {
        self.pos += "case".len();
        self.skip_blanks();
        let mut subject = self.parse_word()?;
        let mut body = Script::default();
        self.skip_blanks_and_newlines()?;
        if !self.at_word("in") {
            return Err(ParseError::Unexpected("case without `in`"));
        }
        self.pos += 2;
        loop {
            self.skip_blanks_and_newlines()?;
            if self.at_word("esac") {
                self.pos += 4;
                break;
            }
            if self.peek() == Some(b'(') {
                self.pos += 1;
            }
            // Patterns up to `)`.
            loop {
                self.skip_blanks();
                match self.peek() {
                    None => return Err(ParseError::Unterminated("case")),
                    Some(b')') => {
                        self.pos += 1;
                        break;
                    }
                    Some(b'|') => self.pos += 1,
                    _ => {
                        let start = self.pos;
                        let w = self.parse_word()?;
                        if self.pos == start {
                            return Err(ParseError::Unexpected("character in case pattern"));
                        }
                        subject.subs.extend(w.subs);
                    }
                }
            }
            let clause = self.nested(|p| p.parse_list(Term::Case))?;
            body.items.extend(clause.items);
            if self.starts_with(";;&") {
                self.pos += 3;
            } else if self.starts_with(";;") || self.starts_with(";&") {
                self.pos += 2;
            }
        }
        // The subject (and substitutions in patterns) are evaluated first.
        body.items.insert(
            0,
            Item {
                pipeline: Pipeline {
                    stages: vec![simple_with(Word::literal("case"), subject)],
                },
                background: false,
            },
        );
        let redirects = self.parse_trailing_redirects()?;
        Ok(Command::Group { body, redirects })
    }

    /// A redirection at the cursor, or `None` (cursor unchanged) when there is none.
    fn try_redirect(&mut self) -> PResult<Option<Redirect>> {
        let start = self.pos;
        let digits = self.src[start..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        let rest = &self.src[start + digits..];
        let (kind, len, strip_tabs) = if digits == 0 && rest.starts_with(b"&>>") {
            (RedirKind::OutErrAppend, 3, false)
        } else if digits == 0 && rest.starts_with(b"&>") {
            (RedirKind::OutErr, 2, false)
        } else if rest.starts_with(b"<<<") {
            (RedirKind::HereString, 3, false)
        } else if rest.starts_with(b"<<-") {
            (RedirKind::HereDoc, 3, true)
        } else if rest.starts_with(b"<<") {
            (RedirKind::HereDoc, 2, false)
        } else if rest.starts_with(b"<>") {
            (RedirKind::ReadWrite, 2, false)
        } else if rest.starts_with(b"<&") {
            (RedirKind::DupIn, 2, false)
        } else if rest.starts_with(b">>") {
            (RedirKind::Append, 2, false)
        } else if rest.starts_with(b">|") {
            (RedirKind::Output, 2, false)
        } else if rest.starts_with(b">&") {
            (RedirKind::DupOut, 2, false)
        } else if digits == 0 && (rest.starts_with(b"<(") || rest.starts_with(b">(")) {
            return Ok(None); // process substitution: a word
        } else if rest.starts_with(b"<") {
            (RedirKind::Input, 1, false)
        } else if rest.starts_with(b">") {
            (RedirKind::Output, 1, false)
        } else {
            return Ok(None);
        };
        let fd = if digits > 0 {
            std::str::from_utf8(&self.src[start..start + digits])
                .ok()
                .and_then(|s| s.parse().ok())
        } else {
            None
        };
        self.pos = start + digits + len;
        self.skip_blanks();
        let tstart = self.pos;
        let target = self.parse_word()?;
        if self.pos == tstart {
            return Err(ParseError::Unexpected("redirection without a target"));
        }
        if kind == RedirKind::HereDoc {
            let id = self.bodies.len();
            self.bodies.push(None);
            self.pending.push(PendingHeredoc {
                id,
                delim: target.text.into_bytes(),
                strip_tabs,
                quoted: target.quoted,
            });
            return Ok(Some(Redirect {
                fd,
                kind,
                target: Word::default(),
                heredoc: Some(id),
            }));
        }
        let kind = match kind {
            // `>&file` writes a file; only a number or `-` duplicates a descriptor.
            RedirKind::DupOut
                if target.dynamic
                    || !target.text.bytes().all(|c| c.is_ascii_digit() || c == b'-') =>
            {
                RedirKind::OutErr
            }
            k => k,
        };
        Ok(Some(Redirect {
            fd,
            kind,
            target,
            heredoc: None,
        }))
    }

    /// Reads the bodies of heredocs opened on the line that just ended.
    fn read_heredocs(&mut self) -> PResult<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        for h in pending {
            let mut body: Vec<u8> = Vec::new();
            while self.pos < self.src.len() {
                let end = self.src[self.pos..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(self.src.len(), |i| self.pos + i);
                let mut line = &self.src[self.pos..end];
                self.pos = (end + 1).min(self.src.len());
                if h.strip_tabs {
                    while let [b'\t', rest @ ..] = line {
                        line = rest;
                    }
                }
                if line == h.delim.as_slice() {
                    break;
                }
                body.extend_from_slice(line);
                body.push(b'\n');
            }
            let text = String::from_utf8_lossy(&body);
            let word = if h.quoted {
                Word::literal(&text)
            } else {
                // An unquoted body expands like a double-quoted string.
                self.nested(|p| {
                    let mut sub = Parser {
                        src: text.as_bytes(),
                        pos: 0,
                        depth: p.depth,
                        bodies: Vec::new(),
                        pending: Vec::new(),
                    };
                    let mut w = Word::default();
                    let mut buf = Vec::new();
                    sub.parse_dquoted(&mut w, &mut buf, None)?;
                    w.text = String::from_utf8_lossy(&buf).into_owned();
                    w.quoted = true;
                    Ok(w)
                })?
            };
            self.bodies[h.id] = Some(word);
        }
        Ok(())
    }

    /// One shell word starting at the cursor; empty when the cursor is at a metacharacter.
    /// `<(…)` / `>(…)` at the cursor: its script becomes a substitution of `w`, its source
    /// text stays in the word.
    fn process_substitution(&mut self, w: &mut Word, buf: &mut Vec<u8>) -> PResult<()> {
        let start = self.pos;
        self.pos += 2;
        let body = self.nested(|p| p.parse_list(Term::Paren))?;
        self.push_sub(w, buf, start, body);
        Ok(())
    }

    /// A substitution parsed from `start` to here: its body kept, its raw source copied into
    /// the word's text, and where that source sits.
    fn push_sub(&self, w: &mut Word, buf: &mut Vec<u8>, start: usize, body: Script) {
        w.subs.push(body);
        w.dynamic = true;
        let at = buf.len();
        buf.extend_from_slice(&self.src[start..self.pos]);
        w.sub_spans.push((w.subs.len() - 1, at, buf.len()));
    }

    fn parse_word(&mut self) -> PResult<Word> {
        let mut w = Word::default();
        let mut buf: Vec<u8> = Vec::with_capacity(16);
        let mut plain = true;
        if matches!(self.peek(), Some(b'<' | b'>')) && self.peek_at(1) == Some(b'(') {
            self.process_substitution(&mut w, &mut buf)?;
            plain = false;
        }
        while let Some(c) = self.peek() {
            match c {
                // `BASH_ENV=<(…)`: bash expands a process substitution in an assignment's
                // value (the variable names the pipe).
                b'<' | b'>'
                    if self.peek_at(1) == Some(b'(')
                        && buf.last() == Some(&b'=')
                        && buf.len() > 1
                        && buf[..buf.len() - 1]
                            .iter()
                            .all(|b| b.is_ascii_alphanumeric() || *b == b'_') =>
                {
                    self.process_substitution(&mut w, &mut buf)?;
                    plain = false;
                }
                _ if is_meta(c) => break,
                b'\\' => match self.peek_at(1) {
                    Some(b'\n') => self.pos += 2,
                    Some(n) => {
                        buf.push(n);
                        self.pos += 2;
                        w.quoted = true;
                        plain = false;
                    }
                    None => {
                        buf.push(b'\\');
                        self.pos += 1;
                    }
                },
                b'\'' => {
                    self.pos += 1;
                    let len = self.src[self.pos..]
                        .iter()
                        .position(|&c| c == b'\'')
                        .ok_or(ParseError::Unterminated("single quote"))?;
                    buf.extend_from_slice(&self.src[self.pos..self.pos + len]);
                    self.pos += len + 1;
                    w.quoted = true;
                    plain = false;
                }
                b'"' => {
                    self.pos += 1;
                    self.parse_dquoted(&mut w, &mut buf, Some(b'"'))?;
                    w.quoted = true;
                    plain = false;
                }
                b'$' => {
                    let before = buf.len();
                    let quote_form = matches!(self.peek_at(1), Some(b'\'' | b'"'));
                    self.parse_dollar(&mut w, &mut buf, false)?;
                    if !quote_form && buf.len() > before + 1 {
                        w.unquoted_expansion = true;
                    }
                    // A lone `$` stays plain text.
                    if w.dynamic || w.quoted || buf.len() != before + 1 {
                        plain = false;
                    }
                }
                b'`' => {
                    self.parse_backtick(&mut w, &mut buf)?;
                    w.unquoted_expansion = true;
                    plain = false;
                }
                _ => {
                    // A run of ordinary bytes in one copy.
                    let run = self.src[self.pos..]
                        .iter()
                        .position(|&c| {
                            is_meta(c) || matches!(c, b'\\' | b'\'' | b'"' | b'$' | b'`')
                        })
                        .unwrap_or(self.src.len() - self.pos);
                    buf.extend_from_slice(&self.src[self.pos..self.pos + run]);
                    self.pos += run;
                }
            }
            if plain {
                w.plain_prefix = buf.len();
            }
        }
        w.text = match String::from_utf8(buf) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        if w.quoted && w.plain_prefix == 0 && w.text.starts_with('~') {
            // A quoted `~` is a file of that name, not the home directory (`rm -rf '~'`).
            w.text.insert_str(0, "./");
            w.sub_spans
                .iter_mut()
                .for_each(|s| (s.1, s.2) = (s.1 + 2, s.2 + 2));
        }
        Ok(w)
    }

    /// Double-quoted content up to `term` (or to the end for heredoc bodies).
    fn parse_dquoted(&mut self, w: &mut Word, buf: &mut Vec<u8>, term: Option<u8>) -> PResult<()> {
        loop {
            match self.peek() {
                None if term.is_some() => return Err(ParseError::Unterminated("double quote")),
                None => return Ok(()),
                Some(c) if Some(c) == term => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => match self.peek_at(1) {
                    Some(b'\n') => self.pos += 2,
                    Some(n @ (b'$' | b'`' | b'"' | b'\\')) => {
                        buf.push(n);
                        self.pos += 2;
                    }
                    _ => {
                        buf.push(b'\\');
                        self.pos += 1;
                    }
                },
                Some(b'$') => self.parse_dollar(w, buf, true)?,
                Some(b'`') => self.parse_backtick(w, buf)?,
                Some(c) => {
                    buf.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// `$…` at the cursor: expansions, `$'…'` and `$"…"`.
    fn parse_dollar(&mut self, w: &mut Word, buf: &mut Vec<u8>, in_dq: bool) -> PResult<()> {
        let start = self.pos;
        let mut command_sub = false;
        match self.peek_at(1) {
            Some(b'(') if self.peek_at(2) == Some(b'(') => {
                self.pos += 3;
                self.refuse_ambiguous_arith()?;
                self.nested(|p| p.parse_arith(w))?;
            }
            Some(b'(') => {
                self.pos += 2;
                let body = self.nested(|p| p.parse_list(Term::Paren))?;
                w.subs.push(body);
                command_sub = true;
            }
            Some(b'{') => {
                self.pos += 2;
                self.nested(|p| p.parse_braced_param(w, in_dq))?;
            }
            Some(b'\'') if !in_dq => {
                self.pos += 2;
                self.parse_ansi_c(buf)?;
                w.quoted = true;
                return Ok(());
            }
            Some(b'"') if !in_dq => {
                self.pos += 2;
                self.parse_dquoted(w, buf, Some(b'"'))?;
                w.quoted = true;
                return Ok(());
            }
            Some(c) if c.is_ascii_digit() || b"@*#?$!-".contains(&c) => self.pos += 2,
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => {
                self.pos += 1;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
                {
                    self.pos += 1;
                }
                // `$c"f"` cooks to text where the quoted part would join the name (`$cf`):
                // keep the boundary as `${c}`.
                if matches!(self.peek(), Some(b'"' | b'\'' | b'\\')) {
                    buf.extend_from_slice(b"${");
                    buf.extend_from_slice(&self.src[start + 1..self.pos]);
                    buf.push(b'}');
                    w.dynamic = true;
                    return Ok(());
                }
            }
            _ => {
                buf.push(b'$');
                self.pos += 1;
                return Ok(());
            }
        }
        let at = buf.len();
        buf.extend_from_slice(&self.src[start..self.pos]);
        if command_sub {
            w.sub_spans.push((w.subs.len() - 1, at, buf.len()));
        }
        w.dynamic = true;
        Ok(())
    }

    /// `(((…` could be arithmetic or nested subshells depending on the shell (dash runs
    /// `((cmd))` as subshells); we do not guess.
    fn refuse_ambiguous_arith(&self) -> PResult<()> {
        if self.peek() == Some(b'(') {
            return Err(ParseError::Unexpected("ambiguous `(((`"));
        }
        Ok(())
    }

    /// After `$((` or `((`: up to the matching `))`. Only substitutions inside matter.
    fn parse_arith(&mut self, w: &mut Word) -> PResult<()> {
        let mut depth = 0usize;
        let mut scratch = Vec::new();
        loop {
            match self.peek() {
                None => return Err(ParseError::Unterminated("arithmetic expansion")),
                Some(b'(') => {
                    depth += 1;
                    self.pos += 1;
                }
                Some(b')') if depth > 0 => {
                    depth -= 1;
                    self.pos += 1;
                }
                Some(b')') if self.peek_at(1) == Some(b')') => {
                    self.pos += 2;
                    w.dynamic = true;
                    return Ok(());
                }
                // `$((cmd) …)` is a subshell inside a substitution; refuse rather than guess.
                Some(b')') => return Err(ParseError::Unexpected("`)` in `$((`")),
                Some(b'$') => self.parse_dollar(w, &mut scratch, true)?,
                Some(b'`') => self.parse_backtick(w, &mut scratch)?,
                Some(b'"') => {
                    self.pos += 1;
                    self.parse_dquoted(w, &mut scratch, Some(b'"'))?;
                }
                Some(b'\\') => self.pos = (self.pos + 2).min(self.src.len()),
                Some(_) => self.pos += 1,
            }
            scratch.clear();
        }
    }

    /// After `${`: up to the matching `}`.
    fn parse_braced_param(&mut self, w: &mut Word, in_dq: bool) -> PResult<()> {
        let mut scratch = Vec::new();
        loop {
            match self.peek() {
                None => return Err(ParseError::Unterminated("`${`")),
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'$') => self.parse_dollar(w, &mut scratch, in_dq)?,
                Some(b'`') => self.parse_backtick(w, &mut scratch)?,
                Some(b'"') => {
                    self.pos += 1;
                    self.parse_dquoted(w, &mut scratch, Some(b'"'))?;
                }
                Some(b'\'') if !in_dq => {
                    self.pos += 1;
                    let len = self.src[self.pos..]
                        .iter()
                        .position(|&c| c == b'\'')
                        .ok_or(ParseError::Unterminated("single quote"))?;
                    self.pos += len + 1;
                }
                Some(b'\\') => self.pos = (self.pos + 2).min(self.src.len()),
                Some(_) => self.pos += 1,
            }
            scratch.clear();
        }
    }

    /// `` `…` ``: unescape, then parse the inside as its own script.
    fn parse_backtick(&mut self, w: &mut Word, buf: &mut Vec<u8>) -> PResult<()> {
        let start = self.pos;
        self.pos += 1;
        let mut inner = Vec::new();
        loop {
            match self.peek() {
                None => return Err(ParseError::Unterminated("backtick")),
                Some(b'`') => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') if matches!(self.peek_at(1), Some(b'`' | b'$' | b'\\')) => {
                    inner.push(self.src[self.pos + 1]);
                    self.pos += 2;
                }
                Some(c) => {
                    inner.push(c);
                    self.pos += 1;
                }
            }
        }
        let text = String::from_utf8_lossy(&inner);
        let body = parse_at_depth(&text, self.depth + 1)?;
        self.push_sub(w, buf, start, body);
        Ok(())
    }

    /// After `$'`: ANSI-C quoting, decoded so `$'\x72\x6d'` reads as `rm`.
    fn parse_ansi_c(&mut self, buf: &mut Vec<u8>) -> PResult<()> {
        loop {
            let c = self.peek().ok_or(ParseError::Unterminated("`$'` quote"))?;
            self.pos += 1;
            match c {
                b'\'' => return Ok(()),
                b'\\' => {
                    let e = self.peek().ok_or(ParseError::Unterminated("`$'` quote"))?;
                    self.pos += 1;
                    match e {
                        b'n' => buf.push(b'\n'),
                        b't' => buf.push(b'\t'),
                        b'r' => buf.push(b'\r'),
                        b'a' => buf.push(7),
                        b'b' => buf.push(8),
                        b'e' | b'E' => buf.push(27),
                        b'f' => buf.push(12),
                        b'v' => buf.push(11),
                        b'x' => {
                            let v = self.take_radix(16, 2);
                            buf.push(v.unwrap_or(b'x' as u32) as u8);
                        }
                        b'u' | b'U' => {
                            let max = if e == b'u' { 4 } else { 8 };
                            match self.take_radix(16, max).and_then(char::from_u32) {
                                Some(ch) => {
                                    let mut tmp = [0u8; 4];
                                    buf.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
                                }
                                None => buf.push(e),
                            }
                        }
                        b'0'..=b'7' => {
                            self.pos -= 1;
                            let v = self.take_radix(8, 3).unwrap_or(0);
                            buf.push(v as u8);
                        }
                        b'c' => {
                            if let Some(x) = self.peek() {
                                self.pos += 1;
                                buf.push(x & 0x1f);
                            }
                        }
                        other => buf.push(other),
                    }
                }
                other => buf.push(other),
            }
        }
    }

    fn take_radix(&mut self, radix: u32, max: usize) -> Option<u32> {
        let mut v: u32 = 0;
        let mut n = 0;
        while n < max {
            let Some(d) = self.peek().and_then(|c| (c as char).to_digit(radix)) else {
                break;
            };
            v = v * radix + d;
            self.pos += 1;
            n += 1;
        }
        (n > 0).then_some(v)
    }
}

fn term_name(term: Term) -> &'static str {
    match term {
        Term::Eof => "input",
        Term::Paren => "`(`",
        Term::Brace => "`{`",
        Term::Case => "case",
    }
}

impl Parser<'_> {
    /// `coproc [NAME] CMD`: CMD runs in the background reading what later commands write to
    /// its pipe (`>&${COPROC[1]}`), so it is modelled as the last stage of a pipeline whose
    /// input is unknown: a shell there runs text that cannot be checked.
    fn parse_coproc(&mut self) -> PResult<Option<Command>> {
        self.skip_blanks();
        // A NAME only comes before a compound command.
        let rest = &self.src[self.pos..];
        let name_len = rest
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .count();
        if name_len > 0 {
            let after = rest[name_len..]
                .iter()
                .position(|b| !matches!(b, b' ' | b'\t'));
            if after.is_some_and(|a| matches!(rest[name_len + a], b'{' | b'(')) {
                self.pos += name_len;
            }
        }
        let Some(inner) = self.nested(|p| p.parse_command())? else {
            return Ok(None);
        };
        let feeder = Command::Simple(SimpleCommand {
            words: vec![Word::literal(":")],
            ..SimpleCommand::default()
        });
        Ok(Some(Command::Group {
            body: Script {
                items: vec![Item {
                    pipeline: Pipeline {
                        stages: vec![feeder, inner],
                    },
                    background: true,
                }],
            },
            redirects: Vec::new(),
        }))
    }
}

fn simple_with(first: Word, second: Word) -> Command {
    Command::Simple(SimpleCommand {
        words: vec![first, second],
        ..SimpleCommand::default()
    })
}

/// Moves heredoc bodies (read after their command was built) into the redirects.
fn attach_script(s: &mut Script, bodies: &mut [Option<Word>]) {
    for item in &mut s.items {
        for cmd in &mut item.pipeline.stages {
            attach_command(cmd, bodies);
        }
    }
}

fn attach_command(c: &mut Command, bodies: &mut [Option<Word>]) {
    match c {
        Command::Simple(sc) => {
            for w in sc.assigns.iter_mut().chain(sc.words.iter_mut()) {
                attach_word(w, bodies);
            }
            attach_redirects(&mut sc.redirects, bodies);
        }
        Command::Group { body, redirects } => {
            attach_script(body, bodies);
            attach_redirects(redirects, bodies);
        }
        Command::Function { body, .. } => attach_command(body, bodies),
    }
}

fn attach_word(w: &mut Word, bodies: &mut [Option<Word>]) {
    for s in &mut w.subs {
        attach_script(s, bodies);
    }
}

fn attach_redirects(rs: &mut [Redirect], bodies: &mut [Option<Word>]) {
    for r in rs {
        if let Some(id) = r.heredoc.take() {
            if let Some(body) = bodies.get_mut(id).and_then(Option::take) {
                r.target = body;
            }
        }
        attach_word(&mut r.target, bodies);
    }
}

/// Visits every simple command of a script, substitutions included, depth first.
pub fn for_each_simple(s: &Script, f: &mut dyn FnMut(&SimpleCommand)) {
    for item in &s.items {
        for cmd in &item.pipeline.stages {
            for_each_simple_in(cmd, f);
        }
    }
}

fn for_each_simple_in(c: &Command, f: &mut dyn FnMut(&SimpleCommand)) {
    match c {
        Command::Simple(sc) => {
            f(sc);
            let words = sc.assigns.iter().chain(&sc.words);
            for w in words.chain(sc.redirects.iter().map(|r| &r.target)) {
                for sub in &w.subs {
                    for_each_simple(sub, f);
                }
            }
        }
        Command::Group { body, .. } => for_each_simple(body, f),
        Command::Function { body, .. } => for_each_simple_in(body, f),
    }
}

/// `t` as one shell word, quoted only when it must be. Globs and a leading `~` stay
/// unquoted: the words requoted here were expanded already, and grading must see what a shell
/// would (`rm -rf ~`, `rm -rf *`).
pub(crate) fn quote(t: &str) -> String {
    if !t.is_empty()
        && t.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-_./=:,+@%~*?".contains(&c))
    {
        return t.to_owned();
    }
    match t.strip_prefix("~/") {
        Some(rest) => format!("~/{}", quote_rest(rest)),
        None => quote_rest(t),
    }
}

/// An argv joined back into one command line, each word quoted as `quote` does.
pub(crate) fn join_argv(words: &[&str]) -> String {
    words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
}

fn quote_rest(t: &str) -> String {
    format!("'{}'", t.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The words of every simple command, substitutions included, as `a b c`.
    fn commands(src: &str) -> Vec<String> {
        let script = parse(src).unwrap_or_else(|e| panic!("{src:?}: {e}"));
        let mut out = Vec::new();
        for_each_simple(&script, &mut |sc| {
            if !sc.words.is_empty() {
                out.push(
                    sc.words
                        .iter()
                        .map(|w| w.text.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                );
            }
        });
        out
    }

    #[test]
    fn splits_lists_and_pipelines() {
        let cases: &[(&str, &[&str])] = &[
            ("ls -la", &["ls -la"]),
            ("a && b || c; d & e\nf", &["a", "b", "c", "d", "e", "f"]),
            ("a | b |& c", &["a", "b", "c"]),
            ("echo 'a;b' \"c|d\" e\\;f", &["echo a;b c|d e;f"]),
            ("\\rm -rf /", &["rm -rf /"]),
            ("r''m \"-\"rf /", &["rm -rf /"]),
            ("echo $'\\x72\\x6d' $'a\\tb'", &["echo rm a\tb"]),
            ("echo $(rm -rf /)", &["echo $(rm -rf /)", "rm -rf /"]),
            ("echo `rm -rf /`", &["echo `rm -rf /`", "rm -rf /"]),
            ("echo \"$(a; b)\"", &["echo $(a; b)", "a", "b"]),
            ("echo '$(rm -rf /)'", &["echo $(rm -rf /)"]),
            ("(cd x && make) | tee log", &["cd x", "make", "tee log"]),
            ("{ a; b; } > out", &["a", "b"]),
            (
                "diff <(ls a) <(ls b)",
                &["diff <(ls a) <(ls b)", "ls a", "ls b"],
            ),
            ("if true; then rm x; fi", &["true", "rm x"]),
            ("for f in *.c; do cc $f; done", &["for f in *.c", "cc $f"]),
            ("while read l; do echo $l; done < f", &["read l", "echo $l"]),
            (
                "case $x in a|b) rm a;; *) ls;; esac",
                &["case $x", "rm a", "ls"],
            ),
            ("[[ -f a && -d b ]] && ls", &["[[ -f a -d b", "ls"]),
            ("echo {x && rm -rf /", &["echo {x", "rm -rf /"]),
            (
                "echo $(a}b; rm -rf /)",
                &["echo $(a}b; rm -rf /)", "a}b", "rm -rf /"],
            ),
            (
                "echo ${x:-$(rm -rf /)}",
                &["echo ${x:-$(rm -rf /)}", "rm -rf /"],
            ),
            (
                "echo $(( $(rm -rf /) + 1 ))",
                &["echo $(( $(rm -rf /) + 1 ))", "rm -rf /"],
            ),
            ("ls # && rm -rf /", &["ls"]),
            ("a=(x $(rm -rf /)) ls", &["ls", "rm -rf /"]),
            ("line \\\n continued", &["line continued"]),
            ("f() { rm -rf /; }; f", &["rm -rf /", "f"]),
            ("function g { ls; }", &["ls"]),
        ];
        for (src, want) in cases {
            assert_eq!(commands(src), *want, "{src:?}");
        }
    }

    #[test]
    fn redirections_and_assignments() {
        let s = parse("FOO=1 BAR=\"x y\" cmd a 2>&1 >out 2>>err &>both <in >&2 3<&0").unwrap();
        let Command::Simple(sc) = &s.items[0].pipeline.stages[0] else {
            panic!("not simple")
        };
        assert_eq!(sc.assigns.len(), 2);
        assert_eq!(sc.words.len(), 2);
        let kinds: Vec<_> = sc
            .redirects
            .iter()
            .map(|r| (r.kind, r.target.text.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                (RedirKind::DupOut, "1"),
                (RedirKind::Output, "out"),
                (RedirKind::Append, "err"),
                (RedirKind::OutErr, "both"),
                (RedirKind::Input, "in"),
                (RedirKind::DupOut, "2"),
                (RedirKind::DupIn, "0"),
            ]
        );
        let s = parse("\"A\"=b").unwrap();
        let Command::Simple(sc) = &s.items[0].pipeline.stages[0] else {
            panic!()
        };
        assert!(
            sc.assigns.is_empty(),
            "a quoted name is a command, not an assignment"
        );
    }

    #[test]
    fn heredocs_are_bodies_not_commands() {
        let src = "git commit -m \"$(cat <<'EOF'\nFix it; rm -rf / isn't run\nEOF\n)\" && ls";
        assert_eq!(
            commands(src),
            [
                "git commit -m $(cat <<'EOF'\nFix it; rm -rf / isn't run\nEOF\n)",
                "cat",
                "ls"
            ]
        );
        let s = parse("bash <<EOF\nrm -rf $(echo /)\nEOF").unwrap();
        let Command::Simple(sc) = &s.items[0].pipeline.stages[0] else {
            panic!()
        };
        assert_eq!(sc.redirects[0].target.text, "rm -rf $(echo /)\n");
        assert_eq!(sc.redirects[0].target.subs.len(), 1);
        let s = parse("cat <<-A <<B\n\tone\n\tA\ntwo\nB\necho done").unwrap();
        assert_eq!(s.items.len(), 2);
    }

    #[test]
    fn errors_fail_closed() {
        for src in [
            "echo 'unterminated",
            "echo \"unterminated",
            "echo $(ls",
            "echo `ls",
            "( ls",
            "{ ls",
            "ls )",
            "echo ${x",
            "ls |",
            "echo (x)",
            "cat >",
            "$((ls) )",
        ] {
            assert!(parse(src).is_err(), "{src:?} should not parse");
        }
        let deep = "$(".repeat(MAX_DEPTH + 2) + &")".repeat(MAX_DEPTH + 2);
        assert_eq!(parse(&deep), Err(ParseError::TooDeep));
        assert_eq!(parse(&"x".repeat(MAX_INPUT + 1)), Err(ParseError::TooLong));
    }
}
