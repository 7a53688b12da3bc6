//! The sweep directory: preparing it, appending results, resuming, merging shards, and reading
//! complete results back for analysis.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use rayon::prelude::*;
use serde_json::json;

use super::{Shard, Sweep, SweepError, SweepFile};
use crate::rundir::input::{read_limited_string, MAX_DATA_BYTES, MAX_JSON_BYTES};
use crate::rundir::lock::{self, DirLock};
use crate::rundir::write::{write_atomic, OutputError};
use crate::scenario::load::MAX_SCENARIO_BYTES;
use crate::scenario::text::echo;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SweepError + '_ {
    move |source| {
        SweepError::Output(OutputError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// `design.csv`: run id, point, replicate, seed and every parameter value, one row per run.
pub fn design_csv(sweep: &Sweep) -> Vec<u8> {
    let mut out = String::from("run_id,point,replicate,seed");
    for name in sweep.parameter_names() {
        out.push(',');
        out.push_str(&name);
    }
    out.push('\n');
    for id in 0..sweep.total_runs() {
        let (point, rep, seed) = sweep.run_plan(id);
        out.push_str(&format!("{id},{point},{rep},{seed}"));
        for v in &sweep.values[point] {
            out.push_str(&format!(",{v}"));
        }
        out.push('\n');
    }
    out.into_bytes()
}

/// Header of a results file.
pub fn results_header(sweep: &Sweep) -> String {
    let mut h = String::from("run_id");
    for o in &sweep.outcomes {
        h.push(',');
        h.push_str(&o.name);
    }
    h
}

/// One results row (with its newline).
pub fn results_line(id: usize, values: &[f64]) -> String {
    let mut line = id.to_string();
    for v in values {
        line.push(',');
        line.push_str(&v.to_string());
    }
    line.push('\n');
    line
}

/// Whether `dir` holds anything but lock files.
fn has_files(dir: &Path) -> Result<bool, SweepError> {
    for entry in fs::read_dir(dir).map_err(io(dir))? {
        let name = entry.map_err(io(dir))?.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with('.') && name.ends_with(".lock")) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Refuses a file of the sweep directory that is a symlink: results are appended to and cut
/// in place, which must never reach a file outside the directory.
pub(super) fn refuse_symlink(path: &Path) -> Result<(), SweepError> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() || (m.is_dir()) => Err(io(path)(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "is a symlink or a directory, not a results file; remove it",
        ))),
        _ => Ok(()),
    }
}

/// Takes the directory's lock for the short time a sweep directory is checked and written;
/// shards starting together wait for each other (up to a minute) rather than fail.
fn lock_briefly(dir: &Path) -> Result<DirLock, SweepError> {
    let mut tries = 0;
    loop {
        match lock::acquire(dir, lock::LOCK) {
            Err(OutputError::Busy { .. }) if tries < 600 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            other => return other.map_err(SweepError::from),
        }
    }
}

/// Makes `dir` ready for `sweep`: a new directory gets sweep.toml, design.csv and sweep.json; an
/// existing one must hold the same sweep (same hash), else it is refused unless `force`. The
/// check and the writes happen under the directory's lock, so two different sweeps started at
/// once on one new directory cannot both take it; shards of the same sweep share it.
pub fn prepare(sweep: &Sweep, dir: &Path, force: bool) -> Result<(), SweepError> {
    if dir.exists() && !dir.is_dir() {
        return Err(OutputError::NotADirectory(dir.to_path_buf()).into());
    }
    fs::create_dir_all(dir).map_err(io(dir))?;
    let _lock = lock_briefly(dir)?;
    let meta_path = dir.join("sweep.json");
    if meta_path.exists() {
        let text = read_limited_string(&meta_path, MAX_JSON_BYTES).map_err(io(&meta_path))?;
        let found: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let hash = found["hash"].as_str().unwrap_or("unreadable");
        if hash == sweep.hash {
            return Ok(());
        }
        if !force {
            let version = found["talentflow_version"].as_str().unwrap_or("?");
            return Err(SweepError::Mismatch {
                dir: dir.to_path_buf(),
                found: format!("hash {}, talentflow {}", echo(hash), echo(version)),
                expected: format!("hash {}, talentflow {}", sweep.hash, crate::VERSION),
            });
        }
        for entry in fs::read_dir(dir).map_err(io(dir))?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let ours = name.starts_with("results")
                || ["design.csv", "sweep.json", "sweep.toml", "sensitivity.csv"]
                    .contains(&name.as_str());
            // Files (or links, never followed); a directory of such a name is left alone.
            if ours && entry.file_type().is_ok_and(|t| !t.is_dir()) {
                fs::remove_file(entry.path()).map_err(io(&entry.path()))?;
            }
        }
    } else if has_files(dir)? && !force {
        return Err(OutputError::Exists(dir.to_path_buf()).into());
    }
    write_atomic(&dir.join("sweep.toml"), sweep.text.as_bytes())?;
    write_atomic(&dir.join("design.csv"), &design_csv(sweep))?;
    let meta = json!({
        "format": "talentflow-sweep/1",
        "talentflow_version": crate::VERSION,
        "model_version": crate::MODEL_VERSION,
        "hash": sweep.hash,
        "name": sweep.spec.name,
        "sweep_file": sweep.path.display().to_string(),
        "total_runs": sweep.total_runs(),
        "points": sweep.points.len(),
        "replicates": sweep.spec.replicates,
        "parameters": sweep.parameter_names(),
        // Shared overrides of every run: the file's `set`, then the command line's `--set`.
        "set": sweep.spec.set,
        "outcomes": sweep.outcomes.iter().map(|o| o.name.clone()).collect::<Vec<_>>(),
        "design": sweep.spec.design,
    });
    write_atomic(
        &meta_path,
        (serde_json::to_string_pretty(&meta).unwrap_or_default() + "\n").as_bytes(),
    )?;
    Ok(())
}

/// Claims the results file of `shard` in `dir` for this process (its lock file
/// `.results….lock`): two processes running the same shard would run every run twice and
/// interleave their rows. Other shards are not affected.
pub fn claim_results(dir: &Path, shard: Shard) -> Result<DirLock, SweepError> {
    Ok(lock::acquire(
        dir,
        &format!(".{}.lock", shard.results_file()),
    )?)
}

/// Reads a results file: run id → row text. A torn last line (no newline, from a killed writer)
/// is cut off the file. The header must be `expected_header`; every row must have a run id in
/// `0..total` and one number per outcome (a run listed twice must have the same row twice).
pub fn read_results(
    path: &Path,
    expected_header: &str,
    total: usize,
) -> Result<BTreeMap<usize, String>, SweepError> {
    let mut rows = BTreeMap::new();
    if !path.exists() {
        return Ok(rows);
    }
    refuse_symlink(path)?;
    let mut text = read_limited_string(path, MAX_DATA_BYTES).map_err(io(path))?;
    if !text.is_empty() && !text.ends_with('\n') {
        let keep = text.rfind('\n').map_or(0, |i| i + 1);
        text.truncate(keep);
        let f = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(io(path))?;
        f.set_len(keep as u64).map_err(io(path))?;
    }
    let mut lines = text.lines();
    match lines.next() {
        None => return Ok(rows),
        Some(h) if h == expected_header => {}
        Some(h) => {
            return Err(SweepError::Results(format!(
                "{}: header `{}` does not match this sweep's outcomes `{expected_header}`",
                path.display(),
                echo(h)
            )))
        }
    }
    let columns = expected_header.split(',').count();
    for (n, line) in lines.enumerate() {
        let at =
            |m: String| SweepError::Results(format!("{}: line {}: {m}", path.display(), n + 2));
        let fields: Vec<&str> = line.split(',').collect();
        let id = fields[0]
            .parse::<usize>()
            .ok()
            .filter(|&id| id < total)
            .ok_or_else(|| {
                at(format!(
                    "`{}` is not a run id of this sweep (0..{total})",
                    echo(fields[0])
                ))
            })?;
        if fields.len() != columns {
            return Err(at(format!(
                "{} fields, expected {columns} (run_id and one per outcome)",
                fields.len()
            )));
        }
        // What `results_line` writes: Rust's f64 text, `NaN` and `inf` included.
        if let Some((col, bad)) = fields
            .iter()
            .enumerate()
            .skip(1)
            .find(|(_, f)| f.parse::<f64>().is_err())
        {
            return Err(at(format!(
                "column {} (`{}`): `{}` is not a number",
                col + 1,
                echo(expected_header.split(',').nth(col).unwrap_or("?")),
                echo(bad)
            )));
        }
        let row = format!("{line}\n");
        match rows.get(&id) {
            Some(existing) if *existing != row => {
                return Err(at(format!("run {id} appears twice with different values")))
            }
            Some(_) => {}
            None => {
                rows.insert(id, row);
            }
        }
    }
    Ok(rows)
}

/// What a call to [`execute`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecuteReport {
    /// Runs of this shard.
    pub shard_runs: usize,
    /// Of those, already done before this call.
    pub already_done: usize,
    /// Run by this call.
    pub ran: usize,
    /// The results file.
    pub results: PathBuf,
}

/// Runs the runs of `shard` that have no results row yet, appending each row as it finishes; then
/// rewrites the results file sorted by run id. `on_done(done, total)` reports progress; once
/// `stop` is set no new run starts and finished rows are kept.
pub fn execute(
    sweep: &Sweep,
    dir: &Path,
    shard: Shard,
    stop: &(dyn Fn() -> bool + Sync),
    on_done: &(dyn Fn(usize, usize) + Sync),
) -> Result<ExecuteReport, SweepError> {
    let path = dir.join(shard.results_file());
    let _claim = claim_results(dir, shard)?;
    let header = results_header(sweep);
    let done = read_results(&path, &header, sweep.total_runs())?;
    let mine: Vec<usize> = (0..sweep.total_runs())
        .filter(|&id| shard.contains(id))
        .collect();
    let todo: Vec<usize> = mine
        .iter()
        .copied()
        .filter(|id| !done.contains_key(id))
        .collect();
    let already = mine.len() - todo.len();
    // Every point this process will run, checked before it runs any (ids are point-major, so
    // the points come sorted).
    let mut points: Vec<usize> = todo.iter().map(|&id| sweep.run_plan(id).0).collect();
    points.dedup();
    sweep.check_points(&points, stop, already, todo.len())?;
    refuse_symlink(&path)?;
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(io(&path))?;
    if done.is_empty() && fs::metadata(&path).map(|m| m.len() == 0).unwrap_or(true) {
        file.write_all(format!("{header}\n").as_bytes())
            .map_err(io(&path))?;
    }
    let file = Mutex::new(file);
    let counter = AtomicUsize::new(already);
    on_done(already, mine.len());
    let outcome: Result<(), SweepError> = todo.par_iter().try_for_each(|&id| {
        if stop() {
            return Ok(());
        }
        let values = sweep.run_one(id)?;
        append(&file, &path, &results_line(id, &values))?;
        on_done(counter.fetch_add(1, Ordering::Relaxed) + 1, mine.len());
        Ok(())
    });
    outcome?;
    let finished = counter.load(Ordering::Relaxed);
    if finished < mine.len() {
        return Err(SweepError::Interrupted {
            done: finished,
            left: mine.len() - finished,
        });
    }
    sort_results(&path, &header, sweep.total_runs())?;
    Ok(ExecuteReport {
        shard_runs: mine.len(),
        already_done: already,
        ran: finished - already,
        results: path,
    })
}

/// Appends one whole row with a single write, then flushes it to the disk.
pub fn append(file: &Mutex<fs::File>, path: &Path, line: &str) -> Result<(), SweepError> {
    let mut f = file.lock().unwrap_or_else(|e| e.into_inner());
    f.write_all(line.as_bytes()).map_err(io(path))?;
    f.sync_data().map_err(io(path))
}

/// Rewrites a results file sorted by run id (atomically).
pub fn sort_results(path: &Path, header: &str, total: usize) -> Result<(), SweepError> {
    let rows = read_results(path, header, total)?;
    let mut text = format!("{header}\n");
    for row in rows.values() {
        text.push_str(row);
    }
    write_atomic(path, text.as_bytes())?;
    Ok(())
}

/// What `sweep.json` says about a sweep directory, checked against its `sweep.toml`.
struct SweepMeta {
    hash: String,
    total_runs: usize,
    outcomes: Vec<String>,
    spec: SweepFile,
}

impl SweepMeta {
    /// Reads `sweep.json` and `sweep.toml`; the number of runs is the design's (a pure function
    /// of the sweep file, bounded by its checks), and `sweep.json` must agree with it: an edited
    /// `total_runs` of 10^12 never sizes anything.
    fn read(dir: &Path) -> Result<SweepMeta, SweepError> {
        let p = dir.join("sweep.json");
        let text = read_limited_string(&p, MAX_JSON_BYTES).map_err(io(&p))?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| SweepError::Results(format!("{}: {e}", p.display())))?;
        let outcomes: Vec<String> = v["outcomes"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|o| o.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let toml_path = dir.join("sweep.toml");
        let toml_text =
            read_limited_string(&toml_path, MAX_SCENARIO_BYTES).map_err(io(&toml_path))?;
        let damaged = |m: String| SweepError::Results(format!("{}: {m}", toml_path.display()));
        let spec: SweepFile =
            toml::from_str(&toml_text).map_err(|e| damaged(e.message().to_string()))?;
        let (problems, parsed) = spec.check();
        if let Some(first) = problems.first() {
            return Err(damaged(first.clone()));
        }
        let levels: Vec<usize> = spec
            .parameters
            .iter()
            .map(|p| p.levels(&spec.design))
            .collect();
        let total = spec.design.points(&levels) * spec.replicates as usize;
        let claimed = v["total_runs"].as_u64();
        if claimed != Some(total as u64) {
            return Err(SweepError::Results(format!(
                "{}: `total_runs` is {}, but its sweep.toml has {total} runs",
                p.display(),
                claimed.map_or("missing".to_string(), |c| c.to_string())
            )));
        }
        let names: Vec<&str> = parsed.iter().map(|o| o.name.as_str()).collect();
        if outcomes.iter().map(String::as_str).collect::<Vec<_>>() != names {
            return Err(SweepError::Results(format!(
                "{}: `outcomes` differ from its sweep.toml's",
                p.display()
            )));
        }
        Ok(SweepMeta {
            hash: v["hash"].as_str().unwrap_or_default().to_string(),
            total_runs: total,
            outcomes,
            spec,
        })
    }

    /// The header every results file of this sweep has.
    fn header(&self) -> String {
        std::iter::once("run_id")
            .chain(self.outcomes.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// What [`merge`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeReport {
    /// Runs in the design.
    pub total: usize,
    /// Runs with a result.
    pub found: usize,
    /// Run ids without a result.
    pub missing: Vec<usize>,
    /// Run ids present more than once (with identical rows).
    pub duplicates: Vec<usize>,
    /// The merged file.
    pub merged: PathBuf,
}

/// Joins the results of every shard file in `dirs` (all of the same sweep) into
/// `dirs[0]/results.csv`, sorted by run id. Rows for the same run that differ are an error.
pub fn merge(dirs: &[PathBuf]) -> Result<MergeReport, SweepError> {
    let first = dirs
        .first()
        .ok_or_else(|| SweepError::Results("merge needs at least one directory".into()))?;
    let m0 = SweepMeta::read(first)?;
    let (total, header) = (m0.total_runs, m0.header());
    let mut rows: BTreeMap<usize, String> = BTreeMap::new();
    let mut duplicates = Vec::new();
    let mut conflicts = Vec::new();
    for d in dirs {
        let m = SweepMeta::read(d)?;
        if m.hash != m0.hash {
            return Err(SweepError::Results(format!(
                "{} holds a different sweep (hash {}) than {} (hash {})",
                d.display(),
                echo(&m.hash),
                first.display(),
                m0.hash
            )));
        }
        let mut files: Vec<PathBuf> = fs::read_dir(d)
            .map_err(io(d))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let n = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                n.starts_with("results") && n.ends_with(".csv")
            })
            .collect();
        files.sort();
        for f in files {
            for (id, row) in read_results(&f, &header, total)? {
                match rows.get(&id) {
                    Some(existing) if *existing == row => duplicates.push(id),
                    Some(_) => conflicts.push(id),
                    None => {
                        rows.insert(id, row);
                    }
                }
            }
        }
    }
    if !conflicts.is_empty() {
        conflicts.sort_unstable();
        conflicts.dedup();
        return Err(SweepError::Results(format!(
            "{} runs have different results in different files (first: {:?}); were they made by different versions?",
            conflicts.len(),
            &conflicts[..conflicts.len().min(10)]
        )));
    }
    duplicates.sort_unstable();
    duplicates.dedup();
    let merged = first.join("results.csv");
    let mut text = format!("{header}\n");
    for row in rows.values() {
        text.push_str(row);
    }
    write_atomic(&merged, text.as_bytes())?;
    let missing = (0..total).filter(|id| !rows.contains_key(id)).collect();
    Ok(MergeReport {
        total,
        found: rows.len(),
        missing,
        duplicates,
        merged,
    })
}

/// A finished sweep read back: its file, design points and the results matrix `[run][outcome]`.
pub struct Complete {
    /// The sweep file.
    pub spec: SweepFile,
    /// Design points in `[0, 1]^k`.
    pub points: Vec<Vec<f64>>,
    /// Outcome names.
    pub outcomes: Vec<String>,
    /// Outcome values averaged over replicates, `[point][outcome]`.
    pub point_means: Vec<Vec<f64>>,
}

/// Reads a sweep directory whose `results.csv` is complete.
pub fn read_complete(dir: &Path) -> Result<Complete, SweepError> {
    let meta = SweepMeta::read(dir)?;
    let (outcomes, header) = (meta.outcomes.clone(), meta.header());
    let spec = meta.spec;
    let (points, _) = spec.design_points()?;
    let reps = spec.replicates.max(1) as usize;
    let total = points.len() * reps;
    let path = dir.join("results.csv");
    let rows = read_results(&path, &header, total)?;
    let missing = total - rows.len();
    if missing > 0 {
        return Err(SweepError::Results(format!(
            "{}: {missing} of {total} runs have no result; finish the sweep (or `talentflow merge` its shards) first",
            path.display()
        )));
    }
    let mut point_means = vec![vec![0.0; outcomes.len()]; points.len()];
    for (id, row) in &rows {
        // `read_results` checked every id (< total) and every value (a number).
        let values = row.trim_end().split(',').skip(1);
        for (o, v) in values.enumerate().take(outcomes.len()) {
            let v: f64 = v.parse().unwrap_or(f64::NAN);
            point_means[id / reps][o] += v / reps as f64;
        }
    }
    Ok(Complete {
        spec,
        points,
        outcomes,
        point_means,
    })
}
