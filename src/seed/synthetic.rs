//! Deterministic synthetic data: a small seeded PRNG and unit-length embeddings.
//!
//! Seed files and demo data must come out the same on every machine and every run, so nothing
//! here reads the clock or the OS random source.

use sha2::{Digest, Sha256};

/// SplitMix64: tiny, fast, and good enough for test data (not for anything secret).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A generator seeded from a text label.
    pub fn from_label(label: &str) -> Self {
        let digest = Sha256::digest(label.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        Self(u64::from_le_bytes(first))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform in 0..n (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Approximately standard normal (sum of four uniforms, rescaled): cheap and adequate for
    /// spreading points around a centroid.
    pub fn normal(&mut self) -> f32 {
        let sum: f32 = (0..4).map(|_| self.next_f32()).sum();
        (sum - 2.0) * 1.732_050_8
    }

    /// A random version-4 UUID.
    pub fn uuid(&mut self) -> uuid::Uuid {
        let bits = (u128::from(self.next_u64()) << 64) | u128::from(self.next_u64());
        uuid::Builder::from_random_bytes(bits.to_be_bytes()).into_uuid()
    }
}

/// Scales `v` to unit length (cosine distance then equals 1 - dot product).
pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// A random unit vector of `dimension` components.
pub fn random_unit(rng: &mut Rng, dimension: usize) -> Vec<f32> {
    let mut v: Vec<f32> = (0..dimension).map(|_| rng.normal()).collect();
    normalize(&mut v);
    v
}

/// The unit vector a seed file means by `"synthetic:<label>"`.
pub fn embedding_for_label(label: &str, dimension: usize) -> Vec<f32> {
    random_unit(&mut Rng::from_label(label), dimension)
}

/// A point near `centroid`: the centroid plus noise of relative size `spread`, normalised.
pub fn near(rng: &mut Rng, centroid: &[f32], spread: f32) -> Vec<f32> {
    let scale = spread / (centroid.len() as f32).sqrt();
    let mut v: Vec<f32> = centroid.iter().map(|c| c + rng.normal() * scale).collect();
    normalize(&mut v);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence() {
        let a: Vec<u64> = (0..5)
            .scan(Rng::new(7), |r, _| Some(r.next_u64()))
            .collect();
        let b: Vec<u64> = (0..5)
            .scan(Rng::new(7), |r, _| Some(r.next_u64()))
            .collect();
        assert_eq!(a, b);
        assert_ne!(
            a,
            (0..5)
                .scan(Rng::new(8), |r, _| Some(r.next_u64()))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn label_embeddings_are_deterministic_unit_vectors() {
        let a = embedding_for_label("x", 1536);
        assert_eq!(a, embedding_for_label("x", 1536));
        assert_ne!(a, embedding_for_label("y", 1536));
        let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4);
    }

    #[test]
    fn points_near_a_centroid_are_closer_to_it_than_to_another() {
        let mut rng = Rng::new(1);
        let c1 = random_unit(&mut rng, 256);
        let c2 = random_unit(&mut rng, 256);
        let p = near(&mut rng, &c1, 0.5);
        let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        assert!(dot(&p, &c1) > dot(&p, &c2) + 0.3);
    }
}
