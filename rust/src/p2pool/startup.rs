//! Start-up and shut-down lines: version, sidechain configuration, signals and the panic.

use super::fields::{text, Fields};
use crate::text::{parse_uint, trim};

/// `v«X.Y[.Z]» (built with «compiler»[ from «git hash»] on «date»)`, printed at start with
/// category `P2Pool` and by the `version` command after `P2Pool `. The build text can contain
/// parentheses itself (`clang/20.1.8_p2pool (https://…)`), so it runs from the first `(` to
/// the last `)`. A record cut short keeps the build text it has. Input starts after the `v`.
pub fn version(rest: &[u8]) -> Option<Fields> {
    let number_len = rest
        .iter()
        .take_while(|b| b.is_ascii_digit() || **b == b'.')
        .count();
    let number = rest.get(..number_len)?;
    if !number.first()?.is_ascii_digit() {
        return None;
    }
    let after = rest.get(number_len..)?;
    if !after.is_empty() && !after.starts_with(b" ") {
        return None;
    }
    let mut version = b"v".to_vec();
    version.extend_from_slice(number);
    Some(vec![
        ("version", text(Some(&version))),
        ("build", text(build_text(after))),
    ])
}

fn build_text(after_version: &[u8]) -> Option<&[u8]> {
    let open = memchr::memchr(b'(', after_version)?;
    let inner = after_version.get(open + 1..)?;
    match memchr::memrchr(b')', inner) {
        Some(close) => inner.get(..close),
        None => Some(inner),
    }
}

/// `«key»<padding>= «value»`, a sidechain configuration line. Input starts after the key.
pub fn sidechain_config(key: &[u8], rest: &[u8]) -> Option<Fields> {
    let value = trim(rest).strip_prefix(b"=")?;
    let value = trim(value);
    if value.is_empty() {
        return None;
    }
    Some(vec![("key", text(Some(key))), ("value", text(Some(value)))])
}

/// `caught SIGINT|SIGTERM|SIGHUP|SIGBREAK` or `caught signal «n»` (P2Pool, level 1). The
/// signal is its name, or its number when P2Pool prints no name. Input starts after
/// `caught `.
pub fn shutdown_signal(rest: &[u8]) -> Option<Fields> {
    let rest = trim(rest);
    let signal = match rest.strip_prefix(b"signal ") {
        Some(number) => {
            parse_uint(number)?;
            number
        }
        None => {
            let is_name = rest.starts_with(b"SIG") && rest.iter().all(u8::is_ascii_uppercase);
            if !is_name {
                return None;
            }
            rest
        }
    };
    Some(vec![("signal", text(Some(signal)))])
}

/// `P2Pool can't continue execution: panic at «file»:«line»`, written to stderr right before
/// an abort, without a timestamp. Input starts after `panic at `.
pub fn panic_location(rest: &[u8]) -> Option<Fields> {
    let location = trim(rest);
    (!location.is_empty()).then(|| vec![("location", text(Some(location)))])
}
