//! Calls that carry many jobs (issue 11): a bulk enqueue writes up to 500 jobs per script call,
//! and completions that come in together share one call. Each job keeps its own guarantees:
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

#[test]
fn a_bulk_enqueue_writes_hundreds_of_jobs_per_call_each_with_its_own_outcome_and_event() {
    let redis = Redis::start();
    let rt = runtime();
    rt.block_on(async {
        let store = redis.store().await;
        let mut sub = store.subscribe(&["bulk".to_string()]).await.unwrap();
        let mut jobs: Vec<NewJob> = (0..1200)
            .map(|i| NewJob::new("t", "bulk", &serde_json::json!({ "i": i })))
            .collect();
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
    let mut conn = redis.conn();
    let queued: u64 = redis::cmd("LLEN")
        .arg("{jobq:bulk}:queued")
        .query(&mut conn)
        .unwrap();
    let ranked: u64 = redis::cmd("ZCARD")
        .arg("{jobq:bulk}:ranked")
        .query(&mut conn)
        .unwrap();
    let scheduled: u64 = redis::cmd("ZCARD")
        .arg("{jobq:bulk}:scheduled")
        .query(&mut conn)
        .unwrap();
    let events: u64 = redis::cmd("XLEN")
        .arg("{jobq:bulk}:events")
        .query(&mut conn)
        .unwrap();
    assert_eq!((queued, ranked, scheduled, events), (1197, 1, 1, 1199));
}

#[test]
fn live_event_messages_are_built_only_while_someone_listens_and_the_stream_keeps_every_event() {
    let redis = Redis::start();
    let rt = runtime();
    rt.block_on(async {
        let store = redis.store().await;
        let jobs: Vec<NewJob> = (0..1000)
            .map(|i| NewJob::new("t", "quiet", &serde_json::json!({ "i": i })))
            .collect();
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
        let jobs: Vec<NewJob> = (0..200)
            .map(|i| NewJob::new("t", "done", &serde_json::json!({ "i": i })))
            .collect();
        store.enqueue_many(&jobs).await.unwrap();
        let leased = store
            .fetch("done", 200, "w1", Duration::from_secs(60))
            .await
            .unwrap()
            .jobs;
        assert_eq!(leased.len(), 200);
        // One job's lease was taken back meanwhile (recovered and leased to another worker).
        let stolen = &leased[77];
        redis::cmd("HSET")
            .arg(format!("{{jobq:done}}:job:{}", stolen.id))
            .arg("lease")
            .arg("w2/2")
            .query::<()>(&mut redis.conn())
            .unwrap();

        // Warm the complete script up with one job, then count the calls of the other 199.
        assert!(store
            .complete(&leased[0], "\"r\"", Duration::from_secs(600))
            .await
            .unwrap());
        redis.reset_stats();
        let results = futures_util::future::join_all(
            leased[1..]
                .iter()
                .map(|job| store.complete(job, "\"r\"", Duration::from_secs(600))),
        )
        .await;
        let calls = redis.command_calls("evalsha");
        assert!(calls <= 10, "199 completions at once took {calls} calls");
        for (job, r) in leased[1..].iter().zip(results) {
            assert_eq!(r.unwrap(), job.id != stolen.id, "{}", job.id);
        }
    });
    let mut conn = redis.conn();
    let processed: u64 = redis::cmd("HGET")
        .arg("{jobq:done}:stats")
        .arg("processed")
        .query(&mut conn)
        .unwrap();
    let completed: u64 = redis::cmd("ZCARD")
        .arg("{jobq:done}:completed")
        .query(&mut conn)
        .unwrap();
    let active: u64 = redis::cmd("ZCARD")
        .arg("{jobq:done}:active")
        .query(&mut conn)
        .unwrap();
    assert_eq!((processed, completed, active), (199, 199, 1));
}
