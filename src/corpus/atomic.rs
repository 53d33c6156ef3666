//! Files appear whole or not at all: written to a temporary file beside the target,
//! then renamed over it. A crash or an error leaves no half-written output.

use anyhow::{Context, Result};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

pub struct AtomicFile {
    target: PathBuf,
    tmp: BufWriter<tempfile::NamedTempFile>,
}

impl AtomicFile {
    pub fn create(target: impl AsRef<Path>) -> Result<Self> {
        let target = target.as_ref().to_path_buf();
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let tmp = tempfile::Builder::new()
            .prefix(".bitalign-")
            .suffix(".tmp")
            .tempfile_in(&dir)
            .with_context(|| {
                format!("{}: cannot create a file in this directory", dir.display())
            })?;
        Ok(Self {
            target,
            tmp: BufWriter::new(tmp),
        })
    }

    pub fn path(&self) -> &Path {
        &self.target
    }

    /// Flushes, syncs and renames onto the target.
    pub fn commit(self) -> Result<()> {
        let target = self.target;
        let tmp = self
            .tmp
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
}
