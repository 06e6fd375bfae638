//! Calls that carry many jobs (issue 11): a bulk enqueue writes up to 500 jobs per script call,
//! completions that come in together share one call, and a slot's completion carries the
//! fetch of its next job. Each job keeps its own guarantees:
//! its own outcome, its unique key, its lease fence and its own event.

use std::time::Duration;

use jobq::store::EnqueueOutcome;
use jobq::{NewJob, State};

use crate::util::{runtime, Redis};

/// Reads `n` events of `queue` from a subscription made before they happened.
async fn live_events(sub: &mut jobq::store::Subscription, n: usize) -> Vec<jobq::store::Event> {
    let mut got = Vec::new();
    while got.len() < n {
        match tokio::time::timeout(Duration::from_secs(10), sub.next()).await {
            Ok(Some(ev)) => got.push(ev),
            Ok(None) => panic!("subscription dropped after {} events", got.len()),
            Err(_) => panic!("only {} of {n} live events arrived", got.len()),
        }
    }
    got
}

/// Awaits `futures` together, with `redis` holding back script calls until every one of them
/// has started: the first call is then certainly on its way while the others queue behind it.
/// (Without the pause a fast server could answer each call within its first poll, and each
/// completion went alone: seen as 15 calls instead of 2.)
async fn all_in_flight<F: std::future::Future>(redis: &Redis, futures: Vec<F>) -> Vec<F::Output> {
    let client = |args: &[&str]| {
        redis::cmd("CLIENT")
            .arg(args)
            .query::<()>(&mut redis.conn())
            .unwrap()
    };
    // WRITE mode holds every EVALSHA back and still answers CLIENT UNPAUSE.
    client(&["PAUSE", "60000", "WRITE"]);
    let mut futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    let mut paused = true;
    std::future::poll_fn(|cx| {
        for (future, slot) in futures.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                if let std::task::Poll::Ready(v) = future.as_mut().poll(cx) {
                    *slot = Some(v);
                }
            }
        }
        if std::mem::take(&mut paused) {
            client(&["UNPAUSE"]);
        }
        if out.iter().all(Option::is_some) {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out.into_iter()
        .map(|v| v.expect("every future is done"))
        .collect()
}

/// Jobs of type `t` in `queue`, numbered `{"i": i}` for each `i` of `range`.
fn numbered(queue: &str, range: std::ops::Range<usize>) -> Vec<NewJob> {
    range
        .map(|i| NewJob::new("t", queue, &serde_json::json!({ "i": i })))
        .collect()
}

/// Another worker now holds job `id`'s lease (as after a recovery and a new fetch).
fn lease_taken_back(redis: &Redis, queue: &str, id: &str) {
    redis::cmd("HSET")
        .arg(format!("{{jobq:{queue}}}:job:{id}"))
        .arg("lease")
        .arg("w2/2")
        .query::<()>(&mut redis.conn())
        .unwrap();
}

/// The size of `key` by `command` (LLEN, ZCARD, XLEN).
fn size(redis: &Redis, command: &str, key: &str) -> u64 {
    redis::cmd(command).arg(key).query(&mut redis.conn()).unwrap()
}

/// The lifetime `processed` counter of `queue`.
fn processed(redis: &Redis, queue: &str) -> u64 {
    redis::cmd("HGET")
        .arg(format!("{{jobq:{queue}}}:stats"))
        .arg("processed")
        .query(&mut redis.conn())
        .unwrap()
}

#[test]
fn a_bulk_enqueue_writes_hundreds_of_jobs_per_call_each_with_its_own_outcome_and_event() {
    let redis = Redis::start();
    let rt = runtime();
    rt.block_on(async {
        let store = redis.store().await;
        let mut sub = store.subscribe(&["bulk".to_string()]).await.unwrap();
        let mut jobs = numbered("bulk", 0..1200);
        // Inside one call: a unique key taken twice, a numbered priority, a delayed job and a
        // job whose id the caller chose.
        jobs[10].unique_key = Some("u1".into());
        jobs[11].unique_key = Some("u1".into());
        jobs[20].priority = Some(2);
        jobs[30].delay = Some(Duration::from_secs(3600));
        let own = format!("bulk-{}", ulid::Ulid::new());
        jobs[40].id = Some(own.clone());

        // Loads the script once, so the count below is of enqueue calls only.
        store
            .enqueue(&NewJob::new("t", "warm", &serde_json::json!({})))
            .await
            .unwrap();
        redis.reset_stats();
        let out = store.enqueue_many(&jobs).await.unwrap();
        assert_eq!(
            redis.command_calls("evalsha"),
            3,
            "1200 jobs of one queue in calls of 500"
        );

        assert_eq!(out.len(), 1200);
        let EnqueueOutcome::Created { id: holder, .. } = &out[10] else {
            panic!("{:?}", out[10]);
        };
        assert_eq!(out[11], EnqueueOutcome::Duplicate { id: holder.clone() });
        assert!(matches!(
            out[30],
            EnqueueOutcome::Created {
                state: State::Scheduled,
                ..
            }
        ));
        assert_eq!(out[40].id(), own);
        let created = out
            .iter()
            .filter(|o| matches!(o, EnqueueOutcome::Created { .. }))
            .count();
        assert_eq!(created, 1199);

        // Every created job has its own event, on the stream and live (several per message).
        let live = live_events(&mut sub, 1199).await;
        let mut live_ids: Vec<&str> = live.iter().map(|e| e.id.as_str()).collect();
        let mut created_ids: Vec<&str> = out
            .iter()
            .filter(|o| matches!(o, EnqueueOutcome::Created { .. }))
            .map(|o| o.id())
            .collect();
        live_ids.sort_unstable();
        created_ids.sort_unstable();
        assert_eq!(live_ids, created_ids);
        assert!(live
            .iter()
            .all(|e| e.event == "enqueued" && !e.event_id.is_empty()));

        // The caller-chosen id is found again, not written twice.
        let again = store.enqueue_many(&jobs[40..41]).await.unwrap();
        assert_eq!(
            again[0],
            EnqueueOutcome::Created {
                id: own.clone(),
                state: State::Queued
            }
        );
    });
    let queued = size(&redis, "LLEN", "{jobq:bulk}:queued");
    let ranked = size(&redis, "ZCARD", "{jobq:bulk}:ranked");
    let scheduled = size(&redis, "ZCARD", "{jobq:bulk}:scheduled");
    let events = size(&redis, "XLEN", "{jobq:bulk}:events");
    assert_eq!((queued, ranked, scheduled, events), (1197, 1, 1, 1199));
}

#[test]
fn live_event_messages_are_built_only_while_someone_listens_and_the_stream_keeps_every_event() {
    let redis = Redis::start();
    let rt = runtime();
    rt.block_on(async {
        let store = redis.store().await;
        let jobs = numbered("quiet", 0..1000);
        // Loads the script, and the queue is not empty below (no wake-up is published).
        store.enqueue(&jobs[0]).await.unwrap();
        redis.reset_stats();
        store.enqueue_many(&jobs[1..501]).await.unwrap();
        assert_eq!(redis.command_calls("spublish"), 0, "nobody listens: no message");
        assert_eq!(redis.command_calls("xadd"), 500, "every event is on the stream");

        let mut sub = store.subscribe(&["quiet".to_string()]).await.unwrap();
        redis.reset_stats();
        let out = store.enqueue_many(&jobs[501..]).await.unwrap();
        assert_eq!(redis.command_calls("spublish"), 1, "one message for the call");
        let live = live_events(&mut sub, 499).await;
        let ids: Vec<&str> = live.iter().map(|e| e.id.as_str()).collect();
        let created: Vec<&str> = out.iter().map(|o| o.id()).collect();
        assert_eq!(ids, created);
    });
}

#[test]
fn completions_that_come_together_share_a_call_and_each_is_fenced_by_its_lease() {
    let redis = Redis::start();
    let rt = runtime();
    rt.block_on(async {
        let store = redis.store().await;
        let jobs = numbered("done", 0..200);
        store.enqueue_many(&jobs).await.unwrap();
        let leased = store
            .fetch("done", 200, "w1", Duration::from_secs(60))
            .await
            .unwrap()
            .jobs;
        assert_eq!(leased.len(), 200);
        // One job's lease was taken back meanwhile (recovered and leased to another worker).
        let stolen = &leased[77];
        lease_taken_back(&redis, "done", &stolen.id);

        // Warm the complete script up with one job, then count the calls of the other 199.
        assert!(store
            .complete(&leased[0], "\"r\"", Duration::from_secs(600))
            .await
            .unwrap());
        redis.reset_stats();
        let results = all_in_flight(
            &redis,
            leased[1..]
                .iter()
                .map(|job| store.complete(job, "\"r\"", Duration::from_secs(600)))
                .collect(),
        )
        .await;
        let calls = redis.command_calls("evalsha");
        assert_eq!(
            calls, 2,
            "199 completions at once: the first alone, then the other 198"
        );
        for (job, r) in leased[1..].iter().zip(results) {
            assert_eq!(r.unwrap(), job.id != stolen.id, "{}", job.id);
        }
    });
    let completed = size(&redis, "ZCARD", "{jobq:done}:completed");
    let active = size(&redis, "ZCARD", "{jobq:done}:active");
    assert_eq!((processed(&redis, "done"), completed, active), (199, 199, 1));
}

#[test]
fn completions_that_ask_for_the_next_job_ride_on_one_fetch_and_each_gets_its_own() {
    let redis = Redis::start();
    let rt = runtime();
    rt.block_on(async {
        let store = redis.store().await;
        let lease = Duration::from_secs(60);
        let keep = Duration::from_secs(600);
        store.enqueue_many(&numbered("ride", 0..10)).await.unwrap();
        let leased = store.fetch("ride", 10, "w1", lease).await.unwrap().jobs;
        assert_eq!(leased.len(), 10);
        // Six more wait: fewer than the nine riders below ask for.
        store.enqueue_many(&numbered("ride", 10..16)).await.unwrap();
        let stolen = &leased[4];
        lease_taken_back(&redis, "ride", &stolen.id);

        // Warm the fetch script up with one ride, then count the calls of the other nine.
        let first = store
            .complete_and_fetch(&leased[0], "\"r\"", keep, "w1", lease)
            .await
            .unwrap();
        assert!(first.completed && !first.drained);
        assert_eq!(first.fetched.jobs.len(), 1);
        redis.reset_stats();
        let rides = all_in_flight(
            &redis,
            leased[1..]
                .iter()
                .map(|job| store.complete_and_fetch(job, "\"r\"", keep, "w1", lease))
                .collect(),
        )
        .await;
        let calls = redis.command_calls("evalsha");
        assert_eq!(
            calls, 2,
            "nine rides at once: the first alone, then the other eight"
        );

        let mut next: Vec<String> = first.fetched.jobs.iter().map(|j| j.id.clone()).collect();
        for (job, ride) in leased[1..].iter().zip(rides) {
            let ride = ride.unwrap();
            assert_eq!(ride.completed, job.id != stolen.id, "{}", job.id);
            assert!(ride.fetched.jobs.len() <= 1);
            next.extend(ride.fetched.jobs.iter().map(|j| j.id.clone()));
        }
        // Every waiting job went to exactly one rider, leased to w1.
        let unique: std::collections::HashSet<&String> = next.iter().collect();
        assert_eq!((next.len(), unique.len()), (6, 6));
        for id in &next {
            let job = store.job(id).await.unwrap();
            assert_eq!(job.state, State::Active, "{id}");
        }
    });
    // Nine completed (the stolen one stays active), six running the next attempt.
    assert_eq!(size(&redis, "ZCARD", "{jobq:ride}:completed"), 9);
    assert_eq!(size(&redis, "ZCARD", "{jobq:ride}:active"), 7);
}

#[test]
fn a_one_slot_worker_takes_its_next_job_in_the_call_that_completes_the_last() {
    use jobq::worker::{Outcome, Shutdown, Worker, WorkerConfig};
    const N: usize = 300;
    let redis = Redis::start();
    let rt = runtime();
    let order = rt.block_on(async {
        let store = std::sync::Arc::new(redis.store().await);
        store.enqueue_many(&numbered("one", 0..N)).await.unwrap();
        redis.reset_stats();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let handler = {
            let seen = seen.clone();
            move |job: jobq::LeasedJob, _control| {
                seen.lock().unwrap().push(job.payload.clone());
                async { Outcome::Completed("null".into()) }
            }
        };
        let config = WorkerConfig {
            queues: vec!["one".into()],
            concurrency: 1,
            burst: true,
            ..WorkerConfig::default()
        };
        Worker::new(store, config, std::sync::Arc::new(handler))
            .run(Shutdown::default())
            .await
            .unwrap();
        let seen = seen.lock().unwrap().clone();
        seen
    });
    // One fetch call per job, and a few more (registration, heartbeats, the scheduler's ticks,
    // the last empty fetch; more of them on a slow machine), where a completion and a fetch
    // each made one before (2N).
    let calls = redis.command_calls("evalsha");
    assert!(calls <= (N + N / 10) as u64, "{N} jobs took {calls} script calls");
    // Oldest first, each once.
    let want: Vec<String> = (0..N).map(|i| format!("{{\"i\":{i}}}")).collect();
    assert_eq!(order, want);
    assert_eq!(processed(&redis, "one"), N as u64);
}
