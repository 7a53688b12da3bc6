//! `evaluations.csv` and the objective the estimators call.
//!
//! The estimators are deterministic: given the same file they request the same θ in the same
//! order. Evaluation `i` is therefore identified by its position, and the ledger is both the
//! output and the resume cache: on restart every evaluation already in the file (checked to be
//! the same stage and θ, to the bit) is read back instead of simulated, and the estimator replays
//! to where it stopped. Each evaluation's rows (one per replicate, then its `mean` row) are
//! appended with one write after the batch they belong to has finished; a torn tail (a kill
//! during a write) is cut back to the last complete `mean` row. So the file's bytes do not depend
//! on thread counts, on interruptions or on how many times the command was run.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::prior::Prior;
use super::simulator::{Simulator, Stop};
use super::spec::{Role, Target};
use super::CalibrateError;
use crate::rundir::input::{read_limited_string, MAX_DATA_BYTES};
use crate::rundir::write::OutputError;

/// One evaluated θ.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluated {
    /// Position in the ledger.
    pub id: usize,
    /// What requested it (`start`, `nm0`, `jacobian`, `gen3`…).
    pub stage: String,
    /// Parameter values.
    pub theta: Vec<f64>,
    /// Mean over replicates of every target (fit and holdout), in file order.
    pub means: Vec<f64>,
    /// Σ over fit targets of (mean − observed)² / (se² + discrepancy); +inf when a fit target
    /// is not finite.
    pub distance: f64,
}

/// Formats a number so that it reads back to the same bits.
pub fn num(v: f64) -> String {
    format!("{v:?}")
}

/// The distance of `values` to the fit targets.
pub fn distance(targets: &[Target], values: &[f64]) -> f64 {
    let mut d = 0.0;
    for (t, &v) in targets.iter().zip(values) {
        if t.role != Role::Fit {
            continue;
        }
        if !v.is_finite() {
            return f64::INFINITY;
        }
        d += (v - t.value) * (v - t.value) / t.variance();
    }
    d
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CalibrateError + '_ {
    move |source| {
        CalibrateError::Output(OutputError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// The objective: a simulator, the targets, and the ledger of everything evaluated.
pub struct Objective<'a> {
    /// The model.
    pub sim: &'a dyn Simulator,
    /// Priors, in θ order.
    pub priors: &'a [Prior],
    /// Targets, in file order.
    pub targets: &'a [Target],
    /// Every evaluation so far, in order.
    pub evaluations: Vec<Evaluated>,
    /// Evaluations read back from an earlier run, not yet replayed.
    cached: Vec<Evaluated>,
    file: Option<(PathBuf, fs::File)>,
    stop: Stop<'a>,
    /// Evaluations simulated by this process (the rest were read back).
    pub simulated: usize,
    /// Called after every evaluation simulated by this process (progress lines).
    pub on_eval: Option<&'a (dyn Fn(&Evaluated) + Sync)>,
}

/// The header of evaluations.csv.
pub fn header(keys: &[String], targets: &[Target]) -> String {
    let mut h = String::from("eval,stage,replicate,seed");
    for k in keys {
        h.push(',');
        h.push_str(k);
    }
    for t in targets {
        h.push(',');
        h.push_str(&t.name);
    }
    h.push_str(",distance");
    h
}

impl<'a> Objective<'a> {
    /// An objective that keeps its ledger in memory only.
    pub fn in_memory(
        sim: &'a dyn Simulator,
        priors: &'a [Prior],
        targets: &'a [Target],
        stop: Stop<'a>,
    ) -> Objective<'a> {
        Objective {
            sim,
            priors,
            targets,
            evaluations: Vec::new(),
            cached: Vec::new(),
            file: None,
            stop,
            simulated: 0,
            on_eval: None,
        }
    }

    /// An objective whose ledger is `path` (created with its header, or read back and cut to
    /// its last complete evaluation).
    pub fn with_file(
        sim: &'a dyn Simulator,
        priors: &'a [Prior],
        targets: &'a [Target],
        keys: &[String],
        path: &Path,
        stop: Stop<'a>,
    ) -> Result<Objective<'a>, CalibrateError> {
        let head = header(keys, targets);
        let mut cached = Vec::new();
        if path.exists() {
            let text = read_limited_string(path, MAX_DATA_BYTES).map_err(io(path))?;
            let mut keep = 0;
            let mut lines = text.split_inclusive('\n');
            // A file cut inside its header line is treated as empty; any other header is refused.
            let torn_header = !text.contains('\n') && head.starts_with(text.as_str());
            if !torn_header {
                let first = lines.next().unwrap_or_default();
                if first.trim_end_matches('\n') != head {
                    return Err(CalibrateError::Results(format!(
                        "{}: the header is not that of this calibration ({head})",
                        path.display()
                    )));
                }
                keep = first.len();
            }
            let mut at = keep;
            for line in lines {
                at += line.len();
                if !line.ends_with('\n') {
                    break;
                }
                let fields: Vec<&str> = line.trim_end_matches('\n').split(',').collect();
                if fields.get(2) != Some(&"mean") {
                    continue;
                }
                let k = keys.len();
                let n = targets.len();
                let bad = || {
                    CalibrateError::Results(format!(
                        "{}: malformed row `{}`",
                        path.display(),
                        line.trim_end()
                    ))
                };
                if fields.len() != 4 + k + n + 1 {
                    return Err(bad());
                }
                let parse = |s: &str| s.parse::<f64>().map_err(|_| bad());
                let id: usize = fields[0].parse().map_err(|_| bad())?;
                if id != cached.len() {
                    return Err(bad());
                }
                cached.push(Evaluated {
                    id,
                    stage: fields[1].to_string(),
                    theta: fields[4..4 + k]
                        .iter()
                        .map(|s| parse(s))
                        .collect::<Result<_, _>>()?,
                    means: fields[4 + k..4 + k + n]
                        .iter()
                        .map(|s| parse(s))
                        .collect::<Result<_, _>>()?,
                    distance: parse(fields[4 + k + n])?,
                });
                keep = at;
            }
            if keep == 0 {
                fs::write(path, format!("{head}\n")).map_err(io(path))?;
            } else if keep < text.len() {
                let f = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(io(path))?;
                f.set_len(keep as u64).map_err(io(path))?;
            }
        } else {
            fs::write(path, format!("{head}\n")).map_err(io(path))?;
        }
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(io(path))?;
        Ok(Objective {
            sim,
            priors,
            targets,
            evaluations: Vec::new(),
            cached,
            file: Some((path.to_path_buf(), file)),
            stop,
            simulated: 0,
            on_eval: None,
        })
    }

    /// Whether a stop was requested.
    pub fn stopped(&self) -> bool {
        (self.stop)()
    }

    /// Number of evaluations so far.
    pub fn count(&self) -> usize {
        self.evaluations.len()
    }

    /// θ of unit-cube point `u`.
    pub fn theta(&self, u: &[f64]) -> Vec<f64> {
        self.priors
            .iter()
            .zip(u)
            .map(|(p, &x)| p.value(x))
            .collect()
    }

    /// Evaluates every θ of the batch (in parallel), in order; returns their records.
    pub fn eval(
        &mut self,
        stage: &str,
        thetas: &[Vec<f64>],
    ) -> Result<Vec<Evaluated>, CalibrateError> {
        let first = self.evaluations.len();
        let mut out = Vec::with_capacity(thetas.len());
        let mut todo = Vec::new();
        for (j, theta) in thetas.iter().enumerate() {
            let id = first + j;
            match self.cached.get(id) {
                Some(c) => {
                    let same = c.stage == stage
                        && c.theta.len() == theta.len()
                        && c.theta
                            .iter()
                            .zip(theta)
                            .all(|(a, b)| a.to_bits() == b.to_bits());
                    if !same {
                        return Err(CalibrateError::Results(format!(
                            "evaluations.csv: evaluation {id} is {} at ({}), but this calibration \
                             asks for {stage} at ({}); the file belongs to another run (use --force)",
                            c.stage,
                            c.theta.iter().map(|x| num(*x)).collect::<Vec<_>>().join(", "),
                            theta.iter().map(|x| num(*x)).collect::<Vec<_>>().join(", ")
                        )));
                    }
                    out.push(c.clone());
                }
                None => todo.push(theta.clone()),
            }
        }
        if !todo.is_empty() {
            if self.stopped() {
                return Err(CalibrateError::Interrupted);
            }
            let values = self.sim.simulate(&todo, self.stop)?;
            self.simulated += todo.len();
            let r = self.sim.replicates();
            for (theta, reps) in todo.into_iter().zip(values) {
                let id = first + out.len();
                let k = self.targets.len();
                let mut means = vec![0.0; k];
                for rep in &reps {
                    for (m, v) in means.iter_mut().zip(rep) {
                        *m += v / r as f64;
                    }
                }
                let e = Evaluated {
                    id,
                    stage: stage.to_string(),
                    distance: distance(self.targets, &means),
                    theta,
                    means,
                };
                if let Some((path, file)) = &mut self.file {
                    let mut rows = String::new();
                    let th: String = e.theta.iter().map(|x| format!(",{}", num(*x))).collect();
                    for (i, rep) in reps.iter().enumerate() {
                        rows.push_str(&format!("{id},{stage},{i},{}{th}", self.sim.seed(i)));
                        for v in rep {
                            rows.push_str(&format!(",{}", num(*v)));
                        }
                        rows.push_str(&format!(",{}\n", num(distance(self.targets, rep))));
                    }
                    rows.push_str(&format!("{id},{stage},mean,{th}"));
                    for v in &e.means {
                        rows.push_str(&format!(",{}", num(*v)));
                    }
                    rows.push_str(&format!(",{}\n", num(e.distance)));
                    file.write_all(rows.as_bytes()).map_err(io(path))?;
                }
                if let Some(f) = self.on_eval {
                    f(&e);
                }
                out.push(e);
            }
        }
        self.evaluations.extend(out.iter().cloned());
        Ok(out)
    }
}
