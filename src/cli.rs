//! The command-line interface, in one place: the clap definitions here are the single
//! source for `--help`, the shell completions in `completions/` and the man pages in `man/`.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::complete::{job_ids, queue_names};
use crate::duration;

/// `add = ...` for an argument that takes a queue name: completed from Redis.
fn queue_candidates() -> clap_complete::ArgValueCandidates {
    clap_complete::ArgValueCandidates::new(queue_names)
}

/// `add = ...` for an argument that takes a job id: completed from Redis.
fn id_candidates() -> clap_complete::ArgValueCompleter {
    clap_complete::ArgValueCompleter::new(job_ids)
}

const ABOUT: &str = "Run and operate background-job queues on Redis";

const EXAMPLES: &str = "\
Examples:
  jobq enqueue send_email --priority high --data '{\"to\":\"ops@example.com\"}'
  jobq enqueue report --queue reports --priority 2
  jobq worker --queues high,normal --handler send_email=./send_email.sh
  jobq inspect high-01JD8XQ4T3M6Z6Q7W8E9R0TYVP
  jobq demo
  jobq watch high-01JD8XQ4T3M6Z6Q7W8E9R0TYVP
  jobq tail --queue high --follow

Exit codes: 0 ok, 1 failure, 2 bad input, 3 unknown job, 4 wrong job state,
5 Redis unreachable, 6 Redis login/permission refused, 7 Redis refused the command,
8 doctor found problems, 9 PostgreSQL unreachable or failed (archive, history), 10 attempt failed and will be retried (watch), 11 job dead, 12 job cancelled,
13 timed out (wait --timeout), 130 interrupted. `jobq` without arguments prints this help and exits 2.";

#[derive(Debug, Parser)]
#[command(
    name = "jobq",
    version,
    about = ABOUT,
    after_long_help = EXAMPLES,
    propagate_version = true,
    arg_required_else_help = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Redis to use: redis://[user:password@]host:port[/db], rediss:// for TLS,
    /// unix:///path/redis.sock, redis+cluster://[user:password@]host:port[,host:port...] for a
    /// cluster, redis+sentinel://[user:password@]host:port[,host:port...]/MASTER[/db] for a
    /// master found through Sentinel (rediss+cluster://, rediss+sentinel:// with TLS)
    #[arg(
        long,
        env = "JOBQ_REDIS_URL",
        default_value = "redis://127.0.0.1:6379",
        global = true,
        hide_env_values = true,
        value_name = "URL"
    )]
    pub redis_url: String,

    /// Key namespace; tenants sharing one Redis use different namespaces
    #[arg(
        long,
        env = "JOBQ_NAMESPACE",
        default_value = "jobq",
        global = true,
        value_name = "NAME"
    )]
    pub namespace: String,

    /// CA certificate(s) (PEM) that signed the Redis server's certificate, for a private CA
    #[arg(long, env = "JOBQ_TLS_CA", global = true, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,

    /// Client certificate (PEM) for mutual TLS (`tls-auth-clients yes`); needs --tls-key
    #[arg(
        long,
        env = "JOBQ_TLS_CERT",
        global = true,
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,

    /// Private key (PEM) of --tls-cert
    #[arg(
        long,
        env = "JOBQ_TLS_KEY",
        global = true,
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,

    /// Print JSON on stdout instead of text for humans
    #[arg(long, global = true)]
    pub json: bool,
}

impl GlobalArgs {
    /// The connection settings, resolved once (flag > `JOBQ_*` variable > default).
    pub fn connection(&self) -> crate::store::ConnectionSettings {
        crate::store::ConnectionSettings {
            url: self.redis_url.clone(),
            tls_ca: self.tls_ca.clone(),
            tls_cert: self.tls_cert.clone(),
            tls_key: self.tls_key.clone(),
        }
    }

    /// The connection settings as `JOBQ_*` environment variables: the one place where they
    /// become env pairs. A worker exports them to its handlers, so `jobq progress` inside a
    /// handler reaches the worker's Redis and namespace even when the worker got them as flags
    /// (issue 9 item 8). Every new connection option belongs here too.
    pub fn connection_env(&self) -> Vec<(String, String)> {
        vec![
            ("JOBQ_REDIS_URL".into(), self.redis_url.clone()),
            ("JOBQ_NAMESPACE".into(), self.namespace.clone()),
        ]
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Add a job to a queue and print its id
    Enqueue(EnqueueArgs),
    /// Run jobs from one or more queues with handler programs
    Worker(WorkerArgs),
    /// Show everything about one job: state, attempts, times, result, errors
    Inspect(InspectArgs),
    /// Start a private redis-server, run sample jobs through a worker, show what happened
    Demo(DemoArgs),
    /// Check Redis settings and the queues for what can lose or strand jobs (exit 8 if unhealthy)
    Doctor(DoctorArgs),
    /// Report the running job's progress from inside a handler (uses JOBQ_JOB_ID and JOBQ_LEASE)
    Progress(ProgressArgs),
    /// Show a job's progress live until it ends; without an id, every running job
    Watch(WatchArgs),
    /// Block until jobs have ended; the exit code says how they ended
    Wait(WaitArgs),
    /// Print job events one per line: the recent past, then (with --follow) live
    Tail(TailArgs),
    /// List jobs by queue, state and type, a page at a time
    Ls(LsArgs),
    /// Requeue failed, dead or cancelled jobs now
    Retry(RetryArgs),
    /// Cancel scheduled, queued or running jobs
    Cancel(CancelArgs),
    /// The dead-letter queue: list, requeue (drain) or delete (purge) dead jobs
    #[command(subcommand)]
    Dlq(DlqCommand),
    /// Stop workers from taking new jobs from a queue (running jobs finish)
    Pause(QueueArgs),
    /// Let workers take jobs from a paused queue again
    Resume(QueueArgs),
    /// Delete the jobs of a queue that are in one state (or all but running ones)
    Purge(PurgeArgs),
    /// One table with the health of every queue, the last 7 days and the live worker count
    Stats(StatsArgs),
    /// Live workers: queues, busy slots and the jobs they run, uptime, last heartbeat
    Workers(WorkersArgs),
    /// Measure throughput, latency and Redis cost per job on a private redis-server
    Bench(BenchArgs),
    /// Recurring jobs, enqueued by the running workers: add, ls, rm, pause, resume, run
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// Route job types to queues by pattern, for enqueues that name no queue: set, ls, rm
    #[command(subcommand)]
    Route(RouteCommand),
    /// Payload schemas per job type, checked by every enqueue: set, ls, show, rm
    #[command(subcommand)]
    Type(TypeCommand),
    /// Rate limits and concurrency caps per queue, across all workers: set, ls, rm
    #[command(subcommand)]
    Limit(LimitCommand),
    /// Copy finished jobs into PostgreSQL, exactly once each (runs until stopped, or --once)
    Archive(ArchiveArgs),
    /// Search the PostgreSQL archive of finished jobs, or summarise it per type
    History(HistoryArgs),
    /// POST job events to a webhook, signed, at least once, resuming after restarts
    Notify(NotifyArgs),
    /// Serve the HTTP API, live event streams, Prometheus metrics and the web dashboard
    Serve(ServeArgs),
    /// Convert a namespace written by jobq 1 to the cluster key layout (dry run unless --apply)
    Migrate(MigrateArgs),
    /// Manage queues themselves: remove an empty one
    #[command(subcommand)]
    Queue(QueueCommand),
    /// Print the shell completion script (completes queue names and job ids from Redis)
    Completions(CompletionsArgs),
    /// Write the man pages (one per command and subcommand) into a directory
    Man(ManArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Priority {
    High,
    Normal,
    Low,
}

impl Priority {
    pub fn queue(self) -> &'static str {
        match self {
            Priority::High => "high",
            Priority::Normal => "normal",
            Priority::Low => "low",
        }
    }
}

/// `enqueue --priority`: a standard queue by name (which queue the job goes to), or a number
/// from 1 (first) to 10 (last) that orders the job within its queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriorityArg {
    Queue(Priority),
    Number(u8),
}

impl std::str::FromStr for PriorityArg {
    type Err = String;

    fn from_str(s: &str) -> Result<PriorityArg, String> {
        match s {
            "high" => Ok(PriorityArg::Queue(Priority::High)),
            "normal" => Ok(PriorityArg::Queue(Priority::Normal)),
            "low" => Ok(PriorityArg::Queue(Priority::Low)),
            _ => s
                .parse::<u8>()
                .ok()
                .filter(|n| (1..=10).contains(n))
                .map(PriorityArg::Number)
                .ok_or_else(|| {
                    format!("{s:?} is not high, normal, low or a number from 1 (first) to 10 (last)")
                }),
        }
    }
}

fn parse_priority(s: &str) -> Result<PriorityArg, String> {
    s.parse()
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    duration::parse(s)
}

/// A duration where zero means "do not wait".
fn parse_wait(s: &str) -> Result<Duration, String> {
    match s.trim() {
        "0" | "0s" | "0ms" => Ok(Duration::ZERO),
        _ => duration::parse(s),
    }
}

pub fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{e}: use RFC 3339, e.g. 2026-11-23T09:00:00Z or 2026-11-23T10:00:00+01:00"))
}

const ENQUEUE_EXAMPLES: &str = "\
Examples:
  jobq enqueue send_email --data '{\"to\":\"a@b.c\"}'
  jobq enqueue report --data @report.json --queue reports --timeout 10m
  echo '{\"n\": 1}' | jobq enqueue count --data - --delay 90s
  jobq enqueue sync_user --data '{\"id\": 7}' --unique-key user-7
  jobq enqueue --batch jobs.jsonl
  printf '%s\\n' '{\"type\":\"resize\",\"payload\":{\"img\":1},\"queue\":\"media\"}' | jobq enqueue --batch -

--batch reads one job per line as JSON: type (required), payload (or data), queue or priority,
delay, at, max_attempts, timeout, unique_key; the other flags given are defaults for every line.
All lines are checked first: one bad line enqueues nothing. Ids are printed in line order.";

#[derive(Debug, Args)]
#[command(after_long_help = ENQUEUE_EXAMPLES)]
pub struct EnqueueArgs {
    /// Job type; the worker picks the handler by it ([A-Za-z0-9_.-], at most 128 characters)
    #[arg(value_name = "TYPE", required_unless_present = "batch")]
    pub job_type: Option<String>,

    /// Payload: JSON text, @FILE to read a file, or - to read stdin
    #[arg(long, short = 'd', default_value = "{}", value_name = "JSON|@FILE|-")]
    pub data: String,

    /// high, normal or low: the standard queue to use (without it or --queue: the type's
    /// route, else normal); or a number from 1 (runs first) to 10 (last), default 5: the job's
    /// order within its queue
    #[arg(long, short = 'p', value_parser = parse_priority, value_name = "high|normal|low|1-10")]
    pub priority: Option<PriorityArg>,

    /// Succeed only once N replicas have the job (Redis WAIT), so it survives the loss of its
    /// master; retried up to 10s, then exit 7 (the job may exist on the master only)
    #[arg(long, env = "JOBQ_MIN_REPLICAS", value_name = "N")]
    pub min_replicas: Option<u32>,

    /// Any other queue, by name
    #[arg(long, short = 'q', value_name = "NAME", add = queue_candidates())]
    pub queue: Option<String>,

    /// Run no earlier than this long from now (90s, 5m, 2h)
    #[arg(long, value_parser = parse_duration, value_name = "DURATION", conflicts_with = "at")]
    pub delay: Option<Duration>,

    /// Run no earlier than this time (RFC 3339; at most 366 days ahead, not in the past)
    #[arg(long, value_parser = parse_time, value_name = "TIME")]
    pub at: Option<DateTime<Utc>>,

    /// Not started within this long, the job never starts: it ends cancelled, reason "expired"
    #[arg(long, value_parser = parse_duration, value_name = "DURATION", conflicts_with = "expires_at")]
    pub expires: Option<Duration>,

    /// Not started by this time (RFC 3339), the job never starts: it ends cancelled, reason "expired"
    #[arg(long, value_parser = parse_time, value_name = "TIME")]
    pub expires_at: Option<DateTime<Utc>>,

    /// Run only after these jobs (any queue) completed; waits in state `waiting` until then, and
    /// is cancelled if one ends dead or cancelled
    #[arg(long, value_delimiter = ',', value_name = "ID,...", add = id_candidates())]
    pub after: Vec<String>,

    /// With --after: run once every parent has ended, however it ended
    #[arg(long, requires = "after")]
    pub after_any_outcome: bool,

    /// Accept an --at time in the past (the job runs at once); also for --batch lines
    #[arg(long)]
    pub allow_past: bool,

    /// Attempts before the job goes to the dead-letter set
    #[arg(long, default_value_t = crate::store::jobs_defaults::MAX_ATTEMPTS, value_name = "N")]
    pub max_attempts: u32,

    /// Stop the handler and fail the attempt after this long
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: Option<Duration>,

    /// While an unfinished job in this queue has this key, return its id instead of adding another
    #[arg(long, value_name = "KEY")]
    pub unique_key: Option<String>,

    /// After enqueueing, block until the job has ended, like `jobq wait` (same exit codes)
    #[arg(long, conflicts_with = "watch")]
    pub wait: bool,

    /// After enqueueing, show its progress until it ends, like `jobq watch` (same exit codes)
    #[arg(long)]
    pub watch: bool,
    /// Enqueue many jobs: one JSON object per line from FILE, or - for stdin (see below)
    #[arg(long, value_name = "FILE|-", conflicts_with_all = ["job_type", "data", "unique_key", "wait", "watch"])]
    pub batch: Option<PathBuf>,
}

const WORKER_EXAMPLES: &str = "\
Examples:
  jobq worker --handler send_email=./send_email.sh
  jobq worker --queues high,normal --concurrency 8 --handlers handlers.toml
  jobq worker --queues high:6,normal:3,low:1 --exec ./handle.sh
  jobq worker --exec 'python3 handle.py' --burst
  jobq worker --handler resize='python3 resize.py' --persistent --concurrency 8
  jobq worker --exec ./handle.sh --log-format json --log-level warn

Handlers get the payload on stdin and JOBQ_JOB_ID, JOBQ_JOB_TYPE, JOBQ_QUEUE, JOBQ_ATTEMPT,
JOBQ_MAX_ATTEMPTS and the worker's JOBQ_REDIS_URL and JOBQ_NAMESPACE in the environment. Exit 0
completes the job (stdout is the result; stderr goes to the worker log), exit 100 fails it for
good, any other exit fails the attempt (stderr is the error) and it is retried. A job of a type
this worker has no handler for is put back without charging its attempt, for a worker that has
one (README \"Job types no worker handles\").

With --persistent (or `persistent = true` in the handlers file) one process per slot stays up
and gets one line per job on stdin: {\"id\",\"type\",\"queue\",\"attempt\",\"max_attempts\",\"payload\"}.
It answers one line on stdout: {\"id\":ID,\"ok\":true,\"result\":JSON} or
{\"id\":ID,\"ok\":false,\"error\":\"...\",\"permanent\":false}. Logs go to stderr.";

#[derive(Debug, Args)]
#[command(after_long_help = WORKER_EXAMPLES)]
pub struct WorkerArgs {
    /// Queues to take jobs from, in strict priority order; with weights (high:6,normal:3,low:1)
    /// the free slots go to the queues with work in proportion to their weights instead
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "high,normal,low",
        value_name = "Q1[:W],Q2[:W],..."
    )]
    pub queues: Vec<String>,

    /// Jobs run at the same time
    #[arg(long, short = 'c', default_value_t = crate::worker::DEFAULT_CONCURRENCY, value_name = "N")]
    pub concurrency: usize,

    /// Handler for one job type: TYPE=COMMAND (repeatable; COMMAND is split like a shell but run without one)
    #[arg(long = "handler", value_name = "TYPE=COMMAND")]
    pub handlers: Vec<String>,

    /// TOML file with one [TYPE] table per job type: command, timeout, env
    #[arg(long = "handlers", value_name = "FILE")]
    pub handlers_file: Option<PathBuf>,

    /// Handler for every type that has no other handler
    #[arg(long, value_name = "COMMAND")]
    pub exec: Option<String>,

    /// Exit 0 once the queues are empty and nothing is running
    #[arg(long)]
    pub burst: bool,

    /// On SIGINT/SIGTERM, how long running jobs may take to finish before they are requeued
    #[arg(long, value_parser = parse_duration, default_value = "30s", value_name = "DURATION")]
    pub shutdown_timeout: Duration,

    /// Timeout for jobs that set none (their handler's timeout comes first)
    #[arg(long, value_parser = parse_duration, default_value = "30m", value_name = "DURATION")]
    pub timeout: Duration,

    /// Time between SIGTERM and SIGKILL when a handler must stop
    #[arg(long, value_parser = parse_duration, default_value = "5s", value_name = "DURATION")]
    pub kill_grace: Duration,

    /// Lease on a running job; renewed every third of it. A dead worker's jobs return after at most 4/3 of it (2x when all other workers are idle)
    #[arg(long, value_parser = parse_duration, default_value = "15s", value_name = "DURATION")]
    pub lease: Duration,

    /// Delay before the first retry; doubles with each attempt, ±25% jitter
    #[arg(long, value_parser = parse_duration, default_value = "10s", value_name = "DURATION")]
    pub retry_base: Duration,

    /// Longest delay between retries
    #[arg(long, value_parser = parse_duration, default_value = "1h", value_name = "DURATION")]
    pub retry_max: Duration,

    /// How long completed jobs stay readable
    #[arg(long, value_parser = parse_duration, default_value = "24h", value_name = "DURATION")]
    pub retention: Duration,

    /// Run --handler and --exec commands as persistent handlers: one long-lived process per
    /// slot, one JSON line per job on stdin, one JSON answer per job on stdout
    #[arg(long)]
    pub persistent: bool,

    /// How long to wait at start for an unreachable Redis before giving up (exit 5); by
    /// default a worker waits as long as it takes, as it does during a later outage, so that
    /// a worker started before its Redis (boot, deploy) needs no restart loop; 0 fails at once
    #[arg(long, env = "JOBQ_WAIT_FOR_REDIS", value_parser = parse_wait, value_name = "DURATION")]
    pub wait_for_redis: Option<Duration>,

    /// Least severe log lines written: error, warn, info (failures and lifecycle) or debug (also one line per job)
    #[arg(
        long,
        env = "JOBQ_LOG_LEVEL",
        value_enum,
        default_value = "info",
        value_name = "LEVEL"
    )]
    pub log_level: crate::log::Level,

    /// Log lines as text (default) or json: one object per line with ts, level, msg, and job_id, queue, type, worker where they apply. --json means --log-format json
    #[arg(long, env = "JOBQ_LOG_FORMAT", value_enum, value_name = "FORMAT")]
    pub log_format: Option<crate::log::Format>,

    /// Log every completed job at info level (otherwise only with --log-level debug)
    #[arg(long)]
    pub log_jobs: bool,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Job id, as printed by `jobq enqueue`
    #[arg(value_name = "ID", add = id_candidates())]
    pub id: String,
}

#[derive(Debug, Args)]
pub struct DemoArgs {}

const DOCTOR_EXAMPLES: &str = "\
Examples:
  jobq doctor            # exit 0 healthy, 8 when something can lose or strand jobs
  jobq doctor --fix      # also repair what is safe: requeue expired leases, drop stale records
  jobq doctor --json     # findings for monitoring
  jobq doctor --max-age 5m --max-dead 100   # cron: exit 8 on a slow queue or a full DLQ";

#[derive(Debug, Args)]
#[command(after_long_help = DOCTOR_EXAMPLES)]
pub struct DoctorArgs {
    /// Repair what is safe to repair (what a worker or an operator would do anyway)
    #[arg(long)]
    pub fix: bool,

    /// A problem (exit 8) when a queue's oldest waiting job has waited longer than this
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub max_age: Option<Duration>,

    /// A problem (exit 8) when a queue holds more dead jobs than this
    #[arg(long, value_name = "N")]
    pub max_dead: Option<u64>,
}

const OUTCOME_CODES: &str = "\
Exit codes: 0 completed, 10 the attempt failed and a retry is scheduled (watch only; wait
waits for the retries), 11 dead, 12 cancelled, 13 timed out (wait --timeout), 3 unknown job,
130 interrupted. With several jobs the worst wins: dead > timed out > cancelled > retrying.";

const PROGRESS_EXAMPLES: &str = "\
Examples (inside a handler; the worker sets JOBQ_JOB_ID and JOBQ_LEASE):
  jobq progress 40/100 writing chunk 40
  jobq progress 75%
  echo \"progress 40/100 writing chunk 40\" >&$JOBQ_PROGRESS_FD   # cheaper: no process, coalesced

Exit code 4 when the attempt is over (timed out, recovered or finished): stop working.";

#[derive(Debug, Args)]
#[command(after_long_help = PROGRESS_EXAMPLES)]
pub struct ProgressArgs {
    /// CURRENT/TOTAL (40/100), PERCENT% (40%) or CURRENT (40)
    #[arg(value_name = "PROGRESS", allow_hyphen_values = true)]
    pub value: String,

    /// What the job is doing now (the rest of the line)
    #[arg(value_name = "MESSAGE", trailing_var_arg = true)]
    pub message: Vec<String>,

    /// The running job
    #[arg(long, env = "JOBQ_JOB_ID", value_name = "ID")]
    pub job: String,

    /// The attempt's lease token; writes from an attempt that is over are refused
    #[arg(long, env = "JOBQ_LEASE", hide_env_values = true, value_name = "TOKEN")]
    pub lease: String,
}

const WATCH_EXAMPLES: &str = "\
Examples:
  jobq watch high-01JD8XQ4T3M6Z6Q7W8E9R0TYVP
  jobq watch --queue reports --type export_csv
  jobq watch high-01JD8XQ4T3M6Z6Q7W8E9R0TYVP --json | jq .progress.percent

With an id: a live bar until the job's attempt ends, then the outcome. Without: one bar per
running job (at most --bars; the rest are counted on a summary line) until Ctrl-C.
When stdout is not a terminal, or NO_COLOR is set, or with --json: one line per change.

Exit codes: 0 completed, 10 the attempt failed and a retry is scheduled, 11 dead,
12 cancelled, 3 unknown job, 130 interrupted.";

#[derive(Debug, Args)]
#[command(after_long_help = WATCH_EXAMPLES)]
pub struct WatchArgs {
    /// Job id; without one, watch every running job
    #[arg(value_name = "ID", add = id_candidates())]
    pub id: Option<String>,

    /// Only jobs of these queues (repeatable; default: every queue)
    #[arg(long = "queue", short = 'q', value_name = "NAME", conflicts_with = "id", add = queue_candidates())]
    pub queues: Vec<String>,

    /// Only jobs of this type
    #[arg(long = "type", short = 't', value_name = "TYPE", conflicts_with = "id")]
    pub job_type: Option<String>,

    /// Most bars drawn at once; further running jobs are summarised on one line
    #[arg(long, default_value_t = 10, value_name = "N", conflicts_with = "id")]
    pub bars: usize,
}

#[derive(Debug, Args)]
#[command(after_long_help = OUTCOME_CODES)]
pub struct WaitArgs {
    /// Job ids
    #[arg(value_name = "ID", required = true, add = id_candidates())]
    pub ids: Vec<String>,

    /// Give up after this long (exit code 13)
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: Option<Duration>,
}

const TAIL_EXAMPLES: &str = "\
Examples:
  jobq tail                                  # the last 10 events
  jobq tail --queue high --follow            # and then live, until Ctrl-C
  jobq tail --type export_csv --since 1h --json
  jobq tail --since 1763850000000-0 --follow # on from an event id (resume where you left)

Events come from a capped stream per queue (about the last 10000 events of each queue).";

#[derive(Debug, Args)]
#[command(after_long_help = TAIL_EXAMPLES)]
pub struct TailArgs {
    /// Only events of these queues (repeatable; default: every queue, also queues created later)
    #[arg(long = "queue", short = 'q', value_name = "NAME", add = queue_candidates())]
    pub queues: Vec<String>,

    /// Only events of jobs of this type
    #[arg(long = "type", short = 't', value_name = "TYPE")]
    pub job_type: Option<String>,

    /// Start this long ago (10m, 2h), or after this event id; default: the last 10 events.
    /// A note on stderr says when older events of the range were already trimmed
    #[arg(long, value_name = "DURATION|EVENT_ID")]
    pub since: Option<String>,

    /// After the replay, keep printing new events as they happen, until Ctrl-C
    #[arg(long, short = 'f')]
    pub follow: bool,
}
/// States `ls` and bulk `retry` select by; `failed` = scheduled for an automatic retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StateFilter {
    /// Waiting for parent jobs (`enqueue --after`)
    Waiting,
    Scheduled,
    Queued,
    Active,
    Completed,
    Dead,
    Cancelled,
    /// Failed at least once and waiting for its retry (state scheduled, attempt > 0)
    Failed,
}

impl StateFilter {
    /// The stored state, and whether only jobs that already failed an attempt count.
    pub fn state(self) -> (crate::job::State, bool) {
        use crate::job::State;
        match self {
            StateFilter::Waiting => (State::Waiting, false),
            StateFilter::Scheduled => (State::Scheduled, false),
            StateFilter::Queued => (State::Queued, false),
            StateFilter::Active => (State::Active, false),
            StateFilter::Completed => (State::Completed, false),
            StateFilter::Dead => (State::Dead, false),
            StateFilter::Cancelled => (State::Cancelled, false),
            StateFilter::Failed => (State::Scheduled, true),
        }
    }
}

/// Skip the confirmation question (needed when stdin is not a terminal).
#[derive(Debug, Clone, Args)]
pub struct YesArgs {
    /// Do it without asking (required when not on a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
}

const LS_EXAMPLES: &str = "\
Examples:
  jobq ls --queue high --state queued
  jobq ls --state failed --type send_email --limit 20
  jobq ls --state dead --json | jq -r '.jobs[].id'
  jobq ls --state scheduled --all --no-headers
  jobq ls --queue high --state dead --ids | xargs jobq retry

Jobs are listed queue by queue (sorted by name) and state by state: active, queued (next to run
first), scheduled (soonest first), dead, cancelled, completed (newest first). When more jobs
match than --limit, the next page's --cursor is printed on stderr (and as next_cursor in JSON).
A cursor marks the last job listed (its score and id, or its place in the queued list), so
jobs taken, added or removed between pages never make a job that stays put be skipped; a
job that changes state between pages may show up twice or not at all. RUN AT is when a
scheduled job is due (times are local, with their UTC offset).";

#[derive(Debug, Args)]
#[command(after_long_help = LS_EXAMPLES)]
pub struct LsArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// Only jobs in this state
    #[arg(long, short = 's', value_enum, value_name = "STATE")]
    pub state: Option<StateFilter>,
    #[command(flatten)]
    pub page: PageArgs,
}

/// Which queue and type a listing or bulk command looks at.
#[derive(Debug, Args)]
pub struct SelectArgs {
    /// Only this queue
    #[arg(long, short = 'q', value_name = "NAME", add = queue_candidates())]
    pub queue: Option<String>,
    /// Only jobs of this type
    #[arg(long = "type", short = 't', value_name = "TYPE")]
    pub job_type: Option<String>,
}

/// One page of a listing, and how it is printed.
#[derive(Debug, Args)]
pub struct PageArgs {
    /// Jobs per page
    #[arg(long, short = 'n', default_value_t = 50, value_name = "N")]
    pub limit: u64,
    /// Where the previous page stopped (printed by it)
    #[arg(long, value_name = "CURSOR")]
    pub cursor: Option<String>,
    /// Every matching job, page after page (no --limit, no cursor printed)
    #[arg(long, short = 'a', conflicts_with = "limit")]
    pub all: bool,
    /// Print only the ids, one per line (for scripts: `jobq ls --ids | xargs jobq cancel`)
    #[arg(long, short = 'i', conflicts_with = "no_headers")]
    pub ids: bool,
    /// Leave out the table's header line
    #[arg(long)]
    pub no_headers: bool,
}

const RETRY_EXAMPLES: &str = "\
Examples:
  jobq retry high-01JD8XQ4T3M6Z6Q7W8E9R0TYVP
  jobq retry --state dead --queue high --yes
  jobq retry --state failed --type send_email

Dead and cancelled jobs get a fresh set of attempts (attempt goes back to 0; their error history
is kept). A failed job waiting for its automatic retry runs now with its attempt count unchanged.";

#[derive(Debug, Args)]
#[command(after_long_help = RETRY_EXAMPLES)]
pub struct RetryArgs {
    /// Jobs to requeue
    #[arg(
        value_name = "ID",
        required_unless_present = "state",
        conflicts_with = "state",
        add = id_candidates()
    )]
    pub ids: Vec<String>,
    /// Requeue every job in this state instead (asks first)
    #[arg(long, short = 's', value_enum, value_name = "STATE")]
    pub state: Option<RetryState>,
    /// With --state: only this queue
    #[arg(long, short = 'q', value_name = "NAME", requires = "state", add = queue_candidates())]
    pub queue: Option<String>,
    /// With --state: only jobs of this type
    #[arg(long = "type", short = 't', value_name = "TYPE", requires = "state")]
    pub job_type: Option<String>,
    #[command(flatten)]
    pub yes: YesArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RetryState {
    /// In the dead-letter queue
    Dead,
    /// Waiting for an automatic retry
    Failed,
}

#[derive(Debug, Args)]
#[command(
    after_long_help = "Examples:\n  jobq cancel high-01JD8XQ4T3M6Z6Q7W8E9R0TYVP\n\n\
A scheduled or queued job is cancelled at once. A running job's worker stops its handler
(SIGTERM, then SIGKILL after --kill-grace) within about a second and records it as cancelled.
Cancelling a job that is already cancelled is not an error (it says so); cancelling a
completed or dead job is (exit 4)."
)]
pub struct CancelArgs {
    /// Jobs to cancel
    #[arg(value_name = "ID", required = true, add = id_candidates())]
    pub ids: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// List dead jobs, newest first
    Ls(DlqLsArgs),
    /// Requeue dead jobs with their attempts reset (asks first)
    Drain(DlqDrainArgs),
    /// Delete dead jobs (asks first)
    Purge(DlqDrainArgs),
}

#[derive(Debug, Args)]
pub struct DlqLsArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub page: PageArgs,
}

const DRAIN_EXAMPLES: &str = "\
Examples:
  jobq dlq drain
  jobq dlq drain --queue high --type send_email --yes
  jobq dlq purge --limit 1000 --yes

Work goes in atomic batches of 500 jobs: Ctrl-C stops between batches, and every job is then
either still dead or requeued (or deleted), never both.";

#[derive(Debug, Args)]
#[command(after_long_help = DRAIN_EXAMPLES)]
pub struct DlqDrainArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// At most this many jobs
    #[arg(long, short = 'n', value_name = "N")]
    pub limit: Option<u64>,
    #[command(flatten)]
    pub yes: YesArgs,
}

#[derive(Debug, Args)]
pub struct QueueArgs {
    /// Queue name
    #[arg(value_name = "QUEUE", add = queue_candidates())]
    pub queue: String,
}

#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// Remove a queue that has no queued, scheduled, running or dead jobs (asks first)
    Rm(QueueRmArgs),
}

const QUEUE_RM_EXAMPLES: &str = "\
Examples:
  jobq queue rm reports
  jobq queue rm old-imports --force --yes

Removes the queue's name, counters, history (completed and cancelled jobs), events, pause
flag and limit (`jobq limit`). A queue with queued, scheduled, waiting (--after) or dead jobs
is refused (exit 4) unless --force, which deletes those jobs first, like `jobq purge QUEUE
--state all`. A queue with running jobs is always refused: cancel them or let them finish. A
worker that serves the queue, or a new job enqueued to it, makes the queue reappear (empty).";

#[derive(Debug, Args)]
#[command(after_long_help = QUEUE_RM_EXAMPLES)]
pub struct QueueRmArgs {
    /// Queue name
    #[arg(value_name = "QUEUE", add = queue_candidates())]
    pub queue: String,
    /// Also delete its queued, scheduled and dead jobs
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub yes: YesArgs,
}

/// Shells `jobq completions` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
}

impl CompletionShell {
    pub fn name(self) -> &'static str {
        match self {
            CompletionShell::Bash => "bash",
            CompletionShell::Zsh => "zsh",
            CompletionShell::Fish => "fish",
            CompletionShell::Elvish => "elvish",
            CompletionShell::Powershell => "powershell",
        }
    }
}

const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  jobq completions bash > ~/.local/share/bash-completion/completions/jobq
  jobq completions zsh > ~/.zfunc/_jobq        # with fpath+=(~/.zfunc) before compinit
  jobq completions fish > ~/.config/fish/completions/jobq.fish
  source <(jobq completions bash)               # this shell only

The script calls `jobq` (which must be on PATH) at each Tab: flags and subcommands come from
jobq itself, queue names and job ids from the Redis of JOBQ_REDIS_URL / JOBQ_NAMESPACE (or
--redis-url / --namespace typed on the line). An unreachable Redis completes nothing (1s cap).";

#[derive(Debug, Args)]
#[command(after_long_help = COMPLETIONS_EXAMPLES)]
pub struct CompletionsArgs {
    /// The shell to print the script for
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: CompletionShell,
}

#[derive(Debug, Args)]
#[command(
    after_long_help = "Examples:\n  jobq man /usr/local/share/man/man1\n  jobq man ~/.local/share/man/man1 && man jobq-dlq-drain"
)]
pub struct ManArgs {
    /// Directory to write jobq.1, jobq-enqueue.1, jobq-dlq-drain.1, ... into (created if missing)
    #[arg(value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PurgeState {
    Queued,
    Scheduled,
    /// Waiting for other jobs (`enqueue --after`)
    Waiting,
    Dead,
    Cancelled,
    Completed,
    /// Every job that is not running
    All,
}

#[derive(Debug, Args)]
#[command(
    after_long_help = "Examples:\n  jobq purge low\n  jobq purge reports --state all --yes\n\n\
Running jobs are never purged (cancel them). Jobs that wait for a purged job (`--after`) are \
cancelled, as when it is cancelled. Deletes in atomic batches; Ctrl-C stops between them."
)]
pub struct PurgeArgs {
    /// Queue name
    #[arg(value_name = "QUEUE", add = queue_candidates())]
    pub queue: String,
    /// Which jobs to delete
    #[arg(long, short = 's', value_enum, default_value_t = PurgeState::Queued, value_name = "STATE")]
    pub state: PurgeState,
    #[command(flatten)]
    pub yes: YesArgs,
}

#[derive(Debug, Args)]
#[command(
    after_long_help = "Examples:\n  jobq stats\n  jobq stats --watch\n  jobq stats --json | jq '.totals.dead'\n\n\
Completed jobs are kept for the worker's --retention (default 24h); dead jobs stay until purged."
)]
pub struct StatsArgs {
    /// Only this queue
    #[arg(long, short = 'q', value_name = "NAME", add = queue_candidates())]
    pub queue: Option<String>,
    /// Redraw every INTERVAL (default 2s) until Ctrl-C
    #[arg(long, short = 'w', value_parser = parse_duration, num_args = 0..=1,
          default_missing_value = "2s", value_name = "INTERVAL")]
    pub watch: Option<Duration>,
}

#[derive(Debug, Args)]
pub struct WorkersArgs {}
const BENCH_EXAMPLES: &str = "\
Examples:
  jobq bench
  jobq bench --repeat 5 --concurrency 50 --json > bench.json
  jobq bench --jobs 2000 --backlogs 1000,10000 --idle-window 5s --external-jobs 200
  jobq bench --use-redis-url --redis-url redis://10.0.0.5:6379
  jobq bench --fleet --idle-window 60s --jobs 2000   # idle and priority cost by fleet shape

Build with --release first: a debug build measures the compiler, not jobq.
Figures are medians of --repeat rounds with their min-max spread. Redis commands are counted
with INFO commandstats, including the commands run inside jobq's Lua scripts.";

#[derive(Debug, Args)]
#[command(after_long_help = BENCH_EXAMPLES)]
pub struct BenchArgs {
    /// Jobs per throughput figure (single enqueue, bulk enqueue, processed)
    #[arg(long, default_value_t = 20_000, value_name = "N")]
    pub jobs: usize,

    /// Concurrency of the benchmarked worker
    #[arg(long, short = 'c', default_value_t = 50, value_name = "N")]
    pub concurrency: usize,

    /// Rounds per figure; the table shows the median and the spread
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub repeat: usize,

    /// Arrival rate for the latency figure (jobs/s, open loop)
    #[arg(long, default_value_t = 1000, value_name = "PER_SECOND")]
    pub rate: u32,

    /// Arrivals per latency round
    #[arg(long, default_value_t = 2000, value_name = "N")]
    pub latency_jobs: usize,

    /// How long an idle worker is watched to count its Redis commands (the default covers four
    /// idle cycles of the default 15 s lease: a heartbeat and a safety-net fetch each)
    #[arg(long, value_parser = parse_duration, default_value = "65s", value_name = "DURATION")]
    pub idle_window: Duration,

    /// Queue sizes for the "cost stays flat" table (--jobs of each are processed)
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "10000,100000,1000000",
        value_name = "N1,N2,..."
    )]
    pub backlogs: Vec<usize>,

    /// Jobs for each external-handler path (exec per job, persistent Python); 0 skips them
    #[arg(long, default_value_t = 2000, value_name = "N")]
    pub external_jobs: usize,

    /// Use the Redis at --redis-url (in a throwaway namespace, deleted afterwards) instead of a
    /// private redis-server; command counts then include other clients' commands
    #[arg(long)]
    pub use_redis_url: bool,

    /// Measure what the fleet's shape costs instead: an idle worker on 1, 20 and 50 queues,
    /// 1, 10 and 100 idle worker processes (each watched for --idle-window), and commands per
    /// job in the first and the last of 20 priority queues (--jobs each)
    #[arg(long)]
    pub fleet: bool,
}

const MIGRATE_EXAMPLES: &str = "\
Examples:
  jobq migrate                 # show what would change; writes nothing
  jobq migrate --apply         # do it (safe to repeat, and to re-run after an interruption)
  jobq migrate --json          # the plan as JSON

Upgrade every jobq binary (workers and enqueuers) first: jobs and queues are read as they are,
only the namespace-wide keys (queue list, worker registry, epoch) move under the {NS} hash tag.
Exit code 4 while jobq 1 workers are still alive.";

#[derive(Debug, Args)]
#[command(after_long_help = MIGRATE_EXAMPLES)]
pub struct MigrateArgs {
    /// Carry out the migration (without it, only print what it would do)
    #[arg(long)]
    pub apply: bool,
}

const ARCHIVE_EXAMPLES: &str = "\
Examples:
  jobq archive --to postgres://jobq:secret@db.internal/jobs
  jobq archive --to postgres://jobq@db.internal/jobs --queues high,normal --once   # cron
  JOBQ_ARCHIVE_URL=postgres://jobq@db.internal/jobs jobq archive --once --json

Copies every completed, dead and cancelled job (type, queue, payload, result, every attempt's
error, worker, times) into the table jobq.jobs, creating and migrating the schema `jobq` first.
One row per finished outcome; a SIGKILL at any moment loses and repeats nothing, and several
archivers at once share the work. Each pass logs what it archived and the lag (with --json:
one status object per pass on stdout). Exit 9: PostgreSQL unreachable or refused.";

#[derive(Debug, Args)]
#[command(after_long_help = ARCHIVE_EXAMPLES)]
pub struct ArchiveArgs {
    /// PostgreSQL to copy into: postgres://user:password@host:5432/database (add ?sslmode=require for TLS, ?host=/run/postgresql for a unix socket)
    #[arg(long, env = "JOBQ_ARCHIVE_URL", hide_env_values = true, value_name = "URL")]
    pub to: String,

    /// Only these queues (default: every queue, also ones created later)
    #[arg(long, value_delimiter = ',', value_name = "Q1,Q2,...")]
    pub queues: Vec<String>,

    /// Archive what has finished until now, print the status and exit (for cron)
    #[arg(long)]
    pub once: bool,

    /// Pause between passes once caught up
    #[arg(long, value_parser = parse_duration, default_value = "1s", value_name = "DURATION")]
    pub interval: Duration,
}

const HISTORY_EXAMPLES: &str = "\
Examples:
  jobq history --type send_email --state dead --since 24h
  jobq history --where 'payload.user_id=42' --json
  jobq history --queue high --since 2026-11-01T00:00:00Z --until 2026-11-08T00:00:00Z --limit 500
  jobq history --summary --since 7d

--where FIELD=VALUE matches a field of the payload or result (payload.user_id=42,
result.status='\"ok\"'); VALUE is JSON when it parses as JSON, else text. Repeat it to AND.
--since and --until take a duration back from now (7d, 90m) or an RFC 3339 time.
--summary gives per type: counts, failure rate (dead / (completed + dead)) and the p50, p95
and p99 run time of completed jobs, over --since (default 7d).";

/// Finished states, as archived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FinishedState {
    Completed,
    Dead,
    Cancelled,
}

#[derive(Debug, Args)]
#[command(after_long_help = HISTORY_EXAMPLES)]
pub struct HistoryArgs {
    /// The archive written by `jobq archive --to URL`
    #[arg(long, env = "JOBQ_ARCHIVE_URL", hide_env_values = true, value_name = "URL")]
    pub from: String,

    /// Only jobs of this type
    #[arg(long = "type", short = 't', value_name = "TYPE")]
    pub job_type: Option<String>,

    /// Only jobs of this queue
    #[arg(long, short = 'q', value_name = "NAME")]
    pub queue: Option<String>,

    /// Only jobs that ended this way
    #[arg(
        long,
        short = 's',
        value_enum,
        value_name = "STATE",
        conflicts_with = "summary"
    )]
    pub state: Option<FinishedState>,

    /// Only jobs finished since then: a duration back from now (7d) or an RFC 3339 time
    #[arg(long, value_name = "DURATION|TIME")]
    pub since: Option<String>,

    /// Only jobs finished before then: a duration back from now or an RFC 3339 time
    #[arg(long, value_name = "DURATION|TIME")]
    pub until: Option<String>,

    /// Only jobs whose payload (or result) field equals a value: payload.user_id=42 (repeatable)
    #[arg(long = "where", value_name = "FIELD=VALUE")]
    pub wheres: Vec<String>,

    /// Most jobs shown, newest first
    #[arg(
        long,
        short = 'n',
        default_value_t = 50,
        value_name = "N",
        conflicts_with = "summary"
    )]
    pub limit: u64,

    /// Per type: counts, failure rate and p50/p95/p99 run time (default period: 7d)
    #[arg(long)]
    pub summary: bool,
}

const NOTIFY_EXAMPLES: &str = "\
Examples:
  jobq notify --url https://hooks.example.com/jobq --on failed,dead --secret-file /etc/jobq/webhook.key
  jobq notify --url http://127.0.0.1:8080/events --queue reports --type export_csv --on completed

Each matching event (the JSON of `jobq tail --json`) is POSTed with Content-Type
application/json and the headers X-Jobq-Event (the event), X-Jobq-Delivery (queue/event_id,
unique: deduplicate on it), X-Jobq-Timestamp (Unix seconds of this attempt) and, with
--secret-file, X-Jobq-Signature: sha256=<hex HMAC-SHA256 of the raw body under the secret>.
Any answer but 2xx is retried with backoff (0.5s doubling to 30s), in order, until accepted.
The position per queue is kept in Redis under --name, so a restart resumes. It reaches back as
far as each queue's event stream: about the last 10000 events of each queue.";

#[derive(Debug, Args)]
#[command(after_long_help = NOTIFY_EXAMPLES)]
pub struct NotifyArgs {
    /// Webhook to POST events to (http:// or https://)
    #[arg(long, value_name = "URL")]
    pub url: String,

    /// Which outcomes: completed, failed (an attempt failed, a retry is scheduled), dead, cancelled
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "completed,failed,dead,cancelled",
        value_name = "EVENT,..."
    )]
    pub on: Vec<String>,

    /// Only these queues (repeatable; default: every queue, also ones created later)
    #[arg(long = "queue", short = 'q', value_name = "NAME")]
    pub queues: Vec<String>,

    /// Only jobs of this type
    #[arg(long = "type", short = 't', value_name = "TYPE")]
    pub job_type: Option<String>,

    /// File holding the shared secret for X-Jobq-Signature (a trailing newline is ignored)
    #[arg(long, value_name = "FILE")]
    pub secret_file: Option<PathBuf>,

    /// Name under which the delivery positions are kept in Redis (default: derived from --url)
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Limit for one delivery attempt
    #[arg(long, value_parser = parse_duration, default_value = "10s", value_name = "DURATION")]
    pub timeout: Duration,
}

/// The completion script `jobq completions SHELL` prints (and `completions/` holds): it asks
/// `COMPLETE=SHELL jobq -- ...` for candidates at each Tab.
pub fn completion_script(shell: CompletionShell) -> Vec<u8> {
    let mut buf = Vec::new();
    let shells = clap_complete::env::Shells::builtins();
    if let Some(sh) = shells.completer(shell.name()) {
        // Writing to a Vec cannot fail.
        let _ = sh.write_registration("COMPLETE", "jobq", "jobq", "jobq", &mut buf);
    }
    buf
}

/// Every man page: `(file name, roff text)` for `jobq`, each subcommand and each
/// sub-subcommand (`jobq-dlq-drain.1`). A page lists its subcommands as `jobq-dlq-drain(1)`,
/// so exactly the pages referenced are generated.
pub fn man_pages() -> Vec<(String, Vec<u8>)> {
    use clap::CommandFactory;
    fn walk(cmd: &clap::Command, out: &mut Vec<(String, Vec<u8>)>) {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(sub, out);
        }
        let man = clap_mangen::Man::new(cmd.clone());
        let mut buf = Vec::new();
        // Rendering into a Vec cannot fail.
        let _ = man.render(&mut buf);
        out.push((man.get_filename(), buf));
    }
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut out = Vec::new();
    walk(&cmd, &mut out);
    out.sort();
    out
}

const SERVE_EXAMPLES: &str = "\
Examples:
  jobq serve                                   # http://127.0.0.1:7878/ (loopback only)
  jobq serve --listen 0.0.0.0:7878 --tokens /etc/jobq/tokens
  curl -H 'Authorization: Bearer $TOKEN' http://host:7878/api/queues

The tokens file holds one `TOKEN ROLE` per line (role `read`: GETs, streams and /metrics;
`operate`: everything); `#` starts a comment. Without --tokens only loopback addresses are
served. With --listen ADDR:0 the port is picked by the system; the address served is printed
on stderr.";

#[derive(Debug, Args)]
#[command(after_long_help = SERVE_EXAMPLES)]
pub struct ServeArgs {
    /// Address to listen on; without --tokens only loopback addresses are allowed
    #[arg(
        long,
        env = "JOBQ_LISTEN",
        default_value = "127.0.0.1:7878",
        value_name = "ADDR:PORT"
    )]
    pub listen: String,

    /// File of `TOKEN ROLE` lines (roles: read, operate); clients send `Authorization: Bearer TOKEN`
    #[arg(long, env = "JOBQ_TOKENS", value_name = "FILE")]
    pub tokens: Option<PathBuf>,
}

/// Whether `name` is one of jobq's subcommands (for pointing at the right `--help`).
pub fn is_subcommand(name: &str) -> bool {
    use clap::CommandFactory;
    Cli::command().get_subcommands().any(|c| c.get_name() == name)
}

const SCHEDULE_EXAMPLES: &str = "\
Examples:
  jobq schedule add nightly-backup --cron '30 2 * * *' --tz Europe/Berlin backup --data '{\"db\":\"main\"}'
  jobq schedule add cleanup --cron @hourly cleanup --queue low
  jobq schedule add digest --every 15m digest --queue mail --priority 2
  jobq schedule add ping --every 30s healthcheck
  jobq schedule ls
  jobq schedule pause nightly-backup
  jobq schedule run nightly-backup      # one job now, besides the ticks

Running workers enqueue the ticks (no extra daemon): exactly one job per tick however many
workers run. A tick missed because no worker ran is enqueued once when one returns; after a
longer outage the missed ticks give one catch-up job, not a burst.";

#[derive(Debug, Subcommand)]
#[command(after_long_help = SCHEDULE_EXAMPLES)]
pub enum ScheduleCommand {
    /// Add a recurring job (exit 2 for a bad expression or zone, 4 if the name is taken)
    Add(ScheduleAddArgs),
    /// List schedules: timing, job, next and last run, paused
    Ls(ScheduleLsArgs),
    /// Remove a schedule (jobs it enqueued stay)
    Rm(ScheduleNameArgs),
    /// Stop a schedule from ticking
    Pause(ScheduleNameArgs),
    /// Let a paused schedule tick again, from the next tick after now (missed ticks are skipped)
    Resume(ScheduleNameArgs),
    /// Enqueue the schedule's job once now and print its id (the ticks go on as before)
    Run(ScheduleNameArgs),
}

#[derive(Debug, Args)]
#[command(after_long_help = SCHEDULE_EXAMPLES)]
#[command(group(clap::ArgGroup::new("timing").required(true).args(["cron", "every"])))]
pub struct ScheduleAddArgs {
    /// Schedule name ([A-Za-z0-9_.-], at most 128 characters)
    #[arg(value_name = "NAME")]
    pub name: String,

    /// Job type the schedule enqueues
    #[arg(value_name = "TYPE")]
    pub job_type: String,

    /// 5-field cron expression (minute hour day-of-month month day-of-week) or @yearly,
    /// @monthly, @weekly, @daily, @hourly
    #[arg(long, value_name = "EXPR")]
    pub cron: Option<String>,

    /// Time zone of --cron (IANA name, e.g. Europe/Berlin; default UTC); ticks follow its DST changes
    #[arg(long, value_name = "ZONE", conflicts_with = "every")]
    pub tz: Option<String>,

    /// Tick every DURATION instead of by cron (at least 1s), first one DURATION from now
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub every: Option<Duration>,

    /// Payload of every job: JSON text or @FILE
    #[arg(long, short = 'd', default_value = "{}", value_name = "JSON|@FILE")]
    pub data: String,

    /// high, normal or low: the standard queue to use (without it or --queue: the type's
    /// route, else normal); or a number from 1 (runs first) to 10 (last), default 5: the
    /// order of every job of the schedule within its queue (as enqueue --priority)
    #[arg(long, short = 'p', value_parser = parse_priority, value_name = "high|normal|low|1-10")]
    pub priority: Option<PriorityArg>,

    /// Any other queue, by name
    #[arg(long, short = 'q', value_name = "NAME")]
    pub queue: Option<String>,

    /// Attempts before a job goes to the dead-letter set
    #[arg(long, default_value_t = crate::store::jobs_defaults::MAX_ATTEMPTS, value_name = "N")]
    pub max_attempts: u32,

    /// Stop the handler and fail the attempt after this long
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: Option<Duration>,

    /// Replace a schedule of the same name (its last run and paused state are kept)
    #[arg(long)]
    pub replace: bool,
}

#[derive(Debug, Args)]
pub struct ScheduleLsArgs {}

#[derive(Debug, Args)]
pub struct ScheduleNameArgs {
    /// Schedule name
    #[arg(value_name = "NAME")]
    pub name: String,
}

const ROUTE_EXAMPLES: &str = "\
Examples:
  jobq route set 'ai.*' ai
  jobq route set ai.image.upscale gpu
  jobq route ls
  jobq route rm 'ai.*'

An enqueue without --queue or --priority (CLI, --batch lines, the library, the HTTP API,
schedules) goes to the queue of the most specific route matching its type, else `normal`.
Most specific: fewest `*`, then fewest `?`, then the most literal characters.
Enqueuers re-read routes at most once a second: a change reaches them within a second.";

#[derive(Debug, Subcommand)]
#[command(after_long_help = ROUTE_EXAMPLES)]
pub enum RouteCommand {
    /// Route the types matching PATTERN (`*` any characters, `?` one) to QUEUE
    Set(RouteSetArgs),
    /// List routes, most specific first
    Ls(RouteLsArgs),
    /// Remove a route
    Rm(RouteRmArgs),
}

#[derive(Debug, Args)]
pub struct RouteSetArgs {
    /// Job type pattern, e.g. ai.* or send_email
    #[arg(value_name = "PATTERN")]
    pub pattern: String,
    /// Queue for matching types
    #[arg(value_name = "QUEUE")]
    pub queue: String,
}

#[derive(Debug, Args)]
pub struct RouteLsArgs {}

#[derive(Debug, Args)]
pub struct RouteRmArgs {
    /// The pattern, as given to `route set`
    #[arg(value_name = "PATTERN")]
    pub pattern: String,
}

const LIMIT_EXAMPLES: &str = "\
Examples:
  jobq limit set mail --rate 100/m
  jobq limit set gpu --concurrency 4
  jobq limit set api --rate 10/s --concurrency 20
  jobq limit ls
  jobq limit rm mail

Limits hold across every worker of the queue, checked atomically where jobs are fetched.
--rate N/s|N/m|N/h: a token bucket of N starts on the Redis clock (an idle queue may start N
at once, then N per period). --concurrency N: jobs of the queue running at once (leased).
A limited queue never holds up a worker's other queues; waiting workers sleep until the
limit lets the queue go on, and a job that ends under a full cap wakes them.";

#[derive(Debug, Subcommand)]
#[command(after_long_help = LIMIT_EXAMPLES)]
pub enum LimitCommand {
    /// Set (replace) the limits of a queue
    Set(LimitSetArgs),
    /// List the limits and whether they hold their queue back now
    Ls(LimitLsArgs),
    /// Remove the limits of a queue
    Rm(LimitRmArgs),
}

#[derive(Debug, Args)]
pub struct LimitSetArgs {
    /// The queue to limit
    #[arg(value_name = "QUEUE", add = queue_candidates())]
    pub queue: String,
    /// Job starts per second, minute or hour, across all workers (e.g. 10/s, 100/m, 1000/h)
    #[arg(long, value_name = "N/s|N/m|N/h")]
    pub rate: Option<String>,
    /// Jobs of the queue running at once, across all workers
    #[arg(long, value_name = "N")]
    pub concurrency: Option<u32>,
}

#[derive(Debug, Args)]
pub struct LimitLsArgs {}

#[derive(Debug, Args)]
pub struct LimitRmArgs {
    /// The queue whose limits to remove
    #[arg(value_name = "QUEUE", add = queue_candidates())]
    pub queue: String,
}

const TYPE_EXAMPLES: &str = "\
Examples:
  jobq type set send_email --schema send_email.schema.json
  jobq type ls
  jobq type show send_email
  jobq type rm send_email

Every enqueue of a type with a schema (CLI, --batch, library, HTTP API, schedules) checks the
payload first; a mismatch exits 2 naming the JSON path and the rule, and nothing is written.
Schemas are JSON Schema (draft 4 to 2020-12, by $schema; default 2020-12); references to
other documents are not fetched.";

#[derive(Debug, Subcommand)]
#[command(after_long_help = TYPE_EXAMPLES)]
pub enum TypeCommand {
    /// Set (or replace) the payload schema of a type
    Set(TypeSetArgs),
    /// List the types that have a schema
    Ls(TypeLsArgs),
    /// Print the schema of a type
    Show(TypeNameArgs),
    /// Remove the schema of a type (its payloads are no longer checked)
    Rm(TypeNameArgs),
}

#[derive(Debug, Args)]
pub struct TypeSetArgs {
    /// Job type
    #[arg(value_name = "TYPE")]
    pub job_type: String,
    /// JSON Schema file, or - for stdin
    #[arg(long, value_name = "FILE|-")]
    pub schema: PathBuf,
}

#[derive(Debug, Args)]
pub struct TypeLsArgs {}

#[derive(Debug, Args)]
pub struct TypeNameArgs {
    /// Job type
    #[arg(value_name = "TYPE")]
    pub job_type: String,
}
