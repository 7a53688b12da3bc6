//! MPI distribution of a sweep (cargo feature `mpi`): rank 0 hands out run ids one at a time to
//! whichever worker asks (dynamic load balancing: runs differ in cost), workers send back whole
//! result rows, and rank 0 alone writes them. The results file is sorted at the end, so it is
//! byte-identical to a local run of the same sweep. Start it as `mpirun -np K talentflow sweep
//! FILE --mpi`; each worker runs one simulation at a time on one thread.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use mpi::traits::*;

use super::files::{self, append, prepare, read_results, results_header, sort_results};
use super::{Shard, Sweep, SweepError};

const TAG_WORK: i32 = 1;
const TAG_RESULT: i32 = 2;
/// Result message kinds (first byte).
const READY: u8 = 0;
const ROW: u8 = 1;
const FAILED: u8 = 2;
/// Run id meaning "no more work".
const STOP: i64 = -1;

/// Runs the sweep over all MPI ranks; returns on every rank when the sweep is complete.
pub fn run(sweep: &Sweep, dir: &Path, force: bool) -> Result<(), SweepError> {
    let universe =
        mpi::initialize().ok_or_else(|| SweepError::Mpi("MPI is already initialised".into()))?;
    let world = universe.world();
    let (rank, size) = (world.rank(), world.size());
    if size < 2 {
        // One rank: nothing to distribute.
        prepare(sweep, dir, force)?;
        files::execute(
            sweep,
            dir,
            Shard::ALL,
            &crate::rundir::interrupt::requested,
            &|_, _| {},
        )?;
        return Ok(());
    }
    if rank == 0 {
        master(sweep, dir, force, &world)
    } else {
        worker(sweep, &world)
    }
}

fn master(
    sweep: &Sweep,
    dir: &Path,
    force: bool,
    world: &impl Communicator,
) -> Result<(), SweepError> {
    // The results file is claimed until the sweep is complete; on an error every worker is
    // still told to stop before it is returned.
    let (prepared, _claim) = match prepare(sweep, dir, force) {
        Ok(()) => match files::claim_results(dir, Shard::ALL) {
            Ok(claim) => (Ok(()), Some(claim)),
            Err(e) => (Err(e), None),
        },
        Err(e) => (Err(e), None),
    };
    let path = dir.join(Shard::ALL.results_file());
    let header = results_header(sweep);
    let total = sweep.total_runs();
    // Every failure from here on is kept in `prepared` (not returned with `?`), so the loop
    // below still tells each worker to stop instead of leaving it waiting.
    let mut todo: Vec<usize> = Vec::new();
    let mut file = None;
    let prepared = prepared.and_then(|()| {
        let done = read_results(&path, &header, total)?;
        todo = (0..total)
            .filter(|id| !done.contains_key(id))
            .rev()
            .collect();
        // The points still to run are checked before any is handed out (ids are point-major).
        let mut points: Vec<usize> = todo.iter().rev().map(|&id| sweep.run_plan(id).0).collect();
        points.dedup();
        sweep.check_points(
            &points,
            &crate::rundir::interrupt::requested,
            done.len(),
            todo.len(),
        )?;
        files::refuse_symlink(&path)?;
        let io = |source| {
            SweepError::Output(crate::rundir::write::OutputError::Io {
                path: path.clone(),
                source,
            })
        };
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io)?;
        if done.is_empty()
            && std::fs::metadata(&path)
                .map(|m| m.len() == 0)
                .unwrap_or(true)
        {
            f.write_all(format!("{header}\n").as_bytes()).map_err(io)?;
        }
        file = Some(Mutex::new(f));
        Ok(())
    });
    if prepared.is_err() {
        todo.clear();
    }
    let mut active = world.size() - 1;
    let mut failure: Option<String> = None;
    while active > 0 {
        let (msg, status) = world.any_process().receive_vec_with_tag::<u8>(TAG_RESULT);
        let from = status.source_rank();
        match msg.first() {
            Some(&ROW) => {
                if let Some(f) = &file {
                    append(f, &path, &String::from_utf8_lossy(&msg[1..]))?;
                }
            }
            Some(&FAILED) => {
                failure.get_or_insert_with(|| String::from_utf8_lossy(&msg[1..]).into_owned());
                todo.clear();
            }
            _ => {}
        }
        let next = if failure.is_some() { None } else { todo.pop() };
        let id: i64 = next.map_or(STOP, |id| id as i64);
        world.process_at_rank(from).send_with_tag(&id, TAG_WORK);
        if id == STOP {
            active -= 1;
        }
    }
    prepared?;
    if let Some(f) = failure {
        return Err(SweepError::Mpi(f));
    }
    sort_results(&path, &header, total)
}

fn worker(sweep: &Sweep, world: &impl Communicator) -> Result<(), SweepError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .map_err(|e| SweepError::Mpi(e.to_string()))?;
    let root = world.process_at_rank(0);
    root.send_with_tag(&[READY][..], TAG_RESULT);
    loop {
        let (id, _) = root.receive_with_tag::<i64>(TAG_WORK);
        if id == STOP {
            return Ok(());
        }
        let id = id as usize;
        let mut msg = Vec::new();
        match pool.install(|| sweep.run_one(id)) {
            Ok(values) => {
                msg.push(ROW);
                msg.extend_from_slice(files::results_line(id, &values).as_bytes());
            }
            Err(e) => {
                msg.push(FAILED);
                msg.extend_from_slice(e.to_string().as_bytes());
            }
        }
        root.send_with_tag(&msg[..], TAG_RESULT);
    }
}
