#include "kernel_dispatch.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[] = {"portable", "avx2", "avx512", "avx512vnni"};

const char *cast_kernel_name(CastKernel kernel) {
    return kernel >= CAST_KERNEL_PORTABLE && kernel <= CAST_KERNEL_AVX512VNNI ? names[kernel] : "unknown";
}

static CastKernel detect(void) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) return CAST_KERNEL_PORTABLE;
    if (!(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
          && __builtin_cpu_supports("avx512vl"))) return CAST_KERNEL_AVX2;
    if (!(__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vbmi"))) return CAST_KERNEL_AVX512;
    return CAST_KERNEL_AVX512VNNI;
#else
    return CAST_KERNEL_PORTABLE;
#endif
}

static CastKernel supported = CAST_KERNEL_PORTABLE, from_environment = CAST_KERNEL_PORTABLE;
static pthread_once_t once = PTHREAD_ONCE_INIT;

// Reads the CPU and the environment once; a bad CAST_KERNELS is a warning, not a failure,
// so a script written on one machine still runs on another.
static void resolve(void) {
    supported = detect();
    from_environment = supported;
    const char *portable = getenv("CAST_PORTABLE_KERNELS");
    if (portable && portable[0] == '1') from_environment = CAST_KERNEL_PORTABLE;
    const char *wanted = getenv("CAST_KERNELS");
    if (!wanted || !wanted[0]) return;
    for (int k = CAST_KERNEL_PORTABLE; k <= CAST_KERNEL_AVX512VNNI; k++) {
        if (strcmp(wanted, names[k]) != 0) continue;
        if (k > (int)supported)
            fprintf(stderr, "cast: warning: CAST_KERNELS=%s: this CPU does not support it; running %s\n",
                    wanted, names[supported]);
        if (k < (int)from_environment) from_environment = (CastKernel)k;
        return;
    }
    fprintf(stderr, "cast: warning: CAST_KERNELS=%s is not one of avx512vnni, avx512, avx2, portable; running %s\n",
            wanted, names[from_environment]);
}

CastKernel cast_kernel_supported(void) {
    pthread_once(&once, resolve);
    return supported;
}

static int forced = -1;

void cast_kernel_force(int kernel) { __atomic_store_n(&forced, kernel, __ATOMIC_RELAXED); }

CastKernel cast_kernel_capped(int kernel) {
    const CastKernel best = cast_kernel_supported();
    if (kernel < CAST_KERNEL_PORTABLE) return CAST_KERNEL_PORTABLE;
    return kernel > (int)best ? best : (CastKernel)kernel;
}

CastKernel cast_kernel_selected(void) {
    pthread_once(&once, resolve);
    const int force = __atomic_load_n(&forced, __ATOMIC_RELAXED);
    return force >= 0 ? cast_kernel_capped(force) : from_environment;
}

CastKernel cast_kernel_float32_path(CastKernel kernel) {
    return kernel == CAST_KERNEL_AVX512VNNI ? CAST_KERNEL_AVX512 : kernel;
}

CastKernel cast_kernel_int8_path(CastKernel kernel) {
    return kernel == CAST_KERNEL_AVX512 ? CAST_KERNEL_AVX2 : kernel;
}
