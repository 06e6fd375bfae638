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

Exit codes: 0 ok, 1 failure, 2 bad input, 3 unknown job, 4 wrong job state,
5 Redis unreachable, 6 Redis login/permission refused, 7 Redis refused the command, 130 interrupted.";

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

    /// Enqueue many jobs: one JSON object per line from FILE, or - for stdin (see below)
    #[arg(long, value_name = "FILE|-", conflicts_with_all = ["job_type", "data", "unique_key"])]
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
