//! The bodies of P2Pool's multi-line records: `status` output of each server, `new miner
//! data` and `Node health`.

use super::fields::{hashrate, percent, text, uint, xmr, Fields};
use crate::event::Value;
use crate::text::{duration_seconds, parse_uint, split_once, trim};

/// The server whose `status` record is pending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusKind {
    Sidechain,
    Stratum,
    P2p,
    Miner,
    /// Merge-mining clients (`--merge-mine`): joined so their lines are not counted as
    /// unrecognised, but no event kind covers them.
    MergeMining,
}

impl StatusKind {
    pub fn event_kind(self) -> Option<&'static str> {
        match self {
            StatusKind::Sidechain => Some("sidechain_status"),
            StatusKind::Stratum => Some("stratum_status"),
            StatusKind::P2p => Some("p2p_status"),
            StatusKind::Miner => Some("miner_status"),
            StatusKind::MergeMining => None,
        }
    }

    /// Reads the fields from the body lines (the lines after `status`).
    pub fn fields(self, body: &[&[u8]]) -> Fields {
        let labels = Labelled::new(body);
        match self {
            StatusKind::Sidechain => sidechain_status(&labels),
            StatusKind::Stratum => stratum_status(&labels),
            StatusKind::P2p => p2p_status(&labels),
            StatusKind::Miner => miner_status(&labels),
            StatusKind::MergeMining => Vec::new(),
        }
    }
}

/// The `Label<padding>= value` lines of a record body.
struct Labelled<'a> {
    pairs: Vec<(&'a [u8], &'a [u8])>,
}

impl<'a> Labelled<'a> {
    fn new(body: &[&'a [u8]]) -> Self {
        // The first `=` ends the label: values such as a base64 TLS fingerprint can contain
        // `=` themselves.
        let pairs = body
            .iter()
            .filter_map(|line| split_once(line, b"="))
            .map(|(label, value)| (trim(label), trim(value)))
            .collect();
        Labelled { pairs }
    }

    /// The value of the first line whose label is one of `labels`.
    fn get(&self, labels: &[&str]) -> Option<&'a [u8]> {
        self.pairs.iter().find_map(|(label, value)| {
            let known = labels.iter().any(|l| same_label(label, l.as_bytes()));
            known.then_some(*value)
        })
    }
}

/// Compares labels without their spaces. P2Pool pads labels inside (`Hashrate (1h  est)`),
/// and a capture that turned tabs into spaces may change that padding.
fn same_label(a: &[u8], b: &[u8]) -> bool {
    a.iter()
        .filter(|c| **c != b' ')
        .eq(b.iter().filter(|c| **c != b' '))
}

fn sidechain_status(labels: &Labelled<'_>) -> Fields {
    let window = BlockCounts::parse(labels.get(&["PPLNS window"]));
    let shares = BlockCounts::parse(labels.get(&["Your shares"]));
    let (share_percent, share_xmr) = reward_share(labels.get(&["Block reward share"]));
    vec![
        ("monero_node", text(labels.get(&["Monero node"]))),
        ("mainchain_height", uint(labels.get(&["Main chain height"]))),
        (
            "mainchain_hashrate",
            hashrate(labels.get(&["Main chain hashrate"])),
        ),
        ("sidechain_id", text(labels.get(&["Side chain ID"]))),
        ("sidechain_height", uint(labels.get(&["Side chain height"]))),
        (
            "sidechain_hashrate",
            hashrate(labels.get(&["Side chain hashrate"])),
        ),
        (
            "pool_side_hashrate",
            hashrate(labels.get(&["Your hashrate (pool-side)"])),
        ),
        ("pplns_window_blocks", window.blocks),
        ("pplns_window_uncles", window.uncles),
        ("pplns_window_orphans", window.orphans),
        (
            "pplns_window_duration",
            text(labels.get(&["PPLNS window duration"])),
        ),
        ("wallet", text(labels.get(&["Your wallet address"]))),
        ("your_shares_blocks", shares.blocks),
        ("your_shares_uncles", shares.uncles),
        ("your_shares_orphans", shares.orphans),
        (
            "shares_position",
            text(labels.get(&["Your shares position"])),
        ),
        (
            "uncles_position",
            text(labels.get(&["Your uncles position"])),
        ),
        ("block_reward_share_percent", share_percent),
        ("block_reward_share_xmr", share_xmr),
    ]
}

/// `«n» blocks (+«u» uncles, «o» orphans)`.
struct BlockCounts {
    blocks: Value,
    uncles: Value,
    orphans: Value,
}

impl BlockCounts {
    fn parse(value: Option<&[u8]>) -> Self {
        let value = value.unwrap_or_default();
        let (blocks, detail) = split_once(value, b" blocks").unwrap_or((value, b""));
        BlockCounts {
            blocks: uint(Some(blocks)),
            uncles: uint(counted(detail, b"uncles")),
            orphans: uint(counted(detail, b"orphans")),
        }
    }
}

/// The number before `word` in a list such as `(+61 uncles, 0 orphans)` or
/// `(16 incoming, 0 onion, 0 I2P)`.
fn counted<'a>(list: &'a [u8], word: &[u8]) -> Option<&'a [u8]> {
    let list = trim(list).strip_prefix(b"(").unwrap_or(list);
    let list = list.strip_suffix(b")").unwrap_or(list);
    super::fields::comma_parts(list).find_map(|part| {
        let (number, name) = split_once(trim(part), b" ")?;
        (name == word).then(|| number.strip_prefix(b"+").unwrap_or(number))
    })
}

/// `«p»% («X» XMR)`, percent with 3 decimals and XMR with 12.
fn reward_share(value: Option<&[u8]>) -> (Value, Value) {
    let Some((share, amount)) = value.and_then(|v| split_once(v, b" (")) else {
        return (text(value.and_then(percent)), Value::Null);
    };
    let amount = amount.strip_suffix(b")").unwrap_or(amount);
    (text(percent(share)), text(xmr(amount)))
}

/// `«n» («m» incoming[, «o» onion[, «i» I2P]])`: onion counts since v4.12, I2P since v4.15.
struct Connections {
    total: Value,
    incoming: Value,
    onion: Value,
    i2p: Value,
}

impl Connections {
    fn parse(value: Option<&[u8]>) -> Self {
        let value = value.unwrap_or_default();
        let (total, detail) = split_once(value, b" (").unwrap_or((value, b""));
        Connections {
            total: uint(Some(total)),
            incoming: uint(counted(detail, b"incoming")),
            onion: uint(counted(detail, b"onion")),
            i2p: uint(counted(detail, b"I2P")),
        }
    }
}

fn effort(value: Option<&[u8]>) -> Value {
    text(value.and_then(percent))
}

/// Labels of v1.0 to v4.2 first, then the v4.3+ labels that replaced them.
fn stratum_status(labels: &Labelled<'_>) -> Fields {
    let connections = Connections::parse(labels.get(&["Connections"]));
    vec![
        (
            "hashrate_15m",
            hashrate(labels.get(&["Hashrate (15m est)"])),
        ),
        ("hashrate_1h", hashrate(labels.get(&["Hashrate (1h est)"]))),
        (
            "hashrate_24h",
            hashrate(labels.get(&["Hashrate (24h est)"])),
        ),
        (
            "total_hashes",
            uint(labels.get(&["Total hashes", "Stratum hashes"])),
        ),
        ("stratum_shares", uint(labels.get(&["Stratum shares"]))),
        (
            "shares_found",
            uint(labels.get(&["Shares found", "P2Pool shares found"])),
        ),
        (
            "shares_failed",
            uint(labels.get(&["Shares failed", "P2Pool shares failed"])),
        ),
        (
            "average_effort_percent",
            effort(labels.get(&["Average effort"])),
        ),
        (
            "current_effort_percent",
            effort(labels.get(&["Current effort"])),
        ),
        ("connections", connections.total),
        ("incoming_connections", connections.incoming),
    ]
}

/// v1.0 to v4.11 print connections, peer list size and (since v1.3) uptime; v4.12 added
/// onion counts and v4.15 I2P counts.
fn p2p_status(labels: &Labelled<'_>) -> Fields {
    let connections = Connections::parse(labels.get(&["Connections"]));
    let uptime = labels.get(&["Uptime"]);
    let uptime_seconds = uptime.and_then(duration_seconds).map(u128::from);
    vec![
        ("connections", connections.total),
        ("incoming_connections", connections.incoming),
        ("onion_connections", connections.onion),
        ("i2p_connections", connections.i2p),
        ("peer_list_size", uint(labels.get(&["Peer list size"]))),
        ("onion_list_size", uint(labels.get(&["Onion list size"]))),
        ("i2p_list_size", uint(labels.get(&["I2P list size"]))),
        ("uptime", text(uptime)),
        ("uptime_seconds", Value::opt_uint(uptime_seconds)),
    ]
}

/// The built-in miner: `Threads` and `Hashrate` since v1.6, share counts since v3.0.
fn miner_status(labels: &Labelled<'_>) -> Fields {
    vec![
        ("threads", uint(labels.get(&["Threads"]))),
        ("hashrate", hashrate(labels.get(&["Hashrate"]))),
        ("shares_found", uint(labels.get(&["Shares found"]))),
        ("shares_failed", uint(labels.get(&["Shares failed"]))),
    ]
}

/// The `name<padding>= value` lines between the two rules of `new miner data`. The `host`
/// line exists since v3.5.
pub fn miner_data(body: &[&[u8]]) -> Fields {
    let labels = Labelled::new(body);
    vec![
        ("host", text(labels.get(&["host"]))),
        ("major_version", uint(labels.get(&["major_version"]))),
        ("height", uint(labels.get(&["height"]))),
        ("prev_id", text(labels.get(&["prev_id"]))),
        ("seed_hash", text(labels.get(&["seed_hash"]))),
        ("difficulty", uint(labels.get(&["difficulty"]))),
        ("median_weight", uint(labels.get(&["median_weight"]))),
        (
            "already_generated_coins",
            uint(labels.get(&["already_generated_coins"])),
        ),
        ("transactions", uint(labels.get(&["transactions"]))),
    ]
}

/// `Node health: «n»/10` (ConsoleCommands, v4.9+). Input starts after `Node health: `.
pub fn node_health(rest: &[u8]) -> Option<Fields> {
    let (score, max) = split_once(trim(rest), b"/")?;
    Some(vec![
        ("score", Value::UInt(parse_uint(score)?)),
        ("max_score", Value::UInt(parse_uint(max)?)),
    ])
}

/// The reasons P2Pool prints after `Node health`, one record each with category
/// `ConsoleCommands` (v4.9 to v4.18).
pub const NODE_HEALTH_REASONS: [&[u8]; 9] = [
    b"No p2p connections",
    b"No incoming p2p connections",
    b"Sidechain not loaded",
    b"Sidechain just synced, it needs a few minutes to confirm that everything is ok",
    b"Your Monero node is lagging",
    b"Sidechain seems to be stuck and/or out of sync",
    b"No stratum connections",
    b"Stratum server not loaded",
    b"P2P server not loaded",
];
