//! The command line end to end: run writes every file, validate reports problems precisely,
//! finished runs are never overwritten without --force.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::talentflow;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    common::scratch("cli", name)
}

#[test]
fn run_writes_all_outputs_and_refuses_to_overwrite() {
    let out = scratch("run");
    let out_s = out.to_str().unwrap();
    let r = talentflow(&["run", "toy3", "--seed", "3", "--out", out_s, "--years", "2"]);
    assert!(r.status.success(), "stderr: {}", text(&r.stderr));
    for f in [
        "series.npz",
        "countries.csv",
        "world.csv",
        "scenario.toml",
        "manifest.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let stdout = text(&r.stdout);
    assert!(
        stdout.contains("HHI") && stdout.contains("retention"),
        "summary: {stdout}"
    );

    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["seed"], 3);
    assert_eq!(manifest["ticks"], 24);
    assert_eq!(manifest["talentflow_version"], env!("CARGO_PKG_VERSION"));
    let npz = std::fs::read(out.join("series.npz")).unwrap();
    assert_eq!(
        manifest["outputs"]["series.npz"]["blake3"],
        blake3::hash(&npz).to_hex().to_string()
    );
    assert_eq!(manifest["scenario"]["world"]["years"], 2);
    assert_eq!(
        manifest["scenario"]["innovation"]["lambda"], 0.7,
        "defaults are filled in"
    );

    let csv = std::fs::read_to_string(out.join("countries.csv")).unwrap();
    assert!(csv.starts_with("tick,year,country,variable,value\n"));
    assert!(csv.contains("\n24,2027,NEW,retention,"));

    // The resolved scenario is itself a valid scenario with the same hash.
    let v = talentflow(&["validate", out.join("scenario.toml").to_str().unwrap()]);
    assert!(v.status.success(), "{}", text(&v.stderr));
    assert!(text(&v.stdout).contains(manifest["scenario_hash"].as_str().unwrap()));

    // A finished run is refused without --force, and replaced with it.
    let again = talentflow(&["run", "toy3", "--seed", "3", "--out", out_s, "--years", "2"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).contains("--force"),
        "{}",
        text(&again.stderr)
    );
    let forced = talentflow(&[
        "run", "toy3", "--seed", "3", "--out", out_s, "--years", "2", "--force",
    ]);
    assert!(forced.status.success());
    assert_eq!(
        std::fs::read(out.join("series.npz")).unwrap(),
        npz,
        "same inputs, same bytes"
    );
}

#[test]
fn thread_count_does_not_change_output_bytes() {
    let mut digests = Vec::new();
    for threads in ["1", "2"] {
        let out = scratch(&format!("threads{threads}"));
        let r = Command::new(env!("CARGO_BIN_EXE_talentflow"))
            .args([
                "run",
                "--agents",
                "9000",
                "--years",
                "2",
                "--seed",
                "8",
                "-q",
                "--out",
                out.to_str().unwrap(),
            ])
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .unwrap();
        assert!(r.status.success(), "{}", text(&r.stderr));
        let bytes: Vec<Vec<u8>> = ["series.npz", "countries.csv", "world.csv"]
            .iter()
            .map(|f| std::fs::read(out.join(f)).unwrap())
            .collect();
        digests.push(bytes);
    }
    assert_eq!(digests[0], digests[1]);
}

#[test]
fn validate_reports_malformed_scenarios_with_line_and_key() {
    let dir = scratch("validate");
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "[world]\nyears = 5\nagnets = 100\n\n[innovation]\nlambda = \"high\"\n\n[[country]]\ncode = \"AAA\"\nlat = 0\nlon = 0\nwage_k = -3\nvc_bn = 1\necosystem = 0.5\namenity = 0.5\nopenness = 0.5\norigin_share = 1\nlocation_share = 1\nhome_stay = 1.5\n\n[[policy]]\ncountry = \"XYZ\"\nkind = \"wages\"\nfrom_year = 2030\nto_year = 2026\nbudget_bn = 1\n",
    )
    .unwrap();
    let r = talentflow(&["validate", bad.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(1));
    let err = text(&r.stderr);
    let file = bad.display().to_string();
    assert!(
        err.contains(&format!("{file}:3:1: `world.agnets`: unknown key")),
        "{err}"
    );
    assert!(err.contains("did you mean `agents`"), "{err}");
    assert!(
        err.contains(&format!(
            "{file}:6:1: `innovation.lambda`: expected a number"
        )),
        "{err}"
    );
    // Structural problems are reported first; fix them and the meaning checks follow.
    let fixed = std::fs::read_to_string(&bad)
        .unwrap()
        .replace("agnets", "agents")
        .replace("\"high\"", "0.8");
    std::fs::write(&bad, fixed).unwrap();
    let r = talentflow(&["validate", bad.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(1));
    let err = text(&r.stderr);
    assert!(
        err.contains(&format!(
            "{file}:12:1: `country[0].wage_k`: must be positive"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("{file}:19:1: `country[0].home_stay`")),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{file}:22:1: `policy[0].country`: unknown country code \"XYZ\""
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("{file}:25:1: `policy[0].to_year`")),
        "{err}"
    );
    assert!(err.contains("4 problems"), "{err}");
    assert!(!err.contains("panicked"));

    // TOML syntax errors carry a line too.
    std::fs::write(&bad, "[world]\nyears = = 3\n").unwrap();
    let r = talentflow(&["validate", bad.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(1));
    assert!(
        text(&r.stderr).contains(&format!("{file}:2:")),
        "{}",
        text(&r.stderr)
    );
}

#[test]
fn overrides_are_checked_like_the_file() {
    let r = talentflow(&[
        "validate",
        "toy3",
        "--set",
        "innovation.lambda=abc",
        "--set",
        "country.NEW.openness=2",
    ]);
    assert_eq!(r.status.code(), Some(1));
    let err = text(&r.stderr);
    assert!(
        err.contains("--set innovation.lambda=abc: `innovation.lambda`: expected a number"),
        "{err}"
    );
    let r = talentflow(&["validate", "toy3", "--set", "country.NEW.openness=2"]);
    let err = text(&r.stderr);
    assert!(
        err.contains("--set country.NEW.openness=2: `country[2].openness`: must be in [0, 1]"),
        "{err}"
    );
    let r = talentflow(&["validate", "toy3", "--set", "country.XXX.openness=0.2"]);
    assert!(
        text(&r.stderr).contains("no element `XXX`"),
        "{}",
        text(&r.stderr)
    );
    let ok = talentflow(&[
        "validate",
        "toy3",
        "--set",
        "country.NEW.openness=0.9",
        "--set",
        "world.agents=500",
    ]);
    assert!(ok.status.success(), "{}", text(&ok.stderr));
}

#[test]
fn missing_scenario_file_is_a_clear_error() {
    let r = talentflow(&[
        "run",
        "/nonexistent/scenario.toml",
        "--out",
        scratch("missing").to_str().unwrap(),
    ]);
    assert_eq!(r.status.code(), Some(1));
    let err = text(&r.stderr);
    assert!(
        err.contains("/nonexistent/scenario.toml") && err.contains("cannot read"),
        "{err}"
    );
    assert!(!err.contains("panicked"));
}

#[test]
fn shorthand_flags_conflicting_with_set_are_refused() {
    for (flag, value, set) in [
        ("--years", "3", "world.years=5"),
        ("--years", "3", " world . years = 3"),
        ("--agents", "500", "world.agents=800"),
    ] {
        let out = scratch("shorthand");
        let r = talentflow(&[
            "run",
            "toy3",
            flag,
            value,
            "--set",
            set,
            "-q",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(r.status.code(), Some(1), "{flag} {value} --set {set}");
        let err = text(&r.stderr);
        assert!(
            err.starts_with("error: ")
                && err.contains(&format!("{flag} {value}"))
                && err.contains(&format!("--set {set}")),
            "{err}"
        );
        assert!(!out.exists(), "nothing is written");
    }
    // Each alone, or together with other keys, is fine.
    let out = scratch("shorthand-ok");
    let r = talentflow(&[
        "run",
        "toy3",
        "--years",
        "1",
        "--agents",
        "300",
        "--set",
        "world.seed=4",
        "-q",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", text(&r.stderr));
}

#[test]
#[ignore = "needs python3 with numpy; run with `cargo test -- --ignored` (CI does)"]
fn series_npz_loads_in_numpy() {
    let has_numpy = Command::new("python3")
        .args(["-c", "import numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    common::require_tool("series_npz_loads_in_numpy", "python3 with numpy", has_numpy);
    let out = scratch("numpy");
    let r = talentflow(&[
        "run",
        "toy3",
        "--years",
        "3",
        "-q",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let script = r#"
import sys, numpy as np
d = np.load(sys.argv[1])
c = [x.decode() for x in d["countries"]]
assert c == ["HUB", "MID", "NEW"], c
T = 36
assert d["researchers"].shape == (T + 1, 3) and d["researchers"].dtype == np.float64
assert d["flows"].shape == (T, 3, 3) and d["origin_location"].shape == (T + 1, 3, 3)
assert d["hhi"].shape == (T + 1,) and abs(d["year"][-1] - 2028.0) < 1e-9
r = d["researchers"]
lhs = np.diff(r, axis=0)
rhs = (d["inflow"] - d["outflow"] + d["entrants"] - d["retired"])[1:]
assert np.allclose(lhs, rhs), abs(lhs - rhs).max()
assert np.allclose(d["flows"].sum(axis=2), d["outflow"][1:])
assert np.allclose(d["origin_location"].sum(axis=1), r)
assert all(np.isfinite(d[k]).all() for k in d.files if k != "countries")
# The README's net moves: gross moves c→d over the run, minus the moves back.
moved = d["flows"].sum(axis=0)
net = moved - moved.T
assert np.allclose(net, -net.T)
assert np.allclose(net.sum(axis=1), d["outflow"].sum(axis=0) - d["inflow"].sum(axis=0))
# Both concentration measures, and the deprecated alias equal to the head-count one.
assert np.allclose(d["hhi_researchers"], (d["researcher_share"] ** 2).sum(axis=1))
assert np.allclose(d["hhi_talent"], (d["talent_share"] ** 2).sum(axis=1))
assert np.array_equal(d["hhi"], d["hhi_researchers"])
assert np.array_equal(d["effective_hubs"], d["effective_hubs_researchers"])
assert np.allclose(d["effective_hubs_talent"], 1 / d["hhi_talent"])
# Natives are the base of retention; compute changes by additions minus retirements.
assert np.allclose(d["natives"], d["origin_location"].sum(axis=2))
k = d["compute_gw"]
assert np.allclose(np.diff(k, axis=0), (d["compute_built_gw"] - d["compute_retired_gw"])[1:])
print("ok")
"#;
    let py = Command::new("python3")
        .args(["-c", script, out.join("series.npz").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "numpy check failed: {}{}",
        text(&py.stdout),
        text(&py.stderr)
    );
}

#[test]
fn profile_prints_phase_times_without_changing_outputs() {
    let (plain, profiled) = (scratch("plain"), scratch("profiled"));
    let run = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "run",
            "toy3",
            "--years",
            "1",
            "-q",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        talentflow(&args)
    };
    let a = run(&plain, &[]);
    let b = run(&profiled, &["--profile"]);
    assert!(
        a.status.success() && b.status.success(),
        "{}",
        text(&b.stderr)
    );
    let table = text(&b.stderr);
    for phase in [
        "init",
        "country phase",
        "researcher phase",
        "apply",
        "total",
    ] {
        assert!(table.contains(phase), "{phase} missing from: {table}");
    }
    assert!(!text(&a.stderr).contains("researcher phase"));
    assert_eq!(
        std::fs::read(plain.join("series.npz")).unwrap(),
        std::fs::read(profiled.join("series.npz")).unwrap()
    );
}

#[test]
fn generate_world_writes_a_valid_reproducible_scenario() {
    let dir = scratch("generate");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("world12.toml");
    let f = file.to_str().unwrap();
    let r = talentflow(&[
        "generate-world",
        "--countries",
        "12",
        "--seed",
        "3",
        "--out",
        f,
    ]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let written = std::fs::read_to_string(&file).unwrap();
    let stdout = talentflow(&["generate-world", "--countries", "12", "--seed", "3"]);
    assert_eq!(
        text(&stdout.stdout),
        written,
        "stdout and --out agree; same seed, same world"
    );
    let v = talentflow(&["validate", f]);
    assert!(v.status.success(), "{}", text(&v.stderr));
    assert!(
        text(&v.stdout).contains("12 countries"),
        "{}",
        text(&v.stdout)
    );
    let other = talentflow(&["generate-world", "--countries", "12", "--seed", "4"]);
    assert_ne!(text(&other.stdout), written);

    let bad = talentflow(&["generate-world", "--countries", "0"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stderr).contains("number of countries"),
        "{}",
        text(&bad.stderr)
    );
}
