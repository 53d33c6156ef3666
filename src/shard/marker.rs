//! Done markers: a small JSON file, written last (temporary file, then rename), that lists
//! the files a stage wrote for one shard with their sizes and CRC-32 checksums. A shard is
//! done when its marker exists and every file it lists still has that size and checksum;
//! a task killed half-way leaves at most temporary files (`.bitalign-*.tmp`), which no
//! stage reads, and no marker.

use crate::corpus::AtomicFile;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::Path;

/// One file a stage wrote, relative to the work directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub file: String,
    pub bytes: u64,
    pub crc32: u32,
}

/// The marker of one shard of one stage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    pub stage: String,
    pub shard: usize,
    pub files: Vec<Stamp>,
}

/// Size and CRC-32 of a file, read in 1 MiB pieces.
pub fn stamp(root: &Path, file: &str) -> Result<Stamp> {
    let path = root.join(file);
    let mut f = std::fs::File::open(&path)
        .map_err(|e| Error::input(path.display(), format!("cannot read: {e}")))?;
    let mut h = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| Error::input(path.display(), format!("cannot read: {e}")))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok(Stamp {
        file: file.to_string(),
        bytes,
        crc32: h.finalize(),
    })
}

impl Marker {
    /// Stamps `files` (relative to `root`) and writes the marker to `root/path`, last.
    pub fn write(
        root: &Path,
        path: &str,
        stage: &str,
        shard: usize,
        files: &[String],
    ) -> Result<Self> {
        let files = files
            .iter()
            .map(|f| stamp(root, f))
            .collect::<Result<Vec<_>>>()?;
        let m = Marker {
            stage: stage.to_string(),
            shard,
            files,
        };
        let json = serde_json::to_vec_pretty(&m).map_err(anyhow::Error::from)?;
        AtomicFile::write_all(root.join(path), &json)?;
        Ok(m)
    }

    /// The marker at `root/path`, if there is one that parses.
    pub fn read(root: &Path, path: &str) -> Option<Self> {
        let bytes = std::fs::read(root.join(path)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Every listed file has its recorded size; with `checksums`, its checksum too (reads
    /// the files).
    pub fn holds(&self, root: &Path, checksums: bool) -> bool {
        self.files.iter().all(|s| {
            let size = std::fs::metadata(root.join(&s.file)).map(|m| m.len()).ok();
            size == Some(s.bytes) && (!checksums || stamp(root, &s.file).is_ok_and(|t| t == *s))
        })
    }

    /// The marker at `root/path` if it holds (see [`Marker::holds`]).
    pub fn valid(root: &Path, path: &str, checksums: bool) -> Option<Self> {
        Self::read(root, path).filter(|m| m.holds(root, checksums))
    }
}
