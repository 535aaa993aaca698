//! `gadn preview`: show, write out, or make the previews of assets (parses, calls
//! `gadn::ops::preview_asset` or `preview_revision`, prints).

use std::path::PathBuf;
use std::process::ExitCode;

use gadn::ops::{self, Asset, AssetPreviewOptions, PreviewOptions, PreviewView, WriteItem};
use gadn::preview::batch::Summary;
use gadn::preview::recorded::Planner;
use gadn::preview::settings::Settings;
use gadn::preview::Role;

use super::output::{human_bytes, print_json};
use super::Ctx;

/// Arguments of `gadn preview`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The asset: a tracked PATH (as staged) or REV:PATH. With --all: the revision
    /// whose files to preview (default HEAD).
    spec: Option<String>,
    /// Make the previews of every file of a revision that has none yet.
    #[arg(long)]
    all: bool,
    /// Which item to write with --out: thumbnail, waveform, peaks, clip, lowpoly,
    /// lowres. Default: the asset's primary picture (its thumbnail, or an audio
    /// file's waveform).
    #[arg(long)]
    role: Option<String>,
    /// Thumbnail level to write with --out (longest side in px; the nearest made).
    #[arg(long, default_value_t = 256)]
    level: u32,
    /// Write the chosen item (PNG, WAV, GLB…) to this file.
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Make the previews again even if they are recorded.
    #[arg(long, conflicts_with = "cached")]
    force: bool,
    /// Only show a recorded preview; never make one (exit 1 when there is none).
    #[arg(long)]
    cached: bool,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let mut repo = ctx.repo()?;
    if a.all {
        let rev = a.spec.as_deref().unwrap_or("HEAD");
        let planner = Planner::new(Settings::load(repo.store())?);
        let opts = PreviewOptions {
            force: a.force,
            progress: super::net::bars(ctx.quiet),
        };
        let summary = ops::preview_revision(&mut repo, &planner, rev, &opts)?;
        if a.json {
            print_json(&summary)?;
        } else if !ctx.quiet {
            print_summary(&summary);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let spec = a
        .spec
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("name an asset (PATH or REV:PATH), or use --all"))?;
    let write = match &a.out {
        None => None,
        Some(out) => Some(WriteItem {
            role: match &a.role {
                None => None,
                Some(name) => Some(Role::from_name(name).ok_or_else(|| {
                    anyhow::anyhow!(
                        "unknown role '{name}': expected thumbnail, waveform, peaks, clip, lowpoly or lowres"
                    )
                })?),
            },
            level: a.level,
            out: out.clone(),
        }),
    };
    // REV:PATH unless a file of that name exists here.
    let asset = if spec.contains(':') && !ctx.cwd.join(spec).exists() {
        Asset::Revision(spec.to_string())
    } else {
        Asset::Staged(ctx.repo_paths(&repo, &[PathBuf::from(spec)])?.remove(0))
    };
    let opts = AssetPreviewOptions {
        asset,
        cached: a.cached,
        force: a.force,
        write,
    };
    let r = ops::preview_asset(&mut repo, &opts)?;
    let Some(view) = &r.preview else {
        if !ctx.quiet {
            eprintln!("{}: no preview recorded yet", r.path);
        }
        return Ok(ExitCode::from(1));
    };
    if let Some(w) = &r.written {
        if !ctx.quiet && !a.json {
            eprintln!(
                "wrote {} {} ({}, {}) to {}",
                w.role,
                w.level,
                w.media_type,
                human_bytes(w.size),
                w.out.display()
            );
        }
    }
    if a.json {
        // The preview, and with --out what was written (its role, level, size).
        let mut v = serde_json::to_value(view)?;
        if let (Some(w), Some(obj)) = (&r.written, v.as_object_mut()) {
            obj.insert("written".into(), serde_json::to_value(w)?);
        }
        print_json(&v)?;
    } else if a.out.is_none() {
        print_preview(&r.path, view);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_summary(s: &Summary) {
    println!(
        "{} file(s): {} preview(s) made ({} failed), {} already made, {} not present",
        s.files, s.made, s.failed, s.existing, s.absent
    );
    for (path, why) in &s.failures {
        println!("  {path}: {why}");
    }
}

fn print_preview(path: &str, v: &PreviewView) {
    println!(
        "{path}: {} v{} (preview {})",
        v.generator,
        v.version,
        &v.id[..12]
    );
    if let Some(e) = &v.error {
        println!("  failed: {e}");
    }
    if let serde_json::Value::Object(facts) = &v.facts {
        let width = facts.keys().map(|k| k.len()).max().unwrap_or(0) + 1;
        for (k, val) in facts {
            let text = match val {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            println!("  {:width$} {text}", format!("{k}:"));
        }
    }
    for i in &v.items {
        println!(
            "  {} {} ({}, {})",
            i.role,
            if i.level > 0 {
                i.level.to_string()
            } else {
                String::new()
            },
            i.media_type,
            human_bytes(i.size)
        );
    }
}
