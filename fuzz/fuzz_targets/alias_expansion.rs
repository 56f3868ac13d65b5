//! Fuzz target: YAML anchors and aliases shaped by the input, through `planner::load::load_yaml`.
//!
//! Each input byte pair chooses a level's fan-out and whether it references the previous anchor or a
//! scalar, so the fuzzer explores alias fan-outs ("billion laughs") of every shape. Loading must answer
//! within the node budget: a document whose expansion exceeds it is refused, never built, so memory and time
//! stay bounded; a panic, an abort, a timeout or an out-of-memory is a bug.
//! Run with `cargo +nightly fuzz run alias_expansion` from the repository root.

#![no_main]

use std::path::{Path, PathBuf};

use libfuzzer_sys::fuzz_target;
use planner::load::{load_yaml, Host, LoadOptions};

/// A host with nothing in it: this target is about parsing, not files.
struct EmptyHost;

impl Host for EmptyHost {
    fn var(&self, _: &str) -> Option<String> {
        None
    }
    fn read_file(&self, path: &Path) -> Result<String, String> {
        Err(format!("{}: no such file", path.display()))
    }
    fn canonicalize(&self, path: &Path) -> Result<PathBuf, String> {
        Ok(path.to_path_buf())
    }
}

const BUDGET: usize = 10_000;

/// The document and its node count once expanded (saturating).
fn document(data: &[u8]) -> (String, u128) {
    let mut yaml = String::from("x-l0: &l0 leaf\n");
    let mut size: u128 = 1;
    for (level, pair) in data.chunks(2).take(12).enumerate() {
        let fan_out = usize::from(pair[0] % 64) + 1;
        let item = if pair.get(1).is_some_and(|b| b % 4 == 0) {
            "v".to_string()
        } else {
            format!("*l{level}")
        };
        let items = vec![item.as_str(); fan_out].join(", ");
        yaml.push_str(&format!("x-l{}: &l{} [{items}]\n", level + 1, level + 1));
        let each = if item == "v" { 1 } else { size };
        size = 1 + each.saturating_mul(fan_out as u128);
    }
    yaml.push_str("name: fuzz\nservices:\n  web:\n    image: x\n");
    (yaml, size)
}

fuzz_target!(|data: &[u8]| {
    let (yaml, expanded) = document(data);
    let mut opts = LoadOptions {
        project_dir: PathBuf::from("/srv/app"),
        project_name: Some("fuzz".into()),
        ..Default::default()
    };
    opts.policy.limits.max_yaml_nodes = BUDGET;
    let result = load_yaml(&yaml, &opts, &EmptyHost);
    if expanded > BUDGET as u128 {
        assert!(result.is_err(), "an expansion of {expanded} nodes was loaded");
    }
});
