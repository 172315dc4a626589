//! Notifications: created inside the transaction of their cause, read and dismissed by their owner.
use kring_core::model::{Notification, NotificationType, Page};
use kring_core::time::now_micros;

use crate::{Actor, Error, Id, Kring, Result};

impl Kring {
    /// Record a notification unless the recipient muted (with notifications) or blocked the
    /// sender. Returns its id, to publish after commit.
    pub(crate) async fn notify_in(
        &self,
        tx: &mut kring_store::Tx,
        recipient: Id,
        kind: NotificationType,
        from: Id,
        status: Option<Id>,
    ) -> Result<Option<Id>> {
        self.record_notification_in(
            tx,
            Notification {
                id: Id::generate(),
                account_id: recipient,
                kind,
                from_account_id: from,
                status_id: status,
                group_id: None,
                report_id: None,
                created_at: now_micros(),
            },
        )
        .await
    }

    /// A notification about a group (`group.*`), or a report (`admin.report`, with no group),
    /// under the same mute and block rules as every other.
    pub(crate) async fn notify_group_in(
        &self,
        tx: &mut kring_store::Tx,
        recipient: Id,
        kind: NotificationType,
        from: Id,
        group: Option<Id>,
        report: Option<Id>,
    ) -> Result<Option<Id>> {
        self.record_notification_in(
            tx,
            Notification {
                id: Id::generate(),
                account_id: recipient,
                kind,
                from_account_id: from,
                status_id: None,
                group_id: group,
                report_id: report,
                created_at: now_micros(),
            },
        )
        .await
    }

    async fn record_notification_in(
        &self,
        tx: &mut kring_store::Tx,
        n: Notification,
    ) -> Result<Option<Id>> {
        if n.account_id == n.from_account_id {
            return Ok(None);
        }
        if self.store.blocks(n.account_id, n.from_account_id).await? {
            return Ok(None);
        }
        if let Some(true) = self.store.mute(n.account_id, n.from_account_id).await? {
            return Ok(None);
        }
        tx.insert_notification(&n).await?;
        Ok(Some(n.id))
    }

    /// Publish notifications recorded in a committed transaction to their owners' streams.
    pub(crate) fn publish_notifications(&self, made: &[(Id, Id)]) {
        for &(owner, n) in made {
            self.events.publish(
                crate::events::EventKind::Notification(n),
                vec![crate::events::Stream::User(owner)],
            );
        }
    }

    /// The actor's notifications. `types` empty means all; `exclude` removes types.
    /// Notifications about statuses the actor may no longer see, and from accounts (or
    /// domains) the actor blocked or muted with notifications, are left out.
    pub async fn notifications(
        &self,
        actor: &Actor,
        types: &[NotificationType],
        exclude: &[NotificationType],
        from: Option<Id>,
        page: &Page,
    ) -> Result<Vec<Notification>> {
        let mut wanted: Vec<NotificationType> = if types.is_empty() {
            NotificationType::ALL
                .into_iter()
                .filter(|t| t.shown_by_default())
                .collect()
        } else {
            types.to_vec()
        };
        wanted.retain(|t| !exclude.contains(t));
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        // The store shows only notifications the actor may still see (the audience rule).
        self.store
            .notifications(actor.id(), &wanted, from, page)
            .await
    }

    pub async fn notification(&self, actor: &Actor, id: Id) -> Result<Notification> {
        self.store
            .notification(actor.id(), id)
            .await?
            .ok_or(Error::NotFound)
    }

    pub async fn dismiss_notification(&self, actor: &Actor, id: Id) -> Result<()> {
        let mut tx = self.store.begin().await?;
        let found = tx.dismiss_notification(actor.id(), id).await?;
        tx.commit().await?;
        if found { Ok(()) } else { Err(Error::NotFound) }
    }

    pub async fn clear_notifications(&self, actor: &Actor) -> Result<()> {
        let mut tx = self.store.begin().await?;
        tx.clear_notifications(actor.id()).await?;
        tx.commit().await
    }

    pub async fn markers(&self, actor: &Actor) -> Result<Vec<kring_core::model::Marker>> {
        self.store.markers(actor.id()).await
    }

    /// How many notifications arrived since the reader last looked (the "notifications"
    /// marker, which Mastodon apps also move), counted up to `cap`.
    pub async fn unread_notifications(&self, actor: &Actor, cap: i64) -> Result<i64> {
        self.store.unread_notifications(actor.id(), cap).await
    }

    /// The reader has seen notifications up to `newest`: move the marker forward (never back).
    pub async fn mark_notifications_read(&self, actor: &Actor, newest: Id) -> Result<()> {
        self.store
            .advance_marker(actor.id(), "notifications", newest)
            .await
    }

    pub async fn set_marker(&self, actor: &Actor, timeline: &str, last_read: Id) -> Result<()> {
        if timeline != "home" && timeline != "notifications" {
            return Err(Error::validation("Timeline is not included in the list"));
        }
        self.store.set_marker(actor.id(), timeline, last_read).await
    }
}
