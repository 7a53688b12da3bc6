//! Rules about the sources that no compiler lint checks.
//!
//! Output bytes must not depend on the platform's maths library: every transcendental function in
//! `src/` goes through `libm` (one implementation, the same bits everywhere), never std's `f64`
//! methods, which call whatever the platform provides. The test reads the sources and names each
//! std call it finds (test modules, after `#[cfg(test)]`, and comments are exempt).
//!
//! Every dependency in Cargo.toml is used by the library or the binary: an unused one still costs
//! every build and every embedder its compile time and its supply chain.

use std::path::{Path, PathBuf};

/// std float methods that are not exactly rounded by IEEE 754 (unlike `sqrt`, `floor`, `mul_add`).
const TRANSCENDENTAL: [&str; 25] = [
    "ln", "log", "log2", "log10", "ln_1p", "exp", "exp2", "exp_m1", "powf", "sin", "cos", "tan",
    "sin_cos", "asin", "acos", "atan", "atan2", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh",
    "cbrt", "hypot",
];

/// The `.rs` files under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The std transcendental calls on one line of code: `.name(` and `f64::name` / `f32::name`.
fn std_calls(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    for name in TRANSCENDENTAL {
        for pattern in [
            format!(".{name}("),
            format!("f64::{name}"),
            format!("f32::{name}"),
        ] {
            for (at, _) in code.match_indices(&pattern) {
                let next = code[at + pattern.len()..].chars().next();
                let whole_word = pattern.ends_with('(')
                    || !next.is_some_and(|c| c.is_alphanumeric() || c == '_');
                if whole_word {
                    found.push(pattern.trim_end_matches('(').to_string());
                }
            }
        }
    }
    found
}

#[test]
fn the_scanner_finds_std_calls_and_passes_libm() {
    assert_eq!(std_calls("let y = (x.ln() + 1.0).exp();"), [".ln", ".exp"]);
    assert_eq!(std_calls("v.iter().map(f64::ln)"), ["f64::ln"]);
    assert_eq!(std_calls("a.powf(b) + c.log10()"), [".log10", ".powf"]);
    assert!(std_calls("libm::exp(libm::log(x)) + x.sqrt() + f64::EPSILON + x.powi(2)").is_empty());
    assert!(std_calls("f64::log10_floor_helper(x); s.len(); x.lng()").is_empty());
}

#[test]
fn sources_use_libm_for_every_transcendental() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();
    assert!(files.len() > 10, "found the sources");
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.trim() == "#[cfg(test)]" {
                break;
            }
            let code = line.split("//").next().unwrap_or("");
            for call in std_calls(code) {
                let shown = file.strip_prefix(root).unwrap_or(file).display();
                problems.push(format!("{shown}:{}: {call}", n + 1));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "std transcendentals in src/ (use libm::…):\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_dependency_is_used_in_src() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(root.join("Cargo.toml")).unwrap()).unwrap();
    let deps = manifest["dependencies"].as_table().unwrap();
    assert!(deps.len() > 10, "read the dependencies");
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let sources: Vec<String> = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    let unused: Vec<&String> = deps
        .keys()
        .filter(|name| {
            let ident = name.replace('-', "_");
            let uses = [format!("{ident}::"), format!("use {ident};")];
            !sources
                .iter()
                .any(|s| uses.iter().any(|u| s.contains(u.as_str())))
        })
        .collect();
    assert!(
        unused.is_empty(),
        "dependencies no code in src/ uses (remove them from Cargo.toml): {unused:?}"
    );
}
