//! Calls made one at a time go through the store's own plain socket instead of the shared
//! multiplexed connection (store/direct.rs, issue 11 single enqueue). What must hold: it is
//! opened once and logs in like the shared one; a call cut off half-way never leaves its reply
//! for the next call; a lost socket is replaced without the caller seeing an error; server
//! errors read the same either way.

use std::future::Future;
use std::time::Duration;

use jobq::store::EnqueueOutcome;
use jobq::{NewJob, RetryPolicy, Store};

use crate::util::{runtime, wait_until, Redis};

fn job(i: usize) -> NewJob {
    NewJob::new("t", "direct", &serde_json::json!({ "i": i }))
}

/// Enough calls for the store to open its socket (direct.rs `OPEN_AFTER` is 16).
async fn warm_up(store: &Store) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..40 {
        ids.push(store.enqueue(&job(i)).await.unwrap().id().to_string());
    }
    ids
}

/// `CLIENT LIST` as (id, db, last command) per connection.
fn clients(admin: &mut redis::Connection) -> Vec<(u64, i64, String)> {
    let list: String = redis::cmd("CLIENT").arg("LIST").query(admin).unwrap();
    list.lines()
        .map(|line| {
            let field = |name: &str| {
                line.split(' ')
                    .find_map(|f| f.strip_prefix(&format!("{name}=")))
                    .unwrap_or_default()
                    .to_string()
            };
            (
                field("id").parse().unwrap(),
                field("db").parse().unwrap(),
                field("cmd"),
            )
        })
        .collect()
}

#[test]
fn calls_one_at_a_time_use_one_more_connection_opened_once_with_the_same_login_and_db() {
    let redis = Redis::start_with(&["--requirepass", "s3cret"]);
    let url = format!("unix://{}?pass=s3cret&db=3", redis.socket.display());
    let mut admin = redis.conn();
    let connections = |admin: &mut redis::Connection| -> u64 {
        let info: String = redis::cmd("INFO").arg("stats").query(admin).unwrap();
        info.lines()
            .find_map(|l| l.strip_prefix("total_connections_received:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let rt = runtime();
    rt.block_on(async {
        let before = connections(&mut admin);
        let store = Store::connect(&url, "jobq", RetryPolicy::CLI).await.unwrap();
        let ids = warm_up(&store).await;
        for i in 0..500 {
            store.enqueue(&job(i)).await.unwrap();
        }
        // The shared connection and the store's own socket: two, however many calls.
        assert_eq!(connections(&mut admin) - before, 2);
        // Both logged in and selected db 3: the jobs are there, db 0 is empty.
        let n: u64 = redis::cmd("DBSIZE").query(&mut admin).unwrap();
        assert_eq!(n, 0, "db 0 of the admin connection");
        let store_clients: Vec<_> = clients(&mut admin).into_iter().filter(|c| c.1 == 3).collect();
        assert_eq!(store_clients.len(), 2, "{store_clients:?}");
        // One more call, of a kind not made before: it went through the socket opened last.
        let read = store.job(&ids[0]).await.unwrap();
        assert_eq!(read.id, ids[0]);
        let newest = clients(&mut admin)
            .into_iter()
            .filter(|c| c.1 == 3)
            .max_by_key(|c| c.0)
            .unwrap();
        assert_eq!(newest.2, "hgetall", "{:?}", clients(&mut admin));
    });
}

#[test]
fn a_call_cut_off_before_its_reply_never_leaves_that_reply_for_the_next_call() {
    let redis = Redis::start();
    let rt = runtime();
    rt.block_on(async {
        let store = redis.store().await;
        let ids = warm_up(&store).await;
        redis.reset_stats();
        // Polled once, a read takes the free socket and sends its command; then the call is
        // dropped, as a timeout or an aborted task does. A fast server may answer within that
        // one poll (the call is then complete, and harmless): try again until one is cut off.
        let mut sent = 0;
        loop {
            let mut read = std::pin::pin!(store.job(&ids[1]));
            let first = std::future::poll_fn(|cx| std::task::Poll::Ready(read.as_mut().poll(cx))).await;
            sent += 1;
            if first.is_pending() {
                break;
            }
            assert!(sent < 100, "every read was answered within one poll");
        }
        wait_until("the cut-off read to run", Duration::from_secs(10), || {
            redis.command_calls("hgetall") == sent
        });
        // Its reply sits on a socket nobody may read again: the next calls get their own.
        let out = store.enqueue(&job(1000)).await.unwrap();
        assert!(matches!(out, EnqueueOutcome::Created { .. }), "{out:?}");
        for id in ids.iter().take(3).chain([&out.id().to_string()]) {
            assert_eq!(&store.job(id).await.unwrap().id, id);
        }
    });
}

#[test]
fn a_lost_socket_is_replaced_and_the_caller_sees_no_error() {
    let mut redis = Redis::start();
    let rt = runtime();
    rt.block_on(async {
        let store = redis.store().await;
        warm_up(&store).await;
        redis.restart();
        // Both connections are gone; the call goes on as soon as the server is back.
        let out = store.enqueue(&job(1)).await.unwrap();
        assert_eq!(store.job(out.id()).await.unwrap().id, out.id());
        for i in 0..40 {
            store.enqueue(&job(i)).await.unwrap();
        }
    });
}

#[test]
fn a_server_error_reads_the_same_through_either_connection() {
    let redis = Redis::start();
    let mut admin = redis.conn();
    let _: () = redis::cmd("SET")
        .arg("{jobq:broken}:queued")
        .arg("not a list")
        .query(&mut admin)
        .unwrap();
    let broken = NewJob::new("t", "broken", &serde_json::json!({}));
    let rt = runtime();
    rt.block_on(async {
        // A fresh store's first calls go through the shared connection...
        let fresh = redis.store().await;
        let shared = fresh.enqueue(&broken).await.unwrap_err().to_string();
        // ...a warmed-up one's through its own socket.
        let warm = redis.store().await;
        warm_up(&warm).await;
        let direct = warm.enqueue(&broken).await.unwrap_err().to_string();
        assert!(
            shared.contains("WRONGTYPE") || shared.contains("wrong kind"),
            "{shared}"
        );
        // Ids differ between the two calls; the rest of the message must not.
        let strip = |s: &str| s.split("broken-").next().unwrap().to_string();
        assert_eq!(strip(&direct), strip(&shared));
    });
}
