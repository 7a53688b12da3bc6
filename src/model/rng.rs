//! Random streams: one ChaCha8 stream per (seed, tick, phase, block).
//!
//! The key is derived from the seed with blake3; the 64-bit ChaCha stream id packs
//! (tick, phase, block) injectively. A block is [`BLOCK`] consecutive agents, fixed whatever the
//! thread count, so which thread runs a block never changes what it draws.
//! Transcendental functions come from `libm` (a pure-Rust port of musl's), not the platform's
//! libm, so the same seed gives the same bits on any machine.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Agents per random-stream block (and per unit of parallel work).
pub const BLOCK: usize = 4096;

const TWO_POW_32: f64 = 4_294_967_296.0;

/// The phases that draw random numbers; each has its own streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Phase {
    /// Initial researcher population.
    InitResearchers = 0,
    /// Initial startups and their founders.
    InitStartups = 1,
    /// Researcher exit, review, move and founding.
    Researchers = 2,
    /// Startup raises, failures and relocations.
    Startups = 3,
    /// New researchers.
    Entrants = 4,
    /// Synthetic worlds ([`crate::scenario::worldgen`]); not part of a run.
    Generate = 5,
}

/// The random streams of one run.
#[derive(Clone, Debug)]
pub struct Streams {
    base: ChaCha8Rng,
}

impl Streams {
    /// Streams keyed by `seed`.
    pub fn new(seed: u64) -> Streams {
        let key = blake3::derive_key("talentflow 2026 ChaCha8 run key", &seed.to_le_bytes());
        Streams {
            base: ChaCha8Rng::from_seed(key),
        }
    }

    /// The stream for (tick, phase, block).
    pub fn stream(&self, tick: usize, phase: Phase, block: usize) -> Rng {
        debug_assert!(tick < (1 << 32) && block < (1 << 28));
        let id = ((tick as u64) << 32) | ((phase as u64) << 28) | block as u64;
        let mut rng = self.base.clone();
        rng.set_stream(id);
        rng.set_word_pos(0);
        Rng(rng)
    }
}

/// A random stream with the few draws the model needs.
pub struct Rng(ChaCha8Rng);

impl Rng {
    /// Uniform in [0, 1), 53 random bits.
    #[inline]
    pub fn uniform(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A Bernoulli draw: true with probability `p` (to within 2⁻³²), from 32 random bits.
    ///
    /// Agent decisions are Bernoulli draws with probabilities far above 2⁻³², so half a 64-bit
    /// word is enough and halves the random bits a tick consumes.
    #[inline]
    pub fn chance(&mut self, p: f64) -> bool {
        f64::from(self.0.next_u32()) < p * TWO_POW_32
    }

    /// Standard normal (Box–Muller, one value per two uniforms).
    #[inline]
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]
        let u2 = self.uniform();
        libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(std::f64::consts::TAU * u2)
    }

    /// LogNormal(0, sigma).
    #[inline]
    pub fn lognormal(&mut self, sigma: f64) -> f64 {
        libm::exp(sigma * self.normal())
    }

    /// Index drawn from unnormalised cumulative weights (`cum` increasing, last = total > 0).
    #[inline]
    pub fn pick(&mut self, cum: &[f64]) -> usize {
        let total = cum[cum.len() - 1];
        let target = self.uniform() * total;
        cum.partition_point(|&x| x <= target).min(cum.len() - 1)
    }
}
