//! Why a filter (FES XML or CQL text) was refused.

/// Why a filter was refused; the text says what is wrong and goes back to the client in an
/// OWS exception or a problem document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// The text or XML does not follow the grammar.
    #[error("{0}")]
    Syntax(String),
    /// An operator or construct Meridian does not support.
    #[error("{0}")]
    Unsupported(String),
    /// A coordinate, box, geometry or CRS that cannot be used.
    #[error("{0}")]
    Geometry(String),
    /// Nested beyond the limit.
    #[error("filter nested too deeply")]
    TooDeep,
}

impl From<String> for FilterError {
    fn from(s: String) -> Self {
        FilterError::Syntax(s)
    }
}

impl From<&str> for FilterError {
    fn from(s: &str) -> Self {
        FilterError::Syntax(s.to_string())
    }
}
