//! Stopping a training run cleanly from outside: a process-wide request that
//! [`fit`](crate::train::fit) reads after every step.
//!
//! A request does not abort anything: the step under way finishes, the loop records where it
//! stopped ([`Stop::Interrupted`](crate::train::Stop::Interrupted)) and returns, so the caller
//! can write the run so far and continue it later
//! ([`RunState`](crate::train::RunState)). A program asks for a stop with [`request`] (from
//! its own signal handler, a GUI button, a test); with the `signals` feature,
//! [`on_signals`] installs a handler that requests one on Ctrl-C (SIGINT) and SIGTERM, and
//! ends the process at once on a second signal.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Asks the training loop to stop after its current step.
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Whether a stop has been requested (and not cleared since).
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Forgets a request, so that the next run trains.
pub fn clear() {
    REQUESTED.store(false, Ordering::SeqCst);
}

/// Installs a handler for Ctrl-C (SIGINT) and SIGTERM that [`request`]s a stop; a second
/// signal while a stop is pending ends the process at once with status 130.
///
/// # Errors
/// When a handler cannot be installed (another one is already set in this process).
#[cfg(feature = "signals")]
pub fn on_signals() -> Result<(), String> {
    ctrlc::set_handler(|| {
        if requested() {
            eprintln!("\nsecond interrupt: stopping now, without saving");
            std::process::exit(130);
        }
        eprintln!("\ninterrupted: finishing the current step, then saving the run so far");
        request();
    })
    .map_err(|e| format!("cannot install the interrupt handler: {e}"))
}
