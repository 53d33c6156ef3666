//! Embeddings kept on disk between runs, one `.npy` per document, so that a re-run, or a
//! re-mine with other parameters, does not embed again. The key is everything that decides
//! the vectors: the model's fingerprint (its files, engine and quantization), the prefix
//! and the document's sentences. A vector does not depend on its batch-mates, so a cached
//! document gives the very numbers embedding it again would.

use super::Embeddings;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A directory of cached embeddings.
#[derive(Clone, Debug)]
pub struct DiskCache {
    dir: PathBuf,
}

impl DiskCache {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// `$BITALIGN_CACHE_DIR`, else `$XDG_CACHE_HOME/bitalign/embeddings`, else
    /// `~/.cache/bitalign/embeddings`.
    pub fn default_dir() -> Option<PathBuf> {
        if let Some(d) = std::env::var_os("BITALIGN_CACHE_DIR").filter(|d| !d.is_empty()) {
            return Some(d.into());
        }
        Some(crate::cache::home()?.join("embeddings"))
    }

    /// The cache a setting names (`--embed-cache`, Python's `embed_cache=`): `off` none,
    /// a directory that one; unset, `$BITALIGN_EMBED_CACHE` decides the same way, else
    /// [`DiskCache::default_dir`].
    pub fn from_setting(setting: Option<&Path>) -> Option<Self> {
        let env = std::env::var_os("BITALIGN_EMBED_CACHE").filter(|v| !v.is_empty());
        match setting.map(|p| p.as_os_str().to_owned()).or(env) {
            Some(d) if d == "off" => None,
            Some(d) => Some(Self::new(d)),
            None => Self::default_dir().map(Self::new),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key of `texts` embedded by the model with `fingerprint` after `prefix`.
    pub fn key(fingerprint: &str, prefix: &str, texts: &[&str]) -> String {
        let count = (texts.len() as u64).to_le_bytes();
        let head = [fingerprint.as_bytes(), prefix.as_bytes(), &count];
        crate::cache::digest(head.into_iter().chain(texts.iter().map(|t| t.as_bytes())))
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.npy"))
    }

    /// The cached rows for `key`, if a readable file of `rows` × `dim` is there (anything
    /// else, e.g. a file cut short by a full disk, is a miss).
    pub fn get(&self, key: &str, rows: usize, dim: usize) -> Option<Embeddings> {
        let e = Embeddings::read_npy(&self.path(key)).ok()?;
        (e.len() == rows && e.dim() == dim).then_some(e)
    }

    /// Stores `e` under `key` (see [`DiskCache::put_with`]).
    pub fn put(&self, key: &str, e: &Embeddings) -> std::io::Result<()> {
        self.put_with(key, |w| e.write_npy(w))
    }

    /// Stores the `.npy` that `write` writes under `key`: written to a temporary file in
    /// the cache, then renamed, so a reader never sees half a file and two runs storing
    /// the same key do no harm.
    pub fn put_with(
        &self,
        key: &str,
        write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".bitalign-")
            .suffix(".tmp")
            .tempfile_in(&self.dir)?;
        let mut w = std::io::BufWriter::new(tmp.as_file_mut());
        write(&mut w)?;
        w.flush()?;
        drop(w);
        tmp.persist(self.path(key)).map_err(|e| e.error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cover_model_prefix_and_every_text() {
        let k = DiskCache::key("m", "passage: ", &["a", "b"]);
        assert_eq!(k.len(), 32);
        for other in [
            DiskCache::key("n", "passage: ", &["a", "b"]),
            DiskCache::key("m", "query: ", &["a", "b"]),
            DiskCache::key("m", "passage: ", &["ab"]),
            DiskCache::key("m", "passage: ", &["a", "b", ""]),
            DiskCache::key("m", "passage: a", &["b"]),
        ] {
            assert_ne!(k, other);
        }
        assert_eq!(k, DiskCache::key("m", "passage: ", &["a", "b"]));
    }

    #[test]
    fn round_trip_and_misses() {
        let dir = tempfile::tempdir().unwrap();
        let c = DiskCache::new(dir.path().join("sub"));
        let e = Embeddings::new(2, vec![1.0, 0.0, 0.6, 0.8]).unwrap();
        assert!(c.get("k", 2, 2).is_none());
        c.put("k", &e).unwrap();
        assert_eq!(c.get("k", 2, 2).unwrap().into_vec(), e.clone().into_vec());
        assert!(c.get("k", 3, 2).is_none());
        std::fs::write(c.path("k"), b"\x93NUMPY cut").unwrap();
        assert!(c.get("k", 2, 2).is_none());
        let left: Vec<_> = std::fs::read_dir(c.dir()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file left behind");
    }
}
