//! One router per resource. [`crate::app`] merges them.

pub mod service;
