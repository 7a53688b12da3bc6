//! Scenario discovery over a finished sweep: where in parameter space does a condition on an
//! outcome hold? `talentflow discover SWEEP_DIR --where "gain > 0.01"` labels every design
//! point by the condition (on the outcome's mean over replicates), then finds
//! - a PRIM box ([`prim`]): per-parameter bounds inside which the condition mostly holds, with
//!   the peeling trajectory (coverage, density, mass after each peel), and
//! - a CART tree ([`cart`]): depth-limited Gini splits over the same parameters,
//!
//! and writes `SWEEP_DIR/discover/` (`prim_trajectory.csv`, `prim_box.csv`, `cart.csv`,
//! `summary.txt`). The boundary of a claim is read off the box: "the condition holds (density d,
//! coverage c) when beta_compute ≥ X and …".

pub mod cart;
pub mod prim;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::rundir::write::{write_atomic, OutputError};
use crate::study::sweep::files::read_complete;
use crate::study::sweep::SweepError;

/// Errors of scenario discovery.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    /// The sweep directory cannot be read or is incomplete.
    #[error(transparent)]
    Sweep(#[from] SweepError),
    /// The condition or the outcome is not usable.
    #[error("discover: {0}")]
    Condition(String),
    /// Writing results failed.
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// A comparison `OUTCOME OP VALUE`.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    /// Outcome column of the sweep.
    pub outcome: String,
    /// `>`, `>=`, `<` or `<=`.
    pub op: String,
    /// Threshold.
    pub value: f64,
}

impl Condition {
    /// Parses `gain > 0.01` (spaces optional).
    pub fn parse(text: &str) -> Result<Condition, DiscoverError> {
        for op in [">=", "<=", ">", "<"] {
            if let Some((l, r)) = text.split_once(op) {
                let value: f64 = r.trim().parse().map_err(|_| {
                    DiscoverError::Condition(format!(
                        "--where `{text}`: `{}` is not a number",
                        r.trim()
                    ))
                })?;
                if !value.is_finite() {
                    return Err(DiscoverError::Condition(format!(
                        "--where `{text}`: the threshold must be finite"
                    )));
                }
                return Ok(Condition {
                    outcome: l.trim().to_string(),
                    op: op.to_string(),
                    value,
                });
            }
        }
        Err(DiscoverError::Condition(format!(
            "--where `{text}`: expected OUTCOME OP VALUE with OP one of > >= < <="
        )))
    }

    /// Whether `v` satisfies it (NaN never does).
    pub fn holds(&self, v: f64) -> bool {
        match self.op.as_str() {
            ">" => v > self.value,
            ">=" => v >= self.value,
            "<" => v < self.value,
            _ => v <= self.value,
        }
    }
}

/// Settings of a discovery run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    /// PRIM settings.
    pub prim: prim::PrimSettings,
    /// CART maximum depth.
    pub max_depth: usize,
    /// CART minimum leaf size (points).
    pub min_leaf: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            prim: prim::PrimSettings::default(),
            max_depth: 3,
            min_leaf: 5,
        }
    }
}

/// Everything discovery found.
#[derive(Clone, Debug, PartialEq)]
pub struct Discovery {
    /// Parameter names (the sweep's keys).
    pub parameters: Vec<String>,
    /// The condition.
    pub condition: Condition,
    /// Design points.
    pub points: usize,
    /// Points where the condition holds.
    pub positives: usize,
    /// PRIM's result (`None` when no point satisfies the condition).
    pub prim: Option<prim::Prim>,
    /// The CART tree.
    pub tree: Vec<cart::Node>,
}

/// Discovery on explicit data: `x` rows of parameter values, `v` the outcome per row.
pub fn discover_data(
    parameters: Vec<String>,
    x: &[Vec<f64>],
    v: &[f64],
    condition: Condition,
    s: Settings,
) -> Discovery {
    let y: Vec<bool> = v.iter().map(|&t| condition.holds(t)).collect();
    let positives = y.iter().filter(|b| **b).count();
    let prim = if positives > 0 {
        prim::prim(x, &y, s.prim)
    } else {
        None
    };
    Discovery {
        parameters,
        condition,
        points: x.len(),
        positives,
        prim,
        tree: cart::cart(x, &y, s.max_depth, s.min_leaf),
    }
}

/// Reads a finished sweep and runs discovery on `outcome` (default: the condition's column).
pub fn discover(
    dir: &Path,
    condition: &str,
    outcome: Option<&str>,
    s: Settings,
) -> Result<Discovery, DiscoverError> {
    let mut cond = Condition::parse(condition)?;
    if let Some(o) = outcome {
        if o != cond.outcome {
            return Err(DiscoverError::Condition(format!(
                "--outcome `{o}` and --where `{condition}` name different outcomes"
            )));
        }
        cond.outcome = o.to_string();
    }
    let complete = read_complete(dir)?;
    let o = complete
        .outcomes
        .iter()
        .position(|n| n == &cond.outcome)
        .ok_or_else(|| {
            DiscoverError::Condition(format!(
                "`{}` is not an outcome of the sweep (outcomes: {})",
                cond.outcome,
                complete.outcomes.join(", ")
            ))
        })?;
    let (_, values) = complete.spec.design_points()?;
    let names: Vec<String> = complete
        .spec
        .parameters
        .iter()
        .map(|p| p.key.clone())
        .collect();
    let v: Vec<f64> = complete.point_means.iter().map(|r| r[o]).collect();
    Ok(discover_data(names, &values, &v, cond, s))
}

fn num(x: f64) -> String {
    if x.is_finite() {
        x.to_string()
    } else {
        String::new()
    }
}

fn csv_bytes(path: &Path, rows: Vec<Vec<String>>) -> Result<Vec<u8>, OutputError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.write_record(&r).map_err(|e| OutputError::Csv {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    }
    w.into_inner().map_err(|e| OutputError::Csv {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Whether bound `j` of `b` is tighter than the data's on the low (`.0`) or high (`.1`) side.
fn restricted(b: &prim::PrimBox, data: &prim::PrimBox, j: usize) -> (bool, bool) {
    (b.low[j] > data.low[j], b.high[j] < data.high[j])
}

/// The printed summary naming the boundary.
pub fn summary(d: &Discovery) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "discover: `{} {} {}` holds at {} of {} design points ({:.1}%)",
        d.condition.outcome,
        d.condition.op,
        d.condition.value,
        d.positives,
        d.points,
        100.0 * d.positives as f64 / d.points.max(1) as f64
    );
    match &d.prim {
        None => {
            let _ = writeln!(out, "PRIM: no point satisfies the condition; no box");
        }
        Some(p) => {
            let b = &p.pasted;
            let _ = writeln!(
                out,
                "\nPRIM box (peeling step {} of {}, then pasted): coverage {:.3}, density {:.3}, mass {:.3} ({} points)",
                p.chosen,
                p.trajectory.len() - 1,
                b.coverage,
                b.density,
                b.mass,
                b.n
            );
            let mut any = false;
            for (j, name) in d.parameters.iter().enumerate() {
                let (lo, hi) = restricted(&b.bounds, &p.data, j);
                let text = match (lo, hi) {
                    (true, true) => format!("{} ≤ {name} ≤ {}", b.bounds.low[j], b.bounds.high[j]),
                    (true, false) => format!("{name} ≥ {}", b.bounds.low[j]),
                    (false, true) => format!("{name} ≤ {}", b.bounds.high[j]),
                    (false, false) => continue,
                };
                any = true;
                let _ = writeln!(
                    out,
                    "  {text}   (sampled range [{}, {}])",
                    p.data.low[j], p.data.high[j]
                );
            }
            if !any {
                let _ = writeln!(out, "  no parameter restricted: the box is the whole space");
            }
            let _ = writeln!(out, "\npeeling trajectory (prim_trajectory.csv):");
            let _ = writeln!(out, "  step  coverage  density   mass     n");
            for (i, st) in p.trajectory.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "  {i:>4}  {:>8.3}  {:>7.3}  {:>5.3}  {:>4}{}",
                    st.coverage,
                    st.density,
                    st.mass,
                    st.n,
                    if i == p.chosen { "  ← chosen" } else { "" }
                );
            }
        }
    }
    let _ = writeln!(out, "\nCART tree (Gini, cart.csv):");
    for (i, n) in d.tree.iter().enumerate() {
        let rule = match n.path.last() {
            None => "all points".to_string(),
            Some((j, le, t)) => format!(
                "{} {} {t}",
                d.parameters.get(*j).map_or("?", String::as_str),
                if *le { "≤" } else { ">" }
            ),
        };
        let _ = writeln!(
            out,
            "  {:indent$}[{i}] {rule}: n {}, holds {:.3}{}",
            "",
            n.n,
            n.density(),
            if n.split.is_none() { " (leaf)" } else { "" },
            indent = 2 * n.depth
        );
    }
    out
}

/// Writes `dir/discover/*` and returns the files written.
pub fn write(dir: &Path, d: &Discovery) -> Result<Vec<PathBuf>, OutputError> {
    let out = dir.join("discover");
    std::fs::create_dir_all(&out).map_err(|source| OutputError::Io {
        path: out.clone(),
        source,
    })?;
    let mut written = Vec::new();
    let mut put = |name: &str, bytes: Vec<u8>| -> Result<(), OutputError> {
        let path = out.join(name);
        write_atomic(&path, &bytes)?;
        written.push(path);
        Ok(())
    };
    if let Some(p) = &d.prim {
        let mut header = vec![
            "step".to_string(),
            "coverage".into(),
            "density".into(),
            "mass".into(),
            "n".into(),
            "positives".into(),
        ];
        for name in &d.parameters {
            header.push(format!("{name}_low"));
            header.push(format!("{name}_high"));
        }
        let mut rows = vec![header];
        for (i, st) in p
            .trajectory
            .iter()
            .enumerate()
            .map(|(i, s)| (i.to_string(), s))
            .chain(std::iter::once(("pasted".to_string(), &p.pasted)))
        {
            let mut r = vec![
                i,
                num(st.coverage),
                num(st.density),
                num(st.mass),
                st.n.to_string(),
                st.positives.to_string(),
            ];
            for j in 0..d.parameters.len() {
                r.push(num(st.bounds.low[j]));
                r.push(num(st.bounds.high[j]));
            }
            rows.push(r);
        }
        let path = out.join("prim_trajectory.csv");
        put("prim_trajectory.csv", csv_bytes(&path, rows)?)?;
        let mut rows = vec![vec![
            "parameter".to_string(),
            "low".into(),
            "high".into(),
            "restricted_low".into(),
            "restricted_high".into(),
            "sampled_low".into(),
            "sampled_high".into(),
        ]];
        for (j, name) in d.parameters.iter().enumerate() {
            let (lo, hi) = restricted(&p.pasted.bounds, &p.data, j);
            rows.push(vec![
                name.clone(),
                num(p.pasted.bounds.low[j]),
                num(p.pasted.bounds.high[j]),
                lo.to_string(),
                hi.to_string(),
                num(p.data.low[j]),
                num(p.data.high[j]),
            ]);
        }
        let path = out.join("prim_box.csv");
        put("prim_box.csv", csv_bytes(&path, rows)?)?;
    }
    let mut rows = vec![vec![
        "node".to_string(),
        "parent".into(),
        "depth".into(),
        "split_parameter".into(),
        "threshold".into(),
        "n".into(),
        "positives".into(),
        "density".into(),
        "leaf".into(),
        "rule".into(),
    ]];
    for (i, n) in d.tree.iter().enumerate() {
        let rule = n
            .path
            .iter()
            .map(|(j, le, t)| {
                format!(
                    "{} {} {t}",
                    d.parameters.get(*j).map_or("?", String::as_str),
                    if *le { "<=" } else { ">" }
                )
            })
            .collect::<Vec<_>>()
            .join(" and ");
        rows.push(vec![
            i.to_string(),
            n.parent.map(|p| p.to_string()).unwrap_or_default(),
            n.depth.to_string(),
            n.split
                .and_then(|(j, _)| d.parameters.get(j).cloned())
                .unwrap_or_default(),
            n.split.map(|(_, t)| num(t)).unwrap_or_default(),
            n.n.to_string(),
            n.positives.to_string(),
            num(n.density()),
            n.split.is_none().to_string(),
            rule,
        ]);
    }
    let path = out.join("cart.csv");
    put("cart.csv", csv_bytes(&path, rows)?)?;
    put("summary.txt", summary(d).into_bytes())?;
    Ok(written)
}
