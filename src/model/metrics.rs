//! Concentration metrics of a distribution over countries (MODEL.md §7).
//! Each returns a finite number for any non-negative input, including all zeros.

/// Shares of a total (all zero when the total is zero).
pub fn shares(x: &[f64]) -> Vec<f64> {
    let total: f64 = x.iter().sum();
    if total > 0.0 {
        x.iter().map(|v| v / total).collect()
    } else {
        vec![0.0; x.len()]
    }
}

/// Herfindahl–Hirschman index Σ sᵢ² of the shares of `x` (0 when `x` is all zero).
pub fn hhi(x: &[f64]) -> f64 {
    shares(x).iter().map(|s| s * s).sum()
}

/// Effective number of hubs 1 / HHI (0 when `x` is all zero).
pub fn effective_number(x: &[f64]) -> f64 {
    let h = hhi(x);
    if h > 0.0 {
        1.0 / h
    } else {
        0.0
    }
}

/// Gini coefficient Σᵢ Σⱼ |xᵢ − xⱼ| / (2 n Σ x) (0 for one country or an all-zero `x`).
pub fn gini(x: &[f64]) -> f64 {
    let n = x.len();
    let total: f64 = x.iter().sum();
    if n < 2 || total <= 0.0 {
        return 0.0;
    }
    let mut sorted = x.to_vec();
    sorted.sort_by(f64::total_cmp);
    // Σᵢ Σⱼ |xᵢ − xⱼ| = 2 Σᵢ (2i − n + 1) x₍ᵢ₎ for ascending x (i from 0).
    let weighted: f64 = sorted
        .iter()
        .enumerate()
        .map(|(i, v)| (2.0 * i as f64 - n as f64 + 1.0) * v)
        .sum();
    weighted / (n as f64 * total)
}

/// Share of the total held by the `k` largest entries (0 when `x` is all zero).
pub fn top_share(x: &[f64], k: usize) -> f64 {
    let total: f64 = x.iter().sum();
    if total <= 0.0 {
        return 0.0;
    }
    let mut sorted = x.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    sorted.iter().take(k).sum::<f64>() / total
}

/// Normalised Shannon entropy −Σ s ln s / ln C, in [0, 1] (0 for one country or all zero).
pub fn normalised_entropy(x: &[f64]) -> f64 {
    if x.len() < 2 {
        return 0.0;
    }
    let h: f64 = shares(x)
        .iter()
        .filter(|&&s| s > 0.0)
        .map(|&s| -s * libm::log(s))
        .sum();
    h / libm::log(x.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn hand_computed_values() {
        let x = [1.0, 1.0, 2.0];
        assert_relative_eq!(hhi(&x), 0.25 * 0.25 * 2.0 + 0.25, epsilon = 1e-12);
        assert_relative_eq!(effective_number(&x), 1.0 / 0.375, epsilon = 1e-12);
        // |1-1| + |1-2| + |1-2| = 2, doubled over ordered pairs = 4; / (2 · 3 · 4) = 1/6.
        assert_relative_eq!(gini(&x), 1.0 / 6.0, epsilon = 1e-12);
        assert_relative_eq!(top_share(&x, 1), 0.5, epsilon = 1e-12);
        assert_relative_eq!(normalised_entropy(&[5.0, 5.0]), 1.0, epsilon = 1e-12);
        assert_eq!(normalised_entropy(&[0.0, 3.0]), 0.0);
        for f in [hhi, effective_number, gini, normalised_entropy] {
            assert_eq!(f(&[0.0, 0.0]), 0.0);
        }
        assert_eq!(gini(&[7.0]), 0.0);
    }
}
