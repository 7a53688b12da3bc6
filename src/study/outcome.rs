//! Outcomes: named scalar results of a run, as experiments and sweeps report them.
//!
//! Syntax: `VARIABLE.CODE@YEAR` for a per-country variable (`retention.SAU@2030`),
//! `VARIABLE@YEAR` for a world variable (`hhi@2035`), and `…@Y1..Y2` for a period: flow-like
//! variables (`exits`, `inflow`, …) are summed over the ticks in (Y1, Y2], stocks are averaged over
//! the rows in [Y1, Y2]. `end` stands for the last year of the run.
//!
//! Cohort outcomes ([`StayOutcome`]) read the cohort tables of a run with `--cohorts`
//! ([`crate::model::cohort`]): `stay.HOME>START@Ky` is the share of researchers of origin HOME
//! who started in START and, K years after their entry, are still in the field and have never
//! left START, pooled over every cohort observed K years on (`stay.CHN>USA@5y`);
//! `stay.HOME>START:initial@Ky` takes the initial population only, `stay.HOME>START:YEAR@Ky` the
//! entrants of one calendar year.

use crate::model::record::{
    country_names, country_variable, world_names, world_variable, Kind, Recorder, COUNTRY,
};
use crate::scenario::Scenario;

/// A parsed outcome, not yet tied to a scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// The text as written, used as the column name.
    pub text: String,
    variable: String,
    country: Option<String>,
    from: Option<Year>,
    to: Year,
    /// A cohort outcome (from [`Outcome::parse_any`]).
    stay: Option<StayOutcome>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Year {
    At(f64),
    End,
}

/// An outcome tied to a scenario: variable index, country index and rows — or, for a cohort
/// outcome (`stay.…`, from [`resolve_all`]), the stay share to read from the run's cohort tables.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedOutcome {
    /// The text as written.
    pub text: String,
    variable: usize,
    country: Option<usize>,
    rows: (usize, usize),
    flow: bool,
    period: bool,
    stay: Option<ResolvedStay>,
}

/// Why an outcome expression cannot be evaluated (bad syntax, an unknown variable or country,
/// a year outside the run).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "outcome `{}`: {}",
    crate::scenario::text::echo(.text),
    crate::scenario::text::clip(.reason, 300)
)]
pub struct OutcomeError {
    /// The outcome as written.
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

fn parse_year(s: &str) -> Result<Year, String> {
    if s == "end" {
        return Ok(Year::End);
    }
    s.parse::<f64>()
        .ok()
        .filter(|y| y.is_finite())
        .map(Year::At)
        .ok_or_else(|| format!("`{s}` is not a year"))
}

impl Outcome {
    /// Parses outcome text, cohort outcomes (`stay.…`, [`StayOutcome`]) included: the form
    /// studies use, whose runs turn the cohort observer on when
    /// [`Outcome::needs_cohorts`].
    pub fn parse_any(text: &str) -> Result<Outcome, OutcomeError> {
        if !text.trim_start().starts_with("stay.") {
            return Outcome::parse(text);
        }
        let stay = StayOutcome::parse(text.trim())?;
        Ok(Outcome {
            text: text.to_string(),
            variable: String::new(),
            country: None,
            from: None,
            to: Year::End,
            stay: Some(stay),
        })
    }

    /// Whether the outcome is read from the cohort tables.
    pub fn needs_cohorts(&self) -> bool {
        self.stay.is_some()
    }

    /// Parses outcome text of a recorded variable (a cohort outcome is refused, naming
    /// [`Outcome::parse_any`]'s form).
    pub fn parse(text: &str) -> Result<Outcome, OutcomeError> {
        let err = |reason: String| OutcomeError {
            text: text.to_string(),
            reason,
        };
        if text.trim_start().starts_with("stay.") {
            return Err(err(
                "`stay.…` is a cohort outcome: it is read from a run's cohort tables (`run --cohorts`, \
                 StayOutcome); studies read them (`Outcome::parse_any`)"
                    .into(),
            ));
        }
        let (what, when) = text.split_once('@').ok_or_else(|| {
            err("expected VARIABLE[.COUNTRY]@YEAR, e.g. retention.SAU@2030 or hhi@2035".into())
        })?;
        let (variable, country) = match what.split_once('.') {
            Some((v, c)) => (v.trim(), Some(c.trim().to_string())),
            None => (what.trim(), None),
        };
        let (from, to) = match when.split_once("..") {
            Some((a, b)) => (
                Some(parse_year(a.trim()).map_err(err)?),
                parse_year(b.trim()).map_err(err)?,
            ),
            None => (None, parse_year(when.trim()).map_err(err)?),
        };
        match &country {
            Some(_) if country_variable(variable).is_none() => {
                return Err(err(format!(
                    "`{variable}` is not a per-country variable (known: {})",
                    country_names().collect::<Vec<_>>().join(", ")
                )))
            }
            None if world_variable(variable).is_none() => {
                let hint = if country_variable(variable).is_some() {
                    format!("`{variable}` is per country: write `{variable}.CODE@…`")
                } else {
                    format!(
                        "unknown variable `{variable}` (world variables: {})",
                        world_names().collect::<Vec<_>>().join(", ")
                    )
                };
                return Err(err(hint));
            }
            _ => {}
        }
        Ok(Outcome {
            text: text.to_string(),
            variable: variable.to_string(),
            country,
            from,
            to,
            stay: None,
        })
    }

    /// Ties the outcome to a scenario (country code and years to indices and rows).
    pub fn resolve(&self, s: &Scenario) -> Result<ResolvedOutcome, OutcomeError> {
        if let Some(stay) = &self.stay {
            return stay.resolve(s).map(ResolvedOutcome::of_stay);
        }
        let err = |reason: String| OutcomeError {
            text: self.text.clone(),
            reason,
        };
        let tpy = s.world.ticks_per_year as f64;
        let ticks = s.ticks();
        let row = |y: Year| -> Result<usize, OutcomeError> {
            match y {
                Year::End => Ok(ticks),
                Year::At(y) => {
                    let r = ((y - s.world.start_year as f64) * tpy).round();
                    if r < 0.0 || r > ticks as f64 {
                        Err(err(format!(
                            "year {y} is outside the run ({} to {})",
                            s.world.start_year,
                            s.world.start_year + s.world.years
                        )))
                    } else {
                        Ok(r as usize)
                    }
                }
            }
        };
        let to = row(self.to)?;
        let from = match self.from {
            Some(y) => row(y)?,
            None => to,
        };
        if from > to {
            return Err(err("the period ends before it starts".into()));
        }
        let country = match &self.country {
            Some(code) => Some(
                s.country_index(code)
                    .ok_or_else(|| err(format!("unknown country code `{code}`")))?,
            ),
            None => None,
        };
        let (variable, flow) = match country {
            Some(_) => {
                let v = country_variable(&self.variable).unwrap_or(0);
                (v, COUNTRY[v].kind == Kind::Flow)
            }
            None => (world_variable(&self.variable).unwrap_or(0), false),
        };
        Ok(ResolvedOutcome {
            text: self.text.clone(),
            variable,
            country,
            rows: (from, to),
            flow,
            period: self.from.is_some(),
            stay: None,
        })
    }
}

impl ResolvedOutcome {
    /// A cohort outcome ([`StayOutcome`]) as a study's outcome.
    pub fn of_stay(stay: ResolvedStay) -> ResolvedOutcome {
        ResolvedOutcome {
            text: stay.text.clone(),
            variable: 0,
            country: None,
            rows: (0, 0),
            flow: false,
            period: false,
            stay: Some(stay),
        }
    }

    /// Whether the outcome is read from the cohort tables (the run needs the cohort observer).
    pub fn needs_cohorts(&self) -> bool {
        self.stay.is_some()
    }

    /// The outcome's value in a finished run: from its recorder, or for a cohort outcome from
    /// its cohort tables (NaN without them: a study turns the observer on when
    /// [`ResolvedOutcome::needs_cohorts`]).
    pub fn value_in(&self, rec: &Recorder, cohorts: Option<&crate::model::cohort::Cohorts>) -> f64 {
        match (&self.stay, cohorts) {
            (Some(s), Some(c)) => s.value(c),
            (Some(_), None) => f64::NAN,
            (None, _) => self.value(rec),
        }
    }

    /// The outcome's value in a finished run's recorder (NaN for a cohort outcome: see
    /// [`ResolvedOutcome::value_in`]).
    pub fn value(&self, rec: &Recorder) -> f64 {
        if self.stay.is_some() {
            return f64::NAN;
        }
        let at = |t: usize| match self.country {
            Some(k) => rec.country[self.variable][t * rec.c + k],
            None => rec.world[self.variable][t],
        };
        let (a, b) = self.rows;
        if !self.period {
            at(b)
        } else if self.flow {
            (a + 1..=b).map(at).sum()
        } else {
            (a..=b).map(at).sum::<f64>() / (b - a + 1) as f64
        }
    }
}

/// Parses and resolves a list of outcomes (cohort outcomes `stay.…` included), collecting every
/// problem.
pub fn resolve_all(
    texts: &[String],
    s: &Scenario,
) -> Result<Vec<ResolvedOutcome>, Vec<OutcomeError>> {
    let mut ok = Vec::new();
    let mut problems = Vec::new();
    for t in texts {
        match Outcome::parse_any(t).and_then(|o| o.resolve(s)) {
            Ok(r) => ok.push(r),
            Err(e) => problems.push(e),
        }
    }
    if problems.is_empty() {
        Ok(ok)
    } else {
        Err(problems)
    }
}

/// Which cohorts a [`StayOutcome`] pools.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CohortSelect {
    /// Every cohort observed at k years.
    All,
    /// The initial population.
    Initial,
    /// The entrants of one calendar year.
    Entrants(i64),
}

/// A stay-curve outcome, `stay.HOME>START[:COHORT]@Ky` (see the module documentation).
#[derive(Clone, Debug, PartialEq)]
pub struct StayOutcome {
    /// The text as written.
    pub text: String,
    home: String,
    start: String,
    cohort: CohortSelect,
    k: usize,
}

/// A [`StayOutcome`] tied to a scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedStay {
    /// The text as written.
    pub text: String,
    home: usize,
    start: usize,
    cohort: CohortSelect,
    /// Entry year as an index of the run's years, for [`CohortSelect::Entrants`].
    entry_year: usize,
    k: usize,
}

impl StayOutcome {
    /// Parses `stay.HOME>START[:initial|:YEAR]@Ky`; errors name the part that is wrong.
    pub fn parse(text: &str) -> Result<StayOutcome, OutcomeError> {
        let err = |reason: String| OutcomeError {
            text: text.to_string(),
            reason,
        };
        let form = "expected stay.HOME>START@Ky, e.g. stay.CHN>USA@5y";
        let rest = text
            .trim()
            .strip_prefix("stay.")
            .ok_or_else(|| err(format!("{form}: it must start with `stay.`")))?;
        let (what, when) = rest
            .split_once('@')
            .ok_or_else(|| err(format!("{form}: no `@` before the years")))?;
        let (pair, cohort) = match what.split_once(':') {
            Some((p, c)) => (p, Some(c.trim())),
            None => (what, None),
        };
        let (home, start) = pair
            .split_once('>')
            .ok_or_else(|| err(format!("{form}: `{pair}` is not HOME>START")))?;
        let (home, start) = (home.trim(), start.trim());
        for (part, code) in [("home", home), ("start", start)] {
            if code.is_empty() {
                return Err(err(format!("{form}: the {part} country is missing")));
            }
        }
        let cohort = match cohort {
            None => CohortSelect::All,
            Some("initial") => CohortSelect::Initial,
            Some(y) => CohortSelect::Entrants(y.parse().map_err(|_| {
                err(format!(
                    "cohort `{y}` is neither `initial` nor a calendar year of entry"
                ))
            })?),
        };
        let years = when.trim();
        let k = years
            .strip_suffix('y')
            .and_then(|n| n.trim().parse::<usize>().ok())
            .ok_or_else(|| {
                err(format!(
                    "`{years}` is not a whole number of years since entry (write e.g. `5y`)"
                ))
            })?;
        Ok(StayOutcome {
            text: text.to_string(),
            home: home.to_string(),
            start: start.to_string(),
            cohort,
            k,
        })
    }

    /// Ties the outcome to a scenario: country codes and the cohort's year must be the run's.
    pub fn resolve(&self, s: &Scenario) -> Result<ResolvedStay, OutcomeError> {
        let err = |reason: String| OutcomeError {
            text: self.text.clone(),
            reason,
        };
        let code = |c: &str, part: &str| {
            s.country_index(c)
                .ok_or_else(|| err(format!("unknown {part} country code `{c}`")))
        };
        let (home, start) = (code(&self.home, "home")?, code(&self.start, "start")?);
        let entry_year = match self.cohort {
            CohortSelect::Entrants(y) => {
                let e = y - s.world.start_year;
                if e < 0 || e >= s.world.years {
                    return Err(err(format!(
                        "entry year {y} is outside the run ({} to {})",
                        s.world.start_year,
                        s.world.start_year + s.world.years - 1
                    )));
                }
                e as usize
            }
            _ => 0,
        };
        if self.k as i64 > s.world.years {
            return Err(err(format!(
                "{} years since entry is longer than the run ({} years)",
                self.k, s.world.years
            )));
        }
        Ok(ResolvedStay {
            text: self.text.clone(),
            home,
            start,
            cohort: self.cohort,
            entry_year,
            k: self.k,
        })
    }
}

impl ResolvedStay {
    /// The pooled stay share in a run's cohort tables; NaN when no member of the selected
    /// cohorts was observed k years on (none started there, or the run ended too early).
    pub fn value(&self, cohorts: &crate::model::cohort::Cohorts) -> f64 {
        let (mut alive, mut stayed) = (0u64, 0u64);
        for r in cohorts.stay_rows() {
            let selected = match self.cohort {
                CohortSelect::All => true,
                CohortSelect::Initial => r.initial,
                CohortSelect::Entrants(_) => !r.initial && r.entry_year == self.entry_year,
            };
            if selected && r.k == self.k && r.home == self.home && r.start == self.start {
                alive += r.alive;
                stayed += r.stayed;
            }
        }
        if alive == 0 {
            f64::NAN
        } else {
            stayed as f64 / alive as f64
        }
    }
}
