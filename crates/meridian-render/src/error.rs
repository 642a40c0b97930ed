//! Why a style could not be read or a map drawn.

/// Errors of styles and drawing; each says what is wrong, for a service exception.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The style document is not SLD, or not well formed.
    #[error("style: {0}")]
    Style(String),
    /// A rule's filter does not read.
    #[error("style filter: {0}")]
    Filter(#[from] meridian_features::FilterError),
    /// The image cannot be made (size, memory).
    #[error("image: {0}")]
    Image(String),
    /// Encoding the image failed.
    #[error("encoding: {0}")]
    Encode(String),
}
