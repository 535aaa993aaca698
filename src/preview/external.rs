//! External preview tools: a command template per content type, configured as
//! `preview.tool.TYPE` (for example `blender -b {input} -P thumb.py -- {output}`
//! for `blend`, or `ffmpeg -v error -i {input} -frames:v 1 {output}` for video).
//!
//! The template is split on whitespace (no shell is involved); `{input}` becomes a
//! temporary copy of the content (named with the file's extension) and `{output}`
//! the path where the tool must write a PNG picture, which is made into thumbnail
//! levels. The tool runs with the configured timeout and is killed past it. A tool
//! is never required: when it is missing or fails, the built-in generator is used
//! and the failure is kept in the fact `external_error`.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{thumbs, Ctx, Generated, Generator, Input, PreviewError, SourceReader};

/// A parsed command template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// Program and arguments, with `{input}` and `{output}` still in place.
    pub argv: Vec<String>,
}

impl Template {
    /// Parses a template; it must name a program and use both `{input}` and
    /// `{output}`.
    pub fn parse(text: &str) -> Result<Template, String> {
        let argv: Vec<String> = text.split_whitespace().map(str::to_string).collect();
        if argv.is_empty() {
            return Err("empty command".into());
        }
        for p in ["{input}", "{output}"] {
            if !argv[1..].iter().any(|a| a.contains(p)) {
                return Err(format!("the command must use {p} in an argument"));
            }
        }
        Ok(Template { argv })
    }

    /// The arguments with the placeholders replaced.
    pub fn args(&self, input: &Path, output: &Path) -> Vec<String> {
        self.argv[1..]
            .iter()
            .map(|a| {
                a.replace("{input}", &input.to_string_lossy())
                    .replace("{output}", &output.to_string_lossy())
            })
            .collect()
    }
}

/// A configured external tool, as a generator.
pub struct ExternalGenerator {
    name: &'static str,
    version: u32,
    kind: String,
    template: Template,
}

impl ExternalGenerator {
    /// A generator running `template` for content type `kind`. Its version is
    /// derived from the template, so changing the command makes previews anew.
    pub fn new(kind: &str, template: Template) -> ExternalGenerator {
        let digest = blake3::hash(template.argv.join("\0").as_bytes());
        let mut v = [0u8; 4];
        v.copy_from_slice(&digest.as_bytes()[..4]);
        let name: String = format!("external-{kind}")
            .chars()
            .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
            .take(32)
            .collect();
        ExternalGenerator {
            name: Box::leak(name.into_boxed_str()),
            version: u32::from_le_bytes(v) & 0x7fff_ffff,
            kind: kind.to_string(),
            template,
        }
    }

    /// Leaks `self` for use with [`super::run`] (one per configured tool per process).
    pub fn into_static(self) -> &'static ExternalGenerator {
        Box::leak(Box::new(self))
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PreviewError + '_ {
    move |source| PreviewError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl Generator for ExternalGenerator {
    fn name(&self) -> &'static str {
        self.name
    }

    fn version(&self) -> u32 {
        self.version
    }

    fn handles(&self, kind: &str) -> bool {
        kind == self.kind
    }

    fn generate(&self, input: &Input, ctx: &Ctx) -> Result<Generated, PreviewError> {
        let program = &self.template.argv[0];
        let tool = |detail: String| PreviewError::External {
            tool: program.clone(),
            detail,
        };
        let dir = tempfile::Builder::new()
            .prefix("gadn-preview-")
            .tempdir()
            .map_err(io(Path::new("<temporary directory>")))?;
        let ext = input.extension();
        let in_path = dir.path().join(if ext.is_empty() {
            "input".to_string()
        } else {
            format!("input.{ext}")
        });
        let out_path = dir.path().join("output.png");
        {
            let mut out = std::fs::File::create(&in_path).map_err(io(&in_path))?;
            let mut reader = SourceReader::new(Arc::clone(&input.source));
            std::io::copy(&mut reader, &mut out).map_err(io(&in_path))?;
        }
        let mut child = Command::new(program)
            .args(self.template.args(&in_path, &out_path))
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| tool(format!("cannot start: {e}")))?;
        // Drain stderr on a thread so a chatty tool cannot block on a full pipe.
        let mut stderr = child.stderr.take();
        let drain = std::thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(s) = stderr.as_mut() {
                let _ = s.take(1 << 20).read_to_end(&mut text);
            }
            text
        });
        let status = loop {
            match child.try_wait().map_err(|e| tool(e.to_string()))? {
                Some(status) => break status,
                None if Instant::now() >= ctx.deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(tool(format!(
                        "killed after {:.1} s",
                        ctx.timeout.as_secs_f64()
                    )));
                }
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        let stderr = drain.join().unwrap_or_default();
        if !status.success() {
            let text = String::from_utf8_lossy(&stderr);
            let tail: String = text
                .trim()
                .chars()
                .rev()
                .take(300)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            return Err(tool(format!("{status}: {tail}")));
        }
        let len = std::fs::metadata(&out_path)
            .map_err(|_| tool(format!("wrote no output at {}", out_path.display())))?
            .len();
        ctx.alloc(len, "the tool's output")?;
        let mut reader = image::ImageReader::open(&out_path)
            .map_err(io(&out_path))?
            .with_guessed_format()
            .map_err(io(&out_path))?;
        let mut limits = image::Limits::default();
        limits.max_alloc = Some(ctx.max_alloc);
        reader.limits(limits);
        let picture = reader
            .decode()
            .map_err(|e| tool(format!("output is not a picture: {e}")))?
            .to_rgba8();
        let mut g = Generated::default();
        g.fact("width", picture.width())
            .fact("height", picture.height())
            .fact("tool", program.clone());
        g.items = thumbs::levels(&picture, ctx)?;
        Ok(g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generator(cmd: &str) -> &'static ExternalGenerator {
        ExternalGenerator::new("blend", Template::parse(cmd).unwrap()).into_static()
    }

    #[test]
    fn templates_need_a_program_and_both_placeholders() {
        assert!(Template::parse("").is_err());
        assert!(Template::parse("tool {input}").is_err());
        assert!(Template::parse("{input} {output}").is_err());
        assert!(Template::parse("tool {input} {output}").is_ok());
        let t = Template::parse("tool -i {input} --out={output}").unwrap();
        assert_eq!(
            t.args(Path::new("/a"), Path::new("/b")),
            vec!["-i", "/a", "--out=/b"]
        );
    }

    #[test]
    fn versions_follow_the_template() {
        let a = generator("a {input} {output}");
        let b = generator("b {input} {output}");
        assert_ne!(a.version(), b.version());
        assert_eq!(a.name(), "external-blend");
        assert!(a.handles("blend") && !a.handles("png"));
    }

    #[test]
    fn a_tool_that_writes_a_png_gives_thumbnails() {
        // `cp` stands in for a renderer: the input is already a PNG.
        let mut png = Vec::new();
        image::RgbaImage::from_pixel(300, 100, image::Rgba([0, 0, 255, 255]))
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let g = generator("cp {input} {output}");
        let out = g
            .generate(&Input::from_bytes("scene.blend", png), &Ctx::default())
            .unwrap();
        assert_eq!(out.facts["width"], 300);
        assert_eq!(out.items.len(), 3);
    }

    #[test]
    fn tool_failures_are_reported() {
        let input = Input::from_bytes("scene.blend", b"not a picture".to_vec());
        let ctx = Ctx::default();
        let err = |cmd: &str, ctx: &Ctx| {
            generator(cmd)
                .generate(&input, ctx)
                .unwrap_err()
                .to_string()
        };
        assert!(err("gadn-no-such-tool {input} {output}", &ctx).contains("cannot start"));
        assert!(err("false {input} {output}", &ctx).contains("exit status: 1"));
        assert!(err("true {input} {output}", &ctx).contains("wrote no output"));
        assert!(err("cp {input} {output}", &ctx).contains("not a picture"));
        let short = Ctx::with_timeout(Duration::from_millis(300));
        let start = Instant::now();
        let script = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(script.path(), "sleep 20\n").unwrap();
        let cmd = format!("sh {} {{input}} {{output}}", script.path().display());
        assert!(err(&cmd, &short).contains("killed after 0.3 s"));
        assert!(start.elapsed() < Duration::from_secs(10));
    }
}
