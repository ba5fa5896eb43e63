//! Connectivity and health lines: ZMQ, monerod RPC, peers and listening sockets.

use super::fields::{text, Fields};
use crate::event::Value;
use crate::text::{parse_uint, split_once, trim};

/// Returns no fields when the message ends after the prefix (`SYNCHRONIZED`, `Log started`),
/// and `None` when more text follows.
pub fn nothing_more(rest: &[u8]) -> Option<Fields> {
    trim(rest).is_empty().then(Vec::new)
}

/// Returns no fields, whatever text follows the prefix (`no connections to other p2pool
/// nodes, check your …`).
pub fn marker(_rest: &[u8]) -> Option<Fields> {
    Some(Vec::new())
}

/// Reads a `tcp://host:port` address, the only form P2Pool's ZMQ reader logs.
fn zmq_address(rest: &[u8]) -> Option<Fields> {
    let address = trim(rest);
    let valid = address.starts_with(b"tcp://") && !address.contains(&b' ');
    valid.then(|| vec![("address", text(Some(address)))])
}

/// `connected to tcp://«host»:«port»` (ZMQReader). Input starts after `connected to `.
pub fn zmq_connected(rest: &[u8]) -> Option<Fields> {
    zmq_address(rest)
}

/// `disconnected from tcp://«host»:«port»` (ZMQReader, error). Input starts after
/// `disconnected from `.
pub fn zmq_disconnected(rest: &[u8]) -> Option<Fields> {
    zmq_address(rest)
}

/// `failed to connect to tcp://«host»:«port»` (ZMQReader, error). Input starts after
/// `failed to connect to `.
pub fn zmq_connect_failed(rest: &[u8]) -> Option<Fields> {
    zmq_address(rest)
}

/// `Couldn't start ZMQ reader: exception «text»` (P2Pool, error), which a panic follows.
/// Input starts after `Couldn't start ZMQ reader: `.
pub fn zmq_start_failed(rest: &[u8]) -> Option<Fields> {
    let error = trim(rest);
    let error = error.strip_prefix(b"exception ").unwrap_or(error);
    Some(vec![("error", text(Some(error)))])
}

/// `no ZMQ messages received from host «host» in the last «n» seconds, check …` (v3.5+), or
/// `… received from monerod in the last …` (v1.2 to v3.4, no host). Input starts after
/// `no ZMQ messages received from `.
pub fn no_zmq_messages(rest: &[u8]) -> Option<Fields> {
    let (source, tail) = split_once(rest, b" in the last ")?;
    let (seconds, _) = split_once(tail, b" seconds")?;
    let host = source.strip_prefix(b"host ");
    if host.is_none() && source != b"monerod" {
        return None;
    }
    Some(vec![
        ("host", text(host)),
        ("seconds", Value::UInt(parse_uint(seconds)?)),
    ])
}

/// `Host «host» seems to be stuck, reconnecting` (P2PServer, v3.5+). Input starts after
/// `Host `.
pub fn host_stuck(rest: &[u8]) -> Option<Fields> {
    let (host, _) = split_once(rest, b" seems to be stuck")?;
    (!host.is_empty()).then(|| vec![("host", text(Some(host)))])
}

/// `monerod is busy syncing, trying again …` or `monerod is not synchronized, trying again
/// …` (P2Pool). Input starts after `monerod is `.
pub fn monerod_not_ready(rest: &[u8]) -> Option<Fields> {
    let state: &[u8] = if rest.starts_with(b"busy syncing") {
        b"busy syncing"
    } else if rest.starts_with(b"not synchronized") {
        b"not synchronized"
    } else {
        return None;
    };
    Some(vec![("state", text(Some(state)))])
}

/// `peer «ADDR» is ahead on mainchain (height «H», your height «H2»). Is your monerod stuck
/// or lagging?` (P2PServer, warning). Input starts after `peer `.
pub fn monerod_lagging(rest: &[u8]) -> Option<Fields> {
    let (peer, tail) = split_once(rest, b" is ahead on mainchain (height ")?;
    let (peer_height, tail) = split_once(tail, b", your height ")?;
    let (our_height, _) = split_once(tail, b")")?;
    Some(vec![
        ("peer", text(Some(peer))),
        ("peer_height", Value::UInt(parse_uint(peer_height)?)),
        ("our_height", Value::UInt(parse_uint(our_height)?)),
    ])
}

/// `failed to listen on tcp server socket «ADDR», error «UV_ERR»` (StratumServer or
/// P2PServer). Input starts after `failed to listen on tcp server socket `.
pub fn listen_failed(rest: &[u8]) -> Option<Fields> {
    let (address, error) = split_once(trim(rest), b", error ")?;
    Some(vec![
        ("address", text(Some(address))),
        ("error", text(Some(error))),
    ])
}

/// A failed RPC request to monerod (P2Pool, warning), in the shapes of every version:
///
/// - v4.16+: `get_info RPC request to host «host» failed: «error», trying again in 1 second`
/// - v3.7 to v4.15: `… to host «host» failed: error «error», …`
/// - v3.5 to v3.6: `… to «host» failed: error «error», …`
/// - up to v3.4: `get_info RPC request failed: error «error», …`
///
/// `get_miner_data` and `get_version` use the same shapes, without the retry text when not
/// retrying. The host display contains spaces since v4.4 (`host:RPC 18081:ZMQ 18083`).
/// Input is the whole message.
pub fn rpc_failed(message: &[u8]) -> Option<Fields> {
    let (method, rest) = split_once(message, b" RPC request")?;
    let is_method =
        !method.is_empty() && method.iter().all(|&b| b.is_ascii_lowercase() || b == b'_');
    if !is_method {
        return None;
    }
    let (target, detail) = split_once(rest, b" failed: ")?;
    let host = rpc_target(target)?;
    let (error, retry_seconds) = rpc_error_and_retry(detail)?;
    Some(vec![
        ("method", text(Some(method))),
        ("host", text(host)),
        ("error", text(Some(error))),
        ("retry_seconds", Value::opt_uint(retry_seconds)),
    ])
}

/// Reads the host between `RPC request` and `failed:`. Up to v3.4 there is none, v3.5 and
/// v3.6 print ` to «host»`, and v3.7+ print ` to host «host»`.
fn rpc_target(target: &[u8]) -> Option<Option<&[u8]>> {
    if target.is_empty() {
        return Some(None);
    }
    let host = target.strip_prefix(b" to ")?;
    Some(Some(host.strip_prefix(b"host ").unwrap_or(host)))
}

/// Splits `[error ]«error»[, trying again in «n» second[s]]`. The `error ` word is printed
/// before the message up to v4.15.
fn rpc_error_and_retry(detail: &[u8]) -> Option<(&[u8], Option<u128>)> {
    let detail = trim(detail);
    let (error, retry) = match memchr::memmem::rfind(detail, b", trying again in ") {
        Some(at) => {
            let retry = detail.get(at + b", trying again in ".len()..)?;
            let (seconds, _) = split_once(retry, b" second")?;
            (detail.get(..at)?, Some(parse_uint(seconds)?))
        }
        None => (detail, None),
    };
    let error = error.strip_prefix(b"error ").unwrap_or(error);
    (!error.is_empty()).then_some((error, retry))
}
