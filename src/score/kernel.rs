//! The similarity kernel: dot products of every row of one block against every row of
//! another. Each dot product is computed the same way wherever its pair sits in a block
//! (same lanes, same order, same reduction), so block sizes and thread counts never
//! change a result bit. The CPU path is picked once per process (AVX-512, AVX2+FMA or
//! portable), so results are reproducible on one machine but may differ in the last bits
//! between CPUs.

use std::sync::OnceLock;

type BlockFn = fn(&[f32], &[f32], usize, &mut [f32]);

/// `out[i * ny + j] = x_i · y_j` for the `nx` rows of `x` and `ny` rows of `y` (width `d`).
///
/// # Panics
/// When `d` is 0, `x` or `y` is not whole rows of `d`, or `out` is not `nx × ny` long:
/// the SIMD paths write `out` unchecked, so these are real asserts, not debug ones.
pub fn block(x: &[f32], y: &[f32], d: usize, out: &mut [f32]) {
    assert!(
        d > 0 && x.len().is_multiple_of(d) && y.len().is_multiple_of(d),
        "block: rows of {d} do not fit inputs of {} and {} values",
        x.len(),
        y.len()
    );
    assert_eq!(
        out.len(),
        (x.len() / d) * (y.len() / d),
        "block: output size is not rows(x) × rows(y)"
    );
    static PICK: OnceLock<BlockFn> = OnceLock::new();
    (PICK.get_or_init(pick))(x, y, d, out)
}

fn pick() -> BlockFn {
    at(crate::simd::level())
}

/// The block function for a SIMD level (lowered to what the CPU has).
fn at(level: crate::simd::Level) -> BlockFn {
    use crate::simd::Level;
    #[cfg(target_arch = "x86_64")]
    match level.clamp_to_cpu() {
        // SAFETY: AVX-512F is present (`clamp_to_cpu`), and `block` asserted the shapes
        // the tiles index with unchecked reads and writes.
        Level::Avx512 => return |x, y, d, out| unsafe { avx512::block(x, y, d, out) },
        // SAFETY: AVX2 and FMA are present; shapes asserted by `block` as above.
        Level::Avx2 => return |x, y, d, out| unsafe { avx2::block(x, y, d, out) },
        Level::Portable => {}
    }
    let _ = level;
    portable::block
}

/// Bit `c` set when `line[c] >= row_floor` or `line[c] >= col_floor[c]` (at most 16
/// values): the pairs that may enter a top-k list. NaN never passes.
#[inline]
pub fn passing(line: &[f32], row_floor: f32, col_floor: &[f32]) -> u32 {
    debug_assert!(line.len() <= 16 && col_floor.len() == line.len());
    #[cfg(target_arch = "x86_64")]
    {
        static AVX512: OnceLock<bool> = OnceLock::new();
        // Follows `BITALIGN_SIMD` like `block`, so a forced level leaves no AVX-512 behind.
        let avx512 = || crate::simd::level().clamp_to_cpu() == crate::simd::Level::Avx512;
        if line.len() == 16 && *AVX512.get_or_init(avx512) {
            // SAFETY: AVX-512F is present and both slices hold 16 values.
            return unsafe { avx512::passing(line, row_floor, col_floor) };
        }
    }
    let mut m = 0;
    for (c, (&s, &f)) in line.iter().zip(col_floor).enumerate() {
        if s >= row_floor || s >= f {
            m |= 1 << c;
        }
    }
    m
}

/// Dot product of two rows, computed exactly as the kernel computes it.
///
/// # Panics
/// When the rows differ in length or are empty.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    assert!(
        !a.is_empty() && a.len() == b.len(),
        "dot: rows of {} and {} values",
        a.len(),
        b.len()
    );
    let mut out = [0.0f32];
    block(a, b, a.len(), &mut out);
    out[0]
}

/// `out[c] = pairs[c].0 · pairs[c].1`, each with the bits of [`dot`]: four independent
/// sums at a time, so scattered pairs cost a fraction of one lone dot product each (a lone
/// dot product waits on its own chain of multiply-adds).
///
/// # Panics
/// When a pair's rows differ in length or are empty, or `out` is not `pairs.len()` long.
pub fn dots(pairs: &[(&[f32], &[f32])], out: &mut [f32]) {
    assert!(
        out.len() == pairs.len()
            && pairs
                .iter()
                .all(|(a, b)| !a.is_empty() && a.len() == b.len()),
        "dots: rows of different lengths or an output of the wrong size"
    );
    #[cfg(target_arch = "x86_64")]
    if !pairs.is_empty() && crate::simd::level().clamp_to_cpu() == crate::simd::Level::Avx512 {
        for (group, o) in pairs.chunks(4).zip(out.chunks_mut(4)) {
            // A short last group repeats its last pair (computed and dropped).
            let at = |c: usize| group[c.min(group.len() - 1)];
            let mut four = [0.0f32; 4];
            // SAFETY: AVX-512F is present; each pair's rows were checked above.
            unsafe { avx512::dots4([at(0), at(1), at(2), at(3)], &mut four) };
            o.copy_from_slice(&four[..o.len()]);
        }
        return;
    }
    for ((a, b), o) in pairs.iter().zip(out) {
        *o = dot(a, b);
    }
}

mod portable {
    const L: usize = 8;

    pub fn block(x: &[f32], y: &[f32], d: usize, out: &mut [f32]) {
        let ny = y.len() / d;
        for (xr, orow) in x.chunks_exact(d).zip(out.chunks_exact_mut(ny)) {
            for (yr, o) in y.chunks_exact(d).zip(orow.iter_mut()) {
                *o = dot(xr, yr);
            }
        }
    }

    fn dot(a: &[f32], b: &[f32]) -> f32 {
        let mut acc = [0.0f32; L];
        let (ac, at) = a.split_at(a.len() - a.len() % L);
        let (bc, bt) = b.split_at(ac.len());
        for (pa, pb) in ac.chunks_exact(L).zip(bc.chunks_exact(L)) {
            for l in 0..L {
                acc[l] += pa[l] * pb[l];
            }
        }
        let mut s =
            ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
        for (u, v) in at.iter().zip(bt) {
            s += u * v;
        }
        s
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// Rows of `x` in threes against rows of `y` in fours: 12 accumulators, 3 row
    /// registers and one streamed register fill the 16 AVX2 registers.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA; `d > 0`, `x` and `y` whole rows of `d` and
    /// `out.len() == rows(x) * rows(y)` (reads and writes are unchecked).
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn block(x: &[f32], y: &[f32], d: usize, out: &mut [f32]) {
        let nx = x.len() / d;
        let ny = y.len() / d;
        let mut i = 0;
        while i + 3 <= nx {
            let mut j = 0;
            while j + 4 <= ny {
                tile::<3, 4>(x, y, d, i, j, ny, out);
                j += 4;
            }
            while j < ny {
                tile::<3, 1>(x, y, d, i, j, ny, out);
                j += 1;
            }
            i += 3;
        }
        while i < nx {
            let mut j = 0;
            while j + 4 <= ny {
                tile::<1, 4>(x, y, d, i, j, ny, out);
                j += 4;
            }
            while j < ny {
                tile::<1, 1>(x, y, d, i, j, ny, out);
                j += 1;
            }
            i += 1;
        }
    }

    #[inline(always)]
    #[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
    unsafe fn tile<const R: usize, const C: usize>(
        x: &[f32],
        y: &[f32],
        d: usize,
        i0: usize,
        j0: usize,
        ny: usize,
        out: &mut [f32],
    ) {
        let xp = x.as_ptr().add(i0 * d);
        let yp = y.as_ptr().add(j0 * d);
        let mut acc = [[_mm256_setzero_ps(); C]; R];
        let full = d - d % 8;
        let mut t = 0;
        while t < full {
            let mut xv = [_mm256_setzero_ps(); R];
            for r in 0..R {
                xv[r] = _mm256_loadu_ps(xp.add(r * d + t));
            }
            for c in 0..C {
                let yv = _mm256_loadu_ps(yp.add(c * d + t));
                for r in 0..R {
                    acc[r][c] = _mm256_fmadd_ps(xv[r], yv, acc[r][c]);
                }
            }
            t += 8;
        }
        for r in 0..R {
            for c in 0..C {
                let mut s = hsum(acc[r][c]);
                for u in full..d {
                    s = (*xp.add(r * d + u)).mul_add(*yp.add(c * d + u), s);
                }
                *out.get_unchecked_mut((i0 + r) * ny + j0 + c) = s;
            }
        }
    }

    #[inline(always)]
    unsafe fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let h = _mm_movehdup_ps(s);
        let s = _mm_add_ps(s, h);
        let h = _mm_movehl_ps(h, s);
        _mm_cvtss_f32(_mm_add_ss(s, h))
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    /// Rows of `x` in fours against rows of `y` in fours: 16 accumulators whose lane sums
    /// are folded into one register by a transposing butterfly ([`fold16`]) instead of 16
    /// separate horizontal sums. Widths that are not a multiple of 16 take [`tiled`].
    #[target_feature(enable = "avx512f")]
    pub unsafe fn block(x: &[f32], y: &[f32], d: usize, out: &mut [f32]) {
        // The common model widths as constants: the row offsets become displacements
        // instead of 16 live pointers (which spill), ~80 % → ~89 % of the FMA peak at 384.
        match d {
            384 => folded::<384>(x, y, d, out),
            768 => folded::<768>(x, y, d, out),
            1024 => folded::<1024>(x, y, d, out),
            _ if d.is_multiple_of(16) => folded::<0>(x, y, d, out),
            _ => tiled(x, y, d, out),
        }
    }

    /// 4×4 folded tiles over rows of width `D` (`0`: the width `d` known at run time only).
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn folded<const D: usize>(x: &[f32], y: &[f32], d: usize, out: &mut [f32]) {
        let d = if D == 0 { d } else { D };
        let nx = x.len() / d;
        let ny = y.len() / d;
        let (nx4, ny4) = (nx - nx % 4, ny - ny % 4);
        let mut i = 0;
        while i < nx4 {
            let mut j = 0;
            while j < ny4 {
                // The next tile's rows of `y`: the next four, or the first four again for
                // the next rows of `x`.
                let next = if j + 4 < ny4 { j + 4 } else { 0 };
                square::<D>(x, y, d, i, j, ny, out, y.as_ptr().add(next * d));
                j += 4;
            }
            while j < ny {
                tile::<4, 1>(x, y, d, i, j, ny, out);
                j += 1;
            }
            i += 4;
        }
        while i < nx {
            let mut j = 0;
            while j + 6 <= ny {
                tile::<1, 6>(x, y, d, i, j, ny, out);
                j += 6;
            }
            while j < ny {
                tile::<1, 1>(x, y, d, i, j, ny, out);
                j += 1;
            }
            i += 1;
        }
    }

    #[target_feature(enable = "avx512f")]
    pub unsafe fn passing(line: &[f32], row_floor: f32, col_floor: &[f32]) -> u32 {
        let v = _mm512_loadu_ps(line.as_ptr());
        let r = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(v, _mm512_set1_ps(row_floor));
        let c = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(v, _mm512_loadu_ps(col_floor.as_ptr()));
        (r | c) as u32
    }

    /// A 4×4 tile; `d` is a multiple of 16. `next` points at the four rows of `y` the
    /// following tile reads: one cache line of each is prefetched per step, so they are in
    /// L1 when that tile starts (the hardware prefetcher stops at page boundaries, and
    /// rows of 1.5 KiB cross one every few rows); the rows eight tiles ahead are fetched
    /// into L2, which hides the L3 latency on the first pass over a block of `y`.
    /// Measured on a 128 × 256 block: ~70 % → ~85 % of the FMA peak.
    #[inline]
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::needless_range_loop, clippy::too_many_arguments)]
    unsafe fn square<const D: usize>(
        x: &[f32],
        y: &[f32],
        d: usize,
        i0: usize,
        j0: usize,
        ny: usize,
        out: &mut [f32],
        next: *const f32,
    ) {
        let d = if D == 0 { d } else { D };
        let xp = x.as_ptr().add(i0 * d);
        let yp = y.as_ptr().add(j0 * d);
        // acc[4c + r] = x_r · y_c, so that [`fold16`] puts row r's four sums in lanes 4r..4r+4.
        let mut acc = [_mm512_setzero_ps(); 16];
        let mut t = 0;
        while t < d {
            let x0 = _mm512_loadu_ps(xp.add(t));
            let x1 = _mm512_loadu_ps(xp.add(d + t));
            let x2 = _mm512_loadu_ps(xp.add(2 * d + t));
            let x3 = _mm512_loadu_ps(xp.add(3 * d + t));
            for c in 0..4 {
                _mm_prefetch::<_MM_HINT_T0>(next.add(c * d + t) as *const i8);
                // Eight tiles ahead into L2 (past the end of `y` only touches no memory:
                // prefetches never fault, and the address is not dereferenced).
                _mm_prefetch::<_MM_HINT_T1>(yp.wrapping_add(32 * d + c * d + t) as *const i8);
            }
            for c in 0..4 {
                let yv = _mm512_loadu_ps(yp.add(c * d + t));
                acc[4 * c] = _mm512_fmadd_ps(x0, yv, acc[4 * c]);
                acc[4 * c + 1] = _mm512_fmadd_ps(x1, yv, acc[4 * c + 1]);
                acc[4 * c + 2] = _mm512_fmadd_ps(x2, yv, acc[4 * c + 2]);
                acc[4 * c + 3] = _mm512_fmadd_ps(x3, yv, acc[4 * c + 3]);
            }
            t += 16;
        }
        let sums = fold16(&acc);
        let o = out.as_mut_ptr().add(i0 * ny + j0);
        _mm_storeu_ps(o, _mm512_extractf32x4_ps::<0>(sums));
        _mm_storeu_ps(o.add(ny), _mm512_extractf32x4_ps::<1>(sums));
        _mm_storeu_ps(o.add(2 * ny), _mm512_extractf32x4_ps::<2>(sums));
        _mm_storeu_ps(o.add(3 * ny), _mm512_extractf32x4_ps::<3>(sums));
    }

    /// Sums of the lanes of 16 registers, lane `4e + l` holding the sum of `a[4l + e]`.
    /// Each sum is added in exactly the order `_mm512_reduce_add_ps` uses (halves, then
    /// quarters, then pairs: ((a_i + a_i+8) + (a_i+4 + a_i+12)) …), so a pair scores the
    /// same bits here as in [`tile`]; the butterfly just does 16 of them at once.
    ///
    /// Plain functions with the target feature rather than closures or `array::from_fn`:
    /// those are not always inlined, and an out-of-line shuffle made the whole pass 3×
    /// slower in one build.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn fold16(a: &[__m512; 16]) -> __m512 {
        let v = [
            halves(a[0], a[1]),
            halves(a[2], a[3]),
            halves(a[4], a[5]),
            halves(a[6], a[7]),
            halves(a[8], a[9]),
            halves(a[10], a[11]),
            halves(a[12], a[13]),
            halves(a[14], a[15]),
        ];
        let t = [
            quarters(v[0], v[1]),
            quarters(v[2], v[3]),
            quarters(v[4], v[5]),
            quarters(v[6], v[7]),
        ];
        pairs(evens(t[0], t[1]), evens(t[2], t[3]))
    }

    /// Halves: lanes i + (i+8).
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn halves(p: __m512, q: __m512) -> __m512 {
        _mm512_add_ps(
            _mm512_shuffle_f32x4::<0x44>(p, q),
            _mm512_shuffle_f32x4::<0xEE>(p, q),
        )
    }

    /// Quarters: i + (i+4) of each half-sum.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn quarters(p: __m512, q: __m512) -> __m512 {
        _mm512_add_ps(
            _mm512_shuffle_f32x4::<0x88>(p, q),
            _mm512_shuffle_f32x4::<0xDD>(p, q),
        )
    }

    /// Within 128-bit lanes: (0 + 2, 1 + 3) …
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn evens(p: __m512, q: __m512) -> __m512 {
        _mm512_add_ps(
            _mm512_shuffle_ps::<0x44>(p, q),
            _mm512_shuffle_ps::<0xEE>(p, q),
        )
    }

    /// … then (0 + 1).
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn pairs(p: __m512, q: __m512) -> __m512 {
        _mm512_add_ps(
            _mm512_shuffle_ps::<0x88>(p, q),
            _mm512_shuffle_ps::<0xDD>(p, q),
        )
    }

    /// Rows of `x` in fours against rows of `y` in sixes: 24 accumulators, 4 row
    /// registers and one streamed register out of the 32 AVX-512 registers.
    ///
    /// # Safety
    /// The CPU must support AVX-512F; shapes as for the AVX2 `block`.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn tiled(x: &[f32], y: &[f32], d: usize, out: &mut [f32]) {
        let nx = x.len() / d;
        let ny = y.len() / d;
        let mut i = 0;
        while i + 4 <= nx {
            let mut j = 0;
            while j + 6 <= ny {
                tile::<4, 6>(x, y, d, i, j, ny, out);
                j += 6;
            }
            while j < ny {
                tile::<4, 1>(x, y, d, i, j, ny, out);
                j += 1;
            }
            i += 4;
        }
        while i < nx {
            let mut j = 0;
            while j + 6 <= ny {
                tile::<1, 6>(x, y, d, i, j, ny, out);
                j += 6;
            }
            while j < ny {
                tile::<1, 1>(x, y, d, i, j, ny, out);
                j += 1;
            }
            i += 1;
        }
    }

    /// Four pairs of rows anywhere in memory: [`tile`]'s arithmetic for each (one
    /// sequential accumulator, the same horizontal sum, then the tail), so the bits of
    /// [`super::dot`] on whichever path `block` takes for the width. The pairs may differ
    /// in width from each other.
    ///
    /// # Safety
    /// AVX-512F must be present; the two rows of each pair equally long.
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::needless_range_loop)]
    pub unsafe fn dots4(p: [(&[f32], &[f32]); 4], out: &mut [f32; 4]) {
        let d = p[0].0.len();
        if p.iter().any(|q| q.0.len() != d) {
            for c in 0..4 {
                out[c] = super::dot(p[c].0, p[c].1);
            }
            return;
        }
        let full = d - d % 16;
        let xp = [
            p[0].0.as_ptr(),
            p[1].0.as_ptr(),
            p[2].0.as_ptr(),
            p[3].0.as_ptr(),
        ];
        let yp = [
            p[0].1.as_ptr(),
            p[1].1.as_ptr(),
            p[2].1.as_ptr(),
            p[3].1.as_ptr(),
        ];
        let mut acc = [_mm512_setzero_ps(); 4];
        let mut t = 0;
        while t < full {
            for c in 0..4 {
                let xv = _mm512_loadu_ps(xp[c].add(t));
                acc[c] = _mm512_fmadd_ps(xv, _mm512_loadu_ps(yp[c].add(t)), acc[c]);
            }
            t += 16;
        }
        for c in 0..4 {
            let mut s = _mm512_reduce_add_ps(acc[c]);
            for u in full..d {
                s = (*xp[c].add(u)).mul_add(*yp[c].add(u), s);
            }
            out[c] = s;
        }
    }

    #[inline(always)]
    #[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
    unsafe fn tile<const R: usize, const C: usize>(
        x: &[f32],
        y: &[f32],
        d: usize,
        i0: usize,
        j0: usize,
        ny: usize,
        out: &mut [f32],
    ) {
        let xp = x.as_ptr().add(i0 * d);
        let yp = y.as_ptr().add(j0 * d);
        let mut acc = [[_mm512_setzero_ps(); C]; R];
        let full = d - d % 16;
        let mut t = 0;
        while t < full {
            let mut xv = [_mm512_setzero_ps(); R];
            for r in 0..R {
                xv[r] = _mm512_loadu_ps(xp.add(r * d + t));
            }
            for c in 0..C {
                let yv = _mm512_loadu_ps(yp.add(c * d + t));
                for r in 0..R {
                    acc[r][c] = _mm512_fmadd_ps(xv[r], yv, acc[r][c]);
                }
            }
            t += 16;
        }
        for r in 0..R {
            for c in 0..C {
                let mut s = _mm512_reduce_add_ps(acc[r][c]);
                for u in full..d {
                    s = (*xp.add(r * d + u)).mul_add(*yp.add(c * d + u), s);
                }
                *out.get_unchecked_mut((i0 + r) * ny + j0 + c) = s;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: usize, d: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n * d)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
            })
            .collect()
    }

    #[test]
    fn block_matches_f64_reference_for_odd_shapes() {
        for (nx, ny, d) in [(1, 1, 1), (7, 5, 13), (3, 4, 8), (10, 9, 384), (4, 11, 17)] {
            let x = rows(nx, d, 1);
            let y = rows(ny, d, 2);
            let mut out = vec![0.0; nx * ny];
            block(&x, &y, d, &mut out);
            for i in 0..nx {
                for j in 0..ny {
                    let r: f64 = (0..d)
                        .map(|t| x[i * d + t] as f64 * y[j * d + t] as f64)
                        .sum();
                    assert!(
                        (out[i * ny + j] as f64 - r).abs() < 1e-5,
                        "{nx}x{ny}x{d} ({i},{j})"
                    );
                }
            }
        }
    }

    #[test]
    fn every_cpu_path_matches_the_reference() {
        let (nx, ny, d) = (9, 13, 389);
        let x = rows(nx, d, 5);
        let y = rows(ny, d, 6);
        let mut paths: Vec<(&str, BlockFn)> = crate::simd::Level::available()
            .into_iter()
            .map(|l| (l.name(), at(l)))
            .collect();
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx512f") {
            paths.push(("avx512 tiled", |x, y, d, o| unsafe {
                avx512::tiled(x, y, d, o)
            }));
        }
        for (name, f) in paths {
            let mut out = vec![0.0; nx * ny];
            f(&x, &y, d, &mut out);
            for i in 0..nx {
                for j in 0..ny {
                    let r: f64 = (0..d)
                        .map(|t| x[i * d + t] as f64 * y[j * d + t] as f64)
                        .sum();
                    assert!(
                        (out[i * ny + j] as f64 - r).abs() < 1e-5,
                        "{name} ({i},{j})"
                    );
                }
            }
        }
    }

    /// The folded 4×4 tiles must give the bits of one horizontal sum per pair: widths
    /// that are multiples of 16, values of mixed magnitude so the summation order shows.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn folded_tiles_equal_one_sum_per_pair() {
        if !std::is_x86_feature_detected!("avx512f") {
            return;
        }
        // (37, 301, 384): many tiles per row, so the prefetch of the next tile wraps to
        // the first one, and edges in both directions.
        for (nx, ny, d) in [
            (4, 4, 16),
            (9, 14, 384),
            (13, 7, 48),
            (37, 301, 384),
            (6, 9, 768),
            (5, 6, 1024),
            (7, 6, 400),
        ] {
            let mut x = rows(nx, d, 11);
            let y = rows(ny, d, 12);
            for (t, v) in x.iter_mut().enumerate() {
                *v *= [1.0, 1e4, 1e-3, 3e2][t % 4];
            }
            let mut fast = vec![0.0; nx * ny];
            let mut slow = vec![0.0; nx * ny];
            unsafe {
                avx512::block(&x, &y, d, &mut fast);
                avx512::tiled(&x, &y, d, &mut slow);
            }
            for (a, b) in fast.iter().zip(&slow) {
                assert_eq!(a.to_bits(), b.to_bits(), "{nx}x{ny}x{d}");
            }
        }
    }

    #[test]
    #[should_panic(expected = "dot: rows of 1 and 2 values")]
    fn dot_of_rows_of_different_lengths_panics_instead_of_writing_out_of_bounds() {
        crate::score::cosine(&[1.0], &[1.0, 2.0]);
    }

    #[test]
    #[should_panic(expected = "output size")]
    fn block_with_a_short_output_panics() {
        block(&[1.0, 2.0], &[1.0, 2.0, 3.0, 4.0], 1, &mut [0.0; 3]);
    }

    #[test]
    fn dots_give_the_bits_of_dot() {
        for d in [1, 16, 37, 384, 400] {
            let x = rows(3, d, 8);
            let y = rows(7, d, 9);
            for n in 0..8 {
                let pairs: Vec<(&[f32], &[f32])> = (0..n)
                    .map(|c| (&x[(c % 3) * d..][..d], &y[(6 - c % 7) * d..][..d]))
                    .collect();
                let mut out = vec![0.0; n];
                dots(&pairs, &mut out);
                for ((a, b), o) in pairs.iter().zip(&out) {
                    assert_eq!(o.to_bits(), dot(a, b).to_bits(), "d {d}, {n} pairs");
                }
            }
        }
    }

    #[test]
    fn a_pair_scores_the_same_bits_in_any_block() {
        let d = 37;
        let x = rows(8, d, 3);
        let y = rows(9, d, 4);
        let mut full = vec![0.0; 8 * 9];
        block(&x, &y, d, &mut full);
        for i in 0..8 {
            for j in 0..9 {
                let one = dot(&x[i * d..(i + 1) * d], &y[j * d..(j + 1) * d]);
                assert_eq!(one.to_bits(), full[i * 9 + j].to_bits(), "({i},{j})");
            }
        }
    }
}
