//! A dense row-major matrix of sentence embeddings, and the files others read.

use anyhow::{bail, ensure, Context, Result};
use memmap2::Mmap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// One row per sentence, `dim` float32 values a row (L2-normalised when the model's
/// pipeline ends in `Normalize`). Read from a file, the rows stay memory-mapped when the
/// file holds them as little-endian float32 in C order (what `embed` writes).
#[derive(Clone, Debug, Default)]
pub struct Embeddings {
    dim: usize,
    data: Data,
}

#[derive(Clone, Debug)]
enum Data {
    Owned(Vec<f32>),
    /// `len` f32 values at byte `offset` of a mapped file; `offset` is 4-aligned and the
    /// host little-endian (checked when made).
    Mapped {
        map: Arc<Mmap>,
        offset: usize,
        len: usize,
    },
}

impl Default for Data {
    fn default() -> Self {
        Data::Owned(Vec::new())
    }
}

impl PartialEq for Embeddings {
    fn eq(&self, o: &Self) -> bool {
        self.dim == o.dim && self.as_slice() == o.as_slice()
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
            data: Data::Owned(data),
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
        self.as_slice().chunks_exact(self.dim.max(1))
    }

    pub fn as_slice(&self) -> &[f32] {
        match &self.data {
            Data::Owned(v) => v,
            // SAFETY: `Mapped` is only made by `mapped`, which checked that the `len`
            // values at `offset` lie inside the map, that `offset` (from a page-aligned
            // map) is 4-aligned, and that the host is little-endian like the file; every
            // bit pattern is a valid f32. The map is read-only and lives as long as self.
            Data::Mapped { map, offset, len } => unsafe {
                std::slice::from_raw_parts(map.as_ptr().add(*offset) as *const f32, *len)
            },
        }
    }

    pub fn into_vec(self) -> Vec<f32> {
        match self.data {
            Data::Owned(v) => v,
            Data::Mapped { .. } => self.as_slice().to_vec(),
        }
    }

    /// Whether the rows are read from a memory-mapped file rather than owned.
    pub fn is_mapped(&self) -> bool {
        matches!(self.data, Data::Mapped { .. })
    }

    /// Rows `range`: a view of the same map when mapped (no copy), else a copy.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Self {
        assert!(range.start <= range.end && range.end <= self.len());
        let d = self.dim;
        let data = match &self.data {
            Data::Mapped { map, offset, .. } => Data::Mapped {
                map: map.clone(),
                offset: offset + range.start * d * 4,
                len: range.len() * d,
            },
            Data::Owned(v) => Data::Owned(v[range.start * d..range.end * d].to_vec()),
        };
        Self { dim: d, data }
    }

    /// Rows picked by index, in that order (gathering deduplicated results back).
    pub fn select(&self, idx: &[usize]) -> Self {
        let mut data = Vec::with_capacity(idx.len() * self.dim);
        for &i in idx {
            data.extend_from_slice(self.row(i));
        }
        Self {
            dim: self.dim,
            data: Data::Owned(data),
        }
    }

    /// NumPy `.npy` (format 1.0, little-endian float32, C order).
    pub fn write_npy(&self, w: &mut (impl Write + ?Sized)) -> std::io::Result<()> {
        write_npy_header(w, self.len(), self.dim)?;
        self.write_raw(w)
    }

    /// Raw little-endian float32 rows, no header: what LASER and vecalign read.
    pub fn write_raw(&self, w: &mut (impl Write + ?Sized)) -> std::io::Result<()> {
        for v in self.as_slice() {
            w.write_all(&v.to_le_bytes())?;
        }
        Ok(())
    }

    /// Reads an embedding matrix file: NumPy `.npy` (2-D float16/32/64, either byte order,
    /// C or Fortran order), or else raw float32 rows (LASER's and `embed`'s `.f32`) of width
    /// `dim`. Little-endian float32 in C order is memory-mapped, not read. Every value
    /// must be finite: a NaN row is an error naming the file and row.
    pub fn read(path: &Path, dim: Option<usize>) -> Result<Self> {
        let is_npy = path.extension().is_some_and(|e| e == "npy");
        let e = if is_npy {
            Self::read_npy(path)?
        } else {
            let Some(dim) = dim else {
                bail!(
                    "{}: not a .npy file; raw float32 rows need their dimension given",
                    path.display()
                );
            };
            Self::read_raw_f32(path, dim)?
        };
        if let Some(d) = dim {
            ensure!(
                e.dim == d,
                "{}: rows of {} values, but dimension {d} was given",
                path.display(),
                e.dim
            );
        }
        Ok(e)
    }

    /// Raw little-endian float32 rows of width `dim`, no header (memory-mapped).
    pub fn read_raw_f32(path: &Path, dim: usize) -> Result<Self> {
        ensure!(dim > 0, "{}: dimension must be positive", path.display());
        let map = map_file(path)?;
        ensure!(
            map.len().is_multiple_of(4 * dim),
            "{}: {} bytes are not whole rows of {dim} float32 values",
            path.display(),
            map.len()
        );
        let len = map.len() / 4;
        Self::mapped_or_copied(path, map, 0, len, dim)
    }

    /// Reads a `.npy` (see [`Embeddings::read`]); parsed with `npyz`.
    pub fn read_npy(path: &Path) -> Result<Self> {
        use npyz::{Order, TypeChar};
        let map = map_file(path)?;
        let bad = |what: String| anyhow::anyhow!("{}: not a .npy matrix ({what})", path.display());
        let npy = npyz::NpyFile::new(&map[..]).map_err(|e| bad(e.to_string()))?;
        let shape = npy.shape().to_vec();
        let [n, dim] = shape[..] else {
            return Err(bad(format!("shape {shape:?} is not 2-D")));
        };
        let n = usize::try_from(n).map_err(|_| bad("too many rows".into()))?;
        let dim = usize::try_from(dim).map_err(|_| bad("rows too wide".into()))?;
        ensure!(dim > 0 || n == 0, "{}: rows of width 0", path.display());
        let order = npy.order();
        let npyz::DType::Plain(ts) = npy.dtype() else {
            return Err(bad("a structured dtype".into()));
        };
        let width = ts.size_field() as usize;
        let values = n
            .checked_mul(dim)
            .ok_or_else(|| bad("shape too large".into()))?;
        let bytes = values
            .checked_mul(width)
            .ok_or_else(|| bad("shape too large".into()))?;
        ensure!(
            map.len() >= bytes,
            "{}: the header says {n} × {dim} values of {width} bytes, but the file is shorter",
            path.display()
        );
        let offset = map.len() - bytes;
        let little = ts.endianness() != npyz::Endianness::Big || width == 1;
        let float = ts.type_char() == TypeChar::Float;
        let c_order = order == Order::C || n <= 1 || dim <= 1;
        if float && width == 4 && little && c_order {
            return Self::mapped_or_copied(path, map, offset, values, dim.max(1));
        }
        let mut data: Vec<f32> = match (ts.type_char(), width) {
            (TypeChar::Float, 2) => npy
                .into_vec::<npyz::half::f16>()
                .map_err(|e| bad(e.to_string()))?
                .into_iter()
                .map(|v| v.to_f32())
                .collect(),
            (TypeChar::Float, 4) => npy.into_vec::<f32>().map_err(|e| bad(e.to_string()))?,
            (TypeChar::Float, 8) => npy
                .into_vec::<f64>()
                .map_err(|e| bad(e.to_string()))?
                .into_iter()
                .map(|v| v as f32)
                .collect(),
            _ => {
                return Err(bad(format!(
                    "dtype {ts} (float16, float32 or float64 are read)"
                )))
            }
        };
        ensure!(
            data.len() == values,
            "{}: {} values for shape {n} × {dim}",
            path.display(),
            data.len()
        );
        if !c_order {
            // Fortran order: column after column.
            let mut c = vec![0f32; values];
            for (k, v) in data.iter().enumerate() {
                c[(k % n) * dim + k / n] = *v;
            }
            data = c;
        }
        let e = Self::new(dim.max(1), data)?;
        e.check_finite(path)?;
        Ok(e)
    }

    /// Wraps `len` f32 values at `offset` of `map`: mapped when aligned on a
    /// little-endian host, else copied; checked finite either way.
    fn mapped_or_copied(
        path: &Path,
        map: Mmap,
        offset: usize,
        len: usize,
        dim: usize,
    ) -> Result<Self> {
        ensure!(
            len.is_multiple_of(dim),
            "{}: not whole rows",
            path.display()
        );
        assert!(offset + len * 4 <= map.len());
        let aligned = (map.as_ptr() as usize + offset).is_multiple_of(4);
        let e = if cfg!(target_endian = "little") && aligned {
            Self {
                dim,
                data: Data::Mapped {
                    map: Arc::new(map),
                    offset,
                    len,
                },
            }
        } else {
            let data = map[offset..offset + len * 4]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            Self::new(dim, data)?
        };
        e.check_finite(path)?;
        Ok(e)
    }

    /// Fails on the first row holding NaN or an infinity, naming the file and row (such
    /// a row would silently win or lose every comparison).
    pub fn check_finite(&self, path: &Path) -> Result<()> {
        if let Some(i) = self.rows().position(|r| r.iter().any(|v| !v.is_finite())) {
            bail!(
                "{}: row {i} holds a non-finite value (NaN or infinity)",
                path.display()
            );
        }
        Ok(())
    }
}

/// The `.npy` header (format 1.0) of `rows` × `dim` little-endian float32 in C order.
pub(crate) fn write_npy_header(
    w: &mut (impl Write + ?Sized),
    rows: usize,
    dim: usize,
) -> std::io::Result<()> {
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {dim}), }}");
    // Magic (6) + version (2) + header length (2) + dict + '\n', padded to 64 bytes.
    let unpadded = 10 + dict.len() + 1;
    let pad = (64 - unpadded % 64) % 64;
    let header_len = (dict.len() + pad + 1) as u16;
    w.write_all(b"\x93NUMPY\x01\x00")?;
    w.write_all(&header_len.to_le_bytes())?;
    w.write_all(dict.as_bytes())?;
    w.write_all(&vec![b' '; pad])?;
    w.write_all(b"\n")
}

fn map_file(path: &Path) -> Result<Mmap> {
    let file =
        std::fs::File::open(path).with_context(|| format!("{}: cannot read", path.display()))?;
    ensure!(
        !file.metadata().is_ok_and(|m| m.is_dir()),
        "{}: is a directory, expected an embedding file",
        path.display()
    );
    // SAFETY: read-only mapping; like the model weights, the file must not be changed
    // while the run reads it.
    unsafe { Mmap::map(&file) }.with_context(|| format!("{}: cannot map", path.display()))
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
