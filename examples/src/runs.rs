//! What the `count` and `scan` example programs share: how a run is shown
//! and recorded, answering a Ctrl-C pause, and their exit codes.

use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use ophyd_run::{ExitStatus, JsonLines, LiveTable, ProgressBar, Request, RunControl, RunEngine};
use tokio::io::AsyncBufReadExt;

use crate::program::{fail, init_logging};
use crate::Error;

/// How a run is shown and recorded.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RunOptions {
    /// Also write every document to this file, one JSON line `[name,
    /// document]` each
    #[arg(long, value_name = "PATH")]
    pub jsonl: Option<PathBuf>,

    /// Draw no progress bar (the live table still prints)
    #[arg(long)]
    pub quiet: bool,
}

/// A run engine printing a live table (and a progress bar), writing JSON
/// lines if asked, with Ctrl-C wired to pause then abort.
pub fn engine(options: &RunOptions) -> Result<RunEngine, Error> {
    let mut re = RunEngine::new();
    re.subscribe_callback(LiveTable::stdout());
    if !options.quiet {
        re.subscribe_callback(ProgressBar::new());
        re.watch_statuses(ProgressBar::watch);
    }
    if let Some(path) = &options.jsonl {
        let writer = JsonLines::create(path).map_err(|source| Error::Write { path: path.clone(), source })?;
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

/// The rest of a run program's `main`, once its arguments are parsed (bad
/// ones have exited 2 by then): run `run` with logging on, and give the
/// exit code, 0 on success, 130 on abort, 1 on failure.
pub fn main(run: impl Future<Output = Result<ExitStatus, Error>>) -> ExitCode {
    init_logging();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let outcome = runtime.block_on(run);
    // Exit now: the task that reads answers to a pause may be blocked on
    // standard input, which a normal runtime shutdown would wait for.
    runtime.shutdown_background();
    match outcome {
        Ok(ExitStatus::Success) => ExitCode::SUCCESS,
        Ok(ExitStatus::Abort) => ExitCode::from(130),
        Ok(ExitStatus::Fail) => ExitCode::FAILURE,
        Err(error) => fail(&error),
    }
}
