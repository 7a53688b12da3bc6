//! The agent panel and the cohort tables (issue 16): consistent with the aggregates, exact where
//! they can be checked exactly, deterministic across threads, and without effect on any other
//! output.

mod common;

use std::collections::BTreeMap;

use talentflow::model::engine::Simulation;
use talentflow::model::observe::{ObserveOptions, Observers};
use talentflow::model::panel::{end, PanelOptions};
use talentflow::rundir::careers;
use talentflow::rundir::write::series_npz;
use talentflow::scenario::ValidScenario;

fn opts(fraction: f64, every_ticks: usize, cohorts: bool) -> ObserveOptions {
    ObserveOptions {
        panel: Some(PanelOptions {
            fraction,
            every_ticks,
        }),
        cohorts,
    }
}

/// Runs to the end with observers; returns the simulation (finished) and its observers.
fn observed(s: ValidScenario, seed: u64, o: &ObserveOptions) -> (Simulation, Observers) {
    let mut sim = Simulation::with_observers(s, seed, o).unwrap();
    sim.run(|_| {});
    let obs = sim.take_observers().unwrap();
    (sim, obs)
}

fn files(s: &ValidScenario, obs: &Observers) -> Vec<(&'static str, Vec<u8>)> {
    careers::files(
        std::path::Path::new("x"),
        s,
        obs.panel.as_ref(),
        obs.cohorts.as_ref(),
    )
    .unwrap()
}

#[test]
fn observers_change_no_other_output_and_do_not_depend_on_threads() {
    let s = common::toy3(&["world.agents=6000", "world.years=6"]);
    let plain = common::run(s.clone(), 3);
    let o = opts(0.2, 6, true);
    let runs: Vec<_> = [1, 2, 3]
        .iter()
        .map(|&n| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .unwrap();
            pool.install(|| {
                let (sim, obs) = observed(s.clone(), 3, &o);
                (sim.into_recorder(), files(&s, &obs))
            })
        })
        .collect();
    for (rec, f) in &runs {
        assert_eq!(rec, &plain, "an observed run records the same series");
        assert_eq!(f, &runs[0].1, "observer files differ across thread counts");
    }
    assert_eq!(
        series_npz(&s, &runs[1].0).unwrap(),
        series_npz(&s, &plain).unwrap()
    );
    assert_eq!(runs[0].1.len(), 5);
}

#[test]
fn the_sample_is_a_pure_function_of_seed_and_id() {
    let s = common::toy3(&["world.years=2"]);
    let (_, a) = observed(s.clone(), 8, &opts(0.3, 12, false));
    let (_, b) = observed(s.clone(), 8, &opts(0.3, 12, false));
    let pa = a.panel.unwrap();
    assert_eq!(pa, b.panel.unwrap());
    for c in &pa.careers {
        assert!(pa.is_sampled(c.id), "id {}", c.id);
    }
    let ids: Vec<u64> = pa.careers.iter().map(|c| c.id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids never repeat");
    // Every id below the count created was decided by the same hash, entrants included.
    let sampled = (0..pa.researchers_created())
        .filter(|&id| pa.is_sampled(id))
        .count();
    assert_eq!(sampled, pa.careers.len());
    assert!(
        pa.careers.iter().any(|c| c.born_tick > 0),
        "entrants sampled"
    );
    // Another seed samples other agents.
    let (_, other) = observed(s, 9, &opts(0.3, 12, false));
    assert_ne!(
        other
            .panel
            .unwrap()
            .careers
            .iter()
            .map(|c| c.id)
            .collect::<Vec<_>>(),
        ids
    );
}

#[test]
fn sample_shares_match_the_population_within_sampling_error() {
    let s = common::toy3(&["world.agents=40000", "world.years=5"]);
    let f = 0.05;
    let (sim, obs) = observed(s, 21, &opts(f, 12, false));
    let p = obs.panel.unwrap();
    let r = sim.researchers();
    let c = 3;
    let n_pop = r.len() as f64;
    let last = sim.tick() as u32;
    let rows: Vec<_> = p.rows.iter().filter(|row| row.tick == last).collect();
    let n = rows.len() as f64;
    // The sample size itself: Binomial(N, f).
    let sd = (n_pop * f * (1.0 - f)).sqrt();
    assert!((n - n_pop * f).abs() < 4.0 * sd, "{n} sampled of {n_pop}");
    for k in 0..c {
        let pop = r.loc.iter().filter(|&&l| l as usize == k).count() as f64 / n_pop;
        let smp = rows.iter().filter(|row| row.loc as usize == k).count() as f64 / n;
        let se = (pop * (1.0 - pop) / n).sqrt();
        assert!(
            (smp - pop).abs() < 4.0 * se,
            "country {k}: sample share {smp}, population {pop}"
        );
    }
}

#[test]
fn every_move_is_in_flows_and_snapshots_follow_the_moves() {
    let s = common::toy3(&["world.agents=20000", "world.years=6"]);
    let (sim, obs) = observed(s, 5, &opts(0.25, 6, false));
    let scale = sim.params().scale;
    let rec = sim.recorder();
    let p = obs.panel.unwrap();
    let c = rec.c;
    assert!(p.moves.len() > 50, "a test with moves: {}", p.moves.len());
    let mut per_cell: BTreeMap<(u32, u16, u16), f64> = BTreeMap::new();
    for m in &p.moves {
        assert_ne!(m.from, m.to);
        *per_cell.entry((m.tick, m.from, m.to)).or_default() += scale;
    }
    for (&(t, from, to), &moved) in &per_cell {
        let flow = rec.flows[(t as usize - 1) * c * c + from as usize * c + to as usize];
        assert!(
            moved <= flow + 1e-6,
            "tick {t} {from}→{to}: {moved} > {flow}"
        );
    }
    // Replaying each career's moves from one snapshot gives its location at the next.
    let mut loc: BTreeMap<u32, (u32, u16)> = BTreeMap::new();
    let mut moves = p.moves.iter().peekable();
    let mut checked = 0;
    let mut ticks: Vec<u32> = p.rows.iter().map(|r| r.tick).collect();
    ticks.dedup();
    for &t in &ticks {
        while let Some(m) = moves.next_if(|m| m.tick <= t) {
            let career = &p.careers[m.career as usize];
            assert!(career.born_tick < m.tick, "moved after entering");
            // An entrant may move before its first snapshot: it started at `start`.
            let e = loc
                .entry(m.career)
                .or_insert((career.born_tick, career.start));
            assert_eq!(e.1, m.from, "career {} moved from where it was", m.career);
            e.1 = m.to;
        }
        for row in p.rows.iter().filter(|r| r.tick == t) {
            if let Some(&(_, l)) = loc.get(&row.career) {
                assert_eq!(l, row.loc, "career {} at tick {t}", row.career);
                checked += 1;
            }
            loc.insert(row.career, (t, row.loc));
        }
    }
    assert!(checked > 1000);
    // Snapshots hold exactly the living: none after its exit, none before its entry.
    for row in &p.rows {
        let career = &p.careers[row.career as usize];
        assert!(row.tick >= career.born_tick);
        assert!(career.exit_tick.is_none_or(|x| row.tick < x));
    }
    // Founders and their startups agree.
    for row in p.rows.iter().filter(|r| r.founder_of.is_some()) {
        let st = &p.startups[row.founder_of.unwrap() as usize];
        assert_eq!(st.founder, p.careers[row.career as usize].id);
        assert!(st.end_tick.is_none_or(|e| row.tick < e));
    }
    assert!(p.startups.iter().any(|s| s.end_kind != end::RUNNING));
    for sr in &p.startup_rows {
        assert_eq!(
            sr.loc,
            p.rows
                .iter()
                .find(|r| r.tick == sr.tick && r.founder_of == Some(sr.startup))
                .map(|r| r.loc)
                .expect("a living startup's founder is in the snapshot"),
            "a startup is where its founder works"
        );
    }
}

/// (initial, entry year, k, home, start) → (alive, stayed).
type StayTable = BTreeMap<(bool, usize, usize, usize, usize), (u64, u64)>;

/// Stay counts recomputed from a full panel (every agent sampled): (cohort, k, home, start) →
/// (alive, stayed), by the definition in `model::cohort`.
fn stay_from_panel(p: &talentflow::model::panel::Panel, ticks: u32, tpy: u32) -> StayTable {
    let mut first_move: BTreeMap<u32, u32> = BTreeMap::new();
    for m in &p.moves {
        first_move.entry(m.career).or_insert(m.tick);
    }
    let mut out = BTreeMap::new();
    for (i, c) in p.careers.iter().enumerate() {
        let b = c.born_tick;
        let initial = b == 0;
        let entry_year = if initial { 0 } else { ((b - 1) / tpy) as usize };
        let last_entry = if initial {
            0
        } else {
            (entry_year as u32 + 1) * tpy
        };
        let mut k = 0;
        while last_entry + k * tpy <= ticks {
            let at = b + k * tpy;
            if c.exit_tick.is_none_or(|x| x > at) {
                let e = out
                    .entry((
                        initial,
                        entry_year,
                        k as usize,
                        c.home as usize,
                        c.start as usize,
                    ))
                    .or_insert((0, 0));
                e.0 += 1;
                e.1 += u64::from(first_move.get(&(i as u32)).is_none_or(|&m| m > at));
            }
            k += 1;
        }
    }
    out
}

#[test]
fn stay_curves_equal_a_count_over_the_full_panel() {
    let s = common::toy3(&["world.agents=5000", "world.years=5"]);
    let tpy = s.world.ticks_per_year as u32;
    let ticks = s.ticks() as u32;
    let (_, obs) = observed(s, 13, &opts(1.0, 12, true));
    let p = obs.panel.unwrap();
    let cohorts = obs.cohorts.unwrap();
    let expected = stay_from_panel(&p, ticks, tpy);
    let got: BTreeMap<_, _> = cohorts
        .stay_rows()
        .into_iter()
        .map(|r| {
            (
                (r.initial, r.entry_year, r.k, r.home, r.start),
                (r.alive, r.stayed),
            )
        })
        .collect();
    assert_eq!(got, expected);
    assert!(got.values().any(|&(a, s)| s < a), "some left");
    assert!(
        got.keys().any(|k| !k.0 && k.2 >= 2),
        "entrant cohorts at k ≥ 2"
    );
}

#[test]
fn emigrations_equal_the_full_panel_moves_out_of_home() {
    let s = common::toy3(&["world.agents=5000", "world.years=4"]);
    let tpy = s.world.ticks_per_year as u32;
    let (_, obs) = observed(s, 17, &opts(1.0, 12, true));
    let p = obs.panel.unwrap();
    let cohorts = obs.cohorts.unwrap();
    let mut expected: BTreeMap<(usize, usize, usize), u64> = BTreeMap::new();
    for m in &p.moves {
        let c = &p.careers[m.career as usize];
        if m.from == c.home {
            let year = ((m.tick - 1) / tpy) as usize;
            *expected
                .entry((year, c.home as usize, cohorts.quintile(c.skill)))
                .or_default() += 1;
        }
    }
    let got: BTreeMap<_, _> = cohorts
        .hazard_rows()
        .into_iter()
        .filter(|r| r.emigrations > 0)
        .map(|r| ((r.year, r.home, r.quintile), r.emigrations))
        .collect();
    assert_eq!(got, expected);
    // Quintiles of the skill distribution: about a fifth of the initial population each.
    let initial: Vec<_> = p.careers.iter().filter(|c| c.born_tick == 0).collect();
    for q in 0..5 {
        let share = initial
            .iter()
            .filter(|c| cohorts.quintile(c.skill) == q)
            .count() as f64
            / initial.len() as f64;
        assert!((share - 0.2).abs() < 0.03, "quintile {q}: {share}");
    }
}

#[test]
fn stay_outcomes_read_the_cohort_tables_and_name_bad_parts() {
    use talentflow::study::outcome::{Outcome, StayOutcome};
    let s = common::toy3(&["world.agents=4000", "world.years=4"]);
    let (_, obs) = observed(
        s.clone(),
        2,
        &ObserveOptions {
            panel: None,
            cohorts: true,
        },
    );
    let cohorts = obs.cohorts.unwrap();
    let rows = cohorts.stay_rows();
    let value = |text: &str| {
        StayOutcome::parse(text)
            .and_then(|o| o.resolve(&s))
            .unwrap()
            .value(&cohorts)
    };
    // HUB = 0, MID = 1: MID-born researchers who started in HUB, initial population, 2 years on.
    let row = rows
        .iter()
        .find(|r| r.initial && r.k == 2 && r.home == 1 && r.start == 0)
        .unwrap();
    assert_eq!(
        value("stay.MID>HUB:initial@2y"),
        row.stayed as f64 / row.alive as f64
    );
    // Pooled over cohorts: the initial population and the entrants of 2025 and 2026.
    let (a, st) = rows
        .iter()
        .filter(|r| r.k == 1 && r.home == 2 && r.start == 2)
        .fold((0, 0), |(a, s), r| (a + r.alive, s + r.stayed));
    assert!(rows.iter().any(|r| !r.initial && r.k == 1 && r.home == 2));
    assert_eq!(value("stay.NEW>NEW@1y"), st as f64 / a as f64);
    let entrants = rows
        .iter()
        .find(|r| !r.initial && r.entry_year == 1 && r.k == 1 && r.home == 2 && r.start == 2)
        .unwrap();
    assert_eq!(
        value("stay.NEW>NEW:2026@1y"),
        entrants.stayed as f64 / entrants.alive as f64
    );
    let problem = |text: &str| {
        StayOutcome::parse(text)
            .and_then(|o| o.resolve(&s))
            .unwrap_err()
            .to_string()
    };
    assert!(problem("stay.MID-HUB@2y").contains("`MID-HUB` is not HOME>START"));
    assert!(problem("stay.MID>HUB@2").contains("`2` is not a whole number of years"));
    assert!(problem("stay.MID>XXX@2y").contains("unknown start country code `XXX`"));
    assert!(problem("stay.MID>HUB:later@2y").contains("cohort `later`"));
    assert!(problem("stay.MID>HUB:2040@2y").contains("entry year 2040 is outside the run"));
    assert!(problem("stay.MID>HUB@9y").contains("longer than the run"));
    let e = Outcome::parse("stay.MID>HUB@2y").unwrap_err().to_string();
    assert!(e.contains("cohort outcome"), "{e}");
}

#[test]
fn the_cli_writes_and_lists_the_observer_files_and_refuses_bad_panels() {
    let dir = common::scratch("careers", "cli");
    let d = dir.to_str().unwrap();
    let out = common::talentflow(&[
        "run",
        "toy3",
        "--years",
        "2",
        "--panel",
        "300",
        "--panel-every",
        "0.5",
        "--cohorts",
        "--out",
        d,
        "-q",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    for name in careers::NAMES {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        assert_eq!(
            manifest["outputs"][name]["blake3"],
            blake3::hash(&bytes).to_hex().as_str(),
            "{name}"
        );
    }
    // 300 of toy3's 3000 agents: the fraction 0.1; half-yearly snapshots: every 6 ticks.
    assert_eq!(manifest["panel"]["fraction"], 0.1);
    assert_eq!(manifest["panel"]["every_ticks"], 6);
    assert_eq!(manifest["cohorts"], true);
    let plot = common::talentflow(&["plot", d]);
    assert!(
        plot.status.success(),
        "{}",
        String::from_utf8_lossy(&plot.stderr)
    );
    let svg = std::fs::read_to_string(dir.join("plots/stay_curves.svg")).unwrap();
    assert!(svg.contains("years since entry"));
    // The career alluvial: its three stages, every sampled agent in each, in SVG and PNG.
    let svg = std::fs::read_to_string(dir.join("plots/careers.svg")).unwrap();
    for stage in ["born in", "first observed in", "at the end"] {
        assert!(svg.contains(stage), "{stage}");
    }
    let panel = std::fs::read(dir.join(careers::PANEL)).unwrap();
    let ids: std::collections::BTreeSet<i64> = careers::read_int_column(&panel, "id")
        .unwrap()
        .into_iter()
        .collect();
    assert!(
        svg.contains(&format!("{} sampled researcher agents", ids.len())),
        "the figure counts the panel's {} agents",
        ids.len()
    );
    assert!(
        std::fs::metadata(dir.join("plots/careers.png"))
            .unwrap()
            .len()
            > 1000
    );
    // Stage totals: the labels of each stage add up to every sampled agent.
    let totals = stage_label_totals(&svg);
    assert_eq!(totals.len(), 3, "{totals:?}");
    for t in &totals {
        assert_eq!(*t, ids.len() as u64, "{totals:?}");
    }
    let report = common::talentflow(&["report", d]);
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(
        html.contains("Careers: where the sampled researchers"),
        "report has the figure"
    );
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["panel"]["every_ticks"], 6);
    for (args, message) in [
        (
            vec!["--panel", "2.5"],
            "--panel 2.5: the fraction 2.5 is not in (0, 1]",
        ),
        (
            vec!["--panel", "0"],
            "--panel 0: a panel of 0 agents samples nobody",
        ),
        (vec!["--panel", "some"], "--panel some: not a number"),
        (
            vec!["--panel", "0.1", "--panel-every", "0.01"],
            "--panel-every 0.01: must be at least one tick",
        ),
    ] {
        let bad = common::scratch("careers", "bad");
        let mut all = vec![
            "run",
            "toy3",
            "--years",
            "1",
            "--out",
            bad.to_str().unwrap(),
        ];
        all.extend(args);
        let out = common::talentflow(&all);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(err.contains(message), "{err}");
    }
}

/// The stay share `text` of one run of `s` with `seed`, the cohort tables computed as
/// `run --cohorts` computes them.
fn stay_of_run(s: &ValidScenario, seed: u64, text: &str) -> f64 {
    use talentflow::study::outcome::StayOutcome;
    let o = ObserveOptions {
        panel: None,
        cohorts: true,
    };
    let (_, obs) = observed(s.clone(), seed, &o);
    StayOutcome::parse(text)
        .and_then(|x| x.resolve(s))
        .unwrap()
        .value(&obs.cohorts.unwrap())
}

const STAY_EXPERIMENT: &str = r#"
name = "stay"
base = "toy3"
replicates = 2
master_seed = 3
set = ["world.years=3", "world.agents=1500"]
outcomes = ["stay.MID>MID@1y", "stay.MID>HUB:initial@2y", "retention.NEW@end"]

[[arm]]
name = "control"

[[arm]]
name = "open_hub"
[[arm.policy]]
country = "HUB"
kind = "wages"
from_year = 2026
to_year = 2028
budget_bn = 30
"#;

#[test]
fn stay_outcomes_work_in_experiments_branched_or_not_and_equal_single_runs() {
    use talentflow::study::experiment::{self, Experiment};
    let file = common::scratch("careers", "stay_experiment.toml");
    std::fs::write(&file, STAY_EXPERIMENT).unwrap();
    let exp = Experiment::load(&file).unwrap();
    let res = experiment::run(&exp, &|| false, &|_, _| Ok(()), &|| ()).unwrap();
    for i in 0..exp.total_runs() {
        let (a, _, seed) = exp.run_plan(i);
        let s = &exp.arms[a].scenario;
        for (o, text) in ["stay.MID>MID@1y", "stay.MID>HUB:initial@2y"]
            .iter()
            .enumerate()
        {
            let v = res.values[i][o];
            assert!(
                v.is_finite() && (0.0..=1.0).contains(&v),
                "run {i} {text}: {v}"
            );
            assert_eq!(v, stay_of_run(s, seed, text), "run {i} {text}");
        }
    }
    // From the command, and branched in 2026 (the observers continue with the state): the
    // same runs.csv.
    let mut csvs = Vec::new();
    for (extra, threads) in [
        (None, "2"),
        (Some("2026"), "2"),
        (Some("2026"), "1"),
        (None, "1"),
    ] {
        let out = common::scratch(
            "careers",
            &format!("stay_exp_{}_{threads}", extra.unwrap_or("none")),
        );
        let mut args = vec![
            "experiment",
            file.to_str().unwrap(),
            "-q",
            "--out",
            out.to_str().unwrap(),
        ];
        if let Some(y) = extra {
            args.extend(["--branch-at", y]);
        }
        let r = common::talentflow_env(&args, &[("RAYON_NUM_THREADS", threads)]);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        csvs.push(std::fs::read_to_string(out.join("runs.csv")).unwrap());
    }
    // Branched or not, on 1 or 2 threads: the same bytes.
    for other in &csvs[1..] {
        assert_eq!(&csvs[0], other);
    }
    assert!(
        csvs[0].lines().next().unwrap().contains("stay.MID>MID@1y"),
        "{}",
        csvs[0]
    );
    // A bad stay outcome in an experiment names its part.
    let bad = STAY_EXPERIMENT.replace("stay.MID>MID@1y", "stay.MID>XXX@1y");
    let err = Experiment::from_str(&bad, &file).unwrap_err().to_string();
    assert!(err.contains("unknown start country code `XXX`"), "{err}");
}

#[test]
fn stay_outcomes_work_in_sweeps_and_batch_evaluation() {
    use talentflow::study::evaluate::evaluate;
    // Batch evaluation: each value is the single run's.
    let base = common::toy3(&["world.years=2", "world.agents=1200"]);
    let keys = vec!["country.HUB.openness".to_string()];
    let points = vec![vec![0.3], vec![0.9]];
    let outcomes = vec!["stay.MID>MID@1y".to_string(), "hhi@end".to_string()];
    let seeds = [4, 9];
    let ev = evaluate(
        &base,
        "<embedded toy3>",
        &keys,
        &points,
        &outcomes,
        &seeds,
        &|| false,
    )
    .unwrap();
    for (p, point) in points.iter().enumerate() {
        let s = common::toy3(&[
            "world.years=2",
            "world.agents=1200",
            &format!("country.HUB.openness={}", point[0]),
        ]);
        for (k, &seed) in seeds.iter().enumerate() {
            let v = ev.values[(p * seeds.len() + k) * outcomes.len()];
            assert_eq!(
                v,
                stay_of_run(&s, seed, "stay.MID>MID@1y"),
                "point {p} seed {seed}"
            );
        }
    }
    // A sweep with a stay term in an outcome expression.
    let fixture =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny_sweep.toml");
    let text = std::fs::read_to_string(fixture).unwrap().replace(
        "\"control:hhi@2027\",",
        "\"control:hhi@2027\",\n  \"stay_gain = infra:stay.MID>MID@1y - control:stay.MID>MID@1y\",",
    );
    let file = common::scratch("careers", "stay_sweep.toml");
    std::fs::write(&file, text).unwrap();
    let out = common::scratch("careers", "stay_sweep");
    let r = common::talentflow(&[
        "sweep",
        file.to_str().unwrap(),
        "-q",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let mut rd = csv::Reader::from_path(out.join("results.csv")).unwrap();
    let col = rd
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "stay_gain")
        .unwrap();
    let gains: Vec<f64> = rd
        .records()
        .map(|r| r.unwrap()[col].parse().unwrap())
        .collect();
    assert!(
        !gains.is_empty() && gains.iter().all(|g| g.is_finite()),
        "{gains:?}"
    );
    assert!(
        gains.iter().any(|&g| g != 0.0),
        "the infra arm changes who stays: {gains:?}"
    );
    let one = common::scratch("careers", "stay_sweep_1");
    let r = common::talentflow(&[
        "sweep",
        file.to_str().unwrap(),
        "-q",
        "--jobs",
        "1",
        "--out",
        one.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_eq!(
        std::fs::read(one.join("results.csv")).unwrap(),
        std::fs::read(out.join("results.csv")).unwrap(),
        "results.csv differs between 1 job and all"
    );
}

/// The counts at the end of the alluvial's node labels ("China 1,234"), summed per column of
/// labels (by their x coordinate in the SVG).
fn stage_label_totals(svg: &str) -> Vec<u64> {
    let mut by_x: BTreeMap<i64, u64> = BTreeMap::new();
    for piece in svg.split("<text").skip(1) {
        let Some((attrs, rest)) = piece.split_once('>') else {
            continue;
        };
        let Some((content, _)) = rest.split_once("</text>") else {
            continue;
        };
        let content = content.trim();
        let x = attrs
            .split("x=\"")
            .nth(1)
            .and_then(|v| v.split('"').next())
            .and_then(|v| v.parse::<f64>().ok());
        let count = content
            .rsplit(' ')
            .next()
            .map(|n| n.replace(',', ""))
            .and_then(|n| n.parse::<u64>().ok());
        let named = content.contains(' ') && !content.contains("sampled");
        if let (Some(x), Some(n), true) = (x, count, named) {
            *by_x.entry(x as i64).or_insert(0) += n;
        }
    }
    by_x.into_values().filter(|&t| t > 0).collect()
}
