//! The chart's ValidatingAdmissionPolicy on a real API server: an Approval's `spec.approver` is
//! the user who created it, proven by the API server itself and no webhook.
//!
//! The chart is rendered with helm in namespace mode for a throw-away namespace (so the binding
//! covers that namespace only and cannot disturb other tests), and its policy and binding are
//! created as the admin. The users are the admin impersonating them (`Impersonate-User`, as
//! `kubectl --as` does): the API server authenticates the request as that user, and
//! `request.userInfo.username` is their name. A Role lets them create Approvals.
//!
//! Needs `KUBECONFIG` and helm (`HELM`, as scripts/e2e.sh sets it): without them the test says
//! `SKIPPED: ...` and passes, unless scripts/e2e.sh set up the cluster (then it fails).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod e2e_support;

use e2e_support::{clean_up, connect, create_namespaces, render_approval_policy};
use futures::FutureExt;
use jiff::Timestamp;
use k8s_openapi::api::admissionregistration::v1::{
    ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding,
};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::core::Status;
use kube::{Api, Client, Config};
use launchplane_api::resources::{Approval, ApprovalSpec, LocalObjectRef};
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";
/// How long the API server may take to start enforcing a new policy (it loads policies and
/// bindings from informers, asynchronously); seconds in practice.
const ENFORCED_WITHIN: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_approver_can_create_an_approval_on_a_real_cluster() {
    let test = "e2e_approval_policy: only the approver can create an Approval";
    let Some(admin) = connect(test).await else {
        return;
    };
    let Some(helm) = std::env::var_os("HELM").map(PathBuf::from) else {
        assert!(
            std::env::var_os("LAUNCHPLANE_E2E_REQUIRED").is_none(),
            "{test}: HELM is not set although scripts/e2e.sh set up the cluster"
        );
        eprintln!("SKIPPED: {test} (HELM is not set; scripts/e2e.sh installs helm and sets it)");
        return;
    };
    let stamp = Timestamp::now().as_millisecond();
    let ns = format!("launchplane-e2e-approval-{stamp}");
    let unwatched = format!("launchplane-e2e-approval-other-{stamp}");
    let namespaces = create_namespaces(&admin, &[&ns, &unwatched]).await;
    // The release lives in the test namespace, so the cluster-scoped names are this run's own.
    let (policy, binding) = render_approval_policy(&helm, &ns).await;
    let name = policy.metadata.name.clone().expect("the policy has a name");
    let outcome = std::panic::AssertUnwindSafe(scenario(&admin, &ns, &unwatched, policy, binding))
        .catch_unwind()
        .await;
    // Cluster-scoped: deleting the namespaces does not remove them.
    let _ = Api::<ValidatingAdmissionPolicyBinding>::all(admin.clone())
        .delete(&name, &DeleteParams::default())
        .await;
    let _ = Api::<ValidatingAdmissionPolicy>::all(admin.clone())
        .delete(&name, &DeleteParams::default())
        .await;
    clean_up(&namespaces, &[&ns, &unwatched], outcome).await;
}

async fn scenario(
    admin: &Client,
    ns: &str,
    unwatched: &str,
    policy: ValidatingAdmissionPolicy,
    binding: ValidatingAdmissionPolicyBinding,
) {
    let policy_name = policy.metadata.name.clone().unwrap();
    let robot = format!("system:serviceaccount:{ns}:release-bot");
    grant_approvals(admin, ns, &[ALICE, BOB], &["release-bot"]).await;
    grant_approvals(admin, unwatched, &[ALICE], &[]).await;
    Api::<ValidatingAdmissionPolicy>::all(admin.clone())
        .create(&PostParams::default(), &policy)
        .await
        .expect("the API server accepts the chart's ValidatingAdmissionPolicy");
    Api::<ValidatingAdmissionPolicyBinding>::all(admin.clone())
        .create(&PostParams::default(), &binding)
        .await
        .expect("the API server accepts the chart's ValidatingAdmissionPolicyBinding");

    let alice = as_user(ALICE).await;
    let bob = as_user(BOB).await;
    let bot = as_user(&robot).await;
    wait_until_enforced(&alice, ns, &policy_name).await;

    // 1. Alice approves as herself.
    let created = create(&alice, ns, "by-alice", ALICE, false)
        .await
        .expect("alice may create an Approval naming alice");
    assert_eq!(created.spec.approver, ALICE);

    // 2. Alice cannot approve in Bob's name; the message names the field and whose name goes there.
    let refused = create(&alice, ns, "alice-as-bob", BOB, false)
        .await
        .expect_err("alice must not create an Approval naming bob");
    assert_eq!(
        (refused.code, refused.reason.as_str()),
        (403, "Forbidden"),
        "{refused:?}"
    );
    assert_refused_by_policy(&refused, &policy_name, ALICE, BOB);
    let missing = Api::<Approval>::namespaced(admin.clone(), ns)
        .get_opt("alice-as-bob")
        .await
        .unwrap();
    assert!(
        missing.is_none(),
        "a refused Approval must not exist: {missing:?}"
    );

    // 3. Bob approves as himself.
    let created = create(&bob, ns, "by-bob", BOB, false)
        .await
        .expect("bob may create an Approval naming bob");
    assert_eq!(created.spec.approver, BOB);

    // 4. Bob cannot turn Alice's Approval into his own (the spec is immutable and the policy
    //    judges a changed approver), but may label it: metadata is not the approval.
    let approvals = Api::<Approval>::namespaced(bob.clone(), ns);
    let rewrite = approvals
        .patch(
            "by-alice",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"approver": BOB}})),
        )
        .await;
    assert!(rewrite.is_err(), "bob rewrote alice's approver: {rewrite:?}");
    let labelled = approvals
        .patch(
            "by-alice",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"reviewed-by": "bob"}}})),
        )
        .await
        .expect("others may change an Approval's metadata");
    assert_eq!(labelled.spec.approver, ALICE);

    // 5. A ServiceAccount's user name is `system:serviceaccount:<ns>:<name>`, not its name.
    let refused = create(&bot, ns, "bot-short-name", "release-bot", false)
        .await
        .expect_err("a ServiceAccount must approve under its full user name");
    assert_refused_by_policy(&refused, &policy_name, &robot, "release-bot");
    create(&bot, ns, "by-bot", &robot, false)
        .await
        .expect("a ServiceAccount may approve under its full user name");

    // 6. Namespace mode binds the policy to the watched namespace only.
    create(&alice, unwatched, "alice-as-bob", BOB, false)
        .await
        .expect("outside the watched namespace the install's policy does not apply");
}

/// A client for the admin's cluster that acts as `user` (the admin is in system:masters, so it
/// may impersonate anyone).
async fn as_user(user: &str) -> Client {
    let mut config = Config::infer().await.unwrap();
    config.auth_info.impersonate = Some(user.to_string());
    Client::try_from(config).unwrap()
}

/// A Role in `ns` to create, read and patch Approvals, bound to `users` and to the
/// ServiceAccounts `accounts` of `ns`.
async fn grant_approvals(admin: &Client, ns: &str, users: &[&str], accounts: &[&str]) {
    let mut role = Role::default();
    role.metadata.name = Some("approval-writer".into());
    role.rules = Some(vec![PolicyRule {
        api_groups: Some(vec!["launchplane.dev".into()]),
        resources: Some(vec!["approvals".into()]),
        verbs: vec!["create".into(), "get".into(), "patch".into()],
        ..PolicyRule::default()
    }]);
    Api::<Role>::namespaced(admin.clone(), ns)
        .create(&PostParams::default(), &role)
        .await
        .unwrap();
    let subjects = users
        .iter()
        .map(|user| Subject {
            kind: "User".into(),
            api_group: Some("rbac.authorization.k8s.io".into()),
            name: (*user).into(),
            namespace: None,
        })
        .chain(accounts.iter().map(|account| Subject {
            kind: "ServiceAccount".into(),
            api_group: None,
            name: (*account).into(),
            namespace: Some(ns.into()),
        }))
        .collect();
    let binding = RoleBinding {
        metadata: kube::api::ObjectMeta {
            name: Some("approval-writer".into()),
            ..Default::default()
        },
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "Role".into(),
            name: "approval-writer".into(),
        },
        subjects: Some(subjects),
    };
    Api::<RoleBinding>::namespaced(admin.clone(), ns)
        .create(&PostParams::default(), &binding)
        .await
        .unwrap();
}

/// Create (or, with `dry_run`, only try) an Approval `name` of a Promotion, naming `approver`.
async fn create(
    client: &Client,
    ns: &str,
    name: &str,
    approver: &str,
    dry_run: bool,
) -> Result<Approval, Box<Status>> {
    let approval = Approval::new(
        name,
        ApprovalSpec {
            promotion_ref: LocalObjectRef::new("shop-prod-from-testing"),
            approver: approver.into(),
            comment: Some("QA signed off".into()),
        },
    );
    let params = PostParams {
        dry_run,
        ..PostParams::default()
    };
    match Api::<Approval>::namespaced(client.clone(), ns)
        .create(&params, &approval)
        .await
    {
        Ok(created) => Ok(created),
        Err(kube::Error::Api(status)) => Err(status),
        Err(other) => panic!("creating Approval {name} as {approver}: {other}"),
    }
}

/// The policy takes effect a moment after it is created. Until then (and until the Role
/// binding is in the authorizer's cache) a dry-run create of Alice approving as Bob is
/// accepted or refused by RBAC; once refused by the policy, the policy is enforced. Dry run, so
/// an early acceptance leaves nothing behind.
async fn wait_until_enforced(alice: &Client, ns: &str, policy_name: &str) {
    let started = Instant::now();
    loop {
        let answer = create(alice, ns, "probe", BOB, true).await;
        match &answer {
            Err(status) if status.message.contains(policy_name) => {
                eprintln!(
                    "{policy_name} enforced {} ms after it was created",
                    started.elapsed().as_millis()
                );
                return;
            }
            _ if started.elapsed() > ENFORCED_WITHIN => {
                panic!("the policy was not enforced within {ENFORCED_WITHIN:?}; the last answer: {answer:?}")
            }
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// `status` is the chart policy's refusal of `user` naming `named`, and says what to do.
fn assert_refused_by_policy(status: &Status, policy_name: &str, user: &str, named: &str) {
    let expected = format!(
        "spec.approver is \"{named}\", but this request comes from the Kubernetes user \"{user}\": \
         an Approval is given by the user who creates it, so set spec.approver to \"{user}\", \
         or ask \"{named}\" to create the Approval"
    );
    assert!(
        status.message.contains(policy_name) && status.message.contains(&expected),
        "not refused by {policy_name} with the expected message:\n  got:      {}\n  expected: {expected}",
        status.message
    );
}
