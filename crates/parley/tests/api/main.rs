//! HTTP tests against a real server on a bound port, each on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod assets;
mod bad_input;
mod comments;
mod common;
mod events;
mod moderation;
mod openapi;
mod pages;
mod stories;
