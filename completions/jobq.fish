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
complete -c jobq -n "__fish_jobq_using_subcommand worker" -l lease -d 'Lease on a running job; renewed every third of it. A dead worker\'s jobs return after at most 4/3 of it' -r
complete -c jobq -n "__fish_jobq_using_subcommand worker" -l retry-base -d 'Delay before the first retry; doubles with each attempt, ±25% jitter' -r
complete -c jobq -n "__fish_jobq_using_subcommand worker" -l retry-max -d 'Longest delay between retries' -r
complete -c jobq -n "__fish_jobq_using_subcommand worker" -l retention -d 'How long completed jobs stay readable' -r
complete -c jobq -n "__fish_jobq_using_subcommand worker" -l redis-url -d 'Redis to use: redis://[user:password@]host:port[/db], rediss:// for TLS, unix:///path/redis.sock' -r
complete -c jobq -n "__fish_jobq_using_subcommand worker" -l namespace -d 'Key namespace; tenants sharing one Redis use different namespaces' -r
complete -c jobq -n "__fish_jobq_using_subcommand worker" -l burst -d 'Exit 0 once the queues are empty and nothing is running'
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
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue worker inspect demo doctor progress watch wait tail help" -f -a "enqueue" -d 'Add a job to a queue and print its id'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue worker inspect demo doctor progress watch wait tail help" -f -a "worker" -d 'Run jobs from one or more queues with handler programs'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue worker inspect demo doctor progress watch wait tail help" -f -a "inspect" -d 'Show everything about one job: state, attempts, times, result, errors'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue worker inspect demo doctor progress watch wait tail help" -f -a "demo" -d 'Start a private redis-server, run sample jobs through a worker, show what happened'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue worker inspect demo doctor progress watch wait tail help" -f -a "doctor" -d 'Check Redis settings and the queues for what can lose or strand jobs (exit 8 if unhealthy)'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue worker inspect demo doctor progress watch wait tail help" -f -a "progress" -d 'Report the running job\'s progress from inside a handler (uses JOBQ_JOB_ID and JOBQ_LEASE)'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue worker inspect demo doctor progress watch wait tail help" -f -a "watch" -d 'Show a job\'s progress live until it ends; without an id, every running job'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue worker inspect demo doctor progress watch wait tail help" -f -a "wait" -d 'Block until jobs have ended; the exit code says how they ended'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue worker inspect demo doctor progress watch wait tail help" -f -a "tail" -d 'Print job events one per line: the recent past, then (with --follow) live'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue worker inspect demo doctor progress watch wait tail help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
