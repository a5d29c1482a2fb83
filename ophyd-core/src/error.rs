//! [`Error`]: everything that can go wrong, each variant naming the device,
//! signal or PV involved, what was expected and what happened.

use std::fmt;
use std::time::Duration;

/// The result type of ophyd-rs operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An ophyd-rs error. Cheap to clone, so a [`Status`](crate::Status) can hand
/// the same error to every waiter.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `stage()` on a device that is already staged (ophyd's `RedundantStaging`).
    #[error("RedundantStaging: device `{device}` is already staged; unstage it first")]
    RedundantStaging {
        /// The device's name.
        device: String,
    },

    /// `stage()` on a device whose last unstage did not finish.
    #[error(
        "RedundantStaging: device `{device}` is partially staged (its last unstage failed); \
         call unstage() again first"
    )]
    PartiallyStaged {
        /// The device's name.
        device: String,
    },

    /// Something did not finish in time.
    #[error("{what} did not finish within {after:?}")]
    Timeout {
        /// What timed out, e.g. `"set of triggered_detector_acquire"`.
        what: String,
        /// The timeout that expired.
        after: Duration,
    },

    /// `set_and_wait` never saw its target in the read-back.
    #[error(
        "set_and_wait on `{signal}` ({pv}): wanted {target}, but the last value read back \
         was {last} after {after:?}"
    )]
    SetAndWait {
        /// The signal's name.
        signal: String,
        /// Where the value lives (`PV:..`, `SIM:..`).
        pv: String,
        /// The target value.
        target: String,
        /// The last value read back.
        last: String,
        /// How long it waited.
        after: Duration,
    },

    /// A write was refused or failed.
    #[error("put of {value} to `{signal}` ({pv}) failed: {reason}")]
    Put {
        /// The signal's name.
        signal: String,
        /// Where the value lives.
        pv: String,
        /// The value that was being written.
        value: String,
        /// Why, as the server or backend put it.
        reason: String,
    },

    /// A write refused before anything was sent: the value does not fit the
    /// PV, or the client knows it may not write. The PV was not changed.
    #[error("put of {value} to `{signal}` ({pv}) was refused before it was sent: {reason}")]
    NotSent {
        /// The signal's name.
        signal: String,
        /// Where the value lives.
        pv: String,
        /// The value that was to be written.
        value: String,
        /// Why.
        reason: String,
    },

    /// A move to a position outside a positioner's limits, refused before
    /// anything was written (ophyd's `LimitError`).
    #[error(
        "`{device}` cannot move to {target}{}: outside its {which} limits [{low}, {high}] ({pvs}); \
         nothing was moved",
        in_other_coordinates(*.target, *.at, which)
    )]
    Limit {
        /// The positioner's name.
        device: String,
        /// The position asked for, in user coordinates.
        target: f64,
        /// Which limits refused it: `"user"` or `"dial"`.
        which: String,
        /// The target in those limits' coordinates (the dial position, for
        /// dial limits).
        at: f64,
        /// The low limit.
        low: f64,
        /// The high limit.
        high: f64,
        /// Where the limits live (`"sim:mtr1.LLM, sim:mtr1.HLM"`).
        pvs: String,
    },

    /// A read failed.
    #[error("reading `{signal}` ({pv}) failed: {reason}")]
    Get {
        /// The signal's name.
        signal: String,
        /// Where the value lives.
        pv: String,
        /// Why.
        reason: String,
    },

    /// An operation on a signal that has not been connected.
    #[error("`{signal}` ({pv}) is not connected: call connect() on its device first")]
    NotConnected {
        /// The signal's name.
        signal: String,
        /// Where the value lives.
        pv: String,
    },

    /// The connection to a PV was lost.
    #[error("`{signal}`: lost the connection to {pv}")]
    Disconnected {
        /// The signal's name.
        signal: String,
        /// Where the value lives.
        pv: String,
    },

    /// Some PVs of a device tree did not connect in time.
    #[error(
        "connecting `{device}` timed out after {after:?}; {} PV(s) did not connect: {}",
        pvs.len(),
        pvs.join(", ")
    )]
    ConnectTimeout {
        /// The device's name.
        device: String,
        /// The timeout.
        after: Duration,
        /// Every PV that did not connect.
        pvs: Vec<String>,
    },

    /// Connecting a signal failed for another reason than a timeout.
    #[error("connecting `{signal}` to {pv} failed: {reason}")]
    Connect {
        /// The signal's name.
        signal: String,
        /// The PV.
        pv: String,
        /// Why.
        reason: String,
    },

    /// A PV's native type does not fit the signal's declared value type.
    #[error(
        "`{signal}`: PV {pv} holds {actual}, but the signal was declared to hold {expected}, \
         which cannot hold every value of it exactly{}",
        fits_hint(.fits.as_deref())
    )]
    TypeMismatch {
        /// The signal's name.
        signal: String,
        /// The PV.
        pv: String,
        /// The declared Rust type.
        expected: String,
        /// What the PV holds.
        actual: String,
        /// A value type that does fit the PV (`"Enum"`, `"Vec<f64>"`), if any.
        fits: Option<String>,
    },

    /// A value of the wrong type for a signal (a run-time `stage_sigs` entry, say).
    #[error("`{signal}` holds {expected} values, but was given {given}")]
    ValueType {
        /// The signal's name.
        signal: String,
        /// The type the signal holds.
        expected: String,
        /// The value that was given.
        given: String,
    },

    /// A dotted path that names no component.
    #[error("device `{device}` has no component `{path}`; its components are: {}", known.join(", "))]
    UnknownComponent {
        /// The device's name.
        device: String,
        /// The path that was asked for.
        path: String,
        /// The components the device has at that level.
        known: Vec<String>,
    },

    /// `configure()` was given a component that is not one of the
    /// device's configuration attributes (ophyd's `ValueError`).
    #[error(
        "`{attr}` of device `{device}` is not a configuration attribute, so configure() cannot change it; \
         its configuration attributes are: {}",
        configuration_attrs.join(", ")
    )]
    NotConfiguration {
        /// The device's name.
        device: String,
        /// The attribute that was given.
        attr: String,
        /// The device's configuration attributes.
        configuration_attrs: Vec<String>,
    },

    /// A path or handle that names something which cannot be written.
    #[error("`{signal}` is {why}, so it cannot be {action}")]
    NotWritable {
        /// The signal or device's name.
        signal: String,
        /// Why (`"read-only"`, `"a device, not a signal"`).
        why: String,
        /// What was attempted (`"staged"`, `"put"`).
        action: String,
    },

    /// `stage()` failed; what it had already changed was put back.
    #[error("staging `{device}` failed: {cause}{}", Restores(restore_failures))]
    Stage {
        /// The device's name.
        device: String,
        /// The first failure.
        cause: Box<Error>,
        /// Failures while putting back what had been changed.
        restore_failures: Vec<Error>,
    },

    /// `configure()` failed writing a value; what it had written was put back.
    #[error("configuring `{device}` failed: {cause}{}", Restores(restore_failures))]
    Configure {
        /// The device's name.
        device: String,
        /// The write that failed.
        cause: Box<Error>,
        /// Failures while putting back what had been written.
        restore_failures: Vec<Error>,
    },

    /// `unstage()` could not restore some values; every other restore was done.
    #[error(
        "unstaging `{device}` failed for {} restore(s) (every other restore was done; \
         call unstage() again to retry): {}",
        failures.len(),
        List(failures)
    )]
    Unstage {
        /// The device's name.
        device: String,
        /// Every failure, in the order they happened.
        failures: Vec<Error>,
    },

    /// Cleanup (stop and unstage after a run or a staged scope) could not
    /// put everything back; every other step was done.
    #[error("cleanup failed: {}{}", List(failures), Left(unrestored))]
    Cleanup {
        /// Every failure, in the order they happened.
        failures: Vec<Error>,
        /// What is still changed, for a person to put back by hand.
        unrestored: Vec<Unrestored>,
    },

    /// A status was marked failed by whoever completes it.
    #[error("{what} failed: {reason}")]
    Failed {
        /// What failed.
        what: String,
        /// Why.
        reason: String,
    },

    /// A status or scope was abandoned before it finished.
    #[error("{what} was cancelled")]
    Cancelled {
        /// What was cancelled.
        what: String,
    },

    /// Several errors happened together (cleanup after a failure, say).
    #[error("{}", List(.0))]
    Many(Vec<Error>),
}

impl Error {
    /// The error's name, as Python ophyd would name the exception
    /// (`"RedundantStaging"`, `"Timeout"`, ...).
    ///
    /// ```
    /// let err = ophyd_core::Error::RedundantStaging { device: "det".into() };
    /// assert_eq!(err.name(), "RedundantStaging");
    /// assert_eq!(err.to_string(), "RedundantStaging: device `det` is already staged; unstage it first");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            Error::RedundantStaging { .. } | Error::PartiallyStaged { .. } => "RedundantStaging",
            Error::Timeout { .. } => "Timeout",
            Error::SetAndWait { .. } => "SetAndWaitTimeout",
            Error::Put { .. } | Error::NotSent { .. } => "PutError",
            Error::Limit { .. } => "LimitError",
            Error::Get { .. } => "GetError",
            Error::NotConnected { .. } | Error::Disconnected { .. } => "DisconnectedError",
            Error::ConnectTimeout { .. } => "ConnectTimeout",
            Error::Connect { .. } => "ConnectionError",
            Error::TypeMismatch { .. } | Error::ValueType { .. } => "TypeError",
            Error::UnknownComponent { .. } => "AttributeError",
            Error::NotConfiguration { .. } => "ValueError",
            Error::Configure { .. } => "ConfigureError",
            Error::NotWritable { .. } => "ReadOnlyError",
            Error::Stage { .. } => "StageError",
            Error::Cleanup { .. } => "CleanupError",
            Error::Unstage { .. } => "UnstageError",
            Error::Failed { .. } => "StatusFailed",
            Error::Cancelled { .. } => "Cancelled",
            Error::Many(_) => "ExceptionBundle",
        }
    }
}

impl Error {
    /// `Ok` for no errors, the error itself for one, [`Error::Many`] for
    /// several: how every place that attempts many steps reports them.
    pub fn bundle(mut errors: Vec<Error>) -> Result<()> {
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.pop().expect("one error")),
            _ => Err(Error::Many(errors)),
        }
    }

    /// `self`, followed by `more` if there are any.
    pub fn with(self, mut more: Vec<Error>) -> Error {
        if more.is_empty() {
            return self;
        }
        more.insert(0, self);
        Error::Many(more)
    }

    /// Whether the error comes (at any depth) from a lost or missing
    /// connection: what a retry after the PV comes back can mend.
    pub fn is_disconnection(&self) -> bool {
        match self {
            Error::Disconnected { .. } | Error::NotConnected { .. } => true,
            Error::Stage { cause, restore_failures, .. } => {
                cause.is_disconnection() || restore_failures.iter().any(Error::is_disconnection)
            }
            Error::Unstage { failures, .. } | Error::Cleanup { failures, .. } | Error::Many(failures) => {
                failures.iter().any(Error::is_disconnection)
            }
            _ => false,
        }
    }
}

/// A value staging changed and could not put back: what a person needs to
/// restore it by hand.
#[derive(Debug, Clone, PartialEq)]
pub struct Unrestored {
    /// The device that staged it.
    pub device: String,
    /// The signal's name (its data key).
    pub signal: String,
    /// Where the value lives (`"PV:det:enabled"`).
    pub source: String,
    /// The value it had before staging.
    pub original: crate::Value,
}

impl fmt::Display for Unrestored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` ({}) should be {}", self.signal, self.source, self.original)
    }
}

struct Left<'a>(&'a [Unrestored]);

impl fmt::Display for Left<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return Ok(());
        }
        f.write_str("; still changed (put these back by hand): ")?;
        for (i, u) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{u}")?;
        }
        Ok(())
    }
}

struct List<'a>(&'a [Error]);

impl fmt::Display for List<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

struct Restores<'a>(&'a [Error]);

impl fmt::Display for Restores<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str(" (everything it had changed was put back)")
        } else {
            write!(f, " (and putting back what it had changed failed: {})", List(self.0))
        }
    }
}

/// How a limit error names the target in other coordinates than the user's
/// (`" (dial 15)"`), if they differ.
fn in_other_coordinates(target: f64, at: f64, which: &str) -> String {
    if at == target {
        String::new()
    } else {
        format!(" ({which} {at})")
    }
}

/// The end of a type mismatch's message: the value type to declare instead.
fn fits_hint(fits: Option<&str>) -> String {
    match fits {
        Some(ty) => format!("; declare it with `{ty}`, e.g. `EpicsSignal<{ty}>` or `EpicsSignalRO<{ty}>`"),
        None => String::new(),
    }
}
