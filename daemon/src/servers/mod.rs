//! Source and destination servers: named local directory roots that archives read from and
//! restores write to. No path given in a request may lead outside its server's root.

mod error;

pub use error::ServerError;
