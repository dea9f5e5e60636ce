//! One Yuma epoch at the sizes subnets run at, with each validator weighting ~10% of uids,
//! and the worst case for one block: 128 subnets of 256 uids all at their epoch.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use tensorchain_subnet_engine::synthetic::subnet;
use tensorchain_subnet_engine::{run_epoch, Params};

fn epochs(c: &mut Criterion) {
    for (n, v) in [(256, 64), (1024, 128), (4096, 256)] {
        for (name, yuma3, liquid) in [
            ("yuma3", true, false),
            ("classic", false, false),
            ("yuma3_liquid", true, true),
        ] {
            let mut input = subnet(n, v, 10, 7);
            input.params = Params {
                yuma3,
                liquid_alpha: liquid,
                ..input.params
            };
            c.bench_function(&format!("epoch_{name}_{n}uids_{v}validators"), |b| {
                b.iter(|| run_epoch(black_box(&input)))
            });
        }
    }
    let subnets: Vec<_> = (0..128).map(|s| subnet(256, 64, 10, s)).collect();
    c.bench_function("block_128_subnets_256uids_all_epochs", |b| {
        b.iter(|| {
            subnets
                .iter()
                .map(|s| run_epoch(black_box(s)).emission[0])
                .sum::<u64>()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = epochs
}
criterion_main!(benches);
