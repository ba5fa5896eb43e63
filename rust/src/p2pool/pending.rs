//! A record of several lines whose continuation lines may still arrive.

use super::fields::{is_rule, Fields};
use super::record::{Header, Record};
use super::status::{miner_data, StatusKind, NODE_HEALTH_REASONS};
use crate::event::{identity, Event, Source, Value};
use crate::text::lossy;

/// Maximum lines kept of one record. P2Pool builds each record in a 1 KiB buffer, and its
/// longest real records (a `status` body, the BLOCK FOUND banner) have fewer than 20 lines,
/// so this only bounds memory on damaged input.
const MAX_LINES: usize = 128;

/// What the pending record is, with the fields its first line gave.
pub enum Body {
    Status(StatusKind),
    /// The fields of the BLOCK FOUND line; the 9-line banner adds none.
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
    /// `background jobs running:` then one `name (count)` line per job; no event kind.
    BackgroundJobs,
}

/// How a pending record took a line that starts no record.
#[derive(Debug, PartialEq, Eq)]
pub enum Offer {
    Taken,
    /// Taken, and the record has its last line.
    Complete,
    /// Not a line of this record: the record ends before it.
    Rejected,
}

impl Body {
    /// Whether `line` fits as continuation line number `index` (1 is the line after the
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

    /// Whether the record is complete after its line number `index`.
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
    header: Header,
    /// The normalised lines: the first from its timestamp on, then each continuation line,
    /// all without trailing blanks. The event identity covers all of them.
    lines: Vec<Vec<u8>>,
}

impl Pending {
    pub fn new(body: Body, record: &Record<'_>) -> Self {
        Pending {
            body,
            header: record.header(),
            lines: vec![record.line.to_vec()],
        }
    }

    /// Offset and line number of the first line.
    pub fn start(&self) -> (u64, u64) {
        (self.header.offset, self.header.number)
    }

    /// Offers a line that starts no record, without trailing blanks.
    pub fn offer_line(&mut self, line: &[u8]) -> Offer {
        let index = self.lines.len();
        if index >= MAX_LINES || !self.body.takes_line(line, index) {
            return Offer::Rejected;
        }
        self.lines.push(line.to_vec());
        if self.body.complete_after(line, index) {
            Offer::Complete
        } else {
            Offer::Taken
        }
    }

    /// Offers a record that follows; returns true when it belongs to this one (a reason
    /// after `Node health`).
    pub fn offer_record(&mut self, record: &Record<'_>) -> bool {
        let Body::NodeHealth { reasons, .. } = &mut self.body else {
            return false;
        };
        let is_reason = record.category == Some(b"ConsoleCommands")
            && NODE_HEALTH_REASONS.contains(&record.message);
        if !is_reason || self.lines.len() >= MAX_LINES {
            return false;
        }
        reasons.push(lossy(record.message));
        self.lines.push(record.line.to_vec());
        true
    }

    /// Whether the record yields an event when it closes.
    pub fn has_event(&self) -> bool {
        match &self.body {
            Body::Status(kind) => kind.event_kind().is_some(),
            Body::BackgroundJobs => false,
            _ => true,
        }
    }

    /// Ends the record and builds its event, if its kind has one.
    pub fn into_event(self) -> Option<Event> {
        let refs: Vec<&[u8]> = self.lines.iter().map(Vec::as_slice).collect();
        let body_lines = refs.get(1..).unwrap_or_default();
        let (kind, fields) = match self.body {
            Body::Status(status) => (status.event_kind()?, status.fields(body_lines)),
            Body::BlockFound(fields) => ("block_found", fields),
            Body::MinerData => ("miner_data", miner_data(body_lines)),
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
        let id = identity(Source::P2pool, &refs);
        Some(self.header.into_event(kind, fields, id))
    }
}
