//! The tapelib daemon: the catalog of tapes, objects and requests, the request model
//! with DIVA status codes, and the scheduler's ordering logic.

pub mod catalog;
pub mod request;
pub mod scheduler;
