//! Tests of the generator runner: panics, time limits, dispatch.

use super::*;

struct Panicking;

impl Generator for Panicking {
    fn name(&self) -> &'static str {
        "panicking"
    }
    fn version(&self) -> u32 {
        1
    }
    fn handles(&self, _: &str) -> bool {
        false
    }
    fn generate(&self, _: &Input, _: &Ctx) -> Result<Generated, PreviewError> {
        panic!("index out of bounds in a decoder")
    }
}

struct Sleeping;

impl Generator for Sleeping {
    fn name(&self) -> &'static str {
        "sleeping"
    }
    fn version(&self) -> u32 {
        1
    }
    fn handles(&self, _: &str) -> bool {
        false
    }
    fn generate(&self, _: &Input, _: &Ctx) -> Result<Generated, PreviewError> {
        std::thread::sleep(Duration::from_secs(30));
        Ok(Generated::default())
    }
}

fn input() -> Input {
    Input::from_bytes("x.bin", vec![1, 2, 3])
}

#[test]
fn a_panic_becomes_a_recorded_failure() {
    match run(&Panicking, input(), Ctx::default(), Mode::Complete) {
        Err(PreviewError::Panicked { message }) => assert!(message.contains("out of bounds")),
        other => panic!("{other:?}"),
    }
    // The default partial path refuses politely.
    assert!(matches!(
        run(&Panicking, input(), Ctx::default(), Mode::Partial),
        Err(PreviewError::Unsupported { .. })
    ));
}

#[test]
fn a_hung_generator_is_abandoned_at_the_deadline() {
    let start = Instant::now();
    let ctx = Ctx::with_timeout(Duration::from_millis(200));
    match run(&Sleeping, input(), ctx, Mode::Complete) {
        Err(PreviewError::TimedOut { .. }) => {}
        other => panic!("{other:?}"),
    }
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn unknown_types_get_the_card() {
    assert_eq!(generator_for("binary").name(), "card");
    assert_eq!(generator_for("png").name(), "texture");
    assert_eq!(generator_for("wav").name(), "audio");
    assert_eq!(generator_for("glb").name(), "mesh");
    assert_eq!(generator_for("blend").name(), "blend");
}

#[test]
fn ctx_limits() {
    let ctx = Ctx {
        max_alloc: 10,
        ..Ctx::default()
    };
    assert!(ctx.alloc(10, "x").is_ok());
    assert!(matches!(
        ctx.alloc(11, "x"),
        Err(PreviewError::TooLarge { .. })
    ));
    assert_eq!(input().extension(), "bin");
    assert_eq!(Input::from_bytes("noext", vec![]).extension(), "");
    assert_eq!(Role::from_name("clip"), Some(Role::Clip));
    assert_eq!(Role::from_code(Role::LowPoly.code()), Some(Role::LowPoly));
    assert_eq!(Role::from_code(99), None);
}

#[test]
fn the_primary_picture_is_the_thumbnail_else_the_waveform() {
    let all = [Role::Peaks, Role::Waveform, Role::Clip, Role::Thumbnail];
    assert_eq!(Role::primary_picture(all), Some(Role::Thumbnail));
    let audio = [Role::Waveform, Role::Peaks, Role::Clip];
    assert_eq!(Role::primary_picture(audio), Some(Role::Waveform));
    assert_eq!(Role::primary_picture([Role::Clip, Role::LowPoly]), None);
    assert_eq!(Role::primary_picture([]), None);
}
