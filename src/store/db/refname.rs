//! Ref name validation, following `git check-ref-format --allow-onelevel`.

use super::DbError;

/// Checks `name` against git's ref-name rules (one-level names such as `HEAD` are
/// allowed):
///
/// * not empty and not `@`; no `..`, `//` or `@{`;
/// * no ASCII control characters, space, `~ ^ : ? * [ \`;
/// * does not start or end with `/`, does not end with `.`;
/// * no `/`-separated component starts with `.` or ends with `.lock`.
///
/// Fails with [`DbError::BadRefName`] naming the rule broken.
pub fn check_ref_name(name: &str) -> Result<(), DbError> {
    match rule_broken(name) {
        None => Ok(()),
        Some(reason) => Err(DbError::BadRefName {
            name: name.to_string(),
            reason,
        }),
    }
}

fn rule_broken(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("is empty".into());
    }
    if name == "@" {
        return Some("is '@'".into());
    }
    if let Some(c) = name
        .chars()
        .find(|&c| c.is_ascii_control() || " ~^:?*[\\".contains(c))
    {
        return Some(if c.is_ascii_control() {
            format!("contains the control character {:?}", c)
        } else {
            format!("contains '{c}'")
        });
    }
    for bad in ["..", "//", "@{"] {
        if name.contains(bad) {
            return Some(format!("contains '{bad}'"));
        }
    }
    if name.starts_with('/') || name.ends_with('/') {
        return Some("starts or ends with '/'".into());
    }
    if name.ends_with('.') {
        return Some("ends with '.'".into());
    }
    for part in name.split('/') {
        if part.starts_with('.') {
            return Some(format!("has a component starting with '.' ({part})"));
        }
        if part.ends_with(".lock") {
            return Some(format!("has a component ending in '.lock' ({part})"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_check_ref_format_table() {
        let good = [
            "HEAD",
            "main",
            "refs/heads/main",
            "refs/heads/feature/x-1_2",
            "refs/tags/v1.0",
            "refs/heads/a.b",
            "refs/heads/ünïcödé",
            "refs/heads/@",
            "refs/heads/a@b",
            "refs/heads/lock",
            "refs/heads/x.locked",
        ];
        for name in good {
            assert!(check_ref_name(name).is_ok(), "{name} should be valid");
        }
        let bad = [
            ("", "empty"),
            ("@", "'@'"),
            ("refs/heads/a..b", "'..'"),
            ("refs//heads", "'//'"),
            ("refs/heads/a@{1}", "'@{'"),
            ("refs/heads/a b", "' '"),
            ("refs/heads/a~1", "'~'"),
            ("refs/heads/a^", "'^'"),
            ("refs/heads/a:b", "':'"),
            ("refs/heads/a?", "'?'"),
            ("refs/heads/a*", "'*'"),
            ("refs/heads/a[b", "'['"),
            ("refs/heads/a\\b", "'\\'"),
            ("refs/heads/a\tb", "control"),
            ("refs/heads/a\u{7f}", "control"),
            ("refs/heads/a\0", "control"),
            ("/refs/heads/a", "'/'"),
            ("refs/heads/a/", "'/'"),
            ("refs/heads/a.", "ends with '.'"),
            ("refs/heads/.hidden", "starting with '.'"),
            (".git", "starting with '.'"),
            ("refs/heads/main.lock", ".lock"),
            ("refs/x.lock/y", ".lock"),
        ];
        for (name, why) in bad {
            match check_ref_name(name) {
                Err(DbError::BadRefName { name: n, reason }) => {
                    assert_eq!(n, name);
                    assert!(reason.contains(why), "{name:?}: {reason}");
                    let msg = DbError::BadRefName { name: n, reason }.to_string();
                    assert!(msg.contains("not a valid ref name"), "{msg}");
                }
                other => panic!("{name:?} should be rejected, got {other:?}"),
            }
        }
    }
}
