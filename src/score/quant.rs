//! Reduced-precision search: both sides as 8-bit integers, so the similarity pass moves a
//! quarter of the bytes and (with AVX-512 VNNI) does four times the multiply-adds per
//! instruction. The caller re-scores the candidates it keeps in f32, so only the choice of
//! candidates is approximate, never a reported cosine.
//!
//! Sentence embeddings are anisotropic (e5's mean vector has norm ≈ 0.9: every cosine is
//! high), so the rows are centred on the mean `μ` of both sides before they are rounded:
//! `x·y = (x−μ)·(y−μ) + (μ·x − |μ|²/2) + (μ·y − |μ|²/2)`, the first term in integers
//! (per-row scale: the largest |component| maps to 127), the other two exact per row. The
//! residuals are half as long as the rows, which halves the rounding error.
//!
//! Integer dot products are exact, so every path (VNNI or portable) and every block or
//! thread split gives the same integer, and the same f32 estimate from it.

use crate::embed::Embeddings;
use rayon::prelude::*;
use std::sync::OnceLock;

/// Codes per row are padded to a multiple of this (one AVX-512 register of bytes).
const LANES: usize = 64;

/// One side's rows as 8-bit codes, with what turns their integer dot products back into
/// cosine estimates.
#[derive(Debug, Clone)]
pub struct Quantized {
    /// Row width in codes (the embedding width rounded up to [`LANES`]; the padding is 0).
    width: usize,
    codes: Vec<i8>,
    /// Per row: value of one code step.
    scale: Vec<f32>,
    /// Per row: `μ·v − |μ|²/2`.
    bias: Vec<f32>,
    /// Per row: the sum of its codes (the VNNI path offsets one side by 128 and takes
    /// 128 × this back off).
    sum: Vec<i32>,
    /// Per row: what bounds the error of its estimates ([`Quantized::bound`]).
    bound: Vec<Bound>,
}

/// What one row contributes to the largest possible difference between a pair's estimate
/// and the cosine the f32 kernel computes for it, each rounded up.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bound {
    /// |r − scale·codes|, r the centred row: the rounding the codes lost.
    pub err: f32,
    /// |scale·codes|: the centred row as the codes hold it.
    pub res: f32,
    /// |v|: the row itself (the f32 kernel's own rounding grows with it).
    pub norm: f32,
    /// norm + res + err + |bias|: the size of every term of an estimate.
    pub mag: f32,
}

impl Bound {
    fn of(v: &[f32], mu: &[f32], codes: &[i8], scale: f32, bias: f32) -> Bound {
        let (mut err, mut res, mut norm) = (0.0f64, 0.0f64, 0.0f64);
        for ((&a, &m), &c) in v.iter().zip(mu).zip(codes) {
            let held = scale as f64 * c as f64;
            let e = (a as f64 - m as f64) - held;
            err += e * e;
            res += held * held;
            norm += a as f64 * a as f64;
        }
        let (err, res, norm) = (err.sqrt(), res.sqrt(), norm.sqrt());
        Bound {
            err: up(err),
            res: up(res),
            norm: up(norm),
            mag: up(norm + res + err + (bias as f64).abs()),
        }
    }

    fn finite(&self) -> bool {
        self.mag.is_finite()
    }

    /// The componentwise maximum: a bound for every row of a set at once.
    pub fn max(self, o: Bound) -> Bound {
        Bound {
            err: self.err.max(o.err),
            res: self.res.max(o.res),
            norm: self.norm.max(o.norm),
            mag: self.mag.max(o.mag),
        }
    }
}

/// `v` as an f32 no smaller than it.
pub fn up(v: f64) -> f32 {
    let f = v as f32;
    if (f as f64) < v {
        f.next_up()
    } else {
        f
    }
}

/// `v` as an f32 no larger than it.
pub fn down(v: f64) -> f32 {
    let f = v as f32;
    if (f as f64) > v {
        f.next_down()
    } else {
        f
    }
}

/// The most any estimate of a row `a` with a row among `b` (the maxima of `b`'s bounds)
/// can differ from the f32 kernel's cosine of the pair, for rows of width `d`:
/// the rounding of the codes (|e_a|·|r_b| + |r_a|·|e_b| + |e_a|·|e_b|, Cauchy–Schwarz on
/// r_a·r_b − (r_a − e_a)·(r_b − e_b)), the f32 kernel's summation error (at most
/// γ_d·Σ|a_t·b_t| ≤ γ_d·|a|·|b| with γ_d = d·u / (1 − d·u), u = 2⁻²⁴, whatever the order of
/// the d roundings), and the f32 rounding of the estimate and of the biases (2⁻²⁰ of
/// every term's size, generous).
pub fn slack(a: &Bound, b: &Bound, d: usize) -> f64 {
    let (ea, ra, na, ma) = (a.err as f64, a.res as f64, a.norm as f64, a.mag as f64);
    let (eb, rb, nb, mb) = (b.err as f64, b.res as f64, b.norm as f64, b.mag as f64);
    let codes = ea * rb + ra * eb + ea * eb;
    let du = d as f64 * (-24f64).exp2();
    let kernel = du / (1.0 - du).max(f64::MIN_POSITIVE) * na * nb;
    let float = (-20f64).exp2() * (ma + 1.0) * (mb + 1.0);
    (codes + kernel + float) * (1.0 + (-10f64).exp2())
}

/// Rows of a [`Quantized`] side gathered for one block.
#[derive(Debug, Default)]
pub struct Gathered {
    codes: Vec<i8>,
    scale: Vec<f32>,
    bias: Vec<f32>,
    sum: Vec<i32>,
}

impl Quantized {
    /// Both sides, centred on the mean of all their rows.
    pub fn pair(x: &Embeddings, y: &Embeddings) -> (Quantized, Quantized) {
        let mu = mean(&[x, y]);
        (Self::centred(x, &mu), Self::centred(y, &mu))
    }

    fn centred(e: &Embeddings, mu: &[f32]) -> Quantized {
        let d = e.dim();
        let width = d.div_ceil(LANES).max(1) * LANES;
        let half_mu2 = 0.5 * mu.iter().map(|&m| m as f64 * m as f64).sum::<f64>();
        let rows: Vec<(Vec<i8>, f32, f32, i32, Bound)> = (0..e.len())
            .into_par_iter()
            .map(|i| {
                let v = e.row(i);
                let r: Vec<f32> = v.iter().zip(mu).map(|(a, m)| a - m).collect();
                let top = r.iter().fold(0.0f32, |a, b| a.max(b.abs()));
                let scale = if top > 0.0 { top / 127.0 } else { 1.0 };
                let mut codes = vec![0i8; width];
                for (c, &t) in codes.iter_mut().zip(&r) {
                    *c = (t / scale).round().clamp(-127.0, 127.0) as i8;
                }
                let dot_mu: f64 = v.iter().zip(mu).map(|(&a, &m)| a as f64 * m as f64).sum();
                let sum = codes.iter().map(|&c| c as i32).sum();
                let bias = (dot_mu - half_mu2) as f32;
                let bound = Bound::of(v, mu, &codes, scale, bias);
                (codes, scale, bias, sum, bound)
            })
            .collect();
        let mut q = Quantized {
            width,
            codes: Vec::with_capacity(rows.len() * width),
            scale: Vec::with_capacity(rows.len()),
            bias: Vec::with_capacity(rows.len()),
            sum: Vec::with_capacity(rows.len()),
            bound: Vec::with_capacity(rows.len()),
        };
        for (c, s, b, t, e) in rows {
            q.codes.extend_from_slice(&c);
            q.scale.push(s);
            q.bias.push(b);
            q.sum.push(t);
            q.bound.push(e);
        }
        q
    }

    /// Row `i`'s part of the error bound of its estimates.
    pub fn bound(&self, i: usize) -> &Bound {
        &self.bound[i]
    }

    /// Whether every row's bound is finite (non-finite embeddings cannot be screened).
    pub fn bounded(&self) -> bool {
        self.bound.iter().all(Bound::finite)
    }

    /// Rows `from..to`, contiguous, as a block reads them.
    pub fn range(&self, from: usize, to: usize) -> View<'_> {
        View {
            width: self.width,
            codes: &self.codes[from * self.width..to * self.width],
            scale: &self.scale[from..to],
            bias: &self.bias[from..to],
            sum: &self.sum[from..to],
        }
    }

    /// Copies rows `ids` into `out`, contiguous.
    pub fn gather<'a>(&self, ids: &[u32], out: &'a mut Gathered) -> View<'a> {
        out.codes.clear();
        out.scale.clear();
        out.bias.clear();
        out.sum.clear();
        for &i in ids {
            let i = i as usize;
            out.codes
                .extend_from_slice(&self.codes[i * self.width..(i + 1) * self.width]);
            out.scale.push(self.scale[i]);
            out.bias.push(self.bias[i]);
            out.sum.push(self.sum[i]);
        }
        View {
            width: self.width,
            codes: &out.codes,
            scale: &out.scale,
            bias: &out.bias,
            sum: &out.sum,
        }
    }
}

/// Mean of all rows of `sides`, summed in f64 over fixed chunks of rows so that the
/// result (and every code) is the same whatever the thread count.
fn mean(sides: &[&Embeddings]) -> Vec<f32> {
    const CHUNK: usize = 4096;
    let d = sides.iter().map(|e| e.dim()).max().unwrap_or(0);
    let mut total = vec![0.0f64; d];
    let mut n = 0usize;
    for e in sides {
        let partial: Vec<Vec<f64>> = (0..e.len().div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| {
                let mut s = vec![0.0f64; d];
                for i in c * CHUNK..((c + 1) * CHUNK).min(e.len()) {
                    for (a, &v) in s.iter_mut().zip(e.row(i)) {
                        *a += v as f64;
                    }
                }
                s
            })
            .collect();
        for p in partial {
            for (a, v) in total.iter_mut().zip(p) {
                *a += v;
            }
        }
        n += e.len();
    }
    total
        .iter()
        .map(|&s| (s / n.max(1) as f64) as f32)
        .collect()
}

/// Contiguous rows of a [`Quantized`] side.
#[derive(Clone, Copy)]
pub struct View<'a> {
    width: usize,
    codes: &'a [i8],
    scale: &'a [f32],
    bias: &'a [f32],
    sum: &'a [i32],
}

impl View<'_> {
    fn len(&self) -> usize {
        self.scale.len()
    }
}

/// The cosine estimate of a pair from its integer dot product.
#[inline(always)]
fn estimate(dot: i32, x: &View<'_>, i: usize, y: &View<'_>, j: usize) -> f32 {
    (dot as f32) * (x.scale[i] * y.scale[j]) + (x.bias[i] + y.bias[j])
}

type BlockFn = fn(&View<'_>, &View<'_>, &mut [f32]);

/// `out[i * ny + j]` = the cosine estimate of x row `i` with y row `j` (row-major).
///
/// # Panics
/// When the views differ in width or `out` is not `nx × ny` long.
pub fn block(x: &View<'_>, y: &View<'_>, out: &mut [f32]) {
    assert_eq!(x.width, y.width, "quantized rows of different widths");
    assert_eq!(
        out.len(),
        x.len() * y.len(),
        "output block of the wrong size"
    );
    static PICK: OnceLock<BlockFn> = OnceLock::new();
    (PICK.get_or_init(pick))(x, y, out)
}

fn pick() -> BlockFn {
    #[cfg(target_arch = "x86_64")]
    if vnni() {
        // SAFETY: the features are present; `block` asserted the shapes.
        return |x, y, out| unsafe { vnni::block(x, y, out) };
    }
    portable
}

/// Whether [`block`] runs on VNNI (else on plain integer code, slower than the f32 kernel).
pub fn vnni() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        crate::simd::level().clamp_to_cpu() == crate::simd::Level::Avx512
            && std::is_x86_feature_detected!("avx512vnni")
            && std::is_x86_feature_detected!("avx512bw")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Plain integer dot products (what the compiler vectorises); the reference the VNNI path
/// must equal bit for bit.
fn portable(x: &View<'_>, y: &View<'_>, out: &mut [f32]) {
    let w = x.width;
    let ny = y.len();
    for i in 0..x.len() {
        let a = &x.codes[i * w..(i + 1) * w];
        for j in 0..ny {
            let b = &y.codes[j * w..(j + 1) * w];
            let dot: i32 = a.iter().zip(b).map(|(&p, &q)| p as i32 * q as i32).sum();
            out[i * ny + j] = estimate(dot, x, i, y, j);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod vnni {
    use super::{estimate, View, LANES};
    use std::arch::x86_64::*;

    /// x rows in fours against y rows in fours: 16 accumulators of `vpdpbusd`, which takes
    /// unsigned × signed bytes, so x's codes are offset by 128 (`xor 0x80`) and 128 × the
    /// y row's code sum is taken back off.
    ///
    /// # Safety
    /// AVX-512 F, BW and VNNI must be present; the views of equal width and `out`
    /// `nx × ny` long (reads and writes are unchecked).
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub unsafe fn block(x: &View<'_>, y: &View<'_>, out: &mut [f32]) {
        let (nx, ny) = (x.len(), y.len());
        let (nx4, ny4) = (nx - nx % 4, ny - ny % 4);
        let mut i = 0;
        while i < nx {
            let rows = if i < nx4 { 4 } else { 1 };
            let mut j = 0;
            while j < ny {
                if rows == 4 && j < ny4 {
                    square(x, y, i, j, out);
                    j += 4;
                } else if rows == 4 {
                    tile::<4, 1>(x, y, i, j, out);
                    j += 1;
                } else if j < ny4 {
                    tile::<1, 4>(x, y, i, j, out);
                    j += 4;
                } else {
                    tile::<1, 1>(x, y, i, j, out);
                    j += 1;
                }
            }
            i += rows;
        }
    }

    /// A 4×4 tile: the 16 lane sums folded into one register by a transposing butterfly
    /// (integer sums: any order gives the same value), the estimates made 16 at a time
    /// with the same operations, in the same order, as [`estimate`].
    #[inline(always)]
    unsafe fn square(x: &View<'_>, y: &View<'_>, i0: usize, j0: usize, out: &mut [f32]) {
        let w = x.width;
        let xp = x.codes.as_ptr().add(i0 * w) as *const __m512i;
        let yp = y.codes.as_ptr().add(j0 * w) as *const __m512i;
        let step = w / LANES;
        let flip = _mm512_set1_epi8(-128);
        // acc[4c + r] = x_r · y_c, so that the fold puts row r's four sums in lanes 4r..4r+4.
        let mut acc = [_mm512_setzero_si512(); 16];
        for t in 0..step {
            let x0 = _mm512_xor_si512(_mm512_loadu_si512(xp.add(t)), flip);
            let x1 = _mm512_xor_si512(_mm512_loadu_si512(xp.add(step + t)), flip);
            let x2 = _mm512_xor_si512(_mm512_loadu_si512(xp.add(2 * step + t)), flip);
            let x3 = _mm512_xor_si512(_mm512_loadu_si512(xp.add(3 * step + t)), flip);
            for c in 0..4 {
                let yv = _mm512_loadu_si512(yp.add(c * step + t));
                acc[4 * c] = _mm512_dpbusd_epi32(acc[4 * c], x0, yv);
                acc[4 * c + 1] = _mm512_dpbusd_epi32(acc[4 * c + 1], x1, yv);
                acc[4 * c + 2] = _mm512_dpbusd_epi32(acc[4 * c + 2], x2, yv);
                acc[4 * c + 3] = _mm512_dpbusd_epi32(acc[4 * c + 3], x3, yv);
            }
        }
        let sums = fold16(&acc);
        // Lane 4r + c: x row r's value (`per_row`) or y row c's (`per_col`).
        let spread = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
        let per_row = |v: &[f32]| {
            _mm512_permutexvar_ps(
                spread,
                _mm512_castps128_ps512(_mm_loadu_ps(v.as_ptr().add(i0))),
            )
        };
        let per_col = |v: &[f32]| _mm512_broadcast_f32x4(_mm_loadu_ps(v.as_ptr().add(j0)));
        let ysum =
            _mm512_broadcast_i32x4(_mm_loadu_si128(y.sum.as_ptr().add(j0) as *const __m128i));
        let dot = _mm512_sub_epi32(sums, _mm512_slli_epi32::<7>(ysum));
        let est = _mm512_add_ps(
            _mm512_mul_ps(
                _mm512_cvtepi32_ps(dot),
                _mm512_mul_ps(per_row(x.scale), per_col(y.scale)),
            ),
            _mm512_add_ps(per_row(x.bias), per_col(y.bias)),
        );
        let ny = y.len();
        let o = out.as_mut_ptr().add(i0 * ny + j0);
        _mm_storeu_ps(o, _mm512_extractf32x4_ps::<0>(est));
        _mm_storeu_ps(o.add(ny), _mm512_extractf32x4_ps::<1>(est));
        _mm_storeu_ps(o.add(2 * ny), _mm512_extractf32x4_ps::<2>(est));
        _mm_storeu_ps(o.add(3 * ny), _mm512_extractf32x4_ps::<3>(est));
    }

    /// Sums of the lanes of 16 registers, lane `4e + l` holding the sum of `a[4l + e]`
    /// (the shuffles of the f32 kernel's fold, on integers).
    #[inline(always)]
    unsafe fn fold16(a: &[__m512i; 16]) -> __m512i {
        let add = |p: __m512, q: __m512| {
            _mm512_castsi512_ps(_mm512_add_epi32(
                _mm512_castps_si512(p),
                _mm512_castps_si512(q),
            ))
        };
        let h = |p: __m512, q: __m512| {
            add(
                _mm512_shuffle_f32x4::<0x44>(p, q),
                _mm512_shuffle_f32x4::<0xEE>(p, q),
            )
        };
        let q = |p: __m512, q: __m512| {
            add(
                _mm512_shuffle_f32x4::<0x88>(p, q),
                _mm512_shuffle_f32x4::<0xDD>(p, q),
            )
        };
        let e = |p: __m512, q: __m512| {
            add(
                _mm512_shuffle_ps::<0x44>(p, q),
                _mm512_shuffle_ps::<0xEE>(p, q),
            )
        };
        let f = |p: __m512, q: __m512| {
            add(
                _mm512_shuffle_ps::<0x88>(p, q),
                _mm512_shuffle_ps::<0xDD>(p, q),
            )
        };
        let a: [__m512; 16] = std::array::from_fn(|i| _mm512_castsi512_ps(a[i]));
        let v: [__m512; 8] = std::array::from_fn(|m| h(a[2 * m], a[2 * m + 1]));
        let t: [__m512; 4] = std::array::from_fn(|n| q(v[2 * n], v[2 * n + 1]));
        _mm512_castps_si512(f(e(t[0], t[1]), e(t[2], t[3])))
    }

    #[inline(always)]
    #[allow(clippy::needless_range_loop)]
    unsafe fn tile<const R: usize, const C: usize>(
        x: &View<'_>,
        y: &View<'_>,
        i0: usize,
        j0: usize,
        out: &mut [f32],
    ) {
        let w = x.width;
        let xp = x.codes.as_ptr().add(i0 * w) as *const __m512i;
        let yp = y.codes.as_ptr().add(j0 * w) as *const __m512i;
        let step = w / LANES;
        let flip = _mm512_set1_epi8(-128);
        let mut acc = [[_mm512_setzero_si512(); C]; R];
        for t in 0..step {
            let mut xv = [_mm512_setzero_si512(); R];
            for r in 0..R {
                xv[r] = _mm512_xor_si512(_mm512_loadu_si512(xp.add(r * step + t)), flip);
            }
            for c in 0..C {
                let yv = _mm512_loadu_si512(yp.add(c * step + t));
                for r in 0..R {
                    acc[r][c] = _mm512_dpbusd_epi32(acc[r][c], xv[r], yv);
                }
            }
        }
        let ny = y.len();
        for r in 0..R {
            for c in 0..C {
                let (i, j) = (i0 + r, j0 + c);
                let dot = _mm512_reduce_add_epi32(acc[r][c]) - 128 * *y.sum.get_unchecked(j);
                *out.get_unchecked_mut(i * ny + j) = estimate(dot, x, i, y, j);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: usize, d: usize, seed: u64) -> Embeddings {
        let mut s = seed;
        let data: Vec<f32> = (0..n * d)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                // A shared offset: anisotropic rows, like sentence embeddings.
                0.3 + ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
            })
            .collect();
        let e = Embeddings::new(d, data).unwrap();
        let unit: Vec<Vec<f32>> = e
            .rows()
            .map(|r| {
                let n = r.iter().map(|v| v * v).sum::<f32>().sqrt();
                r.iter().map(|v| v / n).collect()
            })
            .collect();
        Embeddings::from_rows(d, &unit).unwrap()
    }

    #[test]
    fn estimates_are_close_and_every_path_gives_the_same_bits() {
        for (nx, ny, d) in [(9, 13, 384), (5, 6, 37), (1, 1, 1)] {
            let (x, y) = (rows(nx, d, 1), rows(ny, d, 2));
            let (qx, qy) = Quantized::pair(&x, &y);
            let (vx, vy) = (qx.range(0, nx), qy.range(0, ny));
            let mut fast = vec![0.0; nx * ny];
            let mut slow = vec![0.0; nx * ny];
            block(&vx, &vy, &mut fast);
            portable(&vx, &vy, &mut slow);
            for i in 0..nx {
                for j in 0..ny {
                    let (a, b) = (fast[i * ny + j], slow[i * ny + j]);
                    assert_eq!(a.to_bits(), b.to_bits(), "{nx}x{ny}x{d} ({i},{j})");
                    let exact = crate::score::cosine(x.row(i), y.row(j));
                    assert!((a - exact).abs() < 2e-3, "({i},{j}) {a} vs {exact}");
                }
            }
            // A gathered block holds the same estimates as the whole.
            let (mut gx, mut gy) = (Gathered::default(), Gathered::default());
            let ids_x: Vec<u32> = (0..nx as u32).rev().collect();
            let ids_y = [ny as u32 - 1];
            let mut part = vec![0.0; nx];
            block(
                &qx.gather(&ids_x, &mut gx),
                &qy.gather(&ids_y, &mut gy),
                &mut part,
            );
            for (r, &i) in ids_x.iter().enumerate() {
                assert_eq!(part[r].to_bits(), slow[i as usize * ny + ny - 1].to_bits());
            }
        }
    }
}
