//! Keyset pagination shared by list operations: ordered by id (UUID v7, so creation order),
//! `after` is the last id of the previous page.

use uuid::Uuid;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: i64,
    pub after: Option<Uuid>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("limit must be between 1 and {MAX_LIMIT}")]
pub struct LimitOutOfRange;

impl PageRequest {
    pub fn new(limit: Option<i64>, after: Option<Uuid>) -> Result<Self, LimitOutOfRange> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(LimitOutOfRange);
        }
        Ok(PageRequest { limit, after })
    }
}

#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `after` to get the next page; `None` on the last page.
    pub next_after: Option<Uuid>,
}

impl<T> Page<T> {
    /// `rows` were fetched with `limit + 1`; the extra row only signals that more exist.
    pub fn from_overfetch(mut rows: Vec<T>, limit: i64, id: impl Fn(&T) -> Uuid) -> Self {
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next_after = if more { rows.last().map(&id) } else { None };
        Page {
            items: rows,
            next_after,
        }
    }
}
