//! Artifact paths as users send them, confined to the run's folder.

use crate::error::{Error, Result};

/// `a/b/c.txt` from what a user sent; refuses `..`, `.`, empty segments (other than a trailing slash), absolute
/// paths, backslashes and control characters.
pub fn normalise(path: &str) -> Result<String> {
    let refuse = |why: &str| Error::invalid("path", format!("artifact path {path:?} {why}"));
    if path.len() > 1024 {
        return Err(refuse("is longer than 1024 bytes"));
    }
    if path.starts_with('/') {
        return Err(refuse("must be relative"));
    }
    if path.chars().any(|c| c.is_control() || c == '\\') {
        return Err(refuse("contains a backslash or a control character"));
    }
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    let mut parts = Vec::new();
    for seg in trimmed.split('/') {
        match seg {
            "" => return Err(refuse("has an empty segment")),
            "." | ".." => return Err(refuse("may not contain `.` or `..`")),
            s => parts.push(s),
        }
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn paths_are_confined() {
        assert_eq!(normalise("a/b.txt").unwrap(), "a/b.txt");
        assert_eq!(normalise("dir/").unwrap(), "dir");
        for bad in ["../x", "a/../../x", "/etc/passwd", "a//b", "./a", "a\\..\\b", "a\0b", ""] {
            assert!(normalise(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
