//! Bulk parsing of a whole file in bounded memory, stoppable between chunks.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::Error;
use crate::stream::{Counters, StreamParser, DEFAULT_MAX_LINE};

/// Parses the file at `path` chunk by chunk and returns the counters; events are built and
/// dropped batch by batch, so memory stays at one chunk plus one batch whatever the file
/// size. `stop` is checked before each chunk.
pub fn scan_path(path: &Path, chunk_size: usize, stop: &AtomicBool) -> Result<Counters, Error> {
    let io_err = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io_err)?;
    let mut parser = StreamParser::new(0, 1, DEFAULT_MAX_LINE);
    let mut buf = vec![0u8; chunk_size.max(4096)];
    let mut events = Vec::new();
    loop {
        if stop.load(Ordering::Relaxed) {
            return Err(Error::Cancelled {
                offset: parser.end_offset(),
            });
        }
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_err(e)),
        };
        parser.feed(&buf[..n], &mut events);
        events.clear();
    }
    parser.finish(false, &mut events);
    Ok(parser.counters)
}
