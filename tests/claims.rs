//! The experiment machinery for testing claims: dose–response families, cost per unit of outcome,
//! equivalence tests with multiplicity adjustments, and adaptive precision, end to end.

mod common;

use std::path::{Path, PathBuf};

use talentflow::study::experiment::{self, Experiment};
use talentflow::study::inference::{benjamini_hochberg, holm};
use talentflow::study::stats::{mean, paired_effect};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/claims_experiment.toml")
}

fn never() -> bool {
    false
}

fn run(exp: &mut Experiment) -> (experiment::Results, experiment::precision::PrecisionReport) {
    let (res, p) = experiment::run_adaptive(exp, &never, &|_, _| Ok(()), &|| ()).unwrap();
    (res, p.expect("the fixture asks for adaptive precision"))
}

#[test]
fn dose_family_expands_and_adds_its_spending_outcome() {
    let exp = Experiment::load(&fixture()).unwrap();
    let names: Vec<&str> = exp.arms.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        ["control", "new_wages_0", "new_wages_1", "new_wages_4"]
    );
    assert_eq!(
        exp.spec.outcomes.last().unwrap(),
        "spent_total_bn.NEW@2025..end"
    );
    let policy = &exp.arms[3].scenario.policies.last().unwrap();
    assert_eq!(policy.budget_bn, Some(4.0));
}

#[test]
fn adaptive_precision_stops_at_the_first_batch_meeting_the_target() {
    let mut exp = Experiment::load(&fixture()).unwrap();
    let (res, report) = run(&mut exp);
    let target = 0.008;
    let o = 1; // talent_share.NEW@2027
    let half = |res: &experiment::Results, exp: &Experiment, a: usize| {
        let e = paired_effect(&res.column(exp, a, o), &res.column(exp, 0, o));
        (e.ci_high.unwrap() - e.ci_low.unwrap()) / 2.0
    };
    assert_eq!(report.replicates, exp.spec.replicates);
    assert_eq!(
        report.batches,
        (1..=report.batches.len() as u32)
            .map(|k| 3 * k)
            .collect::<Vec<_>>()
    );
    // Arm new_wages_0 equals control exactly (zero-width interval); the others decide.
    let widest = (1..4).map(|a| half(&res, &exp, a)).fold(0.0, f64::max);
    assert!(
        report.met,
        "the fixture's target is reachable within 15 replicates"
    );
    assert!(report.replicates < 15);
    assert!(widest <= target, "met but widest half-width {widest}");
    // One batch fewer did not meet it (the loop stops at the first batch that does), and the
    // result equals a plain run with that many replicates (the seeds continue one sequence).
    let r = report.replicates;
    assert!(
        r > 3,
        "the fixture's target should need more than one batch"
    );
    let mut fewer = Experiment::load(&fixture()).unwrap();
    fewer.spec.precision = None;
    fewer.spec.replicates = r - 3;
    let res_fewer = experiment::run(&fewer, &never, &|_, _| Ok(()), &|| ()).unwrap();
    let widest_fewer = (1..4)
        .map(|a| half(&res_fewer, &fewer, a))
        .fold(0.0, f64::max);
    assert!(widest_fewer > target, "{widest_fewer} already met {target}");
    let mut plain = Experiment::load(&fixture()).unwrap();
    plain.spec.precision = None;
    plain.spec.replicates = r;
    let res_plain = experiment::run(&plain, &never, &|_, _| Ok(()), &|| ()).unwrap();
    assert_eq!(res_plain, res);
}

#[test]
fn dose_curve_and_cost_match_hand_computation() {
    let mut exp = Experiment::load(&fixture()).unwrap();
    let (res, _) = run(&mut exp);
    let dose = experiment::tests_out::dose_rows(&exp, &res);
    let cost = experiment::tests_out::cost_rows(&exp, &res);
    let spent = exp.spec.outcomes.len() - 1;
    for a in 1..4 {
        let name = &exp.arms[a].name;
        // Dose curve: the mean paired difference of researchers against control.
        let row = dose
            .iter()
            .find(|r| &r.arm == name && r.outcome == "researchers.NEW@2027")
            .unwrap();
        let d: Vec<f64> = res
            .column(&exp, a, 0)
            .iter()
            .zip(res.column(&exp, 0, 0))
            .map(|(x, c)| x - c)
            .collect();
        assert!((row.diff - mean(&d)).abs() < 1e-9 * mean(&d).abs().max(1.0));
        // Cost per point of talent share: mean Δspent / (mean Δshare / 0.01).
        let c = cost
            .iter()
            .find(|r| &r.arm == name && r.unit == "point of talent share")
            .unwrap();
        let ds: Vec<f64> = res
            .column(&exp, a, spent)
            .iter()
            .zip(res.column(&exp, 0, spent))
            .map(|(x, c)| x - c)
            .collect();
        let dy: Vec<f64> = res
            .column(&exp, a, 1)
            .iter()
            .zip(res.column(&exp, 0, 1))
            .map(|(x, c)| (x - c) / 0.01)
            .collect();
        assert!((c.spent_diff_bn - mean(&ds)).abs() < 1e-9);
        if a == 1 {
            // Budget 0: the arm is the control; no cost, no interval.
            assert_eq!(c.cost_bn, None);
            assert!(!c.denominator_clear_of_zero);
        } else {
            // A wage budget is spent in full (4 $B/yr × 2 years = 8).
            assert!(mean(&ds) > 0.0);
            let expect = mean(&ds) / mean(&dy);
            assert!((c.cost_bn.unwrap() - expect).abs() < 1e-9 * expect.abs());
            if c.denominator_clear_of_zero {
                let (lo, hi) = (c.cost_ci.0.unwrap(), c.cost_ci.1.unwrap());
                assert!(lo <= expect && expect <= hi, "{lo} {expect} {hi}");
            } else {
                assert_eq!(c.cost_ci, (None, None));
            }
        }
    }
}

#[test]
fn cli_writes_tests_with_adjusted_p_values() {
    let out = common::scratch("claims", "cli");
    let r = common::talentflow(&[
        "experiment",
        fixture().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    for f in ["dose.csv", "cost.csv", "contrasts.csv", "precision.csv"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let text = std::fs::read_to_string(out.join("summary.txt")).unwrap();
    assert!(text.contains("equivalence (TOST"), "{text}");
    assert!(text.contains("researcher agents at t=0"), "{text}");
    let mut rd = csv::Reader::from_path(out.join("contrasts.csv")).unwrap();
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    // 3 dose arms × 4 outcomes.
    assert_eq!(rows.len(), 12);
    let p: Vec<f64> = rows.iter().map(|r| r[5].parse().unwrap()).collect();
    let ph: Vec<f64> = rows.iter().map(|r| r[6].parse().unwrap()).collect();
    let pb: Vec<f64> = rows.iter().map(|r| r[7].parse().unwrap()).collect();
    assert_eq!(holm(&p), ph);
    assert_eq!(benjamini_hochberg(&p), pb);
    // compute_gw is untouched by wages: exactly equal to control, so equivalent within any margin.
    let compute = rows
        .iter()
        .find(|r| &r[0] == "new_wages_4" && &r[1] == "compute_gw.NEW@2026")
        .unwrap();
    assert_eq!(&compute[12], "equivalent within ±0.001");
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("experiment.json")).unwrap())
            .unwrap();
    assert!(meta["agents_at_start"]["NEW"].as_u64().unwrap() > 0);
    assert_eq!(
        meta["precision"]["replicates"].as_u64().unwrap(),
        meta["replicates"].as_u64().unwrap()
    );
}

#[test]
fn discover_names_the_boundary_of_a_sweep_condition() {
    let dir = common::scratch("claims", "discover");
    let sweep = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny_sweep.toml");
    let r = common::talentflow(&[
        "sweep",
        sweep.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
        "-q",
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let r = common::talentflow(&["discover", dir.to_str().unwrap(), "--where", "share > 0.15"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let out = String::from_utf8_lossy(&r.stdout);
    assert!(
        out.contains("PRIM box") && out.contains("CART tree"),
        "{out}"
    );
    for f in [
        "prim_trajectory.csv",
        "prim_box.csv",
        "cart.csv",
        "summary.txt",
    ] {
        assert!(dir.join("discover").join(f).is_file(), "{f}");
    }
    // The box's coverage and density agree with the design points it holds.
    let d = talentflow::study::discover::discover(
        &dir,
        "share > 0.15",
        None,
        talentflow::study::discover::Settings::default(),
    )
    .unwrap();
    let p = d.prim.unwrap();
    assert_eq!(p.trajectory[0].n, d.points);
    assert_eq!(
        p.pasted.coverage,
        p.pasted.positives as f64 / d.positives as f64
    );
    let r = common::talentflow(&["discover", dir.to_str().unwrap(), "--where", "nothing > 1"]);
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("not an outcome of the sweep"));
}

#[cfg(feature = "viz")]
#[test]
fn dose_figures_start_at_the_control() {
    use talentflow::viz::plot::dose::dose_figures;
    use talentflow::viz::plot::{Chart, Layer};
    let mut exp = Experiment::load(&fixture()).unwrap();
    let (res, _) = run(&mut exp);
    let rows = experiment::tests_out::dose_rows(&exp, &res);
    let solid = |figs: &[talentflow::viz::plot::Figure]| -> (Vec<f64>, Vec<f64>) {
        let Chart::Panels(p) = &figs[0].chart else {
            panic!("a dose figure is a panel chart")
        };
        let values = p.panels[0]
            .layers
            .iter()
            .find_map(|l| match l {
                Layer::Line {
                    values,
                    dashed: false,
                    ..
                } => Some(values.clone()),
                _ => None,
            })
            .unwrap();
        (p.x.clone(), values)
    };
    // The fixture's family has a zero budget: drawn from its own row.
    let (x, y) = solid(&dose_figures(&exp, &rows));
    assert_eq!(x[0], 0.0);
    assert!(y.iter().all(|v| v.is_finite()), "{y:?}");
    // Without a zero budget the control is added at 0, with a difference of exactly 0.
    exp.spec.doses[0].budgets_bn.retain(|&b| b != 0.0);
    let without: Vec<_> = rows.into_iter().filter(|r| r.budget_bn != 0.0).collect();
    let (x, y) = solid(&dose_figures(&exp, &without));
    assert_eq!(x[0], 0.0);
    assert_eq!(y[0], 0.0);
    assert_eq!(x.len(), exp.spec.doses[0].budgets_bn.len() + 1);
}
