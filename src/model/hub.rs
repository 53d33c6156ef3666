//! Where a model's files come from: a local directory in the hub's layout, or a
//! Hugging Face repo id resolved through hf-hub's cache (downloading when allowed).

use anyhow::{anyhow, Context, Result};
use hf_hub::{api::sync::ApiBuilder, Cache, Repo, RepoType};
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::observe::{Observer, Stage, Unit};

/// What `--model`, `--revision` and `--offline` asked for.
#[derive(Clone, Debug)]
pub struct ModelSource {
    /// A repo id (`intfloat/multilingual-e5-small`) or a directory.
    pub model: String,
    pub revision: String,
    /// Read the cache only (`--offline` or `HF_HUB_OFFLINE=1`).
    pub offline: bool,
}

impl ModelSource {
    pub fn new(model: impl Into<String>) -> Self {
        Self {
            model: model.into(),
            revision: "main".into(),
            offline: false,
        }
    }

    /// `--offline`, or `HF_HUB_OFFLINE` set to anything but `0`/empty, as the Python hub client reads it.
    pub fn offline_requested(flag: bool) -> bool {
        flag || std::env::var("HF_HUB_OFFLINE")
            .is_ok_and(|v| !v.is_empty() && v != "0" && v.to_lowercase() != "false")
    }
}

/// Finds a model's files, downloading them from the hub on first use.
pub enum ModelFiles<'o> {
    Local(PathBuf),
    Hub {
        id: String,
        revision: String,
        cache: Cache,
        api: Option<Box<hf_hub::api::sync::ApiRepo>>,
        progress: &'o dyn Observer,
    },
}

impl<'o> ModelFiles<'o> {
    pub fn open(src: &ModelSource, progress: &'o dyn Observer) -> Result<Self> {
        let path = Path::new(&src.model);
        if path.is_dir() {
            return Ok(Self::Local(path.to_path_buf()));
        }
        let looks_like_path =
            src.model.starts_with(['.', '/', '~']) || src.model.ends_with('/') || path.exists();
        if looks_like_path || src.model.split('/').count() > 2 || src.model.is_empty() {
            if path.exists() {
                return Err(Error::Model {
                    message: format!(
                        "{}: is not a directory (a model is a repo id or a model directory)",
                        src.model
                    ),
                }
                .into());
            }
            return Err(Error::Model {
                message: format!("{}: no such model directory", src.model),
            }
            .into());
        }
        let cache = Cache::from_env();
        let repo = Repo::with_revision(src.model.clone(), RepoType::Model, src.revision.clone());
        let api = if src.offline {
            None
        } else {
            let api = ApiBuilder::from_env()
                .with_progress(false)
                .build()
                .map_err(|e| anyhow!("cannot set up the Hugging Face hub client: {e}"))?;
            Some(Box::new(api.repo(repo)))
        };
        Ok(Self::Hub {
            id: src.model.clone(),
            revision: src.revision.clone(),
            cache,
            api,
            progress,
        })
    }

    /// The repo id, or the directory as given.
    pub fn name(&self) -> String {
        match self {
            Self::Local(p) => p.display().to_string(),
            Self::Hub { id, .. } => id.clone(),
        }
    }

    pub fn is_local(&self) -> bool {
        matches!(self, Self::Local(_))
    }

    /// A file the model cannot work without.
    pub fn required(&self, file: &str) -> Result<PathBuf> {
        self.optional(file)?.ok_or_else(|| match self {
            Self::Local(dir) => anyhow!(
                "{}: missing (the model directory has no {file})",
                dir.join(file).display()
            ),
            Self::Hub { id, api: None, .. } => Error::ModelNotCached {
                model: id.clone(),
                file: file.to_string(),
                cache: Cache::from_env().path().clone(),
            }
            .into(),
            Self::Hub { id, .. } => anyhow!("{id}: the repo has no {file}"),
        })
    }

    /// A file that may be absent (e.g. `modules.json` of a plain transformers model).
    pub fn optional(&self, file: &str) -> Result<Option<PathBuf>> {
        match self {
            Self::Local(dir) => {
                let p = dir.join(file);
                Ok(p.is_file().then_some(p))
            }
            Self::Hub {
                id,
                revision,
                cache,
                api,
                progress,
            } => {
                if let Some(p) = cached(cache, id, revision, file) {
                    return Ok(Some(p));
                }
                let Some(api) = api else { return Ok(None) };
                let bar = DownloadBar(Some(progress.stage(file, None, Unit::Bytes)));
                match api.download_with_progress(file, bar) {
                    Ok(p) => Ok(Some(p)),
                    Err(hf_hub::api::sync::ApiError::RequestError(e))
                        if matches!(*e, ureq::Error::StatusCode(404)) =>
                    {
                        Ok(None)
                    }
                    Err(e) => Err(Error::HubUnreachable {
                        model: id.clone(),
                        file: file.to_string(),
                        reason: e.to_string(),
                    }
                    .into()),
                }
            }
        }
    }
}

/// A cached file for `revision`: a branch/tag through `refs/`, or a commit hash directly.
fn cached(cache: &Cache, id: &str, revision: &str, file: &str) -> Option<PathBuf> {
    let repo = Repo::with_revision(id.to_string(), RepoType::Model, revision.to_string());
    if let Some(p) = cache.repo(repo.clone()).get(file) {
        return Some(p);
    }
    let direct = cache
        .path()
        .join(repo.folder_name())
        .join("snapshots")
        .join(revision)
        .join(file);
    direct.is_file().then_some(direct)
}

/// hf-hub's download callbacks reported as a stage (in bytes).
struct DownloadBar<'o>(Option<Box<dyn Stage + 'o>>);

impl hf_hub::api::Progress for DownloadBar<'_> {
    fn init(&mut self, size: usize, _filename: &str) {
        if let Some(s) = &self.0 {
            s.set_total(size as u64);
        }
    }
    fn update(&mut self, size: usize) {
        if let Some(s) = &self.0 {
            s.advance(size as u64);
        }
    }
    fn finish(&mut self) {
        self.0 = None;
    }
}

/// Reads and parses a JSON file, naming it in any error.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    serde_json::from_str(&text).map_err(|e| anyhow!("{}: not valid: {e}", path.display()))
}
