//! The build-context bound: a context larger than the operator's bound is refused before it is read, with
//! an error naming the bound and the flag; one within it is written to disk and streamed (its own test
//! binary, because the bound is process-wide).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::Read;

use docker_layer::build_context::{context_tar, set_max_context_bytes};
use planner::model::BuildSpec;

#[test]
fn a_context_above_the_bound_is_refused_and_one_below_is_a_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    std::fs::write(dir.path().join("big.bin"), vec![7u8; 3 * 1024 * 1024]).unwrap();
    let build = BuildSpec {
        context: dir.path().to_string_lossy().into_owned(),
        dockerfile: "Dockerfile".into(),
        target: None,
        args: BTreeMap::new(),
        labels: BTreeMap::new(),
        no_cache: false,
        pull: false,
    };
    set_max_context_bytes(2 * 1024 * 1024);
    let err = context_tar(&build).unwrap_err().to_string();
    assert!(
        err.contains("2 MiB") && err.contains("--max-build-context-mb"),
        "{err}"
    );

    set_max_context_bytes(4 * 1024 * 1024);
    let mut tar = context_tar(&build).unwrap();
    let mut bytes = Vec::new();
    tar.read_to_end(&mut bytes).unwrap();
    assert!(bytes.len() > 3 * 1024 * 1024);
}
