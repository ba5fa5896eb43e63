//! The typed events that the source parsers produce, their identity and their JSON form.

use std::borrow::Cow;
use std::fmt::{self, Write};
use std::ops::Deref;

use xxhash_rust::xxh3::xxh3_128_with_seed;

/// The program that wrote a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    P2pool,
    Xmrig,
    Monerod,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::P2pool => "p2pool",
            Source::Xmrig => "xmrig",
            Source::Monerod => "monerod",
        }
    }

    /// Seed of the identity hash, so equal bytes from two programs never share an identity.
    fn seed(self) -> u64 {
        match self {
            Source::P2pool => 1,
            Source::Xmrig => 2,
            Source::Monerod => 3,
        }
    }
}

/// A hashrate as printed, with its value converted to H/s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hashrate {
    pub value: String,
    pub unit: String,
    /// The printed value times the unit, rounded half up to an integer.
    pub hs: u128,
}

/// One field value of an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Null,
    Bool(bool),
    /// Heights, difficulties and counts; difficulties can exceed 64 bits.
    UInt(u128),
    /// Texts, and the exact printed digits of XMR amounts, efforts and percentages.
    Str(String),
    Hashrate(Hashrate),
    List(Vec<String>),
}

impl Value {
    pub fn opt_uint(v: Option<u128>) -> Value {
        v.map_or(Value::Null, Value::UInt)
    }

    pub fn opt_str(v: Option<String>) -> Value {
        v.map_or(Value::Null, Value::Str)
    }

    pub fn opt_hashrate(v: Option<Hashrate>) -> Value {
        v.map_or(Value::Null, Value::Hashrate)
    }
}

/// One event extracted from one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub source: Source,
    pub kind: &'static str,
    /// 1-based number of the record's first line in the stream.
    pub line: u64,
    /// Absolute byte offset of the record's first line in the stream.
    pub offset: u64,
    /// The timestamp text as printed, `None` for untimestamped lines.
    pub timestamp: Option<Timestamp>,
    /// The printed date and time read as UTC, in microseconds since the epoch. P2Pool and
    /// monerod print UTC; XMRig prints local time, which the caller converts.
    pub ts_micros: Option<i64>,
    /// P2Pool level word (`NOTICE`, `WARNING`, `ERROR`; `None` on the console) or monerod
    /// level word or letter. Borrowed for the known words, so most events allocate nothing
    /// for it.
    pub level: Option<Cow<'static, str>>,
    /// P2Pool or monerod category, borrowed for the known categories.
    pub category: Option<Cow<'static, str>>,
    /// XMRig tag (`cpu`, `net`, `miner`, ...).
    pub tag: Option<String>,
    pub fields: Vec<(&'static str, Value)>,
    /// Hash of the source and the record's normalised bytes (colour codes, `\r`, the P2Pool
    /// level word and trailing blanks removed), so the file and console copies of one record,
    /// and a record read twice, get the same identity.
    pub identity: u128,
}

/// Maximum length of a timestamp stored inline. The three programs print 19 to 24 bytes.
const INLINE_TIMESTAMP: usize = 30;

/// A timestamp text as printed, stored without a heap allocation when it is ASCII and at
/// most 30 bytes long.
#[derive(Clone, PartialEq, Eq)]
pub enum Timestamp {
    /// ASCII bytes, of which the first `len` are the text.
    Inline {
        len: u8,
        bytes: [u8; INLINE_TIMESTAMP],
    },
    /// A longer text, or one that is not ASCII, with invalid UTF-8 replaced.
    Heap(Box<str>),
}

impl Timestamp {
    pub fn new(text: &[u8]) -> Timestamp {
        let mut bytes = [0; INLINE_TIMESTAMP];
        match (bytes.get_mut(..text.len()), u8::try_from(text.len())) {
            (Some(head), Ok(len)) if text.is_ascii() => {
                head.copy_from_slice(text);
                Timestamp::Inline { len, bytes }
            }
            _ => Timestamp::Heap(crate::text::lossy(text).into_boxed_str()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            // `Timestamp::new` stores only ASCII inline, so the check succeeds.
            Timestamp::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            Timestamp::Heap(text) => text,
        }
    }
}

impl Deref for Timestamp {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// Returns `text` borrowed from `known` when it is one of those words, else an owned copy
/// with invalid UTF-8 replaced.
pub fn known_or_owned(text: &[u8], known: &[&'static str]) -> Cow<'static, str> {
    match known.iter().find(|word| word.as_bytes() == text) {
        Some(word) => Cow::Borrowed(word),
        None => Cow::Owned(crate::text::lossy(text)),
    }
}

/// Computes the identity of a record from its normalised lines.
pub fn identity(source: Source, lines: &[&[u8]]) -> u128 {
    if let [one] = lines {
        return xxh3_128_with_seed(one, source.seed());
    }
    let mut joined = Vec::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    for (i, l) in lines.iter().enumerate() {
        if i > 0 {
            joined.push(b'\n');
        }
        joined.extend_from_slice(l);
    }
    xxh3_128_with_seed(&joined, source.seed())
}

impl Event {
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.fields.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
    }

    fn field_uint(&self, names: &[&str]) -> Option<u128> {
        names.iter().find_map(|n| match self.field(n) {
            Some(Value::UInt(v)) => Some(*v),
            _ => None,
        })
    }

    fn field_str(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|n| match self.field(n) {
            Some(Value::Str(s)) => Some(s.as_str()),
            _ => None,
        })
    }

    /// The Monero height the event is about, for indexing and reports.
    pub fn height(&self) -> Option<i64> {
        let v = self.field_uint(&["mainchain_height", "block_height", "height"])?;
        i64::try_from(v).ok()
    }

    /// The payout amount in piconero (`payout` events only).
    pub fn amount_piconero(&self) -> Option<i64> {
        let text = self.field_str(&["amount_xmr"])?;
        let pico = crate::text::xmr_to_piconero(text.as_bytes())?;
        i64::try_from(pico).ok()
    }

    /// The hashrate in H/s that the event reports about this farm: a worker's estimate,
    /// the pool-side hashrate of a sidechain status, or the stratum 15-minute estimate.
    pub fn hashrate_hs(&self) -> Option<i64> {
        ["hashrate", "pool_side_hashrate", "hashrate_15m"]
            .iter()
            .find_map(|n| match self.field(n) {
                Some(Value::Hashrate(h)) => i64::try_from(h.hs).ok(),
                _ => None,
            })
    }

    /// The miner name: the stratum user of a share or the name column of a worker.
    pub fn worker(&self) -> Option<&str> {
        match self.kind {
            "worker" => self.field_str(&["name"]),
            _ => self.field_str(&["user"]),
        }
    }

    /// Writes the event as one JSON object: `line`, `kind`, `source`, `timestamp`, the
    /// source's header fields, then the kind's fields in their documented order.
    pub fn write_json(&self, out: &mut String) {
        out.push_str("{\"line\":");
        push_display(out, self.line);
        out.push_str(",\"kind\":");
        write_str(out, self.kind);
        out.push_str(",\"source\":");
        write_str(out, self.source.as_str());
        out.push_str(",\"timestamp\":");
        write_opt_str(out, self.timestamp.as_deref());
        match self.source {
            Source::Xmrig => {
                out.push_str(",\"tag\":");
                write_opt_str(out, self.tag.as_deref());
            }
            Source::P2pool | Source::Monerod => {
                out.push_str(",\"level\":");
                write_opt_str(out, self.level.as_deref());
                out.push_str(",\"category\":");
                write_opt_str(out, self.category.as_deref());
            }
        }
        for (name, value) in &self.fields {
            out.push(',');
            write_str(out, name);
            out.push(':');
            write_value(out, value);
        }
        out.push('}');
    }

    pub fn to_json(&self) -> String {
        let mut s = String::with_capacity(256);
        self.write_json(&mut s);
        s
    }
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::UInt(v) => push_display(out, v),
        Value::Str(s) => write_str(out, s),
        Value::Hashrate(h) => {
            out.push_str("{\"value\":");
            write_str(out, &h.value);
            out.push_str(",\"unit\":");
            write_str(out, &h.unit);
            out.push_str(",\"hs\":");
            push_display(out, h.hs);
            out.push('}');
        }
        Value::List(items) => {
            out.push('[');
            for (i, s) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, s);
            }
            out.push(']');
        }
    }
}

fn write_opt_str(out: &mut String, s: Option<&str>) {
    match s {
        Some(s) => write_str(out, s),
        None => out.push_str("null"),
    }
}

/// Appends a number without the temporary `String` that `to_string` allocates.
fn push_display(out: &mut String, value: impl std::fmt::Display) {
    // Writing to a `String` cannot fail.
    let _ = write!(out, "{value}");
}

/// True when a byte must be escaped inside a JSON string.
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\' || b == 0x7f
}

/// Writes `s` as a JSON string literal.
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    // Most texts need no escape: copy them whole instead of char by char.
    if !s.bytes().any(needs_escape) {
        out.push_str(s);
        out.push('"');
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_str_escapes_controls() {
        let mut s = String::new();
        write_str(&mut s, "a\"b\\c\u{1}\u{fffd}");
        assert_eq!(s, "\"a\\\"b\\\\c\\u0001\u{fffd}\"");
    }

    #[test]
    fn timestamp_inline_and_heap() {
        let short = Timestamp::new(b"2026-01-01 00:00:00.0002");
        assert!(matches!(short, Timestamp::Inline { .. }));
        assert_eq!(&*short, "2026-01-01 00:00:00.0002");
        let long = Timestamp::new(b"2026-01-01 00:00:00.000000000000000");
        assert!(matches!(long, Timestamp::Heap(_)));
        assert_eq!(&*long, "2026-01-01 00:00:00.000000000000000");
        let invalid = Timestamp::new(b"2026\xff");
        assert_eq!(&*invalid, "2026\u{fffd}");
        assert_eq!(&*Timestamp::new(b""), "");
    }

    #[test]
    fn known_or_owned_borrows_known_words() {
        assert!(matches!(
            known_or_owned(b"Log", &["P2Pool", "Log"]),
            Cow::Borrowed("Log")
        ));
        let unknown = known_or_owned(b"Lo\xff", &["P2Pool", "Log"]);
        assert!(matches!(unknown, Cow::Owned(_)));
        assert_eq!(unknown, "Lo\u{fffd}");
    }

    #[test]
    fn identity_differs_by_source() {
        assert_ne!(
            identity(Source::P2pool, &[b"x"]),
            identity(Source::Xmrig, &[b"x"])
        );
        assert_eq!(
            identity(Source::P2pool, &[b"a\nb"]),
            identity(Source::P2pool, &[b"a", b"b"])
        );
    }
}
