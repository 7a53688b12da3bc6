//! `report.html`: one self-contained page a researcher can open, read and trust.
//!
//! The page is built from the files of a finished run (or experiment) directory, read back and
//! verified by [`crate::rundir::read`], never from memory, so `talentflow report DIR` works on any run.
//! It needs nothing from the network: the stylesheet is embedded, figures are inline SVG from
//! [`crate::viz::plot`], and the font the figures were laid out with is embedded as a data URL.
//!
//! Sections of a run report: scenario summary (source, overrides, seed, version, scenario hash,
//! countries, policies, partnerships, every global parameter, the resolved TOML), figures, the
//! end-of-run table per country, and provenance (blake3 of each output, as verified). An
//! experiment report has the experiment's metadata, each outcome's table of arms with intervals
//! and differences from the control, and a forest plot of the differences.
//!
//! Nothing in the page depends on the clock, the machine or the run's wall time: the same
//! resolved scenario, seed and version give the same bytes.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use crate::rundir::read::{self, DirKind, ExperimentData, RunData, RunDirError};
use crate::rundir::write::write_atomic;
use crate::viz::plot::figures::{country_name, experiment_figures, run_figures, CountryColours};
use crate::viz::plot::{render, thousands, Figure, PlotError, FONT_TTF};

/// Name of the report file inside the directory.
pub const REPORT_HTML: &str = "report.html";

/// Writes the report of `dir` (a run or an experiment) to `out` (default `DIR/report.html`),
/// atomically, and returns its path.
pub fn write_report(dir: &Path, out: Option<&Path>) -> Result<PathBuf, PlotError> {
    let html = report(dir)?;
    let path = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| dir.join(REPORT_HTML));
    write_atomic(&path, html.as_bytes())?;
    Ok(path)
}

/// The report of `dir`, a run or an experiment directory.
pub fn report(dir: &Path) -> Result<String, PlotError> {
    match read::kind(dir)? {
        DirKind::Run => run_report(&read::read_run(dir)?),
        DirKind::Experiment => experiment_report(&read::read_experiment(dir)?),
    }
}

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Standard base64 (RFC 4648, with padding), for the embedded font.
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

const STYLE: &str = r#"
:root { color-scheme: light; }
body { margin: 0; background: #f4f4f4; color: #1b1b1b; font: 16px/1.5 "DejaVu Sans", sans-serif; }
main { max-width: 1240px; margin: 0 auto; padding: 20px 32px 60px; background: #fff; }
h1 { font-size: 28px; margin: 8px 0 2px; }
h2 { font-size: 22px; margin: 40px 0 12px; padding-bottom: 4px; border-bottom: 2px solid #ddd; }
h3 { font-size: 17px; margin: 22px 0 6px; }
p.sub { color: #555; margin: 0 0 12px; }
nav a { margin-right: 16px; color: #0060a0; }
table { border-collapse: collapse; margin: 6px 0 14px; font-size: 14px; display: block; max-width: 100%; overflow-x: auto; }
th, td { padding: 3px 10px; border-bottom: 1px solid #e3e3e3; text-align: right; white-space: nowrap; }
th { background: #f2f2f2; vertical-align: bottom; }
th.l, td.l { text-align: left; }
td { font-variant-numeric: tabular-nums; }
tr.control td { background: #eef5fb; }
tr.world td { font-weight: bold; border-top: 2px solid #bbb; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 18px; margin: 8px 0 12px; }
dl.meta dt { color: #555; }
dl.meta dd { margin: 0; overflow-wrap: anywhere; }
code, pre { font-family: "DejaVu Sans Mono", monospace; font-size: 13px; }
pre { background: #f6f6f6; padding: 12px; overflow: auto; max-height: 480px; }
.params { display: flex; flex-wrap: wrap; align-items: flex-start; gap: 0 28px; }
.params table { font-size: 13px; }
figure { margin: 28px 0; }
figure svg { display: block; width: 100%; max-width: 1200px; height: auto; border: 1px solid #e3e3e3; }
figcaption { color: #333; font-size: 14px; margin-top: 6px; max-width: 1100px; }
.note { color: #555; font-size: 14px; }
"#;

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n@font-face {{ font-family: \"DejaVu Sans\"; \
         src: url(data:font/ttf;base64,{}) format(\"truetype\"); }}{STYLE}</style>\n</head>\n\
         <body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        esc(title),
        base64(FONT_TTF),
    )
}

/// A figure as an inline `<figure>`, numbered.
fn figure_html(out: &mut String, number: usize, fig: &Figure) -> Result<(), PlotError> {
    let svg = render::svg(fig)?;
    let svg = svg.replacen(
        "<svg ",
        &format!("<svg role=\"img\" aria-label=\"{}\" ", esc(&fig.title)),
        1,
    );
    let _ = writeln!(
        out,
        "<figure id=\"fig-{}\">\n{svg}<figcaption><b>Figure {number}.</b> {}</figcaption>\n</figure>",
        esc(&fig.name),
        esc(&fig.caption)
    );
    Ok(())
}

/// `v` with `digits` significant digits (thousands separated), for tables of unknown scale.
pub fn sig(v: f64, digits: i32) -> String {
    if !v.is_finite() {
        return "\u{2013}".into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let magnitude = libm::log10(v.abs()).floor() as i32;
    if magnitude < -4 {
        return format!("{v:.*e}", (digits - 1).max(0) as usize).replace('-', "\u{2212}");
    }
    thousands(v, (digits - 1 - magnitude).clamp(0, 10) as usize)
}

fn pct(v: f64) -> String {
    format!("{:.2}%", v * 100.0)
}

fn dl(out: &mut String, items: &[(&str, String)]) {
    out.push_str("<dl class=\"meta\">\n");
    for (k, v) in items {
        let _ = writeln!(out, "<dt>{}</dt><dd>{v}</dd>", esc(k));
    }
    out.push_str("</dl>\n");
}

fn row(out: &mut String, class: &str, cells: &[String]) {
    if class.is_empty() {
        out.push_str("<tr>");
    } else {
        let _ = write!(out, "<tr class=\"{class}\">");
    }
    for (i, c) in cells.iter().enumerate() {
        // The first column names the row and reads left to right; numbers line up on the right.
        if i == 0 {
            let _ = write!(out, "<td class=\"l\">{c}</td>");
        } else {
            let _ = write!(out, "<td>{c}</td>");
        }
    }
    out.push_str("</tr>\n");
}

fn header(out: &mut String, cells: &[&str]) {
    out.push_str("<tr>");
    for (i, c) in cells.iter().enumerate() {
        let class = if i == 0 { " class=\"l\"" } else { "" };
        let _ = write!(out, "<th{class}>{c}</th>");
    }
    out.push_str("</tr>\n");
}

/// The report of a finished run.
pub fn run_report(run: &RunData) -> Result<String, PlotError> {
    let s = &run.scenario;
    let last = run.rows() - 1;
    let (y0, y1) = (run.years[0], run.years[last]);
    let source = run.meta("scenario_source");
    let version = run.meta("talentflow_version");
    let mut b = String::new();
    let _ = writeln!(b, "<h1>talentflow run report</h1>");
    let _ = writeln!(
        b,
        "<p class=\"sub\">Scenario <b>{}</b>, seed {}, {} countries, {y0:.0}\u{2013}{y1:.0}, talentflow {}</p>",
        esc(&source),
        esc(&run.meta("seed")),
        run.c(),
        esc(&version)
    );
    b.push_str("<nav><a href=\"#scenario\">Scenario</a><a href=\"#figures\">Figures</a><a href=\"#end\">End of run</a><a href=\"#provenance\">Provenance</a></nav>\n");

    // ------------------------------------------------------------ scenario
    b.push_str("<h2 id=\"scenario\">Scenario</h2>\n");
    let overrides: Vec<String> = run.manifest["overrides"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let scale = s.world.researchers / s.world.agents.max(1) as f64;
    dl(
        &mut b,
        &[
            ("Scenario source", esc(&source)),
            (
                "Overrides (--set)",
                if overrides.is_empty() {
                    "none".into()
                } else {
                    overrides
                        .iter()
                        .map(|o| format!("<code>{}</code>", esc(o)))
                        .collect::<Vec<_>>()
                        .join(" ")
                },
            ),
            ("Seed", esc(&run.meta("seed"))),
            ("talentflow version", esc(&version)),
            (
                "Scenario hash (blake3)",
                format!("<code>{}</code>", esc(&run.meta("scenario_hash"))),
            ),
            (
                "Period",
                format!(
                    "{y0:.0}\u{2013}{y1:.0}: {} years of {} ticks",
                    s.world.years, s.world.ticks_per_year
                ),
            ),
            (
                "Population",
                format!(
                    "{} researchers represented by {} agents (1 agent = {} researchers)",
                    thousands(s.world.researchers, 0),
                    thousands(s.world.agents as f64, 0),
                    sig(scale, 3)
                ),
            ),
        ],
    );

    b.push_str("<h3>Countries</h3>\n<table>\n");
    header(
        &mut b,
        &[
            "country",
            "researchers<br>at start",
            "talent share<br>at start",
            "wage<br>($k/yr)",
            "venture capital<br>($B/yr)",
            "compute<br>(GW)",
            "grid headroom<br>(GW)",
            "ecosystem",
            "amenity",
            "openness",
        ],
    );
    for (k, c) in s.countries.iter().enumerate() {
        row(
            &mut b,
            "",
            &[
                format!("{} <b>{}</b>", esc(&country_name(run, k)), esc(&c.code)),
                thousands(run.at("researchers", 0, k)?, 0),
                pct(run.at("talent_share", 0, k)?),
                sig(c.wage_k, 3),
                sig(c.vc_bn, 3),
                sig(c.compute_gw, 3),
                sig(c.grid_headroom_gw, 3),
                sig(c.ecosystem, 3),
                sig(c.amenity, 3),
                sig(c.openness, 3),
            ],
        );
    }
    b.push_str("</table>\n");

    b.push_str("<h3>Policies</h3>\n");
    if s.policies.is_empty() {
        b.push_str("<p>None.</p>\n");
    } else {
        b.push_str("<table>\n");
        header(
            &mut b,
            &[
                "country",
                "kind",
                "from",
                "to",
                "budget ($B/yr)",
                "partner",
                "strength",
                "value",
            ],
        );
        let opt = |v: Option<f64>| v.map_or(String::new(), |v| sig(v, 4));
        for p in &s.policies {
            row(
                &mut b,
                "",
                &[
                    esc(&p.country),
                    esc(p.kind.name()),
                    sig(p.from_year, 6),
                    sig(p.to_year, 6),
                    opt(p.budget_bn),
                    esc(p.partner.as_deref().unwrap_or("")),
                    opt(p.strength),
                    opt(p.value),
                ],
            );
        }
        b.push_str("</table>\n");
    }
    if !s.partnerships.is_empty() {
        let list: Vec<String> = s
            .partnerships
            .iter()
            .map(|p| {
                format!(
                    "{}\u{2013}{} ({})",
                    esc(&p.a),
                    esc(&p.b),
                    sig(p.strength, 3)
                )
            })
            .collect();
        let _ = writeln!(
            b,
            "<h3>Standing partnerships (strength)</h3>\n<p>{}</p>",
            list.join(", ")
        );
    }

    b.push_str("<h3>Parameters</h3>\n<div class=\"params\">\n");
    let resolved = serde_json::to_value(s).unwrap_or_default();
    for section in [
        "world",
        "infrastructure",
        "ecosystem",
        "innovation",
        "wages",
        "capital",
        "behaviour",
        "startups",
    ] {
        if let Some(map) = resolved[section].as_object() {
            let _ = writeln!(
                b,
                "<table>\n<tr><th class=\"l\" colspan=\"2\">[{section}]</th></tr>"
            );
            for (key, value) in map {
                // As written in scenario.toml, so a value can be copied into a --set override.
                let shown = value.to_string();
                row(
                    &mut b,
                    "",
                    &[format!("<code>{}</code>", esc(key)), esc(&shown)],
                );
            }
            b.push_str("</table>\n");
        }
    }
    b.push_str("</div>\n");
    let toml = crate::rundir::input::read_limited_string(
        &run.dir.join("scenario.toml"),
        crate::scenario::load::MAX_SCENARIO_BYTES,
    )
    .map_err(|source| RunDirError::Io {
        path: run.dir.join("scenario.toml"),
        source,
    })?;
    let _ = writeln!(
        b,
        "<details><summary>Resolved scenario (<code>scenario.toml</code>, runnable as is)</summary>\n<pre>{}</pre>\n</details>",
        esc(&toml)
    );

    // ------------------------------------------------------------ figures
    b.push_str("<h2 id=\"figures\">Figures</h2>\n");
    for (i, fig) in run_figures(run)?.iter().enumerate() {
        figure_html(&mut b, i + 1, fig)?;
    }

    // ------------------------------------------------------------ end of run
    let _ = writeln!(b, "<h2 id=\"end\">End of run ({y1:.0})</h2>");
    let w = |v: &str, t: usize| run.world_var(v).map(|s| s[t]);
    let _ = writeln!(
        b,
        "<p>World: {} researchers (start {}), {} live startups; talent HHI {} (start {}), \
         {} effective hubs (start {}), top-3 talent share {} (start {}).</p>",
        thousands(w("researchers_total", last)?, 0),
        thousands(w("researchers_total", 0)?, 0),
        thousands(w("startups_total", last)?, 0),
        sig(w("hhi", last)?, 3),
        sig(w("hhi", 0)?, 3),
        sig(w("effective_hubs", last)?, 3),
        sig(w("effective_hubs", 0)?, 3),
        pct(w("top3_talent_share", last)?),
        pct(w("top3_talent_share", 0)?),
    );
    b.push_str("<table>\n");
    header(
        &mut b,
        &[
            "country<br>(most talent first)",
            "researchers",
            "talent share<br>start",
            "talent share<br>end",
            "change<br>(points)",
            "retention<br>start",
            "retention<br>end",
            "net migration<br>(persons)",
            "live<br>startups",
            "exits<br>(total)",
            "compute<br>(GW)",
            "grid queue<br>(GW)",
        ],
    );
    let colours = CountryColours::of(run)?;
    let mut totals = [0.0f64; 4];
    for &k in &colours.ranked {
        let (share0, share1) = (
            run.at("talent_share", 0, k)?,
            run.at("talent_share", last, k)?,
        );
        let net = run.cumulative("inflow", k)? - run.cumulative("outflow", k)?;
        let exits = run.cumulative("exits", k)?;
        let values = [
            run.at("researchers", last, k)?,
            run.at("startups", last, k)?,
            exits,
            run.at("compute_gw", last, k)?,
        ];
        for (t, v) in totals.iter_mut().zip(values) {
            *t += v;
        }
        let change = (share1 - share0) * 100.0;
        row(
            &mut b,
            "",
            &[
                format!(
                    "{} <b>{}</b>",
                    esc(&country_name(run, k)),
                    esc(&run.codes[k])
                ),
                thousands(values[0], 0),
                pct(share0),
                pct(share1),
                format!(
                    "{}{}",
                    if change > 0.0 { "+" } else { "" },
                    thousands(change, 2)
                ),
                pct(run.at("retention", 0, k)?),
                pct(run.at("retention", last, k)?),
                format!("{}{}", if net > 0.0 { "+" } else { "" }, thousands(net, 0)),
                thousands(values[1], 0),
                thousands(exits, 0),
                sig(values[3], 3),
                sig(run.at("grid_queue_gw", last, k)?, 3),
            ],
        );
    }
    let queue: f64 = (0..run.c())
        .map(|k| run.at("grid_queue_gw", last, k))
        .sum::<Result<f64, _>>()?;
    row(
        &mut b,
        "world",
        &[
            "World".into(),
            thousands(totals[0], 0),
            "100%".into(),
            "100%".into(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            thousands(totals[1], 0),
            thousands(totals[2], 0),
            sig(totals[3], 3),
            sig(queue, 3),
        ],
    );
    b.push_str("</table>\n<p class=\"note\">Retention: share of the country's natives working at home. Net migration: researchers who arrived minus those who left over the whole run. Compute: installed AI compute; grid queue: planned compute waiting for grid headroom.</p>\n");

    // ------------------------------------------------------------ provenance
    b.push_str("<h2 id=\"provenance\">Provenance</h2>\n");
    let _ = writeln!(
        b,
        "<p>Every number above was read from the files of the run directory, each checked against \
         the blake3 that <code>manifest.json</code> recorded when the run finished. The run can be \
         repeated exactly with <code>talentflow run scenario.toml --seed {}</code> and talentflow \
         {}.</p>\n<table>",
        esc(&run.meta("seed")),
        esc(&version)
    );
    header(&mut b, &["file", "bytes", "blake3"]);
    if let Some(outputs) = run.manifest["outputs"].as_object() {
        for (name, o) in outputs {
            row(
                &mut b,
                "",
                &[
                    format!("<code>{}</code>", esc(name)),
                    thousands(o["bytes"].as_f64().unwrap_or(0.0), 0),
                    format!("<code>{}</code>", esc(o["blake3"].as_str().unwrap_or(""))),
                ],
            );
        }
    }
    b.push_str("</table>\n");
    Ok(page(
        &format!("talentflow report: {source}, seed {}", run.meta("seed")),
        &b,
    ))
}

/// The report of an experiment directory.
pub fn experiment_report(exp: &ExperimentData) -> Result<String, PlotError> {
    let name = exp
        .meta_str(&["name"])
        .or_else(|| {
            exp.dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_default();
    let control = exp.control().unwrap_or_default();
    let arms = exp.arms();
    let outcomes = exp.outcomes();
    let mut b = String::new();
    let _ = writeln!(b, "<h1>talentflow experiment report: {}</h1>", esc(&name));
    let _ = writeln!(
        b,
        "<p class=\"sub\">{} arms \u{00d7} {} outcomes; control arm <b>{}</b></p>",
        arms.len(),
        outcomes.len(),
        esc(&control)
    );
    b.push_str("<nav><a href=\"#experiment\">Experiment</a><a href=\"#outcomes\">Outcomes</a><a href=\"#effects\">Effects</a></nav>\n");
    b.push_str("<h2 id=\"experiment\">Experiment</h2>\n");
    let mut items: Vec<(String, String)> = Vec::new();
    if let Some(map) = exp.meta.as_object() {
        for (k, v) in map {
            let shown = match v {
                serde_json::Value::String(s) => esc(s),
                serde_json::Value::Array(list) if k == "arms" => describe_arms(list),
                serde_json::Value::Array(items) if items.iter().all(|i| i.is_string()) => items
                    .iter()
                    .filter_map(|i| i.as_str())
                    .map(esc)
                    .collect::<Vec<_>>()
                    .join(", "),
                other => {
                    let text = other.to_string();
                    if text.len() > 400 {
                        format!(
                            "<code>{}\u{2026}</code>",
                            esc(&text.chars().take(400).collect::<String>())
                        )
                    } else {
                        format!("<code>{}</code>", esc(&text))
                    }
                }
            };
            items.push((k.replace('_', " "), shown));
        }
    }
    if exp.meta["arms"].is_null() {
        items.push((
            "arms".into(),
            arms.iter().map(|a| esc(a)).collect::<Vec<_>>().join(", "),
        ));
    }
    if let Some(n) = exp.runs {
        items.push(("runs (rows of runs.csv)".into(), n.to_string()));
    }
    let refs: Vec<(&str, String)> = items.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    dl(&mut b, &refs);

    b.push_str("<h2 id=\"outcomes\">Outcomes by arm</h2>\n");
    b.push_str("<p class=\"note\">Mean over replicates with its confidence interval; the difference from the control arm with its interval, and the standardised effect size, as computed by <code>talentflow experiment</code> (<code>summary.csv</code>).</p>\n");
    // The interval's level, when experiment.json states it (0.95 or 95).
    let level = exp.meta["ci_level"]
        .as_f64()
        .map(|l| if l <= 1.0 { l * 100.0 } else { l })
        .map_or(String::new(), |l| {
            format!(
                "{}% ",
                sig(l, 3).trim_end_matches('0').trim_end_matches('.')
            )
        });
    let ci = format!("{level}CI");
    let diff_ci = format!("difference<br>{level}CI");
    for outcome in &outcomes {
        let _ = writeln!(b, "<h3>{}</h3>\n<table>", esc(outcome));
        header(
            &mut b,
            &[
                "arm",
                "n",
                "mean",
                "sd",
                &ci,
                "difference<br>from control",
                &diff_ci,
                "effect size",
            ],
        );
        for r in exp.summary.iter().filter(|r| &r.outcome == outcome) {
            let is_control = r.arm == control;
            let opt = |v: Option<f64>| v.map_or("\u{2013}".to_string(), |v| sig(v, 4));
            let interval = |lo: f64, hi: f64| format!("[{}, {}]", sig(lo, 4), sig(hi, 4));
            row(
                &mut b,
                if is_control { "control" } else { "" },
                &[
                    if is_control {
                        format!("{} (control)", esc(&r.arm))
                    } else {
                        esc(&r.arm)
                    },
                    r.n.to_string(),
                    sig(r.mean, 4),
                    sig(r.sd, 3),
                    interval(r.ci_low, r.ci_high),
                    opt(r.diff),
                    match (r.diff_ci_low, r.diff_ci_high) {
                        (Some(lo), Some(hi)) => interval(lo, hi),
                        _ => "\u{2013}".into(),
                    },
                    opt(r.effect_size),
                ],
            );
        }
        b.push_str("</table>\n");
    }

    b.push_str("<h2 id=\"effects\">Effects</h2>\n");
    let figures = experiment_figures(exp);
    if figures.is_empty() {
        b.push_str("<p>No arm has a difference from the control to plot.</p>\n");
    }
    for (i, fig) in figures.iter().enumerate() {
        figure_html(&mut b, i + 1, fig)?;
    }
    Ok(page(&format!("talentflow experiment report: {name}"), &b))
}

/// The arms of `experiment.json` as readable lines: name, description, overrides and policies.
fn describe_arms(arms: &[serde_json::Value]) -> String {
    let mut lines = Vec::new();
    for a in arms {
        let mut parts = vec![format!("<b>{}</b>", esc(a["name"].as_str().unwrap_or("?")))];
        if let Some(d) = a["description"].as_str().filter(|d| !d.is_empty()) {
            parts.push(esc(d));
        }
        let overrides: Vec<String> = a["overrides"]
            .as_array()
            .map(|o| {
                o.iter()
                    .filter_map(|x| x.as_str())
                    .map(|x| format!("<code>{}</code>", esc(x)))
                    .collect()
            })
            .unwrap_or_default();
        if !overrides.is_empty() {
            parts.push(format!("set {}", overrides.join(" ")));
        }
        let policies: Vec<String> = a["policies"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .map(|p| {
                        let what = match (&p["budget_bn"], &p["partner"], &p["value"]) {
                            (serde_json::Value::Number(b), _, _) => format!(" ${b}B/yr"),
                            (_, serde_json::Value::String(partner), _) => {
                                format!(" with {partner} at {}", p["strength"])
                            }
                            (_, _, serde_json::Value::Number(v)) => format!(" = {v}"),
                            _ => String::new(),
                        };
                        esc(&format!(
                            "{} {}{} {}–{}",
                            p["country"].as_str().unwrap_or("?"),
                            p["kind"].as_str().unwrap_or("?"),
                            what,
                            p["from_year"],
                            p["to_year"]
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        if !policies.is_empty() {
            parts.push(format!("policies: {}", policies.join("; ")));
        }
        lines.push(parts.join(" — "));
    }
    lines.join("<br>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected);
        }
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn significant_digits() {
        assert_eq!(sig(1234.5678, 4), "1,235");
        assert_eq!(sig(0.012345, 3), "0.0123");
        assert_eq!(sig(-2.5, 3), "\u{2212}2.50");
        assert_eq!(sig(0.0, 3), "0");
        assert_eq!(sig(f64::NAN, 3), "\u{2013}");
    }
}
