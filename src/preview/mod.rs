//! Previews of assets: thumbnails, low-res variants and extracted facts, made from a
//! file's content so a teammate can judge an asset before fetching gigabytes.
//!
//! A [`Generator`] turns the bytes of one file (read through a [`Source`], which may
//! be only partly present) into [`Generated`] facts and [`Item`]s. Generators are
//! chosen by the content type detected at ingest ([`crate::store::sniff`]); files no
//! generator handles get the generic [`card`]. A file whose name claims a format its
//! bytes are not (random bytes named `.dds`, an empty `.fbx`) is a recorded failure
//! ([`claim`]), under the claimed format's generator. [`run`] calls a generator on its own
//! thread with panics caught and a time limit, so a corrupt or hostile asset yields a
//! recorded failure and never takes the process down.
//!
//! Invariants:
//! - Output depends only on the content and the generator's version (no clocks, no
//!   randomness, deterministic encoders), so a preview made anywhere in the team
//!   has the same id.
//! - Memory is bounded by [`Ctx`]: formats decoded in memory refuse inputs over
//!   `max_input_bytes`, decoders get `max_alloc`.

pub mod audio;
pub mod batch;
pub mod blend;
pub mod card;
pub mod claim;
mod error;
pub mod external;
pub mod mesh;
mod output;
pub mod recorded;
pub mod settings;
pub mod source;
pub mod texture;
pub mod thumbs;

use std::sync::Arc;
use std::time::{Duration, Instant};

pub use error::PreviewError;
pub use output::{Facts, Generated, Item, Role};
pub use source::{BytesSource, PrefixSource, Source, SourceReader, StoreSource};

/// Limits and settings one generation runs under.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Thumbnail levels: the longest side in pixels.
    pub levels: Vec<u32>,
    /// When the generator must give up ([`Ctx::check`] fails after it).
    pub deadline: Instant,
    /// The time limit the deadline came from (reported in the error).
    pub timeout: Duration,
    /// Largest file a generator may read whole into memory, in bytes.
    pub max_input_bytes: u64,
    /// Largest single decoded buffer (pixels, samples, vertices), in bytes.
    pub max_alloc: u64,
    /// Length of an audio preview clip, in seconds.
    pub clip_seconds: u32,
    /// Triangle budget of a decimated low-poly mesh.
    pub lowpoly_triangles: u32,
}

impl Ctx {
    /// Default time limit of one generation.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

    /// A context with the default limits and a deadline `timeout` from now.
    pub fn with_timeout(timeout: Duration) -> Ctx {
        Ctx {
            deadline: Instant::now() + timeout,
            timeout,
            ..Ctx::default()
        }
    }

    /// Fails with [`PreviewError::TimedOut`] once the deadline has passed. Long loops
    /// call it every so often.
    pub fn check(&self) -> Result<(), PreviewError> {
        if Instant::now() >= self.deadline {
            return Err(PreviewError::TimedOut {
                secs: self.timeout.as_secs(),
            });
        }
        Ok(())
    }

    /// Fails with [`PreviewError::TooLarge`] when `bytes` exceeds `max_alloc`.
    pub fn alloc(&self, bytes: u64, what: &str) -> Result<(), PreviewError> {
        if bytes > self.max_alloc {
            return Err(PreviewError::too_large(format!(
                "{what} needs {bytes} bytes, the limit is {}",
                self.max_alloc
            )));
        }
        Ok(())
    }
}

impl Default for Ctx {
    fn default() -> Ctx {
        Ctx {
            levels: thumbs::LEVELS.to_vec(),
            deadline: Instant::now() + Ctx::DEFAULT_TIMEOUT,
            timeout: Ctx::DEFAULT_TIMEOUT,
            max_input_bytes: 1 << 30,
            max_alloc: 1 << 30,
            clip_seconds: 10,
            lowpoly_triangles: 5_000,
        }
    }
}

/// One file to preview.
#[derive(Clone)]
pub struct Input {
    /// The file's path or name (its extension helps some formats).
    pub name: String,
    /// Content type detected at ingest: `png`, `dds`, `wav`, `glb`, `blend`…
    pub kind: String,
    /// The content.
    pub source: Arc<dyn Source>,
}

impl Input {
    /// An input over bytes in memory, its type detected from them.
    pub fn from_bytes(name: &str, bytes: Vec<u8>) -> Input {
        let kind = crate::store::sniff::detect(&bytes, name).kind;
        Input {
            name: name.to_string(),
            kind,
            source: Arc::new(BytesSource::new(bytes)),
        }
    }

    /// The lower-case extension of the name, `""` if none.
    pub fn extension(&self) -> String {
        let base = self.name.rsplit('/').next().unwrap_or(&self.name);
        match base.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
            _ => String::new(),
        }
    }
}

/// Makes previews of the content types it handles.
pub trait Generator: Send + Sync {
    /// Stable name recorded in preview objects: `texture`, `audio`, `mesh`, `blend`,
    /// `card`.
    fn name(&self) -> &'static str;

    /// Version of the output: bumped whenever the same input would give different
    /// bytes, so old previews are made again.
    fn version(&self) -> u32;

    /// Whether this generator reads content of type `kind` (a facts type).
    fn handles(&self, kind: &str) -> bool;

    /// Previews a complete file.
    fn generate(&self, input: &Input, ctx: &Ctx) -> Result<Generated, PreviewError>;

    /// Previews a file of which only part is present (typically its head): what the
    /// format allows from there, e.g. facts and an embedded thumbnail. Fails with
    /// [`PreviewError::NotPresent`] naming the range it would need.
    fn generate_partial(&self, input: &Input, _ctx: &Ctx) -> Result<Generated, PreviewError> {
        let _ = input;
        Err(PreviewError::unsupported(
            self.name(),
            "previews from a partially present file",
        ))
    }
}

/// The generators, in the order they are asked.
pub fn generators() -> [&'static dyn Generator; 4] {
    [
        &texture::TextureGenerator,
        &audio::AudioGenerator,
        &mesh::MeshGenerator,
        &blend::BlendGenerator,
    ]
}

/// The generator for content of type `kind`: the first that handles it, else the
/// generic card.
pub fn generator_for(kind: &str) -> &'static dyn Generator {
    generators()
        .into_iter()
        .find(|g| g.handles(kind))
        .unwrap_or(&card::CardGenerator)
}

/// The generator for a file named `name` whose content is of type `kind`: that of
/// [`claim::generator_kind`] (the claimed format's when the name claims one that
/// `kind` cannot be, else `kind`'s).
pub fn generator_for_file(kind: &str, name: &str) -> &'static dyn Generator {
    generator_for(claim::generator_kind(kind, name))
}

/// Whether a generation should use the complete-file or the partial path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every byte is present: [`Generator::generate`].
    Complete,
    /// Only some bytes are: [`Generator::generate_partial`].
    Partial,
}

/// Runs `generator` on `input` on a thread of its own, once the input's name and
/// bytes agree ([`claim::check`]; else [`PreviewError::Misnamed`]): a panic becomes
/// [`PreviewError::Panicked`], and a generator still running `ctx.timeout` after
/// the start is abandoned with [`PreviewError::TimedOut`] (its thread finishes or
/// dies on its own; nothing waits for it).
pub fn run(
    generator: &'static dyn Generator,
    input: Input,
    ctx: Ctx,
    mode: Mode,
) -> Result<Generated, PreviewError> {
    claim::check(&input.name, &*input.source)?;
    quiet_panics();
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let timeout = ctx.deadline.saturating_duration_since(Instant::now());
    let secs = ctx.timeout.as_secs();
    let spawned = std::thread::Builder::new()
        .name(format!("{PREVIEW_THREAD}{}", generator.name()))
        .spawn(move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match mode {
                Mode::Complete => generator.generate(&input, &ctx),
                Mode::Partial => generator.generate_partial(&input, &ctx),
            }));
            let result = result.unwrap_or_else(|panic| {
                Err(PreviewError::Panicked {
                    message: panic_message(&*panic),
                })
            });
            let _ = tx.send(result);
        });
    if let Err(e) = spawned {
        return Err(PreviewError::Io {
            path: "<preview thread>".into(),
            source: e,
        });
    }
    match rx.recv_timeout(timeout) {
        Ok(result) => result,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(PreviewError::TimedOut { secs }),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(PreviewError::Panicked {
            message: "the generator thread ended without a result".into(),
        }),
    }
}

/// Thread names of generator threads start with this.
const PREVIEW_THREAD: &str = "gadn-preview-";

/// The text of a panic payload.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}

/// Installs (once) a panic hook that stays silent for generator threads, whose
/// panics are caught and recorded, and defers to the previous hook otherwise.
fn quiet_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let name = std::thread::current().name().map(str::to_owned);
            if name.is_some_and(|n| n.starts_with(PREVIEW_THREAD)) {
                return;
            }
            previous(info);
        }));
    });
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_store;
