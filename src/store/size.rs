//! Sizes and rates as people write them, and as gadn prints them: one grammar for
//! every option (`--min-size`, `--max-rate`, chunking parameters, rules).
//!
//! A size is digits with an optional fraction and an optional unit — `B`, `K`/`KB`/
//! `KiB`, `M`/`MB`/`MiB`, `G`/`GB`/`GiB`, `T`/`TB`/`TiB`, any case, a space allowed
//! before it. **Every unit is binary** (1K = 1 KB = 1 KiB = 1024 bytes), as git's
//! and restic's size options are; a fraction is rounded down to whole bytes
//! (`1.5KiB` = 1536). A rate is a size per second, with an optional `/s`.

/// Why a size or rate was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{text}' is not a size: {reason}")]
pub struct SizeError {
    /// The text given.
    pub text: String,
    /// What was expected.
    pub reason: String,
}

/// The smallest rate [`parse_rate`] accepts, in bytes per second. Anything slower
/// would take hours per chunk: almost surely a missing unit (`10` meant `10M`).
pub const MIN_RATE: u64 = 1024;

/// Parses a size in bytes (see the module docs for the grammar).
pub fn parse_size(text: &str) -> Result<u64, SizeError> {
    let bad = |reason: &str| SizeError {
        text: text.into(),
        reason: reason.into(),
    };
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() || num.starts_with('.') || num.ends_with('.') || num.matches('.').count() > 1
    {
        return Err(bad(
            "expected a number such as 10, 1.5 or 200 with an optional unit",
        ));
    }
    let shift =
        match unit.trim_start().to_ascii_lowercase().as_str() {
            "" | "b" => 0,
            "k" | "kb" | "kib" => 10,
            "m" | "mb" | "mib" => 20,
            "g" | "gb" | "gib" => 30,
            "t" | "tb" | "tib" => 40,
            _ => return Err(bad(
                "unknown unit (use B, K, M, G or T, optionally with iB; all are powers of 1024)",
            )),
        };
    let (whole, frac) = num.split_once('.').unwrap_or((num, ""));
    let whole: u64 = whole.parse().map_err(|_| bad("too large"))?;
    let mut bytes = whole.checked_shl(shift).filter(|b| b >> shift == whole);
    if !frac.is_empty() {
        // frac / 10^len, scaled by the unit, in exact integer arithmetic.
        let digits: u128 = frac.parse().map_err(|_| bad("too many decimals"))?;
        let scale = 10u128
            .checked_pow(u32::try_from(frac.len()).unwrap_or(u32::MAX))
            .ok_or_else(|| bad("too many decimals"))?;
        let part = (digits << shift) / scale;
        bytes = bytes.and_then(|b| b.checked_add(u64::try_from(part).ok()?));
    }
    bytes.ok_or_else(|| bad("too large"))
}

/// Parses a rate in bytes per second: a size with an optional `/s` (`20M`,
/// `20MiB/s`, `1.5G`, `512k`). Rates under [`MIN_RATE`] are refused.
pub fn parse_rate(text: &str) -> Result<u64, SizeError> {
    let t = text.trim();
    let size = t
        .strip_suffix("/s")
        .or_else(|| t.strip_suffix("/S"))
        .unwrap_or(t);
    let rate = parse_size(size).map_err(|e| SizeError {
        text: text.into(),
        reason: format!("{} (a rate is bytes per second, e.g. 20M)", e.reason),
    })?;
    if rate < MIN_RATE {
        return Err(SizeError {
            text: text.into(),
            reason: format!(
                "{rate} bytes per second is below the minimum of 1K/s; did you mean {rate}M?"
            ),
        });
    }
    Ok(rate)
}

/// `1.5 MiB` style: bytes under 1 KiB exactly, larger sizes with one decimal in
/// the largest binary unit that keeps the number at or above 1.
pub fn format_size(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_unit_is_binary() {
        for (text, bytes) in [
            ("0", 0),
            ("200", 200),
            ("200B", 200),
            ("512k", 512 << 10),
            ("512 KiB", 512 << 10),
            ("20M", 20 << 20),
            ("20MB", 20 << 20),
            ("20MiB", 20 << 20),
            ("1.5G", 3 << 29),
            ("1.5GiB", 3 << 29),
            ("2t", 2 << 40),
            (" 10m ", 10 << 20),
            ("1.5KiB", 1536),
            ("0.001K", 1),
        ] {
            assert_eq!(parse_size(text), Ok(bytes), "{text}");
        }
    }

    #[test]
    fn malformed_sizes_say_why() {
        for (text, why) in [
            ("", "expected a number"),
            ("M", "expected a number"),
            (".5M", "expected a number"),
            ("5.M", "expected a number"),
            ("1.2.3", "expected a number"),
            ("10X", "unknown unit"),
            ("10 MB/s", "unknown unit"),
            ("99999999999999999999", "too large"),
            ("20000000T", "too large"),
            (
                "1.000000000000000000000000000000000000001",
                "too many decimals",
            ),
        ] {
            let e = parse_size(text).expect_err(text);
            assert!(e.reason.contains(why), "{text}: {e}");
            assert!(e.to_string().contains(&format!("'{text}'")), "{e}");
        }
    }

    #[test]
    fn rates_take_a_per_second_suffix_and_a_floor() {
        assert_eq!(parse_rate("20MiB/s"), Ok(20 << 20));
        assert_eq!(parse_rate("20M"), Ok(20 << 20));
        assert_eq!(parse_rate("1.5M"), Ok(3 << 19));
        assert_eq!(parse_rate("1K/S"), Ok(1024));
        let e = parse_rate("10").expect_err("10 B/s");
        assert!(e.reason.contains("below the minimum"), "{e}");
        assert!(e.reason.contains("10M"), "{e}");
        let e = parse_rate("fast").expect_err("words");
        assert!(e.reason.contains("bytes per second"), "{e}");
    }

    #[test]
    fn printed_sizes_read_back_close_to_the_original() {
        assert_eq!(format_size(0), "0 B");
        assert_eq!(format_size(1023), "1023 B");
        assert_eq!(format_size(1536), "1.5 KiB");
        assert_eq!(format_size(20 << 20), "20.0 MiB");
        assert_eq!(format_size(u64::MAX), "16384.0 PiB");
        for n in [1536u64, 20 << 20, 3 << 29, 7 << 40] {
            let back = parse_size(&format_size(n).replace(' ', "")).expect("parses");
            assert!(back.abs_diff(n) <= n / 100, "{n} -> {back}");
        }
    }
}
