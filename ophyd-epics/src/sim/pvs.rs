//! Simulated PVs of your own without writing put handlers: a busy PV whose
//! put completes after a delay (an acquire, a count) and a setpoint with its
//! `_RBV` read-back.

use std::sync::Arc;
use std::time::Duration;

use super::{PutAction, PvSpec, SimIoc};
use futures::FutureExt;

/// How long a [busy](PvSpec::busy) PV stays busy after a write.
#[derive(Clone, Debug, PartialEq)]
pub enum Delay {
    /// Always the same time.
    Fixed(Duration),
    /// The value of this PV, in seconds, when the write arrives: an
    /// exposure or preset time another PV holds.
    SecondsIn(String),
}

impl Delay {
    /// The value of `pv`, in seconds, when the write arrives.
    pub fn seconds_in(pv: &str) -> Delay {
        Delay::SecondsIn(pv.to_owned())
    }

    /// The delay for a write arriving now. A PV that is missing, not a
    /// number, negative or NaN gives no delay: a simulation never hangs on it.
    fn resolve(&self, ioc: &SimIoc) -> Duration {
        match self {
            Delay::Fixed(delay) => *delay,
            Delay::SecondsIn(pv) => {
                ioc.get_f64(pv).and_then(|seconds| Duration::try_from_secs_f64(seconds).ok()).unwrap_or(Duration::ZERO)
            }
        }
    }
}

impl From<Duration> for Delay {
    fn from(delay: Duration) -> Delay {
        Delay::Fixed(delay)
    }
}

impl PvSpec {
    /// Make this a busy PV, like an acquire or count PV: a client's write
    /// of a non-zero value is stored, and after `delay` the IOC runs
    /// `then` (write the results), puts the PV back to 0 and only then
    /// completes the put (the put-callback a `put_complete` signal waits
    /// for). A write of 0 is stored and completes at once.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
    /// use std::time::Duration;
    /// use ophyd_core::prelude::*;
    /// use ophyd_epics::sim::{Delay, PvSpec, SimIoc};
    /// use ophyd_epics::{EpicsSignal, EpicsSignalRO};
    ///
    /// let ioc = SimIoc::new();
    /// ioc.add(PvSpec::double("sc:TP", 0.05)) // counting time, seconds
    ///     .add(PvSpec::long("sc:S1", 0).read_only())
    ///     .add(PvSpec::enumeration("sc:CNT", &["Done", "Count"], 0).busy(Delay::seconds_in("sc:TP"), |ioc| {
    ///         ioc.write("sc:S1", 1000);
    ///     }));
    ///
    /// let count = EpicsSignal::<Enum>::new("sc:CNT", "count").with_put_complete(true);
    /// let s1 = EpicsSignalRO::<i32>::new("sc:S1", "s1");
    /// count.connect(&ioc.transport()).await?;
    /// s1.connect(&ioc.transport()).await?;
    /// count.set("Count").await?; // finishes when the counting does
    /// assert_eq!(s1.get().await?, 1000);
    /// assert_eq!(count.get_label().await?, "Done");
    /// # Ok(()) }
    /// ```
    pub fn busy(self, delay: impl Into<Delay>, then: impl Fn(&SimIoc) + Send + Sync + 'static) -> PvSpec {
        let (delay, then, name) = (delay.into(), Arc::new(then), self.name.clone());
        self.on_put(move |ioc, value| {
            if value.as_f64() == Some(0.0) {
                return PutAction::accept(value);
            }
            let (ioc, then, name, delay) = (ioc.clone(), then.clone(), name.clone(), delay.resolve(ioc));
            let processing = async move {
                tokio::time::sleep(delay).await;
                then(&ioc);
                ioc.write(&name, 0);
                Ok(())
            };
            PutAction::Write { value: value.clone(), completion: Some(processing.boxed()) }
        })
    }
}

impl SimIoc {
    /// Add `spec` and its read-back `<name>_RBV` (read-only, of the same
    /// type), which takes every value the IOC stores in `<name>`: the pair
    /// an `EpicsSignalWithRbv` reads and writes. A put handler of `spec`
    /// still decides what a write does.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
    /// use ophyd_core::prelude::*;
    /// use ophyd_epics::{sim::{PvSpec, SimIoc}, EpicsSignalWithRbv};
    ///
    /// let ioc = SimIoc::new();
    /// ioc.add_with_rbv(PvSpec::double("cam:AcquireTime", 1.0));
    /// let time = EpicsSignalWithRbv::<f64>::new("cam:AcquireTime", "acquire_time");
    /// time.connect(&ioc.transport()).await?;
    /// set_and_wait(&time, 0.5).await?; // waits for the read-back
    /// assert_eq!(ioc.get("cam:AcquireTime_RBV"), Some(ophyd_core::Value::Float(0.5)));
    /// # Ok(()) }
    /// ```
    pub fn add_with_rbv(&self, mut spec: PvSpec) -> &SimIoc {
        let rbv = format!("{}_RBV", spec.name);
        let handler = spec.on_put.take();
        self.add(PvSpec { name: rbv.clone(), on_put: None, ..spec.clone() }.read_only());
        self.add(spec.on_put(move |ioc, value| {
            let action = handler.as_ref().map_or_else(|| PutAction::accept(value), |decide| decide(ioc, value));
            if let PutAction::Write { value, .. } = &action {
                ioc.write(&rbv, value.clone());
            }
            action
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use ophyd_core::{Enum, Signal, Value, Writable};

    use super::*;
    use crate::EpicsSignal;

    #[tokio::test]
    async fn a_read_back_follows_what_the_setpoints_own_handler_stores_and_not_what_it_refuses() {
        let ioc = SimIoc::new();
        ioc.add_with_rbv(PvSpec::double("x", 1.0).on_put(|_, value| match value.as_f64() {
            Some(v) if v < 0.0 => PutAction::Refuse("negative".into()),
            _ => PutAction::accept(&Value::Float(value.as_f64().unwrap_or(0.0) * 2.0)),
        }));
        let x = EpicsSignal::<f64>::new("x", "x");
        x.connect(&ioc.transport()).await.unwrap();
        x.put(3.0).await.unwrap();
        assert_eq!(ioc.get("x_RBV"), Some(Value::Float(6.0)), "what the handler stored");
        assert!(x.put(-1.0).await.is_err());
        assert_eq!(ioc.get("x_RBV"), Some(Value::Float(6.0)), "a refused write changes nothing");
    }

    #[tokio::test]
    async fn a_busy_pv_runs_its_results_then_goes_back_to_zero_and_a_zero_write_does_nothing_else() {
        let ioc = SimIoc::new();
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = runs.clone();
        ioc.add(PvSpec::enumeration("cnt", &["Done", "Count"], 0).busy(Duration::ZERO, move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
        }));
        let cnt = EpicsSignal::<Enum>::new("cnt", "cnt").with_put_complete(true);
        cnt.connect(&ioc.transport()).await.unwrap();
        cnt.set("Count").await.unwrap();
        assert_eq!((runs.load(Ordering::SeqCst), cnt.get().await.unwrap()), (1, Enum::Index(0)));
        cnt.set("Done").await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 1, "a write of 0 only stores it");
    }

    #[test]
    fn a_delay_read_from_a_pv_that_is_missing_or_negative_is_none() {
        let ioc = SimIoc::new();
        ioc.add(PvSpec::double("t", -1.0));
        assert_eq!(Delay::seconds_in("t").resolve(&ioc), Duration::ZERO);
        assert_eq!(Delay::seconds_in("nothing").resolve(&ioc), Duration::ZERO);
        ioc.write("t", 0.5);
        assert_eq!(Delay::seconds_in("t").resolve(&ioc), Duration::from_millis(500));
    }
}
