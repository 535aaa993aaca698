//! Who is committing: [`Identity`] from flags, environment or config.

use super::VcsError;
use crate::store::object::Person;
use crate::store::Store;

/// A name and e-mail address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Display name.
    pub name: String,
    /// E-mail address.
    pub email: String,
}

impl Identity {
    /// The identity to record: `GADN_AUTHOR_NAME`/`GADN_AUTHOR_EMAIL`, else the store
    /// config `user.name`/`user.email`, else the login name.
    pub fn from_env(store: &Store) -> Identity {
        let cfg = |k: &str| store.db().config_get(k).ok().flatten();
        let name = std::env::var("GADN_AUTHOR_NAME")
            .ok()
            .or_else(|| cfg("user.name"))
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "unknown".into());
        let email = std::env::var("GADN_AUTHOR_EMAIL")
            .ok()
            .or_else(|| cfg("user.email"))
            .unwrap_or_default();
        Identity { name, email }
    }

    /// This identity, now, in the local time zone.
    pub fn now(&self) -> Person {
        let now = chrono::Local::now();
        let secs = std::env::var("GADN_DATE")
            .ok()
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(now.timestamp());
        Person {
            name: self.name.clone(),
            email: self.email.clone(),
            time: secs,
            tz_offset_min: (now.offset().local_minus_utc() / 60) as i16,
        }
    }
}

/// Parses `Name <email>`.
pub fn parse_ident(text: &str) -> Result<Identity, VcsError> {
    let bad = || VcsError::BadIdentity { text: text.into() };
    let (name, rest) = text.split_once('<').ok_or_else(bad)?;
    let email = rest.strip_suffix('>').ok_or_else(bad)?;
    let name = name.trim();
    if name.is_empty() || email.contains(['<', '>']) {
        return Err(bad());
    }
    Ok(Identity {
        name: name.into(),
        email: email.trim().into(),
    })
}

/// Formats a commit time as `2026-11-21 14:03:00 +0100`.
pub fn format_time(time: i64, tz_offset_min: i16) -> String {
    let offset = chrono::FixedOffset::east_opt(i32::from(tz_offset_min) * 60)
        .unwrap_or_else(|| chrono::FixedOffset::east_opt(0).expect("zero offset is valid"));
    match chrono::DateTime::from_timestamp(time, 0) {
        Some(t) => t
            .with_timezone(&offset)
            .format("%Y-%m-%d %H:%M:%S %z")
            .to_string(),
        None => format!("@{time}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_parse() {
        let i = parse_ident("Ada Lovelace <ada@example.org>").unwrap();
        assert_eq!(i.name, "Ada Lovelace");
        assert_eq!(i.email, "ada@example.org");
        for bad in ["Ada", "<a@b>", "Ada <a@b", "Ada <a<b>"] {
            assert!(parse_ident(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn times_format_with_offset() {
        assert_eq!(format_time(0, 60), "1970-01-01 01:00:00 +0100");
        assert_eq!(format_time(0, -330), "1969-12-31 18:30:00 -0530");
        assert_eq!(format_time(i64::MAX, 0), format!("@{}", i64::MAX));
        // An offset beyond a day cannot be real: shown in UTC rather than failing.
        assert_eq!(format_time(0, 1500), "1970-01-01 00:00:00 +0000");
        assert_eq!(format_time(0, i16::MIN), "1970-01-01 00:00:00 +0000");
    }

    #[test]
    fn identity_falls_back_to_the_store_config() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::init(
            &dir.path().join(".gadn"),
            crate::store::chunker::ChunkParams::DEFAULT,
        )
        .unwrap();
        store.db().config_set("user.name", "Config Name").unwrap();
        store
            .db()
            .config_set("user.email", "config@example.org")
            .unwrap();
        let id = Identity::from_env(&store);
        // The environment, where set, wins over the config.
        let env = |k: &str, fallback: &str| std::env::var(k).unwrap_or_else(|_| fallback.into());
        assert_eq!(id.name, env("GADN_AUTHOR_NAME", "Config Name"));
        assert_eq!(id.email, env("GADN_AUTHOR_EMAIL", "config@example.org"));
        let before = chrono::Utc::now().timestamp();
        let p = id.now();
        assert_eq!(
            (p.name.as_str(), p.email.as_str()),
            (id.name.as_str(), id.email.as_str())
        );
        if std::env::var("GADN_DATE").is_err() {
            assert!(p.time >= before && p.time <= before + 60, "{}", p.time);
        }
    }
}
