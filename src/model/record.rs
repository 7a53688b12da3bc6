//! The recorder (MODEL.md §7): one row per tick of every observed variable, in real units.
//!
//! Storage is dense and preallocated: `[variable][tick × C + country]`, flows `[tick, c, d]` and
//! origin × location `[tick, h, c]`, so writers can hand the buffers to numpy unchanged.

use serde::{Deserialize, Serialize};

use crate::model::aggregates::Aggregates;
use crate::model::apply::TickCounts;
use crate::model::countries::CountryState;
use crate::model::metrics;

/// Whether a variable is a stock at the end of its row's tick or counts events during it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The state at the end of the row's tick (row 0: the initial state).
    Stock,
    /// What happened during the row's tick; row 0 is zero.
    Flow,
}

impl Kind {
    /// The name used in manifests.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Stock => "stock",
            Kind::Flow => "flow",
        }
    }
}

/// What one row of observations is computed from.
pub struct RowInputs<'a> {
    /// Real people per agent.
    pub scale: f64,
    /// $B per GW of data centre (grid queue in money).
    pub capex_bn_per_gw: f64,
    /// The population at the end of the tick.
    pub agg: &'a Aggregates,
    /// The country state of the tick.
    pub st: &'a CountryState,
    /// Events of the tick (all zero at row 0).
    pub counts: &'a TickCounts,
    /// Researchers per country, real units.
    pub researchers: Vec<f64>,
    /// Talent per country, real units.
    pub talent: Vec<f64>,
    /// Startups per country, real units.
    pub startups: Vec<f64>,
}

impl RowInputs<'_> {
    fn scaled(&self, counts: &[u64], out: &mut [f64]) {
        for (o, &n) in out.iter_mut().zip(counts) {
            *o = n as f64 * self.scale;
        }
    }
}

/// One recorded per-country variable: its name, units, meaning, kind, and how a row of it is
/// computed. [`COUNTRY`] is the only list: recording, the npz and CSV writers, the manifest,
/// outcome names and the finiteness check all follow from it.
pub struct CountryVariable {
    /// Name in every output (npz array, CSV `variable` column, outcome expressions).
    pub name: &'static str,
    /// Units, for the manifest and the docs.
    pub units: &'static str,
    /// What it measures.
    pub meaning: &'static str,
    /// Stock or flow.
    pub kind: Kind,
    /// Writes the row (one value per country) into `out`.
    pub compute: fn(&RowInputs<'_>, &mut [f64]),
}

/// One recorded world variable (one value per tick); see [`CountryVariable`].
pub struct WorldVariable {
    /// Name in every output.
    pub name: &'static str,
    /// Units.
    pub units: &'static str,
    /// What it measures.
    pub meaning: &'static str,
    /// The row's value.
    pub compute: fn(&RowInputs<'_>) -> f64,
}

/// A recorded country × country array (`[row, C, C]`), not one of the per-country series.
pub struct MatrixVariable {
    /// Name in the npz.
    pub name: &'static str,
    /// Units.
    pub units: &'static str,
    /// What it measures.
    pub meaning: &'static str,
    /// Stock or flow. The flow matrix has T rows (row t: tick t + 1), the stock T + 1.
    pub kind: Kind,
    /// The recorded values, `[row][C][C]` flattened.
    pub values: fn(&Recorder) -> &[f64],
}

macro_rules! copy_state {
    ($field:ident) => {
        |r: &RowInputs<'_>, out: &mut [f64]| out.copy_from_slice(&r.st.$field)
    };
}
macro_rules! count {
    ($field:ident) => {
        |r: &RowInputs<'_>, out: &mut [f64]| r.scaled(&r.counts.$field, out)
    };
}

/// Per-country variables, in output order.
pub const COUNTRY: &[CountryVariable] = &[
    CountryVariable {
        name: "researchers",
        units: "persons",
        meaning: "researchers working in the country",
        kind: Kind::Stock,
        compute: |r, out| out.copy_from_slice(&r.researchers),
    },
    CountryVariable {
        name: "talent",
        units: "skill-weighted persons",
        meaning: "sum of researcher skills",
        kind: Kind::Stock,
        compute: |r, out| out.copy_from_slice(&r.talent),
    },
    CountryVariable {
        name: "startups",
        units: "startups",
        meaning: "live AI startups located in the country",
        kind: Kind::Stock,
        compute: |r, out| out.copy_from_slice(&r.startups),
    },
    CountryVariable {
        name: "wage",
        units: "$k/year (PPP)",
        meaning: "researcher wage",
        kind: Kind::Stock,
        compute: copy_state!(wage),
    },
    CountryVariable {
        name: "wage_premium",
        units: "$k/year per researcher",
        meaning: "premium paid by wage policies, π = budget / max(N, N0) (in the wage target)",
        kind: Kind::Stock,
        compute: copy_state!(premium),
    },
    CountryVariable {
        name: "capital",
        units: "$B/year",
        meaning: "domestic venture capital V",
        kind: Kind::Stock,
        compute: copy_state!(capital),
    },
    CountryVariable {
        name: "capital_available",
        units: "$B/year",
        meaning: "capital available to startups A (domestic + foreign)",
        kind: Kind::Stock,
        compute: copy_state!(available),
    },
    CountryVariable {
        name: "capital_per_startup",
        units: "$M/year per startup",
        meaning: "capital per startup a",
        kind: Kind::Stock,
        compute: copy_state!(per_startup),
    },
    CountryVariable {
        name: "innovation",
        units: "index",
        meaning: "innovation speed I (1 = average country at t=0 without spillover)",
        kind: Kind::Stock,
        compute: copy_state!(innovation),
    },
    CountryVariable {
        name: "compute_gw",
        units: "GW",
        meaning: "installed frontier-equivalent AI compute K",
        kind: Kind::Stock,
        compute: copy_state!(compute),
    },
    CountryVariable {
        name: "compute_built_gw",
        units: "GW per tick",
        meaning: "compute connected to the grid during the tick",
        kind: Kind::Flow,
        compute: copy_state!(built),
    },
    CountryVariable {
        name: "compute_retired_gw",
        units: "GW per tick",
        meaning: "compute retired as obsolete during the tick (depreciation)",
        kind: Kind::Flow,
        compute: copy_state!(retired),
    },
    CountryVariable {
        name: "compute_age_years",
        units: "years",
        meaning: "capacity-weighted mean age of the installed compute (builds enter at 0; the \
                  initial stock at the steady-state age (1 - d)/d of depreciation d)",
        kind: Kind::Stock,
        compute: copy_state!(compute_age),
    },
    CountryVariable {
        name: "compute_requested_gw",
        units: "GW per tick",
        meaning: "compute planned during the tick",
        kind: Kind::Flow,
        compute: copy_state!(requested),
    },
    CountryVariable {
        name: "grid_queue_gw",
        units: "GW",
        meaning: "planned compute waiting for grid headroom Q",
        kind: Kind::Stock,
        compute: copy_state!(queue),
    },
    CountryVariable {
        name: "grid_queue_bn",
        units: "$B",
        meaning: "capex stalled in the grid queue (Q × capex_bn_per_gw)",
        kind: Kind::Stock,
        compute: |r, out| {
            for (o, q) in out.iter_mut().zip(&r.st.queue) {
                *o = q * r.capex_bn_per_gw;
            }
        },
    },
    CountryVariable {
        name: "grid_headroom_gw",
        units: "GW",
        meaning: "spare grid headroom G",
        kind: Kind::Stock,
        compute: copy_state!(headroom),
    },
    CountryVariable {
        name: "ecosystem",
        units: "index (0,1]",
        meaning: "ecosystem E",
        kind: Kind::Stock,
        compute: copy_state!(ecosystem),
    },
    CountryVariable {
        name: "openness",
        units: "[0,1]",
        meaning: "openness to foreign researchers",
        kind: Kind::Stock,
        compute: copy_state!(openness),
    },
    CountryVariable {
        name: "retention",
        units: "share",
        meaning: "share of the country's natives working at home",
        kind: Kind::Stock,
        compute: |r, out| {
            for (h, o) in out.iter_mut().enumerate() {
                let natives = r.agg.natives(h);
                *o = if natives == 0 {
                    0.0
                } else {
                    r.agg.origin_location(h, h) as f64 / natives as f64
                };
            }
        },
    },
    CountryVariable {
        name: "natives",
        units: "persons",
        meaning: "researchers born in the country, working anywhere (the base of retention)",
        kind: Kind::Stock,
        compute: |r, out| {
            for (h, o) in out.iter_mut().enumerate() {
                *o = r.agg.natives(h) as f64 * r.scale;
            }
        },
    },
    CountryVariable {
        name: "foreign_born",
        units: "persons",
        meaning: "researchers working here who were born in another country",
        kind: Kind::Stock,
        compute: |r, out| {
            for (c, o) in out.iter_mut().enumerate() {
                let foreign = r.agg.researchers[c].saturating_sub(r.agg.origin_location(c, c));
                *o = foreign as f64 * r.scale;
            }
        },
    },
    CountryVariable {
        name: "researcher_share",
        units: "share",
        meaning: "share of the world's researchers working here",
        kind: Kind::Stock,
        compute: |r, out| out.copy_from_slice(&metrics::shares(&r.researchers)),
    },
    CountryVariable {
        name: "talent_share",
        units: "share",
        meaning: "share of the world's talent working here",
        kind: Kind::Stock,
        compute: |r, out| out.copy_from_slice(&metrics::shares(&r.talent)),
    },
    CountryVariable {
        name: "inflow",
        units: "persons per tick",
        meaning: "researchers arriving",
        kind: Kind::Flow,
        compute: count!(inflow),
    },
    CountryVariable {
        name: "outflow",
        units: "persons per tick",
        meaning: "researchers leaving",
        kind: Kind::Flow,
        compute: count!(outflow),
    },
    CountryVariable {
        name: "entrants",
        units: "persons per tick",
        meaning: "new researchers",
        kind: Kind::Flow,
        compute: count!(entrants),
    },
    CountryVariable {
        name: "retired",
        units: "persons per tick",
        meaning: "researchers leaving the field",
        kind: Kind::Flow,
        compute: count!(retired),
    },
    CountryVariable {
        name: "founded",
        units: "startups per tick",
        meaning: "startups founded",
        kind: Kind::Flow,
        compute: count!(founded),
    },
    CountryVariable {
        name: "failed",
        units: "startups per tick",
        meaning: "startups that died (failed raise or founder retired)",
        kind: Kind::Flow,
        compute: count!(failed),
    },
    CountryVariable {
        name: "exits",
        units: "startups per tick",
        meaning: "startups that exited after their last round",
        kind: Kind::Flow,
        compute: count!(exits),
    },
    CountryVariable {
        name: "startups_relocated",
        units: "startups per tick",
        meaning: "startups that moved away (counted at origin)",
        kind: Kind::Flow,
        compute: count!(relocated),
    },
    CountryVariable {
        name: "spent_infrastructure_bn",
        units: "$B per tick",
        meaning: "public data-centre capex actually spent: the public share of the compute \
                  connected during the tick × capex (money stalled in the grid queue is not spent)",
        kind: Kind::Flow,
        compute: |r, out| out.copy_from_slice(&r.st.spent[0]),
    },
    CountryVariable {
        name: "spent_grid_bn",
        units: "$B per tick",
        meaning: "grid budget committed during the tick (headroom follows after the lead time)",
        kind: Kind::Flow,
        compute: |r, out| out.copy_from_slice(&r.st.spent[1]),
    },
    CountryVariable {
        name: "spent_wages_bn",
        units: "$B per tick",
        meaning: "wage premium paid during the tick, π × researchers (at most the budget)",
        kind: Kind::Flow,
        compute: |r, out| out.copy_from_slice(&r.st.spent[2]),
    },
    CountryVariable {
        name: "spent_ecosystem_bn",
        units: "$B per tick",
        meaning: "ecosystem budget spent during the tick",
        kind: Kind::Flow,
        compute: |r, out| out.copy_from_slice(&r.st.spent[3]),
    },
    CountryVariable {
        name: "spent_capital_bn",
        units: "$B per tick",
        meaning: "public venture capital reaching startups during the tick (the public part of V, \
                  which follows the budget by partial adjustment)",
        kind: Kind::Flow,
        compute: |r, out| out.copy_from_slice(&r.st.spent[4]),
    },
    CountryVariable {
        name: "spent_total_bn",
        units: "$B per tick",
        meaning: "all policy money actually spent during the tick (sum of the spent_* variables)",
        kind: Kind::Flow,
        compute: |r, out| {
            for (k, o) in out.iter_mut().enumerate() {
                *o = r.st.spent.iter().map(|v| v[k]).sum();
            }
        },
    },
];

/// World variables, one value per tick, in output order.
pub const WORLD: &[WorldVariable] = &[
    WorldVariable {
        name: "researchers_total",
        units: "persons",
        meaning: "world researchers",
        compute: |r| r.researchers.iter().sum(),
    },
    WorldVariable {
        name: "talent_total",
        units: "skill-weighted persons",
        meaning: "world talent",
        compute: |r| r.talent.iter().sum(),
    },
    WorldVariable {
        name: "startups_total",
        units: "startups",
        meaning: "world startups",
        compute: |r| r.startups.iter().sum(),
    },
    WorldVariable {
        name: "hhi_researchers",
        units: "index [1/C, 1]",
        meaning: "Herfindahl–Hirschman index of researcher head-count shares",
        compute: |r| metrics::hhi(&r.researchers),
    },
    WorldVariable {
        name: "hhi_talent",
        units: "index [1/C, 1]",
        meaning: "Herfindahl–Hirschman index of talent (skill-weighted) shares",
        compute: |r| metrics::hhi(&r.talent),
    },
    WorldVariable {
        name: "effective_hubs_researchers",
        units: "countries",
        meaning: "effective number of hubs by researcher head counts, 1 / hhi_researchers",
        compute: |r| metrics::effective_number(&r.researchers),
    },
    WorldVariable {
        name: "effective_hubs_talent",
        units: "countries",
        meaning: "effective number of hubs by talent, 1 / hhi_talent",
        compute: |r| metrics::effective_number(&r.talent),
    },
    // The two names of the first version, written for one more version so scripts that read
    // them keep working; see DEPRECATED.
    WorldVariable {
        name: "hhi",
        units: "index [1/C, 1]",
        meaning: "deprecated alias of hhi_researchers (same values; removed in the next version)",
        compute: |r| metrics::hhi(&r.researchers),
    },
    WorldVariable {
        name: "effective_hubs",
        units: "countries",
        meaning: "deprecated alias of effective_hubs_researchers (same values; removed in the \
                  next version)",
        compute: |r| metrics::effective_number(&r.researchers),
    },
    WorldVariable {
        name: "gini_talent",
        units: "index [0,1)",
        meaning: "Gini of talent across countries",
        compute: |r| metrics::gini(&r.talent),
    },
    WorldVariable {
        name: "top1_talent_share",
        units: "share",
        meaning: "talent share of the largest country",
        compute: |r| metrics::top_share(&r.talent, 1),
    },
    WorldVariable {
        name: "top3_talent_share",
        units: "share",
        meaning: "talent share of the three largest countries",
        compute: |r| metrics::top_share(&r.talent, 3),
    },
    WorldVariable {
        name: "entropy",
        units: "index [0,1]",
        meaning: "normalised entropy of researcher shares",
        compute: |r| metrics::normalised_entropy(&r.researchers),
    },
    WorldVariable {
        name: "hhi_startups",
        units: "index [1/C, 1]",
        meaning: "HHI of startup shares",
        compute: |r| metrics::hhi(&r.startups),
    },
];

/// The country × country arrays, in output order (after the per-country series in the npz).
pub const MATRICES: &[MatrixVariable] = &[
    MatrixVariable {
        name: "flows",
        units: "persons per tick",
        meaning: "flows[t, c, d]: researchers moving c → d during tick t+1",
        kind: Kind::Flow,
        values: |r| &r.flows,
    },
    MatrixVariable {
        name: "origin_location",
        units: "persons",
        meaning: "origin_location[t, h, c]: h-born researchers working in c",
        kind: Kind::Stock,
        values: |r| &r.origin_location,
    },
];

/// Index of a per-country variable by name.
pub fn country_variable(name: &str) -> Option<usize> {
    COUNTRY.iter().position(|v| v.name == name)
}

/// Index of a world variable by name.
pub fn world_variable(name: &str) -> Option<usize> {
    WORLD.iter().position(|v| v.name == name)
}

/// Old names still recorded for one version, and the variable each one duplicates. The first
/// version called the researcher-count HHI `hhi` although its figures called it a talent HHI;
/// both measures now have explicit names, and the old ones are kept (written, readable in
/// outcomes, found in old run directories) until the next version.
pub const DEPRECATED: &[(&str, &str)] = &[
    ("hhi", "hhi_researchers"),
    ("effective_hubs", "effective_hubs_researchers"),
];

/// The variable a deprecated name stands for (`hhi` → `hhi_researchers`), if it is one.
pub fn replacement(name: &str) -> Option<&'static str> {
    DEPRECATED
        .iter()
        .find(|(old, _)| *old == name)
        .map(|(_, new)| *new)
}

/// Other names under which a variable can be stored: its deprecated alias, or what a deprecated
/// name replaced. A run directory written by the first version has only `hhi`; a reader asking
/// for `hhi_researchers` finds it under that name.
pub fn aliases(name: &str) -> impl Iterator<Item = &'static str> + '_ {
    DEPRECATED.iter().filter_map(move |(old, new)| {
        if *new == name {
            Some(*old)
        } else if *old == name {
            Some(*new)
        } else {
            None
        }
    })
}

/// Names of the per-country variables, in output order.
pub fn country_names() -> impl Iterator<Item = &'static str> {
    COUNTRY.iter().map(|v| v.name)
}

/// Names of the world variables, in output order.
pub fn world_names() -> impl Iterator<Item = &'static str> {
    WORLD.iter().map(|v| v.name)
}

/// Everything observed during a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recorder {
    /// Countries.
    pub c: usize,
    /// Rows recorded so far (T + 1 when finished).
    pub rows: usize,
    /// `[variable][t × C + k]`, variables as in [`COUNTRY`].
    pub country: Vec<Vec<f64>>,
    /// `[variable][t]`, variables as in [`WORLD`].
    pub world: Vec<Vec<f64>>,
    /// Researcher moves during tick t+1, `[t][c][d]`, T × C × C.
    pub flows: Vec<f64>,
    /// Researchers by origin and location, `[t][h][c]`, (T+1) × C × C.
    pub origin_location: Vec<f64>,
}

impl Recorder {
    /// An empty recorder for `ticks` ticks and `c` countries.
    pub fn new(c: usize, ticks: usize) -> Recorder {
        let rows = ticks + 1;
        Recorder {
            c,
            rows: 0,
            country: vec![vec![0.0; rows * c]; COUNTRY.len()],
            world: vec![vec![0.0; rows]; WORLD.len()],
            flows: vec![0.0; ticks * c * c],
            origin_location: vec![0.0; rows * c * c],
        }
    }

    /// [`Recorder::new`], or an error when the memory cannot be reserved.
    pub fn try_new(c: usize, ticks: usize) -> Result<Recorder, std::collections::TryReserveError> {
        fn zeros(n: usize) -> Result<Vec<f64>, std::collections::TryReserveError> {
            let mut v = Vec::new();
            v.try_reserve_exact(n)?;
            v.resize(n, 0.0);
            Ok(v)
        }
        let rows = ticks + 1;
        Ok(Recorder {
            c,
            rows: 0,
            country: (0..COUNTRY.len())
                .map(|_| zeros(rows * c))
                .collect::<Result<_, _>>()?,
            world: (0..WORLD.len())
                .map(|_| zeros(rows))
                .collect::<Result<_, _>>()?,
            flows: zeros(ticks * c * c)?,
            origin_location: zeros(rows * c * c)?,
        })
    }

    /// Number of ticks the recorder was sized for.
    pub fn ticks(&self) -> usize {
        self.world[0].len() - 1
    }

    /// Series of a per-country variable for country `k`.
    pub fn series(&self, variable: usize, k: usize) -> Vec<f64> {
        (0..self.ticks() + 1)
            .map(|t| self.country[variable][t * self.c + k])
            .collect()
    }

    /// Value of a per-country variable at row `t`.
    pub fn get(&self, variable: &str, t: usize, k: usize) -> Option<f64> {
        country_variable(variable).map(|v| self.country[v][t * self.c + k])
    }

    /// Value of a world variable at row `t`.
    pub fn get_world(&self, variable: &str, t: usize) -> Option<f64> {
        world_variable(variable).map(|v| self.world[v][t])
    }

    /// Records row `t`: the state after tick t (t = 0: the initial state, no events).
    pub fn record(
        &mut self,
        t: usize,
        scale: f64,
        capex_bn_per_gw: f64,
        agg: &Aggregates,
        st: &CountryState,
        counts: Option<&TickCounts>,
    ) {
        let c = self.c;
        let zero;
        let counts = match counts {
            Some(k) => k,
            None => {
                zero = TickCounts::zero(c);
                &zero
            }
        };
        let row = RowInputs {
            scale,
            capex_bn_per_gw,
            agg,
            st,
            counts,
            researchers: agg.researchers.iter().map(|&n| n as f64 * scale).collect(),
            talent: (0..c).map(|k| agg.talent(k) * scale).collect(),
            startups: agg.startups.iter().map(|&n| n as f64 * scale).collect(),
        };
        for (values, var) in self.country.iter_mut().zip(COUNTRY) {
            let out = &mut values[t * c..(t + 1) * c];
            if t == 0 && var.kind == Kind::Flow {
                out.fill(0.0);
            } else {
                (var.compute)(&row, out);
            }
        }
        for (values, var) in self.world.iter_mut().zip(WORLD) {
            values[t] = (var.compute)(&row);
        }
        for (dst, &n) in self.origin_location[t * c * c..(t + 1) * c * c]
            .iter_mut()
            .zip(&agg.origin_location)
        {
            *dst = n as f64 * scale;
        }
        if t > 0 {
            for (dst, &n) in self.flows[(t - 1) * c * c..t * c * c]
                .iter_mut()
                .zip(&counts.flows)
            {
                *dst = n as f64 * scale;
            }
        }
        self.rows = t + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_names_are_unique_and_within_the_scenario_layers_bounds() {
        let mut names: Vec<&str> = country_names()
            .chain(world_names())
            .chain(MATRICES.iter().map(|m| m.name))
            .collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "a variable name is used twice");
        assert!(COUNTRY.len() <= crate::scenario::check::RECORDED_PER_COUNTRY);
        assert!(WORLD.len() <= crate::scenario::check::RECORDED_WORLD);
        assert!(COUNTRY
            .iter()
            .all(|v| !v.units.is_empty() && !v.meaning.is_empty()));
        assert!(WORLD
            .iter()
            .all(|v| !v.units.is_empty() && !v.meaning.is_empty()));
    }
}
