//! One router per resource. [`crate::app`] merges them.

pub mod admin;
pub mod audit;
pub mod cases;
pub mod events;
pub mod evidence;
pub mod firms;
pub mod governance;
pub mod public;
pub mod reports;
pub mod service;
pub mod views;
