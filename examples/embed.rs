//! Embedding talentflow as a library: load the default world, change a parameter, run it, and
//! read a series — without the command line, figures or files.
//!
//! Run: `cargo run --release --example embed` (add `--no-default-features` to build the library
//! alone, without clap, indicatif or plotters).

use talentflow::{load_named, Override, Simulation};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The embedded default world, smaller and shorter than by default.
    let overrides = [
        Override::parse("world.agents=5000")?,
        Override::parse("world.years=5")?,
    ];
    let (world, source) = load_named("world2025", None, &overrides)?;
    let usa = world
        .country_index("USA")
        .ok_or("no USA in the default world")?;

    // Change a parameter in code: the edited scenario is validated again before it can run,
    // with the same checks (and messages) as a scenario file.
    let mut edited = world.clone().into_inner();
    edited.innovation.lambda = 0.9;
    let edited = edited.validate()?;

    for (label, scenario) in [("as given", world), ("lambda = 0.9", edited)] {
        let mut sim = Simulation::new(scenario, 7);
        sim.run(|_| {});
        let rec = sim.into_recorder();
        let end = rec.ticks();
        let shares = rec.series(
            talentflow::model::record::country_variable("researcher_share")
                .ok_or("no researcher_share variable")?,
            usa,
        );
        let hhi = rec
            .get_world("hhi_researchers", end)
            .ok_or("no hhi_researchers variable")?;
        println!(
            "{source}, {label}: USA researcher share {:.4} → {:.4}, researcher HHI at the end {hhi:.4}",
            shares[0], shares[end]
        );
    }
    Ok(())
}
