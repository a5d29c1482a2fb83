//! What the Channel Access benchmarks share (`benches/ca.rs`,
//! `benches/peers.rs`): the devices, their bare epics-ca (libca)
//! counterparts, and each work measured interleaved with the bare loop
//! doing the same, so that the ratio is taken under the same conditions.

use std::ffi::CString;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use epics_ca::channel::TypedChannel;
use epics_ca::request::Time;
use epics_ca::types::{EpicsEnum, EpicsString};
use epics_ca::{Channel, Context};
use epics_ca_sys as sys;
use futures::future::join_all;
use futures::FutureExt;
use ophyd_core::prelude::*;
use ophyd_core::Result;
use ophyd_epics::{EpicsSignal, EpicsSignalRO, Transport};

/// A detector whose trigger is a put-complete write and whose reading is
/// another PV.
#[derive(Device)]
#[device(custom(trigger))]
pub struct Detector {
    #[component(suffix = ":double", kind = "omitted", put_complete)]
    acquire: EpicsSignal<f64>,
    #[component(suffix = ":readonly", kind = "hinted")]
    reading: EpicsSignalRO<f64>,
}

impl Trigger for Detector {
    fn trigger(&self) -> Status {
        self.acquire.set(1.0)
    }
}

/// Ten PVs of every kind the soft IOC serves.
#[derive(Device)]
pub struct Ten {
    #[component(suffix = ":double")]
    a: EpicsSignal<f64>,
    #[component(suffix = ":long")]
    b: EpicsSignal<i32>,
    #[component(suffix = ":slow")]
    c: EpicsSignal<f64>,
    #[component(suffix = ":setpoint")]
    d: EpicsSignal<f64>,
    #[component(suffix = ":setpoint_RBV")]
    e: EpicsSignalRO<f64>,
    #[component(suffix = ":readonly")]
    f: EpicsSignalRO<f64>,
    #[component(suffix = ":float")]
    g: EpicsSignal<f32>,
    #[component(suffix = ":short")]
    h: EpicsSignal<i16>,
    #[component(suffix = ":mbbo")]
    i: EpicsSignal<Enum>,
    #[component(suffix = ":string")]
    j: EpicsSignal<String>,
}

/// The PV suffixes of [`Ten`], in order.
pub const TEN: [&str; 10] =
    ["double", "long", "slow", "setpoint", "setpoint_RBV", "readonly", "float", "short", "mbbo", "string"];

/// A hundred PVs: ten [`Ten`]s, a device tree two levels deep.
#[derive(Device)]
pub struct Hundred {
    #[component]
    t0: Ten,
    #[component]
    t1: Ten,
    #[component]
    t2: Ten,
    #[component]
    t3: Ten,
    #[component]
    t4: Ten,
    #[component]
    t5: Ten,
    #[component]
    t6: Ten,
    #[component]
    t7: Ten,
    #[component]
    t8: Ten,
    #[component]
    t9: Ten,
}

/// The same ten PVs as bare libca channels.
pub struct BareTen {
    a: TypedChannel<f64>,
    b: TypedChannel<i32>,
    c: TypedChannel<f64>,
    d: TypedChannel<f64>,
    e: TypedChannel<f64>,
    f: TypedChannel<f64>,
    g: TypedChannel<f32>,
    h: TypedChannel<i16>,
    i: TypedChannel<EpicsEnum>,
    j: TypedChannel<EpicsString>,
}

impl BareTen {
    /// Connect the ten channels below `prefix`.
    pub async fn connect(ctx: &Context, prefix: &str) -> BareTen {
        let pv = |suffix: &str| format!("{prefix}:{suffix}");
        BareTen {
            a: typed(ctx, &pv("double")).await,
            b: typed(ctx, &pv("long")).await,
            c: typed(ctx, &pv("slow")).await,
            d: typed(ctx, &pv("setpoint")).await,
            e: typed(ctx, &pv("setpoint_RBV")).await,
            f: typed(ctx, &pv("readonly")).await,
            g: typed(ctx, &pv("float")).await,
            h: typed(ctx, &pv("short")).await,
            i: typed(ctx, &pv("mbbo")).await,
            j: typed(ctx, &pv("string")).await,
        }
    }

    /// Every value with its time stamp, as `read()` gives: the ten gets go
    /// out together, then all are awaited.
    pub async fn read(&mut self) {
        let (a, b, c, d, e, f, g, h, i, j) = futures::join!(
            self.a.get::<Time<f64>>(),
            self.b.get::<Time<i32>>(),
            self.c.get::<Time<f64>>(),
            self.d.get::<Time<f64>>(),
            self.e.get::<Time<f64>>(),
            self.f.get::<Time<f64>>(),
            self.g.get::<Time<f32>>(),
            self.h.get::<Time<i16>>(),
            self.i.get::<Time<EpicsEnum>>(),
            self.j.get::<Time<EpicsString>>(),
        );
        let all = (a.unwrap(), b.unwrap(), c.unwrap(), d.unwrap(), e.unwrap());
        std::hint::black_box((all, f.unwrap(), g.unwrap(), h.unwrap(), i.unwrap(), j.unwrap()));
    }
}

/// The floor of a device's `read()`: libca's own calls, every get issued,
/// one flush, every reply awaited (and left undecoded). Unlike epics-ca's
/// gets, which flush one by one, this is what one round trip costs.
pub struct Floor {
    channels: Vec<Channel>,
}

/// The replies a [`Floor::read`] still awaits.
struct Countdown {
    left: AtomicUsize,
    done: tokio::sync::Notify,
}

impl Floor {
    /// Connect a channel to each of `pvs`.
    pub async fn connect(ctx: &Context, pvs: impl IntoIterator<Item = String>) -> Floor {
        let mut channels: Vec<Channel> =
            pvs.into_iter().map(|pv| Channel::new(ctx, &CString::new(pv).unwrap()).unwrap()).collect();
        join_all(channels.iter_mut().map(Channel::connected)).await;
        Floor { channels }
    }

    /// Get every PV's value with its time stamp, in its native type.
    pub async fn read(&self) {
        let countdown = Arc::new(Countdown { left: AtomicUsize::new(self.channels.len()), done: Default::default() });
        let done = countdown.done.notified();
        let context = self.channels[0].context();
        context.with(|| {
            for channel in &self.channels {
                let usr = Arc::into_raw(Arc::clone(&countdown)).cast_mut().cast();
                // SAFETY: `channel` is connected and outlives the call;
                // `usr` is a strong count of `countdown` that `on_reply`
                // takes back; `with` attaches this thread to the channel's
                // context. Count 0: the array as long as it is now.
                let status = unsafe {
                    let time_type = i64::from(sys::ca_field_type(channel.raw())) + i64::from(sys::DBR_TIME_STRING);
                    sys::ca_array_get_callback(time_type as _, 0, channel.raw(), Some(on_reply), usr)
                };
                assert_eq!(status, sys::ECA_NORMAL, "ca_array_get_callback");
            }
            // SAFETY: no arguments; the context is attached.
            unsafe { sys::ca_flush_io() };
        });
        done.await;
    }
}

/// libca's reply callback of [`Floor::read`].
unsafe extern "C" fn on_reply(args: sys::event_handler_args) {
    // SAFETY: `usr` is the strong count `Floor::read` made for this request.
    let countdown = unsafe { Arc::from_raw(args.usr.cast_const().cast::<Countdown>()) };
    std::hint::black_box(args.dbr);
    if countdown.left.fetch_sub(1, Ordering::AcqRel) == 1 {
        countdown.done.notify_one();
    }
}

/// A device with one `stage_sigs` entry.
#[derive(Device)]
pub struct Staged {
    #[component(suffix = ":long", kind = "omitted", stage = 7)]
    value: EpicsSignal<i32>,
}

/// A bare channel to `pv`, connected, typed `T`.
pub async fn typed<T: epics_ca::types::Value + ?Sized>(ctx: &Context, pv: &str) -> TypedChannel<T> {
    let mut ch = Channel::new(ctx, &CString::new(pv).unwrap()).unwrap();
    ch.connected().await;
    ch.into_typed::<T>().map_err(|(e, _)| e).unwrap()
}

/// The median of `samples`.
pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Durations of bare libca and ophyd-rs doing one work, taken alternately.
#[derive(Default)]
pub struct Samples {
    /// The bare libca loop's.
    pub bare: Vec<Duration>,
    /// ophyd-rs's.
    pub ours: Vec<Duration>,
}

/// Medians of bare libca and ophyd-rs doing one work.
#[derive(Clone, Copy, Debug)]
pub struct Pair {
    /// The bare libca loop's.
    pub bare: Duration,
    /// ophyd-rs's.
    pub ours: Duration,
}

impl Samples {
    /// The medians.
    pub fn medians(self) -> Pair {
        Pair { bare: median(self.bare), ours: median(self.ours) }
    }
}

impl Pair {
    /// ophyd-rs's median over bare libca's.
    pub fn ratio(&self) -> f64 {
        self.ours.as_secs_f64() / self.bare.as_secs_f64()
    }
}

/// Trigger (put-complete) + read, one cycle, `n` times each.
pub async fn cycle(ctx: &Context, transport: &Transport, prefix: &str, n: usize) -> Result<Pair> {
    let mut acquire = typed::<f64>(ctx, &format!("{prefix}:double")).await;
    let mut reading = typed::<f64>(ctx, &format!("{prefix}:readonly")).await;
    let det = Detector::new(prefix, "det");
    det.connect(transport).await?;
    let mut samples = Samples::default();
    for _ in 0..n {
        let t = Instant::now();
        acquire.put(1.0).unwrap().await.unwrap();
        std::hint::black_box(reading.get::<Time<f64>>().await.unwrap().value);
        samples.bare.push(t.elapsed());

        let t = Instant::now();
        det.trigger().await?;
        std::hint::black_box(det.read().await?);
        samples.ours.push(t.elapsed());
    }
    Ok(samples.medians())
}

/// `read()` of a device of ten PVs (bare: ten epics-ca gets issued
/// together, then awaited), `n` times each.
pub async fn read_ten(ctx: &Context, transport: &Transport, prefix: &str, n: usize) -> Result<Pair> {
    let mut bare = BareTen::connect(ctx, prefix).await;
    let ten = Ten::new(prefix, "ten");
    ten.connect(transport).await?;
    let mut samples = Samples::default();
    for _ in 0..n {
        let t = Instant::now();
        bare.read().await;
        samples.bare.push(t.elapsed());

        let t = Instant::now();
        std::hint::black_box(ten.read().await?);
        samples.ours.push(t.elapsed());
    }
    Ok(samples.medians())
}

/// `read()` of `device` — [`Ten`] or [`Hundred`] below `prefix`, `tens`
/// times [`TEN`] — connected through `transport`, against its floor
/// ([`Floor`]: the same gets with libca itself, one flush), alternately,
/// `n` times each.
pub async fn read_against_the_floor<D: Device>(
    ctx: &Context,
    transport: &Transport,
    device: D,
    prefix: &str,
    tens: usize,
    n: usize,
) -> Result<Pair> {
    device.connect(transport).await?;
    let floor = Floor::connect(ctx, (0..tens).flat_map(|_| TEN.map(|suffix| format!("{prefix}:{suffix}")))).await;
    let mut samples = Samples::default();
    for _ in 0..n {
        let t = Instant::now();
        floor.read().await;
        samples.bare.push(t.elapsed());

        let t = Instant::now();
        std::hint::black_box(device.read().await?);
        samples.ours.push(t.elapsed());
    }
    Ok(samples.medians())
}

/// `read()` of a device of ten monitored PVs (connected through
/// `transport` with `auto_monitor`): the median time of one read, over
/// `batches` batches of a hundred. No bare counterpart: no request leaves.
pub async fn read_ten_monitored(transport: &Transport, prefix: &str, batches: usize) -> Result<Duration> {
    let ten = Ten::new(prefix, "ten");
    ten.connect(&transport.clone().with_auto_monitor(true)).await?;
    // Until every monitor has brought its first value, reads make the round trip.
    let deadline = Instant::now() + Duration::from_secs(10);
    while ten.read().now_or_never().is_none() {
        assert!(Instant::now() < deadline, "the monitors brought no values");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut samples = Vec::with_capacity(batches);
    for _ in 0..batches {
        let t = Instant::now();
        for _ in 0..100 {
            std::hint::black_box(ten.read().await?);
        }
        samples.push(t.elapsed() / 100);
    }
    Ok(median(samples))
}

/// Stage + unstage of one `stage_sigs` entry (bare: read the original,
/// write the staged value and read it back, put the original back and read
/// it back), `n` times each.
pub async fn stage(ctx: &Context, transport: &Transport, prefix: &str, n: usize) -> Result<Pair> {
    let mut value = typed::<i32>(ctx, &format!("{prefix}:long")).await;
    let staged = Staged::new(prefix, "staged");
    staged.connect(transport).await?;
    let mut samples = Samples::default();
    for _ in 0..n {
        let t = Instant::now();
        let original = value.get::<Time<i32>>().await.unwrap().value;
        value.put(7).unwrap().await.unwrap();
        assert_eq!(value.get::<Time<i32>>().await.unwrap().value, 7);
        value.put(original).unwrap().await.unwrap();
        assert_eq!(value.get::<Time<i32>>().await.unwrap().value, original);
        samples.bare.push(t.elapsed());

        let t = Instant::now();
        staged.stage().await?;
        staged.unstage().await?;
        samples.ours.push(t.elapsed());
    }
    Ok(samples.medians())
}
