//! Previews through the real binary: `gadn preview` (show, `--out`, `--json`,
//! `--cached`, `--all`), previews made at commit time (wait and background), facts in
//! `meta show --json`, recorded failures for corrupt assets, external tools with
//! fallback, and previews surviving `gc` and passing `fsck`.
#![cfg(feature = "cli")]

mod common;
use common::*;

use std::path::Path;
use std::time::{Duration, Instant};

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(rel),
    )
    .expect("fixture")
}

/// A repository with a red texture, a blend file, a truncated PNG and an unknown
/// binary, committed with previews off.
fn assets() -> Scratch {
    let s = Scratch::init();
    s.write("art/red.png", &fixture("preview/texture/red.png"));
    s.write(
        "art/cube.blend",
        &fixture("preview/blend/red_cube_zstd.blend"),
    );
    let png = fixture("preview/texture/red.png");
    s.write("art/broken.png", &png[..png.len() / 2]);
    s.write("data/blob.xyz", &noise(5000, 7));
    s.run(&["add", "."]);
    s.run(&["commit", "-m", "Import"]);
    s
}

fn decode_png(path: &Path) -> image::RgbImage {
    image::open(path).expect("a PNG").to_rgb8()
}

#[test]
fn a_texture_preview_is_shown_and_written() {
    let s = assets();
    let v = s.json(&["preview", "art/red.png", "--json"]);
    assert_eq!(v["generator"], "texture");
    assert_eq!(v["error"], serde_json::Value::Null);
    assert_eq!(v["facts"]["width"], 128);
    assert_eq!(v["facts"]["height"], 64);
    assert_eq!(v["facts"]["type"], "png");
    let levels: Vec<u64> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["role"] == "thumbnail")
        .map(|i| i["level"].as_u64().unwrap())
        .collect();
    assert_eq!(levels, vec![64, 256]);

    let out = s.dir.path().join("thumb.png");
    s.run(&[
        "preview",
        "art/red.png",
        "--level",
        "64",
        "--out",
        out.to_str().unwrap(),
    ]);
    let img = decode_png(&out);
    assert_eq!(img.dimensions(), (64, 32));
    // An ordinary file, not owner-only like the temporary file it was written through.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&out).unwrap().permissions().mode();
    assert_ne!(mode & 0o044, 0, "mode {mode:o}");
    assert_eq!(img.get_pixel(10, 10).0, [255, 0, 0]);

    // The same preview again, now recorded: `--cached` finds it, same id.
    let again = s.json(&["preview", "HEAD:art/red.png", "--json", "--cached"]);
    assert_eq!(again["id"], v["id"]);
    // Human output names the generator and the facts.
    let text = s.run(&["preview", "art/red.png"]);
    assert!(
        text.contains("texture v") && text.contains("width:"),
        "{text}"
    );
}

#[test]
fn blend_thumbnails_and_cards() {
    let s = assets();
    let v = s.json(&["preview", "art/cube.blend", "--json"]);
    assert_eq!(v["generator"], "blend");
    assert_eq!(v["facts"]["compression"], "zstd");
    let out = s.dir.path().join("cube.png");
    s.run(&["preview", "art/cube.blend", "--out", out.to_str().unwrap()]);
    assert_eq!(decode_png(&out).dimensions(), (128, 128));

    let card = s.json(&["preview", "data/blob.xyz", "--json"]);
    assert_eq!(card["generator"], "card");
    assert_eq!(card["facts"]["size"], 5000);
    let out = s.dir.path().join("card.png");
    s.run(&[
        "preview",
        "data/blob.xyz",
        "--level",
        "1024",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(decode_png(&out).dimensions(), (256, 256));
}

#[test]
fn a_corrupt_asset_gets_a_recorded_failure() {
    let s = assets();
    let v = s.json(&["preview", "art/broken.png", "--json"]);
    assert_eq!(v["generator"], "texture");
    let err = v["error"].as_str().expect("a recorded failure");
    assert!(err.contains("png") || err.contains("truncated"), "{err}");
    assert_eq!(v["items"].as_array().unwrap().len(), 0);
    // Recorded: the second look is cached and the same object.
    assert_eq!(
        s.json(&["preview", "art/broken.png", "--json", "--cached"])["id"],
        v["id"]
    );
    // Asking for the picture fails with the reason, and writes nothing.
    let out = s.dir.path().join("none.png");
    let e = s.fail(&["preview", "art/broken.png", "--out", out.to_str().unwrap()]);
    assert!(e.contains("no preview"), "{e}");
    assert!(!out.exists());
    // Other assets are unaffected.
    s.run(&["preview", "--all"]);
    assert!(s.json(&["preview", "art/red.png", "--json", "--cached"])["error"].is_null());
}

#[test]
fn bad_requests_are_refused_clearly() {
    let s = assets();
    let e = s.fail(&["preview"]);
    assert!(e.contains("PATH or REV:PATH"), "{e}");
    let e = s.fail(&[
        "preview",
        "art/red.png",
        "--role",
        "smell",
        "--out",
        "x.png",
    ]);
    assert!(e.contains("unknown role"), "{e}");
    let e = s.fail(&["preview", "art/red.png", "--role", "clip", "--out", "x.png"]);
    assert!(e.contains("no clip item"), "{e}");
    let e = s.fail(&["preview", "HEAD:art"]);
    assert!(e.contains("directory"), "{e}");
    let e = s.fail(&["preview", "missing.png"]);
    assert!(e.contains("missing.png"), "{e}");
    // Not recorded yet.
    let out = s.output(&["preview", "data/blob.xyz", "--cached"]);
    assert_eq!(out.status.code(), Some(1));
    let e = s.fail(&["config", "set", "preview.levels", "0"]);
    assert!(e.contains("preview.levels"), "{e}");
    let e = s.fail(&["config", "set", "preview.colour", "red"]);
    assert!(e.contains("unknown key"), "{e}");
}

#[test]
fn all_previews_of_a_revision_are_made_once() {
    let s = assets();
    let v = s.json(&["preview", "--all", "--json"]);
    assert_eq!(v["files"], 4);
    assert_eq!(v["made"], 4);
    assert_eq!(v["failed"], 1);
    assert_eq!(v["failures"][0][0], "art/broken.png");
    let again = s.json(&["preview", "--all", "HEAD", "--json"]);
    assert_eq!(
        (again["made"].as_u64(), again["existing"].as_u64()),
        (Some(0), Some(4))
    );
    let forced = s.json(&["preview", "--all", "--force", "--json"]);
    assert_eq!(forced["made"], 4);
}

#[test]
fn commit_makes_previews_when_configured_to_wait() {
    let s = Scratch::init();
    s.run(&["config", "set", "preview.on-commit", "wait"]);
    s.write("red.png", &fixture("preview/texture/red.png"));
    s.run(&["add", "."]);
    let out = s
        .cmd(&["commit", "-m", "one"])
        .env("GADN_PREVIEW_ON_COMMIT", "")
        .output()
        .unwrap();
    assert!(out.status.success());
    let v = s.json(&["preview", "red.png", "--json", "--cached"]);
    assert_eq!(v["facts"]["width"], 128);
}

#[test]
fn commit_makes_previews_in_the_background_by_default() {
    let s = Scratch::init();
    s.write("red.png", &fixture("preview/texture/red.png"));
    s.write("cube.blend", &fixture("preview/blend/red_cube.blend"));
    s.run(&["add", "."]);
    // The default (no config, no override): a detached process does the work.
    let out = s
        .cmd(&["commit", "-m", "one"])
        .env_remove("GADN_PREVIEW_ON_COMMIT")
        .output()
        .unwrap();
    assert!(out.status.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let a = s.output(&["preview", "red.png", "--cached", "--json"]);
        let b = s.output(&["preview", "cube.blend", "--cached", "--json"]);
        if a.status.success() && b.status.success() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no background previews after 60 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(s.path(".gadn/preview.log").exists());
}

#[test]
fn meta_show_json_carries_the_extracted_facts() {
    let s = assets();
    let v = s.json(&["meta", "show", "art/red.png", "--json"]);
    assert_eq!(v["path"], "art/red.png");
    assert_eq!(v["preview"]["facts"]["width"], 128);
    assert_eq!(v["preview"]["facts"]["channels"], 3);
    let v = s.json(&["meta", "show", "HEAD:art/cube.blend", "--json"]);
    assert_eq!(v["preview"]["facts"]["blender_version"], "3.4");
}

#[test]
fn an_external_tool_is_used_and_falls_back_when_it_fails() {
    let s = assets();
    // A stand-in renderer: writes a known picture wherever it is told to.
    let picture = s.dir.path().join("rendered.png");
    image::RgbImage::from_pixel(40, 20, image::Rgb([0, 0, 255]))
        .save(&picture)
        .unwrap();
    let script = s.dir.path().join("render.sh");
    std::fs::write(&script, format!("cp {} \"$2\"\n", picture.display())).unwrap();
    let tool = format!("sh {} {{input}} {{output}}", script.display());
    s.run(&["config", "set", "preview.tool.blend", &tool]);
    let v = s.json(&["preview", "art/cube.blend", "--json"]);
    assert_eq!(v["generator"], "external-blend");
    assert_eq!(v["facts"]["width"], 40);
    let out = s.dir.path().join("ext.png");
    s.run(&["preview", "art/cube.blend", "--out", out.to_str().unwrap()]);
    assert_eq!(decode_png(&out).get_pixel(5, 5).0, [0, 0, 255]);

    // A tool that is not installed: the built-in generator's preview, with the reason.
    s.run(&[
        "config",
        "set",
        "preview.tool.blend",
        "gadn-no-such-renderer {input} {output}",
    ]);
    let v = s.json(&["preview", "art/cube.blend", "--json"]);
    assert!(v["generator"].as_str().unwrap().starts_with("external-"));
    assert_eq!(v["facts"]["fallback"], "blend");
    assert!(v["facts"]["external_error"]
        .as_str()
        .unwrap()
        .contains("cannot start"));
    assert_eq!(v["facts"]["thumbnail_width"], 128);
}

#[test]
fn previews_pass_fsck_and_survive_gc() {
    let s = assets();
    s.run(&["preview", "--all"]);
    s.run(&["fsck"]);
    s.run(&["gc"]);
    s.run(&["fsck"]);
    let v = s.json(&["preview", "art/red.png", "--json", "--cached"]);
    let out = s.dir.path().join("after-gc.png");
    s.run(&["preview", "art/red.png", "--out", out.to_str().unwrap()]);
    assert_eq!(decode_png(&out).get_pixel(1, 1).0, [255, 0, 0]);
    assert!(v["items"].as_array().unwrap().len() >= 2);
}

#[test]
fn a_file_whose_name_claims_another_format_is_a_recorded_failure() {
    let s = Scratch::init();
    s.write("m/ship.fbx", b"");
    s.write("t/albedo.dds", &noise(65536, 3));
    s.write("data/blob.xyz", &noise(5000, 7));
    s.write("art/red.png", &fixture("preview/texture/red.png"));
    s.run(&["add", "."]);
    s.run(&["commit", "-m", "Import"]);

    let v = s.json(&["preview", "t/albedo.dds", "--json"]);
    assert_eq!(v["generator"], "texture");
    assert_eq!(
        v["error"],
        "named .dds but the bytes are not a DDS file (no 'DDS ' magic)"
    );
    assert_eq!(v["items"].as_array().unwrap().len(), 0);
    let text = s.run(&["preview", "m/ship.fbx"]);
    assert!(text.contains("failed: empty file named .fbx"), "{text}");
    // An unknown extension claims nothing: still the card, no error.
    assert!(s.json(&["preview", "data/blob.xyz", "--json"])["error"].is_null());

    let all = s.json(&["preview", "--all", "--force", "--json"]);
    assert_eq!(
        (all["made"].as_u64(), all["failed"].as_u64()),
        (Some(4), Some(2))
    );
    let failed: Vec<&str> = all["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f[0].as_str().unwrap())
        .collect();
    assert_eq!(failed.len(), 2);
    assert!(failed.contains(&"m/ship.fbx") && failed.contains(&"t/albedo.dds"));
    let text = s.run(&["preview", "--all", "--force"]);
    assert!(text.contains("(2 failed)"), "{text}");
}

#[test]
fn out_without_a_role_writes_the_waveform_of_a_sound() {
    let s = Scratch::init();
    s.write("sound.wav", &fixture("tone.wav"));
    s.write("art/red.png", &fixture("preview/texture/red.png"));
    s.run(&["add", "."]);
    s.run(&["commit", "-m", "Import"]);
    let out = s.dir.path().join("x.png");
    let v = s.json(&[
        "preview",
        "sound.wav",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(v["written"]["role"], "waveform");
    assert_eq!(v["written"]["media_type"], "image/png");
    let wave = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["role"] == "waveform")
        .expect("a waveform item")
        .clone();
    assert_eq!(v["written"]["size"], wave["size"]);
    let img = decode_png(&out);
    assert_eq!(img.width() as u64, wave["level"].as_u64().unwrap());
    // Human output says what was written.
    let e = s
        .cmd(&["preview", "sound.wav", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(e.status.success());
    assert!(String::from_utf8_lossy(&e.stderr).contains("wrote waveform"));
    // A picture asset: the thumbnail, as before.
    let v = s.json(&[
        "preview",
        "art/red.png",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(v["written"]["role"], "thumbnail");
    // An explicit role still means that role.
    let e = s.fail(&[
        "preview",
        "sound.wav",
        "--role",
        "thumbnail",
        "--out",
        "y.png",
    ]);
    assert!(e.contains("no thumbnail item"), "{e}");
}
