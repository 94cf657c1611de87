//! Meeting rooms: a name, a number that stays, a password, an owner.

use super::*;

impl Scheduling<'_> {
    pub async fn create_room(
        &self,
        actor: &Principal,
        request: RoomRequest,
    ) -> Result<Room, ServiceError> {
        actor.require_room_manager()?;
        let name = request.name.ok_or_else(|| {
            ValidationError::breaks(
                Rule::Missing,
                Field::MeetingRoomName,
                "a room needs a meetingroom_name",
            )
        })?;
        let owner = match request.owner {
            Some(id) => self
                .resolve_invitees(actor, &[id])
                .await
                .map_err(|_| ServiceError::UserNotFound)?
                .remove(0),
            None => user_ref(&actor.user),
        };
        let now = self.inner.now();
        let template = Room {
            id: RoomId::new(now),
            company_id: actor.company(),
            name,
            meeting_number: MeetingNumber::from_random(0),
            password: request.password.flatten(),
            owner,
            creator: user_ref(&actor.user),
            created_at: now,
            revision: 0,
        };
        let store = &self.inner.store;
        let room = self
            .with_number(request.meeting_number, |number| {
                let mut r = template.clone();
                r.meeting_number = number;
                async move { store.create_room(&r).await }
            })
            .await?;
        tracing::info!(meeting_room_id = %room.id, by = %actor.user.id, "room created");
        Ok(room)
    }

    /// Rooms are the company's shared places: everyone in it may list and see them.
    pub async fn rooms(
        &self,
        actor: &Principal,
        filter: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<Room>, ServiceError> {
        Ok(self
            .inner
            .store
            .rooms(actor.company(), filter, page)
            .await?)
    }

    pub async fn room(&self, actor: &Principal, id: RoomId) -> Result<Room, ServiceError> {
        self.room_of(actor, id).await
    }

    /// Changes the fields given, merged into the room as stored when the write happens (a
    /// concurrent change of other fields is kept, see [`merged`]).
    pub async fn update_room(
        &self,
        actor: &Principal,
        id: RoomId,
        request: RoomRequest,
    ) -> Result<Room, ServiceError> {
        actor.require_room_manager()?;
        merged(|| self.merge_room_update(actor, id, request.clone())).await
    }

    /// One attempt of [`Scheduling::update_room`](crate::Scheduling::update_room).
    async fn merge_room_update(
        &self,
        actor: &Principal,
        id: RoomId,
        request: RoomRequest,
    ) -> Result<Room, ServiceError> {
        let mut room = self.room_of(actor, id).await?;
        let old_number = room.meeting_number.clone();
        if let Some(name) = request.name {
            room.name = name;
        }
        if let Some(password) = request.password {
            room.password = password;
        }
        if let Some(number) = request.meeting_number {
            room.meeting_number = number;
        }
        if let Some(owner) = request.owner {
            room.owner = self
                .resolve_invitees(actor, &[owner])
                .await
                .map_err(|_| ServiceError::UserNotFound)?
                .remove(0);
        }
        let write = async {
            self.inner
                .store
                .update_room(&room)
                .await
                .map_err(|e| not_found(e, ServiceError::RoomNotFound))
        };
        // A new number while a meeting runs under the old one would free a number still in
        // use: refused, under the old number's start gate, as a delete is.
        let updated = if room.meeting_number == old_number {
            write.await?
        } else {
            self.plenum
                .live()
                .unless_running(&old_number, write)
                .await?
        };
        tracing::info!(meeting_room_id = %id, by = %actor.user.id, "room updated");
        Ok(updated)
    }

    /// Deletes a room. Refused while a meeting runs under its number (`MeetingRunning`):
    /// the number's start gate is held meanwhile, so no meeting starts in the room while it
    /// goes, and a new room may take the number only once it is gone (docs/consistency.md).
    pub async fn delete_room(&self, actor: &Principal, id: RoomId) -> Result<(), ServiceError> {
        actor.require_room_manager()?;
        let room = self
            .inner
            .store
            .room(actor.company(), id)
            .await?
            .ok_or(ServiceError::RoomNotFound)?;
        self.plenum
            .live()
            .unless_running(&room.meeting_number, async {
                self.inner
                    .store
                    .delete_room(actor.company(), id)
                    .await
                    .map_err(|e| not_found(e, ServiceError::RoomNotFound))
            })
            .await?;
        tracing::info!(meeting_room_id = %id, by = %actor.user.id, "room deleted");
        Ok(())
    }
}
