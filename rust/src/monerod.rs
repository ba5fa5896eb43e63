//! monerod log lines, in the log file's form and the console's.
//!
//! Log file: `YYYY-MM-DD HH:MM:SS.mmm<TAB>THREAD<TAB>LEVEL<TAB>CATEGORY<TAB>FILE:LINE<TAB>MESSAGE`,
//! where THREAD is a right-aligned hexadecimal id or a name such as `[P2P3]`. Console:
//! `YYYY-MM-DD HH:MM:SS.mmm<TAB>L MESSAGE` with a one-letter level. Pasted captures often
//! have their tabs expanded to spaces, so the columns are split at runs of blanks.
//!
//! Since v0.15.0.0 every line of a message gets its own prefix. Before that, the lines after
//! the first had none and belong to the record above. A line without a prefix can also be a
//! piece of a long line that a terminal wrapped. Such a piece belongs to the record above too,
//! but never joins that record's `message`.

use std::sync::LazyLock;

use memchr::memmem;
use regex::bytes::Regex;

use crate::event::{identity, known_or_owned, Event, Source, Timestamp, Value};
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

/// `Synced H/TARGET[ (P%, N left…)]`. v0.12 starts the line with the peer (`[IP:PORT OUT]`)
/// and omits the percentage once H reaches TARGET. The `/` keeps v0.18's
/// `Synced N blocks in T (R blocks per second)` out.
static SYNC_PROGRESS: LazyLock<Regex> =
    LazyLock::new(|| compile(r"^(?:\[[^\]]*\]\s+)?Synced (\d+)/(\d+)(?:\s|$)"));

/// The banner line printed once per run, after an actual sync. `SYNCHRONIZED OK` is logged
/// per peer connection and is not the node's own synchronized event.
const SYNCHRONIZED: &[u8] = b"You are now synchronized with the network";

/// Limits on the continuation lines kept for a record whose first line is empty. Later lines
/// are counted but not kept.
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

/// The level words and letters of monerod, including `WARN` from v0.14.0 and earlier.
const LEVELS: &[&str] = &[
    "I", "W", "E", "D", "T", "F", "INFO", "WARNING", "ERROR", "DEBUG", "TRACE", "FATAL", "WARN",
];

/// Common categories of monerod's log file. Others are copied.
const CATEGORIES: &[&str] = &[
    "global",
    "daemon",
    "cn",
    "blockchain",
    "blockchain.db.lmdb",
    "txpool",
    "net",
    "net.p2p",
    "net.cn",
    "net.http",
    "net.dns",
    "net.throttle",
    "daemon.rpc",
    "daemon.rpc.payment",
    "msgwriter",
    "bcutil",
    "checkpoints",
    "hardfork",
    "miner",
];

/// The first line of a record, split into its columns.
struct Record<'a> {
    timestamp: &'a [u8],
    /// The level word (log file) or letter (console) as printed, without padding.
    level: &'a [u8],
    /// `F`, `E`, `W`, `I`, `D` or `T`, from either form of the level.
    severity: u8,
    /// The log file's category column, absent on the console.
    category: Option<&'a [u8]>,
    /// The message, trimmed of blanks and terminal padding.
    message: &'a [u8],
}

/// The position and header columns of a record's first line.
struct Origin<'a> {
    offset: u64,
    number: u64,
    timestamp: &'a [u8],
    level: &'a [u8],
    category: Option<&'a [u8]>,
}

impl Origin<'_> {
    fn event(&self, kind: &'static str, fields: Fields, id: u128) -> Event {
        Event {
            source: Source::Monerod,
            kind,
            line: self.number,
            offset: self.offset,
            timestamp: Some(Timestamp::new(self.timestamp)),
            ts_micros: datetime_micros(self.timestamp),
            level: Some(known_or_owned(self.level, LEVELS)),
            category: self
                .category
                .map(|category| known_or_owned(category, CATEGORIES)),
            tag: None,
            fields,
            identity: id,
        }
    }
}

/// Appends `TIMESTAMP SEVERITY MESSAGE`: the columns that the file and console copies of a
/// record share, so that both copies get one identity.
fn normalise(out: &mut Vec<u8>, record: &Record<'_>) {
    out.extend_from_slice(record.timestamp);
    out.extend_from_slice(&[b' ', record.severity, b' ']);
    out.extend_from_slice(record.message);
}

/// A record whose first line has an empty message. Before v0.15 its text follows on lines
/// without a prefix (the synchronized banner starts this way), so its event waits for them.
/// The parser keeps one and reuses its buffers, so that once they have grown, a record that
/// yields nothing allocates nothing.
#[derive(Default)]
struct Pending {
    offset: u64,
    number: u64,
    severity: u8,
    timestamp: Vec<u8>,
    level: Vec<u8>,
    category: Vec<u8>,
    /// False on the console, which has no category column.
    has_category: bool,
    /// The normalised first line, then each kept continuation line after a `\n`, without its
    /// trailing blanks: the bytes of the record's identity.
    normalised: Vec<u8>,
    /// Length of the normalised first line at the start of `normalised`.
    first_len: usize,
    /// Number of continuation lines kept, at most `MAX_KEPT_LINES`.
    kept_lines: usize,
    /// True once a continuation line was the synchronized banner.
    synchronized: bool,
}

/// The record that a line without a prefix belongs to.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum Tail {
    /// No monerod record has started yet.
    #[default]
    Nothing,
    /// A record whose event, if any, is already emitted, so the line adds nothing to it.
    Record,
    /// The record in `MonerodParser::pending`, whose event waits for its continuation lines.
    Pending,
}

#[derive(Default)]
pub struct MonerodParser {
    patterns: Patterns,
    tail: Tail,
    pending: Pending,
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
            // The kind is unknown until the continuation lines arrive. In v0.15 and later none
            // arrive, because an empty line there is a blank line of a longer message.
            self.pending.begin(line, &record);
            self.tail = Tail::Pending;
            return false;
        }
        let Some((kind, fields)) = self.classify(&record) else {
            return false;
        };
        let mut normalised = Vec::with_capacity(record.timestamp.len() + record.message.len() + 3);
        normalise(&mut normalised, &record);
        let origin = Origin {
            offset: line.offset,
            number: line.number,
            timestamp: record.timestamp,
            level: record.level,
            category: record.category,
        };
        out.push(origin.event(kind, fields, identity(Source::Monerod, &[&normalised])));
        true
    }

    fn continuation(&mut self, line: &Line<'_>, _out: &mut Vec<Event>) -> bool {
        match self.tail {
            Tail::Nothing => false,
            Tail::Record => true,
            Tail::Pending => {
                self.pending.add(line.text);
                true
            }
        }
    }

    fn close(&mut self, out: &mut Vec<Event>) {
        if self.tail == Tail::Pending {
            self.tail = Tail::Record;
            out.extend(self.pending.finish());
        }
    }

    fn pending_start(&self) -> Option<(u64, u64)> {
        (self.tail == Tail::Pending).then_some((self.pending.offset, self.pending.number))
    }
}

impl MonerodParser {
    /// Finds the event kind of a record with a message: one of the specific kinds, chosen by
    /// the first byte of the message, else a warning, error or fatal by level.
    fn classify(&mut self, record: &Record<'_>) -> Option<Parsed> {
        let p = &mut self.patterns;
        let message = record.message;
        let starts = |prefix: &[u8]| message.starts_with(prefix);
        let specific = match message.first()? {
            b'M' if starts(b"Monero '") => version(&mut p.version, message),
            b'-' if starts(b"----- BLOCK ADDED ") => alt_block(&mut p.alt_block, message),
            b'R' if starts(b"REORGANIZE SUCCESS! ") => reorg(&mut p.reorg, message),
            b'F' if starts(b"Found block ") => found_block(&mut p.found_block, message),
            b'V' if starts(b"Version ") => update(&mut p.update, message),
            b'S' if starts(b"Synced ") => sync_progress(&mut p.sync_progress, message),
            b'[' if memmem::find(message, b" Synced ").is_some() => {
                sync_progress(&mut p.sync_progress, message)
            }
            b'Y' if starts(SYNCHRONIZED) => Some(("monerod_synchronized", vec![])),
            _ => None,
        };
        specific.or_else(|| by_severity(record.severity, message))
    }
}

impl Pending {
    /// Starts a pending record, reusing the buffers of the previous one.
    fn begin(&mut self, line: &Line<'_>, record: &Record<'_>) {
        self.offset = line.offset;
        self.number = line.number;
        self.severity = record.severity;
        replace_bytes(&mut self.timestamp, record.timestamp);
        replace_bytes(&mut self.level, record.level);
        replace_bytes(&mut self.category, record.category.unwrap_or_default());
        self.has_category = record.category.is_some();
        self.normalised.clear();
        normalise(&mut self.normalised, record);
        self.first_len = self.normalised.len();
        self.kept_lines = 0;
        self.synchronized = false;
    }

    fn add(&mut self, text: &[u8]) {
        let text = trim_end(text);
        if text.starts_with(SYNCHRONIZED) {
            self.synchronized = true;
        }
        let kept_bytes = self.normalised.len() - self.first_len;
        if self.kept_lines < MAX_KEPT_LINES && kept_bytes + 1 + text.len() <= MAX_KEPT_BYTES {
            self.kept_lines += 1;
            self.normalised.push(b'\n');
            self.normalised.extend_from_slice(text);
        }
    }

    /// Emits the banner's synchronized event, or a warning, error or fatal whose message is
    /// the continuation lines. Any other record yields nothing.
    fn finish(&self) -> Option<Event> {
        let origin = Origin {
            offset: self.offset,
            number: self.number,
            timestamp: &self.timestamp,
            level: &self.level,
            category: self.has_category.then_some(self.category.as_slice()),
        };
        let id = || identity(Source::Monerod, &[&self.normalised]);
        if self.synchronized {
            return Some(origin.event("monerod_synchronized", Vec::new(), id()));
        }
        let lines = self.normalised.get(self.first_len..).unwrap_or_default();
        let (kind, fields) = by_severity(self.severity, trim_newlines(lines))?;
        Some(origin.event(kind, fields, id()))
    }
}

fn replace_bytes(buffer: &mut Vec<u8>, bytes: &[u8]) {
    buffer.clear();
    buffer.extend_from_slice(bytes);
}

/// Removes the blank lines at both ends of continuation lines joined with `\n`, whose
/// trailing blanks are already gone.
fn trim_newlines(mut text: &[u8]) -> &[u8] {
    while let [b'\n', rest @ ..] = text {
        text = rest;
    }
    while let [rest @ .., b'\n'] = text {
        text = rest;
    }
    text
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

/// Returns the next run of non-blank bytes and the rest after it.
fn next_column(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let start = s.iter().position(|&b| b != b' ' && b != b'\t')?;
    let s = s.get(start..)?;
    let end = s
        .iter()
        .position(|&b| b == b' ' || b == b'\t')
        .unwrap_or(s.len());
    Some(s.split_at(end))
}

/// Returns the letter of a level word or letter. Up to v0.14.0 the file pads the words to
/// five characters and writes `WARN`, and `WARNING` starts in v0.14.1.0.
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

/// Classifies a warning, error or fatal line that matched no specific kind.
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

/// Parses a required number. One too long for `u128` rejects the line.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::parse_all;

    /// An expected field value.
    #[derive(Clone, Copy, Debug)]
    enum X {
        S(&'static str),
        U(u128),
    }

    impl X {
        fn value(self) -> Value {
            match self {
                X::S(s) => Value::Str(s.to_string()),
                X::U(v) => Value::UInt(v),
            }
        }
    }

    struct Case {
        name: &'static str,
        input: &'static str,
        /// The one expected event's kind, or `None` when the input must yield no event.
        kind: Option<&'static str>,
        /// The 1-based line of the event's record.
        line: u64,
        level: &'static str,
        category: Option<&'static str>,
        fields: &'static [(&'static str, X)],
    }

    const FILE_VERSION: &str = "2021-09-12 10:32:20.020\t    7f7ba51477c0\tINFO\tglobal\tsrc/daemon/main.cpp:294\tMonero 'Oxygen Orion' (v0.17.2.3-9c82593b5)\n";

    const CASES: &[Case] = &[
        Case {
            name: "file version",
            input: FILE_VERSION,
            kind: Some("monerod_version"),
            line: 1,
            level: "INFO",
            category: Some("global"),
            fields: &[
                ("name", X::S("Oxygen Orion")),
                ("version", X::S("v0.17.2.3-9c82593b5")),
            ],
        },
        Case {
            name: "console version",
            input: "2022-02-07 08:48:53.019\tI Monero 'Oxygen Orion' (v0.17.3.0-release)\n",
            kind: Some("monerod_version"),
            line: 1,
            level: "I",
            category: None,
            fields: &[
                ("name", X::S("Oxygen Orion")),
                ("version", X::S("v0.17.3.0-release")),
            ],
        },
        Case {
            name: "daemonised version is a warning",
            input: "2021-09-12 10:32:20.021\t    7f7ba51477c0\tWARNING\tdaemon\tsrc/daemon/executor.cpp:61\tMonero 'Oxygen Orion' (v0.17.2.3-9c82593b5) Daemonised\n",
            kind: Some("monerod_warning"),
            line: 1,
            level: "WARNING",
            category: Some("daemon"),
            fields: &[(
                "message",
                X::S("Monero 'Oxygen Orion' (v0.17.2.3-9c82593b5) Daemonised"),
            )],
        },
        Case {
            name: "console alternative block, tabs expanded",
            input: "2022-02-13 08:34:40.634 I ----- BLOCK ADDED AS ALTERNATIVE ON HEIGHT 2558492               \n",
            kind: Some("monerod_alt_block"),
            line: 1,
            level: "I",
            category: None,
            fields: &[("height", X::U(2558492))],
        },
        Case {
            name: "file alternative block before v0.15",
            input: concat!(
                "2018-05-27 05:40:54.100 [P2P5]  INFO    global  src/cryptonote_core/blockchain.cpp:1719  ----- BLOCK ADDED AS ALTERNATIVE ON HEIGHT 1580226\n",
                "id:\t<7fbf3f247c2453cc7f0e289339bc8ded557db88bb628bb102627764dfc2d72d8>\n",
                "PoW:\t<0659f8e5dbb91147dd46ba030a6571d2748301999d57d5a7fcf5a10e00000000>\n",
                "difficulty:\t50196839822\n",
            ),
            kind: Some("monerod_alt_block"),
            line: 1,
            level: "INFO",
            category: Some("global"),
            fields: &[("height", X::U(1580226))],
        },
        Case {
            name: "console reorganisation",
            input: "2022-02-13 08:34:41.641\tI REORGANIZE SUCCESS! on height: 2558492, new blockchain size: 2558494\n",
            kind: Some("monerod_reorg"),
            line: 1,
            level: "I",
            category: None,
            fields: &[
                ("height", X::U(2558492)),
                ("new_blockchain_size", X::U(2558494)),
            ],
        },
        Case {
            name: "console found block, tabs expanded to eight",
            input: "2023-01-18 09:44:49.883        I Found block <2ce32bb09b37945e0011ab62d4151a63a76557c318a14c4cd83281756ce2c5c3> at height 1269679 for difficulty: 451280\n",
            kind: Some("monerod_found_block"),
            line: 1,
            level: "I",
            category: None,
            fields: &[
                (
                    "hash",
                    X::S("2ce32bb09b37945e0011ab62d4151a63a76557c318a14c4cd83281756ce2c5c3"),
                ),
                ("height", X::U(1269679)),
                ("difficulty", X::U(451280)),
            ],
        },
        Case {
            name: "console update available",
            input: "2023-01-18 09:05:56.008\tI Version 0.18.1.2 of monero for linux-x64 is available: https://downloads.getmonero.org/cli/monero-linux-x64-v0.18.1.2.tar.bz2, SHA256 hash 7d51e7072351f65d0c7909e745827cfd3b00abe5e7c4cc4c104a3c9b526da07e\n",
            kind: Some("monerod_update_available"),
            line: 1,
            level: "I",
            category: None,
            fields: &[("version", X::S("0.18.1.2"))],
        },
        Case {
            name: "console sync progress",
            input: "2024-03-01 10:00:00.000\tI Synced 3100000/3112345 (99%, 12345 left, 12% of total synced, estimated 1.2 hours left)\n",
            kind: Some("monerod_sync_progress"),
            line: 1,
            level: "I",
            category: None,
            fields: &[
                ("height", X::U(3100000)),
                ("target_height", X::U(3112345)),
            ],
        },
        Case {
            name: "v0.12 sync progress with peer",
            input: "2018-06-29 13:00:51.299 [P2P4]  INFO    global  src/cryptonote_protocol/cryptonote_protocol_handler.inl:1171    [192.0.2.9:18080 OUT]  Synced 1605641/1605641\n",
            kind: Some("monerod_sync_progress"),
            line: 1,
            level: "INFO",
            category: Some("global"),
            fields: &[
                ("height", X::U(1605641)),
                ("target_height", X::U(1605641)),
            ],
        },
        Case {
            name: "v0.18 blocks per second is no progress",
            input: "2024-03-01 10:00:00.000\tI Synced 2000 blocks in 14.7 (136 blocks per second)\n",
            kind: None,
            line: 0,
            level: "",
            category: None,
            fields: &[],
        },
        Case {
            name: "peer synchronized is not the node's",
            input: "2018-06-29 13:00:51.299 [P2P4]  INFO    global  src/cryptonote_protocol/cryptonote_protocol_handler.inl:1561    SYNCHRONIZED OK\n",
            kind: None,
            line: 0,
            level: "",
            category: None,
            fields: &[],
        },
        Case {
            name: "console synchronized banner",
            input: concat!(
                "2024-03-01 11:00:00.000\tI \n",
                "2024-03-01 11:00:00.000\tI **********************************************************************\n",
                "2024-03-01 11:00:00.000\tI You are now synchronized with the network. You may now start monero-wallet-cli.\n",
                "2024-03-01 11:00:00.000\tI \n",
                "2024-03-01 11:00:00.000\tI Use the \"help\" command to see the list of available commands.\n",
                "2024-03-01 11:00:00.000\tI **********************************************************************\n",
            ),
            kind: Some("monerod_synchronized"),
            line: 3,
            level: "I",
            category: None,
            fields: &[],
        },
        Case {
            name: "file synchronized banner before v0.15",
            input: concat!(
                "2018-06-29 13:00:51.299 [P2P4]  INFO    global  src/cryptonote_protocol/cryptonote_protocol_handler.inl:1583\n",
                "**********************************************************************\n",
                "You are now synchronized with the network. You may now start monero-wallet-cli.\n",
                "\n",
                "Use the \"help\" command to see the list of available commands.\n",
                "**********************************************************************\n",
            ),
            kind: Some("monerod_synchronized"),
            line: 1,
            level: "INFO",
            category: Some("global"),
            fields: &[],
        },
        Case {
            name: "console warning, wrapped by a terminal",
            input: concat!(
                "2022-02-13 12:09:54.814 W There were 22 blocks in the last 90 minutes, there might be large hash rate changes, o\n",
                "r your computer's time is off. Or it could be just sheer bad luck.\n",
            ),
            kind: Some("monerod_warning"),
            line: 1,
            level: "W",
            category: None,
            fields: &[(
                "message",
                X::S("There were 22 blocks in the last 90 minutes, there might be large hash rate changes, o"),
            )],
        },
        Case {
            name: "v0.14 padded WARN",
            input: "2019-01-02 03:04:05.678\t[P2P7]\tWARN \tnet.p2p\tsrc/p2p/net_node.inl:1234\tNo incoming connections\n",
            kind: Some("monerod_warning"),
            line: 1,
            level: "WARN",
            category: Some("net.p2p"),
            fields: &[("message", X::S("No incoming connections"))],
        },
        Case {
            name: "warning text on continuation lines before v0.15",
            input: concat!(
                "2018-06-29 13:00:51.299 [P2P4]  WARN    global  src/cryptonote_core/cryptonote_core.cpp:1500\n",
                "\n",
                "Disk space is low    \n",
                "Free some space\n",
            ),
            kind: Some("monerod_warning"),
            line: 1,
            level: "WARN",
            category: Some("global"),
            fields: &[("message", X::S("Disk space is low\nFree some space"))],
        },
        Case {
            name: "blank warning line before a prefixed one",
            input: concat!(
                "2024-03-01 11:00:00.000\tW \n",
                "2024-03-01 11:00:00.000\tW Something went wrong\n",
            ),
            kind: Some("monerod_warning"),
            line: 2,
            level: "W",
            category: None,
            fields: &[("message", X::S("Something went wrong"))],
        },
        Case {
            name: "console error",
            input: "2023-01-18 10:18:52.155\tE ZMQ RPC Server Error: thrown at zmq_server.cpp:161: Resource temporarily unavailable\n",
            kind: Some("monerod_error"),
            line: 1,
            level: "E",
            category: None,
            fields: &[(
                "message",
                X::S("ZMQ RPC Server Error: thrown at zmq_server.cpp:161: Resource temporarily unavailable"),
            )],
        },
        Case {
            name: "file error from a named thread",
            input: "2024-03-01 10:00:00.000\t[RPC0]\tERROR\tdaemon.rpc\tsrc/rpc/core_rpc_server.cpp:100\tFailed to submit block\n",
            kind: Some("monerod_error"),
            line: 1,
            level: "ERROR",
            category: Some("daemon.rpc"),
            fields: &[("message", X::S("Failed to submit block"))],
        },
        Case {
            name: "console fatal",
            input: "2022-02-07 08:48:53.118\tF Error starting server: Failed to bind IPv4 (set to required)\n",
            kind: Some("monerod_fatal"),
            line: 1,
            level: "F",
            category: None,
            fields: &[(
                "message",
                X::S("Error starting server: Failed to bind IPv4 (set to required)"),
            )],
        },
        Case {
            name: "file fatal",
            input: "2024-03-01 10:00:00.000\t    7f00aa\tFATAL\tglobal\tsrc/daemon/main.cpp:10\tOut of memory\n",
            kind: Some("monerod_fatal"),
            line: 1,
            level: "FATAL",
            category: Some("global"),
            fields: &[("message", X::S("Out of memory"))],
        },
        Case {
            name: "console warning with CRLF and colours",
            input: "\x1b[1;33m2024-03-01 10:00:00.000\tW Peer 192.0.2.44 is slow\x1b[0m\r\n",
            kind: Some("monerod_warning"),
            line: 1,
            level: "W",
            category: None,
            fields: &[("message", X::S("Peer 192.0.2.44 is slow"))],
        },
        Case {
            name: "info line of no kind",
            input: "2022-02-13 09:12:47.997 I Host 192.0.2.30 blocked.\n",
            kind: None,
            line: 0,
            level: "",
            category: None,
            fields: &[],
        },
        Case {
            name: "unknown level word",
            input: "2024-03-01 10:00:00.000\t[P2P1]\tNOTICE\tglobal\tsrc/x.cpp:1\tSomething\n",
            kind: None,
            line: 0,
            level: "",
            category: None,
            fields: &[],
        },
        Case {
            name: "found block with a short hash",
            input: "2023-01-18 09:44:49.883\tI Found block <2ce32bb0> at height 1269679 for difficulty: 451280\n",
            kind: None,
            line: 0,
            level: "",
            category: None,
            fields: &[],
        },
    ];

    #[test]
    fn parse_table() {
        for case in CASES {
            let (events, _) = parse_all(case.input.as_bytes(), false);
            let Some(kind) = case.kind else {
                assert!(events.is_empty(), "{}: unexpected {events:?}", case.name);
                continue;
            };
            assert_eq!(events.len(), 1, "{}: {events:?}", case.name);
            let event = &events[0];
            assert_eq!(event.kind, kind, "{}", case.name);
            assert_eq!(event.source, Source::Monerod, "{}", case.name);
            assert_eq!(event.line, case.line, "{}", case.name);
            assert_eq!(event.level.as_deref(), Some(case.level), "{}", case.name);
            assert_eq!(event.category.as_deref(), case.category, "{}", case.name);
            assert_eq!(event.tag, None, "{}", case.name);
            assert_eq!(event.fields.len(), case.fields.len(), "{}", case.name);
            for (name, want) in case.fields {
                assert_eq!(
                    event.field(name),
                    Some(&want.value()),
                    "{}: field {name}",
                    case.name
                );
            }
        }
    }

    #[test]
    fn field_order_per_kind() {
        let input = concat!(
            "2024-03-01 10:00:00.000\tI REORGANIZE SUCCESS! on height: 5, new blockchain size: 7\n",
            "2024-03-01 10:00:00.000\tI Found block <2ce32bb09b37945e0011ab62d4151a63a76557c318a14c4cd83281756ce2c5c3> at height 9 for difficulty: 3\n",
            "2024-03-01 10:00:00.000\tI Synced 1/2\n",
            "2024-03-01 10:00:00.000\tI Monero 'Fluorine Fermi' (v0.18.3.1-release)\n",
        );
        let (events, _) = parse_all(input.as_bytes(), false);
        let names: Vec<Vec<&str>> = events
            .iter()
            .map(|e| e.fields.iter().map(|(n, _)| *n).collect())
            .collect();
        assert_eq!(
            names,
            vec![
                vec!["height", "new_blockchain_size"],
                vec!["hash", "height", "difficulty"],
                vec!["height", "target_height"],
                vec!["name", "version"],
            ]
        );
    }

    #[test]
    fn file_and_console_share_identity() {
        let console = "2021-09-12 10:32:20.020\tI Monero 'Oxygen Orion' (v0.17.2.3-9c82593b5)   \n";
        let (file, _) = parse_all(FILE_VERSION.as_bytes(), false);
        let (console, _) = parse_all(console.as_bytes(), false);
        assert_eq!(file.len(), 1);
        assert_eq!(console.len(), 1);
        assert_eq!(file[0].identity, console[0].identity);
    }

    #[test]
    fn timestamp_is_utc() {
        let (events, _) = parse_all(FILE_VERSION.as_bytes(), false);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].ts_micros, Some(1_631_442_740_020_000));
    }

    #[test]
    fn wrapped_piece_counts_as_continuation() {
        let input = concat!(
            "2022-02-13 12:09:54.814 W There were 22 blocks in the last 90 minutes, o\n",
            "r your computer's time is off.\n",
        );
        let (_, counters) = parse_all(input.as_bytes(), false);
        assert_eq!(counters.records[2], 1);
        assert_eq!(counters.continuation_lines, 1);
        assert_eq!(counters.unrecognised_lines, 0);
    }

    #[test]
    fn pending_banner_waits_for_close() {
        let mut parser = crate::stream::StreamParser::new(0, 1, 1024);
        let mut out = Vec::new();
        parser.feed(
            b"2018-06-29 13:00:51.299 [P2P4]  INFO    global  src/p.inl:1583\n",
            &mut out,
        );
        assert!(out.is_empty());
        assert_eq!(parser.safe_position(), (0, 1));
        parser.feed(
            b"You are now synchronized with the network. You may now start monero-wallet-cli.\n",
            &mut out,
        );
        assert!(out.is_empty());
        parser.flush_record(&mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].kind, "monerod_synchronized");
        assert_eq!(out[0].line, 1);
    }

    #[test]
    fn kept_lines_are_bounded() {
        let mut input =
            String::from("2018-06-29 13:00:51.299 [P2P4]  WARN    global  src/a.cpp:1\n");
        for i in 0..100 {
            input.push_str(&format!("line {i}\n"));
        }
        let (events, counters) = parse_all(input.as_bytes(), false);
        assert_eq!(counters.continuation_lines, 100);
        assert_eq!(events.len(), 1);
        let Some(Value::Str(message)) = events[0].field("message") else {
            panic!("no message in {:?}", events[0]);
        };
        assert_eq!(message.lines().count(), MAX_KEPT_LINES);
    }

    #[test]
    fn patterns_compile() {
        let _ = Patterns::default();
    }

    /// Bytes that separate or delimit the columns of monerod lines.
    const NOISE: &[u8] = b" \t<>:/'()[]%\x1b\r\n";

    /// Feeds 20,000 mutated copies of the table's inputs through the stream parser, which must
    /// not panic on any of them.
    #[test]
    fn mutated_lines_never_panic() {
        let seeds: Vec<&[u8]> = CASES.iter().map(|c| c.input.as_bytes()).collect();
        crate::testing::parse_mutations(&seeds, NOISE, 0x2545_f491_4f6c_dd1d_u64, 20_000);
    }
}
