//! `talentflow calibrate`: recovery of known parameters (SMM and ABC-SMC) on toy3's expected
//! dynamics, an unidentified parameter named as such, ABC-SMC against the analytic posterior
//! of a normal mean, kill/resume and thread counts leaving every file unchanged, the command,
//! and errors that name the field.

mod common;

use std::path::Path;

use rayon::prelude::*;

use talentflow::model::expected::ExpectedModel;
use talentflow::model::rng::{Phase, Streams};
use talentflow::scenario::{load_named, Override};
use talentflow::study::calibrate::ledger::Objective;
use talentflow::study::calibrate::prior::{Prior, PriorKind};
use talentflow::study::calibrate::simulator::{Simulator, Stop};
use talentflow::study::calibrate::spec::{AbcSpec, Role, SmmSpec, Target};
use talentflow::study::calibrate::{abc, run, smm, CalibrateError, Calibration};
use talentflow::study::evaluate::value_text;
use talentflow::study::expr::Expr;

fn never() -> bool {
    false
}

fn target(name: &str, value: f64, se: f64) -> Target {
    Target {
        name: name.into(),
        expr: Expr::parse("hhi@end", &["base".to_string()]).unwrap(),
        value,
        se,
        role: Role::Fit,
        discrepancy: 0.0,
    }
}

fn uniform(min: f64, max: f64) -> Prior {
    Prior {
        kind: PriorKind::Uniform,
        min,
        max,
        mean: 0.0,
        sd: 1.0,
    }
}

/// toy3's expected dynamics (deterministic, smooth in θ) over its first year: the net
/// migration rates of HUB and NEW and the world's gross outflow rate.
struct Toy3Expected {
    keys: Vec<String>,
}

impl Toy3Expected {
    fn moments(&self, theta: &[f64]) -> Vec<f64> {
        let set: Vec<Override> = self
            .keys
            .iter()
            .zip(theta)
            .map(|(k, &v)| Override {
                path: k.clone(),
                value: value_text(v),
            })
            .collect();
        let (s, _) = load_named("toy3", None, &set).unwrap();
        let model = ExpectedModel::new(&s);
        let run = model.run(None, 12);
        let net = run.first_year_net_migration();
        let n0: f64 = run.initial_researchers.iter().sum();
        let out: f64 = run
            .ticks
            .iter()
            .map(|t| t.outflow.iter().sum::<f64>())
            .sum();
        vec![net[0], net[2], out / n0]
    }
}

impl Simulator for Toy3Expected {
    fn replicates(&self) -> usize {
        1
    }
    fn seed(&self, _: usize) -> u64 {
        0
    }
    fn stochastic(&self) -> bool {
        false
    }
    fn simulate(
        &self,
        thetas: &[Vec<f64>],
        _: Stop<'_>,
    ) -> Result<Vec<Vec<Vec<f64>>>, CalibrateError> {
        Ok(thetas.par_iter().map(|t| vec![self.moments(t)]).collect())
    }
}

fn toy3_keys() -> Vec<String> {
    [
        "behaviour.beta_wage",
        "behaviour.beta_home",
        "infrastructure.grid_cost_bn_per_gw",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn toy3_priors() -> Vec<Prior> {
    vec![uniform(0.5, 4.0), uniform(0.0, 3.0), uniform(2.0, 5.0)]
}

/// Observations made at a known θ: the model's moments plus a measurement error of known se,
/// drawn from recovery `i`'s own stream.
fn observed(sim: &Toy3Expected, truth: &[f64], i: usize) -> Vec<Target> {
    let m = sim.moments(truth);
    let mut rng = Streams::new(1000 + i as u64).stream(0, Phase::Generate, 0);
    ["net_hub", "net_new", "gross_out"]
        .iter()
        .zip(&m)
        .map(|(name, &v)| {
            let se = 0.05 * v.abs() + 2e-4;
            target(name, v + se * rng.normal(), se)
        })
        .collect()
}

fn truth(i: usize, priors: &[Prior]) -> Vec<f64> {
    let mut rng = Streams::new(77 + i as u64).stream(0, Phase::Generate, 1);
    priors
        .iter()
        .map(|p| p.value(0.2 + 0.6 * rng.uniform()))
        .collect()
}

#[test]
fn smm_recovers_known_parameters_and_names_the_one_the_targets_do_not_move() {
    let sim = Toy3Expected { keys: toy3_keys() };
    let priors = toy3_priors();
    let spec = SmmSpec {
        restarts: 2,
        max_evaluations: 200,
        start_points: Some(10),
        fd_step: 0.005,
        tolerance: 1e-12,
    };
    let mut covered = [0usize; 2];
    for i in 0..20 {
        let theta0 = truth(i, &priors);
        let targets = observed(&sim, &theta0, i);
        let mut obj = Objective::in_memory(&sim, &priors, &targets, &never);
        let r = smm::run(&mut obj, &spec, 5 + i as u64).unwrap();
        for (p, c) in covered.iter_mut().enumerate() {
            if (r.theta[p] - theta0[p]).abs() <= 1.6448536269514722 * r.se[p] {
                *c += 1;
            }
        }
        // grid_cost_bn_per_gw only converts grid-policy money into capacity; toy3 has none.
        assert_eq!(
            r.identifiability[2].verdict(),
            "unidentified",
            "{i}: {:?}",
            r.identifiability
        );
        assert_eq!(r.identifiability[2].sensitivity, 0.0);
        assert!(
            r.identifiability[0].verdict() != "unidentified",
            "{:?}",
            r.identifiability
        );
        assert!(
            r.identifiability[1].verdict() != "unidentified",
            "{:?}",
            r.identifiability
        );
        assert_eq!(r.curvature.rank, 2, "{:?}", r.curvature);
        assert!(r.curvature.condition.is_infinite());
        // Three moments, two parameters that move them: one degree of freedom for the J-test.
        assert_eq!(r.df, 1);
        assert!(r.p_value.is_some_and(|p| p > 0.0 && p <= 1.0));
        assert!(
            r.se[2].is_nan() && r.se[0] > 0.0 && r.se[1] > 0.0,
            "{:?}",
            r.se
        );
    }
    eprintln!("SMM: 90 % intervals covered the truth in {covered:?} of 20 recoveries");
    assert!(
        covered.iter().all(|&c| c >= 16),
        "90 % intervals covered {covered:?} of 20"
    );
}

#[test]
fn abc_smc_recovers_known_parameters() {
    let sim = Toy3Expected {
        keys: toy3_keys()[..2].to_vec(),
    };
    let priors = toy3_priors()[..2].to_vec();
    let spec = AbcSpec {
        population: 150,
        generations: 12,
        budget: 1800,
        alpha: 0.2,
    };
    let mut covered = [0usize; 2];
    for i in 0..20 {
        let theta0 = truth(i, &priors);
        let mut targets = observed(
            &Toy3Expected {
                keys: toy3_keys()[..2].to_vec(),
            },
            &theta0,
            i,
        );
        for t in &mut targets {
            // Less informative data than for SMM, so the tolerance reaches 1 within the budget.
            t.se *= 3.0;
        }
        let mut obj = Objective::in_memory(&sim, &priors, &targets, &never);
        let r = abc::run(&mut obj, &spec, 9 + i as u64).unwrap();
        assert!(r.reached_posterior, "{i}: {:?}", r.generations);
        for (p, c) in covered.iter_mut().enumerate() {
            let x: Vec<f64> = r.particles.iter().map(|e| e.theta[p]).collect();
            let lo = abc::weighted_quantile(&x, &r.weights, 0.05);
            let hi = abc::weighted_quantile(&x, &r.weights, 0.95);
            if (lo..=hi).contains(&theta0[p]) {
                *c += 1;
            }
        }
    }
    eprintln!("ABC-SMC: 90 % intervals covered the truth in {covered:?} of 20 recoveries");
    assert!(
        covered.iter().all(|&c| c >= 16),
        "90 % intervals covered {covered:?} of 20"
    );
}

/// y = θ exactly (the expected value of a sample mean); the observation x̄ has known se.
struct NormalMean;

impl Simulator for NormalMean {
    fn replicates(&self) -> usize {
        1
    }
    fn seed(&self, _: usize) -> u64 {
        0
    }
    fn stochastic(&self) -> bool {
        false
    }
    fn simulate(
        &self,
        thetas: &[Vec<f64>],
        _: Stop<'_>,
    ) -> Result<Vec<Vec<Vec<f64>>>, CalibrateError> {
        Ok(thetas.iter().map(|t| vec![vec![t[0]]]).collect())
    }
}

#[test]
fn abc_smc_matches_the_analytic_posterior_of_a_normal_mean() {
    // Prior N(0, 1) (truncated at ±8 sd: no mass lost), x̄ = 1.2 with se 0.5: the posterior is
    // N(1.2 / 0.25 / (1 + 4), 1 / (1 + 4)) = N(0.96, 0.4472²).
    let priors = [Prior {
        kind: PriorKind::Normal,
        min: -8.0,
        max: 8.0,
        mean: 0.0,
        sd: 1.0,
    }];
    let targets = [target("xbar", 1.2, 0.5)];
    let spec = AbcSpec {
        population: 2000,
        generations: 10,
        budget: 20_000,
        alpha: 0.3,
    };
    let mut obj = Objective::in_memory(&NormalMean, &priors, &targets, &never);
    let r = abc::run(&mut obj, &spec, 3).unwrap();
    assert!(r.reached_posterior, "{:?}", r.generations);
    let x: Vec<f64> = r.particles.iter().map(|p| p.theta[0]).collect();
    let points: Vec<Vec<f64>> = x.iter().map(|v| vec![*v]).collect();
    let (mean, cov) = abc::weighted_moments(&points, &r.weights);
    let (m, sd) = (mean[0], cov[0].sqrt());
    let (m0, sd0) = (0.96, (0.2f64).sqrt());
    // Tolerances, about three Monte Carlo standard errors at an ESS above 1 000: the mean within
    // 8 % of the posterior sd (its MC se is ≈ 1/√ESS ≈ 3 % of an sd), the sd within 5 %, the
    // median within 10 % (its MC se is ≈ 1.25/√ESS of an sd).
    assert!((m - m0).abs() < 0.08 * sd0, "mean {m} vs {m0}");
    assert!((sd / sd0 - 1.0).abs() < 0.05, "sd {sd} vs {sd0}");
    let ess = r.generations.last().unwrap().ess;
    eprintln!("normal mean: ABC-SMC mean {m:.4} sd {sd:.4} (analytic {m0} {sd0:.4}), ESS {ess:.0}");
    assert!(ess > 1000.0, "ESS {ess}");
    // The posterior median and the 90 % interval.
    let med = abc::weighted_quantile(&x, &r.weights, 0.5);
    assert!((med - m0).abs() < 0.10 * sd0, "median {med}");
}

const TOY_CAL: &str = r#"
name = "toy"
base = "toy3"
set = ["world.years=1", "world.agents=400"]
method = "smm"
replicates = 2
master_seed = 11

[[parameter]]
key = "behaviour.beta_wage"
min = 1.0
max = 3.0

[[parameter]]
key = "behaviour.beta_home"
prior = "normal"
mean = 1.5
sd = 0.5
min = 0.5
max = 2.5

[[target]]
name = "retention_new"
expr = "retention.NEW@end"
value = 0.45
se = 0.02

[[target]]
name = "share_hub"
expr = "researcher_share.HUB@end"
value = 0.5
se = 0.01

[[target]]
name = "foreign_share_hub"
expr = "foreign_born.HUB@end / researchers.HUB@end"
value = 0.4
se = 0.05
role = "holdout"

[smm]
restarts = 1
max_evaluations = 12
start_points = 4
"#;

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

#[test]
fn kill_resume_and_thread_counts_leave_every_file_unchanged() {
    let path = common::scratch("calibrate", "toy.toml");
    std::fs::write(&path, TOY_CAL).unwrap();
    let cal = Calibration::load(&path, &[]).unwrap();
    let one = common::scratch("calibrate", "one-thread");
    let two = common::scratch("calibrate", "two-threads");
    in_pool(1, || run(&cal, &one, false, &never)).unwrap();
    let report = in_pool(2, || run(&cal, &two, false, &never)).unwrap();
    assert_eq!(files(&one), files(&two));
    let names: Vec<String> = files(&one).into_iter().map(|(n, _)| n).collect();
    for f in [
        "calibrated.toml",
        "calibration.json",
        "calibration.toml",
        "estimates.csv",
        "evaluations.csv",
        "fit.csv",
        "identifiability.csv",
        "summary.txt",
    ] {
        assert!(names.contains(&f.to_string()), "{f} missing: {names:?}");
    }
    // Every evaluation has one row per replicate and a mean row; the means are the replicates'.
    let ev = String::from_utf8(
        files(&one)
            .into_iter()
            .find(|(n, _)| n == "evaluations.csv")
            .unwrap()
            .1,
    )
    .unwrap();
    let rows: Vec<Vec<&str>> = ev.lines().skip(1).map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 3 * report.evaluations);
    for e in rows.chunks(3) {
        assert_eq!((e[0][2], e[1][2], e[2][2]), ("0", "1", "mean"));
        // Columns 6..9 are the three targets.
        let column =
            |row: &[&str]| -> Vec<f64> { row[6..9].iter().map(|v| v.parse().unwrap()).collect() };
        let (a, b, m) = (column(&e[0]), column(&e[1]), column(&e[2]));
        for t in 0..3 {
            assert_eq!(m[t], a[t] / 2.0 + b[t] / 2.0);
        }
    }
    // Killed after a few evaluations, then resumed: the same bytes.
    let killed = common::scratch("calibrate", "killed");
    let polls = std::sync::atomic::AtomicUsize::new(0);
    let stop = || polls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) > 150;
    let err = in_pool(2, || run(&cal, &killed, false, &stop)).unwrap_err();
    assert!(matches!(err, CalibrateError::Interrupted), "{err}");
    let partial = std::fs::read_to_string(killed.join("evaluations.csv")).unwrap();
    assert!(
        partial.lines().count() > 1 && partial.len() < ev.len(),
        "{partial}"
    );
    // A torn last line, as a kill during a write leaves it.
    std::fs::write(
        killed.join("evaluations.csv"),
        &partial[..partial.len() - 7],
    )
    .unwrap();
    let resumed = in_pool(2, || run(&cal, &killed, false, &never)).unwrap();
    assert!(resumed.simulated < resumed.evaluations);
    assert_eq!(files(&killed), files(&one));
    // Running the finished calibration again simulates nothing new and changes nothing.
    let again = in_pool(2, || run(&cal, &one, false, &never)).unwrap();
    assert_eq!(again.simulated, 0);
    assert_eq!(files(&one), files(&two));
    // Another calibration on the directory is refused, unless --force.
    let other = Calibration::from_str(
        &TOY_CAL.replace("master_seed = 11", "master_seed = 12"),
        &path,
        &[],
    )
    .unwrap();
    let err = run(&other, &one, false, &never).unwrap_err().to_string();
    assert!(err.contains("holds a different calibration"), "{err}");
    // The calibrated scenario loads and holds the estimate.
    let est = std::fs::read_to_string(one.join("estimates.csv")).unwrap();
    let beta_wage: f64 = est
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let (s, _) = load_named(one.join("calibrated.toml").to_str().unwrap(), None, &[]).unwrap();
    assert_eq!(s.behaviour.beta_wage, beta_wage);
    assert_eq!(s.world.agents, 400);
}

#[test]
fn the_inner_step_re_solves_the_attractions_at_every_theta() {
    let dir = common::scratch("calibrate", "inner");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("targets.csv"),
        "country,net_migration_rate,se\nHUB,0.01,0.002\nMID,0.0,0.002\nNEW,-0.02,0.002\n",
    )
    .unwrap();
    let text = format!("{TOY_CAL}\n[baseline]\ntargets = \"targets.csv\"\n");
    let path = dir.join("cal.toml");
    std::fs::write(&path, text).unwrap();
    let cal = Calibration::load(&path, &[]).unwrap();
    let theta = [1.7, 1.1];
    let resolved = cal.simulator.resolve(&theta).unwrap();
    // The attractions are those baseline calibration gives for the scenario at θ.
    let (s, _) = cal
        .simulator
        .study
        .resolve(None, &cal.simulator.resolve_overrides(&theta))
        .unwrap();
    let targets = talentflow::study::baseline::read_targets(&dir.join("targets.csv")).unwrap();
    let fit = talentflow::study::baseline::calibrate(&s, &targets, &Default::default()).unwrap();
    let attractions: Vec<String> = resolved
        .overrides
        .iter()
        .filter(|o| o.path.ends_with(".attraction"))
        .map(|o| o.value.clone())
        .collect();
    let expected: Vec<String> = fit.attraction().iter().map(|&x| value_text(x)).collect();
    assert_eq!(attractions, expected);
    // …and they differ between two θ (the inner step is re-solved, not fixed).
    let other = cal.simulator.resolve(&[2.6, 0.7]).unwrap();
    assert_ne!(resolved.overrides[2..], other.overrides[2..]);
    assert!(
        resolved.baseline_unmet.is_empty(),
        "{:?}",
        resolved.baseline_unmet
    );
}

#[test]
fn the_command_writes_a_calibration_directory() {
    let path = common::scratch("calibrate", "cli.toml");
    std::fs::write(&path, TOY_CAL).unwrap();
    let out = common::scratch("calibrate", "cli-out");
    let o = common::talentflow(&[
        "calibrate",
        path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--jobs",
        "2",
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        stdout.contains("calibration toy (smm)") && stdout.contains("J-statistic"),
        "{stdout}"
    );
    let fit = std::fs::read_to_string(out.join("fit.csv")).unwrap();
    assert!(fit.starts_with("target,role,observed,se,fitted,median,lo90,hi90,inside,z\n"));
    assert!(fit.contains("foreign_share_hub,holdout,"), "{fit}");
    // A second run on a finished directory from another file is refused.
    std::fs::write(&path, TOY_CAL.replace("se = 0.02", "se = 0.03")).unwrap();
    let o = common::talentflow(&[
        "calibrate",
        path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).starts_with("error: "));
}

#[test]
fn bad_calibration_files_are_refused_naming_the_field() {
    let path = Path::new("bad.toml");
    let err = |text: &str| match Calibration::from_str(text, path, &[]) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    };
    let with = |from: &str, to: &str| {
        assert!(TOY_CAL.contains(from), "{from}");
        err(&TOY_CAL.replacen(from, to, 1))
    };
    let e = with("method = \"smm\"", "method = \"mcmc\"");
    assert!(
        e.contains("`method`: must be \"smm\" or \"abc-smc\", found \"mcmc\""),
        "{e}"
    );
    let e = with("max = 3.0", "max = 0.5");
    assert!(
        e.contains("`parameter[0].max`: must be greater than min, found min = 1, max = 0.5"),
        "{e}"
    );
    let e = with("sd = 0.5\n", "");
    assert!(e.contains("`parameter[1].sd`: missing"), "{e}");
    let e = with("prior = \"normal\"", "prior = \"gamma\"");
    assert!(e.contains("`parameter[1].prior`: must be \"uniform\", \"log-uniform\" or \"normal\", found \"gamma\""), "{e}");
    let e = with("se = 0.01", "se = 0");
    assert!(
        e.contains("`target[1].se`: must be a positive finite number, found 0"),
        "{e}"
    );
    let e = with("role = \"holdout\"", "role = \"test\"");
    assert!(
        e.contains("`target[2].role`: must be \"fit\" or \"holdout\", found \"test\""),
        "{e}"
    );
    let e = with("retention.NEW@end", "retention.XYZ@end");
    assert!(
        e.contains(
            "target `retention_new`: outcome `retention.XYZ@end`: unknown country code `XYZ`"
        ),
        "{e}"
    );
    let e = with(
        "expr = \"researcher_share.HUB@end\"",
        "expr = \"control:researcher_share.HUB@end\"",
    );
    assert!(e.contains("`target[1].expr`"), "{e}");
    let e = with("behaviour.beta_wage", "behaviour.beta_wag");
    assert!(
        e.contains("beta_wag") && e.contains("parameters at their prior"),
        "{e}"
    );
    let e = with("max_evaluations = 12", "max_evaluations = 2");
    assert!(
        e.contains("`smm.max_evaluations`: must be at least 5, found 2"),
        "{e}"
    );
    let e = with("replicates = 2", "replicates = 0");
    assert!(e.contains("`replicates`: must be at least 1"), "{e}");
    let e = with(
        "key = \"behaviour.beta_wage\"",
        "key = \"country.HUB.attraction\"",
    );
    assert!(
        e.contains("`parameter[0].key`: `country.HUB.attraction` is set by the inner step"),
        "{e}"
    );
    let e = with("[smm]", "[abc]\npopulation = 5\n[smm]");
    assert!(
        e.contains("`abc`: an [abc] table needs method = \"abc-smc\"")
            && e.contains("`abc.population`: must be at least 10, found 5"),
        "{e}"
    );
    let e = with("name = \"share_hub\"", "name = \"retention_new\"");
    assert!(e.contains("`target[1].name`: must be unique"), "{e}");
    let e = with("replicates = 2", "replicates = 2\nreplicate = 3");
    assert!(e.contains("unknown field `replicate`"), "{e}");
    let e = err(&format!(
        "{TOY_CAL}\n[baseline]\ntargets = \"nowhere.csv\"\n"
    ));
    assert!(
        e.contains("`baseline.targets`: nowhere.csv: cannot read"),
        "{e}"
    );
    // Every problem at once.
    let e = err(&TOY_CAL
        .replace("se = 0.02", "se = -1")
        .replace("max = 3.0", "max = 1.0"));
    assert!(
        e.contains("target[0].se") && e.contains("parameter[0].max"),
        "{e}"
    );
}

#[test]
fn a_signal_stops_the_command_and_running_it_again_resumes_to_the_same_files() {
    let text = TOY_CAL
        .replace("world.agents=400", "world.agents=5000")
        .replace("world.years=1", "world.years=2")
        .replace("restarts = 1", "restarts = 2")
        .replace("max_evaluations = 12", "max_evaluations = 60");
    let path = common::scratch("calibrate", "signal.toml");
    std::fs::write(&path, &text).unwrap();
    let out = common::scratch("calibrate", "signal-out");
    let args = [
        "calibrate",
        path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
    ];
    let evals = out.join("evaluations.csv");
    let (code, err) = common::interrupt_when(&args, || {
        std::fs::read_to_string(&evals).is_ok_and(|t| t.matches(",mean,").count() >= 4)
    });
    assert_eq!(code, Some(130), "{err}");
    assert!(err.contains("calibration interrupted"), "{err}");
    assert!(!out.join("estimates.csv").exists());
    let o = common::talentflow(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let reference = common::scratch("calibrate", "signal-reference");
    let cal = Calibration::load(&path, &[]).unwrap();
    run(&cal, &reference, false, &never).unwrap();
    assert_eq!(files(&out), files(&reference));
}

#[test]
fn an_abc_calibration_writes_its_posterior_and_generations() {
    let text = TOY_CAL
        .replace("method = \"smm\"", "method = \"abc-smc\"")
        .replace(
            "[smm]\nrestarts = 1\nmax_evaluations = 12\nstart_points = 4\n",
            "[abc]\npopulation = 12\ngenerations = 3\nbudget = 36\nalpha = 0.5\n",
        );
    let path = common::scratch("calibrate", "abc.toml");
    std::fs::write(&path, &text).unwrap();
    let cal = Calibration::load(&path, &[]).unwrap();
    let dir = common::scratch("calibrate", "abc-out");
    let report = run(&cal, &dir, false, &never).unwrap();
    // 3 generations of 12, then the Jacobian at the posterior median (2 × 2 points).
    assert_eq!(report.evaluations, 3 * 12 + 4);
    let post = std::fs::read_to_string(dir.join("posterior.csv")).unwrap();
    assert!(post.starts_with("particle,weight,behaviour.beta_wage,behaviour.beta_home,distance\n"));
    let weights: Vec<f64> = post
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(weights.len(), 12);
    assert!((weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    let gens = std::fs::read_to_string(dir.join("generations.csv")).unwrap();
    assert_eq!(gens.lines().count(), 1 + 3, "{gens}");
    assert_eq!(gens.lines().nth(1), Some("0,inf,12.0,1.0,12"), "{gens}");
    for f in [
        "fit.csv",
        "identifiability.csv",
        "calibrated.toml",
        "summary.txt",
    ] {
        assert!(dir.join(f).exists(), "{f}");
    }
    assert!(!dir.join("estimates.csv").exists());
    // The same bytes from one thread.
    let one = common::scratch("calibrate", "abc-one");
    in_pool(1, || run(&cal, &one, false, &never)).unwrap();
    assert_eq!(files(&one), files(&dir));
}

#[test]
fn the_shipped_calibration_runs_reduced_with_its_inner_step() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/calibrate_world2025.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let cal = Calibration::from_str(&text, &path, &[]).unwrap();
    assert_eq!((cal.priors.len(), cal.targets.len()), (4, 5));
    assert!(cal.simulator.baseline.is_some());
    // One replicate of 1 000 agents, one start point and a five-point simplex, then the Jacobian.
    let reduced = text
        .replace("replicates = 8", "replicates = 1")
        .replace("restarts = 2", "restarts = 1")
        .replace("max_evaluations = 90", "max_evaluations = 5")
        .replace("start_points = 12", "start_points = 1");
    let cal = Calibration::from_str(&reduced, &path, &["world.agents=1000".into()]).unwrap();
    let dir = common::scratch("calibrate", "shipped");
    let report = run(&cal, &dir, false, &never).unwrap();
    assert_eq!(report.evaluations, 1 + 5 + 8);
    let fit = std::fs::read_to_string(dir.join("fit.csv")).unwrap();
    assert_eq!(fit.lines().count(), 1 + 5);
    let summary = std::fs::read_to_string(dir.join("summary.txt")).unwrap();
    assert!(summary.contains("inner step"), "{summary}");
}

#[test]
fn an_experiment_with_posterior_draws_one_theta_per_replicate_shared_by_its_arms() {
    use talentflow::study::calibrate::posterior::Posterior;
    use talentflow::study::experiment::Experiment;
    let path = common::scratch("calibrate", "post.toml");
    std::fs::write(&path, TOY_CAL).unwrap();
    let cal = Calibration::load(&path, &[]).unwrap();
    let dir = common::scratch("calibrate", "post-cal");
    run(&cal, &dir, false, &never).unwrap();
    let post = Posterior::load(&dir).unwrap();
    assert_eq!(post.keys, ["behaviour.beta_wage", "behaviour.beta_home"]);
    let (_, source) = post.covariance.as_ref().expect("SMM writes covariance.csv");
    assert!(
        source == "sandwich" || source == "laplace_prior",
        "{source}"
    );
    let exp_text = r#"
name = "post"
base = "toy3"
replicates = 4
master_seed = 5
set = ["world.years=1", "world.agents=300"]
outcomes = ["retention.NEW@end"]
[[arm]]
name = "control"
[[arm]]
name = "open"
set = ["country.NEW.openness=0.9"]
"#;
    let exp_path = common::scratch("calibrate", "post-exp.toml");
    std::fs::write(&exp_path, exp_text).unwrap();
    let mut exp = Experiment::load(&exp_path).unwrap();
    let note = post.apply(&mut exp).unwrap();
    assert!(note.contains("smm posterior"), "{note}");
    let per = exp.replicate_scenarios.clone().unwrap();
    assert_eq!((per.len(), per[0].len()), (4, 2));
    let draws: Vec<f64> = per.iter().map(|arms| arms[0].behaviour.beta_wage).collect();
    for (r, arms) in per.iter().enumerate() {
        // The same draw in both arms; the arm's own override still applies.
        assert_eq!(arms[0].behaviour.beta_wage, arms[1].behaviour.beta_wage);
        assert_eq!(arms[0].behaviour.beta_home, arms[1].behaviour.beta_home);
        assert_eq!(arms[1].countries[2].openness, 0.9);
        assert!((1.0..=3.0).contains(&draws[r]));
        assert_eq!(post.draw(5, r as u32)[0], draws[r]);
    }
    assert!(draws.windows(2).any(|w| w[0] != w[1]), "{draws:?}");
    // The command: the summary says where the parameters came from.
    let out = common::scratch("calibrate", "post-exp-out");
    let o = common::talentflow(&[
        "experiment",
        exp_path.to_str().unwrap(),
        "--posterior",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary = std::fs::read_to_string(out.join("summary.txt")).unwrap();
    assert!(
        summary.contains("parameter uncertainty: replicate r of every arm runs at draw r"),
        "{summary}"
    );
    // A covariance that is not symmetric is refused, naming the file.
    let cov_path = dir.join("covariance.csv");
    let good = std::fs::read_to_string(&cov_path).unwrap();
    let mut lines: Vec<String> = good.lines().map(str::to_string).collect();
    lines[1] = "behaviour.beta_wage,sandwich,1.0,0.5".into();
    lines[2] = "behaviour.beta_home,sandwich,0.4,1.0".into();
    std::fs::write(&cov_path, lines.join("\n") + "\n").unwrap();
    let err = Posterior::load(&dir).unwrap_err().to_string();
    assert!(
        err.contains("covariance.csv is not a finite symmetric covariance matrix"),
        "{err}"
    );
    std::fs::write(&cov_path, good).unwrap();
    // --posterior with --branch-at: replicate r's burn-in runs at draw r too, so the branched
    // experiment's runs equal the unbranched ones; an arm differing before the year is refused.
    let branching = exp_text
        .replace("world.years=1", "world.years=2")
        .replace(
            "set = [\"country.NEW.openness=0.9\"]",
            "[[arm.policy]]\ncountry = \"NEW\"\nkind = \"openness\"\nvalue = 0.9\nfrom_year = 2026\nto_year = 2027",
        );
    let branch_path = common::scratch("calibrate", "post-branch.toml");
    std::fs::write(&branch_path, &branching).unwrap();
    let mut runs = Vec::new();
    for (name, extra) in [("post-straight", None), ("post-branched", Some("2026"))] {
        let out = common::scratch("calibrate", name);
        let mut args = vec![
            "experiment",
            branch_path.to_str().unwrap(),
            "--posterior",
            dir.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "-q",
        ];
        if let Some(y) = extra {
            args.extend(["--branch-at", y]);
        }
        let o = common::talentflow(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        runs.push(std::fs::read(out.join("runs.csv")).unwrap());
    }
    assert_eq!(
        runs[0], runs[1],
        "branched runs.csv differs under --posterior"
    );
    let mut exp = Experiment::load(&branch_path).unwrap();
    exp.set_branch_at(Some(2026)).unwrap();
    post.apply(&mut exp).unwrap();
    assert!(exp.branch_plan().is_ok());
    let mut exp = Experiment::load(&exp_path).unwrap();
    assert!(
        exp.set_branch_at(Some(2026)).is_err(),
        "outside a one-year run"
    );
    let early = exp_text.replace("world.years=1", "world.years=2");
    let mut exp = Experiment::from_str(&early, &exp_path).unwrap();
    post.apply(&mut exp).unwrap();
    let err = exp.set_branch_at(Some(2026)).unwrap_err().to_string();
    assert!(
        err.contains("arm `open`")
            && err.contains("`country.NEW.openness` is 0.9")
            && err.contains("(--posterior draw 0)"),
        "{err}"
    );
    // Not a calibration directory.
    let err = Posterior::load(&out).unwrap_err().to_string();
    assert!(
        err.contains("--posterior") && err.contains("not a calibration directory"),
        "{err}"
    );
}

#[test]
fn smm_posterior_draws_follow_the_covariance_and_stay_in_the_prior_ranges() {
    use talentflow::study::calibrate::posterior::Posterior;
    // sd 0.2 and 0.3, correlation 0.3.
    let cov = vec![0.04, 0.018, 0.018, 0.09];
    let mut post = Posterior {
        dir: "unused".into(),
        keys: vec!["a".into(), "b".into()],
        method: "smm".into(),
        points: vec![vec![1.0, 2.0]],
        weights: vec![1.0],
        se: vec![f64::NAN, f64::NAN],
        covariance: Some((cov.clone(), "laplace_prior".into())),
        ranges: vec![(-10.0, 10.0), (-10.0, 10.0)],
        baseline_targets: None,
    };
    let n = 4000;
    let draws: Vec<Vec<f64>> = (0..n).map(|r| post.draw(11, r)).collect();
    let mean = |i: usize| draws.iter().map(|d| d[i]).sum::<f64>() / n as f64;
    let (ma, mb) = (mean(0), mean(1));
    let c = |i: usize, j: usize, mi: f64, mj: f64| {
        draws.iter().map(|d| (d[i] - mi) * (d[j] - mj)).sum::<f64>() / (n - 1) as f64
    };
    // Standard errors at n = 4000: mean 0.003–0.005, variance ≈ 2.2 %, covariance ≈ 0.0017.
    assert!(
        (ma - 1.0).abs() < 0.02 && (mb - 2.0).abs() < 0.03,
        "{ma} {mb}"
    );
    assert!(
        (c(0, 0, ma, ma) / 0.04 - 1.0).abs() < 0.1,
        "{}",
        c(0, 0, ma, ma)
    );
    assert!(
        (c(1, 1, mb, mb) / 0.09 - 1.0).abs() < 0.1,
        "{}",
        c(1, 1, mb, mb)
    );
    assert!(
        (c(0, 1, ma, mb) - 0.018).abs() < 0.008,
        "{}",
        c(0, 1, ma, mb)
    );
    // A draw is a function of (seed, r) only.
    assert_eq!(post.draw(11, 7), draws[7]);
    // Truncated to the prior ranges by redrawing, not by piling mass on the bounds.
    post.ranges = vec![(0.9, 1.1), (1.0, 10.0)];
    let inside: Vec<Vec<f64>> = (0..500).map(|r| post.draw(11, r)).collect();
    assert!(inside
        .iter()
        .all(|d| (0.9..=1.1).contains(&d[0]) && d[1] >= 1.0));
    assert!(
        inside.iter().all(|d| d[0] != 0.9 && d[0] != 1.1),
        "no draw clamped"
    );
    let spread = inside
        .iter()
        .map(|d| d[0])
        .fold(f64::NEG_INFINITY, f64::max)
        - inside.iter().map(|d| d[0]).fold(f64::INFINITY, f64::min);
    assert!(spread > 0.15, "draws cover the truncated range: {spread}");
}

// ------------------------------------------------------------------ shards

fn abc_cal() -> String {
    TOY_CAL
        .replace("method = \"smm\"", "method = \"abc-smc\"")
        .replace(
            "[smm]\nrestarts = 1\nmax_evaluations = 12\nstart_points = 4\n",
            "[abc]\npopulation = 12\ngenerations = 3\nbudget = 36\nalpha = 0.5\n",
        )
}

/// The files every calibration writes, without the shards' own evaluations and lock files.
fn shared_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    files(dir)
        .into_iter()
        .filter(|(n, _)| !n.starts_with("evaluations.shard-") && !n.starts_with(".talentflow"))
        .collect()
}

/// Runs `n` shards of the calibration `file` into `out` as concurrent processes.
fn shards(file: &Path, out: &Path, n: usize, threads: &str) {
    let children: Vec<_> = (0..n)
        .map(|i| {
            std::process::Command::new(env!("CARGO_BIN_EXE_talentflow"))
                .args(["calibrate", file.to_str().unwrap(), "--out"])
                .arg(out)
                .args(["--shard", &format!("{i}/{n}"), "--wait", "120", "-q"])
                .env("RAYON_NUM_THREADS", threads)
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (i, c) in children.into_iter().enumerate() {
        let o = c.wait_with_output().unwrap();
        assert!(
            o.status.success(),
            "shard {i}/{n}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

/// The ids of the `mean` rows of a ledger file.
fn mean_ids(path: &Path) -> Vec<usize> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| l.split(',').nth(2) == Some("mean"))
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect()
}

#[test]
fn shards_as_concurrent_processes_write_the_files_of_an_unsharded_run() {
    for (name, text) in [("smm", TOY_CAL.to_string()), ("abc", abc_cal())] {
        let path = common::scratch("calibrate", &format!("shard-{name}.toml"));
        std::fs::write(&path, &text).unwrap();
        let reference = common::scratch("calibrate", &format!("shard-{name}-1"));
        let o = common::talentflow(&[
            "calibrate",
            path.to_str().unwrap(),
            "--out",
            reference.to_str().unwrap(),
            "-q",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let want = files(&reference);
        let total = mean_ids(&reference.join("evaluations.csv")).len();
        for (n, threads) in [(2, "1"), (3, "2")] {
            let out = common::scratch("calibrate", &format!("shard-{name}-{n}"));
            shards(&path, &out, n, threads);
            assert_eq!(shared_files(&out), want, "{name}: {n} shards");
            // Every evaluation was simulated once, by its shard (id mod n).
            let mut seen = Vec::new();
            for i in 0..n {
                let ids = mean_ids(&out.join(format!("evaluations.shard-{i}-of-{n}.csv")));
                assert!(
                    ids.iter().all(|id| id % n == i),
                    "{name}: shard {i}/{n}: {ids:?}"
                );
                seen.extend(ids);
            }
            seen.sort();
            assert_eq!(seen, (0..total).collect::<Vec<_>>(), "{name}: {n} shards");

            // A kill: every ledger cut inside a line, the results not written yet. Running the
            // shards again resumes to the same files.
            for (f, _) in files(&out) {
                let p = out.join(&f);
                if f.starts_with("evaluations") {
                    let bytes = std::fs::read(&p).unwrap();
                    std::fs::write(&p, &bytes[..bytes.len() * 2 / 3 + 7]).unwrap();
                } else if !f.starts_with("calibration") {
                    std::fs::remove_file(&p).unwrap();
                }
            }
            shards(&path, &out, n, threads);
            assert_eq!(shared_files(&out), want, "{name}: {n} shards, resumed");
        }
    }

    // A shard alone waits for the others, then says which are missing; --force is refused.
    let path = common::scratch("calibrate", "shard-smm.toml");
    let lone = common::scratch("calibrate", "shard-lone");
    let run = |shard: &str, extra: &[&str]| {
        let mut args = vec![
            "calibrate",
            path.to_str().unwrap(),
            "--out",
            lone.to_str().unwrap(),
            "--shard",
            shard,
            "--wait",
            "1",
            "-q",
        ];
        args.extend_from_slice(extra);
        let o = common::talentflow(&args);
        assert!(!o.status.success(), "{shard}");
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    std::fs::write(&path, TOY_CAL).unwrap();
    let e = run("1/2", &[]);
    assert!(e.contains("shard 0 has not prepared"), "{e}");
    let e = run("0/2", &[]);
    assert!(
        e.contains("no new evaluation from the other shards in 1 s")
            && e.contains("shard 1/2 (evaluations 1, 3")
            && e.contains("evaluations.shard-1-of-2.csv"),
        "{e}"
    );
    let e = run("0/2", &["--force"]);
    assert!(e.contains("--force cannot be used with --shard 0/2"), "{e}");
    let e = run("2/2", &[]);
    assert!(e.contains("expected I/N"), "{e}");
}
