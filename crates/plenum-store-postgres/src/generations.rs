//! The companies' change generations (migration 0030), read for every answer waiting at once.
//!
//! An answer from memory (the history lists, the company-wide meeting list) is checked against
//! its company's generations; on a busy node the round trip of that read was most of the
//! answer's cost (BENCHMARKS.md, "Generation reads shared by the answers waiting"). The
//! answers waiting at the same moment now share one statement ([`crate::batch`], which says
//! why the values are never older than the ask).

use std::collections::HashMap;

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use plenum_domain::ids::{CompanyId, RoomId};
use plenum_store::StoreResult;
use plenum_store_memory::Subject;

use crate::batch::Batched;
use crate::{col, db_err};

/// A company's generations as one statement read them, and the room asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Generations {
    /// Each subject's generation, in `Subject::ALL` order (0: nothing ever moved it).
    of: [i64; Subject::ALL.len()],
    /// The room asked about, and whether it is the company's.
    pub(crate) room: Option<(RoomId, bool)>,
}

impl Generations {
    pub(crate) fn of(&self, subject: Subject) -> i64 {
        self.of[subject.index()]
    }
}

/// A company, and a room asked about.
type Ask = (CompanyId, Option<RoomId>);

/// The shared reads of the generations.
#[derive(Debug, Clone)]
pub(crate) struct GenerationReads(Batched<Ask, Generations>);

impl GenerationReads {
    /// Starts the reading task on `pool`.
    pub(crate) fn start(pool: PgPool) -> Self {
        Self(Batched::start("change generations", pool, |conn, asks| {
            Box::pin(async move { read_all(conn, &asks).await })
        }))
    }

    /// `company`'s generations, and whether `room` is the company's, as of a moment after this
    /// call began; `None` if they could not be read.
    pub(crate) async fn read(
        &self,
        company: CompanyId,
        room: Option<RoomId>,
    ) -> Option<Generations> {
        self.0.ask((company, room)).await
    }
}

/// One statement for all `asks`: their companies' generations and their rooms' companies.
async fn read_all(conn: &mut PgConnection, asks: &[Ask]) -> StoreResult<Vec<Generations>> {
    let mut companies: Vec<Uuid> = asks.iter().map(|(c, _)| c.as_uuid()).collect();
    companies.sort_unstable();
    companies.dedup();
    let mut rooms: Vec<Uuid> = asks
        .iter()
        .filter_map(|(_, r)| *r)
        .map(|r| r.as_uuid())
        .collect();
    rooms.sort_unstable();
    rooms.dedup();
    // A row with no subject names a room and its company.
    let rows = sqlx::query(
        "SELECT company_id, subject, generation, NULL::uuid AS room_id FROM change_generations \
             WHERE company_id = ANY($1) \
         UNION ALL SELECT company_id, NULL, 0, id FROM rooms WHERE id = ANY($2)",
    )
    .bind(&companies)
    .bind(&rooms)
    .fetch_all(conn)
    .await
    .map_err(db_err)?;
    let mut generations: HashMap<Uuid, [i64; Subject::ALL.len()]> = HashMap::new();
    let mut room_company: HashMap<Uuid, Uuid> = HashMap::new();
    for row in &rows {
        let company: Uuid = col(row, "company_id")?;
        match col::<Option<&str>>(row, "subject")? {
            Some(subject) => {
                // A subject this build does not know is a later build's; nothing here reads it.
                if let Some(subject) = Subject::parse(subject) {
                    generations.entry(company).or_default()[subject.index()] =
                        col(row, "generation")?;
                }
            }
            None => {
                room_company.insert(col(row, "room_id")?, company);
            }
        }
    }
    Ok(asks
        .iter()
        .map(|(company, room)| {
            let company = company.as_uuid();
            Generations {
                of: generations.get(&company).copied().unwrap_or_default(),
                room: room
                    .map(|asked| (asked, room_company.get(&asked.as_uuid()) == Some(&company))),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use plenum_domain::user::Role;
    use plenum_store::Store;
    use plenum_store::contract::{new_company, new_room, new_user};
    use sqlx::Connection as _;

    use super::*;
    use crate::PgStore;
    use crate::testing::{self, TestDatabase};

    /// What a statement of the ask's own reads.
    async fn read_alone(store: &PgStore, company: CompanyId) -> [i64; Subject::ALL.len()] {
        let mut of = [0; Subject::ALL.len()];
        for subject in Subject::ALL {
            of[subject.index()] = sqlx::query_scalar::<_, i64>(
                "SELECT generation FROM change_generations WHERE company_id = $1 AND subject = $2",
            )
            .bind(company.as_uuid())
            .bind(subject.as_str())
            .fetch_optional(&store.pool)
            .await
            .expect("generation")
            .unwrap_or(0);
        }
        of
    }

    async fn move_generation(store: &PgStore, company: CompanyId, subject: Subject) {
        sqlx::query("SELECT bump_generation($1, $2)")
            .bind(company.as_uuid())
            .bind(subject.as_str())
            .execute(&store.pool)
            .await
            .expect("bump");
    }

    #[tokio::test]
    async fn asks_answered_together_each_get_their_own_company_and_room() {
        let Some(server) =
            testing::server("asks_answered_together_each_get_their_own_company_and_room")
        else {
            return;
        };
        let database = TestDatabase::create(&server).await;
        let store = PgStore::open_with(&database.url(), 4).await.expect("open");
        let mut companies = Vec::new();
        for (i, name) in ["Acme", "Globex", "Initech"].into_iter().enumerate() {
            let company = new_company(name);
            let admin = new_user(company.id, &format!("{name}-admin"), Role::SystemAdmin);
            store
                .create_company(&company, &admin)
                .await
                .expect("company");
            let admin = store
                .user(company.id, admin.id)
                .await
                .expect("read")
                .expect("admin");
            let room = store
                .create_room(&new_room(&admin, "Board", &format!("700000{i}")))
                .await
                .expect("room");
            // Each company's subjects at different generations.
            for (n, subject) in Subject::ALL.into_iter().enumerate() {
                for _ in 0..(i + n) {
                    move_generation(&store, company.id, subject).await;
                }
            }
            companies.push((company.id, room.id));
        }

        // Many asks at once, about each company with its own room, another's, and none.
        let asks: Vec<_> = (0..60)
            .map(|k| {
                let (company, own) = companies[k % 3];
                let room = match k % 4 {
                    0 => None,
                    1 | 2 => Some(own),
                    _ => Some(companies[(k + 1) % 3].1),
                };
                let reads = store.generations.clone();
                (
                    company,
                    room,
                    tokio::spawn(async move { reads.read(company, room).await }),
                )
            })
            .collect();
        for (company, room, answer) in asks {
            let read = answer.await.expect("task").expect("read");
            assert_eq!(read.of, read_alone(&store, company).await);
            let own = companies
                .iter()
                .any(|(c, r)| *c == company && Some(*r) == room);
            assert_eq!(read.room, room.map(|r| (r, own)));
        }
    }

    #[tokio::test]
    async fn a_read_shows_every_change_made_before_it_was_asked() {
        let Some((_database, store, company, _)) =
            testing::store_with_a_company("a_read_shows_every_change_made_before_it_was_asked")
                .await
        else {
            return;
        };
        // Another connection's changes, interleaved with reads that other asks keep busy.
        let busy = store.generations.clone();
        let keep_busy = tokio::spawn(async move {
            for _ in 0..200 {
                busy.read(company, None).await;
            }
        });
        for expected in 1..=50 {
            move_generation(&store, company, Subject::Sessions).await;
            let read = store.generations.read(company, None).await.expect("read");
            assert_eq!(read.of(Subject::Sessions), expected);
        }
        keep_busy.await.expect("busy");
    }

    #[tokio::test]
    async fn a_shared_read_whose_connection_was_cut_reads_again_and_closing_waits_for_nothing() {
        let Some((database, store, company, _)) = testing::store_with_a_company(
            "a_shared_read_whose_connection_was_cut_reads_again_and_closing_waits_for_nothing",
        )
        .await
        else {
            return;
        };
        move_generation(&store, company, Subject::Sessions).await;
        let read = store.generations.read(company, None).await.expect("read");
        assert_eq!(read.of(Subject::Sessions), 1);

        // The server ends every connection of the database: the shared reads' own among them.
        let mut admin = sqlx::PgConnection::connect(&database.url())
            .await
            .expect("connect");
        sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .execute(&mut admin)
        .await
        .expect("terminate");
        sqlx::query("SELECT bump_generation($1, 'sessions')")
            .bind(company.as_uuid())
            .execute(&mut admin)
            .await
            .expect("bump");
        // Past the idle time after which the pool tests a connection before lending it.
        tokio::time::sleep(crate::IDLE_BEFORE_TEST + std::time::Duration::from_millis(200)).await;

        // The statement on the cut connection fails: its askers are told to ask on their own
        // (they do, through the pool, which replaces its cut connections).
        assert_eq!(store.generations.read(company, None).await, None);
        assert_eq!(
            read_alone(&store, company).await[Subject::Sessions.index()],
            2
        );
        // The next batch opens a connection of its own again.
        let read = store
            .generations
            .read(company, None)
            .await
            .expect("read again");
        assert_eq!(read.of(Subject::Sessions), 2);

        // Its connection is outside the pool: closing the pool does not wait for it.
        tokio::time::timeout(std::time::Duration::from_secs(10), store.close())
            .await
            .expect("the pool closes");
        admin.close().await.expect("close");
    }
}
