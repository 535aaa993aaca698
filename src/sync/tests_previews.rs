//! Previews travel with fetches, ahead of content: a fetch brings the preview
//! objects the peer holds of the new files and their items' content before the
//! files' chunks; they land even when the content transfer is cut; a peer that
//! does not serve previews costs the previews, never the fetch; a record listed as
//! a preview that is not one is bad data.

use std::sync::Arc;

use super::tests::{alice_repo, empty_like, key, noise, scripted_server, serve, store_dir, LIMIT};
use super::wire::Message;
use crate::preview::batch::{jobs_for_tree, preview_files};
use crate::preview::recorded::Planner;
use crate::preview::settings::Settings;
use crate::store::{ObjectId, Store};
use crate::vcs::testutil::{commit_all, put};
use crate::vcs::{flatten, Repo};

fn red_png() -> Vec<u8> {
    let mut out = Vec::new();
    image::RgbaImage::from_pixel(300, 100, image::Rgba([255, 0, 0, 255]))
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("png");
    out
}

/// Alice's repository with a texture and a large blob committed and previewed;
/// returns it with the blob's file id.
fn previewed(dir: &std::path::Path) -> (Repo, ObjectId) {
    let mut a = alice_repo(dir);
    put(&a, "art/red.png", &red_png());
    put(&a, "data/big.bin", &noise(9, 4 << 20));
    let head = commit_all(&mut a, "assets");
    let tree = a.store().commit(&head).expect("commit").tree;
    let entries = flatten(a.store(), &tree).expect("flatten");
    let big = entries
        .iter()
        .find(|e| e.path == "data/big.bin")
        .expect("big")
        .id;
    let planner = Planner::new(Settings::default());
    let s = preview_files(
        a.store_mut(),
        &planner,
        jobs_for_tree(&entries),
        false,
        &|_, _| {},
    )
    .expect("previews");
    assert_eq!(s.made, 2);
    (a, big)
}

async fn fetch(
    addr: std::net::SocketAddr,
    into: &Repo,
) -> Result<super::client::FetchReport, super::SyncError> {
    let ep = super::transport::Endpoint::bind(
        "127.0.0.1:0".parse().expect("addr"),
        &key(2),
        super::transport::refuse_all(),
    )?;
    let conn = super::client::connect(&ep, key(1).public(), &[addr]).await?;
    let id = into.store().repository_id()?;
    super::client::hello(&conn, "alice", Some(id), Vec::new()).await?;
    let r = super::client::fetch(
        &conn,
        "alice",
        &store_dir(into),
        super::client::FetchOptions {
            trust_peer: true,
            progress: None,
            prefill_checkout: false,
            hold_members: None,
        },
    )
    .await;
    conn.close(0, b"done");
    r
}

/// The thumbnail items of every preview recorded in `repo`, decoded.
fn thumbnails(repo: &Repo) -> Vec<image::RgbImage> {
    let s = Store::open(repo.store().dir()).expect("open");
    let mut out = Vec::new();
    for (_, _, _, id) in s.db().previews_all().expect("rows") {
        let p = crate::store::object::PreviewObject::decode(
            &s.read_kind(&id, crate::store::ObjectKind::Preview)
                .expect("preview"),
        )
        .expect("decode");
        for item in p.items.iter().filter(|i| i.role == 0) {
            let bytes = s.read_file_bytes(&item.content).expect("item content");
            out.push(image::load_from_memory(&bytes).expect("png").to_rgb8());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn previews_travel_with_a_fetch() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let (a, _) = previewed(d.path());
        let (addr, _stop) = serve(&a, &key(1));
        let b = empty_like(d.path(), "bob", &a);
        fetch(addr, &b).await.expect("fetch");
        let bs = Store::open(b.store().dir()).expect("open");
        assert_eq!(
            bs.db().previews_all().expect("rows"),
            Store::open(a.store().dir())
                .expect("open")
                .db()
                .previews_all()
                .expect("rows")
        );
        assert!(bs.fsck(&mut |_| {}).expect("fsck").is_ok());
        let thumbs = thumbnails(&b);
        assert!(thumbs.iter().any(|t| t.get_pixel(1, 1).0 == [255, 0, 0]));
        // Bob finds them as made here: nothing to make.
        let read = Arc::new(bs);
        let planner = Planner::new(Settings::default());
        let head = b.store().db().list_refs("refs/remotes/").expect("refs")[0].1;
        let tree = read.commit(&head).expect("commit").tree;
        for e in flatten(&read, &tree).expect("flatten") {
            let kind = crate::preview::recorded::content_kind(&read, &e.id, &e.path).expect("kind");
            assert!(
                planner
                    .existing(&read, &e.id, &kind, &e.path)
                    .expect("lookup")
                    .is_some(),
                "{}",
                e.path
            );
        }
    })
    .await
    .expect("within the time limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn previews_land_even_when_the_content_transfer_is_cut() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let (a, big) = previewed(d.path());
        let served = Arc::new(super::answer::Served::open(store_dir(&a)).expect("served"));
        let addr = scripted_server(
            &key(1),
            store_dir(&a),
            move |m| match m {
                Message::GetPreviews { ids } => Some(vec![served.previews(ids).expect("previews")]),
                Message::GetChunks { runs } if runs.iter().any(|r| r.file == big) => {
                    Some(vec![Message::Error {
                        code: "gone".into(),
                        message: "the link dropped".into(),
                    }])
                }
                _ => None,
            },
            |m| m,
        );
        let b = empty_like(d.path(), "bob", &a);
        let e = fetch(addr, &b).await.expect_err("the content is cut");
        assert!(e.to_string().contains("link dropped"), "{e}");
        let bs = Store::open(b.store().dir()).expect("open");
        assert!(bs.db().list_refs("refs/heads/").expect("refs").is_empty());
        assert_eq!(bs.db().previews_all().expect("rows").len(), 2);
        assert!(!bs.contains(&big) || bs.file(&big).is_ok());
        drop(bs);
        // Including the blob's card, whose content never arrived.
        // 64, 256 and full-size (300 px) of the texture; 64 and 256 of the card.
        assert_eq!(thumbnails(&b).len(), 5);
    })
    .await
    .expect("within the time limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn previews_are_optional_but_must_be_previews() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let (a, _) = previewed(d.path());
        // A peer that does not answer GetPreviews: the fetch succeeds without them.
        let addr = scripted_server(&key(1), store_dir(&a), |_| None, |m| m);
        let b = empty_like(d.path(), "bob", &a);
        fetch(addr, &b).await.expect("fetch without previews");
        let bs = Store::open(b.store().dir()).expect("open");
        assert!(bs.db().previews_all().expect("rows").is_empty());
        assert!(!bs.db().list_refs("refs/remotes/").expect("refs").is_empty());
        drop(bs);

        // A peer listing a record that is not a preview: bad data, nothing recorded.
        let head = a.store().db().list_refs("refs/heads/").expect("refs")[0].1;
        let addr = scripted_server(
            &key(1),
            store_dir(&a),
            move |m| match m {
                Message::GetPreviews { .. } => Some(vec![Message::Previews { ids: vec![head] }]),
                _ => None,
            },
            |m| m,
        );
        let c = empty_like(d.path(), "carol", &a);
        let e = fetch(addr, &c).await.expect_err("not a preview");
        assert!(matches!(e, super::SyncError::BadData { .. }), "{e}");
        let cs = Store::open(c.store().dir()).expect("open");
        assert!(cs.db().previews_all().expect("rows").is_empty());
    })
    .await
    .expect("within the time limit");
}
