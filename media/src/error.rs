//! Errors of the media parsers and cutters.

/// Why a cut or a parse failed.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The request does not fit the media: a range outside the clip, a reversed range, a
    /// timecode label that does not exist, an unsupported frame rate for drop-frame.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The media is not what it claims to be, or is damaged: truncated, lying lengths,
    /// index entries pointing past the end, missing mandatory structures.
    #[error("invalid media: {0}")]
    InvalidMedia(String),
    /// The format is recognised but this cut is not supported for it.
    #[error("unsupported media: {0}")]
    Unsupported(String),
    /// Reading the source or writing the result failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

impl MediaError {
    /// True when the failure is the request's or the media's fault (reported to clients as
    /// DIVA_ERR_INVALID_PARAMETER), false for I/O failures.
    pub fn is_invalid_input(&self) -> bool {
        !matches!(self, MediaError::Io(_))
    }

    pub(crate) fn media(msg: impl Into<String>) -> Self {
        MediaError::InvalidMedia(msg.into())
    }

    pub(crate) fn request(msg: impl Into<String>) -> Self {
        MediaError::InvalidRequest(msg.into())
    }
}

pub type Result<T, E = MediaError> = std::result::Result<T, E>;
