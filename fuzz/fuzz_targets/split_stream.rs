//! Feeds arbitrary bytes to the streaming parser twice, whole and cut in two at a point
//! the input chooses, and checks that both give the same events, counters and resume
//! position. A panic anywhere in the parser is a crash too.
//!
//! Input layout: byte 0 picks the line cap and whether the last line is parsed, bytes 1
//! and 2 pick the cut point, the rest is the log.

#![no_main]

use _parser::event::Event;
use _parser::stream::{StreamParser, DEFAULT_MAX_LINE};
use libfuzzer_sys::fuzz_target;

/// Settings decoded from the input's first byte.
struct Settings {
    max_line: usize,
    parse_partial: bool,
}

impl Settings {
    fn from_byte(byte: u8) -> Self {
        // A small cap half of the time, so that the over-long-line path runs as often
        // as the normal one.
        let max_line = if byte & 1 == 0 {
            DEFAULT_MAX_LINE
        } else {
            1 + usize::from(byte >> 2)
        };
        Settings {
            max_line,
            parse_partial: byte & 2 != 0,
        }
    }
}

/// Parses `chunks` in order with a fresh parser; returns the events and the parser.
fn parse(chunks: &[&[u8]], settings: &Settings) -> (Vec<Event>, StreamParser) {
    let mut parser = StreamParser::new(0, 1, settings.max_line);
    let mut events = Vec::new();
    for chunk in chunks {
        parser.feed(chunk, &mut events);
    }
    parser.finish(settings.parse_partial, &mut events);
    (events, parser)
}

fuzz_target!(|input: &[u8]| {
    let [flags, cut_high, cut_low, log @ ..] = input else {
        return;
    };
    let settings = Settings::from_byte(*flags);
    let cut = usize::from(u16::from_be_bytes([*cut_high, *cut_low])) % (log.len() + 1);

    let (whole_events, whole) = parse(&[log], &settings);
    let (split_events, split) = parse(&[&log[..cut], &log[cut..]], &settings);

    assert_eq!(
        whole_events, split_events,
        "events differ with a cut at {cut}"
    );
    assert_eq!(
        whole.counters, split.counters,
        "counters differ with a cut at {cut}"
    );
    assert_eq!(whole.safe_position(), split.safe_position());
    assert_eq!(whole.end_offset(), split.end_offset());
    assert_eq!(whole.counters.events, whole_events.len() as u64);
});
