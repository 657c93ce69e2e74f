#ifndef CAST_KERNEL_DISPATCH_H
#define CAST_KERNEL_DISPATCH_H
// Which implementation of the packed-weight kernels runs, chosen once by CPU feature:
// AVX-512 VNNI, AVX-512, AVX2 + FMA or portable C. Every path gives the same bits (each
// one performs the portable definition's operations in the same order), so the choice
// changes only the speed.
//
// CAST_KERNELS=avx512vnni|avx512|avx2|portable forces a path, capped at what the CPU
// supports (a warning on stderr says so, or names the valid values for an unknown one);
// CAST_PORTABLE_KERNELS=1 is an older spelling of CAST_KERNELS=portable.

/// The paths, slowest first: a path can run only where every path above it can.
typedef enum {
    CAST_KERNEL_PORTABLE = 0,
    CAST_KERNEL_AVX2 = 1,        // AVX2 + FMA (AMD Zen 2/3, Intel Haswell and later)
    CAST_KERNEL_AVX512 = 2,      // AVX-512 F/BW/VL
    CAST_KERNEL_AVX512VNNI = 3,  // AVX-512 + VNNI + VBMI (int8 dot products)
} CastKernel;

/// The fastest path this CPU supports.
CastKernel cast_kernel_supported(void);

/// The path the products run: cast_kernel_supported(), lowered by CAST_KERNELS and by
/// cast_kernel_force.
CastKernel cast_kernel_selected(void);

/// Forces `kernel` (capped at cast_kernel_supported()) for the whole process; a negative
/// value restores the default. For tests and benchmarks.
void cast_kernel_force(int kernel);

/// `kernel` capped at what the CPU supports (never a path that would fault).
CastKernel cast_kernel_capped(int kernel);

/// The float32 product path `kernel` runs (AVX-512 VNNI has no float32 kernel of its own).
CastKernel cast_kernel_float32_path(CastKernel kernel);

/// The int8 product path `kernel` runs: VNNI, else AVX2 (also on AVX-512 without VNNI),
/// else portable.
CastKernel cast_kernel_int8_path(CastKernel kernel);

/// "avx512vnni", "avx512", "avx2" or "portable" (the CAST_KERNELS spellings).
const char *cast_kernel_name(CastKernel kernel);

#endif
