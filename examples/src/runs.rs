//! What the `count` and `scan` example programs share: options, the
//! transport, the document subscribers, and answering a Ctrl-C pause.

use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use ophyd_epics::sim::SimIoc;
use ophyd_epics::Transport;
use ophyd_run::{ExitStatus, JsonLines, LiveTable, ProgressBar, Request, RunControl, RunEngine};
use tokio::io::AsyncBufReadExt;

/// Options of the run examples.
#[derive(Debug, Default)]
pub struct RunOptions {
    /// Write every document to this file, one JSON line `[name, doc]` each.
    pub jsonl: Option<PathBuf>,
    /// Talk Channel Access to the IOC with this prefix.
    pub ca: Option<String>,
    /// Points.
    pub num: usize,
    /// Set the detector's exposure time first.
    pub exposure_time: Option<f64>,
    /// Seconds between points (count).
    pub delay: f64,
    /// The motor's PV name (scan).
    pub motor: Option<String>,
    /// Do not draw the progress bar.
    pub quiet: bool,
}

/// Parse `args` (without the program name) per `usage`.
pub fn parse(args: impl IntoIterator<Item = String>, usage: &str, num: usize) -> Result<RunOptions, String> {
    let mut o = RunOptions { num, ..RunOptions::default() };
    let mut args = args.into_iter();
    let number = |flag: &str, v: Option<String>| -> Result<f64, String> {
        let v = v.ok_or(format!("{flag} needs a number"))?;
        v.parse().map_err(|_| format!("{flag}: `{v}` is not a number"))
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--jsonl" => o.jsonl = Some(args.next().ok_or("--jsonl needs a file path")?.into()),
            "--ca" => o.ca = Some(args.next().ok_or("--ca needs a PV prefix")?),
            "--motor" => o.motor = Some(args.next().ok_or("--motor needs a PV name")?),
            "--num" => o.num = number("--num", args.next())? as usize,
            "--exposure-time" => o.exposure_time = Some(number("--exposure-time", args.next())?),
            "--delay" => o.delay = number("--delay", args.next())?,
            "--quiet" => o.quiet = true,
            "-h" | "--help" => return Err(usage.to_owned()),
            other => return Err(format!("unknown argument `{other}`\n\n{usage}")),
        }
    }
    Ok(o)
}

/// The transport: the simulated IOC (with the tutorial's detector at
/// `trigger_with_pc:` and a motor `sim:m1`), or, given an IOC prefix,
/// Channel Access.
pub fn transport(ca: Option<&str>) -> Result<Transport, String> {
    match ca {
        None => {
            let ioc = SimIoc::trigger_with_pc("trigger_with_pc:");
            ioc.add_motor("sim:m1", 0.0);
            Ok(ioc.transport())
        }
        Some(_) => ca_transport(),
    }
}

#[cfg(feature = "ca")]
fn ca_transport() -> Result<Transport, String> {
    ophyd_epics::ca::CaTransport::new().map(Transport::new).map_err(|e| format!("cannot start Channel Access: {e}"))
}

#[cfg(not(feature = "ca"))]
fn ca_transport() -> Result<Transport, String> {
    Err("this build has no Channel Access: build with `--features ca` (see the README)".into())
}

/// A run engine printing a live table (and a progress bar), writing JSON
/// lines if asked, with Ctrl-C wired to pause then abort.
pub fn engine(options: &RunOptions) -> Result<RunEngine, String> {
    let mut re = RunEngine::new();
    re.subscribe_callback(LiveTable::stdout());
    if !options.quiet {
        re.subscribe_callback(ProgressBar::new());
        re.watch_statuses(ProgressBar::watch);
    }
    if let Some(path) = &options.jsonl {
        let writer = JsonLines::create(path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        re.subscribe_callback(writer);
    }
    let control = re.control();
    control.abort_on_ctrl_c();
    tokio::spawn(answer_pauses(control));
    Ok(re)
}

/// When the run pauses, ask on standard input whether to resume or abort.
async fn answer_pauses(control: RunControl) {
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    loop {
        while control.request() != Request::Pause {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        eprintln!("Paused. Type `r` + Enter to resume, `a` + Enter to abort (or Ctrl-C again to abort).");
        match lines.next_line().await {
            Ok(Some(line)) if line.trim().starts_with('r') => control.resume(),
            Ok(Some(line)) if line.trim().starts_with('a') => control.abort("aborted by the user"),
            Ok(Some(_)) => continue,
            // No terminal to ask: wait for Ctrl-C or another control.
            _ => std::future::pending::<()>().await,
        }
    }
}

/// Logs go to standard error, filtered by `RUST_LOG`.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
}

/// The `main` of a run example: parse the options (`--num` defaults to
/// `num`), run, and exit 0 on success, 130 on abort, 1 on failure, 2 on bad
/// arguments.
pub fn main<F, Fut>(usage: &str, num: usize, run: F) -> ExitCode
where
    F: FnOnce(RunOptions) -> Fut,
    Fut: Future<Output = Result<ExitStatus, String>>,
{
    init_logging();
    let options = match parse(std::env::args().skip(1), usage, num) {
        Ok(o) => o,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let outcome = runtime.block_on(run(options));
    // Exit now: the task that reads answers to a pause may be blocked on
    // standard input, which a normal runtime shutdown would wait for.
    runtime.shutdown_background();
    match outcome {
        Ok(ExitStatus::Success) => ExitCode::SUCCESS,
        Ok(ExitStatus::Abort) => ExitCode::from(130),
        Ok(ExitStatus::Fail) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
