use talentflow::model::engine::Simulation;
use talentflow::model::expected::ExpectedModel;
use talentflow::scenario::{load_named, Override};
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let name = &args[1];
    let agents: u64 = args[2].parse().unwrap();
    let reps: u64 = args[3].parse().unwrap();
    let mut set = vec![Override::parse(&format!("world.agents={agents}")).unwrap(), Override::parse("world.years=1").unwrap()];
    for a in &args[4..] { set.push(Override::parse(a).unwrap()); }
    let (s, _) = load_named(name, None, &set).unwrap();
    let c = s.num_countries();
    let tpy = s.world.ticks_per_year as usize;
    let t0 = std::time::Instant::now();
    let model = ExpectedModel::new(&s);
    let run1 = model.run(None, 1);
    let one = run1.ticks[0].clone();
    let run = model.run(None, tpy);
    let m = run.first_year_net_migration();
    eprintln!("expected in {:?}", t0.elapsed());
    let mut sum = vec![0.0; c]; let mut sq = vec![0.0; c];
    let mut st12 = vec![0.0; c];
    for r in 0..reps {
        let mut sim = Simulation::new(s.clone(), 1000 + r);
        sim.run(|_| {});
        let rec = sim.into_recorder();
        for k in 0..c {
            let n0 = rec.get("researchers", 0, k).unwrap();
            let net: f64 = (1..=tpy).map(|t| rec.get("inflow", t, k).unwrap() - rec.get("outflow", t, k).unwrap()).sum();
            let x = net / n0; sum[k] += x; sq[k] += x * x;
            st12[k] += rec.get("startups", tpy, k).unwrap();
        }
    }
    let n = reps as f64;
    println!("code  expected  t0x12  sim_mean  sim_se  diff/se  S12_exp S12_sim");
    for k in 0..c {
        let mean = sum[k] / n; let var = (sq[k] / n - mean * mean) * n / (n - 1.0).max(1.0);
        let se = (var / n).sqrt();
        let t0x = tpy as f64 * (one.inflow[k] - one.outflow[k]) / run.initial_researchers[k];
        println!("{:4} {:8.4}% {:8.4}% {:8.4}% {:7.4}% {:7.2} {:8.0} {:8.0}", s.countries[k].code, 100.0*m[k], 100.0*t0x, 100.0*mean, 100.0*se, (m[k]-mean)/se.max(1e-12), run.ticks[tpy-1].startups[k], st12[k]/n);
    }
}
