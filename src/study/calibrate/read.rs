//! A finished calibration directory read back from its files (`talentflow report DIR` and
//! `talentflow plot DIR` on a calibration): the calibration as written (`calibration.json`'s
//! `spec`, checked again, so priors and targets are those the estimator used), every
//! evaluation's mean row of `evaluations.csv`, and the result files of its method. The figures
//! and the report are built from this, never from an estimator's memory, so they can be made
//! for any finished calibration, on any machine.

use std::path::{Path, PathBuf};

use super::abc::Generation;
use super::prior::Prior;
use super::spec::{CalibrationFile, Method, Role, Target};
use crate::rundir::input::{read_limited_string, MAX_DATA_BYTES, MAX_JSON_BYTES};

/// Why a calibration directory cannot be read back.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// A file cannot be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The calibration has not finished (its result files are missing).
    #[error("{dir}: the calibration has not finished ({missing} is missing): run `talentflow calibrate` on it again to resume")]
    Unfinished {
        /// Directory.
        dir: PathBuf,
        /// The first missing file.
        missing: String,
    },
    /// A file's content is not what a calibration writes.
    #[error("{path}: {message}")]
    Invalid {
        /// File.
        path: PathBuf,
        /// What is wrong, naming the line and field.
        message: String,
    },
}

/// The mean row of one evaluation.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalRow {
    /// Position in the ledger.
    pub id: usize,
    /// Stage (`start`, `nm0`, `jacobian`, `gen2`…).
    pub stage: String,
    /// Parameter values.
    pub theta: Vec<f64>,
    /// Standardised squared distance over the fit targets.
    pub distance: f64,
}

/// A row of `estimates.csv` (SMM).
#[derive(Clone, Debug, PartialEq)]
pub struct EstimateRow {
    /// Estimate.
    pub estimate: f64,
    /// Standard error (NaN: none).
    pub se: f64,
    /// 90 % interval, clamped to the prior range.
    pub lo: f64,
    /// Its upper end.
    pub hi: f64,
}

/// A row of `fit.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct FitRow {
    /// Target name.
    pub target: String,
    /// Fit or holdout.
    pub role: Role,
    /// Observed value.
    pub observed: f64,
    /// Its standard error.
    pub se: f64,
    /// Fitted value (SMM: at the estimate; ABC: posterior mean).
    pub fitted: f64,
    /// Predictive median.
    pub median: f64,
    /// 90 % predictive interval.
    pub lo: f64,
    /// Its upper end.
    pub hi: f64,
    /// Whether the observed value is inside the interval.
    pub inside: bool,
}

/// A row of `identifiability.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct IdentRow {
    /// Prior sd.
    pub prior_sd: f64,
    /// Posterior sd.
    pub posterior_sd: f64,
    /// 1 − posterior variance / prior variance.
    pub contraction: f64,
    /// How much the fit targets move per prior sd.
    pub sensitivity: f64,
    /// `identified`, `weak`, `unidentified`.
    pub verdict: String,
}

/// What the method produced.
#[derive(Clone, Debug, PartialEq)]
pub enum MethodResult {
    /// SMM: one row per parameter.
    Smm(Vec<EstimateRow>),
    /// ABC-SMC: the last generation's particles and the generation traces.
    Abc {
        /// Particle θ.
        points: Vec<Vec<f64>>,
        /// Normalised weights.
        weights: Vec<f64>,
        /// Traces.
        generations: Vec<Generation>,
    },
}

/// A finished calibration directory.
#[derive(Clone, Debug)]
pub struct CalibrationData {
    /// The directory.
    pub dir: PathBuf,
    /// `calibration.json`.
    pub meta: serde_json::Value,
    /// The calibration file as written.
    pub spec: CalibrationFile,
    /// Its method.
    pub method: Method,
    /// Parameter keys, in θ order.
    pub keys: Vec<String>,
    /// Priors, in θ order.
    pub priors: Vec<Prior>,
    /// Targets, in file order.
    pub targets: Vec<Target>,
    /// Every evaluation, in ledger order.
    pub evaluations: Vec<EvalRow>,
    /// The method's result.
    pub result: MethodResult,
    /// `fit.csv`, one row per target.
    pub fit: Vec<FitRow>,
    /// `identifiability.csv`, one row per parameter.
    pub identifiability: Vec<IdentRow>,
    /// `summary.txt`.
    pub summary: String,
}

/// Whether `dir` looks like a calibration directory (finished or not).
pub fn is_calibration(dir: &Path) -> bool {
    dir.join("calibration.json").is_file()
}

fn text(path: &Path, limit: u64) -> Result<String, ReadError> {
    read_limited_string(path, limit).map_err(|source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// A CSV written by the calibration: its header must be `header`; rows are split on commas
/// (no field of these files holds one: keys, target names and stages are checked names).
struct Csv {
    path: PathBuf,
    rows: Vec<Vec<String>>,
}

impl Csv {
    fn read(dir: &Path, name: &str, header: &[String], limit: u64) -> Result<Csv, ReadError> {
        let path = dir.join(name);
        let body = text(&path, limit)?;
        let mut lines = body.lines();
        let head = lines.next().unwrap_or_default();
        let want = header.join(",");
        if head != want {
            return Err(ReadError::Invalid {
                path,
                message: format!("line 1: expected the header `{want}`, found `{head}`"),
            });
        }
        let rows = lines
            .map(|l| l.split(',').map(str::to_string).collect())
            .collect();
        Ok(Csv { path, rows })
    }

    fn bad(&self, row: usize, message: String) -> ReadError {
        ReadError::Invalid {
            path: self.path.clone(),
            message: format!("line {}: {message}", row + 2),
        }
    }

    /// Field `col` (named `field`) of row `row`, as a number.
    fn num(&self, row: usize, col: usize, field: &str) -> Result<f64, ReadError> {
        let s = self.rows[row].get(col).map_or("", String::as_str);
        s.parse()
            .map_err(|_| self.bad(row, format!("`{field}` must be a number, found `{s}`")))
    }

    fn str(&self, row: usize, col: usize) -> &str {
        self.rows[row].get(col).map_or("", String::as_str)
    }

    fn expect_rows(&self, n: usize, what: &str) -> Result<(), ReadError> {
        if self.rows.len() != n {
            return Err(ReadError::Invalid {
                path: self.path.clone(),
                message: format!("{} rows, expected {n} ({what})", self.rows.len()),
            });
        }
        for (i, r) in self.rows.iter().enumerate() {
            if r.len() != self.rows.first().map_or(0, Vec::len) {
                return Err(self.bad(i, "a different number of fields than the header".into()));
            }
        }
        Ok(())
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

impl CalibrationData {
    /// Reads a finished calibration directory.
    pub fn read(dir: &Path) -> Result<CalibrationData, ReadError> {
        let meta_path = dir.join("calibration.json");
        let meta: serde_json::Value = serde_json::from_str(&text(&meta_path, MAX_JSON_BYTES)?)
            .map_err(|e| ReadError::Invalid {
                path: meta_path.clone(),
                message: format!("not JSON: {e}"),
            })?;
        let spec: CalibrationFile =
            serde_json::from_value(meta["spec"].clone()).map_err(|e| ReadError::Invalid {
                path: meta_path.clone(),
                message: format!("`spec`: not a calibration file: {e}"),
            })?;
        let (method, priors, targets, _) = spec.check().map_err(|p| ReadError::Invalid {
            path: meta_path.clone(),
            message: format!("`spec`: {}", p.join("; ")),
        })?;
        let result_file = match method {
            Method::Smm => "estimates.csv",
            Method::AbcSmc => "posterior.csv",
        };
        // summary.txt is written last: its presence means every other result file is there.
        for f in [result_file, "fit.csv", "identifiability.csv", "summary.txt"] {
            if !dir.join(f).is_file() {
                return Err(ReadError::Unfinished {
                    dir: dir.to_path_buf(),
                    missing: f.into(),
                });
            }
        }
        let keys: Vec<String> = spec.parameters.iter().map(|p| p.key.clone()).collect();
        let (k, n) = (keys.len(), targets.len());

        let header = super::ledger::header(&keys, &targets);
        let head: Vec<String> = header.split(',').map(str::to_string).collect();
        let ev = Csv::read(dir, "evaluations.csv", &head, MAX_DATA_BYTES)?;
        let mut evaluations = Vec::new();
        for (i, r) in ev.rows.iter().enumerate() {
            if r.get(2).map(String::as_str) != Some("mean") {
                continue;
            }
            if r.len() != 4 + k + n + 1 {
                return Err(ev.bad(i, format!("{} fields, expected {}", r.len(), 4 + k + n + 1)));
            }
            let id = ev.num(i, 0, "eval")? as usize;
            if id != evaluations.len() {
                return Err(ev.bad(i, format!("evaluation {id} out of order")));
            }
            evaluations.push(EvalRow {
                id,
                stage: r[1].clone(),
                theta: (0..k)
                    .map(|j| ev.num(i, 4 + j, &keys[j]))
                    .collect::<Result<_, _>>()?,
                distance: ev.num(i, 4 + k + n, "distance")?,
            });
        }

        let result = match method {
            Method::Smm => {
                let est = Csv::read(
                    dir,
                    "estimates.csv",
                    &strings(&[
                        "parameter",
                        "estimate",
                        "se",
                        "lo90",
                        "hi90",
                        "prior_sd",
                        "distance",
                        "j_statistic",
                        "df",
                        "p_value",
                    ]),
                    MAX_DATA_BYTES,
                )?;
                est.expect_rows(k, "one per parameter")?;
                let mut rows = Vec::new();
                for (i, key) in keys.iter().enumerate() {
                    if est.str(i, 0) != key {
                        return Err(est.bad(i, format!("expected parameter `{key}`")));
                    }
                    rows.push(EstimateRow {
                        estimate: est.num(i, 1, "estimate")?,
                        se: est.num(i, 2, "se")?,
                        lo: est.num(i, 3, "lo90")?,
                        hi: est.num(i, 4, "hi90")?,
                    });
                }
                MethodResult::Smm(rows)
            }
            Method::AbcSmc => {
                let mut head = strings(&["particle", "weight"]);
                head.extend(keys.iter().cloned());
                head.push("distance".into());
                let post = Csv::read(dir, "posterior.csv", &head, MAX_DATA_BYTES)?;
                let mut points = Vec::new();
                let mut weights = Vec::new();
                for (i, r) in post.rows.iter().enumerate() {
                    if r.len() != head.len() {
                        return Err(
                            post.bad(i, format!("{} fields, expected {}", r.len(), head.len()))
                        );
                    }
                    let w = post.num(i, 1, "weight")?;
                    if !(w >= 0.0 && w.is_finite()) {
                        return Err(post.bad(i, format!("`weight` must be ≥ 0, found {w}")));
                    }
                    weights.push(w);
                    points.push(
                        (0..k)
                            .map(|j| post.num(i, 2 + j, &keys[j]))
                            .collect::<Result<_, _>>()?,
                    );
                }
                if points.is_empty() {
                    return Err(ReadError::Invalid {
                        path: post.path,
                        message: "no particles".into(),
                    });
                }
                let gens = Csv::read(
                    dir,
                    "generations.csv",
                    &strings(&[
                        "generation",
                        "tolerance",
                        "ess",
                        "acceptance",
                        "evaluations",
                    ]),
                    MAX_DATA_BYTES,
                )?;
                let mut generations = Vec::new();
                for i in 0..gens.rows.len() {
                    generations.push(Generation {
                        index: gens.num(i, 0, "generation")? as usize,
                        tolerance: gens.num(i, 1, "tolerance")?,
                        ess: gens.num(i, 2, "ess")?,
                        acceptance: gens.num(i, 3, "acceptance")?,
                        evaluations: gens.num(i, 4, "evaluations")? as usize,
                    });
                }
                MethodResult::Abc {
                    points,
                    weights,
                    generations,
                }
            }
        };

        let fit_csv = Csv::read(
            dir,
            "fit.csv",
            &strings(&[
                "target", "role", "observed", "se", "fitted", "median", "lo90", "hi90", "inside",
                "z",
            ]),
            MAX_DATA_BYTES,
        )?;
        fit_csv.expect_rows(n, "one per target")?;
        let mut fit = Vec::new();
        for (i, t) in targets.iter().enumerate() {
            if fit_csv.str(i, 0) != t.name {
                return Err(fit_csv.bad(i, format!("expected target `{}`", t.name)));
            }
            let inside = match fit_csv.str(i, 8) {
                "true" => true,
                "false" => false,
                other => {
                    return Err(fit_csv.bad(
                        i,
                        format!("`inside` must be true or false, found `{other}`"),
                    ))
                }
            };
            fit.push(FitRow {
                target: t.name.clone(),
                role: t.role,
                observed: fit_csv.num(i, 2, "observed")?,
                se: fit_csv.num(i, 3, "se")?,
                fitted: fit_csv.num(i, 4, "fitted")?,
                median: fit_csv.num(i, 5, "median")?,
                lo: fit_csv.num(i, 6, "lo90")?,
                hi: fit_csv.num(i, 7, "hi90")?,
                inside,
            });
        }

        let id_csv = Csv::read(
            dir,
            "identifiability.csv",
            &strings(&[
                "parameter",
                "prior",
                "prior_sd",
                "posterior_sd",
                "contraction",
                "sensitivity",
                "verdict",
                "jacobian_rank",
                "condition_number",
            ]),
            MAX_DATA_BYTES,
        )?;
        id_csv.expect_rows(k, "one per parameter")?;
        let mut identifiability = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            if id_csv.str(i, 0) != key {
                return Err(id_csv.bad(i, format!("expected parameter `{key}`")));
            }
            identifiability.push(IdentRow {
                prior_sd: id_csv.num(i, 2, "prior_sd")?,
                posterior_sd: id_csv.num(i, 3, "posterior_sd")?,
                contraction: id_csv.num(i, 4, "contraction")?,
                sensitivity: id_csv.num(i, 5, "sensitivity")?,
                verdict: id_csv.str(i, 6).to_string(),
            });
        }
        let summary = text(&dir.join("summary.txt"), MAX_DATA_BYTES)?;
        Ok(CalibrationData {
            dir: dir.to_path_buf(),
            meta,
            spec,
            method,
            keys,
            priors,
            targets,
            evaluations,
            result,
            fit,
            identifiability,
            summary,
        })
    }
}
