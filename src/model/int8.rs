//! Int8 matrix products for `--quantize q8`: weights quantized once per output channel
//! (symmetric, scale = max|w| / 127), activations per token row at run time (symmetric,
//! stored as `q + 128` in unsigned bytes for AVX-512 VNNI's `vpdpbusd`, the offset taken
//! back out with the weights' column sums). candle's QMatMul has no fast path at width 384,
//! hence this. The integer sums are exact, so the VNNI and the portable path agree bit for
//! bit and results do not depend on the thread count.

/// A `[n × k]` PyTorch weight in int8, packed for the kernel: blocks of 16 output columns,
/// each as `[k/4][16][4]` bytes (four consecutive k of one column next to each other).
pub struct QWeight {
    pub n: usize,
    pub k: usize,
    /// `k` rounded up to a multiple of 4 (padding is zero).
    kp: usize,
    packed: Vec<i8>,
    scale: Vec<f32>,
    /// 128 × Σ_k w[n][k]: what the unsigned offset of the activations adds.
    offset: Vec<i32>,
}

const NB: usize = 16;

use crate::simd::Level;

impl QWeight {
    /// Quantizes `w` (`[n × k]`, row-major as PyTorch stores Linear weights). `n` must be a
    /// multiple of 16.
    pub fn new(w: &[f32], n: usize, k: usize) -> Self {
        assert!(n.is_multiple_of(NB) && w.len() == n * k);
        let kp = k.div_ceil(4) * 4;
        let mut packed = vec![0i8; n * kp];
        let mut scale = vec![0f32; n];
        let mut offset = vec![0i32; n];
        for c in 0..n {
            let row = &w[c * k..(c + 1) * k];
            let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
            let s = if max > 0.0 { max / 127.0 } else { 1.0 };
            scale[c] = s;
            let (b, j) = (c / NB, c % NB);
            let mut sum = 0i32;
            for (kk, v) in row.iter().enumerate() {
                let q = (v / s).round_ties_even().clamp(-127.0, 127.0) as i8;
                sum += q as i32;
                packed[b * kp * NB + (kk / 4) * NB * 4 + j * 4 + kk % 4] = q;
            }
            offset[c] = 128 * sum;
        }
        Self {
            n,
            k,
            kp,
            packed,
            scale,
            offset,
        }
    }
}

/// Quantizes rows of `a` (`[m × k]`) into `q` (`[m × kp]`, `q + 128` as bytes) and their
/// scales.
fn quantize_rows(
    level: Level,
    a: &[f32],
    m: usize,
    k: usize,
    kp: usize,
    q: &mut Vec<u8>,
    scales: &mut Vec<f32>,
) {
    q.clear();
    q.resize(m * kp, 128);
    scales.clear();
    scales.resize(m, 0.0);
    super::kernels::quantize_rows_at(level, &a[..m * k], k, kp, q, scales);
}

/// `out[m × n] = a[m × k] · wᵀ` through int8; `scratch` is reused between calls.
pub fn qmatmul(
    a: &[f32],
    w: &QWeight,
    out: &mut [f32],
    m: usize,
    scratch: &mut (Vec<u8>, Vec<f32>),
) {
    qmatmul_at(crate::simd::level(), a, w, out, m, scratch)
}

/// [`qmatmul`] at a given SIMD level (VNNI at [`Level::Avx512`] when the CPU has it).
pub fn qmatmul_at(
    level: Level,
    a: &[f32],
    w: &QWeight,
    out: &mut [f32],
    m: usize,
    scratch: &mut (Vec<u8>, Vec<f32>),
) {
    let (k, n, kp) = (w.k, w.n, w.kp);
    assert!(a.len() >= m * k && out.len() >= m * n);
    let (q, scales) = scratch;
    quantize_rows(level, a, m, k, kp, q, scales);
    #[cfg(target_arch = "x86_64")]
    {
        if level.clamp_to_cpu() == Level::Avx512 && is_x86_feature_detected!("avx512vnni") {
            // SAFETY: the features are present; the buffers hold m·kp, n·kp and m·n values.
            unsafe { vnni::matmul(q, scales, w, out, m) };
            return;
        }
    }
    for r in 0..m {
        let qa = &q[r * kp..(r + 1) * kp];
        for c in 0..n {
            let (b, j) = (c / NB, c % NB);
            let mut acc = 0i32;
            for k4 in 0..kp / 4 {
                let wb = &w.packed[b * kp * NB + k4 * NB * 4 + j * 4..][..4];
                for t in 0..4 {
                    acc += qa[k4 * 4 + t] as i32 * wb[t] as i32;
                }
            }
            out[r * n + c] = (acc - w.offset[c]) as f32 * (scales[r] * w.scale[c]);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod vnni {
    use super::{QWeight, NB};
    use std::arch::x86_64::*;

    /// # Safety
    /// The CPU must have AVX-512 F, BW and VNNI; `q` holds `m × w.kp` bytes, `scales`
    /// `m` values and `out` at least `m × w.n` (all reads and writes are unchecked).
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub unsafe fn matmul(q: &[u8], scales: &[f32], w: &QWeight, out: &mut [f32], m: usize) {
        // Column panels outside, rows inside: a panel of 4 blocks × k stays in L1/L2
        // while every row streams past it; 6 × 4 accumulators + 4 weight vectors fill
        // the 32 registers.
        let blocks = w.n / NB;
        let mut b = 0;
        while b < blocks {
            let cb = if b + 4 <= blocks { 4 } else { 1 };
            let mut r = 0;
            while r + 6 <= m {
                if cb == 4 {
                    tile::<6, 4>(q, scales, w, out, r, b);
                } else {
                    tile::<6, 1>(q, scales, w, out, r, b);
                }
                r += 6;
            }
            while r < m {
                if cb == 4 {
                    tile::<1, 4>(q, scales, w, out, r, b);
                } else {
                    tile::<1, 1>(q, scales, w, out, r, b);
                }
                r += 1;
            }
            b += cb;
        }
    }

    /// Rows `r0..r0+R` × column blocks `b0..b0+C` (16 columns each).
    #[inline(always)]
    unsafe fn tile<const R: usize, const C: usize>(
        q: &[u8],
        scales: &[f32],
        w: &QWeight,
        out: &mut [f32],
        r0: usize,
        b0: usize,
    ) {
        let kp = w.kp;
        let mut acc = [[_mm512_setzero_si512(); C]; R];
        let qp = q.as_ptr();
        let wp = w.packed.as_ptr();
        for k4 in 0..kp / 4 {
            let mut wv = [_mm512_setzero_si512(); C];
            for (c, v) in wv.iter_mut().enumerate() {
                *v = _mm512_loadu_si512(wp.add((b0 + c) * kp * NB + k4 * NB * 4) as *const _);
            }
            for (i, row) in acc.iter_mut().enumerate() {
                let a = _mm512_set1_epi32(
                    (qp.add((r0 + i) * kp + k4 * 4) as *const i32).read_unaligned(),
                );
                for c in 0..C {
                    row[c] = _mm512_dpbusd_epi32(row[c], a, wv[c]);
                }
            }
        }
        let n = w.n;
        for (i, row) in acc.iter().enumerate() {
            let s = _mm512_set1_ps(scales[r0 + i]);
            for (c, v) in row.iter().enumerate() {
                let col = (b0 + c) * NB;
                let off = _mm512_loadu_si512(w.offset.as_ptr().add(col) as *const _);
                let ws = _mm512_loadu_ps(w.scale.as_ptr().add(col));
                let v = _mm512_cvtepi32_ps(_mm512_sub_epi32(*v, off));
                let v = _mm512_mul_ps(v, _mm512_mul_ps(s, ws));
                _mm512_storeu_ps(out.as_mut_ptr().add((r0 + i) * n + col), v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int8_product_is_close_to_f32_and_paths_agree() {
        let (m, k, n) = (13, 38, 80);
        let a: Vec<f32> = (0..m * k)
            .map(|i| ((i * 31 % 89) as f32 - 44.0) / 17.0)
            .collect();
        let w: Vec<f32> = (0..n * k)
            .map(|i| ((i * 17 % 73) as f32 - 36.0) / 50.0)
            .collect();
        let qw = QWeight::new(&w, n, k);
        let mut out = vec![0f32; m * n];
        let mut scratch = Default::default();
        qmatmul(&a, &qw, &mut out, m, &mut scratch);
        let mut worst = 0f32;
        for r in 0..m {
            for c in 0..n {
                let want: f32 = (0..k).map(|t| a[r * k + t] * w[c * k + t]).sum();
                let norm: f32 = (0..k).map(|t| (a[r * k + t] * w[c * k + t]).abs()).sum();
                worst = worst.max((out[r * n + c] - want).abs() / norm);
            }
        }
        assert!(worst < 0.02, "relative error {worst}");
        // Every SIMD level this CPU has gives the same bits.
        for l in Level::available() {
            let mut other = vec![0f32; m * n];
            qmatmul_at(l, &a, &qw, &mut other, m, &mut Default::default());
            assert!(
                other
                    .iter()
                    .zip(&out)
                    .all(|(x, y)| x.to_bits() == y.to_bits()),
                "level {} differs",
                l.name()
            );
        }
        // The portable path, by hand, must give the very same numbers.
        let (q, scales) = &scratch;
        for r in 0..m {
            for c in 0..n {
                let acc: i32 = (0..k)
                    .map(|t| {
                        q[r * qw.kp + t] as i32
                            * ((w[c * k + t] / qw.scale[c]).round_ties_even() as i32)
                    })
                    .sum();
                let want = (acc - qw.offset[c]) as f32 * (scales[r] * qw.scale[c]);
                assert_eq!(out[r * n + c], want);
            }
        }
    }
}
