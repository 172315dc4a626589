//! What a page of statuses needs beside its rows, read at once: the boosted originals, mentions
//! and tags, attachments, quotes and quote counts, the groups the posts are in, and the viewer's
//! own marks.
//!
//! Why one call: each of these is one statement, and on SQLite each statement through sqlx or
//! a reader is a hop to another thread and back (BENCHMARKS.md, the read path's profile: thread
//! wake-ups dominated). Here SQLite runs them all in one closure on one reader connection, from
//! its cache of prepared statements; PostgreSQL runs the same statements in turn. The SQL is
//! the one each single-purpose method runs, so there is still one text per question.
use std::collections::HashMap;

use kring_core::media::MediaAttachment;
use kring_core::model::{Quote, Status};
use kring_core::{Error, Id};

use crate::rows::StatusRow;
use crate::statuses::{
    StatusFlags, flags_from_rows, mentions_and_tags_sql, split_mentions_and_tags, status_flags_sql,
    statuses_by_ids_sql,
};
use crate::{Backend, Store, readers};

/// Which boosted originals `hydrate` reads.
#[derive(Debug, Clone, Copy)]
pub enum OriginalsOf {
    /// Those this viewer (None: signed out) may open: the one audience rule.
    ReadableBy(Option<Id>),
    /// All of them: the caller already applied the audience rule, which checks a boost's
    /// original too.
    Checked,
}

/// Everything `hydrate` read for a page.
#[derive(Debug, Default)]
pub struct Hydration {
    /// The boosted originals kept (see `OriginalsOf`).
    pub originals: Vec<Status>,
    /// (status, mentioned account) pairs of the page's statuses and originals.
    pub mentions: Vec<(Id, Id)>,
    /// (status, tag name) pairs.
    pub tags: Vec<(Id, String)>,
    /// Attachments, in order per status.
    pub media: Vec<MediaAttachment>,
    /// The quotes the statuses make.
    pub quotes: Vec<Quote>,
    /// How many accepted quotes each status has (absent: none).
    pub quotes_counts: Vec<(Id, i64)>,
    /// The group each status is in.
    pub group_of: HashMap<Id, Id>,
    /// The marks of the viewer asked for (None when none was asked for).
    pub flags: Option<StatusFlags>,
}

impl Store {
    /// Read what `statuses` need to be shown (see the module). `marks_of`: whose favourites,
    /// boosts, bookmarks and pins to read.
    pub async fn hydrate(
        &self,
        statuses: &[Status],
        originals: OriginalsOf,
        marks_of: Option<Id>,
    ) -> Result<Hydration, Error> {
        let page: Vec<Id> = statuses.iter().map(|s| s.id).collect();
        let inner: Vec<Id> = statuses.iter().filter_map(|s| s.reblog_of_id).collect();
        let readable_by = match originals {
            OriginalsOf::ReadableBy(v) => Some(v),
            OriginalsOf::Checked => None,
        };
        if let Some(r) = &self.readers {
            return r
                .read(move |c| {
                    let originals: Vec<Status> = if inner.is_empty() {
                        Vec::new()
                    } else {
                        readers::all(
                            c,
                            &statuses_by_ids_sql(Backend::Sqlite, &inner, readable_by),
                            StatusRow::from_sqlite,
                        )?
                        .into_iter()
                        .map(Status::from)
                        .collect()
                    };
                    let ids = all_ids(page, &originals);
                    let mut h = Hydration {
                        originals,
                        ..Hydration::default()
                    };
                    if ids.is_empty() {
                        return Ok(h);
                    }
                    let mt = readers::all(c, &mentions_and_tags_sql(Backend::Sqlite, &ids), |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })?;
                    (h.mentions, h.tags) = split_mentions_and_tags(mt);
                    h.media = readers::all(
                        c,
                        &crate::media::media_of_statuses_sql(Backend::Sqlite, &ids),
                        crate::media::media_from_sqlite,
                    )?;
                    h.quotes = readers::all(
                        c,
                        &crate::quotes::quotes_of_sql(Backend::Sqlite, &ids),
                        crate::quotes::quote_from_sqlite,
                    )?;
                    h.quotes_counts = readers::all(
                        c,
                        &crate::quotes::quotes_counts_sql(Backend::Sqlite, &ids),
                        |r| Ok((Id(r.get(0)?), r.get(1)?)),
                    )?;
                    h.group_of = readers::all(
                        c,
                        &crate::groups::groups_of_statuses_sql(Backend::Sqlite, &ids),
                        |r| Ok((Id(r.get(0)?), Id(r.get(1)?))),
                    )?
                    .into_iter()
                    .collect();
                    if let Some(viewer) = marks_of {
                        let rows = readers::all(
                            c,
                            &status_flags_sql(Backend::Sqlite, &[viewer], &ids),
                            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                        )?;
                        h.flags = Some(flags_from_rows(rows).remove(&viewer).unwrap_or_default());
                    }
                    Ok(h)
                })
                .await;
        }
        let originals = match readable_by {
            Some(v) => self.visible_statuses_by_ids(v, &inner).await?,
            None => self.statuses_by_ids(&inner).await?,
        };
        let ids = all_ids(page, &originals);
        let (mentions, tags) = self.mentions_and_tags_of(&ids).await?;
        let flags = match marks_of {
            Some(v) => Some(self.status_flags(v, &ids).await?),
            None => None,
        };
        Ok(Hydration {
            mentions,
            tags,
            media: self.media_of_statuses(&ids).await?,
            quotes: self.quotes_of(&ids).await?,
            quotes_counts: self.quotes_counts(&ids).await?,
            group_of: self.groups_of_statuses(&ids).await?,
            flags,
            originals,
        })
    }
}

/// The page's ids followed by its originals' (an original already on the page is listed once).
fn all_ids(mut page: Vec<Id>, originals: &[Status]) -> Vec<Id> {
    for o in originals {
        if !page.contains(&o.id) {
            page.push(o.id);
        }
    }
    page
}
