//! HTTP tests against a real server on a bound port, each on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod account_data;
mod account_mail;
mod accounts;
mod assets;
mod bad_input;
mod comments;
mod common;
mod events;
mod feeds;
mod mail;
mod moderation;
mod moderation_pages;
mod openapi;
mod operations;
mod pages;
mod policy;
mod publish;
mod smtp;
mod sso;
mod stories;
mod webhooks;
