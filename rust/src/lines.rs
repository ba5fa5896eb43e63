//! Splitting a byte stream into complete lines, whatever the chunk boundaries.

use memchr::memchr;

/// One complete line handed to the parser.
pub struct RawLine<'a> {
    /// The line without its `\n`; a trailing `\r` is still there.
    pub bytes: &'a [u8],
    /// Absolute stream offset of the first byte of the line.
    pub offset: u64,
    /// 1-based line number in the stream.
    pub number: u64,
    /// True when the line was longer than the cap and only its first `max_line` bytes are kept.
    pub truncated: bool,
}

/// Cuts fed bytes into lines. Lines inside one `feed` call are borrowed from the caller's
/// buffer; only the unfinished tail is copied, and at most `max_line` bytes of it.
pub struct LineSplitter {
    /// Bytes of the unfinished line (no `\n` seen yet), at most `max_line` of them.
    partial: Vec<u8>,
    /// Absolute offset of the first byte of the unfinished line; equals `consumed` when
    /// `partial` is empty and no byte of an over-long line is pending.
    partial_offset: u64,
    /// Total number of bytes fed so far: the absolute offset of the next byte.
    consumed: u64,
    /// Number that the next completed line gets.
    next_number: u64,
    /// True once the unfinished line passed `max_line`; its excess bytes are dropped.
    overflow: bool,
    max_line: usize,
}

impl LineSplitter {
    pub fn new(base_offset: u64, base_line: u64, max_line: usize) -> Self {
        LineSplitter {
            partial: Vec::new(),
            partial_offset: base_offset,
            consumed: base_offset,
            next_number: base_line.max(1),
            overflow: false,
            max_line: max_line.max(1),
        }
    }

    /// Absolute offset of the first byte not yet part of a complete line.
    pub fn pending_offset(&self) -> u64 {
        self.partial_offset
    }

    /// Number of the line that completes next.
    pub fn next_number(&self) -> u64 {
        self.next_number
    }

    /// Total bytes fed, including the unfinished line.
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    /// True when bytes of an unfinished line are waiting for their `\n`.
    pub fn has_partial(&self) -> bool {
        self.consumed > self.partial_offset
    }

    /// Feeds `data` and calls `on_line` for every line it completes, in order.
    pub fn feed(&mut self, data: &[u8], mut on_line: impl FnMut(RawLine<'_>)) {
        let mut pos = 0;
        while pos < data.len() {
            let Some(nl) = memchr(b'\n', &data[pos..]) else {
                self.keep_partial(&data[pos..]);
                break;
            };
            let end = pos + nl;
            if self.has_partial() {
                // The line began in an earlier chunk: finish it from the carried bytes.
                self.keep_partial(&data[pos..end]);
                let line = std::mem::take(&mut self.partial);
                on_line(RawLine {
                    bytes: &line,
                    offset: self.partial_offset,
                    number: self.next_number,
                    truncated: self.overflow,
                });
                self.partial = line;
                self.partial.clear();
                self.overflow = false;
                self.consumed += 1;
            } else {
                let slice = &data[pos..end];
                let truncated = slice.len() > self.max_line;
                let bytes = if truncated {
                    &slice[..self.max_line]
                } else {
                    slice
                };
                on_line(RawLine {
                    bytes,
                    offset: self.partial_offset,
                    number: self.next_number,
                    truncated,
                });
                self.consumed += (end - pos + 1) as u64;
            }
            self.partial_offset = self.consumed;
            self.next_number += 1;
            pos = end + 1;
        }
    }

    /// Takes the unfinished line out as if its `\n` had arrived (end of input).
    pub fn take_partial(&mut self, on_line: impl FnOnce(RawLine<'_>)) {
        if !self.has_partial() {
            return;
        }
        let line = std::mem::take(&mut self.partial);
        on_line(RawLine {
            bytes: &line,
            offset: self.partial_offset,
            number: self.next_number,
            truncated: self.overflow,
        });
        self.partial_offset = self.consumed;
        self.next_number += 1;
        self.overflow = false;
    }

    /// Drops the unfinished line and returns how many bytes it had.
    pub fn drop_partial(&mut self) -> u64 {
        let dropped = self.consumed - self.partial_offset;
        self.partial.clear();
        self.partial_offset = self.consumed;
        self.overflow = false;
        dropped
    }

    fn keep_partial(&mut self, piece: &[u8]) {
        // `consumed` counts every byte, kept or not; `partial_offset` stays at the line start.
        if !self.has_partial() {
            self.partial_offset = self.consumed;
        }
        let room = self.max_line.saturating_sub(self.partial.len());
        if piece.len() > room {
            self.overflow = true;
        }
        self.partial
            .extend_from_slice(&piece[..piece.len().min(room)]);
        self.consumed += piece.len() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]], max_line: usize) -> Vec<(Vec<u8>, u64, u64, bool)> {
        let mut s = LineSplitter::new(0, 1, max_line);
        let mut out = Vec::new();
        for c in chunks {
            s.feed(c, |l| {
                out.push((l.bytes.to_vec(), l.offset, l.number, l.truncated))
            });
        }
        out
    }

    #[test]
    fn lines_whole_chunk() {
        let out = split(&[b"ab\ncd\n"], 100);
        assert_eq!(
            out,
            vec![(b"ab".to_vec(), 0, 1, false), (b"cd".to_vec(), 3, 2, false)]
        );
    }

    #[test]
    fn lines_split_across_chunks() {
        let out = split(&[b"a", b"b\nc", b"d", b"\n"], 100);
        assert_eq!(
            out,
            vec![(b"ab".to_vec(), 0, 1, false), (b"cd".to_vec(), 3, 2, false)]
        );
    }

    #[test]
    fn partial_line_kept_until_newline() {
        let mut s = LineSplitter::new(10, 5, 100);
        let mut n = 0;
        s.feed(b"x\nabc", |_| n += 1);
        assert_eq!(n, 1);
        assert!(s.has_partial());
        assert_eq!(s.pending_offset(), 12);
        assert_eq!(s.next_number(), 6);
        assert_eq!(s.drop_partial(), 3);
        assert!(!s.has_partial());
    }

    #[test]
    fn overlong_line_capped_in_one_chunk() {
        let out = split(&[b"abcdef\nx\n"], 4);
        assert_eq!(out[0], (b"abcd".to_vec(), 0, 1, true));
        assert_eq!(out[1], (b"x".to_vec(), 7, 2, false));
    }

    #[test]
    fn overlong_line_capped_across_chunks() {
        let out = split(&[b"ab", b"cdef", b"gh\nx\n"], 4);
        assert_eq!(out[0], (b"abcd".to_vec(), 0, 1, true));
        assert_eq!(out[1], (b"x".to_vec(), 9, 2, false));
    }
}
