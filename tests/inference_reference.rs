//! TOST, the paired t test and the Holm / Benjamini–Hochberg adjustments against statsmodels and
//! scipy on fixed inputs (tests/reference/statsmodels_tests.py wrote the reference file once; CI
//! needs neither library).

use talentflow::study::inference::{benjamini_hochberg, differences, holm, paired_t, tost};

const CASES: [(&[f64], &[f64], f64); 3] = [
    (
        &[0.61, 0.64, 0.59, 0.66, 0.62, 0.60, 0.65, 0.63],
        &[0.60, 0.62, 0.60, 0.64, 0.61, 0.61, 0.63, 0.62],
        0.02,
    ),
    (
        &[1.0, 2.5, 2.0, 3.5, 2.8, 1.9],
        &[0.9, 1.1, 1.4, 2.0, 1.7, 1.2],
        0.5,
    ),
    (
        &[
            0.001, -0.002, 0.0005, 0.0012, -0.0007, 0.0003, 0.0009, -0.0001, 0.0004, 0.0002,
        ],
        &[0.0; 10],
        0.001,
    ),
];
const PVALUES: [f64; 10] = [
    0.001, 0.0125, 0.04, 0.04, 0.2, 0.6, 0.013, 0.9, 0.03, 0.0002,
];

fn reference() -> Vec<Vec<f64>> {
    let text = include_str!("reference/statsmodels_tests.txt");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            l.split_whitespace()
                .filter_map(|w| w.parse::<f64>().ok())
                .collect()
        })
        .collect()
}

fn close(a: f64, b: f64) {
    assert!(
        (a - b).abs() <= 1e-9 * b.abs().max(1e-12),
        "talentflow {a} vs reference {b}"
    );
}

#[test]
fn tost_and_t_test_match_statsmodels() {
    let r = reference();
    for (i, (x1, x2, m)) in CASES.iter().enumerate() {
        // Line: case i tost P lower P upper P ttest P → numbers [i, P, P, P, P].
        let row = &r[i];
        let d = differences(x1, x2);
        let t = tost(&d, *m);
        close(t.p, row[1]);
        close(t.p_lower, row[2]);
        close(t.p_upper, row[3]);
        close(paired_t(&d).p, row[4]);
    }
}

#[test]
fn adjustments_match_statsmodels() {
    let r = reference();
    let (h, bh) = (&r[CASES.len()], &r[CASES.len() + 1]);
    for (a, b) in holm(&PVALUES).iter().zip(h) {
        close(*a, *b);
    }
    for (a, b) in benjamini_hochberg(&PVALUES).iter().zip(bh) {
        close(*a, *b);
    }
    assert_eq!(h.len(), PVALUES.len());
}
