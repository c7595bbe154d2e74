//! The Dokploy custom notification of a ProviderConfig (`spec.deployNotifications`): what to
//! do, from what is wanted, the id recorded in status and what Dokploy showed.
//!
//! ```text
//!  wanted, none recorded, no intent ─► listing: none named with the marker ─► Intend (write
//!                                        createRequestedAt before anything is made)
//!                                   ─► one named with the marker ─► Conflict: never adopted
//!  wanted, none recorded, intent ─► listing: none ─► Create (Dokploy's create answers with no
//!                                                    id; the next listing gives it)
//!                                ─► exactly one named with the marker ─► Record its id
//!                                ─► more than one ─► Conflict: which one is ours is unknown
//!  wanted, recorded ─► read by id: ours, as wanted ─► nothing; ours, different ─► Update
//!                   ─► not ours (another name) ─► Conflict: never touched
//!                   ─► 404, and the listing lacks it too ─► Create again
//!  not wanted, recorded ─► ours ─► Remove; not ours or gone ─► Forget the id
//! ```
//!
//! A notification is Launchplane's when it was recorded by id, or when it appeared named with
//! the ProviderConfig's ownership marker after Launchplane wrote its intent to create one (the
//! only window in which a name finds it: Dokploy's create returns no id). A notification
//! already named with the marker before the intent was written is a person's copy or a
//! leftover, and is never adopted, changed or removed.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
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
    /// Record the intent to create (the status's `createRequestedAt`) and end the pass: the
    /// intent must be stored before Dokploy is asked.
    Intend,
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
        create_requested_at: None,
    })
}

/// The same, while the intent to create stands (no id recorded yet).
fn intending(at: Timestamp, state: &str, message: impl Into<String>) -> Option<DeployNotificationStatus> {
    status(None, state, message).map(|s| DeployNotificationStatus {
        create_requested_at: Some(Time(at)),
        ..s
    })
}

/// Plan the notification: `marker` (the config's ownership marker, the name of the
/// notification it makes), `wanted` (the spec, named `marker`), `recorded` (the id in status),
/// `intent` (the recorded `createRequestedAt`), `now`, and `facts` read so far.
pub fn plan(
    marker: &str,
    wanted: Option<&CustomNotificationSpec>,
    recorded: Option<&str>,
    intent: Option<Timestamp>,
    now: Timestamp,
    facts: &NotificationFacts,
) -> NotificationPlan {
    let at = |step, status| NotificationPlan { step, status };
    match (wanted, recorded) {
        (None, None) => at(NotificationStep::Nothing, None),
        (Some(_), None) => {
            let keep = |state: &str, message: String| match intent {
                Some(t) => intending(t, state, message),
                None => status(None, state, message),
            };
            let all = match &facts.listed {
                None => {
                    return at(
                        NotificationStep::List,
                        keep("Pending", "looking for the notification".into()),
                    );
                }
                Some(Err(e)) => {
                    return at(
                        NotificationStep::Nothing,
                        keep("Failed", format!("cannot list Dokploy's notifications: {e}")),
                    );
                }
                Some(Ok(all)) => all,
            };
            let named: Vec<&str> = all
                .iter()
                .filter(|n| n.name == marker && n.notification_type == "custom")
                .map(|n| n.notification_id.as_str())
                .collect();
            match (intent, named.as_slice()) {
                (None, []) => at(
                    NotificationStep::Intend,
                    intending(now, "Pending", "about to create the notification"),
                ),
                (None, ids) => at(
                    NotificationStep::Nothing,
                    status(
                        None,
                        "Conflict",
                        format!(
                            "Dokploy notification {} is named with this ProviderConfig's ownership marker, but Launchplane never recorded making it (a name is never proof of ownership); it is left alone: delete it in Dokploy and Launchplane makes its own",
                            ids.join(", ")
                        ),
                    ),
                ),
                (Some(t), []) => at(
                    NotificationStep::Create,
                    intending(t, "Pending", "creating the notification"),
                ),
                (Some(_), [id]) => at(
                    NotificationStep::Record {
                        notification_id: (*id).to_owned(),
                    },
                    status(Some(id), "Pending", "found the notification it made"),
                ),
                (Some(t), ids) => at(
                    NotificationStep::Nothing,
                    intending(
                        t,
                        "Conflict",
                        format!(
                            "Dokploy notifications {} are all named with this ProviderConfig's ownership marker; which one Launchplane made cannot be told, so none is touched: delete the ones you made by hand",
                            ids.join(", ")
                        ),
                    ),
                ),
            }
        }
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
        let now = jiff::Timestamp::UNIX_EPOCH;
        fn plan(
            marker: &str,
            wanted: Option<&CustomNotificationSpec>,
            recorded: Option<&str>,
            f: &NotificationFacts,
        ) -> NotificationPlan {
            super::plan(marker, wanted, recorded, None, jiff::Timestamp::UNIX_EPOCH, f)
        }
        let step = |wanted: Option<&CustomNotificationSpec>,
                    recorded: Option<&str>,
                    f: &NotificationFacts| plan(&spec().name, wanted, recorded, f).step;
        use NotificationStep::*;
        assert_eq!(step(None, None, &NotificationFacts::default()), Nothing);
        assert_eq!(step(Some(&s), None, &NotificationFacts::default()), List);
        // The intent is written before anything is made.
        let p = plan(&s.name, Some(&s), None, &listed(vec![]));
        assert_eq!(p.step, Intend);
        assert_eq!(p.status.unwrap().create_requested_at, Some(Time(now)));
        // Another notification with the same endpoint but not our name is not ours.
        assert_eq!(
            step(
                Some(&s),
                None,
                &listed(vec![view("x", "ci alerts", &s.endpoint, "t")])
            ),
            Intend
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
    fn a_name_finds_a_notification_only_after_the_intent_to_make_it() {
        use NotificationStep::*;
        let s = spec();
        let t0 = jiff::Timestamp::UNIX_EPOCH;
        let now = t0 + jiff::SignedDuration::from_secs(60);
        let listed = |all: Vec<NotificationView>| NotificationFacts {
            read: None,
            listed: Some(Ok(all)),
        };
        let copy = view("p1", &s.name, "https://elsewhere.example.com", "t");
        // A notification named with the marker before any intent: a person's copy (or a
        // leftover), never adopted.
        let p = plan(&s.name, Some(&s), None, None, now, &listed(vec![copy.clone()]));
        let st = p.status.unwrap();
        assert_eq!((p.step, st.state.as_str()), (Nothing, "Conflict"));
        assert!(st.message.unwrap().contains("p1"));
        assert_eq!(st.create_requested_at, None);
        // With the intent recorded: nothing there yet -> create, the intent kept.
        let p = plan(&s.name, Some(&s), None, Some(t0), now, &listed(vec![]));
        assert_eq!(p.step, Create);
        assert_eq!(p.status.unwrap().create_requested_at, Some(Time(t0)));
        // After the create (or a crash right after it): the one named with the marker is ours.
        let mine = view("n1", &s.name, &s.endpoint, "t");
        let p = plan(
            &s.name,
            Some(&s),
            None,
            Some(t0),
            now,
            &listed(vec![mine.clone()]),
        );
        assert_eq!(
            p.step,
            Record {
                notification_id: "n1".into()
            }
        );
        assert_eq!(p.status.unwrap().create_requested_at, None, "the intent is spent");
        // Two named with the marker: which one is ours cannot be told.
        let p = plan(&s.name, Some(&s), None, Some(t0), now, &listed(vec![mine, copy]));
        let st = p.status.unwrap();
        assert_eq!((p.step, st.state.as_str()), (Nothing, "Conflict"));
        assert_eq!(
            st.create_requested_at,
            Some(Time(t0)),
            "kept until a person resolves it"
        );
        // A failed listing keeps the intent.
        let failed = NotificationFacts {
            read: None,
            listed: Some(Err("502".into())),
        };
        let st = plan(&s.name, Some(&s), None, Some(t0), now, &failed)
            .status
            .unwrap();
        assert_eq!(
            (st.state.as_str(), st.create_requested_at),
            ("Failed", Some(Time(t0)))
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
            let p = plan(
                &s.name,
                Some(&s),
                Some("n1"),
                None,
                jiff::Timestamp::UNIX_EPOCH,
                &facts,
            );
            assert!(!format!("{:?}", p).contains("sup3r-s3cret"));
        }
    }
}
