//! Figures stay bounded and well-formed whatever the run or experiment holds: a world of 2000
//! countries, an experiment of 200,000 arms, effects of ±1e308 and names with control
//! characters all give figures of a readable, bounded size (what was grouped or left out said on
//! the figure), finite axes and SVG that is well-formed XML.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs talentflow, failing the test if it has not finished within `limit` (a hang).
fn talentflow_within(args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_talentflow"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starts the binary");
    let started = Instant::now();
    while child.try_wait().expect("waits").is_none() {
        if started.elapsed() > limit {
            child.kill().ok();
            panic!("talentflow {args:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

/// Width and height of a PNG, from its header.
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert!(bytes.starts_with(b"\x89PNG"), "{} is a PNG", path.display());
    let word = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (word(16), word(20))
}

/// Every figure written to `plots`: PNG at most 1600 × 2400 pixels, SVG at most 1 MB, and the
/// SVG free of what XML forbids (C0 controls other than tab, LF, CR; U+FFFE, U+FFFF).
fn assert_bounded(plots: &Path) -> Vec<PathBuf> {
    let mut svgs = Vec::new();
    for entry in std::fs::read_dir(plots).unwrap() {
        let path = entry.unwrap().path();
        match path.extension().and_then(|e| e.to_str()) {
            Some("png") => {
                let (w, h) = png_size(&path);
                assert!(w <= 1600 && h <= 2400, "{}: {w}×{h} px", path.display());
            }
            Some("svg") => {
                let svg = std::fs::read_to_string(&path).unwrap();
                assert!(
                    svg.len() < 1_000_000,
                    "{}: {} bytes",
                    path.display(),
                    svg.len()
                );
                assert_well_formed_text(&svg, &path);
                svgs.push(path);
            }
            _ => {}
        }
    }
    svgs.sort();
    svgs
}

fn assert_well_formed_text(doc: &str, path: &Path) {
    let bad = doc
        .chars()
        .find(|&c| (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{FFFE}');
    assert!(
        bad.is_none(),
        "{} holds {:?}, which XML does not allow",
        path.display(),
        bad
    );
}

#[test]
fn a_world_of_2000_countries_plots_in_bounded_figures() {
    let dir = common::scratch("figure_bounds", "c2000");
    std::fs::create_dir_all(&dir).unwrap();
    let world = dir.join("world2000.toml");
    let r = common::talentflow(&[
        "generate-world",
        "--countries",
        "2000",
        "--out",
        world.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let run = dir.join("run");
    let r = common::talentflow(&[
        "run",
        world.to_str().unwrap(),
        "--years",
        "1",
        "--set",
        "world.ticks_per_year=1",
        "--agents",
        "20000",
        "-q",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let r = talentflow_within(&["plot", run.to_str().unwrap()], Duration::from_secs(300));
    assert!(r.status.success(), "{}", text(&r.stderr));
    let plots = run.join("plots");
    assert_eq!(assert_bounded(&plots).len(), 6);

    // What was grouped is said on the figure.
    let heat = std::fs::read_to_string(plots.join("migration.svg")).unwrap();
    assert!(heat.contains("1971 others"), "grouped row of the heat map");
    assert!(heat.contains("2000 countries: the 29 with the most researchers"));
    let retention = std::fs::read_to_string(plots.join("retention.svg")).unwrap();
    assert!(retention.contains("1986 others"), "grouped panel");
    assert!(retention.contains("2000 countries: the 14 with the most talent"));
    // Every pair with a move is still in the numbers beside the figure.
    let csv = std::fs::read_to_string(plots.join("migration.csv")).unwrap();
    assert!(
        csv.lines().count() > 30 * 29,
        "{} rows",
        csv.lines().count()
    );
}

/// A hand-written experiment directory: `experiment.json` and `summary.csv` with `rows`
/// (arm, outcome, n, mean, sd, ci_low, ci_high, diff, diff_ci_low, diff_ci_high, effect).
fn experiment_dir(name: &str, rows: &[String]) -> PathBuf {
    let dir = common::scratch("figure_bounds", name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("experiment.json"),
        r#"{"name": "bounds", "control": "control", "ci_level": 0.95}"#,
    )
    .unwrap();
    let mut csv = String::from(
        "arm,outcome,n,mean,sd,ci_low,ci_high,diff,diff_ci_low,diff_ci_high,effect_size\n",
    );
    for r in rows {
        csv.push_str(r);
        csv.push('\n');
    }
    std::fs::write(dir.join("summary.csv"), csv).unwrap();
    dir
}

#[test]
fn an_experiment_of_200000_arms_plots_a_bounded_forest() {
    let mut rows = vec!["control,retention.SAU@2030,30,0.5,0.1,0.46,0.54,,,,".to_string()];
    for i in 0..200_000 {
        let d = (i % 1000) as f64 / 1e4;
        rows.push(format!(
            "arm{i},retention.SAU@2030,30,{},0.1,0.4,0.6,{d},{},{},0.1",
            0.5 + d,
            d - 0.01,
            d + 0.01
        ));
    }
    let dir = experiment_dir("arms200k", &rows);
    let plots = dir.join("plots");
    let r = talentflow_within(
        &[
            "plot",
            dir.to_str().unwrap(),
            "--out",
            plots.to_str().unwrap(),
        ],
        Duration::from_secs(300),
    );
    assert!(r.status.success(), "{}", text(&r.stderr));
    let svgs = assert_bounded(&plots);
    assert_eq!(svgs.len(), 1);
    let svg = std::fs::read_to_string(&svgs[0]).unwrap();
    assert!(
        svg.contains("40 of 200,000 arms shown") || svg.contains("40 of 200000 arms shown"),
        "the figure says what it left out"
    );
    // The arms shown are those that differ most (|diff| = 0.0999 for i ≡ 999 mod 1000).
    assert!(
        svg.contains("arm999\n") || svg.contains(">arm999<"),
        "largest effect shown"
    );

    let html = dir.join("report.html");
    let r = talentflow_within(
        &[
            "report",
            dir.to_str().unwrap(),
            "--out",
            html.to_str().unwrap(),
        ],
        Duration::from_secs(300),
    );
    assert!(r.status.success(), "{}", text(&r.stderr));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("200 of 200000 arms listed"),
        "report table bounded"
    );
    assert!(page.len() < 5_000_000, "report of {} bytes", page.len());
}

#[test]
fn effects_of_1e308_plot_on_finite_axes_without_hanging() {
    let rows = [
        "control,x@2030,3,0,1,-1,1,,,,".to_string(),
        "huge,x@2030,3,1e308,1e308,-1e308,1e308,1e308,-1e308,1.7976931348623157e308,1".into(),
        "tiny,x@2030,3,0,0,0,0,-1e308,-1.7976931348623157e308,1e300,-1".into(),
        "flat,x@2030,3,0,0,0,0,0,0,0,".into(),
    ];
    let dir = experiment_dir("huge", &rows);
    let plots = dir.join("plots");
    let r = talentflow_within(
        &[
            "plot",
            dir.to_str().unwrap(),
            "--out",
            plots.to_str().unwrap(),
        ],
        Duration::from_secs(120),
    );
    assert!(r.status.success(), "{}", text(&r.stderr));
    let svgs = assert_bounded(&plots);
    let svg = std::fs::read_to_string(&svgs[0]).unwrap();
    assert!(
        !svg.contains("NaN") && !svg.contains("inf"),
        "finite coordinates"
    );
    // Tick labels of a ±1e300 axis are short (exponent notation), not 300 digits.
    assert!(svg.contains("e300"), "exponent tick labels");
    assert!(!svg.contains("000000000000000000"), "a 300-digit label");

    let r = talentflow_within(&["report", dir.to_str().unwrap()], Duration::from_secs(120));
    assert!(r.status.success(), "{}", text(&r.stderr));
}

#[test]
fn control_characters_in_names_never_reach_svg_or_html() {
    // Arm names come from summary.csv as written.
    let rows = [
        "control,retention.SAU@2030,3,0.5,0.1,0.4,0.6,,,,".to_string(),
        "\"bad\u{1}arm\u{7f}\u{0}\",retention.SAU@2030,3,0.6,0.1,0.5,0.7,0.1,0.05,0.15,1".into(),
    ];
    let dir = experiment_dir("controls", &rows);
    let plots = dir.join("plots");
    let r = common::talentflow(&[
        "plot",
        dir.to_str().unwrap(),
        "--out",
        plots.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let svgs = assert_bounded(&plots);
    let svg = std::fs::read_to_string(&svgs[0]).unwrap();
    assert!(
        svg.contains("bad\u{FFFD}arm\u{FFFD}\u{FFFD}"),
        "shown as replacement characters"
    );
    let r = common::talentflow(&["report", dir.to_str().unwrap()]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert_well_formed_text(&html, &dir.join("report.html"));

    // A country name with control characters: refused when the scenario loads, or shown
    // cleaned; never written raw into a figure.
    let scenario = common::scratch("figure_bounds", "controls-scenario.toml");
    let toy = talentflow::scenario::TOY3_TOML.replacen(
        "name = \"Hub\"",
        "name = \"Hub\\u0001land\\u001b[31m\"",
        1,
    );
    assert_ne!(toy, talentflow::scenario::TOY3_TOML, "toy3 has a HUB");
    std::fs::write(&scenario, toy).unwrap();
    let run = common::scratch("figure_bounds", "controls-run");
    let r = common::talentflow(&[
        "run",
        scenario.to_str().unwrap(),
        "--years",
        "1",
        "-q",
        "--report",
        "--out",
        run.to_str().unwrap(),
    ]);
    if !r.status.success() {
        assert!(text(&r.stderr).contains("name"), "{}", text(&r.stderr));
        return;
    }
    let r = common::talentflow(&["plot", run.to_str().unwrap()]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    for svg in assert_bounded(&run.join("plots")) {
        let doc = std::fs::read_to_string(&svg).unwrap();
        assert!(!doc.contains("Hub\u{1}"), "{}", svg.display());
    }
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert_well_formed_text(&html, &run.join("report.html"));
    assert!(html.contains("Hub\u{FFFD}land\u{FFFD}[31m"));
}
