//! What a page of statuses needs beside its rows, read at once: the boosted originals, mentions
//! and tags, attachments, quotes and quote counts, the groups the posts are in, and the viewer's
//! own marks.
//!
//! Why one call: each of these is one statement, and on SQLite each statement through sqlx or
//! a reader is a hop to another thread and back (BENCHMARKS.md, the read path's profile: thread
//! wake-ups dominated). Here SQLite runs them all in one closure on one reader connection, from
//! its cache of prepared statements, the three that most pages find nothing for as one
//! (`seldom_parts_sql`); PostgreSQL reads the same statements as the parts of one
//! (`hydrate_in_one_statement`). The SQL is the one each single-purpose method runs, so there
//! is still one text per question.
use std::collections::HashMap;

use kring_core::media::MediaAttachment;
use kring_core::model::{Quote, Status};
use kring_core::{Error, Id};

use crate::media::MediaRow;
use crate::quotes::QuoteRow;
use crate::sql::Sql;
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

/// A row of `seldom_parts_sql`.
enum Seldom {
    Quote(Quote),
    QuotesCount(Id, i64),
    Group(Id, Id),
}

impl Seldom {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Seldom> {
        Ok(match r.get::<_, i64>(SELDOM_KIND)? {
            0 => Seldom::Quote(crate::quotes::quote_from_sqlite(r)?),
            1 => Seldom::QuotesCount(Id(r.get(0)?), r.get(1)?),
            2 => Seldom::Group(Id(r.get(0)?), Id(r.get(1)?)),
            k => return Err(rusqlite::Error::IntegralValueOutOfRange(SELDOM_KIND, k)),
        })
    }
}

/// The column of `seldom_parts_sql` that says which part a row is of (after the quote's seven).
const SELDOM_KIND: usize = 7;

/// SQLite: what most pages have none of — the quotes their posts make, the quotes made of
/// them, the groups they are in — as one statement: each part's rows, the part's number last
/// and the shorter rows padded. Why: three statements that find nothing cost three times a
/// statement's own work (binding the page's ids, stepping, resetting; ~3.5 µs each on the
/// bench's database, BENCHMARKS.md, session 27); the index look-ups are the same either
/// way. Each part is the text its own method runs (`quotes_of_sql`, `quotes_counts_sql`,
/// `groups_of_statuses_sql`), none has an order to keep.
fn seldom_parts_sql(ids: &[Id]) -> Sql {
    let mut sql = Sql::new("");
    let rows = sql.id_rows(ids);
    sql.push(&format!(
        "WITH {rows} SELECT q.*, 0 FROM ({}) q \
         UNION ALL SELECT c.*, NULL, NULL, NULL, NULL, NULL, 1 FROM ({}) c \
         UNION ALL SELECT g.*, NULL, NULL, NULL, NULL, NULL, 2 FROM ({}) g",
        crate::quotes::quotes_of_page(),
        crate::quotes::QUOTES_COUNTS_OF_PAGE,
        crate::groups::GROUPS_OF_PAGE,
    ));
    sql
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
                        r.bodies.read(
                            c,
                            &statuses_by_ids_sql(Backend::Sqlite, &inner, readable_by),
                        )?
                    };
                    let ids = all_ids(page, &originals);
                    let mut h = Hydration {
                        originals,
                        ..Hydration::default()
                    };
                    if ids.is_empty() {
                        return Ok(h);
                    }
                    let mt = readers::all(
                        c,
                        &mentions_and_tags_sql(Backend::Sqlite, &ids),
                        readers::tuple,
                    )?;
                    (h.mentions, h.tags) = split_mentions_and_tags(mt);
                    h.media = readers::all(
                        c,
                        &crate::media::media_of_statuses_sql(Backend::Sqlite, &ids),
                        crate::media::media_from_sqlite,
                    )?;
                    for part in readers::all(c, &seldom_parts_sql(&ids), Seldom::from_sqlite)? {
                        match part {
                            Seldom::Quote(q) => h.quotes.push(q),
                            Seldom::QuotesCount(id, n) => h.quotes_counts.push((id, n)),
                            Seldom::Group(status, group) => {
                                h.group_of.insert(status, group);
                            }
                        }
                    }
                    if let Some(viewer) = marks_of {
                        let rows = readers::all(
                            c,
                            &status_flags_sql(Backend::Sqlite, &[viewer], &ids),
                            readers::tuple,
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
        if self.backend == Backend::Postgres {
            return self
                .hydrate_in_one_statement(originals, &ids, marks_of)
                .await;
        }
        // SQLite without readers (an in-memory database): the statements in turn.
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

    /// PostgreSQL: the same statements as the parts of one, each part's rows read back as one
    /// JSON array. Why: each statement is a round trip to a backend, and a page's six cost
    /// more in both processes (the protocol, the wake-ups, sqlx's `Any` row conversion) than
    /// running them (BENCHMARKS.md, session 20); one statement has one plan kept per
    /// connection, as each part had.
    async fn hydrate_in_one_statement(
        &self,
        originals: Vec<Status>,
        ids: &[Id],
        marks_of: Option<Id>,
    ) -> Result<Hydration, Error> {
        let mut h = Hydration {
            originals,
            ..Hydration::default()
        };
        if ids.is_empty() {
            if marks_of.is_some() {
                h.flags = Some(StatusFlags::default());
            }
            return Ok(h);
        }
        let pg = Backend::Postgres;
        let mut parts = vec![
            mentions_and_tags_sql(pg, ids),
            crate::media::media_of_statuses_sql(pg, ids),
            crate::quotes::quotes_of_sql(pg, ids),
            crate::quotes::quotes_counts_sql(pg, ids),
            crate::groups::groups_of_statuses_sql(pg, ids),
        ];
        if let Some(viewer) = marks_of {
            parts.push(status_flags_sql(pg, &[viewer], ids));
        }
        let mut sql = Sql::new("SELECT ");
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            // The text of `json` (sqlx's `Any` reads no `json`). A part's own ORDER BY holds:
            // an aggregate reads a sorted subquery's rows in order unless the outer query
            // reorders them, by a join for one (PostgreSQL's manual); this one has none.
            sql.push("(SELECT CAST(COALESCE(json_agg(x), '[]') AS TEXT) FROM (");
            sql.push_sql(part);
            sql.push(") x)");
        }
        let Some(pg) = &self.pg_reads else {
            return Err(Error::Internal("PostgreSQL without its reads".into()));
        };
        let row = pg
            .all(&sql, text_columns)
            .await?
            .into_iter()
            .next()
            .unwrap_or_default();
        let column = |i: usize| -> Result<&str, Error> {
            row.get(i)
                .map(String::as_str)
                .ok_or_else(|| Error::Internal("hydration: a part missing".into()))
        };
        let mt: Vec<MentionOrTag> = json_rows(column(0)?)?;
        (h.mentions, h.tags) = split_mentions_and_tags(
            mt.into_iter()
                .map(|r| (r.status_id, r.account_id, r.name))
                .collect(),
        );
        h.media = json_rows::<MediaRow>(column(1)?)?
            .into_iter()
            .map(MediaRow::into_domain)
            .collect();
        h.quotes = json_rows::<QuoteRow>(column(2)?)?
            .into_iter()
            .map(QuoteRow::into_domain)
            .collect();
        h.quotes_counts = json_rows::<QuoteCount>(column(3)?)?
            .into_iter()
            .map(|r| (Id(r.quoted_status_id), r.count))
            .collect();
        h.group_of = json_rows::<GroupOf>(column(4)?)?
            .into_iter()
            .map(|r| (Id(r.status_id), Id(r.group_id)))
            .collect();
        if let Some(viewer) = marks_of {
            let marks = json_rows::<Mark>(column(5)?)?
                .into_iter()
                .map(|r| (r.k, r.account_id, r.id))
                .collect();
            h.flags = Some(flags_from_rows(marks).remove(&viewer).unwrap_or_default());
        }
        Ok(h)
    }
}

/// Every column of a row, as text (the hydration's parts on PostgreSQL).
fn text_columns(r: &sqlx::postgres::PgRow) -> Result<Vec<String>, sqlx::Error> {
    use sqlx::Row;
    (0..r.len()).map(|i| r.try_get(i)).collect()
}

/// One part's rows, as `json_agg` wrote them: objects named by the part's columns.
fn json_rows<T: serde::de::DeserializeOwned>(text: &str) -> Result<Vec<T>, Error> {
    serde_json::from_str(text).map_err(|e| Error::Internal(format!("hydration rows: {e}")))
}

// The parts' rows whose statements read them as tuples elsewhere, named by their columns.
#[derive(serde::Deserialize)]
struct MentionOrTag {
    status_id: i64,
    account_id: Option<i64>,
    name: Option<String>,
}

#[derive(serde::Deserialize)]
struct QuoteCount {
    quoted_status_id: i64,
    count: i64,
}

#[derive(serde::Deserialize)]
struct GroupOf {
    status_id: i64,
    group_id: i64,
}

#[derive(serde::Deserialize)]
struct Mark {
    k: String,
    account_id: i64,
    id: i64,
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
