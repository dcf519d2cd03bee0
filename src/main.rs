//! The `stile` binary: parse the command line, load settings, start logging, build the
//! application, serve until Ctrl-C or SIGTERM.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use stile::{Application, Settings};

/// mimalloc instead of the C library's allocator: a verification allocates and frees a few
/// dozen small buffers (headers, the body, the token's claims, the answer), and with
/// mimalloc the benchmark's server verifies about a quarter more per second (43-46 against
/// 53-60 µs of CPU each, docs/BENCHMARKS.md); image inits cost the same either way.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Stile — self-hosted human verification.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Settings file (TOML). Values in it are overridden by STILE_* variables and flags.
    #[arg(long, env = "STILE_CONFIG")]
    config: Option<PathBuf>,
    /// Address to serve on [default: 127.0.0.1:8080].
    #[arg(long, env = "STILE_LISTEN")]
    listen: Option<String>,
    /// Data directory for the embedded store and the master key [default: ./stile-data].
    #[arg(long, env = "STILE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Public base URL, when the server sits behind a proxy.
    #[arg(long, env = "STILE_PUBLIC_URL")]
    public_url: Option<String>,
    /// Log format: text or json.
    #[arg(long, env = "STILE_LOG_FORMAT")]
    log_format: Option<String>,
    /// Do not serve the demo pages.
    #[arg(long, env = "STILE_NO_DEMO")]
    no_demo: bool,
}

/// Read `NAME`, or the file named by `NAME_FILE`.
fn secret_env(name: &str) -> anyhow::Result<Option<String>> {
    if let Ok(v) = std::env::var(name) {
        return Ok(Some(v.trim().to_owned()).filter(|v| !v.is_empty()));
    }
    if let Ok(path) = std::env::var(format!("{name}_FILE")) {
        let v = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {name}_FILE {path}"))?;
        return Ok(Some(v.trim().to_owned()));
    }
    Ok(None)
}

fn load_settings(cli: Cli) -> anyhow::Result<Settings> {
    let mut s = match &cli.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            Settings::from_toml(&text).with_context(|| format!("parsing {}", path.display()))?
        }
        None => Settings::default(),
    };
    if let Some(v) = cli.listen {
        s.listen = v;
    }
    if let Some(v) = cli.data_dir {
        s.data_dir = v;
    }
    if let Some(v) = cli.public_url {
        s.public_url = Some(v);
    }
    if let Some(v) = cli.log_format {
        s.log_format = v;
    }
    if cli.no_demo {
        s.demo = false;
    }
    if let Some(v) = secret_env("STILE_ADMIN_TOKEN")? {
        s.bootstrap.admin_token = Some(v);
    }
    if let Some(v) = secret_env("STILE_ACCESS_KEY_ID")? {
        s.bootstrap.access_key_id = Some(v);
    }
    if let Some(v) = secret_env("STILE_ACCESS_KEY_SECRET")? {
        s.bootstrap.access_key_secret = Some(v);
    }
    s.validate().map_err(anyhow::Error::msg)?;
    Ok(s)
}

/// Log lines go to stderr through `stile::logging` (a thread of their own); the guard
/// writes what is left when `main` returns.
fn init_logging(format: &str) -> anyhow::Result<stile::logging::LogGuard> {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env("STILE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let (sink, guard) = stile::logging::LogSink::new(std::io::stderr())?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(sink);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
    Ok(guard)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = load_settings(Cli::parse())?;
    let _log = init_logging(&settings.log_format)?;
    let data_dir = settings.data_dir.clone();
    let app = Application::build(settings).await?;
    let base = app.base_url();
    if let Some(first) = app.first_start() {
        println!(
            "First start: Stile created its data directory at {}.",
            data_dir.display()
        );
        println!("Save these now — secrets are shown only once:");
        if let Some(t) = &first.admin_token {
            println!("  admin token (Bearer, /admin/v1): {t}");
        }
        println!("  access key id:                  {}", first.access_key_id);
        if let Some(s) = &first.access_key_secret {
            println!("  access key secret:              {s}");
        }
        println!("  tenant prefix:                  {}", first.prefix);
        for (kind, id) in &first.demo_scenes {
            println!("  demo scene {:<20} {id}", format!("{kind}:"));
        }
    }
    println!("Stile is serving on {base} — open {base}/demo");
    tracing::info!(address = %app.local_addr(), "serving");
    app.run_until(shutdown_signal()).await
}
