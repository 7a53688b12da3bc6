//! Prints a Saltelli design (second order) for three parameters with the Ishigami function
//! (a = 7, b = 0.1) evaluated on it, as CSV `u1,u2,u3,y` in talentflow's row order (per base
//! sample: A, B, AB_1..AB_3, BA_1..BA_3). `tests/reference/salib_ishigami.py` feeds it to SALib
//! to produce the reference indices the Sobol estimator is tested against.
//!
//! ```sh
//! cargo run --example saltelli_ishigami -- 1024 42 > design.csv
//! ```

use talentflow::model::rng::{Phase, Streams};
use talentflow::study::sweep::design::Design;

/// The Ishigami function of a point of the unit cube (each coordinate mapped to [−π, π]).
fn ishigami(u: &[f64]) -> f64 {
    let x: Vec<f64> = u
        .iter()
        .map(|v| -std::f64::consts::PI + 2.0 * std::f64::consts::PI * v)
        .collect();
    libm::sin(x[0]) + 7.0 * libm::sin(x[1]).powi(2) + 0.1 * x[2].powi(4) * libm::sin(x[0])
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parse = |i: usize, default: u64| -> u64 {
        match args.get(i) {
            None => default,
            Some(a) => a.parse().unwrap_or_else(|_| {
                eprintln!(
                    "error: argument {} must be a non-negative integer, found {a:?}",
                    i + 1
                );
                std::process::exit(2)
            }),
        }
    };
    let (n, seed) = (parse(0, 1024) as usize, parse(1, 42));
    let design = Design::Saltelli {
        n,
        second_order: true,
    };
    let mut rng = Streams::new(seed).stream(0, Phase::InitResearchers, 0);
    println!("u1,u2,u3,y");
    for p in design.generate(&[0, 0, 0], &mut rng) {
        // `{:?}` prints the shortest text that reads back as the same f64.
        println!("{:?},{:?},{:?},{:?}", p[0], p[1], p[2], ishigami(&p));
    }
}
