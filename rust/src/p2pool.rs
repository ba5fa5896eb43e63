//! P2Pool records, v1.0 to v4.18, in their log-file and console forms.
//!
//! A record's first line is split into category and message, then matched against the
//! literal prefixes of that category (`rules`). Records of several lines (`status` output,
//! the BLOCK FOUND banner, `new miner data`, `background jobs running:`, the `version`
//! command and `Node health` with its reasons) stay pending until a line that does not fit
//! them, or the next record, ends them.

mod blocks;
mod fields;
mod health;
mod pending;
mod record;
mod rules;
mod shares;
mod startup;
mod status;
mod workers;

#[cfg(test)]
mod tests;

pub use fields::parse_hashrate;

use crate::event::Event;
use crate::stream::{Head, Line, SourceParser};
use crate::text::trim_end;
use fields::text;
use pending::{Body, Offer, Pending};
use record::{split_category, Record};
use rules::{rules_for, Action, Rule};
use workers::WorkerColumns;

/// The untimestamped line P2Pool writes to stderr right before an abort.
const PANIC_PREFIX: &[u8] = b"P2Pool can't continue execution: panic at ";

#[derive(Default)]
pub struct P2poolParser {
    pending: Option<Pending>,
    /// The text buffer of the last closed record, kept for the next one.
    spare: Vec<u8>,
    /// Columns of the `workers` listing in progress: set by its header record, cleared by its
    /// `Total:` record. Rows can interleave with other records, so other records keep it.
    /// NOTE: rows read without their header (a reader restarted inside a listing) yield
    /// nothing, because the column widths change from one listing to the next.
    workers: Option<WorkerColumns>,
}

impl SourceParser for P2poolParser {
    fn start(&mut self, line: &Line<'_>, head: &Head<'_>, out: &mut Vec<Event>) -> bool {
        let Some(record) = record_of(line, head) else {
            self.close(out);
            return false;
        };
        if let Some(pending) = self.pending.as_mut() {
            if pending.offer_record(&record) {
                return true;
            }
        }
        self.close(out);
        self.dispatch(&record, out)
    }

    fn continuation(&mut self, line: &Line<'_>, out: &mut Vec<Event>) -> bool {
        let Some(pending) = self.pending.as_mut() else {
            return false;
        };
        match pending.offer_line(trim_end(line.text)) {
            Offer::Taken => true,
            Offer::Complete => {
                self.close(out);
                true
            }
            Offer::Rejected => {
                self.close(out);
                false
            }
        }
    }

    fn close(&mut self, out: &mut Vec<Event>) {
        let Some(pending) = self.pending.take() else {
            return;
        };
        let (event, buffer) = pending.finish();
        self.spare = buffer;
        out.extend(event);
    }

    fn pending_start(&self) -> Option<(u64, u64)> {
        self.pending.as_ref().map(Pending::start)
    }
}

/// Splits a record's first line into its parts. Returns `None` for another program's line.
fn record_of<'a>(line: &Line<'_>, head: &Head<'a>) -> Option<Record<'a>> {
    let (level, timestamp, category, message, whole) = match head {
        Head::P2pool {
            level,
            record,
            timestamp,
            body,
        } => {
            let (category, message) = split_category(body);
            (*level, Some(*timestamp), Some(category), message, *record)
        }
        Head::P2poolPanic { message } => (None, None, None, *message, *message),
        _ => return None,
    };
    Some(Record {
        level,
        timestamp,
        category,
        message: trim_end(message),
        line: trim_end(whole),
        offset: line.offset,
        number: line.number,
    })
}

impl P2poolParser {
    /// Emits the event of a record's first line or opens a pending record. Returns whether
    /// the record is of a kind that has an event.
    fn dispatch(&mut self, record: &Record<'_>, out: &mut Vec<Event>) -> bool {
        let Some(category) = record.category else {
            return emit_panic(record, out);
        };
        let first = record.message.first();
        for rule in rules_for(category) {
            // Comparing the first byte inline skips most prefix comparisons on chatter.
            if rule.prefix.first() != first {
                continue;
            }
            let Some(rest) = record.message.strip_prefix(rule.prefix) else {
                continue;
            };
            if let Some(known) = self.apply(rule, record, rest, out) {
                return known;
            }
        }
        if category == b"StratumServer" {
            if let Some(known) = self.workers_listing(record, out) {
                return known;
            }
        }
        emit_generic(record, out)
    }

    /// Applies one rule whose prefix matched. Returns `None` when its parser rejects the
    /// line.
    fn apply(
        &mut self,
        rule: &Rule,
        record: &Record<'_>,
        rest: &[u8],
        out: &mut Vec<Event>,
    ) -> Option<bool> {
        match rule.action {
            Action::Line(kind, parse) => emit(record, kind, parse(rest)?, out),
            Action::Message(kind, parse) => emit(record, kind, parse(record.message)?, out),
            Action::Config => {
                let fields = startup::sidechain_config(rule.prefix, rest)?;
                emit(record, "sidechain_config", fields, out)
            }
            Action::Status(kind) => {
                let exact = rest.is_empty();
                exact.then(|| self.open(Body::Status(kind), record))
            }
            Action::Start(start) => Some(self.open(start(rest)?, record)),
        }
    }

    fn open(&mut self, body: Body, record: &Record<'_>) -> bool {
        let pending = Pending::new(body, record, std::mem::take(&mut self.spare));
        let known = pending.has_event();
        self.pending = Some(pending);
        known
    }

    /// Handles the header, rows and total of a `workers` listing. Returns `None` for other
    /// records.
    fn workers_listing(&mut self, record: &Record<'_>, out: &mut Vec<Event>) -> Option<bool> {
        if let Some(columns) = WorkerColumns::from_header(record.message) {
            self.workers = Some(columns);
            return Some(false);
        }
        if let Some(rest) = record.message.strip_prefix(b"Total: ") {
            let fields = workers::workers_total(rest)?;
            self.workers = None;
            return emit(record, "workers_total", fields, out);
        }
        let fields = self.workers.as_ref()?.row(record.message)?;
        emit(record, "worker", fields, out)
    }
}

fn emit(
    record: &Record<'_>,
    kind: &'static str,
    fields: fields::Fields,
    out: &mut Vec<Event>,
) -> Option<bool> {
    out.push(record.event(kind, fields));
    Some(true)
}

fn emit_panic(record: &Record<'_>, out: &mut Vec<Event>) -> bool {
    let fields = record
        .message
        .strip_prefix(PANIC_PREFIX)
        .and_then(startup::panic_location);
    match fields {
        Some(fields) => emit(record, "panic", fields, out).is_some(),
        None => false,
    }
}

/// Emits `warning` or `error` for a log-file record whose level word is WARNING or ERROR
/// and that matched no other kind. Console records carry no level word, so they yield
/// nothing here.
fn emit_generic(record: &Record<'_>, out: &mut Vec<Event>) -> bool {
    let kind = match record.level {
        Some(b"WARNING") => "warning",
        Some(b"ERROR") => "error",
        _ => return false,
    };
    let fields = vec![("message", text(Some(record.message)))];
    emit(record, kind, fields, out).is_some()
}
