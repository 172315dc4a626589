//! Filters (v2): keyword and status filters applied to timelines in chosen contexts.
use kring_core::model::{Filter, FilterAction, FilterKeyword, FilterStatus, Status};
use kring_core::time::now_micros;

use crate::events::{EventKind, Stream};
use crate::{Actor, Error, Id, Kring, Result};

pub const CONTEXTS: [&str; 5] = ["home", "notifications", "public", "thread", "account"];

#[derive(Debug, Clone, Default)]
pub struct FilterRequest {
    pub title: Option<String>,
    pub context: Option<Vec<String>>,
    pub action: Option<FilterAction>,
    /// Seconds from now; Some(None) clears the expiry.
    pub expires_in: Option<Option<i64>>,
    /// (id to update, or None to add; keyword; whole_word; delete)
    pub keywords: Vec<(Option<Id>, String, bool, bool)>,
}

/// What matched a status, for the Mastodon `filtered` attribute.
#[derive(Debug, Clone)]
pub struct FilterMatch {
    pub filter: Filter,
    pub keywords: Vec<String>,
    pub status_ids: Vec<Id>,
}

impl Kring {
    pub async fn filters(&self, actor: &Actor) -> Result<Vec<Filter>> {
        Ok(self.filters_of(actor.id()).await?.as_ref().clone())
    }

    /// An account's filters, from memory when they have not changed since the last read
    /// (every timeline page asks; most accounts have none).
    pub(crate) async fn filters_of(&self, account: Id) -> Result<std::sync::Arc<Vec<Filter>>> {
        let caches = &self.events.caches;
        if let Some(f) = caches.filters(account) {
            return Ok(f);
        }
        let read_at = caches.filters_generation();
        let f = std::sync::Arc::new(self.store.filters(account).await?);
        caches.keep_filters(account, f.clone(), read_at);
        Ok(f)
    }

    pub async fn filter(&self, actor: &Actor, id: Id) -> Result<Filter> {
        self.filters(actor)
            .await?
            .into_iter()
            .find(|f| f.id == id)
            .ok_or(Error::NotFound)
    }

    pub async fn save_filter(
        &self,
        actor: &Actor,
        id: Option<Id>,
        req: FilterRequest,
    ) -> Result<Filter> {
        let mut f = match id {
            Some(id) => self.filter(actor, id).await?,
            None => Filter {
                id: Id::generate(),
                account_id: actor.id(),
                title: String::new(),
                context: Vec::new(),
                action: FilterAction::Warn,
                expires_at: None,
                keywords: Vec::new(),
                statuses: Vec::new(),
            },
        };
        if let Some(t) = req.title {
            f.title = t.trim().to_string();
        }
        if f.title.is_empty() {
            return Err(Error::validation("Title can't be blank"));
        }
        if let Some(c) = req.context {
            if c.iter().any(|x| !CONTEXTS.contains(&x.as_str())) {
                return Err(Error::validation("Context is invalid"));
            }
            f.context = c;
        }
        if f.context.is_empty() {
            return Err(Error::validation("Context can't be blank"));
        }
        if let Some(a) = req.action {
            f.action = a;
        }
        if let Some(e) = req.expires_in {
            f.expires_at = e
                .filter(|&s| s > 0)
                .map(|s| now_micros() + s.saturating_mul(1_000_000));
        }
        for (kid, keyword, whole_word, destroy) in req.keywords {
            match kid {
                Some(kid) => {
                    if destroy {
                        f.keywords.retain(|k| k.id != kid);
                    } else if let Some(k) = f.keywords.iter_mut().find(|k| k.id == kid) {
                        k.keyword = keyword;
                        k.whole_word = whole_word;
                    }
                }
                None if !destroy && !keyword.trim().is_empty() => f.keywords.push(FilterKeyword {
                    id: Id::generate(),
                    keyword: keyword.trim().to_string(),
                    whole_word,
                }),
                None => {}
            }
        }
        self.write_filter(actor, &f).await?;
        Ok(f)
    }

    async fn write_filter(&self, actor: &Actor, f: &Filter) -> Result<()> {
        let mut tx = self.store.begin().await?;
        tx.save_filter(f).await?;
        tx.commit().await?;
        self.events
            .publish(EventKind::FiltersChanged, vec![Stream::User(actor.id())]);
        Ok(())
    }

    pub async fn delete_filter(&self, actor: &Actor, id: Id) -> Result<()> {
        let mut tx = self.store.begin().await?;
        let found = tx.delete_filter(actor.id(), id).await?;
        tx.commit().await?;
        if !found {
            return Err(Error::NotFound);
        }
        self.events
            .publish(EventKind::FiltersChanged, vec![Stream::User(actor.id())]);
        Ok(())
    }

    pub async fn add_filter_keyword(
        &self,
        actor: &Actor,
        filter: Id,
        keyword: &str,
        whole_word: bool,
    ) -> Result<FilterKeyword> {
        let mut f = self.filter(actor, filter).await?;
        if keyword.trim().is_empty() {
            return Err(Error::validation("Keyword can't be blank"));
        }
        let k = FilterKeyword {
            id: Id::generate(),
            keyword: keyword.trim().to_string(),
            whole_word,
        };
        f.keywords.push(k.clone());
        self.write_filter(actor, &f).await?;
        Ok(k)
    }

    pub async fn add_filter_status(
        &self,
        actor: &Actor,
        filter: Id,
        status: Id,
    ) -> Result<FilterStatus> {
        let mut f = self.filter(actor, filter).await?;
        self.status(Some(actor), status).await?;
        let s = FilterStatus {
            id: Id::generate(),
            status_id: status,
        };
        f.statuses.push(s.clone());
        self.write_filter(actor, &f).await?;
        Ok(s)
    }

    /// Which of the actor's filters for `context` match a status (its text and warning).
    pub fn match_filters(filters: &[Filter], context: &str, status: &Status) -> Vec<FilterMatch> {
        let now = now_micros();
        let text = format!(
            "{}\n{}",
            status.spoiler_text,
            kring_core::text::html_to_text(&status.content)
        )
        .to_lowercase();
        filters
            .iter()
            .filter(|f| {
                f.context.iter().any(|c| c == context) && f.expires_at.is_none_or(|e| e > now)
            })
            .filter_map(|f| {
                let keywords: Vec<String> = f
                    .keywords
                    .iter()
                    .filter(|k| keyword_matches(&text, &k.keyword.to_lowercase(), k.whole_word))
                    .map(|k| k.keyword.clone())
                    .collect();
                let status_ids: Vec<Id> = f
                    .statuses
                    .iter()
                    .filter(|s| s.status_id == status.id)
                    .map(|s| s.status_id)
                    .collect();
                (!keywords.is_empty() || !status_ids.is_empty()).then(|| FilterMatch {
                    filter: f.clone(),
                    keywords,
                    status_ids,
                })
            })
            .collect()
    }
}

fn keyword_matches(text: &str, keyword: &str, whole_word: bool) -> bool {
    if keyword.is_empty() {
        return false;
    }
    if !whole_word {
        return text.contains(keyword);
    }
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(keyword).any(|(i, m)| {
        let before = text[..i].chars().next_back();
        let after = text[i + m.len()..].chars().next();
        before.is_none_or(|c| !is_word(c)) && after.is_none_or(|c| !is_word(c))
    })
}

#[cfg(test)]
mod tests {
    use super::keyword_matches;

    #[test]
    fn whole_words() {
        assert!(keyword_matches("i like cats.", "cats", true));
        assert!(!keyword_matches("concatenate", "cat", true));
        assert!(keyword_matches("concatenate", "cat", false));
    }
}
