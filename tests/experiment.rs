//! Experiments end to end: file checks, the arms × replicates run, the statistics written, and
//! identical results for any number of parallel jobs.

mod common;

use common::talentflow;

use std::path::{Path, PathBuf};

use talentflow::study::experiment::{replicate_seed, Experiment};
use talentflow::study::stats;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny_experiment.toml")
}

fn scratch(name: &str) -> PathBuf {
    common::scratch("experiment", name)
}

#[test]
fn runs_csv_is_identical_for_one_and_two_jobs_and_summary_matches_it() {
    let mut outputs = Vec::new();
    for jobs in ["1", "2"] {
        let out = scratch(&format!("jobs{jobs}"));
        let r = talentflow(&[
            "experiment",
            fixture().to_str().unwrap(),
            "--jobs",
            jobs,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        let stdout = String::from_utf8_lossy(&r.stdout).into_owned();
        assert!(
            stdout.contains("retention.NEW@2027") && stdout.contains("95% CI"),
            "{stdout}"
        );
        outputs.push((
            std::fs::read(out.join("runs.csv")).unwrap(),
            std::fs::read(out.join("summary.csv")).unwrap(),
            out,
        ));
    }
    assert_eq!(
        outputs[0].0, outputs[1].0,
        "runs.csv differs between --jobs 1 and 2"
    );
    assert_eq!(
        outputs[0].1, outputs[1].1,
        "summary.csv differs between --jobs 1 and 2"
    );

    // runs.csv: 3 arms × 4 replicates, replicate seeds shared across arms.
    let out = &outputs[0].2;
    let mut runs = csv::Reader::from_path(out.join("runs.csv")).unwrap();
    let header = runs.headers().unwrap().clone();
    assert_eq!(
        header.iter().take(3).collect::<Vec<_>>(),
        ["arm", "replicate", "seed"]
    );
    let rows: Vec<csv::StringRecord> = runs.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 12);
    for row in &rows {
        let r: u32 = row[1].parse().unwrap();
        assert_eq!(row[2].parse::<u64>().unwrap(), replicate_seed(99, r));
    }
    // summary.csv recomputed by hand from runs.csv.
    let col = |arm: &str, outcome: usize| -> Vec<f64> {
        rows.iter()
            .filter(|r| &r[0] == arm)
            .map(|r| r[3 + outcome].parse().unwrap())
            .collect()
    };
    let mut summary = csv::Reader::from_path(out.join("summary.csv")).unwrap();
    let srows: Vec<csv::StringRecord> = summary.records().map(Result::unwrap).collect();
    assert_eq!(srows.len(), 3 * 5);
    let eco = srows
        .iter()
        .find(|r| &r[0] == "ecosystem" && &r[1] == "talent_share.NEW@end")
        .unwrap();
    let (x, c) = (col("ecosystem", 1), col("control", 1));
    let mean: f64 = x.iter().sum::<f64>() / 4.0;
    assert!((eco[3].parse::<f64>().unwrap() - mean).abs() < 1e-12);
    let diffs: Vec<f64> = x.iter().zip(&c).map(|(a, b)| a - b).collect();
    let d_mean = diffs.iter().sum::<f64>() / 4.0;
    let d_sd = (diffs.iter().map(|d| (d - d_mean).powi(2)).sum::<f64>() / 3.0).sqrt();
    let half = 3.182_446_305_284_263 * d_sd / 2.0; // t(0.975, 3) · sd / sqrt(4)
    assert!((eco[7].parse::<f64>().unwrap() - d_mean).abs() < 1e-12);
    assert!((eco[8].parse::<f64>().unwrap() - (d_mean - half)).abs() < 1e-9);
    assert!((eco[9].parse::<f64>().unwrap() - (d_mean + half)).abs() < 1e-9);
    let control = srows.iter().find(|r| &r[0] == "control").unwrap();
    assert_eq!(&control[7], "", "control has no difference to itself");
    // The infrastructure arm builds compute; the control does not.
    let infra = srows
        .iter()
        .find(|r| &r[0] == "infrastructure" && &r[1] == "compute_gw.NEW@2026")
        .unwrap();
    assert!(infra[7].parse::<f64>().unwrap() > 0.1);
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("experiment.json")).unwrap())
            .unwrap();
    assert_eq!(meta["replicates"], 4);
    assert_eq!(meta["control"], "control");
}

#[test]
fn keep_runs_writes_each_run_and_replicates_flag_overrides() {
    let out = scratch("keep");
    let r = talentflow(&[
        "experiment",
        fixture().to_str().unwrap(),
        "--replicates",
        "2",
        "--keep-runs",
        "-q",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    for arm in ["control", "ecosystem", "infrastructure"] {
        for rep in ["rep000", "rep001"] {
            assert!(out
                .join("runs")
                .join(arm)
                .join(rep)
                .join("manifest.json")
                .is_file());
        }
    }
    let runs = std::fs::read_to_string(out.join("runs.csv")).unwrap();
    assert_eq!(runs.lines().count(), 1 + 3 * 2);
    // An existing results directory is refused without --force.
    let again = talentflow(&[
        "experiment",
        fixture().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(again.status.code(), Some(1));
}

#[test]
fn invalid_experiments_list_every_problem() {
    let text = std::fs::read_to_string(fixture()).unwrap()
        + "\n[[arm]]\nname = \"control\"\n\n[[arm]]\nname = \"bad\"\nset = [\"innovation.lambda=x\"]\n[[arm.policy]]\ncountry = \"ZZZ\"\nkind = \"wages\"\nfrom_year = 2025\nto_year = 2026\nbudget_bn = 1\n";
    let text = text.replace("\"hhi@2027\"", "\"hhi@2090\", \"wage@2026\"");
    let err = Experiment::from_str(&text, &fixture())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`arm[3].name`: \"control\" is used by another arm"),
        "{err}"
    );
    assert!(
        err.contains("arm `bad`") && err.contains("innovation.lambda"),
        "{err}"
    );
    assert!(err.contains("year 2090 is outside the run"), "{err}");
    assert!(
        err.contains("`wage` is per country: write `wage.CODE@…`"),
        "{err}"
    );
    let bad_policy = std::fs::read_to_string(fixture()).unwrap().replace(
        "country = \"NEW\"\nkind = \"ecosystem\"",
        "country = \"ZZZ\"\nkind = \"ecosystem\"",
    );
    let err = Experiment::from_str(&bad_policy, &fixture())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("arm `ecosystem`: `arm.policy[0].country`: unknown country code \"ZZZ\""),
        "{err}"
    );
    let syntax = Experiment::from_str("name = \"x\"\nbase = = 1\n", &fixture())
        .unwrap_err()
        .to_string();
    assert!(syntax.contains("line 2"), "{syntax}");
}

#[test]
fn statistics_match_hand_computation() {
    // Two arms of three replicates: control 1, 2, 3; treatment 2, 4, 6.
    let (c, t) = ([1.0, 2.0, 3.0], [2.0, 4.0, 6.0]);
    let e = stats::estimate(&t);
    assert!((e.mean - 4.0).abs() < 1e-15 && (e.sd - 2.0).abs() < 1e-15);
    let half = 4.302_652_729_911_275 * 2.0 / 3f64.sqrt(); // t(0.975, 2) · sd / sqrt(3)
    assert!((e.ci_low.unwrap() - (4.0 - half)).abs() < 1e-9);
    let eff = stats::paired_effect(&t, &c);
    // Differences 1, 2, 3: mean 2, sd 1. Pooled sd sqrt((4 + 1) / 2).
    assert!((eff.diff - 2.0).abs() < 1e-15);
    let half = 4.302_652_729_911_275 / 3f64.sqrt();
    assert!((eff.ci_high.unwrap() - (2.0 + half)).abs() < 1e-9);
    assert!((eff.effect_size.unwrap() - 2.0 / 2.5f64.sqrt()).abs() < 1e-12);
}

#[test]
fn sigint_stops_an_experiment_and_keeps_finished_runs() {
    let file = scratch("slow_experiment").with_extension("toml");
    let text = std::fs::read_to_string(fixture())
        .unwrap()
        .replace("world.agents=1500", "world.agents=100000")
        .replace("world.years=2", "world.years=6")
        .replace("replicates = 4", "replicates = 8");
    std::fs::write(&file, text).unwrap();
    let out = scratch("sigint");
    let kept = out.join("runs").join("control");
    // Let two runs finish (--keep-runs shows them), then interrupt.
    let (code, err) = common::interrupt_when(
        &[
            "experiment",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "-q",
            "--jobs",
            "1",
            "--keep-runs",
        ],
        || std::fs::read_dir(&kept).map(|d| d.count()).unwrap_or(0) >= 2,
    );
    assert_eq!(code, Some(130), "{err}");
    let partial = std::fs::read_to_string(out.join("runs.partial.csv")).unwrap();
    let rows = partial.lines().count() - 1;
    assert!((1..24).contains(&rows), "{rows} rows kept; {err}");
    assert!(err.contains("runs finished"), "{err}");
    assert!(
        !out.join("experiment.json").exists(),
        "an interrupted experiment is not marked complete"
    );
}

/// The tiny experiment over three years with its arms' policies starting in 2026 (and one arm
/// changing a parameter from 2027 on only through a policy): every arm equals the control before
/// 2026, so it may branch there.
const BRANCHING: &str = r#"
name = "branching"
base = "toy3"
replicates = 3
master_seed = 7
set = ["world.years=3", "world.agents=1200"]
outcomes = ["retention.NEW@2028", "talent_share.NEW@end", "founded.NEW@2026..2028", "compute_gw.NEW@2027"]

[[arm]]
name = "control"

[[arm]]
name = "ecosystem"
[[arm.policy]]
country = "NEW"
kind = "ecosystem"
from_year = 2026
to_year = 2028
budget_bn = 5

[[arm]]
name = "infrastructure"
[[arm.policy]]
country = "NEW"
kind = "infrastructure"
from_year = 2026.5
to_year = 2028
budget_bn = 20
[[arm.policy]]
country = "NEW"
kind = "openness"
from_year = 2027
to_year = 2028
value = 0.9
"#;

/// Every file under `dir`, by relative path, with its bytes.
fn tree(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

#[test]
fn a_branched_experiment_is_byte_identical_to_running_every_arm_from_the_start() {
    let file = scratch("branching").with_extension("toml");
    std::fs::write(&file, BRANCHING).unwrap();
    let run = |name: &str, extra: &[&str], threads: &str| {
        let out = scratch(name);
        let mut args = vec![
            "experiment",
            file.to_str().unwrap(),
            "--keep-runs",
            "-q",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let r = common::talentflow_env(&args, &[("RAYON_NUM_THREADS", threads)]);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        out
    };
    let straight = run("branch-none", &[], "2");
    let branched = run("branch-2026", &["--branch-at", "2026"], "2");
    let branched_1 = run("branch-2026-t1", &["--branch-at", "2026"], "1");
    // A burn-in of no ticks (branching at the start year) is allowed too.
    let at_start = run("branch-2025", &["--branch-at", "2025"], "2");
    for csv in ["runs.csv", "summary.csv", "contrasts.csv"] {
        let a = std::fs::read(straight.join(csv)).unwrap();
        for other in [&branched, &branched_1, &at_start] {
            assert_eq!(
                a,
                std::fs::read(other.join(csv)).unwrap(),
                "{csv} of {other:?}"
            );
        }
    }
    // Every kept run's files (series.npz, CSVs, scenario.toml, manifest): byte for byte.
    let kept = tree(&straight.join("runs"));
    let series = kept.keys().filter(|p| p.ends_with("series.npz")).count();
    assert_eq!(series, 3 * 3, "every run kept");
    for other in [&branched, &branched_1] {
        let t = tree(&other.join("runs"));
        assert_eq!(
            kept.keys().collect::<Vec<_>>(),
            t.keys().collect::<Vec<_>>()
        );
        for (p, bytes) in &kept {
            if p.ends_with("manifest.json") {
                // The manifest says when it was written; everything else in it must agree.
                let strip = |b: &[u8]| {
                    let mut v: serde_json::Value = serde_json::from_slice(b).unwrap();
                    v.as_object_mut().unwrap().remove("created_unix");
                    v
                };
                assert_eq!(strip(&t[p]), strip(bytes), "{p:?} differs in {other:?}");
            } else {
                assert!(&t[p] == bytes, "{p:?} differs in {other:?}");
            }
        }
    }
    // The branch is recorded.
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(branched.join("experiment.json")).unwrap()).unwrap();
    assert_eq!(meta["branch_at"], 2026);
    assert_eq!(meta["branch_tick"], 12);
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(straight.join("experiment.json")).unwrap()).unwrap();
    assert!(meta["branch_at"].is_null());
    let summary = std::fs::read_to_string(branched.join("summary.txt")).unwrap();
    assert!(summary.contains("branched at 2026"), "{summary}");

    // The file's `branch_at` key does the same, and the flag overrides it.
    let keyed = scratch("branching-key").with_extension("toml");
    std::fs::write(
        &keyed,
        BRANCHING.replace("replicates = 3", "replicates = 3\nbranch_at = 2026"),
    )
    .unwrap();
    let exp = Experiment::load(&keyed).unwrap();
    assert_eq!(
        exp.branch_plan().unwrap().map(|b| (b.year, b.tick)),
        Some((2026, 12))
    );
    let out = scratch("branch-key-flag");
    let r = talentflow(&[
        "experiment",
        keyed.to_str().unwrap(),
        "--branch-at",
        "2025",
        "-q",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("experiment.json")).unwrap()).unwrap();
    assert_eq!(meta["branch_at"], 2025);
    assert_eq!(
        std::fs::read(out.join("runs.csv")).unwrap(),
        std::fs::read(straight.join("runs.csv")).unwrap()
    );
}

#[test]
fn an_arm_that_differs_before_the_branch_year_is_refused_by_name() {
    let file = scratch("branching-refused").with_extension("toml");
    std::fs::write(&file, BRANCHING).unwrap();
    let out = scratch("branch-refused");
    // The infrastructure arm spends from mid-2026: branching in 2027 would lose that half year.
    let r = talentflow(&[
        "experiment",
        file.to_str().unwrap(),
        "--branch-at",
        "2027",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.status.code(), Some(1));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("arm `infrastructure`"), "{err}");
    assert!(err.contains("`branch_at` = 2027"), "{err}");
    assert!(
        err.contains("`policy[0]`") && err.contains("2026.5"),
        "{err}"
    );
    assert!(err.contains("arm `ecosystem`"), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    assert!(!out.exists(), "nothing is written for a refused experiment");

    // A parameter changed for the whole run, and a year outside the run.
    let changed = BRANCHING.replace(
        "name = \"ecosystem\"",
        "name = \"ecosystem\"\nset = [\"behaviour.mobility_skill=0.61\"]",
    );
    let err = Experiment::from_str(
        &changed.replace("replicates = 3", "replicates = 3\nbranch_at = 2026"),
        &file,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("arm `ecosystem`") && err.contains("`behaviour.mobility_skill` is 0.61"),
        "{err}"
    );
    let mut exp = Experiment::from_str(BRANCHING, &file).unwrap();
    let err = exp.set_branch_at(Some(2031)).unwrap_err().to_string();
    assert!(
        err.contains("`branch_at`: 2031 is outside the run"),
        "{err}"
    );
    assert_eq!(exp.spec.branch_at, None, "a refused year is not kept");
}

#[test]
fn an_interrupted_branched_experiment_keeps_the_runs_it_finished() {
    use talentflow::study::experiment::{self, ExperimentError};
    let file = scratch("branching-stop").with_extension("toml");
    let mut exp = Experiment::from_str(BRANCHING, &file).unwrap();
    let full = experiment::run(&exp, &|| false, &|_, _| Ok(()), &|| ()).unwrap();
    exp.set_branch_at(Some(2026)).unwrap();
    // Stop after four runs: what finished is kept, with the values of the uninterrupted run.
    let done = std::sync::atomic::AtomicUsize::new(0);
    let stop = || done.load(std::sync::atomic::Ordering::SeqCst) >= 4;
    let tick = || {
        done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    match pool.install(|| experiment::run(&exp, &stop, &|_, _| Ok(()), &tick)) {
        Err(ExperimentError::Interrupted {
            finished, total, ..
        }) => {
            assert_eq!(total, 9);
            assert!((4..9).contains(&finished.len()), "{}", finished.len());
            for (i, v) in finished {
                assert_eq!(v, full.values[i], "run {i}");
            }
        }
        other => panic!("not interrupted: {other:?}"),
    }
}
