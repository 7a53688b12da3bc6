//! Hostile directories and faults (issue 17), one section per class of defect: crafted run,
//! sweep and experiment directories (symlinks out of them, sizes and ids that lie, FIFOs,
//! sparse terabytes, garbage values), closed pipes, memory limits, `--force` on an old
//! experiment, and a finished run that must read back whatever text it was given. Study and
//! scenario files that must be refused are in `tests/bad_scenarios/` (see `bad_input.rs`); the
//! concurrent writers are in `concurrency.rs`.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use common::talentflow;

fn scratch(name: &str) -> PathBuf {
    common::scratch("hostile", name)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "stdout: {}\nstderr: {}",
        text(&o.stdout),
        text(&o.stderr)
    );
}

/// A clean refusal: exit 1, `error: …` naming `phrase`, no panic.
fn refused(o: &Output, phrase: &str) {
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "exit {:?}: {err}", o.status);
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(phrase), "expected {phrase:?} in:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Copies a directory's regular files (one level) to a fresh scratch directory.
fn copy_dir(from: &Path, name: &str) -> PathBuf {
    let to = scratch(name);
    fs::create_dir_all(&to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
    to
}

/// A finished small run, made once per test binary.
fn finished_run() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = scratch("finished");
        ok(&talentflow(&[
            "run",
            "toy3",
            "--years",
            "1",
            "--agents",
            "300",
            "-q",
            "--out",
            s(&dir),
        ]));
        dir
    })
}

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

fn set_manifest(dir: &Path, m: &serde_json::Value) {
    fs::write(
        dir.join("manifest.json"),
        serde_json::to_vec_pretty(m).unwrap(),
    )
    .unwrap();
}

/// Replaces file `name` of a run directory and records its new blake3 in the manifest, as an
/// adversary who knows the format would: the forgery passes the integrity check.
fn forge(dir: &Path, name: &str, bytes: &[u8]) {
    fs::write(dir.join(name), bytes).unwrap();
    let mut m = manifest(dir);
    m["outputs"][name]["blake3"] = blake3::hash(bytes).to_hex().to_string().into();
    set_manifest(dir, &m);
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                0xEDB8_8320 ^ (crc >> 1)
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn mkfifo(path: &Path) {
    let st = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(st.success());
}

// ---- 1. Nothing is written outside the directory given ------------------------------------

#[test]
fn force_never_follows_a_symlink_out_of_the_directory() {
    let outside = scratch("outside-plots");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("precious.svg"), "keep").unwrap();
    // A run directory whose plots/ is a symlink to a folder of the user's figures.
    let run = copy_dir(finished_run(), "symlinked-plots");
    std::os::unix::fs::symlink(&outside, run.join("plots")).unwrap();
    ok(&talentflow(&[
        "run",
        "toy3",
        "--years",
        "1",
        "--agents",
        "300",
        "-q",
        "--force",
        "--out",
        s(&run),
    ]));
    assert_eq!(
        fs::read_to_string(outside.join("precious.svg")).unwrap(),
        "keep"
    );

    // An experiment directory whose runs/ is a symlink: --keep-runs would write through it.
    let exp = scratch("symlinked-runs");
    fs::create_dir_all(&exp).unwrap();
    fs::write(exp.join("summary.csv"), "old").unwrap();
    std::os::unix::fs::symlink(&outside, exp.join("runs")).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny_experiment.toml");
    let r = talentflow(&[
        "experiment",
        s(&fixture),
        "--replicates",
        "1",
        "--keep-runs",
        "--force",
        "-q",
        "--out",
        s(&exp),
    ]);
    refused(&r, "is not a directory of kept runs");
    let names: Vec<_> = fs::read_dir(&outside)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["precious.svg"], "{names:?}");
}

#[test]
fn a_results_file_that_is_a_symlink_is_refused() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny_sweep.toml");
    let dir = scratch("symlinked-results");
    ok(&talentflow(&[
        "sweep",
        s(&fixture),
        "--out",
        s(&dir),
        "-q",
        "--shard",
        "0/100",
    ]));
    let victim = scratch("victim.txt");
    fs::write(&victim, "untouched\n").unwrap();
    fs::remove_file(dir.join("results.shard-0-of-100.csv")).unwrap();
    std::os::unix::fs::symlink(&victim, dir.join("results.shard-0-of-100.csv")).unwrap();
    let r = talentflow(&[
        "sweep",
        s(&fixture),
        "--out",
        s(&dir),
        "-q",
        "--shard",
        "0/100",
    ]);
    refused(&r, "is a symlink or a directory, not a results file");
    assert_eq!(fs::read_to_string(&victim).unwrap(), "untouched\n");
}

// ---- 2. Sizes read from files are checked before anything is allocated -------------------

#[test]
fn a_manifest_that_lies_about_ticks_is_refused() {
    for ticks in [
        serde_json::json!(1_000_000_000_000_000u64),
        serde_json::json!(u64::MAX),
    ] {
        let dir = copy_dir(finished_run(), "lying-ticks");
        let mut m = manifest(&dir);
        m["ticks"] = ticks.clone();
        set_manifest(&dir, &m);
        let r = talentflow(&["report", s(&dir)]);
        refused(
            &r,
            &format!("`ticks` is {ticks}, but its scenario.toml runs 12 ticks"),
        );
    }
}

#[test]
fn an_npz_header_that_claims_a_huge_shape_is_refused() {
    let dir = copy_dir(finished_run(), "huge-shape");
    let mut zip = fs::read(dir.join("series.npz")).unwrap();
    // The stored member `flows.npy`: its local header, then the .npy header and the data.
    let name = b"flows.npy";
    let local = zip
        .windows(4 + 26 + name.len())
        .position(|w| w[..4] == *b"PK\x03\x04" && w[30..] == *name)
        .expect("flows.npy in the archive");
    let data = local + 30 + name.len();
    let size = u32::from_le_bytes(zip[local + 18..local + 22].try_into().unwrap()) as usize;
    let npy = &mut zip[data..data + size];
    let header_len = u16::from_le_bytes([npy[8], npy[9]]) as usize;
    let header = String::from_utf8(npy[10..10 + header_len].to_vec()).unwrap();
    let forged = header.replace("'shape': (12, 3, 3)", "'shape': (100000000000, 3, 3)");
    assert_ne!(forged, header, "{header}");
    // Same length: the padding absorbs the longer shape.
    let forged = format!(
        "{}\n",
        forged.trim_end().to_string() + &" ".repeat(header_len - forged.trim_end().len() - 1)
    );
    assert_eq!(forged.len(), header_len);
    npy[10..10 + header_len].copy_from_slice(forged.as_bytes());
    let crc = crc32(&zip[data..data + size]).to_le_bytes();
    zip[local + 14..local + 18].copy_from_slice(&crc);
    let central = zip
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == b"PK\x01\x02")
        .map(|(i, _)| i)
        .find(|&i| zip[i + 46..].starts_with(name))
        .unwrap();
    zip[central + 16..central + 20].copy_from_slice(&crc);
    forge(&dir, "series.npz", &zip);
    let r = talentflow(&["report", s(&dir)]);
    refused(&r, "shape [100000000000, 3, 3] does not match the");
}

#[test]
fn unknown_variables_in_a_forged_csv_are_refused() {
    let dir = copy_dir(finished_run(), "forged-csv");
    let mut csv = fs::read_to_string(dir.join("world.csv")).unwrap();
    for i in 0..3 {
        csv.push_str(&format!("0,2025,invented_{i},1\n"));
    }
    forge(&dir, "world.csv", csv.as_bytes());
    refused(
        &talentflow(&["report", s(&dir)]),
        "unknown variable `invented_0`",
    );
}

#[test]
fn fifos_devices_and_sparse_terabytes_are_refused_without_hanging() {
    // A FIFO where scenario.toml should be: opening it would block forever.
    let dir = copy_dir(finished_run(), "fifo");
    fs::remove_file(dir.join("scenario.toml")).unwrap();
    mkfifo(&dir.join("scenario.toml"));
    refused(&talentflow(&["report", s(&dir)]), "not a regular file");
    // A manifest that is /dev/zero: reading it would never end.
    let dir = copy_dir(finished_run(), "dev-zero");
    fs::remove_file(dir.join("manifest.json")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.join("manifest.json")).unwrap();
    refused(
        &talentflow(&["report", s(&dir)]),
        "not a finished talentflow run",
    );
    // An unfinished run whose checkpoint claims a terabyte (sparse: no disk space used).
    let dir = scratch("sparse-checkpoint");
    ok(&talentflow(&[
        "run",
        "toy3",
        "--years",
        "1",
        "--agents",
        "300",
        "-q",
        "--out",
        s(&dir),
    ]));
    fs::remove_file(dir.join("manifest.json")).unwrap();
    let f = fs::File::create(dir.join("checkpoint.postcard")).unwrap();
    f.set_len(1 << 40).unwrap();
    drop(f);
    refused(
        &talentflow(&["resume", s(&dir)]),
        "1099511627776 bytes; such a file holds at most",
    );
}

/// A finished tiny Morris sweep (24 runs), made once.
fn finished_sweep() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny_sweep.toml");
        let dir = scratch("sweep");
        ok(&talentflow(&["sweep", s(&fixture), "--out", s(&dir), "-q"]));
        dir
    })
}

#[test]
fn a_sweep_json_that_lies_about_its_runs_is_refused() {
    let dir = copy_dir(finished_sweep(), "lying-total");
    let path = dir.join("sweep.json");
    let mut meta: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    meta["total_runs"] = 1_000_000_000_000u64.into();
    fs::write(&path, serde_json::to_vec(&meta).unwrap()).unwrap();
    refused(
        &talentflow(&["merge", s(&dir)]),
        "`total_runs` is 1000000000000, but its sweep.toml has 24 runs",
    );
    refused(
        &talentflow(&["sensitivity", s(&dir)]),
        "`total_runs` is 1000000000000",
    );
}

#[test]
fn a_damaged_sweep_toml_is_refused_not_a_panic() {
    let dir = copy_dir(finished_sweep(), "damaged-toml");
    let path = dir.join("sweep.toml");
    let t = fs::read_to_string(&path)
        .unwrap()
        .replace("levels = 4", "levels = 0");
    fs::write(&path, t).unwrap();
    refused(
        &talentflow(&["sensitivity", s(&dir)]),
        "design.levels must be an even number ≥ 2 for Morris, found 0",
    );
}

// ---- 4. No panics: closed pipes, out-of-range ids ----------------------------------------

/// Runs talentflow with its stdout a pipe whose reading end is closed before it writes.
fn with_closed_stdout(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_talentflow"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

#[test]
fn a_closed_stdout_ends_every_printing_command_quietly() {
    let run = scratch("pipe-run");
    let plots = scratch("pipe-plots");
    for args in [
        vec!["generate-world", "--countries", "300"],
        vec!["validate", "toy3"],
        vec![
            "run",
            "toy3",
            "--years",
            "1",
            "--agents",
            "300",
            "--out",
            s(&run),
        ],
        vec!["plot", s(finished_run()), "--svg-only", "--out", s(&plots)],
        vec!["sensitivity", s(finished_sweep())],
        vec!["merge", s(finished_sweep())],
        vec!["--help"],
    ] {
        let r = with_closed_stdout(&args);
        assert_eq!(r.status.code(), Some(0), "{args:?}: {}", text(&r.stderr));
        // Progress lines (stderr without a terminal) may be there; nothing about the pipe.
        let err = text(&r.stderr);
        let complaint = err
            .lines()
            .any(|l| l.starts_with("error") || l.contains("panicked") || l.contains("Broken pipe"));
        assert!(!complaint, "{args:?}: {err}");
    }
}

#[test]
fn out_of_range_ids_and_garbage_in_results_are_refused_with_their_place() {
    let results = fs::read_to_string(finished_sweep().join("results.csv")).unwrap();
    let lines: Vec<&str> = results.lines().collect();
    // File line `n + 1` replaced by `new`.
    let replaced = |n: usize, new: &str| -> String {
        let mut v: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        v[n] = new.to_string();
        v.join("\n") + "\n"
    };
    let mut garbled: Vec<&str> = lines[3].split(',').collect();
    garbled[1] = "abc";
    let cases = [
        // An id beyond the design: used to index past the end of the points.
        (
            format!("{results}999999,1,2,3\n"),
            "line 26: `999999` is not a run id of this sweep (0..24)",
        ),
        // An unparsable value: used to become NaN in every index.
        (
            replaced(3, &garbled.join(",")),
            "line 4: column 2 (`gain`): `abc` is not a number",
        ),
        // A short row.
        (replaced(5, "4,1"), "line 6: 2 fields, expected 4"),
        // The same run twice with different values.
        (
            format!("{results}0,9,9,9\n"),
            "line 26: run 0 appears twice with different values",
        ),
    ];
    for (i, (body, phrase)) in cases.iter().enumerate() {
        let dir = copy_dir(finished_sweep(), &format!("garbage-{i}"));
        fs::write(dir.join("results.csv"), body).unwrap();
        let r = talentflow(&["sensitivity", s(&dir)]);
        refused(&r, phrase);
        assert!(
            text(&r.stderr).contains("results.csv: line"),
            "{}",
            text(&r.stderr)
        );
    }
}

// ---- 5. A finished run reads back whatever text it was given -----------------------------

#[test]
fn newlines_in_overrides_and_paths_do_not_break_the_written_scenario() {
    let dir = scratch("newline-source");
    fs::create_dir_all(&dir).unwrap();
    // A scenario file whose name holds a newline, and an override value that holds another.
    let source = dir.join("toy\nthree.toml");
    fs::write(&source, talentflow::scenario::TOY3_TOML).unwrap();
    let out = dir.join("out");
    ok(&talentflow(&[
        "run",
        s(&source),
        "--years",
        "1",
        "--agents",
        "300",
        "-q",
        "--set",
        "country.0.name=\"Hub\\nCity\\u0007\"",
        "--out",
        s(&out),
    ]));
    let written = fs::read_to_string(out.join("scenario.toml")).unwrap();
    assert!(
        written.contains("# Source: ") && written.contains("toy\\nthree.toml"),
        "{written}"
    );
    ok(&talentflow(&["validate", s(&out.join("scenario.toml"))]));
    ok(&talentflow(&["report", s(&out)]));
    // The same run, killed before it ended: resume reads scenario.toml back.
    let unfinished = dir.join("unfinished");
    ok(&talentflow(&[
        "run",
        s(&source),
        "--years",
        "1",
        "--agents",
        "300",
        "-q",
        "--set",
        "country.0.name=\"Hub\\nCity\"",
        "--out",
        s(&unfinished),
    ]));
    fs::remove_file(unfinished.join("manifest.json")).unwrap();
    ok(&talentflow(&["resume", s(&unfinished), "-q"]));
}

// ---- 8. Messages and limits --------------------------------------------------------------

#[test]
fn experiment_force_removes_the_old_experiments_runs_and_only_those() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny_experiment.toml");
    let out = scratch("force-experiment");
    ok(&talentflow(&[
        "experiment",
        s(&fixture),
        "--replicates",
        "2",
        "--keep-runs",
        "-q",
        "--out",
        s(&out),
    ]));
    let kept = out.join("runs/ecosystem/rep001");
    assert!(kept.join("manifest.json").is_file());
    // Something of the user's inside the tree, and a stray partial file of an interruption.
    fs::write(out.join("runs/control/rep000/notes.txt"), "mine").unwrap();
    fs::write(out.join("runs.partial.csv"), "old").unwrap();
    // Another experiment, with other arms and no --keep-runs, over it.
    let other = scratch("other-experiment.toml");
    let text = fs::read_to_string(&fixture)
        .unwrap()
        .replace("name = \"ecosystem\"", "name = \"eco2\"");
    fs::write(&other, text).unwrap();
    ok(&talentflow(&[
        "experiment",
        s(&other),
        "--replicates",
        "2",
        "--force",
        "-q",
        "--out",
        s(&out),
    ]));
    assert!(
        !out.join("runs/ecosystem").exists(),
        "the old arm's runs are left"
    );
    assert!(!out.join("runs/infrastructure").exists());
    assert!(!out.join("runs.partial.csv").exists());
    assert_eq!(
        fs::read_to_string(out.join("runs/control/rep000/notes.txt")).unwrap(),
        "mine"
    );
    let names: Vec<_> = fs::read_dir(out.join("runs/control/rep000"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["notes.txt"]);
    let summary = fs::read_to_string(out.join("summary.csv")).unwrap();
    assert!(summary.contains("eco2") && !summary.contains("ecosystem"));
}

#[test]
fn a_huge_population_under_a_memory_limit_is_an_error_not_an_abort() {
    let out = scratch("oom");
    let cmd = format!(
        "ulimit -v 4000000 && exec '{}' run toy3 --agents 400000000 --years 1 -q --out '{}'",
        env!("CARGO_BIN_EXE_talentflow"),
        s(&out)
    );
    let r = Command::new("sh").args(["-c", &cmd]).output().unwrap();
    refused(
        &r,
        "out of memory: cannot reserve the researcher population",
    );
    assert!(
        text(&r.stderr).contains("400000000 agents"),
        "{}",
        text(&r.stderr)
    );
}

#[test]
fn replicates_from_the_command_line_obey_the_file_limits() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny_experiment.toml");
    let out = scratch("many-replicates");
    for (n, phrase) in [
        (
            "4000000000",
            "--replicates must be in [1, 1000000], found 4000000000",
        ),
        ("0", "--replicates must be in [1, 1000000], found 0"),
    ] {
        let r = talentflow(&[
            "experiment",
            s(&fixture),
            "--replicates",
            n,
            "--out",
            s(&out),
        ]);
        refused(&r, phrase);
        assert!(!out.exists());
    }
    let r = talentflow(&[
        "experiment",
        s(&fixture),
        "--jobs",
        "100000000",
        "--out",
        s(&out),
    ]);
    refused(&r, "--jobs 100000000: at most 4096 worker threads");
    assert!(!out.exists());
}

fn lhs_sweep(name: &str, n: usize) -> PathBuf {
    let path = scratch(&format!("{name}.toml"));
    fs::write(
        &path,
        format!(
            "name = \"{name}\"\nbase = \"toy3\"\nset = [\"world.years=1\", \"world.agents=200\"]\n\
             outcomes = [\"hhi@end\"]\n\n[design]\nkind = \"lhs\"\nn = {n}\n\n\
             [[parameter]]\nkey = \"behaviour.beta_wage\"\nmin = 1.0\nmax = 3.0\n"
        ),
    )
    .unwrap();
    path
}

#[test]
fn a_one_run_shard_of_a_big_design_checks_only_its_own_point() {
    // Every one of the 200,000 points used to be checked before the one run started (minutes
    // in a debug build); now the parameter's range once, then the shard's single point.
    let file = lhs_sweep("big_lhs", 200_000);
    let out = scratch("big_lhs");
    ok(&talentflow(&[
        "sweep",
        s(&file),
        "--out",
        s(&out),
        "-q",
        "--shard",
        "7/200000",
    ]));
    let rows = fs::read_to_string(out.join("results.shard-7-of-200000.csv")).unwrap();
    assert_eq!(rows.lines().count(), 2, "{rows}");
    assert!(rows.lines().nth(1).unwrap().starts_with("7,"));
}

#[test]
fn checking_the_points_stops_when_asked() {
    let sweep = talentflow::study::sweep::Sweep::load(&lhs_sweep("stop_lhs", 5000)).unwrap();
    let points: Vec<usize> = (0..5000).collect();
    let r = sweep.check_points(&points, &|| true, 3, 4997);
    assert!(
        matches!(
            r,
            Err(talentflow::SweepError::Interrupted {
                done: 3,
                left: 4997
            })
        ),
        "{r:?}"
    );
    assert!(sweep.check_points(&points[..50], &|| false, 0, 50).is_ok());
}

#[test]
fn sigterm_stops_a_sweep_while_it_checks_or_runs() {
    let file = lhs_sweep("term_lhs", 20_000);
    let out = scratch("term_lhs");
    let child = Command::new(env!("CARGO_BIN_EXE_talentflow"))
        .args(["sweep", s(&file), "--out", s(&out), "-q"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // design.csv is written before the points are checked and the runs start.
    let started = std::time::Instant::now();
    while !out.join("sweep.json").exists() {
        assert!(started.elapsed().as_secs() < 60, "the sweep never started");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let st = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let r = child.wait_with_output().unwrap();
    assert_eq!(r.status.code(), Some(143), "{}", text(&r.stderr));
    assert!(
        text(&r.stderr).contains("sweep interrupted"),
        "{}",
        text(&r.stderr)
    );
}

// ---- All classes at once: mutated run directories -----------------------------------------

/// Seeded mutations of a finished run's files — byte flips, cuts, insertions of numbers that
/// are huge, negative, NaN or not numbers — most with the manifest's blake3 updated so the
/// forgery passes the integrity check: reading the directory back, and building its report,
/// must give a result or an error, never a panic.
#[test]
fn mutated_run_directories_are_read_or_refused_never_a_panic() {
    use rand_chacha::rand_core::{RngCore, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(17);
    let mut below = |n: usize| (rng.next_u64() % n.max(1) as u64) as usize;
    const TOKENS: &[&str] = &[
        "1e308",
        "-1",
        "NaN",
        "inf",
        "99999999999999999999",
        "18446744073709551615",
        ",",
        "\"",
        "\n",
        "0",
        "",
        "[",
        "{",
        "\u{0}",
        "é",
    ];
    const FILES: &[&str] = &[
        "manifest.json",
        "scenario.toml",
        "countries.csv",
        "world.csv",
        "series.npz",
    ];
    let dir = copy_dir(finished_run(), "mutated");
    let originals: Vec<Vec<u8>> = FILES
        .iter()
        .map(|f| fs::read(dir.join(f)).unwrap())
        .collect();
    let (mut read, mut refused) = (0, 0);
    for _ in 0..3000 {
        for (f, bytes) in FILES.iter().zip(&originals) {
            fs::write(dir.join(f), bytes).unwrap();
        }
        let which = below(FILES.len());
        let mut bytes = originals[which].clone();
        for _ in 0..1 + below(3) {
            let at = below(bytes.len() + 1);
            match below(3) {
                0 if !bytes.is_empty() => {
                    let i = at.min(bytes.len() - 1);
                    bytes[i] ^= 1 << below(8);
                }
                1 => {
                    let end = (at + 1 + below(32)).min(bytes.len());
                    bytes.drain(at.min(end)..end);
                }
                _ => {
                    let t = TOKENS[below(TOKENS.len())].as_bytes().to_vec();
                    bytes.splice(at..at, t);
                }
            }
        }
        if FILES[which] != "manifest.json" && below(5) != 0 {
            forge(&dir, FILES[which], &bytes);
        } else {
            fs::write(dir.join(FILES[which]), &bytes).unwrap();
        }
        match talentflow::rundir::read::read_run(&dir) {
            Ok(_) => {
                read += 1;
                let _ = talentflow::viz::report::report(&dir);
            }
            Err(_) => refused += 1,
        }
    }
    eprintln!("mutated run directories: {read} read back, {refused} refused");
    assert!(refused > 0, "no mutation was noticed");
}
