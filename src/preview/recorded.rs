//! Preview objects in the store: made once per (file, generator, version) and found
//! again through the `previews` index (`store-format.md` § *Preview*).
//!
//! Making a preview has two halves. [`Planner::make`] reads the content through a
//! read-only store handle and runs the generator (in parallel with others, no lock
//! held); [`record`] then writes the items as ordinary files and the preview object,
//! under the store's write lock. A failure is recorded like a success (with its
//! reason), so a corrupt file is not decoded again on every run; only "content not
//! present" is not recorded, since fetching the content changes the answer.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::external::{ExternalGenerator, Template};
use super::settings::Settings;
use super::{
    generator_for, run, Generated, Generator, Input, Mode, PreviewError, Source, StoreSource,
};
use crate::store::lock::StoreLock;
use crate::store::object::{PreviewItemRef, PreviewObject};
use crate::store::{ObjectId, ObjectKind, Store};

/// One file to preview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The file object.
    pub file: ObjectId,
    /// A repository path it has (its extension helps some formats).
    pub path: String,
}

/// A generation's result, not yet recorded.
pub struct Made {
    /// What was previewed.
    pub job: Job,
    /// Content type detected.
    pub kind: String,
    /// Bytes of content.
    pub size: u64,
    /// The generator the preview is recorded under.
    pub generator: &'static dyn Generator,
    /// Its output or failure.
    pub result: Result<Generated, PreviewError>,
    /// Made from a partially present file.
    pub partial: bool,
}

impl Made {
    /// Bytes of the items made (0 for a failure).
    pub fn item_bytes(&self) -> usize {
        match &self.result {
            Ok(g) => g.items.iter().map(|i| i.bytes.len()).sum(),
            Err(_) => 0,
        }
    }
}

/// Chooses generators: a configured external tool for a type, else the built-in one.
pub struct Planner {
    settings: Settings,
    tools: BTreeMap<String, &'static ExternalGenerator>,
}

impl Planner {
    /// A planner for `settings` (external templates were checked when loading).
    pub fn new(settings: Settings) -> Planner {
        let tools = settings
            .tools
            .iter()
            .filter_map(|(kind, text)| {
                let t = Template::parse(text).ok()?;
                Some((kind.clone(), ExternalGenerator::new(kind, t).into_static()))
            })
            .collect();
        Planner { settings, tools }
    }

    /// The settings in use.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The generator whose preview a file named `name` of type `kind` should have:
    /// a configured tool for the type, else the built-in one (for the claimed
    /// format's type when the name claims one `kind` cannot be, see
    /// [`super::claim::generator_kind`]).
    pub fn generator(&self, kind: &str, name: &str) -> &'static dyn Generator {
        let kind = super::claim::generator_kind(kind, name);
        match self.tools.get(kind) {
            Some(tool) => *tool,
            None => generator_for(kind),
        }
    }

    /// The recorded preview of `file` (of type `kind`, named `name`) by the current
    /// generator, if any: `(object id, object)`. A row whose object is missing or
    /// undecodable counts as none (it will be made again).
    pub fn existing(
        &self,
        store: &Store,
        file: &ObjectId,
        kind: &str,
        name: &str,
    ) -> Result<Option<(ObjectId, PreviewObject)>, PreviewError> {
        let g = self.generator(kind, name);
        let Some(id) = store
            .db()
            .previews_get(file, g.name(), g.version())
            .map_err(crate::store::StoreError::from)?
        else {
            return Ok(None);
        };
        let Ok(bytes) = store.read_kind(&id, ObjectKind::Preview) else {
            return Ok(None);
        };
        Ok(PreviewObject::decode(&bytes).ok().map(|p| (id, p)))
    }

    /// The recorded preview of stored file `file` (at `path`) by the generator its
    /// content type calls for, if any (stale or not, see [`Planner::is_stale`]).
    pub fn recorded(
        &self,
        store: &Arc<Store>,
        file: &ObjectId,
        path: &str,
    ) -> Result<Option<(ObjectId, PreviewObject)>, PreviewError> {
        match content_kind(store, file, path) {
            Some(kind) => self.existing(store, file, &kind, path),
            None => Ok(None),
        }
    }

    /// Whether a recorded preview should be made again: it was made from part of the
    /// file, or timed out, and the file is now complete.
    pub fn is_stale(&self, store: &Arc<Store>, preview: &PreviewObject) -> bool {
        let facts: serde_json::Value =
            serde_json::from_str(&preview.facts).unwrap_or(serde_json::Value::Null);
        if facts.get("partial") != Some(&serde_json::Value::Bool(true)) {
            return false;
        }
        StoreSource::open(Arc::clone(store), &preview.file).is_ok_and(|s| s.is_complete())
    }

    /// Runs the generator for `job` on content read through `store` (the whole file
    /// when present, else what its head allows). Never fails: errors are in
    /// [`Made::result`].
    pub fn make(&self, store: &Arc<Store>, job: Job) -> Made {
        let mut made = Made {
            kind: "binary".into(),
            size: 0,
            generator: generator_for("binary"),
            result: Ok(Generated::default()),
            partial: false,
            job,
        };
        let source = match StoreSource::open(Arc::clone(store), &made.job.file) {
            Ok(s) => s,
            Err(e) => {
                made.result = Err(e);
                return made;
            }
        };
        made.size = source.len();
        made.kind = content_type(store, &source, &made.job.path);
        made.generator = self.generator(&made.kind, &made.job.path);
        let complete = source.is_complete();
        made.partial = !complete;
        let mode = if complete {
            Mode::Complete
        } else {
            Mode::Partial
        };
        let input = Input {
            name: made.job.path.clone(),
            kind: made.kind.clone(),
            source: Arc::new(source),
        };
        made.result = run(made.generator, input.clone(), self.settings.ctx(), mode);
        // A configured tool that fails falls back to the built-in generator (not
        // for a misnamed file: the built-in one would refuse it alike).
        if let Err(e) = &made.result {
            let builtin = super::generator_for_file(&made.kind, &made.job.path);
            let misnamed = matches!(e, PreviewError::Misnamed { .. });
            if made.generator.name() != builtin.name() && !e.is_not_present() && !misnamed {
                let why = e.to_string();
                made.result = run(builtin, input, self.settings.ctx(), mode).map(|mut g| {
                    g.fact("external_error", why)
                        .fact("fallback", builtin.name());
                    g
                });
            }
        }
        made
    }
}

/// The content type of stored file `file` (at `path`): from the facts table, else
/// detected from the present head of its content; `None` when the file object is
/// not stored.
pub fn content_kind(store: &Arc<Store>, file: &ObjectId, path: &str) -> Option<String> {
    if let Ok(Some([kind, ..])) = store.db().facts_get(file) {
        return Some(kind);
    }
    let source = StoreSource::open(Arc::clone(store), file).ok()?;
    Some(content_type(store, &source, path))
}

/// The content type of a stored file: from the facts table, else detected from the
/// present head of the content.
fn content_type(store: &Store, source: &StoreSource, path: &str) -> String {
    if let Ok(Some([kind, ..])) = store.db().facts_get(source.file_id()) {
        return kind;
    }
    let mut head = vec![0u8; source.len().min(crate::store::sniff::SNIFF_LEN as u64) as usize];
    match source.read_exact_at(0, &mut head) {
        Ok(()) => crate::store::sniff::detect(&head, path).kind,
        Err(_) => crate::store::sniff::detect(&[], path).kind,
    }
}

/// What [`record`] did with one [`Made`].
#[derive(Debug)]
pub struct Recorded {
    /// The file.
    pub job: Job,
    /// The preview object, `None` when nothing was recorded (content absent).
    pub preview: Option<(ObjectId, PreviewObject)>,
    /// The failure, recorded or not.
    pub error: Option<String>,
}

/// Writes the items and preview objects of `made` (one pack) and indexes them.
pub fn record(
    store: &mut Store,
    lock: &StoreLock,
    made: Vec<Made>,
) -> Result<Vec<Recorded>, PreviewError> {
    let mut out = Vec::with_capacity(made.len());
    let mut rows = Vec::new();
    let mut writer = store.writer(lock);
    for m in made {
        let mut facts = match &m.result {
            Ok(g) => g.facts.clone(),
            Err(_) => Default::default(),
        };
        facts.insert("type".into(), m.kind.clone().into());
        facts.insert("size".into(), m.size.into());
        if m.partial {
            facts.insert("partial".into(), true.into());
        }
        let (error, items) = match m.result {
            Ok(g) => (None, g.items),
            Err(e) if e.is_not_present() || matches!(e, PreviewError::Store(_)) => {
                out.push(Recorded {
                    job: m.job,
                    preview: None,
                    error: Some(e.to_string()),
                });
                continue;
            }
            Err(e) => (Some(e.to_string()), Vec::new()),
        };
        let mut refs = Vec::with_capacity(items.len());
        for item in items {
            // Items are small and already in memory: chunked and hashed here, not
            // through the streaming ingest pipeline (two threads per call).
            let size = item.bytes.len() as u64;
            let prepared = writer.prepare_bytes(item.bytes)?;
            let ingested = writer.append_prepared(prepared)?;
            refs.push(PreviewItemRef {
                role: item.role.code(),
                level: item.level,
                media_type: item.media_type,
                size,
                content: ingested.id,
            });
        }
        let object = PreviewObject {
            file: m.job.file,
            generator: m.generator.name().to_string(),
            generator_version: m.generator.version(),
            error: error.clone(),
            facts: serde_json::to_string(&facts).unwrap_or_else(|_| "{}".into()),
            items: refs,
        };
        let bytes = object.encode().map_err(crate::store::StoreError::from)?;
        let id = writer.put_object(ObjectKind::Preview, bytes)?;
        rows.push((
            m.job.file,
            object.generator.clone(),
            object.generator_version,
            id,
        ));
        out.push(Recorded {
            job: m.job,
            preview: Some((id, object)),
            error,
        });
    }
    writer.finish()?;
    // Rows after the pack is sealed: an index row never names an unsealed object.
    for row in &rows {
        store
            .db()
            .previews_put(row)
            .map_err(crate::store::StoreError::from)?;
    }
    Ok(out)
}
