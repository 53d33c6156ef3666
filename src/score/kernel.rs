//! The similarity kernel: dot products of every row of one block against every row of
//! another. Each dot product is computed the same way wherever its pair sits in a block
//! (same lanes, same order, same reduction), so block sizes and thread counts never
//! change a result bit. The CPU path is picked once per process (AVX-512, AVX2+FMA or
//! portable), so results are reproducible on one machine but may differ in the last bits
//! between CPUs.

use std::sync::OnceLock;

type BlockFn = fn(&[f32], &[f32], usize, &mut [f32]);

/// `out[i * ny + j] = x_i · y_j` for the `nx` rows of `x` and `ny` rows of `y` (width `d`).
pub fn block(x: &[f32], y: &[f32], d: usize, out: &mut [f32]) {
    debug_assert!(d > 0 && x.len().is_multiple_of(d) && y.len().is_multiple_of(d));
    debug_assert_eq!(out.len(), (x.len() / d) * (y.len() / d));
    static PICK: OnceLock<BlockFn> = OnceLock::new();
    (PICK.get_or_init(pick))(x, y, d, out)
}

fn pick() -> BlockFn {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            return |x, y, d, out| unsafe { avx512::block(x, y, d, out) };
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            return |x, y, d, out| unsafe { avx2::block(x, y, d, out) };
        }
    }
    portable::block
}

/// Dot product of two rows, computed exactly as the kernel computes it.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut out = [0.0f32];
    block(a, b, a.len(), &mut out);
    out[0]
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

    /// Rows of `x` in fours against rows of `y` in sixes: 24 accumulators, 4 row
    /// registers and one streamed register out of the 32 AVX-512 registers.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn block(x: &[f32], y: &[f32], d: usize, out: &mut [f32]) {
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
        let mut paths: Vec<(&str, BlockFn)> = vec![("portable", portable::block)];
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                paths.push(("avx2", |x, y, d, o| unsafe { avx2::block(x, y, d, o) }));
            }
            if std::is_x86_feature_detected!("avx512f") {
                paths.push(("avx512", |x, y, d, o| unsafe { avx512::block(x, y, d, o) }));
            }
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
