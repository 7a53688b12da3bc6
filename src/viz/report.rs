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

mod calibration;

use std::fmt::Write;
use std::path::{Path, PathBuf};

pub use calibration::calibration_report;

use crate::rundir::read::{self, DirKind, ExperimentData, RunData, RunDirError};
use crate::rundir::write::write_atomic;
use crate::viz::plot::figures::{
    self, comparisons, country_name, forest_rows_at_most, migration_matrix, native_agents,
    outcome_unit, researcher_agents, run_figures, year, CountryColours, DAGGER, FEW_AGENTS,
};
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

/// The report of `dir`, a run, an experiment or a calibration directory.
pub fn report(dir: &Path) -> Result<String, PlotError> {
    if crate::viz::plot::calibration_dir(dir) {
        return calibration_report(&crate::study::calibrate::read::CalibrationData::read(dir)?);
    }
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
            // Control characters are not text (and not allowed in the inline SVG's XML).
            '\n' | '\t' | '\r' => out.push(ch),
            c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
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
    if !(-4..15).contains(&magnitude) {
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
                    year(p.from_year),
                    year(p.to_year),
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
        if fig.name == "migration" {
            migration_table(&mut b, run)?;
        }
    }

    // ------------------------------------------------------------ end of run
    let _ = writeln!(b, "<h2 id=\"end\">End of run ({y1:.0})</h2>");
    let w = |v: &str, t: usize| run.world_var(v).map(|s| s[t]);
    let talent_hhi = match (
        run.world_var("hhi_talent"),
        run.world_var("effective_hubs_talent"),
    ) {
        (Ok(h), Ok(e)) => format!(
            "; by talent (skill-weighted) HHI {} (start {}), {} effective hubs (start {})",
            sig(h[last], 3),
            sig(h[0], 3),
            sig(e[last], 3),
            sig(e[0], 3)
        ),
        _ => String::new(),
    };
    let _ = writeln!(
        b,
        "<p>World: {} researchers (start {}), {} live startups. Concentration by researcher \
         head counts: HHI {} (start {}), {} effective hubs (start {}){talent_hhi}; top-3 talent \
         share {} (start {}).</p>",
        thousands(w("researchers_total", last)?, 0),
        thousands(w("researchers_total", 0)?, 0),
        thousands(w("startups_total", last)?, 0),
        sig(w("hhi_researchers", last)?, 3),
        sig(w("hhi_researchers", 0)?, 3),
        sig(w("effective_hubs_researchers", last)?, 3),
        sig(w("effective_hubs_researchers", 0)?, 3),
        pct(w("top3_talent_share", last)?),
        pct(w("top3_talent_share", 0)?),
    );
    let has_retired = run.country_var("compute_retired_gw").is_ok();
    b.push_str("<table>\n");
    let mut columns = vec![
        "country<br>(most talent first)",
        "researchers",
        "researcher<br>agents",
        "talent share<br>start",
        "talent share<br>end",
        "change<br>(points)",
        "native<br>agents",
        "retention<br>start",
        "retention<br>end",
        "net migration<br>(persons)",
        "live<br>startups",
        "exits<br>(total)",
        "compute<br>start (GW)",
        "compute<br>added (GW)",
    ];
    if has_retired {
        columns.push("compute<br>retired (GW)");
    }
    columns.extend(["compute<br>end (GW)", "grid queue<br>end (GW)"]);
    header(&mut b, &columns);
    let colours = CountryColours::of(run)?;
    // researchers, researcher agents, startups, exits, compute start, added, retired, end, queue
    let mut totals = [0.0f64; 9];
    let mut few = Vec::new();
    let marked = |n: f64| {
        let mark = if n < FEW_AGENTS { DAGGER } else { "" };
        format!("{}{mark}", thousands(n, 0))
    };
    for &k in &colours.ranked {
        let (share0, share1) = (
            run.at("talent_share", 0, k)?,
            run.at("talent_share", last, k)?,
        );
        let net = run.cumulative("inflow", k)? - run.cumulative("outflow", k)?;
        let retired = if has_retired {
            run.cumulative("compute_retired_gw", k)?
        } else {
            0.0
        };
        let values = [
            run.at("researchers", last, k)?,
            researcher_agents(run, k)?,
            run.at("startups", last, k)?,
            run.cumulative("exits", k)?,
            run.at("compute_gw", 0, k)?,
            run.cumulative("compute_built_gw", k)?,
            retired,
            run.at("compute_gw", last, k)?,
            run.at("grid_queue_gw", last, k)?,
        ];
        for (t, v) in totals.iter_mut().zip(values) {
            *t += v;
        }
        let natives = native_agents(run, k);
        if natives.is_some_and(|n| n < FEW_AGENTS) || values[1] < FEW_AGENTS {
            few.push(run.codes[k].clone());
        }
        let change = (share1 - share0) * 100.0;
        let mut cells = vec![
            format!(
                "{} <b>{}</b>",
                esc(&country_name(run, k)),
                esc(&run.codes[k])
            ),
            thousands(values[0], 0),
            marked(values[1]),
            pct(share0),
            pct(share1),
            format!(
                "{}{}",
                if change > 0.0 { "+" } else { "" },
                thousands(change, 2)
            ),
            natives.map_or("\u{2013}".into(), marked),
            pct(run.at("retention", 0, k)?),
            pct(run.at("retention", last, k)?),
            format!("{}{}", if net > 0.0 { "+" } else { "" }, thousands(net, 0)),
            thousands(values[2], 0),
            thousands(values[3], 0),
            sig(values[4], 3),
            sig(values[5], 3),
        ];
        if has_retired {
            cells.push(sig(values[6], 3));
        }
        cells.extend([sig(values[7], 3), sig(values[8], 3)]);
        row(&mut b, "", &cells);
    }
    let mut cells = vec![
        "World".into(),
        thousands(totals[0], 0),
        thousands(totals[1], 0),
        "100%".into(),
        "100%".into(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        thousands(totals[2], 0),
        thousands(totals[3], 0),
        sig(totals[4], 3),
        sig(totals[5], 3),
    ];
    if has_retired {
        cells.push(sig(totals[6], 3));
    }
    cells.extend([sig(totals[7], 3), sig(totals[8], 3)]);
    row(&mut b, "world", &cells);
    let _ = write!(
        b,
        "</table>\n<p class=\"note\">Retention: share of the country's natives working at home. \
         Net migration: researchers who arrived minus those who left over the whole run. \
         Researcher agents: the agents working there at the end (1 agent = {} researchers); \
         native agents: the country's natives, the fewest at any time (the sample behind its \
         retention). Compute: installed AI compute; end = start + added − retired (obsolete \
         compute); grid queue: planned compute waiting for grid headroom.",
        sig(figures::persons_per_agent(run), 3)
    );
    if !few.is_empty() {
        let _ = write!(
            b,
            " {DAGGER} Fewer than {FEW_AGENTS} agents ({}): their shares and retention move in \
             steps of one agent and carry noise of a few percentage points; raise the resolution \
             with <code>--agents</code> (or <code>world.agents</code>).",
            few.iter().map(|c| esc(c)).collect::<Vec<_>>().join(", ")
        );
    }
    b.push_str("</p>\n");

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

/// The numbers of the migration heat map, as a table under it.
fn migration_table(b: &mut String, run: &RunData) -> Result<(), PlotError> {
    let (labels, net) = migration_matrix(run)?;
    let g = labels.len();
    let _ = writeln!(
        b,
        "<details><summary>Net researchers moved, row \u{2192} column (persons; the numbers of \
         the heat map{})</summary>\n<table>",
        if g < run.c() {
            "; every pair is in <code>plots/migration.csv</code> from <code>talentflow plot</code>"
        } else {
            ""
        }
    );
    let mut head = vec!["from \\ to".to_string()];
    head.extend(labels.iter().map(|l| esc(l)));
    let refs: Vec<&str> = head.iter().map(String::as_str).collect();
    header(b, &refs);
    for (r, label) in labels.iter().enumerate() {
        let mut cells = vec![format!("<b>{}</b>", esc(label))];
        cells.extend((0..g).map(|c| {
            if r == c {
                String::new()
            } else {
                thousands(net[r * g + c], 0)
            }
        }));
        row(b, "", &cells);
    }
    b.push_str("</table>\n</details>\n");
    Ok(())
}

/// Most arms listed per outcome in an experiment report (the forest plot shows fewer).
pub const MAX_TABLE_ARMS: usize = 200;

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
    b.push_str("<nav><a href=\"#experiment\">Experiment</a><a href=\"#outcomes\">Outcomes and effects</a></nav>\n");
    b.push_str("<h2 id=\"experiment\">Experiment</h2>\n");
    let mut items: Vec<(String, String)> = Vec::new();
    if let Some(map) = exp.meta.as_object() {
        for (k, v) in map {
            let shown = match v {
                // An empty string (a description nobody wrote) says nothing: no row.
                serde_json::Value::String(s) if s.trim().is_empty() => continue,
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
    let m = comparisons(exp);
    let level_f = figures::ci_level(exp);
    let level = format!(
        "{}%",
        sig(level_f * 100.0, 3)
            .trim_end_matches('0')
            .trim_end_matches('.')
    );
    let _ = writeln!(
        b,
        "<p class=\"note\">Mean over replicates with its {level} confidence interval; the \
         difference from the control arm with its interval, and the standardised effect size, as \
         computed by <code>talentflow experiment</code> (<code>summary.csv</code>). \
         <b>Multiple comparisons:</b> the tables hold {m} comparisons with the control (arms \
         \u{00d7} outcomes). Each {level} interval holds for its comparison alone; the \
         Bonferroni column widens it (same estimate and standard error, level 1 \u{2212} \
         {}/{m}) so that all {m} hold together with {level} probability.</p>",
        sig(1.0 - level_f, 2)
    );
    let ci = format!("{level} CI");
    let diff_ci = format!("difference<br>{level} CI");
    let bonferroni = format!("difference<br>Bonferroni CI<br>(m = {m})");
    let mut number = 0;
    for (i, outcome) in outcomes.iter().enumerate() {
        let unit = outcome_unit(outcome)
            .map(|u| format!(" <span class=\"note\">({})</span>", esc(&u)))
            .unwrap_or_default();
        let _ = writeln!(b, "<h3>{}{unit}</h3>\n<table>", esc(outcome));
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
                &bonferroni,
                "effect size",
            ],
        );
        // Every arm, or for huge experiments the control and the arms that differ most.
        let (listed, total) = forest_rows_at_most(exp, outcome, MAX_TABLE_ARMS);
        let listed: std::collections::HashMap<&str, &crate::viz::plot::ForestRow> =
            listed.iter().map(|r| (r.label.as_str(), r)).collect();
        for r in exp.summary.iter().filter(|r| &r.outcome == outcome) {
            let is_control = r.arm == control;
            let shown = listed.get(r.arm.as_str());
            if !is_control && shown.is_none() && total > MAX_TABLE_ARMS {
                continue;
            }
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
                    match shown.and_then(|s| s.adjusted) {
                        Some((lo, hi)) => interval(lo, hi),
                        None => "\u{2013}".into(),
                    },
                    opt(r.effect_size),
                ],
            );
        }
        b.push_str("</table>\n");
        if total > MAX_TABLE_ARMS {
            let _ = writeln!(
                b,
                "<p class=\"note\">{MAX_TABLE_ARMS} of {total} arms listed: those with the \
                 largest |difference|; every arm is in <code>summary.csv</code>.</p>"
            );
        }
        if number < figures::MAX_FOREST_FIGURES {
            if let Some(fig) = figures::outcome_figure(exp, i, outcome) {
                number += 1;
                figure_html(&mut b, number, &fig)?;
            }
        }
    }
    if number == 0 {
        b.push_str("<p>No arm has a difference from the control to plot.</p>\n");
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
                        // 2.0 reads as 2, 0.25 as 0.25.
                        let plain = |v: &serde_json::Value| {
                            v.as_f64().map_or_else(|| v.to_string(), |x| format!("{x}"))
                        };
                        let what = match (&p["budget_bn"], &p["partner"], &p["value"]) {
                            (b @ serde_json::Value::Number(_), _, _) => {
                                format!(" ${}B/yr", plain(b))
                            }
                            (_, serde_json::Value::String(partner), _) => {
                                format!(" with {partner} at {}", plain(&p["strength"]))
                            }
                            (_, _, v @ serde_json::Value::Number(_)) => format!(" = {}", plain(v)),
                            _ => String::new(),
                        };
                        let when = |k: &str| p[k].as_f64().map_or_else(|| p[k].to_string(), year);
                        esc(&format!(
                            "{} {}{} {}–{}",
                            p["country"].as_str().unwrap_or("?"),
                            p["kind"].as_str().unwrap_or("?"),
                            what,
                            when("from_year"),
                            when("to_year")
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
