//! XMRig log lines, v2 to v6, and the ABOUT line of its start banner.
//!
//! A timestamped line is `[YYYY-MM-DD HH:MM:SS[.mmm]]` followed by an optional tag and the
//! message. v6 pads the tag to eight characters (`]  net      new job …`), v3 to v5 print
//! short tags (`]  cpu  accepted …`), and v2 prints no tag (`] accepted …`). XMRig prints
//! local time, and `ts_micros` reads it as UTC: the caller applies the host's offset.

use std::sync::LazyLock;

use memchr::memmem;
use regex::bytes::Regex;

use crate::event::{identity, Event, Source, Timestamp, Value};
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

/// `speed 10s/60s/15m H10 H60 H15 UNIT max HMAX UNIT[ avg HAVG UNIT]`. Early v2 releases
/// (v2.6.2 for one) average the first value over 2.5 s and write `max:`, and that value goes
/// into `h10s`. v6 appends `avg` for GhostRider.
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
/// connection. v2 prints only the IP.
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

/// The banner's `ABOUT        XMRig/VERSION COMPILER` line. v2.6.2 prints a `VERSIONS:` line
/// in its place, which is not read.
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
            timestamp: timestamp.map(Timestamp::new),
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
/// Since v3 a tag follows two spaces, while a v2 message follows one space and has no tag.
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

/// Returns true for a word shaped like a tag: short, lowercase, as `cpu`, `net`, `miner`,
/// `config`, `signal`, `randomx`, `opencl` and `nvidia` are.
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

    /// Parses the read and connect errors, which start with the pool's address.
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

/// Parses a required count or height. A number too long for `u128` rejects the line.
fn uint(b: Option<&[u8]>) -> Option<Value> {
    Some(Value::UInt(parse_uint(b?)?))
}

fn opt_uint(b: Option<&[u8]>) -> Option<Value> {
    match b {
        Some(digits) => uint(Some(digits)),
        None => Some(Value::Null),
    }
}

/// Converts a hashrate column to its printed digits, or to null for `n/a` (not measured yet).
/// Anything else rejects the line.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::parse_all;

    /// An expected field value.
    #[derive(Clone, Copy, Debug)]
    enum X {
        Null,
        S(&'static str),
        U(u128),
    }

    impl X {
        fn value(self) -> Value {
            match self {
                X::Null => Value::Null,
                X::S(s) => Value::Str(s.to_string()),
                X::U(v) => Value::UInt(v),
            }
        }
    }

    struct Case {
        name: &'static str,
        input: &'static [u8],
        /// The one expected event's kind, or `None` when the input must yield no event.
        kind: Option<&'static str>,
        tag: Option<&'static str>,
        fields: &'static [(&'static str, X)],
    }

    const CASES: &[Case] = &[
        Case {
            name: "v6 accepted",
            input: b"[2022-12-25 19:17:27.366]  cpu      accepted (8/1) diff 120001 (245 ms)\n",
            kind: Some("xmrig_accepted"),
            tag: Some("cpu"),
            fields: &[
                ("accepted", X::U(8)),
                ("rejected", X::U(1)),
                ("diff", X::U(120001)),
                ("diff_scale", X::S("")),
                ("latency_ms", X::U(245)),
            ],
        },
        Case {
            name: "v6 accepted, diff in K",
            input: b"[2024-01-02 03:04:05.006]  cpu      accepted (3/0) diff 1200K (80 ms)\n",
            kind: Some("xmrig_accepted"),
            tag: Some("cpu"),
            fields: &[("diff", X::U(1200)), ("diff_scale", X::S("K"))],
        },
        Case {
            name: "v6 accepted, diff in G",
            input: b"[2024-01-02 03:04:05.006]  opencl   accepted (3/0) diff 350G (80 ms)\n",
            kind: Some("xmrig_accepted"),
            tag: Some("opencl"),
            fields: &[("diff", X::U(350)), ("diff_scale", X::S("G"))],
        },
        Case {
            name: "v5 short tag accepted",
            input: b"[2020-06-23 10:44:13.665]  cpu  accepted (1/0) diff 50000 (94 ms)\n",
            kind: Some("xmrig_accepted"),
            tag: Some("cpu"),
            fields: &[("accepted", X::U(1)), ("latency_ms", X::U(94))],
        },
        Case {
            name: "v2 accepted, no tag, no ms",
            input: b"[2018-05-17 03:16:30] accepted (1/0) diff 30000 (120 ms)\n",
            kind: Some("xmrig_accepted"),
            tag: None,
            fields: &[("diff", X::U(30000)), ("latency_ms", X::U(120))],
        },
        Case {
            name: "accepted with CRLF",
            input: b"[2022-12-25 19:17:27.366]  cpu      accepted (8/1) diff 120001 (245 ms)\r\n",
            kind: Some("xmrig_accepted"),
            tag: Some("cpu"),
            fields: &[("latency_ms", X::U(245))],
        },
        Case {
            name: "v6 rejected",
            input: b"[2021-11-28 12:09:05.552]  cpu      rejected (697/1917) diff 16384 \"Stale share\" (66 ms)\n",
            kind: Some("xmrig_rejected"),
            tag: Some("cpu"),
            fields: &[
                ("accepted", X::U(697)),
                ("rejected", X::U(1917)),
                ("diff", X::U(16384)),
                ("diff_scale", X::S("")),
                ("reason", X::S("Stale share")),
                ("latency_ms", X::U(66)),
            ],
        },
        Case {
            name: "rejected reason with quotes and invalid UTF-8",
            input: b"[2021-11-28 12:09:05.552]  cpu      rejected (1/2) diff 5M \"bad \"x\" \xff\" (7 ms)\n",
            kind: Some("xmrig_rejected"),
            tag: Some("cpu"),
            fields: &[
                ("diff", X::U(5)),
                ("diff_scale", X::S("M")),
                ("reason", X::S("bad \"x\" \u{fffd}")),
            ],
        },
        Case {
            name: "v6 speed",
            input: b"[2021-11-28 12:09:27.746]  miner    speed 10s/60s/15m 6010.5 6534.7 6072.1 H/s max 22685.6 H/s\n",
            kind: Some("xmrig_speed"),
            tag: Some("miner"),
            fields: &[
                ("h10s", X::S("6010.5")),
                ("h60s", X::S("6534.7")),
                ("h15m", X::S("6072.1")),
                ("max", X::S("22685.6")),
                ("unit", X::S("H/s")),
                ("avg", X::Null),
            ],
        },
        Case {
            name: "speed not yet measured",
            input: b"[2021-11-28 16:13:25.004]  miner    speed 10s/60s/15m n/a n/a n/a H/s max n/a H/s\n",
            kind: Some("xmrig_speed"),
            tag: Some("miner"),
            fields: &[
                ("h10s", X::Null),
                ("h60s", X::Null),
                ("h15m", X::Null),
                ("max", X::Null),
                ("unit", X::S("H/s")),
            ],
        },
        Case {
            name: "speed in MH/s",
            input: b"[2023-03-01 00:00:00.000]  miner    speed 10s/60s/15m 1.20 1.19 n/a MH/s max 1.25 MH/s\n",
            kind: Some("xmrig_speed"),
            tag: Some("miner"),
            fields: &[
                ("h10s", X::S("1.20")),
                ("h15m", X::Null),
                ("max", X::S("1.25")),
                ("unit", X::S("MH/s")),
            ],
        },
        Case {
            name: "speed with GhostRider avg",
            input: b"[2023-03-01 00:00:00.000]  miner    speed 10s/60s/15m 812.4 806.1 799.0 H/s max 830.2 H/s avg 801.7 H/s\n",
            kind: Some("xmrig_speed"),
            tag: Some("miner"),
            fields: &[("max", X::S("830.2")), ("avg", X::S("801.7"))],
        },
        Case {
            name: "v5 speed without tag",
            input: b"[2020-06-23 10:45:13.555] speed 10s/60s/15m 23456.1 23401.9 n/a H/s max 23499.0 H/s\n",
            kind: Some("xmrig_speed"),
            tag: None,
            fields: &[("h10s", X::S("23456.1")), ("h15m", X::Null)],
        },
        Case {
            name: "v2 speed with 2.5s window and max:",
            input: b"[2018-05-17 03:16:26] speed 2.5s/60s/15m 70.5 n/a n/a H/s max: n/a H/s\n",
            kind: Some("xmrig_speed"),
            tag: None,
            fields: &[
                ("h10s", X::S("70.5")),
                ("h60s", X::Null),
                ("max", X::Null),
                ("unit", X::S("H/s")),
            ],
        },
        Case {
            name: "v6 new job with ZMQ port and transactions",
            input: b"[2022-10-18 22:02:07.200]  net      new job from 127.0.0.1:3333 (ZMQ:18083) diff 120M algo rx/0 height 2736376 (41 tx)\n",
            kind: Some("xmrig_new_job"),
            tag: Some("net"),
            fields: &[
                ("pool", X::S("127.0.0.1:3333")),
                ("diff", X::U(120)),
                ("diff_scale", X::S("M")),
                ("algo", X::S("rx/0")),
                ("height", X::U(2736376)),
                ("tx_count", X::U(41)),
            ],
        },
        Case {
            name: "v2 new job without height",
            input: b"[2018-05-17 03:16:21] new job from pool.example.net:5555 diff 30000 algo cn-heavy\n",
            kind: Some("xmrig_new_job"),
            tag: None,
            fields: &[
                ("pool", X::S("pool.example.net:5555")),
                ("diff", X::U(30000)),
                ("algo", X::S("cn-heavy")),
                ("height", X::Null),
                ("tx_count", X::Null),
            ],
        },
        Case {
            name: "v6 use pool without TLS",
            input: b"[2022-10-18 22:02:07.200]  net      use pool 127.0.0.1:3333  127.0.0.1\n",
            kind: Some("xmrig_use_pool"),
            tag: Some("net"),
            fields: &[
                ("pool", X::S("127.0.0.1:3333")),
                ("tls", X::Null),
                ("ip", X::S("127.0.0.1")),
            ],
        },
        Case {
            name: "v6 use pool with TLS and ZMQ port",
            input: b"[2024-05-01 08:00:00.000]  net      use pool pool.example.net:443 (ZMQ:18083) TLSv1.3 192.0.2.7\n",
            kind: Some("xmrig_use_pool"),
            tag: Some("net"),
            fields: &[
                ("pool", X::S("pool.example.net:443")),
                ("tls", X::S("TLSv1.3")),
                ("ip", X::S("192.0.2.7")),
            ],
        },
        Case {
            name: "v2 use pool with colour padding",
            input: b"[2018-05-17 03:16:21] use pool pool.example.net:5555 192.0.2.8 \n",
            kind: Some("xmrig_use_pool"),
            tag: None,
            fields: &[("tls", X::Null), ("ip", X::S("192.0.2.8"))],
        },
        Case {
            name: "v6 use pool in console colours",
            input: b"\x1b[1;30m[2022-10-18 22:02:07.200]\x1b[0m \x1b[1;44;37m net     \x1b[0m \x1b[1;37muse pool \x1b[0m\x1b[1;36m127.0.0.1:3333 \x1b[0m\x1b[1;32m\x1b[0m \x1b[1;30m127.0.0.1\x1b[0m\n",
            kind: Some("xmrig_use_pool"),
            tag: Some("net"),
            fields: &[
                ("pool", X::S("127.0.0.1:3333")),
                ("tls", X::Null),
                ("ip", X::S("127.0.0.1")),
            ],
        },
        Case {
            name: "v6 read error",
            input: b"[2022-12-25 19:18:16.894]  net      xmr.pool.example:2222 read error: \"end of file\"\n",
            kind: Some("xmrig_read_error"),
            tag: Some("net"),
            fields: &[
                ("pool", X::S("xmr.pool.example:2222")),
                ("error", X::S("end of file")),
            ],
        },
        Case {
            name: "v5 read error in brackets",
            input: b"[2020-06-23 10:44:13.555] [pool.example.net:3333] read error: \"connection reset by peer\"\n",
            kind: Some("xmrig_read_error"),
            tag: None,
            fields: &[
                ("pool", X::S("pool.example.net:3333")),
                ("error", X::S("connection reset by peer")),
            ],
        },
        Case {
            name: "v6.19 connect error with IP",
            input: b"[2023-06-01 12:00:00.000]  net      127.0.0.1:3333 192.0.2.1 connect error: \"connection refused\"\n",
            kind: Some("xmrig_connect_error"),
            tag: Some("net"),
            fields: &[
                ("pool", X::S("127.0.0.1:3333")),
                ("ip", X::S("192.0.2.1")),
                ("error", X::S("connection refused")),
            ],
        },
        Case {
            name: "v6 connect error before the IP column",
            input: b"[2022-01-01 12:00:00.000]  net      127.0.0.1:3333 connect error: \"connection refused\"\n",
            kind: Some("xmrig_connect_error"),
            tag: Some("net"),
            fields: &[
                ("pool", X::S("127.0.0.1:3333")),
                ("ip", X::Null),
                ("error", X::S("connection refused")),
            ],
        },
        Case {
            name: "v2 connect error in brackets",
            input: b"[2018-05-17 03:16:21] [pool.example.net:5555] connect error: \"operation canceled\"\n",
            kind: Some("xmrig_connect_error"),
            tag: None,
            fields: &[
                ("pool", X::S("pool.example.net:5555")),
                ("ip", X::Null),
                ("error", X::S("operation canceled")),
            ],
        },
        Case {
            name: "no active pools",
            input: b"[2022-12-25 19:18:16.894]  net      no active pools, stop mining\n",
            kind: Some("xmrig_no_active_pools"),
            tag: Some("net"),
            fields: &[],
        },
        Case {
            name: "v6 READY with huge pages",
            input: b"[2022-10-18 22:02:08.100]  cpu      READY threads 12/12 (12) huge pages 100% 12/12 memory 24576 KB (12 ms)\n",
            kind: Some("xmrig_ready"),
            tag: Some("cpu"),
            fields: &[
                ("threads", X::S("12/12 (12)")),
                ("huge_pages_percent", X::S("100")),
                ("huge_pages", X::S("12/12")),
            ],
        },
        Case {
            name: "v5 READY wrapped by a terminal",
            input: b"[2020-06-23 10:44:13.555]  cpu  READY threads 96/96 (96) huge pages 100% 96/96 m\nemory 196608 KB (2981 ms)\n",
            kind: Some("xmrig_ready"),
            tag: Some("cpu"),
            fields: &[
                ("threads", X::S("96/96 (96)")),
                ("huge_pages_percent", X::S("100")),
                ("huge_pages", X::S("96/96")),
            ],
        },
        Case {
            name: "v5 OpenCL READY",
            input: b"[2020-06-23 10:44:13.555]  ocl  READY threads 2/2 (1534 ms)\n",
            kind: Some("xmrig_ready"),
            tag: Some("ocl"),
            fields: &[
                ("threads", X::S("2/2")),
                ("huge_pages_percent", X::Null),
                ("huge_pages", X::Null),
            ],
        },
        Case {
            name: "v2 READY (CPU)",
            input: b"[2018-05-17 03:16:21] READY (CPU) threads 6(6) huge pages 12/12 100% memory 24.0 MB\n",
            kind: Some("xmrig_ready"),
            tag: None,
            fields: &[
                ("threads", X::S("6(6)")),
                ("huge_pages_percent", X::S("100")),
                ("huge_pages", X::S("12/12")),
            ],
        },
        Case {
            name: "v6 SIGTERM",
            input: b"[2024-02-03 04:05:06.007]  signal   SIGTERM received, exiting\n",
            kind: Some("xmrig_signal"),
            tag: Some("signal"),
            fields: &[("signal", X::S("SIGTERM"))],
        },
        Case {
            name: "v2 Ctrl+C",
            input: b"[2018-05-17 03:20:00] Ctrl+C received, exiting\n",
            kind: Some("xmrig_signal"),
            tag: None,
            fields: &[("signal", X::S("Ctrl+C"))],
        },
        Case {
            name: "banner ABOUT",
            input: b" * ABOUT        XMRig/6.18.0 gcc/12.1.0\n",
            kind: Some("xmrig_about"),
            tag: None,
            fields: &[("version", X::S("6.18.0")), ("build", X::S("gcc/12.1.0"))],
        },
        Case {
            name: "banner ABOUT in colours with CRLF",
            input: b"\x1b[1;32m * \x1b[0m\x1b[1;37mABOUT        \x1b[0m\x1b[1;36mXMRig/6.21.0\x1b[0m\x1b[1;37m MSVC/2019\x1b[0m\r\n",
            kind: Some("xmrig_about"),
            tag: None,
            fields: &[("version", X::S("6.21.0")), ("build", X::S("MSVC/2019"))],
        },
        Case {
            name: "other banner line",
            input: b" * POOL #1      127.0.0.1:3333 algo auto\n",
            kind: None,
            tag: None,
            fields: &[],
        },
        Case {
            name: "accepted without latency",
            input: b"[2022-12-25 19:17:27.366]  cpu      accepted (8/1) diff 120001\n",
            kind: None,
            tag: None,
            fields: &[],
        },
        Case {
            name: "speed with a value that is no number",
            input: b"[2021-11-28 12:09:27.746]  miner    speed 10s/60s/15m 60x0.5 6534.7 6072.1 H/s max 22685.6 H/s\n",
            kind: None,
            tag: None,
            fields: &[],
        },
        Case {
            name: "new job without difficulty",
            input: b"[2022-10-18 22:02:07.200]  net      new job from 127.0.0.1:3333 algo rx/0\n",
            kind: None,
            tag: None,
            fields: &[],
        },
        Case {
            name: "DNS error is no read error",
            input: b"[2022-10-18 22:02:07.200]  net      127.0.0.1:3333 DNS error: \"unknown node or service\"\n",
            kind: None,
            tag: None,
            fields: &[],
        },
        Case {
            name: "signal that XMRig does not handle",
            input: b"[2024-02-03 04:05:06.007]  signal   SIGKILL received, exiting\n",
            kind: None,
            tag: None,
            fields: &[],
        },
        Case {
            name: "dev donate",
            input: b"[2024-02-03 04:05:06.007]  net      dev donate started\n",
            kind: None,
            tag: None,
            fields: &[],
        },
        Case {
            name: "difficulty too long for 128 bits",
            input: b"[2024-02-03 04:05:06.007]  cpu      accepted (1/0) diff 1234567890123456789012345678901234567890 (5 ms)\n",
            kind: None,
            tag: None,
            fields: &[],
        },
        Case {
            name: "partial last line",
            input: b"[2022-12-25 19:17:27.366]  cpu      accepted (8/1) diff 120001 (245 ms)",
            kind: None,
            tag: None,
            fields: &[],
        },
    ];

    #[test]
    fn parse_table() {
        for case in CASES {
            let (events, _) = parse_all(case.input, false);
            let Some(kind) = case.kind else {
                assert!(events.is_empty(), "{}: unexpected {events:?}", case.name);
                continue;
            };
            assert_eq!(events.len(), 1, "{}: {events:?}", case.name);
            let event = &events[0];
            assert_eq!(event.kind, kind, "{}", case.name);
            assert_eq!(event.source, Source::Xmrig, "{}", case.name);
            assert_eq!(event.tag.as_deref(), case.tag, "{}", case.name);
            assert_eq!(event.level, None, "{}", case.name);
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

    fn kinds_fields(events: &[Event]) -> Vec<(&'static str, Vec<&'static str>)> {
        events
            .iter()
            .map(|e| (e.kind, e.fields.iter().map(|(n, _)| *n).collect()))
            .collect()
    }

    #[test]
    fn field_order_per_kind() {
        let input = concat!(
            "[2021-11-28 12:09:05.552]  cpu      rejected (1/2) diff 16384 \"Low diff share\" (66 ms)\n",
            "[2021-11-28 12:09:06.552]  cpu      accepted (2/2) diff 16384 (66 ms)\n",
            "[2021-11-28 12:09:27.746]  miner    speed 10s/60s/15m 1.0 2.0 3.0 H/s max 4.0 H/s\n",
            "[2021-11-28 16:13:31.531]  net      new job from 127.0.0.1:3333 diff 50001 algo rx/0 height 2503209 (9 tx)\n",
            "[2022-10-18 22:02:07.200]  net      use pool 127.0.0.1:3333  127.0.0.1\n",
            "[2022-12-25 19:18:16.894]  net      127.0.0.1:3333 read error: \"end of file\"\n",
            "[2023-06-01 12:00:00.000]  net      127.0.0.1:3333 192.0.2.1 connect error: \"connection refused\"\n",
            "[2022-10-18 22:02:08.100]  cpu      READY threads 12/12 (12) huge pages 100% 12/12 memory 24576 KB (12 ms)\n",
            "[2024-02-03 04:05:06.007]  signal   SIGINT received, exiting\n",
        );
        let (events, _) = parse_all(input.as_bytes(), false);
        let want: Vec<(&str, Vec<&str>)> = vec![
            (
                "xmrig_rejected",
                vec![
                    "accepted",
                    "rejected",
                    "diff",
                    "diff_scale",
                    "reason",
                    "latency_ms",
                ],
            ),
            (
                "xmrig_accepted",
                vec!["accepted", "rejected", "diff", "diff_scale", "latency_ms"],
            ),
            (
                "xmrig_speed",
                vec!["h10s", "h60s", "h15m", "max", "unit", "avg"],
            ),
            (
                "xmrig_new_job",
                vec!["pool", "diff", "diff_scale", "algo", "height", "tx_count"],
            ),
            ("xmrig_use_pool", vec!["pool", "tls", "ip"]),
            ("xmrig_read_error", vec!["pool", "error"]),
            ("xmrig_connect_error", vec!["pool", "ip", "error"]),
            (
                "xmrig_ready",
                vec!["threads", "huge_pages_percent", "huge_pages"],
            ),
            ("xmrig_signal", vec!["signal"]),
        ];
        assert_eq!(kinds_fields(&events), want);
    }

    #[test]
    fn timestamp_read_as_utc() {
        let (events, _) = parse_all(
            b"[2024-02-29 12:00:00.250]  net      no active pools, stop mining\n",
            false,
        );
        assert_eq!(events.len(), 1);
        assert_eq!(
            events[0].timestamp.as_deref(),
            Some("2024-02-29 12:00:00.250")
        );
        assert_eq!(events[0].ts_micros, Some(1_709_208_000_250_000));
    }

    #[test]
    fn about_has_no_timestamp() {
        let (events, _) = parse_all(b" * ABOUT        XMRig/6.18.0 gcc/12.1.0\n", false);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].timestamp, None);
        assert_eq!(events[0].ts_micros, None);
    }

    #[test]
    fn identity_ignores_colours_and_crlf() {
        let plain = b"[2022-10-18 22:02:07.200]  net      use pool 127.0.0.1:3333  127.0.0.1\n";
        let coloured = b"\x1b[1;30m[2022-10-18 22:02:07.200]\x1b[0m \x1b[1;44;37m net     \x1b[0m \x1b[1;37muse pool \x1b[0m\x1b[1;36m127.0.0.1:3333 \x1b[0m\x1b[1;32m\x1b[0m \x1b[1;30m127.0.0.1\x1b[0m\r\n";
        let (a, _) = parse_all(plain, false);
        let (b, _) = parse_all(coloured, false);
        assert_eq!(a.len(), 1);
        assert_eq!(b.len(), 1);
        assert_eq!(a[0].identity, b[0].identity);
    }

    #[test]
    fn banner_lines_are_continuations() {
        let input = concat!(
            " * CPU          AMD Ryzen 5 5600H with Radeon Graphics (1) 64-bit AES\n",
            "                L2:3.0 MB L3:16.0 MB 6C/12T NUMA:1\n",
            " * ABOUT        XMRig/6.18.0 gcc/12.1.0\n",
        );
        let (events, counters) = parse_all(input.as_bytes(), false);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].line, 3);
        assert_eq!(counters.records[1], 2);
        assert_eq!(counters.unrecognised_records[1], 1);
        assert_eq!(counters.continuation_lines, 1);
        assert_eq!(counters.unrecognised_lines, 0);
    }

    #[test]
    fn wrapped_piece_before_any_record() {
        let (events, counters) = parse_all(b"emory 196608 KB (2981 ms)\n", false);
        assert!(events.is_empty());
        assert_eq!(counters.unrecognised_lines, 1);
        assert_eq!(counters.continuation_lines, 0);
    }

    #[test]
    fn patterns_compile() {
        let _ = Patterns::default();
    }

    /// Bytes that separate or delimit the fields of XMRig lines.
    const NOISE: &[u8] = b" \t\"()[]/:%\x1b\r\n";

    /// Feeds 20,000 mutated copies of the table's lines through the stream parser, which must
    /// not panic on any of them.
    #[test]
    fn mutated_lines_never_panic() {
        let seeds: Vec<&[u8]> = CASES.iter().map(|c| c.input).collect();
        crate::testing::parse_mutations(&seeds, NOISE, 0x9e37_79b9_7f4a_7c15_u64, 20_000);
    }
}
