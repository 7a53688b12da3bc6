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

#[test]
fn end_of_run_shares_converge_in_agents() {
    let replicates = 12;
    let coarse: Vec<Vec<f64>> = (0..replicates)
        .map(|r| end_shares(2_000, 1000 + r))
        .collect();
    let fine: Vec<Vec<f64>> = (0..replicates)
        .map(|r| end_shares(20_000, 2000 + r))
        .collect();
    for k in 0..3 {
        let (m1, se1) = mean_and_se(&coarse.iter().map(|v| v[k]).collect::<Vec<_>>());
        let (m2, se2) = mean_and_se(&fine.iter().map(|v| v[k]).collect::<Vec<_>>());
        let z = (m1 - m2).abs() / (se1 * se1 + se2 * se2).sqrt();
        // Bonferroni over 3 countries at a 1% family-wise level: |z| < 2.94.
        assert!(z < 2.94, "country {k}: mean share {m1:.4} ± {se1:.4} (2k) vs {m2:.4} ± {se2:.4} (20k), z = {z:.2}");
        // And the replicate spread shrinks with resolution, as sampling noise should.
        assert!(
            se2 < se1,
            "country {k}: se {se2} at 20k not below {se1} at 2k"
        );
    }
}
