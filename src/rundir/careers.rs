//! The files of the individual-agent observers: the panel tables (`panel.npz`,
//! `panel_startups.npz`, `panel_moves.npz`: one 1-D array per named column, all of one length, so
//! `pandas.DataFrame(dict(numpy.load(f)))` is the table) and the cohort tables (`stay.csv`,
//! `hazard.csv`, tidy). Countries are scenario indices in the npz tables (int16; the codes, in
//! order, are the manifest's `countries`) and codes in the CSVs. `-1` stands for "none" in integer
//! columns (no startup, no exit yet).

use std::path::Path;

use crate::model::cohort::Cohorts;
use crate::model::panel::{end, Panel};
use crate::rundir::npz::{self, NpzArray, NpzData};
use crate::rundir::write::{year_of_row, OutputError};
use crate::scenario::Scenario;

/// Researcher snapshots.
pub const PANEL: &str = "panel.npz";
/// Startups of sampled founders, snapshots.
pub const PANEL_STARTUPS: &str = "panel_startups.npz";
/// Moves of sampled researchers.
pub const PANEL_MOVES: &str = "panel_moves.npz";
/// Stay curves.
pub const STAY: &str = "stay.csv";
/// Emigration hazard.
pub const HAZARD: &str = "hazard.csv";
/// Every file an observer may write, in writing order.
pub const NAMES: [&str; 5] = [PANEL, PANEL_STARTUPS, PANEL_MOVES, STAY, HAZARD];

fn column(name: &str, data: NpzData<'static>) -> NpzArray<'static> {
    let len = match &data {
        NpzData::F64(v) => v.len(),
        NpzData::F64Owned(v) => v.len(),
        NpzData::Bytes(v) => v.len(),
        NpzData::F32(v) => v.len(),
        NpzData::I64(v) => v.len(),
        NpzData::I32(v) => v.len(),
        NpzData::I16(v) => v.len(),
        NpzData::I8(v) => v.len(),
    };
    NpzArray {
        name: name.to_string(),
        shape: vec![len],
        data,
    }
}

fn tick_or_none(t: Option<u32>) -> i32 {
    t.map_or(-1, |t| t as i32)
}

fn years(scenario: &Scenario, ticks: &[i32]) -> Vec<f64> {
    ticks
        .iter()
        .map(|&t| year_of_row(scenario, t as usize))
        .collect()
}

/// `panel.npz`: one row per (snapshot tick, living sampled researcher).
pub fn panel_npz(scenario: &Scenario, p: &Panel) -> Result<Vec<u8>, OutputError> {
    let rows = &p.rows;
    let career = |f: &dyn Fn(&crate::model::panel::Career) -> i64| -> Vec<i64> {
        rows.iter()
            .map(|r| f(&p.careers[r.career as usize]))
            .collect()
    };
    let tick: Vec<i32> = rows.iter().map(|r| r.tick as i32).collect();
    let year = years(scenario, &tick);
    let arrays = vec![
        column("tick", NpzData::I32(tick)),
        column("id", NpzData::I64(career(&|c| c.id as i64))),
        column(
            "home",
            NpzData::I16(
                rows.iter()
                    .map(|r| p.careers[r.career as usize].home as i16)
                    .collect(),
            ),
        ),
        column(
            "location",
            NpzData::I16(rows.iter().map(|r| r.loc as i16).collect()),
        ),
        column(
            "skill",
            NpzData::F32(
                rows.iter()
                    .map(|r| p.careers[r.career as usize].skill)
                    .collect(),
            ),
        ),
        column(
            "founder_of",
            NpzData::I64(
                rows.iter()
                    .map(|r| {
                        r.founder_of
                            .map_or(-1, |k| p.startups[k as usize].id as i64)
                    })
                    .collect(),
            ),
        ),
        column(
            "born_tick",
            NpzData::I32(
                career(&|c| i64::from(c.born_tick))
                    .iter()
                    .map(|&t| t as i32)
                    .collect(),
            ),
        ),
        column(
            "exit_tick",
            NpzData::I32(
                rows.iter()
                    .map(|r| tick_or_none(p.careers[r.career as usize].exit_tick))
                    .collect(),
            ),
        ),
        column(
            "exit_kind",
            NpzData::I8(
                rows.iter()
                    .map(|r| match p.careers[r.career as usize].exit_tick {
                        Some(_) => end::LEFT_FIELD,
                        None => end::RUNNING,
                    })
                    .collect(),
            ),
        ),
    ];
    with_year(arrays, year)
}

/// Encodes `arrays` with a `year` column (float64) after the first (`tick`).
fn with_year(mut arrays: Vec<NpzArray<'static>>, year: Vec<f64>) -> Result<Vec<u8>, OutputError> {
    arrays.insert(1.min(arrays.len()), column("year", NpzData::F64Owned(year)));
    Ok(npz::encode(&arrays)?)
}

/// `panel_startups.npz`: one row per (snapshot tick, living startup of a sampled founder).
pub fn panel_startups_npz(scenario: &Scenario, p: &Panel) -> Result<Vec<u8>, OutputError> {
    let rows = &p.startup_rows;
    let fate = |r: &crate::model::panel::StartupRow| &p.startups[r.startup as usize];
    let tick: Vec<i32> = rows.iter().map(|r| r.tick as i32).collect();
    let year = years(scenario, &tick);
    let raised: Vec<f64> = rows.iter().map(|r| r.raised).collect();
    let arrays = vec![
        column("tick", NpzData::I32(tick)),
        column(
            "startup_id",
            NpzData::I64(rows.iter().map(|r| fate(r).id as i64).collect()),
        ),
        column(
            "founder_id",
            NpzData::I64(rows.iter().map(|r| fate(r).founder as i64).collect()),
        ),
        column(
            "stage",
            NpzData::I8(rows.iter().map(|r| r.stage as i8).collect()),
        ),
        column("raised", NpzData::F64Owned(raised)),
        column(
            "location",
            NpzData::I16(rows.iter().map(|r| r.loc as i16).collect()),
        ),
        column(
            "born_tick",
            NpzData::I32(rows.iter().map(|r| fate(r).born_tick as i32).collect()),
        ),
        column(
            "end_tick",
            NpzData::I32(
                rows.iter()
                    .map(|r| tick_or_none(fate(r).end_tick))
                    .collect(),
            ),
        ),
        column(
            "end_kind",
            NpzData::I8(rows.iter().map(|r| fate(r).end_kind).collect()),
        ),
    ];
    with_year(arrays, year)
}

/// `panel_moves.npz`: one row per move of a sampled researcher.
pub fn panel_moves_npz(scenario: &Scenario, p: &Panel) -> Result<Vec<u8>, OutputError> {
    let rows = &p.moves;
    let tick: Vec<i32> = rows.iter().map(|r| r.tick as i32).collect();
    let year = years(scenario, &tick);
    let arrays = vec![
        column("tick", NpzData::I32(tick)),
        column(
            "id",
            NpzData::I64(
                rows.iter()
                    .map(|r| p.careers[r.career as usize].id as i64)
                    .collect(),
            ),
        ),
        column(
            "home",
            NpzData::I16(
                rows.iter()
                    .map(|r| p.careers[r.career as usize].home as i16)
                    .collect(),
            ),
        ),
        column(
            "from",
            NpzData::I16(rows.iter().map(|r| r.from as i16).collect()),
        ),
        column(
            "to",
            NpzData::I16(rows.iter().map(|r| r.to as i16).collect()),
        ),
        column("kind", NpzData::I8(rows.iter().map(|r| r.kind).collect())),
    ];
    with_year(arrays, year)
}

fn csv_err(path: &Path) -> impl Fn(csv::Error) -> OutputError + '_ {
    move |e| OutputError::Csv {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// `stay.csv`: cohort, entry_year, k, home, start, alive, stayed, stay (= stayed / alive).
pub fn stay_csv(path: &Path, scenario: &Scenario, c: &Cohorts) -> Result<Vec<u8>, OutputError> {
    let err = csv_err(path);
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "cohort",
        "entry_year",
        "k",
        "home",
        "start",
        "alive",
        "stayed",
        "stay",
    ])
    .map_err(&err)?;
    let code = |k: usize| scenario.countries[k].code.as_str();
    for r in c.stay_rows() {
        let year = scenario.world.start_year + r.entry_year as i64;
        w.write_record([
            if r.initial { "initial" } else { "entrants" },
            &year.to_string(),
            &r.k.to_string(),
            code(r.home),
            code(r.start),
            &r.alive.to_string(),
            &r.stayed.to_string(),
            &(r.stayed as f64 / r.alive as f64).to_string(),
        ])
        .map_err(&err)?;
    }
    w.into_inner().map_err(|e| OutputError::Csv {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// `hazard.csv`: year, home, quintile (1 = lowest skill), person_years, emigrations, hazard (per
/// year at risk).
pub fn hazard_csv(path: &Path, scenario: &Scenario, c: &Cohorts) -> Result<Vec<u8>, OutputError> {
    let err = csv_err(path);
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "year",
        "home",
        "quintile",
        "person_years",
        "emigrations",
        "hazard",
    ])
    .map_err(&err)?;
    for r in c.hazard_rows() {
        let year = scenario.world.start_year + r.year as i64;
        w.write_record([
            year.to_string().as_str(),
            &scenario.countries[r.home].code,
            &(r.quintile + 1).to_string(),
            &r.person_years.to_string(),
            &r.emigrations.to_string(),
            &(r.emigrations as f64 / r.person_years).to_string(),
        ])
        .map_err(&err)?;
    }
    w.into_inner().map_err(|e| OutputError::Csv {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// The files of the observers present, as (name, bytes).
pub fn files(
    dir: &Path,
    scenario: &Scenario,
    panel: Option<&Panel>,
    cohorts: Option<&Cohorts>,
) -> Result<Vec<(&'static str, Vec<u8>)>, OutputError> {
    let mut out = Vec::new();
    if let Some(p) = panel {
        out.push((PANEL, panel_npz(scenario, p)?));
        out.push((PANEL_STARTUPS, panel_startups_npz(scenario, p)?));
        out.push((PANEL_MOVES, panel_moves_npz(scenario, p)?));
    }
    if let Some(c) = cohorts {
        out.push((STAY, stay_csv(&dir.join(STAY), scenario, c)?));
        out.push((HAZARD, hazard_csv(&dir.join(HAZARD), scenario, c)?));
    }
    Ok(out)
}

/// An integer column (`tick`, `id`, `home`, `location`, …) of a panel file's bytes, as `i64`s
/// (what `plot` reads for the career figure).
pub fn read_int_column(
    archive: &[u8],
    name: &str,
) -> Result<Vec<i64>, crate::rundir::npz::NpzError> {
    crate::rundir::npz::read_int(archive, name)
}
