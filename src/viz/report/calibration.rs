//! The report of a finished calibration directory: the calibration (file, method, seeds,
//! identity), the estimates or posterior against the priors, the fit of every target, the
//! identifiability verdicts, the figures of [`crate::viz::plot::calibration`], the printed
//! summary, and the files read (bytes, blake3). Built from the directory's files only.

use std::fmt::Write;

use super::{dl, esc, figure_html, header, page, row, sig};
use crate::rundir::input::{read_limited, MAX_DATA_BYTES};
use crate::study::calibrate::abc::{weighted_moments, weighted_quantile};
use crate::study::calibrate::prior::PriorKind;
use crate::study::calibrate::read::{CalibrationData, MethodResult};
use crate::study::calibrate::spec::Role;
use crate::viz::plot::calibration::calibration_figures;
use crate::viz::plot::{thousands, PlotError};

/// Files of a calibration directory listed under provenance, in this order.
const FILES: &[&str] = &[
    "calibration.toml",
    "calibration.json",
    "evaluations.csv",
    "estimates.csv",
    "posterior.csv",
    "generations.csv",
    "fit.csv",
    "identifiability.csv",
    "calibrated.toml",
    "summary.txt",
];

fn prior_text(kind: PriorKind, p: &crate::study::calibrate::prior::Prior) -> String {
    match kind {
        PriorKind::Uniform => "uniform".into(),
        PriorKind::LogUniform => "log-uniform".into(),
        PriorKind::Normal => format!("normal({}, {})", sig(p.mean, 4), sig(p.sd, 3)),
    }
}

/// The report of a calibration directory.
pub fn calibration_report(cal: &CalibrationData) -> Result<String, PlotError> {
    let name = &cal.spec.name;
    let n_fit = cal.targets.iter().filter(|t| t.role == Role::Fit).count();
    let n_hold = cal.targets.len() - n_fit;
    let mut b = String::new();
    let _ = writeln!(b, "<h1>talentflow calibration report: {}</h1>", esc(name));
    let _ = writeln!(
        b,
        "<p class=\"sub\">{} \u{00b7} {} parameters \u{00b7} {n_fit} fit and {n_hold} holdout \
         targets \u{00b7} {} replicates per \u{03b8} \u{00b7} {} evaluations</p>",
        esc(&cal.spec.method),
        cal.priors.len(),
        cal.spec.replicates,
        cal.evaluations.len()
    );
    b.push_str(
        "<nav><a href=\"#calibration\">Calibration</a><a href=\"#parameters\">Parameters</a>\
         <a href=\"#fit\">Fit</a><a href=\"#figures\">Figures</a><a href=\"#summary\">Summary</a>\
         <a href=\"#provenance\">Provenance</a></nav>\n",
    );

    // ------------------------------------------------------------ calibration
    b.push_str("<h2 id=\"calibration\">Calibration</h2>\n");
    let meta = |k: &str| cal.meta[k].as_str().unwrap_or("").to_string();
    let set = if cal.spec.set.is_empty() {
        "none".to_string()
    } else {
        cal.spec
            .set
            .iter()
            .map(|s| format!("<code>{}</code>", esc(s)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut items = vec![
        (
            "Calibration file",
            format!("<code>{}</code>", esc(&meta("calibration_file"))),
        ),
        ("Description", esc(&cal.spec.description)),
        ("Base scenario", esc(&cal.spec.base)),
        ("Overrides of every run", set),
        ("Method", esc(&cal.spec.method)),
        ("Replicates per \u{03b8}", cal.spec.replicates.to_string()),
        ("Master seed", cal.spec.master_seed.to_string()),
        (
            "Arms",
            if cal.spec.arms.is_empty() {
                "one (the base)".into()
            } else {
                cal.spec
                    .arms
                    .iter()
                    .map(|a| esc(&a.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        ),
        (
            "Inner step",
            match &cal.spec.baseline {
                Some(bl) => format!(
                    "baseline calibration re-solved at every \u{03b8} to <code>{}</code>",
                    esc(&bl.targets)
                ),
                None => "none".into(),
            },
        ),
        ("talentflow", esc(&meta("talentflow_version"))),
        ("Model version", esc(&cal.meta["model_version"].to_string())),
        (
            "Calibration hash",
            format!("<code>{}</code>", esc(&meta("hash"))),
        ),
    ];
    if cal.spec.description.trim().is_empty() {
        items.remove(1);
    }
    dl(&mut b, &items);

    // ------------------------------------------------------------ parameters
    b.push_str("<h2 id=\"parameters\">Parameters</h2>\n<table>\n");
    let k = cal.priors.len();
    let interval = |lo: f64, hi: f64| format!("[{}, {}]", sig(lo, 4), sig(hi, 4));
    match &cal.result {
        MethodResult::Smm(rows) => {
            header(
                &mut b,
                &[
                    "parameter",
                    "prior",
                    "prior range",
                    "estimate",
                    "SE",
                    "90% interval",
                    "contraction",
                    "verdict",
                ],
            );
            for (i, r) in rows.iter().enumerate().take(k) {
                let (p, id) = (&cal.priors[i], &cal.identifiability[i]);
                row(
                    &mut b,
                    "",
                    &[
                        format!("<code>{}</code>", esc(&cal.keys[i])),
                        prior_text(p.kind, p),
                        interval(p.min, p.max),
                        sig(r.estimate, 5),
                        sig(r.se, 3),
                        interval(r.lo, r.hi),
                        sig(id.contraction, 3),
                        esc(&id.verdict),
                    ],
                );
            }
        }
        MethodResult::Abc {
            points, weights, ..
        } => {
            header(
                &mut b,
                &[
                    "parameter",
                    "prior",
                    "prior range",
                    "posterior median",
                    "posterior sd",
                    "90% credible interval",
                    "contraction",
                    "verdict",
                ],
            );
            let (_, cov) = weighted_moments(points, weights);
            for i in 0..k {
                let (p, id) = (&cal.priors[i], &cal.identifiability[i]);
                let x: Vec<f64> = points.iter().map(|t| t[i]).collect();
                row(
                    &mut b,
                    "",
                    &[
                        format!("<code>{}</code>", esc(&cal.keys[i])),
                        prior_text(p.kind, p),
                        interval(p.min, p.max),
                        sig(weighted_quantile(&x, weights, 0.5), 5),
                        sig(cov[i * k + i].max(0.0).sqrt(), 3),
                        interval(
                            weighted_quantile(&x, weights, 0.05),
                            weighted_quantile(&x, weights, 0.95),
                        ),
                        sig(id.contraction, 3),
                        esc(&id.verdict),
                    ],
                );
            }
        }
    }
    b.push_str("</table>\n");
    b.push_str(
        "<p class=\"note\">Contraction: 1 \u{2212} posterior variance / prior variance; a \
         parameter the fit targets do not move is <i>unidentified</i> (see \
         <code>identifiability.csv</code>). The calibrated scenario is \
         <code>calibrated.toml</code>.</p>\n",
    );

    // ------------------------------------------------------------ fit
    b.push_str("<h2 id=\"fit\">Fit of the targets</h2>\n<table>\n");
    header(
        &mut b,
        &[
            "target",
            "role",
            "observed",
            "se",
            "fitted",
            "predictive median",
            "90% predictive interval",
            "observed inside",
        ],
    );
    for r in &cal.fit {
        row(
            &mut b,
            "",
            &[
                esc(&r.target),
                match r.role {
                    Role::Fit => "fit".into(),
                    Role::Holdout => "holdout".into(),
                },
                sig(r.observed, 4),
                sig(r.se, 3),
                sig(r.fitted, 4),
                sig(r.median, 4),
                interval(r.lo, r.hi),
                if r.inside {
                    "yes".into()
                } else {
                    "<b>no</b>".into()
                },
            ],
        );
    }
    b.push_str("</table>\n");

    // ------------------------------------------------------------ figures
    b.push_str("<h2 id=\"figures\">Figures</h2>\n");
    for (i, fig) in calibration_figures(cal).iter().enumerate() {
        figure_html(&mut b, i + 1, fig)?;
    }

    // ------------------------------------------------------------ summary
    b.push_str("<h2 id=\"summary\">Summary</h2>\n");
    let _ = writeln!(
        b,
        "<p class=\"note\">As printed by <code>talentflow calibrate</code> \
         (<code>summary.txt</code>).</p>\n<pre>{}</pre>",
        esc(&cal.summary)
    );

    // ------------------------------------------------------------ provenance
    b.push_str("<h2 id=\"provenance\">Provenance</h2>\n");
    b.push_str(
        "<p>Every number above was read from the files of the calibration directory. Running \
         <code>talentflow calibrate calibration.toml</code> with the same talentflow version \
         gives the same bytes of every file.</p>\n<table>\n",
    );
    header(&mut b, &["file", "bytes", "blake3"]);
    for f in FILES {
        let path = cal.dir.join(f);
        // Only the files this calibration wrote; reading them again for their hash is cheap
        // beside the evaluations they record.
        let Ok(bytes) = read_limited(&path, MAX_DATA_BYTES) else {
            continue;
        };
        row(
            &mut b,
            "",
            &[
                format!("<code>{}</code>", esc(f)),
                thousands(bytes.len() as f64, 0),
                format!("<code>{}</code>", blake3::hash(&bytes).to_hex()),
            ],
        );
    }
    b.push_str("</table>\n");
    Ok(page(&format!("talentflow calibration report: {name}"), &b))
}
