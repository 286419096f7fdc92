//! Virtual tape library answering SCSI commands.
