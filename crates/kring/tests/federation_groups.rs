// SPDX-License-Identifier: AGPL-3.0-or-later
//! A private group across three real Kring servers (issue 11): a person on another server is
//! invited, joins by following the group's account, and receives the group's members-only
//! posts; people on that server who are not members, and a server with no member at all,
//! receive nothing and cannot fetch the group or its posts.
//!
//! Cast: olga@A (owner of the private group `hideout@A`), bob@B (invited member), carol@B
//! (no member), erin@C (follows olga; C hosts no member).
mod common;
mod fed_common;

use fed_common::{Node, eventually, follow, id, local_copy, unreadable, uri};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_group_reaches_its_members_servers_and_no_other() {
    let (a, b, c) = tokio::join!(Node::start(), Node::start(), Node::start());
    let olga = a.register("olga").await;
    let bob = b.register("bob").await;
    let carol = b.register("carol").await;
    let erin = c.register("erin").await;
    follow(&c, &erin, &olga).await;
    follow(&b, &carol, &olga).await;
    let group = a
        .ok_post(
            "/api/v1/groups",
            &olga.token,
            json!({"display_name": "Hideout", "username": "hideout", "kind": "private"}),
        )
        .await;
    let gid = id(&group);
    let handle = a.handle("hideout");

    // C has no member: it cannot even read the group's actor.
    let found = c
        .ok_query(
            "/api/v2/search",
            &erin.token,
            &[
                ("q", handle.as_str()),
                ("resolve", "true"),
                ("type", "accounts"),
            ],
        )
        .await;
    assert_eq!(
        found["accounts"],
        json!([]),
        "C resolves the group: {found}"
    );

    // olga invites bob; B may then read the group, and bob joins by following it.
    let bob_on_a = a.remote_id(&olga, &bob.handle).await;
    a.ok_post(
        &format!("/api/v1/groups/{gid}/invite"),
        &olga.token,
        json!({"account_ids": [bob_on_a]}),
    )
    .await;
    let group_on_b = b.resolve(&bob, &handle).await;
    assert_eq!(group_on_b["group"], true, "{group_on_b}");
    let group_on_b = id(&group_on_b);
    b.ok_post(
        &format!("/api/v1/accounts/{group_on_b}/follow"),
        &bob.token,
        json!({}),
    )
    .await;
    eventually("bob is a member on A", async || {
        let r = a
            .ok_query(
                "/api/v1/groups/relationships",
                &olga.token,
                &[("id[]", gid.as_str())],
            )
            .await;
        let members = a
            .ok(&format!("/api/v1/groups/{gid}/memberships"), &olga.token)
            .await;
        (r[0]["member"] == true && members.to_string().contains(&bob_on_a)).then_some(())
    })
    .await;
    eventually("B knows bob follows the group", async || {
        (b.relationship(&bob, &group_on_b).await["following"] == true).then_some(())
    })
    .await;

    // A members-only post reaches bob on B, and nobody else there or on C.
    let post = a
        .post_status(
            &olga,
            json!({"status": "meet at the hideout", "group_id": gid}),
        )
        .await;
    assert_eq!(post["kring"]["visibility"], "group", "{post}");
    let on_b = b.wait_home(&bob, &uri(&post)).await;
    // Another Kring knows it for a group's post (a Mastodon server shows a private mention).
    assert_eq!(on_b["visibility"], "private", "{on_b}");
    assert_eq!(on_b["kring"]["visibility"], "group", "{on_b}");
    // bob posts to the group from B the way a Mastodon app does: a direct post mentioning
    // it. The group takes it (bob is a member) and announces it: olga on A has it in her
    // home and in the group's timeline.
    let from_b = b
        .post_status(
            &bob,
            json!({"status": format!("@{handle} I will bring the map"), "visibility": "direct"}),
        )
        .await;
    let carried = eventually("the group announces bob's post on A", async || {
        let tl = a
            .ok(&format!("/api/v1/timelines/group/{gid}"), &olga.token)
            .await;
        tl.as_array()?
            .iter()
            .find(|s| s["uri"] == from_b["uri"])
            .cloned()
    })
    .await;
    // On A it is the group's post now, not a private mention.
    assert_eq!(carried["kring"]["visibility"], "group", "{carried}");
    assert_eq!(carried["visibility"], "private", "{carried}");
    // In olga's home as the group's boost of it (olga does not follow bob).
    eventually(
        "the group's boost of bob's post in olga's home",
        async || {
            a.home(&olga)
                .await
                .iter()
                .any(|s| s["reblog"]["uri"] == from_b["uri"])
                .then_some(())
        },
    )
    .await;
    // A later public post reaches carol and erin: deliveries to B and C have been made.
    let later = a.say(&olga, "a public word", "public").await;
    b.wait_home(&carol, &uri(&later)).await;
    c.wait_home(&erin, &uri(&later)).await;
    for p in [&post, &from_b] {
        unreadable(&b, &carol, &uri(p)).await;
        unreadable(&c, &erin, &uri(p)).await;
    }

    // bob leaves by unfollowing the group on B (an `Undo` of the Follow): A takes him out,
    // and the group's next post does not go to B.
    b.ok_post(
        &format!("/api/v1/accounts/{group_on_b}/unfollow"),
        &bob.token,
        json!({}),
    )
    .await;
    eventually("bob has left on A", async || {
        let members = a
            .ok(&format!("/api/v1/groups/{gid}/memberships"), &olga.token)
            .await;
        (!members.to_string().contains(&bob_on_a)).then_some(())
    })
    .await;
    let after = a
        .post_status(&olga, json!({"status": "after bob left", "group_id": gid}))
        .await;
    let later = a.say(&olga, "another public word", "public").await;
    b.wait_home(&carol, &uri(&later)).await;
    unreadable(&b, &bob, &uri(&after)).await;
    unreadable(&b, &carol, &uri(&after)).await;
    // B, with no member left, was told to drop the members-only post it had (olga's
    // `Delete`): bob no longer reads it there either.
    eventually("B dropped the members-only post", async || {
        (b.in_home(&bob, &uri(&post)).await.is_none()
            && local_copy(&b, &bob, &uri(&post)).await.is_none())
        .then_some(())
    })
    .await;
    unreadable(&b, &bob, &uri(&post)).await;
}

/// A public group's conversation follows its posts to a member on another server (FEP-1b12):
/// the group passes on its member's edit and deletion, wrapped in its Announce, and the
/// other server believes them only as the post's own server confirms them; a moderator's
/// removal takes the group's boost out of the remote member's home (an `Undo` of the
/// Announce) while the post stays its author's.
///
/// Cast: olga@A (owner of the public group `square@A`), mona@A (member), bob@B (member, who
/// follows neither olga nor mona: everything he gets comes through the group).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_group_passes_on_edits_deletions_and_removals() {
    let (a, b) = tokio::join!(Node::start(), Node::start());
    let olga = a.register("olga").await;
    let mona = a.register("mona").await;
    let bob = b.register("bob").await;
    let group = a
        .ok_post(
            "/api/v1/groups",
            &olga.token,
            json!({"display_name": "Square", "username": "square", "kind": "public"}),
        )
        .await;
    let gid = id(&group);
    a.ok_post(
        &format!("/api/v1/groups/{gid}/join"),
        &mona.token,
        json!({}),
    )
    .await;
    let group_on_b = id(&b.resolve(&bob, &a.handle("square")).await);
    b.ok_post(
        &format!("/api/v1/accounts/{group_on_b}/follow"),
        &bob.token,
        json!({}),
    )
    .await;
    eventually("bob follows the group", async || {
        (b.relationship(&bob, &group_on_b).await["following"] == true).then_some(())
    })
    .await;

    let boosted = async |post_uri: &str| {
        b.home(&bob)
            .await
            .into_iter()
            .find(|s| s["reblog"]["uri"] == post_uri)
    };
    let edited = a
        .post_status(
            &mona,
            json!({"status": "market on monday", "group_id": gid}),
        )
        .await;
    let gone = a
        .post_status(
            &mona,
            json!({"status": "a slip of the pen", "group_id": gid}),
        )
        .await;
    let removed = a
        .post_status(
            &mona,
            json!({"status": "cheap watches here", "group_id": gid}),
        )
        .await;
    for p in [&edited, &gone, &removed] {
        eventually("the group's boost reaches bob", async || {
            boosted(&uri(p)).await
        })
        .await;
    }

    // mona edits: the group passes the Update on; B reads the post again from A.
    a.ok_send(
        reqwest::Method::PUT,
        &format!("/api/v1/statuses/{}", id(&edited)),
        &mona.token,
        json!({"status": "market on tuesday"}),
    )
    .await;
    eventually("bob sees the edit", async || {
        let s = boosted(&uri(&edited)).await?;
        s["reblog"]["content"]
            .as_str()?
            .contains("tuesday")
            .then_some(())
    })
    .await;

    // mona deletes a post: the group passes the Delete on; B checks with A and drops it.
    let (st, body) = a
        .request(
            reqwest::Method::DELETE,
            &format!("/api/v1/statuses/{}", id(&gone)),
            Some(&mona.token),
            &[],
            None,
        )
        .await;
    assert_eq!(st, reqwest::StatusCode::OK, "{body}");
    eventually("the deleted post is gone on B", async || {
        (boosted(&uri(&gone)).await.is_none() && local_copy(&b, &bob, &uri(&gone)).await.is_none())
            .then_some(())
    })
    .await;

    // olga removes a post from the group: the group's boost leaves bob's home; the post
    // itself is still mona's (A serves it, B keeps its copy).
    let (st, body) = a
        .request(
            reqwest::Method::DELETE,
            &format!("/api/v1/groups/{gid}/statuses/{}", id(&removed)),
            Some(&olga.token),
            &[],
            Some(json!({"reason": "no selling"})),
        )
        .await;
    assert_eq!(st, reqwest::StatusCode::OK, "{body}");
    eventually(
        "the group's boost of the removed post leaves bob's home",
        async || boosted(&uri(&removed)).await.is_none().then_some(()),
    )
    .await;
    assert!(
        local_copy(&b, &bob, &uri(&removed)).await.is_some(),
        "the removed post itself is still mona's"
    );
    let tl = a
        .ok(&format!("/api/v1/timelines/group/{gid}"), &olga.token)
        .await;
    assert!(
        !tl.to_string().contains(&uri(&removed)),
        "the removed post is still in the group's timeline: {tl}"
    );
    // On B too, the post leaves the group's timeline (the group's word is enough for what it
    // carries), while bob keeps mona's post itself.
    eventually(
        "the removed post leaves the group's timeline on B",
        async || {
            let tl = b
                .ok(&format!("/api/v1/timelines/group/{group_on_b}"), &bob.token)
                .await;
            (tl.as_array()?.iter().any(|s| s["uri"] == uri(&edited))
                && !tl.to_string().contains(&uri(&removed)))
            .then_some(())
        },
    )
    .await;
    // The edited post is untouched by all this.
    assert!(boosted(&uri(&edited)).await.is_some());
}

/// Kring people in a group on another server (issue 11 item 3): bob on B joins a public group
/// on A through B's groups API (B follows it for him), reads it in a group timeline on B, and
/// posts to it from B with `group_id` (B addresses the group; A takes the post and announces
/// it); leaving on B ends his membership on A.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kring_people_join_read_and_post_to_a_group_on_another_server() {
    let (a, b) = tokio::join!(Node::start(), Node::start());
    let olga = a.register("olga").await;
    let bob = b.register("bob").await;
    let group = a
        .ok_post(
            "/api/v1/groups",
            &olga.token,
            json!({"display_name": "Plaza", "username": "plaza", "kind": "public"}),
        )
        .await;
    let gid = id(&group);
    let found = b.resolve(&bob, &a.handle("plaza")).await;
    assert_eq!(found["group"], true, "{found}");
    let on_b = id(&found);
    let g = b.ok(&format!("/api/v1/groups/{on_b}"), &bob.token).await;
    assert_eq!(g["kring"]["kind"], "public", "{g}");
    b.ok_post(
        &format!("/api/v1/groups/{on_b}/join"),
        &bob.token,
        json!({}),
    )
    .await;
    eventually("bob is a member, on B and on A", async || {
        let here = b
            .ok_query(
                "/api/v1/groups/relationships",
                &bob.token,
                &[("id[]", on_b.as_str())],
            )
            .await;
        let there = a
            .ok(&format!("/api/v1/groups/{gid}/memberships"), &olga.token)
            .await;
        (here[0]["member"] == true && there.to_string().contains("bob")).then_some(())
    })
    .await;
    let mine = b.ok("/api/v1/groups", &bob.token).await;
    assert!(
        mine.to_string().contains(&on_b),
        "bob's groups on B: {mine}"
    );

    // olga's post to the group is in the group's timeline on B.
    let post = a
        .post_status(
            &olga,
            json!({"status": "welcome to the plaza", "group_id": gid}),
        )
        .await;
    eventually("olga's post in the group's timeline on B", async || {
        let tl = b
            .ok(&format!("/api/v1/timelines/group/{on_b}"), &bob.token)
            .await;
        tl.as_array()?
            .iter()
            .any(|s| s["uri"] == post["uri"])
            .then_some(())
    })
    .await;

    // bob posts to it from B: in the timeline on B at once, taken by the group on A.
    let his = b
        .post_status(&bob, json!({"status": "glad to be here", "group_id": on_b}))
        .await;
    assert_eq!(his["group"]["id"], on_b.as_str(), "{his}");
    let tl = b
        .ok(&format!("/api/v1/timelines/group/{on_b}"), &bob.token)
        .await;
    assert!(tl.to_string().contains(&uri(&his)), "{tl}");
    eventually("the group on A takes bob's post", async || {
        let tl = a
            .ok(&format!("/api/v1/timelines/group/{gid}"), &olga.token)
            .await;
        tl.as_array()?
            .iter()
            .any(|s| s["uri"] == his["uri"])
            .then_some(())
    })
    .await;

    // Leaving on B ends the membership on A.
    b.ok_post(
        &format!("/api/v1/groups/{on_b}/leave"),
        &bob.token,
        json!({}),
    )
    .await;
    eventually("bob has left on A", async || {
        let there = a
            .ok(&format!("/api/v1/groups/{gid}/memberships"), &olga.token)
            .await;
        (!there.to_string().contains("bob")).then_some(())
    })
    .await;
    let here = b
        .ok_query(
            "/api/v1/groups/relationships",
            &bob.token,
            &[("id[]", on_b.as_str())],
        )
        .await;
    assert_eq!(here[0]["member"], false, "{here}");
}

/// A closed group with a member on another server (issue 11 item 7): bob on B asks to join a
/// closed group on A; its owner is told and approves; bob posts to it from B and olga's reply
/// in the group reaches him on B; then olga bans him: B hears he no longer follows the group,
/// and a later post of his is refused by the group.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_group_approves_and_bans_a_member_on_another_server() {
    let (a, b) = tokio::join!(Node::start(), Node::start());
    let olga = a.register("olga").await;
    let bob = b.register("bob").await;
    let group = a
        .ok_post(
            "/api/v1/groups",
            &olga.token,
            json!({"display_name": "Porch", "username": "porch", "kind": "closed"}),
        )
        .await;
    let gid = id(&group);
    let found = b.resolve(&bob, &a.handle("porch")).await;
    let on_b = id(&found);
    let g = b.ok(&format!("/api/v1/groups/{on_b}"), &bob.token).await;
    assert_eq!(g["kring"]["kind"], "closed", "{g}");
    b.ok_post(
        &format!("/api/v1/groups/{on_b}/join"),
        &bob.token,
        json!({}),
    )
    .await;
    // The request waits on A, and olga is told of it.
    let bob_on_a = eventually("bob's request on A", async || {
        let reqs = a
            .ok(
                &format!("/api/v1/groups/{gid}/membership_requests"),
                &olga.token,
            )
            .await;
        reqs.as_array()?.first().map(id)
    })
    .await;
    let told = a
        .ok_query(
            "/api/v1/notifications",
            &olga.token,
            &[("types[]", "group.request")],
        )
        .await;
    assert_eq!(told[0]["account"]["id"], bob_on_a.as_str(), "{told}");
    let here = b
        .ok_query(
            "/api/v1/groups/relationships",
            &bob.token,
            &[("id[]", on_b.as_str())],
        )
        .await;
    assert_eq!(here[0]["member"], false, "not before approval: {here}");
    a.ok_post(
        &format!("/api/v1/groups/{gid}/membership_requests/{bob_on_a}/authorize"),
        &olga.token,
        json!({}),
    )
    .await;
    eventually("bob is a member on B", async || {
        let here = b
            .ok_query(
                "/api/v1/groups/relationships",
                &bob.token,
                &[("id[]", on_b.as_str())],
            )
            .await;
        (here[0]["member"] == true).then_some(())
    })
    .await;

    // bob posts from B; the group takes it; olga's reply in the group reaches bob on B.
    let his = b
        .post_status(&bob, json!({"status": "hello porch", "group_id": on_b}))
        .await;
    let his_on_a = eventually("the group on A takes bob's post", async || {
        let tl = a
            .ok(&format!("/api/v1/timelines/group/{gid}"), &olga.token)
            .await;
        tl.as_array()?
            .iter()
            .find(|s| s["uri"] == his["uri"])
            .map(id)
    })
    .await;
    let reply = a
        .post_status(
            &olga,
            json!({"status": "welcome, bob", "in_reply_to_id": his_on_a}),
        )
        .await;
    assert_eq!(
        reply["group"]["id"],
        gid.as_str(),
        "a reply in the group: {reply}"
    );
    eventually("olga's reply reaches bob on B", async || {
        local_copy(&b, &bob, &uri(&reply)).await
    })
    .await;

    // Banned: B hears bob no longer follows the group; his next post is not taken.
    a.ok_post(
        &format!("/api/v1/groups/{gid}/blocks"),
        &olga.token,
        json!({"account_ids": [bob_on_a]}),
    )
    .await;
    eventually("B knows bob is out", async || {
        (b.relationship(&bob, &on_b).await["following"] == false).then_some(())
    })
    .await;
    let late = b
        .post_status(
            &bob,
            json!({"status": format!("@{} still here?", a.handle("porch")), "visibility": "public"}),
        )
        .await;
    // It reached A (stored there, as a public post mentioning olga's group), and the group
    // decided on it in the same step.
    eventually("bob's later post on A", async || {
        local_copy(&a, &olga, &uri(&late)).await
    })
    .await;
    let tl = a
        .ok(&format!("/api/v1/timelines/group/{gid}"), &olga.token)
        .await;
    assert!(
        !tl.to_string().contains(&uri(&late)),
        "a banned member's post is carried: {tl}"
    );
}
