//! Real IOCs for the Channel Access tests, run as child processes on
//! loopback: EPICS base's soft IOC (`iocs/soft.db`, or any [`SoftDatabase`],
//! through the `epicscorelibs` Python package), the staging tutorial's own
//! IOC (caproto's `trigger_with_pc`), caproto's motor record simulation
//! (`fake_motor_record`), its areaDetector simulation (`areadetector_image`) and a
//! scaler record simulated with caproto (`iocs/scaler_ioc.py`). All come from the project's Python environment, `.venv` at the repository root (`scripts/setup-venv.sh`).
//!
//! # One CA client, several IOCs
//!
//! libca reads its configuration (`EPICS_CA_ADDR_LIST` and friends) from the
//! process environment once, when a client context starts searching, and
//! two IOCs cannot share a port on one host (a unicast search reaches only
//! one of them). So the first call to [`ca_client_environment`] in a test
//! process reserves a small pool of free loopback ports and lists them all in
//! `EPICS_CA_ADDR_LIST`; every [`Ioc`] then runs on a port leased from the
//! pool and returns it when dropped (a test waits for a free port when all
//! are in use). Each IOC gets a PV prefix of its own, so no two IOCs of a
//! process ever serve the same PV. Create CA transports only after calling
//! [`ca_client_environment`]; one transport per process is enough, as its
//! context reaches every IOC of the pool. Under `cargo nextest`, where each
//! test is a process, each test gets its own pool.
//!
//! The process also runs a CA repeater (ophyd-epics' in-process one, on a
//! thread), as every EPICS host does: the IOCs send their beacons to it and
//! it relays them to the CA clients. It listens on a free loopback port of
//! its own rather than the host's repeater port, so the test network stays
//! apart from anything else on the machine; `EPICS_CA_REPEATER_PORT` points
//! the clients (which then find it running) and the IOCs at it.
//!
//! A client finds a restarted IOC again by itself: libca searches for
//! disconnected channels every 10 s (its "disconnect governor"), so tests of
//! reconnection wait up to about that long.
//!
//! # Isolation
//!
//! Everything stays on 127.0.0.1: the IOCs bind only loopback
//! (`EPICS_CAS_INTF_ADDR_LIST`), send beacons only to the repeater, and the
//! client searches only the pool (`EPICS_CA_AUTO_ADDR_LIST=NO`). IOCs are
//! killed when their [`Ioc`] is dropped, during a panic too, and exit by
//! themselves when the test process dies.

use std::fmt;
use std::fs;
use std::io;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

/// How many IOCs one test process can run at a time.
const POOL_SIZE: usize = 6;
/// How long an IOC may take to start.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a test waits for a port of the pool.
const LEASE_TIMEOUT: Duration = Duration::from_secs(300);

const LOOPBACK: Ipv4Addr = Ipv4Addr::LOCALHOST;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The kinds of IOC the tests run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IocKind {
    /// EPICS base's soft IOC: `iocs/soft.db` and `iocs/soft.acf` unless
    /// started with [`Ioc::soft_serving`].
    Soft,
    /// The staging tutorial's IOC: caproto's `trigger_with_pc`.
    TriggerWithPc,
    /// caproto's motor record simulation, `fake_motor_record`: motors
    /// `mtr1` (user limits 0..10, 1 unit/s), `mtr2`, `mtr3`.
    FakeMotorRecord,
    /// A synApps scaler record simulated with caproto (`iocs/scaler_ioc.py`):
    /// `scaler1`, with the fields ophyd's `EpicsScaler` reads (`.CNT`,
    /// `.TP`, `.S1`..`.S32`, `.NM1`..`.NM32`, ...).
    Scaler,
    /// caproto's areaDetector simulation, `too_clever.areadetector_image`:
    /// `cam1:` and `image1:` with the PVs of ophyd's `SimDetectorCam` and
    /// `ImagePlugin`, served as numbers and strings rather than enums, and
    /// no acquisition. It spends 5 s at start trying to reach `13SIM1:`.
    AreaDetectorImage,
}

impl IocKind {
    fn short_name(self) -> &'static str {
        match self {
            IocKind::Soft => "soft",
            IocKind::TriggerWithPc => "tpc",
            IocKind::FakeMotorRecord => "fmr",
            IocKind::Scaler => "scl",
            IocKind::AreaDetectorImage => "adi",
        }
    }
}

/// What EPICS base's soft IOC serves: databases of `iocs/`, each load with
/// the IOC's prefix as macro `P` and macros of its own, so that one template
/// loaded once per device serves any number of distinct PVs.
///
/// ```no_run
/// # use ophyd_tests::ioc::{Ioc, SoftDatabase};
/// // 100 devices of ten PVs each: `<prefix>d0:v0` ... `<prefix>d99:v9`.
/// let ioc = Ioc::soft_serving(SoftDatabase::new().load_each("block.db", (0..100).map(|i| format!("D=d{i}"))));
/// ```
#[derive(Clone, Debug, Default)]
pub struct SoftDatabase {
    /// `(file of iocs/, macros besides P)`, loaded in this order.
    loads: Vec<(String, String)>,
    /// An access security file of `iocs/`.
    access_security: Option<String>,
}

impl SoftDatabase {
    /// No records yet.
    pub fn new() -> SoftDatabase {
        SoftDatabase::default()
    }

    /// `iocs/soft.db` under `iocs/soft.acf`: what [`Ioc::soft`] serves.
    pub fn standard() -> SoftDatabase {
        SoftDatabase { access_security: Some("soft.acf".to_owned()), ..SoftDatabase::new() }.load("soft.db", "")
    }

    /// Also load `file` of `iocs/` with `macros` (`"D=dev7"`; `P` is always
    /// set).
    pub fn load(mut self, file: &str, macros: impl Into<String>) -> SoftDatabase {
        self.loads.push((file.to_owned(), macros.into()));
        self
    }

    /// Load `file` of `iocs/` once per entry of `each`, with its macros.
    pub fn load_each(self, file: &str, each: impl IntoIterator<Item = String>) -> SoftDatabase {
        each.into_iter().fold(self, |database, macros| database.load(file, macros))
    }

    /// These loads, then `other`'s (under either's access security file,
    /// this one's if both have one).
    pub fn and(mut self, other: SoftDatabase) -> SoftDatabase {
        self.loads.extend(other.loads);
        self.access_security = self.access_security.or(other.access_security);
        self
    }

    fn add_to(&self, command: &mut Command, prefix: &str) {
        let dir = iocs_dir();
        for (file, macros) in &self.loads {
            command.arg("-r").arg(dir.join(file)).arg(macros);
        }
        if let Some(acf) = &self.access_security {
            command.arg("-a").arg(dir.join(acf));
        }
        command.arg("-m").arg(format!("P={prefix}"));
    }
}

/// Why an IOC could not start.
#[derive(Debug)]
pub struct IocError(String);

impl fmt::Display for IocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for IocError {}

/// The folder with the IOCs' databases and launchers.
pub fn iocs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("iocs")
}

/// The loopback CA network of this test process: the port pool and the
/// repeater.
struct Network {
    ports: Vec<u16>,
    free: Mutex<Vec<u16>>,
    returned: Condvar,
    repeater_port: u16,
}

static NETWORK: OnceLock<Network> = OnceLock::new();

/// Set this process's CA client environment to the test network (once;
/// later calls do nothing) and return the address list it searches. Call it
/// before creating any CA client context.
pub fn ca_client_environment() -> String {
    address_list(network())
}

/// The process's CA transport, on the test network: one context reaches
/// every IOC of the pool.
#[cfg(feature = "ca")]
pub fn ca_transport() -> ophyd_epics::Transport {
    static TRANSPORT: OnceLock<ophyd_epics::Transport> = OnceLock::new();
    TRANSPORT
        .get_or_init(|| {
            ca_client_environment();
            ophyd_epics::ca::CaTransport::new().expect("a CA client context").into_transport()
        })
        .clone()
}

fn address_list(network: &Network) -> String {
    network.ports.iter().map(|p| format!("{LOOPBACK}:{p}")).collect::<Vec<_>>().join(" ")
}

fn network() -> &'static Network {
    NETWORK.get_or_init(|| {
        let repeater_port = ophyd_epics::ca::start_repeater(SocketAddrV4::new(LOOPBACK, 0).into())
            .unwrap_or_else(|e| panic!("cannot start the CA repeater: {e}"))
            .port();
        let ports = free_ports(POOL_SIZE).unwrap_or_else(|e| panic!("cannot find free ports: {e}"));
        let network = Network { free: Mutex::new(ports.clone()), ports, returned: Condvar::new(), repeater_port };
        // Before any CA context exists in this process: libca reads these
        // when a context first searches.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("EPICS_CA") {
                std::env::remove_var(key);
            }
        }
        std::env::set_var("EPICS_CA_ADDR_LIST", address_list(&network));
        std::env::set_var("EPICS_CA_AUTO_ADDR_LIST", "NO");
        std::env::set_var("EPICS_CA_REPEATER_PORT", repeater_port.to_string());
        network
    })
}

/// `count` distinct loopback ports, each free for TCP and UDP now, picked
/// at random below the kernel's ephemeral range: a port the kernel hands
/// out (to this process's own CA connections, say) would be taken when its
/// IOC starts.
fn free_ports(count: usize) -> io::Result<Vec<u16>> {
    let ephemeral_start = fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let (low, high) = (ephemeral_start.saturating_sub(20000).max(1024), ephemeral_start);
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let mut random = (u64::from(nanos) ^ (u64::from(std::process::id()) << 32)) | 1;
    let mut held = Vec::new();
    let mut ports = Vec::new();
    for _ in 0..count * 200 {
        if ports.len() == count {
            break;
        }
        // xorshift64
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        let port = low + (random % u64::from(high - low)) as u16;
        if ports.contains(&port) {
            continue;
        }
        if let (Ok(tcp), Ok(udp)) = (TcpListener::bind((LOOPBACK, port)), UdpSocket::bind((LOOPBACK, port))) {
            ports.push(port);
            held.push((tcp, udp));
        }
    }
    if ports.len() < count {
        return Err(io::Error::other(format!("found only {} free ports of {count} in {low}..{high}", ports.len())));
    }
    ports.sort_unstable();
    Ok(ports)
}

/// A port of the pool, returned when dropped.
struct Lease {
    port: u16,
}

impl Lease {
    fn take() -> Lease {
        let network = network();
        let deadline = Instant::now() + LEASE_TIMEOUT;
        let mut free = lock(&network.free);
        loop {
            if let Some(port) = free.pop() {
                return Lease { port };
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                panic!("no IOC port became free within {LEASE_TIMEOUT:?}: are IOCs leaking?");
            }
            free = network.returned.wait_timeout(free, left).unwrap_or_else(|p| p.into_inner()).0;
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let network = network();
        lock(&network.free).push(self.port);
        network.returned.notify_one();
    }
}

/// A running IOC, killed when dropped.
pub struct Ioc {
    kind: IocKind,
    /// What a soft IOC serves.
    database: SoftDatabase,
    prefix: String,
    lease: Lease,
    child: Option<Child>,
    log: PathBuf,
}

static IOC_COUNT: AtomicUsize = AtomicUsize::new(0);

impl Ioc {
    /// Start an IOC of `kind` with a fresh PV prefix on a port of the pool,
    /// and wait until it serves.
    pub fn start(kind: IocKind) -> Result<Ioc, IocError> {
        let database = match kind {
            IocKind::Soft => SoftDatabase::standard(),
            IocKind::TriggerWithPc | IocKind::FakeMotorRecord | IocKind::Scaler | IocKind::AreaDetectorImage => {
                SoftDatabase::new()
            }
        };
        Ioc::launched(kind, database)
    }

    /// Start EPICS base's soft IOC serving `database`, with a fresh PV prefix
    /// on a port of the pool, and wait until it serves.
    pub fn start_soft(database: SoftDatabase) -> Result<Ioc, IocError> {
        Ioc::launched(IocKind::Soft, database)
    }

    fn launched(kind: IocKind, database: SoftDatabase) -> Result<Ioc, IocError> {
        let n = IOC_COUNT.fetch_add(1, Ordering::Relaxed);
        let prefix = format!("{}{}x{n}:", kind.short_name(), std::process::id());
        let log = std::env::temp_dir().join(format!("ophyd-rs-ioc-{}.log", prefix.trim_end_matches(':')));
        let mut ioc = Ioc { kind, database, prefix, lease: Lease::take(), child: None, log };
        ioc.launch()?;
        Ok(ioc)
    }

    /// Start EPICS base's soft IOC with `iocs/soft.db`.
    ///
    /// # Panics
    /// When it does not start, with its output.
    pub fn soft() -> Ioc {
        Ioc::start(IocKind::Soft).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Start EPICS base's soft IOC serving `database`.
    ///
    /// # Panics
    /// When it does not start, with its output.
    pub fn soft_serving(database: SoftDatabase) -> Ioc {
        Ioc::start_soft(database).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Start the tutorial's `trigger_with_pc` IOC.
    ///
    /// # Panics
    /// When it does not start, with its output.
    pub fn trigger_with_pc() -> Ioc {
        Ioc::start(IocKind::TriggerWithPc).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Start caproto's motor record simulation, `fake_motor_record`.
    ///
    /// # Panics
    /// When it does not start, with its output.
    pub fn fake_motor_record() -> Ioc {
        Ioc::start(IocKind::FakeMotorRecord).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Start the simulated scaler record, `iocs/scaler_ioc.py`.
    ///
    /// # Panics
    /// When it does not start, with its output.
    pub fn scaler() -> Ioc {
        Ioc::start(IocKind::Scaler).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Start caproto's areaDetector simulation, `areadetector_image`.
    ///
    /// # Panics
    /// When it does not start, with its output.
    pub fn areadetector_image() -> Ioc {
        Ioc::start(IocKind::AreaDetectorImage).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The kind of IOC.
    pub fn kind(&self) -> IocKind {
        self.kind
    }

    /// The PV prefix, with its trailing colon: `"soft1234x0:"`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The prefix without the trailing colon, as a device prefix to which
    /// components add `":name"`.
    pub fn device_prefix(&self) -> &str {
        self.prefix.trim_end_matches(':')
    }

    /// The full name of the IOC's PV `name`.
    pub fn pv(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The TCP (and UDP search) port the IOC serves on.
    pub fn port(&self) -> u16 {
        self.lease.port
    }

    /// What the IOC has printed so far.
    pub fn output(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether the IOC process is running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// Kill the IOC (keeping its port and prefix for [`Ioc::restart`]).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Start the IOC again, on the same port with the same PVs, and wait
    /// until it serves.
    pub fn restart(&mut self) -> Result<(), IocError> {
        self.stop();
        self.launch()
    }

    fn command(&self) -> Command {
        let dir = iocs_dir();
        let mut command = Command::new(crate::venv::python());
        match self.kind {
            IocKind::Soft => {
                command.arg(dir.join("softioc.py"));
                self.database.add_to(&mut command, &self.prefix);
            }
            IocKind::TriggerWithPc | IocKind::FakeMotorRecord | IocKind::Scaler | IocKind::AreaDetectorImage => {
                let module = match self.kind {
                    IocKind::TriggerWithPc => "caproto.ioc_examples.too_clever.trigger_with_pc",
                    IocKind::FakeMotorRecord => "caproto.ioc_examples.fake_motor_record",
                    IocKind::AreaDetectorImage => "caproto.ioc_examples.too_clever.areadetector_image",
                    // iocs/scaler_ioc.py, beside the launcher.
                    IocKind::Scaler => "scaler_ioc",
                    IocKind::Soft => unreachable!("the soft IOC has a launcher of its own"),
                };
                command.arg(dir.join("caproto_ioc.py")).arg(module);
                command.args(["--prefix", &self.prefix, "--interfaces", "127.0.0.1"]);
            }
        }
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("EPICS_CA") {
                command.env_remove(key);
            }
        }
        let port = self.port().to_string();
        let repeater = network().repeater_port.to_string();
        command
            .env("EPICS_CA_SERVER_PORT", &port)
            .env("EPICS_CAS_SERVER_PORT", &port)
            .env("EPICS_CAS_INTF_ADDR_LIST", "127.0.0.1")
            .env("EPICS_CAS_AUTO_BEACON_ADDR_LIST", "NO")
            .env("EPICS_CAS_BEACON_ADDR_LIST", "127.0.0.1")
            .env("EPICS_CAS_BEACON_PORT", &repeater)
            .env("EPICS_CA_REPEATER_PORT", &repeater)
            .env("EPICS_CA_ADDR_LIST", format!("127.0.0.1:{port}"))
            .env("EPICS_CA_AUTO_ADDR_LIST", "NO")
            .env("PYTHONUNBUFFERED", "1");
        command
    }

    fn launch(&mut self) -> Result<(), IocError> {
        let log = fs::File::create(&self.log)
            .map_err(|e| IocError(format!("cannot create the IOC log {}: {e}", self.log.display())))?;
        let log_err = log.try_clone().map_err(|e| IocError(format!("cannot share the IOC log: {e}")))?;
        let child = self
            .command()
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| IocError(format!("cannot run {}: {e}", crate::venv::python().display())))?;
        self.child = Some(child);
        if let Err(e) = self.wait_until_serving() {
            self.stop();
            return Err(e);
        }
        Ok(())
    }

    fn wait_until_serving(&mut self) -> Result<(), IocError> {
        let ready = match self.kind {
            IocKind::Soft => "IOC Running",
            IocKind::TriggerWithPc | IocKind::FakeMotorRecord | IocKind::Scaler | IocKind::AreaDetectorImage => {
                "Server startup complete"
            }
        };
        let started = Instant::now();
        loop {
            let output = self.output();
            if output.contains(ready) {
                // Either server may fall back to another port when its own is taken.
                let on_its_port = match self.kind {
                    IocKind::Soft => !output.contains("Configured TCP port was unavailable"),
                    IocKind::TriggerWithPc
                    | IocKind::FakeMotorRecord
                    | IocKind::Scaler
                    | IocKind::AreaDetectorImage => output.contains(&format!("Listening on 127.0.0.1:{}", self.port())),
                };
                if !on_its_port {
                    return Err(self.failure(&format!("another process took its port {}", self.port())));
                }
                if self.accepts_connections() {
                    return Ok(());
                }
            }
            if !self.running() {
                return Err(self.failure("it exited"));
            }
            if started.elapsed() > START_TIMEOUT {
                return Err(self.failure(&format!("it did not serve within {START_TIMEOUT:?}")));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn accepts_connections(&self) -> bool {
        TcpStream::connect_timeout(&SocketAddrV4::new(LOOPBACK, self.port()).into(), Duration::from_secs(1)).is_ok()
    }

    fn failure(&self, what: &str) -> IocError {
        IocError(format!(
            "the {:?} IOC (prefix {}, port {}) did not start: {what}. Its output ({}):\n{}",
            self.kind,
            self.prefix,
            self.port(),
            self.log.display(),
            self.output()
        ))
    }
}

impl Drop for Ioc {
    fn drop(&mut self) {
        self.stop();
        if thread::panicking() {
            eprintln!("output of the {:?} IOC {} is in {}", self.kind, self.prefix, self.log.display());
        } else {
            let _ = fs::remove_file(&self.log);
        }
    }
}

impl fmt::Debug for Ioc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ioc")
            .field("kind", &self.kind)
            .field("prefix", &self.prefix)
            .field("port", &self.port())
            .finish()
    }
}
