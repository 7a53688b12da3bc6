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
