//! The parts of a P2Pool record's first line, and the events built from them.

use std::borrow::Cow;

use super::fields::Fields;
use crate::event::{identity, known_or_owned, Event, Source, Timestamp};
use crate::text::datetime_micros;

/// The level words of P2Pool's log file.
const LEVELS: &[&str] = &["NOTICE", "WARNING", "ERROR"];

/// Common P2Pool categories, the most frequent first. Others are copied.
const CATEGORIES: &[&str] = &[
    "SideChain",
    "StratumServer",
    "P2Pool",
    "BlockTemplate",
    "P2PServer",
    "ConsoleCommands",
    "Util",
    "ZMQReader",
    "Miner",
    "Log",
    "P2Pool API",
    "BlockCache",
    "Mempool",
    "RandomX_Hasher",
    "JSONRPCRequest",
    "TCPServer",
    "PoolBlock",
    "MergeMiningClientJSON_RPC",
    "MergeMiningClientTari",
    "MergeMiningClientTari::TariServer",
];

/// The parts of a record's first line, borrowed from the input.
pub struct Record<'a> {
    /// The level word without its padding. Only the log file has it.
    pub level: Option<&'a [u8]>,
    /// `None` for the untimestamped panic line.
    pub timestamp: Option<&'a [u8]>,
    pub category: Option<&'a [u8]>,
    /// The text after the category, without trailing blanks.
    pub message: &'a [u8],
    /// The first line from the timestamp on, without trailing blanks: the identity input.
    pub line: &'a [u8],
    pub offset: u64,
    pub number: u64,
}

/// The owned header fields of an event, kept while a record of several lines is pending.
pub struct Header {
    level: Option<Cow<'static, str>>,
    timestamp: Option<Timestamp>,
    ts_micros: Option<i64>,
    category: Option<Cow<'static, str>>,
    offset: u64,
    number: u64,
}

impl Record<'_> {
    pub fn header(&self) -> Header {
        Header {
            level: self.level.map(|level| known_or_owned(level, LEVELS)),
            timestamp: self.timestamp.map(Timestamp::new),
            ts_micros: self.timestamp.and_then(datetime_micros),
            category: self
                .category
                .map(|category| known_or_owned(category, CATEGORIES)),
            offset: self.offset,
            number: self.number,
        }
    }

    /// Builds the event of a one-line record.
    pub fn event(&self, kind: &'static str, fields: Fields) -> Event {
        let id = identity(Source::P2pool, &[self.line]);
        self.header().into_event(kind, fields, id)
    }
}

impl Header {
    pub fn into_event(self, kind: &'static str, fields: Fields, identity: u128) -> Event {
        Event {
            source: Source::P2pool,
            kind,
            line: self.number,
            offset: self.offset,
            timestamp: self.timestamp,
            ts_micros: self.ts_micros,
            level: self.level,
            category: self.category,
            tag: None,
            fields,
            identity,
        }
    }
}

/// Splits a record body into its category and message. `P2Pool API` is the one category of
/// two words.
pub fn split_category(body: &[u8]) -> (&[u8], &[u8]) {
    let Some(space) = memchr::memchr(b' ', body) else {
        return (body, b"");
    };
    let (category, message) = body.split_at(space);
    let message = message.get(1..).unwrap_or_default();
    if category == b"P2Pool" {
        if let Some(rest) = message.strip_prefix(b"API ") {
            return (body.get(..space + 4).unwrap_or(category), rest);
        }
    }
    (category, message)
}
