//! A dense row-major matrix of sentence embeddings, and the files others read.

use anyhow::{ensure, Context, Result};
use std::io::Write;
use std::path::Path;

/// One row per sentence, `dim` float32 values a row (L2-normalised when the model's
/// pipeline ends in `Normalize`). Held in memory, or memory-mapped from a `.npy` file
/// ([`Embeddings::map_npy`]) so that matrices larger than RAM can be searched.
#[derive(Clone, Debug, Default)]
pub struct Embeddings {
    dim: usize,
    data: Store,
}

#[derive(Clone, Debug)]
enum Store {
    Owned(Vec<f32>),
    /// `len` floats from byte `offset` of a mapped file (offset a multiple of 4).
    Mapped {
        map: std::sync::Arc<memmap2::Mmap>,
        offset: usize,
        len: usize,
    },
}

impl Default for Store {
    fn default() -> Self {
        Store::Owned(Vec::new())
    }
}

impl Store {
    fn slice(&self) -> &[f32] {
        match self {
            Store::Owned(v) => v,
            // SAFETY: `map_npy` checked that the range lies in the map, that the offset
            // is 4-byte aligned (the map itself is page aligned) and that the host is
            // little-endian; any bit pattern is a valid f32.
            Store::Mapped { map, offset, len } => unsafe {
                std::slice::from_raw_parts(map.as_ptr().add(*offset) as *const f32, *len)
            },
        }
    }
}

impl PartialEq for Embeddings {
    fn eq(&self, other: &Self) -> bool {
        self.dim == other.dim && self.as_slice() == other.as_slice()
    }
}

impl Embeddings {
    pub fn new(dim: usize, data: Vec<f32>) -> Result<Self> {
        ensure!(dim > 0, "embedding dimension must be positive");
        ensure!(
            data.len().is_multiple_of(dim),
            "{} values do not make rows of {dim}",
            data.len()
        );
        Ok(Self {
            dim,
            data: Store::Owned(data),
        })
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
        self.as_slice().len() / self.dim.max(1)
    }

    pub fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.as_slice()[i * self.dim..(i + 1) * self.dim]
    }

    pub fn rows(&self) -> impl ExactSizeIterator<Item = &[f32]> + '_ {
        self.as_slice().chunks_exact(self.dim)
    }

    pub fn as_slice(&self) -> &[f32] {
        self.data.slice()
    }

    pub fn into_vec(self) -> Vec<f32> {
        match self.data {
            Store::Owned(v) => v,
            Store::Mapped { .. } => self.as_slice().to_vec(),
        }
    }

    /// Rows picked by index, in that order (gathering deduplicated results back).
    pub fn select(&self, idx: &[usize]) -> Self {
        let mut data = Vec::with_capacity(idx.len() * self.dim);
        for &i in idx {
            data.extend_from_slice(self.row(i));
        }
        Self {
            dim: self.dim,
            data: Store::Owned(data),
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
        for v in self.as_slice() {
            w.write_all(&v.to_le_bytes())?;
        }
        Ok(())
    }

    /// Reads a `.npy` written by [`Embeddings::write_npy`] or NumPy (2-D, `<f4`, C order).
    pub fn read_npy(path: &Path) -> Result<Self> {
        let bytes =
            std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
        let (n, dim, start) = npy_layout(&bytes, path)?;
        let data = bytes[start..start + n * dim * 4]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Self::new(dim.max(1), data)
    }

    /// [`Embeddings::read_npy`] without reading: the file is memory-mapped, so only the
    /// pages a search touches are in RAM, and the OS may drop them again. The file must
    /// not change while the matrix is in use. Falls back to reading where mapping cannot
    /// give aligned little-endian floats.
    pub fn map_npy(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        // SAFETY: the map is read-only; the file is documented as not to be changed.
        let map = unsafe { memmap2::Mmap::map(&file) }
            .with_context(|| format!("{}: cannot map", path.display()))?;
        let (n, dim, start) = npy_layout(&map, path)?;
        if cfg!(target_endian = "big") || start % 4 != 0 {
            return Self::read_npy(path);
        }
        Ok(Self {
            dim: dim.max(1),
            data: Store::Mapped {
                map: std::sync::Arc::new(map),
                offset: start,
                len: n * dim,
            },
        })
    }
}

/// Rows, width and data offset of a float32 `.npy`, checked against the file's length.
fn npy_layout(bytes: &[u8], path: &Path) -> Result<(usize, usize, usize)> {
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
    let body = bytes.len() - (start + hlen);
    ensure!(
        body == n * dim * 4,
        "{}: expected {} bytes of data, found {}",
        path.display(),
        n * dim * 4,
        body
    );
    Ok((n, dim, start + hlen))
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
        let mapped = Embeddings::map_npy(&p).unwrap();
        assert_eq!(mapped, e);
        assert_eq!(mapped.row(1), &[4.0, 5.0, -6.5]);
    }
}
