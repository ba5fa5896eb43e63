//! Field values as P2Pool prints them, and the field list of an event.

use crate::event::{Hashrate, Value};
use crate::text::{
    decimal_scaled, hashrate_unit_exp, is_decimal, lossy, parse_uint, split_once, trim,
};

/// The named fields of one event, in their documented order.
pub type Fields = Vec<(&'static str, Value)>;

/// Parses `«value» «unit»` as P2Pool prints a hashrate (`429 H/s`, `11.680 kH/s`).
pub fn parse_hashrate(text: &[u8]) -> Option<Hashrate> {
    let text = trim(text);
    let (value, unit) = split_once(text, b" ")?;
    let exp = hashrate_unit_exp(unit)?;
    let hs = decimal_scaled(value, exp)?;
    Some(Hashrate {
        value: lossy(value),
        unit: lossy(unit),
        hs,
    })
}

/// Builds a text field, `null` when absent or empty.
pub fn text(value: Option<&[u8]>) -> Value {
    match value.map(trim) {
        Some(v) if !v.is_empty() => Value::Str(lossy(v)),
        _ => Value::Null,
    }
}

/// Parses an integer field, `null` when absent or not a plain decimal integer.
pub fn uint(value: Option<&[u8]>) -> Value {
    Value::opt_uint(value.map(trim).and_then(parse_uint))
}

/// Parses a hashrate field, `null` when absent, blank or malformed.
pub fn hashrate(value: Option<&[u8]>) -> Value {
    Value::opt_hashrate(value.and_then(parse_hashrate))
}

/// Returns the printed digits of a decimal with a trailing `%`.
pub fn percent(value: &[u8]) -> Option<&[u8]> {
    let digits = trim(value).strip_suffix(b"%")?;
    is_decimal(digits).then_some(digits)
}

/// Returns the printed digits of an XMR amount printed as `«digits» XMR`.
pub fn xmr(value: &[u8]) -> Option<&[u8]> {
    let digits = trim(value).strip_suffix(b" XMR")?;
    is_decimal(digits).then_some(digits)
}

/// Splits `text` at each `, `, the separator of P2Pool's one-line field lists.
pub fn comma_parts(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        let mut from = 0;
        while let Some(comma) = current.get(from..).and_then(|t| memchr::memchr(b',', t)) {
            let at = from + comma;
            if current.get(at + 1) == Some(&b' ') {
                rest = current.get(at + 2..);
                return current.get(..at);
            }
            from = at + 1;
        }
        rest = None;
        Some(current)
    })
}

/// Finds `«key» = «value»` among the comma-separated parts of `text`.
pub fn keyed<'a>(text: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    comma_parts(text).find_map(|part| {
        let value = part.strip_prefix(key)?.strip_prefix(b" = ")?;
        Some(trim(value))
    })
}

/// Returns whether `line` is a rule of dashes, like those around the BLOCK FOUND banner (95
/// dashes) and the `new miner data` table (111 dashes).
pub fn is_rule(line: &[u8]) -> bool {
    line.len() >= 16 && line.iter().all(|&b| b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comma_parts_splits_all() {
        let parts: Vec<&[u8]> = comma_parts(b"a, b c, d").collect();
        assert_eq!(parts, vec![&b"a"[..], b"b c", b"d"]);
    }

    #[test]
    fn parse_hashrate_units() {
        let h = parse_hashrate(b"1.700 KH/s").map(|h| h.hs);
        assert_eq!(h, Some(1700));
        assert_eq!(parse_hashrate(b"676 H/s").map(|h| h.hs), Some(676));
        assert_eq!(parse_hashrate(b"  "), None);
        assert_eq!(parse_hashrate(b"1.7 QH/s"), None);
    }

    #[test]
    fn percent_and_xmr_digits() {
        assert_eq!(percent(b"87.412%"), Some(&b"87.412"[..]));
        assert_eq!(percent(b"87.412"), None);
        assert_eq!(xmr(b"0.000412345678 XMR"), Some(&b"0.000412345678"[..]));
        assert_eq!(xmr(b"0.0004x XMR"), None);
    }
}
