//! The recorder (MODEL.md §7): one row per tick of every observed variable, in real units.
//!
//! Storage is dense and preallocated: `[variable][tick × C + country]`, flows `[tick, c, d]` and
//! origin × location `[tick, h, c]`, so writers can hand the buffers to numpy unchanged.

use serde::{Deserialize, Serialize};

use crate::model::aggregates::Aggregates;
use crate::model::apply::TickCounts;
use crate::model::countries::CountryState;
use crate::model::metrics;

/// Per-country variables, in output order. Flow-like ones (see [`FLOW_VARIABLES`]) count what
/// happened during the tick of their row; row 0 is zero.
pub const COUNTRY_VARIABLES: &[&str] = &[
    "researchers",
    "talent",
    "startups",
    "wage",
    "capital",
    "capital_available",
    "capital_per_startup",
    "innovation",
    "compute_gw",
    "compute_built_gw",
    "compute_requested_gw",
    "grid_queue_gw",
    "grid_queue_bn",
    "grid_headroom_gw",
    "ecosystem",
    "openness",
    "retention",
    "researcher_share",
    "talent_share",
    "inflow",
    "outflow",
    "entrants",
    "retired",
    "founded",
    "failed",
    "exits",
    "startups_relocated",
];

/// Variables that count events during a tick rather than a stock at its end.
pub const FLOW_VARIABLES: &[&str] = &[
    "compute_built_gw",
    "compute_requested_gw",
    "inflow",
    "outflow",
    "entrants",
    "retired",
    "founded",
    "failed",
    "exits",
    "startups_relocated",
];

/// World variables, one value per tick.
pub const WORLD_VARIABLES: &[&str] = &[
    "researchers_total",
    "talent_total",
    "startups_total",
    "hhi",
    "effective_hubs",
    "gini_talent",
    "top1_talent_share",
    "top3_talent_share",
    "entropy",
    "hhi_startups",
];

/// Everything observed during a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recorder {
    /// Countries.
    pub c: usize,
    /// Rows recorded so far (T + 1 when finished).
    pub rows: usize,
    /// `[variable][t × C + k]`, variables as in [`COUNTRY_VARIABLES`].
    pub country: Vec<Vec<f64>>,
    /// `[variable][t]`, variables as in [`WORLD_VARIABLES`].
    pub world: Vec<Vec<f64>>,
    /// Researcher moves during tick t+1, `[t][c][d]`, T × C × C.
    pub flows: Vec<f64>,
    /// Researchers by origin and location, `[t][h][c]`, (T+1) × C × C.
    pub origin_location: Vec<f64>,
}

/// Index of a per-country variable by name.
pub fn country_variable(name: &str) -> Option<usize> {
    COUNTRY_VARIABLES.iter().position(|v| *v == name)
}

/// Index of a world variable by name.
pub fn world_variable(name: &str) -> Option<usize> {
    WORLD_VARIABLES.iter().position(|v| *v == name)
}

impl Recorder {
    /// An empty recorder for `ticks` ticks and `c` countries.
    pub fn new(c: usize, ticks: usize) -> Recorder {
        let rows = ticks + 1;
        Recorder {
            c,
            rows: 0,
            country: vec![vec![0.0; rows * c]; COUNTRY_VARIABLES.len()],
            world: vec![vec![0.0; rows]; WORLD_VARIABLES.len()],
            flows: vec![0.0; ticks * c * c],
            origin_location: vec![0.0; rows * c * c],
        }
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
        let researchers: Vec<f64> = agg.researchers.iter().map(|&n| n as f64 * scale).collect();
        let talent: Vec<f64> = (0..c).map(|k| agg.talent(k) * scale).collect();
        let startups: Vec<f64> = agg.startups.iter().map(|&n| n as f64 * scale).collect();
        let researcher_share = metrics::shares(&researchers);
        let talent_share = metrics::shares(&talent);
        let zero = vec![0u64; c];
        let flow = |f: fn(&TickCounts) -> &Vec<u64>| -> Vec<f64> {
            counts
                .map_or(&zero, f)
                .iter()
                .map(|&n| n as f64 * scale)
                .collect()
        };
        let columns: [Vec<f64>; 27] = [
            researchers.clone(),
            talent.clone(),
            startups.clone(),
            st.wage.clone(),
            st.capital.clone(),
            st.available.clone(),
            st.per_startup.clone(),
            st.innovation.clone(),
            st.compute.clone(),
            if counts.is_some() {
                st.built.clone()
            } else {
                vec![0.0; c]
            },
            if counts.is_some() {
                st.requested.clone()
            } else {
                vec![0.0; c]
            },
            st.queue.clone(),
            st.queue.iter().map(|q| q * capex_bn_per_gw).collect(),
            st.headroom.clone(),
            st.ecosystem.clone(),
            st.openness.clone(),
            (0..c)
                .map(|h| {
                    let natives = agg.natives(h);
                    if natives == 0 {
                        0.0
                    } else {
                        agg.origin_location(h, h) as f64 / natives as f64
                    }
                })
                .collect(),
            researcher_share,
            talent_share,
            flow(|x| &x.inflow),
            flow(|x| &x.outflow),
            flow(|x| &x.entrants),
            flow(|x| &x.retired),
            flow(|x| &x.founded),
            flow(|x| &x.failed),
            flow(|x| &x.exits),
            flow(|x| &x.relocated),
        ];
        for (v, col) in columns.iter().enumerate() {
            self.country[v][t * c..(t + 1) * c].copy_from_slice(col);
        }
        let world = [
            researchers.iter().sum(),
            talent.iter().sum(),
            startups.iter().sum(),
            metrics::hhi(&researchers),
            metrics::effective_number(&researchers),
            metrics::gini(&talent),
            metrics::top_share(&talent, 1),
            metrics::top_share(&talent, 3),
            metrics::normalised_entropy(&researchers),
            metrics::hhi(&startups),
        ];
        for (v, x) in world.into_iter().enumerate() {
            self.world[v][t] = x;
        }
        for (dst, &n) in self.origin_location[t * c * c..(t + 1) * c * c]
            .iter_mut()
            .zip(&agg.origin_location)
        {
            *dst = n as f64 * scale;
        }
        if let (Some(counts), true) = (counts, t > 0) {
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
