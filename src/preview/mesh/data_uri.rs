//! `data:` URIs of glTF buffers (`data:application/octet-stream;base64,…`).

use super::super::{Ctx, PreviewError};

/// The bytes of a base64 `data:` URI, `None` for any other URI (an external file).
/// The decoded size is checked against `ctx.max_alloc` first.
pub fn decode(uri: &str, ctx: &Ctx) -> Result<Option<Vec<u8>>, PreviewError> {
    let Some(rest) = uri.strip_prefix("data:") else {
        return Ok(None);
    };
    let (meta, payload) = rest
        .split_once(',')
        .ok_or_else(|| PreviewError::corrupt("gltf", "a data: URI without a comma"))?;
    if !meta.ends_with(";base64") {
        return Err(PreviewError::unsupported(
            "gltf",
            "data: URIs not in base64",
        ));
    }
    ctx.alloc(payload.len() as u64 / 4 * 3, "a data: URI buffer")?;
    base64(payload.as_bytes()).map(Some)
}

/// Standard base64 (padding optional, no whitespace).
fn base64(text: &[u8]) -> Result<Vec<u8>, PreviewError> {
    let value = |c: u8| -> Result<u32, PreviewError> {
        Ok(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => {
                return Err(PreviewError::corrupt(
                    "gltf",
                    format!("byte {c:#04x} in a base64 data: URI"),
                ))
            }
        } as u32)
    };
    let text = text
        .strip_suffix(b"==")
        .or_else(|| text.strip_suffix(b"="))
        .unwrap_or(text);
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 3);
    for group in text.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in group.iter().enumerate() {
            acc |= value(c)? << (18 - 6 * i);
        }
        let bytes = [(acc >> 16) as u8, (acc >> 8) as u8, acc as u8];
        match group.len() {
            4 => out.extend_from_slice(&bytes),
            3 => out.extend_from_slice(&bytes[..2]),
            2 => out.push(bytes[0]),
            _ => {
                return Err(PreviewError::corrupt(
                    "gltf",
                    "a base64 data: URI of impossible length",
                ))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_base64_and_refuses_the_rest() {
        let ctx = Ctx::default();
        let d = |s: &str| decode(s, &ctx);
        assert_eq!(
            d("data:application/octet-stream;base64,aGVsbG8=")
                .unwrap()
                .unwrap(),
            b"hello"
        );
        assert_eq!(d("data:x;base64,aGk=").unwrap().unwrap(), b"hi");
        assert_eq!(d("data:x;base64,YWJj").unwrap().unwrap(), b"abc");
        assert_eq!(d("cube.bin").unwrap(), None);
        assert!(matches!(
            d("data:x;base64"),
            Err(PreviewError::Corrupt { .. })
        ));
        assert!(matches!(
            d("data:text/plain,hi"),
            Err(PreviewError::Unsupported { .. })
        ));
        assert!(matches!(
            d("data:x;base64,a$b="),
            Err(PreviewError::Corrupt { .. })
        ));
        assert!(matches!(
            d("data:x;base64,abcde"),
            Err(PreviewError::Corrupt { .. })
        ));
        let small = Ctx {
            max_alloc: 2,
            ..Ctx::default()
        };
        assert!(matches!(
            decode("data:x;base64,YWJjYWJj", &small),
            Err(PreviewError::TooLarge { .. })
        ));
    }
}
