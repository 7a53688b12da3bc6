//! Sweeps end to end: design before results, resume after a kill, refusing a changed sweep,
//! sharding (explicit and Slurm), merging, and sensitivity indices.

mod common;

use common::talentflow_env as talentflow;

use std::path::{Path, PathBuf};
use std::process::Output;

use talentflow::study::sweep::Shard;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny_sweep.toml")
}

fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn full_run(name: &str) -> (PathBuf, Vec<u8>) {
    let out = scratch(name);
    ok(&talentflow(
        &[
            "sweep",
            fixture().to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "-q",
        ],
        &[],
    ));
    let bytes = std::fs::read(out.join("results.csv")).unwrap();
    (out, bytes)
}

fn scratch(name: &str) -> PathBuf {
    common::scratch("sweep", name)
}

#[test]
fn design_and_results_cover_every_run() {
    let (out, results) = full_run("full");
    let design = std::fs::read_to_string(out.join("design.csv")).unwrap();
    let mut lines = design.lines();
    assert_eq!(
        lines.next().unwrap(),
        "run_id,point,replicate,seed,behaviour.beta_wage,innovation.lambda,country.NEW.openness"
    );
    // Morris: 3 trajectories × (3 + 1) points × 2 replicates.
    assert_eq!(lines.count(), 24);
    let results = String::from_utf8(results).unwrap();
    let mut rows = results.lines();
    assert_eq!(rows.next().unwrap(), "run_id,gain,share,control:hhi@2027");
    let ids: Vec<usize> = rows
        .map(|r| r.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(ids, (0..24).collect::<Vec<_>>(), "sorted, complete");
    // Replicate seeds are shared across points (common random numbers).
    let seeds: Vec<&str> = design
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(3).unwrap())
        .collect();
    assert_eq!(seeds[0], seeds[2]);
    assert_ne!(seeds[0], seeds[1]);
}

#[test]
fn resume_runs_only_missing_runs_and_gives_the_same_bytes() {
    let (_, reference) = full_run("reference");
    let (out, _) = full_run("resume");
    // Simulate a kill: keep the header and 10 rows, then a torn half row.
    let text = String::from_utf8(reference.clone()).unwrap();
    let mut kept: String = text.lines().take(11).map(|l| format!("{l}\n")).collect();
    kept.push_str("17,0.123");
    std::fs::write(out.join("results.csv"), kept).unwrap();
    let o = talentflow(
        &[
            "sweep",
            fixture().to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    ok(&o);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("10 already done, 14 run now"), "{stdout}");
    assert_eq!(std::fs::read(out.join("results.csv")).unwrap(), reference);
}

#[test]
fn a_changed_sweep_is_refused_on_an_existing_directory() {
    let (out, _) = full_run("changed");
    let changed = scratch("changed_file").with_extension("toml");
    std::fs::write(
        &changed,
        std::fs::read_to_string(fixture())
            .unwrap()
            .replace("master_seed = 5", "master_seed = 6"),
    )
    .unwrap();
    let o = talentflow(
        &[
            "sweep",
            changed.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("holds a different sweep") && err.contains("--force"),
        "{err}"
    );
    ok(&talentflow(
        &[
            "sweep",
            changed.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--force",
            "-q",
        ],
        &[],
    ));
}

#[test]
fn shards_merge_into_the_local_result_and_missing_runs_are_reported() {
    let (_, reference) = full_run("local");
    let out = scratch("sharded");
    let file = fixture();
    for i in 0..3 {
        ok(&talentflow(
            &[
                "sweep",
                file.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "--shard",
                &format!("{i}/3"),
                "-q",
            ],
            &[],
        ));
    }
    // Before all shards are in: merge reports what is missing and fails.
    std::fs::rename(
        out.join("results.shard-2-of-3.csv"),
        out.join("held-back.csv"),
    )
    .unwrap();
    let o = common::talentflow(&["merge", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("8 runs are missing (run ids 2, 5, 8"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::rename(
        out.join("held-back.csv"),
        out.join("results.shard-2-of-3.csv"),
    )
    .unwrap();
    let o = common::talentflow(&["merge", out.to_str().unwrap()]);
    ok(&o);
    assert_eq!(std::fs::read(out.join("results.csv")).unwrap(), reference);
    // Merging again sees duplicates (results.csv plus shards) and keeps one of each.
    let o = common::talentflow(&["merge", out.to_str().unwrap()]);
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stdout).contains("24 runs appeared more than once"));
    assert_eq!(std::fs::read(out.join("results.csv")).unwrap(), reference);
}

#[test]
fn slurm_array_variables_shard_the_sweep() {
    let out = scratch("slurm");
    let env = [
        ("SLURM_ARRAY_TASK_ID", "1"),
        ("SLURM_ARRAY_TASK_COUNT", "4"),
    ];
    ok(&talentflow(
        &[
            "sweep",
            fixture().to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &env,
    ));
    let shard = std::fs::read_to_string(out.join("results.shard-1-of-4.csv")).unwrap();
    let ids: Vec<usize> = shard
        .lines()
        .skip(1)
        .map(|r| r.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(ids, vec![1, 5, 9, 13, 17, 21]);
    let get = |k: &str| match k {
        "SLURM_ARRAY_TASK_ID" => Some("7".to_string()),
        "SLURM_ARRAY_TASK_MIN" => Some("5".to_string()),
        "SLURM_ARRAY_TASK_MAX" => Some("8".to_string()),
        _ => None,
    };
    assert_eq!(
        Shard::from_slurm(get),
        Some(Ok(Shard { index: 2, count: 4 }))
    );
    assert_eq!(Shard::from_slurm(|_| None), None);
    assert!(Shard::parse("3/3").is_err() && Shard::parse("x").is_err());
    // A task below the array's first id, or a garbled id, must not run the whole sweep.
    let env = |id: &'static str| {
        move |k: &str| match k {
            "SLURM_ARRAY_TASK_ID" => Some(id.to_string()),
            "SLURM_ARRAY_TASK_MIN" => Some("5".to_string()),
            "SLURM_ARRAY_TASK_MAX" => Some("8".to_string()),
            _ => None,
        }
    };
    for id in ["4", "9", "x", "-1"] {
        let got = Shard::from_slurm(env(id));
        assert!(matches!(got, Some(Err(_))), "task {id}: {got:?}");
    }
    let only_id = |k: &str| (k == "SLURM_ARRAY_TASK_ID").then(|| "3".to_string());
    assert!(matches!(Shard::from_slurm(only_id), Some(Err(_))));
}

#[test]
fn sensitivity_writes_indices_for_every_parameter_and_outcome() {
    let (out, _) = full_run("sensitivity");
    let o = common::talentflow(&["sensitivity", out.to_str().unwrap()]);
    ok(&o);
    let csv = std::fs::read_to_string(out.join("sensitivity.csv")).unwrap();
    assert!(csv.starts_with("outcome,parameter,method,index,value,ci_low,ci_high\n"));
    // 3 outcomes × 3 parameters × (mu*, mu, sigma).
    assert_eq!(csv.lines().count(), 1 + 27);
    assert!(String::from_utf8_lossy(&o.stdout).contains("mu*"));
    // An incomplete sweep is refused.
    std::fs::write(
        out.join("results.csv"),
        "run_id,gain,share,control:hhi@2027\n",
    )
    .unwrap();
    let o = common::talentflow(&["sensitivity", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("24 of 24 runs have no result"));
}

#[test]
fn invalid_sweeps_name_their_problems() {
    let bad = scratch("bad").with_extension("toml");
    let text = std::fs::read_to_string(fixture())
        .unwrap()
        .replace("min = 0.1\nmax = 0.9", "min = 0.1\nmax = 1.9")
        .replace("\"control:hhi@2027\"", "\"hhi@2027\"");
    std::fs::write(&bad, text).unwrap();
    let o = talentflow(
        &[
            "sweep",
            bad.to_str().unwrap(),
            "--out",
            scratch("bad_out").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("`hhi@2027`: name the arm"), "{err}");
    let text = std::fs::read_to_string(fixture())
        .unwrap()
        .replace("min = 0.1\nmax = 0.9", "min = 0.1\nmax = 1.9");
    std::fs::write(&bad, text).unwrap();
    let o = talentflow(
        &[
            "sweep",
            bad.to_str().unwrap(),
            "--out",
            scratch("bad_out").to_str().unwrap(),
        ],
        &[],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("country.NEW.openness=") && err.contains("must be in [0, 1]"),
        "{err}"
    );
}

#[test]
fn sigint_stops_a_sweep_keeping_finished_runs_and_rerunning_resumes() {
    // A slower variant of the fixture so the signal arrives mid-sweep.
    let file = scratch("slow_sweep").with_extension("toml");
    let text = std::fs::read_to_string(fixture())
        .unwrap()
        .replace("world.agents=800", "world.agents=100000")
        .replace(
            "base = \"toy3\"",
            &format!(
                "base = \"{}\"",
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("configs/toy3.toml")
                    .display()
            ),
        );
    std::fs::write(&file, text).unwrap();
    let out = scratch("sigint");
    let results = out.join("results.csv");
    let (code, err) = common::interrupt_when(
        &[
            "sweep",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "-q",
            "--jobs",
            "1",
        ],
        || {
            std::fs::read_to_string(&results)
                .map(|t| t.lines().count())
                .unwrap_or(0)
                >= 3
        },
    );
    assert_eq!(code, Some(130), "{err}");
    assert!(err.contains("runs finished and kept"), "{err}");
    let kept = std::fs::read_to_string(&results).unwrap().lines().count() - 1;
    assert!((2..24).contains(&kept), "kept {kept} rows");
    // The same command resumes and completes with only the missing runs.
    let o = talentflow(
        &[
            "sweep",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    ok(&o);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(&format!("{kept} already done")),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert_eq!(
        std::fs::read_to_string(&results).unwrap().lines().count(),
        25
    );
}
