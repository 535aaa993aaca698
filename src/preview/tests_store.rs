//! Previews recorded in a real store: made once, found again, partial previews made
//! anew once content is complete, and `gc` keeping exactly the previews of reachable
//! files.

use std::path::PathBuf;
use std::sync::Arc;

use super::batch::{jobs_for_tree, preview_files};
use super::recorded::{content_kind, record, Job, Planner};
use super::settings::Settings;
use crate::store::{ObjectKind, Store};
use crate::vcs::testutil::{commit_all, put, repo};
use crate::vcs::{flatten, Repo};

fn red_png() -> Vec<u8> {
    let mut out = Vec::new();
    image::RgbaImage::from_pixel(40, 20, image::Rgba([255, 0, 0, 255]))
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

fn planner() -> Planner {
    Planner::new(Settings {
        jobs: 2,
        ..Settings::default()
    })
}

fn jobs(repo: &Repo) -> Vec<Job> {
    let head = repo.resolve_commit("HEAD").unwrap();
    let tree = repo.store().commit(&head).unwrap().tree;
    jobs_for_tree(&flatten(repo.store(), &tree).unwrap())
}

#[test]
fn previews_are_made_once_per_content() {
    let (_d, mut repo) = repo();
    put(&repo, "a/red.png", &red_png());
    put(&repo, "b/same.png", &red_png());
    put(&repo, "notes.bin", &[0u8, 1, 2, 3]);
    commit_all(&mut repo, "one");
    let p = planner();
    let calls = std::sync::atomic::AtomicU64::new(0);
    let progress = |_: u64, _: u64| {
        calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    };
    let j = jobs(&repo);
    let s = preview_files(repo.store_mut(), &p, j, false, &progress).unwrap();
    // Two paths, one content: previewed once.
    assert_eq!((s.files, s.made, s.failed, s.existing), (2, 2, 0, 0));
    assert_eq!(calls.load(std::sync::atomic::Ordering::Relaxed), 2);
    let j = jobs(&repo);
    let s = preview_files(repo.store_mut(), &p, j, false, &|_, _| {}).unwrap();
    assert_eq!((s.made, s.existing), (0, 2));

    let read = Arc::new(Store::open(repo.store().dir()).unwrap());
    let file = jobs(&repo)[0].file;
    let kind = content_kind(&read, &file, "a/red.png").unwrap();
    assert_eq!(kind, "png");
    let (_, preview) = p
        .existing(&read, &file, &kind, "a/red.png")
        .unwrap()
        .unwrap();
    assert_eq!(preview.generator, "texture");
    assert!(!p.is_stale(&read, &preview));
    let facts: serde_json::Value = serde_json::from_str(&preview.facts).unwrap();
    assert_eq!(facts["width"], 40);
    assert_eq!(facts["size"], red_png().len() as u64);
}

#[test]
fn gc_keeps_previews_of_reachable_files_only() {
    let (_d, mut repo) = repo();
    put(&repo, "red.png", &red_png());
    commit_all(&mut repo, "one");
    let p = planner();
    let j = jobs(&repo);
    preview_files(repo.store_mut(), &p, j, false, &|_, _| {}).unwrap();
    // A staged file that is then unstaged: its preview is garbage once it is.
    put(&repo, "tmp.png", &{
        let mut v = red_png();
        v.extend_from_slice(b"trailing");
        v
    });
    let root = repo.root().to_path_buf();
    repo.add(&root, &[PathBuf::from("tmp.png")], false, &|_, _| {})
        .unwrap();
    let staged = repo
        .store()
        .db()
        .index_get("tmp.png")
        .unwrap()
        .unwrap()
        .file_id;
    let job = Job {
        file: staged,
        path: "tmp.png".into(),
    };
    preview_files(repo.store_mut(), &p, vec![job], false, &|_, _| {}).unwrap();
    assert_eq!(repo.store().db().previews_all().unwrap().len(), 2);

    // Still staged: gc keeps both.
    let (lock, _) = repo.store_mut().lock().unwrap();
    repo.store_mut()
        .gc(&lock, &crate::store::GcOptions::now())
        .unwrap()
        .unwrap();
    drop(lock);
    assert_eq!(repo.store().db().previews_all().unwrap().len(), 2);

    std::fs::remove_file(root.join("tmp.png")).unwrap();
    repo.store().db().remove_index(&["tmp.png"]).unwrap();
    let (lock, _) = repo.store_mut().lock().unwrap();
    repo.store_mut()
        .gc(&lock, &crate::store::GcOptions::now())
        .unwrap()
        .unwrap();
    drop(lock);
    let rows = repo.store().db().previews_all().unwrap();
    assert_eq!(rows.len(), 1);
    assert_ne!(rows[0].0, staged);
    // The kept preview and its items are intact.
    let r = crate::store::walk::reachable(repo.store()).unwrap();
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert!(repo.store().contains(&rows[0].3));
}

#[test]
fn a_partial_preview_is_made_again_once_the_file_is_complete() {
    let (_d, mut repo) = repo();
    // Big enough for several chunks; the card needs only the length.
    let data: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    put(&repo, "big.bin", &data);
    commit_all(&mut repo, "one");
    let file = jobs(&repo)[0].file;
    let store = repo.store();
    let f = store.file(&file).unwrap();
    let chunks: Vec<_> = store
        .file_chunks(&file, &f)
        .map(|c| c.unwrap().id)
        .collect();
    assert!(chunks.len() > 2);

    // A copy of the store without the last chunk stands in for a partly fetched one.
    let partial_dir = tempfile::tempdir().unwrap();
    let mut partial = Store::init(&partial_dir.path().join("s"), Default::default()).unwrap();
    {
        let (lock, _) = partial.lock().unwrap();
        let mut w = partial.writer(&lock);
        for (_, e) in store.packs().entries() {
            if e.id == *chunks.last().unwrap() {
                continue;
            }
            w.put_raw(store.read_raw(&e.id).unwrap().unwrap()).unwrap();
        }
        w.finish().unwrap();
    }
    let p = planner();
    let read = Arc::new(Store::open(&partial_dir.path().join("s")).unwrap());
    let made = p.make(
        &read,
        Job {
            file,
            path: "big.bin".into(),
        },
    );
    assert!(made.partial);
    let (lock, _) = partial.lock().unwrap();
    let recorded = record(&mut partial, &lock, vec![made]).unwrap();
    drop(lock);
    let (_, preview) = recorded[0].preview.clone().unwrap();
    assert!(preview.facts.contains("\"partial\":true"));
    // Still partial here; complete in the original store.
    assert!(!p.is_stale(&read, &preview));
    let full = Arc::new(Store::open(repo.store().dir()).unwrap());
    assert!(p.is_stale(&full, &preview));
}

#[test]
fn absent_content_records_nothing() {
    let (_d, repo) = repo();
    let p = planner();
    let read = Arc::new(Store::open(repo.store().dir()).unwrap());
    let missing = crate::store::ObjectId::compute(ObjectKind::File, b"nothing");
    let made = p.make(
        &read,
        Job {
            file: missing,
            path: "x.png".into(),
        },
    );
    assert!(made.result.is_err());
    assert_eq!(content_kind(&read, &missing, "x.png"), None);
    let mut store = Store::open(repo.store().dir()).unwrap();
    let (lock, _) = store.lock().unwrap();
    let r = record(&mut store, &lock, vec![made]).unwrap();
    assert!(r[0].preview.is_none() && r[0].error.is_some());
}

#[test]
fn a_batch_reports_absent_content_and_recorded_failures() {
    let (_d, mut repo) = repo();
    let png = red_png();
    put(&repo, "broken.png", &png[..png.len() / 2]);
    commit_all(&mut repo, "one");
    let mut j = jobs(&repo);
    j.push(Job {
        file: crate::store::ObjectId::compute(ObjectKind::File, b"elsewhere"),
        path: "missing.png".into(),
    });
    let s = preview_files(repo.store_mut(), &planner(), j, false, &|_, _| {}).unwrap();
    assert_eq!((s.files, s.made, s.failed, s.absent), (2, 1, 1, 1));
    let paths: Vec<&str> = s.failures.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, vec!["broken.png", "missing.png"]);
    // The failure is recorded, so the next batch finds it made; the absent file is
    // tried again (its content may have arrived).
    let mut j = jobs(&repo);
    j.push(Job {
        file: crate::store::ObjectId::compute(ObjectKind::File, b"elsewhere"),
        path: "missing.png".into(),
    });
    let s = preview_files(repo.store_mut(), &planner(), j, false, &|_, _| {}).unwrap();
    assert_eq!((s.existing, s.absent, s.made), (1, 1, 0));
}

#[test]
fn misnamed_files_are_recorded_failures_under_the_claimed_generator_and_old_cards_are_superseded() {
    let (_d, mut repo) = repo();
    let noise: Vec<u8> = (0..65536u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    put(&repo, "t/albedo.dds", &noise);
    put(&repo, "m/ship.fbx", b"");
    put(&repo, "data/blob.xyz", &noise[..5000]);
    put(&repo, "a/red.png", &red_png());
    commit_all(&mut repo, "one");
    let p = planner();
    let read = Arc::new(Store::open(repo.store().dir()).unwrap());
    let dds = jobs(&repo)
        .into_iter()
        .find(|j| j.path == "t/albedo.dds")
        .unwrap();
    // What the code before this check recorded for it: a card that looks fine.
    let old = super::recorded::Made {
        job: dds.clone(),
        kind: "binary".into(),
        size: noise.len() as u64,
        generator: &super::card::CardGenerator,
        result: Ok(Default::default()),
        partial: false,
    };
    let (lock, _) = repo.store_mut().lock().unwrap();
    record(repo.store_mut(), &lock, vec![old]).unwrap();
    drop(lock);
    assert!(p.recorded(&read, &dds.file, &dds.path).unwrap().is_none());

    let j = jobs(&repo);
    let s = preview_files(repo.store_mut(), &p, j, false, &|_, _| {}).unwrap();
    assert_eq!(
        (s.files, s.made, s.failed, s.existing),
        (4, 4, 2, 0),
        "{s:?}"
    );
    let read = Arc::new(Store::open(repo.store().dir()).unwrap());
    let preview = |path: &str| {
        let job = jobs(&repo).into_iter().find(|j| j.path == path).unwrap();
        p.recorded(&read, &job.file, path).unwrap().unwrap().1
    };
    let dds = preview("t/albedo.dds");
    assert_eq!(dds.generator, "texture");
    assert_eq!(
        dds.error.as_deref(),
        Some("named .dds but the bytes are not a DDS file (no 'DDS ' magic)")
    );
    assert!(dds.items.is_empty());
    assert!(dds.facts.contains("\"type\":\"binary\""), "{}", dds.facts);
    let fbx = preview("m/ship.fbx");
    assert_eq!(fbx.generator, "mesh");
    assert_eq!(fbx.error.as_deref(), Some("empty file named .fbx"));
    // An unknown extension claims nothing: the card, no error; good files as before.
    let card = preview("data/blob.xyz");
    assert_eq!((card.generator.as_str(), card.error), ("card", None));
    let png = preview("a/red.png");
    assert_eq!(
        (png.generator.as_str(), png.generator_version),
        ("texture", 1)
    );
    assert_eq!(png.error, None);
}
