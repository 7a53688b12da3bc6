//! The agent panel: a seeded sample of researchers followed for their whole career.
//!
//! # Who is sampled
//!
//! Researcher ids are creation ranks (see [`crate::model::observe`]): the initial population is
//! 0..N₀ in its drawing order, then every entrant takes the next id. A researcher is in the panel
//! when a keyed hash of its id, `h(seed, id)` (two rounds of splitmix64 keyed by blake3 of the
//! seed), is below `fraction · 2⁶⁴`. Selection is therefore a pure function of (seed, id): the same
//! agents whatever the thread count, the same agents in every arm of an experiment under common
//! random numbers (the initial population is drawn alike), and entrants born later are sampled by
//! the same rule. Startup ids are creation ranks of startups, the same way.
//!
//! # What is recorded
//!
//! - a snapshot of every living sampled researcher at tick 0, every `every` ticks and at the last
//!   tick: location and the startup it runs (constant facts — home, skill, born tick, exit — are
//!   kept once per career and joined when the tables are written);
//! - a snapshot of the startups founded by sampled researchers, at the same ticks;
//! - every move of a sampled researcher (review moves and relocations with its startup), at the
//!   tick it happened, so each one is also counted in the run's `flows`.

use crate::model::agents::{CountryId, IndexShift, Researchers, Startups};
use crate::model::observe::TickEvents;

/// What to sample and how often to snapshot it.
#[derive(Clone, Debug, PartialEq)]
pub struct PanelOptions {
    /// Probability that a researcher is sampled, in (0, 1].
    pub fraction: f64,
    /// Ticks between snapshots (≥ 1).
    pub every_ticks: usize,
}

/// How a career or a startup ended.
pub mod end {
    /// Still running at the end of the run (censored).
    pub const RUNNING: i8 = 0;
    /// A researcher who left the field.
    pub const LEFT_FIELD: i8 = 1;
    /// A startup that failed a raise.
    pub const FAILED: i8 = 1;
    /// A startup that exited (its last raise succeeded).
    pub const EXITED: i8 = 2;
    /// A startup that died because its founder left the field.
    pub const FOUNDER_LEFT: i8 = 3;
}

/// A move of a sampled researcher: a review move, or a relocation with its startup.
pub mod move_kind {
    /// Moved after a review.
    pub const REVIEW: i8 = 0;
    /// Moved with its relocating startup.
    pub const RELOCATION: i8 = 1;
}

/// One sampled researcher's constant facts.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Career {
    /// Stable id (creation rank).
    pub id: u64,
    /// Country of origin.
    pub home: CountryId,
    /// Location when it entered the run (tick 0 or its entry).
    pub start: CountryId,
    /// Skill.
    pub skill: f32,
    /// Tick of entry (0 for the initial population).
    pub born_tick: u32,
    /// Tick it left the field, if it did.
    pub exit_tick: Option<u32>,
}

/// One startup of a sampled founder.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StartupFate {
    /// Stable id (creation rank among startups).
    pub id: u64,
    /// Its founder's id.
    pub founder: u64,
    /// Index into [`Panel::careers`] of its founder.
    pub founder_career: u32,
    /// Tick of founding (0 for the initial startups).
    pub born_tick: u32,
    /// Tick it ended, if it did.
    pub end_tick: Option<u32>,
    /// How it ended ([`end`]).
    pub end_kind: i8,
}

/// A researcher snapshot row (the career's constant facts are in [`Panel::careers`]).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Row {
    /// Tick of the snapshot.
    pub tick: u32,
    /// Index into [`Panel::careers`].
    pub career: u32,
    /// Location.
    pub loc: CountryId,
    /// Index into [`Panel::startups`] of the startup it runs.
    pub founder_of: Option<u32>,
}

/// A startup snapshot row.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StartupRow {
    /// Tick of the snapshot.
    pub tick: u32,
    /// Index into [`Panel::startups`].
    pub startup: u32,
    /// Stage 0..=4.
    pub stage: u8,
    /// Money raised so far, $M.
    pub raised: f64,
    /// Location.
    pub loc: CountryId,
}

/// A move of a sampled researcher.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MoveRow {
    /// Tick of the move.
    pub tick: u32,
    /// Index into [`Panel::careers`].
    pub career: u32,
    /// Country left.
    pub from: CountryId,
    /// Destination.
    pub to: CountryId,
    /// [`move_kind`].
    pub kind: i8,
}

/// A living sampled researcher or tracked startup: its index now and its record.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Alive {
    index: u32,
    record: u32,
}

/// The panel of one run.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Panel {
    key: [u64; 2],
    threshold: u128,
    every: usize,
    ticks: usize,
    next_id: u64,
    next_startup: u64,
    alive: Vec<Alive>,
    alive_startups: Vec<Alive>,
    /// Every sampled researcher, in id order.
    pub careers: Vec<Career>,
    /// Every startup of a sampled founder, in id order.
    pub startups: Vec<StartupFate>,
    /// Researcher snapshots, by tick then id.
    pub rows: Vec<Row>,
    /// Startup snapshots, by tick then id.
    pub startup_rows: Vec<StartupRow>,
    /// Moves, by tick then the order apply made them.
    pub moves: Vec<MoveRow>,
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The sampling key of a seed.
fn key_of(seed: u64) -> [u64; 2] {
    let k = blake3::derive_key("talentflow 2026 panel sample key", &seed.to_le_bytes());
    let word = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&k[8 * i..8 * i + 8]);
        u64::from_le_bytes(b)
    };
    [word(0), word(1)]
}

/// The keyed hash deciding whether researcher `id` is sampled.
pub fn sample_hash(seed: u64, id: u64) -> u64 {
    hash_with(&key_of(seed), id)
}

fn hash_with(key: &[u64; 2], id: u64) -> u64 {
    splitmix64(splitmix64(id ^ key[0]) ^ key[1])
}

/// `fraction · 2⁶⁴`, so that `hash < threshold` holds with probability `fraction`.
fn threshold_of(fraction: f64) -> u128 {
    let f = fraction.clamp(0.0, 1.0);
    // 2⁶⁴ · f, exact in f64 for the 53 significant bits of f.
    (f * 18_446_744_073_709_551_616.0) as u128
}

impl Panel {
    /// Starts the panel on the initial population (`r`, `s`) at tick 0 of a run of `ticks` ticks.
    pub fn start(
        opts: &PanelOptions,
        seed: u64,
        ticks: usize,
        r: &Researchers,
        s: &Startups,
    ) -> Panel {
        let mut p = Panel {
            key: key_of(seed),
            threshold: threshold_of(opts.fraction),
            every: opts.every_ticks.max(1),
            ticks,
            next_id: 0,
            next_startup: 0,
            alive: Vec::new(),
            alive_startups: Vec::new(),
            careers: Vec::new(),
            startups: Vec::new(),
            rows: Vec::new(),
            startup_rows: Vec::new(),
            moves: Vec::new(),
        };
        p.admit(r, 0..r.len());
        for j in 0..s.len() {
            p.found(s, j as u32, 0);
        }
        p.snapshot(0, r, s);
        p
    }

    /// Whether researcher `id` is in the sample.
    pub fn is_sampled(&self, id: u64) -> bool {
        u128::from(hash_with(&self.key, id)) < self.threshold
    }

    /// Gives ids to the researchers at `range` (the newest), sampling them.
    fn admit(&mut self, r: &Researchers, range: std::ops::Range<usize>) {
        for i in range {
            let id = self.next_id;
            self.next_id += 1;
            if self.is_sampled(id) {
                self.alive.push(Alive {
                    index: i as u32,
                    record: self.careers.len() as u32,
                });
                self.careers.push(Career {
                    id,
                    home: r.home[i],
                    start: r.loc[i],
                    skill: r.skill[i],
                    born_tick: r.born_tick[i],
                    exit_tick: None,
                });
            }
        }
    }

    /// The living sampled researcher at index `i`, if `i` is one.
    fn sampled_at(&self, i: u32) -> Option<u32> {
        self.alive
            .binary_search_by_key(&i, |a| a.index)
            .ok()
            .map(|k| self.alive[k].record)
    }

    /// Gives the startup at index `j` (the newest) its id, tracking it if its founder is sampled.
    fn found(&mut self, s: &Startups, j: u32, tick: u32) {
        let id = self.next_startup;
        self.next_startup += 1;
        if let Some(career) = self.sampled_at(s.founder[j as usize]) {
            self.alive_startups.push(Alive {
                index: j,
                record: self.startups.len() as u32,
            });
            self.startups.push(StartupFate {
                id,
                founder: self.careers[career as usize].id,
                founder_career: career,
                born_tick: tick,
                end_tick: None,
                end_kind: end::RUNNING,
            });
        }
    }

    fn snapshot(&mut self, tick: usize, r: &Researchers, s: &Startups) {
        let t = tick as u32;
        // Founder index → startup record, for the few tracked startups.
        let mut by_founder: Vec<(u32, u32)> = self
            .alive_startups
            .iter()
            .map(|a| (s.founder[a.index as usize], a.record))
            .collect();
        by_founder.sort_unstable();
        for a in &self.alive {
            let founder_of = by_founder
                .binary_search_by_key(&a.index, |&(f, _)| f)
                .ok()
                .map(|k| by_founder[k].1);
            self.rows.push(Row {
                tick: t,
                career: a.record,
                loc: r.loc[a.index as usize],
                founder_of,
            });
        }
        for a in &self.alive_startups {
            let j = a.index as usize;
            self.startup_rows.push(StartupRow {
                tick: t,
                startup: a.record,
                stage: s.stage[j],
                raised: s.raised[j],
                loc: s.loc[j],
            });
        }
    }

    /// Follows one tick; (`r`, `s`) is the state after it.
    pub fn observe(&mut self, ev: &TickEvents<'_>, r: &Researchers, s: &Startups) {
        let t = ev.tick as u32;
        // 1. Moves (review moves, then relocations), by indices before the removals.
        for m in ev.researcher_intents.iter().flat_map(|b| &b.moves) {
            if let Some(career) = self.sampled_at(m.index) {
                self.moves.push(MoveRow {
                    tick: t,
                    career,
                    from: m.from,
                    to: m.to,
                    kind: move_kind::REVIEW,
                });
            }
        }
        for x in ev.relocated {
            if let Some(career) = self.sampled_at(x.founder) {
                self.moves.push(MoveRow {
                    tick: t,
                    career,
                    from: x.from,
                    to: x.to,
                    kind: move_kind::RELOCATION,
                });
            }
        }
        // 2. Removals: exits end careers; dead startups end with their kind.
        let exits = &ev.removals.researchers;
        let shift = IndexShift::new(exits, ev.researchers_before);
        let mut keep = Vec::with_capacity(self.alive.len());
        for a in std::mem::take(&mut self.alive) {
            if shift.contains(a.index) {
                self.careers[a.record as usize].exit_tick = Some(t);
            } else {
                keep.push(Alive {
                    index: shift.new_index(a.index),
                    record: a.record,
                });
            }
        }
        self.alive = keep;
        let exited: Vec<u32> = ev
            .startup_intents
            .iter()
            .flat_map(|b| b.exited.iter().copied())
            .collect();
        let dead = &ev.removals.startups;
        let startup_shift = IndexShift::new(dead, ev.startups_before);
        let mut keep_startups = Vec::with_capacity(self.alive_startups.len());
        for a in std::mem::take(&mut self.alive_startups) {
            if startup_shift.contains(a.index) {
                let fate = &mut self.startups[a.record as usize];
                fate.end_tick = Some(t);
                // The order of apply: an exit counts as an exit even if the founder left too.
                fate.end_kind = if exited.binary_search(&a.index).is_ok() {
                    end::EXITED
                } else if self.careers[fate.founder_career as usize].exit_tick == Some(t) {
                    end::FOUNDER_LEFT
                } else {
                    end::FAILED
                };
            } else {
                keep_startups.push(Alive {
                    index: startup_shift.new_index(a.index),
                    record: a.record,
                });
            }
        }
        self.alive_startups = keep_startups;
        let founds = ev
            .researcher_intents
            .iter()
            .map(|b| b.founds.len())
            .sum::<usize>();
        // 3. New startups, appended in founder order after the survivors.
        let first = ev.startups_before - dead.len();
        debug_assert_eq!(first + founds, s.len());
        for k in 0..founds {
            self.found(s, (first + k) as u32, t);
        }
        // 4. Entrants, appended after the surviving researchers.
        let survivors = ev.researchers_before - exits.len();
        self.admit(r, survivors..r.len());
        if ev.tick.is_multiple_of(self.every) || ev.tick == self.ticks {
            self.snapshot(ev.tick, r, s);
        }
    }

    /// Researchers created so far (the next id).
    pub fn researchers_created(&self) -> u64 {
        self.next_id
    }
}
