//! One tick of the default world at 10^4 … 10^7 researcher agents.
//!
//! Run: `cargo bench --bench tick` (release profile; not part of CI). The throughput criterion
//! reports is researcher-agent updates per second. Each iteration times one tick of a copy of a
//! warmed-up run (the copy, and a first tick after copying, happen outside the timing); large
//! worlds use few, flat samples.

mod common;

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use std::time::Duration;

fn tick(c: &mut Criterion) {
    let mut group = c.benchmark_group("tick");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.warm_up_time(Duration::from_secs(1));
    for agents in [10_000u64, 100_000, 1_000_000, 10_000_000] {
        let base = common::warmed_up(common::default_world(agents));
        group.throughput(Throughput::Elements(agents));
        group.measurement_time(Duration::from_secs(if agents >= 10_000_000 {
            8
        } else {
            4
        }));
        group.bench_with_input(BenchmarkId::from_parameter(agents), &base, |b, base| {
            b.iter_batched(
                || {
                    // The first tick of a copy grows its startup arrays: not a steady-state tick.
                    let mut sim = base.clone();
                    sim.step();
                    sim
                },
                |mut sim| {
                    sim.step();
                    sim
                },
                criterion::BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, tick);
criterion_main!(benches);
