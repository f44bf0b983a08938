//! Looking at what the server left behind, the way an operator could: rows in the test's database and keys under
//! its Redis prefix. Read-only, except the clean-up of a finished test's keys.

use sqlx::{PgPool, Row};

use crate::env::TestEnv;

impl TestEnv {
    /// A pool on this test's database, to look at what the server stored.
    pub async fn db(&self) -> PgPool {
        PgPool::connect(&self.database_url)
            .await
            .expect("connect to the test database")
    }

    /// Every table (schema.table) with a row whose text form contains `needle`, in plain text or as hex (how
    /// a `bytea` column prints).
    pub async fn tables_containing(&self, needle: &str) -> Vec<String> {
        let pool = self.db().await;
        let tables = sqlx::query(
            "SELECT table_schema, table_name FROM information_schema.tables \
             WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')",
        )
        .fetch_all(&pool)
        .await
        .expect("list tables");
        let hex: String = needle.bytes().map(|b| format!("{b:02x}")).collect();
        let mut found = Vec::new();
        for row in tables {
            let (schema, table): (String, String) = (row.get(0), row.get(1));
            let sql = format!(
                "SELECT count(*) FROM \"{schema}\".\"{table}\" AS r \
                 WHERE strpos(r::text, $1) > 0 OR strpos(lower(r::text), $2) > 0"
            );
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(needle)
                .bind(&hex)
                .fetch_one(&pool)
                .await
                .expect("scan a table");
            if n > 0 {
                found.push(format!("{schema}.{table}"));
            }
        }
        pool.close().await;
        found
    }

    /// Every Redis key of this test (they all start with `<prefix>:`).
    pub async fn redis_keys(&self) -> Vec<String> {
        let mut con = self.redis().await;
        let mut keys = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{}:*", self.redis_prefix))
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut con)
                .await
                .expect("SCAN");
            keys.extend(batch);
            if next == 0 {
                break;
            }
            cursor = next;
        }
        keys
    }

    /// The keys of this test whose value (of whatever type) contains `needle`.
    pub async fn redis_keys_mentioning(&self, needle: &str) -> Vec<String> {
        let mut con = self.redis().await;
        let mut found = Vec::new();
        for key in self.redis_keys().await {
            let kind: String = redis::cmd("TYPE")
                .arg(&key)
                .query_async(&mut con)
                .await
                .expect("TYPE");
            let cmd = match kind.as_str() {
                "string" => redis::cmd("GET").arg(&key).clone(),
                "hash" => redis::cmd("HGETALL").arg(&key).clone(),
                "list" => redis::cmd("LRANGE").arg(&key).arg(0).arg(-1).clone(),
                "set" => redis::cmd("SMEMBERS").arg(&key).clone(),
                "zset" => redis::cmd("ZRANGE").arg(&key).arg(0).arg(-1).clone(),
                "stream" => redis::cmd("XRANGE").arg(&key).arg("-").arg("+").clone(),
                _ => continue,
            };
            let value: redis::Value = cmd.query_async(&mut con).await.expect("read a key");
            if value_mentions(&value, needle.as_bytes()) || key.contains(needle) {
                found.push(key);
            }
        }
        found
    }

    /// A connection to the test's Redis (keys of this test start with `<prefix>:`).
    pub async fn redis(&self) -> redis::aio::MultiplexedConnection {
        let client = redis::Client::open(self.redis_url.as_str()).expect("REDIS_URL");
        client
            .get_multiplexed_async_connection()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "cannot connect to Redis at {} ({e}); start it (scripts/test.sh does)",
                    self.redis_url
                )
            })
    }
}

pub(crate) async fn delete_redis_prefix(url: &str, prefix: &str) -> redis::RedisResult<()> {
    let mut con = redis::Client::open(url)?
        .get_multiplexed_async_connection()
        .await?;
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}:*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut con)
            .await?;
        if !keys.is_empty() {
            redis::cmd("DEL")
                .arg(&keys)
                .query_async::<()>(&mut con)
                .await?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}

fn value_mentions(value: &redis::Value, needle: &[u8]) -> bool {
    use redis::Value as V;
    let contains = |hay: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    match value {
        V::BulkString(bytes) => contains(bytes),
        V::SimpleString(s) | V::VerbatimString { text: s, .. } => contains(s.as_bytes()),
        V::Array(items) | V::Set(items) => items.iter().any(|v| value_mentions(v, needle)),
        V::Map(pairs) => pairs
            .iter()
            .any(|(k, v)| value_mentions(k, needle) || value_mentions(v, needle)),
        _ => false,
    }
}

impl TestEnv {
    /// Deletes every Redis key of this installation: what Soku sees when Redis is flushed or restarts empty.
    pub async fn flush_redis(&self) {
        delete_redis_prefix(&self.redis_url, &self.redis_prefix)
            .await
            .expect("delete the test's Redis keys");
    }
}
