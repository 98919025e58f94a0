//! The `helpline` binary's commands that are more than a call: backups.

pub mod backup;
