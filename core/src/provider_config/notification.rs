//! The Dokploy custom notification of a ProviderConfig (`spec.deployNotifications`): what to
//! do, from what is wanted, the id recorded in status and what Dokploy showed.
//!
//! ```text
//!  wanted, none recorded ─► ours in the listing (by marker name) ─► Record its id
//!                        ─► none ─► Create (then the listing gives the id: Dokploy's create
//!                                   answers with none)
//!  wanted, recorded ─► read by id: ours, as wanted ─► nothing; ours, different ─► Update
//!                   ─► not ours (another name) ─► Conflict: never touched
//!                   ─► 404, and the listing lacks it too ─► Create again
//!  not wanted, recorded ─► ours ─► Remove; not ours or gone ─► Forget the id
//! ```
//!
//! A notification is Launchplane's when its name is the ProviderConfig's ownership marker;
//! only the recorded id (or, before one is recorded, the marker) finds it, never the endpoint.

use launchplane_api::resources::DeployNotificationStatus;
use launchplane_providers::{CustomNotificationSpec, NotificationView};

/// What was read from Dokploy for the plan. `None`: not read.
#[derive(Clone, Debug, Default)]
pub struct NotificationFacts {
    /// `notification.one` of the recorded id: `Ok(None)` for a 404.
    pub read: Option<Result<Option<NotificationView>, String>>,
    /// `notification.all`.
    pub listed: Option<Result<Vec<NotificationView>, String>>,
}

/// The one thing to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotificationStep {
    /// As wanted (or nothing wanted and nothing recorded).
    Nothing,
    /// Read the recorded id (and list) first.
    Read,
    /// List the organization's notifications first.
    List,
    Create,
    Record {
        notification_id: String,
    },
    Update {
        notification_id: String,
        custom_id: String,
    },
    Remove {
        notification_id: String,
    },
    /// Drop the recorded id without touching Dokploy.
    Forget,
}

/// The plan: the step and the status to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotificationPlan {
    pub step: NotificationStep,
    pub status: Option<DeployNotificationStatus>,
}

fn status(id: Option<&str>, state: &str, message: impl Into<String>) -> Option<DeployNotificationStatus> {
    Some(DeployNotificationStatus {
        notification_id: id.map(str::to_owned),
        state: state.into(),
        message: Some(message.into()),
    })
}

/// Plan the notification: `marker` (the config's ownership marker, the name of the
/// notification it makes), `wanted` (the spec, named `marker`), `recorded` (the id in status),
/// and `facts` read so far.
pub fn plan(
    marker: &str,
    wanted: Option<&CustomNotificationSpec>,
    recorded: Option<&str>,
    facts: &NotificationFacts,
) -> NotificationPlan {
    let at = |step, status| NotificationPlan { step, status };
    match (wanted, recorded) {
        (None, None) => at(NotificationStep::Nothing, None),
        (Some(_), None) => match &facts.listed {
            None => at(
                NotificationStep::List,
                status(None, "Pending", "looking for the notification"),
            ),
            Some(Err(e)) => at(
                NotificationStep::Nothing,
                status(
                    None,
                    "Failed",
                    format!("cannot list Dokploy's notifications: {e}"),
                ),
            ),
            Some(Ok(all)) => match all
                .iter()
                .find(|n| n.name == marker && n.notification_type == "custom")
            {
                Some(n) => at(
                    NotificationStep::Record {
                        notification_id: n.notification_id.clone(),
                    },
                    status(
                        Some(&n.notification_id),
                        "Pending",
                        "found the notification made earlier",
                    ),
                ),
                None => at(
                    NotificationStep::Create,
                    status(None, "Pending", "creating the notification"),
                ),
            },
        },
        (wanted, Some(id)) => match &facts.read {
            None => at(
                NotificationStep::Read,
                status(Some(id), "Pending", "reading the notification"),
            ),
            Some(Err(e)) => at(
                NotificationStep::Nothing,
                status(Some(id), "Failed", format!("cannot read notification {id}: {e}")),
            ),
            Some(Ok(Some(n))) => {
                let ours = n.name == marker;
                match wanted {
                    _ if !ours => at(
                        NotificationStep::Nothing,
                        status(
                            Some(id),
                            "Conflict",
                            format!(
                                "notification {id} is not Launchplane's (named {:?}); it is left alone: remove status.deployNotification's id or the notification by hand",
                                n.name
                            ),
                        ),
                    ),
                    None => at(
                        NotificationStep::Remove {
                            notification_id: id.to_owned(),
                        },
                        status(
                            Some(id),
                            "Pending",
                            "removing the notification: spec.deployNotifications is gone",
                        ),
                    ),
                    Some(spec) => match n.matches(spec) {
                        Some(true) => at(
                            NotificationStep::Nothing,
                            status(
                                Some(id),
                                "Ready",
                                format!("Dokploy notification {id} calls {}", spec.endpoint),
                            ),
                        ),
                        _ => at(
                            NotificationStep::Update {
                                notification_id: id.to_owned(),
                                custom_id: n.custom.as_ref().map(|c| c.custom_id.clone()).unwrap_or_default(),
                            },
                            status(
                                Some(id),
                                "Pending",
                                "updating the notification's endpoint or token",
                            ),
                        ),
                    },
                }
            }
            // A 404: gone only when the listing lacks it too.
            Some(Ok(None)) => match &facts.listed {
                None => at(
                    NotificationStep::List,
                    status(Some(id), "Pending", "confirming the notification is gone"),
                ),
                Some(Err(e)) => at(
                    NotificationStep::Nothing,
                    status(
                        Some(id),
                        "Failed",
                        format!("cannot list Dokploy's notifications: {e}"),
                    ),
                ),
                Some(Ok(all)) if all.iter().any(|n| n.notification_id == id) => at(
                    NotificationStep::Nothing,
                    status(
                        Some(id),
                        "Failed",
                        format!("notification {id} is listed but could not be read"),
                    ),
                ),
                Some(Ok(_)) => match wanted {
                    Some(_) => at(
                        NotificationStep::Forget,
                        status(
                            None,
                            "Pending",
                            format!("notification {id} was deleted in Dokploy; making it again"),
                        ),
                    ),
                    None => at(NotificationStep::Forget, None),
                },
            },
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use launchplane_providers::{CustomView, SecretString};

    fn spec() -> CustomNotificationSpec {
        CustomNotificationSpec {
            name: "launchplane.dev/owner=lp/shop/ProviderConfig/dokploy/u1".into(),
            endpoint: "https://hooks.example.com/dokploy/shop/dokploy".into(),
            token: SecretString::new("t"),
        }
    }

    fn view(id: &str, name: &str, endpoint: &str, token: &str) -> NotificationView {
        NotificationView {
            notification_id: id.into(),
            name: name.into(),
            notification_type: "custom".into(),
            app_deploy: true,
            app_build_error: true,
            custom: Some(CustomView {
                custom_id: format!("c-{id}"),
                endpoint: endpoint.into(),
                headers: [("x-launchplane-token".to_string(), SecretString::new(token))].into(),
            }),
        }
    }

    fn read(v: Option<NotificationView>) -> NotificationFacts {
        NotificationFacts {
            read: Some(Ok(v)),
            listed: None,
        }
    }

    #[test]
    fn each_state_gives_one_step() {
        let s = spec();
        let mine = view("n1", &s.name, &s.endpoint, "t");
        let listed = |all: Vec<NotificationView>| NotificationFacts {
            read: None,
            listed: Some(Ok(all)),
        };
        let step = |wanted: Option<&CustomNotificationSpec>,
                    recorded: Option<&str>,
                    f: &NotificationFacts| plan(&spec().name, wanted, recorded, f).step;
        use NotificationStep::*;
        assert_eq!(step(None, None, &NotificationFacts::default()), Nothing);
        assert_eq!(step(Some(&s), None, &NotificationFacts::default()), List);
        assert_eq!(step(Some(&s), None, &listed(vec![])), Create);
        // Another notification with the same endpoint but not our name is not ours.
        assert_eq!(
            step(
                Some(&s),
                None,
                &listed(vec![view("x", "ci alerts", &s.endpoint, "t")])
            ),
            Create
        );
        assert_eq!(
            step(Some(&s), None, &listed(vec![mine.clone()])),
            Record {
                notification_id: "n1".into()
            }
        );
        assert_eq!(step(Some(&s), Some("n1"), &NotificationFacts::default()), Read);
        assert_eq!(step(Some(&s), Some("n1"), &read(Some(mine.clone()))), Nothing);
        assert_eq!(
            plan(&s.name, Some(&s), Some("n1"), &read(Some(mine.clone())))
                .status
                .unwrap()
                .state,
            "Ready"
        );
        assert_eq!(
            step(
                Some(&s),
                Some("n1"),
                &read(Some(view("n1", &s.name, &s.endpoint, "old")))
            ),
            Update {
                notification_id: "n1".into(),
                custom_id: "c-n1".into()
            }
        );
        let theirs = view("n1", "slack alerts", "https://x", "t");
        let p = plan(&s.name, Some(&s), Some("n1"), &read(Some(theirs.clone())));
        assert_eq!(
            (p.step, p.status.unwrap().state),
            (Nothing, "Conflict".to_string())
        );
        assert_eq!(
            step(None, Some("n1"), &read(Some(theirs))),
            Nothing,
            "never removes another's"
        );
        assert_eq!(
            step(None, Some("n1"), &read(Some(mine.clone()))),
            Remove {
                notification_id: "n1".into()
            }
        );
        // A 404 is confirmed by the listing before anything is made again.
        assert_eq!(step(Some(&s), Some("n1"), &read(None)), List);
        let gone = NotificationFacts {
            read: Some(Ok(None)),
            listed: Some(Ok(vec![])),
        };
        assert_eq!(step(Some(&s), Some("n1"), &gone), Forget);
        let still = NotificationFacts {
            read: Some(Ok(None)),
            listed: Some(Ok(vec![mine])),
        };
        assert_eq!(step(Some(&s), Some("n1"), &still), Nothing);
        let failed = NotificationFacts {
            read: Some(Err("502".into())),
            listed: None,
        };
        assert_eq!(
            plan(&s.name, Some(&s), Some("n1"), &failed).status.unwrap().state,
            "Failed"
        );
    }

    #[test]
    fn no_status_message_carries_the_token() {
        let s = CustomNotificationSpec {
            token: SecretString::new("sup3r-s3cret"),
            ..spec()
        };
        for facts in [
            NotificationFacts::default(),
            read(Some(view("n1", &s.name, &s.endpoint, "sup3r-s3cret"))),
            read(Some(view("n1", &s.name, &s.endpoint, "other"))),
        ] {
            let p = plan(&s.name, Some(&s), Some("n1"), &facts);
            assert!(!format!("{:?}", p).contains("sup3r-s3cret"));
        }
    }
}
