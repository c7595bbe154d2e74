//! `kubectl launchplane approve PROMOTION [--comment]`: an Approval whose `spec.approver` is
//! the user the API server says you are (a `SelfSubjectReview`, as `kubectl auth whoami`
//! asks), so the chart's admission policy, which requires exactly that, accepts it. Named
//! `<promotion>-<user>`: approving twice creates nothing twice.

use super::output::{EXIT_OK, Format, not_found, refused, serialized, unreadable};
use crate::cli::answer::Answer;
use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use kube::api::{Api, PostParams};
use kube::{Client, Resource};
use launchplane_api::resources::{Approval, ApprovalSpec, Lane, LocalObjectRef, Promotion};
use launchplane_core::promotion::auto::bounded;

#[derive(Clone, Debug, clap::Args)]
pub struct ApproveArgs {
    /// The Promotion to approve.
    #[arg(value_name = "PROMOTION")]
    pub promotion: String,
    /// Why, for the record (spec.comment).
    #[arg(long)]
    pub comment: Option<String>,
}

/// A user name as a DNS-1123 label's part: lower case, every other character a `-`.
pub fn user_slug(user: &str) -> String {
    let mut out = String::new();
    for c in user.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-');
    if out.is_empty() { "user".into() } else { out.into() }
}

/// `<promotion>-<user>`, cut and hashed past 63 characters.
pub fn approval_name(promotion: &str, user: &str) -> String {
    bounded(format!("{promotion}-{}", user_slug(user)))
}

fn name_of<K: Resource>(k: &K) -> String {
    k.meta().name.clone().unwrap_or_default()
}

/// The Approval of `promotion` by `user`, and a note when its lane does not ask for one. A
/// finished Promotion has nothing left to approve.
pub fn plan_approval(
    promotion: &Promotion,
    lane: Option<&Lane>,
    user: &str,
    comment: Option<String>,
) -> Result<(Approval, Option<String>), Answer> {
    let name = name_of(promotion);
    let phase = launchplane_core::promotion::phase(promotion);
    if phase.is_final() {
        return Err(not_found(format!(
            "promotion {name} is {phase:?} already: there is nothing left to approve"
        )));
    }
    let note = match lane {
        Some(l) if l.spec.promotion.as_ref().is_some_and(|p| p.require_approval) => None,
        Some(l) => Some(format!(
            "note: lane {} does not require an approval (spec.promotion.requireApproval); the Approval is \
             recorded all the same\n",
            name_of(l)
        )),
        None => None,
    };
    let mut approval = Approval::new(
        &approval_name(&name, user),
        ApprovalSpec {
            promotion_ref: LocalObjectRef::new(&name),
            approver: user.to_string(),
            comment,
        },
    );
    approval.metadata.namespace = promotion.metadata.namespace.clone();
    Ok((approval, note))
}

/// Who the API server says the client is.
pub async fn whoami(client: &Client) -> Result<String, Answer> {
    let review = Api::<SelfSubjectReview>::all(client.clone())
        .create(&PostParams::default(), &SelfSubjectReview::default())
        .await
        .map_err(|e| {
            not_found(format!(
                "cannot ask the API server who you are (SelfSubjectReview, authentication.k8s.io/v1): {e}; \
                 `kubectl auth whoami` asks the same"
            ))
        })?;
    review
        .status
        .and_then(|s| s.user_info)
        .and_then(|u| u.username)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| {
            not_found("the API server did not say who you are (its SelfSubjectReview names no user)")
        })
}

pub async fn approve(client: &Client, namespace: &str, args: &ApproveArgs, format: Format) -> Answer {
    let promotion = match Api::<Promotion>::namespaced(client.clone(), namespace)
        .get_opt(&args.promotion)
        .await
    {
        Ok(Some(p)) => p,
        Ok(None) => {
            return not_found(format!(
                "promotion {} not found in namespace {namespace}: `kubectl get promotions -n {namespace}` \
                 lists them",
                args.promotion
            ));
        }
        Err(e) => return unreadable(&format!("promotion {namespace}/{}", args.promotion), "get", &e),
    };
    let lane = Api::<Lane>::namespaced(client.clone(), namespace)
        .get_opt(&promotion.spec.to_lane)
        .await
        .ok()
        .flatten();
    let user = match whoami(client).await {
        Ok(u) => u,
        Err(a) => return a,
    };
    let (approval, note) = match plan_approval(&promotion, lane.as_ref(), &user, args.comment.clone()) {
        Ok(planned) => planned,
        Err(a) => return a,
    };
    let name = name_of(&approval);
    let api: Api<Approval> = Api::namespaced(client.clone(), namespace);
    let (made, existed) = match api.create(&PostParams::default(), &approval).await {
        Ok(made) => (made, false),
        Err(kube::Error::Api(s)) if s.code == 409 => match api.get_opt(&name).await {
            Ok(Some(existing))
                if existing.spec.approver == user
                    && existing.spec.promotion_ref == approval.spec.promotion_ref =>
            {
                (existing, true)
            }
            Ok(_) => {
                return not_found(format!(
                    "an Approval named {name} already exists in namespace {namespace} and is not yours for \
                     {}; look at it (`kubectl get approval {name} -o yaml`)",
                    args.promotion
                ));
            }
            Err(e) => return unreadable(&format!("approval {namespace}/{name}"), "get", &e),
        },
        Err(kube::Error::Api(s)) => return refused(&format!("Approval {namespace}/{name} by {user}"), &s),
        Err(e) => return not_found(format!("cannot create Approval {namespace}/{name}: {e}")),
    };
    let stdout = match format {
        Format::Table if existed => format!("approval.launchplane.dev/{name} unchanged\n"),
        Format::Table => format!("approval.launchplane.dev/{name} created\n"),
        Format::Json | Format::Yaml => serialized(format, &made),
    };
    let mut stderr = note.unwrap_or_default();
    if existed {
        stderr.push_str(&format!(
            "note: {user} approved promotion {} before\n",
            args.promotion
        ));
    }
    Answer {
        stdout,
        stderr,
        code: EXIT_OK,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use launchplane_api::resources::{
        LanePromotion, LaneSpec, PromotionPhase, PromotionSpec, PromotionStatus,
    };

    fn promotion(phase: Option<PromotionPhase>) -> Promotion {
        let mut p = Promotion::new(
            "shop-prod-from-testing-3f2a9c1",
            PromotionSpec {
                to_lane: "shop-prod".into(),
                ..PromotionSpec::default()
            },
        );
        p.metadata.namespace = Some("shop".into());
        p.status = phase.map(|phase| PromotionStatus {
            phase: Some(phase),
            ..PromotionStatus::default()
        });
        p
    }

    #[test]
    fn user_names_become_label_parts() {
        assert_eq!(user_slug("alice@example.com"), "alice-example-com");
        assert_eq!(
            user_slug("system:serviceaccount:ci:release-bot"),
            "system-serviceaccount-ci-release-bot"
        );
        assert_eq!(user_slug("https://issuer#Sub"), "https-issuer-sub");
        assert_eq!(user_slug("@@"), "user");
        let name = approval_name(
            "shop-prod-from-testing-3f2a9c1",
            "system:serviceaccount:ci:release-bot",
        );
        assert!(name.len() <= 63, "{name}");
    }

    #[test]
    fn the_approver_is_the_user_and_the_name_follows_from_both() {
        let (a, note) =
            plan_approval(&promotion(None), None, "alice@example.com", Some("QA ok".into())).unwrap();
        assert_eq!(
            a.metadata.name.as_deref(),
            Some("shop-prod-from-testing-3f2a9c1-alice-example-com")
        );
        assert_eq!(a.metadata.namespace.as_deref(), Some("shop"));
        assert_eq!(
            a.spec,
            ApprovalSpec {
                promotion_ref: LocalObjectRef::new("shop-prod-from-testing-3f2a9c1"),
                approver: "alice@example.com".into(),
                comment: Some("QA ok".into()),
            }
        );
        assert_eq!(note, None);
    }

    #[test]
    fn a_finished_promotion_is_not_approved_and_an_unasked_approval_is_noted() {
        let a = plan_approval(&promotion(Some(PromotionPhase::Succeeded)), None, "alice", None).unwrap_err();
        assert_eq!(a.code, 1);
        assert!(a.stderr.contains("is Succeeded already"), "{}", a.stderr);
        let lane = Lane::new(
            "shop-prod",
            LaneSpec {
                promotion: Some(LanePromotion::default()),
                ..LaneSpec::default()
            },
        );
        let (_, note) = plan_approval(
            &promotion(Some(PromotionPhase::Blocked)),
            Some(&lane),
            "alice",
            None,
        )
        .unwrap();
        assert!(note.unwrap().contains("does not require an approval"));
    }
}
