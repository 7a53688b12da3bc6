//! A classification tree (CART, Breiman et al. 1984): binary splits `x_j <= t` chosen to
//! minimise the size-weighted Gini impurity of the children, grown to a maximum depth and a
//! minimum leaf size, no pruning. Thresholds are midpoints between consecutive distinct values.

/// One node of the tree (index 0 is the root).
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Parent index (`None` for the root).
    pub parent: Option<usize>,
    /// Depth (root 0).
    pub depth: usize,
    /// Split: (dimension, threshold); the left child holds `x_j <= threshold`. `None`: a leaf.
    pub split: Option<(usize, f64)>,
    /// Children (left, right) of a split node.
    pub children: Option<(usize, usize)>,
    /// Points in the node.
    pub n: usize,
    /// Cases of interest in the node.
    pub positives: usize,
    /// The conditions leading here, as (dimension, is `<=`, threshold).
    pub path: Vec<(usize, bool, f64)>,
}

impl Node {
    /// Share of cases of interest.
    pub fn density(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.positives as f64 / self.n as f64
        }
    }
}

fn gini(pos: usize, n: usize) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let p = pos as f64 / n as f64;
    2.0 * p * (1.0 - p)
}

/// Grows the tree on points `x` with labels `y`.
// `j` is a column index into every row of `x`, not an index over `x` itself.
#[allow(clippy::needless_range_loop)]
pub fn cart(x: &[Vec<f64>], y: &[bool], max_depth: usize, min_leaf: usize) -> Vec<Node> {
    let k = x.first().map_or(0, Vec::len);
    let all: Vec<usize> = (0..x.len()).collect();
    let mut nodes = Vec::new();
    let mut stack = vec![(all, None::<usize>, 0usize, Vec::new())];
    // Depth-first with the left child first, so node order is a pure function of the data.
    while let Some((idx, parent, depth, path)) = stack.pop() {
        let n = idx.len();
        let pos = idx.iter().filter(|&&i| y[i]).count();
        let me = nodes.len();
        nodes.push(Node {
            parent,
            depth,
            split: None,
            children: None,
            n,
            positives: pos,
            path: path.clone(),
        });
        if let Some(p) = parent {
            let c = nodes[p].children.get_or_insert((me, me));
            c.1 = me;
        }
        if depth >= max_depth || pos == 0 || pos == n || n < 2 * min_leaf.max(1) {
            continue;
        }
        let parent_impurity = gini(pos, n);
        let mut best: Option<(f64, usize, f64)> = None;
        for j in 0..k {
            let mut order = idx.clone();
            order.sort_by(|&a, &b| x[a][j].total_cmp(&x[b][j]));
            let mut left_pos = 0;
            for s in 0..n - 1 {
                left_pos += usize::from(y[order[s]]);
                let (a, b) = (x[order[s]][j], x[order[s + 1]][j]);
                let nl = s + 1;
                if a == b || nl < min_leaf || n - nl < min_leaf {
                    continue;
                }
                let imp = (nl as f64 * gini(left_pos, nl)
                    + (n - nl) as f64 * gini(pos - left_pos, n - nl))
                    / n as f64;
                if best.is_none_or(|(bi, _, _)| imp < bi) {
                    best = Some((imp, j, 0.5 * (a + b)));
                }
            }
        }
        let Some((imp, j, t)) = best else { continue };
        if imp >= parent_impurity {
            continue;
        }
        nodes[me].split = Some((j, t));
        let (l, r): (Vec<usize>, Vec<usize>) = idx.iter().partition(|&&i| x[i][j] <= t);
        let mut lp = path.clone();
        lp.push((j, true, t));
        let mut rp = path;
        rp.push((j, false, t));
        // Pushed right first so the left child is numbered next.
        stack.push((r, Some(me), depth + 1, rp));
        stack.push((l, Some(me), depth + 1, lp));
    }
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::discover::prim::tests::synthetic;

    #[test]
    fn splits_at_the_known_boundaries() {
        let (x, y) = synthetic(2000);
        let t = cart(&x, &y, 2, 5);
        let (j, at) = t[0].split.unwrap();
        // The root splits one of the two boundaries; the pure leaf reached by both conditions
        // is the box.
        assert!(
            (j == 0 && (at - 0.6).abs() < 0.02) || (j == 1 && (at - 0.4).abs() < 0.02),
            "root split {j} at {at}"
        );
        let best = t
            .iter()
            .filter(|n| n.split.is_none())
            .max_by(|a, b| a.density().total_cmp(&b.density()))
            .unwrap();
        assert!(best.density() > 0.97, "{best:?}");
        assert_eq!(best.path.len(), 2);
        let (n_leaf, n_root): (usize, usize) = (
            t.iter().filter(|n| n.split.is_none()).map(|n| n.n).sum(),
            t[0].n,
        );
        assert_eq!(n_leaf, n_root);
    }
}
