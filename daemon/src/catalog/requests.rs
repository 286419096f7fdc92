//! Persistence of requests: the `requests` tree (key = id, u64 BE) and the
//! `requests_active` index of the non-terminal ones.

use std::cell::RefCell;

use time::OffsetDateTime;

use super::{fail, keys, paging, tree, Catalog, CatalogError, Cursor, Page, Tx, TxResult};
use crate::request::RequestRecord;

impl Tx<'_> {
    fn put_request(&self, r: &RequestRecord) -> TxResult<()> {
        let k = keys::id(r.id);
        self.put(self.requests, tree::REQUESTS, &k, r)?;
        if r.state.is_terminal() {
            self.requests_active.remove(&k)?;
        } else {
            self.requests_active.insert(&k, Vec::new())?;
        }
        Ok(())
    }
}

impl Catalog {
    /// Allocates the next request id and stores the record `make(id)` with an audit entry,
    /// in one transaction. The request is durable (flushed) when this returns.
    pub fn insert_request(
        &self,
        make: impl Fn(u64) -> RequestRecord,
        actor: &str,
    ) -> Result<RequestRecord, CatalogError> {
        let now = OffsetDateTime::now_utc();
        let rec = self.transact(|tx| {
            let id = tx.next_counter("request_id")?;
            let rec = make(id);
            if rec.id != id {
                return fail(CatalogError::InvalidRecord(format!(
                    "request record has id {} instead of allocated {id}",
                    rec.id
                )));
            }
            tx.put_request(&rec)?;
            tx.audit(
                now,
                actor,
                "request.submit",
                &id.to_string(),
                &format!("{} priority {}", rec.kind.name(), rec.priority.get()),
            )?;
            Ok(rec)
        })?;
        self.flush()?;
        Ok(rec)
    }

    pub fn get_request(&self, id: u64) -> Result<Option<RequestRecord>, CatalogError> {
        let k = keys::id(id);
        self.trees()
            .requests
            .get(k)?
            .map(|v| paging::decode(tree::REQUESTS, &k, &v))
            .transpose()
    }

    /// Applies `f` to a request atomically; a state change is audited in the same
    /// transaction. An error from `f` aborts the change and is returned as is.
    pub fn update_request<E: From<CatalogError>>(
        &self,
        id: u64,
        actor: &str,
        f: impl Fn(&mut RequestRecord) -> Result<(), E>,
    ) -> Result<RequestRecord, E> {
        let rejected: RefCell<Option<E>> = RefCell::new(None);
        let now = OffsetDateTime::now_utc();
        let result = self.transact(|tx| {
            let Some(before) =
                tx.get::<RequestRecord>(tx.requests, tree::REQUESTS, &keys::id(id))?
            else {
                return fail(CatalogError::RequestNotFound { id });
            };
            let mut rec = before.clone();
            if let Err(e) = f(&mut rec) {
                *rejected.borrow_mut() = Some(e);
                return fail(CatalogError::RequestRejected {
                    id,
                    reason: "update refused".into(),
                });
            }
            if rec.id != id {
                return fail(CatalogError::InvalidRecord(format!(
                    "request {id}: id cannot change"
                )));
            }
            tx.put_request(&rec)?;
            if rec.state != before.state {
                let mut details = format!("{:?} -> {:?}", before.state, rec.state);
                if let Some(r) = &rec.abort_reason {
                    details.push_str(": ");
                    details.push_str(r);
                }
                tx.audit(now, actor, "request.state", &id.to_string(), &details)?;
            } else if rec.priority != before.priority {
                tx.audit(
                    now,
                    actor,
                    "request.priority",
                    &id.to_string(),
                    &format!("{} -> {}", before.priority.get(), rec.priority.get()),
                )?;
            }
            Ok(rec)
        });
        match result {
            Ok(rec) => Ok(rec),
            Err(e) => match rejected.into_inner() {
                Some(original) => Err(original),
                None => Err(E::from(e)),
            },
        }
    }

    /// Requests in id order, paged.
    pub fn list_requests(
        &self,
        cursor: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<RequestRecord>, CatalogError> {
        paging::scan(&self.trees().requests, b"", cursor, limit, |k, v| {
            paging::decode(tree::REQUESTS, k, v).map(Some)
        })
    }

    /// Every request that is not in a terminal state, in id order.
    pub fn active_requests(&self) -> Result<Vec<RequestRecord>, CatalogError> {
        let mut out = Vec::new();
        for entry in self.trees().requests_active.iter() {
            let (k, _) = entry?;
            if let Some(v) = self.trees().requests.get(&k)? {
                out.push(paging::decode(tree::REQUESTS, &k, &v)?);
            }
        }
        Ok(out)
    }
}
