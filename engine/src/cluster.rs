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
    /// Connections we opened: we watch them for the peer's goodbye.
    links: Vec<TcpStream>,
    /// Connections the peers opened: we say goodbye on them when done.
    accepted: Vec<TcpStream>,
    lost: mpsc::Receiver<String>,
    lost_peer: std::sync::Mutex<Option<String>>,
    finished: Arc<AtomicBool>,
    /// Process 0's random id for this run, the same in every process: it marks every
    /// part of the run's input log as one recording.
    pub run_id: u64,
}

/// A random number, different in every process and every call.
pub fn random_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.write_u32(std::process::id());
    hasher.finish()
}

impl Liveness {
    /// The address of a peer that went away without saying goodbye, if any.
    pub fn lost_peer(&self) -> Option<String> {
        let mut lost = self.lost_peer.lock().unwrap_or_else(|p| p.into_inner());
        if lost.is_none() {
            *lost = self.lost.try_recv().ok();
        }
        lost.clone()
    }

    /// Waits up to `patience` for a lost peer to be noticed.
    pub fn wait_for_lost_peer(&self, patience: Duration) -> Option<String> {
        let deadline = Instant::now() + patience;
        loop {
            if let Some(peer) = self.lost_peer() {
                return Some(peer);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Says goodbye to every peer: this process is done, its connections may close.
    pub fn finish(self) {
        self.finished.store(true, Ordering::SeqCst);
        for mut peer in self.accepted {
            let _ = peer.write_all(b"BYE\n");
        }
        drop(self.links);
    }
}

const GREETING: &str = "REPRISE-CLUSTER-2";

/// Keeps the panics of timely's communication threads off standard error. When a peer
/// dies they panic ("timely communication error: ...", then "MergeQueue poisoned") before
/// the liveness watch reports the loss as one proper error naming the peer; other panics
/// (a job's bug) are still printed.
pub fn quiet_communication_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let thread = std::thread::current();
            let name = thread.name().unwrap_or("");
            let communication = name.starts_with("timely:send")
                || name.starts_with("timely:recv")
                || message.starts_with("timely communication error")
                || message == "MergeQueue poisoned."
                || message.starts_with("Send thread panic")
                || message.starts_with("Recv thread panic");
            if !communication {
                default(info);
            }
        }));
    });
}

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
        EngineError::config(format!(
            "process {me} cannot listen on {own}: {e} (is the port in use?)"
        ))
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|e| EngineError::io("configuring the cluster listener", e))?;
    let deadline = Instant::now() + spec.connect_timeout;
    let hello = format!("{GREETING} {me} {}\n", spec.fingerprint);

    // Connect to every other process (retrying until it listens), and answer every other
    // process that connects to us, until both directions are complete.
    let mut outgoing: Vec<Option<TcpStream>> = (0..processes).map(|_| None).collect();
    let mut accepted = Vec::new();
    while outgoing
        .iter()
        .enumerate()
        .any(|(p, s)| p != me && s.is_none())
        || accepted.len() < processes - 1
    {
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
                && let Ok(mut stream) = TcpStream::connect_timeout(
                    &resolve(&spec.addresses[peer])?,
                    Duration::from_millis(200),
                )
            {
                stream
                    .write_all(hello.as_bytes())
                    .map_err(|e| lost(&spec.addresses[peer], e))?;
                outgoing[peer] = Some(stream);
            }
        }
        match listener.accept() {
            Ok((stream, _)) => accepted.push(check_greeting(stream, spec)?),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(e) => {
                return Err(EngineError::io(
                    format!("accepting cluster connections on {own}"),
                    e,
                ));
            }
        }
    }
    // Every process has checked every other. Hear their verdicts on our greetings.
    let mut replies: Vec<(usize, BufReader<TcpStream>)> = Vec::new();
    for (peer, stream) in outgoing.into_iter().enumerate() {
        let Some(stream) = stream else { continue };
        let address = &spec.addresses[peer];
        stream
            .set_read_timeout(Some(spec.connect_timeout))
            .map_err(|e| lost(address, e))?;
        let mut reader = BufReader::new(stream);
        match read_line(&mut reader, address)?.as_str() {
            "OK" => replies.push((peer, reader)),
            refusal => {
                return Err(EngineError::config(
                    refusal
                        .strip_prefix("ERR ")
                        .unwrap_or(refusal)
                        .replace("\\n", "\n"),
                ));
            }
        }
    }
    // Timely listens on the same addresses next: close ours, tell the peers, and wait
    // until they have closed theirs, so that no timely connection lands in a listener
    // that is about to close.
    drop(listener);
    // Every process offers an id for the run; process 0's is the one all keep.
    let mut run_id = random_id();
    for stream in accepted.iter_mut() {
        stream
            .write_all(format!("READY {run_id}\n").as_bytes())
            .map_err(|e| EngineError::io("talking to a cluster peer", e))?;
    }
    for (peer, reader) in replies.iter_mut() {
        let address = &spec.addresses[*peer];
        let line = read_line(reader, address)?;
        let offered = line
            .strip_prefix("READY ")
            .and_then(|id| id.parse::<u64>().ok());
        match offered {
            Some(id) if *peer == 0 => run_id = id,
            Some(_) => {}
            None => {
                return Err(EngineError::config(format!(
                    "process {peer} at {address} broke the start-up protocol"
                )));
            }
        }
    }

    let finished = Arc::new(AtomicBool::new(false));
    let (lost_tx, lost_rx) = mpsc::channel();
    let mut links = Vec::new();
    for (peer, reader) in replies {
        let address = spec.addresses[peer].clone();
        let stream = reader
            .get_ref()
            .try_clone()
            .map_err(|e| lost(&address, e))?;
        stream
            .set_read_timeout(None)
            .map_err(|e| lost(&address, e))?;
        let (finished, lost_tx) = (Arc::clone(&finished), lost_tx.clone());
        std::thread::Builder::new()
            .name(format!("reprise-watch-{peer}"))
            .spawn(move || {
                // The peer says BYE when it is done; anything else ending the link is a loss.
                let mut lines = reader.lines();
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
    Ok(Liveness {
        links,
        accepted,
        lost: lost_rx,
        lost_peer: Default::default(),
        finished,
        run_id,
    })
}

fn read_line(reader: &mut BufReader<TcpStream>, address: &str) -> Result<String, EngineError> {
    let mut line = String::new();
    match reader.read_line(&mut line) {
        Ok(0) => Err(EngineError::config(format!(
            "the process at {address} closed the connection during start-up"
        ))),
        Ok(_) => Ok(line.trim_end().to_string()),
        Err(e) => Err(EngineError::config(format!(
            "no answer from the process at {address} during start-up: {e}"
        ))),
    }
}

/// Reads a peer's greeting on an accepted connection and compares fingerprints. The
/// connection stays open: the peer watches it for our goodbye.
fn check_greeting(mut stream: TcpStream, spec: &ClusterSpec) -> Result<TcpStream, EngineError> {
    stream
        .set_nonblocking(false)
        .map_err(|e| EngineError::io("configuring a cluster connection", e))?;
    stream
        .set_read_timeout(Some(spec.connect_timeout))
        .map_err(|e| EngineError::io("configuring a cluster connection", e))?;
    let mut line = String::new();
    // One line, read byte by byte: nothing after it may be consumed here.
    let mut byte = [0u8; 1];
    while std::io::Read::read(&mut stream, &mut byte)
        .map_err(|e| EngineError::io("reading a cluster greeting", e))?
        == 1
    {
        if byte[0] == b'\n' {
            break;
        }
        line.push(byte[0] as char);
    }
    let mut parts = line.splitn(3, ' ');
    let (greeting, peer, fingerprint) = (parts.next(), parts.next(), parts.next().unwrap_or(""));
    let refusal = if greeting != Some(GREETING) {
        Some(format!(
            "process {} was contacted by something that is not a Reprise process of this version",
            spec.process
        ))
    } else if fingerprint != spec.fingerprint {
        let peer = peer.unwrap_or("?");
        Some(format!(
            "process {peer} and process {} run different jobs:\n  process {peer}: {fingerprint}\n  process {}: {}\nevery process needs the same workload, parameters, --workers, input and clock",
            spec.process, spec.process, spec.fingerprint
        ))
    } else {
        None
    };
    match refusal {
        None => {
            stream
                .write_all(b"OK\n")
                .map_err(|e| EngineError::io("answering a cluster peer", e))?;
            Ok(stream)
        }
        Some(message) => {
            let _ = stream.write_all(format!("ERR {}\n", message.replace('\n', "\\n")).as_bytes());
            Err(EngineError::config(message))
        }
    }
}

fn resolve(address: &str) -> Result<std::net::SocketAddr, EngineError> {
    address
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| {
            EngineError::config(format!(
                "cannot resolve cluster address `{address}` (expected host:port)"
            ))
        })
}

fn lost(address: &str, e: std::io::Error) -> EngineError {
    EngineError::io(format!("talking to the process at {address}"), e)
}
