//! A CA repeater, in-process: what EPICS's `caRepeater` program does.
//!
//! IOCs announce themselves with UDP beacons sent to the repeater port of
//! each host (`EPICS_CA_REPEATER_PORT`, 5065 by default). Only one socket of
//! a host can bind that port, so one repeater receives them and relays them
//! to every CA client of the host that registered with it; libca uses them
//! to notice IOCs that restarted. When a libca context starts and finds the
//! port free, it runs the `caRepeater` executable, and when that is not on
//! the `PATH` (the Python packages that ship libca do not install it) it
//! says so on standard error. [`CaTransport::new`](super::CaTransport::new)
//! therefore makes sure a repeater runs first, on a thread of its own
//! process if none does.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::thread;
use std::time::Duration;

/// The CA messages a repeater deals with (the command of their header).
const CA_PROTO_RSRV_IS_UP: u16 = 13;
const CA_PROTO_REPEATER_CONFIRM: u16 = 17;
const CA_PROTO_REPEATER_REGISTER: u16 = 24;

/// Bytes in a CA message header.
const HEADER: usize = 16;

/// libca's repeater port when `EPICS_CA_REPEATER_PORT` does not give one.
const DEFAULT_PORT: u16 = 5065;

/// The repeater port libca uses for the setting of `EPICS_CA_REPEATER_PORT`:
/// the port it gives when libca accepts it (above 5000), else the default.
fn repeater_port(setting: Option<&str>) -> u16 {
    setting.and_then(|text| text.trim().parse::<u16>().ok()).filter(|&port| port > 5000).unwrap_or(DEFAULT_PORT)
}

/// Make sure a repeater listens on the repeater port before a libca context
/// looks for one: if the port can be bound, nobody serves it, and this
/// process runs the repeater. Bound on every interface, as `caRepeater`
/// does, so that beacons of IOCs elsewhere on the network arrive.
pub(crate) fn ensure_running() {
    let port = repeater_port(std::env::var("EPICS_CA_REPEATER_PORT").ok().as_deref());
    match UdpSocket::bind((Ipv4Addr::UNSPECIFIED, port)) {
        Ok(socket) => match spawn(socket) {
            Ok(_) => tracing::debug!(port, "started a CA repeater in this process"),
            Err(e) => tracing::warn!(port, error = %e, "cannot start a CA repeater thread"),
        },
        // A repeater (`caRepeater`, or another client's thread) has it.
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => {}
        // libca will fail the same way and fall back to spawning `caRepeater`.
        Err(e) => tracing::warn!(port, error = %e, "cannot bind the CA repeater port"),
    }
}

/// Run a CA repeater on `address` on a thread of this process, for as long
/// as the process lives, and return the address it is bound to (port 0
/// picks a free port). Like EPICS's `caRepeater`: CA clients of this host
/// register with it, and it relays every other datagram it receives (the
/// IOCs' beacons) to each of them.
///
/// [`CaTransport::new`](super::CaTransport::new) starts one by itself when
/// `EPICS_CA_REPEATER_PORT` is free; this is for setups that choose the
/// repeater's address themselves (a test network on loopback, say), which
/// then point `EPICS_CA_REPEATER_PORT` and their IOCs' beacons at it.
///
/// ```no_run
/// use std::net::{Ipv4Addr, SocketAddr};
/// let repeater = ophyd_epics::ca::start_repeater(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
/// std::env::set_var("EPICS_CA_REPEATER_PORT", repeater.port().to_string());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn start_repeater(address: SocketAddr) -> io::Result<SocketAddr> {
    spawn(UdpSocket::bind(address)?)
}

fn spawn(socket: UdpSocket) -> io::Result<SocketAddr> {
    let address = socket.local_addr()?;
    thread::Builder::new().name("ca-repeater".into()).spawn(move || Repeater::default().run(&socket))?;
    Ok(address)
}

#[derive(Default)]
struct Repeater {
    clients: Vec<SocketAddr>,
}

impl Repeater {
    fn run(&mut self, socket: &UdpSocket) {
        // The largest UDP datagram: nothing relayed is ever cut short.
        let mut buffer = vec![0u8; 65536];
        loop {
            let (len, from) = match socket.recv_from(&mut buffer) {
                Ok(received) => received,
                Err(e) => {
                    // Typically the report of an earlier relay to a client
                    // that went away; nothing to do but go on.
                    tracing::trace!(error = %e, "CA repeater: receive failed");
                    thread::sleep(Duration::from_millis(1));
                    continue;
                }
            };
            let mut message = &mut buffer[..len];
            if len == 0 {
                // How clients of old EPICS versions register.
                self.register(socket, from);
                continue;
            }
            if len >= HEADER {
                match u16::from_be_bytes([message[0], message[1]]) {
                    CA_PROTO_REPEATER_REGISTER => {
                        self.register(socket, from);
                        // Whatever follows the registration is relayed.
                        message = &mut message[HEADER..];
                        if message.is_empty() {
                            continue;
                        }
                    }
                    CA_PROTO_RSRV_IS_UP if message[12..16] == [0; 4] => {
                        // A beacon that leaves the server's address to the repeater.
                        if let IpAddr::V4(ip) = from.ip() {
                            message[12..16].copy_from_slice(&ip.octets());
                        }
                    }
                    _ => {}
                }
            }
            self.fan_out(socket, from, message);
        }
    }

    fn register(&mut self, socket: &UdpSocket, from: SocketAddr) {
        // As caRepeater: clients must be on this host.
        if !from.ip().is_loopback() && UdpSocket::bind((from.ip(), 0)).is_err() {
            tracing::debug!(%from, "CA repeater: refused a registration from another host");
            return;
        }
        if !self.clients.contains(&from) {
            // A new client is the moment caRepeater forgets those that left.
            self.clients.retain(|client| alive(*client));
            self.clients.push(from);
            tracing::trace!(%from, "CA repeater: client registered");
        }
        let mut confirm = [0u8; HEADER];
        confirm[..2].copy_from_slice(&CA_PROTO_REPEATER_CONFIRM.to_be_bytes());
        if let IpAddr::V4(ip) = from.ip() {
            confirm[12..].copy_from_slice(&ip.octets());
        }
        if let Err(e) = socket.send_to(&confirm, from) {
            tracing::debug!(%from, error = %e, "CA repeater: cannot confirm a registration");
        }
    }

    fn fan_out(&mut self, socket: &UdpSocket, from: SocketAddr, message: &[u8]) {
        let mut gone = Vec::new();
        for &client in self.clients.iter().filter(|client| **client != from) {
            if socket.send_to(message, client).is_err() && !alive(client) {
                gone.push(client);
            }
        }
        self.clients.retain(|client| !gone.contains(client));
    }
}

/// Whether a client still holds its port. A send error alone does not say:
/// on Linux it may report an earlier datagram to another client.
fn alive(client: SocketAddr) -> bool {
    UdpSocket::bind(client).is_err()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(command: u16, available: [u8; 4]) -> [u8; HEADER] {
        let mut message = [0u8; HEADER];
        message[..2].copy_from_slice(&command.to_be_bytes());
        message[12..].copy_from_slice(&available);
        message
    }

    #[test]
    fn registered_clients_get_a_confirmation_and_then_the_beacons() {
        let repeater = start_repeater((Ipv4Addr::LOCALHOST, 0).into()).unwrap();
        let client = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        client.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        client.send_to(&header(CA_PROTO_REPEATER_REGISTER, [127, 0, 0, 1]), repeater).unwrap();
        let mut buffer = [0u8; 64];
        let (len, _) = client.recv_from(&mut buffer).unwrap();
        assert_eq!(buffer[..len], header(CA_PROTO_REPEATER_CONFIRM, [127, 0, 0, 1]));

        let ioc = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        ioc.send_to(&header(CA_PROTO_RSRV_IS_UP, [0; 4]), repeater).unwrap();
        let (len, _) = client.recv_from(&mut buffer).unwrap();
        assert_eq!(buffer[..len], header(CA_PROTO_RSRV_IS_UP, [127, 0, 0, 1]), "the server's address filled in");
    }

    #[test]
    fn a_repeater_port_setting_libca_would_refuse_means_the_default() {
        assert_eq!(repeater_port(None), DEFAULT_PORT);
        assert_eq!(repeater_port(Some(" 6000 ")), 6000);
        assert_eq!(repeater_port(Some("not a port")), DEFAULT_PORT);
        assert_eq!(repeater_port(Some("80")), DEFAULT_PORT);
        assert_eq!(repeater_port(Some("70000")), DEFAULT_PORT);
    }
}
