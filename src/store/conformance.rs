//! The store conformance suite: one set of behavioural checks that every engine must pass.
//! Engines call [`run`] from their tests (`tests/store_conformance.rs`); a failure panics
//! with the name of the broken rule.

use super::{StoreError, Stores};
use crate::challenge::Secret;
use crate::cycle::{Cycle, CycleState};
use crate::model::{
    AccessKey, AdminToken, ImageOutcome, Role, Scene, SceneImage, SceneSpec, Tenant,
    VerificationType,
};

fn tenant(id: &str, prefix: &str) -> Tenant {
    Tenant {
        id: id.into(),
        name: format!("T {id}"),
        prefix: prefix.into(),
        qps_quota: 10,
        critical_share: 20,
        created_at: 1,
    }
}

fn cycle(id: &str, expires_at_ms: i64) -> Cycle {
    Cycle {
        certify_id: id.into(),
        tenant_id: "t1".into(),
        scene_id: "s1".into(),
        scene_kind: VerificationType::Slider,
        kind: VerificationType::Slider,
        secondary_kind: None,
        created_at_ms: 0,
        shown_at_ms: 0,
        expires_at_ms,
        nonce: "n".into(),
        attempts: 0,
        max_attempts: 5,
        state: CycleState::Pending,
        closed_with: None,
        secret: Secret::Slider,
        test_preset: None,
        page_url: String::new(),
        client_ip: "127.0.0.1".into(),
        device_token: "d".into(),
        defence: Default::default(),
        pow_bits: 0,
        program: None,
    }
}

/// Run every check against fresh, empty stores.
pub async fn run(stores: &Stores) {
    tenants(stores).await;
    access_keys(stores).await;
    scenes(stores).await;
    scene_images(stores).await;
    admin_tokens_and_meta(stores).await;
    cycles(stores).await;
    first_use(stores).await;
    buckets(stores).await;
    counters(stores).await;
    traces(stores).await;
}

async fn traces(s: &Stores) {
    use crate::model::{Trace, VerificationType};
    let c = &s.config;
    let trace = |scene: &str, n: i64| Trace {
        scene_id: scene.into(),
        recorded_at: n,
        kind: VerificationType::Slider,
        pointer: "mouse".into(),
        outcome: "T001".into(),
        reasons: vec![],
        points: vec![[0.0, 20.0, 500.0], [n as f64, 21.0, 640.0]],
    };
    for n in 0..5 {
        c.put_trace(&trace("tr-a", n)).await.unwrap();
    }
    c.put_trace(&trace("tr-b", 9)).await.unwrap();
    let a = c.traces("tr-a", 100).await.unwrap();
    assert_eq!(a.len(), 5);
    assert_eq!(a[0], trace("tr-a", 0), "oldest first, round-tripped");
    assert_eq!(c.traces("tr-a", 2).await.unwrap().len(), 2, "limit");
    assert_eq!(c.delete_traces("tr-a").await.unwrap(), 5);
    assert!(c.traces("tr-a", 100).await.unwrap().is_empty());
    assert_eq!(
        c.traces("tr-b", 100).await.unwrap().len(),
        1,
        "scenes are separate"
    );
}

async fn counters(s: &Stores) {
    let h = &s.hot;
    assert_eq!(
        h.count("c", 1_000, 0, 10).await.unwrap(),
        0,
        "unknown reads zero"
    );
    assert_eq!(h.count("c", 1_000, 1, 10).await.unwrap(), 1);
    assert_eq!(
        h.count("c", 1_000, 2, 999).await.unwrap(),
        3,
        "same window adds up"
    );
    assert_eq!(
        h.count("c", 1_000, 0, 999).await.unwrap(),
        3,
        "zero only reads"
    );
    assert_eq!(
        h.count("other", 1_000, 1, 999).await.unwrap(),
        1,
        "keys are separate"
    );
    assert_eq!(
        h.count("c", 1_000, 1, 1_000).await.unwrap(),
        1,
        "a new window starts at zero"
    );
    assert_eq!(
        h.count("c", 1_000, 0, 5_500).await.unwrap(),
        0,
        "an old window reads zero"
    );
    // Concurrent additions are none of them lost.
    let mut set = Vec::new();
    for _ in 0..16 {
        let h = h.clone();
        set.push(tokio::spawn(async move {
            h.count("race", 60_000, 1, 0).await.unwrap()
        }));
    }
    let mut seen = Vec::new();
    for j in set {
        seen.push(j.await.unwrap());
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=16).collect::<Vec<u64>>(),
        "each addition sees its own total"
    );
    // Purging drops ended windows only.
    h.count("live", 1_000_000, 1, 0).await.unwrap();
    h.purge_expired(2_000).await.unwrap();
    assert_eq!(h.count("live", 1_000_000, 0, 2_000).await.unwrap(), 1);
}

async fn tenants(s: &Stores) {
    let c = &s.config;
    let t = tenant("t1", "pfxone");
    c.insert_tenant(&t).await.unwrap();
    assert!(
        matches!(c.insert_tenant(&t).await, Err(StoreError::Conflict(_))),
        "inserting a tenant twice is a conflict"
    );
    assert!(
        matches!(
            c.insert_tenant(&tenant("t9", "pfxone")).await,
            Err(StoreError::Conflict(_))
        ),
        "prefixes are unique"
    );
    assert_eq!(
        c.tenant("t1").await.unwrap(),
        Some(t.clone()),
        "a tenant reads back as written"
    );
    assert_eq!(
        c.tenant_by_prefix("pfxone").await.unwrap(),
        Some(t.clone()),
        "lookup by prefix"
    );
    let mut renamed = t.clone();
    renamed.name = "Renamed".into();
    assert!(
        c.update_tenant(&renamed).await.unwrap(),
        "update of an existing tenant"
    );
    assert!(
        !c.update_tenant(&tenant("nope", "zzz")).await.unwrap(),
        "update of a missing tenant"
    );
    c.insert_tenant(&tenant("t2", "pfxtwo")).await.unwrap();
    let all = c.tenants().await.unwrap();
    assert_eq!(
        all.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        ["t1", "t2"],
        "listing"
    );
    assert_eq!(all[0].name, "Renamed");
}

async fn access_keys(s: &Stores) {
    let c = &s.config;
    let k = AccessKey {
        id: "AK1".into(),
        tenant_id: "t1".into(),
        sealed_secret: vec![1, 2, 3],
        enabled: true,
        description: "d".into(),
        created_at: 5,
    };
    c.put_access_key(&k).await.unwrap();
    assert_eq!(c.access_key("AK1").await.unwrap(), Some(k.clone()));
    let disabled = AccessKey {
        enabled: false,
        ..k.clone()
    };
    c.put_access_key(&disabled).await.unwrap();
    assert!(
        !c.access_key("AK1").await.unwrap().unwrap().enabled,
        "put replaces"
    );
    assert_eq!(c.access_keys("t1").await.unwrap().len(), 1);
    assert!(
        c.access_keys("t2").await.unwrap().is_empty(),
        "keys are per tenant"
    );
    assert!(c.delete_access_key("AK1").await.unwrap());
    assert!(
        !c.delete_access_key("AK1").await.unwrap(),
        "deleting twice reports absence"
    );
    assert_eq!(c.access_key("AK1").await.unwrap(), None);
}

async fn scenes(s: &Stores) {
    let c = &s.config;
    let spec = |n: &str| SceneSpec {
        name: Some(n.into()),
        kind: Some(VerificationType::Slider),
        ..Default::default()
    };
    let a = Scene::create("t1", spec("a"), 1).unwrap();
    let b = Scene::create("t2", spec("b"), 2).unwrap();
    c.put_scene(&a).await.unwrap();
    c.put_scene(&b).await.unwrap();
    assert_eq!(c.scene(&a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(
        c.scenes(Some("t1")).await.unwrap(),
        vec![a.clone()],
        "scenes filter by tenant"
    );
    assert_eq!(c.scenes(None).await.unwrap().len(), 2);
    let mut a2 = a.clone();
    a2.name = "a2".into();
    c.put_scene(&a2).await.unwrap();
    assert_eq!(
        c.scene(&a.id).await.unwrap().unwrap().name,
        "a2",
        "put replaces a scene"
    );
    assert!(c.delete_scene(&a.id).await.unwrap());
    assert_eq!(c.scene(&a.id).await.unwrap(), None);
    // Deleting a tenant takes its scenes and keys with it.
    assert!(c.delete_tenant("t2").await.unwrap());
    assert_eq!(
        c.scene(&b.id).await.unwrap(),
        None,
        "tenant deletion cascades to scenes"
    );
    assert!(!c.delete_tenant("t2").await.unwrap());
}

async fn scene_images(s: &Stores) {
    let c = &s.config;
    let scene = Scene::create(
        "t1",
        SceneSpec {
            name: Some("pool".into()),
            kind: Some(VerificationType::Jigsaw),
            ..Default::default()
        },
        1,
    )
    .unwrap();
    c.put_scene(&scene).await.unwrap();
    let image = |id: &str, at: i64| SceneImage {
        id: id.into(),
        scene_id: scene.id.clone(),
        format: "png".into(),
        bytes: vec![7; 10],
        size: 10,
        created_at: at,
        shown: 0,
        passed: 0,
        failed: 0,
    };
    c.put_scene_image(&image("img-b", 2)).await.unwrap();
    c.put_scene_image(&image("img-a", 3)).await.unwrap();
    assert_eq!(
        c.scene_image_ids(&scene.id).await.unwrap(),
        vec!["img-b", "img-a"],
        "oldest first"
    );
    assert!(c.scene_image_ids("other").await.unwrap().is_empty());
    for outcome in [
        ImageOutcome::Shown,
        ImageOutcome::Shown,
        ImageOutcome::Passed,
        ImageOutcome::Failed,
    ] {
        c.count_image_outcome("img-b", outcome).await.unwrap();
    }
    c.count_image_outcome("gone", ImageOutcome::Shown)
        .await
        .unwrap();
    let all = c.scene_images(&scene.id).await.unwrap();
    assert_eq!(
        all[0],
        SceneImage {
            shown: 2,
            passed: 1,
            failed: 1,
            ..image("img-b", 2)
        }
    );
    assert_eq!(all[0].bytes, vec![7; 10], "bytes round-trip");
    assert!(c.delete_scene_image(&scene.id, "img-a").await.unwrap());
    assert!(!c.delete_scene_image(&scene.id, "img-a").await.unwrap());
    assert!(
        !c.delete_scene_image("other", "img-b").await.unwrap(),
        "images are per scene"
    );
    assert!(c.delete_scene(&scene.id).await.unwrap());
    assert!(
        c.scene_images(&scene.id).await.unwrap().is_empty(),
        "scene deletion takes its pool"
    );
}

async fn admin_tokens_and_meta(s: &Stores) {
    let c = &s.config;
    let t = AdminToken {
        hash: [7; 32],
        role: Role::Viewer,
        label: "l".into(),
        created_at: 3,
    };
    c.put_admin_token(&t).await.unwrap();
    assert_eq!(c.admin_token(&[7; 32]).await.unwrap(), Some(t));
    assert_eq!(c.admin_token(&[8; 32]).await.unwrap(), None);
    assert_eq!(c.meta("k").await.unwrap(), None);
    c.put_meta("k", b"v1").await.unwrap();
    c.put_meta("k", b"v2").await.unwrap();
    assert_eq!(c.meta("k").await.unwrap().as_deref(), Some(&b"v2"[..]));
}

async fn cycles(s: &Stores) {
    let h = &s.hot;
    let c = cycle("c1", 1_000);
    h.insert_cycle(&c).await.unwrap();
    assert!(
        matches!(h.insert_cycle(&c).await, Err(StoreError::Conflict(_))),
        "certify ids are unique"
    );
    let (read, v1) = h
        .cycle("c1", 500)
        .await
        .unwrap()
        .expect("live cycle is found");
    assert_eq!(read, c);
    assert!(
        h.cycle("c1", 1_000).await.unwrap().is_none(),
        "a cycle is gone at its expiry"
    );
    let mut next = c.clone();
    next.attempts = 1;
    assert!(
        h.replace_cycle(&next, v1).await.unwrap(),
        "replace at the current version"
    );
    assert!(
        !h.replace_cycle(&next, v1).await.unwrap(),
        "replace at a stale version fails"
    );
    let (read, v2) = h.cycle("c1", 500).await.unwrap().unwrap();
    assert_eq!(read.attempts, 1);
    assert_ne!(v1, v2);
    // Concurrent replaces: exactly one wins.
    let (a, b) = tokio::join!(h.replace_cycle(&next, v2), h.replace_cycle(&next, v2));
    assert!(
        a.unwrap() ^ b.unwrap(),
        "exactly one concurrent replace wins"
    );
    h.insert_cycle(&cycle("c2", 2_000)).await.unwrap();
    assert!(h.purge_expired(1_500).await.unwrap() >= 1);
    assert!(
        h.cycle("c2", 1_500).await.unwrap().is_some(),
        "purge keeps live cycles"
    );
}

async fn first_use(s: &Stores) {
    for volatile in [false, true] {
        single_use(s, volatile).await;
    }
}

/// `first_use` (or, with `volatile`, `first_use_volatile`): the same semantics.
async fn single_use(s: &Stores, volatile: bool) {
    let h = &s.hot;
    let once = |scope: &'static str, key: &'static str, exp: i64, now: i64| {
        let h = h.clone();
        async move {
            if volatile {
                h.first_use_volatile(scope, key, exp, now).await.unwrap()
            } else {
                h.first_use(scope, key, exp, now).await.unwrap()
            }
        }
    };
    let tag = if volatile { "volatile" } else { "durable" };
    assert!(
        once("tok", "x", 1_000, 0).await,
        "{tag}: first use succeeds"
    );
    assert!(
        !once("tok", "x", 1_000, 10).await,
        "{tag}: second use fails"
    );
    assert!(
        once("other", "x", 1_000, 10).await,
        "{tag}: scopes are separate"
    );
    assert!(
        once("tok", "x", 3_000, 1_000).await,
        "{tag}: an expired mark can be used again"
    );
    // Many concurrent first uses of one key: exactly one succeeds.
    let mut set = Vec::new();
    for _ in 0..16 {
        set.push(tokio::spawn(once("race", "k", 10_000, 0)));
    }
    let mut wins = 0;
    for j in set {
        wins += usize::from(j.await.unwrap());
    }
    assert_eq!(wins, 1, "{tag}: exactly one concurrent first use wins");
    h.purge_expired(20_000).await.unwrap();
    assert!(
        once("race", "k", 30_000, 20_000).await,
        "{tag}: purged marks are gone"
    );
    // Reset for the other kind: its marks are its own business.
    h.purge_expired(40_000).await.unwrap();
}

async fn buckets(s: &Stores) {
    let h = &s.hot;
    let ab = vec!["a".to_owned(), "b".to_owned()];
    let held = h.gather("drag", &ab, b"one", 3, 1_000, 0).await.unwrap();
    assert!(held.is_empty(), "new buckets hold nothing");
    let held = h.gather("drag", &ab, b"two", 3, 1_000, 10).await.unwrap();
    assert_eq!(
        held,
        vec![b"one".to_vec(), b"one".to_vec()],
        "once per bucket"
    );
    let held = h
        .gather("drag", &["b".to_owned()], b"three", 3, 1_000, 20)
        .await
        .unwrap();
    assert_eq!(held, vec![b"two".to_vec(), b"one".to_vec()], "newest first");
    assert!(
        h.gather("reach", &ab, b"x", 3, 1_000, 30)
            .await
            .unwrap()
            .is_empty(),
        "scopes are separate"
    );
    // A full bucket keeps its newest `cap`.
    h.gather("drag", &["b".to_owned()], b"four", 3, 1_000, 40)
        .await
        .unwrap();
    let held = h
        .gather("drag", &["b".to_owned()], b"five", 3, 1_000, 50)
        .await
        .unwrap();
    assert_eq!(
        held,
        vec![b"four".to_vec(), b"three".to_vec(), b"two".to_vec()]
    );
    // Expired values are not returned, and purging drops them.
    h.gather("drag", &["c".to_owned()], b"old", 3, 100, 60)
        .await
        .unwrap();
    assert!(
        h.gather("drag", &["c".to_owned()], b"new", 3, 5_000, 100)
            .await
            .unwrap()
            .is_empty(),
        "an expired value is gone"
    );
    assert!(h.purge_expired(2_000).await.unwrap() >= 5);
    assert_eq!(
        h.gather("drag", &["c".to_owned()], b"newer", 3, 5_000, 2_000)
            .await
            .unwrap(),
        vec![b"new".to_vec()],
        "purging keeps live values"
    );
}
