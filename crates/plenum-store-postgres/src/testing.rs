//! Throwaway databases for tests (this crate's contract tests, and tests of other crates
//! that run Plenum over PostgreSQL): each test makes a database of its own on the server
//! `PLENUM_TEST_DATABASE_URL` names, dropped when the test ends.
//!
//! `scripts/test.sh` starts a throwaway server and sets the variable
//! (`scripts/pg-test-server.sh`). Without it, tests skip with a notice when run by hand, and
//! fail when the environment says it is CI (`CI` set): CI must never pass by running nothing.

use sqlx::{Connection as _, Executor as _, PgConnection};

/// The variable naming the test server (a database the user may create databases from,
/// such as `postgres://plenum@localhost/postgres?host=/tmp/…/socket`).
pub const SERVER_VARIABLE: &str = "PLENUM_TEST_DATABASE_URL";

/// The test server's URL; `None` (after saying so on stderr) when tests are to skip.
///
/// # Panics
/// When the variable is not set under CI.
pub fn server(test: &str) -> Option<String> {
    match std::env::var(SERVER_VARIABLE) {
        Ok(url) => Some(url),
        Err(_) if std::env::var_os("CI").is_some() => panic!(
            "{SERVER_VARIABLE} is not set: CI must run the PostgreSQL tests (scripts/test.sh sets it)"
        ),
        Err(_) => {
            eprintln!(
                "{test}: skipped, {SERVER_VARIABLE} is not set (scripts/test.sh starts a server and sets it)"
            );
            None
        }
    }
}

/// A database made for one test, dropped (with its connections) when this is.
#[derive(Debug)]
pub struct TestDatabase {
    server: String,
    name: String,
}

impl TestDatabase {
    /// Creates an empty database on `server`.
    ///
    /// # Panics
    /// When the server cannot be reached or the database made: a test cannot go on.
    pub async fn create(server: &str) -> Self {
        let name = format!("plenum_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(server)
            .await
            .unwrap_or_else(|e| panic!("connect to the test server ({SERVER_VARIABLE}): {e}"));
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create the test database");
        conn.close().await.expect("close");
        Self {
            server: server.to_owned(),
            name,
        }
    }

    /// The URL of this database.
    pub fn url(&self) -> String {
        url_of_database(&self.server, &self.name)
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
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let mut conn = PgConnection::connect(&server).await?;
                conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await?;
                conn.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("the test database {} was not dropped", self.name);
        }
    }
}

/// A URL naming database `name` on the server of `server` (which names another database).
fn url_of_database(server: &str, name: &str) -> String {
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

/// A store on a database of its own holding one company ("Acme") and its admin, for this
/// crate's unit tests; `None` (skipped) without a test server.
#[cfg(test)]
pub(crate) async fn store_with_a_company(
    test: &str,
) -> Option<(
    TestDatabase,
    crate::PgStore,
    plenum_domain::ids::CompanyId,
    plenum_domain::user::NewUser,
)> {
    use plenum_store::Store as _;
    use plenum_store::contract::{new_company, new_user};

    let server = server(test)?;
    let database = TestDatabase::create(&server).await;
    let store = crate::PgStore::open_with(&database.url(), 4)
        .await
        .expect("open");
    let company = new_company("Acme");
    let admin = new_user(
        company.id,
        "acme-admin",
        plenum_domain::user::Role::SystemAdmin,
    );
    store
        .create_company(&company, &admin)
        .await
        .expect("company");
    Some((database, store, company.id, admin))
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
