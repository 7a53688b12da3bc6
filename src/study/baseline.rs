//! Baseline calibration (MODEL.md §8, first layer): the destination constants `attraction` (ξ)
//! that make the baseline's expected first-year net migration match observed rates.
//!
//! # What is matched
//!
//! `m_d(ξ)` is the expected net migration rate of country d over the first simulated year —
//! Σ (inflow − outflow) over the first `ticks_per_year` ticks divided by the researchers in d at
//! t = 0 — of the scenario without its policies. It is computed by the expected dynamics of
//! [`crate::model::expected`] (no sampling: deterministic, independent of the number of agents,
//! and equal to the mean of replicated runs up to the approximations stated there), propagated
//! tick by tick through the year: the t = 0 choice probabilities alone are not enough, because
//! within a year entrants, startups and capital change the probabilities (for small countries the
//! difference reaches several percentage points a year; see docs/ODD.md).
//!
//! # The fit
//!
//! ξ minimises `Σ_d ((m_d(ξ) − m*_d) / se_d)²` over the countries with a target, by
//! Levenberg–Marquardt with a forward-difference Jacobian (columns in parallel, each an
//! independent deterministic evaluation, so the result does not depend on the thread count),
//! starting from ξ = 0 whatever the scenario holds. Only differences of the constants matter: when
//! every country has a target, the country with the most researchers is held at 0 during the
//! solve; countries without a target keep ξ = 0 relative to the others. At the end the constants
//! are shifted so that `Σ_d N0_d ξ_d = 0` and rounded to [`DECIMALS`] decimals, and the fit is
//! recomputed with the rounded values (the fit reported is that of the written scenario).
//!
//! Net moves sum to zero, `Σ_d N0_d m_d = 0`, so targets with `Σ_d N0_d m*_d ≠ 0` cannot all be
//! met: the fit then spreads the imbalance in proportion to `N0_d se_d²`. A target is *met* when
//! its residual is within [`MET_WITHIN`] standard errors; [`Fit::unmet`] lists the others, and a
//! target beyond what the model can produce at any ξ (e.g. an outflow larger than the review
//! rate allows) shows up as an attraction running off to ±[`XI_LIMIT`].

use crate::rundir::input::{read_limited, read_limited_string, MAX_TABLE_BYTES};
use crate::scenario::load::MAX_SCENARIO_BYTES;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::model::expected::ExpectedModel;
use crate::scenario::Scenario;

/// Decimals of the attractions written into a scenario.
pub const DECIMALS: i32 = 6;
/// A target is met when |model − target| ≤ this many standard errors.
pub const MET_WITHIN: f64 = 2.0;
/// Attractions beyond ± this are treated as diverging (the target is not attainable).
pub const XI_LIMIT: f64 = 40.0;
/// Step of the forward differences.
const FD_STEP: f64 = 1e-6;
/// A free attraction whose Jacobian column (in standard errors per unit of ξ) is shorter than
/// this at the end has saturated.
const SATURATED: f64 = 1e-6;
/// Largest change of an attraction in one iteration (a trust region: the logit saturates, so a
/// Gauss–Newton step far from the solution can be huge).
const MAX_STEP: f64 = 2.0;

/// One observed net migration rate.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    /// Country code.
    pub code: String,
    /// Net inflow per year over researchers located in the country (0.02 = 2 %/year).
    pub rate: f64,
    /// Standard error of `rate`.
    pub se: f64,
}

/// Errors of baseline calibration.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// The targets file cannot be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The targets file is malformed.
    #[error("{path}: {message}")]
    Targets {
        /// The file.
        path: PathBuf,
        /// What is wrong (line and column named).
        message: String,
    },
    /// A target names a country the scenario does not have, or repeats one.
    #[error("targets: {0}")]
    Countries(String),
}

/// Reads a targets CSV: a header naming at least `country`, `net_migration_rate` and `se`
/// (other columns are documentation and ignored); one row per country.
pub fn read_targets(path: &Path) -> Result<Vec<Target>, BaselineError> {
    let bytes = read_limited(path, MAX_TABLE_BYTES).map_err(|source| BaselineError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_targets(&bytes, path)
}

/// Parses targets CSV bytes (see [`read_targets`]); `path` names the file in errors.
pub fn parse_targets(bytes: &[u8], path: &Path) -> Result<Vec<Target>, BaselineError> {
    let bad = |message: String| BaselineError::Targets {
        path: path.to_path_buf(),
        message,
    };
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .from_reader(bytes);
    let header = reader
        .headers()
        .map_err(|e| bad(format!("cannot read the header: {e}")))?
        .clone();
    let column = |name: &str| {
        header.iter().position(|h| h.trim() == name).ok_or_else(|| {
            bad(format!(
                "no `{name}` column (header: {})",
                crate::scenario::text::echo(&header.iter().collect::<Vec<_>>().join(","))
            ))
        })
    };
    let (ci, ri, si) = (
        column("country")?,
        column("net_migration_rate")?,
        column("se")?,
    );
    let mut out: Vec<Target> = Vec::new();
    for (k, record) in reader.records().enumerate() {
        let line = k + 2;
        let record = record.map_err(|e| bad(format!("line {line}: {e}")))?;
        let field = |i: usize| record.get(i).unwrap_or("").trim().to_string();
        let number = |i: usize, what: &str| -> Result<f64, BaselineError> {
            let text = field(i);
            text.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| {
                    bad(format!(
                        "line {line}: {what} \"{text}\" is not a finite number"
                    ))
                })
        };
        let code = field(ci);
        if code.is_empty() {
            return Err(bad(format!("line {line}: empty country")));
        }
        let rate = number(ri, "net_migration_rate")?;
        let se = number(si, "se")?;
        if se.is_nan() || se <= 0.0 {
            return Err(bad(format!("line {line}: se must be positive, found {se}")));
        }
        if rate.abs() >= 1.0 {
            return Err(bad(format!(
                "line {line}: net_migration_rate {rate} is a share per year (0.02 = 2 %/year); \
                 |rate| must be below 1"
            )));
        }
        if out.iter().any(|t| t.code == code) {
            return Err(bad(format!("line {line}: country {code} appears twice")));
        }
        out.push(Target { code, rate, se });
    }
    if out.is_empty() {
        return Err(bad("no targets".into()));
    }
    Ok(out)
}

/// Options of the solver.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Most Levenberg–Marquardt iterations.
    pub max_iterations: usize,
    /// Stop when no attraction changes by more than this in an iteration.
    pub step_tolerance: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_iterations: 100,
            step_tolerance: 1e-11,
        }
    }
}

/// The fit of one country.
#[derive(Clone, Debug, PartialEq)]
pub struct CountryFit {
    /// Country code.
    pub code: String,
    /// Its target and standard error, if it has one.
    pub target: Option<(f64, f64)>,
    /// The model's expected first-year net migration rate.
    pub model: f64,
    /// The calibrated attraction.
    pub attraction: f64,
    /// Researchers at t = 0 (real units).
    pub researchers: f64,
}

impl CountryFit {
    /// model − target.
    pub fn residual(&self) -> Option<f64> {
        self.target.map(|(t, _)| self.model - t)
    }

    /// Residual in standard errors.
    pub fn z(&self) -> Option<f64> {
        self.target.map(|(t, se)| (self.model - t) / se)
    }

    /// Whether the target is met (within [`MET_WITHIN`] se); true when there is no target.
    pub fn met(&self) -> bool {
        self.z().is_none_or(|z| z.abs() <= MET_WITHIN)
    }
}

/// The result of baseline calibration.
#[derive(Clone, Debug, PartialEq)]
pub struct Fit {
    /// Per country, in scenario order.
    pub countries: Vec<CountryFit>,
    /// Levenberg–Marquardt iterations used.
    pub iterations: usize,
    /// Whether the solver stopped on its step tolerance (rather than the iteration limit or a
    /// diverging attraction).
    pub converged: bool,
    /// Σ z² at the written (rounded) attractions.
    pub objective: f64,
    /// `Σ_d N0_d m*_d / Σ_d N0_d` over the countries with targets: the world net migration the
    /// targets imply (the model's is 0).
    pub target_imbalance: f64,
    /// The attractions before rounding (normalised), for tests and for chaining calibrations.
    pub exact_attraction: Vec<f64>,
    /// Countries whose attraction ran to ±[`XI_LIMIT`] or saturated (moving it no longer moves
    /// the fit): their targets lie beyond what the model can produce at any attraction.
    pub diverged: Vec<String>,
}

impl Fit {
    /// Countries whose target is not met.
    pub fn unmet(&self) -> Vec<&CountryFit> {
        self.countries.iter().filter(|c| !c.met()).collect()
    }

    /// The attractions written into the scenario (rounded), in scenario order.
    pub fn attraction(&self) -> Vec<f64> {
        self.countries.iter().map(|c| c.attraction).collect()
    }

    /// The fit as CSV: country, target, se, model, residual, z, met, attraction, researchers_t0.
    pub fn to_csv(&self) -> String {
        let mut out =
            String::from("country,target,se,model,residual,z,met,attraction,researchers_t0\n");
        for c in &self.countries {
            let (t, se) = c.target.map_or((String::new(), String::new()), |(t, se)| {
                (format!("{t:.6}"), format!("{se:.6}"))
            });
            let (res, z) = match (c.residual(), c.z()) {
                (Some(r), Some(z)) => (format!("{r:.6}"), format!("{z:.3}")),
                _ => (String::new(), String::new()),
            };
            out.push_str(&format!(
                "{},{t},{se},{:.6},{res},{z},{},{:.6},{:.1}\n",
                c.code,
                c.model,
                if c.target.is_some() {
                    c.met().to_string()
                } else {
                    String::new()
                },
                c.attraction,
                c.researchers
            ));
        }
        out
    }

    /// The fit as a printed table (rates in %/year).
    pub fn table(&self) -> String {
        let mut out = format!(
            "{:<6} {:>9} {:>8} {:>9} {:>9} {:>7} {:>11}  \n",
            "country", "target", "se", "model", "residual", "z", "attraction"
        );
        for c in &self.countries {
            let pct = |x: f64| format!("{:.3}", 100.0 * x);
            let (t, se, res, z) = match c.target {
                Some((t, se)) => (
                    pct(t),
                    pct(se),
                    pct(c.model - t),
                    format!("{:.2}", (c.model - t) / se),
                ),
                None => ("—".into(), "—".into(), "—".into(), "—".into()),
            };
            out.push_str(&format!(
                "{:<6} {:>9} {:>8} {:>9} {:>9} {:>7} {:>11.6}{}\n",
                c.code,
                t,
                se,
                pct(c.model),
                res,
                z,
                c.attraction,
                if c.met() { "" } else { "  NOT MET" }
            ));
        }
        out.push_str(&format!(
            "(rates in %/year: expected first-year net migration per researcher located there)\n\
             Σ z² = {:.4}; {} iterations{}; targets imply world net migration {:.4} %/year \
             (the model's is 0)\n",
            self.objective,
            self.iterations,
            if self.converged {
                ""
            } else {
                " (did not converge)"
            },
            100.0 * self.target_imbalance
        ));
        if !self.diverged.is_empty() {
            out.push_str(&format!(
                "attractions saturated (moving them no longer moves the fit: their targets are \
                 beyond what the model produces at any attraction): {}\n",
                self.diverged.join(", ")
            ));
        }
        out
    }
}

/// Solves the baseline calibration of `scenario` (its policies ignored) against `targets`.
pub fn calibrate(
    scenario: &Scenario,
    targets: &[Target],
    options: &Options,
) -> Result<Fit, BaselineError> {
    let c = scenario.num_countries();
    let mut wanted: Vec<Option<(f64, f64)>> = vec![None; c];
    for t in targets {
        let k = scenario.country_index(&t.code).ok_or_else(|| {
            BaselineError::Countries(format!(
                "country {} is not in the scenario (its countries: {})",
                t.code,
                scenario
                    .countries
                    .iter()
                    .map(|k| k.code.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        if wanted[k].is_some() {
            return Err(BaselineError::Countries(format!(
                "country {} appears twice",
                t.code
            )));
        }
        wanted[k] = Some((t.rate, t.se));
    }
    let mut baseline = scenario.clone();
    baseline.policies.clear();
    let model = ExpectedModel::new(&baseline);
    let n0 = model.initial_researchers();
    let ticks = baseline.world.ticks_per_year as usize;
    let with_target: Vec<usize> = (0..c).filter(|&k| wanted[k].is_some()).collect();
    // Free attractions: the countries with a target, less an anchor when all have one.
    let anchor = if with_target.len() == c {
        (0..c).max_by(|&a, &b| n0[a].total_cmp(&n0[b]).then(b.cmp(&a)))
    } else {
        None
    };
    let free: Vec<usize> = with_target
        .iter()
        .copied()
        .filter(|&k| Some(k) != anchor)
        .collect();
    let residuals = |xi: &[f64]| -> Vec<f64> {
        let m = model.run(Some(xi), ticks).first_year_net_migration();
        with_target
            .iter()
            .map(|&k| {
                let (t, se) = wanted[k].unwrap_or((0.0, 1.0));
                (m[k] - t) / se
            })
            .collect()
    };
    let norm2 = |r: &[f64]| r.iter().map(|x| x * x).sum::<f64>();

    let mut xi = vec![0.0; c];
    let mut r = residuals(&xi);
    let mut f = norm2(&r);
    let mut mu = 1e-3;
    let mut iterations = 0;
    let mut converged = free.is_empty();
    // Norm of each free attraction's Jacobian column at the last iteration (z per unit ξ).
    let mut sensitivity = vec![f64::INFINITY; free.len()];
    while !converged && iterations < options.max_iterations {
        iterations += 1;
        // Forward-difference Jacobian, one column per free attraction.
        let columns: Vec<Vec<f64>> = free
            .par_iter()
            .map(|&k| {
                let mut moved = xi.clone();
                let h = FD_STEP * xi[k].abs().max(1.0);
                moved[k] += h;
                residuals(&moved)
                    .iter()
                    .zip(&r)
                    .map(|(a, b)| (a - b) / h)
                    .collect()
            })
            .collect();
        let p = free.len();
        for (i, col) in columns.iter().enumerate() {
            sensitivity[i] = col.iter().map(|x| x * x).sum::<f64>().sqrt();
        }
        let mut jtj = vec![0.0; p * p];
        let mut jtr = vec![0.0; p];
        for i in 0..p {
            jtr[i] = columns[i].iter().zip(&r).map(|(a, b)| a * b).sum();
            for j in 0..=i {
                let v: f64 = columns[i].iter().zip(&columns[j]).map(|(a, b)| a * b).sum();
                jtj[i * p + j] = v;
                jtj[j * p + i] = v;
            }
        }
        let mut accepted = false;
        let mut step_max = 0.0;
        for _ in 0..30 {
            let mut a = jtj.clone();
            for i in 0..p {
                a[i * p + i] += mu * jtj[i * p + i].max(1e-12);
            }
            let Some(mut delta) = solve(&mut a, jtr.iter().map(|x| -x).collect(), p) else {
                mu *= 10.0;
                continue;
            };
            let longest = delta.iter().fold(0.0f64, |m, d| m.max(d.abs()));
            if longest > MAX_STEP {
                for d in &mut delta {
                    *d *= MAX_STEP / longest;
                }
            }
            let mut trial = xi.clone();
            for (i, &k) in free.iter().enumerate() {
                trial[k] = (trial[k] + delta[i]).clamp(-XI_LIMIT, XI_LIMIT);
            }
            let rt = residuals(&trial);
            let ft = norm2(&rt);
            if ft.is_finite() && ft <= f {
                step_max = delta.iter().fold(0.0f64, |m, d| m.max(d.abs()));
                xi = trial;
                r = rt;
                f = ft;
                mu = (mu / 4.0).max(1e-15);
                accepted = true;
                break;
            }
            mu *= 8.0;
        }
        if !accepted || step_max <= options.step_tolerance {
            converged = true;
        }
        if xi.iter().any(|x| x.abs() >= XI_LIMIT) {
            break;
        }
    }
    // An attraction at the limit, or one whose effect on the fit has vanished (the logit
    // saturated: z moves by less than SATURATED per unit of ξ), cannot move its target further.
    let diverged: Vec<String> = free
        .iter()
        .enumerate()
        .filter(|&(i, &k)| xi[k].abs() >= XI_LIMIT || sensitivity[i] < SATURATED)
        .map(|(_, &k)| scenario.countries[k].code.clone())
        .collect();
    let exact = normalise(&xi, &n0);
    let scale = libm::pow(10.0, f64::from(DECIMALS));
    let rounded: Vec<f64> = exact
        .iter()
        .map(|x| libm::round(x * scale) / scale)
        .collect();
    let m = model.run(Some(&rounded), ticks).first_year_net_migration();
    let countries: Vec<CountryFit> = (0..c)
        .map(|k| CountryFit {
            code: scenario.countries[k].code.clone(),
            target: wanted[k],
            model: m[k],
            attraction: rounded[k],
            researchers: n0[k],
        })
        .collect();
    let objective = countries
        .iter()
        .filter_map(CountryFit::z)
        .map(|z| z * z)
        .sum();
    let weight: f64 = with_target.iter().map(|&k| n0[k]).sum();
    let target_imbalance = with_target
        .iter()
        .map(|&k| n0[k] * wanted[k].map_or(0.0, |w| w.0))
        .sum::<f64>()
        / weight.max(f64::MIN_POSITIVE);
    Ok(Fit {
        countries,
        iterations,
        converged: converged && diverged.is_empty(),
        diverged,
        objective,
        target_imbalance,
        exact_attraction: exact,
    })
}

/// Shifts the attractions so that `Σ N0_d ξ_d = 0` (the utility differences are unchanged).
fn normalise(xi: &[f64], n0: &[f64]) -> Vec<f64> {
    let total: f64 = n0.iter().sum();
    let mean = if total > 0.0 {
        xi.iter().zip(n0).map(|(x, n)| x * n).sum::<f64>() / total
    } else {
        0.0
    };
    xi.iter().map(|x| x - mean).collect()
}

/// Solves `a · x = b` (a: n × n, row-major, overwritten) by Gaussian elimination with partial
/// pivoting; `None` when `a` is singular.
fn solve(a: &mut [f64], mut b: Vec<f64>, n: usize) -> Option<Vec<f64>> {
    for col in 0..n {
        let pivot =
            (col..n).max_by(|&i, &j| a[i * n + col].abs().total_cmp(&a[j * n + col].abs()))?;
        let p = a[pivot * n + col];
        if p.is_nan() || p.abs() <= 1e-300 || !p.is_finite() {
            return None;
        }
        if pivot != col {
            for k in 0..n {
                a.swap(pivot * n + k, col * n + k);
            }
            b.swap(pivot, col);
        }
        for row in col + 1..n {
            let factor = a[row * n + col] / a[col * n + col];
            if factor != 0.0 {
                for k in col..n {
                    a[row * n + k] -= factor * a[col * n + k];
                }
                b[row] -= factor * b[col];
            }
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|k| a[row * n + k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row * n + row];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// How a calibrated scenario file says where its attractions came from.
#[derive(Clone, Debug)]
pub struct Provenance {
    /// The command as typed.
    pub command: String,
    /// The targets file as named.
    pub targets: String,
    /// blake3 of the targets file.
    pub targets_blake3: String,
    /// The fit CSV as named.
    pub fit_csv: String,
}

const BEGIN: &str = "# --- calibrate-baseline (generated; do not edit by hand) ---";
const END: &str = "# --- end calibrate-baseline ---";

/// The scenario text with every country's `attraction` set to `attraction` (same order as the
/// countries) and a header block saying how the values were obtained. Comments and layout of
/// `text` are kept: an existing `attraction = …` line of a `[[country]]` table is replaced, else
/// one is added after the table's last key; a previous header block is replaced. Returns `None`
/// when the file's layout does not allow that (e.g. countries as inline tables): the caller then
/// writes the resolved scenario instead.
pub fn set_attractions(
    text: &str,
    attraction: &[f64],
    provenance: &Provenance,
    fit: &Fit,
) -> Option<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    // Drop an earlier header block.
    if let (Some(b), Some(e)) = (
        lines.iter().position(|l| l.trim() == BEGIN),
        lines.iter().position(|l| l.trim() == END),
    ) {
        if b < e {
            let mut e = e + 1;
            if lines.get(e).is_some_and(|l| l.trim().is_empty()) {
                e += 1;
            }
            lines.drain(b..e);
        }
    }
    let is_header = |l: &str| l.trim_start().starts_with('[');
    let tables: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.trim() == "[[country]]")
        .map(|(i, _)| i)
        .collect();
    if tables.len() != attraction.len() {
        return None;
    }
    // From the last table up, so earlier indices stay valid.
    for (k, &start) in tables.iter().enumerate().rev() {
        let end = (start + 1..lines.len())
            .find(|&i| is_header(&lines[i]))
            .unwrap_or(lines.len());
        let value = format!("attraction = {:.*}", DECIMALS as usize, attraction[k]);
        let line = format!("{value:<24} # set by calibrate-baseline (see header)");
        let key = |l: &str| {
            let t = l.trim_start();
            !t.starts_with('#')
                && t.split('=')
                    .next()
                    .is_some_and(|k| k.trim() == "attraction")
        };
        if let Some(i) = (start + 1..end).find(|&i| key(&lines[i])) {
            lines[i] = line;
            continue;
        }
        let is_kv = |l: &str| {
            let t = l.trim_start();
            !t.is_empty() && !t.starts_with('#') && t.contains('=')
        };
        let last_kv = (start + 1..end).rev().find(|&i| is_kv(&lines[i]))?;
        // Keep a key's indented continuation comments with it.
        let mut at = last_kv + 1;
        while at < end
            && lines[at].starts_with(char::is_whitespace)
            && lines[at].trim_start().starts_with('#')
        {
            at += 1;
        }
        lines.insert(at, line);
    }
    let met = fit.unmet();
    let mut header = vec![
        BEGIN.to_string(),
        "# Every country's `attraction` (MODEL.md §5, the destination constant ξ) was set by baseline".into(),
        "# calibration (MODEL.md §8): the baseline's expected first-year net migration matches the targets".into(),
        "# (weighted least squares, Σ N0·ξ = 0). Obtained with".into(),
        format!("#   {}", provenance.command),
        format!(
            "# targets: {} (blake3 {})",
            provenance.targets, provenance.targets_blake3
        ),
        format!(
            "# talentflow {}, model v{}; Σ z² = {:.4}; fit per country: {}",
            crate::VERSION,
            crate::MODEL_VERSION,
            fit.objective,
            provenance.fit_csv
        ),
        "# The solver starts from ξ = 0 whatever this file holds, so re-running the command gives the same values.".into(),
    ];
    if !met.is_empty() {
        header.push(format!(
            "# NOT MET (beyond {MET_WITHIN} se): {}",
            met.iter()
                .map(|c| c.code.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    header.push(END.to_string());
    header.push(String::new());
    // After a leading comment block (the file's own title), before everything else.
    let mut out = header;
    out.extend(lines);
    let mut text = out.join("\n");
    text.push('\n');
    Some(text)
}

/// What `talentflow calibrate-baseline` wrote.
#[derive(Debug)]
pub struct Written {
    /// The fit.
    pub fit: Fit,
    /// The fit CSV (always written).
    pub fit_csv: PathBuf,
    /// The calibrated scenario, unless targets were not met and `allow_unmet` was false.
    pub scenario: Option<PathBuf>,
    /// Whether the scenario had to be written as resolved TOML (its comments lost).
    pub resolved: bool,
}

/// Errors of the `calibrate-baseline` command.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The scenario is invalid.
    #[error(transparent)]
    Scenario(#[from] crate::scenario::ScenarioError),
    /// The targets or the calibration failed.
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    /// Reading the scenario file failed.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Writing an output failed.
    #[error(transparent)]
    Output(#[from] crate::rundir::write::OutputError),
    /// The written scenario does not load back as the calibrated scenario (a bug).
    #[error("the calibrated scenario written to {0} does not load back with its attractions")]
    Verify(PathBuf),
    /// Some targets were not met; the fit CSV was written, the scenario not. `table` is the
    /// printed fit.
    #[error(
        "{} target(s) not met within {MET_WITHIN} se ({}); the fit is in {}; the scenario was not \
         written (pass --allow-unmet to write it anyway)",
        .unmet.len(), .unmet.join(", "), .fit_csv.display()
    )]
    Unmet {
        /// The fit as a table.
        table: String,
        /// The countries.
        unmet: Vec<String>,
        /// Where the fit is.
        fit_csv: PathBuf,
    },
}

/// The fit CSV beside a scenario file: `DIR/STEM.baseline-fit.csv`.
pub fn fit_csv_path(scenario_out: &Path) -> PathBuf {
    let stem = scenario_out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario".into());
    scenario_out.with_file_name(format!("{stem}.baseline-fit.csv"))
}

/// `talentflow calibrate-baseline`: loads `scenario_name` (a path or an embedded name), reads
/// `targets`, calibrates, writes the fit CSV beside `out` and, when every target is met or
/// `allow_unmet`, the scenario with its attractions (the input text, comments kept, with a header
/// naming `command`, the targets file and its blake3). Every write is atomic.
pub fn calibrate_file(
    scenario_name: &str,
    targets: &Path,
    out: &Path,
    allow_unmet: bool,
    command: &str,
) -> Result<Written, CommandError> {
    let (scenario, _) = crate::scenario::load_named(scenario_name, None, &[])?;
    let text = if Path::new(scenario_name).exists() {
        read_limited_string(Path::new(scenario_name), MAX_SCENARIO_BYTES).map_err(|source| {
            CommandError::Read {
                path: PathBuf::from(scenario_name),
                source,
            }
        })?
    } else {
        crate::scenario::EMBEDDED
            .iter()
            .find(|(n, _)| *n == scenario_name)
            .map(|(_, t)| t.to_string())
            .unwrap_or_default()
    };
    let target_bytes =
        read_limited(targets, MAX_TABLE_BYTES).map_err(|source| BaselineError::Read {
            path: targets.to_path_buf(),
            source,
        })?;
    let wanted = parse_targets(&target_bytes, targets)?;
    let fit = calibrate(&scenario, &wanted, &Options::default())?;
    let fit_csv = fit_csv_path(out);
    crate::rundir::write::write_atomic(&fit_csv, fit.to_csv().as_bytes())?;
    let unmet: Vec<String> = fit.unmet().iter().map(|c| c.code.clone()).collect();
    if !unmet.is_empty() && !allow_unmet {
        return Err(CommandError::Unmet {
            table: fit.table(),
            unmet,
            fit_csv,
        });
    }
    let provenance = Provenance {
        command: command.to_string(),
        targets: targets.display().to_string(),
        targets_blake3: blake3::hash(&target_bytes).to_hex().to_string(),
        fit_csv: fit_csv.display().to_string(),
    };
    let attraction = fit.attraction();
    let mut expected = scenario.scenario().clone();
    for (k, x) in expected.countries.iter_mut().zip(&attraction) {
        k.attraction = *x;
    }
    let source = crate::scenario::SourceName::Embedded("calibrated");
    let loads_back =
        |t: &str| crate::scenario::load_str(t, &source, &[]).is_ok_and(|s| *s == expected);
    let (body, resolved) = match set_attractions(&text, &attraction, &provenance, &fit) {
        Some(t) if loads_back(&t) => (t, false),
        _ => {
            let t = set_attractions(&expected.to_toml(), &attraction, &provenance, &fit)
                .unwrap_or_else(|| expected.to_toml());
            (t, true)
        }
    };
    if !loads_back(&body) {
        return Err(CommandError::Verify(out.to_path_buf()));
    }
    crate::rundir::write::write_atomic(out, body.as_bytes())?;
    Ok(Written {
        fit,
        fit_csv,
        scenario: Some(out.to_path_buf()),
        resolved,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaussian_elimination_solves_small_systems() {
        let mut a = vec![2.0, 1.0, 1.0, 3.0];
        let x = solve(&mut a, vec![3.0, 5.0], 2).unwrap();
        assert!((x[0] - 0.8).abs() < 1e-15 && (x[1] - 1.4).abs() < 1e-15);
        let mut singular = vec![1.0, 2.0, 2.0, 4.0];
        assert!(solve(&mut singular, vec![1.0, 2.0], 2).is_none());
    }

    #[test]
    fn targets_are_parsed_and_checked() {
        let p = Path::new("t.csv");
        let ok =
            b"# comment\ncountry,net_migration_rate,se,note\nAAA,0.01,0.005,x\nBBB,-0.02,0.01,\n";
        let t = parse_targets(ok, p).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[1].code, "BBB");
        assert_eq!(t[1].rate, -0.02);
        let err = |b: &[u8]| parse_targets(b, p).unwrap_err().to_string();
        assert!(err(b"country,rate,se\nAAA,1,1\n").contains("no `net_migration_rate` column"));
        assert!(err(b"country,net_migration_rate,se\nAAA,0.1,0\n").contains("se must be positive"));
        assert!(
            err(b"country,net_migration_rate,se\nAAA,2,0.1\n").contains("|rate| must be below 1")
        );
        assert!(err(b"country,net_migration_rate,se\nAAA,x,0.1\n").contains("line 2"));
        assert!(
            err(b"country,net_migration_rate,se\nAAA,0.1,0.1\nAAA,0.1,0.1\n")
                .contains("appears twice")
        );
        assert!(err(b"country,net_migration_rate,se\n").contains("no targets"));
    }
}
