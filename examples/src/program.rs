//! What every example program shares: the options that pick the detector's
//! IOC, the transport they lead to, logging, and how a failure is told.

use std::process::ExitCode;

use ophyd_epics::sim::SimIoc;
use ophyd_epics::Transport;

use crate::{Error, TUTORIAL_PREFIX};

/// Where the tutorial's detector is, and how to set it up.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DetectorOptions {
    /// Talk Channel Access to the IOC with this PV prefix (e.g.
    /// trigger_with_pc) [default: a simulated IOC inside the program]
    #[arg(long, value_name = "PREFIX")]
    pub ca: Option<String>,

    /// Set the detector's exposure_time first [default: leave it as the IOC
    /// has it]
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    pub exposure_time: Option<f64>,
}

impl DetectorOptions {
    /// The detector's PV prefix: `--ca`'s, or the tutorial's.
    pub fn prefix(&self) -> &str {
        self.ca.as_deref().unwrap_or(TUTORIAL_PREFIX)
    }

    /// Channel Access with `--ca`; otherwise the simulated IOC, with the
    /// tutorial's detector at `trigger_with_pc:` and a motor `sim:m1`.
    pub fn transport(&self) -> Result<Transport, Error> {
        match self.ca {
            None => {
                let ioc = SimIoc::trigger_with_pc(&format!("{TUTORIAL_PREFIX}:"));
                ioc.add_motor("sim:m1", 0.0);
                Ok(ioc.transport())
            }
            Some(_) => ca_transport(),
        }
    }
}

/// A Channel Access transport (libca's client context), or
/// [`Error::NoChannelAccess`] in a build without the `ca` feature.
#[cfg(feature = "ca")]
pub fn ca_transport() -> Result<Transport, Error> {
    ophyd_epics::ca::CaTransport::new().map(Transport::new).map_err(Error::ChannelAccess)
}

/// A Channel Access transport (libca's client context), or
/// [`Error::NoChannelAccess`] in a build without the `ca` feature.
#[cfg(not(feature = "ca"))]
pub fn ca_transport() -> Result<Transport, Error> {
    Err(Error::NoChannelAccess)
}

/// Logs go to standard error, filtered by `RUST_LOG`.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
}

/// The exit code of a program's outcome: 0, or 1 after telling the user
/// what failed (see [`fail`]).
pub fn exit_code(outcome: Result<(), Error>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&error),
    }
}

/// Tell the user what failed and why, `error: what: cause: ...`, and give
/// the exit code of a failure (1).
pub fn fail(error: &Error) -> ExitCode {
    let mut message = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(e) = cause {
        message = format!("{message}: {e}");
        cause = e.source();
    }
    eprintln!("error: {message}");
    ExitCode::FAILURE
}
