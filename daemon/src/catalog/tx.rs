//! Transactions over all data trees, with typed get/put helpers.

use serde::de::DeserializeOwned;
use serde::Serialize;
use sled::transaction::{ConflictableTransactionError, TransactionalTree};
use sled::Transactional;
use time::OffsetDateTime;

use super::error::{key_text, CatalogError};
use super::records::AuditEntry;
use super::{keys, tree, Trees};

pub(crate) type TxResult<T> = Result<T, ConflictableTransactionError<CatalogError>>;

/// Aborts the running transaction with `e`.
pub(crate) fn fail<T>(e: CatalogError) -> TxResult<T> {
    Err(ConflictableTransactionError::Abort(e))
}

/// The transactional view of the data trees (`meta` is outside: it changes only at open).
pub(crate) struct Tx<'a> {
    pub tapes: &'a TransactionalTree,
    pub groups: &'a TransactionalTree,
    pub objects: &'a TransactionalTree,
    pub objects_by_time: &'a TransactionalTree,
    pub instances: &'a TransactionalTree,
    pub instances_by_tape: &'a TransactionalTree,
    pub requests: &'a TransactionalTree,
    pub requests_active: &'a TransactionalTree,
    pub audit_tree: &'a TransactionalTree,
    pub counters: &'a TransactionalTree,
    pub users: &'a TransactionalTree,
    pub revoked_tokens: &'a TransactionalTree,
}

pub(crate) fn run<R>(t: &Trees, f: impl Fn(&Tx<'_>) -> TxResult<R>) -> Result<R, CatalogError> {
    let r = (
        &t.tapes,
        &t.groups,
        &t.objects,
        &t.objects_by_time,
        &t.instances,
        &t.instances_by_tape,
        &t.requests,
        &t.requests_active,
        &t.audit,
        &t.counters,
        &t.users,
        &t.revoked_tokens,
    )
        .transaction(|(ta, g, o, ot, i, it, r, ra, a, c, u, rt)| {
            let tx = Tx {
                tapes: ta,
                groups: g,
                objects: o,
                objects_by_time: ot,
                instances: i,
                instances_by_tape: it,
                requests: r,
                requests_active: ra,
                audit_tree: a,
                counters: c,
                users: u,
                revoked_tokens: rt,
            };
            f(&tx)
        });
    Ok(r?)
}

pub(crate) fn encode<T: Serialize>(
    tree: &'static str,
    key: &[u8],
    v: &T,
) -> Result<Vec<u8>, CatalogError> {
    serde_json::to_vec(v).map_err(|source| CatalogError::Codec {
        tree,
        key: key_text(key),
        source,
    })
}

impl Tx<'_> {
    pub fn get<T: DeserializeOwned>(
        &self,
        t: &TransactionalTree,
        name: &'static str,
        key: &[u8],
    ) -> TxResult<Option<T>> {
        match t.get(key)? {
            None => Ok(None),
            Some(v) => match serde_json::from_slice(&v) {
                Ok(rec) => Ok(Some(rec)),
                Err(source) => fail(CatalogError::Codec {
                    tree: name,
                    key: key_text(key),
                    source,
                }),
            },
        }
    }

    pub fn put<T: Serialize>(
        &self,
        t: &TransactionalTree,
        name: &'static str,
        key: &[u8],
        v: &T,
    ) -> TxResult<()> {
        match encode(name, key, v) {
            Ok(bytes) => {
                t.insert(key, bytes)?;
                Ok(())
            }
            Err(e) => fail(e),
        }
    }

    /// Next value of a named counter (starts at 1).
    pub fn next_counter(&self, name: &str) -> TxResult<u64> {
        let cur = match self.counters.get(name.as_bytes())? {
            None => 0,
            Some(v) => match keys::decode_u64(&v) {
                Some(n) => n,
                None => {
                    return fail(CatalogError::InvalidRecord(format!(
                        "counter {name} has {} bytes, expected 8",
                        v.len()
                    )))
                }
            },
        };
        let next = cur + 1;
        self.counters
            .insert(name.as_bytes(), keys::id(next).to_vec())?;
        Ok(next)
    }

    /// Appends an audit entry; its key is a sequence number from `generate_id`.
    pub fn audit(
        &self,
        time: OffsetDateTime,
        actor: &str,
        action: &str,
        subject: &str,
        details: &str,
    ) -> TxResult<u64> {
        let seq = self.audit_tree.generate_id()?;
        let entry = AuditEntry {
            seq,
            time,
            actor: actor.to_string(),
            action: action.to_string(),
            subject: subject.to_string(),
            details: details.to_string(),
        };
        self.put(self.audit_tree, tree::AUDIT, &keys::id(seq), &entry)?;
        Ok(seq)
    }
}
