//! Seeding and the few distributions the generator needs.
//!
//! Every random stream is a `ChaCha8Rng` seeded from the user's seed, a stream name and (for per-person
//! streams) the person's index, so a person's history does not depend on how many threads generated
//! it or in which order, and the registry can regenerate one part of a person without the rest.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The independent random streams. Adding a stream must not change the numbers of the others.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stream {
    Places = 1,
    Households = 2,
    Clinical = 3,
    Events = 4,
    Intervention = 5,
}

/// SplitMix64: a well-mixed hash of the seed parts into one 64-bit seed.
fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The seed of part `part` (a place of a multi-place extract) of the extract seeded `seed`. The
/// constant keeps it apart from the per-stream seeds below.
pub(crate) fn derive(seed: u64, part: u64) -> u64 {
    splitmix(splitmix(seed ^ 0x5EED_0F91_ACE5_u64) ^ part)
}

/// The random stream `stream` for item `index` under `seed`.
pub(crate) fn stream(seed: u64, stream: Stream, index: u64) -> ChaCha8Rng {
    let s = splitmix(splitmix(seed ^ (stream as u64).wrapping_mul(0xA076_1D64_78BD_642F)) ^ index);
    ChaCha8Rng::seed_from_u64(s)
}

/// A standard normal draw (Box–Muller; one of the pair is discarded for simplicity).
pub(crate) fn normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u1: f64 = rng.gen::<f64>().max(1e-300);
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A Poisson draw: Knuth's product method for small means, a rounded normal for large ones.
pub(crate) fn poisson<R: Rng + ?Sized>(rng: &mut R, mean: f64) -> u32 {
    if mean <= 0.0 {
        return 0;
    }
    if mean > 30.0 {
        let x = mean + mean.sqrt() * normal(rng);
        return x.round().max(0.0) as u32;
    }
    let limit = (-mean).exp();
    let mut product: f64 = rng.gen();
    let mut k = 0;
    while product > limit {
        product *= rng.gen::<f64>();
        k += 1;
    }
    k
}

/// Picks an index with probability proportional to `weights`.
pub(crate) fn weighted<R: Rng + ?Sized>(rng: &mut R, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.gen::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

/// The logistic function.
pub(crate) fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: u64 = stream(7, Stream::Clinical, 3).gen();
        let b: u64 = stream(7, Stream::Clinical, 3).gen();
        let c: u64 = stream(7, Stream::Events, 3).gen();
        let d: u64 = stream(7, Stream::Clinical, 4).gen();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }

    #[test]
    fn poisson_mean_is_close() {
        let mut rng = stream(1, Stream::Events, 0);
        for mean in [0.3, 4.0, 50.0] {
            let n = 20_000;
            let total: u64 = (0..n).map(|_| u64::from(poisson(&mut rng, mean))).sum();
            let got = total as f64 / f64::from(n);
            assert!((got - mean).abs() < mean * 0.05 + 0.02, "{mean}: {got}");
        }
    }
}
