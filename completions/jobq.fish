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
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue worker inspect demo bench help" -f -a "enqueue" -d 'Add a job to a queue and print its id'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue worker inspect demo bench help" -f -a "worker" -d 'Run jobs from one or more queues with handler programs'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue worker inspect demo bench help" -f -a "inspect" -d 'Show everything about one job: state, attempts, times, result, errors'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue worker inspect demo bench help" -f -a "demo" -d 'Start a private redis-server, run sample jobs through a worker, show what happened'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue worker inspect demo bench help" -f -a "bench" -d 'Measure throughput, latency and Redis cost per job on a private redis-server'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue worker inspect demo bench help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
