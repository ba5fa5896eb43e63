//! The Python module `db4e._parser`. Every call that parses runs under `catch_unwind`, so a
//! bug that panics surfaces as `db4e._parser.ParserBug` instead of crossing into Python as a
//! panic, and bulk work runs with the GIL released.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use pyo3::create_exception;
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

use crate::error::Error;
use crate::event::Event;
use crate::stream::{Counters, StreamParser, DEFAULT_MAX_LINE};

create_exception!(
    _parser,
    ParserBug,
    PyRuntimeError,
    "An internal parser error (a bug): the parser panicked."
);
create_exception!(
    _parser,
    ScanCancelled,
    PyRuntimeError,
    "The stop flag ended a bulk scan between two chunks."
);

/// Converts the core's error to a Python exception: the one place that does so.
fn to_py_err(err: Error) -> PyErr {
    match err {
        Error::Io { path, source } => {
            let errno = source.raw_os_error().unwrap_or(0);
            PyOSError::new_err((errno, source.to_string(), path.display().to_string()))
        }
        Error::Cancelled { .. } => ScanCancelled::new_err(err.to_string()),
    }
}

fn guarded<T>(what: &str, f: impl FnOnce() -> T) -> PyResult<T> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let detail = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        ParserBug::new_err(format!("{what} panicked: {detail}"))
    })
}

/// Builds the tuple of one event. `json` is a buffer reused across events, so that the
/// JSON text costs no allocation of its own before Python copies it.
fn event_tuple<'py>(
    py: Python<'py>,
    e: &Event,
    json: &mut String,
) -> PyResult<Bound<'py, PyTuple>> {
    let identity = PyBytes::new(py, &e.identity.to_be_bytes());
    json.clear();
    e.write_json(json);
    (
        e.kind,
        e.source.as_str(),
        e.line,
        e.offset,
        e.timestamp.as_deref(),
        e.ts_micros,
        identity,
        json.as_str(),
        e.height(),
        e.amount_piconero(),
        e.hashrate_hs(),
        e.worker(),
    )
        .into_pyobject(py)
}

fn events_list<'py>(py: Python<'py>, events: &[Event]) -> PyResult<Bound<'py, PyList>> {
    let mut json = String::with_capacity(1024);
    let tuples = events
        .iter()
        .map(|e| event_tuple(py, e, &mut json))
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, tuples)
}

fn counters_dict<'py>(py: Python<'py>, c: &Counters) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("bytes", c.bytes)?;
    d.set_item("lines", c.lines)?;
    for (i, name) in ["p2pool", "xmrig", "monerod"].iter().enumerate() {
        d.set_item(format!("records_{name}"), c.records[i])?;
        d.set_item(
            format!("unrecognised_records_{name}"),
            c.unrecognised_records[i],
        )?;
    }
    d.set_item("continuation_lines", c.continuation_lines)?;
    d.set_item("unrecognised_lines", c.unrecognised_lines)?;
    d.set_item("oversized_lines", c.oversized_lines)?;
    d.set_item("dropped_partial_bytes", c.dropped_partial_bytes)?;
    d.set_item("events", c.events)?;
    let kinds = PyDict::new(py);
    for (k, n) in &c.events_by_kind {
        kinds.set_item(*k, *n)?;
    }
    d.set_item("events_by_kind", kinds)?;
    Ok(d)
}

/// A streaming parser; see `db4e.parser.Parser` for the documented wrapper.
#[pyclass(module = "db4e._parser")]
struct Parser {
    inner: StreamParser,
}

#[pymethods]
impl Parser {
    #[new]
    #[pyo3(signature = (base_offset = 0, base_line = 1, max_line = DEFAULT_MAX_LINE))]
    fn new(base_offset: u64, base_line: u64, max_line: usize) -> PyResult<Self> {
        if max_line == 0 {
            return Err(PyValueError::new_err("max_line must be at least 1 byte"));
        }
        Ok(Parser {
            inner: StreamParser::new(base_offset, base_line, max_line),
        })
    }

    /// Parses `data` with the GIL released and returns the completed events as tuples.
    fn feed<'py>(&mut self, py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyList>> {
        let inner = &mut self.inner;
        let events = py.detach(|| {
            guarded("feed", || {
                let mut out = Vec::new();
                inner.feed(data, &mut out);
                out
            })
        })?;
        events_list(py, &events)
    }

    /// Parses `data` like `feed` but keeps the events in Rust and returns only their count.
    fn feed_count(&mut self, py: Python<'_>, data: &[u8]) -> PyResult<usize> {
        let inner = &mut self.inner;
        py.detach(|| {
            guarded("feed_count", || {
                let mut out = Vec::new();
                inner.feed(data, &mut out);
                out.len()
            })
        })
    }

    /// Closes pending multi-line records; an unfinished last line stays pending.
    fn flush_record<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let inner = &mut self.inner;
        let events = guarded("flush_record", || {
            let mut out = Vec::new();
            inner.flush_record(&mut out);
            out
        })?;
        events_list(py, &events)
    }

    /// Ends the stream; the unfinished last line is parsed only when `parse_partial` is true.
    #[pyo3(signature = (parse_partial = false))]
    fn finish<'py>(
        &mut self,
        py: Python<'py>,
        parse_partial: bool,
    ) -> PyResult<Bound<'py, PyList>> {
        let inner = &mut self.inner;
        let events = guarded("finish", || {
            let mut out = Vec::new();
            inner.finish(parse_partial, &mut out);
            out
        })?;
        events_list(py, &events)
    }

    /// `(offset, line)` from which a restarted reader must read again to lose nothing.
    #[getter]
    fn safe_position(&self) -> (u64, u64) {
        self.inner.safe_position()
    }

    /// Absolute offset just past the last byte fed.
    #[getter]
    fn end_offset(&self) -> u64 {
        self.inner.end_offset()
    }

    fn counters<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        counters_dict(py, &self.inner.counters)
    }
}

/// A flag shared with Rust code running without the GIL; setting it stops a bulk scan.
#[pyclass(module = "db4e._parser")]
struct StopFlag {
    flag: Arc<AtomicBool>,
}

#[pymethods]
impl StopFlag {
    #[new]
    fn new() -> Self {
        StopFlag {
            flag: Arc::new(AtomicBool::new(false)),
        }
    }

    fn set(&self) {
        self.flag.store(true, Ordering::Relaxed);
    }

    fn is_set(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }
}

/// Parses a whole file with the GIL released, checking `stop` between chunks, and returns
/// the counters only.
#[pyfunction]
#[pyo3(signature = (path, stop, chunk_size = 1 << 20))]
fn scan_file<'py>(
    py: Python<'py>,
    path: PathBuf,
    stop: &StopFlag,
    chunk_size: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let flag = Arc::clone(&stop.flag);
    let result = py.detach(|| {
        guarded("scan_file", || {
            crate::scan::scan_path(&path, chunk_size, &flag)
        })
    })?;
    let counters = result.map_err(to_py_err)?;
    counters_dict(py, &counters)
}

#[pymodule]
fn _parser(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Parser>()?;
    m.add_class::<StopFlag>()?;
    m.add_function(wrap_pyfunction!(scan_file, m)?)?;
    m.add("ParserBug", m.py().get_type::<ParserBug>())?;
    m.add("ScanCancelled", m.py().get_type::<ScanCancelled>())?;
    m.add("DEFAULT_MAX_LINE", DEFAULT_MAX_LINE)?;
    Ok(())
}
