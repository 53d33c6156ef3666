//! The element-wise work of a transformer layer, fused and vectorisable: candle runs
//! GELU through scalar `erff` and softmax/layer norm as several passes over memory, which
//! cost more than the matmuls at hidden size 384. Each kernel is compiled three times
//! (AVX-512, AVX2+FMA, baseline) and picked at run time ([`crate::simd`];
//! `BITALIGN_SIMD` forces a lower one), so the binary stays portable.
//! No kernel reassociates across a row differently on different paths (reductions use a
//! fixed 16-lane order and `mul_add` is exactly rounded everywhere), so results are
//! bit-identical whatever instruction set runs them.

use crate::simd::Level;

/// The instruction set the kernels run with, for reports.
pub fn simd_level() -> &'static str {
    crate::simd::level().name()
}

/// Defines `pub fn NAME(args)`, which runs the body compiled for the process's SIMD level
/// ([`crate::simd::level`]), and `pub fn NAME_AT(level, args)` for a given level (lowered
/// to what the CPU has), so tests can run every path.
macro_rules! multiversion {
    ($(#[$m:meta])* pub fn $name:ident / $at:ident($($a:ident: $t:ty),* $(,)?) $body:block) => {
        $(#[$m])*
        pub fn $name($($a: $t),*) {
            $at(crate::simd::level(), $($a),*)
        }

        #[doc = concat!("[`", stringify!($name), "`] at a given SIMD level.")]
        #[allow(unused_variables)]
        pub fn $at(level: Level, $($a: $t),*) {
            #[inline(always)]
            fn imp($($a: $t),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
                unsafe fn v4($($a: $t),*) { imp($($a),*) }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn v3($($a: $t),*) { imp($($a),*) }
                match level.clamp_to_cpu() {
                    // SAFETY: the CPU has these features (`clamp_to_cpu` checked).
                    Level::Avx512 => return unsafe { v4($($a),*) },
                    Level::Avx2 => return unsafe { v3($($a),*) },
                    Level::Portable => {}
                }
            }
            imp($($a),*)
        }
    };
}

const LANES: usize = 16;

/// erf(x) as Eigen/XLA compute it in f32: x·P(x²)/Q(x²) on [-4, 4] (±1 beyond, exact
/// in f32). Max error against a double-precision erf ≈ 1e-7; no branches, so it vectorises.
#[inline(always)]
#[allow(clippy::excessive_precision)] // the published coefficients, as printed
pub fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = -2.726_142_3e-10_f32;
    p = p.mul_add(x2, 2.770_681_4e-8);
    p = p.mul_add(x2, -2.101_024e-6);
    p = p.mul_add(x2, -5.692_506_5e-5);
    p = p.mul_add(x2, -7.349_906e-4);
    p = p.mul_add(x2, -2.954_6e-3);
    p = p.mul_add(x2, -1.609_603_3e-2);
    let mut q = -1.456_607_2e-5_f32;
    q = q.mul_add(x2, -2.133_740_6e-4);
    q = q.mul_add(x2, -1.682_827e-3);
    q = q.mul_add(x2, -7.373_329e-3);
    q = q.mul_add(x2, -1.426_474e-2);
    x * p / q
}

/// e^x for x in [-87, 88] (clamped), Cephes' expf: Cody-Waite reduction by ln 2 and a
/// degree-5 polynomial, relative error ≈ 1e-7; branch-free so it vectorises.
#[inline(always)]
#[allow(clippy::excessive_precision)] // the published coefficients, as printed
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let n = x.mul_add(std::f32::consts::LOG2_E, 0.5).floor();
    let r = n.mul_add(-0.693_359_375, x);
    let r = n.mul_add(2.121_944_4e-4, r);
    let mut p = 1.987_569_1e-4_f32;
    p = p.mul_add(r, 1.398_199_9e-3);
    p = p.mul_add(r, 8.333_452e-3);
    p = p.mul_add(r, 4.166_579_6e-2);
    p = p.mul_add(r, 1.666_666_5e-1);
    p = p.mul_add(r, 5.000_000_1e-1);
    let y = (p * r).mul_add(r, r) + 1.0;
    y * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

#[inline(always)]
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// Sum in a fixed 16-lane order (vectorisable, same result on every path).
#[inline(always)]
fn sum(x: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let mut chunks = x.chunks_exact(LANES);
    for c in &mut chunks {
        for l in 0..LANES {
            acc[l] += c[l];
        }
    }
    let mut s = 0f32;
    for v in chunks.remainder() {
        s += v;
    }
    acc.iter().sum::<f32>() + s
}

multiversion! {
    /// `x[r][c] = gelu(x[r][c] + bias[c])` for every row of width `bias.len()` (erf GELU,
    /// as BERT's `gelu`).
    pub fn bias_gelu / bias_gelu_at(x: &mut [f32], bias: &[f32]) {
        for row in x.chunks_exact_mut(bias.len()) {
            for (v, b) in row.iter_mut().zip(bias) {
                *v = gelu(*v + b);
            }
        }
    }
}

multiversion! {
    /// `x[r][c] += bias[c]` for every row of width `bias.len()`.
    pub fn add_bias / add_bias_at(x: &mut [f32], bias: &[f32]) {
        for row in x.chunks_exact_mut(bias.len()) {
            for (v, b) in row.iter_mut().zip(bias) {
                *v += b;
            }
        }
    }
}

multiversion! {
    /// `residual[r] = LayerNorm(x[r] + bias + residual[r])` for every row of width
    /// `bias.len()`: the end of BERT's attention and feed-forward blocks in one pass.
    pub fn bias_residual_layer_norm / bias_residual_layer_norm_at(
        x: &mut [f32],
        bias: &[f32],
        residual: &mut [f32],
        gamma: &[f32],
        beta: &[f32],
        eps: f32,
    ) {
        let h = bias.len();
        for (row, res) in x.chunks_exact_mut(h).zip(residual.chunks_exact_mut(h)) {
            for ((v, b), r) in row.iter_mut().zip(bias).zip(res.iter()) {
                *v = *v + b + r;
            }
            norm_row(row, res, gamma, beta, eps);
        }
    }
}

multiversion! {
    /// In-place LayerNorm of every row of width `gamma.len()`.
    pub fn layer_norm / layer_norm_at(x: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
        let h = gamma.len();
        let mut tmp = vec![0f32; h];
        for row in x.chunks_exact_mut(h) {
            tmp.copy_from_slice(row);
            norm_row(&tmp, row, gamma, beta, eps);
        }
    }
}

/// out = (x - mean) / sqrt(var + eps) · gamma + beta, two-pass variance as PyTorch.
#[inline(always)]
fn norm_row(x: &[f32], out: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    let n = x.len() as f32;
    let mean = sum(x) / n;
    let mut acc = [0f32; LANES];
    let mut chunks = x.chunks_exact(LANES);
    for c in &mut chunks {
        for l in 0..LANES {
            let d = c[l] - mean;
            acc[l] = d.mul_add(d, acc[l]);
        }
    }
    let mut rest = 0f32;
    for v in chunks.remainder() {
        let d = v - mean;
        rest = d.mul_add(d, rest);
    }
    let var = (acc.iter().sum::<f32>() + rest) / n;
    let inv = 1.0 / (var + eps).sqrt();
    for (((o, v), g), b) in out.iter_mut().zip(x).zip(gamma).zip(beta) {
        *o = ((v - mean) * inv).mul_add(*g, *b);
    }
}

/// Query rows handled together in [`attention`]: independent accumulator chains keep the
/// FMA units busy instead of waiting on one chain's latency.
const ROWS: usize = 4;

/// Scratch floats [`attention`] needs for a sequence of `len` tokens.
pub fn attention_scratch(len: usize, hidden: usize, heads: usize) -> usize {
    len.div_ceil(LANES) * LANES * (hidden / heads + ROWS)
}

multiversion! {
    /// Self-attention of one sequence of `len` tokens from packed `qkv` rows
    /// (`[len, 3·hidden]`: queries, keys, values, biases added) into `ctx` rows
    /// (`[len, hidden]`), `heads` heads. `scratch` holds at least [`attention_scratch`]
    /// floats. No mask: the sequence is unpadded. Keys are transposed per head and rows
    /// padded to whole vectors so that scores and weighted sums are vector operations,
    /// four query rows at a time, accumulated in registers.
    pub fn attention / attention_at(
        qkv: &[f32],
        ctx: &mut [f32],
        len: usize,
        hidden: usize,
        heads: usize,
        scratch: &mut [f32],
    ) {
        let d = hidden / heads;
        let scale = 1.0 / (d as f32).sqrt();
        let stride = 3 * hidden;
        let lp = len.div_ceil(LANES) * LANES;
        let (kt, rest) = scratch.split_at_mut(d * lp);
        let probs = &mut rest[..ROWS * lp];
        kt.fill(0.0);
        for h in 0..heads {
            for j in 0..len {
                let k = &qkv[j * stride + hidden + h * d..][..d];
                for c in 0..d {
                    kt[c * lp + j] = k[c] * scale;
                }
            }
            let q = |i: usize| &qkv[i * stride + h * d..][..d];
            for i0 in (0..len).step_by(ROWS) {
                let nr = ROWS.min(len - i0);
                // Rows past the end repeat the last one; their results are not stored.
                let qs: [&[f32]; ROWS] = std::array::from_fn(|r| q((i0 + r).min(len - 1)));
                for jb in (0..lp).step_by(LANES) {
                    let mut acc = [[0f32; LANES]; ROWS];
                    for c in 0..d {
                        let k = &kt[c * lp + jb..][..LANES];
                        for r in 0..ROWS {
                            let qv = qs[r][c];
                            for l in 0..LANES {
                                acc[r][l] = qv.mul_add(k[l], acc[r][l]);
                            }
                        }
                    }
                    for r in 0..ROWS {
                        probs[r * lp + jb..][..LANES].copy_from_slice(&acc[r]);
                    }
                }
                for row in probs.chunks_exact_mut(lp).take(nr) {
                    let mut max = f32::NEG_INFINITY;
                    for s in &row[..len] {
                        max = max.max(*s);
                    }
                    for s in row.iter_mut() {
                        *s = exp(*s - max);
                    }
                    row[len..].fill(0.0);
                    let inv = 1.0 / sum(row);
                    for s in row.iter_mut() {
                        *s *= inv;
                    }
                }
                let v = |j: usize| &qkv[j * stride + 2 * hidden + h * d..][..d];
                let mut cb = 0;
                while cb + LANES <= d {
                    let mut acc = [[0f32; LANES]; ROWS];
                    for j in 0..len {
                        let vj = &v(j)[cb..cb + LANES];
                        for r in 0..ROWS {
                            let p = probs[r * lp + j];
                            for l in 0..LANES {
                                acc[r][l] = p.mul_add(vj[l], acc[r][l]);
                            }
                        }
                    }
                    for (r, a) in acc.iter().enumerate().take(nr) {
                        ctx[(i0 + r) * hidden + h * d + cb..][..LANES].copy_from_slice(a);
                    }
                    cb += LANES;
                }
                if cb < d {
                    for r in 0..nr {
                        let out = &mut ctx[(i0 + r) * hidden + h * d + cb..][..d - cb];
                        out.fill(0.0);
                        for j in 0..len {
                            let p = probs[r * lp + j];
                            for (o, x) in out.iter_mut().zip(&v(j)[cb..]) {
                                *o = p.mul_add(*x, *o);
                            }
                        }
                    }
                }
            }
        }
    }
}

multiversion! {
    /// Rows of `a` (width `k`) as symmetric int8 with one scale per row (max|x| / 127),
    /// stored offset by 128 as bytes in rows of width `kp` (padding stays 128, i.e. 0),
    /// for the int8 matrix product.
    pub fn quantize_rows / quantize_rows_at(a: &[f32], k: usize, kp: usize, q: &mut [u8], scales: &mut [f32]) {
        for ((row, qr), s) in a.chunks_exact(k).zip(q.chunks_exact_mut(kp)).zip(scales.iter_mut()) {
            let mut acc = [0f32; LANES];
            let mut chunks = row.chunks_exact(LANES);
            for c in &mut chunks {
                for l in 0..LANES {
                    acc[l] = acc[l].max(c[l].abs());
                }
            }
            let mut max = 0f32;
            for v in chunks.remainder().iter().chain(acc.iter()) {
                max = max.max(v.abs());
            }
            let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
            let inv = 1.0 / scale;
            // Round to nearest even by adding 1.5·2²³ (the integer lands in the low
            // mantissa bits): the same as round_ties_even, but vectorisable.
            const MAGIC: f32 = 12_582_912.0;
            for (d, v) in qr[..k].iter_mut().zip(row) {
                let r = (v * inv).clamp(-127.0, 127.0) + MAGIC;
                *d = (r.to_bits().wrapping_sub(MAGIC.to_bits()) as i32 + 128) as u8;
            }
            *s = scale;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_and_exp_are_accurate() {
        let mut worst_erf = 0f64;
        let mut worst_exp = 0f64;
        for i in -60_000..=60_000 {
            let x = i as f32 * 1e-4;
            let want = candle_core::cpu::erf::erf_f64(x as f64);
            worst_erf = worst_erf.max((erf(x) as f64 - want).abs());
            let y = i as f32 * 1.4e-3; // [-84, 84]
            let e = (y as f64).exp();
            worst_exp = worst_exp.max(((exp(y) as f64) - e).abs() / e);
        }
        assert!(worst_erf < 1e-6, "erf max abs error {worst_erf}");
        assert!(worst_exp < 1e-6, "exp max rel error {worst_exp}");
    }

    #[test]
    fn fused_kernels_match_plain_formulas() {
        let h = 40; // not a multiple of 16: remainders are exercised
        let x: Vec<f32> = (0..3 * h)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 9.0)
            .collect();
        let bias: Vec<f32> = (0..h).map(|i| i as f32 / 40.0 - 0.5).collect();
        let mut g = x.clone();
        bias_gelu(&mut g, &bias);
        for (i, v) in g.iter().enumerate() {
            let t = (x[i] + bias[i % h]) as f64;
            let want = 0.5 * t * (1.0 + candle_core::cpu::erf::erf_f64(t / 2f64.sqrt()));
            assert!(
                (*v as f64 - want).abs() < 2e-6,
                "gelu({t}) = {v}, want {want}"
            );
        }
        let gamma: Vec<f32> = (0..h).map(|i| 1.0 + i as f32 / 100.0).collect();
        let beta: Vec<f32> = (0..h).map(|i| i as f32 / 50.0).collect();
        let mut out = x.clone();
        let mut res: Vec<f32> = x.iter().map(|v| v * 0.5).collect();
        let res0 = res.clone();
        bias_residual_layer_norm(&mut out, &bias, &mut res, &gamma, &beta, 1e-12);
        for r in 0..3 {
            let row: Vec<f64> = (0..h)
                .map(|c| (x[r * h + c] + bias[c] + res0[r * h + c]) as f64)
                .collect();
            let mean = row.iter().sum::<f64>() / h as f64;
            let var = row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / h as f64;
            for c in 0..h {
                let want =
                    (row[c] - mean) / (var + 1e-12).sqrt() * gamma[c] as f64 + beta[c] as f64;
                assert!((res[r * h + c] as f64 - want).abs() < 1e-5);
            }
        }
    }

    /// Every kernel, run at each level this CPU has, gives the same bits as the portable
    /// path (the module's promise; `BITALIGN_SIMD` picks among them in a run).
    #[test]
    fn every_simd_level_gives_the_same_bits() {
        let (rows, h, heads, len) = (5, 56, 4, 19);
        let x: Vec<f32> = (0..rows * h)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
            .collect();
        let bias: Vec<f32> = (0..h).map(|i| i as f32 / 30.0 - 0.9).collect();
        let gamma: Vec<f32> = (0..h).map(|i| 1.0 + i as f32 / 90.0).collect();
        let beta: Vec<f32> = (0..h).map(|i| i as f32 / 70.0).collect();
        let qkv: Vec<f32> = (0..len * 3 * h)
            .map(|i| ((i * 53 % 97) as f32 - 48.0) / 25.0)
            .collect();
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<u32>>();
        let run = |l: Level| {
            let mut out = Vec::new();
            let mut g = x.clone();
            bias_gelu_at(l, &mut g, &bias);
            out.push(bits(&g));
            let mut a = x.clone();
            add_bias_at(l, &mut a, &bias);
            out.push(bits(&a));
            let mut t = x.clone();
            let mut res: Vec<f32> = x.iter().map(|v| v * 0.3).collect();
            bias_residual_layer_norm_at(l, &mut t, &bias, &mut res, &gamma, &beta, 1e-12);
            out.push(bits(&res));
            let mut n = x.clone();
            layer_norm_at(l, &mut n, &gamma, &beta, 1e-5);
            out.push(bits(&n));
            let mut ctx = vec![0f32; len * h];
            let mut scratch = vec![0f32; attention_scratch(len, h, heads)];
            attention_at(l, &qkv, &mut ctx, len, h, heads, &mut scratch);
            out.push(bits(&ctx));
            let kp = h.div_ceil(4) * 4 + 4;
            let mut q = vec![128u8; rows * kp];
            let mut sc = vec![0f32; rows];
            quantize_rows_at(l, &x, h, kp, &mut q, &mut sc);
            out.push(q.iter().map(|&b| b as u32).collect());
            out.push(bits(&sc));
            out
        };
        let want = run(Level::Portable);
        let names = [
            "bias_gelu",
            "add_bias",
            "bias_residual_layer_norm",
            "layer_norm",
            "attention",
            "quantize_rows (bytes)",
            "quantize_rows (scales)",
        ];
        for l in Level::available() {
            for (k, (got, want)) in run(l).iter().zip(&want).enumerate() {
                assert!(got == want, "{} differs at level {}", names[k], l.name());
            }
        }
    }

    #[test]
    fn attention_matches_a_plain_softmax() {
        for (len, hidden, heads) in [(5, 24, 3), (7, 96, 3), (21, 64, 2)] {
            let qkv: Vec<f32> = (0..len * 3 * hidden)
                .map(|i| ((i * 53 % 97) as f32 - 48.0) / 30.0)
                .collect();
            let mut ctx = vec![0f32; len * hidden];
            let mut scratch = vec![0f32; attention_scratch(len, hidden, heads)];
            attention(&qkv, &mut ctx, len, hidden, heads, &mut scratch);
            let d = hidden / heads;
            for h in 0..heads {
                for i in 0..len {
                    let q = |c: usize| qkv[i * 3 * hidden + h * d + c] as f64;
                    let s: Vec<f64> = (0..len)
                        .map(|j| {
                            (0..d)
                                .map(|c| q(c) * qkv[j * 3 * hidden + hidden + h * d + c] as f64)
                                .sum::<f64>()
                                / (d as f64).sqrt()
                        })
                        .collect();
                    let m = s.iter().cloned().fold(f64::MIN, f64::max);
                    let z: f64 = s.iter().map(|v| (v - m).exp()).sum();
                    for c in 0..d {
                        let want: f64 = (0..len)
                            .map(|j| {
                                (s[j] - m).exp() / z
                                    * qkv[j * 3 * hidden + 2 * hidden + h * d + c] as f64
                            })
                            .sum();
                        assert!((ctx[i * hidden + h * d + c] as f64 - want).abs() < 1e-5);
                    }
                }
            }
        }
    }
}
