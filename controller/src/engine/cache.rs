//! Reflector stores that tell any number of waiters when they have listed.
//!
//! kube-runtime's `Store::wait_until_ready` waits on a `futures` oneshot receiver, which keeps
//! one waker: when several tasks wait at once, only the last to poll is woken and the others
//! wait for good. On a real API server that left every ProviderTarget created while the
//! controller was starting without a status: their reconciles all waited on the
//! ProviderConfig store, and only one came back. So the controller runner of each store (kube's
//! own `delay_tasks_until`) is the one waiter on that receiver, and everything else waits on a
//! [`Cache`], whose readiness is a `tokio::sync::watch` that wakes every waiter.

use futures::{Stream, StreamExt};
use kube::Resource;
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, Store, store::Writer};
use kube::runtime::watcher;
use std::hash::Hash;
use std::ops::Deref;
use tokio::sync::watch;

/// A reflector store and whether it has listed once. Derefs to the [`Store`].
pub struct Cache<K: Resource + 'static>
where
    K::DynamicType: Eq + Hash + Clone,
{
    store: Store<K>,
    synced: watch::Receiver<bool>,
}

impl<K: Resource + 'static> Clone for Cache<K>
where
    K::DynamicType: Eq + Hash + Clone,
{
    fn clone(&self) -> Self {
        Cache {
            store: self.store.clone(),
            synced: self.synced.clone(),
        }
    }
}

impl<K: Resource + 'static> Deref for Cache<K>
where
    K::DynamicType: Eq + Hash + Clone,
{
    type Target = Store<K>;

    fn deref(&self) -> &Store<K> {
        &self.store
    }
}

impl<K: Resource + 'static> Cache<K>
where
    K::DynamicType: Eq + Hash + Clone,
{
    /// Wait until the store has listed once. Returns at once after that, and also when the
    /// writer is gone (shutdown), as kube's own wait does.
    pub async fn synced(&self) {
        let mut synced = self.synced.clone();
        let _ = synced.wait_for(|listed| *listed).await;
    }

    /// Whether the store has listed once.
    pub fn is_synced(&self) -> bool {
        *self.synced.borrow()
    }

    /// The store, for `Controller::for_stream` (whose runner waits on it itself).
    pub fn store(&self) -> Store<K> {
        self.store.clone()
    }
}

/// What fills a [`Cache`]: the reflector writer and the flag it raises on the first listing.
pub struct CacheWriter<K: Resource + Clone + 'static>
where
    K::DynamicType: Eq + Hash + Clone,
{
    writer: Writer<K>,
    synced: watch::Sender<bool>,
}

/// An empty cache and its writer.
pub fn cache<K>() -> (Cache<K>, CacheWriter<K>)
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    let (store, writer) = reflector::store();
    let (tx, rx) = watch::channel(false);
    (Cache { store, synced: rx }, CacheWriter { writer, synced: tx })
}

/// An empty cache that has "listed" (so nobody waits on it), for a context without that kind.
pub fn listed_cache<K>() -> Cache<K>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    let (cache, mut writer) = cache();
    writer.apply(&watcher::Event::Init);
    writer.apply(&watcher::Event::InitDone);
    cache
}

impl<K> CacheWriter<K>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    /// Apply one watch event by hand (tests, seeded stores); `InitDone` marks it synced.
    pub fn apply(&mut self, event: &watcher::Event<K>) {
        self.writer.apply_watcher_event(event);
        if matches!(event, watcher::Event::InitDone) {
            self.synced.send_replace(true);
        }
    }

    /// Reflect `events` into the store, passing them on; the first `InitDone`, once the store
    /// has swapped the listing in, marks the cache synced.
    pub fn reflect(
        self,
        events: impl Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static,
    ) -> impl Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static
    where
        K: Send + Sync,
    {
        let synced = self.synced;
        events.reflect(self.writer).inspect(move |event| {
            if matches!(event, Ok(watcher::Event::InitDone)) && !*synced.borrow() {
                synced.send_replace(true);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use launchplane_api::resources::{ProviderTarget, ProviderTargetSpec};
    use std::time::Duration;

    /// The case kube's own wait loses: many tasks waiting at once, all must come back.
    #[tokio::test]
    async fn every_concurrent_waiter_is_woken_by_the_first_listing() {
        let (cache, writer) = cache::<ProviderTarget>();
        let waiters: Vec<_> = (0..16)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(async move { cache.synced().await })
            })
            .collect();
        tokio::task::yield_now().await;
        assert!(!cache.is_synced());
        let (tx, rx) = futures::channel::mpsc::unbounded();
        let reflected = tokio::spawn(writer.reflect(rx.map(Ok)).for_each(|_| async {}));
        let mut target = ProviderTarget::new("t", ProviderTargetSpec::default());
        target.metadata.namespace = Some("ns".into());
        tx.unbounded_send(watcher::Event::Init).unwrap_or_default();
        tx.unbounded_send(watcher::Event::InitApply(target))
            .unwrap_or_default();
        tx.unbounded_send(watcher::Event::InitDone).unwrap_or_default();
        for waiter in waiters {
            tokio::time::timeout(Duration::from_secs(5), waiter)
                .await
                .map(|joined| joined.is_ok())
                .map_err(|_| "a waiter was never woken")
                .unwrap_or_else(|e| panic!("{e}"));
        }
        assert!(cache.is_synced());
        assert_eq!(
            cache.state().len(),
            1,
            "the listing is in the store before it is synced"
        );
        drop(tx);
        let _ = reflected.await;
    }

    #[tokio::test]
    async fn a_listed_cache_never_waits() {
        let cache = listed_cache::<ProviderTarget>();
        tokio::time::timeout(Duration::from_secs(1), cache.synced())
            .await
            .unwrap_or_else(|_| panic!("a listed cache waited"));
    }
}
