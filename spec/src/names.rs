//! Names users give to things (projects, components, ops) follow one rule, checked the same way in the
//! browser and on the server.

/// Why a name was refused, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("a name cannot be empty")]
    Empty,
    #[error("a name is at most {max} characters (this one has {len})")]
    TooLong { len: usize, max: usize },
    #[error("a name must start with a lowercase letter or a digit")]
    BadStart,
    #[error("a name may only contain lowercase letters, digits, '-' and '_' (found {0:?})")]
    BadChar(char),
}

/// Checks `^[a-z0-9][a-z0-9_-]{0,max-1}$`.
pub fn check_slug(s: &str, max: usize) -> Result<(), NameError> {
    let len = s.chars().count();
    let first = s.chars().next().ok_or(NameError::Empty)?;
    if len > max {
        return Err(NameError::TooLong { len, max });
    }
    if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
        return Err(NameError::BadStart);
    }
    match s.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_')) {
        Some(c) => Err(NameError::BadChar(c)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_slugs_and_refuses_the_rest_with_a_reason() {
        assert_eq!(check_slug("resnet-50_v2", 64), Ok(()));
        assert_eq!(check_slug("", 64), Err(NameError::Empty));
        assert_eq!(check_slug("-x", 64), Err(NameError::BadStart));
        assert_eq!(check_slug("Abc", 64), Err(NameError::BadStart));
        assert_eq!(check_slug("a b", 64), Err(NameError::BadChar(' ')));
        assert_eq!(check_slug(&"a".repeat(65), 64), Err(NameError::TooLong { len: 65, max: 64 }));
    }
}
