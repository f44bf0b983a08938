//! Group commit: many jobs' small statements become one. Each job hands its request to a [`Batcher`] and
//! waits; a runner takes every request waiting (up to a batch's size), runs them as one statement and hands
//! each job its own answer. Nothing waits on purpose: a runner takes what is there, so a lone job is served at
//! once, and under load the batches grow while the previous one runs. Two runners, so that one batch is
//! gathered while the other is in Postgres.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{Mutex, mpsc, oneshot};

type Reply<A> = oneshot::Sender<Result<A, Arc<anyhow::Error>>>;

pub struct Batcher<Q, A> {
    tx: mpsc::UnboundedSender<(Q, Reply<A>)>,
}

impl<Q: Send + 'static, A: Send + 'static> Batcher<Q, A> {
    /// `run` answers a batch: one answer per request, in the requests' order. It runs on at most `runners`
    /// tasks at once, with at most `most` requests each.
    pub fn new<F, Fut>(most: usize, runners: usize, run: F) -> Batcher<Q, A>
    where
        F: Fn(Vec<Q>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<Vec<A>>> + Send,
    {
        let (tx, rx) = mpsc::unbounded_channel::<(Q, Reply<A>)>();
        let rx = Arc::new(Mutex::new(rx));
        let run = Arc::new(run);
        for _ in 0..runners.max(1) {
            let (rx, run) = (rx.clone(), run.clone());
            tokio::spawn(async move {
                loop {
                    let mut batch = Vec::new();
                    {
                        let mut rx = rx.lock().await;
                        match rx.recv().await {
                            Some(first) => batch.push(first),
                            None => return,
                        }
                        while batch.len() < most {
                            match rx.try_recv() {
                                Ok(more) => batch.push(more),
                                Err(_) => break,
                            }
                        }
                    }
                    let (requests, replies): (Vec<Q>, Vec<Reply<A>>) = batch.into_iter().unzip();
                    let n = requests.len();
                    match run(requests).await {
                        Ok(answers) if answers.len() == n => {
                            for (reply, answer) in replies.into_iter().zip(answers) {
                                let _ = reply.send(Ok(answer));
                            }
                        }
                        Ok(answers) => {
                            let e = Arc::new(anyhow::anyhow!(
                                "a batch of {n} got {} answers",
                                answers.len()
                            ));
                            for reply in replies {
                                let _ = reply.send(Err(e.clone()));
                            }
                        }
                        Err(e) => {
                            let e = Arc::new(e);
                            for reply in replies {
                                let _ = reply.send(Err(e.clone()));
                            }
                        }
                    }
                }
            });
        }
        Batcher { tx }
    }

    /// Hands `request` to the next batch and waits for its answer.
    pub async fn call(&self, request: Q) -> anyhow::Result<A> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((request, reply))
            .map_err(|_| anyhow::anyhow!("the batcher has stopped"))?;
        match answer.await {
            Ok(Ok(a)) => Ok(a),
            Ok(Err(e)) => Err(anyhow::anyhow!("{e:#}")),
            Err(_) => anyhow::bail!("the batcher dropped the request"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn each_caller_gets_its_own_answer() {
        let b = Batcher::new(10, 2, |qs: Vec<u32>| async move {
            Ok(qs.into_iter().map(|q| q * 2).collect())
        });
        let answers = futures::future::join_all((0..100u32).map(|i| {
            let b = &b;
            async move { (i, b.call(i).await.unwrap()) }
        }))
        .await;
        for (i, a) in answers {
            assert_eq!(a, i * 2);
        }
    }

    #[tokio::test]
    async fn requests_that_wait_together_go_in_one_batch_of_at_most_the_size() {
        let batches = Arc::new(Mutex::new(Vec::new()));
        let seen = batches.clone();
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        let g = gate.clone();
        let b = Arc::new(Batcher::new(5, 1, move |qs: Vec<u32>| {
            let (seen, g) = (seen.clone(), g.clone());
            async move {
                seen.lock().await.push(qs.len());
                // The first batch is held until every other request is waiting.
                let _ = g.acquire().await.unwrap();
                Ok(qs)
            }
        }));
        let calls: Vec<_> = (0..12u32)
            .map(|i| {
                let b = b.clone();
                tokio::spawn(async move { b.call(i).await.unwrap() })
            })
            .collect();
        while batches.lock().await.is_empty() {
            tokio::task::yield_now().await;
        }
        tokio::task::yield_now().await;
        gate.add_permits(100);
        for c in calls {
            c.await.unwrap();
        }
        let sizes = batches.lock().await.clone();
        assert_eq!(sizes.iter().sum::<usize>(), 12);
        assert!(sizes.iter().all(|&n| n <= 5), "{sizes:?}");
        assert!(sizes.len() < 12, "no batching happened: {sizes:?}");
    }

    #[tokio::test]
    async fn a_failed_batch_fails_each_of_its_callers() {
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        let b: Batcher<u32, u32> = Batcher::new(10, 1, move |_qs: Vec<u32>| {
            r.fetch_add(1, Ordering::SeqCst);
            async { anyhow::bail!("postgres is down") }
        });
        let e = b.call(1).await.unwrap_err();
        assert!(format!("{e}").contains("postgres is down"), "{e}");
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_short_answer_is_an_error_not_a_wrong_answer() {
        let b = Batcher::new(10, 1, |_qs: Vec<u32>| async { Ok(Vec::<u32>::new()) });
        assert!(b.call(1).await.is_err());
    }
}
