//! Every file in `experiments/` runs: each experiment and sweep is copied with fewer agents,
//! replicates and design points, and run through the command line (sweeps then through
//! `talentflow sensitivity`), so a file that no longer loads or runs fails the test suite. The
//! directory is listed, so a new file is covered without touching this test.

mod common;

use std::path::{Path, PathBuf};

/// Researcher agents per run: enough to populate every country, few enough to be quick.
const AGENTS: u32 = 1000;
/// Replicates per arm (two, so the statistics have a spread to work with).
const REPLICATES: i64 = 2;

/// The experiment and sweep files shipped in `experiments/`, sorted. Calibration files (they
/// have a `method`) are run, reduced, by `tests/calibrate.rs`.
fn shipped() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "toml"))
        .filter(|p| {
            let t: toml::Table = toml::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
            !t.contains_key("method")
        })
        .collect();
    files.sort();
    files
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `file` made small: `world.agents` replaced in its shared `set`, fewer replicates, the smallest
/// design of its kind, and a relative `base` made absolute (the copy lives elsewhere).
/// What kind of file it is.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Experiment,
    /// A sweep, and whether its design has sensitivity indices (Morris, Saltelli).
    Sweep {
        indices: bool,
    },
}

fn reduced(file: &Path) -> (toml::Table, Kind) {
    let source = std::fs::read_to_string(file).unwrap();
    let mut t: toml::Table = toml::from_str(&source)
        .unwrap_or_else(|e| panic!("{} is not valid TOML: {e}", file.display()));
    if let Some(toml::Value::String(base)) = t.get_mut("base") {
        let beside = file.parent().unwrap().join(&*base);
        if beside.is_file() {
            *base = beside.to_str().unwrap().to_string();
        }
    }
    let mut set: Vec<toml::Value> = match t.remove("set") {
        Some(toml::Value::Array(a)) => a,
        None => Vec::new(),
        Some(other) => panic!("{}: `set` is not a list: {other}", file.display()),
    };
    set.retain(|v| {
        v.as_str()
            .is_none_or(|s| s.split('=').next().unwrap().trim() != "world.agents")
    });
    set.push(format!("world.agents={AGENTS}").into());
    t.insert("set".into(), set.into());
    let sweep = t.contains_key("design");
    // Adaptive precision would add batches of replicates up to its maximum: the reduced copy runs
    // its fixed replicates (the machinery has its own tests in tests/claims.rs).
    t.remove("precision");
    t.insert(
        "replicates".into(),
        (if sweep { 1 } else { REPLICATES }).into(),
    );
    // The smallest design of each kind.
    let kind = t
        .get("design")
        .and_then(|d| d.get("kind"))
        .and_then(|k| k.as_str())
        .map(str::to_string);
    let kind = kind.as_deref();
    let (key, min) = match kind {
        Some("morris") => ("trajectories", 2),
        Some("saltelli") | Some("lhs") => ("n", 2),
        _ => ("levels", 2),
    };
    if let Some(toml::Value::Table(design)) = t.get_mut("design") {
        design.insert(key.into(), toml::Value::Integer(min));
    }
    if kind == Some("grid") {
        let params = t.get_mut("parameter").and_then(|p| p.as_array_mut());
        for p in params
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_table_mut())
        {
            if p.contains_key("levels") {
                p.insert("levels".into(), toml::Value::Integer(2));
            }
        }
    }
    let kind = match kind {
        _ if !sweep => Kind::Experiment,
        Some("morris") | Some("saltelli") => Kind::Sweep { indices: true },
        _ => Kind::Sweep { indices: false },
    };
    (t, kind)
}

#[test]
fn every_shipped_experiment_and_sweep_runs() {
    let files = shipped();
    assert!(files.len() >= 5, "found the shipped files: {files:?}");
    for file in &files {
        let name = file.file_stem().unwrap().to_str().unwrap();
        let (table, kind) = reduced(file);
        let dir = common::scratch("shipped_experiments", name);
        std::fs::create_dir_all(&dir).unwrap();
        let copy = dir.join(format!("{name}.toml"));
        std::fs::write(&copy, toml::to_string(&table).unwrap()).unwrap();
        let out = dir.join("out");
        let (copy, out) = (copy.to_str().unwrap(), out.to_str().unwrap());
        let command = if kind == Kind::Experiment {
            "experiment"
        } else {
            "sweep"
        };
        let r = common::talentflow(&[command, copy, "--out", out, "-q"]);
        assert!(
            r.status.success(),
            "{} (reduced copy {copy}): talentflow {command} failed:\n{}",
            file.display(),
            text(&r.stderr)
        );
        if kind == (Kind::Sweep { indices: true }) {
            let r = common::talentflow(&["sensitivity", out]);
            assert!(
                r.status.success(),
                "{}: talentflow sensitivity failed:\n{}",
                file.display(),
                text(&r.stderr)
            );
        } else if kind == Kind::Experiment {
            let summary = std::fs::read_to_string(Path::new(out).join("summary.csv")).unwrap();
            assert!(
                summary.lines().count() > 1,
                "{}: empty summary",
                file.display()
            );
        }
    }
}
