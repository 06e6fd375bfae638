# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_jobq_global_optspecs
    string join \n redis-url= namespace= json h/help V/version
end

function __fish_jobq_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_jobq_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_jobq_using_subcommand
    set -l cmd (__fish_jobq_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c jobq -n "__fish_jobq_needs_command" -l redis-url -d 'Redis to use: redis://[user:password@]host:port[/db], rediss:// for TLS, unix:///path/redis.sock' -r
complete -c jobq -n "__fish_jobq_needs_command" -l namespace -d 'Key namespace; tenants sharing one Redis use different namespaces' -r
complete -c jobq -n "__fish_jobq_needs_command" -l json -d 'Print JSON on stdout instead of text for humans'
complete -c jobq -n "__fish_jobq_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jobq -n "__fish_jobq_needs_command" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_needs_command" -f -a "enqueue" -d 'Add a job to a queue and print its id'
complete -c jobq -n "__fish_jobq_needs_command" -f -a "worker" -d 'Run jobs from one or more queues with handler programs'
complete -c jobq -n "__fish_jobq_needs_command" -f -a "inspect" -d 'Show everything about one job: state, attempts, times, result, errors'
complete -c jobq -n "__fish_jobq_needs_command" -f -a "demo" -d 'Start a private redis-server, run sample jobs through a worker, show what happened'
complete -c jobq -n "__fish_jobq_needs_command" -f -a "doctor" -d 'Check Redis settings and the queues for what can lose or strand jobs (exit 8 if unhealthy)'
complete -c jobq -n "__fish_jobq_needs_command" -f -a "progress" -d 'Report the running job\'s progress from inside a handler (uses JOBQ_JOB_ID and JOBQ_LEASE)'
complete -c jobq -n "__fish_jobq_needs_command" -f -a "watch" -d 'Show a job\'s progress live until it ends; without an id, every running job'
complete -c jobq -n "__fish_jobq_needs_command" -f -a "wait" -d 'Block until jobs have ended; the exit code says how they ended'
complete -c jobq -n "__fish_jobq_needs_command" -f -a "tail" -d 'Print job events one per line: the recent past, then (with --follow) live'
complete -c jobq -n "__fish_jobq_needs_command" -f -a "ls" -d 'List jobs by queue, state and type, a page at a time'
complete -c jobq -n "__fish_jobq_needs_command" -f -a "retry" -d 'Requeue failed, dead or cancelled jobs now'
complete -c jobq -n "__fish_jobq_needs_command" -f -a "cancel" -d 'Cancel scheduled, queued or running jobs'
complete -c jobq -n "__fish_jobq_needs_command" -f -a "dlq" -d 'The dead-letter queue: list, requeue (drain) or delete (purge) dead jobs'
complete -c jobq -n "__fish_jobq_needs_command" -f -a "pause" -d 'Stop workers from taking new jobs from a queue (running jobs finish)'
complete -c jobq -n "__fish_jobq_needs_command" -f -a "resume" -d 'Let workers take jobs from a paused queue again'
complete -c jobq -n "__fish_jobq_needs_command" -f -a "purge" -d 'Delete the jobs of a queue that are in one state (or all but running ones)'
complete -c jobq -n "__fish_jobq_needs_command" -f -a "stats" -d 'One table with the health of every queue, the last 7 days and the live worker count'
complete -c jobq -n "__fish_jobq_needs_command" -f -a "workers" -d 'Live workers: queues, busy slots and the jobs they run, uptime, last heartbeat'
complete -c jobq -n "__fish_jobq_needs_command" -f -a "bench" -d 'Measure throughput, latency and Redis cost per job on a private redis-server'
complete -c jobq -n "__fish_jobq_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -s d -l data -d 'Payload: JSON text, @FILE to read a file, or - to read stdin' -r
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -s p -l priority -d 'Standard queue to use' -r -f -a "high\t''
normal\t''
low\t''"
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -s q -l queue -d 'Any other queue, by name' -r
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -l delay -d 'Run no earlier than this long from now (90s, 5m, 2h)' -r
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -l at -d 'Run no earlier than this time (RFC 3339)' -r
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -l max-attempts -d 'Attempts before the job goes to the dead-letter set' -r
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -l timeout -d 'Stop the handler and fail the attempt after this long' -r
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -l unique-key -d 'While an unfinished job in this queue has this key, return its id instead of adding another' -r
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -l batch -d 'Enqueue many jobs: one JSON object per line from FILE, or - for stdin (see below)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -l redis-url -d 'Redis to use: redis://[user:password@]host:port[/db], rediss:// for TLS, unix:///path/redis.sock' -r
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -l namespace -d 'Key namespace; tenants sharing one Redis use different namespaces' -r
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -l wait -d 'After enqueueing, block until the job has ended, like `jobq wait` (same exit codes)'
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -l watch -d 'After enqueueing, show its progress until it ends, like `jobq watch` (same exit codes)'
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -l json -d 'Print JSON on stdout instead of text for humans'
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_using_subcommand worker" -l queues -d 'Queues to take jobs from, in strict priority order' -r
complete -c jobq -n "__fish_jobq_using_subcommand worker" -s c -l concurrency -d 'Jobs run at the same time' -r
complete -c jobq -n "__fish_jobq_using_subcommand worker" -l handler -d 'Handler for one job type: TYPE=COMMAND (repeatable; COMMAND is split like a shell but run without one)' -r
complete -c jobq -n "__fish_jobq_using_subcommand worker" -l handlers -d 'TOML file with one [TYPE] table per job type: command, timeout, env' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand worker" -l exec -d 'Handler for every type that has no other handler' -r
complete -c jobq -n "__fish_jobq_using_subcommand worker" -l shutdown-timeout -d 'On SIGINT/SIGTERM, how long running jobs may take to finish before they are requeued' -r
complete -c jobq -n "__fish_jobq_using_subcommand worker" -l timeout -d 'Timeout for jobs that set none (their handler\'s timeout comes first)' -r
complete -c jobq -n "__fish_jobq_using_subcommand worker" -l kill-grace -d 'Time between SIGTERM and SIGKILL when a handler must stop' -r
complete -c jobq -n "__fish_jobq_using_subcommand worker" -l lease -d 'Lease on a running job; renewed every third of it. A dead worker\'s jobs return after at most 4/3 of it (2x when all other workers are idle)' -r
complete -c jobq -n "__fish_jobq_using_subcommand worker" -l retry-base -d 'Delay before the first retry; doubles with each attempt, ±25% jitter' -r
complete -c jobq -n "__fish_jobq_using_subcommand worker" -l retry-max -d 'Longest delay between retries' -r
complete -c jobq -n "__fish_jobq_using_subcommand worker" -l retention -d 'How long completed jobs stay readable' -r
complete -c jobq -n "__fish_jobq_using_subcommand worker" -l redis-url -d 'Redis to use: redis://[user:password@]host:port[/db], rediss:// for TLS, unix:///path/redis.sock' -r
complete -c jobq -n "__fish_jobq_using_subcommand worker" -l namespace -d 'Key namespace; tenants sharing one Redis use different namespaces' -r
complete -c jobq -n "__fish_jobq_using_subcommand worker" -l burst -d 'Exit 0 once the queues are empty and nothing is running'
complete -c jobq -n "__fish_jobq_using_subcommand worker" -l persistent -d 'Run --handler and --exec commands as persistent handlers: one long-lived process per slot, one JSON line per job on stdin, one JSON answer per job on stdout'
complete -c jobq -n "__fish_jobq_using_subcommand worker" -l json -d 'Print JSON on stdout instead of text for humans'
complete -c jobq -n "__fish_jobq_using_subcommand worker" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jobq -n "__fish_jobq_using_subcommand worker" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_using_subcommand inspect" -l redis-url -d 'Redis to use: redis://[user:password@]host:port[/db], rediss:// for TLS, unix:///path/redis.sock' -r
complete -c jobq -n "__fish_jobq_using_subcommand inspect" -l namespace -d 'Key namespace; tenants sharing one Redis use different namespaces' -r
complete -c jobq -n "__fish_jobq_using_subcommand inspect" -l json -d 'Print JSON on stdout instead of text for humans'
complete -c jobq -n "__fish_jobq_using_subcommand inspect" -s h -l help -d 'Print help'
complete -c jobq -n "__fish_jobq_using_subcommand inspect" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_using_subcommand demo" -l redis-url -d 'Redis to use: redis://[user:password@]host:port[/db], rediss:// for TLS, unix:///path/redis.sock' -r
complete -c jobq -n "__fish_jobq_using_subcommand demo" -l namespace -d 'Key namespace; tenants sharing one Redis use different namespaces' -r
complete -c jobq -n "__fish_jobq_using_subcommand demo" -l json -d 'Print JSON on stdout instead of text for humans'
complete -c jobq -n "__fish_jobq_using_subcommand demo" -s h -l help -d 'Print help'
complete -c jobq -n "__fish_jobq_using_subcommand demo" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_using_subcommand doctor" -l redis-url -d 'Redis to use: redis://[user:password@]host:port[/db], rediss:// for TLS, unix:///path/redis.sock' -r
complete -c jobq -n "__fish_jobq_using_subcommand doctor" -l namespace -d 'Key namespace; tenants sharing one Redis use different namespaces' -r
complete -c jobq -n "__fish_jobq_using_subcommand doctor" -l fix -d 'Repair what is safe to repair (what a worker or an operator would do anyway)'
complete -c jobq -n "__fish_jobq_using_subcommand doctor" -l json -d 'Print JSON on stdout instead of text for humans'
complete -c jobq -n "__fish_jobq_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jobq -n "__fish_jobq_using_subcommand doctor" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_using_subcommand progress" -l job -d 'The running job' -r
complete -c jobq -n "__fish_jobq_using_subcommand progress" -l lease -d 'The attempt\'s lease token; writes from an attempt that is over are refused' -r
complete -c jobq -n "__fish_jobq_using_subcommand progress" -l redis-url -d 'Redis to use: redis://[user:password@]host:port[/db], rediss:// for TLS, unix:///path/redis.sock' -r
complete -c jobq -n "__fish_jobq_using_subcommand progress" -l namespace -d 'Key namespace; tenants sharing one Redis use different namespaces' -r
complete -c jobq -n "__fish_jobq_using_subcommand progress" -l json -d 'Print JSON on stdout instead of text for humans'
complete -c jobq -n "__fish_jobq_using_subcommand progress" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jobq -n "__fish_jobq_using_subcommand progress" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_using_subcommand watch" -s q -l queue -d 'Only jobs of these queues (repeatable; default: every queue)' -r
complete -c jobq -n "__fish_jobq_using_subcommand watch" -s t -l type -d 'Only jobs of this type' -r
complete -c jobq -n "__fish_jobq_using_subcommand watch" -l bars -d 'Most bars drawn at once; further running jobs are summarised on one line' -r
complete -c jobq -n "__fish_jobq_using_subcommand watch" -l redis-url -d 'Redis to use: redis://[user:password@]host:port[/db], rediss:// for TLS, unix:///path/redis.sock' -r
complete -c jobq -n "__fish_jobq_using_subcommand watch" -l namespace -d 'Key namespace; tenants sharing one Redis use different namespaces' -r
complete -c jobq -n "__fish_jobq_using_subcommand watch" -l json -d 'Print JSON on stdout instead of text for humans'
complete -c jobq -n "__fish_jobq_using_subcommand watch" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jobq -n "__fish_jobq_using_subcommand watch" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_using_subcommand wait" -l timeout -d 'Give up after this long (exit code 13)' -r
complete -c jobq -n "__fish_jobq_using_subcommand wait" -l redis-url -d 'Redis to use: redis://[user:password@]host:port[/db], rediss:// for TLS, unix:///path/redis.sock' -r
complete -c jobq -n "__fish_jobq_using_subcommand wait" -l namespace -d 'Key namespace; tenants sharing one Redis use different namespaces' -r
complete -c jobq -n "__fish_jobq_using_subcommand wait" -l json -d 'Print JSON on stdout instead of text for humans'
complete -c jobq -n "__fish_jobq_using_subcommand wait" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jobq -n "__fish_jobq_using_subcommand wait" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_using_subcommand tail" -s q -l queue -d 'Only events of these queues (repeatable; default: every queue)' -r
complete -c jobq -n "__fish_jobq_using_subcommand tail" -s t -l type -d 'Only events of jobs of this type' -r
complete -c jobq -n "__fish_jobq_using_subcommand tail" -l since -d 'Start this long ago (10m, 2h), or after this event id; default: the last 10 events' -r
complete -c jobq -n "__fish_jobq_using_subcommand tail" -l redis-url -d 'Redis to use: redis://[user:password@]host:port[/db], rediss:// for TLS, unix:///path/redis.sock' -r
complete -c jobq -n "__fish_jobq_using_subcommand tail" -l namespace -d 'Key namespace; tenants sharing one Redis use different namespaces' -r
complete -c jobq -n "__fish_jobq_using_subcommand tail" -s f -l follow -d 'After the replay, keep printing new events as they happen, until Ctrl-C'
complete -c jobq -n "__fish_jobq_using_subcommand tail" -l json -d 'Print JSON on stdout instead of text for humans'
complete -c jobq -n "__fish_jobq_using_subcommand tail" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jobq -n "__fish_jobq_using_subcommand tail" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_using_subcommand ls" -s q -l queue -d 'Only this queue' -r
complete -c jobq -n "__fish_jobq_using_subcommand ls" -s t -l type -d 'Only jobs of this type' -r
complete -c jobq -n "__fish_jobq_using_subcommand ls" -s s -l state -d 'Only jobs in this state' -r -f -a "scheduled\t''
queued\t''
active\t''
completed\t''
dead\t''
cancelled\t''
failed\t'Failed at least once and waiting for its retry (state scheduled, attempt > 0)'"
complete -c jobq -n "__fish_jobq_using_subcommand ls" -s n -l limit -d 'Jobs per page' -r
complete -c jobq -n "__fish_jobq_using_subcommand ls" -l cursor -d 'Where the previous page stopped (printed by it)' -r
complete -c jobq -n "__fish_jobq_using_subcommand ls" -l redis-url -d 'Redis to use: redis://[user:password@]host:port[/db], rediss:// for TLS, unix:///path/redis.sock' -r
complete -c jobq -n "__fish_jobq_using_subcommand ls" -l namespace -d 'Key namespace; tenants sharing one Redis use different namespaces' -r
complete -c jobq -n "__fish_jobq_using_subcommand ls" -l json -d 'Print JSON on stdout instead of text for humans'
complete -c jobq -n "__fish_jobq_using_subcommand ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jobq -n "__fish_jobq_using_subcommand ls" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_using_subcommand retry" -s s -l state -d 'Requeue every job in this state instead (asks first)' -r -f -a "dead\t'In the dead-letter queue'
failed\t'Waiting for an automatic retry'"
complete -c jobq -n "__fish_jobq_using_subcommand retry" -s q -l queue -d 'With --state: only this queue' -r
complete -c jobq -n "__fish_jobq_using_subcommand retry" -s t -l type -d 'With --state: only jobs of this type' -r
complete -c jobq -n "__fish_jobq_using_subcommand retry" -l redis-url -d 'Redis to use: redis://[user:password@]host:port[/db], rediss:// for TLS, unix:///path/redis.sock' -r
complete -c jobq -n "__fish_jobq_using_subcommand retry" -l namespace -d 'Key namespace; tenants sharing one Redis use different namespaces' -r
complete -c jobq -n "__fish_jobq_using_subcommand retry" -s y -l yes -d 'Do it without asking (required when not on a terminal)'
complete -c jobq -n "__fish_jobq_using_subcommand retry" -l json -d 'Print JSON on stdout instead of text for humans'
complete -c jobq -n "__fish_jobq_using_subcommand retry" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jobq -n "__fish_jobq_using_subcommand retry" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_using_subcommand cancel" -l redis-url -d 'Redis to use: redis://[user:password@]host:port[/db], rediss:// for TLS, unix:///path/redis.sock' -r
complete -c jobq -n "__fish_jobq_using_subcommand cancel" -l namespace -d 'Key namespace; tenants sharing one Redis use different namespaces' -r
complete -c jobq -n "__fish_jobq_using_subcommand cancel" -l json -d 'Print JSON on stdout instead of text for humans'
complete -c jobq -n "__fish_jobq_using_subcommand cancel" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jobq -n "__fish_jobq_using_subcommand cancel" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and not __fish_seen_subcommand_from ls drain purge help" -l redis-url -d 'Redis to use: redis://[user:password@]host:port[/db], rediss:// for TLS, unix:///path/redis.sock' -r
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and not __fish_seen_subcommand_from ls drain purge help" -l namespace -d 'Key namespace; tenants sharing one Redis use different namespaces' -r
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and not __fish_seen_subcommand_from ls drain purge help" -l json -d 'Print JSON on stdout instead of text for humans'
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and not __fish_seen_subcommand_from ls drain purge help" -s h -l help -d 'Print help'
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and not __fish_seen_subcommand_from ls drain purge help" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and not __fish_seen_subcommand_from ls drain purge help" -f -a "ls" -d 'List dead jobs, newest first'
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and not __fish_seen_subcommand_from ls drain purge help" -f -a "drain" -d 'Requeue dead jobs with their attempts reset (asks first)'
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and not __fish_seen_subcommand_from ls drain purge help" -f -a "purge" -d 'Delete dead jobs (asks first)'
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and not __fish_seen_subcommand_from ls drain purge help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and __fish_seen_subcommand_from ls" -s q -l queue -d 'Only this queue' -r
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and __fish_seen_subcommand_from ls" -s t -l type -d 'Only jobs of this type' -r
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and __fish_seen_subcommand_from ls" -s n -l limit -d 'Jobs per page' -r
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l cursor -d 'Where the previous page stopped (printed by it)' -r
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l redis-url -d 'Redis to use: redis://[user:password@]host:port[/db], rediss:// for TLS, unix:///path/redis.sock' -r
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l namespace -d 'Key namespace; tenants sharing one Redis use different namespaces' -r
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l json -d 'Print JSON on stdout instead of text for humans'
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help'
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and __fish_seen_subcommand_from ls" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and __fish_seen_subcommand_from drain" -s q -l queue -d 'Only this queue' -r
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and __fish_seen_subcommand_from drain" -s t -l type -d 'Only jobs of this type' -r
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and __fish_seen_subcommand_from drain" -s n -l limit -d 'At most this many jobs' -r
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and __fish_seen_subcommand_from drain" -l redis-url -d 'Redis to use: redis://[user:password@]host:port[/db], rediss:// for TLS, unix:///path/redis.sock' -r
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and __fish_seen_subcommand_from drain" -l namespace -d 'Key namespace; tenants sharing one Redis use different namespaces' -r
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and __fish_seen_subcommand_from drain" -s y -l yes -d 'Do it without asking (required when not on a terminal)'
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and __fish_seen_subcommand_from drain" -l json -d 'Print JSON on stdout instead of text for humans'
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and __fish_seen_subcommand_from drain" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and __fish_seen_subcommand_from drain" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and __fish_seen_subcommand_from purge" -s q -l queue -d 'Only this queue' -r
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and __fish_seen_subcommand_from purge" -s t -l type -d 'Only jobs of this type' -r
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and __fish_seen_subcommand_from purge" -s n -l limit -d 'At most this many jobs' -r
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and __fish_seen_subcommand_from purge" -l redis-url -d 'Redis to use: redis://[user:password@]host:port[/db], rediss:// for TLS, unix:///path/redis.sock' -r
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and __fish_seen_subcommand_from purge" -l namespace -d 'Key namespace; tenants sharing one Redis use different namespaces' -r
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and __fish_seen_subcommand_from purge" -s y -l yes -d 'Do it without asking (required when not on a terminal)'
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and __fish_seen_subcommand_from purge" -l json -d 'Print JSON on stdout instead of text for humans'
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and __fish_seen_subcommand_from purge" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and __fish_seen_subcommand_from purge" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List dead jobs, newest first'
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and __fish_seen_subcommand_from help" -f -a "drain" -d 'Requeue dead jobs with their attempts reset (asks first)'
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and __fish_seen_subcommand_from help" -f -a "purge" -d 'Delete dead jobs (asks first)'
complete -c jobq -n "__fish_jobq_using_subcommand dlq; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c jobq -n "__fish_jobq_using_subcommand pause" -l redis-url -d 'Redis to use: redis://[user:password@]host:port[/db], rediss:// for TLS, unix:///path/redis.sock' -r
complete -c jobq -n "__fish_jobq_using_subcommand pause" -l namespace -d 'Key namespace; tenants sharing one Redis use different namespaces' -r
complete -c jobq -n "__fish_jobq_using_subcommand pause" -l json -d 'Print JSON on stdout instead of text for humans'
complete -c jobq -n "__fish_jobq_using_subcommand pause" -s h -l help -d 'Print help'
complete -c jobq -n "__fish_jobq_using_subcommand pause" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_using_subcommand resume" -l redis-url -d 'Redis to use: redis://[user:password@]host:port[/db], rediss:// for TLS, unix:///path/redis.sock' -r
complete -c jobq -n "__fish_jobq_using_subcommand resume" -l namespace -d 'Key namespace; tenants sharing one Redis use different namespaces' -r
complete -c jobq -n "__fish_jobq_using_subcommand resume" -l json -d 'Print JSON on stdout instead of text for humans'
complete -c jobq -n "__fish_jobq_using_subcommand resume" -s h -l help -d 'Print help'
complete -c jobq -n "__fish_jobq_using_subcommand resume" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_using_subcommand purge" -s s -l state -d 'Which jobs to delete' -r -f -a "queued\t''
scheduled\t''
dead\t''
cancelled\t''
completed\t''
all\t'Every job that is not running'"
complete -c jobq -n "__fish_jobq_using_subcommand purge" -l redis-url -d 'Redis to use: redis://[user:password@]host:port[/db], rediss:// for TLS, unix:///path/redis.sock' -r
complete -c jobq -n "__fish_jobq_using_subcommand purge" -l namespace -d 'Key namespace; tenants sharing one Redis use different namespaces' -r
complete -c jobq -n "__fish_jobq_using_subcommand purge" -s y -l yes -d 'Do it without asking (required when not on a terminal)'
complete -c jobq -n "__fish_jobq_using_subcommand purge" -l json -d 'Print JSON on stdout instead of text for humans'
complete -c jobq -n "__fish_jobq_using_subcommand purge" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jobq -n "__fish_jobq_using_subcommand purge" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_using_subcommand stats" -s q -l queue -d 'Only this queue' -r
complete -c jobq -n "__fish_jobq_using_subcommand stats" -s w -l watch -d 'Redraw every INTERVAL (default 2s) until Ctrl-C' -r
complete -c jobq -n "__fish_jobq_using_subcommand stats" -l redis-url -d 'Redis to use: redis://[user:password@]host:port[/db], rediss:// for TLS, unix:///path/redis.sock' -r
complete -c jobq -n "__fish_jobq_using_subcommand stats" -l namespace -d 'Key namespace; tenants sharing one Redis use different namespaces' -r
complete -c jobq -n "__fish_jobq_using_subcommand stats" -l json -d 'Print JSON on stdout instead of text for humans'
complete -c jobq -n "__fish_jobq_using_subcommand stats" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jobq -n "__fish_jobq_using_subcommand stats" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_using_subcommand workers" -l redis-url -d 'Redis to use: redis://[user:password@]host:port[/db], rediss:// for TLS, unix:///path/redis.sock' -r
complete -c jobq -n "__fish_jobq_using_subcommand workers" -l namespace -d 'Key namespace; tenants sharing one Redis use different namespaces' -r
complete -c jobq -n "__fish_jobq_using_subcommand workers" -l json -d 'Print JSON on stdout instead of text for humans'
complete -c jobq -n "__fish_jobq_using_subcommand workers" -s h -l help -d 'Print help'
complete -c jobq -n "__fish_jobq_using_subcommand workers" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_using_subcommand bench" -l jobs -d 'Jobs per throughput figure (single enqueue, bulk enqueue, processed)' -r
complete -c jobq -n "__fish_jobq_using_subcommand bench" -s c -l concurrency -d 'Concurrency of the benchmarked worker' -r
complete -c jobq -n "__fish_jobq_using_subcommand bench" -l repeat -d 'Rounds per figure; the table shows the median and the spread' -r
complete -c jobq -n "__fish_jobq_using_subcommand bench" -l rate -d 'Arrival rate for the latency figure (jobs/s, open loop)' -r
complete -c jobq -n "__fish_jobq_using_subcommand bench" -l latency-jobs -d 'Arrivals per latency round' -r
complete -c jobq -n "__fish_jobq_using_subcommand bench" -l idle-window -d 'How long an idle worker is watched to count its Redis commands (the default covers one whole idle cycle: four lease-long waits and the safety-net fetch after them)' -r
complete -c jobq -n "__fish_jobq_using_subcommand bench" -l backlogs -d 'Queue sizes for the "cost stays flat" table (--jobs of each are processed)' -r
complete -c jobq -n "__fish_jobq_using_subcommand bench" -l external-jobs -d 'Jobs for each external-handler path (exec per job, persistent Python); 0 skips them' -r
complete -c jobq -n "__fish_jobq_using_subcommand bench" -l redis-url -d 'Redis to use: redis://[user:password@]host:port[/db], rediss:// for TLS, unix:///path/redis.sock' -r
complete -c jobq -n "__fish_jobq_using_subcommand bench" -l namespace -d 'Key namespace; tenants sharing one Redis use different namespaces' -r
complete -c jobq -n "__fish_jobq_using_subcommand bench" -l use-redis-url -d 'Use the Redis at --redis-url (in a throwaway namespace, deleted afterwards) instead of a private redis-server; command counts then include other clients\' commands'
complete -c jobq -n "__fish_jobq_using_subcommand bench" -l json -d 'Print JSON on stdout instead of text for humans'
complete -c jobq -n "__fish_jobq_using_subcommand bench" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jobq -n "__fish_jobq_using_subcommand bench" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue worker inspect demo doctor progress watch wait tail ls retry cancel dlq pause resume purge stats workers bench help" -f -a "enqueue" -d 'Add a job to a queue and print its id'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue worker inspect demo doctor progress watch wait tail ls retry cancel dlq pause resume purge stats workers bench help" -f -a "worker" -d 'Run jobs from one or more queues with handler programs'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue worker inspect demo doctor progress watch wait tail ls retry cancel dlq pause resume purge stats workers bench help" -f -a "inspect" -d 'Show everything about one job: state, attempts, times, result, errors'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue worker inspect demo doctor progress watch wait tail ls retry cancel dlq pause resume purge stats workers bench help" -f -a "demo" -d 'Start a private redis-server, run sample jobs through a worker, show what happened'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue worker inspect demo doctor progress watch wait tail ls retry cancel dlq pause resume purge stats workers bench help" -f -a "doctor" -d 'Check Redis settings and the queues for what can lose or strand jobs (exit 8 if unhealthy)'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue worker inspect demo doctor progress watch wait tail ls retry cancel dlq pause resume purge stats workers bench help" -f -a "progress" -d 'Report the running job\'s progress from inside a handler (uses JOBQ_JOB_ID and JOBQ_LEASE)'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue worker inspect demo doctor progress watch wait tail ls retry cancel dlq pause resume purge stats workers bench help" -f -a "watch" -d 'Show a job\'s progress live until it ends; without an id, every running job'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue worker inspect demo doctor progress watch wait tail ls retry cancel dlq pause resume purge stats workers bench help" -f -a "wait" -d 'Block until jobs have ended; the exit code says how they ended'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue worker inspect demo doctor progress watch wait tail ls retry cancel dlq pause resume purge stats workers bench help" -f -a "tail" -d 'Print job events one per line: the recent past, then (with --follow) live'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue worker inspect demo doctor progress watch wait tail ls retry cancel dlq pause resume purge stats workers bench help" -f -a "ls" -d 'List jobs by queue, state and type, a page at a time'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue worker inspect demo doctor progress watch wait tail ls retry cancel dlq pause resume purge stats workers bench help" -f -a "retry" -d 'Requeue failed, dead or cancelled jobs now'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue worker inspect demo doctor progress watch wait tail ls retry cancel dlq pause resume purge stats workers bench help" -f -a "cancel" -d 'Cancel scheduled, queued or running jobs'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue worker inspect demo doctor progress watch wait tail ls retry cancel dlq pause resume purge stats workers bench help" -f -a "dlq" -d 'The dead-letter queue: list, requeue (drain) or delete (purge) dead jobs'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue worker inspect demo doctor progress watch wait tail ls retry cancel dlq pause resume purge stats workers bench help" -f -a "pause" -d 'Stop workers from taking new jobs from a queue (running jobs finish)'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue worker inspect demo doctor progress watch wait tail ls retry cancel dlq pause resume purge stats workers bench help" -f -a "resume" -d 'Let workers take jobs from a paused queue again'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue worker inspect demo doctor progress watch wait tail ls retry cancel dlq pause resume purge stats workers bench help" -f -a "purge" -d 'Delete the jobs of a queue that are in one state (or all but running ones)'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue worker inspect demo doctor progress watch wait tail ls retry cancel dlq pause resume purge stats workers bench help" -f -a "stats" -d 'One table with the health of every queue, the last 7 days and the live worker count'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue worker inspect demo doctor progress watch wait tail ls retry cancel dlq pause resume purge stats workers bench help" -f -a "workers" -d 'Live workers: queues, busy slots and the jobs they run, uptime, last heartbeat'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue worker inspect demo doctor progress watch wait tail ls retry cancel dlq pause resume purge stats workers bench help" -f -a "bench" -d 'Measure throughput, latency and Redis cost per job on a private redis-server'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue worker inspect demo doctor progress watch wait tail ls retry cancel dlq pause resume purge stats workers bench help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c jobq -n "__fish_jobq_using_subcommand help; and __fish_seen_subcommand_from dlq" -f -a "ls" -d 'List dead jobs, newest first'
complete -c jobq -n "__fish_jobq_using_subcommand help; and __fish_seen_subcommand_from dlq" -f -a "drain" -d 'Requeue dead jobs with their attempts reset (asks first)'
complete -c jobq -n "__fish_jobq_using_subcommand help; and __fish_seen_subcommand_from dlq" -f -a "purge" -d 'Delete dead jobs (asks first)'
