//! Sign-up, sign-in and sign-out. A session is a token of the built-in web app, kept in the
//! session cookie; signing out revokes it.
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use kring_service::accounts::Registration;
use kring_service::sessions::SignUp;
use serde::Deserialize;

use super::public::registrations_label;
use super::{NoFields, checked, form_status, render, render_status};
use crate::Web;
use crate::client::Client;
use crate::error::{WebResult, message};
use crate::session::{AnonPosted, MaybeViewer, Posted};
use crate::view::{Chrome, safe_back};

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    c: Chrome,
    email: String,
    next: String,
    error: Option<String>,
    notice: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct NextQuery {
    #[serde(default)]
    next: Option<String>,
}

fn signed_in_to(web: &Web, token: &str, next: &str) -> Response {
    let mut res = Redirect::to(next).into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, web.session_cookie(token));
    res
}

pub async fn sign_in_page(
    State(web): State<Web>,
    v: MaybeViewer,
    Query(q): Query<NextQuery>,
) -> WebResult {
    let next = safe_back(q.next.as_deref(), "/home");
    if v.0.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    let c = web
        .chrome(None, "Sign in", "sign_in", "/auth/sign_in")
        .await?;
    render(&SignInPage {
        c,
        email: String::new(),
        next,
        error: None,
        notice: None,
    })
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
}

pub async fn sign_in(
    State(web): State<Web>,
    Client(client): Client,
    AnonPosted(f): AnonPosted<SignInForm>,
) -> WebResult {
    web.kring.limits.sign_in(client, &f.email)?;
    let next = safe_back(f.next.as_deref(), "/home");
    match web.kring.web_sign_in(&f.email, &f.password).await {
        Ok((_, token)) => Ok(signed_in_to(&web, &token.access_token, &next)),
        Err(e) => {
            let c = web
                .chrome(None, "Sign in", "sign_in", "/auth/sign_in")
                .await?;
            render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &SignInPage {
                    c,
                    email: f.email,
                    next,
                    error: Some(message(&e)),
                    notice: None,
                },
            )
        }
    }
}

#[derive(Template)]
#[template(path = "sign_up.html")]
struct SignUpPage {
    c: Chrome,
    mode: &'static str,
    contact: String,
    domain: String,
    rules: Vec<String>,
    username: String,
    email: String,
    agreed: bool,
    reason: String,
    error: Option<String>,
}

async fn sign_up_form(web: &Web, form: Option<SignUpForm>, error: Option<String>) -> WebResult {
    let info = web.kring.instance().await?;
    let c = web
        .chrome(None, "Sign up", "sign_up", "/auth/sign_up")
        .await?;
    let form = form.unwrap_or_default();
    let page = SignUpPage {
        c,
        mode: registrations_label(info.registrations),
        contact: info.contact_email,
        domain: info.domain,
        rules: info.rules.into_iter().map(|r| r.text).collect(),
        username: form.username,
        email: form.email,
        // Kept ticked after a refusal (the password is not sent back: it is typed again).
        agreed: checked(&form.agreement),
        reason: form.reason,
        error: error.clone(),
    };
    render_status(form_status(&error), &page)
}

pub async fn sign_up_page(State(web): State<Web>, v: MaybeViewer) -> WebResult {
    if v.0.is_some() {
        return Ok(Redirect::to("/home").into_response());
    }
    sign_up_form(&web, None, None).await
}

#[derive(Deserialize, Default)]
pub struct SignUpForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    agreement: Option<String>,
}

pub async fn sign_up(
    State(web): State<Web>,
    Client(client): Client,
    AnonPosted(f): AnonPosted<SignUpForm>,
) -> WebResult {
    web.kring.limits.sign_up(client)?;
    let reg = Registration {
        username: f.username.clone(),
        email: f.email.clone(),
        password: f.password.clone(),
        agreement: checked(&f.agreement),
        locale: "en".into(),
        reason: Some(f.reason.clone()),
    };
    match web.kring.web_sign_up(reg).await {
        Ok(SignUp::SignedIn(_, token)) => Ok(signed_in_to(&web, &token.access_token, "/home")),
        Ok(SignUp::Pending(_, why)) => {
            let c = web
                .chrome(None, "Sign in", "sign_in", "/auth/sign_in")
                .await?;
            render(&SignInPage {
                c,
                email: f.email,
                next: "/home".into(),
                error: None,
                notice: Some(format!(
                    "Your account was created. {why}: you can sign in once that is done."
                )),
            })
        }
        Err(e) => sign_up_form(&web, Some(f), Some(message(&e))).await,
    }
}

pub async fn sign_out(State(web): State<Web>, p: Posted<NoFields>) -> WebResult {
    web.kring.web_sign_out(&p.viewer.token).await?;
    let mut res = Redirect::to("/").into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, web.clear_cookie());
    Ok(res)
}
