//! The archive database: PostgreSQL through sqlx. jobq's tables live in their own schema
//! (`jobq`), set as the connections' search_path, so sqlx's migrations table is
//! `jobq._sqlx_migrations` and an application's own sqlx migrations in the same database never
//! collide with jobq's.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::error::{Error, Result};
use crate::store::redact_url;

/// The schema holding every jobq table.
pub const SCHEMA: &str = "jobq";

/// Versioned migrations, embedded in the binary and applied at start (`jobq archive`).
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/archive/migrations");

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A pool of connections to the archive.
pub struct Db {
    pool: PgPool,
    url: String,
}

impl Db {
    /// Connects once (so a wrong URL, password or an unreachable server is reported before any
    /// work starts). `flag` names the option the URL came from, for error messages.
    pub async fn connect(url: &str, flag: &str) -> Result<Db> {
        let shown = redact_url(url);
        let options = parse_url(url, flag)?
            .options([("search_path", SCHEMA)])
            .application_name("jobq");
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|e| describe(&shown, e))?;
        Ok(Db { pool, url: shown })
    }

    /// Connects and brings the schema up to date. Several archivers starting at once take
    /// turns (an advisory lock), so the schema is created and migrated exactly once.
    pub async fn connect_and_migrate(url: &str, flag: &str) -> Result<Db> {
        let db = Db::connect(url, flag).await?;
        db.migrate().await?;
        Ok(db)
    }

    async fn migrate(&self) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(|e| self.error(e))?;
        let lock = "SELECT pg_advisory_lock(hashtextextended('jobq archive schema', 0))";
        sqlx::query(lock)
            .execute(&mut *conn)
            .await
            .map_err(|e| self.error(e))?;
        let created = sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
            .execute(&mut *conn)
            .await;
        let migrated = match created {
            Ok(_) => MIGRATOR.run(&mut *conn).await.map_err(|e| {
                Error::Database(format!(
                    "cannot migrate the archive schema `{SCHEMA}` at {}: {}",
                    self.url,
                    first_line(&e.to_string())
                ))
            }),
            Err(e) => Err(self.error(e)),
        };
        let unlock = "SELECT pg_advisory_unlock(hashtextextended('jobq archive schema', 0))";
        let _ = sqlx::query(unlock).execute(&mut *conn).await;
        migrated
    }

    /// Fails with a clear message when nobody has archived to this database yet.
    pub async fn require_archive(&self) -> Result<()> {
        let found: Option<String> = sqlx::query_scalar("SELECT to_regclass('jobq.jobs')::text")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| self.error(e))?;
        if found.is_none() {
            return Err(Error::NotFound(format!(
                "no jobq archive at {}: run `jobq archive --to URL` first",
                self.url
            )));
        }
        Ok(())
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The URL with its password masked.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Maps a database failure to an error a user can act on.
    pub fn error(&self, err: sqlx::Error) -> Error {
        describe(&self.url, err)
    }
}

fn parse_url(url: &str, flag: &str) -> Result<PgConnectOptions> {
    let shown = redact_url(url);
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(Error::invalid(format!(
            "{flag} {shown:?} is not a PostgreSQL URL: use postgres://user:password@host:5432/database"
        )));
    }
    PgConnectOptions::from_str(url).map_err(|e| {
        Error::invalid(format!(
            "invalid {flag} {shown}: {} (use postgres://user:password@host:5432/database)",
            first_line(&e.to_string())
        ))
    })
}

fn describe(url: &str, err: sqlx::Error) -> Error {
    let text = first_line(&err.to_string());
    let text = text.split(' ').map(redact_url).collect::<Vec<_>>().join(" ");
    let code = err
        .as_database_error()
        .and_then(|d| d.code())
        .map(|c| c.to_string())
        .unwrap_or_default();
    match (&err, code.as_str()) {
        (_, "28P01" | "28000") => Error::Database(format!(
            "PostgreSQL at {url} rejected the login ({text}): check the user and password in the URL"
        )),
        (_, "3D000") => Error::Database(format!(
            "PostgreSQL at {url}: {text}: create it first (createdb) or name another database"
        )),
        (
            sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed,
            _,
        ) => Error::Database(format!(
            "cannot reach PostgreSQL at {url} ({text}): start it or fix the URL"
        )),
        _ => Error::Database(format!("PostgreSQL at {url}: {text}")),
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}
