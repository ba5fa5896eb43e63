//! P2Pool records, v1.0 to v4.18, in their log-file and console forms.

use crate::event::{identity, Event, Hashrate, Source, Value};
use crate::stream::{Head, Line, SourceParser};
use crate::text::{datetime_micros, decimal_scaled, hashrate_unit_exp, lossy, parse_uint};

/// The fixed fields of a P2Pool record's first line.
#[derive(Clone, Debug)]
struct Header {
    level: Option<String>,
    timestamp: String,
    ts_micros: Option<i64>,
    category: String,
    offset: u64,
    number: u64,
}

/// Multi-line records whose continuation lines belong to them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PendingKind {
    SidechainStatus,
}

/// A record whose continuation lines may still arrive.
struct Pending {
    kind: PendingKind,
    header: Header,
    /// The normalised lines so far: the first from its timestamp on, then each continuation.
    lines: Vec<Vec<u8>>,
}

#[derive(Default)]
pub struct P2poolParser {
    pending: Option<Pending>,
}

impl Header {
    fn event(&self, kind: &'static str, fields: Vec<(&'static str, Value)>, id: u128) -> Event {
        Event {
            source: Source::P2pool,
            kind,
            line: self.number,
            offset: self.offset,
            timestamp: Some(self.timestamp.clone()),
            ts_micros: self.ts_micros,
            level: self.level.clone(),
            category: Some(self.category.clone()),
            tag: None,
            fields,
            identity: id,
        }
    }
}

/// Splits a record body into its category and message. `P2Pool API` is the one category of
/// two words.
fn split_category(body: &[u8]) -> (&[u8], &[u8]) {
    let Some(sp) = memchr::memchr(b' ', body) else {
        return (body, b"");
    };
    let (category, message) = (&body[..sp], &body[sp + 1..]);
    if category == b"P2Pool" {
        if let Some(rest) = message.strip_prefix(b"API ") {
            return (&body[..sp + 4], rest);
        }
    }
    (category, message)
}

/// Parses `«value» «unit»` as P2Pool prints a hashrate.
pub fn parse_hashrate(text: &[u8]) -> Option<Hashrate> {
    let text = crate::text::trim(text);
    let (value, unit) = crate::text::split_once(text, b" ")?;
    let exp = hashrate_unit_exp(unit)?;
    let hs = decimal_scaled(value, exp)?;
    Some(Hashrate {
        value: lossy(value),
        unit: lossy(unit),
        hs,
    })
}

impl SourceParser for P2poolParser {
    fn start(&mut self, line: &Line<'_>, head: &Head<'_>, out: &mut Vec<Event>) -> bool {
        self.close(out);
        let Head::P2pool {
            level,
            record,
            timestamp,
            body,
        } = head
        else {
            // TODO: the panic line.
            return false;
        };
        let (category, message) = split_category(body);
        let header = Header {
            level: level.map(lossy),
            timestamp: lossy(timestamp),
            ts_micros: datetime_micros(timestamp),
            category: lossy(category),
            offset: line.offset,
            number: line.number,
        };
        let id = || identity(Source::P2pool, &[record]);
        match (category, message) {
            (b"StratumServer", m) if m.starts_with(b"SHARE FOUND") => match share_found(m) {
                Some(fields) => {
                    out.push(header.event("share_found", fields, id()));
                    true
                }
                None => false,
            },
            (b"SideChain", b"status") => {
                self.pending = Some(Pending {
                    kind: PendingKind::SidechainStatus,
                    header,
                    lines: vec![record.to_vec()],
                });
                true
            }
            _ => false,
        }
    }

    fn continuation(&mut self, line: &Line<'_>, _out: &mut Vec<Event>) -> bool {
        let Some(p) = self.pending.as_mut() else {
            return false;
        };
        p.lines.push(crate::text::trim_end(line.text).to_vec());
        true
    }

    fn close(&mut self, out: &mut Vec<Event>) {
        let Some(p) = self.pending.take() else {
            return;
        };
        let refs: Vec<&[u8]> = p.lines.iter().map(Vec::as_slice).collect();
        let id = identity(Source::P2pool, &refs);
        match p.kind {
            PendingKind::SidechainStatus => {
                out.push(
                    p.header
                        .event("sidechain_status", sidechain_status(&refs[1..]), id),
                );
            }
        }
    }

    fn pending_start(&self) -> Option<(u64, u64)> {
        self.pending
            .as_ref()
            .map(|p| (p.header.offset, p.header.number))
    }
}

/// `SHARE FOUND: mainchain height H[, sidechain height S], diff D[, client A[,] user U], effort E%`
fn share_found(m: &[u8]) -> Option<Vec<(&'static str, Value)>> {
    let rest = m.strip_prefix(b"SHARE FOUND: mainchain height ")?;
    let mut mainchain = None;
    let mut sidechain = None;
    let mut diff = None;
    let mut client = None;
    let mut user = None;
    let mut effort = None;
    let (h, rest) = crate::text::split_once(rest, b", ")?;
    mainchain = mainchain.or(parse_uint(h));
    let mut rest = rest;
    loop {
        let (part, tail) = match crate::text::split_once(rest, b", ") {
            Some((p, t)) => (p, Some(t)),
            None => (rest, None),
        };
        if let Some(v) = part.strip_prefix(b"sidechain height ") {
            sidechain = Some(parse_uint(v)?);
        } else if let Some(v) = part.strip_prefix(b"diff ") {
            diff = Some(parse_uint(v)?);
        } else if let Some(v) = part.strip_prefix(b"client ") {
            // Before v3.2 there is no comma between the client and the user.
            match crate::text::split_once(v, b" user ") {
                Some((c, u)) => {
                    client = Some(lossy(c));
                    user = Some(lossy(u));
                }
                None => client = Some(lossy(v)),
            }
        } else if let Some(v) = part.strip_prefix(b"user ") {
            user = Some(lossy(v));
        } else if let Some(v) = part.strip_prefix(b"effort ") {
            let v = v.strip_suffix(b"%")?;
            effort = Some(lossy(v));
        }
        match tail {
            Some(t) => rest = t,
            None => break,
        }
    }
    Some(vec![
        ("mainchain_height", Value::opt_uint(mainchain)),
        ("sidechain_height", Value::opt_uint(sidechain)),
        ("difficulty", Value::opt_uint(diff)),
        ("client", Value::opt_str(client)),
        ("user", Value::opt_str(user)),
        ("effort_percent", Value::opt_str(effort)),
    ])
}

/// The `Label = value` lines of a SideChain status record.
fn sidechain_status(lines: &[&[u8]]) -> Vec<(&'static str, Value)> {
    let get = |label: &[u8]| -> Option<&[u8]> {
        lines.iter().find_map(|l| {
            let (k, v) = crate::text::split_once(l, b"= ")?;
            (crate::text::trim(k) == label).then_some(crate::text::trim(v))
        })
    };
    vec![
        (
            "monero_node",
            Value::opt_str(get(b"Monero node").map(lossy)),
        ),
        (
            "mainchain_height",
            Value::opt_uint(get(b"Main chain height").and_then(parse_uint)),
        ),
        (
            "mainchain_hashrate",
            Value::opt_hashrate(get(b"Main chain hashrate").and_then(parse_hashrate)),
        ),
        // TODO: the remaining status fields.
    ]
}
