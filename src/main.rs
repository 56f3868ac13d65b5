//! Binary edge: parse the command line and hand over to `cli`.

fn main() -> anyhow::Result<()> {
    mcp_docker_server::cli::main()
}
