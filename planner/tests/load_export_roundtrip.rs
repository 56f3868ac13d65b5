//! Load → export → load gives the same config hashes, for every example, every accepted corpus file and
//! specs that hold a literal `$` (issue 12: an exported `$$GREETING` must not come back as an empty
//! interpolation and plan an unrequested replace).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap: a panic is a failed assertion

#[path = "corpus/support.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use planner::export::project_to_compose_yaml;
use planner::hash::{network_config_hash, service_config_hash, volume_config_hash};
use planner::load::{load_yaml, LoadOptions};
use planner::plan::ExternalDigests;
use planner::Project;
use support::{corpus_env, corpus_files, expectation, options_for, Expectation, FsHost};

/// Every config hash of a project, by `kind/name`.
fn hashes(project: &Project) -> BTreeMap<String, String> {
    let digests = ExternalDigests::default();
    let services = project.services.keys().map(|name| {
        let hash = service_config_hash(project, name, &digests);
        (format!("service/{name}"), hash)
    });
    let networks = project
        .networks
        .keys()
        .map(|key| (format!("network/{key}"), network_config_hash(project, key)));
    let volumes = project
        .volumes
        .keys()
        .map(|key| (format!("volume/{key}"), volume_config_hash(project, key)));
    services.chain(networks).chain(volumes).collect()
}

/// Loads `text`, exports it, loads the export; the two loads must hash alike and hold the same model.
fn assert_round_trips(what: &str, text: &str, opts: &LoadOptions, host: &FsHost) {
    let original =
        load_yaml(text, opts, host).unwrap_or_else(|e| panic!("{what} does not load: {e}"));
    let exported = project_to_compose_yaml(&original).unwrap();
    let reloaded = load_yaml(&exported, opts, host)
        .unwrap_or_else(|e| panic!("{what}: the export does not load back: {e}\n{exported}"));
    assert_eq!(hashes(&reloaded), hashes(&original), "{what}:\n{exported}");
    assert_eq!(reloaded.services, original.services, "{what}:\n{exported}");
    assert_eq!(reloaded.secrets, original.secrets, "{what}:\n{exported}");
    assert_eq!(reloaded.configs, original.configs, "{what}:\n{exported}");
}

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    files.sort();
    files
}

#[test]
fn every_example_round_trips() {
    let host = FsHost {
        vars: Default::default(),
    };
    let files = examples();
    assert!(!files.is_empty());
    for file in files {
        let mut opts = options_for(&file);
        opts.project_name = None;
        let text = std::fs::read_to_string(&file).unwrap();
        assert_round_trips(&file.display().to_string(), &text, &opts, &host);
    }
}

#[test]
fn every_accepted_corpus_file_round_trips() {
    let host = FsHost { vars: corpus_env() };
    let mut checked = 0;
    for file in corpus_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        if let Ok(Expectation::Accepted { .. }) = expectation(&text) {
            assert_round_trips(
                &file.display().to_string(),
                &text,
                &options_for(&file),
                &host,
            );
            checked += 1;
        }
    }
    assert!(checked >= 25, "only {checked} accepted corpus files");
}

#[test]
fn literal_dollars_round_trip() {
    let dir = tempfile_dir();
    let opts = LoadOptions {
        project_name: Some("dollars".into()),
        project_dir: dir.clone(),
        profiles: Vec::new(),
        policy: Default::default(),
    };
    let host = FsHost {
        vars: [("GREETING".to_string(), "hello".to_string())].into(),
    };
    let text = r#"
services:
  app:
    image: busybox
    command: sh -c 'echo "$$GREETING"'
    environment:
      PRICE: "$$5"
      EXPANDED: ${GREETING}
    labels:
      note: "costs $$5 and says ${GREETING}"
    healthcheck:
      test: ["CMD-SHELL", "test \"$$HOME\" = /root"]
"#;
    assert_round_trips("the dollar spec", text, &opts, &host);
    let original = load_yaml(text, &opts, &host).unwrap();
    let command = original.services["app"].command.clone().unwrap();
    assert_eq!(command, ["sh", "-c", "echo \"$GREETING\""]);
}

/// The project directory of the inline specs: the crate's own, which exists and holds no `.env`.
fn tempfile_dir() -> PathBuf {
    std::fs::canonicalize(env!("CARGO_MANIFEST_DIR")).unwrap()
}
