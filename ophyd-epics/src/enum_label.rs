//! Enum signals read as their labels: Python ophyd's `get(as_string=True)`.
//! An enum PV reads as its index; its strings come with the control
//! metadata, read once per connection and then kept, so a labelled read
//! costs one `get` like any other.

use ophyd_core::{Enum, Error, Result, Signal};

use crate::signal::{EpicsSignal, EpicsSignalRO, PvLayout};
use crate::transport::PvMetadata;

/// `value` with its label from the PV's enum strings.
fn labelled(value: Enum, metadata: PvMetadata) -> Enum {
    match metadata.enum_strs {
        Some(strings) => value.labelled(&strings),
        None => value,
    }
}

/// The label of `value`, or an error naming the signal, its PV and the
/// strings the index is not among.
fn label(value: Enum, signal: &str, pv: &str) -> Result<String> {
    match value {
        Enum::Label(label) | Enum::Labelled { label, .. } => Ok(label),
        Enum::Index(index) => Err(Error::Get {
            signal: signal.to_owned(),
            pv: pv.to_owned(),
            reason: format!("the PV holds enum index {index}, which has no string"),
        }),
    }
}

/// The labelled reads, the same on every enum signal type.
macro_rules! labelled_reads {
    ([$($generics:tt)*] $ty:ty) => {
        impl<$($generics)*> $ty {
            /// The current value with its label (it prints as the label);
            /// an index the PV's strings do not reach stays a bare index.
            ///
            /// ```
            /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
            /// use ophyd_core::prelude::*;
            /// use ophyd_epics::{sim::SimIoc, EpicsSignal};
            /// let ioc = SimIoc::trigger_with_pc("tp:");
            /// let enabled = EpicsSignal::<Enum>::new("tp:enabled", "enabled");
            /// enabled.connect(&ioc.transport()).await?;
            /// let value = enabled.get_labelled().await?;
            /// assert_eq!(value, Enum::Labelled { index: 1, label: "on".into() });
            /// assert_eq!(value.to_string(), "on");
            /// # Ok(()) }
            /// ```
            pub async fn get_labelled(&self) -> Result<Enum> {
                let (value, metadata) = futures::try_join!(self.get(), self.metadata())?;
                Ok(labelled(value, metadata))
            }

            /// The current value's label: Python ophyd's `get(as_string=True)`.
            /// An error if the PV's strings have none for its index.
            ///
            /// ```
            /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
            /// use ophyd_core::prelude::*;
            /// use ophyd_epics::{sim::SimIoc, EpicsSignal};
            /// let ioc = SimIoc::trigger_with_pc("tp:");
            /// let enabled = EpicsSignal::<Enum>::new("tp:enabled", "enabled");
            /// enabled.connect(&ioc.transport()).await?;
            /// enabled.put("off").await?;
            /// assert_eq!(enabled.get_label().await?, "off");
            /// # Ok(()) }
            /// ```
            pub async fn get_label(&self) -> Result<String> {
                label(self.get_labelled().await?, self.signal_meta().name(), self.read_pv())
            }
        }
    };
}

labelled_reads!([L: PvLayout] EpicsSignal<Enum, L>);
labelled_reads!([] EpicsSignalRO<Enum>);

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(strings: &[&str]) -> PvMetadata {
        PvMetadata { enum_strs: Some(strings.iter().map(|s| s.to_string()).collect()), ..PvMetadata::default() }
    }

    #[test]
    fn an_index_gets_its_label_from_the_pvs_strings() {
        let value = labelled(Enum::Index(1), metadata(&["off", "on"]));
        assert_eq!(label(value, "det_enabled", "det:enabled").unwrap(), "on");
    }

    #[test]
    fn an_index_beyond_the_strings_has_no_label_and_the_error_names_signal_and_pv() {
        let value = labelled(Enum::Index(3), metadata(&["off", "on"]));
        assert_eq!(value, Enum::Index(3));
        let message = label(value, "det_enabled", "det:enabled").unwrap_err().to_string();
        assert!(message.contains("det_enabled") && message.contains("det:enabled"), "{message}");
        assert!(message.contains("enum index 3"), "{message}");
    }
}
