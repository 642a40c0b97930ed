//! Rules for object names that become path components and URL segments.

/// Why a name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Empty or blank.
    #[error("the name is empty")]
    Empty,
    /// Contains a character that cannot appear in a path or URL segment.
    #[error("the name '{0}' contains '{1}', which is not allowed")]
    BadChar(String, char),
    /// `.` or `..` or starting with a dot.
    #[error("the name '{0}' may not start with a dot")]
    Dot(String),
    /// Longer than the limit.
    #[error("the name is longer than {MAX_NAME_BYTES} bytes")]
    TooLong,
}

/// The longest name: it becomes a file name with a suffix (`.xml`), and a temporary one with
/// more (`.<name>.xml.<pid>.<n>.tmp`), within the 255 bytes filesystems allow.
pub const MAX_NAME_BYTES: usize = 200;

/// Check a name that will be used as a directory or file name and in REST URLs.
pub fn check_name(name: &str) -> Result<(), NameError> {
    if name.trim().is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(NameError::TooLong);
    }
    if name.starts_with('.') {
        return Err(NameError::Dot(name.to_string()));
    }
    for c in name.chars() {
        if matches!(
            c,
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' | '%'
        ) || c.is_control()
        {
            return Err(NameError::BadChar(name.to_string(), c));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_and_separators_are_refused() {
        assert!(check_name("topp").is_ok());
        assert!(check_name("it.geosolutions").is_ok());
        assert!(check_name("tiger-ny").is_ok());
        assert!(check_name("with space").is_ok());
        assert!(check_name("..").is_err());
        assert!(check_name("../etc").is_err());
        assert!(check_name("a/b").is_err());
        assert!(check_name("a\\b").is_err());
        assert!(check_name("ws:name").is_err());
        assert!(check_name("").is_err());
        assert!(check_name("a\u{0}b").is_err());
        assert!(check_name(&"a".repeat(MAX_NAME_BYTES)).is_ok());
        assert_eq!(check_name(&"a".repeat(253)), Err(NameError::TooLong));
    }
}
