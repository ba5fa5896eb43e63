//! A record of several lines whose continuation lines may still arrive.

use super::fields::{is_rule, Fields};
use super::record::{Header, Record};
use super::status::{miner_data, StatusKind, NODE_HEALTH_REASONS};
use crate::event::{identity, Event, Source, Value};
use crate::text::lossy;

/// Maximum lines and bytes kept of one record. P2Pool builds each record in a 1 KiB buffer,
/// and its longest real records (a `status` body, the BLOCK FOUND banner) have fewer than 20
/// lines, so these limits only bound memory on damaged input.
const MAX_LINES: usize = 128;
const MAX_BYTES: usize = 16 * 1024;

/// Kind of the pending record, with the fields its first line gave.
pub enum Body {
    Status(StatusKind),
    /// The fields of the BLOCK FOUND line. The 9-line banner adds none.
    BlockFound(Fields),
    MinerData,
    /// The `version` command: the version line, then a blank line, `Dependencies:` and
    /// ` - «library» «version»` lines.
    Version(Fields),
    /// `Node health: n/10`. The reasons arrive as separate `ConsoleCommands` records.
    NodeHealth {
        fields: Fields,
        reasons: Vec<String>,
    },
    /// `background jobs running:` then one `name (count)` line per job. No event kind covers
    /// it.
    BackgroundJobs,
}

/// Outcome of offering a pending record a line that starts no record.
#[derive(Debug, PartialEq, Eq)]
pub enum Offer {
    Taken,
    /// Taken, and the record has its last line.
    Complete,
    /// Not a line of this record: the record ends before it.
    Rejected,
}

impl Body {
    /// Returns whether `line` fits as continuation line number `index` (1 is the line after the
    /// first line).
    fn takes_line(&self, line: &[u8], index: usize) -> bool {
        match self {
            Body::Status(_) => line.contains(&b'='),
            Body::BlockFound(_) => index <= 9 && (is_rule(line) || line.starts_with(b"|")),
            Body::MinerData => is_rule(line) || line.contains(&b'='),
            Body::Version(_) => {
                line.is_empty() || line == b"Dependencies:" || line.starts_with(b" - ")
            }
            Body::NodeHealth { .. } => false,
            Body::BackgroundJobs => line.ends_with(b")") && line.contains(&b'('),
        }
    }

    fn has_event(&self) -> bool {
        match self {
            Body::Status(kind) => kind.event_kind().is_some(),
            Body::BackgroundJobs => false,
            _ => true,
        }
    }

    /// Returns whether the record is complete after its line number `index`.
    fn complete_after(&self, line: &[u8], index: usize) -> bool {
        match self {
            // The banner and the miner data table each end with their second rule.
            Body::BlockFound(_) | Body::MinerData => index >= 2 && is_rule(line),
            _ => false,
        }
    }
}

pub struct Pending {
    body: Body,
    /// The header of the event, `None` for a record without an event so that it allocates
    /// nothing.
    header: Option<Header>,
    /// Offset and line number of the first line.
    start: (u64, u64),
    /// The normalised lines joined by `\n`: the first from its timestamp on, then each
    /// continuation line, all without trailing blanks. The event identity is the hash of
    /// this text, the same as `identity` of the separate lines.
    text: Vec<u8>,
    /// Number of lines in `text`.
    lines: usize,
}

impl Pending {
    /// Starts a record in `buffer`, the buffer of an earlier record, because reusing it saves
    /// an allocation of about 1 KiB per record.
    pub fn new(body: Body, record: &Record<'_>, mut buffer: Vec<u8>) -> Self {
        buffer.clear();
        buffer.extend_from_slice(record.line);
        let header = body.has_event().then(|| record.header());
        Pending {
            body,
            header,
            start: (record.offset, record.number),
            text: buffer,
            lines: 1,
        }
    }

    fn push_line(&mut self, line: &[u8]) {
        self.text.push(b'\n');
        self.text.extend_from_slice(line);
        self.lines += 1;
    }

    /// Offset and line number of the first line.
    pub fn start(&self) -> (u64, u64) {
        self.start
    }

    /// Offers a line that starts no record, without trailing blanks.
    pub fn offer_line(&mut self, line: &[u8]) -> Offer {
        let index = self.lines;
        let full = index >= MAX_LINES || self.text.len() + line.len() >= MAX_BYTES;
        if full || !self.body.takes_line(line, index) {
            return Offer::Rejected;
        }
        self.push_line(line);
        if self.body.complete_after(line, index) {
            Offer::Complete
        } else {
            Offer::Taken
        }
    }

    /// Offers a record that follows. Returns true when it belongs to this one, as a reason
    /// after `Node health` does.
    pub fn offer_record(&mut self, record: &Record<'_>) -> bool {
        let Body::NodeHealth { reasons, .. } = &mut self.body else {
            return false;
        };
        let is_reason = record.category == Some(b"ConsoleCommands")
            && NODE_HEALTH_REASONS.contains(&record.message);
        let full = self.lines >= MAX_LINES || self.text.len() + record.line.len() >= MAX_BYTES;
        if !is_reason || full {
            return false;
        }
        reasons.push(lossy(record.message));
        self.push_line(record.line);
        true
    }

    /// Returns whether the record yields an event when it closes.
    pub fn has_event(&self) -> bool {
        self.body.has_event()
    }

    /// Ends the record and builds its event, if its kind has one. Returns the text buffer
    /// for the next record.
    pub fn finish(self) -> (Option<Event>, Vec<u8>) {
        let Pending {
            body, header, text, ..
        } = self;
        let event = header.and_then(|header| build_event(body, header, &text));
        (event, text)
    }
}

/// Iterates over the lines of `text` after the first one.
fn lines_after_first(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = memchr::memchr(b'\n', text).and_then(|at| text.get(at + 1..));
    std::iter::from_fn(move || {
        let current = rest?;
        match memchr::memchr(b'\n', current) {
            Some(at) => {
                rest = current.get(at + 1..);
                current.get(..at)
            }
            None => rest.take(),
        }
    })
}

fn build_event(body: Body, header: Header, text: &[u8]) -> Option<Event> {
    let body_lines = || lines_after_first(text);
    let (kind, fields) = match body {
        Body::Status(status) => (status.event_kind()?, status.fields(body_lines())),
        Body::BlockFound(fields) => ("block_found", fields),
        Body::MinerData => ("miner_data", miner_data(body_lines())),
        Body::Version(fields) => ("version", fields),
        Body::NodeHealth {
            mut fields,
            reasons,
        } => {
            fields.push(("comments", Value::List(reasons)));
            ("node_health", fields)
        }
        Body::BackgroundJobs => return None,
    };
    let id = identity(Source::P2pool, &[text]);
    Some(header.into_event(kind, fields, id))
}
