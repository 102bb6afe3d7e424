//! Start-up, listeners, shutdown: everything between `main` and a connection.
//!
//! Start-up checks everything that can be checked before any thread starts (memlock
//! limit, data directory, port), then starts one glommio executor per shard. Each binds
//! the listen address with SO_REUSEPORT, so the kernel spreads connections over the cores
//! and a connection stays on the core that accepted it.

pub mod atomic;
pub mod blocking;
pub mod client;
pub mod connection;
pub mod coordinator;
pub mod pubsub;

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Poll, Waker};
use std::time::Duration;

use glommio::net::TcpListener;
use glommio::{LocalExecutorBuilder, Placement};

use crate::config::{Config, Durability};
use crate::shard::{mesh, now_ms, Process, Shard};
use crate::storage::journal::Journal;
use crate::storage::recovery::{self, Identity};
use crate::storage::wal::{SyncPolicy, Wal};
use crate::storage::{format, Storage};

/// The Redis version MemFlux is compatible with (reported by HELLO and INFO).
pub const REDIS_VERSION: &str = "7.2.0";

/// Memory each executor registers with io_uring for its I/O buffers. Small, so that
/// several shards fit in the default 8 MiB memlock limit of unprivileged users.
const IO_MEMORY: usize = 1 << 20;
/// glommio refuses to start below this memlock limit.
const MIN_MEMLOCK: u64 = 512 * 1024;
/// How often a core looks at the process-wide shutdown flag.
const SHUTDOWN_POLL: Duration = Duration::from_millis(20);
/// How long shutdown waits for connections to finish their in-flight commands.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// A start-up failure: one line for the operator.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);

/// A one-shot, per-core event that any number of tasks can wait for (shutdown of a core,
/// closing of one client).
///
/// A connection waits for it once per read, racing the read, and drops the wait when
/// the read wins; each wait therefore takes its waker out again when dropped. (Keeping
/// them made the list grow by one waker per read, and glommio counts a task's wakers
/// in an i16: after 32767 reads one connection's clones panicked its shard.)
#[derive(Default)]
pub struct Event {
    fired: Cell<bool>,
    waiters: RefCell<hashbrown::HashMap<u64, Waker>>,
    next_id: Cell<u64>,
}

/// One task's wait for an `Event`.
struct EventWait<'a> {
    event: &'a Event,
    id: u64,
}

impl std::future::Future for EventWait<'_> {
    type Output = ();
    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
        if self.event.fired.get() {
            return Poll::Ready(());
        }
        let mut waiters = self.event.waiters.borrow_mut();
        match waiters.get_mut(&self.id) {
            Some(w) if w.will_wake(cx.waker()) => {}
            Some(w) => w.clone_from(cx.waker()),
            None => {
                waiters.insert(self.id, cx.waker().clone());
            }
        }
        Poll::Pending
    }
}

impl Drop for EventWait<'_> {
    fn drop(&mut self) {
        self.event.waiters.borrow_mut().remove(&self.id);
    }
}

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Event")
            .field("fired", &self.fired.get())
            .finish()
    }
}

impl Event {
    pub fn fire(&self) {
        self.fired.set(true);
        let waiters = std::mem::take(&mut *self.waiters.borrow_mut());
        for w in waiters.into_values() {
            w.wake();
        }
    }
    pub fn fired(&self) -> bool {
        self.fired.get()
    }
    pub fn wait(&self) -> impl std::future::Future<Output = ()> + '_ {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        EventWait { event: self, id }
    }
}

fn check_memlock() -> Result<(), StartError> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut lim) } != 0 {
        return Ok(()); // cannot tell; let the executor report a real failure
    }
    let is_root = unsafe { libc::geteuid() } == 0;
    if !is_root && lim.rlim_cur != libc::RLIM_INFINITY && lim.rlim_cur < MIN_MEMLOCK {
        return Err(StartError(format!(
            "the locked-memory limit (ulimit -l) is {} KiB; MemFlux's io_uring executors need at least {} KiB. \
             Raise it with `ulimit -l 65536` in the shell that starts memflux, LimitMEMLOCK=64M in a systemd unit, \
             or `memlock` in /etc/security/limits.conf",
            lim.rlim_cur / 1024,
            MIN_MEMLOCK / 1024
        )));
    }
    Ok(())
}

fn prepare_dir(dir: &Path, shards: usize) -> Result<(), StartError> {
    for i in 0..shards {
        let d = dir.join(i.to_string());
        std::fs::create_dir_all(&d).map_err(|e| {
            StartError(format!("cannot create data directory {}: {e}", d.display()))
        })?;
    }
    let probe = dir.join(".write-test");
    std::fs::write(&probe, b"").map_err(|e| {
        StartError(format!(
            "data directory {} is not writable: {e}",
            dir.display()
        ))
    })?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

fn listen_addr(cfg: &Config) -> Result<SocketAddr, StartError> {
    let host = if cfg.host == "localhost" {
        "127.0.0.1"
    } else {
        &cfg.host
    };
    format!("{host}:{}", cfg.port)
        .parse::<SocketAddr>()
        .or_else(|_| format!("[{host}]:{}", cfg.port).parse())
        .map_err(|_| StartError(format!("invalid listen address {}:{}", cfg.host, cfg.port)))
}

/// Runs the server until SHUTDOWN or SIGINT/SIGTERM. Returns after every shard stopped.
pub fn run(config: Config, config_file: std::path::PathBuf) -> Result<(), StartError> {
    check_memlock()?;
    let shards = config.shard_count();
    let addr = listen_addr(&config)?;
    crate::storage::reshard::reshard_if_needed(&config.dir, shards, config.databases)
        .map_err(|e| StartError(format!("cannot load the data: {e}")))?;
    prepare_dir(&config.dir, shards)?;
    // SO_REUSEPORT would let us share the port with another server started by the same
    // user; bind once without it first so a port in use is an error, not a silent split.
    std::net::TcpListener::bind(addr)
        .map_err(|e| StartError(format!("cannot listen on {addr}: {e}")))?;

    let shutdown = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, shutdown.clone())
            .map_err(|e| StartError(format!("cannot install signal handler: {e}")))?;
    }
    let process = Arc::new(Process {
        shutdown,
        shutdown_save: std::sync::atomic::AtomicU8::new(crate::shard::SHUTDOWN_DEFAULT),
        clients: AtomicUsize::new(0),
        drained: AtomicUsize::new(0),
        started_ms: now_ms(),
        run_id: format!(
            "{:016x}{:016x}{:08x}",
            fastrand::u64(..),
            fastrand::u64(..),
            fastrand::u32(..)
        ),
        config_file,
        tcp_port: config.port,
    });

    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        shards,
        address = %addr,
        dir = %config.dir.display(),
        pid = std::process::id(),
        "MemFlux starting"
    );

    let mut handles = Vec::new();
    let all_ends: Vec<Option<mesh::MeshEnds>> = if shards > 1 {
        mesh::build(shards).into_iter().map(Some).collect()
    } else {
        vec![None]
    };
    for (id, ends) in all_ends.into_iter().enumerate() {
        let placement = if config.pin_cpus {
            Placement::Fixed(id % num_cpus())
        } else {
            Placement::Unbound
        };
        let config = config.clone();
        let process = process.clone();
        let handle = LocalExecutorBuilder::new(placement)
            .name(&format!("shard-{id}"))
            .io_memory(IO_MEMORY)
            // A task that runs long (a SQL scan) yields when this timer fires, and
            // only then does the executor look at the network again: a GET waits for
            // it on each core it crosses. 250 µs keeps that wait short; the timer costs
            // nothing while tasks are short, as the executor polls between them.
            .preempt_timer(Duration::from_micros(250))
            .spawn(move || shard_main(id, shards, config, process, ends, addr))
            .map_err(|e| StartError(format!("cannot start shard {id}: {e}")))?;
        handles.push(handle);
    }
    let mut failure = None;
    for (id, h) in handles.into_iter().enumerate() {
        match h.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                failure.get_or_insert(e);
            }
            Err(e) => {
                failure.get_or_insert(StartError(format!("shard {id} failed: {e}")));
            }
        }
        // A shard that failed to start must not leave the others waiting forever.
        process.shutdown.store(true, Ordering::SeqCst);
    }
    match failure {
        Some(e) => Err(e),
        None => {
            tracing::info!("MemFlux stopped");
            Ok(())
        }
    }
}

fn num_cpus() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

async fn shard_main(
    id: usize,
    nshards: usize,
    config: Config,
    process: Arc<Process>,
    ends: Option<mesh::MeshEnds>,
    addr: SocketAddr,
) -> Result<(), StartError> {
    let journal = Journal::new(config.durability != Durability::Off, 1);
    let shard = Shard::new(id, nshards, config.clone(), process.clone(), journal);
    if let Some(ends) = ends {
        shard.join_mesh(ends).await;
    }
    if let Err(e) = open_storage(&shard, &config) {
        // The other shards stop too. They must not wait for this one to drain (it never
        // serves), and must not take their shutdown snapshots: the operator is told to
        // restore or move files aside, so the data directory has to stay as it was.
        process
            .shutdown_save
            .store(crate::shard::SHUTDOWN_NOSAVE, Ordering::SeqCst);
        process.drained.fetch_add(1, Ordering::SeqCst);
        process.shutdown.store(true, Ordering::SeqCst);
        return Err(e);
    }
    let listener = match bind_listener(addr) {
        Ok(l) => Some(l),
        Err(e) => {
            process.shutdown.store(true, Ordering::SeqCst);
            tracing::error!(shard = id, "cannot listen on {addr}: {e}");
            None
        }
    };
    let signal = Rc::new(Event::default());
    glommio::spawn_local(shard.clone().active_expire_loop()).detach();
    glommio::spawn_local(shard.clone().snapshot_when_wal_grows()).detach();
    glommio::spawn_local(close_idle_clients(shard.clone(), signal.clone())).detach();
    {
        let (signal, process) = (signal.clone(), process.clone());
        glommio::spawn_local(async move {
            while !process.shutdown.load(Ordering::Relaxed) {
                glommio::timer::sleep(SHUTDOWN_POLL).await;
            }
            signal.fire();
        })
        .detach();
    }
    if let Some(listener) = &listener {
        tracing::debug!(shard = id, "accepting connections on {addr}");
        accept_loop(&shard, listener, &signal).await;
    }
    signal.wait().await;
    // Let connections finish what they are running, then wait for every other core to do
    // the same: until then, they may still send us requests.
    let deadline = std::time::Instant::now() + DRAIN_TIMEOUT;
    while !shard.clients.borrow().is_empty() && std::time::Instant::now() < deadline {
        glommio::timer::sleep(Duration::from_millis(5)).await;
    }
    process.drained.fetch_add(1, Ordering::SeqCst);
    while process.drained.load(Ordering::SeqCst) < nshards {
        glommio::timer::sleep(Duration::from_millis(5)).await;
    }
    close_storage(&shard).await;
    if listener.is_none() {
        return Err(StartError(format!("cannot listen on {addr}")));
    }
    Ok(())
}

/// Binds this core's listener. Like glommio's own `TcpListener::bind` (SO_REUSEPORT, so
/// every core gets its own queue of connections), plus SO_REUSEADDR: connections the
/// server closed first linger in TIME_WAIT and inherit the listener's options, and without
/// it a restart on the same port would fail until they expire.
fn bind_listener(addr: SocketAddr) -> std::io::Result<TcpListener> {
    use std::os::fd::{FromRawFd, IntoRawFd};
    let sock = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    sock.set_reuse_address(true)?;
    sock.set_reuse_port(true)?;
    sock.bind(&addr.into())?;
    sock.listen(1024)?;
    // SAFETY: a bound, listening socket we own and hand over.
    Ok(unsafe { TcpListener::from_raw_fd(sock.into_raw_fd()) })
}

/// Recovers the shard's data (snapshot, then WAL) and starts its WAL task.
fn open_storage(shard: &Rc<Shard>, config: &Config) -> Result<(), StartError> {
    let (id, n) = (shard.id as u32, shard.nshards as u32);
    // Absolute: glommio opens directories relative to no working directory.
    let dir = format::shard_dir(&config.dir, shard.id);
    let dir = std::path::absolute(&dir).unwrap_or(dir);
    let journal = shard.journal().clone();
    journal.set_muted(true);
    let recovered = recovery::recover(
        &dir,
        Identity {
            shard: id,
            shards: n,
        },
        &mut shard.dbs.borrow_mut(),
    );
    journal.set_muted(false);
    let recovered = recovered.map_err(|e| StartError(format!("shard {id}: {e}")))?;
    journal.recovered(recovered.next_lsn);
    let policy = SyncPolicy::for_durability(config.durability);
    let wal = policy.map(|p| Wal::new(&dir, id, n, journal.clone(), p, recovered.segments));
    if let Some(wal) = &wal {
        glommio::spawn_local(wal.clone().run()).detach();
    }
    shard.set_storage(Storage::new(
        id,
        n,
        dir,
        journal,
        wal,
        recovered.snapshot_ms,
    ));
    Ok(())
}

/// At shutdown: a last snapshot (so the next start loads it instead of replaying the
/// log), then the WAL's final sync.
async fn close_storage(shard: &Rc<Shard>) {
    let storage = shard.storage().clone();
    let save = match shard.process.shutdown_save.load(Ordering::SeqCst) {
        crate::shard::SHUTDOWN_SAVE => true,
        crate::shard::SHUTDOWN_NOSAVE => false,
        _ => storage.wal.is_some(),
    };
    storage.snapshot_idle().await;
    if save {
        if let Err(e) = storage.snapshot(&shard.dbs).await {
            tracing::error!(shard = shard.id, "shutdown snapshot failed: {e}");
        }
    }
    if let Some(wal) = &storage.wal {
        wal.stop().await;
    }
}

/// Closes clients idle for longer than `timeout` (when it is not 0), once a second like
/// Redis's client cron; a sweep rather than a per-read timer, so that CONFIG SET timeout
/// applies to clients that are already idle.
async fn close_idle_clients(shard: Rc<Shard>, signal: Rc<Event>) {
    while !signal.fired() {
        glommio::timer::sleep(Duration::from_secs(1)).await;
        let timeout = shard.config.borrow().timeout;
        if timeout == 0 {
            continue;
        }
        let limit_ms = timeout.saturating_mul(1000);
        let now = now_ms();
        for info in shard.clients.borrow().iter() {
            let info = info.borrow();
            // Subscribers may rightly stay silent for ever (Redis spares them too).
            let subscribed = info.sub + info.psub + info.ssub > 0;
            if !subscribed && now.saturating_sub(info.last_interaction_ms) > limit_ms {
                info.close.fire();
            }
        }
    }
}

async fn accept_loop(shard: &Rc<Shard>, listener: &TcpListener, signal: &Rc<Event>) {
    loop {
        let accepted = futures_lite::future::or(async { Some(listener.accept().await) }, async {
            signal.wait().await;
            None
        })
        .await;
        let stream = match accepted {
            None => return,
            Some(Ok(s)) => s,
            Some(Err(e)) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(shard = shard.id, "accept failed: {e}");
                glommio::timer::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        crate::shard::stats::Counters::add(&shard.counters.connections_received, 1);
        let maxclients = shard.config.borrow().maxclients;
        if shard.process.clients.fetch_add(1, Ordering::Relaxed) >= maxclients {
            shard.process.clients.fetch_sub(1, Ordering::Relaxed);
            crate::shard::stats::Counters::add(&shard.counters.rejected_connections, 1);
            glommio::spawn_local(async move {
                use futures_lite::AsyncWriteExt;
                let mut stream = stream;
                let _ = stream
                    .write_all(b"-ERR max number of clients reached\r\n")
                    .await;
                let _ = stream.close().await;
            })
            .detach();
            continue;
        }
        let conn = connection::Connection::new(shard.clone(), stream);
        glommio::spawn_local(conn.run(signal.clone())).detach();
    }
}
