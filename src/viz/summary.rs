//! The end-of-run summary printed on stdout: who holds the talent, how concentrated, who keeps
//! its own researchers.

use std::fmt::Write;

use crate::model::record::Recorder;
use crate::scenario::Scenario;

/// A short plain-text summary of the last row of a run.
pub fn summary(scenario: &Scenario, rec: &Recorder) -> String {
    let t = rec.ticks();
    let c = rec.c;
    let year = crate::rundir::write::year_of_row(scenario, t);
    let get = |v: &str, k: usize| rec.get(v, t, k).unwrap_or(0.0);
    let get0 = |v: &str, k: usize| rec.get(v, 0, k).unwrap_or(0.0);
    let mut order: Vec<usize> = (0..c).collect();
    order.sort_by(|&a, &b| {
        get("talent_share", b)
            .total_cmp(&get("talent_share", a))
            .then(a.cmp(&b))
    });
    let mut out = String::new();
    let w = |v: &str| rec.get_world(v, t).unwrap_or(0.0);
    let w0 = |v: &str| rec.get_world(v, 0).unwrap_or(0.0);
    let start = crate::rundir::write::year_of_row(scenario, 0);
    // The last row is the state after the last tick: 2025 + 10 years is 1 January 2035.
    let end = if year.fract() == 0.0 {
        format!("the start of {year:.0}")
    } else {
        format!("year {year:.2}")
    };
    let _ = writeln!(
        out,
        "talentflow {}: {} countries, {} ticks, from the start of {start:.0} to {end}",
        crate::VERSION,
        c,
        t,
    );
    let _ = writeln!(
        out,
        "world: researchers {:.0} (start {:.0}), startups {:.0}, top-3 talent share {:.3}",
        w("researchers_total"),
        w0("researchers_total"),
        w("startups_total"),
        w("top3_talent_share"),
    );
    let _ = writeln!(
        out,
        "concentration: HHI of researchers {:.4} (start {:.4}), of talent {:.4} (start {:.4}); \
         effective hubs {:.2} by researchers, {:.2} by talent",
        w("hhi_researchers"),
        w0("hhi_researchers"),
        w("hhi_talent"),
        w0("hhi_talent"),
        w("effective_hubs_researchers"),
        w("effective_hubs_talent"),
    );
    let _ = writeln!(
        out,
        "{:<6} {:>12} {:>13} {:>13} {:>16} {:>9} {:>10}",
        "code", "researchers", "talent share", "(start)", "retention", "(start)", "startups"
    );
    for &k in &order {
        let _ = writeln!(
            out,
            "{:<6} {:>12.0} {:>13.4} {:>13.4} {:>16.4} {:>9.4} {:>10.0}",
            scenario.countries[k].code,
            get("researchers", k),
            get("talent_share", k),
            get0("talent_share", k),
            get("retention", k),
            get0("retention", k),
            get("startups", k),
        );
    }
    out
}
