//! What a newcomer and a paper author meet on the command line: the README's examples do what it
//! says, `validate` lists every problem of every phase, studies take `--set`, progress and `-q`
//! behave without a terminal, experiment directories hold their printed table, labels say what
//! was measured, and run directories of the first version still read.

mod common;

use std::path::{Path, PathBuf};

use common::talentflow;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    common::scratch("usability", name)
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

// ------------------------------------------------------------------ validate

/// The README's `validate` example is what `validate` prints for tests/fixtures/bad.toml: three
/// problems of three phases (structure, range, codes), one of which used to hide the others.
#[test]
fn validate_prints_the_readmes_three_problems() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme
        .find("error: invalid scenario bad.toml")
        .expect("README shows the validate example");
    let block = &readme[start..];
    let block = &block[..block.find("\n```").unwrap()];
    let r = std::process::Command::new(env!("CARGO_BIN_EXE_talentflow"))
        .args(["validate", "bad.toml"])
        .current_dir(root().join("tests/fixtures"))
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(1));
    assert_eq!(text(&r.stderr).trim_end(), block.trim_end());
}

#[test]
fn validate_reports_structure_first_then_every_meaning_problem_that_can_still_be_checked() {
    let dir = scratch("validate-all");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("many.toml");
    let body = common::small_world(
        r#"
[[country]]
code = "AAA"
lat = "north"
lon = 500.0
wage_k = 100.0
vc_bn = nan
ecosystem = 0.5
amenity = 0.5
openness = 2.0
origin_share = 1.0
location_share = 1.0
home_stay = 1.0

[[policy]]
country = "BBB"
kind = "magic"
from_year = 2030
to_year = 2020

[[policy]]
country = "QQQ"
kind = "wages"
from_year = 2025
to_year = 2030
budget_bn = -1.0
"#,
    );
    let body = body.replacen("years = 10", "years = 10\nseeed = 3", 1);
    std::fs::write(&path, body).unwrap();
    let r = talentflow(&["validate", path.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(1));
    let err = text(&r.stderr);
    let lines: Vec<&str> = err.lines().skip(1).collect();
    let position = |needle: &str| {
        lines
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("`{needle}` not reported:\n{err}"))
    };
    // Structure (unknown key, wrong type, NaN, unknown kind) …
    let structure = [
        "`world.seeed`: unknown key",
        "`country[2].lat`: expected a number, found a string",
        "`country[2].vc_bn`: must be a finite number",
        "`policy[0].kind`: unknown value \"magic\"",
    ];
    // … then meaning, on everything that parsed.
    let meaning = [
        "`country[2].lon`: must be in [-180, 180], found 500",
        "`country[2].openness`: must be in [0, 1], found 2",
        "`country[2].code`: duplicate country code \"AAA\"",
        "`policy[1].country`: unknown country code \"QQQ\" (known: AAA, BBB)",
        "`policy[1].budget_bn`: must be between 0 and 1e15, found -1",
    ];
    let last_structure = structure.iter().map(|s| position(s)).max().unwrap();
    let first_meaning = meaning.iter().map(|s| position(s)).min().unwrap();
    assert!(last_structure < first_meaning, "structure first:\n{err}");
    assert!(
        err.starts_with(&format!(
            "error: invalid scenario {}: {} problems",
            path.display(),
            structure.len() + meaning.len()
        )),
        "nothing more, nothing twice:\n{err}"
    );
    // Nothing follows from a value already reported: no range check on the NaN or the string,
    // no kind-dependent check of the policy whose kind is unknown.
    assert!(!err.contains("`country[2].lat`: must be"), "{err}");
    assert!(
        !err.contains("`country[2].vc_bn`: must be between"),
        "{err}"
    );
    assert!(!err.contains("`policy[0].to_year`"), "{err}");
}

#[test]
fn an_index_out_of_range_names_the_valid_indices() {
    let r = talentflow(&["validate", "toy3", "--set", "country.3.wage_k=100"]);
    assert_eq!(r.status.code(), Some(1));
    let err = text(&r.stderr);
    assert!(err.contains("use an index from 0 to 2"), "{err}");
}

// ------------------------------------------------------------------ studies

const TINY_EXPERIMENT: &str = r#"
name = "tiny"
base = "toy3"
replicates = 2
set = ["world.years=2", "world.agents=600"]
outcomes = ["retention.NEW@2027", "exits.HUB@2025..2027", "hhi@2027", "hhi_talent@end"]

[[arm]]
name = "control"

[[arm]]
name = "wages"
[[arm.policy]]
country = "NEW"
kind = "wages"
from_year = 2025
to_year = 2026
budget_bn = 2
"#;

fn tiny_experiment(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let file = dir.join("tiny.toml");
    std::fs::write(&file, TINY_EXPERIMENT).unwrap();
    file
}

#[test]
fn experiments_take_set_write_summary_txt_and_report_progress_without_a_terminal() {
    let dir = scratch("experiment");
    let file = tiny_experiment(&dir);
    let out = dir.join("out");
    let r = talentflow(&[
        "experiment",
        file.to_str().unwrap(),
        "--set",
        "world.agents=500",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let (stdout, stderr) = (text(&r.stdout), text(&r.stderr));

    // The printed table is in the directory, byte for byte (the timing line is not).
    let table = std::fs::read_to_string(out.join("summary.txt")).unwrap();
    assert!(table.starts_with("tiny: 2 arms × 2 replicates"), "{table}");
    assert!(
        stdout.starts_with(&table),
        "stdout:\n{stdout}\nsummary.txt:\n{table}"
    );
    assert!(stdout[table.len()..].contains("4 runs on"));

    // The command line's override follows the file's and is recorded with every arm.
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("experiment.json")).unwrap())
            .unwrap();
    for arm in meta["arms"].as_array().unwrap() {
        let overrides: Vec<&str> = arm["overrides"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(
            &overrides[..3],
            ["world.years=2", "world.agents=600", "world.agents=500"]
        );
    }
    let hash = |d: &Path| -> String {
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(d.join("experiment.json")).unwrap())
                .unwrap();
        m["arms"][0]["scenario_hash"].as_str().unwrap().to_string()
    };
    let plain = dir.join("plain");
    let r = talentflow(&[
        "experiment",
        file.to_str().unwrap(),
        "-q",
        "--out",
        plain.to_str().unwrap(),
    ]);
    assert!(r.status.success());
    assert_ne!(hash(&out), hash(&plain), "--set changed the runs");

    // Without a terminal: a start line, progress, and the summary above.
    assert!(
        stderr.starts_with("experiment tiny: 2 arms × 2 replicates = 4 runs"),
        "{stderr}"
    );
    assert!(stderr.contains("runs 4/4 (100%)"), "{stderr}");
    // -q: nothing but errors.
    assert!(
        r.stdout.is_empty() && r.stderr.is_empty(),
        "-q printed output"
    );
}

#[test]
fn sweeps_take_set_recorded_in_their_identity_and_refuse_setting_a_swept_key() {
    let dir = scratch("sweep");
    std::fs::create_dir_all(&dir).unwrap();
    let file = root().join("tests/fixtures/tiny_sweep.toml");
    let out = dir.join("out");
    let r = talentflow(&[
        "sweep",
        file.to_str().unwrap(),
        "--set",
        "world.agents=400",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let (stdout, stderr) = (text(&r.stdout), text(&r.stderr));
    // An unsharded sweep's last line names no shard.
    assert!(!stdout.contains("shard"), "{stdout}");
    assert!(stdout.starts_with("sweep tiny_sweep: 24 runs"), "{stdout}");
    assert!(
        stderr.starts_with("sweep tiny_sweep: 24 runs (0 already done)"),
        "{stderr}"
    );
    assert!(stderr.contains("runs 24/24 (100%)"), "{stderr}");

    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("sweep.json")).unwrap()).unwrap();
    assert_eq!(
        meta["set"],
        serde_json::json!(["world.years=2", "world.agents=800", "world.agents=400"])
    );
    // The same directory without the override is another sweep: refused.
    let r = talentflow(&[
        "sweep",
        file.to_str().unwrap(),
        "-q",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.status.code(), Some(1));
    assert!(text(&r.stderr).contains("hash"), "{}", text(&r.stderr));
    assert!(r.stdout.is_empty());

    // A swept key cannot be set: the design's value would replace it at every point, whether
    // it is spelled as in the file or by index.
    for set in [
        "country.NEW.openness=0.5",
        "country.2.openness=0.5",
        "innovation.lambda=1",
    ] {
        let r = talentflow(&[
            "sweep",
            file.to_str().unwrap(),
            "--set",
            set,
            "--out",
            dir.join("refused").to_str().unwrap(),
        ]);
        assert_eq!(r.status.code(), Some(1), "{set}");
        let err = text(&r.stderr);
        assert!(err.contains("is swept (parameter["), "{set}: {err}");
        assert!(!dir.join("refused").exists(), "nothing written");
    }
}

// ------------------------------------------------------------------ runs

#[test]
fn a_run_without_a_terminal_logs_its_start_and_progress_and_is_silent_with_q() {
    let out = scratch("progress");
    let r = talentflow(&[
        "run",
        "toy3",
        "--years",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(r.status.success());
    let stderr = text(&r.stderr);
    assert!(
        stderr.starts_with("run <embedded toy3>: 3 countries, 12 ticks, 3000 agents, seed"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("tick ").count(),
        10,
        "a line per tenth:\n{stderr}"
    );
    assert!(stderr.contains("tick 12/12 (100%)"));
    // The summary names the last row as what it is: the state at the start of 2026.
    let stdout = text(&r.stdout);
    assert!(
        stdout.contains("from the start of 2025 to the start of 2026"),
        "{stdout}"
    );
    assert!(!stdout.contains("end of 2026"));
    assert!(stdout.contains("HHI of researchers") && stdout.contains("of talent"));

    let r = talentflow(&[
        "run",
        "toy3",
        "--years",
        "1",
        "-q",
        "--force",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(r.status.success());
    assert!(r.stdout.is_empty() && r.stderr.is_empty());
}

#[test]
fn run_help_names_every_file_and_plot_names_a_missing_path() {
    let r = talentflow(&["run", "--help"]);
    let help = text(&r.stdout);
    for file in [
        "series.npz",
        "countries.csv",
        "world.csv",
        "scenario.toml",
        "run.json",
        "manifest.json",
    ] {
        assert!(help.contains(file), "{file} missing from run --help");
    }
    let missing = scratch("no-such-run");
    for command in ["plot", "report"] {
        let r = talentflow(&[command, missing.to_str().unwrap()]);
        assert_eq!(r.status.code(), Some(1));
        let err = text(&r.stderr);
        assert!(
            err.contains(missing.to_str().unwrap()) && err.contains("No such file"),
            "{command}: {err}"
        );
        assert!(!err.contains("manifest"), "{command}: {err}");
    }
}

// ------------------------------------------------------------------ what the labels measure

#[test]
fn both_concentration_measures_are_recorded_and_the_old_names_still_work() {
    let out = scratch("hhi");
    let r = talentflow(&[
        "run",
        "toy3",
        "--years",
        "1",
        "-q",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(r.status.success());
    let run = talentflow::rundir::read::read_run(&out).unwrap();
    let last = run.rows() - 1;
    let sum_sq = |v: &str| -> f64 {
        (0..run.c())
            .map(|k| run.at(v, last, k).unwrap().powi(2))
            .sum()
    };
    let w = |v: &str| run.world_var(v).unwrap()[last];
    assert!((w("hhi_researchers") - sum_sq("researcher_share")).abs() < 1e-12);
    assert!((w("hhi_talent") - sum_sq("talent_share")).abs() < 1e-12);
    assert!((w("effective_hubs_talent") * w("hhi_talent") - 1.0).abs() < 1e-12);
    assert_ne!(w("hhi_talent"), w("hhi_researchers"), "two measures");
    // The deprecated names are written for one more version, equal to the head-count measures,
    // and the manifest says so.
    assert_eq!(w("hhi"), w("hhi_researchers"));
    assert_eq!(w("effective_hubs"), w("effective_hubs_researchers"));
    let manifest = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(manifest.contains("deprecated alias of hhi_researchers"));

    // Outcomes by either name.
    let dir = scratch("hhi-experiment");
    let file = tiny_experiment(&dir);
    let exp = talentflow::study::experiment::Experiment::load(&file).unwrap();
    assert_eq!(exp.spec.outcomes[2], "hhi@2027");
}

#[test]
fn figures_and_report_say_which_concentration_they_show() {
    let out = scratch("labels");
    let r = talentflow(&[
        "run",
        "toy3",
        "--years",
        "1",
        "-q",
        "--report",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(r.status.success());
    let r = talentflow(&["plot", out.to_str().unwrap(), "--svg-only"]);
    assert!(r.status.success());
    let svg = std::fs::read_to_string(out.join("plots/concentration.svg")).unwrap();
    assert!(
        svg.contains("by researcher head counts") && svg.contains("by talent (skill-weighted)")
    );
    assert!(
        !svg.contains("HHI of talent shares"),
        "the old, wrong label"
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Concentration by researcher head counts: HHI"));
    assert!(html.contains("by talent (skill-weighted) HHI"));
    assert!(!html.contains("talent HHI"), "the old, wrong label");

    // A policy's years read as years in the run report's table.
    let dir = scratch("policy-years");
    std::fs::create_dir_all(&dir).unwrap();
    let scenario = dir.join("policy.toml");
    std::fs::write(
        &scenario,
        common::small_world(
            "[[policy]]\ncountry = \"AAA\"\nkind = \"wages\"\nfrom_year = 2025\n\
             to_year = 2030.5\nbudget_bn = 1.0\n",
        ),
    )
    .unwrap();
    let run = dir.join("run");
    let r = talentflow(&[
        "run",
        scenario.to_str().unwrap(),
        "--years",
        "1",
        "-q",
        "--report",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert!(
        html.contains("<td>2025</td><td>2030.5</td>"),
        "policy years"
    );
    assert!(!html.contains("2,025"));
}

/// A run directory as the first version wrote it: no `hhi_*`/`effective_hubs_*` pairs, no
/// `natives`, no `compute_retired_gw` (the manifest's hashes updated to match).
fn as_first_version(dir: &Path) {
    let new_world = [
        "hhi_researchers",
        "hhi_talent",
        "effective_hubs_researchers",
        "effective_hubs_talent",
    ];
    let new_country = ["natives", "compute_retired_gw"];
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    for (file, column, dropped) in [
        ("world.csv", 2, &new_world[..]),
        ("countries.csv", 3, &new_country[..]),
    ] {
        let path = dir.join(file);
        let kept: String = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .filter(|l| !dropped.contains(&l.split(',').nth(column).unwrap_or("")))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&path, &kept).unwrap();
        manifest["outputs"][file]["blake3"] =
            blake3::hash(kept.as_bytes()).to_hex().to_string().into();
    }
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
}

#[test]
fn run_directories_of_the_first_version_still_plot_and_report() {
    let out = scratch("first-version");
    let r = talentflow(&[
        "run",
        "toy3",
        "--years",
        "1",
        "-q",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(r.status.success());
    as_first_version(&out);
    let world = std::fs::read_to_string(out.join("world.csv")).unwrap();
    assert!(world.contains(",hhi,") && !world.contains("hhi_researchers"));
    let r = talentflow(&["plot", out.to_str().unwrap()]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let r = talentflow(&["report", out.to_str().unwrap()]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Concentration by researcher head counts: HHI"));
}

// ------------------------------------------------------------------ figures a paper can use

#[test]
fn few_agents_are_counted_marked_and_explained() {
    let out = scratch("few-agents");
    let r = talentflow(&[
        "run",
        "toy3",
        "--years",
        "1",
        "--agents",
        "150",
        "-q",
        "--report",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let run = talentflow::rundir::read::read_run(&out).unwrap();
    let per_agent = run.scenario.world.researchers / 150.0;
    let r = talentflow(&["plot", out.to_str().unwrap(), "--svg-only"]);
    assert!(r.status.success());
    let retention = std::fs::read_to_string(out.join("plots/retention.svg")).unwrap();
    for k in 0..run.c() {
        let fewest = run
            .series("natives", k)
            .unwrap()
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min);
        let n = (fewest / per_agent).round();
        let mark = if n < 100.0 { "\u{2020}" } else { "" };
        let label = format!("(n = {n}{mark})");
        assert!(retention.contains(&label), "{label} missing");
    }
    assert!(retention.contains("fewer than 100 native agents"));
    assert!(
        retention.contains("--agents 1500"),
        "how to raise the resolution"
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("native<br>agents") && html.contains("researcher<br>agents"));
    assert!(html.contains("Fewer than 100 agents"));
}

#[test]
fn axes_label_the_start_and_end_values() {
    let out = scratch("ends");
    let r = talentflow(&[
        "run",
        "toy3",
        "--years",
        "2",
        "-q",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(r.status.success());
    let r = talentflow(&["plot", out.to_str().unwrap(), "--svg-only"]);
    assert!(r.status.success());
    let svg = std::fs::read_to_string(out.join("plots/concentration.svg")).unwrap();
    // Texts in the series' colour (Okabe–Ito blue) on the effective-hubs axis: the first and
    // last values, to the precision the labels give.
    let run = talentflow::rundir::read::read_run(&out).unwrap();
    let hubs = run.world_var("effective_hubs_researchers").unwrap();
    let blue: Vec<f64> = svg
        .split("<text ")
        .skip(1)
        .filter(|t| t.contains("fill=\"#0072B2\""))
        .filter_map(|t| t.split('>').nth(1)?.split('<').next()?.trim().parse().ok())
        .collect();
    for v in [hubs[0], hubs[hubs.len() - 1]] {
        assert!(
            blue.iter().any(|b| (b - v).abs() <= 0.0051),
            "{v} not labelled; blue labels {blue:?}"
        );
    }
    // The time axis starts and ends on the run's first and last year.
    assert!(
        svg.contains(">\n2025\n<") && svg.contains(">\n2027\n<"),
        "year ticks"
    );
}

#[test]
fn experiment_figures_are_one_per_outcome_with_units_years_and_no_empty_rows() {
    let dir = scratch("forest");
    let file = tiny_experiment(&dir);
    let out = dir.join("out");
    let r = talentflow(&[
        "experiment",
        file.to_str().unwrap(),
        "-q",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let r = talentflow(&["plot", out.to_str().unwrap(), "--svg-only"]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let plots = out.join("plots");
    for (name, unit) in [
        (
            "effects_01_retention_NEW_2027",
            "arm \u{2212} control (share)",
        ),
        (
            "effects_02_exits_HUB_2025__2027",
            "arm \u{2212} control (startups)",
        ),
        (
            "effects_03_hhi_2027",
            "arm \u{2212} control (index [1/C, 1])",
        ),
        (
            "effects_04_hhi_talent_end",
            "arm \u{2212} control (index [1/C, 1])",
        ),
    ] {
        let svg = std::fs::read_to_string(plots.join(format!("{name}.svg")))
            .unwrap_or_else(|e| panic!("{name}.svg: {e}"));
        assert!(svg.contains(unit), "{name}: {unit}");
        assert!(
            svg.contains("Bonferroni-adjusted for the 4 comparisons"),
            "{name}"
        );
    }
    let r = talentflow(&["report", out.to_str().unwrap()]);
    assert!(r.status.success());
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    // The policy's years read as years, and an unwritten description leaves no row.
    assert!(html.contains("NEW wages $2B/yr 2025–2026"), "policy years");
    assert!(!html.contains("2025.0"));
    assert!(
        !html.contains("<dt>description</dt>"),
        "empty description row"
    );
}
