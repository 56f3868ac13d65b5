//! The tool list as an LLM pays for it: its byte budget, its descriptions, the operator's toolsets, and the
//! README's tool table that documents it.
//!
//! Every chat sends the whole `tools/list` answer to the model before the user types, so its size is a cost
//! (issue 15). These tests read the list through rmcp's client from the real binary, measure the compact JSON,
//! and print the size of each tool so the one that grew is easy to find.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap: a failure is the test failing

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use clap::ValueEnum;
use common::mcp::McpSession;
use mcp_docker_server::mcp::toolsets::toolset_of;
use rmcp::model::{ListToolsResult, Tool};
use serde_json::{json, Value};

/// The whole `tools/list` answer, every tool served, in compact JSON.
const LIST_BUDGET_BYTES: usize = 24_000;
/// One tool's entry in that answer.
const TOOL_BUDGET_BYTES: usize = 1_000;

fn compact_len<T: serde::Serialize>(value: &T) -> usize {
    serde_json::to_vec(value).unwrap().len()
}

async fn listed(env: &[(&str, &str)]) -> Vec<Tool> {
    let session = McpSession::start_with_env(env).await;
    let tools = session.client().list_all_tools().await.unwrap();
    drop(session);
    tools
}

fn names(tools: &[Tool]) -> BTreeSet<String> {
    tools.iter().map(|t| t.name.to_string()).collect()
}

#[tokio::test]
async fn the_tool_list_fits_its_byte_budget() {
    let tools = listed(&[]).await;
    let total = compact_len(&ListToolsResult::with_all_items(tools.clone()));
    let mut sizes: Vec<(usize, String)> = tools
        .iter()
        .map(|t| (compact_len(t), t.name.to_string()))
        .collect();
    sizes.sort_by(|a, b| b.cmp(a));
    let table: String = sizes
        .iter()
        .map(|(bytes, name)| format!("\n{bytes:>6} {name}"))
        .collect();
    eprintln!("tools/list: {total} bytes for {} tools{table}", tools.len());
    assert!(
        total <= LIST_BUDGET_BYTES,
        "tools/list is {total} bytes, over the {LIST_BUDGET_BYTES}-byte budget{table}"
    );
    let over: Vec<_> = sizes
        .iter()
        .filter(|(bytes, _)| *bytes > TOOL_BUDGET_BYTES)
        .collect();
    assert!(
        over.is_empty(),
        "tools over {TOOL_BUDGET_BYTES} bytes: {over:?}"
    );
}

#[tokio::test]
async fn every_tool_keeps_its_annotations_description_and_output_schema() {
    for tool in listed(&[]).await {
        let name = &tool.name;
        assert!(
            tool.description.as_deref().is_some_and(|d| d.len() >= 10),
            "{name} needs a description"
        );
        let annotations = tool.annotations.as_ref().expect("annotations");
        assert!(annotations.title.is_some(), "{name}: title");
        assert!(annotations.read_only_hint.is_some(), "{name}: readOnlyHint");
        assert!(
            annotations.destructive_hint.is_some(),
            "{name}: destructiveHint"
        );
        assert!(
            annotations.idempotent_hint.is_some(),
            "{name}: idempotentHint"
        );
        assert!(
            annotations.open_world_hint.is_some(),
            "{name}: openWorldHint"
        );
        let output = tool.output_schema.as_ref().expect("output schema");
        assert!(
            output
                .get("properties")
                .and_then(Value::as_object)
                .is_some_and(|p| !p.is_empty()),
            "{name}: the output schema names no fields"
        );
        let input = Value::Object((*tool.input_schema).clone());
        for (parameter, schema) in input["properties"].as_object().into_iter().flatten() {
            assert!(
                schema["description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty()),
                "{name}.{parameter} has no description"
            );
        }
        assert!(
            !input.to_string().contains("$schema"),
            "{name}: $schema left in"
        );
    }
}

#[tokio::test]
async fn toolsets_serve_a_subset_and_every_tool_is_in_one() {
    let all = names(&listed(&[]).await);
    let mut covered = BTreeSet::new();
    for set in ["plan", "containers", "images", "networks", "system"] {
        let served = names(&listed(&[("MCP_DOCKER_TOOLSETS", set)]).await);
        assert!(!served.is_empty(), "toolset {set} serves nothing");
        assert!(
            covered.is_disjoint(&served),
            "toolset {set} overlaps another"
        );
        covered.extend(served);
    }
    assert_eq!(covered, all);

    let served = names(&listed(&[("MCP_DOCKER_TOOLSETS", "plan,containers")]).await);
    assert!(
        served.contains("plan") && served.contains("apply") && served.contains("run_container")
    );
    assert!(!served.contains("build_image") && !served.contains("list_networks"));
}

#[tokio::test]
async fn toolsets_and_read_only_combine() {
    let session = McpSession::start_with_env(&[
        ("MCP_DOCKER_TOOLSETS", "plan,containers"),
        ("MCP_DOCKER_READ_ONLY", "true"),
    ])
    .await;
    let served = names(&session.client().list_all_tools().await.unwrap());
    assert!(
        served.contains("plan") && served.contains("list_containers"),
        "{served:?}"
    );
    for withheld in ["apply", "run_container", "list_images", "build_image"] {
        assert!(!served.contains(withheld), "{withheld} served: {served:?}");
    }
    let message = session
        .tool_error("apply", json!({"project": "p", "plan_id": "x"}))
        .await;
    assert!(message.contains("read-only"), "{message}");
    let message = session.tool_error("list_images", json!({})).await;
    assert!(message.contains("unknown tool"), "{message}");
    drop(session);
}

/// One row of the README's tool table: toolset, read-only, description.
type ToolRow = (String, bool, String);

/// The README's tool table by tool name (rows `| `name` | toolset | yes/no | description |`).
fn readme_tool_table() -> BTreeMap<String, ToolRow> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    readme
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line
                .trim()
                .trim_matches('|')
                .split('|')
                .map(str::trim)
                .collect();
            let [name, toolset, read_only, description] = cells.as_slice() else {
                return None;
            };
            let name = name.strip_prefix('`')?.strip_suffix('`')?;
            let read_only = match *read_only {
                "yes" => true,
                "no" => false,
                _ => return None,
            };
            Some((
                name.to_string(),
                (toolset.to_string(), read_only, description.to_string()),
            ))
        })
        .collect()
}

#[tokio::test]
async fn the_readme_tool_table_is_the_served_tool_list() {
    let served: BTreeMap<String, ToolRow> = listed(&[])
        .await
        .into_iter()
        .map(|tool| {
            let toolset = toolset_of(&tool.name)
                .to_possible_value()
                .map(|v| v.get_name().to_string())
                .unwrap_or_default();
            let read_only = tool
                .annotations
                .as_ref()
                .and_then(|a| a.read_only_hint)
                .unwrap_or(false);
            // A table cell is one line: the description's line breaks read as spaces.
            let description = tool
                .description
                .as_deref()
                .unwrap_or("")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            (tool.name.to_string(), (toolset, read_only, description))
        })
        .collect();
    let readme = readme_tool_table();
    let differing: Vec<String> = served
        .keys()
        .chain(readme.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|name| served.get(*name) != readme.get(*name))
        .map(|name| {
            format!(
                "\n{name}: served {:?}, README {:?}",
                served.get(name),
                readme.get(name)
            )
        })
        .collect();
    assert!(
        differing.is_empty(),
        "README.md's tool table differs from tools/list (fix the rows named):{}",
        differing.concat()
    );
}
