/// Errors loading or running a model, phrased for a notebook user.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case unsupportedArchitecture(String, String)
    case invalidConfig(String, String)
    case missingTensor(String, String)
    case tensorShape(String, String, expected: [Int], actual: [Int])
    case invalidInput(String)

    public var description: String {
        switch self {
        case .unsupportedArchitecture(let file, let arch):
            "\(file): architecture '\(arch)' is not supported (supported: \(Architecture.allCases.map(\.rawValue).joined(separator: ", ")))"
        case .invalidConfig(let source, let message): "\(source): invalid model config: \(message)"
        case .missingTensor(let file, let name): "\(file): tensor '\(name)' is missing"
        case .tensorShape(let file, let name, let expected, let actual):
            "\(file): tensor '\(name)' has shape \(actual), expected \(expected)"
        case .invalidInput(let message): message
        }
    }
}
