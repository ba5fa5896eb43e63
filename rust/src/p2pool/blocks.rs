//! Monero blocks: found by the pool, submitted to monerod, announced by ZMQ, and the payouts
//! that follow a found block.

use super::fields::{keyed, text, xmr, Fields};
use crate::event::Value;
use crate::text::{parse_uint, split_once, trim};

/// The finders a BLOCK FOUND line names. Up to v3.3 it is always `this p2pool`. Since v3.4
/// it is `you` when the share belongs to this node's wallet, otherwise `someone else in this
/// p2pool`.
const MINED_BY: [&[u8]; 3] = [b"this p2pool", b"you", b"someone else in this p2pool"];

/// `BLOCK FOUND: main chain block at height «H» was mined by «WHO»`, the first line of the
/// banner record. Input starts after `BLOCK FOUND: `.
pub fn block_found(rest: &[u8]) -> Option<Fields> {
    let after = rest.strip_prefix(b"main chain block at height ")?;
    let digits = after.iter().take_while(|b| b.is_ascii_digit()).count();
    let height = parse_uint(after.get(..digits)?)?;
    let (_, finder) = split_once(after, b" was mined by ")?;
    let finder = trim(finder);
    if !MINED_BY.contains(&finder) {
        return None;
    }
    Some(vec![
        ("mainchain_height", Value::UInt(height)),
        ("mined_by", text(Some(finder))),
    ])
}

/// `«X» XMR in block «H»`, the tail of both payout shapes.
fn amount_in_block(text: &[u8]) -> Option<(&[u8], u128)> {
    let (amount, height) = split_once(text, b" in block ")?;
    let amount = xmr(amount)?;
    Some((amount, parse_uint(trim(height))?))
}

fn payout_fields(wallet: Option<&[u8]>, amount: &[u8], height: u128) -> Fields {
    vec![
        ("wallet", text(wallet)),
        ("amount_xmr", text(Some(amount))),
        ("block_height", Value::UInt(height)),
    ]
}

/// `You received a payout of «X» XMR in block «H»` (v1.7 to v2.6, without the wallet).
/// Input starts after `You received a payout of `.
pub fn payout_without_wallet(rest: &[u8]) -> Option<Fields> {
    let (amount, height) = amount_in_block(rest)?;
    Some(payout_fields(None, amount, height))
}

/// Accepts a wallet address of any shape as long as it is one token, because shared logs
/// mask it (`xxxx`).
fn wallet_token(text: &[u8]) -> Option<&[u8]> {
    (!text.is_empty() && !text.contains(&b' ')).then_some(text)
}

/// `Your wallet «W» got a payout of «X» XMR in block «H»` (v2.7+). Input starts after
/// `Your wallet `.
pub fn payout(rest: &[u8]) -> Option<Fields> {
    let (wallet, tail) = split_once(rest, b" got a payout of ")?;
    let (amount, height) = amount_in_block(tail)?;
    Some(payout_fields(Some(wallet_token(wallet)?), amount, height))
}

/// `Your wallet «W» didn't get a payout in block «H» because you had no shares in PPLNS
/// window` (v2.7+). Input starts after `Your wallet `.
pub fn no_payout(rest: &[u8]) -> Option<Fields> {
    let (wallet, tail) = split_once(rest, b" didn't get a payout in block ")?;
    let (height, reason) = split_once(tail, b" because ")?;
    if !reason.starts_with(b"you had no shares") {
        return None;
    }
    Some(vec![
        ("wallet", text(Some(wallet_token(wallet)?))),
        ("block_height", Value::UInt(parse_uint(height)?)),
    ])
}

/// `new main chain block: height = «H», id = «hex64», timestamp = «unix»[, reward = «X» XMR]`
/// (level 2). Early v1.x builds print no reward. The other parts are required and the reward
/// must be whole when present, so most lines that a terminal wrapped yield nothing. Input
/// starts after `new main chain block: `.
pub fn new_mainchain_block(rest: &[u8]) -> Option<Fields> {
    let height = parse_uint(keyed(rest, b"height")?)?;
    let id = keyed(rest, b"id")?;
    let timestamp = parse_uint(keyed(rest, b"timestamp")?)?;
    let reward = match keyed(rest, b"reward") {
        Some(reward) => text(Some(xmr(reward)?)),
        None => Value::Null,
    };
    Some(vec![
        ("height", Value::UInt(height)),
        ("id", text(Some(id))),
        ("block_timestamp", Value::UInt(timestamp)),
        ("reward_xmr", reward),
    ])
}

/// `submit_block: height = «H», external blob («n» bytes)` for a block found through the
/// sidechain, or `submit_block: height = «H», template id = «n», nonce = …` for one found by
/// a local miner. Input starts after `submit_block: `.
pub fn block_submitted(rest: &[u8]) -> Option<Fields> {
    let height = parse_uint(keyed(rest, b"height")?)?;
    let blob = match split_once(rest, b", external blob (") {
        Some((_, tail)) => Value::UInt(parse_uint(tail.strip_suffix(b" bytes)")?)?),
        None if split_once(rest, b", template id = ").is_some() => Value::Null,
        None => return None,
    };
    Some(vec![
        ("mainchain_height", Value::UInt(height)),
        ("external_blob_bytes", blob),
    ])
}

/// `submit_block: BLOCK ACCEPTED at height «H» and difficulty = «D»`. Input starts after
/// `submit_block: BLOCK ACCEPTED at height `.
pub fn block_accepted(rest: &[u8]) -> Option<Fields> {
    let (height, difficulty) = split_once(trim(rest), b" and difficulty = ")?;
    Some(vec![
        ("mainchain_height", Value::UInt(parse_uint(height)?)),
        ("difficulty", Value::UInt(parse_uint(difficulty)?)),
    ])
}

/// `submit_block: daemon returned error: '«msg»', template id = …`. Input starts after
/// `submit_block: daemon returned error: '`.
pub fn block_rejected_by_daemon(rest: &[u8]) -> Option<Fields> {
    let (message, _) = split_once(rest, b"', template id = ")?;
    Some(vec![("error", text(Some(message)))])
}

/// `submit_block: RPC request failed, error «text»`: the block never reached monerod.
/// Input starts after `submit_block: RPC request failed, error `.
pub fn block_submit_rpc_failed(rest: &[u8]) -> Option<Fields> {
    let message = trim(rest);
    (!message.is_empty()).then(|| vec![("error", text(Some(message)))])
}
