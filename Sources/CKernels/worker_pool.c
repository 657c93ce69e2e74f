#include "worker_thread.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

enum { MAX_WORKERS = 63 };
/// How long an idle worker spins before it sleeps.
static const long SPIN_NANOSECONDS = 200000;

static _Thread_local int is_worker_thread;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_wake = PTHREAD_COND_INITIALIZER;
static int worker_count;  // under pool_lock

static atomic_int busy;
static atomic_ulong generation;
static void (*job_task)(void *, int);
static void *job_context;
static atomic_int job_chunks;
/// The next chunk to take; `CLOSED` between jobs, so a worker still looking at the last
/// job takes nothing from the next one before it is fully set up.
enum { CLOSED = 1 << 30 };
static atomic_int next_chunk = CLOSED;
static atomic_int done_chunks;

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

/// Takes chunks of the current job until none is left. The job's fields are read after a
/// chunk is taken: the caller writes them before it resets `next_chunk`.
static void run_chunks(void) {
    int outer = is_worker_thread;
    is_worker_thread = 1;
    for (;;) {
        int c = atomic_fetch_add(&next_chunk, 1);
        if (c >= atomic_load(&job_chunks)) break;
        job_task(job_context, c);
        atomic_fetch_add(&done_chunks, 1);
    }
    is_worker_thread = outer;
}

static void *worker_main(void *unused) {
    (void)unused;
    unsigned long seen = atomic_load(&generation);
    for (;;) {
        long deadline = now_nanoseconds() + SPIN_NANOSECONDS;
        for (int spins = 0; atomic_load(&generation) == seen; spins++) {
            cpu_relax();
            if ((spins & 255) == 255 && now_nanoseconds() > deadline) break;
        }
        if (atomic_load(&generation) == seen) {
            pthread_mutex_lock(&pool_lock);
            while (atomic_load(&generation) == seen) pthread_cond_wait(&pool_wake, &pool_lock);
            pthread_mutex_unlock(&pool_lock);
        }
        seen = atomic_load(&generation);
        run_chunks();
    }
    return 0;
}

/// Starts workers until there are `wanted` (at most MAX_WORKERS); returns how many run.
static int ensure_workers(int wanted) {
    if (wanted > MAX_WORKERS) wanted = MAX_WORKERS;
    pthread_mutex_lock(&pool_lock);
    while (worker_count < wanted) {
        pthread_t thread;
        if (pthread_create(&thread, 0, worker_main, 0) != 0) break;
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

void cast_pool_run(int chunks, void (*task)(void *context, int chunk), void *context) {
    int idle = 0;
    if (chunks <= 1 || !atomic_compare_exchange_strong(&busy, &idle, 1)) {
        run_inline(chunks, task, context);
        return;
    }
    if (ensure_workers(chunks - 1) == 0) {
        atomic_store(&busy, 0);
        run_inline(chunks, task, context);
        return;
    }
    atomic_store(&done_chunks, 0);
    job_task = task;
    job_context = context;
    atomic_store(&job_chunks, chunks);
    atomic_store(&next_chunk, 0);
    pthread_mutex_lock(&pool_lock);
    atomic_fetch_add(&generation, 1);
    pthread_cond_broadcast(&pool_wake);
    pthread_mutex_unlock(&pool_lock);
    run_chunks();
    while (atomic_load(&done_chunks) < chunks) cpu_relax();
    atomic_store(&next_chunk, CLOSED);
    atomic_store(&busy, 0);
}
