//! Files appear whole or not at all: written to a temporary file beside the target,
//! then renamed over it. An error leaves no half-written output; so does SIGINT/SIGTERM
//! when the binary calls [`remove_pending`] from its signal handler (a signal ends the
//! process without running destructors, so the temporary files are tracked here).

use anyhow::{Context, Result};
use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// What [`remove_pending`] does with a registered path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pending {
    /// An unfinished temporary file: deleted.
    File,
    /// A staging directory: deleted with everything in it.
    Tree,
    /// A directory the run created: deleted if empty once files and trees are gone.
    EmptyDir,
}

type Registry = Option<HashMap<PathBuf, Pending>>;

/// Temporary files of every live [`AtomicFile`] in the process, and the staging (and
/// newly created output) directories of every unfinished corpus writer.
static PENDING: Mutex<Registry> = Mutex::new(None);

fn pending() -> MutexGuard<'static, Registry> {
    PENDING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Deletes the temporary files of every unfinished [`AtomicFile`], then the unfinished
/// staging directories, then the output directories their runs created (when empty),
/// and returns how many files and staging directories it removed. For a signal handler
/// about to end the process: the registry stays locked, so no new temporary file or
/// directory can appear before the exit.
pub fn remove_pending() -> usize {
    let mut guard = pending();
    let mut entries: Vec<(PathBuf, Pending)> = guard
        .as_mut()
        .map(|s| s.drain().collect())
        .unwrap_or_default();
    // Files first, then the trees holding them, then the directories holding those.
    entries.sort_by_key(|(p, kind)| {
        let rank = match kind {
            Pending::File => 0,
            Pending::Tree => 1,
            Pending::EmptyDir => 2,
        };
        // Deeper directories before their parents.
        (rank, std::cmp::Reverse(p.components().count()))
    });
    let mut n = 0;
    for (p, kind) in &entries {
        match kind {
            Pending::File => n += usize::from(std::fs::remove_file(p).is_ok()),
            Pending::Tree => n += usize::from(std::fs::remove_dir_all(p).is_ok()),
            Pending::EmptyDir => {
                let _ = std::fs::remove_dir(p);
            }
        }
    }
    std::mem::forget(guard);
    n
}

/// The locked registry, for creating something and registering it with no gap in which
/// a signal could miss it. Register only after the creation succeeded, and drop the lock
/// before any [`Registered`] (whose drop takes the lock again).
pub(crate) struct PendingLock(MutexGuard<'static, Registry>);

pub(crate) fn lock_pending() -> PendingLock {
    PendingLock(pending())
}

impl PendingLock {
    /// Registers `path` for [`remove_pending`] until the returned value is dropped.
    pub(crate) fn register(&mut self, path: PathBuf, kind: Pending) -> Registered {
        self.0
            .get_or_insert_with(HashMap::new)
            .insert(path.clone(), kind);
        Registered(path)
    }
}

/// A path's place in [`PENDING`], given up when it is dropped (the file committed, the
/// directory finished or removed).
pub(crate) struct Registered(PathBuf);

impl Drop for Registered {
    fn drop(&mut self) {
        if let Some(set) = pending().as_mut() {
            set.remove(&self.0);
        }
    }
}

pub struct AtomicFile {
    target: PathBuf,
    tmp: BufWriter<tempfile::NamedTempFile>,
    _registered: Registered,
}

impl AtomicFile {
    pub fn create(target: impl AsRef<Path>) -> Result<Self> {
        let target = target.as_ref().to_path_buf();
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        // Created and registered under the lock, so a signal never misses one.
        let mut reg = lock_pending();
        let tmp = tempfile::Builder::new()
            .prefix(".bitalign-")
            .suffix(".tmp")
            .tempfile_in(&dir)
            .with_context(|| {
                format!("{}: cannot create a file in this directory", dir.display())
            })?;
        let registered = reg.register(tmp.path().to_path_buf(), Pending::File);
        drop(reg);
        Ok(Self {
            _registered: registered,
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
            assert!(guard
                .as_ref()
                .unwrap()
                .contains_key(&dir.path().join(&tmp[0])));
        }
        let set: Vec<(PathBuf, Pending)> = pending().as_mut().unwrap().drain().collect();
        for (p, kind) in set {
            if p.starts_with(dir.path()) {
                std::fs::remove_file(&p).unwrap();
            } else {
                pending().as_mut().unwrap().insert(p, kind);
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
