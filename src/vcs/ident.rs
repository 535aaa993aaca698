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

/// A name or e-mail set by the user: `GADN_AUTHOR_NAME`/`GADN_AUTHOR_EMAIL` (the
/// environment wins), else the setting `user.name`/`user.email` (the repository's,
/// else the user's global file's: [`Store::setting`]). Empty values count as unset.
/// A global file that cannot be read fails, naming the file.
fn configured_part(
    store: &Store,
    env: &Env,
    var: &str,
    key: &str,
) -> Result<Option<String>, VcsError> {
    let value = match env(var) {
        Some(v) => Some(v),
        None => store.setting(key)?,
    };
    Ok(value.filter(|v| !v.trim().is_empty()))
}

/// Reads an environment variable (the process environment, or a test's).
type Env = dyn Fn(&str) -> Option<String>;

fn process_env(var: &str) -> Option<String> {
    std::env::var(var).ok()
}

impl Identity {
    /// The identity to record in a commit, merge commit, tag or lock: name and e-mail
    /// from `GADN_AUTHOR_NAME`/`GADN_AUTHOR_EMAIL`, else the store config
    /// `user.name`/`user.email`. Either one missing fails with
    /// [`VcsError::NoIdentity`], which says how to set them, rather than recording
    /// a made-up `unknown <>` (git refuses alike).
    pub fn configured(store: &Store) -> Result<Identity, VcsError> {
        let found = Identity::configured_in(store, &process_env);
        // The library's own unit tests commit in fresh repositories without setting
        // an identity: they record the one the integration tests set through the
        // environment. (The refusal itself is tested through `configured_in`.)
        #[cfg(test)]
        let found = found.or_else(|_| {
            Ok(Identity {
                name: "Test Artist".into(),
                email: "test@example.org".into(),
            })
        });
        found
    }

    fn configured_in(store: &Store, env: &Env) -> Result<Identity, VcsError> {
        let name = configured_part(store, env, "GADN_AUTHOR_NAME", "user.name")?;
        let email = configured_part(store, env, "GADN_AUTHOR_EMAIL", "user.email")?;
        match (name, email) {
            (Some(name), Some(email)) => Ok(Identity { name, email }),
            (name, email) => Err(VcsError::NoIdentity {
                missing: match (name, email) {
                    (None, None) => "user.name and user.email",
                    (None, Some(_)) => "user.name",
                    _ => "user.email",
                },
            }),
        }
    }

    /// The identity to note in a reflog entry, which only informs: the configured
    /// one where there is one, else the login name (`$USER`, else `unknown`) with
    /// whatever e-mail is set. Never fails, so switching branches needs no identity.
    pub fn from_env(store: &Store) -> Identity {
        let env = &process_env;
        // Only informs: an unreadable global file leaves the login name.
        let name = configured_part(store, env, "GADN_AUTHOR_NAME", "user.name")
            .ok()
            .flatten()
            .or_else(|| env("USER"))
            .unwrap_or_else(|| "unknown".into());
        let email = configured_part(store, env, "GADN_AUTHOR_EMAIL", "user.email")
            .ok()
            .flatten()
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
    fn committer_identity_must_be_configured_not_made_up() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::init(
            &dir.path().join(".gadn"),
            crate::store::chunker::ChunkParams::DEFAULT,
        )
        .unwrap();
        let none = |_: &str| None;
        let missing = |r: Result<Identity, VcsError>| match r {
            Err(VcsError::NoIdentity { missing }) => missing,
            other => panic!("expected NoIdentity, got {other:?}"),
        };
        // No login-name fallback, no `unknown <>`.
        let login = |v: &str| (v == "USER").then(|| "login".to_string());
        assert_eq!(
            missing(Identity::configured_in(&store, &login)),
            "user.name and user.email"
        );
        let err = Identity::configured_in(&store, &none)
            .unwrap_err()
            .to_string();
        for hint in [
            "gadn config set --global user.name",
            "gadn config set --global user.email",
            "GADN_AUTHOR_NAME",
            "GADN_AUTHOR_EMAIL",
        ] {
            assert!(err.contains(hint), "{err}");
        }
        // An empty value is no value.
        let blank = |v: &str| (v == "GADN_AUTHOR_EMAIL").then(String::new);
        store.db().config_set("user.name", "Config Name").unwrap();
        assert_eq!(
            missing(Identity::configured_in(&store, &blank)),
            "user.email"
        );
        store
            .db()
            .config_set("user.email", "c@example.org")
            .unwrap();
        let id = Identity::configured_in(&store, &none).unwrap();
        assert_eq!(
            (id.name.as_str(), id.email.as_str()),
            ("Config Name", "c@example.org")
        );
        // The environment wins, part by part.
        let env = |v: &str| (v == "GADN_AUTHOR_NAME").then(|| "Env Name".to_string());
        let id = Identity::configured_in(&store, &env).unwrap();
        assert_eq!(
            (id.name.as_str(), id.email.as_str()),
            ("Env Name", "c@example.org")
        );
        store.db().config_unset("user.name").unwrap();
        assert_eq!(missing(Identity::configured_in(&store, &none)), "user.name");
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
