//! The streaming roofline of a tick: plain loops that move the bytes a tick moves per researcher,
//! with no model logic, on the same thread pool and the same work split.
//!
//! A tick reads `skill`, `mobility`, `loc` and `founder` (11 bytes per researcher) in the
//! researcher phase — the bounds of its thinned draws and the state of the agents its events hit,
//! which leave few cache lines untouched — and apply's stable removal reads and rewrites all six
//! arrays (17 + 17 bytes), array by array in parallel. The roofline does exactly that: a parallel
//! read-only reduction over 4096-agent blocks, then a shift-by-one `copy_within` of every array.
//! `tick / roofline` in BENCHMARKS.md is the share of a tick spent above pure data movement.
//!
//! Run: `cargo bench --bench roofline` (release profile; not part of CI).

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use rayon::prelude::*;
use std::hint::black_box;
use std::time::Duration;
use talentflow::model::agents::Researchers;
use talentflow::model::rng::BLOCK;

/// A synthetic population of `n` researchers (values do not matter, only bytes).
fn population(n: usize) -> Researchers {
    let mut r = Researchers::with_capacity(n);
    for i in 0..n {
        let k = (i % 15) as u16;
        let x = 0.5 + (i % 97) as f32 / 50.0;
        r.push(k, (k + (i % 3) as u16) % 15, x, x.sqrt(), 0);
        r.founder[i] = i % 37 == 0;
    }
    r
}

/// Reads the researcher phase's 11 bytes per agent (a reduction the compiler cannot drop).
fn read_pass(r: &Researchers) -> u64 {
    (0..r.len().div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| {
            let range = b * BLOCK..((b + 1) * BLOCK).min(r.len());
            let mut acc = 0u64;
            for i in range {
                acc = acc.wrapping_add(u64::from(r.skill[i].to_bits() ^ r.mobility[i].to_bits()));
                acc = acc.wrapping_add(u64::from(r.loc[i]) + u64::from(r.founder[i]));
            }
            acc
        })
        .sum()
}

/// Reads and rewrites all 17 bytes per agent, the arrays in parallel (like stable removal).
fn write_pass(r: &mut Researchers) {
    fn shift<T: Copy>(v: &mut [T]) {
        v.copy_within(1.., 0);
    }
    let Researchers {
        home,
        loc,
        skill,
        mobility,
        founder,
        born_tick,
    } = r;
    rayon::join(
        || {
            rayon::join(
                || shift(skill),
                || rayon::join(|| shift(home), || shift(loc)),
            )
        },
        || {
            rayon::join(
                || shift(mobility),
                || rayon::join(|| shift(born_tick), || shift(founder)),
            )
        },
    );
}

fn roofline(c: &mut Criterion) {
    let mut group = c.benchmark_group("roofline");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    for agents in [10_000usize, 100_000, 1_000_000, 10_000_000] {
        let mut r = population(agents);
        group.throughput(Throughput::Elements(agents as u64));
        group.bench_function(BenchmarkId::from_parameter(agents), |b| {
            b.iter(|| {
                black_box(read_pass(&r));
                write_pass(&mut r);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, roofline);
criterion_main!(benches);
