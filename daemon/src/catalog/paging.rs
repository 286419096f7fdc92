//! Cursor paging over key ranges.

use std::ops::Bound;

use serde::de::DeserializeOwned;

use super::error::{key_text, CatalogError};

/// Largest page a caller may ask for; bigger limits are clamped.
pub const MAX_PAGE: usize = 10_000;

/// Opaque position after the last item of a page (the last key returned).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor(pub(crate) Vec<u8>);

impl Cursor {
    /// Hex text form for APIs.
    pub fn to_token(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Parses a token made by `to_token`.
    pub fn from_token(token: &str) -> Result<Self, CatalogError> {
        let pairs = token.as_bytes().chunks_exact(2);
        if !pairs.remainder().is_empty() {
            return Err(CatalogError::InvalidCursor);
        }
        pairs
            .map(|pair| {
                let hi = pair.first().and_then(|&c| (c as char).to_digit(16));
                let lo = pair.get(1).and_then(|&c| (c as char).to_digit(16));
                match (hi, lo) {
                    (Some(h), Some(l)) => Ok((h * 16 + l) as u8),
                    _ => Err(CatalogError::InvalidCursor),
                }
            })
            .collect::<Result<Vec<u8>, _>>()
            .map(Cursor)
    }
}

/// One page of results; `next` is set when more items may follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

pub(crate) fn decode<T: DeserializeOwned>(
    tree: &'static str,
    key: &[u8],
    value: &[u8],
) -> Result<T, CatalogError> {
    serde_json::from_slice(value).map_err(|source| CatalogError::Codec {
        tree,
        key: key_text(key),
        source,
    })
}

/// Scans `tree` from `start` (or after `cursor`) to the end of the tree.
pub(crate) fn scan_from<T>(
    tree: &sled::Tree,
    start: &[u8],
    cursor: Option<&Cursor>,
    limit: usize,
    map: impl FnMut(&[u8], &[u8]) -> Result<Option<T>, CatalogError>,
) -> Result<Page<T>, CatalogError> {
    let lower = match cursor {
        Some(c) => Bound::Excluded(c.0.clone()),
        None => Bound::Included(start.to_vec()),
    };
    collect(tree, lower, b"", limit, map)
}

/// Scans `tree` under `prefix`, after `cursor`, mapping each entry (`None` skips it),
/// and returns at most `limit` items (clamped to 1..=MAX_PAGE).
pub(crate) fn scan<T>(
    tree: &sled::Tree,
    prefix: &[u8],
    cursor: Option<&Cursor>,
    limit: usize,
    map: impl FnMut(&[u8], &[u8]) -> Result<Option<T>, CatalogError>,
) -> Result<Page<T>, CatalogError> {
    let start = match cursor {
        Some(c) => {
            if !c.0.starts_with(prefix) {
                return Err(CatalogError::InvalidCursor);
            }
            Bound::Excluded(c.0.clone())
        }
        None => Bound::Included(prefix.to_vec()),
    };
    collect(tree, start, prefix, limit, map)
}

fn collect<T>(
    tree: &sled::Tree,
    start: Bound<Vec<u8>>,
    prefix: &[u8],
    limit: usize,
    mut map: impl FnMut(&[u8], &[u8]) -> Result<Option<T>, CatalogError>,
) -> Result<Page<T>, CatalogError> {
    let limit = limit.clamp(1, MAX_PAGE);
    let mut items = Vec::new();
    let mut last: Option<Vec<u8>> = None;
    for entry in tree.range::<Vec<u8>, _>((start, Bound::Unbounded)) {
        let (k, v) = entry?;
        if !k.starts_with(prefix) {
            break;
        }
        let Some(item) = map(&k, &v)? else {
            continue;
        };
        if items.len() == limit {
            // A further matching item exists: the page is full and there is more.
            return Ok(Page {
                items,
                next: last.map(Cursor),
            });
        }
        items.push(item);
        last = Some(k.to_vec());
    }
    Ok(Page { items, next: None })
}
