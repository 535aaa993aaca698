//! Conflict records: kinds, the state encoding, and names for `--both` copies.

use serde::{Deserialize, Serialize};

/// How a path conflicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictKind {
    /// Both sides changed a binary (or large) file's content differently.
    Content,
    /// Both sides added the path with different content.
    #[serde(rename = "add/add")]
    AddAdd,
    /// We modified it, they deleted it.
    #[serde(rename = "modify/delete")]
    ModifyDelete,
    /// We deleted it, they modified it.
    #[serde(rename = "delete/modify")]
    DeleteModify,
    /// Both sides edited a small text file in overlapping lines; the working file
    /// holds conflict markers, the index keeps ours.
    Text,
    /// Both sides changed the same asset-metadata key differently (ours kept).
    Metadata,
    /// Both sides renamed the same file to different names; the conflict sits at our
    /// name and [`Conflict::theirs_path`] holds theirs.
    #[serde(rename = "rename/rename")]
    RenameRename,
    /// We renamed it (the conflict path is our name), they deleted it.
    #[serde(rename = "rename/delete")]
    RenameDelete,
    /// We deleted it, they renamed it (the conflict path is their name).
    #[serde(rename = "delete/rename")]
    DeleteRename,
    /// We have a file at the path, they have a directory there (ours kept).
    #[serde(rename = "file/dir")]
    FileDir,
    /// We have a directory at the path, they have a file there (ours kept).
    #[serde(rename = "dir/file")]
    DirFile,
    /// The path itself merged, but its asset or sidecar partner conflicts; the pair
    /// is resolved together.
    Sidecar,
}

/// Every kind, in declaration order.
pub const ALL_KINDS: [ConflictKind; 12] = [
    ConflictKind::Content,
    ConflictKind::AddAdd,
    ConflictKind::ModifyDelete,
    ConflictKind::DeleteModify,
    ConflictKind::Text,
    ConflictKind::Metadata,
    ConflictKind::RenameRename,
    ConflictKind::RenameDelete,
    ConflictKind::DeleteRename,
    ConflictKind::FileDir,
    ConflictKind::DirFile,
    ConflictKind::Sidecar,
];

impl ConflictKind {
    /// The name used in the merge state and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictKind::Content => "content",
            ConflictKind::AddAdd => "add/add",
            ConflictKind::ModifyDelete => "modify/delete",
            ConflictKind::DeleteModify => "delete/modify",
            ConflictKind::Text => "text",
            ConflictKind::Metadata => "metadata",
            ConflictKind::RenameRename => "rename/rename",
            ConflictKind::RenameDelete => "rename/delete",
            ConflictKind::DeleteRename => "delete/rename",
            ConflictKind::FileDir => "file/dir",
            ConflictKind::DirFile => "dir/file",
            ConflictKind::Sidecar => "sidecar",
        }
    }

    /// The kind seen from the other side (ours and theirs swapped).
    pub fn mirrored(self) -> ConflictKind {
        match self {
            ConflictKind::ModifyDelete => ConflictKind::DeleteModify,
            ConflictKind::DeleteModify => ConflictKind::ModifyDelete,
            ConflictKind::RenameDelete => ConflictKind::DeleteRename,
            ConflictKind::DeleteRename => ConflictKind::RenameDelete,
            ConflictKind::FileDir => ConflictKind::DirFile,
            ConflictKind::DirFile => ConflictKind::FileDir,
            k => k,
        }
    }

    pub(crate) fn parse(s: &str) -> Option<ConflictKind> {
        ALL_KINDS.into_iter().find(|k| k.as_str() == s)
    }
}

/// One conflicted path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    /// Repository path (where ours sits in the working tree and index).
    pub path: String,
    /// How it conflicts.
    pub kind: ConflictKind,
    /// Where the other side keeps its version, when not at `path` (their name of a
    /// renamed file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theirs_path: Option<String>,
    /// For a sidecar (`hero.png.meta`), the asset it belongs to; the two are
    /// resolved together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
    /// The asset-metadata keys both sides changed differently, sorted (ours is kept
    /// for them until resolved; every other key is already merged).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

impl Conflict {
    /// A conflict with no partner paths.
    pub fn new(path: impl Into<String>, kind: ConflictKind) -> Conflict {
        Conflict {
            path: path.into(),
            kind,
            theirs_path: None,
            asset: None,
            fields: Vec::new(),
        }
    }

    /// `PATH (KIND)`, naming the conflicting metadata keys (`tex.png (metadata:
    /// notes)`): the short form `status --json` lists.
    pub fn summary(&self) -> String {
        format!(
            "{} ({}{})",
            self.path,
            self.kind.as_str(),
            self.fields_note()
        )
    }

    fn fields_note(&self) -> String {
        match (self.fields.is_empty(), self.kind) {
            (true, _) => String::new(),
            (false, ConflictKind::Metadata) => format!(": {}", self.fields.join(", ")),
            (false, _) => format!("; metadata: {}", self.fields.join(", ")),
        }
    }

    /// `PATH (KIND)`, with their name for a rename/rename and the partner of a
    /// sidecar pair; paths quoted by [`crate::vcs::quote::quote_path`] (a human form).
    pub fn describe(&self) -> String {
        let q = crate::vcs::quote::quote_path;
        let mut s = format!(
            "{} ({}{}",
            q(&self.path),
            self.kind.as_str(),
            self.fields_note()
        );
        if let (Some(t), ConflictKind::RenameRename) = (&self.theirs_path, self.kind) {
            s.push_str(&format!("; theirs renamed it to {}", q(t)));
        }
        match (&self.asset, self.kind) {
            (Some(a), ConflictKind::Sidecar) => {
                s.push_str(&format!(" of {}, resolved with it", q(a)))
            }
            (Some(a), _) => s.push_str(&format!("; sidecar of {}, resolved with it", q(a))),
            (None, ConflictKind::Sidecar) => {
                s.push_str(": its sidecar conflicts, resolved with it")
            }
            (None, _) => {}
        }
        s.push(')');
        s
    }
}

/// `hero.png` → `hero.theirs.png`; `dir/README` → `dir/README.theirs`.
pub fn theirs_name(path: &str) -> String {
    let (dir, name) = match path.rfind('/') {
        Some(i) => (&path[..=i], &path[i + 1..]),
        None => ("", path),
    };
    match name.rfind('.') {
        Some(i) if i > 0 => format!("{dir}{}.theirs{}", &name[..i], &name[i..]),
        _ => format!("{dir}{name}.theirs"),
    }
}

/// The state encoding: a JSON array of conflicts (paths may hold any character but
/// NUL and `/`-rules, so no line format is safe).
pub(crate) fn encode_conflicts(c: &[Conflict]) -> String {
    serde_json::to_string(c).unwrap_or_else(|_| "[]".into())
}

/// Reads [`encode_conflicts`] output, or the older `KIND<TAB>PATH` lines.
pub(crate) fn decode_conflicts(s: &str) -> Option<Vec<Conflict>> {
    if s.trim_start().starts_with('[') {
        return serde_json::from_str(s).ok();
    }
    s.lines()
        .map(|l| {
            let (k, p) = l.split_once('\t')?;
            Some(Conflict::new(p, ConflictKind::parse(k)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_kinds() {
        assert_eq!(theirs_name("hero.png"), "hero.theirs.png");
        assert_eq!(theirs_name("a/b/hero.tar.gz"), "a/b/hero.tar.theirs.gz");
        assert_eq!(theirs_name("dir/README"), "dir/README.theirs");
        assert_eq!(theirs_name(".gadnignore"), ".gadnignore.theirs");
        for k in ALL_KINDS {
            assert_eq!(ConflictKind::parse(k.as_str()), Some(k));
            assert_eq!(k.mirrored().mirrored(), k);
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
        }
        assert_eq!(ConflictKind::parse("nonsense"), None);
    }

    #[test]
    fn state_round_trips_any_path_and_reads_the_old_format() {
        let c = vec![
            Conflict::new("a b/x.png", ConflictKind::AddAdd),
            Conflict {
                path: "we\tird\nname".into(),
                kind: ConflictKind::RenameRename,
                theirs_path: Some("other".into()),
                asset: None,
                fields: Vec::new(),
            },
            Conflict {
                path: "x.png.meta".into(),
                kind: ConflictKind::Sidecar,
                theirs_path: None,
                asset: Some("x.png".into()),
                fields: Vec::new(),
            },
            Conflict {
                fields: vec!["author".into(), "notes".into()],
                ..Conflict::new("tex.png", ConflictKind::Metadata)
            },
        ];
        assert_eq!(decode_conflicts(&encode_conflicts(&c)), Some(c));
        assert_eq!(
            decode_conflicts("content\ta.png\ndelete/modify\tb c\n"),
            Some(vec![
                Conflict::new("a.png", ConflictKind::Content),
                Conflict::new("b c", ConflictKind::DeleteModify),
            ])
        );
        assert_eq!(decode_conflicts("bogus\tline"), None);
        assert_eq!(decode_conflicts("[{\"path\":1}]"), None);
        assert_eq!(decode_conflicts(""), Some(vec![]));
    }

    #[test]
    fn descriptions() {
        assert_eq!(
            Conflict::new("a", ConflictKind::Content).describe(),
            "a (content)"
        );
        let rr = Conflict {
            path: "b".into(),
            kind: ConflictKind::RenameRename,
            theirs_path: Some("c".into()),
            asset: None,
            fields: Vec::new(),
        };
        assert_eq!(rr.describe(), "b (rename/rename; theirs renamed it to c)");
        let sc = Conflict {
            path: "x.meta".into(),
            kind: ConflictKind::Sidecar,
            theirs_path: None,
            asset: Some("x".into()),
            fields: Vec::new(),
        };
        assert_eq!(sc.describe(), "x.meta (sidecar of x, resolved with it)");
        let text = Conflict {
            kind: ConflictKind::Text,
            ..sc
        };
        assert_eq!(
            text.describe(),
            "x.meta (text; sidecar of x, resolved with it)"
        );
        let meta = Conflict {
            fields: vec!["author".into(), "notes".into()],
            ..Conflict::new("tex.png", ConflictKind::Metadata)
        };
        assert_eq!(meta.describe(), "tex.png (metadata: author, notes)");
        assert_eq!(meta.summary(), "tex.png (metadata: author, notes)");
        let content = Conflict {
            kind: ConflictKind::Content,
            ..meta
        };
        assert_eq!(
            content.summary(),
            "tex.png (content; metadata: author, notes)"
        );
        assert_eq!(
            Conflict::new("x", ConflictKind::Sidecar).describe(),
            "x (sidecar: its sidecar conflicts, resolved with it)"
        );
    }
}
