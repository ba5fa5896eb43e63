//! Byte-level helpers shared by the source parsers: cleaning lines, timestamps and numbers.

use std::sync::LazyLock;

use memchr::memchr;
use regex::bytes::{CaptureLocations, Regex};

const ESC: u8 = 0x1b;

/// Removes a trailing `\r` (CRLF line ends from Windows consoles and XMRig on Windows).
pub fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Removes trailing spaces and tabs (terminal padding in pasted captures).
pub fn trim_end(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., b' ' | b'\t' | b'\r'] = s {
        s = rest;
    }
    s
}

/// Trims spaces and tabs on both sides.
pub fn trim(s: &[u8]) -> &[u8] {
    let s = trim_end(s);
    let start = s
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(s.len());
    &s[start..]
}

/// True when the line contains an escape byte and needs `strip_ansi`.
pub fn has_escape(line: &[u8]) -> bool {
    memchr(ESC, line).is_some()
}

/// Copies `line` into `out` without ANSI escape sequences (`ESC [ params final`), and drops
/// lone ESC bytes. P2Pool colours console output this way; its log file never has them.
pub fn strip_ansi(line: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut i = 0;
    while i < line.len() {
        let b = line[i];
        if b != ESC {
            out.push(b);
            i += 1;
            continue;
        }
        i += 1;
        if line.get(i) == Some(&b'[') {
            i += 1;
            // Parameter and intermediate bytes, then one final byte in 0x40..=0x7e.
            while i < line.len() && (0x20..=0x3f).contains(&line[i]) {
                i += 1;
            }
            if i < line.len() && (0x40..=0x7e).contains(&line[i]) {
                i += 1;
            }
        }
    }
}

/// The shape of `YYYY-MM-DD HH:MM:SS`: `D` stands for any digit, other bytes for themselves.
const DATETIME_SHAPE: &[u8; 19] = b"DDDD-DD-DD DD:DD:DD";

/// True when `b` starts with `YYYY-MM-DD HH:MM:SS` (19 bytes).
pub fn is_datetime_prefix(b: &[u8]) -> bool {
    let Some(head) = b.first_chunk::<19>() else {
        return false;
    };
    // Every line is tested, so the check has no early exit: over a fixed-size array the
    // compiler unrolls it into compares with constants.
    let mut matches = true;
    for (&byte, &shape) in head.iter().zip(DATETIME_SHAPE) {
        matches &= if shape == b'D' {
            byte.is_ascii_digit()
        } else {
            byte == shape
        };
    }
    matches
}

/// Length of a `YYYY-MM-DD HH:MM:SS[.f+]` timestamp at the start of `b`, if there is one.
pub fn datetime_len(b: &[u8]) -> Option<usize> {
    if !is_datetime_prefix(b) {
        return None;
    }
    if b.get(19) != Some(&b'.') {
        return Some(19);
    }
    let frac = b[20..].iter().take_while(|c| c.is_ascii_digit()).count();
    (frac > 0).then_some(20 + frac)
}

fn num(b: &[u8]) -> i64 {
    b.iter()
        .fold(0i64, |acc, &d| acc * 10 + i64::from(d - b'0'))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Microseconds since the Unix epoch of a timestamp printed as `YYYY-MM-DD HH:MM:SS[.f]`,
/// reading the printed fields as UTC. Fractions beyond six digits are cut. Returns `None`
/// for impossible dates and times.
pub fn datetime_micros(ts: &[u8]) -> Option<i64> {
    if !is_datetime_prefix(ts) {
        return None;
    }
    let (y, mo, d) = (num(&ts[0..4]), num(&ts[5..7]), num(&ts[8..10]));
    let (h, mi, s) = (num(&ts[11..13]), num(&ts[14..16]), num(&ts[17..19]));
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut micros = 0i64;
    if ts.len() > 20 && ts[19] == b'.' {
        let frac = &ts[20..ts.len().min(26)];
        if !frac.iter().all(u8::is_ascii_digit) {
            return None;
        }
        micros = num(frac) * 10i64.pow(6 - frac.len() as u32);
    }
    let days = days_from_civil(y, mo, d);
    Some(((days * 24 + h) * 60 + mi) * 60_000_000 + s * 1_000_000 + micros)
}

/// Parses a plain decimal integer (no sign, no separators).
pub fn parse_uint(b: &[u8]) -> Option<u128> {
    if b.is_empty() || b.len() > 39 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    b.iter().try_fold(0u128, |acc, &d| {
        acc.checked_mul(10)?.checked_add(u128::from(d - b'0'))
    })
}

/// Parses a decimal integer that fits in an `i64`.
pub fn parse_i64(b: &[u8]) -> Option<i64> {
    parse_uint(b).and_then(|v| i64::try_from(v).ok())
}

/// True when `b` is digits with at most one `.` between digits.
pub fn is_decimal(b: &[u8]) -> bool {
    let mut parts = b.splitn(2, |&c| c == b'.');
    let int = parts.next().unwrap_or_default();
    let frac_ok = parts
        .next()
        .is_none_or(|f| !f.is_empty() && f.iter().all(u8::is_ascii_digit));
    !int.is_empty() && int.iter().all(u8::is_ascii_digit) && frac_ok
}

/// Multiplies a printed decimal by `10^exp` and rounds half up to an integer, exactly.
pub fn decimal_scaled(b: &[u8], exp: u32) -> Option<u128> {
    if !is_decimal(b) {
        return None;
    }
    let (int, frac) = match memchr(b'.', b) {
        Some(p) => (&b[..p], &b[p + 1..]),
        None => (b, &b""[..]),
    };
    let scale = 10u128.checked_pow(exp)?;
    let mut value = parse_uint(int)?.checked_mul(scale)?;
    for (i, &d) in frac.iter().enumerate() {
        let digit = u128::from(d - b'0');
        let place = i as u32 + 1;
        if place <= exp {
            value = value.checked_add(digit * 10u128.pow(exp - place))?;
        } else {
            if place == exp + 1 && digit >= 5 {
                value = value.checked_add(1)?;
            }
            break;
        }
    }
    Some(value)
}

/// Multiplier to H/s of a hashrate unit as P2Pool and XMRig print it.
pub fn hashrate_unit_exp(unit: &[u8]) -> Option<u32> {
    match unit {
        b"H/s" => Some(0),
        b"KH/s" | b"kH/s" => Some(3),
        b"MH/s" => Some(6),
        b"GH/s" => Some(9),
        b"TH/s" => Some(12),
        b"PH/s" => Some(15),
        b"EH/s" => Some(18),
        _ => None,
    }
}

/// Converts an XMR amount printed as `«int».«up to 12 digits»` to piconero (atomic units).
pub fn xmr_to_piconero(b: &[u8]) -> Option<u128> {
    let frac_len = memchr(b'.', b).map_or(0, |p| b.len() - p - 1);
    if frac_len > 12 {
        return None;
    }
    decimal_scaled(b, 12)
}

/// Seconds in a P2Pool duration such as `4d 14h 6m 10s` or `0h 12m 9s`.
pub fn duration_seconds(b: &[u8]) -> Option<u64> {
    let mut total = 0u64;
    let mut any = false;
    for part in b.split(|&c| c == b' ').filter(|p| !p.is_empty()) {
        let (digits, unit) = part.split_at(part.len().checked_sub(1)?);
        let n = u64::try_from(parse_uint(digits)?).ok()?;
        let factor = match unit {
            b"d" => 86_400,
            b"h" => 3_600,
            b"m" => 60,
            b"s" => 1,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(factor)?)?;
        any = true;
    }
    any.then_some(total)
}

/// Text of `b`, with invalid UTF-8 replaced by U+FFFD.
pub fn lossy(b: &[u8]) -> String {
    // `from_utf8` checks ASCII a word at a time, several times faster than the lossy
    // decoder's chunk iterator, and log text is nearly always valid.
    match std::str::from_utf8(b) {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(b).into_owned(),
    }
}

/// Splits `s` at the first occurrence of `sep`.
pub fn split_once<'a>(s: &'a [u8], sep: &[u8]) -> Option<(&'a [u8], &'a [u8])> {
    find(s, sep).map(|p| (&s[..p], &s[p + sep.len()..]))
}

/// Position of the first occurrence of `needle` in `haystack` (0 for an empty needle).
///
/// Log lines are short and needles a few bytes, so searching for the first byte with
/// `memchr` and comparing the rest beats `memmem::find`, which builds a searcher on every
/// call. The worst case is O(len(haystack) * len(needle)).
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let Some((&first, rest)) = needle.split_first() else {
        return Some(0);
    };
    let mut start = 0;
    while let Some(i) = memchr(first, &haystack[start..]) {
        let at = start + i;
        if haystack[at + 1..].starts_with(rest) {
            return Some(at);
        }
        start = at + 1;
    }
    None
}

/// A regex compiled once per process, with capture slots that the owner reuses for every
/// line, so that a match attempt allocates nothing (`Regex::captures` allocates per call).
pub struct Pattern {
    regex: &'static Regex,
    locations: CaptureLocations,
}

impl Pattern {
    pub fn new(regex: &'static LazyLock<Regex>) -> Self {
        let regex = LazyLock::force(regex);
        Pattern {
            regex,
            locations: regex.capture_locations(),
        }
    }

    /// Matches `haystack`, returning its capture groups, or `None` when it does not match.
    pub fn captures<'h>(&mut self, haystack: &'h [u8]) -> Option<Groups<'_, 'h>> {
        self.regex.captures_read(&mut self.locations, haystack)?;
        Some(Groups {
            locations: &self.locations,
            haystack,
        })
    }
}

/// The capture groups of one successful `Pattern` match.
pub struct Groups<'p, 'h> {
    locations: &'p CaptureLocations,
    haystack: &'h [u8],
}

impl<'h> Groups<'_, 'h> {
    /// The bytes of group `i`, or `None` when the group did not take part in the match.
    pub fn get(&self, i: usize) -> Option<&'h [u8]> {
        let (start, end) = self.locations.get(i)?;
        self.haystack.get(start..end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_ansi_console_record() {
        let mut out = Vec::new();
        strip_ansi(
            b"\x1b[0;36m2024-09-29 23:07:13.5563\x1b[0m \x1b[0;90mP2Pool \x1b[0mX\x1b[0m",
            &mut out,
        );
        assert_eq!(out, b"2024-09-29 23:07:13.5563 P2Pool X");
    }

    #[test]
    fn find_matches_memmem() {
        let cases: [(&[u8], &[u8]); 7] = [
            (b"a, b, c", b", "),
            (b"aaab", b"aab"),
            (b"abc", b""),
            (b"", b"a"),
            (b"ab", b"abc"),
            (b"xyz user rig1", b" user "),
            (b"no match here", b"zz"),
        ];
        for (haystack, needle) in cases {
            assert_eq!(
                find(haystack, needle),
                memchr::memmem::find(haystack, needle)
            );
        }
    }

    #[test]
    fn datetime_prefix_shape() {
        assert!(is_datetime_prefix(b"2026-08-14 09:15:02.4821 P2Pool"));
        assert!(is_datetime_prefix(b"0000-00-00 00:00:00"));
        assert!(!is_datetime_prefix(b"2026-08-14 09:15:0"));
        assert!(!is_datetime_prefix(b"2026-08-14T09:15:02"));
        assert!(!is_datetime_prefix(b"2026/08/14 09:15:02"));
        assert!(!is_datetime_prefix(b"2026-08-14 09:1x:02"));
        assert!(!is_datetime_prefix(b"x026-08-14 09:15:02"));
        assert_eq!(datetime_len(b"2026-08-14 09:15:02.4821 P2Pool"), Some(24));
        assert_eq!(datetime_len(b"2026-08-14 09:15:02 x"), Some(19));
        assert_eq!(datetime_len(b"2026-08-14 09:15:02. x"), None);
    }

    #[test]
    fn datetime_micros_cuts_long_fractions() {
        assert_eq!(
            datetime_micros(b"1970-01-01 00:00:01.1234567"),
            Some(1_123_456)
        );
        assert_eq!(datetime_micros(b"1970-01-01 00:00:01.12x"), None);
    }

    #[test]
    fn lossy_replaces_invalid_bytes() {
        assert_eq!(lossy(b"rig1"), "rig1");
        assert_eq!(lossy(b"a\xffb"), "a\u{fffd}b");
    }

    #[test]
    fn strip_ansi_lone_escape_at_end() {
        let mut out = Vec::new();
        strip_ansi(b"ab\x1b", &mut out);
        assert_eq!(out, b"ab");
        strip_ansi(b"ab\x1b[", &mut out);
        assert_eq!(out, b"ab");
    }

    #[test]
    fn datetime_micros_p2pool_precision() {
        assert_eq!(
            datetime_micros(b"1970-01-01 00:00:01.0001"),
            Some(1_000_100)
        );
        assert_eq!(
            datetime_micros(b"2024-02-29 12:00:00"),
            Some(1_709_208_000_000_000)
        );
        assert_eq!(datetime_micros(b"2024-13-01 00:00:00"), None);
    }

    #[test]
    fn decimal_scaled_rounds_half_up() {
        assert_eq!(decimal_scaled(b"1.700", 3), Some(1700));
        assert_eq!(decimal_scaled(b"3.016", 9), Some(3_016_000_000));
        assert_eq!(decimal_scaled(b"879.15", 0), Some(879));
        assert_eq!(decimal_scaled(b"879.5", 0), Some(880));
        assert_eq!(decimal_scaled(b"1.", 0), None);
        assert_eq!(decimal_scaled(b"x", 0), None);
    }

    #[test]
    fn xmr_to_piconero_exact() {
        assert_eq!(xmr_to_piconero(b"0.000277426449"), Some(277_426_449));
        assert_eq!(xmr_to_piconero(b"18.5"), Some(18_500_000_000_000));
        assert_eq!(xmr_to_piconero(b"0.0000000000001"), None);
    }

    #[test]
    fn duration_seconds_with_days() {
        assert_eq!(duration_seconds(b"4d 14h 6m 10s"), Some(396_370));
        assert_eq!(duration_seconds(b"11h 50m 40s"), Some(42_640));
        assert_eq!(duration_seconds(b"11h 50x"), None);
        assert_eq!(duration_seconds(b""), None);
    }

    #[test]
    fn parse_uint_overflow() {
        assert_eq!(
            parse_uint(b"18419251090024310653"),
            Some(18_419_251_090_024_310_653)
        );
        assert_eq!(parse_uint(b"999999999999999999999999999999999999999"), None);
    }
}
