#include "worker_thread.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

enum { MAX_WORKERS = 63 };
/// How long a worker keeps polling after the last job it was asked to help with before it
/// sleeps. Decoding runs one job every few tens of microseconds while a token is computed,
/// so the worker stays awake through a token, but sleeps 0.2 ms after the last one.
/// It polls with sched_yield, not a pause loop: Linux shares a core among sessions
/// (autogroup), so on a busy machine a spinning worker takes its time from the caller's own
/// work, where a yielding one gives it away (measured on a 2-core VM at load 8: the pause
/// loop doubled the time per token, polling with sched_yield kept it at one thread's).
/// When the core is otherwise idle, sched_yield returns at once (~0.2 µs).
static const long POLL_NANOSECONDS = 200000;
/// How long a caller spins on chunks still running elsewhere before it yields its core
/// between looks: about a chunk's time, so a worker that is running finishes first.
static const long YIELD_AFTER_NANOSECONDS = 20000;

static _Thread_local int is_worker_thread;

/// One persistent worker. Each sleeps on its own condition variable, so a job wakes only
/// the workers it may use (a job of 2 threads leaves the workers a 4-thread job started
/// asleep).
struct worker {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    atomic_int sleeping;
} __attribute__((aligned(64)));
static struct worker workers[MAX_WORKERS];

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;  // guards creating workers
static int worker_count;                                       // under pool_lock

/// Set while a job runs: one job at a time.
static _Alignas(64) atomic_int busy;
/// Bumped once a job is published; idle workers watch it.
static _Alignas(64) atomic_ulong generation;
/// The current job's hand-out in one word, so a chunk is taken by one compare-and-swap that
/// also checks which job it belongs to: bits 0–15 the next chunk, 16–31 the chunk count,
/// 32–47 how many workers may take chunks. A worker holding a stale word from an earlier
/// job can only succeed if the word is the current job's, with that chunk not yet taken,
/// so no chunk runs twice and none of a finished job runs late.
static _Alignas(64) _Atomic(uint64_t) ticket;
/// Chunks of the current job that have finished (on any thread).
static _Alignas(64) atomic_int done_chunks;
/// The current job; written before `ticket` publishes it and stable until it finishes,
/// which cannot happen while any thread holds one of its chunks.
static void (*job_task)(void *, int);
static void *job_context;

static inline int ticket_next(uint64_t t) { return (int)(t & 0xFFFF); }
static inline int ticket_chunks(uint64_t t) { return (int)((t >> 16) & 0xFFFF); }
static inline int ticket_helpers(uint64_t t) { return (int)((t >> 32) & 0xFFFF); }

int cast_is_worker_thread(void) { return is_worker_thread; }

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static long now_nanoseconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

/// Takes chunks of the published job until none is left (or, for worker `index`, until the
/// job turns out not to want that many workers); returns whether it was eligible.
static int take_chunks(int index) {
    int outer = is_worker_thread;
    is_worker_thread = 1;
    int eligible = 0;
    uint64_t t = atomic_load(&ticket);
    for (;;) {
        if (index >= ticket_helpers(t)) break;
        eligible = 1;
        if (ticket_next(t) >= ticket_chunks(t)) break;
        if (!atomic_compare_exchange_weak(&ticket, &t, t + 1)) continue;  // t is reloaded
        job_task(job_context, ticket_next(t));
        atomic_fetch_add(&done_chunks, 1);
        t = atomic_load(&ticket);
    }
    is_worker_thread = outer;
    return eligible;
}

/// Sleeps until a job newer than `seen` is published. `sleeping` is set before the last
/// look at `generation` and the caller looks at `sleeping` after bumping it (both
/// sequentially consistent), so either the worker sees the job or the caller signals.
static void park(struct worker *self, unsigned long seen) {
    atomic_store(&self->sleeping, 1);
    pthread_mutex_lock(&self->lock);
    while (atomic_load(&generation) == seen) pthread_cond_wait(&self->wake, &self->lock);
    pthread_mutex_unlock(&self->lock);
    atomic_store(&self->sleeping, 0);
}

static void *worker_main(void *argument) {
    int index = (int)(intptr_t)argument;
    struct worker *self = &workers[index];
    unsigned long seen = atomic_load(&generation);
    long deadline = now_nanoseconds() + POLL_NANOSECONDS;
    for (;;) {
        for (int polls = 0; atomic_load(&generation) == seen; polls++) {
            sched_yield();
            if ((polls & 7) == 7 && now_nanoseconds() > deadline) park(self, seen);
        }
        seen = atomic_load(&generation);
        // A job this worker is not asked to help with does not keep it awake.
        if (take_chunks(index)) deadline = now_nanoseconds() + POLL_NANOSECONDS;
    }
    return 0;
}

/// Starts workers until there are `wanted` (at most MAX_WORKERS); returns how many run.
static int ensure_workers(int wanted) {
    if (wanted > MAX_WORKERS) wanted = MAX_WORKERS;
    pthread_mutex_lock(&pool_lock);
    while (worker_count < wanted) {
        struct worker *w = &workers[worker_count];
        pthread_mutex_init(&w->lock, 0);
        pthread_cond_init(&w->wake, 0);
        atomic_store(&w->sleeping, 0);
        pthread_t thread;
        if (pthread_create(&thread, 0, worker_main, (void *)(intptr_t)worker_count) != 0) break;
        pthread_detach(thread);
        worker_count++;
    }
    int count = worker_count;
    pthread_mutex_unlock(&pool_lock);
    return count;
}

static void run_inline(int chunks, void (*task)(void *, int), void *context) {
    int outer = is_worker_thread;
    is_worker_thread = 1;
    for (int c = 0; c < chunks; c++) task(context, c);
    is_worker_thread = outer;
}

void cast_pool_run(int chunks, int threads, void (*task)(void *context, int chunk), void *context) {
    if (chunks <= 0) return;
    if (threads > chunks) threads = chunks;
    int idle = 0;
    if (threads <= 1 || chunks > CAST_POOL_MAX_CHUNKS || !atomic_compare_exchange_strong(&busy, &idle, 1)) {
        run_inline(chunks, task, context);
        return;
    }
    int helpers = ensure_workers(threads - 1);
    if (helpers > threads - 1) helpers = threads - 1;
    if (helpers == 0) {
        atomic_store(&busy, 0);
        run_inline(chunks, task, context);
        return;
    }
    atomic_store(&done_chunks, 0);
    job_task = task;
    job_context = context;
    atomic_store(&ticket, (uint64_t)helpers << 32 | (uint64_t)chunks << 16);
    atomic_fetch_add(&generation, 1);
    for (int k = 0; k < helpers; k++) {
        if (atomic_load(&workers[k].sleeping)) {
            pthread_mutex_lock(&workers[k].lock);
            pthread_cond_signal(&workers[k].wake);
            pthread_mutex_unlock(&workers[k].lock);
        }
    }
    take_chunks(-1);
    // Every chunk has been taken; wait only for those still running on workers.
    if (atomic_load(&done_chunks) < chunks) {
        long yield_at = now_nanoseconds() + YIELD_AFTER_NANOSECONDS;
        for (int spins = 0; atomic_load(&done_chunks) < chunks; spins++) {
            cpu_relax();
            if ((spins & 255) == 255 && now_nanoseconds() > yield_at) sched_yield();
        }
    }
    atomic_store(&busy, 0);
}
