//! The message prefixes of each category and the event each makes. Most P2Pool output is
//! chatter (sidechain sync, block templates, stratum jobs), so a line is matched against the
//! few literal prefixes of its category and rejected without further work when none fits.

use super::blocks;
use super::fields::Fields;
use super::health::{self, marker, nothing_more};
use super::pending::Body;
use super::shares;
use super::startup;
use super::status::{self, StatusKind};
use crate::text::trim;

/// Reads the fields of a one-line record, or returns `None` when the line does not have
/// the kind's shape.
pub type LineParser = fn(&[u8]) -> Option<Fields>;

/// Reads the first line of a record of several lines.
pub type StartParser = fn(&[u8]) -> Option<Body>;

pub enum Action {
    /// A one-line record whose parser gets the message after the prefix.
    Line(&'static str, LineParser),
    /// A one-line record whose parser gets the whole message.
    Message(&'static str, LineParser),
    /// `status` and nothing after it: the first line of a status record.
    Status(StatusKind),
    /// The first line of another record of several lines.
    Start(StartParser),
    /// A sidechain configuration line whose key is the prefix.
    Config,
}

pub struct Rule {
    pub prefix: &'static [u8],
    pub action: Action,
}

const fn rule(prefix: &'static [u8], action: Action) -> Rule {
    Rule { prefix, action }
}

fn block_found(rest: &[u8]) -> Option<Body> {
    blocks::block_found(rest).map(Body::BlockFound)
}

fn miner_data(rest: &[u8]) -> Option<Body> {
    trim(rest).is_empty().then_some(Body::MinerData)
}

fn version_command(rest: &[u8]) -> Option<Body> {
    startup::version(rest).map(Body::Version)
}

fn node_health(rest: &[u8]) -> Option<Body> {
    let fields = status::node_health(rest)?;
    Some(Body::NodeHealth {
        fields,
        reasons: Vec::new(),
    })
}

fn background_jobs(rest: &[u8]) -> Option<Body> {
    trim(rest).is_empty().then_some(Body::BackgroundJobs)
}

const P2POOL: &[Rule] = &[
    rule(b"v", Action::Line("version", startup::version)),
    rule(b"BLOCK FOUND: ", Action::Start(block_found)),
    rule(b"Your wallet ", Action::Line("payout", blocks::payout)),
    rule(
        b"Your wallet ",
        Action::Line("no_payout", blocks::no_payout),
    ),
    rule(
        b"You received a payout of ",
        Action::Line("payout", blocks::payout_without_wallet),
    ),
    rule(
        b"new main chain block: ",
        Action::Line("new_mainchain_block", blocks::new_mainchain_block),
    ),
    rule(b"new miner data", Action::Start(miner_data)),
    rule(
        b"submit_block: BLOCK ACCEPTED at height ",
        Action::Line("block_accepted", blocks::block_accepted),
    ),
    rule(
        b"submit_block: daemon returned error: '",
        Action::Line("block_submit_failed", blocks::block_rejected_by_daemon),
    ),
    rule(
        b"submit_block: RPC request failed, error ",
        Action::Line("block_submit_failed", blocks::block_submit_rpc_failed),
    ),
    rule(
        b"submit_block: ",
        Action::Line("block_submitted", blocks::block_submitted),
    ),
    // The documented methods are get_info, get_miner_data and get_version.
    rule(b"get_", Action::Message("rpc_failed", health::rpc_failed)),
    rule(
        b"monerod is ",
        Action::Line("monerod_not_ready", health::monerod_not_ready),
    ),
    rule(
        b"Couldn't start ZMQ reader: ",
        Action::Line("zmq_start_failed", health::zmq_start_failed),
    ),
    rule(
        b"caught ",
        Action::Line("shutdown_signal", startup::shutdown_signal),
    ),
];

const SIDECHAIN: &[Rule] = &[
    rule(b"status", Action::Status(StatusKind::Sidechain)),
    rule(b"BLOCK FOUND: ", Action::Start(block_found)),
    rule(
        b"SHARE ADDED: ",
        Action::Line("share_added", shares::share_added),
    ),
    rule(b"SYNCHRONIZED", Action::Line("synchronized", nothing_more)),
    // The configuration P2Pool prints at start (level 1). `consensus ID` is left out
    // because P2Pool masks its middle.
    rule(b"network type", Action::Config),
    rule(b"pool name", Action::Config),
    rule(b"block time", Action::Config),
    rule(b"min diff", Action::Config),
    rule(b"PPLNS window", Action::Config),
    rule(b"uncle penalty", Action::Config),
];

const LISTEN_FAILED: &[u8] = b"failed to listen on tcp server socket ";

const STRATUM: &[Rule] = &[
    rule(
        b"SHARE FOUND",
        Action::Line("share_found", shares::share_found),
    ),
    rule(
        b"INVALID SHARE: ",
        Action::Line("invalid_share", shares::invalid_share),
    ),
    rule(
        b"client ",
        Action::Line("client_found_block", shares::client_found_block),
    ),
    rule(b"status", Action::Status(StatusKind::Stratum)),
    rule(
        LISTEN_FAILED,
        Action::Line("listen_failed", health::listen_failed),
    ),
];

const P2P_SERVER: &[Rule] = &[
    rule(b"status", Action::Status(StatusKind::P2p)),
    rule(
        b"peer ",
        Action::Line("monerod_lagging", health::monerod_lagging),
    ),
    rule(
        b"ZMQ is not running",
        Action::Line("zmq_not_running", marker),
    ),
    rule(
        b"no ZMQ messages received from ",
        Action::Line("no_zmq_messages", health::no_zmq_messages),
    ),
    rule(b"Host ", Action::Line("host_stuck", health::host_stuck)),
    rule(
        b"no connections to other p2pool nodes",
        Action::Line("no_p2p_connections", marker),
    ),
    rule(
        b"Sidechain seems to be stuck and/or out of sync",
        Action::Line("sidechain_stuck", nothing_more),
    ),
    rule(
        b"* An updated P2Pool version is available",
        Action::Line("update_available", marker),
    ),
    rule(
        LISTEN_FAILED,
        Action::Line("listen_failed", health::listen_failed),
    ),
];

const ZMQ_READER: &[Rule] = &[
    rule(
        b"connected to ",
        Action::Line("zmq_connected", health::zmq_connected),
    ),
    rule(
        b"disconnected from ",
        Action::Line("zmq_disconnected", health::zmq_disconnected),
    ),
    rule(
        b"failed to connect to ",
        Action::Line("zmq_connect_failed", health::zmq_connect_failed),
    ),
];

const MINER: &[Rule] = &[
    rule(
        b"SHARE FOUND: ",
        Action::Line("miner_share_found", shares::miner_share_found),
    ),
    rule(
        b"worker thread ",
        Action::Line("client_found_block", shares::miner_found_block),
    ),
    rule(b"status", Action::Status(StatusKind::Miner)),
];

const CONSOLE_COMMANDS: &[Rule] = &[
    rule(b"Node health: ", Action::Start(node_health)),
    rule(b"P2Pool v", Action::Start(version_command)),
];

const UTIL: &[Rule] = &[rule(
    b"background jobs running:",
    Action::Start(background_jobs),
)];

const LOG: &[Rule] = &[
    rule(b"started", Action::Line("log_started", nothing_more)),
    rule(b"stopped", Action::Line("log_stopped", nothing_more)),
];

const MERGE_MINING: &[Rule] = &[rule(b"status", Action::Status(StatusKind::MergeMining))];

/// Returns the rules of a category, tried in order. The first whose parser accepts the line
/// wins.
pub fn rules_for(category: &[u8]) -> &'static [Rule] {
    match category {
        b"P2Pool" => P2POOL,
        b"SideChain" => SIDECHAIN,
        b"StratumServer" => STRATUM,
        b"P2PServer" => P2P_SERVER,
        b"ZMQReader" => ZMQ_READER,
        b"Miner" => MINER,
        b"ConsoleCommands" => CONSOLE_COMMANDS,
        b"Util" => UTIL,
        b"Log" => LOG,
        c if c.starts_with(b"MergeMiningClient") => MERGE_MINING,
        _ => &[],
    }
}
