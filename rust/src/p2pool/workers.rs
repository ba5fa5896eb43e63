//! The `workers` command listing: a header record, one record per worker, a total record.

use super::fields::{parse_hashrate, text, Fields};
use crate::event::Value;
use crate::text::{duration_seconds, parse_uint, split_once, trim};

/// Column starts in the message of a listing's records, read from its header.
///
/// The columns are fixed-width (address: longest address + 8, TLS 7, uptime 20, difficulty
/// 20, hashrate 15, shares 12, then the name), but the address width changes from one listing
/// to the next. The hashrate cell is blank when auto-difficulty is off, so rows cannot be
/// split on whitespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerColumns {
    /// Since v4.1.
    tls: Option<usize>,
    uptime: usize,
    difficulty: usize,
    hashrate: usize,
    /// Since v4.14.
    shares: Option<usize>,
    name: usize,
}

/// Finds the start of `word`, which begins with its separating space, at or after `from`.
fn column(header: &[u8], from: usize, word: &[u8]) -> Option<usize> {
    let tail = header.get(from..)?;
    let at = memchr::memmem::find(tail, word)?;
    Some(from + at + 1)
}

impl WorkerColumns {
    /// Reads a header such as `IP:port<pad>TLS    uptime<pad>difficulty<pad>hashrate<pad>
    /// shares<pad>name`.
    pub fn from_header(message: &[u8]) -> Option<Self> {
        let rest = message.strip_prefix(b"IP:port")?;
        let start = message.len() - rest.len();
        let uptime = column(message, start, b" uptime")?;
        let difficulty = column(message, uptime, b" difficulty")?;
        let hashrate = column(message, difficulty, b" hashrate")?;
        let name = column(message, hashrate, b" name")?;
        Some(WorkerColumns {
            tls: column(message, start, b" TLS ").filter(|&tls| tls < uptime),
            uptime,
            difficulty,
            hashrate,
            shares: column(message, hashrate, b" shares").filter(|&shares| shares < name),
            name,
        })
    }

    /// Reads one worker row. Returns `None` when the row does not fit the columns.
    pub fn row(&self, message: &[u8]) -> Option<Fields> {
        let address = cell(message, 0, self.tls.unwrap_or(self.uptime));
        if address.is_empty() || address.contains(&b' ') {
            return None;
        }
        let tls = match self.tls {
            Some(start) => Value::Bool(yes_no(cell(message, start, self.uptime))?),
            None => Value::Null,
        };
        let uptime = cell(message, self.uptime, self.difficulty);
        let uptime_seconds = duration_seconds(uptime)?;
        let difficulty = parse_uint(cell(message, self.difficulty, self.hashrate))?;
        let hashrate = self.hashrate_cell(message)?;
        let (sidechain_shares, stratum_shares, name_start) = self.shares_cell(message)?;
        let name = trim(message.get(name_start..).unwrap_or_default());
        Some(vec![
            ("address", text(Some(address))),
            ("tls", tls),
            ("uptime", text(Some(uptime))),
            ("uptime_seconds", Value::UInt(u128::from(uptime_seconds))),
            ("difficulty", Value::UInt(difficulty)),
            ("hashrate", hashrate),
            ("sidechain_shares", sidechain_shares),
            ("stratum_shares", stratum_shares),
            ("name", text(Some(name))),
        ])
    }

    /// Reads the hashrate, `null` when the cell is blank.
    fn hashrate_cell(&self, message: &[u8]) -> Option<Value> {
        let value = cell(message, self.hashrate, self.shares.unwrap_or(self.name));
        if value.is_empty() {
            return Some(Value::Null);
        }
        parse_hashrate(value).map(Value::Hashrate)
    }

    /// Reads the `«sidechain»/«stratum»` shares and where the name starts. P2Pool pads cells
    /// without cutting them. A shares value wider than its 12 columns therefore runs into the
    /// name (`12345/1234567rig1`), and then the digits end the cell.
    fn shares_cell(&self, message: &[u8]) -> Option<(Value, Value, usize)> {
        let Some(start) = self.shares else {
            return Some((Value::Null, Value::Null, self.name));
        };
        let padded = message.get(self.name.checked_sub(1)?) == Some(&b' ');
        let end = if padded {
            self.name
        } else {
            start + shares_width(message.get(start..)?)
        };
        let (sidechain, stratum) = split_once(cell(message, start, end), b"/")?;
        let sidechain = Value::UInt(parse_uint(sidechain)?);
        let stratum = Value::UInt(parse_uint(stratum)?);
        Some((sidechain, stratum, end))
    }
}

/// Length of the `«digits»/«digits»` at the start of `text`.
fn shares_width(text: &[u8]) -> usize {
    let digits = |from: usize| {
        let tail = text.get(from..).unwrap_or_default();
        tail.iter().take_while(|b| b.is_ascii_digit()).count()
    };
    let sidechain = digits(0);
    if text.get(sidechain) != Some(&b'/') {
        return sidechain;
    }
    sidechain + 1 + digits(sidechain + 1)
}

/// Returns the trimmed text of `message[start..end]`, clamped to the message.
fn cell(message: &[u8], start: usize, end: usize) -> &[u8] {
    let end = end.min(message.len());
    trim(message.get(start.min(end)..end).unwrap_or_default())
}

fn yes_no(value: &[u8]) -> Option<bool> {
    match value {
        b"yes" => Some(true),
        b"no" => Some(false),
        _ => None,
    }
}

/// `Total: «n» workers`, the last record of a listing. Input starts after `Total: `.
pub fn workers_total(rest: &[u8]) -> Option<Fields> {
    let (count, word) = split_once(trim(rest), b" ")?;
    if word != b"workers" {
        return None;
    }
    Some(vec![("count", Value::UInt(parse_uint(count)?))])
}
