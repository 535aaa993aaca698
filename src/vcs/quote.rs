//! Paths as human listings print them: git's C quoting of names that would not
//! print as themselves.

/// A repository path as human listings print it (status, diff, show, log, find,
/// locks, history, merge conflicts, confirmations): unchanged when every character
/// prints as itself, else in double quotes with C escapes, as git prints a path
/// under `core.quotePath`: `\n`, `\t`, `\r`, `\a`, `\b`, `\f`, `\v`, `\"`, `\\`,
/// and `\NNN` (octal, per UTF-8 byte) for any other control character, DEL, C1
/// controls and the invisible format characters that can disguise a name
/// (zero-width, bidirectional overrides, byte-order mark). Printable non-ASCII
/// text (`é`, `日本`) is left as it is, as git does with `core.quotePath=false`.
/// JSON output carries raw paths and never uses this.
pub fn quote_path(path: &str) -> std::borrow::Cow<'_, str> {
    fn needs_escape(c: char) -> bool {
        c == '"' || c == '\\' || c.is_control() || is_invisible_format(c)
    }
    if !path.chars().any(needs_escape) {
        return std::borrow::Cow::Borrowed(path);
    }
    let mut out = String::with_capacity(path.len() + 8);
    out.push('"');
    for c in path.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if needs_escape(c) => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\{b:03o}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    std::borrow::Cow::Owned(out)
}

/// Format characters that print as nothing but change how a name reads: zero-width
/// spaces and joiners, line and paragraph separators, bidirectional embeddings,
/// overrides and isolates, word joiners and the byte-order mark.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{feff}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_with_control_characters_are_quoted_as_git_does() {
        for plain in [
            "a.txt",
            "art/hero 2.png",
            "caf\u{e9}/\u{65e5}\u{672c}.png",
            "it's",
        ] {
            assert_eq!(quote_path(plain), plain, "printable names are left alone");
        }
        assert_eq!(quote_path("a\nb"), "\"a\\nb\"");
        assert_eq!(quote_path("tab\there"), "\"tab\\there\"");
        assert_eq!(quote_path("say \"hi\""), "\"say \\\"hi\\\"\"");
        assert_eq!(quote_path("back\\slash"), "\"back\\\\slash\"");
        assert_eq!(
            quote_path("cr\r\u{7}\u{8}\u{c}\u{b}"),
            "\"cr\\r\\a\\b\\f\\v\""
        );
        assert_eq!(quote_path("esc\u{1b}[31m"), "\"esc\\033[31m\"");
        assert_eq!(quote_path("del\u{7f}"), "\"del\\177\"");
        // C1 controls and a right-to-left override, per UTF-8 byte, in octal.
        assert_eq!(quote_path("c1\u{85}"), "\"c1\\302\\205\"");
        assert_eq!(
            quote_path("evil\u{202e}gnp.exe"),
            "\"evil\\342\\200\\256gnp.exe\""
        );
        // One line whatever the name holds.
        assert!(!quote_path("a\n\r\u{2028}b").contains(['\n', '\r', '\u{2028}']));
    }
}
