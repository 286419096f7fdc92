//! copy: a new instance of an object on another tape group. The source instance is read to
//! a staging folder in the data directory (CRC-checked), then written like an archive; the
//! new instance is committed once it is on tape with an index covering it.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use time::OffsetDateTime;

use super::archive::{self, Source, WriteJob};
use super::restore::{self, Destination};
use super::{choose_instance, OpContext, OpOutcome};
use crate::catalog::NewInstance;
use crate::config::ServerConfig;
use crate::engine::{OpError, OpResult};
use crate::request::{CopyParams, DivaStatusCode, RequestResult};
use crate::servers::{Servers, SourceFile};

/// The staging folder of a request, under the catalog's directory.
fn staging_dir(ctx: &OpContext) -> PathBuf {
    super::data_dir(ctx.shared())
        .join("staging")
        .join(format!("request-{}", ctx.request.id))
}

pub(crate) fn run(ctx: &mut OpContext, p: &CopyParams) -> OpResult<OpOutcome> {
    let inst = choose_instance(ctx.shared(), &p.collection, &p.name, p.source_instance)?;
    let object = ctx
        .catalog()
        .get_object(&p.collection, &p.name)?
        .ok_or_else(|| {
            OpError::diva(
                DivaStatusCode::DivaErrObjectDoesntExist,
                format!("object {}/{} does not exist", p.collection, p.name),
            )
        })?;
    if ctx.catalog().get_group(&p.group)?.is_none() {
        return Err(OpError::diva(
            DivaStatusCode::DivaErrGroupDoesntExist,
            format!("tape group {} does not exist", p.group),
        ));
    }
    let dir = staging_dir(ctx);
    std::fs::create_dir_all(&dir).map_err(|e| {
        OpError::diva(
            DivaStatusCode::DivaErrInternal,
            format!("cannot create staging folder {}: {e}", dir.display()),
        )
    })?;
    let result = copy_via(ctx, p, &inst, &object, &dir);
    if let Err(e) = std::fs::remove_dir_all(&dir) {
        tracing::warn!(dir = %dir.display(), error = %e, "cannot remove staging folder");
    }
    result
}

fn copy_via(
    ctx: &mut OpContext,
    p: &CopyParams,
    inst: &crate::catalog::InstanceRecord,
    object: &crate::catalog::ObjectRecord,
    dir: &std::path::Path,
) -> OpResult<OpOutcome> {
    let mut map = BTreeMap::new();
    map.insert(
        "staging".to_string(),
        ServerConfig {
            root: dir.to_path_buf(),
        },
    );
    let staging = Servers::from_config(&map)?.get("staging")?;
    ctx.progress.phase(format!("reading instance {}", inst.id));
    let dest = Destination {
        server: staging.clone(),
        root: None,
        overwrite: true,
        accept_identical: true,
    };
    restore::read_instance(ctx, object, inst, &dest)?;
    // Tapes that already hold an instance of the object are not written again.
    let mut avoid = HashSet::new();
    for i in ctx.catalog().list_instances(&p.collection, &p.name)? {
        avoid.extend(i.tapes);
    }
    let job = WriteJob {
        collection: p.collection.clone(),
        name: p.name.clone(),
        group: p.group.clone(),
        comments: object.comments.clone(),
        archived: object.archived,
        source: Source {
            server: staging,
            root: None,
        },
        files: object
            .files
            .iter()
            .map(|f| SourceFile {
                path: f.path.clone(),
                size: f.size,
            })
            .collect(),
        avoid,
    };
    let written = archive::write_instance(ctx, &job)?;
    // The bytes read back from staging must be what the catalog holds.
    for w in &written.files {
        if let Some(o) = object.files.iter().find(|o| o.path == w.path) {
            if o.crc32 != w.crc32 || o.size != w.size {
                archive::forget_written(ctx, &written);
                return Err(OpError::Checksum {
                    barcode: w.tape.clone(),
                    path: w.ltfs_path.clone(),
                    expected: o.crc32,
                    computed: w.crc32,
                });
            }
        }
    }
    ctx.progress.phase("committing the new instance");
    let actor = ctx.actor();
    let rec = match ctx.catalog().commit_instance(
        &p.collection,
        &p.name,
        &NewInstance {
            group: p.group.clone(),
            files: archive::instance_files(&written),
            created: OffsetDateTime::now_utc(),
        },
        &actor,
    ) {
        Ok(r) => r,
        Err(e) => {
            archive::forget_written(ctx, &written);
            return Err(e.into());
        }
    };
    ctx.nothing_done = false;
    Ok(OpOutcome::completed(RequestResult::Copy {
        source_instance_id: inst.id,
        instance_id: rec.id,
        barcodes: written.tapes.clone(),
        bytes: written.files.iter().map(|f| f.size).sum(),
    }))
}
