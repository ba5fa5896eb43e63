//! monerod log lines, in the log file's form and the console's.
//!
//! Log file: `YYYY-MM-DD HH:MM:SS.mmm<TAB>THREAD<TAB>LEVEL<TAB>CATEGORY<TAB>FILE:LINE<TAB>MESSAGE`,
//! where THREAD is a right-aligned hexadecimal id or a name such as `[P2P3]`. Console:
//! `YYYY-MM-DD HH:MM:SS.mmm<TAB>L MESSAGE` with a one-letter level. Pasted captures often
//! have their tabs expanded to spaces, so the columns are split at runs of blanks.
//!
//! Since v0.15.0.0 every line of a message gets its own prefix. Before that, the lines after
//! the first had none and belong to the record above. A line without a prefix can also be
//! the piece of a long line that a terminal wrapped; it belongs to the record above too,
//! but is never joined into that record's `message`.

use std::sync::LazyLock;

use regex::bytes::Regex;

use crate::event::{identity, Event, Source, Value};
use crate::stream::{Head, Line, SourceParser};
use crate::text::{datetime_micros, lossy, parse_uint, trim, trim_end, Pattern};

type Fields = Vec<(&'static str, Value)>;

/// A recognised message: its event kind and fields.
type Parsed = (&'static str, Fields);

/// `Monero 'RELEASE NAME' (vVERSION)`, printed at start. The `… Daemonised` warning that
/// repeats it with a suffix is a plain warning.
static VERSION: LazyLock<Regex> = LazyLock::new(|| compile(r"^Monero '([^']+)' \((v[^()\s]+)\)$"));

/// `----- BLOCK ADDED AS ALTERNATIVE ON HEIGHT H`, followed by `id:`, `PoW:` and
/// `difficulty:` lines.
static ALT_BLOCK: LazyLock<Regex> =
    LazyLock::new(|| compile(r"^----- BLOCK ADDED AS ALTERNATIVE ON HEIGHT (\d+)$"));

static REORG: LazyLock<Regex> = LazyLock::new(|| {
    compile(r"^REORGANIZE SUCCESS! on height: (\d+), new blockchain size: (\d+)$")
});

/// `Found block <HASH> at height H for difficulty: D`, logged by the node's own miner only.
static FOUND_BLOCK: LazyLock<Regex> = LazyLock::new(|| {
    compile(r"^Found block <?([0-9a-fA-F]{64})>? at height (\d+) for difficulty: (\d+)$")
});

/// `Version X of monero for PLATFORM is available: URL, SHA256 hash H`.
static UPDATE: LazyLock<Regex> =
    LazyLock::new(|| compile(r"^Version (\S+) of \S+ for \S+ is available\b"));

/// `Synced H/TARGET[ (P%, N left…)]`. Up to v0.12 the line starts with the peer
/// (`[IP:PORT OUT]`) and omits the percentage once H reaches TARGET. The `/` keeps v0.18's
/// `Synced N blocks in T (R blocks per second)` out.
static SYNC_PROGRESS: LazyLock<Regex> =
    LazyLock::new(|| compile(r"^(?:\[[^\]]*\]\s+)?Synced (\d+)/(\d+)(?:\s|$)"));

/// The banner line printed once per run, after an actual sync. `SYNCHRONIZED OK` is logged
/// per peer connection and is not the node's own synchronized event.
const SYNCHRONIZED: &[u8] = b"You are now synchronized with the network";

/// Continuation lines kept for a record whose first line is empty; later ones are counted
/// but not kept.
const MAX_KEPT_LINES: usize = 16;
const MAX_KEPT_BYTES: usize = 4096;

/// Compiles one of this file's patterns. They match bytes (`(?-u)`), so invalid UTF-8 in a
/// line never prevents a match.
fn compile(pattern: &str) -> Regex {
    match Regex::new(&format!("(?-u){pattern}")) {
        Ok(regex) => regex,
        // The patterns are constants that the tests compile, so this cannot fail at run time.
        Err(err) => panic!("invalid monerod pattern {pattern:?}: {err}"),
    }
}

/// The compiled patterns and their reusable capture slots.
struct Patterns {
    version: Pattern,
    alt_block: Pattern,
    reorg: Pattern,
    found_block: Pattern,
    update: Pattern,
    sync_progress: Pattern,
}

impl Default for Patterns {
    fn default() -> Self {
        Patterns {
            version: Pattern::new(&VERSION),
            alt_block: Pattern::new(&ALT_BLOCK),
            reorg: Pattern::new(&REORG),
            found_block: Pattern::new(&FOUND_BLOCK),
            update: Pattern::new(&UPDATE),
            sync_progress: Pattern::new(&SYNC_PROGRESS),
        }
    }
}

/// The first line of a record, split into its columns.
struct Record<'a> {
    timestamp: &'a [u8],
    /// The level word (log file) or letter (console) as printed, without padding.
    level: &'a [u8],
    /// `F`, `E`, `W`, `I`, `D` or `T`, from either form of the level.
    severity: u8,
    /// The log file's category column; the console has none.
    category: Option<&'a [u8]>,
    /// The message, trimmed of blanks and terminal padding.
    message: &'a [u8],
}

/// The header fields of a record's event.
struct Header {
    timestamp: String,
    ts_micros: Option<i64>,
    level: String,
    category: Option<String>,
    offset: u64,
    number: u64,
    /// `TIMESTAMP SEVERITY MESSAGE`: the columns that the file and console copies of a record
    /// share, so that both copies get one identity.
    normalised: Vec<u8>,
}

impl Header {
    fn new(line: &Line<'_>, record: &Record<'_>) -> Self {
        let mut normalised = Vec::with_capacity(record.timestamp.len() + record.message.len() + 3);
        normalised.extend_from_slice(record.timestamp);
        normalised.extend_from_slice(&[b' ', record.severity, b' ']);
        normalised.extend_from_slice(record.message);
        Header {
            timestamp: lossy(record.timestamp),
            ts_micros: datetime_micros(record.timestamp),
            level: lossy(record.level),
            category: record.category.map(lossy),
            offset: line.offset,
            number: line.number,
            normalised,
        }
    }

    fn event(self, kind: &'static str, fields: Fields, id: u128) -> Event {
        Event {
            source: Source::Monerod,
            kind,
            line: self.number,
            offset: self.offset,
            timestamp: Some(self.timestamp),
            ts_micros: self.ts_micros,
            level: Some(self.level),
            category: self.category,
            tag: None,
            fields,
            identity: id,
        }
    }
}

/// A record whose first line has an empty message: before v0.15 its text follows on lines
/// without a prefix (the synchronized banner starts this way), so its event waits for them.
struct Pending {
    header: Header,
    severity: u8,
    /// Continuation lines without their trailing blanks, at most `MAX_KEPT_LINES` of them.
    lines: Vec<Vec<u8>>,
    kept_bytes: usize,
    /// True once a continuation line was the synchronized banner.
    synchronized: bool,
}

/// What a line without a prefix belongs to.
#[derive(Default)]
enum Tail {
    /// No monerod record has started yet.
    #[default]
    Nothing,
    /// A record whose event, if any, is already out: the line adds nothing to it.
    Record,
    /// A record whose event waits for its continuation lines.
    Pending(Box<Pending>),
}

#[derive(Default)]
pub struct MonerodParser {
    patterns: Patterns,
    tail: Tail,
}

impl SourceParser for MonerodParser {
    fn start(&mut self, line: &Line<'_>, head: &Head<'_>, out: &mut Vec<Event>) -> bool {
        self.close(out);
        self.tail = Tail::Record;
        let Head::Monerod { timestamp, rest } = head else {
            return false;
        };
        let Some(record) = parse_record(timestamp, rest) else {
            return false;
        };
        if record.message.is_empty() {
            // The kind is unknown until the continuation lines arrive, and in v0.15 and later
            // none do: an empty line is a blank line of a longer message.
            self.tail = Tail::Pending(Box::new(Pending {
                header: Header::new(line, &record),
                severity: record.severity,
                lines: Vec::new(),
                kept_bytes: 0,
                synchronized: false,
            }));
            return false;
        }
        let Some((kind, fields)) = self.classify(&record) else {
            return false;
        };
        let header = Header::new(line, &record);
        let id = identity(Source::Monerod, &[&header.normalised]);
        out.push(header.event(kind, fields, id));
        true
    }

    fn continuation(&mut self, line: &Line<'_>, _out: &mut Vec<Event>) -> bool {
        match &mut self.tail {
            Tail::Nothing => false,
            Tail::Record => true,
            Tail::Pending(pending) => {
                pending.add(line.text);
                true
            }
        }
    }

    fn close(&mut self, out: &mut Vec<Event>) {
        if !matches!(self.tail, Tail::Pending(_)) {
            return;
        }
        if let Tail::Pending(pending) = std::mem::replace(&mut self.tail, Tail::Record) {
            out.extend(pending.finish());
        }
    }

    fn pending_start(&self) -> Option<(u64, u64)> {
        match &self.tail {
            Tail::Pending(pending) => Some((pending.header.offset, pending.header.number)),
            Tail::Nothing | Tail::Record => None,
        }
    }
}

impl MonerodParser {
    /// Finds the event kind of a record with a message: one of the specific kinds, chosen by
    /// the first byte of the message, else a warning, error or fatal by level.
    fn classify(&mut self, record: &Record<'_>) -> Option<Parsed> {
        let p = &mut self.patterns;
        let message = record.message;
        let specific = match message.first()? {
            b'M' => version(&mut p.version, message),
            b'-' => alt_block(&mut p.alt_block, message),
            b'R' => reorg(&mut p.reorg, message),
            b'F' => found_block(&mut p.found_block, message),
            b'V' => update(&mut p.update, message),
            b'S' | b'[' => sync_progress(&mut p.sync_progress, message),
            b'Y' if message.starts_with(SYNCHRONIZED) => Some(("monerod_synchronized", vec![])),
            _ => None,
        };
        specific.or_else(|| by_severity(record.severity, message))
    }
}

impl Pending {
    fn add(&mut self, text: &[u8]) {
        let text = trim_end(text);
        if text.starts_with(SYNCHRONIZED) {
            self.synchronized = true;
        }
        if self.lines.len() < MAX_KEPT_LINES && self.kept_bytes + text.len() <= MAX_KEPT_BYTES {
            self.kept_bytes += text.len();
            self.lines.push(text.to_vec());
        }
    }

    /// Emits the banner's synchronized event, or a warning, error or fatal whose message is
    /// the continuation lines; any other record yields nothing.
    fn finish(self) -> Option<Event> {
        let mut parts: Vec<&[u8]> = vec![&self.header.normalised];
        parts.extend(self.lines.iter().map(Vec::as_slice));
        let id = identity(Source::Monerod, &parts);
        if self.synchronized {
            return Some(self.header.event("monerod_synchronized", Vec::new(), id));
        }
        let message = join_message(&self.lines);
        let (kind, fields) = by_severity(self.severity, &message)?;
        Some(self.header.event(kind, fields, id))
    }
}

/// Joins continuation lines with `\n`, without the blank lines at either end.
fn join_message(lines: &[Vec<u8>]) -> Vec<u8> {
    let is_text = |l: &&Vec<u8>| !trim(l).is_empty();
    let first = lines.iter().position(|l| is_text(&l));
    let last = lines.iter().rposition(|l| is_text(&l));
    let (Some(first), Some(last)) = (first, last) else {
        return Vec::new();
    };
    lines.get(first..=last).unwrap_or_default().join(&b'\n')
}

/// Splits a record's first line into its columns, in the log file's form or the console's.
fn parse_record<'a>(timestamp: &'a [u8], rest: &'a [u8]) -> Option<Record<'a>> {
    let body = trim(rest);
    let (level, category, message) = console_columns(body).or_else(|| file_columns(body))?;
    Some(Record {
        timestamp,
        level,
        severity: severity(level)?,
        category,
        message: trim(message),
    })
}

type Columns<'a> = (&'a [u8], Option<&'a [u8]>, &'a [u8]);

/// `L MESSAGE`: one level letter, then a blank or the end of the line.
fn console_columns(body: &[u8]) -> Option<Columns<'_>> {
    let (level, message) = body.split_at_checked(1)?;
    match message.first() {
        None | Some(b' ' | b'\t') => Some((level, None, message)),
        Some(_) => None,
    }
}

/// `THREAD LEVEL CATEGORY FILE:LINE MESSAGE`, separated by tabs or, in pastes, spaces.
fn file_columns(body: &[u8]) -> Option<Columns<'_>> {
    let (_thread, rest) = next_column(body)?;
    let (level, rest) = next_column(rest)?;
    let (category, rest) = next_column(rest)?;
    let (location, message) = next_column(rest)?;
    if !location.contains(&b':') {
        return None;
    }
    Some((level, Some(category), message))
}

/// The next run of non-blank bytes and what follows it.
fn next_column(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let start = s.iter().position(|&b| b != b' ' && b != b'\t')?;
    let s = s.get(start..)?;
    let end = s
        .iter()
        .position(|&b| b == b' ' || b == b'\t')
        .unwrap_or(s.len());
    Some(s.split_at(end))
}

/// The level's letter. Up to v0.14.0 the file pads the words to five characters and writes
/// `WARN`; `WARNING` starts in v0.14.1.0.
fn severity(level: &[u8]) -> Option<u8> {
    match level {
        b"F" | b"FATAL" => Some(b'F'),
        b"E" | b"ERROR" => Some(b'E'),
        b"W" | b"WARN" | b"WARNING" => Some(b'W'),
        b"I" | b"INFO" => Some(b'I'),
        b"D" | b"DEBUG" => Some(b'D'),
        b"T" | b"TRACE" => Some(b'T'),
        _ => None,
    }
}

/// A warning, error or fatal line that matched no specific kind.
fn by_severity(severity: u8, message: &[u8]) -> Option<Parsed> {
    let kind = match severity {
        b'W' => "monerod_warning",
        b'E' => "monerod_error",
        b'F' => "monerod_fatal",
        _ => return None,
    };
    if message.is_empty() {
        return None;
    }
    Some((kind, vec![("message", text(message))]))
}

fn text(b: &[u8]) -> Value {
    Value::Str(lossy(b))
}

/// Parses a required number; one too long for `u128` rejects the line.
fn uint(b: Option<&[u8]>) -> Option<Value> {
    Some(Value::UInt(parse_uint(b?)?))
}

fn version(pattern: &mut Pattern, message: &[u8]) -> Option<Parsed> {
    let g = pattern.captures(message)?;
    let fields = vec![("name", text(g.get(1)?)), ("version", text(g.get(2)?))];
    Some(("monerod_version", fields))
}

fn alt_block(pattern: &mut Pattern, message: &[u8]) -> Option<Parsed> {
    let g = pattern.captures(message)?;
    Some(("monerod_alt_block", vec![("height", uint(g.get(1))?)]))
}

fn reorg(pattern: &mut Pattern, message: &[u8]) -> Option<Parsed> {
    let g = pattern.captures(message)?;
    let fields = vec![
        ("height", uint(g.get(1))?),
        ("new_blockchain_size", uint(g.get(2))?),
    ];
    Some(("monerod_reorg", fields))
}

fn found_block(pattern: &mut Pattern, message: &[u8]) -> Option<Parsed> {
    let g = pattern.captures(message)?;
    let fields = vec![
        ("hash", text(g.get(1)?)),
        ("height", uint(g.get(2))?),
        ("difficulty", uint(g.get(3))?),
    ];
    Some(("monerod_found_block", fields))
}

fn update(pattern: &mut Pattern, message: &[u8]) -> Option<Parsed> {
    let g = pattern.captures(message)?;
    Some((
        "monerod_update_available",
        vec![("version", text(g.get(1)?))],
    ))
}

fn sync_progress(pattern: &mut Pattern, message: &[u8]) -> Option<Parsed> {
    let g = pattern.captures(message)?;
    let fields = vec![
        ("height", uint(g.get(1))?),
        ("target_height", uint(g.get(2))?),
    ];
    Some(("monerod_sync_progress", fields))
}
