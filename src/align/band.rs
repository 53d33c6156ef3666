//! The part of the DP grid that is searched: for every source position `i` (0..=n), a
//! contiguous window of target positions. A full band is the whole grid; a band around a
//! coarse path keeps memory and time linear in the document length.

/// Row windows `lo[i]..=hi[i]` over grid points `(i, j)`, `0 <= i <= n`, `0 <= j <= m`.
#[derive(Clone, Debug)]
pub struct Band {
    lo: Vec<usize>,
    hi: Vec<usize>,
    /// First cell of each row in a flat array; one extra entry holds the total.
    off: Vec<usize>,
}

impl Band {
    /// Row `i` spans target positions `lo[i]..=hi[i]`.
    pub fn from_rows(lo: Vec<usize>, hi: Vec<usize>) -> Self {
        assert_eq!(lo.len(), hi.len());
        assert!(lo.iter().zip(&hi).all(|(l, h)| l <= h));
        Self::from_windows(lo, hi)
    }

    fn from_windows(lo: Vec<usize>, hi: Vec<usize>) -> Self {
        let mut off = Vec::with_capacity(lo.len() + 1);
        let mut total = 0;
        for (l, h) in lo.iter().zip(&hi) {
            off.push(total);
            total += h - l + 1;
        }
        off.push(total);
        Self { lo, hi, off }
    }

    /// Every grid point.
    pub fn full(n: usize, m: usize) -> Self {
        Self::from_windows(vec![0; n + 1], vec![m; n + 1])
    }

    /// Points within `w` rows and `w` columns of the boxes spanned by consecutive points of
    /// a monotone `path` from `(0, 0)` to `(n, m)`.
    pub fn around(path: &[(usize, usize)], n: usize, m: usize, w: usize) -> Self {
        let mut lo = vec![usize::MAX; n + 1];
        let mut hi = vec![0; n + 1];
        let mut cover = |i: usize, j0: usize, j1: usize| {
            lo[i] = lo[i].min(j0);
            hi[i] = hi[i].max(j1);
        };
        cover(0, 0, 0);
        cover(n, m, m);
        for s in path.windows(2) {
            let ((i0, j0), (i1, j1)) = (s[0], s[1]);
            for i in i0..=i1.min(n) {
                cover(i, j0.min(m), j1.min(m));
            }
        }
        // Rows the path skipped (cannot happen for a path of unit-row steps, but keep the
        // windows well-formed whatever the input): inherit the previous row's end.
        for i in 1..=n {
            if lo[i] == usize::MAX {
                lo[i] = hi[i - 1];
                hi[i] = hi[i - 1];
            }
        }
        // Make the windows monotone, then widen.
        for i in 1..=n {
            lo[i] = lo[i].max(lo[i - 1]);
            hi[i] = hi[i].max(hi[i - 1]);
        }
        let wlo = (0..=n)
            .map(|i| lo[i.saturating_sub(w)].saturating_sub(w))
            .collect();
        let whi = (0..=n).map(|i| (hi[(i + w).min(n)] + w).min(m)).collect();
        Self::from_windows(wlo, whi)
    }

    /// Rows (`n + 1`).
    pub fn rows(&self) -> usize {
        self.lo.len()
    }

    pub fn window(&self, i: usize) -> (usize, usize) {
        (self.lo[i], self.hi[i])
    }

    /// Flat index of `(i, j)` if it is in the band.
    #[inline]
    pub fn cell(&self, i: usize, j: usize) -> Option<usize> {
        if j < self.lo[i] || j > self.hi[i] {
            return None;
        }
        Some(self.off[i] + j - self.lo[i])
    }

    /// First flat index of row `i`.
    pub fn row_offset(&self, i: usize) -> usize {
        self.off[i]
    }

    pub fn cells(&self) -> usize {
        *self.off.last().unwrap_or(&0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn band_around_diagonal() {
        let path: Vec<_> = (0..=10).map(|i| (i, i)).collect();
        let b = Band::around(&path, 10, 10, 1);
        // Row i is covered by the boxes (i-1, i-1)..(i, i) and (i, i)..(i+1, i+1): columns
        // i-1..=i+1, widened by one row and one column on each side.
        assert_eq!(b.window(0), (0, 3));
        assert_eq!(b.window(5), (2, 8));
        assert_eq!(b.window(10), (7, 10));
        assert_eq!(b.cell(5, 1), None);
        assert_eq!(b.cell(5, 2), Some(b.row_offset(5)));
    }

    #[test]
    fn band_covers_long_jumps() {
        // One source sentence against a long run of insertions.
        let b = Band::around(&[(0, 0), (0, 50), (1, 51)], 1, 51, 0);
        assert_eq!(b.window(0), (0, 51));
        assert_eq!(b.window(1), (50, 51));
        assert_eq!(Band::full(2, 3).cells(), 12);
    }
}
