//! Build script: hands `hot-code.order` to the linker for the server binary, so the functions a session runs
//! first sit next to each other and a running server keeps fewer pages of its binary resident.
//!
//! Only on x86_64 Linux, where rustc links with its bundled lld (which reads the file), and not when the
//! build's flags turn that linker off (GNU ld has no such option); names the file no longer matches are
//! skipped without a warning. `scripts/hot-code-order.sh` regenerates the file.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=hot-code.order");
    println!("cargo:rerun-if-changed=build.rs");
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    if flags.contains("link-self-contained=-linker") || flags.contains("linker-flavor") {
        return;
    }
    let target = std::env::var("TARGET").unwrap_or_default();
    let Ok(dir) = std::env::var("CARGO_MANIFEST_DIR") else {
        return;
    };
    let order = Path::new(&dir).join("hot-code.order");
    if target == "x86_64-unknown-linux-gnu" && order.is_file() {
        let bin = "cargo:rustc-link-arg-bin=mcp-docker-server";
        println!("{bin}=-Wl,--symbol-ordering-file={}", order.display());
        println!("{bin}=-Wl,--no-warn-symbol-ordering");
    }
}
