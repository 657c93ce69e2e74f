#include "worker_thread.h"

static _Thread_local int is_worker_thread;

int cast_is_worker_thread(void) { return is_worker_thread; }
void cast_set_worker_thread(int is_worker) { is_worker_thread = is_worker; }
