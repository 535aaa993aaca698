//! Line-based three-way merge of small text files (diff3).
//!
//! Both sides are diffed against the base by lines (`similar`, Myers). Changed
//! regions ("hunks", in base line coordinates) of the two sides are grouped into
//! clusters of regions that overlap or touch; a cluster changed by one side only
//! takes that side, a cluster both sides changed identically is taken once, and any
//! other cluster is a conflict written with git-style markers. Touching edits (ours
//! changes line 3, theirs line 4) conflict, as in git: no silent overwrite.
//! The result does not depend on which side is "ours" except for the order of the
//! two sections inside a conflict.

use similar::{capture_diff_slices, Algorithm, DiffOp};

/// Files larger than this (bytes, on any side) are never merged by lines.
pub const MAX_TEXT_MERGE: u64 = 1 << 20;

/// The start of a conflict (`<<<<<<< ours`).
pub const MARK_OURS: &str = "<<<<<<<";
/// The start of the base section inside a conflict.
pub const MARK_BASE: &str = "|||||||";
/// The separator between the two sides.
pub const MARK_SEP: &str = "=======";
/// The end of a conflict (`>>>>>>> theirs (NAME)`).
pub const MARK_THEIRS: &str = ">>>>>>>";

/// The outcome of a line merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextMerge {
    /// Every change merged; the merged text.
    Clean(String),
    /// At least one region conflicts; the text with conflict markers.
    Conflict(String),
}

/// Text a line merge accepts: valid UTF-8 without NUL, at most [`MAX_TEXT_MERGE`]
/// bytes. `None` for anything else (treated as binary).
pub fn as_text(bytes: &[u8]) -> Option<&str> {
    if bytes.len() as u64 > MAX_TEXT_MERGE || bytes.contains(&0) {
        return None;
    }
    std::str::from_utf8(bytes).ok()
}

/// One changed region of a side: base lines `b0..b1` became side lines `s0..s1`.
#[derive(Debug, Clone, Copy)]
struct Hunk {
    b0: usize,
    b1: usize,
    s0: usize,
    s1: usize,
}

fn hunks(base: &[&str], side: &[&str]) -> Vec<Hunk> {
    capture_diff_slices(Algorithm::Myers, base, side)
        .into_iter()
        .filter_map(|op| match op {
            DiffOp::Equal { .. } => None,
            other => {
                let (o, n) = (other.old_range(), other.new_range());
                Some(Hunk {
                    b0: o.start,
                    b1: o.end,
                    s0: n.start,
                    s1: n.end,
                })
            }
        })
        .collect()
}

/// Lines with their terminators kept, so the merge reproduces them exactly.
fn lines(s: &str) -> Vec<&str> {
    s.split_inclusive('\n').collect()
}

/// The side's version of base lines `c0..c1`, given its hunks inside that range.
fn side_text<'a>(side: &[&'a str], hs: &[Hunk], c0: usize, c1: usize) -> Vec<&'a str> {
    match (hs.first(), hs.last()) {
        (Some(first), Some(last)) => {
            let s0 = first.s0 - (first.b0 - c0);
            let s1 = last.s1 + (c1 - last.b1);
            side[s0..s1].to_vec()
        }
        _ => Vec::new(),
    }
}

fn push_section(out: &mut String, lines: &[&str]) {
    for l in lines {
        out.push_str(l);
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
}

/// Three-way merge of `base`, `ours` and `theirs` by lines. `theirs_label` names the
/// other side in the closing marker (`>>>>>>> theirs (LABEL)`).
pub fn merge_text(base: &str, ours: &str, theirs: &str, theirs_label: &str) -> TextMerge {
    let (b, o, t) = (lines(base), lines(ours), lines(theirs));
    let (ho, ht) = (hunks(&b, &o), hunks(&b, &t));
    let mut out = String::new();
    let mut conflicted = false;
    let (mut i, mut j, mut pos) = (0, 0, 0);
    while i < ho.len() || j < ht.len() {
        // The cluster starts at the earliest hunk and swallows every hunk of either
        // side that overlaps or touches it.
        let first = match (ho.get(i), ht.get(j)) {
            (Some(x), Some(y)) => {
                if x.b0 <= y.b0 {
                    *x
                } else {
                    *y
                }
            }
            (Some(x), None) => *x,
            (None, Some(y)) => *y,
            (None, None) => break,
        };
        let (c0, mut c1) = (first.b0, first.b1);
        let (oi, tj) = (i, j);
        loop {
            if let Some(h) = ho.get(i).filter(|h| h.b0 <= c1) {
                c1 = c1.max(h.b1);
                i += 1;
            } else if let Some(h) = ht.get(j).filter(|h| h.b0 <= c1) {
                c1 = c1.max(h.b1);
                j += 1;
            } else {
                break;
            }
        }
        for l in &b[pos..c0] {
            out.push_str(l);
        }
        pos = c1;
        let (os, ts) = (&ho[oi..i], &ht[tj..j]);
        let ours_part = if os.is_empty() {
            b[c0..c1].to_vec()
        } else {
            side_text(&o, os, c0, c1)
        };
        let theirs_part = if ts.is_empty() {
            b[c0..c1].to_vec()
        } else {
            side_text(&t, ts, c0, c1)
        };
        if ts.is_empty() || ours_part == theirs_part {
            ours_part.iter().for_each(|l| out.push_str(l));
        } else if os.is_empty() {
            theirs_part.iter().for_each(|l| out.push_str(l));
        } else {
            conflicted = true;
            push_section(&mut out, &[]);
            out.push_str(&format!("{MARK_OURS} ours\n"));
            push_section(&mut out, &ours_part);
            out.push_str(&format!("{MARK_BASE} base\n"));
            push_section(&mut out, &b[c0..c1]);
            out.push_str(&format!("{MARK_SEP}\n"));
            push_section(&mut out, &theirs_part);
            out.push_str(&format!("{MARK_THEIRS} theirs ({theirs_label})\n"));
        }
    }
    for l in &b[pos..] {
        out.push_str(l);
    }
    if conflicted {
        TextMerge::Conflict(out)
    } else {
        TextMerge::Clean(out)
    }
}

/// The 1-based numbers of lines that look like conflict markers (a marker at the
/// start of a line: `<<<<<<< `, `||||||| `, `=======`, `>>>>>>> `).
pub fn marker_lines(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            *l == MARK_SEP
                || [MARK_OURS, MARK_BASE, MARK_THEIRS]
                    .iter()
                    .any(|m| l.starts_with(&format!("{m} ")) || l == m)
        })
        .map(|(n, _)| n + 1)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "one\ntwo\nthree\nfour\nfive\nsix\n";

    #[test]
    fn disjoint_edits_merge_cleanly_either_way() {
        let ours = "ONE\ntwo\nthree\nfour\nfive\nsix\n";
        let theirs = "one\ntwo\nthree\nfour\nfive\nSIX\nseven\n";
        let want = "ONE\ntwo\nthree\nfour\nfive\nSIX\nseven\n";
        assert_eq!(
            merge_text(BASE, ours, theirs, "t"),
            TextMerge::Clean(want.into())
        );
        assert_eq!(
            merge_text(BASE, theirs, ours, "t"),
            TextMerge::Clean(want.into())
        );
    }

    #[test]
    fn one_side_or_identical_changes_are_taken_once() {
        let ours = "one\n2\nthree\nfour\nfive\nsix\n";
        assert_eq!(
            merge_text(BASE, ours, BASE, "t"),
            TextMerge::Clean(ours.into())
        );
        assert_eq!(
            merge_text(BASE, BASE, ours, "t"),
            TextMerge::Clean(ours.into())
        );
        assert_eq!(
            merge_text(BASE, ours, ours, "t"),
            TextMerge::Clean(ours.into())
        );
        // Deletions and insertions far apart.
        let del = "one\nthree\nfour\nfive\nsix\n";
        let ins = "one\ntwo\nthree\nfour\nfive\nsix\nseven\n";
        assert_eq!(
            merge_text(BASE, del, ins, "t"),
            TextMerge::Clean("one\nthree\nfour\nfive\nsix\nseven\n".into())
        );
    }

    #[test]
    fn overlapping_edits_conflict_with_markers() {
        let ours = "one\nTWO (ours)\nthree\nfour\nfive\nsix\n";
        let theirs = "one\nTWO (theirs)\nthree\nfour\nfive\nsix";
        let TextMerge::Conflict(text) = merge_text(BASE, ours, theirs, "topic") else {
            panic!("expected a conflict")
        };
        assert_eq!(
            text,
            "one\n<<<<<<< ours\nTWO (ours)\n||||||| base\ntwo\n=======\nTWO (theirs)\n>>>>>>> theirs (topic)\nthree\nfour\nfive\nsix"
        );
        assert_eq!(marker_lines(&text), vec![2, 4, 6, 8]);
        // Touching edits conflict too; the mirror conflicts at the same place.
        let a = "one\nTWO\nthree\nfour\nfive\nsix\n";
        let b = "one\ntwo\nTHREE\nfour\nfive\nsix\n";
        assert!(matches!(
            merge_text(BASE, a, b, "x"),
            TextMerge::Conflict(_)
        ));
        assert!(matches!(
            merge_text(BASE, b, a, "x"),
            TextMerge::Conflict(_)
        ));
        // A file without a final newline still gets markers on their own lines.
        let TextMerge::Conflict(t) = merge_text("a", "b", "c", "x") else {
            panic!()
        };
        assert_eq!(
            t,
            "<<<<<<< ours\nb\n||||||| base\na\n=======\nc\n>>>>>>> theirs (x)\n"
        );
    }

    #[test]
    fn text_detection_and_markers() {
        assert_eq!(as_text(b"hello\n"), Some("hello\n"));
        assert_eq!(as_text(b"nul\0inside"), None);
        assert_eq!(as_text(&[0xff, 0xfe]), None);
        assert_eq!(as_text(&vec![b'a'; MAX_TEXT_MERGE as usize + 1]), None);
        assert!(marker_lines("a\n==\n<<<<<<<<\nb").is_empty());
        assert_eq!(marker_lines("x\n=======\n>>>>>>>\n"), vec![2, 3]);
    }
}
