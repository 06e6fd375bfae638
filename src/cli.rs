//! The command-line interface, in one place: the clap definitions here are the single
//! source for `--help`, the shell completions in `completions/` and the man pages in `man/`.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::duration;

const ABOUT: &str = "Run and operate background-job queues on Redis";

const EXAMPLES: &str = "\
Examples:
  jobq enqueue send_email --priority high --data '{\"to\":\"ops@example.com\"}'
  jobq worker --queues high,normal --handler send_email=./send_email.sh
  jobq inspect high-01JD8XQ4T3M6Z6Q7W8E9R0TYVP
  jobq demo
  jobq watch high-01JD8XQ4T3M6Z6Q7W8E9R0TYVP
  jobq tail --queue high --follow

Exit codes: 0 ok, 1 failure, 2 bad input, 3 unknown job, 4 wrong job state,
5 Redis unreachable, 6 Redis login/permission refused, 7 Redis refused the command,
8 doctor found problems, 10 attempt failed and will be retried (watch), 11 job dead, 12 job cancelled,
13 timed out (wait --timeout), 130 interrupted.";

#[derive(Debug, Parser)]
#[command(name = "jobq", version, about = ABOUT, after_long_help = EXAMPLES, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Redis to use: redis://[user:password@]host:port[/db], rediss:// for TLS, unix:///path/redis.sock
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

    /// Print JSON on stdout instead of text for humans
    #[arg(long, global = true)]
    pub json: bool,
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

fn parse_duration(s: &str) -> Result<Duration, String> {
    duration::parse(s)
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

    /// Standard queue to use
    #[arg(long, short = 'p', value_enum, default_value_t = Priority::Normal, conflicts_with = "queue")]
    pub priority: Priority,

    /// Any other queue, by name
    #[arg(long, short = 'q', value_name = "NAME")]
    pub queue: Option<String>,

    /// Run no earlier than this long from now (90s, 5m, 2h)
    #[arg(long, value_parser = parse_duration, value_name = "DURATION", conflicts_with = "at")]
    pub delay: Option<Duration>,

    /// Run no earlier than this time (RFC 3339)
    #[arg(long, value_parser = parse_time, value_name = "TIME")]
    pub at: Option<DateTime<Utc>>,

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
  jobq worker --exec 'python3 handle.py' --burst
  jobq worker --handler resize='python3 resize.py' --persistent --concurrency 8

Handlers get the payload on stdin and JOBQ_JOB_ID, JOBQ_JOB_TYPE, JOBQ_QUEUE, JOBQ_ATTEMPT,
JOBQ_MAX_ATTEMPTS in the environment. Exit 0 completes the job (stdout is the result), exit 100
fails it for good, any other exit fails the attempt (stderr is the error) and it is retried.

With --persistent (or `persistent = true` in the handlers file) one process per slot stays up
and gets one line per job on stdin: {\"id\",\"type\",\"queue\",\"attempt\",\"max_attempts\",\"payload\"}.
It answers one line on stdout: {\"id\":ID,\"ok\":true,\"result\":JSON} or
{\"id\":ID,\"ok\":false,\"error\":\"...\",\"permanent\":false}. Logs go to stderr.";

#[derive(Debug, Args)]
#[command(after_long_help = WORKER_EXAMPLES)]
pub struct WorkerArgs {
    /// Queues to take jobs from, in strict priority order
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "high,normal,low",
        value_name = "Q1,Q2,..."
    )]
    pub queues: Vec<String>,

    /// Jobs run at the same time
    #[arg(long, short = 'c', default_value_t = 4, value_name = "N")]
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
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Job id, as printed by `jobq enqueue`
    #[arg(value_name = "ID")]
    pub id: String,
}

#[derive(Debug, Args)]
pub struct DemoArgs {}

const DOCTOR_EXAMPLES: &str = "\
Examples:
  jobq doctor            # exit 0 healthy, 8 when something can lose or strand jobs
  jobq doctor --fix      # also repair what is safe: requeue expired leases, drop stale records
  jobq doctor --json     # findings for monitoring";

#[derive(Debug, Args)]
#[command(after_long_help = DOCTOR_EXAMPLES)]
pub struct DoctorArgs {
    /// Repair what is safe to repair (what a worker or an operator would do anyway)
    #[arg(long)]
    pub fix: bool,
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
    #[arg(value_name = "ID")]
    pub id: Option<String>,

    /// Only jobs of these queues (repeatable; default: every queue)
    #[arg(long = "queue", short = 'q', value_name = "NAME", conflicts_with = "id")]
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
    #[arg(value_name = "ID", required = true)]
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
    /// Only events of these queues (repeatable; default: every queue)
    #[arg(long = "queue", short = 'q', value_name = "NAME")]
    pub queues: Vec<String>,

    /// Only events of jobs of this type
    #[arg(long = "type", short = 't', value_name = "TYPE")]
    pub job_type: Option<String>,

    /// Start this long ago (10m, 2h), or after this event id; default: the last 10 events
    #[arg(long, value_name = "DURATION|EVENT_ID")]
    pub since: Option<String>,

    /// After the replay, keep printing new events as they happen, until Ctrl-C
    #[arg(long, short = 'f')]
    pub follow: bool,
}
/// States `ls` and bulk `retry` select by; `failed` = scheduled for an automatic retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StateFilter {
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
  jobq ls --queue high --cursor high:queued:50

Jobs are listed queue by queue (sorted by name) and state by state: active, queued (next to run
first), scheduled (soonest first), dead, cancelled, completed (newest first). When more jobs
match than --limit, the next page's --cursor is printed on stderr (and as next_cursor in JSON).";

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
    #[arg(long, short = 'q', value_name = "NAME")]
    pub queue: Option<String>,
    /// Only jobs of this type
    #[arg(long = "type", short = 't', value_name = "TYPE")]
    pub job_type: Option<String>,
}

/// One page of a listing.
#[derive(Debug, Args)]
pub struct PageArgs {
    /// Jobs per page
    #[arg(long, short = 'n', default_value_t = 50, value_name = "N")]
    pub limit: u64,
    /// Where the previous page stopped (printed by it)
    #[arg(long, value_name = "CURSOR")]
    pub cursor: Option<String>,
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
        conflicts_with = "state"
    )]
    pub ids: Vec<String>,
    /// Requeue every job in this state instead (asks first)
    #[arg(long, short = 's', value_enum, value_name = "STATE")]
    pub state: Option<RetryState>,
    /// With --state: only this queue
    #[arg(long, short = 'q', value_name = "NAME", requires = "state")]
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
(SIGTERM, then SIGKILL after --kill-grace) within about a second and records it as cancelled."
)]
pub struct CancelArgs {
    /// Jobs to cancel
    #[arg(value_name = "ID", required = true)]
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
    #[arg(value_name = "QUEUE")]
    pub queue: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PurgeState {
    Queued,
    Scheduled,
    Dead,
    Cancelled,
    Completed,
    /// Every job that is not running
    All,
}

#[derive(Debug, Args)]
#[command(
    after_long_help = "Examples:\n  jobq purge low\n  jobq purge reports --state all --yes\n\n\
Running jobs are never purged (cancel them). Deletes in atomic batches; Ctrl-C stops between them."
)]
pub struct PurgeArgs {
    /// Queue name
    #[arg(value_name = "QUEUE")]
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
    #[arg(long, short = 'q', value_name = "NAME")]
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

    /// How long an idle worker is watched to count its Redis commands (the default covers one
    /// whole idle cycle: four lease-long waits and the safety-net fetch after them)
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
}

/// Whether `name` is one of jobq's subcommands (for pointing at the right `--help`).
pub fn is_subcommand(name: &str) -> bool {
    use clap::CommandFactory;
    Cli::command().get_subcommands().any(|c| c.get_name() == name)
}
