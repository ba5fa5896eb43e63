//! The streaming parser: lines in, events out, with records of several lines joined to their
//! first line and every line counted.

use crate::event::{Event, Source};
use crate::lines::{LineSplitter, RawLine};
use crate::monerod::MonerodParser;
use crate::p2pool::P2poolParser;
use crate::text::{datetime_len, has_escape, strip_ansi, trim_cr};
use crate::xmrig::XmrigParser;

/// Default cap on the bytes kept of one line. P2Pool builds each record in a 1 KiB buffer, so
/// anything far longer is a pasted blob or garbage; it is counted and skipped.
pub const DEFAULT_MAX_LINE: usize = 64 * 1024;

/// One complete line, cleaned of `\r` and colour codes.
pub struct Line<'a> {
    pub text: &'a [u8],
    /// Absolute offset of the line's first byte in the stream.
    pub offset: u64,
    /// 1-based line number.
    pub number: u64,
}

/// The program that wrote a line, as its start shows, and the parts of that start.
pub enum Head<'a> {
    /// A P2Pool record: `[LEVEL8]YYYY-MM-DD HH:MM:SS.ffff Category message`.
    P2pool {
        /// The level word without its padding, only in the log file.
        level: Option<&'a [u8]>,
        /// From the timestamp to the end of the line: the record's normalised first line.
        record: &'a [u8],
        timestamp: &'a [u8],
        /// Category and message (`record` after the timestamp and its space).
        body: &'a [u8],
    },
    /// P2Pool's untimestamped panic line (console only).
    P2poolPanic { message: &'a [u8] },
    /// A monerod line: `YYYY-MM-DD HH:MM:SS.mmm<tab or spaces>rest`.
    Monerod { timestamp: &'a [u8], rest: &'a [u8] },
    /// An XMRig line: `[YYYY-MM-DD HH:MM:SS[.mmm]]rest`.
    Xmrig { timestamp: &'a [u8], rest: &'a [u8] },
    /// An untimestamped XMRig banner line: ` * NAME   value`.
    XmrigBanner { rest: &'a [u8] },
}

impl Head<'_> {
    pub fn source(&self) -> Source {
        match self {
            Head::P2pool { .. } | Head::P2poolPanic { .. } => Source::P2pool,
            Head::Monerod { .. } => Source::Monerod,
            Head::Xmrig { .. } | Head::XmrigBanner { .. } => Source::Xmrig,
        }
    }
}

const P2POOL_PANIC: &[u8] = b"P2Pool can't continue execution: panic at ";

/// Recognises the start of a record; `None` means a continuation line or one that matches no
/// program's line shape.
pub fn detect(text: &[u8]) -> Option<Head<'_>> {
    match text.first()? {
        b'0'..=b'9' => detect_timestamped(text, None),
        b'N' | b'W' | b'E' => {
            // Matching the 8-byte level word as an array compiles to integer compares
            // instead of one `memcmp` call per candidate word.
            let word: &[u8] = match text.first_chunk::<8>()? {
                b"NOTICE  " => b"NOTICE",
                b"WARNING " => b"WARNING",
                b"ERROR   " => b"ERROR",
                _ => return None,
            };
            match detect_timestamped(&text[8..], Some(word))? {
                head @ Head::P2pool { .. } => Some(head),
                _ => None,
            }
        }
        b'[' => {
            let ts_len = datetime_len(&text[1..])?;
            let rest = text[1 + ts_len..].strip_prefix(b"]")?;
            Some(Head::Xmrig {
                timestamp: &text[1..1 + ts_len],
                rest,
            })
        }
        b' ' if text.starts_with(b" * ") => Some(Head::XmrigBanner { rest: &text[3..] }),
        b'P' if text.starts_with(P2POOL_PANIC) => Some(Head::P2poolPanic { message: text }),
        _ => None,
    }
}

fn detect_timestamped<'a>(text: &'a [u8], level: Option<&'a [u8]>) -> Option<Head<'a>> {
    let ts_len = datetime_len(text)?;
    let after = &text[ts_len..];
    match (ts_len, after.first()) {
        // P2Pool prints four fractional digits, then one space before the category.
        (24, Some(b' ')) => Some(Head::P2pool {
            level,
            record: text,
            timestamp: &text[..ts_len],
            body: &after[1..],
        }),
        // monerod prints milliseconds, then a tab (or spaces where a paste expanded it).
        (23, Some(b'\t' | b' ')) if level.is_none() => Some(Head::Monerod {
            timestamp: &text[..ts_len],
            rest: after,
        }),
        _ => None,
    }
}

/// The interface of each program's parser to the lines of its records.
pub trait SourceParser {
    /// Handles a line that starts a record. Returns false when the record is of no known kind.
    fn start(&mut self, line: &Line<'_>, head: &Head<'_>, out: &mut Vec<Event>) -> bool;
    /// Offers a line that starts no record. Returns true when a pending record took it.
    fn continuation(&mut self, line: &Line<'_>, out: &mut Vec<Event>) -> bool;
    /// Closes the pending record, if any, and emits its event.
    fn close(&mut self, out: &mut Vec<Event>);
    /// Offset and line number of the first line of the pending record.
    fn pending_start(&self) -> Option<(u64, u64)>;
}

/// Line and event counts, so that a format change shows as a number instead of silence.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub bytes: u64,
    pub lines: u64,
    /// Record starts per source, in `Source` order (p2pool, xmrig, monerod).
    pub records: [u64; 3],
    /// Record starts of each source that matched no event kind.
    pub unrecognised_records: [u64; 3],
    /// Lines taken by a pending multi-line record.
    pub continuation_lines: u64,
    /// Lines that start no record and belong to none.
    pub unrecognised_lines: u64,
    /// Lines longer than the cap, skipped.
    pub oversized_lines: u64,
    /// Bytes of a final line without `\n` that `finish` dropped.
    pub dropped_partial_bytes: u64,
    pub events: u64,
    /// Events per kind, in the order the kinds first appeared.
    pub events_by_kind: Vec<(&'static str, u64)>,
}

impl Counters {
    fn count_event(&mut self, kind: &'static str) {
        self.events += 1;
        // Kinds are string literals, so comparing addresses finds the slot without
        // comparing bytes; the same text at another address still matches by content.
        let slot = self
            .events_by_kind
            .iter()
            .position(|(k, _)| std::ptr::eq(*k, kind))
            .or_else(|| self.events_by_kind.iter().position(|(k, _)| *k == kind));
        match slot {
            Some(i) => self.events_by_kind[i].1 += 1,
            None => self.events_by_kind.push((kind, 1)),
        }
    }
}

fn source_index(source: Source) -> usize {
    match source {
        Source::P2pool => 0,
        Source::Xmrig => 1,
        Source::Monerod => 2,
    }
}

/// Turns a byte stream fed in chunks of any size into events. Results never depend on
/// where the chunks were cut.
pub struct StreamParser {
    lines: LineSplitter,
    /// Buffer for a line with its colour codes removed.
    scratch: Vec<u8>,
    p2pool: P2poolParser,
    xmrig: XmrigParser,
    monerod: MonerodParser,
    /// Source of the latest record start; continuation lines are offered to it.
    last_source: Option<Source>,
    /// Absolute offset of the first byte of the chunk being fed.
    chunk_start: u64,
    /// False when the chunk being fed has no ESC byte, so that its lines skip the search
    /// for colour codes. Lines begun in an earlier chunk are searched regardless.
    chunk_has_escape: bool,
    pub counters: Counters,
}

impl StreamParser {
    /// A parser for a stream whose next byte is at `base_offset` and starts line `base_line`.
    pub fn new(base_offset: u64, base_line: u64, max_line: usize) -> Self {
        StreamParser {
            lines: LineSplitter::new(base_offset, base_line, max_line),
            scratch: Vec::new(),
            p2pool: P2poolParser::default(),
            xmrig: XmrigParser::default(),
            monerod: MonerodParser::default(),
            last_source: None,
            chunk_start: base_offset,
            chunk_has_escape: true,
            counters: Counters::default(),
        }
    }

    /// Parses `data`, appending the events of every record it completes to `out`.
    pub fn feed(&mut self, data: &[u8], out: &mut Vec<Event>) {
        self.counters.bytes += data.len() as u64;
        // One search over the whole chunk is far cheaper than one per line.
        self.chunk_start = self.lines.consumed();
        self.chunk_has_escape = has_escape(data);
        let mut lines = std::mem::replace(&mut self.lines, LineSplitter::new(0, 1, 1));
        lines.feed(data, |raw| self.on_line(raw, out));
        self.lines = lines;
    }

    /// Closes every pending multi-line record (after a quiet period on a live stream). An
    /// unfinished last line stays pending.
    pub fn flush_record(&mut self, out: &mut Vec<Event>) {
        let before = out.len();
        self.p2pool.close(out);
        self.xmrig.close(out);
        self.monerod.close(out);
        self.count_events(&out[before..]);
    }

    /// Ends the stream: closes pending records and either parses the unfinished last line
    /// (`parse_partial`) or drops it and counts its bytes.
    pub fn finish(&mut self, parse_partial: bool, out: &mut Vec<Event>) {
        if parse_partial {
            self.chunk_has_escape = true;
            let mut lines = std::mem::replace(&mut self.lines, LineSplitter::new(0, 1, 1));
            lines.take_partial(|raw| self.on_line(raw, out));
            self.lines = lines;
        } else {
            self.counters.dropped_partial_bytes += self.lines.drop_partial();
        }
        self.flush_record(out);
    }

    /// Offset from which a restarted reader must read again so that nothing is lost: the
    /// start of the earliest pending record, or of the unfinished line.
    pub fn safe_position(&self) -> (u64, u64) {
        [
            self.p2pool.pending_start(),
            self.xmrig.pending_start(),
            self.monerod.pending_start(),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or((self.lines.pending_offset(), self.lines.next_number()))
    }

    /// Total bytes fed so far plus the base offset.
    pub fn end_offset(&self) -> u64 {
        self.lines.consumed()
    }

    fn count_events(&mut self, events: &[Event]) {
        for e in events {
            self.counters.count_event(e.kind);
        }
    }

    fn on_line(&mut self, raw: RawLine<'_>, out: &mut Vec<Event>) {
        self.counters.lines += 1;
        if raw.truncated {
            self.counters.oversized_lines += 1;
            return;
        }
        let before = out.len();
        let mut scratch = std::mem::take(&mut self.scratch);
        let mut text = trim_cr(raw.bytes);
        let may_have_escape = self.chunk_has_escape || raw.offset < self.chunk_start;
        if may_have_escape && has_escape(text) {
            strip_ansi(text, &mut scratch);
            text = &scratch;
        }
        let line = Line {
            text,
            offset: raw.offset,
            number: raw.number,
        };
        match detect(text) {
            Some(head) => self.on_record_start(&line, &head, out),
            None => self.on_other_line(&line, out),
        }
        self.scratch = scratch;
        self.count_events(&out[before..]);
    }

    fn on_record_start(&mut self, line: &Line<'_>, head: &Head<'_>, out: &mut Vec<Event>) {
        let source = head.source();
        // A record of one program ends any pending record of the others.
        if source != Source::P2pool {
            self.p2pool.close(out);
        }
        if source != Source::Xmrig {
            self.xmrig.close(out);
        }
        if source != Source::Monerod {
            self.monerod.close(out);
        }
        let known = match source {
            Source::P2pool => self.p2pool.start(line, head, out),
            Source::Xmrig => self.xmrig.start(line, head, out),
            Source::Monerod => self.monerod.start(line, head, out),
        };
        let i = source_index(source);
        self.counters.records[i] += 1;
        if !known {
            self.counters.unrecognised_records[i] += 1;
        }
        self.last_source = Some(source);
    }

    fn on_other_line(&mut self, line: &Line<'_>, out: &mut Vec<Event>) {
        let taken = match self.last_source {
            Some(Source::P2pool) => self.p2pool.continuation(line, out),
            Some(Source::Xmrig) => self.xmrig.continuation(line, out),
            Some(Source::Monerod) => self.monerod.continuation(line, out),
            None => false,
        };
        if taken {
            self.counters.continuation_lines += 1;
        } else {
            self.counters.unrecognised_lines += 1;
        }
    }
}

/// Parses a whole buffer at once and ends the stream (tests, fuzzing).
pub fn parse_all(data: &[u8], parse_partial: bool) -> (Vec<Event>, Counters) {
    let mut parser = StreamParser::new(0, 1, DEFAULT_MAX_LINE);
    let mut out = Vec::new();
    parser.feed(data, &mut out);
    parser.finish(parse_partial, &mut out);
    (out, parser.counters)
}
