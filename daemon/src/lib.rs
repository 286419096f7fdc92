//! The tapelib daemon: its configuration, the live state of the tape libraries, the
//! catalog of tapes, objects and requests, the request model with DIVA status codes, the
//! scheduler, the request engine, the gRPC API and the output of the operator CLI.

pub mod api;
pub mod auth;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod engine;
pub mod library;
pub mod ops;
pub mod request;
pub mod scheduler;
pub mod servers;
