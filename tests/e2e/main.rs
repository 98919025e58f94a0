//! End-to-end tests: the real server on a free port, over HTTP, every scenario on SQLite and
//! on PostgreSQL.

mod analysis;
mod audit_chain;
mod authz;
mod bad_input;
mod cluster;
mod concurrency;
mod confidential;
mod console;
mod crash;
mod evidence;
mod lifecycle;
mod mail;
mod openapi;
mod paging;
mod permissions;
mod schema;
mod second_factor;
mod visibility;
mod workflow;
