//! `jobq migrate` on a namespace written by jobq 1 (fixtures/release1_namespace.tsv, captured
//! from a run of the release 1 binary): dry run, apply, idempotence, an interrupted run, a
//! refusal while release 1 workers live, and a worker running the migrated jobs.

use std::time::Duration;

use crate::util::*;

const T: Duration = Duration::from_secs(60);
const CONFLICT: i32 = 4;
const FIXTURE: &str = include_str!("fixtures/release1_namespace.tsv");
const JOBS: [&str; 4] = [
    "normal-01M841NBSW9KM8YQBD93WCDM5W",
    "normal-01M841NC2ZDFZWRFS8DBT75TT3",
    "high-01M841NC9Z96W13XF970FHRF69",
    "low-01M841NCENFMTCJY9791DR7TPR",
];

fn load_release1(redis: &Redis) {
    let mut c = redis.conn();
    for line in FIXTURE.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let mut args = line.split('\t');
        let mut cmd = redis::cmd(args.next().unwrap());
        for a in args {
            cmd.arg(a);
        }
        cmd.query::<()>(&mut c).unwrap();
    }
}

fn smembers(redis: &Redis, key: &str) -> Vec<String> {
    let mut v: Vec<String> = redis::cmd("SMEMBERS").arg(key).query(&mut redis.conn()).unwrap();
    v.sort();
    v
}

#[test]
fn migrate_moves_a_release1_namespace_and_a_worker_runs_its_jobs() {
    let redis = Redis::start();
    load_release1(&redis);
    let before = redis.digest();

    let dry = run(jobq(&redis).args(["migrate"])).ok();
    assert!(
        dry.stdout.contains("register queues: high, low, normal"),
        "{}",
        dry.stdout
    );
    assert!(
        dry.stdout.contains("delete {jobq:normal}:notify"),
        "{}",
        dry.stdout
    );
    assert!(dry.stderr.contains("dry run"), "{}", dry.stderr);
    assert_eq!(redis.digest(), before, "a dry run writes nothing");

    run(jobq(&redis).args(["migrate", "--apply"])).ok();
    assert_eq!(smembers(&redis, "{jobq}:queues"), ["high", "low", "normal"]);
    let epoch: String = redis::cmd("GET")
        .arg("{jobq}:epoch")
        .query(&mut redis.conn())
        .unwrap();
    assert_eq!(epoch, "01M841RELEASE1EPOCH0000000");
    let keys = redis.keys();
    assert!(
        keys.iter().all(|k| k.starts_with('{') && !k.ends_with(":notify")),
        "legacy keys left: {keys:?}"
    );

    let migrated = redis.digest();
    let again = run(jobq(&redis).args(["migrate", "--apply"])).ok();
    assert!(again.stdout.contains("nothing to do"), "{}", again.stdout);
    assert_eq!(redis.digest(), migrated, "a second run changes nothing");

    // The jobs were read as they are: a worker of this release runs all four (the delayed
    // one is long due), and the unique key is released as in release 1.
    let w = run(jobq(&redis).args([
        "worker",
        "--burst",
        "--queues",
        "high,normal,low",
        "--exec",
        "true",
    ]));
    assert_eq!(w.code, 0, "{}", w.stderr);
    assert!(
        !w.stderr.contains("jobq migrate"),
        "no migration hint after migrating: {}",
        w.stderr
    );
    for id in JOBS {
        assert_eq!(state(&redis, id), "completed", "{id}");
    }
    let unique: Option<String> = redis::cmd("GET")
        .arg("{jobq:normal}:unique:mail-d")
        .query(&mut redis.conn())
        .unwrap();
    assert_eq!(unique, None);
}

#[test]
fn an_interrupted_migration_is_completed_by_the_next_run() {
    let redis = Redis::start();
    load_release1(&redis);
    // What a run cut off after its first steps leaves: the queues registered, one wake-up list gone.
    let mut c = redis.conn();
    redis::cmd("SADD")
        .arg("{jobq}:queues")
        .arg(&["high", "low", "normal"][..])
        .query::<()>(&mut c)
        .unwrap();
    redis::cmd("DEL")
        .arg("{jobq:high}:notify")
        .query::<()>(&mut c)
        .unwrap();
    run(jobq(&redis).args(["migrate", "--apply"])).ok();
    let keys = redis.keys();
    assert!(
        keys.iter().all(|k| k.starts_with('{') && !k.ends_with(":notify")),
        "{keys:?}"
    );
    assert_eq!(smembers(&redis, "{jobq}:queues"), ["high", "low", "normal"]);
}

#[test]
fn migrate_refuses_while_release1_workers_live_and_a_worker_says_to_migrate() {
    let redis = Redis::start();
    load_release1(&redis);
    redis::cmd("SET")
        .arg("jobq:worker:oldhost-4242-beef")
        .arg("{}")
        .arg("PX")
        .arg(600_000)
        .query::<()>(&mut redis.conn())
        .unwrap();
    let before = redis.digest();
    let r = run(jobq(&redis).args(["migrate", "--apply"]));
    assert_eq!(r.code, CONFLICT, "{}", r.stderr);
    assert!(r.stderr.contains("oldhost-4242-beef"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert_eq!(redis.digest(), before, "nothing written");

    let w = Worker::start(&redis, &["--queues", "normal", "--exec", "true"]);
    wait_until("the migration hint", T, || {
        w.log().contains("jobq migrate --apply")
    });
}
