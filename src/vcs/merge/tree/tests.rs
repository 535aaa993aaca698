//! Tree-merge rules over in-memory objects.

use std::collections::HashMap;

use super::*;

/// File contents and metadata objects by id.
#[derive(Default)]
struct Mem {
    files: HashMap<ObjectId, Vec<u8>>,
    metas: HashMap<ObjectId, AssetMeta>,
}

impl MergeObjects for Mem {
    fn file_bytes(&self, id: &ObjectId) -> Result<Vec<u8>, VcsError> {
        Ok(self.files[id].clone())
    }
    fn meta(&self, id: &ObjectId) -> Result<AssetMeta, VcsError> {
        Ok(self.metas[id].clone())
    }
    fn file_id(&self, bytes: &[u8]) -> Result<ObjectId, VcsError> {
        Ok(ObjectId::of_chunk(bytes))
    }
}

impl Mem {
    fn file(&mut self, path: &str, content: &[u8]) -> FlatEntry {
        let id = ObjectId::of_chunk(content);
        self.files.insert(id, content.to_vec());
        FlatEntry {
            path: path.into(),
            kind: EntryKind::File,
            id,
            size: content.len() as u64,
            meta: None,
        }
    }

    fn with_meta(&mut self, mut e: FlatEntry, pairs: &[(&str, &str)]) -> FlatEntry {
        let mut m = AssetMeta::default();
        for (k, v) in pairs {
            m.set(k, v).unwrap();
        }
        let id = m.id().unwrap();
        self.metas.insert(id, m);
        e.meta = Some(id);
        e
    }
}

fn sorted(mut v: Vec<FlatEntry>) -> Vec<FlatEntry> {
    v.sort_by(|a, b| a.path.cmp(&b.path));
    v
}

fn run(mem: &Mem, b: Vec<FlatEntry>, o: Vec<FlatEntry>, t: Vec<FlatEntry>) -> TreeMerge {
    merge_trees(mem, &sorted(b), &sorted(o), &sorted(t), "topic").unwrap()
}

fn kinds(m: &TreeMerge) -> Vec<(&str, ConflictKind)> {
    m.conflicts
        .iter()
        .map(|c| (c.path.as_str(), c.kind))
        .collect()
}

fn content(mem: &Mem, m: &TreeMerge, path: &str) -> Option<Vec<u8>> {
    let e = m.entries.iter().find(|e| e.path == path)?;
    m.new_files
        .iter()
        .find(|(id, _)| *id == e.id)
        .map(|(_, b)| b.clone())
        .or_else(|| mem.files.get(&e.id).cloned())
}

fn paths(m: &TreeMerge) -> Vec<&str> {
    m.entries.iter().map(|e| e.path.as_str()).collect()
}

#[test]
fn three_way_rules_by_path() {
    let mut mem = Mem::default();
    let mut f = |p: &str, n: u8| mem.file(p, &[0, n]);
    let base = vec![
        f("both-same", 1),
        f("edit-edit", 1),
        f("edit-del", 1),
        f("del-edit", 1),
        f("ours-only", 1),
        f("theirs-del", 1),
        f("untouched", 1),
    ];
    let ours = vec![
        f("add-add", 2),
        f("add-same", 5),
        f("both-same", 2),
        f("edit-del", 2),
        f("edit-edit", 2),
        f("ours-only", 2),
        f("theirs-del", 1),
        f("untouched", 1),
    ];
    let theirs = vec![
        f("add-add", 3),
        f("add-same", 5),
        f("both-same", 2),
        f("del-edit", 3),
        f("edit-edit", 3),
        f("new-theirs", 4),
        f("ours-only", 1),
        f("untouched", 1),
    ];
    let m = run(&mem, base, ours, theirs);
    assert_eq!(
        kinds(&m),
        vec![
            ("add-add", ConflictKind::AddAdd),
            ("del-edit", ConflictKind::DeleteModify),
            ("edit-del", ConflictKind::ModifyDelete),
            ("edit-edit", ConflictKind::Content),
        ]
    );
    let got: Vec<(&str, u8)> = m
        .entries
        .iter()
        .map(|e| (e.path.as_str(), mem.files[&e.id][1]))
        .collect();
    assert_eq!(
        got,
        vec![
            ("add-add", 2),
            ("add-same", 5),
            ("both-same", 2),
            ("edit-del", 2),
            ("edit-edit", 2),
            ("new-theirs", 4),
            ("ours-only", 2),
            ("untouched", 1),
        ],
        "ours kept at conflicts, theirs-del removed, del-edit stays deleted"
    );
    assert!(m.new_files.is_empty() && m.new_metas.is_empty() && m.markers.is_empty());
}

#[test]
fn text_files_merge_by_lines() {
    let mut mem = Mem::default();
    let b = mem.file("t.txt", b"a\nb\nc\nd\n");
    let o = mem.file("t.txt", b"A\nb\nc\nd\n");
    let t = mem.file("t.txt", b"a\nb\nc\nD\n");
    let m = run(&mem, vec![b.clone()], vec![o.clone()], vec![t]);
    assert!(m.conflicts.is_empty());
    assert_eq!(m.new_files.len(), 1);
    let (id, bytes) = &m.new_files[0];
    assert_eq!(bytes, b"A\nb\nc\nD\n");
    assert_eq!(m.entries[0].id, *id);
    assert_eq!(m.entries[0].size, 8);
    // Overlapping: a text conflict, ours kept, markers for the working file.
    let t2 = mem.file("t.txt", b"a2\nb\nc\nd\n");
    let m = run(&mem, vec![b.clone()], vec![o.clone()], vec![t2]);
    assert_eq!(kinds(&m), vec![("t.txt", ConflictKind::Text)]);
    assert_eq!(m.entries[0].id, o.id);
    assert_eq!(m.markers.len(), 1);
    let marked = String::from_utf8(m.markers[0].1.clone()).unwrap();
    assert!(marked.contains(">>>>>>> theirs (topic)\n"), "{marked}");
    // Binary (a NUL) or too large: a plain content conflict.
    let bin = mem.file("t.txt", b"a\0\nb\nc\nd\n");
    let m = run(&mem, vec![b.clone()], vec![o.clone()], vec![bin]);
    assert_eq!(kinds(&m), vec![("t.txt", ConflictKind::Content)]);
    let mut big = o.clone();
    big.size = MAX_TEXT_MERGE + 1;
    let t3 = mem.file("t.txt", b"x\n");
    let m = run(&mem, vec![b.clone()], vec![big], vec![t3.clone()]);
    assert_eq!(kinds(&m), vec![("t.txt", ConflictKind::Content)]);
    // A kind changed on both sides differently is a content conflict; on one side
    // only, it merges with the other side's content edit.
    let mut exec = o.clone();
    exec.kind = EntryKind::Executable;
    let mut link = t3.clone();
    link.kind = EntryKind::Symlink;
    let m = run(&mem, vec![b.clone()], vec![exec.clone()], vec![link]);
    assert_eq!(kinds(&m), vec![("t.txt", ConflictKind::Content)]);
    let mut exec_base = b.clone();
    exec_base.kind = EntryKind::Executable;
    let m = run(&mem, vec![b], vec![exec_base], vec![t3.clone()]);
    assert!(m.conflicts.is_empty());
    assert_eq!(m.entries[0].kind, EntryKind::Executable);
    assert_eq!(m.entries[0].id, t3.id);
}

#[test]
fn metadata_merges_field_by_field_and_independently_of_content() {
    let mut mem = Mem::default();
    let f = mem.file("hero.png", &[0, 1]);
    let b = mem.with_meta(f.clone(), &[("author", "Ana")]);
    let o = mem.with_meta(f.clone(), &[("author", "Bo")]);
    let t_content = mem.file("hero.png", &[0, 2]);
    let t = mem.with_meta(t_content.clone(), &[("author", "Ana"), ("notes", "n")]);
    let m = run(&mem, vec![b.clone()], vec![o.clone()], vec![t]);
    assert!(m.conflicts.is_empty(), "{:?}", m.conflicts);
    let e = &m.entries[0];
    assert_eq!(e.id, t_content.id, "theirs' content edit");
    assert_eq!(m.new_metas.len(), 1);
    assert_eq!(e.meta, Some(m.new_metas[0].id().unwrap()));
    assert_eq!(m.new_metas[0].get("author"), Some("Bo"));
    assert_eq!(m.new_metas[0].get("notes"), Some("n"));
    // The same key changed differently: a metadata conflict, ours kept.
    let t = mem.with_meta(f.clone(), &[("author", "Cy")]);
    let m = run(&mem, vec![b.clone()], vec![o.clone()], vec![t]);
    assert_eq!(kinds(&m), vec![("hero.png", ConflictKind::Metadata)]);
    assert_eq!(m.entries[0].meta, o.meta);
    // Both removed everything (one key each): the entry ends without metadata.
    let two = mem.with_meta(f.clone(), &[("author", "A"), ("notes", "N")]);
    let only_notes = mem.with_meta(f.clone(), &[("notes", "N")]);
    let only_author = mem.with_meta(f.clone(), &[("author", "A")]);
    let m = run(&mem, vec![two.clone()], vec![only_notes], vec![only_author]);
    assert!(m.conflicts.is_empty());
    assert_eq!(m.entries[0].meta, None);
    assert!(m.new_metas.is_empty());
    // A binary content conflict keeps ours' content but still merges metadata.
    let o2 = mem.file("hero.png", &[0, 3]);
    let o2 = mem.with_meta(o2, &[("author", "A"), ("notes", "N"), ("tags", "x")]);
    let t2 = mem.file("hero.png", &[0, 4]);
    let t2 = mem.with_meta(t2, &[("author", "A"), ("notes", "N"), ("tags", "y")]);
    let m = run(&mem, vec![two], vec![o2.clone()], vec![t2]);
    assert_eq!(kinds(&m), vec![("hero.png", ConflictKind::Content)]);
    assert_eq!(m.entries[0].id, o2.id);
    assert_eq!(m.new_metas[0].get("tags"), Some("x,y"));
}

#[test]
fn renames_carry_edits_and_conflict_when_both_rename() {
    let mut mem = Mem::default();
    let base = vec![mem.file("a.bin", &[0, 1]), mem.file("keep", b"k")];
    let moved = mem.file("x/a.bin", &[0, 1]);
    let edited = mem.file("a.bin", &[0, 2]);
    let keep = mem.file("keep", b"k");
    // rename/edit, both directions: the edit lands at the new name.
    for (o, t) in [
        (
            vec![moved.clone(), keep.clone()],
            vec![edited.clone(), keep.clone()],
        ),
        (
            vec![edited.clone(), keep.clone()],
            vec![moved.clone(), keep.clone()],
        ),
    ] {
        let m = run(&mem, base.clone(), o, t);
        assert!(m.conflicts.is_empty(), "{:?}", m.conflicts);
        assert_eq!(paths(&m), vec!["keep", "x/a.bin"]);
        assert_eq!(m.entries[1].id, edited.id);
    }
    // rename/rename to different names.
    let other = mem.file("y/a.bin", &[0, 1]);
    let m = run(
        &mem,
        base.clone(),
        vec![moved.clone(), keep.clone()],
        vec![other, keep.clone()],
    );
    assert_eq!(m.conflicts.len(), 1);
    assert_eq!(m.conflicts[0].kind, ConflictKind::RenameRename);
    assert_eq!(m.conflicts[0].path, "x/a.bin");
    assert_eq!(m.conflicts[0].theirs_path.as_deref(), Some("y/a.bin"));
    assert_eq!(paths(&m), vec!["keep", "x/a.bin"]);
    // Both renamed to the same name: no conflict.
    let m = run(
        &mem,
        base.clone(),
        vec![moved.clone(), keep.clone()],
        vec![moved.clone(), keep.clone()],
    );
    assert!(m.conflicts.is_empty());
    // rename/delete and delete/rename.
    let m = run(
        &mem,
        base.clone(),
        vec![moved.clone(), keep.clone()],
        vec![keep.clone()],
    );
    assert_eq!(kinds(&m), vec![("x/a.bin", ConflictKind::RenameDelete)]);
    assert_eq!(paths(&m), vec!["keep", "x/a.bin"]);
    let m = run(
        &mem,
        base.clone(),
        vec![keep.clone()],
        vec![moved.clone(), keep.clone()],
    );
    assert_eq!(kinds(&m), vec![("x/a.bin", ConflictKind::DeleteRename)]);
    assert_eq!(paths(&m), vec!["keep"]);
    // A rename onto a name the other side added: add/add, ours kept.
    let added = mem.file("x/a.bin", &[0, 9]);
    let base_keep = mem.file("a.bin", &[0, 1]);
    let m = run(
        &mem,
        base.clone(),
        vec![moved.clone(), keep.clone()],
        vec![base_keep.clone(), added.clone(), keep.clone()],
    );
    assert_eq!(kinds(&m), vec![("x/a.bin", ConflictKind::AddAdd)]);
    assert_eq!(
        m.entries.iter().find(|e| e.path == "x/a.bin").unwrap().id,
        moved.id
    );
    let m = run(
        &mem,
        base,
        vec![base_keep, added.clone(), keep.clone()],
        vec![moved, keep],
    );
    assert_eq!(kinds(&m), vec![("x/a.bin", ConflictKind::AddAdd)]);
    assert_eq!(
        m.entries.iter().find(|e| e.path == "x/a.bin").unwrap().id,
        added.id
    );
}

#[test]
fn sidecars_follow_their_asset_and_conflict_together() {
    let mut mem = Mem::default();
    let png = mem.file("hero.png", &[0, 1]);
    let meta = mem.file("hero.png.meta", b"guid: 1\n");
    let base = vec![png.clone(), meta.clone()];
    // Theirs moved only the asset; ours edited the sidecar: it follows, edited.
    let moved = mem.file("art/hero.png", &[0, 1]);
    let edited_meta = mem.file("hero.png.meta", b"guid: 1\nx: 2\n");
    let m = run(
        &mem,
        base.clone(),
        vec![png.clone(), edited_meta.clone()],
        vec![moved.clone(), meta.clone()],
    );
    assert!(m.conflicts.is_empty(), "{:?}", m.conflicts);
    assert_eq!(paths(&m), vec!["art/hero.png", "art/hero.png.meta"]);
    assert_eq!(
        content(&mem, &m, "art/hero.png.meta").unwrap(),
        b"guid: 1\nx: 2\n"
    );
    // Moved together and edited on the way: still one rename of the sidecar.
    let moved_meta = mem.file("art/hero.png.meta", b"guid: 1\nmoved: yes\n");
    let m = run(
        &mem,
        base.clone(),
        vec![moved.clone(), moved_meta.clone()],
        vec![png.clone(), meta.clone()],
    );
    assert!(m.conflicts.is_empty(), "{:?}", m.conflicts);
    assert_eq!(paths(&m), vec!["art/hero.png", "art/hero.png.meta"]);
    // The asset conflicts, the sidecar merged: the sidecar joins the conflict.
    let ours_png = mem.file("hero.png", &[0, 2]);
    let theirs_png = mem.file("hero.png", &[0, 3]);
    let m = run(
        &mem,
        base.clone(),
        vec![ours_png.clone(), meta.clone()],
        vec![theirs_png.clone(), edited_meta.clone()],
    );
    assert_eq!(
        kinds(&m),
        vec![
            ("hero.png", ConflictKind::Content),
            ("hero.png.meta", ConflictKind::Sidecar)
        ]
    );
    assert_eq!(m.conflicts[1].asset.as_deref(), Some("hero.png"));
    assert_eq!(m.conflicts[0].asset, None);
    // The sidecar conflicts, the asset merged: the asset joins it.
    let theirs_meta = mem.file("hero.png.meta", b"guid: 1\nx: 3\n");
    let m = run(
        &mem,
        base.clone(),
        vec![png.clone(), edited_meta],
        vec![theirs_png, theirs_meta],
    );
    assert_eq!(
        kinds(&m),
        vec![
            ("hero.png", ConflictKind::Sidecar),
            ("hero.png.meta", ConflictKind::Text)
        ]
    );
    assert_eq!(m.conflicts[1].asset.as_deref(), Some("hero.png"));
}

#[test]
fn file_directory_clashes_keep_ours() {
    let mut mem = Mem::default();
    let keep = mem.file("keep", b"k");
    let file = mem.file("x", b"file");
    let under = mem.file("x/a", b"a");
    let deeper = mem.file("x/b/c", b"c");
    let m = run(
        &mem,
        vec![keep.clone()],
        vec![keep.clone(), file.clone()],
        vec![keep.clone(), under.clone(), deeper.clone()],
    );
    assert_eq!(kinds(&m), vec![("x", ConflictKind::FileDir)]);
    assert_eq!(paths(&m), vec!["keep", "x"]);
    let m = run(
        &mem,
        vec![keep.clone()],
        vec![keep.clone(), under.clone(), deeper],
        vec![keep.clone(), file],
    );
    assert_eq!(kinds(&m), vec![("x", ConflictKind::DirFile)]);
    assert_eq!(paths(&m), vec!["keep", "x/a", "x/b/c"]);
    // Nested clashes settle at the outermost one.
    let xa = mem.file("x/a", b"file a");
    let xab = mem.file("x/a/b", b"deep");
    let xf = mem.file("x", b"f");
    let m = run(
        &mem,
        vec![keep.clone()],
        vec![keep.clone(), xf],
        vec![keep, xa, xab],
    );
    assert_eq!(kinds(&m), vec![("x", ConflictKind::FileDir)]);
}
