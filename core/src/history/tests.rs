#![allow(clippy::unwrap_used)]

use super::*;
use crate::deployment_record::{ATTEMPT_LABEL, LANE_LABEL};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use launchplane_api::resources::{
    DeploymentRecordSpec, DeploymentRecordStatus, IdentityFields, LocalObjectRef, StepEvidence,
};
use std::collections::BTreeMap;

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

/// Who wrote a record: this controller (its attempt number), or someone else (evidence).
#[derive(Clone, Copy)]
enum By {
    Attempt(u32),
    Evidence,
}

/// One record of lane `prod`: `created` and `ended` in seconds after `t(0)`; `ended` is the
/// verified time of a Succeeded record and the failure time of a Failed one.
#[derive(Clone, Copy)]
struct Rec {
    name: &'static str,
    artifact: &'static str,
    by: By,
    phase: DeploymentPhase,
    created: i64,
    ended: Option<i64>,
    promotion: Option<&'static str>,
}

const fn ok(name: &'static str, artifact: &'static str, by: By, created: i64, verified: i64) -> Rec {
    Rec {
        name,
        artifact,
        by,
        phase: DeploymentPhase::Succeeded,
        created,
        ended: Some(verified),
        promotion: None,
    }
}

const fn failed(name: &'static str, artifact: &'static str, by: By, created: i64, ended: i64) -> Rec {
    Rec {
        name,
        artifact,
        by,
        phase: DeploymentPhase::Failed,
        created,
        ended: Some(ended),
        promotion: None,
    }
}

const fn running(name: &'static str, artifact: &'static str, by: By, created: i64) -> Rec {
    Rec {
        name,
        artifact,
        by,
        phase: DeploymentPhase::Deploying,
        created,
        ended: None,
        promotion: None,
    }
}

impl Rec {
    const fn by_promotion(mut self, promotion: &'static str) -> Rec {
        self.promotion = Some(promotion);
        self
    }

    fn build(self) -> DeploymentRecord {
        let mut r = DeploymentRecord::new(
            self.name,
            DeploymentRecordSpec {
                lane_ref: Some(LocalObjectRef::new("prod")),
                artifact_ref: LocalObjectRef::new(self.artifact),
                promotion_ref: self.promotion.map(LocalObjectRef::new),
                target_ref: LocalObjectRef::new("shop-prod"),
                expected_identity: IdentityFields {
                    image_reference: Some(format!("ghcr.io/acme/shop@sha256:{}", self.artifact)),
                    ..IdentityFields::default()
                },
                origin: match self.by {
                    By::Attempt(_) => DeploymentOrigin::Controller,
                    By::Evidence => DeploymentOrigin::External,
                },
                ..DeploymentRecordSpec::default()
            },
        );
        r.metadata.namespace = Some("shop".into());
        r.metadata.creation_timestamp = Some(Time(t(self.created)));
        if let By::Attempt(n) = self.by {
            r.metadata.labels = Some(BTreeMap::from([
                (LANE_LABEL.to_string(), "prod".to_string()),
                (ATTEMPT_LABEL.to_string(), n.to_string()),
            ]));
        }
        r.status = Some(DeploymentRecordStatus {
            phase: Some(self.phase),
            verification: self.ended.map(|e| StepEvidence {
                started_at: Some(Time(t(self.created + 1))),
                finished_at: Some(Time(t(e))),
                message: (self.phase == DeploymentPhase::Failed)
                    .then(|| "identity Mismatch: artifactId".to_string()),
                ..StepEvidence::default()
            }),
            ..DeploymentRecordStatus::default()
        });
        r
    }
}

/// A period as the table reads it: artifact, from, to, record, origin, promotion.
type Row = (
    &'static str,
    i64,
    Option<i64>,
    &'static str,
    DeploymentOrigin,
    Option<&'static str>,
);

const C: DeploymentOrigin = DeploymentOrigin::Controller;
const E: DeploymentOrigin = DeploymentOrigin::External;

/// The periods a table's rows stand for (each record expects its artifact's image).
fn expected(rows: &[Row]) -> Vec<Period> {
    rows.iter()
        .map(|(artifact, from, to, record, origin, promotion)| Period {
            from: t(*from),
            to: to.map(t),
            artifact: artifact.to_string(),
            image: Some(format!("ghcr.io/acme/shop@sha256:{artifact}")),
            record: record.to_string(),
            promotion: promotion.map(str::to_string),
            origin: *origin,
        })
        .collect()
}

struct Case {
    name: &'static str,
    records: Vec<Rec>,
    periods: Vec<Row>,
    /// The records listed apart, in order, with their phases.
    attempts: Vec<(&'static str, DeploymentPhase)>,
}

#[test]
fn periods_from_record_histories() {
    use DeploymentPhase::{Deploying, Failed};
    let cases = vec![
        Case {
            name: "one verified deploy runs still",
            records: vec![ok("dr-1", "a1", By::Attempt(1), 0, 10)],
            periods: vec![("a1", 10, None, "dr-1", C, None)],
            attempts: vec![],
        },
        Case {
            name: "a failed attempt between two verified ones leaves the first running until the next",
            records: vec![
                ok("dr-1", "a1", By::Attempt(1), 0, 10),
                failed("dr-2", "a2", By::Attempt(2), 100, 130),
                ok("dr-3", "a2", By::Attempt(3), 200, 230),
            ],
            periods: vec![
                ("a1", 10, Some(230), "dr-1", C, None),
                ("a2", 230, None, "dr-3", C, None),
            ],
            attempts: vec![("dr-2", Failed)],
        },
        Case {
            name: "evidence records take their place by verified time, as External",
            records: vec![
                ok("dr-1", "a1", By::Attempt(1), 0, 10),
                ok("ci-run-7", "a2", By::Evidence, 50, 60),
                ok("dr-2", "a3", By::Attempt(2), 100, 120),
            ],
            periods: vec![
                ("a1", 10, Some(60), "dr-1", C, None),
                ("a2", 60, Some(120), "ci-run-7", E, None),
                ("a3", 120, None, "dr-2", C, None),
            ],
            attempts: vec![],
        },
        Case {
            name: "equal verified times: the higher attempt comes last and runs (zero-length period before it)",
            records: vec![
                ok("dr-2", "a2", By::Attempt(2), 5, 50),
                ok("dr-1", "a1", By::Attempt(1), 0, 50),
            ],
            periods: vec![
                ("a1", 50, Some(50), "dr-1", C, None),
                ("a2", 50, None, "dr-2", C, None),
            ],
            attempts: vec![],
        },
        Case {
            name: "equal verified times between evidence records: by name",
            records: vec![
                ok("ext-b", "a2", By::Evidence, 0, 50),
                ok("ext-a", "a1", By::Evidence, 0, 50),
            ],
            periods: vec![
                ("a1", 50, Some(50), "ext-a", E, None),
                ("a2", 50, None, "ext-b", E, None),
            ],
            attempts: vec![],
        },
        Case {
            name: "an out-of-order list gives the order of verified times, not of attempts or names",
            records: vec![
                ok("dr-3", "a3", By::Attempt(3), 300, 310),
                failed("dr-2", "a2", By::Attempt(2), 200, 210),
                ok("ext-9", "a9", By::Evidence, 250, 260),
                ok("dr-1", "a1", By::Attempt(1), 0, 10),
            ],
            periods: vec![
                ("a1", 10, Some(260), "dr-1", C, None),
                ("a9", 260, Some(310), "ext-9", E, None),
                ("a3", 310, None, "dr-3", C, None),
            ],
            attempts: vec![("dr-2", Failed)],
        },
        Case {
            name: "a rollback to an earlier artifact is a new period naming its Promotion",
            records: vec![
                ok("dr-1", "a1", By::Attempt(1), 0, 10).by_promotion("promote-a1"),
                ok("dr-2", "a2", By::Attempt(2), 100, 110).by_promotion("promote-a2"),
                ok("dr-3", "a1", By::Attempt(3), 200, 210).by_promotion("rollback-a1"),
            ],
            periods: vec![
                ("a1", 10, Some(110), "dr-1", C, Some("promote-a1")),
                ("a2", 110, Some(210), "dr-2", C, Some("promote-a2")),
                ("a1", 210, None, "dr-3", C, Some("rollback-a1")),
            ],
            attempts: vec![],
        },
        Case {
            name: "attempts in flight and failed are listed apart, by when they began",
            records: vec![
                running("dr-3", "a3", By::Attempt(3), 300),
                ok("dr-1", "a1", By::Attempt(1), 0, 10),
                failed("ext-1", "a2", By::Evidence, 150, 170),
                failed("dr-2", "a2", By::Attempt(2), 100, 130),
            ],
            periods: vec![("a1", 10, None, "dr-1", C, None)],
            attempts: vec![("dr-2", Failed), ("ext-1", Failed), ("dr-3", Deploying)],
        },
        Case {
            name: "only failed attempts: no period",
            records: vec![failed("dr-1", "a1", By::Attempt(1), 0, 30)],
            periods: vec![],
            attempts: vec![("dr-1", Failed)],
        },
        Case {
            name: "no records: nothing",
            records: vec![],
            periods: vec![],
            attempts: vec![],
        },
    ];
    for case in cases {
        let records: Vec<DeploymentRecord> = case.records.iter().map(|r| r.build()).collect();
        let h = history(&records);
        assert_eq!(h.periods, expected(&case.periods), "{}", case.name);
        let attempts: Vec<(&str, DeploymentPhase)> =
            h.attempts.iter().map(|a| (a.record.as_str(), a.phase)).collect();
        assert_eq!(attempts, case.attempts, "{}", case.name);
        assert_eq!(h.pruned, None, "{}: attempts are contiguous", case.name);
        // The order of the input never matters.
        let mut reversed = records.clone();
        reversed.reverse();
        assert_eq!(history(&reversed), h, "{}: reversed input", case.name);
    }
}

#[test]
fn a_period_carries_the_image_and_an_attempt_its_failure() {
    let h = history(&[
        ok("dr-1", "a1", By::Attempt(1), 0, 10).build(),
        failed("dr-2", "a2", By::Attempt(2), 100, 130).build(),
    ]);
    assert_eq!(h.periods[0].image.as_deref(), Some("ghcr.io/acme/shop@sha256:a1"));
    let failed = &h.attempts[0];
    assert_eq!(
        (failed.started, failed.ended, failed.message.as_deref()),
        (Some(t(100)), Some(t(130)), Some("identity Mismatch: artifactId"))
    );
    assert_eq!(h.current().map(|p| p.record.as_str()), Some("dr-1"));
}

#[test]
fn a_succeeded_record_without_any_time_is_listed_apart_not_placed() {
    let mut timeless = ok("ext-1", "a9", By::Evidence, 0, 0).build();
    timeless.metadata.creation_timestamp = None;
    timeless.status = Some(DeploymentRecordStatus {
        phase: Some(DeploymentPhase::Succeeded),
        ..DeploymentRecordStatus::default()
    });
    let h = history(&[ok("dr-1", "a1", By::Attempt(1), 0, 10).build(), timeless]);
    assert_eq!(h.periods.len(), 1);
    assert_eq!(h.attempts[0].record, "ext-1");
    assert_eq!(h.attempts[0].phase, DeploymentPhase::Succeeded);
}

#[test]
fn the_ready_message_stands_in_when_no_step_says_why() {
    let mut r = running("dr-1", "a1", By::Attempt(1), 0).build();
    r.status.as_mut().unwrap().conditions = vec![Condition {
        type_: types::READY.into(),
        status: "False".into(),
        reason: "Deploying".into(),
        message: "the attempt is Deploying".into(),
        last_transition_time: Time(t(3)),
        observed_generation: None,
    }];
    r.metadata.creation_timestamp = None;
    let h = history(&[r]);
    assert_eq!(h.attempts[0].message.as_deref(), Some("the attempt is Deploying"));
    assert_eq!(h.attempts[0].started, Some(t(3)), "the first time written on it");
}

fn rollback_history() -> LaneHistory {
    history(
        &[
            ok("dr-1", "a1", By::Attempt(1), 0, 10),
            failed("dr-2", "a2", By::Attempt(2), 100, 130),
            ok("dr-3", "a2", By::Attempt(3), 200, 230),
            ok("dr-4", "a1", By::Attempt(4), 300, 330).by_promotion("rollback-a1"),
        ]
        .map(Rec::build),
    )
}

#[test]
fn at_picks_the_period_covering_the_instant() {
    let h = rollback_history();
    let ran = |at: i64| match h.at(t(at)) {
        At::Ran(p) => Some(p.record.as_str()),
        _ => None,
    };
    assert_eq!(h.at(t(9)), At::NothingRan { first: Some(t(10)) });
    assert_eq!(ran(10), Some("dr-1"), "from is inclusive");
    assert_eq!(ran(130), Some("dr-1"), "a failed attempt ran nothing");
    assert_eq!(ran(229), Some("dr-1"));
    assert_eq!(ran(230), Some("dr-3"), "to is exclusive");
    assert_eq!(ran(330), Some("dr-4"));
    assert_eq!(ran(100_000), Some("dr-4"), "the open period runs on");
}

#[test]
fn at_says_nothing_ran_when_nothing_ever_did() {
    let h = history(&[failed("dr-1", "a1", By::Attempt(1), 0, 30).build()]);
    assert_eq!(h.at(t(20)), At::NothingRan { first: None });
    assert_eq!(history(&[]).at(t(20)), At::NothingRan { first: None });
}

#[test]
fn at_an_instant_of_equal_times_picks_the_one_the_lane_runs() {
    let h = history(&[
        ok("dr-1", "a1", By::Attempt(1), 0, 50).build(),
        ok("dr-2", "a2", By::Attempt(2), 5, 50).build(),
    ]);
    match h.at(t(50)) {
        At::Ran(p) => assert_eq!(p.record, "dr-2"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn pruned_attempts_before_the_first_period_make_earlier_instants_unknown() {
    // historyLimit 2: attempts 1 and 2 are gone; attempt 1 may have run before dr-3.
    let h = history(
        &[
            ok("dr-3", "a3", By::Attempt(3), 300, 310),
            ok("dr-4", "a4", By::Attempt(4), 400, 410),
        ]
        .map(Rec::build),
    );
    let pruned = h.pruned.clone().unwrap();
    assert_eq!(pruned.attempts, vec![1, 2]);
    assert_eq!(pruned.whole, Whole::Since(t(310)));
    assert_eq!(
        h.at(t(200)),
        At::Unknown {
            whole_since: Some(t(310))
        }
    );
    assert!(matches!(h.at(t(310)), At::Ran(p) if p.record == "dr-3"));
}

#[test]
fn pruned_failures_after_the_first_period_leave_the_history_whole() {
    // The inventory record (attempt 1) is kept; failed attempts 2 and 3 were pruned. Nothing
    // can have run before attempt 1, nor inside its period (a success would have replaced it).
    let h = history(
        &[
            ok("dr-1", "a1", By::Attempt(1), 0, 10),
            failed("dr-4", "a2", By::Attempt(4), 400, 410),
            failed("dr-5", "a2", By::Attempt(5), 500, 510),
        ]
        .map(Rec::build),
    );
    assert_eq!(
        h.pruned,
        Some(Pruned {
            attempts: vec![2, 3],
            whole: Whole::Always
        })
    );
    assert_eq!(h.at(t(5)), At::NothingRan { first: Some(t(10)) });
    assert!(matches!(h.at(t(200)), At::Ran(p) if p.record == "dr-1"));
}

#[test]
fn a_pruned_success_may_hide_inside_an_evidence_period_until_the_next_kept_attempt_began() {
    // dr-1 ran, then evidence ext-1; pruned attempt 2 may have succeeded inside ext-1's period,
    // before attempt 3 was created at 300.
    let h = history(
        &[
            ok("dr-1", "a1", By::Attempt(1), 0, 10),
            ok("ext-1", "a5", By::Evidence, 50, 60),
            failed("dr-3", "a3", By::Attempt(3), 300, 320),
        ]
        .map(Rec::build),
    );
    assert_eq!(h.pruned.as_ref().unwrap().whole, Whole::Since(t(300)));
    assert_eq!(
        h.at(t(100)),
        At::Unknown {
            whole_since: Some(t(300))
        }
    );
    assert!(matches!(h.at(t(300)), At::Ran(p) if p.record == "ext-1"));
    // An evidence period that began after attempt 3 did cannot hide attempt 2.
    let h = history(
        &[
            ok("dr-1", "a1", By::Attempt(1), 0, 10),
            ok("dr-3", "a3", By::Attempt(3), 300, 320),
            ok("ext-1", "a5", By::Evidence, 350, 360),
        ]
        .map(Rec::build),
    );
    assert_eq!(h.pruned.as_ref().unwrap().whole, Whole::Always);
}

#[test]
fn without_a_time_on_the_bounding_record_an_evidence_history_is_never_whole() {
    let mut bounding = running("dr-3", "a3", By::Attempt(3), 0).build();
    bounding.metadata.creation_timestamp = None;
    bounding.status = None;
    let h = history(&[
        ok("dr-1", "a1", By::Attempt(1), 0, 10).build(),
        ok("ext-1", "a5", By::Evidence, 50, 60).build(),
        bounding,
    ]);
    assert_eq!(h.pruned.as_ref().unwrap().whole, Whole::Never);
    assert_eq!(h.at(t(100_000)), At::Unknown { whole_since: None });
}

#[test]
fn records_belong_to_a_lane_by_label_or_lane_ref() {
    let labelled = ok("dr-1", "a1", By::Attempt(1), 0, 10).build();
    let mut evidence = ok("ext-1", "a1", By::Evidence, 0, 10).build();
    assert!(names_lane(&labelled, "prod") && names_lane(&evidence, "prod"));
    evidence.spec.lane_ref = Some(LocalObjectRef::new("testing"));
    assert!(!names_lane(&evidence, "prod") && names_lane(&evidence, "testing"));
    assert!(!names_lane(&labelled, "testing"));
}

#[test]
fn the_json_names_fields_in_camel_case_and_times_in_rfc3339() {
    let h = rollback_history();
    let json = serde_json::to_value(&h).unwrap();
    assert_eq!(json["periods"][0]["from"], "2027-01-15T08:00:10Z");
    assert_eq!(json["periods"][0]["to"], "2027-01-15T08:03:50Z");
    assert!(json["periods"][2].get("to").is_none(), "{json}");
    assert_eq!(json["periods"][2]["promotion"], "rollback-a1");
    assert_eq!(json["periods"][2]["origin"], "Controller");
    assert_eq!(json["attempts"][0]["phase"], "Failed");
    assert!(json.get("pruned").is_none());
}

/// The open period is the record the lane's inventory stands on, for every history of the
/// table above: the two read the same records in the same order.
#[test]
fn the_open_period_is_the_lanes_inventory_record() {
    use crate::deployment_record::DeploySettings;
    use crate::lane::{LaneInputs, plan};
    use launchplane_api::resources::{Lane, LaneSpec};
    let mut lane = Lane::new(
        "prod",
        LaneSpec {
            product_ref: LocalObjectRef::new("shop"),
            stage: "prod".into(),
            target_ref: LocalObjectRef::new("shop-prod"),
            ..LaneSpec::default()
        },
    );
    lane.metadata.namespace = Some("shop".into());
    let histories: Vec<Vec<Rec>> = vec![
        // Equal times: the attempt decides before the name.
        vec![
            ok("dr-a", "a2", By::Attempt(2), 5, 50),
            ok("dr-x", "a1", By::Attempt(1), 0, 50),
        ],
        vec![
            ok("ext-b", "a2", By::Evidence, 0, 50),
            ok("ext-a", "a1", By::Evidence, 0, 50),
        ],
        vec![
            ok("dr-3", "a3", By::Attempt(3), 300, 310),
            failed("dr-4", "a2", By::Attempt(4), 200, 210),
            ok("ext-9", "a9", By::Evidence, 250, 260),
            ok("dr-1", "a1", By::Attempt(1), 0, 10),
        ],
        vec![
            ok("dr-1", "a1", By::Attempt(1), 0, 10),
            ok("ext-1", "a2", By::Evidence, 0, 400),
            ok("dr-2", "a1", By::Attempt(2), 200, 210),
        ],
    ];
    for records in histories {
        let records: Vec<DeploymentRecord> = records.iter().map(|r| r.build()).collect();
        let planned = plan(
            &LaneInputs {
                lane: &lane,
                lane_key: "prod",
                product: None,
                target: None,
                feed: &crate::promotion::feed(&lane, &[]),
                artifact: None,
                records: &records,
                desired_env: Err("not resolved in this test".into()),
                facts: None,
                probe: None,
                identity: None,
                health: &[],
                base: &crate::verification::base_url::resolve(&lane, None, None, None),
                checks: &[],
                settings: &DeploySettings::default(),
                instance: "cluster-a",
                rivals: &[],
                bootstraps: &[],
            },
            t(1_000),
        );
        let inventory = planned.outcome.status.inventory.unwrap();
        let h = history(&records);
        assert_eq!(
            inventory.deployment_record.as_deref(),
            h.current().map(|p| p.record.as_str()),
            "{records:?}"
        );
        assert_eq!(inventory.since.map(|s| s.0), h.current().map(|p| p.from));
    }
}
