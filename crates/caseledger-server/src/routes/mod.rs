//! One router per resource. [`crate::app`] merges them.

pub mod audit;
pub mod events;
pub mod service;
pub mod views;
