//! Tapes and tape groups.

use time::OffsetDateTime;

use super::records::{validate_barcode, validate_component};
use super::{
    fail, keys, paging, tree, Catalog, CatalogError, Cursor, Page, TapeGroup, TapeLocation,
    TapeRecord, TapeState, Tx, TxResult,
};

impl Tx<'_> {
    pub(crate) fn tape(&self, barcode: &str) -> TxResult<TapeRecord> {
        match self.get(self.tapes, tree::TAPES, barcode.as_bytes())? {
            Some(t) => Ok(t),
            None => fail(CatalogError::TapeNotFound {
                barcode: barcode.to_string(),
            }),
        }
    }

    pub(crate) fn put_tape(&self, t: &TapeRecord) -> TxResult<()> {
        self.put(self.tapes, tree::TAPES, t.barcode.as_bytes(), t)
    }
}

impl Catalog {
    /// Registers a new tape; refuses a barcode that is already known.
    pub fn add_tape(&self, tape: &TapeRecord, actor: &str) -> Result<(), CatalogError> {
        tape.validate()?;
        let now = OffsetDateTime::now_utc();
        self.transact(|tx| {
            if tx.tapes.get(tape.barcode.as_bytes())?.is_some() {
                return fail(CatalogError::TapeExists {
                    barcode: tape.barcode.clone(),
                });
            }
            tx.put_tape(tape)?;
            let kind = if tape.foreign {
                "foreign"
            } else if tape.scratch {
                "scratch"
            } else {
                "known"
            };
            tx.audit(now, actor, "tape.add", &tape.barcode, kind)?;
            Ok(())
        })
    }

    pub fn get_tape(&self, barcode: &str) -> Result<Option<TapeRecord>, CatalogError> {
        self.trees()
            .tapes
            .get(barcode.as_bytes())?
            .map(|v| paging::decode(tree::TAPES, barcode.as_bytes(), &v))
            .transpose()
    }

    /// Tapes in barcode order, paged.
    pub fn list_tapes(
        &self,
        cursor: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<TapeRecord>, CatalogError> {
        paging::scan(&self.trees().tapes, b"", cursor, limit, |k, v| {
            paging::decode(tree::TAPES, k, v).map(Some)
        })
    }

    /// Applies `f` to a tape record atomically. `f` may run more than once (sled retries
    /// conflicting transactions) and must not change the barcode.
    pub fn update_tape(
        &self,
        barcode: &str,
        f: impl Fn(&mut TapeRecord) -> Result<(), CatalogError>,
    ) -> Result<TapeRecord, CatalogError> {
        self.transact(|tx| {
            let before = tx.tape(barcode)?;
            let mut t = before.clone();
            if let Err(e) = f(&mut t) {
                return fail(e);
            }
            if t.barcode != barcode {
                return fail(CatalogError::InvalidRecord(format!(
                    "tape {barcode}: barcode cannot change"
                )));
            }
            if t.group != before.group {
                return fail(CatalogError::InvalidRecord(format!(
                    "tape {barcode}: change the group with assign_tape_group"
                )));
            }
            tx.put_tape(&t)?;
            Ok(t)
        })
    }

    /// Changes the state of a tape after checking the transition. Every state but ACTIVE
    /// needs a reason; the change is audited in the same transaction.
    pub fn set_tape_state(
        &self,
        barcode: &str,
        to: TapeState,
        reason: Option<&str>,
        actor: &str,
    ) -> Result<TapeRecord, CatalogError> {
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        if to != TapeState::Active && reason.is_none() {
            return Err(CatalogError::ReasonRequired {
                barcode: barcode.to_string(),
                to,
            });
        }
        let now = OffsetDateTime::now_utc();
        self.transact(|tx| {
            let mut t = tx.tape(barcode)?;
            let from = t.state;
            if !from.can_transition_to(to) {
                return fail(CatalogError::InvalidTransition {
                    barcode: barcode.to_string(),
                    from,
                    to,
                });
            }
            t.state = to;
            t.state_reason = reason.map(str::to_string);
            tx.put_tape(&t)?;
            tx.audit(
                now,
                actor,
                "tape.state",
                barcode,
                &format!("{from:?} -> {to:?}: {}", reason.unwrap_or("")),
            )?;
            Ok(t)
        })
    }

    /// Records that a tape moved. A move into a drive counts as a mount. Online status is
    /// not changed here: a tape leaving the library goes through `mark_tape_offline`.
    pub fn move_tape_location(
        &self,
        barcode: &str,
        to: TapeLocation,
        library: Option<&str>,
    ) -> Result<TapeRecord, CatalogError> {
        self.update_tape(barcode, |t| {
            if matches!(to, TapeLocation::Drive(_)) && t.location != to {
                t.mounts = t.mounts.saturating_add(1);
            }
            t.location = to;
            t.library = match to {
                TapeLocation::Outside => None,
                _ => library.map(str::to_string).or_else(|| t.library.clone()),
            };
            Ok(())
        })
    }

    /// Counts a media or drive error against a tape.
    pub fn record_tape_error(&self, barcode: &str) -> Result<TapeRecord, CatalogError> {
        self.update_tape(barcode, |t| {
            t.errors = t.errors.saturating_add(1);
            Ok(())
        })
    }

    /// Marks a tape and every instance on it offline (it left the library).
    /// Returns the ids of the instances that changed.
    pub fn mark_tape_offline(&self, barcode: &str, actor: &str) -> Result<Vec<u64>, CatalogError> {
        self.set_tape_online(barcode, false, actor)
    }

    /// Marks a tape online; its instances become online when all their tapes are.
    pub fn mark_tape_online(&self, barcode: &str, actor: &str) -> Result<Vec<u64>, CatalogError> {
        self.set_tape_online(barcode, true, actor)
    }

    fn set_tape_online(
        &self,
        barcode: &str,
        online: bool,
        actor: &str,
    ) -> Result<Vec<u64>, CatalogError> {
        let _guard = self.lock();
        let instance_keys = self.instance_keys_on_tape(barcode)?;
        let now = OffsetDateTime::now_utc();
        self.transact(|tx| {
            let mut t = tx.tape(barcode)?;
            t.online = online;
            tx.put_tape(&t)?;
            let mut changed = Vec::new();
            for ik in &instance_keys {
                let Some(mut inst) =
                    tx.get::<super::InstanceRecord>(tx.instances, tree::INSTANCES, ik)?
                else {
                    continue;
                };
                let now_online = if online {
                    let mut all = true;
                    for other in &inst.tapes {
                        if other != barcode && !tx.tape(other)?.online {
                            all = false;
                        }
                    }
                    all
                } else {
                    false
                };
                if inst.online != now_online {
                    inst.online = now_online;
                    tx.put(tx.instances, tree::INSTANCES, ik, &inst)?;
                    changed.push(inst.id);
                }
            }
            let action = if online {
                "tape.online"
            } else {
                "tape.offline"
            };
            tx.audit(
                now,
                actor,
                action,
                barcode,
                &format!("{} instance(s) changed", changed.len()),
            )?;
            Ok(changed)
        })
    }

    /// Keys of the instances that have data on `barcode` (prefix scan of the index).
    pub(crate) fn instance_keys_on_tape(
        &self,
        barcode: &str,
    ) -> Result<Vec<Vec<u8>>, CatalogError> {
        let prefix = keys::tape_prefix(barcode);
        let mut out = Vec::new();
        for entry in self.trees().instances_by_tape.scan_prefix(&prefix) {
            let (k, _) = entry?;
            let ik = keys::split_tape_instance(&k).ok_or_else(|| {
                CatalogError::InvalidRecord(format!(
                    "malformed instances_by_tape key {}",
                    super::error::key_text(&k)
                ))
            })?;
            out.push(ik.to_vec());
        }
        Ok(out)
    }

    /// Creates a tape group; refuses an existing name.
    pub fn create_group(&self, group: &TapeGroup, actor: &str) -> Result<(), CatalogError> {
        validate_component("group name", &group.name)?;
        let now = OffsetDateTime::now_utc();
        self.transact(|tx| {
            if tx.groups.get(group.name.as_bytes())?.is_some() {
                return fail(CatalogError::GroupExists {
                    name: group.name.clone(),
                });
            }
            tx.put(tx.groups, tree::GROUPS, group.name.as_bytes(), group)?;
            tx.audit(now, actor, "group.create", &group.name, &group.description)?;
            Ok(())
        })
    }

    pub fn get_group(&self, name: &str) -> Result<Option<TapeGroup>, CatalogError> {
        self.trees()
            .groups
            .get(name.as_bytes())?
            .map(|v| paging::decode(tree::GROUPS, name.as_bytes(), &v))
            .transpose()
    }

    pub fn list_groups(&self) -> Result<Vec<TapeGroup>, CatalogError> {
        self.trees()
            .groups
            .iter()
            .map(|r| {
                let (k, v) = r?;
                paging::decode(tree::GROUPS, &k, &v)
            })
            .collect()
    }

    /// Deletes a group that no tape belongs to.
    pub fn delete_group(&self, name: &str, actor: &str) -> Result<(), CatalogError> {
        let _guard = self.lock();
        let mut members = Vec::new();
        for entry in self.trees().tapes.iter() {
            let (k, v) = entry?;
            let t: TapeRecord = paging::decode(tree::TAPES, &k, &v)?;
            if t.group.as_deref() == Some(name) {
                members.push(t.barcode);
            }
        }
        if !members.is_empty() {
            return Err(CatalogError::GroupInUse {
                name: name.to_string(),
                tapes: members.len(),
            });
        }
        let now = OffsetDateTime::now_utc();
        self.transact(|tx| {
            if tx.groups.remove(name.as_bytes())?.is_none() {
                return fail(CatalogError::GroupNotFound {
                    name: name.to_string(),
                });
            }
            // No tape can join the group between the scan and here: group changes go
            // through `assign_tape_group`, which holds the same lock.
            tx.audit(now, actor, "group.delete", name, "")?;
            Ok(())
        })
    }

    /// Puts a tape in a group (or takes it out with `None`); the group must exist.
    pub fn assign_tape_group(
        &self,
        barcode: &str,
        group: Option<&str>,
        actor: &str,
    ) -> Result<TapeRecord, CatalogError> {
        validate_barcode(barcode)?;
        let _guard = self.lock();
        let now = OffsetDateTime::now_utc();
        self.transact(|tx| {
            if let Some(g) = group {
                if tx.groups.get(g.as_bytes())?.is_none() {
                    return fail(CatalogError::GroupNotFound {
                        name: g.to_string(),
                    });
                }
            }
            let mut t = tx.tape(barcode)?;
            t.group = group.map(str::to_string);
            if group.is_some() {
                t.scratch = false;
            }
            tx.put_tape(&t)?;
            tx.audit(now, actor, "tape.group", barcode, group.unwrap_or(""))?;
            Ok(t)
        })
    }
}
