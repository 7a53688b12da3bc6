//! One tick of the default world at several population sizes.
//! Run: `cargo bench --bench tick` (release profile; not part of CI).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use talentflow::engine::Simulation;
use talentflow::scenario::{load_str, Override, SourceName, WORLD2025_TOML};

fn world(agents: u64) -> Simulation {
    let set = [Override::parse(&format!("world.agents={agents}")).expect("override")];
    let s = load_str(WORLD2025_TOML, &SourceName::Embedded("world2025"), &set).expect("world2025");
    let mut sim = Simulation::new(s, 1);
    // Start from a state past the initial transient.
    for _ in 0..3 {
        sim.step();
    }
    sim
}

fn tick(c: &mut Criterion) {
    let mut group = c.benchmark_group("tick");
    group.sample_size(10);
    for agents in [10_000u64, 100_000, 1_000_000] {
        group.throughput(Throughput::Elements(agents));
        group.bench_with_input(
            BenchmarkId::from_parameter(agents),
            &agents,
            |b, &agents| {
                b.iter_batched(
                    || world(agents),
                    |mut sim| sim.step(),
                    criterion::BatchSize::LargeInput,
                )
            },
        );
    }
    group.finish();
}

criterion_group!(benches, tick);
criterion_main!(benches);
