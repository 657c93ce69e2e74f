#ifndef CAST_WORKER_THREAD_H
#define CAST_WORKER_THREAD_H
// The engine's worker pool: `Parallel.forEach` runs the chunks of one job on the calling
// thread and on persistent workers. Workers keep polling (with sched_yield, so a busy core
// goes to other work) for a short while after a job before they sleep, so the next job (a
// decoding step runs thousands of products a second) starts without waking a parked thread
// (~40 µs each time with Dispatch's pool). A job never waits for a worker to arrive: chunks
// nobody has taken are run by the caller.
//
// Which thread runs which chunk varies from job to job; what a chunk computes must depend
// only on its index. One job runs at a time: a caller that finds the pool busy (another
// thread's job, or a job started from inside a chunk) runs all of its chunks itself.

/// Most chunks one job may have (a job with more runs on the calling thread alone).
#define CAST_POOL_MAX_CHUNKS 0xFFFF

/// Runs `task(context, c)` for every c in 0..<chunks on at most `threads` threads (the
/// caller and persistent workers) and returns when all have finished. Chunks are handed out
/// one at a time, in order, to whichever thread is free, so there may be more chunks than
/// threads: a thread that starts late or is preempted takes fewer, and the caller waits
/// only for chunks another thread has already started.
void cast_pool_run(int chunks, int threads, void (*task)(void *context, int chunk), void *context);

/// Whether the calling thread is running a chunk of a job: a product called there runs on
/// that thread alone instead of splitting itself across cores again.
int cast_is_worker_thread(void);
#endif
