//! Share and found-block lines of stratum clients and the built-in miner.

use super::fields::{comma_parts, keyed, percent, text, Fields};
use crate::event::Value;
use crate::text::{parse_uint, split_once, trim};

/// The comma-separated parts of a SHARE FOUND or INVALID SHARE line. Every part is optional
/// because the line gained parts over the versions.
#[derive(Default)]
struct ShareParts<'a> {
    mainchain_height: Option<u128>,
    sidechain_height: Option<u128>,
    difficulty: Option<u128>,
    client: Option<&'a [u8]>,
    user: Option<&'a [u8]>,
    effort: Option<&'a [u8]>,
    worker_thread: Option<&'a [u8]>,
    reason: Option<&'a [u8]>,
}

impl<'a> ShareParts<'a> {
    /// Splits the list after `SHARE FOUND: `. Returns `None` for a part of unknown shape or a
    /// malformed number, so that a line cut or mangled in a capture yields nothing.
    fn parse(list: &'a [u8]) -> Option<Self> {
        let mut parts = ShareParts::default();
        for part in comma_parts(trim(list)) {
            parts.take(part)?;
        }
        parts.mainchain_height.is_some().then_some(parts)
    }

    fn take(&mut self, part: &'a [u8]) -> Option<()> {
        if let Some(v) = part.strip_prefix(b"mainchain height ") {
            self.mainchain_height = Some(parse_uint(v)?);
        } else if let Some(v) = part.strip_prefix(b"sidechain height ") {
            self.sidechain_height = Some(parse_uint(v)?);
        } else if let Some(v) = part.strip_prefix(b"diff ") {
            self.difficulty = Some(parse_uint(v)?);
        } else if let Some(v) = part.strip_prefix(b"client ") {
            (self.client, self.user) = client_and_user(v);
        } else if let Some(v) = part.strip_prefix(b"user ") {
            self.user = Some(v);
        } else if let Some(v) = part.strip_prefix(b"effort ") {
            self.effort = Some(percent(v)?);
        } else if let Some(v) = part.strip_prefix(b"worker thread ") {
            self.worker_thread = Some(worker_thread(v)?);
        } else if let Some(v) = part.strip_prefix(b"reason: ") {
            self.reason = Some(v);
        } else {
            return None;
        }
        Some(())
    }

    fn heights_and_difficulty(&self) -> Fields {
        vec![
            ("mainchain_height", Value::opt_uint(self.mainchain_height)),
            ("sidechain_height", Value::opt_uint(self.sidechain_height)),
            ("difficulty", Value::opt_uint(self.difficulty)),
        ]
    }
}

/// Splits `«ADDR» user «NAME»`. Before v3.2 the user follows the client without a comma, and
/// an empty login left `user` with nothing after it.
fn client_and_user(text: &[u8]) -> (Option<&[u8]>, Option<&[u8]>) {
    let text = trim(text);
    if let Some(client) = text.strip_suffix(b" user") {
        return (Some(client), None);
    }
    match split_once(text, b" user ") {
        Some((client, user)) => (Some(client), Some(user)),
        None => (Some(text), None),
    }
}

/// `«i»/«n»`, the built-in miner's thread number and thread count.
fn worker_thread(text: &[u8]) -> Option<&[u8]> {
    let (index, count) = split_once(text, b"/")?;
    parse_uint(index)?;
    parse_uint(count)?;
    Some(text)
}

/// `SHARE FOUND: mainchain height «H»[, sidechain height «S»], diff «D»[, client «A»[,] user
/// «U»], effort «E»%` (v1.0 to now), or `SHARE FOUND at mainchain height «H»` (builds before
/// v1.0). Input starts after `SHARE FOUND`.
pub fn share_found(rest: &[u8]) -> Option<Fields> {
    if let Some(height) = rest.strip_prefix(b" at mainchain height ") {
        let parts = ShareParts {
            mainchain_height: Some(parse_uint(trim(height))?),
            ..ShareParts::default()
        };
        return Some(share_found_fields(&parts));
    }
    let parts = ShareParts::parse(rest.strip_prefix(b": ")?)?;
    // The effort is the last part in every version, so a line cut short has none.
    parts.effort?;
    if parts.worker_thread.is_some() || parts.reason.is_some() {
        return None;
    }
    Some(share_found_fields(&parts))
}

fn share_found_fields(parts: &ShareParts<'_>) -> Fields {
    let mut fields = parts.heights_and_difficulty();
    fields.extend([
        ("client", text(parts.client)),
        ("user", text(parts.user)),
        ("effort_percent", text(parts.effort)),
    ]);
    fields
}

/// `INVALID SHARE: mainchain height «H», sidechain height «S», diff «D», client «A»[, user
/// «U»], reason: «R»` (v3.2+). Input starts after `INVALID SHARE: `.
pub fn invalid_share(rest: &[u8]) -> Option<Fields> {
    let parts = ShareParts::parse(rest)?;
    let reason = parts.reason?;
    let mut fields = parts.heights_and_difficulty();
    fields.extend([
        ("client", text(parts.client)),
        ("user", text(parts.user)),
        ("reason", text(Some(reason))),
    ]);
    Some(fields)
}

/// `SHARE FOUND: mainchain height «H», sidechain height «S», diff «D», worker thread «i»/«n»`
/// from the built-in miner (category `Miner`, v1.6+). Input starts after `SHARE FOUND: `.
pub fn miner_share_found(rest: &[u8]) -> Option<Fields> {
    let parts = ShareParts::parse(rest)?;
    let thread = parts.worker_thread?;
    let mut fields = parts.heights_and_difficulty();
    fields.push(("worker_thread", text(Some(thread))));
    Some(fields)
}

/// `SHARE ADDED: height = «S», id = «hex64», mainchain height = «H»` (v2.6+): a share of this
/// node's wallet found by another node. Input starts after `SHARE ADDED: `.
pub fn share_added(rest: &[u8]) -> Option<Fields> {
    let sidechain = parse_uint(keyed(rest, b"height")?)?;
    let id = keyed(rest, b"id")?;
    let mainchain = parse_uint(keyed(rest, b"mainchain height")?)?;
    Some(vec![
        ("sidechain_height", Value::UInt(sidechain)),
        ("id", text(Some(id))),
        ("mainchain_height", Value::UInt(mainchain)),
    ])
}

const FOUND_BLOCK: &[u8] = b" found a mainchain block at height ";

/// Splits `«who» found a mainchain block at height «H», submitting it`.
fn found_block(text: &[u8]) -> Option<(&[u8], u128)> {
    let (who, tail) = split_once(text, FOUND_BLOCK)?;
    let height = tail.strip_suffix(b", submitting it")?;
    Some((who, parse_uint(height)?))
}

/// `client «A»[ user «U»] found a mainchain block at height «H», submitting it`: a stratum
/// client found a Monero block. `user` has no comma before it in every version. Input starts
/// after `client `.
pub fn client_found_block(rest: &[u8]) -> Option<Fields> {
    let (who, height) = found_block(trim(rest))?;
    let (client, user) = client_and_user(who);
    Some(vec![
        ("client", text(client)),
        ("user", text(user)),
        ("mainchain_height", Value::UInt(height)),
    ])
}

/// `worker thread «i»/«n» found a mainchain block at height «H», submitting it`: the built-in
/// miner found a Monero block. Input starts after `worker thread `.
pub fn miner_found_block(rest: &[u8]) -> Option<Fields> {
    let (thread, height) = found_block(trim(rest))?;
    Some(vec![
        ("worker_thread", text(Some(worker_thread(thread)?))),
        ("user", Value::Null),
        ("mainchain_height", Value::UInt(height)),
    ])
}
