//! Parses one log file with `scan::scan_path`, as `db4e._parser.scan_file` does, and
//! prints the line and event counts. A driver without Python for profilers:
//!
//!     cargo build --release --example scan_file
//!     valgrind --tool=callgrind target/release/examples/scan_file FILE
//!
//! `benches/profile.sh` runs exactly this.

use std::error::Error;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use _parser::scan::scan_path;

/// Bytes read per step, the same as `db4e.parser.CHUNK_SIZE`.
const CHUNK_SIZE: usize = 1 << 20;

fn main() -> Result<(), Box<dyn Error>> {
    let Some(path) = std::env::args_os().nth(1).map(PathBuf::from) else {
        return Err("usage: scan_file FILE".into());
    };
    let counters = scan_path(&path, CHUNK_SIZE, &AtomicBool::new(false))?;
    println!(
        "{}: {} bytes, {} lines, {} events",
        path.display(),
        counters.bytes,
        counters.lines,
        counters.events
    );
    for (kind, count) in &counters.events_by_kind {
        println!("  {kind} {count}");
    }
    Ok(())
}
