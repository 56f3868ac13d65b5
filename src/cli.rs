//! The command line: serve MCP (the default), or plan/apply/status/destroy projects by hand or from scripts.
//!
//! Human output goes to stdout through `say`, the one place allowed to print; progress and logs go to stderr,
//! so `plan ... | grep` and the MCP stdio transport both stay clean. Failures exit non-zero.

mod output;
mod progress;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::config::ServerArgs;
use crate::engine::{Engine, PlanRequest, SpecSource};
use output::say;
use planner::swarm::Target;

#[derive(Debug, Parser)]
#[command(
    name = "mcp-docker-server",
    version,
    about = "MCP server and CLI that manage Docker with Terraform-style plan and apply of compose-shaped specs",
    long_about = "With no command, serves MCP over stdio (or streamable HTTP with --http). \
                  The commands plan, apply, status, destroy, projects, history, rollback and import drive the \
                  same engine by hand."
)]
pub struct Cli {
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    http: crate::mcp::http::HttpArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show what apply would change, and store the plan under an id.
    Plan {
        #[arg(short = 'p', long = "project")]
        project: String,
        /// The compose file; relative paths in it resolve from its directory.
        #[arg(short = 'f', long = "file")]
        file: PathBuf,
        /// Also delete project containers and networks that are no longer in the file.
        #[arg(long)]
        remove_orphans: bool,
        /// Activate services of this profile (repeatable).
        #[arg(long = "profile")]
        profiles: Vec<String>,
        /// Where the project runs: `engine` (containers) or `swarm` (services on --swarm-host).
        #[arg(long, value_enum, default_value = "engine")]
        target: TargetArg,
    },
    /// Apply a stored plan (--plan ID), or plan and apply a file at once (-f FILE --auto-approve).
    Apply {
        #[arg(short = 'p', long = "project")]
        project: String,
        #[arg(long = "plan", conflicts_with = "file")]
        plan: Option<String>,
        #[arg(short = 'f', long = "file")]
        file: Option<PathBuf>,
        /// Apply without asking (required with -f when not on a terminal).
        #[arg(long)]
        auto_approve: bool,
        #[arg(long)]
        remove_orphans: bool,
        #[arg(long = "profile")]
        profiles: Vec<String>,
        #[arg(long, value_enum, default_value = "engine")]
        target: TargetArg,
    },
    /// Live status of a project and its drift from the last apply.
    Status {
        #[arg(short = 'p', long = "project")]
        project: String,
    },
    /// Remove a project's containers and networks (and volumes with --volumes).
    Destroy {
        #[arg(short = 'p', long = "project")]
        project: String,
        /// Also remove the project's volumes: their data is lost.
        #[arg(long)]
        volumes: bool,
        /// Destroy without showing the plan first.
        #[arg(long)]
        auto_approve: bool,
    },
    /// Projects recorded in the state directory or found on the engine.
    Projects,
    /// A project's plans and applies, or with --plan the journal of one apply's steps.
    History {
        #[arg(short = 'p', long = "project")]
        project: String,
        #[arg(long = "plan")]
        plan: Option<String>,
    },
    /// Plan the return to the spec an earlier apply (--to PLAN_ID, from `history`) left; apply it with --plan.
    Rollback {
        #[arg(short = 'p', long = "project")]
        project: String,
        #[arg(long = "to")]
        to: String,
    },
    /// Take over a project `docker compose up` started: record what matches the file as ours, unchanged.
    Import {
        /// The compose project name (`docker compose ls`).
        #[arg(short = 'p', long = "project")]
        project: String,
        #[arg(short = 'f', long = "file")]
        file: PathBuf,
        #[arg(long = "profile")]
        profiles: Vec<String>,
    },
    /// Print the last-applied spec of a project as compose YAML.
    Export {
        #[arg(short = 'p', long = "project")]
        project: String,
    },
    /// Write the JSON Schemas of the compose file and of plans.
    Schema {
        /// Directory to write project.schema.json and plan.schema.json into.
        #[arg(long, default_value = "schemas")]
        out: PathBuf,
    },
}

/// Entry point of the binary.
pub fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_tracing();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    if let Err(e) = runtime.block_on(run(cli)) {
        // The chain, not a backtrace: people read this, and scripts only need the exit code.
        eprintln!("Error: {}", output::error_text(&e));
        std::process::exit(1);
    }
    Ok(())
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // bollard logs request bodies at debug level (a container-create body holds resolved secret values), and
    // rmcp logs whole tool results (exec output, inspect): cap both whatever RUST_LOG asks, so no log line can
    // carry a secret.
    let filter = ["bollard=info", "rmcp=info"]
        .into_iter()
        .filter_map(|cap| cap.parse().ok())
        .fold(filter, |filter, cap| filter.add_directive(cap));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes are noise in a log file or a client's captured stderr.
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    // A person at the CLI reads the environment as compose does; an MCP client sees only what is listed.
    let config = match &cli.command {
        None => cli.server.into_config(),
        Some(command) => cli.server.into_config().for_person(compose_dir(command)),
    };
    let engine = Engine::new(config);
    let Some(command) = cli.command else {
        let engine = Arc::new(engine);
        return match cli.http.into_options()? {
            Some(options) => crate::mcp::server::serve_http(engine, options).await,
            None => crate::mcp::server::serve_stdio(engine).await,
        };
    };
    match command {
        Command::Plan {
            project,
            file,
            remove_orphans,
            profiles,
            target,
        } => {
            let mut req = plan_request(&project, &file, remove_orphans, profiles)?;
            req.target = target.into();
            let planned = engine.plan(req).await?;
            say(&output::plan_text(&planned));
            say(&format!(
                "\nPlan id: {}\nTo apply it: mcp-docker-server apply -p {project} --plan {}",
                planned.plan_id, planned.plan_id
            ));
            Ok(())
        }
        Command::Apply {
            project,
            plan,
            file,
            auto_approve,
            remove_orphans,
            profiles,
            target,
        } => {
            let cancel = cancel_on_ctrl_c();
            match (plan, file) {
                (Some(plan_id), _) => apply_plan(&engine, &project, &plan_id, cancel).await,
                (None, Some(file)) => {
                    let mut req = plan_request(&project, &file, remove_orphans, profiles)?;
                    req.target = target.into();
                    if auto_approve && engine.config().revert_on_failure {
                        // Plan, then apply through the reverting path: it needs the previous record as it
                        // was before this apply.
                        let planned = engine.plan(req).await?;
                        show_plan(&planned);
                        if !planned.has_changes {
                            return Ok(());
                        }
                        return apply_plan(&engine, &project, &planned.plan_id, cancel).await;
                    }
                    if auto_approve {
                        let (_, applied) = engine
                            .plan_and_apply(req, &show_plan, progress::sink(), cancel)
                            .await?;
                        return finish_apply(&applied);
                    }
                    let planned = engine.plan(req).await?;
                    say(&output::plan_text(&planned));
                    if !planned.has_changes {
                        return Ok(());
                    }
                    confirm(&project, &planned.plan_id)?;
                    apply_plan(&engine, &project, &planned.plan_id, cancel).await
                }
                (None, None) => {
                    bail!("apply needs --plan ID (from `plan`) or -f FILE --auto-approve")
                }
            }
        }
        Command::Status { project } => {
            let status = engine.status(&project).await?;
            say(&output::status_text(&status));
            Ok(())
        }
        Command::Destroy {
            project,
            volumes,
            auto_approve,
        } => {
            if auto_approve {
                let (_, applied) = engine
                    .destroy_and_apply(
                        &project,
                        volumes,
                        &show_plan,
                        progress::sink(),
                        cancel_on_ctrl_c(),
                    )
                    .await?;
                return finish_apply(&applied);
            }
            let planned = engine.destroy_plan(&project, volumes).await?;
            say(&output::plan_text(&planned));
            say(&format!(
                "\nPlan id: {}\nTo destroy: mcp-docker-server apply -p {project} --plan {}\n\
                 (or run destroy again with --auto-approve)",
                planned.plan_id, planned.plan_id
            ));
            Ok(())
        }
        Command::Projects => {
            let projects = engine.list_projects().await?;
            say(&output::projects_text(&projects));
            Ok(())
        }
        Command::History {
            project,
            plan: None,
        } => {
            say(&output::history_text(&engine.history(&project).await?));
            Ok(())
        }
        Command::History {
            project,
            plan: Some(plan_id),
        } => {
            say(&output::journal_text(
                &engine.journal(&project, &plan_id).await?,
            ));
            Ok(())
        }
        Command::Rollback { project, to } => {
            let planned = engine.rollback_plan(&project, &to).await?;
            say(&output::plan_text(&planned));
            if planned.has_changes {
                say(&format!(
                    "\nTo roll back: mcp-docker-server apply -p {project} --plan {}",
                    planned.plan_id
                ));
            }
            Ok(())
        }
        Command::Import {
            project,
            file,
            profiles,
        } => {
            let req = plan_request(&project, &file, false, profiles)?;
            say(&engine.import(req).await?.describe());
            Ok(())
        }
        Command::Export { project } => {
            say(engine.export(&project).await?.trim_end());
            Ok(())
        }
        Command::Schema { out } => write_schemas(&out),
    }
}

/// The folder of the compose file a command reads, if any: the person chose it, so it is a workspace root.
fn compose_dir(command: &Command) -> Option<PathBuf> {
    let file = match command {
        Command::Plan { file, .. } => Some(file),
        Command::Apply { file, .. } => file.as_ref(),
        Command::Import { file, .. } => Some(file),
        _ => None,
    }?;
    let absolute = std::fs::canonicalize(file).ok()?;
    absolute.parent().map(Path::to_path_buf)
}

fn show_plan(planned: &crate::engine::PlanOutcome) {
    say(&output::plan_text(planned));
}

fn plan_request(
    project: &str,
    file: &Path,
    remove_orphans: bool,
    profiles: Vec<String>,
) -> anyhow::Result<PlanRequest> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the compose file {}", file.display()))?;
    let absolute = std::fs::canonicalize(file)
        .with_context(|| format!("cannot resolve {}", file.display()))?;
    let project_dir = absolute.parent().map(Path::to_path_buf);
    Ok(PlanRequest {
        project: project.to_string(),
        spec: SpecSource::Yaml(text),
        project_dir,
        remove_orphans,
        profiles,
        target: Target::Engine,
    })
}

/// Applies a stored plan; with the operator's `--revert-on-failure`, a failed apply (or a replaced container
/// that does not become healthy) is followed by the return to the previous spec, reported after it.
async fn apply_plan(
    engine: &Engine,
    project: &str,
    plan_id: &str,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    if !engine.config().revert_on_failure {
        let applied = engine
            .apply(project, plan_id, progress::sink(), cancel)
            .await?;
        return finish_apply(&applied);
    }
    let done = engine
        .apply_or_revert(project, plan_id, progress::sink(), cancel)
        .await?;
    if let Some(revert) = &done.revert {
        say(&format!("\n{}", done.applied.message));
        say(&format!(
            "\nReverting to the previous spec with plan {}:",
            revert.plan.plan_id
        ));
        say(&output::plan_text(&revert.plan));
        return finish_apply(&revert.applied).and_then(|()| {
            bail!("apply of plan {plan_id} did not complete; the previous spec was restored")
        });
    }
    finish_apply(&done.applied)
}

/// `--target`: where a project runs.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum TargetArg {
    Engine,
    Swarm,
}

impl From<TargetArg> for Target {
    fn from(arg: TargetArg) -> Target {
        match arg {
            TargetArg::Engine => Target::Engine,
            TargetArg::Swarm => Target::Swarm,
        }
    }
}

fn finish_apply(applied: &crate::engine::ApplyOutcome) -> anyhow::Result<()> {
    say(&format!("\n{}", applied.message));
    if applied.succeeded {
        Ok(())
    } else {
        bail!("apply of plan {} did not complete", applied.plan_id)
    }
}

/// Asks on the terminal, as terraform does; refuses when nobody can answer.
fn confirm(project: &str, plan_id: &str) -> anyhow::Result<()> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "not applying without approval: rerun with --auto-approve, or run `mcp-docker-server apply -p {project} --plan {plan_id}`"
        );
    }
    eprint!("\nDo you want to perform these actions? Only 'yes' will be accepted: ");
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .context("reading the answer")?;
    if answer.trim() != "yes" {
        bail!("apply cancelled; the plan is kept as {plan_id}");
    }
    Ok(())
}

fn cancel_on_ctrl_c() -> CancellationToken {
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::warn!("interrupted: stopping after the running steps");
            trigger.cancel();
        }
    });
    cancel
}

fn write_schemas(out: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    for (file, schema) in [
        ("project.schema.json", planner::compose::project_schema()),
        ("plan.schema.json", planner::render::plan_schema()),
    ] {
        let path = out.join(file);
        let text = serde_json::to_string_pretty(&schema)? + "\n";
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        say(&format!("wrote {}", path.display()));
    }
    Ok(())
}
