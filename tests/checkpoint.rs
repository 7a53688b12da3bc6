//! Checkpoints and resume, end to end: a run killed with SIGKILL, or interrupted with SIGINT or
//! SIGTERM, is continued by `talentflow resume` to outputs byte-identical to an uninterrupted run;
//! unfinished, complete, foreign and damaged directories are told apart and refused clearly.

mod common;

use common::talentflow;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use talentflow::rundir::checkpoint;
use talentflow::rundir::interrupt;
use talentflow::rundir::runner::{self, RunEnd};
use talentflow::rundir::write::{self, DirStatus};

const OUTPUTS: [&str; 4] = ["series.npz", "countries.csv", "world.csv", "scenario.toml"];
/// Big enough that the debug build takes a few seconds, so a signal lands mid-run.
const BIG: [&str; 8] = [
    "run", "--agents", "300000", "--years", "8", "--seed", "21", "-q",
];

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_talentflow"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns the binary")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Waits (polling) until `ready` holds; a minute without it is a failure, not a timing check.
fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "gave up waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("kill(1)");
    assert!(status.success());
}

/// The uninterrupted run of `BIG`, once per test binary.
fn reference() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = scratch("reference");
        let mut args = BIG.to_vec();
        args.extend(["--out", dir.to_str().unwrap()]);
        let r = talentflow(&args);
        assert!(r.status.success(), "{}", text(&r.stderr));
        dir
    })
}

fn assert_same_outputs(dir: &Path) {
    for f in OUTPUTS {
        let a = std::fs::read(reference().join(f)).unwrap();
        let b = std::fs::read(dir.join(f)).unwrap();
        assert!(a == b, "{f} differs from the uninterrupted run");
    }
    assert_eq!(write::status(dir), DirStatus::Complete);
    assert!(
        !dir.join(write::CHECKPOINT).exists(),
        "checkpoint left behind"
    );
}

fn checkpoint_tick(dir: &Path) -> Option<u64> {
    checkpoint::read_header(&dir.join(write::CHECKPOINT))
        .ok()
        .map(|h| h.tick)
}

fn scratch(name: &str) -> PathBuf {
    common::scratch("checkpoint", name)
}

#[test]
fn killed_with_sigkill_then_resumed_gives_identical_bytes() {
    let reference = reference();
    let dir = scratch("killed");
    let mut args = BIG.to_vec();
    args.extend(["--out", dir.to_str().unwrap(), "--checkpoint-every", "1"]);
    let mut child = spawn(&args);
    wait_for("the first checkpoint", || checkpoint_tick(&dir).is_some());
    child.kill().expect("SIGKILL"); // std's kill is SIGKILL on Unix
    let status = child.wait().unwrap();
    assert!(!status.success());

    let ticks = 8 * 12;
    let at = checkpoint_tick(&dir).expect("an intact checkpoint survives the kill");
    assert!(at < ticks, "the run finished before the kill");
    assert_eq!(
        write::status(&dir),
        DirStatus::Unfinished { checkpoint: true }
    );
    // The killed process could not remove its lock file; the kernel released its lock, so the
    // file is no obstacle: resume takes it over (and removes it when done, see below).
    assert!(dir.join(talentflow::rundir::lock::LOCK).is_file());

    let r = talentflow(&["resume", dir.to_str().unwrap(), "-q"]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert_same_outputs(&dir);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert!(manifest["resumed_from_tick"].as_u64().unwrap() >= at);
    let reference_manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(reference.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["outputs"], reference_manifest["outputs"]);
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn sigint_then_sigterm_checkpoint_exit_and_resume_to_identical_bytes() {
    reference();
    let dir = scratch("signals");
    let d = dir.to_str().unwrap();
    let mut args = BIG.to_vec();
    args.extend(["--out", d]);
    let child = spawn(&args);
    // run.json is written after the handlers are installed, so the signal cannot kill it.
    wait_for("the run to start", || dir.join(write::RUN_RECORD).exists());
    signal(&child, "INT");
    let r = child.wait_with_output().unwrap();
    let err = text(&r.stderr);
    assert_eq!(r.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted (SIGINT)"), "{err}");
    assert!(
        err.contains(&format!("resume with: talentflow resume {d}")),
        "{err}"
    );
    let first = checkpoint_tick(&dir).expect("a checkpoint on SIGINT");
    assert!(!dir.join(write::MANIFEST).exists());

    // Resume, saving every 2 ticks, and stop it again with SIGTERM once it has moved on.
    let child = spawn(&["resume", d, "--checkpoint-every", "2", "-q"]);
    wait_for("the resumed run to checkpoint", || {
        checkpoint_tick(&dir).is_some_and(|t| t > first)
    });
    signal(&child, "TERM");
    let r = child.wait_with_output().unwrap();
    let err = text(&r.stderr);
    assert_eq!(r.status.code(), Some(143), "{err}");
    assert!(err.contains("interrupted (SIGTERM)"), "{err}");
    assert!(checkpoint_tick(&dir).unwrap() > first);

    let r = talentflow(&["resume", d, "-q"]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert_same_outputs(&dir);
}

/// A small unfinished run made through the library: stopped after `ticks` ticks.
fn unfinished(name: &str, seed: u64, set: &[&str], stop_after: usize) -> PathBuf {
    let dir = scratch(name);
    let set: Vec<String> = set.iter().map(|s| s.to_string()).collect();
    let plan = runner::plan("toy3", &set, Some(seed), Some(dir.clone()), 0).unwrap();
    let done = std::cell::Cell::new(0);
    let outcome = runner::execute(plan, false, &mut |tick, _| done.set(tick), &|| {
        done.get() >= stop_after
    });
    match outcome.unwrap() {
        RunEnd::Interrupted { tick, .. } => assert_eq!(tick, stop_after),
        _ => panic!("did not stop"),
    }
    dir
}

#[test]
fn library_stop_and_resume_match_an_uninterrupted_run() {
    let straight = scratch("lib-straight");
    let plan = runner::plan(
        "toy3",
        &["world.years=2".into()],
        Some(4),
        Some(straight.clone()),
        0,
    )
    .unwrap();
    assert!(matches!(
        runner::execute(plan, false, &mut |_, _| {}, &|| false).unwrap(),
        RunEnd::Finished(_)
    ));
    let dir = unfinished("lib-stopped", 4, &["world.years=2"], 9);
    assert_eq!(
        write::status(&dir),
        DirStatus::Unfinished { checkpoint: true }
    );
    let outcome = runner::resume(&dir, None, &mut |_, _| {}, &interrupt::requested).unwrap();
    let RunEnd::Finished(f) = outcome else {
        panic!("resume stopped")
    };
    assert_eq!(f.resumed_from, Some(9));
    for name in OUTPUTS {
        assert_eq!(
            std::fs::read(straight.join(name)).unwrap(),
            std::fs::read(dir.join(name)).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn wrong_directories_and_damaged_checkpoints_are_refused() {
    let refused = |dir: &Path, phrase: &str| {
        let r = talentflow(&["resume", dir.to_str().unwrap(), "-q"]);
        let err = text(&r.stderr);
        assert_eq!(r.status.code(), Some(1), "{err}");
        assert!(err.contains(phrase), "expected {phrase:?} in: {err}");
        assert!(!err.contains("panicked"), "{err}");
    };

    // A complete run is not resumed, and a directory that is no run is not either.
    let done = scratch("complete");
    let r = talentflow(&[
        "run",
        "toy3",
        "--years",
        "1",
        "-q",
        "--out",
        done.to_str().unwrap(),
    ]);
    assert!(r.status.success());
    refused(&done, "the run is already complete");
    refused(&scratch("nothing"), "not a started talentflow run");

    // An unfinished run is not overwritten by `run` without --force, which names `resume`.
    let dir = unfinished("unfinished", 2, &["world.years=1"], 3);
    let d = dir.to_str().unwrap();
    let r = talentflow(&["run", "toy3", "--years", "1", "-q", "--out", d]);
    let err = text(&r.stderr);
    assert_eq!(r.status.code(), Some(1));
    assert!(
        err.contains(&format!(
            "holds an unfinished run: continue it with `talentflow resume {d}`"
        )),
        "{err}"
    );

    let ck = dir.join(write::CHECKPOINT);
    let good = std::fs::read(&ck).unwrap();
    let restore = || std::fs::write(&ck, &good).unwrap();

    std::fs::write(&ck, &good[..good.len() / 2]).unwrap();
    refused(&dir, "is truncated");
    let mut bad = good.clone();
    let at = bad.len() - 100;
    bad[at] ^= 0x10;
    std::fs::write(&ck, &bad).unwrap();
    refused(&dir, "is corrupt: body checksum mismatch");
    let mut bad = good.clone();
    bad[8..12].copy_from_slice(&7u32.to_le_bytes());
    std::fs::write(&ck, &bad).unwrap();
    refused(
        &dir,
        "has format version 7; this talentflow reads version 2",
    );
    std::fs::write(&ck, b"hello").unwrap();
    refused(&dir, "is not a talentflow checkpoint");
    // A checkpoint of model v1 (format version 1) is named as such.
    let mut v1 = good.clone();
    v1[8..12].copy_from_slice(&1u32.to_le_bytes());
    std::fs::write(&ck, &v1).unwrap();
    refused(
        &dir,
        "is of a run of model v1; this talentflow implements model v2",
    );
    restore();

    // A run directory started by model v1: its run.json has no model version.
    let record = dir.join(write::RUN_RECORD);
    let original_record = std::fs::read_to_string(&record).unwrap();
    let mut v1_record: serde_json::Value = serde_json::from_str(&original_record).unwrap();
    v1_record.as_object_mut().unwrap().remove("model_version");
    v1_record["talentflow_version"] = "0.1.0-v1".into();
    std::fs::write(&record, v1_record.to_string()).unwrap();
    refused(
        &dir,
        "the run was started by talentflow 0.1.0-v1 with model v1; this talentflow implements model v2",
    );
    std::fs::write(&record, &original_record).unwrap();

    // A checkpoint from another scenario (same seed) is refused by its hash.
    let other = unfinished("other", 2, &["world.years=1", "innovation.lambda=0.9"], 3);
    std::fs::copy(other.join(write::CHECKPOINT), &ck).unwrap();
    refused(&dir, "belongs to another scenario");
    restore();

    // So is an edited scenario.toml.
    let scenario = dir.join(write::SCENARIO);
    let original = std::fs::read_to_string(&scenario).unwrap();
    std::fs::write(&scenario, original.replace("lambda = 0.7", "lambda = 0.8")).unwrap();
    refused(&dir, "scenario.toml has changed since the run started");
    std::fs::write(&scenario, original).unwrap();

    // Intact again: it resumes and the directory becomes complete.
    let r = talentflow(&["resume", d, "-q"]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert_eq!(write::status(&dir), DirStatus::Complete);
}

#[test]
fn run_or_resume_skips_complete_runs_and_resumes_unfinished_ones() {
    let set = vec!["world.years=1".to_string()];
    let plan = |dir: &Path, seed: u64| {
        runner::plan("toy3", &set, Some(seed), Some(dir.to_path_buf()), 3).unwrap()
    };
    let dir = unfinished("sweep-member", 6, &["world.years=1"], 5);
    // Another seed's run is not this directory's.
    let err = runner::run_or_resume(plan(&dir, 7), &mut |_, _| {}, &|| false).unwrap_err();
    assert!(err.to_string().contains("another unfinished run"), "{err}");
    let outcome = runner::run_or_resume(plan(&dir, 6), &mut |_, _| {}, &|| false).unwrap();
    assert!(matches!(&outcome, RunEnd::Finished(f) if f.resumed_from == Some(5)));
    let outcome = runner::run_or_resume(plan(&dir, 6), &mut |_, _| {}, &|| false).unwrap();
    assert!(matches!(outcome, RunEnd::AlreadyComplete { .. }));
    let err = runner::run_or_resume(plan(&dir, 7), &mut |_, _| {}, &|| false).unwrap_err();
    assert!(err.to_string().contains("another complete run"), "{err}");
    let fresh = scratch("sweep-fresh");
    let outcome = runner::run_or_resume(plan(&fresh, 6), &mut |_, _| {}, &|| false).unwrap();
    assert!(matches!(&outcome, RunEnd::Finished(f) if f.resumed_from.is_none()));
    for name in OUTPUTS {
        assert_eq!(
            std::fs::read(fresh.join(name)).unwrap(),
            std::fs::read(dir.join(name)).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn a_run_with_a_panel_and_cohorts_resumes_from_its_checkpoint_exactly() {
    use talentflow::model::observe::ObserveOptions;
    use talentflow::model::panel::PanelOptions;
    let observe = ObserveOptions {
        panel: Some(PanelOptions {
            fraction: 0.2,
            every_ticks: 3,
        }),
        cohorts: true,
    };
    let make = |dir: &Path| {
        let mut plan = runner::plan(
            "toy3",
            &["world.years=3".into()],
            Some(6),
            Some(dir.to_path_buf()),
            0,
        )
        .unwrap();
        plan.observe = observe.clone();
        plan
    };
    let straight = scratch("obs-straight");
    let RunEnd::Finished(_) =
        runner::execute(make(&straight), false, &mut |_, _| {}, &|| false).unwrap()
    else {
        panic!("stopped")
    };
    let dir = scratch("obs-stopped");
    let done = std::cell::Cell::new(0);
    let outcome = runner::execute(make(&dir), false, &mut |t, _| done.set(t), &|| {
        done.get() >= 17
    });
    assert!(matches!(
        outcome.unwrap(),
        RunEnd::Interrupted { tick: 17, .. }
    ));
    assert!(
        dir.join(write::OBSERVERS_CHECKPOINT).is_file(),
        "the observers are saved"
    );
    let RunEnd::Finished(f) = runner::resume(&dir, None, &mut |_, _| {}, &|| false).unwrap() else {
        panic!("resume stopped")
    };
    assert_eq!(f.resumed_from, Some(17), "continued, not restarted");
    let names = OUTPUTS
        .iter()
        .copied()
        .chain(talentflow::rundir::careers::NAMES);
    for name in names {
        assert_eq!(
            std::fs::read(straight.join(name)).unwrap(),
            std::fs::read(dir.join(name)).unwrap(),
            "{name}"
        );
    }
    assert!(
        !dir.join(write::OBSERVERS_CHECKPOINT).exists(),
        "removed at the end"
    );

    // Observers of another tick than the checkpoint (a kill between the two writes): the run
    // starts again from tick 0, with the same outputs.
    let dir = scratch("obs-mismatch");
    let done = std::cell::Cell::new(0);
    let outcome = runner::execute(make(&dir), false, &mut |t, _| done.set(t), &|| {
        done.get() >= 5
    });
    assert!(matches!(
        outcome.unwrap(),
        RunEnd::Interrupted { tick: 5, .. }
    ));
    let early = std::fs::read(dir.join(write::OBSERVERS_CHECKPOINT)).unwrap();
    let RunEnd::Interrupted { .. } =
        runner::resume(&dir, None, &mut |t, _| done.set(t), &|| done.get() >= 11).unwrap()
    else {
        panic!("not stopped")
    };
    std::fs::write(dir.join(write::OBSERVERS_CHECKPOINT), early).unwrap();
    let RunEnd::Finished(f) = runner::resume(&dir, None, &mut |_, _| {}, &|| false).unwrap() else {
        panic!("resume stopped")
    };
    assert_eq!(f.resumed_from, Some(0));
    for name in talentflow::rundir::careers::NAMES {
        assert_eq!(
            std::fs::read(straight.join(name)).unwrap(),
            std::fs::read(dir.join(name)).unwrap(),
            "{name}"
        );
    }
}
