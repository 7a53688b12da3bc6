//! The initial origin × location matrix (MODEL.md §5, Initialisation, **v2**) and its feasibility.
//!
//! `M[h, c]` is the share of all researchers born in h and working in c at t = 0. Its row sums are
//! the normalised `origin_share_h` (o_h), its column sums the normalised `location_share_c` (l_c)
//! and its diagonal is fixed, `M[h, h] = o_h · home_stay_h`. What is left is a transportation
//! problem on the off-diagonal cells: row h must place its emigrants `r_h = o_h (1 − home_stay_h)`,
//! column c must receive its foreign places `k_c = l_c − o_c · home_stay_c`, and Σ r = Σ k = K.
//!
//! # When the data admit a matrix
//!
//! 1. Every country holds its own stayers: `k_c ≥ 0`, i.e. `l_c ≥ o_c · home_stay_c`.
//! 2. A nonnegative matrix with zero diagonal and margins (r, k) exists if and only if, for every
//!    set S of origins, their emigrants fit into the columns they may use (Gale's supply–demand
//!    theorem). A set of two or more origins may use every column, and Σ_S r ≤ K always holds;
//!    a single origin h may use every column but its own, so the condition is
//!    `r_h ≤ K − k_h` for every h: **no country's emigrants outnumber the foreign places of all
//!    the other countries**. (A one-country world with `home_stay < 1` fails it: its emigrants
//!    have nowhere to go.)
//! 3. Iterative proportional fitting converges geometrically when a solution exists that is
//!    positive on every off-diagonal cell whose row and column are positive (the prior's support).
//!    With condition 2 strict for every h that is the case. When `r_h = K − k_h` exactly for some
//!    h, all other origins must send every emigrant to h and h must fill every other column: the
//!    matrix is forced (`M[h', h] = r_{h'}`, `M[h, c] = k_c`, every other off-diagonal cell 0), and
//!    IPF would only creep towards it. That matrix is then built directly. (In a two-country world
//!    with emigrants on both sides this is the general case, and the forced matrix is positive.)
//!
//! Comparisons use a relative tolerance of [`TOLERANCE`] so that figures that are equal in
//! decimal but not in binary (0.05 × 0.2 ≠ 0.01 in f64) are treated as equal.
//!
//! # The fit
//!
//! The prior is `M⁰[h, c] = l_c · (0.05 + openness_c)` off the diagonal (MODEL.md). It is a row
//! vector repeated, so every matrix IPF visits has the form `a_h · w_c · b_c` for h ≠ c; each
//! half-step is O(C) with sums over "all but one" taken from prefix and suffix sums (no
//! cancellation). One consequence, stated in docs/ODD.md: biproportional fitting is invariant to
//! row and column scaling of its prior, so this prior yields the same matrix as a flat one —
//! the margins, not the prior, decide where emigrants work.
//!
//! # Agents per cell
//!
//! [`cell_counts`] rounds `agents · M` by largest remainder (ties to the lower cell index), so
//! every cell is within one agent of its quota and the total is exact, with no sampling noise.

use super::Scenario;

/// Relative tolerance of the feasibility comparisons and of the fit (every row and column sum
/// within this fraction of its target).
pub const TOLERANCE: f64 = 1e-12;
/// Most IPF iterations before giving up (each is O(C)).
pub const MAX_ITERATIONS: usize = 200_000;

/// The initial origin × location shares.
#[derive(Clone, Debug, PartialEq)]
pub struct InitialMatrix {
    /// Number of countries.
    pub c: usize,
    /// `M[h · C + c]`: share of all researchers born in h working in c (sums to 1).
    pub shares: Vec<f64>,
    /// IPF iterations used (0 when the matrix is diagonal or forced).
    pub iterations: usize,
}

impl InitialMatrix {
    /// `M[h, c]`.
    pub fn get(&self, h: usize, c: usize) -> f64 {
        self.shares[h * self.c + c]
    }

    /// Row sums (origin shares).
    pub fn origin(&self) -> Vec<f64> {
        (0..self.c)
            .map(|h| self.shares[h * self.c..(h + 1) * self.c].iter().sum())
            .collect()
    }

    /// Column sums (location shares).
    pub fn location(&self) -> Vec<f64> {
        (0..self.c)
            .map(|c| (0..self.c).map(|h| self.shares[h * self.c + c]).sum())
            .collect()
    }
}

/// Why the scenario's shares admit no initial matrix.
#[derive(Clone, Debug, PartialEq)]
pub enum InitialError {
    /// A country's location share is below its own stayers.
    Stayers {
        /// Index of the country.
        index: usize,
        /// Its code.
        code: String,
        /// The three figures as written.
        location_share: f64,
        /// As written.
        origin_share: f64,
        /// As written.
        home_stay: f64,
        /// Normalised location share.
        location: f64,
        /// Normalised stayers, o · home_stay.
        stayers: f64,
    },
    /// A country's emigrants outnumber the foreign places of all other countries.
    Emigrants {
        /// Index of the country.
        index: usize,
        /// Its code.
        code: String,
        /// Its emigrants, share of all researchers.
        emigrants: f64,
        /// Foreign places in all other countries, share of all researchers.
        places: f64,
    },
    /// IPF did not reach the tolerance (data at the edge of feasibility).
    NotConverged {
        /// Iterations done.
        iterations: usize,
        /// Largest relative error of a row or column sum.
        error: f64,
    },
}

impl InitialError {
    /// The scenario key the problem belongs to.
    pub fn key(&self) -> String {
        match self {
            InitialError::Stayers { index, .. } => format!("country[{index}].location_share"),
            InitialError::Emigrants { index, .. } => format!("country[{index}].home_stay"),
            InitialError::NotConverged { .. } => "country".into(),
        }
    }

    /// What is wrong, with the values.
    pub fn message(&self) -> String {
        let n = super::check::num;
        match self {
            InitialError::Stayers {
                code,
                location_share,
                origin_share,
                home_stay,
                location,
                stayers,
                ..
            } => format!(
                "{code} cannot hold its own stayers: location_share {} is below origin_share {} × \
                 home_stay {} (normalised over countries: {} < {}); raise location_share or lower \
                 home_stay or origin_share",
                n(*location_share),
                n(*origin_share),
                n(*home_stay),
                sig(*location),
                sig(*stayers)
            ),
            InitialError::Emigrants {
                code,
                emigrants,
                places,
                ..
            } => format!(
                "{code}'s emigrants (origin_share × (1 − home_stay) = {} of all researchers) \
                 outnumber the foreign places in all other countries ({} = Σ location_share − \
                 origin_share × home_stay over the others): no origin × location matrix fits these \
                 shares; raise {code}'s home_stay or other countries' location_share",
                sig(*emigrants),
                sig(*places)
            ),
            InitialError::NotConverged { iterations, error } => format!(
                "the initial origin × location matrix did not converge ({iterations} iterations, \
                 largest relative error {error:e}): some country's emigrants almost exactly fill \
                 every other country's foreign places; move the shares away from that limit"
            ),
        }
    }
}

/// Four significant digits.
fn sig(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let digits = (3 - libm::floor(libm::log10(x.abs())) as i32).max(0) as usize;
    if digits > 12 {
        format!("{x:.3e}")
    } else {
        format!("{x:.digits$}")
    }
}

/// `Σ_{j ≠ i} x_j` for every i, from prefix and suffix sums (no cancellation).
fn all_but_one(x: &[f64], out: &mut [f64]) {
    let n = x.len();
    let mut acc = 0.0;
    for i in 0..n {
        out[i] = acc;
        acc += x[i];
    }
    let mut acc = 0.0;
    for i in (0..n).rev() {
        out[i] += acc;
        acc += x[i];
    }
}

/// Computes the initial matrix of a scenario whose shares passed the range checks (finite,
/// nonnegative, each list with a positive sum); every problem is returned, not just the first.
pub fn initial_matrix(s: &Scenario) -> Result<InitialMatrix, Vec<InitialError>> {
    let c = s.countries.len();
    let total_o: f64 = s.countries.iter().map(|k| k.origin_share).sum();
    let total_l: f64 = s.countries.iter().map(|k| k.location_share).sum();
    let o: Vec<f64> = s
        .countries
        .iter()
        .map(|k| k.origin_share / total_o)
        .collect();
    let l: Vec<f64> = s
        .countries
        .iter()
        .map(|k| k.location_share / total_l)
        .collect();
    let stay: Vec<f64> = (0..c).map(|h| o[h] * s.countries[h].home_stay).collect();
    let mut problems = Vec::new();
    let mut r = vec![0.0; c];
    let mut k = vec![0.0; c];
    for h in 0..c {
        let emigrants = o[h] - stay[h];
        r[h] = if emigrants <= TOLERANCE * o[h] {
            0.0
        } else {
            emigrants
        };
        let places = l[h] - stay[h];
        let scale = l[h].max(stay[h]);
        if places < -TOLERANCE * scale {
            let x = &s.countries[h];
            problems.push(InitialError::Stayers {
                index: h,
                code: x.code.clone(),
                location_share: x.location_share,
                origin_share: x.origin_share,
                home_stay: x.home_stay,
                location: l[h],
                stayers: stay[h],
            });
        }
        k[h] = if places <= TOLERANCE * scale {
            0.0
        } else {
            places
        };
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let total_r: f64 = r.iter().sum();
    let total_k: f64 = k.iter().sum();
    let mut m = vec![0.0; c * c];
    for h in 0..c {
        m[h * c + h] = stay[h];
    }
    // Both totals are 1 − Σ stayers; they differ by rounding only, or both vanish.
    if total_r <= TOLERANCE || total_k <= TOLERANCE {
        if total_r > TOLERANCE || total_k > TOLERANCE {
            // Emigrants with no places (or places with no emigrants): only possible beyond the
            // tolerance when a country's location share is its stayers and others have emigrants.
            let h = (0..c).max_by(|&a, &b| r[a].total_cmp(&r[b])).unwrap_or(0);
            return Err(vec![InitialError::Emigrants {
                index: h,
                code: s.countries[h].code.clone(),
                emigrants: r[h],
                places: total_k - k[h],
            }]);
        }
        return Ok(InitialMatrix {
            c,
            shares: m,
            iterations: 0,
        });
    }
    for x in &mut k {
        *x *= total_r / total_k;
    }
    let big_k = total_r;
    let mut forced = None;
    for h in 0..c {
        if r[h] == 0.0 {
            continue;
        }
        let places = big_k - k[h];
        if r[h] > places * (1.0 + TOLERANCE) + TOLERANCE * big_k {
            problems.push(InitialError::Emigrants {
                index: h,
                code: s.countries[h].code.clone(),
                emigrants: r[h],
                places,
            });
        } else if r[h] >= places - TOLERANCE * big_k && forced.is_none() {
            forced = Some(h);
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    if let Some(h) = forced {
        // The forced matrix: every other origin sends all its emigrants to h, h fills the rest.
        for g in 0..c {
            if g != h {
                m[g * c + h] = r[g];
                m[h * c + g] = k[g];
            }
        }
        return Ok(InitialMatrix {
            c,
            shares: m,
            iterations: 0,
        });
    }
    let prior: Vec<f64> = s
        .countries
        .iter()
        .zip(&l)
        .map(|(x, &lc)| lc * (0.05 + x.openness))
        .collect();
    let (a, wb, iterations) = ipf(&r, &k, &prior)?;
    for h in 0..c {
        for d in 0..c {
            if d != h {
                m[h * c + d] = a[h] * wb[d];
            }
        }
    }
    Ok(InitialMatrix {
        c,
        shares: m,
        iterations,
    })
}

/// IPF on the off-diagonal cells with prior `w_c` (a row vector repeated): returns the row
/// factors a and the column weights `w_c · b_c` such that `a_h · (w b)_c`, h ≠ c, has row sums r
/// and column sums k, and the iterations used.
fn ipf(r: &[f64], k: &[f64], w: &[f64]) -> Result<(Vec<f64>, Vec<f64>, usize), Vec<InitialError>> {
    let c = r.len();
    // Cells of empty rows or columns are zero and stay zero: their factors are 0.
    let mut a: Vec<f64> = r.iter().map(|&x| if x > 0.0 { 1.0 } else { 0.0 }).collect();
    let mut wb: Vec<f64> = (0..c)
        .map(|d| if k[d] > 0.0 { w[d] } else { 0.0 })
        .collect();
    // A zero prior weight (location share 0 with places > 0 cannot happen: places ≤ l) is safe.
    let mut others = vec![0.0; c];
    let mut error = f64::INFINITY;
    for iteration in 1..=MAX_ITERATIONS {
        // Rows: a_h = r_h / Σ_{d ≠ h} (w b)_d.
        all_but_one(&wb, &mut others);
        for h in 0..c {
            if r[h] > 0.0 {
                a[h] = r[h] / others[h];
            }
        }
        // Columns: (w b)_d = k_d / Σ_{h ≠ d} a_h; afterwards the columns are exact.
        all_but_one(&a, &mut others);
        for d in 0..c {
            if k[d] > 0.0 {
                wb[d] = k[d] / others[d];
            }
        }
        // Row sums now.
        all_but_one(&wb, &mut others);
        error = (0..c)
            .filter(|&h| r[h] > 0.0)
            .map(|h| (a[h] * others[h] - r[h]).abs() / r[h])
            .fold(0.0, f64::max);
        if error <= TOLERANCE {
            return Ok((a, wb, iteration));
        }
        if !error.is_finite() {
            break;
        }
    }
    Err(vec![InitialError::NotConverged {
        iterations: MAX_ITERATIONS,
        error,
    }])
}

/// Agents per cell: `agents · M` rounded by largest remainder, ties to the lower cell index.
/// Every cell is within one agent of its quota and the counts sum to `agents`.
pub fn cell_counts(m: &InitialMatrix, agents: u64) -> Vec<u64> {
    let total: f64 = m.shares.iter().sum();
    let quota: Vec<f64> = m
        .shares
        .iter()
        .map(|&x| agents as f64 * x / total)
        .collect();
    let mut counts: Vec<u64> = quota.iter().map(|&q| libm::floor(q) as u64).collect();
    let assigned: u64 = counts.iter().sum();
    if assigned < agents {
        let mut order: Vec<usize> = (0..quota.len()).collect();
        let frac = |i: usize| quota[i] - libm::floor(quota[i]);
        // Largest fraction first; equal fractions in cell order.
        order.sort_by(|&i, &j| frac(j).total_cmp(&frac(i)).then(i.cmp(&j)));
        for &i in order.iter().take((agents - assigned) as usize) {
            counts[i] += 1;
        }
    } else {
        // Rounding of the quotas can only overshoot by a fraction of an agent; take any excess
        // from the cells with the smallest fractions (never reached in practice).
        let mut excess = assigned - agents;
        let mut order: Vec<usize> = (0..quota.len()).filter(|&i| counts[i] > 0).collect();
        order.sort_by(|&i, &j| {
            let (fi, fj) = (quota[i] - counts[i] as f64, quota[j] - counts[j] as f64);
            fi.total_cmp(&fj).then(j.cmp(&i))
        });
        for &i in &order {
            if excess == 0 {
                break;
            }
            counts[i] -= 1;
            excess -= 1;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Country, Scenario};

    fn world(rows: &[(f64, f64, f64, f64)]) -> Scenario {
        let countries = rows
            .iter()
            .enumerate()
            .map(|(i, &(origin, location, stay, open))| Country {
                code: format!("C{i}"),
                name: String::new(),
                lat: 0.0,
                lon: 0.0,
                wage_k: 100.0,
                vc_bn: 1.0,
                compute_gw: 0.0,
                private_dc_bn: 0.0,
                grid_headroom_gw: 0.0,
                grid_growth_gw: 0.0,
                ecosystem: 0.5,
                amenity: 0.5,
                openness: open,
                origin_share: origin,
                location_share: location,
                home_stay: stay,
                startups: 0.0,
                attraction: 0.0,
            })
            .collect();
        Scenario {
            countries,
            ..Scenario::default()
        }
    }

    fn assert_margins(s: &Scenario, m: &InitialMatrix, tol: f64) {
        let to: f64 = s.countries.iter().map(|k| k.origin_share).sum();
        let tl: f64 = s.countries.iter().map(|k| k.location_share).sum();
        for (h, (row, col)) in m.origin().iter().zip(m.location()).enumerate() {
            let k = &s.countries[h];
            assert!((row - k.origin_share / to).abs() <= tol, "row {h}: {row}");
            assert!(
                (col - k.location_share / tl).abs() <= tol,
                "column {h}: {col}"
            );
            let diag = k.origin_share / to * k.home_stay;
            assert!((m.get(h, h) - diag).abs() <= 1e-15, "diagonal {h}");
        }
        assert!(m.shares.iter().all(|&x| x >= 0.0));
    }

    #[test]
    fn ipf_reproduces_the_margins_and_diagonal() {
        let s = world(&[
            (0.3, 0.5, 0.9, 0.6),
            (0.4, 0.35, 0.75, 0.7),
            (0.3, 0.15, 0.45, 0.4),
            (0.1, 0.2, 0.1, 0.9),
        ]);
        let m = initial_matrix(&s).unwrap();
        assert!(m.iterations > 0);
        assert_margins(&s, &m, 1e-12);
        // Every off-diagonal cell with a positive row and column is positive.
        for h in 0..4 {
            for c in 0..4 {
                if h != c {
                    assert!(m.get(h, c) > 0.0);
                }
            }
        }
    }

    #[test]
    fn the_openness_prior_does_not_change_the_fit() {
        // Biproportional fitting is invariant to column scaling of the prior: the fitted matrix
        // is the same whatever the destinations' openness.
        let a = world(&[
            (0.3, 0.5, 0.9, 0.1),
            (0.4, 0.35, 0.75, 0.9),
            (0.3, 0.15, 0.45, 0.5),
        ]);
        let b = world(&[
            (0.3, 0.5, 0.9, 0.9),
            (0.4, 0.35, 0.75, 0.0),
            (0.3, 0.15, 0.45, 1.0),
        ]);
        let (ma, mb) = (initial_matrix(&a).unwrap(), initial_matrix(&b).unwrap());
        for (x, y) in ma.shares.iter().zip(&mb.shares) {
            assert!((x - y).abs() < 1e-13, "{x} vs {y}");
        }
    }

    #[test]
    fn a_hand_computed_three_country_matrix() {
        // o = (1/2, 1/4, 1/4), home_stay = (1/2, 0, 0), l = (1/2, 1/4, 1/4): r = (1/4, 1/4, 1/4),
        // k = (1/4, 1/4, 1/4). By symmetry of rows 1, 2 and the margins, the solution with zero
        // diagonal and margins 1/4 everywhere is the uniform 1/8 off the diagonal.
        let s = world(&[
            (0.5, 0.5, 0.5, 0.3),
            (0.25, 0.25, 0.0, 0.3),
            (0.25, 0.25, 0.0, 0.3),
        ]);
        let m = initial_matrix(&s).unwrap();
        for h in 0..3 {
            for c in 0..3 {
                let expected = if h == c { [0.25, 0.0, 0.0][h] } else { 0.125 };
                assert!((m.get(h, c) - expected).abs() < 1e-11, "({h}, {c}): {m:?}");
            }
        }
    }

    #[test]
    fn stayers_beyond_the_location_share_are_refused() {
        // NEW: 0.3 × 0.6 = 0.18 > 0.15.
        let s = world(&[
            (0.3, 0.5, 0.9, 0.6),
            (0.4, 0.35, 0.75, 0.7),
            (0.3, 0.15, 0.6, 0.4),
        ]);
        let e = initial_matrix(&s).unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].key(), "country[2].location_share");
        let msg = e[0].message();
        assert!(msg.contains("C2 cannot hold its own stayers"), "{msg}");
        assert!(msg.contains("location_share 0.15") && msg.contains("0.3 × home_stay 0.6"));
        // Exactly at the limit (0.3 × 0.5 = 0.15, not exact in binary) is accepted.
        let s = world(&[
            (0.3, 0.5, 0.9, 0.6),
            (0.4, 0.35, 0.75, 0.7),
            (0.3, 0.15, 0.5, 0.4),
        ]);
        let m = initial_matrix(&s).unwrap();
        assert_margins(&s, &m, 1e-12);
        assert!(
            (0..3).all(|h| h == 2 || m.get(h, 2) == 0.0),
            "no foreign places in C2"
        );
    }

    #[test]
    fn emigrants_beyond_all_foreign_places_are_refused() {
        // C0: r = 0.5·0.2 = 0.1... use C0 with many emigrants: o0 = 0.6, hs 0 → r0 = 0.6;
        // others: o = 0.2, hs = 1 → r = 0; l = (0.2, 0.4, 0.4): k = (0.2, 0.2, 0.2), K = 0.6.
        // Places for C0 = K − k0 = 0.4 < 0.6.
        let s = world(&[
            (0.6, 0.2, 0.0, 0.5),
            (0.2, 0.4, 1.0, 0.5),
            (0.2, 0.4, 1.0, 0.5),
        ]);
        let e = initial_matrix(&s).unwrap_err();
        assert_eq!(e[0].key(), "country[0].home_stay");
        assert!(
            e[0].message().contains("C0's emigrants"),
            "{}",
            e[0].message()
        );
        assert!(e[0].message().contains("outnumber the foreign places"));
        // A one-country world with emigrants.
        let e = initial_matrix(&world(&[(1.0, 1.0, 0.8, 0.5)])).unwrap_err();
        assert!(
            e[0].message().contains("outnumber the foreign places"),
            "{:?}",
            e
        );
        // ... and without.
        let m = initial_matrix(&world(&[(1.0, 1.0, 1.0, 0.5)])).unwrap();
        assert_eq!(m.shares, vec![1.0]);
    }

    #[test]
    fn the_limit_case_gives_the_forced_matrix() {
        // C0: o 0.5, hs 0 → r0 = 0.5; C1, C2: o 0.25, hs 0 → r = 0.25 each; l = (0.5, 0.25,
        // 0.25): k = (0.5, 0.25, 0.25), K = 1. r0 + k0 = 1 = K: C1 and C2 send everyone to C0,
        // C0 fills C1 and C2; the cells (1, 2) and (2, 1) are forced to zero.
        let s = world(&[
            (0.5, 0.5, 0.0, 0.5),
            (0.25, 0.25, 0.0, 0.5),
            (0.25, 0.25, 0.0, 0.5),
        ]);
        let m = initial_matrix(&s).unwrap();
        assert_eq!(m.iterations, 0);
        assert_margins(&s, &m, 1e-15);
        assert_eq!(m.get(1, 2), 0.0);
        assert_eq!(m.get(2, 1), 0.0);
        assert_eq!(m.get(1, 0), 0.25);
        // Just inside the limit, IPF converges (to a matrix with small (1, 2), (2, 1) cells).
        let s = world(&[
            (0.5, 0.499, 0.0, 0.5),
            (0.25, 0.2505, 0.0, 0.5),
            (0.25, 0.2505, 0.0, 0.5),
        ]);
        let m = initial_matrix(&s).unwrap();
        assert!(m.iterations > 0);
        assert_margins(&s, &m, 1e-12);
        assert!(m.get(1, 2) > 0.0 && m.get(1, 2) < 1e-3);
        // Just beyond it, refused: C0 would need more foreign researchers than C1 and C2 have.
        let s = world(&[
            (0.5, 0.501, 0.0, 0.5),
            (0.25, 0.2495, 0.0, 0.5),
            (0.25, 0.2495, 0.0, 0.5),
        ]);
        let e = initial_matrix(&s).unwrap_err();
        assert!(e[0].message().contains("C0's emigrants"), "{:?}", e);
        // Two countries exchanging emigrants: the general two-country case is the forced one.
        let s = world(&[(0.5, 0.5, 0.8, 0.5), (0.5, 0.5, 0.8, 0.5)]);
        let m = initial_matrix(&s).unwrap();
        assert_margins(&s, &m, 1e-15);
        assert!((m.get(0, 1) - 0.1).abs() < 1e-15 && (m.get(1, 0) - 0.1).abs() < 1e-15);
    }

    #[test]
    fn largest_remainder_counts() {
        let m = InitialMatrix {
            c: 2,
            shares: vec![0.25, 0.25, 0.25, 0.25],
            iterations: 0,
        };
        // 10 agents: quotas 2.5 each; the two remaining agents go to the lower cells.
        assert_eq!(cell_counts(&m, 10), vec![3, 3, 2, 2]);
        let m = InitialMatrix {
            c: 2,
            shares: vec![0.1, 0.2, 0.3, 0.4],
            iterations: 0,
        };
        // 7 agents: quotas 0.7, 1.4, 2.1, 2.8 → floors 0, 1, 2, 2 (5), then fractions .8, .7.
        assert_eq!(cell_counts(&m, 7), vec![1, 1, 2, 3]);
        for agents in [1u64, 3, 17, 1000, 123_457] {
            let counts = cell_counts(&m, agents);
            assert_eq!(counts.iter().sum::<u64>(), agents);
            for (n, x) in counts.iter().zip(&m.shares) {
                assert!((*n as f64 - agents as f64 * x).abs() < 1.0);
            }
        }
    }
}
