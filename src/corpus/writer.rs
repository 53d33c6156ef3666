//! A run's output directory, all or nothing. [`CorpusWriter::create`] claims the directory
//! at once (creating it, or refusing one that exists unless forced), so two runs cannot
//! mix their files; every file is written into a staging directory inside it, and only
//! [`CorpusWriter::commit`] moves them into place, the manifest (`run.json`) last. An error
//! or a drop before the commit leaves no file of this run behind (and removes the
//! directory if this run created it).

use super::{AtomicFile, Format, Manifest, MultiSink, Record, Sink};
use crate::error::{Error, Result};
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
        let stage = tempfile::Builder::new()
            .prefix(".bitalign-staging-")
            .tempdir_in(out)
            .map_err(|e| Error::output(out.display(), format!("cannot write here ({e})")))?;
        Ok(Self {
            out: out.to_path_buf(),
            formats: fs,
            stage: Some(stage),
            created,
            files: Vec::new(),
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
        sink.finish()?;
        for f in formats {
            for p in f.paths(&dir, src_lang, tgt_lang) {
                self.files.push(file_name(&p));
            }
        }
        Ok(())
    }

    /// Writes one more file of the run (e.g. `multi.jsonl`) from its bytes.
    pub fn write_file(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        AtomicFile::write_all(self.staging().join(name), bytes)?;
        self.files.push(name.to_string());
        Ok(())
    }

    /// Names of the files written so far, in order (what the manifest lists).
    pub fn files(&self) -> &[String] {
        &self.files
    }

    /// Writes the manifest as `run.json` and moves every file into place, `run.json` last.
    pub fn commit(mut self, manifest: &Manifest) -> Result<PathBuf> {
        let mut bytes = manifest.to_json()?;
        bytes.push(b'\n');
        AtomicFile::write_all(self.staging().join("run.json"), &bytes)?;
        let stage = self.stage.take().expect("staging lives until commit");
        let mut moved: Vec<PathBuf> = Vec::new();
        for name in self.files.iter().map(String::as_str).chain(["run.json"]) {
            let target = self.out.join(name);
            if let Err(e) = std::fs::rename(stage.path().join(name), &target) {
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
        Ok(self.out.join("run.json"))
    }
}

impl Drop for CorpusWriter {
    fn drop(&mut self) {
        // Staging goes with its TempDir; a directory this run created goes too if empty.
        if let Some(stage) = self.stage.take() {
            drop(stage);
            if self.created {
                let _ = std::fs::remove_dir(&self.out);
            }
        }
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
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
