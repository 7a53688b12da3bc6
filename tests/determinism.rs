//! Output bytes are a pure function of (scenario, seed, version): never of the thread count.

mod common;

use talentflow::output::series_npz;

#[test]
fn same_seed_same_bytes_for_one_and_two_threads() {
    for s in [
        common::toy3(&[]),
        common::world(&["world.agents=12000", "world.years=3"]),
    ] {
        let one = series_npz(&s, &common::run_with_threads(s.clone(), 11, 1)).unwrap();
        let two = series_npz(&s, &common::run_with_threads(s.clone(), 11, 2)).unwrap();
        let three = series_npz(&s, &common::run_with_threads(s.clone(), 11, 3)).unwrap();
        assert_eq!(one, two, "1 vs 2 threads differ");
        assert_eq!(one, three, "1 vs 3 threads differ");
    }
}

#[test]
fn different_seed_different_bytes() {
    let s = common::toy3(&[]);
    let a = series_npz(&s, &common::run(s.clone(), 1)).unwrap();
    let b = series_npz(&s, &common::run(s.clone(), 2)).unwrap();
    assert_ne!(a, b);
}

#[test]
fn agents_spanning_many_blocks_are_thread_independent() {
    // 3 × 4096 + 5 agents: several blocks, a ragged last one, growing with entrants.
    let s = common::toy3(&[
        "world.agents=12293",
        "world.years=2",
        "world.researchers=40000",
    ]);
    let one = common::run_with_threads(s.clone(), 5, 1);
    let two = common::run_with_threads(s, 5, 2);
    assert_eq!(one, two);
}
