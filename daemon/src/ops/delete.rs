//! delete: an object with all its instances, or one instance. Only the catalog changes now;
//! each tape's LTFS index drops the files at its next mount for writing, and repack
//! reclaims the space.

use super::{OpContext, OpOutcome};
use crate::engine::OpResult;
use crate::request::{DeleteParams, RequestResult};

pub(crate) fn run(ctx: &mut OpContext, p: &DeleteParams) -> OpResult<OpOutcome> {
    ctx.progress.phase("removing from the catalog");
    let actor = ctx.actor();
    let result = match p.instance {
        Some(id) => {
            let inst = ctx
                .catalog()
                .delete_instance(&p.collection, &p.name, id, &actor)?;
            RequestResult::Delete {
                instance_ids: vec![inst.id],
                object_deleted: false,
            }
        }
        None => {
            let (_, instances) = ctx
                .catalog()
                .delete_object(&p.collection, &p.name, &actor)?;
            RequestResult::Delete {
                instance_ids: instances.iter().map(|i| i.id).collect(),
                object_deleted: true,
            }
        }
    };
    ctx.nothing_done = false;
    Ok(OpOutcome::completed(result))
}
