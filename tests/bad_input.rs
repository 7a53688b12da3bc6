//! Hostile and mistaken input: every file in `tests/bad_scenarios/` (and a few generated ones too
//! big to commit) must be refused by `talentflow validate` and `talentflow run` with exit status 1
//! and an error naming the problem — never a panic, a hang, or an unbounded allocation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/bad_scenarios");

/// Runs the binary in `cwd`; a process still running after a minute is killed and reported as
/// a hang (a correct refusal takes milliseconds).
fn talentflow_in(args: &[&str], cwd: &Path) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_talentflow"))
        .args(args)
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs the binary");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            child.kill().ok();
            panic!("talentflow {args:?} hung");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.wait_with_output().expect("output")
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("bad_input")
        .join(name);
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `EXPECTED`: file name → phrase its error must contain.
fn expected() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(Path::new(CORPUS).join("EXPECTED")).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (file, phrase) = l.split_once(char::is_whitespace).expect("FILE PHRASE");
            (file.to_string(), phrase.trim().to_string())
        })
        .collect()
}

/// Asserts a clean refusal: exit 1, nothing on stdout, `phrase` on stderr, no panic.
fn assert_refused(args: &[&str], phrase: &str) {
    assert_refused_in(args, phrase, Path::new("."));
}

/// [`assert_refused`] run in `cwd`. The error is also short (user text is clipped, however long
/// the input) and holds no control character but the newlines between its lines.
fn assert_refused_in(args: &[&str], phrase: &str, cwd: &Path) {
    let r = talentflow_in(args, cwd);
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.len() < 8000, "{args:?}: a {} byte error", err.len());
    assert!(
        !err.chars().any(|c| c.is_control() && c != '\n'),
        "{args:?}: control characters in the error:\n{err:?}"
    );
    assert_eq!(
        r.status.code(),
        Some(1),
        "{args:?}: exit {:?}\n{err}",
        r.status
    );
    assert!(
        err.starts_with("error: "),
        "{args:?}: not an error report:\n{err}"
    );
    assert!(
        err.contains(phrase),
        "{args:?}: expected {phrase:?} in:\n{err}"
    );
    assert!(!err.contains("panicked"), "{args:?} panicked:\n{err}");
    assert!(r.stdout.is_empty(), "{args:?} printed to stdout");
}

#[test]
fn every_corpus_file_is_refused_with_a_precise_error() {
    let expected = expected();
    let mut files: Vec<String> = std::fs::read_dir(CORPUS)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "EXPECTED")
        .collect();
    files.sort();
    assert!(
        files.len() >= 40,
        "the corpus has only {} files",
        files.len()
    );
    let listed: Vec<&String> = expected.keys().collect();
    assert_eq!(
        files.iter().collect::<Vec<_>>(),
        listed,
        "EXPECTED must list every corpus file and nothing else"
    );
    let out = scratch("runs");
    // Study files run without --out, so their `name` would pick the directory: nothing may
    // appear in (or outside) this empty working directory.
    let cwd = scratch("cwd");
    for file in &files {
        let path = Path::new(CORPUS).join(file);
        let path_s = path.to_str().unwrap();
        let phrase = &expected[file];
        let study = ["experiment", "sweep"]
            .into_iter()
            .find(|kind| file.starts_with(&format!("{kind}_")));
        if let Some(kind) = study {
            assert_refused_in(&[kind, path_s, "-q"], phrase, &cwd);
            let left: Vec<_> = std::fs::read_dir(&cwd).unwrap().collect();
            assert!(left.is_empty(), "{file}: wrote {left:?}");
            assert!(!Path::new("/tmp/talentflow-escape").exists(), "{file}");
            continue;
        }
        assert_refused(&["validate", path_s], phrase);
        assert_refused(&["validate", path_s], "invalid scenario");
        // `run` refuses before creating anything.
        let dir = out.join(file);
        assert_refused(
            &["run", path_s, "-q", "--out", dir.to_str().unwrap()],
            phrase,
        );
        assert!(!dir.exists(), "{file}: run created {}", dir.display());
    }
}

#[test]
fn oversized_and_generated_inputs_are_refused() {
    let dir = scratch("generated");

    // 100 MB: refused from its size before a byte is read. A sparse file has the size without
    // taking disk space or write time.
    let big = dir.join("100mb.toml");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(100 * 1024 * 1024).unwrap();
    drop(f);
    assert_refused(
        &["validate", big.to_str().unwrap()],
        "scenarios larger than 4194304 bytes are refused",
    );

    let country = |k: usize| {
        format!(
            "[[country]]\ncode = \"C{k}\"\nlat = 0\nlon = 0\nwage_k = 100\nvc_bn = 1\n\
             ecosystem = 0.5\namenity = 0.5\nopenness = 0.5\norigin_share = 1\n\
             location_share = 1\nhome_stay = 0.5\n"
        )
    };
    // Too many countries.
    let many = dir.join("many.toml");
    std::fs::write(&many, (0..4100).map(country).collect::<String>()).unwrap();
    assert_refused(
        &["validate", many.to_str().unwrap()],
        "at most 4096 countries, found 4100",
    );
    // Outputs that would not fit in memory: flows are C × C per tick.
    let wide = dir.join("wide.toml");
    let text = format!(
        "[world]\nyears = 1000\n\n{}",
        (0..300).map(country).collect::<String>()
    );
    std::fs::write(&wide, text).unwrap();
    assert_refused(&["validate", wide.to_str().unwrap()], "would record");

    // Under the 4 MiB limit as written, over it as a run would write it back (every field of
    // 55,000 inline policies on its own line): refused, or the run's own scenario.toml would
    // not load again for `resume`, `plot` or `report`.
    let policies: Vec<String> = (0..55_000)
        .map(|k| {
            format!(
                "{{country=\"C{}\",kind=\"wages\",from_year=2025,to_year=2026,budget_bn=1}}",
                k % 2
            )
        })
        .collect();
    let dense = dir.join("dense.toml");
    let text = format!(
        "policy = [{}]\n{}",
        policies.join(","),
        (0..2).map(country).collect::<String>()
    );
    assert!(text.len() < 4 * 1024 * 1024, "{} bytes", text.len());
    std::fs::write(&dense, text).unwrap();
    assert_refused(
        &["validate", dense.to_str().unwrap()],
        "the resolved scenario (every parameter written out, as a run stores it) would be",
    );

    // Not a file at all.
    assert_refused(&["validate", dir.to_str().unwrap()], "not a regular file");
    assert_refused(
        &["validate", dir.join("absent.toml").to_str().unwrap()],
        "cannot read",
    );
}

#[test]
fn hostile_overrides_are_refused() {
    let deep = format!("x.y={}{}", "[".repeat(5000), "]".repeat(5000));
    // Found by cargo-fuzz: each part of a path nested a table, and walking the result overflowed
    // the stack.
    let long_path = format!("policy.{}=1", vec!["a"; 50000].join("."));
    let huge_value = format!("world.years={}", "9".repeat(120_000));
    let control_value = "world.years=1\n2\u{1b}[2J".to_string();
    for (set, phrase) in [
        ("world.agents=nan", "`world.agents`: expected an integer"),
        (
            "innovation.lambda=inf",
            "must be a finite number, found inf",
        ),
        (
            "world.years=-1",
            "`world.years`: must be in [1, 1000], found -1",
        ),
        ("country.999.wage_k=1", "`country` has no element `999`"),
        ("country.ZZZ.wage_k=1", "`country` has no element `ZZZ`"),
        ("country.HUB=1", "cannot replace a whole `country` element"),
        (
            "world.years.deeper=1",
            "`world.years` is an integer, not a table",
        ),
        ("=3", "empty key"),
        ("world.agents", "expected key.path=value"),
        (deep.as_str(), "unknown key `x`"),
        (long_path.as_str(), "a key path of 50001 parts"),
        (
            "world.agents=99999999999999999999999",
            "`world.agents`: expected an integer",
        ),
        (
            "world.seed=-1",
            "`world.seed`: must be an integer in [0, 9223372036854775807], found -1",
        ),
        // Echoed clipped (and `assert_refused` checks the whole error is short).
        (huge_value.as_str(), "--set world.years=9999999999"),
        (control_value.as_str(), "world.years=1\\n2"),
    ] {
        assert_refused(&["validate", "toy3", "--set", set], phrase);
    }
}
