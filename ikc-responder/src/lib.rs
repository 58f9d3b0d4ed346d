//! The IKC responder session: publish, post, call, subscribe, monitor;
//! channel and proxy sessions.

#![warn(missing_docs)]
#![forbid(unsafe_code)]
#![allow(dead_code)] // the session adapter that uses these tables is not written yet

mod monitor;
mod published;
mod remote;
mod subscription;

pub use crate::monitor::{MonitorOp, MonitorStates};
