//! Table-driven tests of the P2Pool parser: input bytes to the expected event kind and key
//! fields. Lines for kinds that no real capture contains yet use made-up values: the wallet
//! `4` followed by 94 `A`, addresses from 192.0.2.0/24 and 198.51.100.0/24.

use crate::event::{Event, Hashrate, Value};
use crate::stream::{parse_all, StreamParser, DEFAULT_MAX_LINE};

const TS: &str = "2026-08-14 09:15:02.4821";
const HASH: &str = "b5650ef96f8560494b47b5501f4c271751129f5e2d91478ce22458d82d618d57";

fn wallet() -> String {
    format!("4{}", "A".repeat(94))
}

fn subaddress() -> String {
    format!("8{}", "A".repeat(94))
}

/// Builds a log-file record: level word padded to 8 bytes, timestamp, category and message.
fn file(level: &str, body: &str) -> String {
    format!("{level:<8}{TS} {body}\n")
}

fn notice(body: &str) -> String {
    file("NOTICE", body)
}

/// Builds a console record without colours.
fn console(body: &str) -> String {
    format!("{TS} {body}\n")
}

/// Builds a console record with P2Pool's colour codes around the timestamp, category and
/// message.
fn coloured(category: &str, message: &str) -> String {
    format!("\x1b[0;36m{TS}\x1b[0m \x1b[0;90m{category} \x1b[0m\x1b[0;32m{message}\x1b[0m\n")
}

fn events(input: &[u8]) -> Vec<Event> {
    parse_all(input, false).0
}

fn u(n: u128) -> Value {
    Value::UInt(n)
}

fn s(text: &str) -> Value {
    Value::Str(text.to_string())
}

fn hr(value: &str, unit: &str, hs: u128) -> Value {
    Value::Hashrate(Hashrate {
        value: value.to_string(),
        unit: unit.to_string(),
        hs,
    })
}

fn list(items: &[&str]) -> Value {
    Value::List(items.iter().map(|i| i.to_string()).collect())
}

const NULL: Value = Value::Null;

/// One input that must yield exactly one event of `kind` with at least these fields.
struct Case {
    name: &'static str,
    input: String,
    kind: &'static str,
    fields: Vec<(&'static str, Value)>,
}

fn case(
    name: &'static str,
    input: impl Into<String>,
    kind: &'static str,
    fields: &[(&'static str, Value)],
) -> Case {
    Case {
        name,
        input: input.into(),
        kind,
        fields: fields.to_vec(),
    }
}

/// Every event kind with its field names in their documented order.
const KIND_FIELDS: &[(&str, &[&str])] = &[
    (
        "share_found",
        &[
            "mainchain_height",
            "sidechain_height",
            "difficulty",
            "client",
            "user",
            "effort_percent",
        ],
    ),
    (
        "invalid_share",
        &[
            "mainchain_height",
            "sidechain_height",
            "difficulty",
            "client",
            "user",
            "reason",
        ],
    ),
    (
        "miner_share_found",
        &[
            "mainchain_height",
            "sidechain_height",
            "difficulty",
            "worker_thread",
        ],
    ),
    (
        "share_added",
        &["sidechain_height", "id", "mainchain_height"],
    ),
    (
        "client_found_block",
        &["client", "user", "mainchain_height"],
    ),
    (
        "block_submitted",
        &["mainchain_height", "external_blob_bytes"],
    ),
    ("block_accepted", &["mainchain_height", "difficulty"]),
    ("block_submit_failed", &["error"]),
    ("block_found", &["mainchain_height", "mined_by"]),
    ("payout", &["wallet", "amount_xmr", "block_height"]),
    ("no_payout", &["wallet", "block_height"]),
    (
        "new_mainchain_block",
        &["height", "id", "block_timestamp", "reward_xmr"],
    ),
    (
        "miner_data",
        &[
            "host",
            "major_version",
            "height",
            "prev_id",
            "seed_hash",
            "difficulty",
            "median_weight",
            "already_generated_coins",
            "transactions",
        ],
    ),
    ("synchronized", &[]),
    (
        "sidechain_status",
        &[
            "monero_node",
            "mainchain_height",
            "mainchain_hashrate",
            "sidechain_id",
            "sidechain_height",
            "sidechain_hashrate",
            "pool_side_hashrate",
            "pplns_window_blocks",
            "pplns_window_uncles",
            "pplns_window_orphans",
            "pplns_window_duration",
            "wallet",
            "your_shares_blocks",
            "your_shares_uncles",
            "your_shares_orphans",
            "shares_position",
            "uncles_position",
            "block_reward_share_percent",
            "block_reward_share_xmr",
        ],
    ),
    (
        "stratum_status",
        &[
            "hashrate_15m",
            "hashrate_1h",
            "hashrate_24h",
            "total_hashes",
            "stratum_shares",
            "shares_found",
            "shares_failed",
            "average_effort_percent",
            "current_effort_percent",
            "connections",
            "incoming_connections",
        ],
    ),
    (
        "p2p_status",
        &[
            "connections",
            "incoming_connections",
            "onion_connections",
            "i2p_connections",
            "peer_list_size",
            "onion_list_size",
            "i2p_list_size",
            "uptime",
            "uptime_seconds",
        ],
    ),
    (
        "miner_status",
        &["threads", "hashrate", "shares_found", "shares_failed"],
    ),
    ("node_health", &["score", "max_score", "comments"]),
    (
        "worker",
        &[
            "address",
            "tls",
            "uptime",
            "uptime_seconds",
            "difficulty",
            "hashrate",
            "sidechain_shares",
            "stratum_shares",
            "name",
        ],
    ),
    ("workers_total", &["count"]),
    ("log_started", &[]),
    ("log_stopped", &[]),
    ("version", &["version", "build"]),
    ("sidechain_config", &["key", "value"]),
    ("listen_failed", &["address", "error"]),
    ("rpc_failed", &["method", "host", "error", "retry_seconds"]),
    ("monerod_lagging", &["peer", "peer_height", "our_height"]),
    ("zmq_connect_failed", &["address"]),
    ("zmq_connected", &["address"]),
    ("zmq_disconnected", &["address"]),
    ("zmq_start_failed", &["error"]),
    ("zmq_not_running", &[]),
    ("no_zmq_messages", &["host", "seconds"]),
    ("host_stuck", &["host"]),
    ("monerod_not_ready", &["state"]),
    ("no_p2p_connections", &[]),
    ("sidechain_stuck", &[]),
    ("update_available", &[]),
    ("shutdown_signal", &["signal"]),
    ("panic", &["location"]),
    ("warning", &["message"]),
    ("error", &["message"]),
];

fn share_cases() -> Vec<Case> {
    vec![
        case(
            "share_found v1.0 without client",
            notice("StratumServer SHARE FOUND: mainchain height 2444927, diff 100000, effort 10.001%"),
            "share_found",
            &[
                ("mainchain_height", u(2444927)),
                ("sidechain_height", NULL),
                ("difficulty", u(100000)),
                ("client", NULL),
                ("user", NULL),
                ("effort_percent", s("10.001")),
            ],
        ),
        case(
            "share_found v1.3 user without comma",
            console("StratumServer SHARE FOUND: mainchain height 2492998, diff 100000, client 192.0.2.15:50123 user rig1, effort 180.006%"),
            "share_found",
            &[
                ("client", s("192.0.2.15:50123")),
                ("user", s("rig1")),
                ("effort_percent", s("180.006")),
            ],
        ),
        case(
            "share_found v2.6 sidechain height",
            console("StratumServer SHARE FOUND: mainchain height 2792939, sidechain height 4000123, diff 1500000, client 192.0.2.15:50123 user rig1, effort 55.000%"),
            "share_found",
            &[
                ("sidechain_height", u(4000123)),
                ("client", s("192.0.2.15:50123")),
                ("user", s("rig1")),
            ],
        ),
        case(
            "share_found v3.2 comma before user",
            notice("StratumServer SHARE FOUND: mainchain height 3745120, sidechain height 14560233, diff 251004117, client 192.0.2.15:50123, user rig1, effort 87.412%"),
            "share_found",
            &[
                ("mainchain_height", u(3745120)),
                ("sidechain_height", u(14560233)),
                ("difficulty", u(251004117)),
                ("client", s("192.0.2.15:50123")),
                ("user", s("rig1")),
                ("effort_percent", s("87.412")),
            ],
        ),
        case(
            "share_found empty login",
            notice("StratumServer SHARE FOUND: mainchain height 3745120, sidechain height 14560233, diff 251004117, client 192.0.2.15:50123, effort 87.412%"),
            "share_found",
            &[("client", s("192.0.2.15:50123")), ("user", NULL)],
        ),
        case(
            "share_found empty login before v3.2",
            console("StratumServer SHARE FOUND: mainchain height 2492998, diff 100000, client 192.0.2.15:50123 user , effort 1.000%"),
            "share_found",
            &[("client", s("192.0.2.15:50123")), ("user", NULL)],
        ),
        case(
            "share_found IPv6 client and spaced user",
            notice("StratumServer SHARE FOUND: mainchain height 3745120, sidechain height 14560233, diff 251004117, client [2001:db8::7]:51234, user my rig, effort 0.500%"),
            "share_found",
            &[("client", s("[2001:db8::7]:51234")), ("user", s("my rig"))],
        ),
        case(
            "share_found pre-release shape",
            console("StratumServer SHARE FOUND at mainchain height 2440000"),
            "share_found",
            &[("mainchain_height", u(2440000)), ("effort_percent", NULL)],
        ),
        case(
            "share_found ANSI colours",
            coloured("StratumServer", "SHARE FOUND: mainchain height 3278626, sidechain height 9151558, diff 121915365, client 192.0.2.16:41698, user rig9, effort 212.795%"),
            "share_found",
            &[("user", s("rig9")), ("effort_percent", s("212.795"))],
        ),
        case(
            "share_found CRLF",
            console("StratumServer SHARE FOUND: mainchain height 3745120, sidechain height 14560233, diff 251004117, client 192.0.2.15:50123, user rig1, effort 87.412%").replace('\n', "\r\n"),
            "share_found",
            &[("effort_percent", s("87.412"))],
        ),
        case(
            "invalid_share with user",
            file("WARNING", "StratumServer INVALID SHARE: mainchain height 3745121, sidechain height 14560240, diff 250113870, client 192.0.2.16:50200, user rig2, reason: stale share"),
            "invalid_share",
            &[
                ("mainchain_height", u(3745121)),
                ("sidechain_height", u(14560240)),
                ("difficulty", u(250113870)),
                ("client", s("192.0.2.16:50200")),
                ("user", s("rig2")),
                ("reason", s("stale share")),
            ],
        ),
        case(
            "invalid_share without user",
            console("StratumServer INVALID SHARE: mainchain height 3745121, sidechain height 14560240, diff 250113870, client 192.0.2.16:50200, reason: couldn't check PoW"),
            "invalid_share",
            &[("user", NULL), ("reason", s("couldn't check PoW"))],
        ),
        case(
            "miner_share_found built-in miner",
            notice("Miner SHARE FOUND: mainchain height 3745120, sidechain height 14560233, diff 251004117, worker thread 2/8"),
            "miner_share_found",
            &[
                ("mainchain_height", u(3745120)),
                ("sidechain_height", u(14560233)),
                ("difficulty", u(251004117)),
                ("worker_thread", s("2/8")),
            ],
        ),
        case(
            "share_added other node",
            notice(&format!("SideChain SHARE ADDED: height = 14560233, id = {HASH}, mainchain height = 3745120")),
            "share_added",
            &[
                ("sidechain_height", u(14560233)),
                ("id", s(HASH)),
                ("mainchain_height", u(3745120)),
            ],
        ),
        case(
            "client_found_block with user",
            notice("StratumServer client 192.0.2.15:50123 user rig1 found a mainchain block at height 3745131, submitting it"),
            "client_found_block",
            &[
                ("client", s("192.0.2.15:50123")),
                ("user", s("rig1")),
                ("mainchain_height", u(3745131)),
            ],
        ),
        case(
            "client_found_block without user",
            console("StratumServer client 192.0.2.15:50123 found a mainchain block at height 3745131, submitting it"),
            "client_found_block",
            &[("client", s("192.0.2.15:50123")), ("user", NULL)],
        ),
        case(
            "client_found_block built-in miner",
            notice("Miner worker thread 1/4 found a mainchain block at height 3745131, submitting it"),
            "client_found_block",
            &[
                ("worker_thread", s("1/4")),
                ("user", NULL),
                ("mainchain_height", u(3745131)),
            ],
        ),
    ]
}

fn block_cases() -> Vec<Case> {
    let banner_row = "| ######   #        #######   #####   #    #      #######  #######  #     #  #     #  ######  |";
    let rule = "-".repeat(95);
    let banner = format!("{rule}\n{}{rule}\n", format!("{banner_row}\n").repeat(7));
    vec![
        case(
            "block_submitted external blob",
            console("P2Pool submit_block: height = 2492998, external blob (3765 bytes)"),
            "block_submitted",
            &[("mainchain_height", u(2492998)), ("external_blob_bytes", u(3765))],
        ),
        case(
            "block_submitted local template",
            notice(&format!("P2Pool submit_block: height = 3745131, template id = 12, nonce = 3, extra_nonce = 4, mm_root = {HASH}")),
            "block_submitted",
            &[("mainchain_height", u(3745131)), ("external_blob_bytes", NULL)],
        ),
        case(
            "block_accepted",
            notice("P2Pool submit_block: BLOCK ACCEPTED at height 3745131 and difficulty = 673491233442"),
            "block_accepted",
            &[("mainchain_height", u(3745131)), ("difficulty", u(673491233442))],
        ),
        case(
            "block_submit_failed daemon error",
            file("ERROR", &format!("P2Pool submit_block: daemon returned error: 'Block not accepted', template id = 12, nonce = 3, extra_nonce = 4, mm_root = {HASH}")),
            "block_submit_failed",
            &[("error", s("Block not accepted"))],
        ),
        case(
            "block_submit_failed RPC error",
            file("ERROR", "P2Pool submit_block: RPC request failed, error Couldn't connect to server"),
            "block_submit_failed",
            &[("error", s("Couldn't connect to server"))],
        ),
        case(
            "block_found line alone",
            notice("P2Pool BLOCK FOUND: main chain block at height 3741303 was mined by someone else in this p2pool"),
            "block_found",
            &[
                ("mainchain_height", u(3741303)),
                ("mined_by", s("someone else in this p2pool")),
            ],
        ),
        case(
            "block_found with banner",
            notice("P2Pool BLOCK FOUND: main chain block at height 3745131 was mined by you") + &banner,
            "block_found",
            &[("mainchain_height", u(3745131)), ("mined_by", s("you"))],
        ),
        case(
            "block_found sidechain before v3.4",
            console("SideChain BLOCK FOUND: main chain block at height 2500000 was mined by this p2pool") + &banner,
            "block_found",
            &[("mined_by", s("this p2pool"))],
        ),
        case(
            "payout v2.7 wallet",
            notice(&format!("P2Pool Your wallet {} got a payout of 0.000412345678 XMR in block 3745131", wallet())),
            "payout",
            &[
                ("wallet", s(&wallet())),
                ("amount_xmr", s("0.000412345678")),
                ("block_height", u(3745131)),
            ],
        ),
        case(
            "payout v4.11 subaddress",
            console(&format!("P2Pool Your wallet {} got a payout of 1.000000000000 XMR in block 3745131", subaddress())),
            "payout",
            &[("wallet", s(&subaddress())), ("amount_xmr", s("1.000000000000"))],
        ),
        case(
            "payout v1.7 without wallet",
            console("P2Pool You received a payout of 0.000412345678 XMR in block 2600000"),
            "payout",
            &[
                ("wallet", NULL),
                ("amount_xmr", s("0.000412345678")),
                ("block_height", u(2600000)),
            ],
        ),
        case(
            "no_payout",
            notice(&format!("P2Pool Your wallet {} didn't get a payout in block 3741303 because you had no shares in PPLNS window", wallet())),
            "no_payout",
            &[("wallet", s(&wallet())), ("block_height", u(3741303))],
        ),
        case(
            "new_mainchain_block",
            console(&format!("P2Pool new main chain block: height = 3120092, id = {HASH}, timestamp = 1712248052, reward = 0.631188923333 XMR")),
            "new_mainchain_block",
            &[
                ("height", u(3120092)),
                ("id", s(HASH)),
                ("block_timestamp", u(1712248052)),
                ("reward_xmr", s("0.631188923333")),
            ],
        ),
        case(
            "new_mainchain_block v1.0 without reward",
            notice(&format!("P2Pool new main chain block: height = 2444930, id = {HASH}, timestamp = 1631105000")),
            "new_mainchain_block",
            &[("height", u(2444930)), ("block_timestamp", u(1631105000)), ("reward_xmr", NULL)],
        ),
        case(
            "synchronized",
            notice("SideChain SYNCHRONIZED"),
            "synchronized",
            &[],
        ),
    ]
}

fn miner_data_body(with_host: bool) -> String {
    let rule = "-".repeat(111);
    let host = if with_host {
        "host                    = 192.0.2.10:RPC 18081:ZMQ 18083\n"
    } else {
        ""
    };
    format!(
        "{rule}\n{host}major_version           = 16\nheight                  = 3120093\n\
         prev_id                 = {HASH}\nseed_hash               = {HASH}\n\
         difficulty              = 250552005250\nmedian_weight           = 300000\n\
         already_generated_coins = 18419251090024310653\ntransactions            = 149\n{rule}\n"
    )
}

fn sidechain_status_v417() -> String {
    notice("SideChain status")
        + &format!(
            "Monero node               = rig7:RPC-SSL 19081:ZMQ 19083 (192.0.2.7), fingerprint: AbC+/dE=\n\
             Main chain height         = 3745190\n\
             Main chain hashrate       = 5.612 GH/s\n\
             Side chain ID             = mini\n\
             Side chain height         = 14561000\n\
             Side chain hashrate       = 24.807 MH/s\n\
             Your hashrate (pool-side) = 11.402 kH/s\n\
             PPLNS window              = 2160 blocks (+61 uncles, 0 orphans)\n\
             PPLNS window duration     = 6h 2m 11s\n\
             Your wallet address       = {}\n\
             Your shares               = 2 blocks (+1 uncles, 0 orphans)\n\
             Your shares position      = [..1.............1.............]\n\
             Your uncles position      = [.....1........................]\n\
             Block reward share        = 0.094% (0.000568311204 XMR)\n",
            wallet()
        )
}

fn status_cases() -> Vec<Case> {
    vec![
        case(
            "miner_data v3.10 with host",
            console("P2Pool new miner data") + &miner_data_body(true),
            "miner_data",
            &[
                ("host", s("192.0.2.10:RPC 18081:ZMQ 18083")),
                ("major_version", u(16)),
                ("height", u(3120093)),
                ("prev_id", s(HASH)),
                ("seed_hash", s(HASH)),
                ("difficulty", u(250552005250)),
                ("median_weight", u(300000)),
                ("already_generated_coins", u(18419251090024310653)),
                ("transactions", u(149)),
            ],
        ),
        case(
            "miner_data v1.0 without host",
            notice("P2Pool new miner data") + &miner_data_body(false),
            "miner_data",
            &[("host", NULL), ("height", u(3120093))],
        ),
        case(
            "miner_data cut short",
            notice("P2Pool new miner data")
                + &"-".repeat(111)
                + "\nmajor_version           = 14\nheight                  = 2447695\n",
            "miner_data",
            &[
                ("height", u(2447695)),
                ("seed_hash", NULL),
                ("transactions", NULL),
            ],
        ),
        case(
            "sidechain_status v4.17 all lines",
            sidechain_status_v417(),
            "sidechain_status",
            &[
                (
                    "monero_node",
                    s("rig7:RPC-SSL 19081:ZMQ 19083 (192.0.2.7), fingerprint: AbC+/dE="),
                ),
                ("mainchain_height", u(3745190)),
                ("mainchain_hashrate", hr("5.612", "GH/s", 5_612_000_000)),
                ("sidechain_id", s("mini")),
                ("sidechain_height", u(14561000)),
                ("sidechain_hashrate", hr("24.807", "MH/s", 24_807_000)),
                ("pool_side_hashrate", hr("11.402", "kH/s", 11402)),
                ("pplns_window_blocks", u(2160)),
                ("pplns_window_uncles", u(61)),
                ("pplns_window_orphans", u(0)),
                ("pplns_window_duration", s("6h 2m 11s")),
                ("wallet", s(&wallet())),
                ("your_shares_blocks", u(2)),
                ("your_shares_uncles", u(1)),
                ("your_shares_orphans", u(0)),
                ("shares_position", s("[..1.............1.............]")),
                ("uncles_position", s("[.....1........................]")),
                ("block_reward_share_percent", s("0.094")),
                ("block_reward_share_xmr", s("0.000568311204")),
            ],
        ),
        case(
            "sidechain_status cut after three lines",
            notice("SideChain status")
                + "Monero node               = 192.0.2.10:18081:ZMQ:18083\n\
                   Main chain height         = 3301205\n\
                   Main chain hashrate       = 3.0\n",
            "sidechain_status",
            &[
                ("monero_node", s("192.0.2.10:18081:ZMQ:18083")),
                ("mainchain_height", u(3301205)),
                ("mainchain_hashrate", NULL),
                ("sidechain_height", NULL),
                ("block_reward_share_xmr", NULL),
            ],
        ),
        case(
            "stratum_status v1.0 labels with failures",
            console("StratumServer status")
                + "Hashrate (15m est) = 6.699 KH/s\n\
                   Hashrate (1h  est) = 6.610 KH/s\n\
                   Hashrate (24h est) = 6.715 KH/s\n\
                   Total hashes       = 94620203\n\
                   Shares found       = 2\n\
                   Shares failed      = 1\n\
                   Average effort     = 34.298%\n\
                   Current effort     = 0.431%\n\
                   Connections        = 7 (5 incoming)\n",
            "stratum_status",
            &[
                ("hashrate_15m", hr("6.699", "KH/s", 6699)),
                ("hashrate_1h", hr("6.610", "KH/s", 6610)),
                ("hashrate_24h", hr("6.715", "KH/s", 6715)),
                ("total_hashes", u(94620203)),
                ("stratum_shares", NULL),
                ("shares_found", u(2)),
                ("shares_failed", u(1)),
                ("average_effort_percent", s("34.298")),
                ("current_effort_percent", s("0.431")),
                ("connections", u(7)),
                ("incoming_connections", u(5)),
            ],
        ),
        case(
            "stratum_status v4.3 labels",
            notice("StratumServer status")
                + "Hashrate (15m est)   = 11.680 kH/s\n\
                   Hashrate (1h  est)   = 11.592 kH/s\n\
                   Hashrate (24h est)   = 11.184 kH/s\n\
                   Stratum hashes       = 4319481325\n\
                   Stratum shares       = 100883\n\
                   P2Pool shares found  = 15\n\
                   P2Pool shares failed = 2\n\
                   Average effort       = 94.232%\n\
                   Current effort       = 346.074%\n\
                   Connections          = 8 (8 incoming)\n",
            "stratum_status",
            &[
                ("total_hashes", u(4319481325)),
                ("stratum_shares", u(100883)),
                ("shares_found", u(15)),
                ("shares_failed", u(2)),
                ("current_effort_percent", s("346.074")),
            ],
        ),
        case(
            "p2p_status v1.0 without uptime",
            console("P2PServer status")
                + "Connections    = 10 (0 incoming)\nPeer list size = 120\n",
            "p2p_status",
            &[
                ("connections", u(10)),
                ("incoming_connections", u(0)),
                ("onion_connections", NULL),
                ("peer_list_size", u(120)),
                ("uptime", NULL),
                ("uptime_seconds", NULL),
            ],
        ),
        case(
            "p2p_status v4.12 onion",
            notice("P2PServer status")
                + "Connections     = 32 (16 incoming, 2 onion)\n\
                   Peer list size  = 1258\n\
                   Onion list size = 17\n\
                   Uptime          = 0h 12m 9s\n",
            "p2p_status",
            &[
                ("onion_connections", u(2)),
                ("i2p_connections", NULL),
                ("onion_list_size", u(17)),
                ("i2p_list_size", NULL),
                ("uptime", s("0h 12m 9s")),
                ("uptime_seconds", u(729)),
            ],
        ),
        case(
            "p2p_status v4.15 I2P",
            notice("P2PServer status")
                + "Connections     = 32 (16 incoming, 0 onion, 3 I2P)\n\
                   Peer list size  = 1258\n\
                   Onion list size = 17\n\
                   I2P list size   = 3\n\
                   Uptime          = 4d 14h 6m 10s\n",
            "p2p_status",
            &[
                ("connections", u(32)),
                ("incoming_connections", u(16)),
                ("onion_connections", u(0)),
                ("i2p_connections", u(3)),
                ("i2p_list_size", u(3)),
                ("uptime_seconds", u(396370)),
            ],
        ),
        case(
            "miner_status v1.6",
            console("Miner status") + "Threads  = 4\nHashrate = 2.500 KH/s\n",
            "miner_status",
            &[
                ("threads", u(4)),
                ("hashrate", hr("2.500", "KH/s", 2500)),
                ("shares_found", NULL),
                ("shares_failed", NULL),
            ],
        ),
        case(
            "miner_status v3.0 coloured failures",
            "\x1b[0;36m2026-08-14 09:15:02.4821\x1b[0m \x1b[0;90mMiner \x1b[0mstatus\n\
             Threads       = 8\nHashrate      = 5.001 kH/s\nShares found  = 3\n\
             \x1b[0;33mShares failed = 1\x1b[0m\x1b[0m\n",
            "miner_status",
            &[
                ("threads", u(8)),
                ("shares_found", u(3)),
                ("shares_failed", u(1)),
            ],
        ),
        case(
            "node_health without reasons",
            notice("ConsoleCommands Node health: 10/10"),
            "node_health",
            &[
                ("score", u(10)),
                ("max_score", u(10)),
                ("comments", list(&[])),
            ],
        ),
        case(
            "node_health with reason records",
            notice("ConsoleCommands Node health: 8/10")
                + &notice("ConsoleCommands No incoming p2p connections")
                + &notice("ConsoleCommands No stratum connections"),
            "node_health",
            &[
                ("score", u(8)),
                (
                    "comments",
                    list(&["No incoming p2p connections", "No stratum connections"]),
                ),
            ],
        ),
    ]
}

fn worker_header(tls: bool, shares: bool) -> String {
    let tls = if tls { "TLS    " } else { "" };
    let shares = if shares { "shares      " } else { "" };
    format!(
        "StratumServer IP:port                    {tls}uptime              difficulty          hashrate       {shares}name"
    )
}

fn worker_cases() -> Vec<Case> {
    vec![
        case(
            "worker v2.1 without TLS column",
            console(&worker_header(false, false))
                + &console("StratumServer 192.0.2.21:40112           0h 12m 9s           120031              4.001 KH/s     rig1"),
            "worker",
            &[
                ("address", s("192.0.2.21:40112")),
                ("tls", NULL),
                ("uptime", s("0h 12m 9s")),
                ("uptime_seconds", u(729)),
                ("difficulty", u(120031)),
                ("hashrate", hr("4.001", "KH/s", 4001)),
                ("sidechain_shares", NULL),
                ("stratum_shares", NULL),
                ("name", s("rig1")),
            ],
        ),
        case(
            "worker v4.1 TLS yes",
            console(&worker_header(true, false))
                + &console("StratumServer 192.0.2.21:40112           yes    2d 3h 4m 5s         120031              676 H/s        rig1"),
            "worker",
            &[
                ("tls", Value::Bool(true)),
                ("uptime_seconds", u(183845)),
                ("hashrate", hr("676", "H/s", 676)),
            ],
        ),
        case(
            "worker v4.14 shares column",
            notice(&worker_header(true, true))
                + &notice("StratumServer 192.0.2.21:40112           no     2d 3h 4m 5s         120031              4.001 kH/s     3/5120      rig1"),
            "worker",
            &[
                ("tls", Value::Bool(false)),
                ("sidechain_shares", u(3)),
                ("stratum_shares", u(5120)),
                ("name", s("rig1")),
            ],
        ),
        case(
            "worker blank hashrate IPv6",
            notice(&worker_header(true, true))
                + &notice("StratumServer [2001:db8::7]:51234        yes    0h 12m 9s           4000000                            0/2         rig2"),
            "worker",
            &[
                ("address", s("[2001:db8::7]:51234")),
                ("difficulty", u(4000000)),
                ("hashrate", NULL),
                ("sidechain_shares", u(0)),
                ("stratum_shares", u(2)),
                ("name", s("rig2")),
            ],
        ),
        case(
            "worker not logged in",
            console(&worker_header(true, false))
                + &console("StratumServer 192.0.2.22:40113           no     0h 0m 3s            1000                               not logged in"),
            "worker",
            &[("hashrate", NULL), ("name", s("not logged in"))],
        ),
        case(
            "worker shares wider than column",
            notice(&worker_header(false, true))
                + &notice("StratumServer 192.0.2.21:40112           20d 3h 4m 5s        120031              4.001 kH/s     12345/1234567rig1"),
            "worker",
            &[("stratum_shares", u(1234567)), ("name", s("rig1"))],
        ),
        case(
            "workers_total",
            notice("StratumServer Total: 2 workers"),
            "workers_total",
            &[("count", u(2))],
        ),
    ]
}

fn startup_cases() -> Vec<Case> {
    let mut cases = vec![
        case("log_started", notice("Log started"), "log_started", &[]),
        case("log_stopped", console("Log stopped"), "log_stopped", &[]),
        case(
            "version start-up line",
            console("P2Pool v3.3 (built with MSVC/1929 on Apr 30 2023)"),
            "version",
            &[("version", s("v3.3")), ("build", s("built with MSVC/1929 on Apr 30 2023"))],
        ),
        case(
            "version build with parentheses",
            notice("P2Pool v4.10.1 (built with clang/20.1.8_p2pool (https://example.org/llvm.git 87f0227c) on 2025-09-10)"),
            "version",
            &[
                ("version", s("v4.10.1")),
                ("build", s("built with clang/20.1.8_p2pool (https://example.org/llvm.git 87f0227c) on 2025-09-10")),
            ],
        ),
        case(
            "version command output",
            notice("ConsoleCommands P2Pool v4.18 (built with GCC/13.2.0 from 14b6a63 on Aug 13 2026)")
                + "\nDependencies:\n - glibc 2.41-stable\n - libcurl 8.15.0\n - libuv 1.51.0\n",
            "version",
            &[
                ("version", s("v4.18")),
                ("build", s("built with GCC/13.2.0 from 14b6a63 on Aug 13 2026")),
            ],
        ),
        case(
            "shutdown_signal by name",
            notice("P2Pool caught SIGTERM"),
            "shutdown_signal",
            &[("signal", s("SIGTERM"))],
        ),
        case(
            "shutdown_signal by number",
            console("P2Pool caught signal 15"),
            "shutdown_signal",
            &[("signal", s("15"))],
        ),
        case(
            "panic console line",
            "P2Pool can't continue execution: panic at src/zmq_reader.cpp:63\n",
            "panic",
            &[("location", s("src/zmq_reader.cpp:63"))],
        ),
    ];
    let config = [
        ("network type  = mainnet", "network type", "mainnet"),
        ("pool name     = mini", "pool name", "mini"),
        ("block time    = 10 seconds", "block time", "10 seconds"),
        ("min diff      = 100000", "min diff", "100000"),
        ("PPLNS window  = 2160 blocks", "PPLNS window", "2160 blocks"),
        ("uncle penalty = 20%", "uncle penalty", "20%"),
    ];
    for (line, key, value) in config {
        cases.push(case(
            "sidechain_config key",
            notice(&format!("SideChain {line}")),
            "sidechain_config",
            &[("key", s(key)), ("value", s(value))],
        ));
    }
    cases
}

fn health_cases() -> Vec<Case> {
    vec![
        case(
            "listen_failed stratum console",
            console("StratumServer failed to listen on tcp server socket [::]:3333, error EADDRINUSE"),
            "listen_failed",
            &[("address", s("[::]:3333")), ("error", s("EADDRINUSE"))],
        ),
        case(
            "listen_failed p2p file",
            file("ERROR", "P2PServer failed to listen on tcp server socket 0.0.0.0:37889, error EACCES"),
            "listen_failed",
            &[("address", s("0.0.0.0:37889")), ("error", s("EACCES"))],
        ),
        case(
            "rpc_failed up to v3.4",
            console("P2Pool get_info RPC request failed: error Couldn't connect to server (empty response), trying again in 1 second"),
            "rpc_failed",
            &[
                ("method", s("get_info")),
                ("host", NULL),
                ("error", s("Couldn't connect to server (empty response)")),
                ("retry_seconds", u(1)),
            ],
        ),
        case(
            "rpc_failed v3.5 host without word",
            file("WARNING", "P2Pool get_info RPC request to 192.0.2.10:18081:ZMQ:18083 failed: error HTTP error 500, trying again in 1 second"),
            "rpc_failed",
            &[("host", s("192.0.2.10:18081:ZMQ:18083")), ("error", s("HTTP error 500"))],
        ),
        case(
            "rpc_failed v3.7 host word",
            file("WARNING", "P2Pool get_info RPC request to host 192.0.2.10:RPC 18081:ZMQ 18083 failed: error empty response, trying again in 1 second"),
            "rpc_failed",
            &[("host", s("192.0.2.10:RPC 18081:ZMQ 18083")), ("error", s("empty response"))],
        ),
        case(
            "rpc_failed v4.16 without error word",
            file("WARNING", "P2Pool get_info RPC request to host 192.0.2.10:RPC 18081:ZMQ 18083 failed: Couldn't connect to server, trying again in 1 second"),
            "rpc_failed",
            &[("error", s("Couldn't connect to server")), ("retry_seconds", u(1))],
        ),
        case(
            "rpc_failed miner data without retry",
            file("WARNING", "P2Pool get_miner_data RPC request to host 192.0.2.10:RPC 18081:ZMQ 18083 failed: Timeout was reached"),
            "rpc_failed",
            &[
                ("method", s("get_miner_data")),
                ("error", s("Timeout was reached")),
                ("retry_seconds", NULL),
            ],
        ),
        case(
            "monerod_lagging",
            console("P2PServer peer 198.51.100.1:37888 is ahead on mainchain (height 2792939, your height 2792936). Is your monerod stuck or lagging?"),
            "monerod_lagging",
            &[
                ("peer", s("198.51.100.1:37888")),
                ("peer_height", u(2792939)),
                ("our_height", u(2792936)),
            ],
        ),
        case(
            "zmq_connected",
            notice("ZMQReader connected to tcp://192.0.2.10:18083"),
            "zmq_connected",
            &[("address", s("tcp://192.0.2.10:18083"))],
        ),
        case(
            "zmq_disconnected",
            file("ERROR", "ZMQReader disconnected from tcp://192.0.2.10:18083"),
            "zmq_disconnected",
            &[("address", s("tcp://192.0.2.10:18083"))],
        ),
        case(
            "zmq_connect_failed",
            console("ZMQReader failed to connect to tcp://192.0.2.10:18083"),
            "zmq_connect_failed",
            &[("address", s("tcp://192.0.2.10:18083"))],
        ),
        case(
            "zmq_start_failed",
            file("ERROR", "P2Pool Couldn't start ZMQ reader: exception Address already in use"),
            "zmq_start_failed",
            &[("error", s("Address already in use"))],
        ),
        case(
            "zmq_not_running",
            file("ERROR", "P2PServer ZMQ is not running, restarting it"),
            "zmq_not_running",
            &[],
        ),
        case(
            "no_zmq_messages v3.5 host",
            file("ERROR", "P2PServer no ZMQ messages received from host 192.0.2.10:RPC 18081:ZMQ 18083 in the last 300 seconds, check your monerod/p2pool/network/firewall setup!!!"),
            "no_zmq_messages",
            &[("host", s("192.0.2.10:RPC 18081:ZMQ 18083")), ("seconds", u(300))],
        ),
        case(
            "no_zmq_messages v1.2 monerod",
            console("P2PServer no ZMQ messages received from monerod in the last 300 seconds, check your monerod/p2pool/network/firewall setup!!!"),
            "no_zmq_messages",
            &[("host", NULL), ("seconds", u(300))],
        ),
        case(
            "host_stuck",
            file("ERROR", "P2PServer Host 192.0.2.10:RPC 18081:ZMQ 18083 seems to be stuck, reconnecting"),
            "host_stuck",
            &[("host", s("192.0.2.10:RPC 18081:ZMQ 18083"))],
        ),
        case(
            "monerod_not_ready busy",
            notice("P2Pool monerod is busy syncing, trying again in 1 second"),
            "monerod_not_ready",
            &[("state", s("busy syncing"))],
        ),
        case(
            "monerod_not_ready not synchronized",
            console("P2Pool monerod is not synchronized, trying again in 1 second"),
            "monerod_not_ready",
            &[("state", s("not synchronized"))],
        ),
        case(
            "no_p2p_connections",
            file("ERROR", "P2PServer no connections to other p2pool nodes, check your monerod/p2pool/network/firewall setup!!!"),
            "no_p2p_connections",
            &[],
        ),
        case(
            "sidechain_stuck",
            file("WARNING", "P2PServer Sidechain seems to be stuck and/or out of sync"),
            "sidechain_stuck",
            &[],
        ),
        case(
            "update_available",
            notice("P2PServer * An updated P2Pool version is available, visit p2pool.io for more information *"),
            "update_available",
            &[],
        ),
        case(
            "warning generic",
            file("WARNING", "SideChain block at height = 14675544, id = eb27, mainchain height = 3714448 has invalid reward at index 0: got 1003429600, expected 1005084975"),
            "warning",
            &[("message", s("block at height = 14675544, id = eb27, mainchain height = 3714448 has invalid reward at index 0: got 1003429600, expected 1005084975"))],
        ),
        case(
            "error generic",
            file("ERROR", "ConsoleCommands tty or named pipe is not available"),
            "error",
            &[("message", s("tty or named pipe is not available"))],
        ),
    ]
}

fn all_cases() -> Vec<Case> {
    let mut cases = share_cases();
    cases.extend(block_cases());
    cases.extend(status_cases());
    cases.extend(worker_cases());
    cases.extend(startup_cases());
    cases.extend(health_cases());
    cases
}

#[test]
fn cases_yield_kind_and_fields() {
    for case in all_cases() {
        let got = events(case.input.as_bytes());
        let kinds: Vec<&str> = got.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, vec![case.kind], "{}: event kinds", case.name);
        for (name, want) in &case.fields {
            assert_eq!(
                got[0].field(name),
                Some(want),
                "{}: field {name}",
                case.name
            );
        }
    }
}

#[test]
fn cases_use_documented_field_order() {
    for case in all_cases() {
        for event in events(case.input.as_bytes()) {
            let names: Vec<&str> = event.fields.iter().map(|(n, _)| *n).collect();
            let documented = KIND_FIELDS.iter().find(|(k, _)| *k == event.kind);
            assert!(
                documented.is_some(),
                "{}: undocumented kind {}",
                case.name,
                event.kind
            );
            let miner_form = event.kind == "client_found_block" && names[0] == "worker_thread";
            if !miner_form {
                assert_eq!(
                    Some(names.as_slice()),
                    documented.map(|(_, f)| *f),
                    "{}",
                    case.name
                );
            }
        }
    }
}

#[test]
fn cases_cover_every_kind() {
    let cases = all_cases();
    for (kind, _) in KIND_FIELDS {
        let covered = cases.iter().any(|c| c.kind == *kind);
        assert!(covered, "no test case for kind {kind}");
    }
}

/// Converts the file form of `input` to the console form by removing each level word, and
/// adds P2Pool's colour codes around the timestamp and category when `colours` is set.
fn to_console(input: &str, colours: bool) -> String {
    let mut out = String::new();
    for line in input.split_inclusive('\n') {
        let is_record = ["NOTICE  ", "WARNING ", "ERROR   "]
            .iter()
            .any(|word| line.starts_with(word) && line.get(8..32) == Some(TS));
        let rest = if is_record { &line[8..] } else { line };
        let body = rest
            .get(TS.len() + 1..)
            .and_then(|body| body.split_once(' '));
        match (colours && is_record, body) {
            (true, Some((category, message))) => {
                let message = message.trim_end_matches('\n');
                out.push_str(&coloured(category, message));
            }
            _ => out.push_str(rest),
        }
    }
    out
}

#[test]
fn console_copies_yield_same_fields() {
    for case in all_cases() {
        let file_events = events(case.input.as_bytes());
        if ["warning", "error"].contains(&case.kind) {
            continue;
        }
        for colours in [false, true] {
            let copy = to_console(&case.input, colours);
            let console_events = events(copy.as_bytes());
            assert_eq!(console_events.len(), file_events.len(), "{}", case.name);
            for (file_event, console_event) in file_events.iter().zip(&console_events) {
                assert_eq!(console_event.kind, file_event.kind, "{}", case.name);
                assert_eq!(console_event.fields, file_event.fields, "{}", case.name);
                assert_eq!(console_event.identity, file_event.identity, "{}", case.name);
            }
        }
    }
}

#[test]
fn file_lines_carry_level_console_lines_none() {
    let file_event = &events(notice("Log started").as_bytes())[0];
    assert_eq!(file_event.level.as_deref(), Some("NOTICE"));
    assert_eq!(file_event.category.as_deref(), Some("Log"));
    assert_eq!(file_event.timestamp.as_deref(), Some(TS));
    let console_event = &events(console("Log started").as_bytes())[0];
    assert_eq!(console_event.level, None);
}

#[test]
fn panic_line_has_no_header_fields() {
    let got = events(b"P2Pool can't continue execution: panic at src/p2pool.cpp:420\n");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].timestamp, None);
    assert_eq!(got[0].category, None);
    assert_eq!(got[0].level, None);
}

/// Lines that resemble an event of some kind but are not one, or are damaged.
fn look_alikes() -> Vec<(&'static str, String)> {
    vec![
        ("console warning has no level", console("SideChain block at height = 1 has invalid reward")),
        ("notice chatter", notice("SideChain add_block: height = 11241025, id = 00ff, mainchain height = 3415497, verified = 0")),
        ("aux block found", notice("Miner AUX BLOCK FOUND: chain_id 00ff, diff 5, worker thread 1/4")),
        ("consensus id", notice("SideChain consensus ID = 22af7ee7************************************************4407f918")),
        ("default config", notice("SideChain using default config")),
        ("no background jobs", notice("Util no background jobs running")),
        ("wrong network", console("P2Pool monerod is on testnet, but you're mining to a mainnet sidechain")),
        ("P2Pool word starting with v", console("P2Pool verifying blocks")),
        ("external block", console(&format!("SideChain add_external_block: block {HASH} has enough PoW for Monero network, submitting it"))),
        ("stratum job", console("StratumServer sent new job to 2/2 clients")),
        ("unknown finder", console("P2Pool BLOCK FOUND: main chain block at height 1 was mined by someone")),
        ("payout cut by terminal", console("P2Pool Your wallet 4AAAA got a payout of 0.0002")),
        ("share found cut by terminal", console("StratumServer SHARE FOUND: mainchain height 1, diff 2, client 192.0.2.1:5, user ri")),
        ("main chain block cut", console("P2Pool new main chain block: height = 3120092, id = b565")),
        ("main chain reward cut", console(&format!("P2Pool new main chain block: height = 3120092, id = {HASH}, timestamp = 1712248052, reward = 0.63"))),
        ("log started without spaces", "2023-05-13 23:08:12.3293Logstarted\n".to_string()),
        ("synchronized with more text", notice("SideChain SYNCHRONIZED OK")),
        ("untimestamped host stuck", "Host 127.0.0.1:18081:ZMQ:18083 seems to be stuck, reconnecting\n".to_string()),
        ("mangled colour fragment", ";31mHost 127.0.0.1:18081:ZMQ:18083 seems to be stuck, reconnecting\u{fffd}[0m\n".to_string()),
        ("user annotation", "@@@\n".to_string()),
        ("typed status echo", "status\n".to_string()),
        ("banner without header", format!("{}\n| #  # |\n{}\n", "-".repeat(95), "-".repeat(95))),
        ("nano hashrate notice", console("StratumServer Your hashrate is 35.000 kH/s. Please switch from P2Pool-nano to P2Pool-mini or P2Pool-main.")),
        ("caught exception", console("P2Pool caught exception")),
        ("status with suffix", console("SideChain status now")),
        ("node health reason alone", notice("ConsoleCommands No stratum connections")),
        ("rpc word without method", console("P2Pool get ready RPC request failed: error x")),
        ("worker row without header", console("StratumServer 192.0.2.21:40112           no     0h 12m 9s           120031              4.001 kH/s     rig1")),
        ("workers total wrong word", console("StratumServer Total: 2 clients")),
        ("zmq address without scheme", console("ZMQReader connected to 192.0.2.10:18083")),
        ("monero log line", "2026-08-14 09:15:02.482\tI SYNCHRONIZED OK\n".to_string()),
        ("final line without newline", notice("Log started").trim_end().to_string()),
    ]
}

#[test]
fn look_alikes_yield_nothing() {
    for (name, input) in look_alikes() {
        let got = events(input.as_bytes());
        let kinds: Vec<&str> = got.iter().map(|e| e.kind).collect();
        assert!(kinds.is_empty(), "{name}: got {kinds:?}");
    }
}

#[test]
fn client_found_block_is_not_block_found() {
    let input = console("StratumServer client 192.0.2.15:50123 user rig1 found a mainchain block at height 3745131, submitting it");
    let kinds: Vec<&str> = events(input.as_bytes()).iter().map(|e| e.kind).collect();
    assert_eq!(kinds, vec!["client_found_block"]);
}

#[test]
fn status_output_joins_each_record() {
    let input = console("SideChain status")
        + "Main chain height         = 2575141\nSide chain height         = 1562636\n"
        + &console("StratumServer status")
        + "Hashrate (15m est) = 0 H/s\nConnections        = 1 (1 incoming)\n"
        + &console("P2PServer status")
        + "Connections    = 19 (9 incoming)\nPeer list size = 340\nUptime         = 11h 50m 40s\n"
        + &console("Util no background jobs running");
    let (got, counters) = parse_all(input.as_bytes(), false);
    let kinds: Vec<(u64, &str)> = got.iter().map(|e| (e.line, e.kind)).collect();
    assert_eq!(
        kinds,
        vec![
            (1, "sidechain_status"),
            (4, "stratum_status"),
            (7, "p2p_status")
        ]
    );
    assert_eq!(counters.continuation_lines, 7);
    assert_eq!(counters.unrecognised_lines, 0);
}

#[test]
fn status_interrupted_by_share_record() {
    let input = notice("StratumServer status")
        + "Hashrate (15m est) = 429 H/s\n"
        + &notice("StratumServer SHARE FOUND: mainchain height 3745120, sidechain height 14560233, diff 251004117, client 192.0.2.15:50123, user rig1, effort 87.412%");
    let got = events(input.as_bytes());
    let kinds: Vec<&str> = got.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, vec!["stratum_status", "share_found"]);
    assert_eq!(got[0].field("total_hashes"), Some(&NULL));
}

#[test]
fn typed_echo_ends_status_record() {
    let input = console("SideChain status") + "Main chain height         = 2575141\nstatus\n";
    let (got, counters) = parse_all(input.as_bytes(), false);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].field("mainchain_height"), Some(&u(2575141)));
    assert_eq!(counters.continuation_lines, 1);
    assert_eq!(counters.unrecognised_lines, 1);
}

#[test]
fn background_jobs_lines_are_taken() {
    let input = notice("Util background jobs running:")
        + "StratumServer::on_share_found (1)\nSideChain::add_external_block (2)\n"
        + &notice("Log stopped");
    let (got, counters) = parse_all(input.as_bytes(), false);
    let kinds: Vec<&str> = got.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, vec!["log_stopped"]);
    assert_eq!(counters.continuation_lines, 2);
}

#[test]
fn block_found_emitted_when_banner_ends() {
    let rule = "-".repeat(95);
    let mut input =
        notice("P2Pool BLOCK FOUND: main chain block at height 3745131 was mined by you");
    input.push_str(&format!("{rule}\n"));
    input.push_str(&"| #  # |\n".repeat(7));
    input.push_str(&format!("{rule}\n"));
    let mut parser = StreamParser::new(0, 1, DEFAULT_MAX_LINE);
    let mut out = Vec::new();
    parser.feed(input.as_bytes(), &mut out);
    assert_eq!(out.len(), 1, "emitted before the stream ends");
    assert_eq!(parser.counters.continuation_lines, 9);
}

#[test]
fn miner_data_emitted_at_closing_rule() {
    let input = console("P2Pool new miner data") + &miner_data_body(true);
    let mut parser = StreamParser::new(0, 1, DEFAULT_MAX_LINE);
    let mut out = Vec::new();
    parser.feed(input.as_bytes(), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(parser.safe_position(), (input.len() as u64, 13));
}

#[test]
fn pending_record_holds_safe_position() {
    let first = notice("Log started");
    let input = first.clone() + &notice("SideChain status") + "Main chain height         = 1\n";
    let mut parser = StreamParser::new(0, 1, DEFAULT_MAX_LINE);
    let mut out = Vec::new();
    parser.feed(input.as_bytes(), &mut out);
    assert_eq!(parser.safe_position(), (first.len() as u64, 2));
}

#[test]
fn identity_covers_continuation_lines() {
    let head = notice("P2PServer status");
    let a = events((head.clone() + "Connections    = 19 (9 incoming)\n").as_bytes());
    let b = events((head + "Connections    = 20 (9 incoming)\n").as_bytes());
    assert_ne!(a[0].identity, b[0].identity);
}

#[test]
fn identity_same_for_file_and_console_copies() {
    let body = "StratumServer status";
    let rest = "Hashrate (15m est) = 429 H/s\n";
    let from_file = events((notice(body) + rest).as_bytes());
    let from_console = events((coloured("StratumServer", "status") + rest).as_bytes());
    assert_eq!(from_file[0].identity, from_console[0].identity);
    let line = notice("Log started");
    let colour = coloured("Log", "started");
    assert_eq!(
        events(line.as_bytes())[0].identity,
        events(colour.as_bytes())[0].identity
    );
}

#[test]
fn node_health_identity_covers_reasons() {
    let head = notice("ConsoleCommands Node health: 9/10");
    let with_reason =
        events((head.clone() + &notice("ConsoleCommands No stratum connections")).as_bytes());
    let alone = events(head.as_bytes());
    assert_ne!(with_reason[0].identity, alone[0].identity);
}

#[test]
fn overlong_record_is_cut() {
    let input =
        notice("StratumServer status") + &"Connections        = 1 (1 incoming)\n".repeat(1000);
    let (got, counters) = parse_all(input.as_bytes(), false);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].field("connections"), Some(&u(1)));
    assert!(counters.continuation_lines < 1000);
    assert_eq!(
        counters.continuation_lines + counters.unrecognised_lines,
        1000
    );
}

#[test]
fn workers_listing_survives_interleaved_share() {
    let input = notice(&worker_header(true, true))
        + &notice("StratumServer SHARE FOUND: mainchain height 3745120, sidechain height 14560233, diff 251004117, client 192.0.2.15:50123, user rig1, effort 87.412%")
        + &notice("StratumServer 192.0.2.21:40112           no     2d 3h 4m 5s         120031              4.001 kH/s     3/5120      rig1")
        + &notice("StratumServer Total: 1 workers")
        + &notice("StratumServer 192.0.2.21:40112           no     2d 3h 4m 5s         120031              4.001 kH/s     3/5120      rig1");
    let kinds: Vec<&str> = events(input.as_bytes()).iter().map(|e| e.kind).collect();
    assert_eq!(kinds, vec!["share_found", "worker", "workers_total"]);
}

#[test]
fn events_independent_of_chunk_boundaries() {
    for case in all_cases() {
        let whole = events(case.input.as_bytes());
        let mut parser = StreamParser::new(0, 1, DEFAULT_MAX_LINE);
        let mut bytewise = Vec::new();
        for byte in case.input.as_bytes() {
            parser.feed(std::slice::from_ref(byte), &mut bytewise);
        }
        parser.finish(false, &mut bytewise);
        assert_eq!(whole, bytewise, "{}", case.name);
    }
}

/// Sets each event's offset to 0, so that inputs with different line ends compare equal.
fn without_offset(events: Vec<Event>) -> Vec<Event> {
    events
        .into_iter()
        .map(|e| Event { offset: 0, ..e })
        .collect()
}

#[test]
fn crlf_gives_same_events_as_lf() {
    for case in all_cases() {
        let lf = without_offset(events(case.input.as_bytes()));
        let crlf = without_offset(events(case.input.replace('\n', "\r\n").as_bytes()));
        assert_eq!(lf, crlf, "{}", case.name);
    }
}

#[test]
fn truncated_inputs_never_panic() {
    for case in all_cases() {
        let bytes = case.input.as_bytes();
        for end in 0..=bytes.len() {
            let _ = parse_all(&bytes[..end], true);
        }
    }
}

#[test]
fn random_bytes_never_panic() {
    let alphabet: &[u8] = b"NOTICE WARNING ERROR 2026-08-14 09:15:02.4821 StratumServer SideChain P2PServer P2Pool status = ( ) , : / % | - \n\r\x1b[0m 0123456789 kH/s XMR \xff\xfe";
    let mut rng = crate::testing::XorShift(0x9e37_79b9_7f4a_7c15);
    let data: Vec<u8> = (0..200_000)
        .map(|_| alphabet[rng.below(alphabet.len())])
        .collect();
    let _ = parse_all(&data, true);
}

/// Parses `data` in 1 MiB chunks, dropping each chunk's events as `scan_path` does, and
/// prints the rate.
fn print_throughput(label: &str, data: &[u8]) {
    let start = std::time::Instant::now();
    let mut parser = StreamParser::new(0, 1, DEFAULT_MAX_LINE);
    let mut out = Vec::new();
    for chunk in data.chunks(1 << 20) {
        parser.feed(chunk, &mut out);
        out.clear();
    }
    parser.finish(false, &mut out);
    let seconds = start.elapsed().as_secs_f64();
    let rate = data.len() as f64 / seconds / 1e9;
    let counters = &parser.counters;
    println!(
        "{label}: {} bytes, {} lines, {} events in {seconds:.3} s: {rate:.2} GB/s",
        data.len(),
        counters.lines,
        counters.events
    );
}

/// Measures throughput on chatter, the bulk of a P2Pool log at level 3. Run with
/// `cargo test --release -- --ignored --nocapture throughput`.
#[test]
#[ignore]
fn chatter_throughput() {
    let chatter = [
        notice(&format!("SideChain add_block: height = 14560234, id = {HASH}, mainchain height = 3745120, verified = 0")),
        notice(&format!("SideChain verified block at height = 14560234, depth = 0, id = {HASH}, mainchain height = 3745120")),
        notice("SideChain new chain tip: next height = 14560235, next difficulty = 250140714, main chain height = 3745120"),
        notice("StratumServer sent new job to 8/8 clients"),
        notice("BlockTemplate final reward = 0.617097942073 XMR, weight = 301633, outputs = 616, 140 of 147 transactions included"),
        notice("P2PServer peer 198.51.100.1:37888 banned for 600 seconds"),
    ]
    .concat();
    let data = chatter.repeat(256 * 1024 * 1024 / chatter.len());
    print_throughput("chatter", data.as_bytes());
}

/// Measures throughput on the log file named by `DB4E_BENCH_LOG`, for example the output of
/// `python -m db4e.simulate --size 300000000 FILE`.
#[test]
#[ignore]
fn file_throughput() {
    let Ok(path) = std::env::var("DB4E_BENCH_LOG") else {
        println!("DB4E_BENCH_LOG is not set; nothing measured");
        return;
    };
    let data = std::fs::read(&path).unwrap_or_default();
    print_throughput(&path, &data);
}
