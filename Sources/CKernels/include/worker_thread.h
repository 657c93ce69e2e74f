#ifndef CAST_WORKER_THREAD_H
#define CAST_WORKER_THREAD_H
// The engine's worker pool: `Parallel.forEach` runs the chunks of one job on the calling
// thread and on persistent workers. Workers spin for a short while after a job before they
// sleep, so the next job (a decoding step runs hundreds a second) starts without waking a
// parked thread (~40 µs each time with Dispatch's pool).
//
// Which thread runs which chunk varies from job to job; what a chunk computes must depend
// only on its index. One job runs at a time: a caller that finds the pool busy (another
// thread's job, or a job started from inside a chunk) runs all of its chunks itself.

/// Runs `task(context, c)` for every c in 0..<chunks and returns when all have finished.
void cast_pool_run(int chunks, void (*task)(void *context, int chunk), void *context);

/// Whether the calling thread is running a chunk of a job: a product called there runs on
/// that thread alone instead of splitting itself across cores again.
int cast_is_worker_thread(void);
#endif
