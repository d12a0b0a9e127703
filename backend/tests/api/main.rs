//! Integration tests of the REST API against real SQLite and PostgreSQL databases.

mod helpers;

mod accounts;
mod approval;
mod artifacts;
mod artifacts_across_runs;
mod authz_matrix;
mod authz_mlflow;
mod bounds;
mod cli_transfer;
mod cluster;
mod compare;
mod components;
mod context;
mod experiments;
mod ingest;
mod lineage;
mod openapi;
mod overview;
mod pipeline_conditions;
mod pipelines;
mod projects;
mod registry;
mod reindex;
mod review;
mod run_init;
mod runs;
mod s3;
mod security;
mod tokens;
mod tracking;
mod uploads;
