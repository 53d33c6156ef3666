//! Files appear whole or not at all: written to a temporary file beside the target,
//! then renamed over it. An error leaves no half-written output; so does SIGINT/SIGTERM
//! when the binary calls [`remove_pending`] from its signal handler (a signal ends the
//! process without running destructors, so the temporary files are tracked here).

use anyhow::{Context, Result};
use std::collections::HashSet;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// Temporary files of every live [`AtomicFile`] in the process.
static PENDING: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);

fn pending() -> MutexGuard<'static, Option<HashSet<PathBuf>>> {
    PENDING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Deletes the temporary files of every unfinished [`AtomicFile`] and returns how many.
/// For a signal handler about to end the process: the registry stays locked, so no new
/// temporary file can appear before the exit.
pub fn remove_pending() -> usize {
    let mut guard = pending();
    let files: Vec<PathBuf> = guard
        .as_mut()
        .map(|s| s.drain().collect())
        .unwrap_or_default();
    let n = files
        .iter()
        .filter(|f| std::fs::remove_file(f).is_ok())
        .count();
    std::mem::forget(guard);
    n
}

pub struct AtomicFile {
    target: PathBuf,
    tmp: BufWriter<tempfile::NamedTempFile>,
    _registered: Registered,
}

/// A temporary file's place in [`PENDING`], given up when the file is committed or dropped.
struct Registered(PathBuf);

impl Drop for Registered {
    fn drop(&mut self) {
        if let Some(set) = pending().as_mut() {
            set.remove(&self.0);
        }
    }
}

impl AtomicFile {
    pub fn create(target: impl AsRef<Path>) -> Result<Self> {
        let target = target.as_ref().to_path_buf();
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        // Created and registered under the lock, so a signal never misses one.
        let mut reg = pending();
        let tmp = tempfile::Builder::new()
            .prefix(".bitalign-")
            .suffix(".tmp")
            .tempfile_in(&dir)
            .with_context(|| {
                format!("{}: cannot create a file in this directory", dir.display())
            })?;
        let path = tmp.path().to_path_buf();
        reg.get_or_insert_with(HashSet::new).insert(path.clone());
        drop(reg);
        Ok(Self {
            _registered: Registered(path),
            target,
            tmp: BufWriter::new(tmp),
        })
    }

    pub fn path(&self) -> &Path {
        &self.target
    }

    /// Flushes, syncs and renames onto the target.
    pub fn commit(self) -> Result<()> {
        let Self {
            target,
            tmp,
            _registered,
        } = self;
        let tmp = tmp
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(|| format!("{}: write failed", target.display()))?;
        // Temporary files are private (0600); a corpus is meant to be read by others.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o644))
                .with_context(|| format!("{}: cannot set permissions", target.display()))?;
        }
        tmp.as_file()
            .sync_all()
            .with_context(|| format!("{}: write failed", target.display()))?;
        tmp.persist(&target).map_err(|e| e.error).with_context(|| {
            format!(
                "{}: cannot move the finished file into place",
                target.display()
            )
        })?;
        Ok(())
    }

    /// Writes `bytes` to `target` atomically.
    pub fn write_all(target: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
        let mut f = Self::create(target)?;
        f.write_all(bytes)
            .with_context(|| format!("{}: write failed", f.target.display()))?;
        f.commit()
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tmp.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.tmp.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_appears_until_commit_and_drop_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.txt");
        {
            let mut f = AtomicFile::create(&p).unwrap();
            f.write_all(b"half").unwrap();
            assert!(!p.exists());
        }
        assert!(!p.exists());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "temp file left behind"
        );
        let mut f = AtomicFile::create(&p).unwrap();
        f.write_all(b"whole").unwrap();
        f.commit().unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"whole");
    }

    /// Issue 10 #4: what a SIGINT/SIGTERM handler calls removes unfinished files only.
    #[test]
    fn remove_pending_deletes_unfinished_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = AtomicFile::create(dir.path().join("a")).unwrap();
        f.write_all(b"x").unwrap();
        f.flush().unwrap();
        AtomicFile::write_all(dir.path().join("done"), b"kept").unwrap();
        let tmp: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with(".bitalign-"))
            .collect();
        assert_eq!(tmp.len(), 1);
        // Other tests may have files pending too; this one's must be among those removed.
        {
            let guard = pending();
            assert!(guard.as_ref().unwrap().contains(&dir.path().join(&tmp[0])));
        }
        let set: Vec<PathBuf> = pending().as_mut().unwrap().drain().collect();
        for p in &set {
            if p.starts_with(dir.path()) {
                std::fs::remove_file(p).unwrap();
            } else {
                pending().as_mut().unwrap().insert(p.clone());
            }
        }
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["done"]);
        drop(f);
    }
}
