//! Objects and their instances.

use std::collections::HashMap;

use time::OffsetDateTime;

use super::records::validate_component;
use super::{
    fail, keys, paging, tree, Catalog, CatalogError, Cursor, InstanceRecord, NewInstance,
    ObjectRecord, Page, Tx, TxResult,
};

/// Which objects `list_objects` returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectFilter {
    /// Only this collection.
    pub collection: Option<String>,
    /// Only objects archived at or after this time; the list is then in archive-time order
    /// (the DIVA "since date" synchronisation), otherwise in collection/name order.
    pub since: Option<OffsetDateTime>,
}

/// What an export removed: the instances that were on the tape, and the (collection, name)
/// of the objects left without an instance.
pub type ExportedFromCatalog = (Vec<InstanceRecord>, Vec<(String, String)>);

impl Tx<'_> {
    /// Checks `new` against the object and the tapes, writes the instance and its index
    /// entries, and adds the bytes written to each tape's usage.
    fn write_instance(
        &self,
        object: &ObjectRecord,
        new: &NewInstance,
        object_key: &[u8],
    ) -> TxResult<InstanceRecord> {
        if self.groups.get(new.group.as_bytes())?.is_none() {
            return fail(CatalogError::GroupNotFound {
                name: new.group.clone(),
            });
        }
        // Every object file appears exactly once in the instance.
        let sizes: HashMap<&str, u64> = object
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.size))
            .collect();
        let mut per_tape: HashMap<&str, u64> = HashMap::new();
        let mut seen = std::collections::HashSet::new();
        for f in &new.files {
            let Some(size) = sizes.get(f.path.as_str()) else {
                return fail(CatalogError::InvalidRecord(format!(
                    "instance file {} is not a file of object {}/{}",
                    f.path, object.collection, object.name
                )));
            };
            if !seen.insert(f.path.as_str()) {
                return fail(CatalogError::InvalidRecord(format!(
                    "instance lists file {} twice",
                    f.path
                )));
            }
            let e = per_tape.entry(f.tape.as_str()).or_insert(0);
            *e = e.saturating_add(*size);
        }
        if seen.len() != sizes.len() {
            return fail(CatalogError::InvalidRecord(format!(
                "instance covers {} of {} files of object {}/{}",
                seen.len(),
                sizes.len(),
                object.collection,
                object.name
            )));
        }
        let tapes = new.tapes();
        let mut online = true;
        for barcode in &tapes {
            let mut t = self.tape(barcode)?;
            if t.group.as_deref() != Some(new.group.as_str()) {
                return fail(CatalogError::TapeGroupMismatch {
                    barcode: barcode.clone(),
                    tape_group: t.group.clone(),
                    group: new.group.clone(),
                });
            }
            if !t.state.accepts_commit() {
                return fail(CatalogError::TapeNotWritable {
                    barcode: barcode.clone(),
                    state: t.state,
                });
            }
            online &= t.online;
            let bytes = per_tape.get(barcode.as_str()).copied().unwrap_or(0);
            t.used_bytes = t.used_bytes.saturating_add(bytes);
            self.put_tape(&t)?;
        }
        let id = self.next_counter("instance_id")?;
        let rec = InstanceRecord {
            id,
            collection: object.collection.clone(),
            name: object.name.clone(),
            group: new.group.clone(),
            tapes: tapes.clone(),
            files: new.files.clone(),
            online,
            created: new.created,
            damaged: Vec::new(),
        };
        let ik = keys::instance(object_key, id);
        self.put(self.instances, tree::INSTANCES, &ik, &rec)?;
        for barcode in &tapes {
            self.instances_by_tape
                .insert(keys::tape_instance(barcode, &ik), Vec::new())?;
        }
        Ok(rec)
    }

    fn remove_instance(&self, ik: &[u8], inst: &InstanceRecord) -> TxResult<()> {
        self.instances.remove(ik)?;
        for barcode in &inst.tapes {
            self.instances_by_tape
                .remove(keys::tape_instance(barcode, ik))?;
            // The files stay in the tape's LTFS index until its next write mount.
            if let Some(mut t) =
                self.get::<super::TapeRecord>(self.tapes, tree::TAPES, barcode.as_bytes())?
            {
                for f in inst.files.iter().filter(|f| &f.tape == barcode) {
                    if !t.pending_removals.contains(&f.ltfs_path) {
                        t.pending_removals.push(f.ltfs_path.clone());
                    }
                }
                self.put_tape(&t)?;
            }
        }
        Ok(())
    }
}

impl Catalog {
    /// Commits an archived object: the object, its first instance, the tapes' usage and an
    /// audit entry, all in one transaction. Refuses an existing object.
    pub fn commit_archive(
        &self,
        object: &ObjectRecord,
        instance: &NewInstance,
        actor: &str,
    ) -> Result<InstanceRecord, CatalogError> {
        object.validate()?;
        let ok = keys::object(&object.collection, &object.name);
        let _guard = self.lock();
        let now = OffsetDateTime::now_utc();
        let rec = self.transact(|tx| {
            if tx.objects.get(&ok)?.is_some() {
                return fail(CatalogError::ObjectExists {
                    collection: object.collection.clone(),
                    name: object.name.clone(),
                });
            }
            tx.put(tx.objects, tree::OBJECTS, &ok, object)?;
            tx.objects_by_time
                .insert(keys::object_time(object.archived, &ok), Vec::new())?;
            let rec = tx.write_instance(object, instance, &ok)?;
            tx.audit(
                now,
                actor,
                "object.archive",
                &format!("{}/{}", object.collection, object.name),
                &format!(
                    "instance {} on {} ({} bytes, {} files)",
                    rec.id,
                    rec.tapes.join(","),
                    object.total_size,
                    object.files.len()
                ),
            )?;
            Ok(rec)
        })?;
        tracing::info!(collection = %object.collection, name = %object.name, instance = rec.id, "object committed");
        Ok(rec)
    }

    /// Commits another instance (a copy) of an existing object.
    pub fn commit_instance(
        &self,
        collection: &str,
        name: &str,
        instance: &NewInstance,
        actor: &str,
    ) -> Result<InstanceRecord, CatalogError> {
        let ok = keys::object(collection, name);
        let _guard = self.lock();
        let now = OffsetDateTime::now_utc();
        self.transact(|tx| {
            let Some(object) = tx.get::<ObjectRecord>(tx.objects, tree::OBJECTS, &ok)? else {
                return fail(CatalogError::ObjectNotFound {
                    collection: collection.to_string(),
                    name: name.to_string(),
                });
            };
            let rec = tx.write_instance(&object, instance, &ok)?;
            tx.audit(
                now,
                actor,
                "instance.add",
                &format!("{collection}/{name}"),
                &format!("instance {} on {}", rec.id, rec.tapes.join(",")),
            )?;
            Ok(rec)
        })
    }

    pub fn get_object(
        &self,
        collection: &str,
        name: &str,
    ) -> Result<Option<ObjectRecord>, CatalogError> {
        let k = keys::object(collection, name);
        self.trees()
            .objects
            .get(&k)?
            .map(|v| paging::decode(tree::OBJECTS, &k, &v))
            .transpose()
    }

    /// Instances of one object in id order.
    pub fn list_instances(
        &self,
        collection: &str,
        name: &str,
    ) -> Result<Vec<InstanceRecord>, CatalogError> {
        let prefix = keys::instance_prefix(&keys::object(collection, name));
        self.trees()
            .instances
            .scan_prefix(&prefix)
            .map(|r| {
                let (k, v) = r?;
                paging::decode(tree::INSTANCES, &k, &v)
            })
            .collect()
    }

    pub fn get_instance(
        &self,
        collection: &str,
        name: &str,
        id: u64,
    ) -> Result<Option<InstanceRecord>, CatalogError> {
        let k = keys::instance(&keys::object(collection, name), id);
        self.trees()
            .instances
            .get(&k)?
            .map(|v| paging::decode(tree::INSTANCES, &k, &v))
            .transpose()
    }

    /// Instances with data on a tape (prefix scan of the by-tape index).
    pub fn instances_on_tape(&self, barcode: &str) -> Result<Vec<InstanceRecord>, CatalogError> {
        let mut out = Vec::new();
        for ik in self.instance_keys_on_tape(barcode)? {
            match self.trees().instances.get(&ik)? {
                Some(v) => out.push(paging::decode(tree::INSTANCES, &ik, &v)?),
                None => {
                    return Err(CatalogError::InvalidRecord(format!(
                        "index of tape {barcode} names missing instance {}",
                        super::error::key_text(&ik)
                    )))
                }
            }
        }
        Ok(out)
    }

    /// Objects matching `filter`, paged.
    pub fn list_objects(
        &self,
        filter: &ObjectFilter,
        cursor: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<ObjectRecord>, CatalogError> {
        if let Some(c) = &filter.collection {
            validate_component("collection", c)?;
        }
        match filter.since {
            None => {
                let prefix = filter
                    .collection
                    .as_deref()
                    .map(keys::collection_prefix)
                    .unwrap_or_default();
                paging::scan(&self.trees().objects, &prefix, cursor, limit, |k, v| {
                    paging::decode(tree::OBJECTS, k, v).map(Some)
                })
            }
            Some(since) => {
                let start = keys::time_nanos(since).to_be_bytes();
                // The cursor is a time-index key; start after it, or at `since`.
                let effective = match cursor {
                    Some(c) if c.0.as_slice() >= start.as_slice() => Some(c.clone()),
                    Some(_) => return Err(CatalogError::InvalidCursor),
                    None => None,
                };
                let objects = &self.trees().objects;
                let collection = filter.collection.as_deref();
                let page = paging::scan_from(
                    &self.trees().objects_by_time,
                    &start,
                    effective.as_ref(),
                    limit,
                    |k, _| {
                        let ok = k.get(8..).ok_or_else(|| {
                            CatalogError::InvalidRecord("short objects_by_time key".into())
                        })?;
                        if let Some(c) = collection {
                            if !ok.starts_with(&keys::collection_prefix(c)) {
                                return Ok(None);
                            }
                        }
                        match objects.get(ok)? {
                            Some(v) => paging::decode(tree::OBJECTS, ok, &v).map(Some),
                            None => Err(CatalogError::InvalidRecord(format!(
                                "time index names missing object {}",
                                super::error::key_text(ok)
                            ))),
                        }
                    },
                )?;
                Ok(page)
            }
        }
    }

    /// Removes an object and all its instances (with their index entries). Space on tape is
    /// not returned: it is reclaimed by repack.
    pub fn delete_object(
        &self,
        collection: &str,
        name: &str,
        actor: &str,
    ) -> Result<(ObjectRecord, Vec<InstanceRecord>), CatalogError> {
        let ok = keys::object(collection, name);
        let _guard = self.lock();
        let instances = self.list_instances(collection, name)?;
        let now = OffsetDateTime::now_utc();
        self.transact(|tx| {
            let Some(object) = tx.get::<ObjectRecord>(tx.objects, tree::OBJECTS, &ok)? else {
                return fail(CatalogError::ObjectNotFound {
                    collection: collection.to_string(),
                    name: name.to_string(),
                });
            };
            tx.objects.remove(ok.as_slice())?;
            tx.objects_by_time
                .remove(keys::object_time(object.archived, &ok))?;
            for inst in &instances {
                tx.remove_instance(&keys::instance(&ok, inst.id), inst)?;
            }
            tx.audit(
                now,
                actor,
                "object.delete",
                &format!("{collection}/{name}"),
                &format!("{} instance(s) removed", instances.len()),
            )?;
            Ok((object, instances.clone()))
        })
    }

    /// Removes one instance; the last instance of an object cannot be removed this way
    /// (delete the object instead).
    pub fn delete_instance(
        &self,
        collection: &str,
        name: &str,
        id: u64,
        actor: &str,
    ) -> Result<InstanceRecord, CatalogError> {
        let ok = keys::object(collection, name);
        let _guard = self.lock();
        let count = self.list_instances(collection, name)?.len();
        let now = OffsetDateTime::now_utc();
        self.transact(|tx| {
            if tx.objects.get(&ok)?.is_none() {
                return fail(CatalogError::ObjectNotFound {
                    collection: collection.to_string(),
                    name: name.to_string(),
                });
            }
            let ik = keys::instance(&ok, id);
            let Some(inst) = tx.get::<InstanceRecord>(tx.instances, tree::INSTANCES, &ik)? else {
                return fail(CatalogError::InstanceNotFound {
                    collection: collection.to_string(),
                    name: name.to_string(),
                    instance: id,
                });
            };
            if count <= 1 {
                return fail(CatalogError::LastInstance {
                    collection: collection.to_string(),
                    name: name.to_string(),
                    instance: id,
                });
            }
            tx.remove_instance(&ik, &inst)?;
            tx.audit(
                now,
                actor,
                "instance.delete",
                &format!("{collection}/{name}"),
                &format!("instance {id} on {}", inst.tapes.join(",")),
            )?;
            Ok(inst)
        })
    }

    /// Switches an object from instance `old` to a new instance in one transaction: the new
    /// copy is committed and the old one removed together, so the object never has fewer
    /// readable instances than before (repack).
    pub fn replace_instance(
        &self,
        collection: &str,
        name: &str,
        old: u64,
        new: &NewInstance,
        actor: &str,
    ) -> Result<InstanceRecord, CatalogError> {
        let ok = keys::object(collection, name);
        let _guard = self.lock();
        let now = OffsetDateTime::now_utc();
        self.transact(|tx| {
            let Some(object) = tx.get::<ObjectRecord>(tx.objects, tree::OBJECTS, &ok)? else {
                return fail(CatalogError::ObjectNotFound {
                    collection: collection.to_string(),
                    name: name.to_string(),
                });
            };
            let old_key = keys::instance(&ok, old);
            let Some(old_inst) =
                tx.get::<InstanceRecord>(tx.instances, tree::INSTANCES, &old_key)?
            else {
                return fail(CatalogError::InstanceNotFound {
                    collection: collection.to_string(),
                    name: name.to_string(),
                    instance: old,
                });
            };
            let rec = tx.write_instance(&object, new, &ok)?;
            tx.remove_instance(&old_key, &old_inst)?;
            tx.audit(
                now,
                actor,
                "instance.move",
                &format!("{collection}/{name}"),
                &format!(
                    "instance {old} on {} replaced by instance {} on {}",
                    old_inst.tapes.join(","),
                    rec.id,
                    rec.tapes.join(",")
                ),
            )?;
            Ok(rec)
        })
    }

    /// Records the files of an instance that a verify found damaged (an empty list clears
    /// the mark).
    pub fn mark_instance_damaged(
        &self,
        collection: &str,
        name: &str,
        id: u64,
        damaged: &[String],
        actor: &str,
    ) -> Result<InstanceRecord, CatalogError> {
        let ik = keys::instance(&keys::object(collection, name), id);
        let now = OffsetDateTime::now_utc();
        self.transact(|tx| {
            let Some(mut inst) = tx.get::<InstanceRecord>(tx.instances, tree::INSTANCES, &ik)?
            else {
                return fail(CatalogError::InstanceNotFound {
                    collection: collection.to_string(),
                    name: name.to_string(),
                    instance: id,
                });
            };
            if inst.damaged == damaged {
                return Ok(inst);
            }
            inst.damaged = damaged.to_vec();
            tx.put(tx.instances, tree::INSTANCES, &ik, &inst)?;
            let what = if damaged.is_empty() {
                "verified intact".to_string()
            } else {
                format!("damaged: {}", damaged.join(", "))
            };
            tx.audit(
                now,
                actor,
                "instance.verify",
                &format!("{collection}/{name}"),
                &format!("instance {id}: {what}"),
            )?;
            Ok(inst)
        })
    }

    /// Takes a tape out of the catalog's care (export): every instance with data on it is
    /// removed, objects left without an instance are removed, and the tape becomes EXPORTED
    /// and offline, in one transaction. Returns the removed instances and the (collection,
    /// name) of the removed objects.
    pub fn export_tape(
        &self,
        barcode: &str,
        reason: &str,
        actor: &str,
    ) -> Result<ExportedFromCatalog, CatalogError> {
        let _guard = self.lock();
        let instance_keys = self.instance_keys_on_tape(barcode)?;
        // Objects that keep an instance elsewhere (the lock keeps this true until commit;
        // sled transactions cannot scan).
        let mut keeps_instance: HashMap<(String, String), bool> = HashMap::new();
        for ik in &instance_keys {
            let Some(v) = self.trees().instances.get(ik)? else {
                continue;
            };
            let inst: InstanceRecord = paging::decode(tree::INSTANCES, ik, &v)?;
            let key = (inst.collection.clone(), inst.name.clone());
            if keeps_instance.contains_key(&key) {
                continue;
            }
            let elsewhere = self
                .list_instances(&inst.collection, &inst.name)?
                .iter()
                .any(|i| !i.tapes.iter().any(|t| t == barcode));
            keeps_instance.insert(key, elsewhere);
        }
        let now = OffsetDateTime::now_utc();
        self.transact(|tx| {
            let mut removed = Vec::new();
            let mut gone = Vec::new();
            for ik in &instance_keys {
                let Some(inst) = tx.get::<InstanceRecord>(tx.instances, tree::INSTANCES, ik)?
                else {
                    continue;
                };
                tx.remove_instance(ik, &inst)?;
                removed.push(inst);
            }
            for ((collection, name), elsewhere) in &keeps_instance {
                if *elsewhere {
                    continue;
                }
                let ok = keys::object(collection, name);
                if let Some(object) = tx.get::<ObjectRecord>(tx.objects, tree::OBJECTS, &ok)? {
                    tx.objects.remove(ok.as_slice())?;
                    tx.objects_by_time
                        .remove(keys::object_time(object.archived, &ok))?;
                    gone.push((collection.clone(), name.clone()));
                }
            }
            let mut t = tx.tape(barcode)?;
            let from = t.state;
            if from != super::TapeState::Exported
                && !from.can_transition_to(super::TapeState::Exported)
            {
                return fail(CatalogError::InvalidTransition {
                    barcode: barcode.to_string(),
                    from,
                    to: super::TapeState::Exported,
                });
            }
            t.state = super::TapeState::Exported;
            t.state_reason = Some(reason.to_string());
            t.online = false;
            // The tape leaves with its index as it is; nothing is pending for it here.
            t.pending_removals.clear();
            tx.put_tape(&t)?;
            tx.audit(
                now,
                actor,
                "tape.export",
                barcode,
                &format!(
                    "{from:?} -> Exported: {reason}; {} instance(s) and {} object(s) removed",
                    removed.len(),
                    gone.len()
                ),
            )?;
            Ok((removed, gone))
        })
    }
}
