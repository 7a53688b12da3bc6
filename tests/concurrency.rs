//! Concurrent writers (issue 17 §6): processes started at once on the same directory. A run,
//! an experiment or a sweep shard claims its directory (or results file) with a lock
//! (`rundir::lock`), so of two processes writing the same thing exactly one does, and the other
//! fails with a clear message or finds the work done; never do both exit 0 over files that are
//! half one's and half the other's. Shards of one sweep still share their directory.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use talentflow::rundir::read::read_run;

const TRIALS: usize = 12;

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_talentflow"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns the binary")
}

/// Starts every command at once and waits for all of them.
fn together(commands: &[Vec<String>]) -> Vec<Output> {
    let children: Vec<Child> = commands
        .iter()
        .map(|c| spawn(&c.iter().map(String::as_str).collect::<Vec<_>>()))
        .collect();
    children
        .into_iter()
        .map(|c| c.wait_with_output().expect("waits"))
        .collect()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn args(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Exactly one of two processes succeeded; the other said why it did not.
fn one_winner(outputs: &[Output], trial: usize) {
    let wins = outputs.iter().filter(|o| o.status.success()).count();
    let messages: Vec<String> = outputs.iter().map(err).collect();
    assert_eq!(
        wins, 1,
        "trial {trial}: {wins} processes succeeded: {messages:?}"
    );
    let loser = outputs.iter().find(|o| !o.status.success()).unwrap();
    let e = err(loser);
    assert_eq!(loser.status.code(), Some(1), "trial {trial}: {e}");
    assert!(
        e.contains("is writing to") || e.contains("already exists and is not empty"),
        "trial {trial}: {e}"
    );
    assert!(!e.contains("panicked"), "{e}");
}

#[test]
fn two_runs_into_one_new_directory_never_both_succeed() {
    for trial in 0..TRIALS {
        let dir = common::scratch("concurrency", &format!("run-{trial}"));
        let run = args(&[
            "run",
            "toy3",
            "--years",
            "1",
            "--agents",
            "3000",
            "-q",
            "--out",
            dir.to_str().unwrap(),
        ]);
        let outputs = together(&[run.clone(), run]);
        one_winner(&outputs, trial);
        // The directory is the winner's, whole: every file matches the manifest.
        read_run(&dir).unwrap_or_else(|e| panic!("trial {trial}: {e}"));
        assert!(!dir.join(".talentflow.lock").exists(), "lock left behind");
    }
}

#[test]
fn two_experiments_into_one_directory_never_both_succeed() {
    for trial in 0..TRIALS / 2 {
        let dir = common::scratch("concurrency", &format!("experiment-{trial}"));
        let exp = args(&[
            "experiment",
            fixture("tiny_experiment.toml").to_str().unwrap(),
            "--replicates",
            "1",
            "-q",
            "--out",
            dir.to_str().unwrap(),
        ]);
        one_winner(&together(&[exp.clone(), exp]), trial);
        assert!(dir.join("experiment.json").is_file());
    }
}

#[test]
fn the_same_shard_twice_runs_each_run_once_and_other_shards_share_the_directory() {
    for trial in 0..TRIALS / 2 {
        let dir = common::scratch("concurrency", &format!("sweep-{trial}"));
        let shard = |s: &str| {
            args(&[
                "sweep",
                fixture("tiny_sweep.toml").to_str().unwrap(),
                "-q",
                "--shard",
                s,
                "--out",
                dir.to_str().unwrap(),
            ])
        };
        // Shard 0 twice, shard 1 once, all at once.
        let outputs = together(&[shard("0/2"), shard("0/2"), shard("1/2")]);
        assert!(outputs[2].status.success(), "shard 1: {}", err(&outputs[2]));
        let zero_ok = outputs[..2].iter().filter(|o| o.status.success()).count();
        assert!(
            zero_ok >= 1,
            "trial {trial}: {:?}",
            outputs.iter().map(err).collect::<Vec<_>>()
        );
        for o in outputs[..2].iter().filter(|o| !o.status.success()) {
            assert!(
                err(o).contains("is writing to"),
                "trial {trial}: {}",
                err(o)
            );
        }
        // A finished shard file: every run of the shard once, in order.
        let text = std::fs::read_to_string(dir.join("results.shard-0-of-2.csv")).unwrap();
        let ids: Vec<usize> = text
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(ids, (0..24).step_by(2).collect::<Vec<_>>(), "trial {trial}");
        let merged = common::talentflow(&["merge", dir.to_str().unwrap()]);
        assert!(merged.status.success(), "{}", err(&merged));
    }
}

#[test]
fn two_different_sweeps_on_one_new_directory_leave_one_consistent_sweep() {
    let other = common::scratch("concurrency", "other_sweep.toml");
    let text = std::fs::read_to_string(fixture("tiny_sweep.toml"))
        .unwrap()
        .replace("master_seed = 5", "master_seed = 6");
    std::fs::write(&other, text).unwrap();
    for trial in 0..TRIALS / 2 {
        let dir = common::scratch("concurrency", &format!("two-sweeps-{trial}"));
        let sweep = |file: &Path| {
            args(&[
                "sweep",
                file.to_str().unwrap(),
                "-q",
                "--shard",
                "0/6",
                "--out",
                dir.to_str().unwrap(),
            ])
        };
        let outputs = together(&[sweep(&fixture("tiny_sweep.toml")), sweep(&other)]);
        let wins = outputs.iter().filter(|o| o.status.success()).count();
        assert_eq!(
            wins,
            1,
            "trial {trial}: {:?}",
            outputs.iter().map(err).collect::<Vec<_>>()
        );
        let loser = outputs.iter().find(|o| !o.status.success()).unwrap();
        assert!(
            err(loser).contains("holds a different sweep"),
            "{}",
            err(loser)
        );
        // sweep.json, sweep.toml and the results are all of the winner's sweep.
        let winner = talentflow::study::sweep::Sweep::load(&dir.join("sweep.toml")).unwrap();
        let meta: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("sweep.json")).unwrap()).unwrap();
        assert_eq!(meta["hash"], winner.hash.as_str(), "trial {trial}");
    }
}
