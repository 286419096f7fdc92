//! The tapelib daemon (catalog, scheduler, operations, APIs).
