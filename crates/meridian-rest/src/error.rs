//! REST errors and their HTTP status codes (GeoServer's, where clients depend on them).

use meridian_catalog::{ApplyError, ValidationError};

/// An error answered as `text/plain` with a message saying what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    /// 400: the request is malformed or breaks a rule.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no or wrong credentials.
    #[error("authentication required")]
    Unauthorized,
    /// 403: not allowed (GeoServer also uses it for non-empty deletes and duplicate styles).
    #[error("{0}")]
    Forbidden(String),
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// 404 with an empty body (`quietOnNotFound`).
    #[error("")]
    QuietNotFound,
    /// 405.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 409: a duplicate (an object of that name or id exists).
    #[error("{0}")]
    Conflict(String),
    /// 413.
    #[error("request body larger than {0} bytes")]
    TooLarge(usize),
    /// 413: an upload unpacks to more than its limits allow.
    #[error("{0}")]
    UnpacksTooLarge(String),
    /// 415.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422: understood but not acceptable (a malformed access rule, an unknown catalog mode).
    #[error("{0}")]
    Unprocessable(String),
    /// 429: too many failed logins from this address; retry after this many seconds.
    #[error("too many failed logins from this address; try again in {0} s")]
    TooManyLogins(u64),
    /// 507: the data directory's disk (or the user's quota) is full; nothing was changed.
    #[error("{0}")]
    InsufficientStorage(String),
    /// 500: the server failed.
    #[error("{0}")]
    Internal(String),
}

impl RestError {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            RestError::BadRequest(_) => 400,
            RestError::Unauthorized => 401,
            RestError::Forbidden(_) => 403,
            RestError::NotFound(_) | RestError::QuietNotFound => 404,
            RestError::MethodNotAllowed(_) => 405,
            RestError::Conflict(_) => 409,
            RestError::TooLarge(_) | RestError::UnpacksTooLarge(_) => 413,
            RestError::UnsupportedMediaType(_) => 415,
            RestError::Unprocessable(_) => 422,
            RestError::TooManyLogins(_) => 429,
            RestError::InsufficientStorage(_) => 507,
            RestError::Internal(_) => 500,
        }
    }
}

impl From<ApplyError> for RestError {
    fn from(e: ApplyError) -> Self {
        match e {
            ApplyError::Invalid(v) => v.into(),
            ApplyError::ReadOnly(msg) => RestError::Forbidden(msg),
            ApplyError::Persist(p) if p.is_storage_full() => RestError::InsufficientStorage(
                format!("the data directory's disk is full; nothing was changed: {p}"),
            ),
            ApplyError::Persist(p) => {
                RestError::Internal(format!("could not save the configuration: {p}"))
            }
        }
    }
}

impl From<ValidationError> for RestError {
    fn from(v: ValidationError) -> Self {
        match &v {
            ValidationError::NotFound { .. } => RestError::NotFound(v.to_string()),
            ValidationError::Duplicate {
                kind: "workspace" | "namespace",
                ..
            } => RestError::Conflict(v.to_string()),
            ValidationError::Duplicate { kind: "style", .. } => RestError::Forbidden(v.to_string()),
            // GeoServer answers 500 here; a duplicate is the caller's mistake: 409.
            ValidationError::Duplicate { .. } | ValidationError::DuplicateId(_) => {
                RestError::Conflict(v.to_string())
            }
            ValidationError::InUse { .. } => RestError::Forbidden(v.to_string()),
            _ => RestError::BadRequest(v.to_string()),
        }
    }
}

/// Result of a REST handler.
pub type RestResult<T> = Result<T, RestError>;

impl RestError {
    /// An I/O failure of the server's own files: 507 when the disk or quota is full, 500
    /// otherwise, with `what` saying what was being done.
    pub fn io(what: &str, e: &std::io::Error) -> RestError {
        match e.kind() {
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
                RestError::InsufficientStorage(format!("{what}: the disk is full ({e})"))
            }
            _ => RestError::Internal(format!("{what}: {e}")),
        }
    }
}
