//! A dense row-major matrix of sentence embeddings, and the files others read.

use anyhow::{ensure, Context, Result};
use std::io::Write;
use std::path::Path;

/// One row per sentence, `dim` float32 values a row (L2-normalised when the model's
/// pipeline ends in `Normalize`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Embeddings {
    dim: usize,
    data: Vec<f32>,
}

impl Embeddings {
    pub fn new(dim: usize, data: Vec<f32>) -> Result<Self> {
        ensure!(dim > 0, "embedding dimension must be positive");
        ensure!(
            data.len().is_multiple_of(dim),
            "{} values do not make rows of {dim}",
            data.len()
        );
        Ok(Self { dim, data })
    }

    pub fn from_rows<R: AsRef<[f32]>>(dim: usize, rows: &[R]) -> Result<Self> {
        let mut data = Vec::with_capacity(rows.len() * dim);
        for r in rows {
            ensure!(
                r.as_ref().len() == dim,
                "row of length {} in a matrix of width {dim}",
                r.as_ref().len()
            );
            data.extend_from_slice(r.as_ref());
        }
        Self::new(dim, data)
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn len(&self) -> usize {
        self.data.len() / self.dim.max(1)
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    pub fn rows(&self) -> impl ExactSizeIterator<Item = &[f32]> + '_ {
        self.data.chunks_exact(self.dim)
    }

    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    pub fn into_vec(self) -> Vec<f32> {
        self.data
    }

    /// Rows picked by index, in that order (gathering deduplicated results back).
    pub fn select(&self, idx: &[usize]) -> Self {
        let mut data = Vec::with_capacity(idx.len() * self.dim);
        for &i in idx {
            data.extend_from_slice(self.row(i));
        }
        Self {
            dim: self.dim,
            data,
        }
    }

    /// NumPy `.npy` (format 1.0, little-endian float32, C order).
    pub fn write_npy(&self, w: &mut impl Write) -> std::io::Result<()> {
        let dict = format!(
            "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {}), }}",
            self.len(),
            self.dim
        );
        // Magic (6) + version (2) + header length (2) + dict + '\n', padded to 64 bytes.
        let unpadded = 10 + dict.len() + 1;
        let pad = (64 - unpadded % 64) % 64;
        let header_len = (dict.len() + pad + 1) as u16;
        w.write_all(b"\x93NUMPY\x01\x00")?;
        w.write_all(&header_len.to_le_bytes())?;
        w.write_all(dict.as_bytes())?;
        w.write_all(&vec![b' '; pad])?;
        w.write_all(b"\n")?;
        self.write_raw(w)
    }

    /// Raw little-endian float32 rows, no header: what LASER and vecalign read.
    pub fn write_raw(&self, w: &mut impl Write) -> std::io::Result<()> {
        for v in &self.data {
            w.write_all(&v.to_le_bytes())?;
        }
        Ok(())
    }

    /// Reads a `.npy` written by [`Embeddings::write_npy`] or NumPy (2-D, `<f4`, C order).
    pub fn read_npy(path: &Path) -> Result<Self> {
        let bytes =
            std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
        let bad =
            |what: &str| anyhow::anyhow!("{}: not a float32 .npy matrix ({what})", path.display());
        if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
            return Err(bad("no NUMPY magic"));
        }
        let (hlen, start) = match bytes[6] {
            1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
            2 | 3 if bytes.len() >= 12 => (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            ),
            _ => return Err(bad("unknown version")),
        };
        let header = std::str::from_utf8(
            bytes
                .get(start..start + hlen)
                .ok_or_else(|| bad("short header"))?,
        )
        .map_err(|_| bad("header not UTF-8"))?;
        if !header.contains("'<f4'") || header.contains("'fortran_order': True") {
            return Err(bad("only little-endian float32 in C order is read"));
        }
        let shape = header
            .split("'shape':")
            .nth(1)
            .and_then(|s| s.split(')').next())
            .map(|s| s.trim().trim_start_matches('('))
            .ok_or_else(|| bad("no shape"))?;
        let dims: Vec<usize> = shape
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().parse::<usize>())
            .collect::<Result<_, _>>()
            .map_err(|_| bad("bad shape"))?;
        let [n, dim] = dims[..] else {
            return Err(bad("not 2-D"));
        };
        let body = &bytes[start + hlen..];
        ensure!(
            body.len() == n * dim * 4,
            "{}: expected {} bytes of data, found {}",
            path.display(),
            n * dim * 4,
            body.len()
        );
        let data = body
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Self::new(dim.max(1), data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_round_trip_and_alignment() {
        let e = Embeddings::from_rows(3, &[[1.0, 2.0, 3.0], [4.0, 5.0, -6.5]]).unwrap();
        let mut buf = Vec::new();
        e.write_npy(&mut buf).unwrap();
        let hlen = u16::from_le_bytes([buf[8], buf[9]]) as usize;
        assert_eq!((10 + hlen) % 64, 0, "data must start on a 64-byte boundary");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.npy");
        std::fs::write(&p, &buf).unwrap();
        assert_eq!(Embeddings::read_npy(&p).unwrap(), e);
    }
}
