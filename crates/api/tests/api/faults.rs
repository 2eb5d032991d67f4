//! For the fault tests: a steady load of real HTTP clients, a PostgreSQL server of the
//! test's own that it can stop and start, and a look at the API process from `/proc`.

use std::{
    path::Path,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
        mpsc,
    },
    thread,
    time::{Duration, Instant},
};

use local_pg::LocalPg;
use serde_json::Value;
use tokio::task::JoinHandle;

use crate::helpers::REQUEST_TIMEOUT;

/// What a load client sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mix {
    /// `POST /randoms` only.
    Posts,
    /// `POST /randoms` and `GET /randoms?limit=5` in turn.
    PostsAndGets,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Get,
    Post,
}

/// One request of the load and what became of it.
#[derive(Debug)]
pub struct Outcome {
    pub client: usize,
    pub kind: Kind,
    pub started: Instant,
    pub finished: Instant,
    /// The status and JSON body; `Err` for a transport failure (refused, reset, timed out).
    pub result: Result<(u16, Value), String>,
}

impl Outcome {
    pub fn status(&self) -> Option<u16> {
        self.result.as_ref().ok().map(|(s, _)| *s)
    }

    pub fn body(&self) -> Option<&Value> {
        self.result.as_ref().ok().map(|(_, b)| b)
    }

    pub fn latency(&self) -> Duration {
        self.finished - self.started
    }

    pub fn is_success(&self) -> bool {
        matches!(
            (self.kind, self.status()),
            (Kind::Get, Some(200)) | (Kind::Post, Some(201))
        )
    }

    /// The created item's id, for a 201.
    pub fn created_id(&self) -> Option<i64> {
        (self.kind == Kind::Post && self.status() == Some(201))
            .then(|| self.body()?["id"].as_i64())
            .flatten()
    }
}

/// `clients` concurrent clients, each with its own keep-alive connection and one request
/// outstanding at a time, sending as fast as they are answered until [`Load::finish`].
/// A client stops at its first transport failure (after a shutdown or a kill, its next
/// requests would all be refused), so a failure never turns into a busy loop.
pub struct Load {
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicUsize>,
    /// When each client sent the request it is waiting for, if any.
    waiting_since: Arc<Vec<Mutex<Option<Instant>>>>,
    tasks: Vec<JoinHandle<Vec<Outcome>>>,
}

impl Load {
    pub fn start(base_url: &str, clients: usize, mix: Mix) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicUsize::new(0));
        let waiting_since: Arc<Vec<Mutex<Option<Instant>>>> =
            Arc::new((0..clients).map(|_| Mutex::new(None)).collect());
        let tasks = (0..clients)
            .map(|client| {
                let stop = stop.clone();
                let answered = answered.clone();
                let waiting_since = waiting_since.clone();
                let base = base_url.to_owned();
                tokio::spawn(async move {
                    let http = reqwest::Client::builder()
                        .timeout(REQUEST_TIMEOUT)
                        .build()
                        .expect("http client");
                    let mut outcomes = Vec::new();
                    let mut n = client;
                    while !stop.load(Ordering::SeqCst) {
                        let kind = match mix {
                            Mix::Posts => Kind::Post,
                            Mix::PostsAndGets if n % 2 == 0 => Kind::Post,
                            Mix::PostsAndGets => Kind::Get,
                        };
                        n += 1;
                        let request = match kind {
                            Kind::Post => http.post(format!("{base}/randoms")),
                            Kind::Get => http.get(format!("{base}/randoms?limit=5")),
                        };
                        let started = Instant::now();
                        *lock(&waiting_since[client]) = Some(started);
                        let result = match request.send().await {
                            Ok(res) => {
                                let status = res.status().as_u16();
                                match res.bytes().await {
                                    Ok(bytes) => Ok((
                                        status,
                                        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                                    )),
                                    Err(e) => Err(format!("reading the body: {e:?}")),
                                }
                            }
                            Err(e) => Err(format!("{e:?}")),
                        };
                        *lock(&waiting_since[client]) = None;
                        let failed = result.is_err();
                        if !failed {
                            answered.fetch_add(1, Ordering::SeqCst);
                        }
                        outcomes.push(Outcome {
                            client,
                            kind,
                            started,
                            finished: Instant::now(),
                            result,
                        });
                        if failed {
                            break;
                        }
                    }
                    outcomes
                })
            })
            .collect();
        Self {
            stop,
            answered,
            waiting_since,
            tasks,
        }
    }

    /// Whether every client has been waiting at least `long` for its current request.
    pub fn all_waiting_for(&self, long: Duration) -> bool {
        self.waiting_since
            .iter()
            .all(|since| lock(since).is_some_and(|t| t.elapsed() >= long))
    }

    /// How long the client waiting longest has been waiting (zero if none is).
    pub fn longest_wait(&self) -> Duration {
        self.waiting_since
            .iter()
            .filter_map(|since| lock(since).map(|t| t.elapsed()))
            .max()
            .unwrap_or_default()
    }

    /// Responses received so far (of any status).
    pub fn answered(&self) -> usize {
        self.answered.load(Ordering::SeqCst)
    }

    /// Waits until `n` more responses have arrived (failing after `limit`).
    pub async fn until_answered(&self, n: usize, limit: Duration) {
        let target = self.answered() + n;
        let deadline = Instant::now() + limit;
        while self.answered() < target {
            assert!(
                Instant::now() < deadline,
                "the load got only {} of {n} responses within {limit:?}",
                n + self.answered() - target
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the clients after their current request and returns every outcome, oldest first.
    pub async fn finish(self) -> Vec<Outcome> {
        self.stop.store(true, Ordering::SeqCst);
        let mut all = Vec::new();
        for task in self.tasks {
            all.extend(task.await.expect("a load client panicked"));
        }
        all.sort_by_key(|o| o.started);
        all
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Counts by `(kind, status or error)`, for messages.
pub fn summary<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>) -> String {
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for o in outcomes {
        let key = match &o.result {
            Ok((status, body)) => format!("{:?} {status} {}", o.kind, body["error"]),
            Err(e) => format!(
                "{:?} error {}",
                o.kind,
                e.chars().take(120).collect::<String>()
            ),
        };
        *counts.entry(key).or_default() += 1;
    }
    counts
        .iter()
        .map(|(k, n)| format!("{n} × {k}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A PostgreSQL server of the test's own, to stop and start. The server gets a signal when
/// the thread that started it ends, so one thread owns it from start to drop and does the
/// stopping and starting on request (a `spawn_blocking` thread may end while idle).
pub struct DedicatedPg {
    url: String,
    requests: Option<mpsc::Sender<Request>>,
    owner: Option<thread::JoinHandle<()>>,
}

/// A command for the owner thread, and where to send its result.
type Request = (Command, tokio::sync::oneshot::Sender<Result<(), String>>);

enum Command {
    Stop,
    Start,
}

impl DedicatedPg {
    pub async fn start() -> Self {
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let (requests, incoming) = mpsc::channel::<Request>();
        let owner = thread::Builder::new()
            .name("dedicated-pg".into())
            .spawn(move || {
                let mut pg = match LocalPg::ephemeral() {
                    Ok(pg) => pg,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(pg.url_for("postgres")));
                for (command, reply) in incoming {
                    let result = match command {
                        Command::Stop => pg.stop(),
                        Command::Start => pg.start(),
                    };
                    let _ = reply.send(result.map_err(|e| e.to_string()));
                }
                // Dropping `pg` stops the server and removes its directory.
            })
            .expect("spawn the PostgreSQL owner thread");
        let url = ready_rx
            .await
            .expect("the owner thread answers")
            .expect("a dedicated PostgreSQL server");
        Self {
            url,
            requests: Some(requests),
            owner: Some(owner),
        }
    }

    /// A superuser URL of its `postgres` database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Fast shutdown: sessions are terminated, data is kept.
    pub async fn stop(&self) {
        self.request(Command::Stop).await.expect("stop PostgreSQL");
    }

    /// Starts it again on the same port and waits until it accepts connections.
    pub async fn restart(&self) {
        self.request(Command::Start)
            .await
            .expect("start PostgreSQL again");
    }

    async fn request(&self, command: Command) -> Result<(), String> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.requests
            .as_ref()
            .expect("running")
            .send((command, reply))
            .expect("the owner thread is alive");
        answer.await.expect("the owner thread answers")
    }
}

impl Drop for DedicatedPg {
    fn drop(&mut self) {
        self.requests.take();
        if let Some(owner) = self.owner.take() {
            let _ = owner.join();
        }
    }
}

/// Processes whose parent is `parent`.
pub fn children_of(parent: u32) -> Vec<u32> {
    processes::memory::children(parent).expect("list processes")
}

/// The pid of our child process listening on `port` on loopback, found through
/// `/proc/net/tcp` (the socket's inode) and the children's open descriptors.
pub fn pid_listening_on(port: u16) -> u32 {
    let tcp = std::fs::read_to_string("/proc/net/tcp").expect("read /proc/net/tcp");
    let inode = tcp
        .lines()
        .skip(1)
        .find_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let local_port = cols.get(1)?.rsplit_once(':')?.1;
            // State 0A is LISTEN.
            (u16::from_str_radix(local_port, 16).ok()? == port && cols.get(3)? == &"0A")
                .then(|| cols.get(9).map(|s| (*s).to_owned()))?
        })
        .unwrap_or_else(|| panic!("nothing listens on port {port}"));
    let socket = format!("socket:[{inode}]");
    children_of(std::process::id())
        .into_iter()
        .find(|pid| {
            std::fs::read_dir(format!("/proc/{pid}/fd"))
                .into_iter()
                .flatten()
                .flatten()
                .any(|fd| {
                    std::fs::read_link(fd.path()).is_ok_and(|target| target == Path::new(&socket))
                })
        })
        .unwrap_or_else(|| panic!("no child of ours listens on port {port}"))
}

/// Resident memory of `pid` in KiB, `None` once it has exited.
pub fn rss_kib(pid: u32) -> Option<u64> {
    processes::memory::rss(pid).ok().flatten().map(|b| b / 1024)
}

/// The most resident memory `pid` has had, in KiB (`VmHWM`): what a cgroup limit meets.
pub fn peak_rss_kib(pid: u32) -> u64 {
    processes::memory::peak_rss(pid)
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no peak RSS for process {pid}: has it exited?"))
        / 1024
}
