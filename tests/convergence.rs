//! `agents` is a resolution, not a parameter: end-of-run researcher shares on toy3 agree, within
//! sampling error, between 2 000 and 20 000 agents.

#![allow(clippy::needless_range_loop)] // index loops mirror the equations

mod common;

fn end_shares(agents: u32, seed: u64) -> Vec<f64> {
    let s = common::toy3(&[&format!("world.agents={agents}")]);
    let c = s.num_countries();
    let rec = common::run(s, seed);
    (0..c)
        .map(|k| rec.get("researcher_share", rec.ticks(), k).unwrap())
        .collect()
}

fn mean_and_se(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

/// Two-sample z statistic of the mean of `a` against the mean of `b`.
fn z(a: &[f64], b: &[f64]) -> f64 {
    let ((m1, se1), (m2, se2)) = (mean_and_se(a), mean_and_se(b));
    (m1 - m2).abs() / (se1 * se1 + se2 * se2).sqrt()
}

// Sizing (power calculation). Replicate sd of the end-of-run researcher share on toy3, measured
// over 300 seeds (10000..10299) at 2 000 agents and 150 seeds (20000..20149) at 20 000:
//
//   country   mean share   sd at 2 000 agents   sd at 20 000 agents
//   HUB       0.483        0.0119               0.0039
//   MID       0.353        0.0095               0.0031
//   NEW       0.164        0.0083               0.0027
//
// A 5 % bias in a mean share is δ = 0.05 × share; NEW is the hardest: δ = 0.0082 against
// σ1² + σ2² = 0.0083² + 0.0027² = 7.6e-5. With n replicates per resolution the difference of
// means has se = √(7.6e-5 / n). The test rejects at |z| > 2.94 (two-sided, 1 % family-wise over
// the three countries, Bonferroni: a deterministic test should not fail by chance when a change
// reshuffles the random streams), stricter than α = 0.05 (|z| > 2.39 with Bonferroni). Power
// ≥ 0.8 needs δ / se ≥ 2.94 + 0.84 (the z of 0.8) = 3.78, i.e. n ≥ 3.78² × 7.6e-5 / 0.0082² =
// 16.2; HUB and MID need 4 and 5. n = 30 gives δ / se = 5.1 for NEW: power 0.99 at the 1 %
// level (Φ(5.1 − 2.94)), > 0.99 at 5 %, and still δ / se ≥ 4.2 when a 30-seed sample happens
// to have the largest sd seen in batches of 30 (0.0102). The old 12 replicates gave δ / se =
// 3.25, power 0.62 at the test's 1 % level. The 60 runs take about 1.5 s in a debug build.
const REPLICATES: u64 = 30;
/// |z| above which the means differ: two-sided 1 % family-wise over three countries.
const Z_CRIT: f64 = 2.94;

#[test]
fn end_of_run_shares_converge_in_agents() {
    let coarse: Vec<Vec<f64>> = (0..REPLICATES)
        .map(|r| end_shares(2_000, 1000 + r))
        .collect();
    let fine: Vec<Vec<f64>> = (0..REPLICATES)
        .map(|r| end_shares(20_000, 2000 + r))
        .collect();
    for k in 0..3 {
        let c: Vec<f64> = coarse.iter().map(|v| v[k]).collect();
        let f: Vec<f64> = fine.iter().map(|v| v[k]).collect();
        let ((m1, se1), (m2, se2)) = (mean_and_se(&c), mean_and_se(&f));
        let z0 = z(&c, &f);
        assert!(z0 < Z_CRIT, "country {k}: mean share {m1:.4} ± {se1:.4} (2k) vs {m2:.4} ± {se2:.4} (20k), z = {z0:.2}");
        // The ensembles are large enough to see a 5 % bias: power ≥ 0.8 by this run's own
        // standard errors (δ / se ≥ Z_CRIT + 0.84, as sized above), and with the coarse shares
        // of this country scaled by 1.05 (or 0.95) the same test rejects.
        let power_z = 0.05 * m2 / (se1 * se1 + se2 * se2).sqrt();
        assert!(
            power_z >= Z_CRIT + 0.84,
            "country {k}: δ / se = {power_z:.2}, too few replicates to detect a 5 % bias"
        );
        for bias in [1.05, 0.95] {
            let biased: Vec<f64> = c.iter().map(|x| x * bias).collect();
            let zb = z(&biased, &f);
            assert!(
                zb > Z_CRIT,
                "country {k}: a bias ×{bias} would go unnoticed (z = {zb:.2})"
            );
        }
        // And the replicate spread shrinks with resolution, as sampling noise should.
        assert!(
            se2 < se1,
            "country {k}: se {se2} at 20k not below {se1} at 2k"
        );
    }
}
