//! What the on-disk caches (embeddings, translations) share: where they live and how their
//! keys are made.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// `$XDG_CACHE_HOME/bitalign`, else `~/.cache/bitalign`.
pub fn home() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))?;
    Some(base.join("bitalign"))
}

/// A 128-bit digest of `parts` as hex (each part length-prefixed, so `["ab"]` and
/// `["a", "b"]` differ): a file name, not a security check.
pub fn digest<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut h = twox_hash::XxHash3_128::new();
    for p in parts {
        h.write(&(p.len() as u64).to_le_bytes());
        h.write(p);
    }
    format!("{:032x}", h.finish_128())
}

/// A digest of the files that decide a model's outputs and of `extra`. Large files (the
/// weights) are read in samples: their size plus 64 evenly spaced 16 KiB blocks, enough to
/// tell any two checkpoints apart without reading gigabytes on every load.
pub fn files_digest(files: &[&Path], extra: &str) -> std::io::Result<String> {
    const BLOCK: u64 = 16 << 10;
    const BLOCKS: u64 = 64;
    let mut parts: Vec<Vec<u8>> = Vec::new();
    for path in files {
        let mut f = std::fs::File::open(path)?;
        let len = f.metadata()?.len();
        parts.push(len.to_le_bytes().to_vec());
        let mut buf = Vec::new();
        if len <= BLOCK * BLOCKS {
            f.read_to_end(&mut buf)?;
        } else {
            let mut block = vec![0; BLOCK as usize];
            for k in 0..BLOCKS {
                f.seek(SeekFrom::Start((len - BLOCK) * k / (BLOCKS - 1)))?;
                f.read_exact(&mut block)?;
                buf.extend_from_slice(&block);
            }
        }
        parts.push(buf);
    }
    parts.push(extra.as_bytes().to_vec());
    Ok(digest(parts.iter().map(Vec::as_slice)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_separates_parts() {
        let d = |parts: &[&[u8]]| digest(parts.iter().copied());
        assert_ne!(d(&[b"ab", b"c"]), d(&[b"a", b"bc"]));
        assert_eq!(d(&[b"x"]).len(), 32);
    }

    #[test]
    fn files_digest_reads_samples_of_large_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w");
        let mut bytes = vec![7u8; 3 << 20];
        std::fs::write(&p, &bytes).unwrap();
        let a = files_digest(&[&p], "").unwrap();
        assert_ne!(a, files_digest(&[&p], "q8").unwrap());
        // A change in a sampled block (the last one is always read) is seen.
        *bytes.last_mut().unwrap() = 8;
        std::fs::write(&p, &bytes).unwrap();
        assert_ne!(a, files_digest(&[&p], "").unwrap());
    }
}
