//! Output helpers: JSON, sizes, progress bars.

use std::io::Write;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Prints `value` as pretty JSON on stdout.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// `1.5 MiB` style sizes: the one size grammar, tested in `gadn::size`.
pub use gadn::size::format_size as human_bytes;

/// Every path a human listing prints goes through this (git's C quoting of names
/// holding control characters, quotes or backslashes); JSON keeps raw paths.
pub use gadn::vcs::quote_path as quoted;

/// The hint for a directory whose clone was interrupted (`None` for any other
/// repository): which command, run again, resumes it.
pub fn interrupted_clone_hint(ctx: &super::Ctx, repo: &gadn::vcs::Repo) -> Option<String> {
    let source = gadn::ops::interrupted_clone(repo).ok()??;
    let here = if ctx.cwd == repo.root() {
        ".".to_string()
    } else {
        repo.root().display().to_string()
    };
    Some(format!(
        "hint: this clone was interrupted: run `gadn clone {source} {here}` again to resume it"
    ))
}

/// `PATH`, or `FROM -> PATH` for a rename, each quoted by [`quoted`].
pub fn renamed(from: Option<&str>, path: &str) -> String {
    match from {
        Some(f) => format!("{} -> {}", quoted(f), quoted(path)),
        None => quoted(path).into_owned(),
    }
}

/// A change as status and show list it: `M  PATH (SIZE)` or `R  FROM -> PATH`, the
/// letter and the paths `gap` apart.
pub fn change_line(c: &gadn::vcs::Change, gap: &str) -> String {
    let size = c
        .size
        .map(|s| format!(" ({})", human_bytes(s)))
        .unwrap_or_default();
    format!(
        "{}{gap}{}{size}",
        c.kind.letter(),
        renamed(c.from.as_deref(), &c.path)
    )
}

/// A byte progress bar on stderr; hidden when stderr is not a terminal or `quiet`.
pub fn byte_bar(quiet: bool, total: u64, what: &str) -> ProgressBar {
    let bar = bar(
        quiet,
        total,
        "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    );
    bar.set_message(what.to_string());
    bar
}

/// A progress bar counting items on stderr (`{msg}` names them); hidden like
/// [`byte_bar`].
pub fn count_bar(quiet: bool, total: u64, what: &str) -> ProgressBar {
    let bar = bar(quiet, total, "{msg} [{bar:30}] {pos}/{len}, eta {eta}");
    bar.set_message(what.to_string());
    bar
}

fn bar(quiet: bool, total: u64, template: &'static str) -> ProgressBar {
    let target = if quiet {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    };
    let bar = ProgressBar::with_draw_target(Some(total), target);
    bar.set_style(
        ProgressStyle::with_template(template)
            .expect("static template is valid")
            .progress_chars("=> "),
    );
    bar
}

/// True if the error is a closed stdout (`gadn cat … | head`), which is not a failure.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.to_string().contains("Broken pipe")
    })
}

/// Prints `rows` under `header` as aligned columns two spaces apart: columns in
/// `right` right-aligned, the last column unpadded (it may be long). Widths count
/// characters.
pub fn print_table<const N: usize>(header: [&str; N], rows: &[[String; N]], right: &[usize]) {
    let mut width = header.map(|h| h.chars().count());
    for r in rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: [&str; N]| {
        let mut out = String::new();
        for (i, c) in cells.iter().enumerate() {
            let pad = width[i].saturating_sub(c.chars().count());
            if i + 1 == N {
                out.push_str(c);
            } else if right.contains(&i) {
                out.push_str(&" ".repeat(pad));
                out.push_str(c);
                out.push_str("  ");
            } else {
                out.push_str(c);
                out.push_str(&" ".repeat(pad + 2));
            }
        }
        println!("{}", out.trim_end());
    };
    line(header);
    for r in rows {
        line(std::array::from_fn(|i| r[i].as_str()));
    }
}
