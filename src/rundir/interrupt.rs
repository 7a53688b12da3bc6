//! Graceful interruption: SIGINT (Ctrl-C) and SIGTERM (what cluster schedulers send before a kill)
//! set a process-wide flag instead of killing the process.
//!
//! Long-running loops poll [`requested`] between units of work (the run loop: between ticks), save
//! what they need to continue (a checkpoint), and return; the command line then exits with
//! [`exit_code`] (128 + the signal number: 130 for SIGINT, 143 for SIGTERM, as shells report a
//! process killed by that signal). A second signal while the first is being handled terminates the
//! process at once with the same code: every file is written atomically, so the last complete
//! checkpoint is still intact.
//!
//! The signal handlers only store to atomics (signal-safe); they are installed with the
//! `signal-hook` crate, which keeps this free of `unsafe`. Nothing is installed until
//! [`install`] is called, so using the library does not change a host program's signal handling.
//!
//! ```
//! use talentflow::rundir::interrupt;
//! interrupt::install().expect("signal handlers");
//! for unit in 0..3 {
//!     if interrupt::requested() {
//!         // save progress, then stop
//!         break;
//!     }
//!     let _ = unit; // work
//! }
//! ```

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;

use signal_hook::consts::{SIGINT, SIGTERM};

static REQUESTED: AtomicBool = AtomicBool::new(false);
static SIGNAL: AtomicUsize = AtomicUsize::new(0);
static INSTALLED: OnceLock<Result<(), InstallError>> = OnceLock::new();

/// A signal handler could not be installed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot install a handler for signal {signal}: {reason}")]
pub struct InstallError {
    /// The signal number.
    pub signal: i32,
    /// What the operating system said.
    pub reason: String,
}

/// Installs the SIGINT and SIGTERM handlers (idempotent; later calls return the first result).
pub fn install() -> Result<(), InstallError> {
    INSTALLED
        .get_or_init(|| {
            for sig in [SIGINT, SIGTERM] {
                // Registration order matters: the shutdown action runs first and only fires when
                // the flag is already set, i.e. on the second signal.
                let code = 128 + sig;
                signal_hook::flag::register_conditional_shutdown(sig, code, &REQUESTED)
                    .and_then(|_| signal_hook::flag::register_usize(sig, &SIGNAL, sig as usize))
                    .and_then(|_| signal_hook::flag::register(sig, &REQUESTED))
                    .map_err(|e| InstallError {
                        signal: sig,
                        reason: e.to_string(),
                    })?;
            }
            Ok(())
        })
        .clone()
}

/// Whether an interruption was requested (by a signal or [`request`]).
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Requests an interruption as if SIGINT had arrived (for embedding programs and tests).
pub fn request() {
    SIGNAL.store(SIGINT as usize, Ordering::SeqCst);
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Clears a request, e.g. after a host program handled it and wants to carry on.
pub fn clear() {
    REQUESTED.store(false, Ordering::SeqCst);
    SIGNAL.store(0, Ordering::SeqCst);
}

/// The signal that requested the interruption, if it came from one.
pub fn signal() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => i32::try_from(s).ok(),
    }
}

/// Name of the signal, for messages ("SIGINT", "SIGTERM", or "interrupt").
pub fn signal_name() -> &'static str {
    match signal() {
        Some(SIGINT) => "SIGINT",
        Some(SIGTERM) => "SIGTERM",
        _ => "interrupt",
    }
}

/// Exit status for an interrupted command: 128 + signal (130 for SIGINT, 143 for SIGTERM).
pub fn exit_code() -> u8 {
    let sig = signal().unwrap_or(SIGINT);
    u8::try_from(128 + sig).unwrap_or(130)
}
