//! The phases of a tick alone: the researcher phase (10^5 … 10^7 agents), the startup phase, and
//! the sequential country phase and choice tables with C = 15 (the default world) and C = 200
//! (a generated world).
//!
//! Run: `cargo bench --bench phases` (release profile; not part of CI).

mod common;

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use std::time::Duration;
use talentflow::model::step::{researcher_phase, startup_phase};

fn researchers(c: &mut Criterion) {
    let mut group = c.benchmark_group("researcher_phase");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    for agents in [100_000u64, 1_000_000, 10_000_000] {
        let sim = common::warmed_up(common::default_world(agents));
        let (tables, ctx) = (sim.choice_tables(), sim.researcher_context());
        let n = sim.researchers().len() as u64;
        group.throughput(Throughput::Elements(n));
        group.bench_function(BenchmarkId::from_parameter(agents), |b| {
            b.iter(|| researcher_phase(sim.researchers(), &tables, &ctx, sim.streams(), 4))
        });
    }
    group.finish();
}

fn startups(c: &mut Criterion) {
    let mut group = c.benchmark_group("startup_phase");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    let agents = 1_000_000u64;
    let sim = common::warmed_up(common::default_world(agents));
    let (tables, ctx) = (sim.choice_tables(), sim.startup_context());
    group.throughput(Throughput::Elements(sim.startups().len() as u64));
    group.bench_function(BenchmarkId::from_parameter(agents), |b| {
        b.iter_batched(
            || sim.startups().clone(),
            |mut s| {
                let intents = startup_phase(&mut s, &tables, &ctx, sim.streams(), 4);
                (s, intents)
            },
            criterion::BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn countries(c: &mut Criterion) {
    let mut group = c.benchmark_group("country_phase");
    group.sample_size(20);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    let worlds = [
        ("C15", common::default_world(1_000_000)),
        ("C200", common::generated_world(200, 1_000_000)),
    ];
    for (name, scenario) in worlds {
        let sim = common::warmed_up(scenario);
        group.bench_function(BenchmarkId::new("countries", name), |b| {
            b.iter(|| sim.next_country_state())
        });
        group.bench_function(BenchmarkId::new("choice_tables", name), |b| {
            b.iter(|| sim.choice_tables())
        });
    }
    group.finish();
}

criterion_group!(benches, researchers, startups, countries);
criterion_main!(benches);
