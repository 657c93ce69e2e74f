#ifndef CAST_WORKER_THREAD_H
#define CAST_WORKER_THREAD_H
// Whether the calling thread is running a chunk of `Parallel.forEach`: a product called
// there runs on that thread alone instead of splitting itself across cores again.
// (Swift has no thread-local storage of its own; C11's _Thread_local is one load.)
int cast_is_worker_thread(void);
void cast_set_worker_thread(int is_worker);
#endif
