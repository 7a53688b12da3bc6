//! `evaluations.csv` and the objective the estimators call.
//!
//! The estimators are deterministic: given the same file they request the same θ in the same
//! order. Evaluation `i` is therefore identified by its position, and the ledger is both the
//! output and the resume cache: on restart every evaluation already in the file (checked to be
//! the same stage and θ, to the bit) is read back instead of simulated, and the estimator replays
//! to where it stopped. Each evaluation's rows (one per replicate, then its `mean` row) are
//! appended with one write after the batch they belong to has finished; a torn tail (a kill
//! during a write) is cut back to the last complete `mean` row. So the file's bytes do not depend
//! on thread counts, on interruptions or on how many times the command was run. Shards of one
//! calibration exchange evaluations through their own files ([`Exchange`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::prior::Prior;
use super::simulator::{Simulator, Stop};
use super::spec::{Role, Target};
use super::CalibrateError;
use crate::rundir::input::{read_limited_string, MAX_DATA_BYTES};
use crate::rundir::write::{write_atomic, OutputError};

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

/// The complete evaluations of ledger text (`evaluations.csv` or a shard's file): each with the
/// text of its rows (replicates and `mean`), and the length of the text they span (a torn tail
/// after the last complete `mean` row is not part of it). `sequential`: ids must be 0, 1, 2…
/// (the main ledger); a shard's file holds every N-th id.
#[allow(clippy::type_complexity)]
fn parse_ledger(
    text: &str,
    head: Option<&str>,
    k: usize,
    n: usize,
    path: &Path,
    sequential: bool,
) -> Result<(Vec<(Evaluated, String)>, usize), CalibrateError> {
    let mut out: Vec<(Evaluated, String)> = Vec::new();
    let mut keep = 0;
    let mut lines = text.split_inclusive('\n');
    // `None`: the text continues a file after its header (a shard's file read on).
    if let Some(head) = head {
        // A file cut inside its header line is treated as empty; any other header is refused.
        let torn_header = !text.contains('\n') && head.starts_with(text);
        if torn_header {
            return Ok((out, 0));
        }
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
    let mut start = keep;
    for line in lines {
        at += line.len();
        if !line.ends_with('\n') {
            break;
        }
        let fields: Vec<&str> = line.trim_end_matches('\n').split(',').collect();
        if fields.get(2) != Some(&"mean") {
            continue;
        }
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
        if sequential && id != out.len() {
            return Err(bad());
        }
        let e = Evaluated {
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
        };
        out.push((e, text[start..at].to_string()));
        keep = at;
        start = at;
    }
    Ok((out, keep))
}

/// Reads the ledger at `path` (created with its header if missing); with `repair`, a torn tail
/// is cut off the file (a kill during a write) and a torn header rewritten.
#[allow(clippy::type_complexity)]
fn open_ledger(
    path: &Path,
    head: &str,
    k: usize,
    n: usize,
    repair: bool,
) -> Result<Vec<(Evaluated, String)>, CalibrateError> {
    if !path.exists() {
        if repair {
            fs::write(path, format!("{head}\n")).map_err(io(path))?;
        }
        return Ok(Vec::new());
    }
    let text = read_limited_string(path, MAX_DATA_BYTES).map_err(io(path))?;
    let (done, keep) = parse_ledger(&text, Some(head), k, n, path, true)?;
    if repair {
        if keep == 0 {
            fs::write(path, format!("{head}\n")).map_err(io(path))?;
        } else if keep < text.len() {
            let f = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(io(path))?;
            f.set_len(keep as u64).map_err(io(path))?;
        }
    }
    Ok(done)
}

/// The rows of one evaluation as the ledger holds them: one per replicate, then the `mean` row.
fn rows_text(sim: &dyn Simulator, targets: &[Target], e: &Evaluated, reps: &[Vec<f64>]) -> String {
    let (id, stage) = (e.id, &e.stage);
    let mut rows = String::new();
    let th: String = e.theta.iter().map(|x| format!(",{}", num(*x))).collect();
    for (i, rep) in reps.iter().enumerate() {
        rows.push_str(&format!("{id},{stage},{i},{}{th}", sim.seed(i)));
        for v in rep {
            rows.push_str(&format!(",{}", num(*v)));
        }
        rows.push_str(&format!(",{}\n", num(distance(targets, rep))));
    }
    rows.push_str(&format!("{id},{stage},mean,{th}"));
    for v in &e.means {
        rows.push_str(&format!(",{}", num(*v)));
    }
    rows.push_str(&format!(",{}\n", num(e.distance)));
    rows
}

/// A shard's part in a sharded calibration (`talentflow calibrate --shard I/N`; README
/// "Calibration"). Every batch of θ the estimator asks for is the same list in every shard;
/// evaluation `id` is simulated by shard `id mod N`, which appends its rows to its own file
/// `evaluations.shard-I-of-N.csv` in the calibration directory; every shard reads the others'
/// files for the rest of the batch (waiting for them), so all shards go on with the same
/// evaluations. Shard 0 alone writes `evaluations.csv` (every row, copied in order) and the
/// result files, which are therefore the bytes of an unsharded run.
#[derive(Clone, Debug)]
pub struct Exchange {
    /// This shard, 0-based.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
    /// The calibration directory (shared by every shard).
    pub dir: PathBuf,
    /// Longest wait for the other shards with no new evaluation from any of them.
    pub timeout: Duration,
}

/// Prefix of the shards' evaluation files.
pub const SHARD_PREFIX: &str = "evaluations.shard-";

impl Exchange {
    /// File name of shard `index` of `count`.
    pub fn file_name(index: usize, count: usize) -> String {
        format!("{SHARD_PREFIX}{index}-of-{count}.csv")
    }

    /// Whether `name` is a shard's evaluations file.
    pub fn is_shard_file(name: &str) -> bool {
        name.starts_with(SHARD_PREFIX) && name.ends_with(".csv")
    }

    /// Which shard simulates evaluation `id`.
    pub fn owner(&self, id: usize) -> usize {
        id % self.count
    }
}

/// A shard's own file (its path and the open handle it appends to), and what it has read of
/// every shard's file: each file is read on from where the last look stopped (the end of its
/// last complete evaluation), so waiting costs a look at the new bytes only.
struct ShardFile {
    exchange: Exchange,
    path: PathBuf,
    file: fs::File,
    /// Bytes of each shard file parsed so far.
    read_to: BTreeMap<String, u64>,
    /// Complete evaluations read and not yet used, by id.
    rows: BTreeMap<usize, (Evaluated, String)>,
}

impl ShardFile {
    /// Reads what is new in every shard file of the directory (of any shard count: rows of the
    /// same calibration are the same whoever simulated them); returns whether anything was.
    fn poll(&mut self, head: &str, k: usize, n: usize) -> Result<bool, CalibrateError> {
        let dir = &self.exchange.dir;
        let mut names: Vec<String> = fs::read_dir(dir)
            .map_err(io(dir))?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| Exchange::is_shard_file(n))
            .collect();
        names.sort();
        let mut news = false;
        for name in names {
            let path = dir.join(&name);
            let from = self.read_to.get(&name).copied().unwrap_or(0);
            let mut f = match fs::File::open(&path) {
                Ok(f) => f,
                // Being created by its shard: read it at the next look.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io(&path)(e)),
            };
            f.seek(SeekFrom::Start(from)).map_err(io(&path))?;
            let mut bytes = Vec::new();
            f.take(MAX_DATA_BYTES)
                .read_to_end(&mut bytes)
                .map_err(io(&path))?;
            // Rows are ASCII; a torn multi-byte character could only be in the torn tail.
            let text = String::from_utf8_lossy(&bytes);
            let head = (from == 0).then_some(head);
            let (rows, keep) = parse_ledger(&text, head, k, n, &path, false)?;
            self.read_to.insert(name, from + keep as u64);
            for (e, rows) in rows {
                news = true;
                self.rows.entry(e.id).or_insert((e, rows));
            }
        }
        Ok(news)
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
    shard: Option<ShardFile>,
    head: String,
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
            shard: None,
            head: String::new(),
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
        let cached = open_ledger(path, &head, keys.len(), targets.len(), true)?
            .into_iter()
            .map(|(e, _)| e)
            .collect();
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
            shard: None,
            head,
        })
    }

    /// The objective of one shard of a sharded calibration ([`Exchange`]): shard 0 keeps
    /// `evaluations.csv` as [`Objective::with_file`] does; every shard appends what it
    /// simulates to its own file (a torn tail cut back first) and reads the others'.
    pub fn sharded(
        sim: &'a dyn Simulator,
        priors: &'a [Prior],
        targets: &'a [Target],
        keys: &[String],
        exchange: Exchange,
        stop: Stop<'a>,
    ) -> Result<Objective<'a>, CalibrateError> {
        let ledger = exchange.dir.join("evaluations.csv");
        let mut obj = if exchange.index == 0 {
            Objective::with_file(sim, priors, targets, keys, &ledger, stop)?
        } else {
            // Read only: shard 0 writes (and repairs) it.
            let head = header(keys, targets);
            let mut obj = Objective::in_memory(sim, priors, targets, stop);
            obj.cached = open_ledger(&ledger, &head, keys.len(), targets.len(), false)?
                .into_iter()
                .map(|(e, _)| e)
                .collect();
            obj.head = head;
            obj
        };
        let path = exchange
            .dir
            .join(Exchange::file_name(exchange.index, exchange.count));
        // Its ids are every N-th: read (and repaired) without the ledger's order check.
        if path.exists() {
            let text = read_limited_string(&path, MAX_DATA_BYTES).map_err(io(&path))?;
            let (_, keep) = parse_ledger(
                &text,
                Some(&obj.head),
                keys.len(),
                targets.len(),
                &path,
                false,
            )?;
            if keep == 0 {
                fs::write(&path, format!("{}\n", obj.head)).map_err(io(&path))?;
            } else if keep < text.len() {
                let f = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(io(&path))?;
                f.set_len(keep as u64).map_err(io(&path))?;
            }
        } else {
            write_atomic(&path, format!("{}\n", obj.head).as_bytes())?;
        }
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        obj.shard = Some(ShardFile {
            exchange,
            path,
            file,
            read_to: BTreeMap::new(),
            rows: BTreeMap::new(),
        });
        Ok(obj)
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
            let ids: Vec<usize> = (first + out.len()..first + out.len() + todo.len()).collect();
            let done = match self.shard.is_some() {
                true => self.exchange_batch(stage, &ids, todo)?,
                false => {
                    if self.stopped() {
                        return Err(CalibrateError::Interrupted);
                    }
                    let values = self.sim.simulate(&todo, self.stop)?;
                    self.simulated += todo.len();
                    ids.iter()
                        .zip(todo)
                        .zip(values)
                        .map(|((&id, theta), reps)| {
                            let (e, rows) = self.evaluated(id, stage, theta, &reps);
                            (e, rows, true)
                        })
                        .collect()
                }
            };
            for (e, rows, mine) in done {
                if let Some((path, file)) = &mut self.file {
                    file.write_all(rows.as_bytes()).map_err(io(path))?;
                }
                if mine {
                    if let Some(f) = self.on_eval {
                        f(&e);
                    }
                }
                out.push(e);
            }
        }
        self.evaluations.extend(out.iter().cloned());
        Ok(out)
    }

    /// The record and ledger rows of θ evaluated as `id` with replicate values `reps`.
    fn evaluated(
        &self,
        id: usize,
        stage: &str,
        theta: Vec<f64>,
        reps: &[Vec<f64>],
    ) -> (Evaluated, String) {
        let r = self.sim.replicates();
        let mut means = vec![0.0; self.targets.len()];
        for rep in reps {
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
        let rows = rows_text(self.sim, self.targets, &e, reps);
        (e, rows)
    }

    /// A batch in a sharded calibration: what the shard files already hold is taken from them;
    /// of the rest, this shard simulates its own ids (one append to its file), then waits for
    /// the other shards' until every id of the batch is there. Returns (record, rows, whether
    /// this process simulated it), in id order.
    #[allow(clippy::type_complexity)]
    fn exchange_batch(
        &mut self,
        stage: &str,
        ids: &[usize],
        thetas: Vec<Vec<f64>>,
    ) -> Result<Vec<(Evaluated, String, bool)>, CalibrateError> {
        let (k, n) = (self.priors.len(), self.targets.len());
        let head = self.head.clone();
        let Some(shard) = &mut self.shard else {
            return Err(CalibrateError::Results("not a sharded calibration".into()));
        };
        let ex = shard.exchange.clone();
        let want: BTreeSet<usize> = ids.iter().copied().collect();
        shard.poll(&head, k, n)?;
        let mut have: BTreeMap<usize, (Evaluated, String)> = BTreeMap::new();
        for id in &want {
            if let Some(r) = shard.rows.remove(id) {
                have.insert(*id, r);
            }
        }
        let mut mine_ids = Vec::new();
        let mut mine_thetas = Vec::new();
        for (&id, theta) in ids.iter().zip(&thetas) {
            if !have.contains_key(&id) && ex.owner(id) == ex.index {
                mine_ids.push(id);
                mine_thetas.push(theta.clone());
            }
        }
        let mut simulated = std::collections::BTreeSet::new();
        if !mine_ids.is_empty() {
            if self.stopped() {
                return Err(CalibrateError::Interrupted);
            }
            let values = self.sim.simulate(&mine_thetas, self.stop)?;
            self.simulated += mine_ids.len();
            let mut text = String::new();
            let mut made = Vec::new();
            for ((&id, theta), reps) in mine_ids.iter().zip(mine_thetas).zip(values) {
                let (e, rows) = self.evaluated(id, stage, theta, &reps);
                text.push_str(&rows);
                made.push((e, rows));
            }
            if let Some(shard) = &mut self.shard {
                shard
                    .file
                    .write_all(text.as_bytes())
                    .map_err(io(&shard.path))?;
            }
            for (e, rows) in made {
                simulated.insert(e.id);
                have.insert(e.id, (e, rows));
            }
        }
        let mut last_news = Instant::now();
        loop {
            let missing: BTreeSet<usize> = want
                .iter()
                .copied()
                .filter(|id| !have.contains_key(id))
                .collect();
            if missing.is_empty() {
                break;
            }
            if self.stopped() {
                return Err(CalibrateError::Interrupted);
            }
            if last_news.elapsed() > ex.timeout {
                let mut by_shard: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
                for &id in &missing {
                    by_shard.entry(ex.owner(id)).or_default().push(id);
                }
                let who: Vec<String> = by_shard
                    .iter()
                    .map(|(s, ids)| {
                        format!(
                            "shard {s}/{} (evaluations {}; {})",
                            ex.count,
                            ids.iter()
                                .map(|i| i.to_string())
                                .collect::<Vec<_>>()
                                .join(", "),
                            Exchange::file_name(*s, ex.count)
                        )
                    })
                    .collect();
                return Err(CalibrateError::Results(format!(
                    "shard {}/{}: no new evaluation from the other shards in {} s; waiting for {} in {}. \
                     Is every shard running (talentflow calibrate FILE --shard I/{} --out {})? \
                     Everything so far is kept: run this shard again to resume, or give a longer --wait",
                    ex.index,
                    ex.count,
                    ex.timeout.as_secs(),
                    who.join(", "),
                    ex.dir.display(),
                    ex.count,
                    ex.dir.display()
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
            if let Some(shard) = &mut self.shard {
                if shard.poll(&head, k, n)? {
                    last_news = Instant::now();
                }
                for id in &missing {
                    if let Some(r) = shard.rows.remove(id) {
                        have.insert(*id, r);
                    }
                }
            }
        }
        // Later batches ask for later ids only: what was read of this one (this shard's own
        // rows, read back at a look) is dropped.
        if let (Some(shard), Some(&last)) = (&mut self.shard, ids.last()) {
            shard.rows.retain(|&id, _| id > last);
        }
        let mut out = Vec::with_capacity(ids.len());
        for (&id, theta) in ids.iter().zip(&thetas) {
            let Some((e, rows)) = have.remove(&id) else {
                return Err(CalibrateError::Results(format!(
                    "evaluation {id} is missing"
                )));
            };
            let same = e.stage == stage
                && e.theta.len() == theta.len()
                && e.theta
                    .iter()
                    .zip(theta)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
            if !same {
                return Err(CalibrateError::Results(format!(
                    "{}: evaluation {id} is {} at ({}), but this calibration asks for {stage} at \
                     ({}); the shard files belong to another run (remove them, or use a new --out)",
                    ex.dir.display(),
                    e.stage,
                    e.theta
                        .iter()
                        .map(|x| num(*x))
                        .collect::<Vec<_>>()
                        .join(", "),
                    theta.iter().map(|x| num(*x)).collect::<Vec<_>>().join(", ")
                )));
            }
            let mine = simulated.contains(&id);
            out.push((e, rows, mine));
        }
        Ok(out)
    }
}
