// SPDX-License-Identifier: AGPL-3.0-or-later
//! Who a remote actor is: a real Kring server on 127.0.0.1 receives hand-signed deliveries from
//! a hand-made remote server (a small axum app serving exactly the documents each test puts
//! there, as GoToSocial, an attacker's upload or a minimal actor would), and two Kring servers
//! federate through the production, guarded HTTP client (test host names resolved to
//! 127.0.0.1, every other name still refused when it resolves to a private address).
//!
//! Covered: a document counts only when its `id` is the URL it came from and it is served as
//! ActivityStreams; a forged actor uploaded at another path of the victim's host cannot replace
//! a key; key ids without a fragment (GoToSocial's stub documents, key documents with an
//! `owner`) work on the first and every later delivery; an actor with only the required fields
//! is accepted; failed key fetches are not repeated; the instance actor's name is a valid
//! username that WebFinger agrees with.
mod common;
mod fed_common;

use fed_common::remote::{AS2, Remote, actor_doc, deliver};
use fed_common::{FedUser, Node, eventually};
use kring_activitypub::KeyPair;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn create_note(actor: &str, text: &str) -> Value {
    let note = format!("{actor}/statuses/{:016x}", rand::random::<u64>());
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{note}/activity"),
        "type": "Create",
        "actor": actor,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {
            "id": note,
            "type": "Note",
            "attributedTo": actor,
            "content": format!("<p>{text}</p>"),
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
        },
    })
}

/// The account `acct` as `viewer` on `on` finds it without fetching anything.
async fn known_account(on: &Node, viewer: &FedUser, acct: &str) -> Option<Value> {
    let (st, body) = on
        .request(
            reqwest::Method::GET,
            "/api/v1/accounts/lookup",
            Some(&viewer.token),
            &[("acct", acct)],
            None,
        )
        .await;
    (st == StatusCode::OK).then_some(body)
}

/// Whether `on` stored the note of a Create (looked up without fetching).
async fn stored(on: &Node, viewer: &FedUser, create: &Value) -> bool {
    let uri = create["object"]["id"].as_str().unwrap();
    let found = on
        .ok_query(
            "/api/v2/search",
            &viewer.token,
            &[("q", uri), ("type", "statuses"), ("resolve", "false")],
        )
        .await;
    found["statuses"]
        .as_array()
        .is_some_and(|l| l.iter().any(|s| s["uri"] == uri))
}

/// Search with `resolve=true` for a URL or handle; the accounts found.
async fn look_up(on: &Node, viewer: &FedUser, q: &str) -> Vec<Value> {
    let found = on
        .ok_query(
            "/api/v2/search",
            &viewer.token,
            &[("q", q), ("resolve", "true"), ("type", "accounts")],
        )
        .await;
    found["accounts"].as_array().cloned().unwrap_or_default()
}

// --- 1. a document is what its id's URL serves -------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actor_served_at_another_url_than_its_id_is_refused() {
    let (a, remote) = tokio::join!(Node::start(), Remote::start());
    let alice = a.register("alice").await;
    let inbox = a.url("/inbox");
    let key = KeyPair::generate().unwrap();
    // /users/copy serves a document claiming to be /users/elsewhere, which does not exist.
    let copy = remote.url("/users/copy");
    let elsewhere = remote.url("/users/elsewhere");
    let key_id = format!("{copy}#main-key");
    let mut doc = actor_doc(&elsewhere, "elsewhere", &key_id, &key);
    doc["publicKey"]["owner"] = json!(elsewhere);
    remote.put_typed("/users/copy", AS2, &doc);
    let create = create_note(&elsewhere, "from a copy");
    assert_eq!(
        deliver(&a.http, &inbox, &create, &key_id, &key).await,
        StatusCode::UNAUTHORIZED,
        "a key whose document names another id that does not confirm it"
    );
    assert!(look_up(&a, &alice, &copy).await.is_empty());
    assert!(
        known_account(&a, &alice, &format!("elsewhere@{}", remote.domain()))
            .await
            .is_none(),
        "nothing stored for the claimed id"
    );
    assert_eq!(
        remote.hits("/users/elsewhere"),
        1,
        "the claimed id was asked once"
    );

    // A document served at another URL than its id counts when the id confirms it (a profile
    // URL that serves the actor, as many servers do): that is the actor at its id.
    let real_key = KeyPair::generate().unwrap();
    let real = remote.keyed_actor(
        "/users/real",
        "real",
        &format!("{}#main-key", remote.url("/users/real")),
        &real_key,
    );
    remote.put_typed(
        "/@real",
        AS2,
        &actor_doc(&real, "real", &format!("{real}#main-key"), &real_key),
    );
    let found = look_up(&a, &alice, &remote.url("/@real")).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["uri"], real);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_that_are_not_activitystreams_are_refused() {
    let (a, remote) = tokio::join!(Node::start(), Remote::start());
    let alice = a.register("alice").await;
    let inbox = a.url("/inbox");
    for (n, ct) in [
        "application/json",
        "text/html; charset=utf-8",
        "application/ld+json",
        "text/plain",
    ]
    .into_iter()
    .enumerate()
    {
        let key = KeyPair::generate().unwrap();
        let path = format!("/users/plain{n}");
        let id = remote.url(&path);
        let key_id = format!("{id}#main-key");
        remote.put_typed(
            &path,
            ct,
            &actor_doc(&id, &format!("plain{n}"), &key_id, &key),
        );
        assert_eq!(
            deliver(
                &a.http,
                &inbox,
                &create_note(&id, "typed wrong"),
                &key_id,
                &key
            )
            .await,
            StatusCode::UNAUTHORIZED,
            "an actor served as {ct}"
        );
        assert!(look_up(&a, &alice, &id).await.is_empty(), "{ct}");
    }
    // The control: the same served as ld+json with the ActivityStreams profile.
    let key = KeyPair::generate().unwrap();
    let id = remote.url("/users/typed");
    let key_id = format!("{id}#main-key");
    remote.put_typed(
        "/users/typed",
        "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"",
        &actor_doc(&id, "typed", &key_id, &key),
    );
    assert_eq!(
        deliver(
            &a.http,
            &inbox,
            &create_note(&id, "typed right"),
            &key_id,
            &key
        )
        .await,
        StatusCode::ACCEPTED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_actor_uploaded_to_the_victims_host_cannot_replace_its_key() {
    let (a, remote) = tokio::join!(Node::start(), Remote::start());
    let alice = a.register("alice").await;
    let inbox = a.url("/inbox");
    let victim_key = KeyPair::generate().unwrap();
    let victim = remote.url("/users/victim");
    let victim_key_id = format!("{victim}#main-key");
    remote.keyed_actor("/users/victim", "victim", &victim_key_id, &victim_key);
    // The victim speaks first: A knows its key.
    let genuine = create_note(&victim, "genuine");
    assert_eq!(
        deliver(&a.http, &inbox, &genuine, &victim_key_id, &victim_key).await,
        StatusCode::ACCEPTED
    );

    // The attacker uploads files to the victim's host (as media attachments are): an actor
    // document claiming the victim's id with the attacker's key, and a key document naming
    // the victim as owner; served with every plausible type, even as ActivityStreams.
    let attacker = KeyPair::generate().unwrap();
    for (n, ct) in [AS2, "application/json", "application/octet-stream"]
        .into_iter()
        .enumerate()
    {
        let upload = format!("/media/upload{n}.json");
        let upload_url = remote.url(&upload);
        let mut forged = actor_doc(&victim, "victim", &upload_url, &attacker);
        forged["publicKey"]["owner"] = json!(victim);
        remote.put_typed(&upload, ct, &forged);
        let key_doc = format!("/media/key{n}.json");
        let key_doc_url = remote.url(&key_doc);
        remote.put_typed(
            &key_doc,
            ct,
            &json!({
                "@context": "https://w3id.org/security/v1",
                "id": key_doc_url,
                "type": "CryptographicKey",
                "owner": victim,
                "publicKeyPem": attacker.public_key_pem(),
            }),
        );
        for key_id in [
            upload_url.clone(),
            format!("{upload_url}#main-key"),
            key_doc_url,
        ] {
            let forged_note = create_note(&victim, &format!("forged with {key_id}"));
            assert_eq!(
                deliver(&a.http, &inbox, &forged_note, &key_id, &attacker).await,
                StatusCode::UNAUTHORIZED,
                "signed with the attacker's key under {key_id} ({ct})"
            );
        }
    }
    // The victim's key is still the victim's: its signatures pass, the attacker's do not.
    assert_eq!(
        deliver(
            &a.http,
            &inbox,
            &create_note(&victim, "still me"),
            &victim_key_id,
            &victim_key
        )
        .await,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        deliver(
            &a.http,
            &inbox,
            &create_note(&victim, "impostor"),
            &victim_key_id,
            &attacker
        )
        .await,
        StatusCode::UNAUTHORIZED
    );
    eventually("the genuine note is stored", async || {
        stored(&a, &alice, &genuine).await.then_some(())
    })
    .await;
}

// --- 2. key ids are mapped through the stored key id --------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_ids_without_a_fragment_work_on_every_delivery() {
    let (a, remote) = tokio::join!(Node::start(), Remote::start());
    let alice = a.register("alice").await;
    let inbox = a.url("/inbox");
    let personal_inbox = a.url("/users/alice/inbox");

    // GoToSocial: key id …/main-key, which serves a cut-down stub of the actor (the actor's
    // id, preferredUsername, publicKey with owner; no inbox).
    let gts_key = KeyPair::generate().unwrap();
    let gts = remote.url("/users/gts");
    let gts_key_id = format!("{gts}/main-key");
    remote.keyed_actor("/users/gts", "gts", &gts_key_id, &gts_key);
    remote.put_typed(
        "/users/gts/main-key",
        AS2,
        &json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": gts,
            "type": "Person",
            "preferredUsername": "gts",
            "publicKey": { "id": gts_key_id, "owner": gts, "publicKeyPem": gts_key.public_key_pem() },
        }),
    );
    // A key published as a document of its own, with an owner.
    let keyed_key = KeyPair::generate().unwrap();
    let keyed = remote.url("/users/keyed");
    let keyed_key_id = remote.url("/keys/keyed");
    remote.keyed_actor("/users/keyed", "keyed", &keyed_key_id, &keyed_key);
    remote.put_typed(
        "/keys/keyed",
        AS2,
        &json!({
            "@context": "https://w3id.org/security/v1",
            "id": keyed_key_id,
            "type": "CryptographicKey",
            "owner": keyed,
            "publicKeyPem": keyed_key.public_key_pem(),
        }),
    );

    for (actor, key_id, key, name) in [
        (&gts, &gts_key_id, &gts_key, "gts"),
        (&keyed, &keyed_key_id, &keyed_key, "keyed"),
    ] {
        let mut notes = Vec::new();
        for (n, to) in [&inbox, &personal_inbox, &inbox, &personal_inbox]
            .into_iter()
            .enumerate()
        {
            let create = create_note(actor, &format!("{name} delivery {n}"));
            assert_eq!(
                deliver(&a.http, to, &create, key_id, key).await,
                StatusCode::ACCEPTED,
                "{name}: delivery {n} signed with {key_id}"
            );
            notes.push(create);
        }
        let acct = format!("{name}@{}", remote.domain());
        let account = known_account(&a, &alice, &acct)
            .await
            .unwrap_or_else(|| panic!("{acct} is stored"));
        assert_eq!(account["uri"], json!(actor));
        for create in &notes {
            eventually(&format!("{name}'s note is stored"), async || {
                stored(&a, &alice, create).await.then_some(())
            })
            .await;
        }
    }
    // The key was fetched once, however many deliveries followed.
    assert_eq!(remote.hits("/users/gts/main-key"), 1);
    assert_eq!(remote.hits("/keys/keyed"), 1);
    // A wrong key under a known fragment-less key id is still refused.
    let impostor = KeyPair::generate().unwrap();
    assert_eq!(
        deliver(
            &a.http,
            &inbox,
            &create_note(&gts, "impostor"),
            &gts_key_id,
            &impostor
        )
        .await,
        StatusCode::UNAUTHORIZED
    );
    // A key document whose owner does not list it is refused.
    let orphan = remote.url("/keys/orphan");
    remote.put_typed(
        "/keys/orphan",
        AS2,
        &json!({ "id": orphan, "type": "Key", "owner": gts, "publicKeyPem": impostor.public_key_pem() }),
    );
    assert_eq!(
        deliver(
            &a.http,
            &inbox,
            &create_note(&gts, "orphan key"),
            &orphan,
            &impostor
        )
        .await,
        StatusCode::UNAUTHORIZED
    );
}

// --- 4. an actor with only the required fields ---------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_actor_with_only_the_required_fields_is_accepted() {
    let (a, remote) = tokio::join!(Node::start(), Remote::start());
    let alice = a.register("alice").await;
    let key = KeyPair::generate().unwrap();
    let id = remote.url("/actors/7f3a9c");
    let key_id = format!("{id}#key");
    // No preferredUsername, name, icon, endpoints, followers; no WebFinger on this server.
    remote.put_typed(
        "/actors/7f3a9c",
        AS2,
        &json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": id,
            "type": "Person",
            "inbox": format!("{id}/inbox"),
            "publicKey": { "id": key_id, "owner": id, "publicKeyPem": key.public_key_pem() },
        }),
    );
    let create = create_note(&id, "minimal");
    assert_eq!(
        deliver(&a.http, &a.url("/inbox"), &create, &key_id, &key).await,
        StatusCode::ACCEPTED
    );
    let acct = format!("7f3a9c@{}", remote.domain());
    let account = known_account(&a, &alice, &acct)
        .await
        .expect("a handle derived from the id");
    assert_eq!(account["uri"], json!(id));
    assert_eq!(account["username"], "7f3a9c");
    eventually("the minimal actor's note is stored", async || {
        stored(&a, &alice, &create).await.then_some(())
    })
    .await;

    // Another actor of that server whose id ends the same way gets a handle of its own.
    let key2 = KeyPair::generate().unwrap();
    let id2 = remote.url("/other/7f3a9c");
    remote.put_typed(
        "/other/7f3a9c",
        AS2,
        &json!({
            "id": id2, "type": "Service", "inbox": format!("{id2}/inbox"),
            "publicKey": { "id": format!("{id2}#key"), "owner": id2, "publicKeyPem": key2.public_key_pem() },
        }),
    );
    assert_eq!(
        deliver(
            &a.http,
            &a.url("/inbox"),
            &create_note(&id2, "same name"),
            &format!("{id2}#key"),
            &key2
        )
        .await,
        StatusCode::ACCEPTED
    );
    let found = look_up(&a, &alice, &id2).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_ne!(found[0]["acct"], json!(acct));
    assert!(
        found[0]["username"]
            .as_str()
            .unwrap()
            .starts_with("7f3a9c_"),
        "{}",
        found[0]
    );
}

// --- 5. failed fetches are not repeated --------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_key_fetch_is_not_repeated_for_a_while() {
    let (a, remote) = tokio::join!(Node::start(), Remote::start());
    let key = KeyPair::generate().unwrap();
    let ghost = remote.url("/users/ghost");
    for n in 0..5 {
        assert_eq!(
            deliver(
                &a.http,
                &a.url("/inbox"),
                &create_note(&ghost, &format!("ghost {n}")),
                &format!("{ghost}#main-key"),
                &key
            )
            .await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        remote.hits("/users/ghost"),
        1,
        "one fetch for five requests"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_arriving_together_from_a_new_actor_fetch_its_key_once() {
    let (a, remote) = tokio::join!(Node::start(), Remote::start());
    let alice = a.register("alice").await;
    let key = KeyPair::generate().unwrap();
    let burst = remote.url("/users/burst");
    let key_id = format!("{burst}#main-key");
    remote.keyed_actor("/users/burst", "burst", &key_id, &key);
    let inbox = a.url("/inbox");
    let creates: Vec<Value> = (0..8)
        .map(|n| create_note(&burst, &format!("burst {n}")))
        .collect();
    let answers = futures_util::future::join_all(
        creates
            .iter()
            .map(|create| deliver(&a.http, &inbox, create, &key_id, &key)),
    )
    .await;
    assert!(
        answers.iter().all(|s| *s == StatusCode::ACCEPTED),
        "{answers:?}"
    );
    assert_eq!(
        remote.hits("/users/burst"),
        1,
        "one fetch for eight deliveries at once"
    );
    for create in &creates {
        eventually("the burst's notes are stored", async || {
            stored(&a, &alice, create).await.then_some(())
        })
        .await;
    }
}

// --- 3. the instance actor's name ----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_instance_actor_has_a_valid_username_that_webfinger_agrees_with() {
    let a = Node::start().await;
    assert!(a.domain.contains(':'), "the test domain carries a port");
    let (st, actor) = a
        .request(reqwest::Method::GET, "/actor", None, &[], None)
        .await;
    assert_eq!(st, StatusCode::OK);
    let name = actor["preferredUsername"].as_str().expect("a name");
    assert!(
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')),
        "{name:?} is a valid username"
    );
    let subject = format!("acct:{name}@{}", a.domain);
    for resource in [subject.clone(), a.url("/actor")] {
        let (st, jrd) = a
            .request(
                reqwest::Method::GET,
                "/.well-known/webfinger",
                None,
                &[("resource", resource.as_str())],
                None,
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{resource}: {jrd}");
        assert_eq!(jrd["subject"], subject, "{resource}");
        let links = jrd["links"].as_array().unwrap();
        assert!(
            links
                .iter()
                .any(|l| l["rel"] == "self" && l["href"] == a.url("/actor")),
            "{jrd}"
        );
    }
}

// --- 6/7. the production guarded client, end to end -------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn federation_through_the_guarded_client() {
    let mut a = Node::named("a.test");
    let mut b = Node::named("b.test");
    let mut c = Node::new(); // 127.0.0.1:PORT, a private address A must not reach
    tokio::join!(
        a.start_guarded(&["a.test", "b.test"]),
        b.start_guarded(&["a.test", "b.test"]),
        c.start_in_process()
    );
    assert!(
        !a.kring().federation.client.allows_private(),
        "the guard is on"
    );
    let alice = a.register("alice").await;
    let bob = b.register("bob").await;
    let carol = c.register("carol").await;

    // A round trip: look-up over WebFinger, follow, Accept, a post delivered back.
    let bob_id = a.remote_id(&alice, &bob.handle).await;
    a.ok_post(
        &format!("/api/v1/accounts/{bob_id}/follow"),
        &alice.token,
        json!({}),
    )
    .await;
    eventually("alice follows bob", async || {
        a.relationship(&alice, &bob_id).await["following"]
            .as_bool()
            .filter(|f| *f)
    })
    .await;
    let post = b.say(&bob, "through the guard", "public").await;
    let on_a = a.wait_home(&alice, &fed_common::uri(&post)).await;
    assert_eq!(on_a["account"]["acct"], bob.handle);

    // A server at a private address is refused: by literal address, and by a name that
    // resolves to one (when this machine has such a name besides `localhost`).
    assert!(
        look_up(&a, &alice, &carol.handle).await.is_empty(),
        "{} looked up through the guard",
        carol.handle
    );
    assert!(look_up(&a, &alice, &carol.uri).await.is_empty());
    if let Some(name) = loopback_name().await {
        let via_name = format!("carol@{name}:{}", c.port);
        assert!(
            look_up(&a, &alice, &via_name).await.is_empty(),
            "{via_name} resolves to a private address"
        );
        let url = format!("http://{name}:{}/users/carol", c.port);
        assert!(look_up(&a, &alice, &url).await.is_empty(), "{url}");
    } else {
        eprintln!("no name other than localhost resolves to loopback here; skipped that part");
    }
    // C's deliveries to A are refused too: A cannot fetch C's key.
    let carol_key = {
        let id: kring_service::Id = carol.id.parse().unwrap();
        let pem = c
            .kring()
            .store
            .private_key_pem(id)
            .await
            .unwrap()
            .expect("carol has a key");
        KeyPair::from_pem(&pem).unwrap()
    };
    assert_eq!(
        deliver(
            &a.http,
            &a.url("/inbox"),
            &create_note(&carol.uri, "from a private address"),
            &format!("{}#main-key", carol.uri),
            &carol_key
        )
        .await,
        StatusCode::UNAUTHORIZED
    );
}

/// A host name, other than `localhost` (refused by name), that the system resolves to loopback
/// addresses only: the machine's own name, or one of the usual aliases.
async fn loopback_name() -> Option<String> {
    let mut names: Vec<String> = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| vec![h.trim().to_string()])
        .unwrap_or_default();
    names.extend(
        [
            "ip6-localhost",
            "ip6-loopback",
            "localhost.localdomain",
            "vm",
        ]
        .map(String::from),
    );
    for name in names {
        if name.is_empty() || name.eq_ignore_ascii_case("localhost") {
            continue;
        }
        let addrs: Vec<std::net::SocketAddr> =
            match tokio::net::lookup_host((name.as_str(), 0)).await {
                Ok(a) => a.collect(),
                Err(_) => continue,
            };
        if !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback()) {
            return Some(name);
        }
    }
    None
}
