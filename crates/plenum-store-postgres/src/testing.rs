//! Databases for tests (feature `testing`): each test makes a database of its own on the server
//! `PLENUM_TEST_DATABASE_URL` names, and drops it when it ends. Used by this crate's contract
//! suite and by the binary's tests; `scripts/test.sh` starts a throwaway cluster and sets the
//! variable (`scripts/pg-test-server.sh`).

use sqlx::{Connection, Executor, PgConnection};

/// The variable naming the test server (a database the user may create databases from, such
/// as `postgres://plenum@localhost/postgres?host=/tmp/…/socket`).
pub const URL_VARIABLE: &str = "PLENUM_TEST_DATABASE_URL";

/// Whether the tests have a server. Without one a test is skipped with a notice when run by
/// hand, and fails when the environment says it is CI (`CI` set): CI must never pass by
/// running nothing.
pub fn server_available(test: &str) -> bool {
    if std::env::var_os(URL_VARIABLE).is_some() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{URL_VARIABLE} is not set: CI must run the PostgreSQL tests (scripts/test.sh sets it)"
    );
    eprintln!(
        "{test}: skipped, {URL_VARIABLE} is not set (scripts/test.sh starts a server and sets it)"
    );
    false
}

/// A database made for one test, dropped (with its connections) when this is.
#[derive(Debug)]
pub struct TestDatabase {
    server: String,
    name: String,
    url: String,
}

impl TestDatabase {
    /// A new, empty database on the test server; `None` (with a notice) when there is none.
    pub async fn create(test: &str) -> Option<Self> {
        if !server_available(test) {
            return None;
        }
        let server = std::env::var(URL_VARIABLE).unwrap_or_default();
        let name = format!("plenum_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(&server)
            .await
            .unwrap_or_else(|e| panic!("connect to the test server ({URL_VARIABLE}): {e}"));
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap_or_else(|e| panic!("create the test database: {e}"));
        let _ = conn.close().await;
        let url = url_of_database(&server, &name);
        Some(Self { server, name, url })
    }

    /// The database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let server = self.server.clone();
        let name = self.name.clone();
        // The test's runtime is ending: the drop runs on a thread of its own, waited for.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime
                .block_on(async {
                    let mut conn = PgConnection::connect(&server).await?;
                    conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                        .await?;
                    conn.close().await
                })
                .map_err(std::io::Error::other)
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("the test database {} was not dropped", self.name);
        }
    }
}

/// A URL naming database `name` on the server of `server` (which names another database).
pub fn url_of_database(server: &str, name: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (server, None),
    };
    // postgres://user@host[:port][/database]: the path after the authority is the database.
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut url = format!("{}/{name}", &base[..authority_end]);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::url_of_database;

    #[test]
    fn database_urls_keep_the_server_and_its_options() {
        assert_eq!(
            url_of_database(
                "postgres://plenum@localhost/postgres?host=/tmp/x/socket",
                "t1"
            ),
            "postgres://plenum@localhost/t1?host=/tmp/x/socket"
        );
        assert_eq!(
            url_of_database("postgres://u:p@db.example:5433", "t2"),
            "postgres://u:p@db.example:5433/t2"
        );
    }
}
