//! Where rows go as they are computed: in memory for small inputs, and past a size
//! ([`SPILL_BYTES`], `BITALIGN_SPILL_BYTES`) in an unlinked temporary `.npy` file that
//! is memory-mapped when complete, so that a run's vectors are bounded by the disk, not
//! by RAM. The rows a search touches are paged in and out by the kernel.

use super::Embeddings;
use anyhow::{ensure, Context, Result};
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

/// Matrices larger than this go to disk as they are written (256 MiB: about 175k rows
/// of 384 floats).
pub const SPILL_BYTES: usize = 256 << 20;

/// Rows buffered before they are written to the file.
const FLUSH_ROWS: usize = 1024;

/// The size above which [`RowSink`] spills: `BITALIGN_SPILL_BYTES` (bytes; 0 spills
/// everything) else [`SPILL_BYTES`].
pub fn spill_bytes() -> usize {
    std::env::var("BITALIGN_SPILL_BYTES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(SPILL_BYTES)
}

/// Directory of the spill files: `BITALIGN_SPILL_DIR`, else the system's temporary
/// directory (`TMPDIR`; it should be on a disk, not in RAM).
pub fn spill_dir() -> PathBuf {
    std::env::var_os("BITALIGN_SPILL_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
}

/// A matrix of a known number of rows written one row at a time (rows already written
/// can be read back: duplicates of earlier texts copy them).
pub struct RowSink {
    dim: usize,
    rows: usize,
    written: usize,
    store: Store,
}

enum Store {
    Memory(Vec<f32>),
    File {
        file: tempfile::NamedTempFile,
        /// Byte offset of row 0 (after the `.npy` header).
        start: u64,
        /// Rows not yet written, from row `written - pending.len() / dim`.
        pending: Vec<f32>,
    },
}

impl RowSink {
    /// A sink for `rows` rows of `dim` values: on disk when they take more than
    /// [`spill_bytes`].
    pub fn new(dim: usize, rows: usize) -> Result<Self> {
        Self::with_limit(dim, rows, spill_bytes())
    }

    pub fn with_limit(dim: usize, rows: usize, limit: usize) -> Result<Self> {
        let bytes = rows.saturating_mul(dim).saturating_mul(4);
        let store = if bytes <= limit && limit > 0 || rows == 0 {
            Store::Memory(Vec::with_capacity(rows * dim))
        } else {
            let dir = spill_dir();
            let mut file = tempfile::Builder::new()
                .prefix(".bitalign-rows-")
                .suffix(".npy")
                .tempfile_in(&dir)
                .with_context(|| {
                    format!(
                        "{}: cannot create a file for the embeddings (BITALIGN_SPILL_DIR)",
                        dir.display()
                    )
                })?;
            let mut header = Vec::new();
            super::matrix::write_npy_header(&mut header, rows, dim)?;
            file.write_all(&header)?;
            Store::File {
                file,
                start: header.len() as u64,
                pending: Vec::with_capacity(FLUSH_ROWS * dim),
            }
        };
        Ok(Self {
            dim,
            rows,
            written: 0,
            store,
        })
    }

    pub fn len(&self) -> usize {
        self.written
    }

    pub fn is_empty(&self) -> bool {
        self.written == 0
    }

    /// Appends one row.
    pub fn push(&mut self, row: &[f32]) -> Result<()> {
        debug_assert_eq!(row.len(), self.dim);
        ensure!(self.written < self.rows, "more rows than announced");
        match &mut self.store {
            Store::Memory(v) => v.extend_from_slice(row),
            Store::File { pending, .. } => {
                pending.extend_from_slice(row);
                if pending.len() >= FLUSH_ROWS * self.dim {
                    self.flush()?;
                }
            }
        }
        self.written += 1;
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if let Store::File { file, pending, .. } = &mut self.store {
            let bytes: Vec<u8> = pending.iter().flat_map(|v| v.to_le_bytes()).collect();
            file.as_file_mut().seek(SeekFrom::End(0))?;
            file.as_file_mut()
                .write_all(&bytes)
                .context("cannot write the embeddings file (disk full?)")?;
            pending.clear();
        }
        Ok(())
    }

    /// Row `i` (already pushed) into `out`.
    pub fn read_row(&self, i: usize, out: &mut [f32]) -> Result<()> {
        assert!(i < self.written);
        let d = self.dim;
        match &self.store {
            Store::Memory(v) => out.copy_from_slice(&v[i * d..(i + 1) * d]),
            Store::File {
                file,
                start,
                pending,
            } => {
                let first_pending = self.written - pending.len() / d;
                if i >= first_pending {
                    let k = i - first_pending;
                    out.copy_from_slice(&pending[k * d..(k + 1) * d]);
                } else {
                    let mut bytes = vec![0u8; d * 4];
                    file.as_file()
                        .read_exact_at(&mut bytes, start + (i * d * 4) as u64)?;
                    for (o, c) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                        *o = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                    }
                }
            }
        }
        Ok(())
    }

    /// The matrix: owned, or the file memory-mapped (and unlinked: it goes when the
    /// last view of it does).
    pub fn finish(mut self) -> Result<Embeddings> {
        ensure!(
            self.written == self.rows,
            "{} rows written of {}",
            self.written,
            self.rows
        );
        self.flush()?;
        match self.store {
            Store::Memory(v) => Embeddings::new(self.dim, v),
            Store::File { file, .. } => {
                let e = Embeddings::read_npy(file.path())?;
                drop(file);
                Ok(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spilled_rows_read_back_and_map() {
        for limit in [0usize, usize::MAX] {
            let rows = 3000;
            let mut s = RowSink::with_limit(3, rows, limit).unwrap();
            for i in 0..rows {
                let r = [i as f32, 0.5, -(i as f32)];
                s.push(&r).unwrap();
                let mut back = [0f32; 3];
                s.read_row(i / 2, &mut back).unwrap();
                assert_eq!(back, [(i / 2) as f32, 0.5, -((i / 2) as f32)]);
            }
            let e = s.finish().unwrap();
            assert_eq!(e.is_mapped(), limit == 0);
            assert_eq!(e.len(), rows);
            assert_eq!(e.row(2999), &[2999.0, 0.5, -2999.0]);
        }
    }
}
