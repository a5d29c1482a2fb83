//! What connecting to a PV the simulated IOC does not serve says. A CA
//! client cannot tell a PV nobody serves from one whose IOC is slow to
//! answer, so it waits out the connect timeout; the simulated IOC knows at
//! once, and names the PVs it does serve that look most like the one asked
//! for (a typo in a suffix, a missing `:`).

use crate::transport::PvError;

/// How many similar names the error lists.
const NEAREST: usize = 3;

/// The error for a connect to `pv`, which none of `served` is.
pub(super) fn unknown_pv(pv: &str, served: &[String]) -> PvError {
    let nearest = nearest(pv, served);
    let reason = if nearest.is_empty() {
        "the simulated IOC serves no PV of that name (it serves none at all)".to_owned()
    } else {
        format!("the simulated IOC serves no PV of that name; the nearest it serves: {}", nearest.join(", "))
    };
    PvError::Other(reason)
}

/// The names in `served` closest to `pv` (by edit distance, ties by name).
fn nearest<'a>(pv: &str, served: &'a [String]) -> Vec<&'a str> {
    let mut ranked: Vec<(usize, &str)> =
        served.iter().map(|name| (strsim::levenshtein(pv, name), name.as_str())).collect();
    ranked.sort_unstable();
    ranked.into_iter().take(NEAREST).map(|(_, name)| name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn the_nearest_names_come_first_and_at_most_three() {
        let served = names(&["sc:S1", "sc:S2", "sc:CNT", "sc:TP", "other:thing"]);
        assert_eq!(nearest("sc:CNTT", &served), ["sc:CNT", "sc:TP", "sc:S1"]);
        assert_eq!(nearest("sc:T", &served), ["sc:TP", "sc:CNT", "sc:S1"], "ties by name");
    }

    /// A scaler whose count PV is misspelt (`CNTT`).
    #[derive(ophyd_core::Device)]
    struct Scaler {
        #[component(suffix = ":TP", kind = "config")]
        preset_time: crate::EpicsSignal<f64>,
        #[component(suffix = ":CNTT", kind = "omitted")]
        count: crate::EpicsSignal<ophyd_core::Enum>,
    }

    #[tokio::test]
    async fn connecting_to_a_pv_the_ioc_does_not_serve_fails_without_waiting_naming_the_nearest() {
        use ophyd_core::{Device, Error};
        let ioc = crate::sim::SimIoc::new();
        ioc.add(crate::sim::PvSpec::double("sc:TP", 1.0)).add(crate::sim::PvSpec::enumeration(
            "sc:CNT",
            &["Done", "Count"],
            0,
        ));
        let scaler = Scaler::new("sc", "scaler");
        // A timeout the test would never reach: the error must come first,
        // and be about the PV, not a timeout.
        let err = scaler.connect_timeout(&ioc.transport(), std::time::Duration::from_secs(3600)).await.unwrap_err();
        let text = err.to_string();
        match err {
            Error::Connect { signal, pv, reason } => {
                assert_eq!((signal.as_str(), pv.as_str()), ("scaler_count", "sc:CNTT"));
                assert!(reason.contains("nearest it serves: sc:CNT, sc:TP"), "{text}");
            }
            other => panic!("expected a failed connect naming the PV, got {other}"),
        }
        assert!(scaler.preset_time.connected(), "the PVs that exist are connected");
    }

    #[test]
    fn an_ioc_without_pvs_says_so() {
        assert!(unknown_pv("x", &[]).to_string().contains("serves none at all"));
    }
}
