//! Agent state in struct-of-arrays form.
//!
//! Agents are plain indices into parallel vectors, so a tick streams through a few compact arrays
//! (2 + 2 + 4 + 4 + 1 + 4 = 17 bytes per researcher) instead of chasing boxed objects. Removal is
//! stable (order preserved), so an agent's index is its rank by creation and the per-block random
//! streams see the same agents whatever the thread count.
//!
//! Memory per researcher is the 17 bytes of its fields plus unused capacity: the population is
//! drawn straight into its final arrays (see [`crate::model::init`]) with room reserved for every
//! entrant of the run, so the arrays never reallocate (a reallocation would hold the old and the
//! new copy at once).

use serde::{Deserialize, Serialize};

/// Country index (at most 65 536 countries).
pub type CountryId = u16;

/// Researcher agents.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Researchers {
    /// Country of origin.
    pub home: Vec<CountryId>,
    /// Country where the researcher works now.
    pub loc: Vec<CountryId>,
    /// Skill, LogNormal(0, skill_sigma).
    pub skill: Vec<f32>,
    /// `skill^mobility_skill`, cached at birth (the review rate's skill factor).
    pub mobility: Vec<f32>,
    /// Whether the researcher runs a live startup.
    pub founder: Vec<bool>,
    /// Tick of entry (0 for the initial population).
    pub born_tick: Vec<u32>,
}

/// A copy of `v` with the same spare capacity.
fn clone_with_capacity<T: Copy>(v: &Vec<T>) -> Vec<T> {
    let mut out = Vec::with_capacity(v.capacity());
    out.extend_from_slice(v);
    out
}

impl Clone for Researchers {
    /// Keeps the capacity reserved for the run's entrants, so that a copied run (an ensemble
    /// member, a benchmark) does not reallocate, and briefly double, its arrays.
    fn clone(&self) -> Self {
        Researchers {
            home: clone_with_capacity(&self.home),
            loc: clone_with_capacity(&self.loc),
            skill: clone_with_capacity(&self.skill),
            mobility: clone_with_capacity(&self.mobility),
            founder: clone_with_capacity(&self.founder),
            born_tick: clone_with_capacity(&self.born_tick),
        }
    }
}

impl Researchers {
    /// Number of researcher agents.
    pub fn len(&self) -> usize {
        self.home.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.home.is_empty()
    }

    /// [`Researchers::with_capacity`], or an error when the memory cannot be reserved (a large
    /// population under a memory limit must be refused, not abort the process).
    pub fn try_with_capacity(n: usize) -> Result<Researchers, std::collections::TryReserveError> {
        fn reserved<T>(n: usize) -> Result<Vec<T>, std::collections::TryReserveError> {
            let mut v = Vec::new();
            v.try_reserve_exact(n)?;
            Ok(v)
        }
        Ok(Researchers {
            home: reserved(n)?,
            loc: reserved(n)?,
            skill: reserved(n)?,
            mobility: reserved(n)?,
            founder: reserved(n)?,
            born_tick: reserved(n)?,
        })
    }

    /// No researchers, with room for `n` without reallocation.
    pub fn with_capacity(n: usize) -> Researchers {
        Researchers {
            home: Vec::with_capacity(n),
            loc: Vec::with_capacity(n),
            skill: Vec::with_capacity(n),
            mobility: Vec::with_capacity(n),
            founder: Vec::with_capacity(n),
            born_tick: Vec::with_capacity(n),
        }
    }

    /// Appends one researcher.
    pub fn push(
        &mut self,
        home: CountryId,
        loc: CountryId,
        skill: f32,
        mobility: f32,
        born_tick: u32,
    ) {
        self.home.push(home);
        self.loc.push(loc);
        self.skill.push(skill);
        self.mobility.push(mobility);
        self.founder.push(false);
        self.born_tick.push(born_tick);
    }

    /// Removes the agents at `sorted_indices` (ascending, unique), keeping the order of the rest.
    ///
    /// This is the one pass of a tick that moves the whole population, so the six arrays are
    /// compacted concurrently (each array's compaction is a sequence of `memmove`s of the runs
    /// between removed agents).
    pub fn remove_sorted(&mut self, sorted_indices: &[u32]) {
        if sorted_indices.is_empty() {
            return;
        }
        let keep = KeepMask::new(self.len(), sorted_indices);
        let Researchers {
            home,
            loc,
            skill,
            mobility,
            founder,
            born_tick,
        } = self;
        // Two halves of about equal bytes (8 and 9 per agent), each split again.
        rayon::join(
            || {
                rayon::join(
                    || keep.retain(skill),
                    || rayon::join(|| keep.retain(home), || keep.retain(loc)),
                )
            },
            || {
                rayon::join(
                    || keep.retain(mobility),
                    || rayon::join(|| keep.retain(born_tick), || keep.retain(founder)),
                )
            },
        );
    }
}

/// Startup agents.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Startups {
    /// Country where the startup is located.
    pub loc: Vec<CountryId>,
    /// Index of the founder in [`Researchers`].
    pub founder: Vec<u32>,
    /// Quality: founder skill × LogNormal(0, quality_sigma).
    pub quality: Vec<f32>,
    /// Stage 0..=4 (pre-seed, seed, A, B, growth).
    pub stage: Vec<u8>,
    /// Ticks of runway left.
    pub runway: Vec<u32>,
    /// Money raised so far, $M.
    pub raised: Vec<f64>,
    /// Tick of founding (0 for the initial startups).
    pub born_tick: Vec<u32>,
}

impl Startups {
    /// Number of startup agents.
    pub fn len(&self) -> usize {
        self.loc.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.loc.is_empty()
    }

    /// Appends one startup.
    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        loc: CountryId,
        founder: u32,
        quality: f32,
        stage: u8,
        runway: u32,
        born_tick: u32,
    ) {
        self.loc.push(loc);
        self.founder.push(founder);
        self.quality.push(quality);
        self.stage.push(stage);
        self.runway.push(runway);
        self.raised.push(0.0);
        self.born_tick.push(born_tick);
    }

    /// Removes the startups at `sorted_indices` (ascending, unique), keeping the order of the rest
    /// (the arrays concurrently, like [`Researchers::remove_sorted`]).
    pub fn remove_sorted(&mut self, sorted_indices: &[u32]) {
        if sorted_indices.is_empty() {
            return;
        }
        let keep = KeepMask::new(self.len(), sorted_indices);
        let Startups {
            loc,
            founder,
            quality,
            stage,
            runway,
            raised,
            born_tick,
        } = self;
        // Halves of 13 and 14 bytes per startup.
        rayon::join(
            || {
                keep.retain(raised);
                rayon::join(|| keep.retain(loc), || keep.retain(stage));
            },
            || {
                rayon::join(|| keep.retain(founder), || keep.retain(quality));
                rayon::join(|| keep.retain(runway), || keep.retain(born_tick));
            },
        );
    }
}

/// Removes the items at `sorted_indices` (ascending, unique, below `v.len()`) from `v`, keeping
/// the order of the rest: the compaction [`Researchers::remove_sorted`] applies to each of its
/// arrays, for arrays kept beside them (such as [`crate::model::cohort`]'s).
pub fn remove_sorted_from<T: Copy>(v: &mut Vec<T>, sorted_indices: &[u32]) {
    KeepMask::new(v.len(), sorted_indices).retain(v);
}

/// Which of `len` items survive a removal of sorted indices.
struct KeepMask<'a> {
    removed: &'a [u32],
}

impl<'a> KeepMask<'a> {
    fn new(len: usize, removed: &'a [u32]) -> Self {
        debug_assert!(removed.windows(2).all(|w| w[0] < w[1]));
        debug_assert!(removed.last().is_none_or(|&i| (i as usize) < len));
        KeepMask { removed }
    }

    /// Removes the marked items from `v`: every run of kept items between two removed ones is
    /// moved down with one `copy_within`.
    fn retain<T: Copy>(&self, v: &mut Vec<T>) {
        let Some(&first) = self.removed.first() else {
            return;
        };
        let mut write = first as usize;
        for (k, &gone) in self.removed.iter().enumerate() {
            let start = gone as usize + 1;
            let end = self.removed.get(k + 1).map_or(v.len(), |&n| n as usize);
            v.copy_within(start..end, write);
            write += end - start;
        }
        v.truncate(write);
    }
}

/// New index of `old` after removing `sorted_removed` (which must not contain `old`).
pub fn shifted_index(old: u32, sorted_removed: &[u32]) -> u32 {
    old - sorted_removed.partition_point(|&r| r < old) as u32
}

/// [`shifted_index`] for many queries: the removed indices are bucketed by ranges of
/// [`IndexShift::SPAN`] old indices, so a query searches only the few removals of its range.
pub struct IndexShift<'a> {
    removed: &'a [u32],
    /// `before[b]`: how many removed indices are below `b · SPAN`.
    before: Vec<u32>,
}

impl<'a> IndexShift<'a> {
    /// Old indices per bucket.
    pub const SPAN: usize = 1024;

    /// Prepares queries on indices below `len`, after removing `sorted_removed` (ascending).
    pub fn new(sorted_removed: &'a [u32], len: usize) -> IndexShift<'a> {
        let buckets = len / Self::SPAN + 1;
        let mut before = Vec::with_capacity(buckets + 1);
        let mut k = 0;
        for b in 0..=buckets {
            while k < sorted_removed.len() && (sorted_removed[k] as usize) < b * Self::SPAN {
                k += 1;
            }
            before.push(k as u32);
        }
        IndexShift {
            removed: sorted_removed,
            before,
        }
    }

    /// The removed indices in the bucket of `i`.
    #[inline]
    fn bucket(&self, i: u32) -> (usize, &[u32]) {
        let b = i as usize / Self::SPAN;
        let (lo, hi) = (self.before[b] as usize, self.before[b + 1] as usize);
        (lo, &self.removed[lo..hi])
    }

    /// Whether `i` (below `len`) is one of the removed indices.
    #[inline]
    pub fn contains(&self, i: u32) -> bool {
        self.bucket(i).1.contains(&i)
    }

    /// New index of `old` (below `len`, not removed).
    #[inline]
    pub fn new_index(&self, old: u32) -> u32 {
        // Buckets hold a handful of indices: a branch-free count beats a binary search.
        let (lo, bucket) = self.bucket(old);
        let below = bucket.iter().map(|&r| u32::from(r < old)).sum::<u32>();
        old - lo as u32 - below
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_removal_keeps_order() {
        let mut r = Researchers::default();
        for i in 0..10u16 {
            r.push(i, i, f32::from(i), 1.0, 0);
        }
        r.remove_sorted(&[0, 3, 4, 9]);
        assert_eq!(r.home, vec![1, 2, 5, 6, 7, 8]);
        assert_eq!(r.skill, vec![1.0, 2.0, 5.0, 6.0, 7.0, 8.0]);
        assert_eq!(shifted_index(5, &[0, 3, 4, 9]), 2);
        assert_eq!(shifted_index(8, &[0, 3, 4, 9]), 5);
    }

    #[test]
    fn index_shift_agrees_with_shifted_index() {
        let len = 5 * IndexShift::SPAN + 17;
        let removed: Vec<u32> = (0..len as u32)
            .filter(|i| i % 7 == 3 || (1020..1030).contains(i) || *i == len as u32 - 1)
            .collect();
        let shift = IndexShift::new(&removed, len);
        for old in (0..len as u32).filter(|i| removed.binary_search(i).is_err()) {
            assert_eq!(shift.new_index(old), shifted_index(old, &removed), "{old}");
        }
        for i in 0..len as u32 {
            assert_eq!(shift.contains(i), removed.binary_search(&i).is_ok(), "{i}");
        }
        let none = IndexShift::new(&[], len);
        assert_eq!(none.new_index(len as u32 - 1), len as u32 - 1);
    }
}
