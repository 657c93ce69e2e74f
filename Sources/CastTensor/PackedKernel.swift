import CKernels

/// Which implementation of the packed-weight kernels runs (`kernel_dispatch.h`). Chosen once
/// by CPU feature, fastest first; `CAST_KERNELS=avx512vnni|avx512|avx2|portable` forces a
/// path (capped at what the CPU supports). Every path computes the same bits.
public enum PackedKernel: String, Sendable, CaseIterable, Comparable {
    /// Plain C (any CPU; kept as the definition the others match).
    case portable
    /// AVX2 + FMA (AMD Zen 2/3, Intel Haswell and later).
    case avx2
    /// AVX-512 F/BW/VL.
    case avx512
    /// AVX-512 with VNNI and VBMI: int8 dot products in one instruction.
    case avx512vnni

    /// "AVX2 + FMA", for reports.
    public var displayName: String {
        switch self {
        case .portable: "portable C"
        case .avx2: "AVX2 + FMA"
        case .avx512: "AVX-512"
        case .avx512vnni: "AVX-512 VNNI"
        }
    }

    /// The fastest path this CPU supports.
    public static var supported: PackedKernel { PackedKernel(cast_kernel_supported()) }

    /// The path products run (the CPU's best unless `CAST_KERNELS` or a test lowers it).
    public static var selected: PackedKernel { PackedKernel(cast_kernel_selected()) }

    /// The path float32 products take on this one (VNNI has no float32 kernel of its own).
    public var float32Path: PackedKernel { PackedKernel(cast_kernel_float32_path(cKernel)) }

    /// The path int8 products take on this one (AVX-512 without VNNI uses the AVX2 one).
    public var int8Path: PackedKernel { PackedKernel(cast_kernel_int8_path(cKernel)) }

    /// "avx2 (AVX2 + FMA); int8 avx2": the float32 and int8 paths that run.
    public var summary: String {
        "\(float32Path.rawValue) (\(float32Path.displayName)); int8 \(int8Path.rawValue)"
    }

    public static func < (a: PackedKernel, b: PackedKernel) -> Bool { a.cKernel.rawValue < b.cKernel.rawValue }

    var cKernel: CastKernel {
        switch self {
        case .portable: CAST_KERNEL_PORTABLE
        case .avx2: CAST_KERNEL_AVX2
        case .avx512: CAST_KERNEL_AVX512
        case .avx512vnni: CAST_KERNEL_AVX512VNNI
        }
    }

    init(_ kernel: CastKernel) {
        switch kernel {
        case CAST_KERNEL_AVX2: self = .avx2
        case CAST_KERNEL_AVX512: self = .avx512
        case CAST_KERNEL_AVX512VNNI: self = .avx512vnni
        default: self = .portable
        }
    }
}
