//! Running as a timely cluster of processes: the start-up check and the liveness watch.
//!
//! The data travels over timely's own TCP communication layer. Before timely starts, every
//! process connects to every other on the cluster's addresses and they exchange a
//! fingerprint of the run (workload, parameters, workers per process, input, clock): timely
//! itself hangs when, say, the worker counts differ, so a misconfigured cluster must be
//! refused first, quickly and with a message naming the difference. The connections then
//! stay open as a liveness watch: a peer that dies (its sockets close without a goodbye)
//! stops the run with an error naming it, instead of leaving the survivors waiting.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::EngineError;

/// Where this process sits in a cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterSpec {
    /// This process's index.
    pub process: usize,
    /// `host:port` of every process, in process order.
    pub addresses: Vec<String>,
    /// A description of the run that every process must share.
    pub fingerprint: String,
    /// How long to wait for the other processes.
    pub connect_timeout: Duration,
}

impl ClusterSpec {
    /// Number of processes.
    pub fn processes(&self) -> usize {
        self.addresses.len()
    }
}

/// The open connections to the other processes, watched for a peer that goes away.
#[derive(Debug)]
pub struct Liveness {
    links: Vec<TcpStream>,
    lost: mpsc::Receiver<String>,
    finished: Arc<AtomicBool>,
}

impl Liveness {
    /// The address of a peer that went away without saying goodbye, if any.
    pub fn lost_peer(&self) -> Option<String> {
        self.lost.try_recv().ok()
    }

    /// Says goodbye to every peer: this process is done, its connections may close.
    pub fn finish(self) {
        self.finished.store(true, Ordering::SeqCst);
        for mut link in self.links {
            let _ = link.write_all(b"BYE\n");
        }
    }
}

const GREETING: &str = "REPRISE-CLUSTER-1";

/// Checks that every process of the cluster is up and runs the same job, then returns
/// the liveness watch. Fails fast on a port in use, a peer that never answers (after
/// `connect_timeout`), or a peer with another fingerprint.
pub fn preflight(spec: &ClusterSpec) -> Result<Liveness, EngineError> {
    let me = spec.process;
    let processes = spec.processes();
    if me >= processes {
        return Err(EngineError::config(format!(
            "--process {me} is out of range for {processes} processes (0..{})",
            processes - 1
        )));
    }
    let own = &spec.addresses[me];
    let listener = TcpListener::bind(resolve(own)?).map_err(|e| {
        EngineError::config(format!("process {me} cannot listen on {own}: {e} (is the port in use?)"))
    })?;
    listener.set_nonblocking(true).map_err(|e| EngineError::io("configuring the cluster listener", e))?;
    let deadline = Instant::now() + spec.connect_timeout;
    let hello = format!("{GREETING} {me} {}\n", spec.fingerprint);

    // Connect to every other process (retrying until it listens), and answer every other
    // process that connects to us, until both directions are complete.
    let mut outgoing: Vec<Option<TcpStream>> = (0..processes).map(|_| None).collect();
    let mut incoming = 0;
    while outgoing.iter().enumerate().any(|(p, s)| p != me && s.is_none()) || incoming < processes - 1 {
        if Instant::now() > deadline {
            let waiting: Vec<&str> = (0..processes)
                .filter(|p| *p != me && outgoing[*p].is_none())
                .map(|p| spec.addresses[p].as_str())
                .collect();
            return Err(EngineError::config(format!(
                "process {me} timed out after {:?} waiting for the other processes{}",
                spec.connect_timeout,
                if waiting.is_empty() {
                    " to connect back".to_string()
                } else {
                    format!(" at {}", waiting.join(", "))
                }
            )));
        }
        for peer in (0..processes).filter(|p| *p != me) {
            if outgoing[peer].is_none()
                && let Ok(mut stream) = TcpStream::connect_timeout(&resolve(&spec.addresses[peer])?, Duration::from_millis(200))
            {
                stream.write_all(hello.as_bytes()).map_err(|e| lost(&spec.addresses[peer], e))?;
                outgoing[peer] = Some(stream);
            }
        }
        match listener.accept() {
            Ok((stream, _)) => {
                check_greeting(stream, spec)?;
                incoming += 1;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(EngineError::io(format!("accepting cluster connections on {own}"), e)),
        }
    }
    // Timely listens on the same address next.
    drop(listener);

    let finished = Arc::new(AtomicBool::new(false));
    let (lost_tx, lost) = mpsc::channel();
    let mut links = Vec::new();
    for (peer, stream) in outgoing.into_iter().enumerate() {
        let Some(stream) = stream else { continue };
        let address = spec.addresses[peer].clone();
        let reader = stream.try_clone().map_err(|e| lost(&address, e))?;
        let (finished, lost_tx) = (Arc::clone(&finished), lost_tx.clone());
        std::thread::Builder::new()
            .name(format!("reprise-watch-{peer}"))
            .spawn(move || {
                // The peer answers our greeting with its verdict, then with BYE when done.
                let mut lines = BufReader::new(reader).lines();
                loop {
                    match lines.next() {
                        Some(Ok(line)) if line == "BYE" => return,
                        Some(Ok(_)) => continue,
                        _ => {
                            if !finished.load(Ordering::SeqCst) {
                                let _ = lost_tx.send(format!("process {peer} at {address}"));
                            }
                            return;
                        }
                    }
                }
            })
            .map_err(|e| EngineError::io("starting a cluster watch thread", e))?;
        links.push(stream);
    }
    Ok(Liveness { links, lost, finished })
}

/// Reads a peer's greeting on an accepted connection and compares fingerprints; the
/// connection is kept open by a thread that says goodbye when this process ends.
fn check_greeting(stream: TcpStream, spec: &ClusterSpec) -> Result<(), EngineError> {
    stream.set_nonblocking(false).map_err(|e| EngineError::io("configuring a cluster connection", e))?;
    stream
        .set_read_timeout(Some(spec.connect_timeout))
        .map_err(|e| EngineError::io("configuring a cluster connection", e))?;
    let mut line = String::new();
    BufReader::new(&stream)
        .read_line(&mut line)
        .map_err(|e| EngineError::io("reading a cluster greeting", e))?;
    let mut parts = line.trim_end().splitn(3, ' ');
    let (greeting, peer, fingerprint) = (parts.next(), parts.next(), parts.next().unwrap_or(""));
    if greeting != Some(GREETING) {
        return Err(EngineError::config(format!(
            "process {} was contacted by something that is not a Reprise process of this version",
            spec.process
        )));
    }
    let peer = peer.unwrap_or("?");
    if fingerprint != spec.fingerprint {
        return Err(EngineError::config(format!(
            "process {peer} runs a different job than process {}:\n  process {peer}: {fingerprint}\n  process {}: {}\nevery process needs the same workload, parameters, --workers, input and clock",
            spec.process, spec.process, spec.fingerprint
        )));
    }
    // Keep the connection: when this process exits, the peer's watch sees it close.
    std::mem::forget(stream);
    Ok(())
}

fn resolve(address: &str) -> Result<std::net::SocketAddr, EngineError> {
    address
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| EngineError::config(format!("cannot resolve cluster address `{address}` (expected host:port)")))
}

fn lost(address: &str, e: std::io::Error) -> EngineError {
    EngineError::io(format!("talking to the process at {address}"), e)
}
