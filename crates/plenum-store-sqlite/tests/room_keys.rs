//! Migration 0018 keys rooms for their filter in Rust; names SQL could not fold (not ASCII)
//! are keyed when the store opens.

use plenum_domain::company::{CompanyName, NewCompany, TimeZoneName};
use plenum_domain::credentials::SecurityLevel;
use plenum_domain::ids::{CompanyId, RoomId, UserId};
use plenum_domain::paging::PageRequest;
use plenum_domain::schedule::{MeetingNumber, Room, UserRef};
use plenum_domain::user::{NewUser, Profile, Role, Username};
use plenum_store::Store;
use plenum_store_sqlite::{DATABASE_FILE, Durability, SqliteStore};
use rusqlite::Connection;
use tempfile::TempDir;

fn at(ms: i64) -> plenum_domain::Timestamp {
    plenum_domain::Timestamp::from_millisecond(ms).expect("instant")
}

#[tokio::test]
async fn rooms_left_unkeyed_by_the_migration_are_keyed_at_open() {
    let dir = TempDir::new().expect("temporary directory");
    let store = SqliteStore::open(dir.path(), Durability::Normal)
        .await
        .expect("open store");
    let company = NewCompany {
        id: CompanyId::new(at(0)),
        name: CompanyName::parse("Acme").expect("name"),
        time_zone: TimeZoneName::parse("UTC").expect("zone"),
        max_users: 10,
        is_default: true,
        created_at: at(0),
    };
    let admin = NewUser {
        id: UserId::new(at(0)),
        company_id: company.id,
        username: Username::parse("admin").expect("username"),
        profile: Profile::default(),
        role: Role::SystemAdmin,
        secret_hash: "x".to_owned(),
        security_level: SecurityLevel::High,
        created_at: at(0),
    };
    store
        .create_company(&company, &admin)
        .await
        .expect("company");
    let owner = UserRef {
        id: admin.id,
        username: "admin".to_owned(),
        real_name: String::new(),
    };
    store
        .create_room(&Room {
            id: RoomId::new(at(1)),
            company_id: company.id,
            name: "ÄRZTEKAMMER".to_owned(),
            meeting_number: MeetingNumber::parse("7000001").expect("number"),
            password: None,
            owner: owner.clone(),
            creator: owner,
            created_at: at(1),
            revision: 0,
        })
        .await
        .expect("room");
    store.close().await;
    // As a database written before migration 0019 leaves a room whose name is not ASCII.
    let conn = Connection::open(dir.path().join(DATABASE_FILE)).expect("open");
    conn.execute("UPDATE rooms SET name_key = NULL", [])
        .expect("forget the key");
    drop(conn);

    let store = SqliteStore::open(dir.path(), Durability::Normal)
        .await
        .expect("reopen store");
    let page = PageRequest::by_offset(0, 10, 100).expect("page");
    let found = store
        .rooms(company.id, Some("ärzte"), page)
        .await
        .expect("rooms");
    assert_eq!(found.total, 1);
    assert_eq!(found.items[0].name, "ÄRZTEKAMMER");
    store.close().await;
}
