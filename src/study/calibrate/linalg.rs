//! Small dense linear algebra for calibration (k × k with k the number of parameters): a
//! symmetric eigen-decomposition (cyclic Jacobi, fixed sweep order, so the result is a pure
//! function of the input), inverses through it, and the χ² upper tail.

/// Eigenvalues (ascending) and eigenvectors (columns of `vectors`, row-major k × k) of the
/// symmetric matrix `a` (row-major k × k).
pub fn symmetric_eigen(a: &[f64], k: usize) -> (Vec<f64>, Vec<f64>) {
    let mut m = a.to_vec();
    let mut v = vec![0.0; k * k];
    for i in 0..k {
        v[i * k + i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..k)
            .flat_map(|i| (0..k).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| m[i * k + j] * m[i * k + j])
            .sum();
        let scale: f64 = (0..k).map(|i| m[i * k + i] * m[i * k + i]).sum();
        if off <= 1e-30 * scale.max(1e-300) {
            break;
        }
        for p in 0..k {
            for q in p + 1..k {
                let apq = m[p * k + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (m[q * k + q] - m[p * k + p]) / (2.0 * apq);
                let t = theta.signum().max(0.0) * 2.0 - 1.0;
                let t = t / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for r in 0..k {
                    let (mrp, mrq) = (m[r * k + p], m[r * k + q]);
                    m[r * k + p] = c * mrp - s * mrq;
                    m[r * k + q] = s * mrp + c * mrq;
                }
                for r in 0..k {
                    let (mpr, mqr) = (m[p * k + r], m[q * k + r]);
                    m[p * k + r] = c * mpr - s * mqr;
                    m[q * k + r] = s * mpr + c * mqr;
                }
                for r in 0..k {
                    let (vrp, vrq) = (v[r * k + p], v[r * k + q]);
                    v[r * k + p] = c * vrp - s * vrq;
                    v[r * k + q] = s * vrp + c * vrq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| m[a * k + a].total_cmp(&m[b * k + b]));
    let values = order.iter().map(|&i| m[i * k + i]).collect();
    let mut vectors = vec![0.0; k * k];
    for (new, &old) in order.iter().enumerate() {
        for r in 0..k {
            vectors[r * k + new] = v[r * k + old];
        }
    }
    (values, vectors)
}

/// Inverse of a symmetric positive definite matrix through its eigen-decomposition; `None`
/// when an eigenvalue is not above `rel_tol` × the largest.
pub fn spd_inverse(a: &[f64], k: usize, rel_tol: f64) -> Option<Vec<f64>> {
    let (values, vectors) = symmetric_eigen(a, k);
    let largest = values.last().copied().unwrap_or(0.0);
    if k == 0 || largest <= 0.0 || values.iter().any(|&l| l <= rel_tol * largest) {
        return None;
    }
    let mut inv = vec![0.0; k * k];
    for i in 0..k {
        for j in 0..k {
            inv[i * k + j] = (0..k)
                .map(|e| vectors[i * k + e] * vectors[j * k + e] / values[e])
                .sum();
        }
    }
    Some(inv)
}

/// Symmetric square root `S` (S·S = A) of a symmetric positive semi-definite matrix through its
/// eigen-decomposition (negative rounding-level eigenvalues count as 0): `θ̂ + S z` with z
/// standard normal has covariance A, and unlike a Cholesky factor it exists for singular A.
pub fn psd_sqrt(a: &[f64], k: usize) -> Vec<f64> {
    let (values, vectors) = symmetric_eigen(a, k);
    let mut root = vec![0.0; k * k];
    for i in 0..k {
        for j in 0..k {
            root[i * k + j] = (0..k)
                .map(|e| vectors[i * k + e] * vectors[j * k + e] * values[e].max(0.0).sqrt())
                .sum();
        }
    }
    root
}

/// P(χ²_df > x): the regularised upper incomplete gamma Q(df/2, x/2) (series below a + 1,
/// continued fraction above, as in Numerical Recipes §6.2).
pub fn chi2_sf(x: f64, df: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return 1.0;
    }
    let (a, x) = (df / 2.0, x / 2.0);
    let ln_front = a * libm::log(x) - x - libm::lgamma(a);
    if x < a + 1.0 {
        let (mut term, mut sum, mut n) = (1.0 / a, 1.0 / a, a);
        for _ in 0..1000 {
            n += 1.0;
            term *= x / n;
            sum += term;
            if term.abs() < sum.abs() * 1e-16 {
                break;
            }
        }
        (1.0 - sum * libm::exp(ln_front)).clamp(0.0, 1.0)
    } else {
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..1000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() < 1e-16 {
                break;
            }
        }
        (libm::exp(ln_front) * h).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psd_sqrt_squares_back_to_the_matrix_even_when_singular() {
        // A full-rank 2×2 and a rank-1 3×3 (v vᵀ with v = (1, 2, −1)).
        let cases: [(Vec<f64>, usize); 2] = [
            (vec![4.0, 1.2, 1.2, 1.0], 2),
            (vec![1.0, 2.0, -1.0, 2.0, 4.0, -2.0, -1.0, -2.0, 1.0], 3),
        ];
        for (a, k) in cases {
            let s = psd_sqrt(&a, k);
            for i in 0..k {
                for j in 0..k {
                    let ss: f64 = (0..k).map(|e| s[i * k + e] * s[e * k + j]).sum();
                    assert!(
                        (ss - a[i * k + j]).abs() < 1e-9,
                        "({i},{j}): {ss} vs {}",
                        a[i * k + j]
                    );
                    assert!((s[i * k + j] - s[j * k + i]).abs() < 1e-12, "symmetric");
                }
            }
        }
    }

    #[test]
    fn eigen_decomposition_reconstructs_the_matrix() {
        let a = [4.0, 1.0, 0.5, 1.0, 3.0, 0.2, 0.5, 0.2, 1.0];
        let (l, v) = symmetric_eigen(&a, 3);
        assert!(l[0] <= l[1] && l[1] <= l[2]);
        for i in 0..3 {
            for j in 0..3 {
                let back: f64 = (0..3).map(|e| v[i * 3 + e] * l[e] * v[j * 3 + e]).sum();
                assert!((back - a[i * 3 + j]).abs() < 1e-12);
            }
        }
        let inv = spd_inverse(&a, 3, 1e-12).unwrap();
        for i in 0..3 {
            for j in 0..3 {
                let p: f64 = (0..3).map(|e| a[i * 3 + e] * inv[e * 3 + j]).sum();
                assert!((p - f64::from(u8::from(i == j))).abs() < 1e-12);
            }
        }
        assert!(spd_inverse(&[1.0, 2.0, 2.0, 4.0], 2, 1e-12).is_none());
    }

    #[test]
    fn chi_square_tail_matches_tabulated_values() {
        // scipy.stats.chi2.sf: (3.841458820694124, 1) → 0.05; (9.487729036781154, 4) → 0.05;
        // (2.0, 2) → exp(-1); (0.5, 3) → 0.9188914.
        assert!((chi2_sf(3.841458820694124, 1.0) - 0.05).abs() < 1e-10);
        assert!((chi2_sf(9.487729036781154, 4.0) - 0.05).abs() < 1e-10);
        assert!((chi2_sf(2.0, 2.0) - libm::exp(-1.0)).abs() < 1e-12);
        assert!((chi2_sf(0.5, 3.0) - 0.918_891_411_654_676).abs() < 1e-9);
        assert_eq!(chi2_sf(0.0, 2.0), 1.0);
    }
}
