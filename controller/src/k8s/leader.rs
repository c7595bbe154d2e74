//! Leader election: with `--leader-election`, only the replica holding the
//! `coordination.k8s.io/v1` Lease runs the controllers.
//!
//! ```text
//!  Elector::new ── get/create the Lease ──► follower (ready, not reconciling)
//!       │ lead(shutdown, work)
//!       ▼
//!  kube-lease-manager acquires ──► confirm renewTime (GET) ──► work(stop) runs
//!       │                                   │
//!       │ signal: stop work, release        │ lost (taken over, or no renewal seen
//!       ▼                                   ▼ before the renew deadline): stop work
//!  Ok(Some(output)), Lease free       Err(Lost), Lease left to expire: exit non-zero
//! ```
//!
//! The Lease is taken and renewed by kube-lease-manager (get, create and patch of one Lease:
//! server-side apply to take a free lease, so two candidates conflict instead of both
//! winning; strategic-merge patches to renew and release). Its `watch` channel alone is not
//! enough to stop safely: when renewals fail (API server unreachable) the channel keeps saying
//! "leader" while the Lease expires and a follower takes over. So while leading, a watchdog
//! reads the Lease and stops the work once the last renewal it saw is older than
//! [`LeaderConfig::renew_deadline`], which is chosen so the work has stopped before any
//! follower may consider the Lease expired (as client-go's renew deadline does).
//!
//! Losing the Lease ends [`Elector::lead`] with [`LeaderError::Lost`] and the process exits
//! non-zero, as controller-runtime does: a restart starts clean as a follower, with no state
//! from the term it lost.

use super::context::Shutdown;
use futures::FutureExt;
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::coordination::v1::Lease;
use kube::{Api, Client};
use kube_lease_manager::{LeaseCreateMode, LeaseManager, LeaseManagerBuilder, LeaseManagerError};
use std::future::Future;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The Lease every Launchplane controller replica competes for.
pub const LEASE_NAME: &str = "launchplane-controller";

/// How long releasing the Lease may take on a graceful stop before it is left to expire.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(5);

/// Timing of the election. Every follower waits `lease_duration` after the holder's last
/// renewal before taking over; the holder renews `renew_before` ahead of that, and stops its
/// work when no renewal was confirmed for `renew_deadline`, giving in-flight work at most
/// `stop_timeout` to finish. [`LeaderConfig::validate`] checks that the holder is always
/// stopped before a follower may start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderConfig {
    pub lease_name: String,
    pub namespace: String,
    /// This replica's holder identity (POD_NAME); unique among the replicas.
    pub identity: String,
    /// Validity of the Lease after a renewal, in whole seconds (the Lease field is seconds).
    pub lease_duration: Duration,
    /// The holder renews this long before the Lease would expire, in whole seconds.
    pub renew_before: Duration,
    /// The holder stops working when its last confirmed renewal is this old.
    pub renew_deadline: Duration,
    /// How often the holder re-reads the Lease while a renewal is due.
    pub retry_period: Duration,
    /// How long stopped work may take to wind down once the Lease is lost; then it is dropped.
    pub stop_timeout: Duration,
}

impl LeaderConfig {
    /// The defaults: a 20 s Lease renewed every 12 s; the holder stops after 15 s without a
    /// confirmed renewal and is gone by 18 s, so up to 2 s of clock skew between nodes is
    /// tolerated. A crashed leader is replaced after about 20 s.
    pub fn new(namespace: impl Into<String>, identity: impl Into<String>) -> Self {
        LeaderConfig {
            lease_name: LEASE_NAME.into(),
            namespace: namespace.into(),
            identity: identity.into(),
            lease_duration: Duration::from_secs(20),
            renew_before: Duration::from_secs(8),
            renew_deadline: Duration::from_secs(15),
            retry_period: Duration::from_secs(1),
            stop_timeout: Duration::from_secs(3),
        }
    }

    /// Where the Lease lives and who this replica is, from the pod's downward-API
    /// environment (the chart sets POD_NAMESPACE and POD_NAME). Outside a pod the namespace
    /// falls back to `--watch-namespace`, then to the kubeconfig's namespace, and the identity
    /// to HOSTNAME.
    pub fn from_env(watch_namespace: Option<&str>, client_namespace: &str) -> Result<Self, LeaderError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let namespace = var("POD_NAMESPACE")
            .or_else(|| watch_namespace.map(str::to_string))
            .unwrap_or_else(|| client_namespace.to_string());
        let identity = var("POD_NAME")
            .or_else(|| var("HOSTNAME"))
            .ok_or(LeaderError::NoIdentity)?;
        Ok(LeaderConfig::new(namespace, identity))
    }

    /// Refuse timings under which a leader could still be working when a follower takes over
    /// (and those kube-lease-manager would panic on).
    pub fn validate(&self) -> Result<(), LeaderError> {
        let invalid = |why: String| Err(LeaderError::Config(why));
        let whole = |d: Duration| d.subsec_nanos() == 0 && d.as_secs() > 0;
        if !whole(self.lease_duration) || !whole(self.renew_before) {
            return invalid(format!(
                "lease duration {:?} and renew-before {:?} must be whole, non-zero seconds",
                self.lease_duration, self.renew_before
            ));
        }
        if self.renew_before >= self.lease_duration {
            return invalid(format!(
                "renew-before {:?} must be shorter than the lease duration {:?}",
                self.renew_before, self.lease_duration
            ));
        }
        let renews_at = self.lease_duration - self.renew_before;
        if self.renew_deadline <= renews_at {
            return invalid(format!(
                "renew deadline {:?} must be later than the renewal at {renews_at:?}",
                self.renew_deadline
            ));
        }
        if self.renew_deadline + self.stop_timeout >= self.lease_duration {
            return invalid(format!(
                "renew deadline {:?} + stop timeout {:?} must end before the lease duration {:?}",
                self.renew_deadline, self.stop_timeout, self.lease_duration
            ));
        }
        if self.retry_period.is_zero() || self.identity.is_empty() || self.namespace.is_empty() {
            return invalid("retry period, identity and namespace must be set".into());
        }
        Ok(())
    }
}

/// Why a leader stopped leading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LossReason {
    /// The Lease names another holder, or none.
    HeldBy(Option<String>),
    /// No renewal was confirmed within the renew deadline (API server unreachable or slow).
    RenewDeadline { last_renewal: Timestamp },
    /// Right after acquiring, the Lease could not be read back to learn its renewal time.
    Unconfirmed(String),
    /// The election loop reported this replica is no longer the holder.
    NotHolder,
    /// The election loop ended.
    ElectionEnded(String),
}

impl std::fmt::Display for LossReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LossReason::HeldBy(Some(holder)) => write!(f, "the Lease is now held by {holder}"),
            LossReason::HeldBy(None) => write!(f, "the Lease has no holder"),
            LossReason::RenewDeadline { last_renewal } => {
                write!(f, "no renewal confirmed since {last_renewal}")
            }
            LossReason::Unconfirmed(error) => write!(f, "cannot read the Lease after acquiring it: {error}"),
            LossReason::NotHolder => write!(f, "the election reports another holder"),
            LossReason::ElectionEnded(error) => write!(f, "the election loop ended: {error}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    #[error("invalid leader-election timing: {0}")]
    Config(String),

    #[error("leader election needs this replica's identity: set POD_NAME (or HOSTNAME)")]
    NoIdentity,

    #[error("cannot get or create the Lease {namespace}/{name}: {source}")]
    Setup {
        namespace: String,
        name: String,
        #[source]
        source: Box<LeaseManagerError>,
    },

    #[error("the election on Lease {namespace}/{name} ended before this replica led: {reason}")]
    Election {
        namespace: String,
        name: String,
        reason: String,
    },

    #[error("lost the Lease {namespace}/{name}: {reason}; the controllers were stopped")]
    Lost {
        namespace: String,
        name: String,
        reason: LossReason,
    },
}

/// One replica's candidacy for the Lease.
pub struct Elector {
    config: LeaderConfig,
    manager: LeaseManager,
    leases: Api<Lease>,
}

impl Elector {
    /// Validate the timing and get (or create) the Lease. When this returns, the replica
    /// knows the Lease and can say whether it leads, which is what `/readyz` reports.
    pub async fn new(client: Client, config: LeaderConfig) -> Result<Self, LeaderError> {
        config.validate()?;
        let manager = LeaseManagerBuilder::new(client.clone(), &config.lease_name)
            .with_namespace(&config.namespace)
            .with_identity(&config.identity)
            .with_duration(config.lease_duration.as_secs())
            .with_grace(config.renew_before.as_secs())
            .with_create_mode(LeaseCreateMode::AutoCreate)
            .build()
            .await
            .map_err(|source| LeaderError::Setup {
                namespace: config.namespace.clone(),
                name: config.lease_name.clone(),
                source: Box::new(source),
            })?;
        let leases = Api::namespaced(client, &config.namespace);
        Ok(Elector {
            config,
            manager,
            leases,
        })
    }

    pub fn config(&self) -> &LeaderConfig {
        &self.config
    }

    /// Wait for the Lease, then run `work` until `shutdown` or until the Lease is lost.
    /// `work` gets its own stop signal and must return once it resolves.
    ///
    /// - `Ok(None)`: `shutdown` came before this replica led.
    /// - `Ok(Some(output))`: it led, `work` ended (on `shutdown` or by itself) and the Lease
    ///   was released so a follower takes over at once.
    /// - `Err(Lost)`: it led and lost the Lease; `work` was stopped (and dropped if it did not
    ///   finish within `stop_timeout`). The caller should exit non-zero.
    pub async fn lead<F, Fut, T>(self, shutdown: Shutdown, work: F) -> Result<Option<T>, LeaderError>
    where
        F: FnOnce(Shutdown) -> Fut,
        Fut: Future<Output = T>,
    {
        let Elector {
            config,
            manager,
            leases,
        } = self;
        let (mut leading, election) = manager.watch().await;
        tracing::info!(
            lease = %config.lease_name,
            namespace = %config.namespace,
            identity = %config.identity,
            "waiting to lead"
        );
        while !*leading.borrow_and_update() {
            tokio::select! {
                _ = shutdown.clone() => {
                    // Never led: closing the channel makes the election task stop (and release
                    // only if it became holder in the meantime).
                    drop(leading);
                    finish(election, &config).await;
                    return Ok(None);
                }
                changed = leading.changed() => if changed.is_err() {
                    return Err(LeaderError::Election {
                        namespace: config.namespace.clone(),
                        name: config.lease_name.clone(),
                        reason: ended(election).await,
                    });
                }
            }
        }

        let lost = |reason| LeaderError::Lost {
            namespace: config.namespace.clone(),
            name: config.lease_name.clone(),
            reason,
        };
        // The renewal time the watchdog counts from: read back, never assumed, so a slow
        // acquisition cannot stretch the deadline.
        let acquired = match confirm(&leases, &config).await {
            Ok(renewed) => renewed,
            Err(reason) => {
                abandon(election, leading);
                return Err(lost(reason));
            }
        };
        tracing::info!(lease = %config.lease_name, identity = %config.identity, "leading: starting the controllers");

        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let stop: Shutdown = async move {
            // A dropped sender also stops the work.
            let _ = stop_rx.await;
        }
        .boxed()
        .shared();
        let outcome = {
            let work = work(stop);
            let loss = watch_leadership(&leases, &config, acquired, &mut leading);
            futures::pin_mut!(work, loss);
            tokio::select! {
                output = &mut work => Ok(output),
                reason = &mut loss => {
                    let _ = stop_tx.send(());
                    wind_down(work, &config).await;
                    Err(reason)
                }
                _ = shutdown.clone() => {
                    tracing::info!("shutdown while leading: stopping the controllers, then releasing the Lease");
                    let _ = stop_tx.send(());
                    // Still the holder while the work winds down; a loss now cuts it short.
                    tokio::select! {
                        output = &mut work => Ok(output),
                        reason = &mut loss => {
                            wind_down(work, &config).await;
                            Err(reason)
                        }
                    }
                }
            }
        };
        match outcome {
            Ok(output) => {
                // Closing the channel makes the election task release the Lease.
                drop(leading);
                finish(election, &config).await;
                tracing::info!(lease = %config.lease_name, "released the Lease");
                Ok(Some(output))
            }
            Err(reason) => {
                tracing::error!(lease = %config.lease_name, %reason, "lost the Lease: the controllers stopped");
                abandon(election, leading);
                Err(lost(reason))
            }
        }
    }
}

/// Read the Lease right after acquiring it: this replica must be the holder, and its
/// renewTime is where the renew deadline counts from.
async fn confirm(leases: &Api<Lease>, config: &LeaderConfig) -> Result<Timestamp, LossReason> {
    let lease = leases
        .get(&config.lease_name)
        .await
        .map_err(|error| LossReason::Unconfirmed(error.to_string()))?;
    let spec = lease.spec.unwrap_or_default();
    if spec.holder_identity.as_deref() != Some(config.identity.as_str()) {
        return Err(LossReason::HeldBy(spec.holder_identity));
    }
    spec.renew_time
        .map(|t| t.0)
        .ok_or_else(|| LossReason::Unconfirmed("the Lease has no renewTime".into()))
}

/// Resolve when leadership is lost: the election says so, the Lease names someone else, or
/// no renewal was seen before the renew deadline.
async fn watch_leadership(
    leases: &Api<Lease>,
    config: &LeaderConfig,
    mut renewed: Timestamp,
    leading: &mut watch::Receiver<bool>,
) -> LossReason {
    let election = async {
        loop {
            if leading.changed().await.is_err() {
                return LossReason::ElectionEnded("the election task stopped".into());
            }
            if !*leading.borrow_and_update() {
                return LossReason::NotHolder;
            }
        }
    };
    let watchdog = async {
        let renews_after = signed(config.lease_duration - config.renew_before);
        let deadline_after = signed(config.renew_deadline);
        loop {
            let now = Timestamp::now();
            let deadline = renewed.saturating_add(deadline_after).unwrap_or(renewed);
            if now >= deadline {
                return LossReason::RenewDeadline {
                    last_renewal: renewed,
                };
            }
            // Nothing to check until the renewal is due; then poll every retry period.
            let due = renewed.saturating_add(renews_after).unwrap_or(renewed);
            let wake = if now < due {
                due
            } else {
                now.saturating_add(signed(config.retry_period)).unwrap_or(now)
            };
            let wake = wake.min(deadline);
            tokio::time::sleep(until(now, wake)).await;
            match leases.get(&config.lease_name).await {
                Ok(lease) => {
                    let spec = lease.spec.unwrap_or_default();
                    if spec.holder_identity.as_deref() != Some(config.identity.as_str()) {
                        return LossReason::HeldBy(spec.holder_identity);
                    }
                    if let Some(time) = spec.renew_time {
                        renewed = renewed.max(time.0);
                    }
                }
                // Keep trying until the deadline: one failed read is not a lost Lease.
                Err(error) => tracing::warn!(%error, "cannot read the Lease to confirm the renewal"),
            }
        }
    };
    futures::pin_mut!(election, watchdog);
    match futures::future::select(election, watchdog).await {
        futures::future::Either::Left((reason, _)) | futures::future::Either::Right((reason, _)) => reason,
    }
}

/// Give stopped work `stop_timeout` to finish; past that it is dropped (cancelled), because a
/// follower may soon take the Lease and must not find this replica still writing.
async fn wind_down<W: Future>(work: std::pin::Pin<&mut W>, config: &LeaderConfig) {
    if tokio::time::timeout(config.stop_timeout, work).await.is_err() {
        tracing::warn!(timeout = ?config.stop_timeout, "the controllers did not stop in time: abandoning them");
    }
}

/// Wait for the election task after its channel was closed (it releases the Lease if held).
async fn finish(election: JoinHandle<kube_lease_manager::Result<LeaseManager>>, config: &LeaderConfig) {
    match tokio::time::timeout(RELEASE_TIMEOUT, election).await {
        Ok(Ok(Ok(_))) => {}
        Ok(Ok(Err(error))) => {
            tracing::warn!(%error, lease = %config.lease_name, "releasing the Lease failed; it expires on its own")
        }
        Ok(Err(error)) => tracing::warn!(%error, "the election task failed"),
        Err(_) => tracing::warn!(
            lease = %config.lease_name,
            "releasing the Lease timed out; it expires on its own"
        ),
    }
}

/// Stop the election without releasing: after a loss the Lease is someone else's (or about to
/// expire), and kube-lease-manager's release, working from its cached view, could clear the
/// new holder's claim. Aborting before closing the channel keeps the task from reacting to it.
fn abandon(election: JoinHandle<kube_lease_manager::Result<LeaseManager>>, leading: watch::Receiver<bool>) {
    election.abort();
    drop(leading);
}

/// What ended the election task, for an error message.
async fn ended(election: JoinHandle<kube_lease_manager::Result<LeaseManager>>) -> String {
    match election.await {
        Ok(Ok(_)) => "it stopped".into(),
        Ok(Err(error)) => error.to_string(),
        Err(error) => error.to_string(),
    }
}

fn signed(duration: Duration) -> SignedDuration {
    SignedDuration::try_from(duration).unwrap_or(SignedDuration::MAX)
}

fn until(now: Timestamp, then: Timestamp) -> Duration {
    Duration::try_from(then.duration_since(now)).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_default_timing_stops_the_leader_before_a_follower_may_start() {
        let config = LeaderConfig::new("ns", "pod-0");
        config.validate().unwrap();
        assert!(config.renew_deadline + config.stop_timeout < config.lease_duration);
    }

    #[test]
    fn unsafe_timings_are_refused_not_panicked_on() {
        let base = LeaderConfig::new("ns", "pod-0");
        let cases = [
            LeaderConfig {
                renew_before: Duration::from_millis(1500),
                ..base.clone()
            },
            LeaderConfig {
                renew_before: base.lease_duration,
                ..base.clone()
            },
            // The deadline would fire before the renewal is even due.
            LeaderConfig {
                renew_deadline: Duration::from_secs(10),
                ..base.clone()
            },
            // The leader could still be winding down when a follower takes over.
            LeaderConfig {
                stop_timeout: Duration::from_secs(5),
                ..base.clone()
            },
            LeaderConfig {
                identity: String::new(),
                ..base.clone()
            },
        ];
        for config in cases {
            assert!(
                matches!(config.validate(), Err(LeaderError::Config(_))),
                "{config:?}"
            );
        }
    }

    #[test]
    fn loss_reasons_read_as_sentences() {
        assert_eq!(
            LossReason::HeldBy(Some("pod-1".into())).to_string(),
            "the Lease is now held by pod-1"
        );
        let error = LeaderError::Lost {
            namespace: "launchplane-system".into(),
            name: LEASE_NAME.into(),
            reason: LossReason::HeldBy(None),
        };
        assert_eq!(
            error.to_string(),
            "lost the Lease launchplane-system/launchplane-controller: the Lease has no holder; \
             the controllers were stopped"
        );
    }
}
