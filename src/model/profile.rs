//! Wall-time accounting per tick phase (`talentflow run --profile`).
//!
//! [`crate::model::engine::Simulation::step`] adds the wall time of each phase to a [`PhaseTimes`]. The
//! clock is read a handful of times per tick (tens of nanoseconds against milliseconds of work),
//! so the accounting is always on; it never touches the model state, so it cannot change outputs.

use std::fmt;
use std::time::Instant;

/// The phases of one tick, in schedule order.
pub const PHASES: [&str; 7] = [
    "init",
    "country phase",
    "choice tables",
    "researcher phase",
    "startup phase",
    "apply",
    "measure + record",
];

/// Accumulated wall time per phase of a run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PhaseTimes {
    /// Time per phase, indexed like [`PHASES`].
    pub seconds: [f64; PHASES.len()],
    /// Ticks accounted.
    pub ticks: u64,
}

impl PhaseTimes {
    /// Wall time of the phase named `phase` (one of [`PHASES`]) summed over the run.
    pub fn get(&self, phase: &str) -> Option<f64> {
        PHASES
            .iter()
            .position(|p| *p == phase)
            .map(|i| self.seconds[i])
    }

    /// Total over all phases.
    pub fn total(&self) -> f64 {
        self.seconds.iter().sum()
    }
}

impl fmt::Display for PhaseTimes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.total();
        writeln!(
            f,
            "{:<18} {:>10} {:>7} {:>12}",
            "phase", "seconds", "share", "ms/tick"
        )?;
        for (name, &s) in PHASES.iter().zip(&self.seconds) {
            let share = if total > 0.0 { 100.0 * s / total } else { 0.0 };
            let per_tick = if *name == "init" || self.ticks == 0 {
                String::from("-")
            } else {
                format!("{:.3}", 1e3 * s / self.ticks as f64)
            };
            writeln!(f, "{name:<18} {s:>10.3} {share:>6.1}% {per_tick:>12}")?;
        }
        write!(
            f,
            "{:<18} {total:>10.3} {:>7} ({} ticks)",
            "total", "", self.ticks
        )
    }
}

/// A stopwatch that charges the time since its last lap to one phase.
pub(crate) struct Lap {
    last: Instant,
}

impl Lap {
    /// Starts timing now.
    pub(crate) fn start() -> Lap {
        Lap {
            last: Instant::now(),
        }
    }

    /// Adds the time since the last lap to `phase` (an index into [`PHASES`]).
    pub(crate) fn lap(&mut self, times: &mut PhaseTimes, phase: usize) {
        let now = Instant::now();
        times.seconds[phase] += now.duration_since(self.last).as_secs_f64();
        self.last = now;
    }
}
