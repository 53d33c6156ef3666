//! A run's output directory, all or nothing. [`CorpusWriter::create`] claims the directory
//! at once (creating it, or refusing one that exists unless forced), so two runs cannot
//! mix their files; every file is written into a staging directory inside it, and only
//! [`CorpusWriter::commit`] moves them into place, the manifest (`run.json`) last. An error
//! or a drop before the commit leaves no file of this run behind (and removes the
//! directory if this run created it).

use super::atomic::{lock_pending, Pending, Registered};
use super::{AtomicFile, Format, Manifest, MultiSink, Record, Sink};
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Writes a run's corpus files into a directory, all together or not at all.
pub struct CorpusWriter {
    out: PathBuf,
    formats: Vec<Format>,
    stage: Option<tempfile::TempDir>,
    /// Whether this run created `out` (then an unfinished run removes it).
    created: bool,
    /// Final names of the files written so far, in order.
    files: Vec<String>,
    /// Per format, the sentence sides whose text it had to change (see [`Sink::altered`]).
    altered: BTreeMap<String, usize>,
    /// The staging directory (and `out` if this run created it) in the registry a signal
    /// handler empties ([`super::remove_pending`]), until the commit or the drop.
    registered: Vec<Registered>,
}

impl CorpusWriter {
    /// Claims `out`: creates it, or (with `force`) takes an existing directory, whose
    /// files of the same names are replaced at commit. `formats` in the order given, each once.
    pub fn create(out: &Path, formats: &[Format], force: bool) -> Result<Self> {
        let mut fs: Vec<Format> = Vec::new();
        for f in formats {
            if !fs.contains(f) {
                fs.push(*f);
            }
        }
        // Created and registered under the lock, so a signal never misses them.
        let mut reg = lock_pending();
        let created = match std::fs::create_dir(out) {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if !out.is_dir() {
                    return Err(Error::output(
                        out.display(),
                        "exists and is not a directory",
                    ));
                }
                if !force {
                    return Err(Error::OutputExists {
                        path: out.display().to_string(),
                    });
                }
                false
            }
            Err(e) => {
                // A missing parent is created as `mkdir -p` would.
                std::fs::create_dir_all(out).map_err(|_| {
                    Error::output(
                        out.display(),
                        format!("cannot create the output directory ({e})"),
                    )
                })?;
                true
            }
        };
        let stage = match tempfile::Builder::new()
            .prefix(".bitalign-staging-")
            .tempdir_in(out)
        {
            Ok(stage) => stage,
            Err(e) => {
                if created {
                    let _ = std::fs::remove_dir(out);
                }
                return Err(Error::output(
                    out.display(),
                    format!("cannot write here ({e})"),
                ));
            }
        };
        let mut registered = Vec::new();
        if created {
            registered.push(reg.register(out.to_path_buf(), Pending::EmptyDir));
        }
        registered.push(reg.register(stage.path().to_path_buf(), Pending::Tree));
        drop(reg);
        Ok(Self {
            out: out.to_path_buf(),
            formats: fs,
            stage: Some(stage),
            created,
            files: Vec::new(),
            altered: BTreeMap::new(),
            registered,
        })
    }

    /// The directory the files will end up in.
    pub fn dir(&self) -> &Path {
        &self.out
    }

    pub fn formats(&self) -> &[Format] {
        &self.formats
    }

    fn staging(&self) -> &Path {
        self.stage
            .as_ref()
            .expect("staging lives until commit")
            .path()
    }

    /// Writes one language pair's records in every format.
    pub fn write_pair<'r>(
        &mut self,
        src_lang: &str,
        tgt_lang: &str,
        records: impl IntoIterator<Item = &'r Record>,
    ) -> Result<()> {
        let formats = self.formats.clone();
        self.write_pair_as(&formats, src_lang, tgt_lang, records)
    }

    /// Writes one language pair's records in some of the formats (when formats hold
    /// different subsets of the records).
    pub fn write_pair_as<'r>(
        &mut self,
        formats: &[Format],
        src_lang: &str,
        tgt_lang: &str,
        records: impl IntoIterator<Item = &'r Record>,
    ) -> Result<()> {
        let dir = self.staging().to_path_buf();
        let mut sink = Box::new(MultiSink::open(formats, &dir, src_lang, tgt_lang)?);
        for r in records {
            sink.write(r)?;
        }
        for (f, n) in sink.altered() {
            *self
                .altered
                .entry(format!("{f:?}").to_lowercase())
                .or_default() += n;
        }
        sink.finish()?;
        for f in formats {
            // Formats may skip a pair with no rows (hf): list only what was written.
            for p in f.paths(&dir, src_lang, tgt_lang) {
                if p.is_file() {
                    self.files.push(relative(&dir, &p));
                }
            }
        }
        Ok(())
    }

    /// Writes one more file of the run (e.g. `multi.jsonl`, or `report-plots/a.svg` in a
    /// folder of the run) from its bytes.
    pub fn write_file(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        let path = self.staging().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        AtomicFile::write_all(path, bytes)?;
        self.files.push(name.to_string());
        Ok(())
    }

    /// Per format, the sentence sides whose text it had to change so far (tabs, line
    /// breaks, characters XML forbids), for the manifest's `altered_sides`.
    pub fn altered(&self) -> &BTreeMap<String, usize> {
        &self.altered
    }

    /// Names of the files written so far, in order (what the manifest lists).
    pub fn files(&self) -> &[String] {
        &self.files
    }

    /// A file of the run to stream into (e.g. a large matrix): written in the staging
    /// directory, moved into place with the others at the commit. Commit the
    /// [`AtomicFile`] itself once it is complete.
    pub fn create_file(&mut self, name: &str) -> Result<AtomicFile> {
        let file = AtomicFile::create(self.staging().join(name))?;
        self.files.push(name.to_string());
        Ok(file)
    }

    /// Writes the manifest as `run.json` and moves every file into place, `run.json` last.
    pub fn commit(self, manifest: &Manifest) -> Result<PathBuf> {
        let mut bytes = manifest.to_json()?;
        bytes.push(b'\n');
        self.commit_as("run.json", &bytes)
    }

    /// [`CorpusWriter::commit`] with a manifest of another name and shape (`embed.json`).
    pub fn commit_as(mut self, manifest_name: &str, bytes: &[u8]) -> Result<PathBuf> {
        AtomicFile::write_all(self.staging().join(manifest_name), bytes)?;
        let stage = self.stage.take().expect("staging lives until commit");
        let mut moved: Vec<PathBuf> = Vec::new();
        for name in self.files.iter().map(String::as_str).chain([manifest_name]) {
            let target = self.out.join(name);
            let renamed = match target.parent() {
                Some(p) if p != self.out => std::fs::create_dir_all(p),
                _ => Ok(()),
            }
            .and_then(|()| std::fs::rename(stage.path().join(name), &target));
            if let Err(e) = renamed {
                // Undo: this run's files all appear or none do.
                for m in &moved {
                    let _ = std::fs::remove_file(m);
                }
                self.stage = Some(stage);
                return Err(Error::output(
                    target.display(),
                    format!("cannot move the finished file into place ({e})"),
                ));
            }
            moved.push(target);
        }
        drop(stage);
        self.created = false;
        self.registered.clear();
        Ok(self.out.join(manifest_name))
    }
}

impl Drop for CorpusWriter {
    fn drop(&mut self) {
        // Staging goes with its TempDir; a directory this run created goes too if empty.
        // Their registrations go afterwards (with the fields), so a signal meanwhile
        // still removes them.
        if let Some(stage) = self.stage.take() {
            drop(stage);
            if self.created {
                let _ = std::fs::remove_dir(&self.out);
            }
        }
    }
}

/// `p`'s path below the staging directory, `/`-separated (what the manifest lists).
fn relative(stage: &Path, p: &Path) -> String {
    p.strip_prefix(stage)
        .unwrap_or(p)
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_at_once_and_leaves_nothing_unless_committed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("run");
        {
            let mut w = CorpusWriter::create(&out, &[Format::Jsonl, Format::Moses], false).unwrap();
            assert!(out.is_dir(), "claimed at creation");
            let e = CorpusWriter::create(&out, &[Format::Jsonl], false)
                .err()
                .unwrap();
            assert!(matches!(e, Error::OutputExists { .. }), "{e}");
            w.write_pair("en", "vi", &[]).unwrap();
            assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1, "only staging");
        }
        assert!(!out.exists(), "an unfinished run leaves nothing");
        let mut w = CorpusWriter::create(&out, &[Format::Jsonl, Format::Jsonl], false).unwrap();
        w.write_pair("en", "vi", &[]).unwrap();
        assert_eq!(w.files(), ["en-vi.jsonl"]);
        w.commit(&Manifest::default()).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["en-vi.jsonl", "run.json"]);
        // Forced into an existing directory: kept afterwards even when unfinished.
        drop(CorpusWriter::create(&out, &[Format::Tsv], true).unwrap());
        assert!(out.join("run.json").exists());
    }

    #[test]
    fn a_file_in_the_way_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, "x").unwrap();
        let e = CorpusWriter::create(&f, &[Format::Jsonl], true)
            .err()
            .unwrap();
        assert!(e.to_string().contains("not a directory"), "{e}");
    }
}
