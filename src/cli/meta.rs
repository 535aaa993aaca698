//! `gadn meta`: show or edit an asset's creative metadata (author, created, notes,
//! tags, free keys), staged in the index and recorded by the next commit.

use std::path::PathBuf;
use std::process::ExitCode;

use gadn::vcs::{MetaEdit, MetaView};

use super::output::{human_bytes, print_json, quoted};
use super::Ctx;

/// Arguments of `gadn meta`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Set fields of a tracked file's staged metadata: KEY=VALUE, KEY= to remove,
    /// tags+=a,b and tags-=a to edit the tag set.
    Set {
        /// The file (relative to the current directory).
        path: PathBuf,
        /// Edits, applied in order; all are checked before anything is written.
        #[arg(required = true, value_name = "KEY=VALUE")]
        edits: Vec<String>,
        /// Print the resulting metadata as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove fields from a tracked file's staged metadata.
    Unset {
        /// The file (relative to the current directory).
        path: PathBuf,
        /// Keys to remove.
        #[arg(required = true, value_name = "KEY")]
        keys: Vec<String>,
        /// Print the resulting metadata as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show the metadata and content facts of a file: PATH (as staged) or REV:PATH.
    Show {
        /// PATH (relative to the current directory) or REV:PATH (from the root).
        spec: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let mut repo = ctx.repo()?;
    // `set` and `unset` print the result as confirmation (chatter, which `-q`
    // silences); `show` prints what was asked for.
    let (view, json, chatter) = match a.command {
        Sub::Set { path, edits, json } => {
            let edits = edits
                .iter()
                .map(|e| MetaEdit::parse(e))
                .collect::<Result<Vec<_>, _>>()?;
            let path = one_path(ctx, &repo, path)?;
            (repo.meta_edit(&path, &edits)?, json, true)
        }
        Sub::Unset { path, keys, json } => {
            let edits: Vec<MetaEdit> = keys.into_iter().map(MetaEdit::Unset).collect();
            let path = one_path(ctx, &repo, path)?;
            (repo.meta_edit(&path, &edits)?, json, true)
        }
        Sub::Show { spec, json } => {
            // A tracked file whose name contains ':' is still shown from the index.
            let view = if spec.contains(':') && !ctx.cwd.join(&spec).exists() {
                repo.meta_show_at(&spec)?
            } else {
                let path = one_path(ctx, &repo, PathBuf::from(spec))?;
                repo.meta_show_index(&path)?
            };
            (view, json, false)
        }
    };
    if json {
        // The extracted facts of the content's preview ride along (made on demand).
        let (preview, preview_error) = match preview_of(&mut repo, &view) {
            Ok(p) => (Some(p), None),
            Err(e) => (None, Some(format!("{e:#}"))),
        };
        print_json(&WithPreview {
            view: &view,
            preview,
            preview_error,
        })?;
    } else if !(chatter && ctx.quiet) {
        print!("{}", render(&view));
    }
    Ok(ExitCode::SUCCESS)
}

/// `meta show --json`: the metadata view plus the content's preview.
#[derive(serde::Serialize)]
struct WithPreview<'a> {
    #[serde(flatten)]
    view: &'a MetaView,
    /// The preview (facts, items), `null` when it cannot be had.
    preview: Option<gadn::ops::PreviewView>,
    /// Why there is no preview, when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    preview_error: Option<String>,
}

fn preview_of(
    repo: &mut gadn::vcs::Repo,
    view: &MetaView,
) -> anyhow::Result<gadn::ops::PreviewView> {
    let opts = gadn::ops::AssetPreviewOptions {
        asset: gadn::ops::Asset::File {
            path: view.path.clone(),
            id: view.file_id.parse::<gadn::ObjectId>()?,
        },
        cached: false,
        force: false,
        write: None,
    };
    let r = gadn::ops::preview_asset(repo, &opts)?;
    r.preview
        .ok_or_else(|| anyhow::anyhow!("{}: no preview", view.path))
}

fn one_path(ctx: &Ctx, repo: &gadn::vcs::Repo, path: PathBuf) -> anyhow::Result<String> {
    let mut v = ctx.repo_paths(repo, std::slice::from_ref(&path))?;
    Ok(v.remove(0))
}

/// The human form: a header, then aligned `key: value` lines (continuation lines of
/// multi-line values indented under the value), tags, and the content facts.
fn render(v: &MetaView) -> String {
    let place = match &v.commit {
        Some(c) => format!("at {}", &c[..12.min(c.len())]),
        None => "staged".to_string(),
    };
    let mut rows: Vec<(String, String)> = vec![
        (
            "file".into(),
            format!(
                "{} ({})",
                &v.file_id[..12.min(v.file_id.len())],
                human_bytes(v.size)
            ),
        ),
        (
            "type".into(),
            format!("{} ({}, {})", v.facts.kind, v.facts.class, v.facts.mime),
        ),
    ];
    rows.extend(v.fields.iter().map(|(k, val)| (k.clone(), val.clone())));
    if !v.tags.is_empty() {
        rows.push(("tags".into(), v.tags.join(", ")));
    }
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    let mut out = format!("{} ({place})\n", quoted(&v.path));
    for (k, val) in rows {
        let mut lines = val.lines();
        let first = lines.next().unwrap_or("");
        out.push_str(&format!("  {:width$} {first}\n", format!("{k}:")));
        for more in lines {
            out.push_str(&format!("  {:width$} {more}\n", ""));
        }
    }
    if v.fields.is_empty() && v.tags.is_empty() {
        out.push_str("  (no metadata)\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_aligns_fields_and_indents_continuations() {
        let v = MetaView {
            path: "art/hero.png".into(),
            commit: None,
            file_id: "ab".repeat(32),
            size: 2048,
            meta_id: Some("cd".repeat(32)),
            fields: [
                ("author".to_string(), "Ana".to_string()),
                ("notes".to_string(), "line one\nline two".to_string()),
            ]
            .into(),
            tags: vec!["hero".into(), "wip".into()],
            facts: gadn::vcs::detect(b"\x89PNG\r\n\x1a\n", "hero.png"),
        };
        assert_eq!(
            render(&v),
            "art/hero.png (staged)\n\
             \x20 file:   abababababab (2.0 KiB)\n\
             \x20 type:   png (image, image/png)\n\
             \x20 author: Ana\n\
             \x20 notes:  line one\n\
             \x20         line two\n\
             \x20 tags:   hero, wip\n"
        );
        let bare = MetaView {
            commit: Some("ef".repeat(32)),
            fields: Default::default(),
            tags: vec![],
            meta_id: None,
            ..v
        };
        let r = render(&bare);
        assert!(r.starts_with("art/hero.png (at efefefefefef)\n"), "{r}");
        assert!(r.ends_with("  (no metadata)\n"), "{r}");
    }
}
