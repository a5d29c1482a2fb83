//! What the mock keeps about each PV it made ([`PvState`]), and the typed
//! handle a test holds on a signal's PVs ([`MockPv`]).

use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use ophyd_core::__private::lock;
use ophyd_core::{Enum, Value};
use tokio::sync::watch;

use super::hold::{self, HoldState, PutHold};
use super::Inner;
use crate::sim::{PutAction, SimIoc};
use crate::transport::PvMetadata;
use crate::EpicsValue;

/// What answers a client's put, as the IOC received it.
type PutCallback = Arc<dyn Fn(&Value) + Send + Sync>;

/// A PV the mock made: its puts, who answers them, and who follows it.
pub(super) struct PvState {
    pub(super) name: String,
    /// Whether clients may write it (a signal declared it written).
    writable: AtomicBool,
    puts: Mutex<Vec<Value>>,
    /// The read-backs that take every value put to it.
    followers: Mutex<Vec<String>>,
    on_put: Mutex<Option<PutCallback>>,
    /// While puts are held: what releases them.
    pub(super) hold: Mutex<Option<watch::Receiver<HoldState>>>,
}

impl PvState {
    pub(super) fn new(name: &str, writable: bool) -> PvState {
        PvState {
            name: name.to_owned(),
            writable: AtomicBool::new(writable),
            puts: Mutex::new(Vec::new()),
            followers: Mutex::new(Vec::new()),
            on_put: Mutex::new(None),
            hold: Mutex::new(None),
        }
    }

    /// Let clients write the PV; whether it was read-only until now.
    pub(super) fn make_writable(&self) -> bool {
        !self.writable.swap(true, Ordering::SeqCst)
    }

    /// Make `read_back` take every value put to this PV.
    pub(super) fn follow_with(&self, read_back: &str) {
        let mut followers = lock(&self.followers);
        if !followers.iter().any(|f| f == read_back) {
            followers.push(read_back.to_owned());
        }
    }

    fn followers(&self) -> Vec<String> {
        lock(&self.followers).clone()
    }

    /// A client's put of `value` (converted to the PV's type) arrived:
    /// record it, pass it to the read-backs, let the callback answer it,
    /// then store it, completing at once or when the hold ends.
    pub(super) fn client_put(&self, ioc: &SimIoc, value: &Value) -> PutAction {
        lock(&self.puts).push(value.clone());
        for read_back in self.followers() {
            if let Err(e) = ioc.try_write(&read_back, value) {
                tracing::warn!(pv = %self.name, read_back = %read_back, error = %e, "the read-back cannot take the value");
            }
        }
        // Called with no lock held: it may set this PV or any other.
        let callback = lock(&self.on_put).clone();
        if let Some(callback) = callback {
            callback(value);
        }
        let completion = lock(&self.hold).clone().map(hold::completion);
        PutAction::Write { value: value.clone(), completion }
    }
}

/// A handle on the PVs of one signal in a [`MockIoc`](super::MockIoc),
/// typed by the signal's value type. Cheap to clone and `'static`, so a
/// callback can keep one: `mock.on_put(&det.acquire, move |_|
/// reading.set(3.0))` with `let reading = mock.pv(&det.reading)`.
///
/// It does not keep the mock IOC alive; its methods panic once every
/// `MockIoc` and transport of it is gone.
pub struct MockPv<T> {
    mock: Weak<Inner>,
    signal: String,
    read: String,
    /// The PV the signal writes (for a read-only signal, the one it reads).
    written: Arc<PvState>,
    _value: PhantomData<fn() -> T>,
}

impl<T> Clone for MockPv<T> {
    fn clone(&self) -> Self {
        MockPv {
            mock: self.mock.clone(),
            signal: self.signal.clone(),
            read: self.read.clone(),
            written: self.written.clone(),
            _value: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for MockPv<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MockPv(`{}`: {})", self.signal, self.written.name)
    }
}

impl<T: EpicsValue> MockPv<T> {
    pub(super) fn new(mock: Weak<Inner>, signal: &str, read: &str, written: Arc<PvState>) -> MockPv<T> {
        MockPv { mock, signal: signal.to_owned(), read: read.to_owned(), written, _value: PhantomData }
    }

    fn ioc(&self) -> SimIoc {
        match self.mock.upgrade() {
            Some(inner) => inner.ioc.clone(),
            None => panic!("the mock IOC of `{}` is gone (every MockIoc and transport of it was dropped)", self.signal),
        }
    }

    /// The signal's PVs that take a value the IOC sets: the one it writes
    /// and the read-backs that follow it (the one it reads is among them).
    fn pvs(&self) -> Vec<String> {
        let mut pvs = vec![self.written.name.clone()];
        pvs.extend(self.written.followers());
        pvs
    }

    /// Change the value as if the IOC did: the PV the signal writes and the
    /// read-backs that follow it take `value`, and monitors and subscribers
    /// see it. Puts are not recorded and callbacks not called. An enum
    /// label the PV does not have becomes its next string.
    ///
    /// # Panics
    /// If the value does not fit the PV (an array longer than
    /// [`MOCK_ARRAY_CAPACITY`](super::MOCK_ARRAY_CAPACITY), an enum index
    /// beyond its strings).
    pub fn set(&self, value: impl Into<T>) {
        let ioc = self.ioc();
        let value = match value.into().to_value() {
            Value::String(label) if T::NATIVE == crate::NativeType::Enum => self.enum_index(&ioc, &label),
            value => value,
        };
        for pv in self.pvs() {
            if let Err(e) = ioc.try_write(&pv, &value) {
                panic!("the mock cannot set `{}` ({pv}) to {value}: {e}", self.signal);
            }
        }
    }

    /// The index of enum `label`, made the PV's next string if it is new.
    fn enum_index(&self, ioc: &SimIoc, label: &str) -> Value {
        let mut strings = ioc.metadata(&self.written.name).and_then(|m| m.enum_strs).unwrap_or_default();
        let index = match strings.iter().position(|s| s == label) {
            Some(index) => index,
            None => {
                strings.push(label.to_owned());
                self.update_metadata(ioc, |m| m.enum_strs = Some(strings.clone()));
                strings.len() - 1
            }
        };
        Value::Int(index as i64)
    }

    fn update_metadata(&self, ioc: &SimIoc, change: impl Fn(&mut PvMetadata)) {
        for pv in self.pvs() {
            if let Some(mut metadata) = ioc.metadata(&pv) {
                change(&mut metadata);
                ioc.set_metadata(&pv, metadata);
            }
        }
    }

    /// The value as the IOC holds it (for a read-back pair, the
    /// read-back), without a client read.
    ///
    /// # Panics
    /// If the PV holds a value the type cannot (another signal of
    /// another type made it).
    pub fn value(&self) -> T {
        let value = self.ioc().get(&self.read).unwrap_or_else(|| panic!("the mock has no PV {}", self.read));
        T::from_value(&value).unwrap_or_else(|| {
            panic!("`{}`'s PV {} holds {value}, which is not a {}", self.signal, self.read, T::TYPE_NAME)
        })
    }

    /// Every value a client put, in order, as the IOC received it (an enum
    /// label as its index).
    pub fn puts(&self) -> Vec<T> {
        lock(&self.written.puts).iter().filter_map(T::from_value).collect()
    }

    /// Forget the puts recorded so far.
    pub fn clear_puts(&self) {
        lock(&self.written.puts).clear();
    }

    /// Call `callback` with each value a client puts, when the put arrives:
    /// after the read-backs took it, before the PV stores it and the put
    /// completes, so what the callback sets (other signals, a read-back that
    /// does not follow) is there when the client hears the put is done. It
    /// runs on the task that put, and replaces any callback set before.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> ophyd_core::Result<()> {
    /// use ophyd_core::prelude::*;
    /// use ophyd_epics::{mock::MockIoc, EpicsSignalWithRbv};
    /// let mock = MockIoc::new();
    /// let time = EpicsSignalWithRbv::<f64>::new("cam:AcquireTime", "acquire_time");
    /// time.connect(&mock.transport()).await?;
    /// // The camera rounds exposure times to milliseconds.
    /// let camera = mock.pv(&time);
    /// mock.pv(&time).on_put(move |t| camera.set((t * 1000.0).round() / 1000.0));
    /// time.put(0.12345).await?;
    /// assert_eq!(time.get().await?, 0.123);
    /// # Ok(()) }
    /// ```
    pub fn on_put(&self, callback: impl Fn(&T) + Send + Sync + 'static) {
        let (signal, pv) = (self.signal.clone(), self.written.name.clone());
        let typed = move |value: &Value| match T::from_value(value) {
            Some(value) => callback(&value),
            None => tracing::warn!(signal = %signal, pv = %pv, %value, "a put the callback's type cannot hold"),
        };
        *lock(&self.written.on_put) = Some(Arc::new(typed));
    }

    /// Hold the completion of every put until the returned [`PutHold`] is
    /// released, failed or dropped. See [`MockIoc::hold_puts`](super::MockIoc::hold_puts).
    pub fn hold_puts(&self) -> PutHold {
        PutHold::start(self.written.clone(), &self.signal)
    }

    /// Take the signal's PVs off the network.
    pub fn disconnect(&self) {
        self.set_connected(false)
    }

    /// Bring the signal's PVs back on the network.
    pub fn reconnect(&self) {
        self.set_connected(true)
    }

    fn set_connected(&self, connected: bool) {
        let ioc = self.ioc();
        ioc.set_connected(&self.written.name, connected);
        if self.read != self.written.name {
            ioc.set_connected(&self.read, connected);
        }
    }

    /// Give the PVs engineering units (ophyd-async's `set_mock_units`).
    pub fn set_units(&self, units: &str) {
        self.update_metadata(&self.ioc(), |m| m.units = Some(units.to_owned()));
    }

    /// Give the PVs a display precision (ophyd-async's
    /// `set_mock_precision`); `set_and_wait` then takes 10^-precision as
    /// its tolerance, as on a real PV.
    pub fn set_precision(&self, precision: i16) {
        self.update_metadata(&self.ioc(), |m| m.precision = Some(precision));
    }
}

impl MockPv<Enum> {
    /// Give the enum PVs `strings`. See [`MockIoc::set_enum_strings`](super::MockIoc::set_enum_strings).
    pub fn set_enum_strings(&self, strings: &[&str]) {
        let strings: Vec<String> = strings.iter().map(|s| s.to_string()).collect();
        self.update_metadata(&self.ioc(), |m| m.enum_strs = Some(strings.clone()));
    }
}
