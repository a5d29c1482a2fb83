//! Data a device writes outside the events (an areaDetector's frames in an
//! HDF5 file): the [`StreamAsset`]s a run turns into event-model's
//! `stream_resource` and `stream_datum` documents, as ophyd-async's
//! `WritesStreamAssets` devices give bluesky.

use std::future::Future;
use std::ops::Range;

use crate::data::{DataKey, DataMap};
use crate::device::Device;
use crate::error::Result;
use crate::value::Value;

/// A resource holding external data (a file and a dataset in it): what a
/// run emits as a `stream_resource` document, with its `run_start` added.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamResource {
    /// Unique id; [`StreamDatum::stream_resource`] refers to it.
    pub uid: String,
    /// The data key (of [`WritesStreamAssets::describe_streams`]) whose
    /// data the resource holds.
    pub data_key: String,
    /// The resource's format: `"application/x-hdf5"`.
    pub mimetype: String,
    /// Where the resource is: `"file://localhost/data/scan_000000.h5"`.
    pub uri: String,
    /// What a reader needs to find the data in it, in order (for HDF5:
    /// `dataset` and `chunk_shape`).
    pub parameters: Vec<(String, Value)>,
}

/// A range of the data in a resource: what a run emits as a `stream_datum`
/// document, with the descriptor and the events' sequence numbers added.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamDatum {
    /// The resource's uid.
    pub stream_resource: String,
    /// Unique id (event-model suggests `<stream_resource>/<n>`).
    pub uid: String,
    /// The indices in the resource the latest events' data takes, in
    /// events (an event may hold several frames): `start..stop`, `stop`
    /// exclusive; one per event not yet covered.
    pub indices: Range<u64>,
}

/// One document a stream-writing device hands the run.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamAsset {
    /// A new resource (emitted once, before its first datum).
    Resource(StreamResource),
    /// A new range of data in a resource.
    Datum(StreamDatum),
}

/// A device that writes data outside the events and says where
/// (ophyd-async's `WritesStreamAssets`): its external data keys go into
/// the run's descriptor, and after each point the run asks it for the
/// resources and data written since it last asked.
///
/// `#[derive(Device)]` gives every device the default (no external data);
/// `#[device(custom(stream_assets))]` says you write this impl.
pub trait WritesStreamAssets: Device {
    /// The data keys of the external data, each with `external: "STREAM:"`,
    /// its `shape` (per event) and `dtype_numpy`.
    fn describe_streams(&self) -> impl Future<Output = Result<DataMap<DataKey>>> + Send {
        std::future::ready(Ok(DataMap::new()))
    }

    /// The resources opened and the data written since the last call:
    /// each resource before its first datum.
    fn collect_asset_docs(&self) -> impl Future<Output = Result<Vec<StreamAsset>>> + Send {
        std::future::ready(Ok(Vec::new()))
    }
}
