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
    pub fn fields<'a>(self, body: impl Iterator<Item = &'a [u8]>) -> Fields {
        match self {
            StatusKind::Sidechain => sidechain_status(body),
            StatusKind::Stratum => stratum_status(body),
            StatusKind::P2p => p2p_status(body),
            StatusKind::Miner => miner_status(body),
            StatusKind::MergeMining => Vec::new(),
        }
    }
}

/// The labels of the values to collect. Each entry lists the labels one value has had.
type Labels<const N: usize> = [&'static [&'static str]; N];

/// Collects from `Label<padding>= value` lines the value of each entry of `labels`, in one
/// pass. The first `=` ends the label because values such as a base64 TLS fingerprint can
/// contain `=` themselves.
fn values<'a, const N: usize>(
    body: impl Iterator<Item = &'a [u8]>,
    labels: &Labels<N>,
) -> [Option<&'a [u8]>; N] {
    let mut found = [None; N];
    let mut next = 0;
    for line in body {
        let Some((label, value)) = split_once(line, b"=") else {
            continue;
        };
        let Some(slot) = find_label(labels, trim(label), next) else {
            continue;
        };
        next = slot + 1;
        if let Some(value_slot) = found.get_mut(slot) {
            value_slot.get_or_insert(trim(value));
        }
    }
    found
}

/// Finds the entry of `labels` that names `label`. Lines come in table order, so the search
/// starts at `from` and the exact comparison nearly always matches the first entry it tries.
/// Comparing without spaces is the fallback for damaged padding.
fn find_label<const N: usize>(labels: &Labels<N>, label: &[u8], from: usize) -> Option<usize> {
    let order = (from..N).chain(0..from.min(N));
    let exact = |i: &usize| {
        labels
            .get(*i)
            .is_some_and(|names| names.iter().any(|n| n.as_bytes() == label))
    };
    if let Some(i) = order.clone().find(exact) {
        return Some(i);
    }
    let loose = |i: &usize| {
        labels
            .get(*i)
            .is_some_and(|names| names.iter().any(|n| same_label(label, n.as_bytes())))
    };
    order.clone().find(loose)
}

/// Compares labels without their spaces. P2Pool pads labels inside (`Hashrate (1h  est)`),
/// and a capture that turned tabs into spaces may change that padding.
fn same_label(a: &[u8], b: &[u8]) -> bool {
    a.iter()
        .filter(|c| **c != b' ')
        .eq(b.iter().filter(|c| **c != b' '))
}

const SIDECHAIN_LABELS: Labels<14> = [
    &["Monero node"],
    &["Main chain height"],
    &["Main chain hashrate"],
    &["Side chain ID"],
    &["Side chain height"],
    &["Side chain hashrate"],
    &["Your hashrate (pool-side)"],
    &["PPLNS window"],
    &["PPLNS window duration"],
    &["Your wallet address"],
    &["Your shares"],
    &["Your shares position"],
    &["Your uncles position"],
    &["Block reward share"],
];

fn sidechain_status<'a>(body: impl Iterator<Item = &'a [u8]>) -> Fields {
    // rustfmt keeps a slice pattern on one line however long it gets.
    #[rustfmt::skip]
    let [
        node, height, hashrate_main, id, side_height, hashrate_side, pool_side,
        window, duration, wallet, shares, shares_position, uncles_position, reward,
    ] = values(body, &SIDECHAIN_LABELS);
    let window = BlockCounts::parse(window);
    let shares = BlockCounts::parse(shares);
    let (share_percent, share_xmr) = reward_share(reward);
    vec![
        ("monero_node", text(node)),
        ("mainchain_height", uint(height)),
        ("mainchain_hashrate", hashrate(hashrate_main)),
        ("sidechain_id", text(id)),
        ("sidechain_height", uint(side_height)),
        ("sidechain_hashrate", hashrate(hashrate_side)),
        ("pool_side_hashrate", hashrate(pool_side)),
        ("pplns_window_blocks", window.blocks),
        ("pplns_window_uncles", window.uncles),
        ("pplns_window_orphans", window.orphans),
        ("pplns_window_duration", text(duration)),
        ("wallet", text(wallet)),
        ("your_shares_blocks", shares.blocks),
        ("your_shares_uncles", shares.uncles),
        ("your_shares_orphans", shares.orphans),
        ("shares_position", text(shares_position)),
        ("uncles_position", text(uncles_position)),
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

/// Finds the number before `word` in a list such as `(+61 uncles, 0 orphans)` or
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

/// Each value's v1.0 to v4.2 label first, then the v4.3+ label that replaced it.
const STRATUM_LABELS: Labels<10> = [
    &["Hashrate (15m est)"],
    &["Hashrate (1h  est)"],
    &["Hashrate (24h est)"],
    &["Total hashes", "Stratum hashes"],
    &["Stratum shares"],
    &["Shares found", "P2Pool shares found"],
    &["Shares failed", "P2Pool shares failed"],
    &["Average effort"],
    &["Current effort"],
    &["Connections"],
];

fn stratum_status<'a>(body: impl Iterator<Item = &'a [u8]>) -> Fields {
    let [h15m, h1h, h24h, hashes, stratum_shares, found, failed, average, current, connections] =
        values(body, &STRATUM_LABELS);
    let connections = Connections::parse(connections);
    vec![
        ("hashrate_15m", hashrate(h15m)),
        ("hashrate_1h", hashrate(h1h)),
        ("hashrate_24h", hashrate(h24h)),
        ("total_hashes", uint(hashes)),
        ("stratum_shares", uint(stratum_shares)),
        ("shares_found", uint(found)),
        ("shares_failed", uint(failed)),
        ("average_effort_percent", effort(average)),
        ("current_effort_percent", effort(current)),
        ("connections", connections.total),
        ("incoming_connections", connections.incoming),
    ]
}

/// v1.0 to v4.11 print connections, peer list size and (since v1.3) uptime. v4.12 added
/// onion counts and v4.15 I2P counts.
const P2P_LABELS: Labels<5> = [
    &["Connections"],
    &["Peer list size"],
    &["Onion list size"],
    &["I2P list size"],
    &["Uptime"],
];

fn p2p_status<'a>(body: impl Iterator<Item = &'a [u8]>) -> Fields {
    let [connections, peers, onion_peers, i2p_peers, uptime] = values(body, &P2P_LABELS);
    let connections = Connections::parse(connections);
    let uptime_seconds = uptime.and_then(duration_seconds).map(u128::from);
    vec![
        ("connections", connections.total),
        ("incoming_connections", connections.incoming),
        ("onion_connections", connections.onion),
        ("i2p_connections", connections.i2p),
        ("peer_list_size", uint(peers)),
        ("onion_list_size", uint(onion_peers)),
        ("i2p_list_size", uint(i2p_peers)),
        ("uptime", text(uptime)),
        ("uptime_seconds", Value::opt_uint(uptime_seconds)),
    ]
}

/// The built-in miner: `Threads` and `Hashrate` since v1.6, share counts since v3.0.
const MINER_LABELS: Labels<4> = [
    &["Threads"],
    &["Hashrate"],
    &["Shares found"],
    &["Shares failed"],
];

fn miner_status<'a>(body: impl Iterator<Item = &'a [u8]>) -> Fields {
    let [threads, rate, found, failed] = values(body, &MINER_LABELS);
    vec![
        ("threads", uint(threads)),
        ("hashrate", hashrate(rate)),
        ("shares_found", uint(found)),
        ("shares_failed", uint(failed)),
    ]
}

/// The lines between the two rules of `new miner data`. The `host` line exists since v3.5.
const MINER_DATA_LABELS: Labels<9> = [
    &["host"],
    &["major_version"],
    &["height"],
    &["prev_id"],
    &["seed_hash"],
    &["difficulty"],
    &["median_weight"],
    &["already_generated_coins"],
    &["transactions"],
];

pub fn miner_data<'a>(body: impl Iterator<Item = &'a [u8]>) -> Fields {
    let [host, major, height, prev_id, seed, difficulty, weight, coins, transactions] =
        values(body, &MINER_DATA_LABELS);
    vec![
        ("host", text(host)),
        ("major_version", uint(major)),
        ("height", uint(height)),
        ("prev_id", text(prev_id)),
        ("seed_hash", text(seed)),
        ("difficulty", uint(difficulty)),
        ("median_weight", uint(weight)),
        ("already_generated_coins", uint(coins)),
        ("transactions", uint(transactions)),
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
/// NOTE: a reason added by a later version is not recognised. It ends the `node_health`
/// record and is missing from `comments`.
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
