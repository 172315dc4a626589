//! Reads beyond the home timeline that the seeded database cannot answer by itself (its posts
//! carry no hashtags and no replies): a hashtag timeline and a status with its context. Their
//! posts are made over the API before the measurement and deleted after it, so a reused bench
//! database stays as seeded.
use std::time::Duration;

use serde_json::{Value, json};

/// The hashtag the measured timeline shows.
pub const TAG: &str = "kringbench";
/// Posts carrying the hashtag (a full page of 40, and then some).
const TAGGED: usize = 60;
/// Posts in the thread: the measured status has half of them before it, half after.
const THREAD: usize = 11;

/// What `prepare` posted: every post (token, id), and the status whose context is read.
pub struct Fixtures {
    pub posts: Vec<(String, String)>,
    pub thread_status: String,
}

fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| e.to_string())
}

async fn post(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    body: Value,
) -> Result<String, String> {
    let r = client
        .post(format!("{base}/api/v1/statuses"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("posting: {e}"))?;
    let status = r.status();
    let v: Value = r.json().await.map_err(|e| format!("posting: {e}"))?;
    v.get("id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("posting failed ({status}): {v}"))
}

/// Post the hashtag's statuses and a thread, by different accounts (`tokens`).
pub async fn prepare(base: &str, tokens: &[String]) -> Result<Fixtures, String> {
    let client = client()?;
    let token = |i: usize| tokens[(i * 7919) % tokens.len()].clone();
    let mut posts = Vec::new();
    for i in 0..TAGGED {
        let t = token(i);
        let id = post(
            &client,
            base,
            &t,
            json!({"status": format!("Tagged post {i} for the bench #{TAG}"), "visibility": "public"}),
        )
        .await?;
        posts.push((t, id));
    }
    let mut previous: Option<String> = None;
    let mut thread = Vec::new();
    for i in 0..THREAD {
        let t = token(TAGGED + i);
        let mut body =
            json!({"status": format!("Thread post {i} of the bench"), "visibility": "public"});
        if let Some(p) = &previous {
            body["in_reply_to_id"] = json!(p);
        }
        let id = post(&client, base, &t, body).await?;
        previous = Some(id.clone());
        thread.push(id.clone());
        posts.push((t, id));
    }
    Ok(Fixtures {
        thread_status: thread[THREAD / 2].clone(),
        posts,
    })
}

/// Delete what `prepare` posted (newest first: replies before what they answer).
pub async fn cleanup(base: &str, fixtures: &Fixtures) -> Result<(), String> {
    let client = client()?;
    for (token, id) in fixtures.posts.iter().rev() {
        let r = client
            .delete(format!("{base}/api/v1/statuses/{id}"))
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| format!("deleting {id}: {e}"))?;
        if !r.status().is_success() {
            return Err(format!("deleting {id}: {}", r.status()));
        }
    }
    Ok(())
}
