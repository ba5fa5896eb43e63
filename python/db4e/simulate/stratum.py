"""The few stratum messages that pass between the simulated XMRig and P2Pool.

Messages are JSON objects, one per line, as in the Monero stratum dialect that XMRig
and P2Pool speak. The miner sends `login`, the pool responds with a job, and later
it pushes `job` notifications. Jobs carry made-up blobs; nobody hashes them.
"""

from __future__ import annotations

import json
from typing import Any

ALGORITHM = "rx/0"
#: Largest 64-bit target. XMRig reads a 16-hex-digit target as a little-endian 64-bit
#: number and shows the difficulty as this value divided by the target.
MAX_TARGET = 2**64 - 1


def encode(message: dict[str, Any]) -> bytes:
    """Return a message as one line of compact JSON."""
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def login_request(user: str, agent: str) -> dict[str, Any]:
    """Return XMRig's first message on a new connection."""
    params = {"login": user, "pass": "x", "agent": agent, "algo": [ALGORITHM]}
    return {"id": 1, "jsonrpc": "2.0", "method": "login", "params": params}


def target_hex(difficulty: int) -> str:
    """Return the 64-bit little-endian target for `difficulty`, as 16 hex digits."""
    target = MAX_TARGET // max(difficulty, 1)
    return target.to_bytes(8, "little").hex()


def difficulty_of(target: str) -> int:
    """Return the difficulty XMRig derives from a job's target (8 or 16 hex
    digits, little-endian). Raises ValueError for any other text."""
    value = int.from_bytes(bytes.fromhex(target), "little")
    if len(target) == 8:
        # A 32-bit target stands for the top half of a 64-bit one.
        value = MAX_TARGET // (0xFFFFFFFF // max(value, 1))
    elif len(target) != 16:
        raise ValueError(f"invalid stratum target {target!r}: expected 8 or 16 digits")
    return MAX_TARGET // max(value, 1)


def job(job_id: int, height: int, difficulty: int, seed_hash: str) -> dict[str, Any]:
    """Return the `params` of a job: a made-up blob with the given height and
    difficulty."""
    return {
        "blob": "10" * 38 + f"{job_id:08x}" + "00" * 30,
        "job_id": f"{job_id:016x}",
        "target": target_hex(difficulty),
        "algo": ALGORITHM,
        "height": height,
        "seed_hash": seed_hash,
    }


def login_result(request_id: Any, client_id: str, params: dict[str, Any]) -> bytes:
    """Return the pool's response to `login`: the client id and the first job."""
    result = {"id": client_id, "job": params, "extensions": ["algo"], "status": "OK"}
    return encode({"id": request_id, "jsonrpc": "2.0", "result": result})


def job_notification(params: dict[str, Any]) -> bytes:
    """Return the pool's `job` notification for a new template."""
    return encode({"jsonrpc": "2.0", "method": "job", "params": params})


def job_of(message: dict[str, Any]) -> dict[str, Any] | None:
    """Return the job in a login response or a `job` notification, else None."""
    if message.get("method") == "job":
        params = message.get("params")
        return params if isinstance(params, dict) else None
    result = message.get("result")
    if isinstance(result, dict) and isinstance(result.get("job"), dict):
        job_params: dict[str, Any] = result["job"]
        return job_params
    return None
