//! db4e's log parser: P2Pool, XMRig and monerod output in, typed events out.
//!
//! The core (`stream`, the per-program parsers, `scan`) is plain Rust. The PyO3 bindings in
//! `bindings` are compiled only with the `python` feature and are the only code that touches
//! Python objects.

pub mod error;
pub mod event;
pub mod lines;
pub mod monerod;
pub mod p2pool;
pub mod scan;
pub mod stream;
#[cfg(test)]
mod testing;
pub mod text;
pub mod xmrig;

#[cfg(feature = "python")]
mod bindings;
