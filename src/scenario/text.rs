//! User text quoted back in messages, comments and file names: clipped, control characters
//! escaped, and names checked against one safe character set.
//!
//! Everything talentflow echoes of what a user wrote goes through [`echo`] (or [`clip`] with a
//! larger bound), so a 120 KB `--set` value or a name holding a newline cannot make an error
//! message huge or break it into lines that look like other messages.

/// Characters of user text quoted in a message by [`echo`].
pub const ECHO_CHARS: usize = 80;

/// Longest name accepted where a name becomes a file or directory name (see [`name_problem`]).
pub const MAX_NAME_CHARS: usize = 64;

/// `text` with control characters (newlines, tabs, escape sequences, C1 controls) written as
/// `\n`, `\t`, `\u{1b}`…, cut to at most `max` characters (counted after escaping), with an
/// ellipsis when cut.
pub fn clip(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut count = 0;
    for ch in text.chars() {
        let piece: String = if ch.is_control() {
            ch.escape_default().collect()
        } else {
            ch.to_string()
        };
        let n = piece.chars().count();
        if count + n > max {
            out.push('…');
            return out;
        }
        count += n;
        out.push_str(&piece);
    }
    out
}

/// A user's value as quoted in a message: [`clip`] to [`ECHO_CHARS`] characters.
pub fn echo(text: &str) -> String {
    clip(text, ECHO_CHARS)
}

/// Why `value` cannot be used as a name that becomes a path component (an experiment's or a
/// sweep's `name`, an arm's name under `--keep-runs`), or `None` when it can: 1 to
/// [`MAX_NAME_CHARS`] ASCII letters, digits, `_`, `-` and `.`, not starting with `.` — so no
/// separator, no `.` or `..`, no hidden file, nothing a shell or a file system treats specially.
/// `field` names the field in the message.
pub fn name_problem(field: &str, value: &str) -> Option<String> {
    let ok = !value.is_empty()
        && value.len() <= MAX_NAME_CHARS
        && !value.starts_with('.')
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    (!ok).then(|| {
        format!(
            "{field}: \"{}\" is not a usable name: it becomes a file name, so use 1 to \
             {MAX_NAME_CHARS} ASCII letters, digits, `_`, `-` or `.`, not starting with `.`",
            echo(value)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_escapes_controls_and_bounds_the_length() {
        assert_eq!(clip("a\nb\tc\u{1b}[31m", 80), "a\\nb\\tc\\u{1b}[31m");
        assert_eq!(clip("abcdef", 3), "abc…");
        assert_eq!(clip("ab\n", 3), "ab…");
        assert_eq!(clip("", 3), "");
        let long = "x".repeat(120_000);
        assert_eq!(echo(&long).chars().count(), ECHO_CHARS + 1);
        assert!(!clip("\u{85}\u{7f}\r", 80).chars().any(char::is_control));
    }

    #[test]
    fn names_that_would_leave_the_directory_are_refused() {
        for good in ["control", "sau_wages", "lambda0.0_crowd0.3", "A-1", "x"] {
            assert_eq!(name_problem("name", good), None, "{good}");
        }
        let long = "a".repeat(MAX_NAME_CHARS + 1);
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "/etc",
            "a/b",
            "a\\b",
            ".hidden",
            "a b",
            "a\nb",
            "ä",
            "C:",
            long.as_str(),
        ] {
            let p = name_problem("`name`", bad).unwrap_or_default();
            assert!(p.starts_with("`name`: \""), "{bad:?}: {p}");
            assert!(!p.contains('\n'), "{p}");
        }
        assert_eq!(name_problem("n", &"a".repeat(MAX_NAME_CHARS)), None);
    }
}
