//! Where the work runs: rayon pools of the caller's size, and the GIL released for the whole of
//! a call while the calling thread keeps answering Ctrl-C.
//!
//! Python runs signal handlers only on its main thread, between bytecodes. A call that holds the
//! thread inside Rust for minutes would make Ctrl-C wait for the end of the call. So the work
//! runs on a thread of its own (inside the pool); the calling thread waits for it with the GIL
//! released, and every [`POLL`] takes the GIL for a moment to run the signal handlers
//! (`PyErr_CheckSignals`). When a handler raises (Ctrl-C: `KeyboardInterrupt`), the stop flag
//! that the work polls between ticks is set, the work returns within one tick, and the call
//! raises. Other Python threads run freely meanwhile.
//!
//! The engine never reads or writes Python objects, and no output depends on the number of
//! threads (the project's determinism contract), so the pool size changes only the speed.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::panic::PanicException;
use pyo3::prelude::*;
use rayon::ThreadPool;

/// How often the waiting thread runs Python's signal handlers.
const POLL: Duration = Duration::from_millis(20);

/// Largest pool accepted (a typo such as `threads=10000` should not start ten thousand threads).
const MAX_THREADS: usize = 1024;

/// Pools by size, built on first use and kept for the life of the process: repeated calls reuse
/// their threads instead of starting and stopping them (no threads pile up over many calls).
fn pools() -> &'static Mutex<BTreeMap<usize, Arc<ThreadPool>>> {
    static POOLS: OnceLock<Mutex<BTreeMap<usize, Arc<ThreadPool>>>> = OnceLock::new();
    POOLS.get_or_init(|| Mutex::new(BTreeMap::new()))
}

/// The pool for `threads` (`None`: rayon's global pool, one thread per core unless
/// `RAYON_NUM_THREADS` says otherwise).
pub fn pool(threads: Option<usize>) -> PyResult<Option<Arc<ThreadPool>>> {
    let Some(n) = threads else { return Ok(None) };
    if n == 0 || n > MAX_THREADS {
        return Err(PyValueError::new_err(format!(
            "threads must be between 1 and {MAX_THREADS}, found {n}"
        )));
    }
    let mut pools = pools().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = pools.get(&n) {
        return Ok(Some(Arc::clone(p)));
    }
    let p = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .thread_name(move |i| format!("talentflow-{n}-{i}"))
        .build()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start {n} worker threads: {e}")))?;
    let p = Arc::new(p);
    pools.insert(n, Arc::clone(&p));
    Ok(Some(p))
}

/// Number of threads a call with `threads=` would use.
#[pyfunction]
#[pyo3(signature = (threads=None))]
pub fn pool_threads(threads: Option<usize>) -> PyResult<usize> {
    Ok(match pool(threads)? {
        Some(p) => p.current_num_threads(),
        None => rayon::current_num_threads(),
    })
}

/// What a detached call ended with: the work's result, and the exception a signal handler raised
/// while it ran (the work was asked to stop then).
pub struct Detached<R> {
    /// The work's own result.
    pub result: R,
    /// Set when a signal handler raised during the call.
    pub signal: Option<PyErr>,
}

/// Runs `work` in the pool of `threads` with the GIL released, polling Python's signal handlers
/// meanwhile (see the module docs). `work` gets the stop flag to poll between ticks or runs. A
/// panic in the work becomes a `PanicException`.
pub fn detached<R, F>(py: Python<'_>, threads: Option<usize>, work: F) -> PyResult<Detached<R>>
where
    R: Send,
    F: FnOnce(&(dyn Fn() -> bool + Sync)) -> R + Send,
{
    let pool = pool(threads)?;
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|scope| {
        let stop = &stop;
        scope.spawn(move || {
            let should_stop = || stop.load(Ordering::SeqCst);
            let outcome = catch_unwind(AssertUnwindSafe(|| match &pool {
                Some(p) => p.install(|| work(&should_stop)),
                None => work(&should_stop),
            }));
            // The receiver outlives this thread (the scope joins it first).
            let _ = tx.send(outcome);
        });
        let mut rx = rx;
        let mut signal: Option<PyErr> = None;
        loop {
            // The receiver goes into the GIL-free closure and comes back out: it is `Send` but
            // not `Sync`, so it cannot be borrowed there.
            let (back, got) = py.detach(move || {
                let got = rx.recv_timeout(POLL);
                (rx, got)
            });
            rx = back;
            match got {
                Ok(Ok(result)) => return Ok(Detached { result, signal }),
                Ok(Err(payload)) => return Err(panic_error(payload)),
                Err(RecvTimeoutError::Timeout) => {
                    if signal.is_none() {
                        if let Err(e) = py.check_signals() {
                            stop.store(true, Ordering::SeqCst);
                            signal = Some(e);
                        }
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(PyRuntimeError::new_err(
                        "talentflow: the worker thread ended without a result",
                    ))
                }
            }
        }
    })
}

fn panic_error(payload: Box<dyn std::any::Any + Send>) -> PyErr {
    let message = if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else {
        "panic in talentflow".to_string()
    };
    PanicException::new_err(message)
}
