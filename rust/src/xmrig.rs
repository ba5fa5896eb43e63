//! XMRig log lines, v2 to v6, and the ABOUT line of its start banner.
//!
//! A timestamped line is `[YYYY-MM-DD HH:MM:SS[.mmm]]` followed by an optional tag and the
//! message. v6 pads the tag to eight characters (`]  net      new job …`), v3 to v5 print
//! short tags (`]  cpu  accepted …`), and v2 prints no tag (`] accepted …`). XMRig prints
//! local time, and `ts_micros` reads it as UTC: the caller applies the host's offset.

use std::sync::LazyLock;

use memchr::memmem;
use regex::bytes::Regex;

use crate::event::{identity, Event, Source, Value};
use crate::stream::{Head, Line, SourceParser};
use crate::text::{datetime_micros, is_decimal, lossy, parse_uint, trim, trim_end, Pattern};

type Fields = Vec<(&'static str, Value)>;

/// A recognised message: its event kind and fields.
type Parsed = (&'static str, Fields);

/// `accepted (A/R) diff D[K|M|G] (L ms)`: the counts are session totals, and XMRig divides
/// the difficulty and prints a scale suffix from 10^6 up.
static ACCEPTED: LazyLock<Regex> =
    LazyLock::new(|| compile(r"^accepted \((\d+)/(\d+)\) diff (\d+)([KMG]?) \((\d+) ms\)$"));

/// `rejected (A/R) diff D[K|M|G] "reason" (L ms)`: the reason is the pool's error message.
static REJECTED: LazyLock<Regex> = LazyLock::new(|| {
    compile(r#"^rejected \((\d+)/(\d+)\) diff (\d+)([KMG]?) "(.*)" \((\d+) ms\)$"#)
});

/// `speed 10s/60s/15m H10 H60 H15 UNIT max HMAX UNIT[ avg HAVG UNIT]`. v2 up to about v2.6
/// averaged the first value over 2.5 s and wrote `max:`; v6 appends `avg` for GhostRider.
static SPEED: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"^speed (?:10s|2\.5s)/60s/15m (\S+) (\S+) (\S+) ([kKMGT]?H/s) max:? (\S+) [kKMGT]?H/s(?: avg (\S+) [kKMGT]?H/s)?$",
    )
});

/// `new job from HOST:PORT[ (ZMQ:P)] diff D[K|M|G] algo ALGO[ height H][ (N tx)]`. v2 prints
/// no height, and v6 adds the ZMQ port and the transaction count when they are known.
static NEW_JOB: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"^new job from (\S+)(?: \(ZMQ:\d+\))? diff (\d+)([KMG]?)(?: algo (\S+))?(?: height (\d+))?(?: \((\d+) tx\))?$",
    )
});

/// `use pool HOST:PORT[ (ZMQ:P)] TLS IP`, where TLS is empty (two spaces) on a plain
/// connection; v2 prints only the IP.
static USE_POOL: LazyLock<Regex> =
    LazyLock::new(|| compile(r"^use pool (\S+)(?: \(ZMQ:\d+\))?(?:\s+(\S+))?(?:\s+(\S+))?$"));

/// `HOST:PORT read error: "message"` (v6) or `[HOST:PORT] read error: "message"` (v2 to v5).
static READ_ERROR: LazyLock<Regex> =
    LazyLock::new(|| compile(r#"^(?:\[(\S+)\]|(\S+)) read error: "(.*)"$"#));

/// `HOST:PORT IP connect error: "message"`: v6.19.0 added the IP column, v2 to v5 print
/// `[HOST:PORT] connect error: "message"`.
static CONNECT_ERROR: LazyLock<Regex> =
    LazyLock::new(|| compile(r#"^(?:\[(\S+)\]|(\S+))(?: (\S+))? connect error: "(.*)"$"#));

/// v3 to v6: `READY threads A/B[ (C)][ huge pages P% X/Y memory M KB][ (T ms)]`. The OpenCL
/// and CUDA backends print no huge-page part. A line cut by a terminal keeps its event.
static READY: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"^READY threads (\d+/\d+(?: \(\d+\))?)(?: huge pages (\d+(?:\.\d+)?)% (\d+/\d+)(?:\s|$))?",
    )
});

/// v2: `READY (CPU) threads N(M) huge pages X/Y P% memory M KB`.
static READY_V2: LazyLock<Regex> = LazyLock::new(|| {
    compile(r"^READY \(CPU\) threads (\d+\(\d+\)) huge pages (\d+/\d+) (\d+(?:\.\d+)?)%")
});

/// The banner's `ABOUT        XMRig/VERSION COMPILER` line (v2.8 and later).
static ABOUT: LazyLock<Regex> =
    LazyLock::new(|| compile(r"^ABOUT\s+XMRig/(\S+)(?:\s+(.*\S))?\s*$"));

/// Compiles one of this file's patterns. They match bytes (`(?-u)`), so invalid UTF-8 in a
/// line never prevents a match.
fn compile(pattern: &str) -> Regex {
    match Regex::new(&format!("(?-u){pattern}")) {
        Ok(regex) => regex,
        // The patterns are constants that the tests compile, so this cannot fail at run time.
        Err(err) => panic!("invalid XMRig pattern {pattern:?}: {err}"),
    }
}

/// The compiled patterns and their reusable capture slots.
struct Patterns {
    accepted: Pattern,
    rejected: Pattern,
    speed: Pattern,
    new_job: Pattern,
    use_pool: Pattern,
    read_error: Pattern,
    connect_error: Pattern,
    ready: Pattern,
    ready_v2: Pattern,
    about: Pattern,
}

impl Default for Patterns {
    fn default() -> Self {
        Patterns {
            accepted: Pattern::new(&ACCEPTED),
            rejected: Pattern::new(&REJECTED),
            speed: Pattern::new(&SPEED),
            new_job: Pattern::new(&NEW_JOB),
            use_pool: Pattern::new(&USE_POOL),
            read_error: Pattern::new(&READ_ERROR),
            connect_error: Pattern::new(&CONNECT_ERROR),
            ready: Pattern::new(&READY),
            ready_v2: Pattern::new(&READY_V2),
            about: Pattern::new(&ABOUT),
        }
    }
}

#[derive(Default)]
pub struct XmrigParser {
    patterns: Patterns,
    /// True once an XMRig record has started. The untimestamped lines that follow one (the
    /// banner's indented lines, the pieces of a line wrapped by a terminal) belong to it and
    /// add nothing to its event.
    after_record: bool,
}

impl SourceParser for XmrigParser {
    fn start(&mut self, line: &Line<'_>, head: &Head<'_>, out: &mut Vec<Event>) -> bool {
        self.after_record = true;
        let (timestamp, tag, parsed) = match head {
            Head::Xmrig { timestamp, rest } => {
                let (tag, message) = split_tag(rest);
                (Some(*timestamp), tag, self.message(message))
            }
            Head::XmrigBanner { rest } => (None, None, self.banner(rest)),
            _ => return false,
        };
        let Some((kind, fields)) = parsed else {
            return false;
        };
        out.push(Event {
            source: Source::Xmrig,
            kind,
            line: line.number,
            offset: line.offset,
            timestamp: timestamp.map(lossy),
            ts_micros: timestamp.and_then(datetime_micros),
            level: None,
            category: None,
            tag: tag.map(lossy),
            fields,
            // NOTE: an untimestamped banner line repeats unchanged at every start of the same
            // build, so the ABOUT events of two runs share one identity.
            identity: identity(Source::Xmrig, &[trim_end(line.text)]),
        });
        true
    }

    fn continuation(&mut self, _line: &Line<'_>, _out: &mut Vec<Event>) -> bool {
        self.after_record
    }

    // Every event is emitted by `start`, so no record is ever pending.
    fn close(&mut self, _out: &mut Vec<Event>) {}

    fn pending_start(&self) -> Option<(u64, u64)> {
        None
    }
}

/// Splits what follows the timestamp's `]` into the tag, if any, and the trimmed message.
/// Since v3 a tag follows two spaces; a v2 message follows one space and has no tag.
fn split_tag(rest: &[u8]) -> (Option<&[u8]>, &[u8]) {
    let Some(tagged) = rest.strip_prefix(b"  ") else {
        return (None, trim(rest));
    };
    let tagged = trim(tagged);
    let end = memchr::memchr(b' ', tagged).unwrap_or(tagged.len());
    let (word, message) = tagged.split_at(end);
    if is_tag(word) {
        (Some(word), trim(message))
    } else {
        (None, tagged)
    }
}

/// Tags are short lowercase words: `cpu`, `net`, `miner`, `config`, `signal`, `randomx`,
/// `opencl`, `nvidia`, ...
fn is_tag(word: &[u8]) -> bool {
    (1..=10).contains(&word.len())
        && word
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

impl XmrigParser {
    /// Recognises a timestamped message by its first bytes, then checks its whole shape.
    fn message(&mut self, message: &[u8]) -> Option<Parsed> {
        let p = &mut self.patterns;
        match message.first()? {
            b'a' if message.starts_with(b"accepted (") => share(&mut p.accepted, message, false),
            b'r' if message.starts_with(b"rejected (") => share(&mut p.rejected, message, true),
            b's' if message.starts_with(b"speed ") => speed(&mut p.speed, message),
            b'n' if message.starts_with(b"new job from ") => new_job(&mut p.new_job, message),
            b'n' if message == b"no active pools, stop mining" => {
                Some(("xmrig_no_active_pools", Vec::new()))
            }
            b'u' if message.starts_with(b"use pool ") => use_pool(&mut p.use_pool, message),
            b'R' if message.starts_with(b"READY (CPU) ") => ready_v2(&mut p.ready_v2, message),
            b'R' if message.starts_with(b"READY threads ") => ready(&mut p.ready, message),
            b'S' | b'C' => signal(message),
            _ => self.pool_error(message),
        }
    }

    /// The read and connect errors, which start with the pool's address.
    fn pool_error(&mut self, message: &[u8]) -> Option<Parsed> {
        let p = &mut self.patterns;
        if memmem::find(message, b"read error: \"").is_some() {
            return read_error(&mut p.read_error, message);
        }
        if memmem::find(message, b"connect error: \"").is_some() {
            return connect_error(&mut p.connect_error, message);
        }
        None
    }

    /// Recognises the ABOUT line among the banner's ` * NAME  value` lines.
    fn banner(&mut self, rest: &[u8]) -> Option<Parsed> {
        if !rest.starts_with(b"ABOUT ") {
            return None;
        }
        let groups = self.patterns.about.captures(rest)?;
        Some((
            "xmrig_about",
            vec![
                ("version", text(groups.get(1)?)),
                ("build", opt_text(groups.get(2))),
            ],
        ))
    }
}

fn text(b: &[u8]) -> Value {
    Value::Str(lossy(b))
}

fn opt_text(b: Option<&[u8]>) -> Value {
    b.map_or(Value::Null, text)
}

/// Parses a required count or height; a number too long for `u128` rejects the line.
fn uint(b: Option<&[u8]>) -> Option<Value> {
    Some(Value::UInt(parse_uint(b?)?))
}

fn opt_uint(b: Option<&[u8]>) -> Option<Value> {
    match b {
        Some(digits) => uint(Some(digits)),
        None => Some(Value::Null),
    }
}

/// A hashrate column: the printed digits, or null for `n/a` (not measured yet).
fn rate(b: Option<&[u8]>) -> Option<Value> {
    match b {
        None | Some(b"n/a") => Some(Value::Null),
        Some(digits) if is_decimal(digits) => Some(text(digits)),
        Some(_) => None,
    }
}

fn share(pattern: &mut Pattern, message: &[u8], rejected: bool) -> Option<Parsed> {
    let g = pattern.captures(message)?;
    let mut fields = vec![
        ("accepted", uint(g.get(1))?),
        ("rejected", uint(g.get(2))?),
        ("diff", uint(g.get(3))?),
        ("diff_scale", text(g.get(4).unwrap_or_default())),
    ];
    if rejected {
        fields.push(("reason", text(g.get(5)?)));
        fields.push(("latency_ms", uint(g.get(6))?));
        Some(("xmrig_rejected", fields))
    } else {
        fields.push(("latency_ms", uint(g.get(5))?));
        Some(("xmrig_accepted", fields))
    }
}

fn speed(pattern: &mut Pattern, message: &[u8]) -> Option<Parsed> {
    let g = pattern.captures(message)?;
    let fields = vec![
        ("h10s", rate(g.get(1))?),
        ("h60s", rate(g.get(2))?),
        ("h15m", rate(g.get(3))?),
        ("max", rate(g.get(5))?),
        ("unit", text(g.get(4)?)),
        ("avg", rate(g.get(6))?),
    ];
    Some(("xmrig_speed", fields))
}

fn new_job(pattern: &mut Pattern, message: &[u8]) -> Option<Parsed> {
    let g = pattern.captures(message)?;
    let fields = vec![
        ("pool", text(g.get(1)?)),
        ("diff", uint(g.get(2))?),
        ("diff_scale", text(g.get(3).unwrap_or_default())),
        ("algo", opt_text(g.get(4))),
        ("height", opt_uint(g.get(5))?),
        ("tx_count", opt_uint(g.get(6))?),
    ];
    Some(("xmrig_new_job", fields))
}

fn use_pool(pattern: &mut Pattern, message: &[u8]) -> Option<Parsed> {
    let g = pattern.captures(message)?;
    let (tls, ip) = match (g.get(2), g.get(3)) {
        (Some(tls), Some(ip)) => (Some(tls), Some(ip)),
        // One column is the IP, unless the IP is missing and only the TLS version remains.
        (Some(one), None) if one.starts_with(b"TLS") || one.starts_with(b"SSL") => {
            (Some(one), None)
        }
        (one, _) => (None, one),
    };
    let fields = vec![
        ("pool", text(g.get(1)?)),
        ("tls", opt_text(tls)),
        ("ip", opt_text(ip)),
    ];
    Some(("xmrig_use_pool", fields))
}

fn read_error(pattern: &mut Pattern, message: &[u8]) -> Option<Parsed> {
    let g = pattern.captures(message)?;
    let pool = g.get(1).or(g.get(2))?;
    let fields = vec![("pool", text(pool)), ("error", text(g.get(3)?))];
    Some(("xmrig_read_error", fields))
}

fn connect_error(pattern: &mut Pattern, message: &[u8]) -> Option<Parsed> {
    let g = pattern.captures(message)?;
    let pool = g.get(1).or(g.get(2))?;
    let fields = vec![
        ("pool", text(pool)),
        ("ip", opt_text(g.get(3))),
        ("error", text(g.get(4)?)),
    ];
    Some(("xmrig_connect_error", fields))
}

fn ready(pattern: &mut Pattern, message: &[u8]) -> Option<Parsed> {
    let g = pattern.captures(message)?;
    let fields = vec![
        ("threads", text(g.get(1)?)),
        ("huge_pages_percent", opt_text(g.get(2))),
        ("huge_pages", opt_text(g.get(3))),
    ];
    Some(("xmrig_ready", fields))
}

fn ready_v2(pattern: &mut Pattern, message: &[u8]) -> Option<Parsed> {
    let g = pattern.captures(message)?;
    let fields = vec![
        ("threads", text(g.get(1)?)),
        ("huge_pages_percent", text(g.get(3)?)),
        ("huge_pages", text(g.get(2)?)),
    ];
    Some(("xmrig_ready", fields))
}

/// `SIGTERM received, exiting` (also SIGINT and SIGHUP), or `Ctrl+C received, exiting` from
/// the Windows console.
fn signal(message: &[u8]) -> Option<Parsed> {
    let name = message.strip_suffix(b" received, exiting")?;
    if !matches!(name, b"SIGTERM" | b"SIGINT" | b"SIGHUP" | b"Ctrl+C") {
        return None;
    }
    Some(("xmrig_signal", vec![("signal", text(name))]))
}
