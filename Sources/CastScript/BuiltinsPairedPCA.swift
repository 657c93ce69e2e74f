import CastAdapters
import CastAnalysis
import CastModels
import Foundation

/// `pca_pair`: two models' tokens on one PCA, the language's form of
/// `cast pca -m A --model-b B [--cast-adapter DIR] --plot f.svg` (both run `PairedComponents`).
extension AnalysisBuiltins {
    static let castOrFolderType = ParameterType("cast or string (a CAST folder)") { value in
        switch value {
        case .string: true
        case .object(let o): o is CastValue
        default: false
        }
    }

    static var pcaPair: Builtin {
        Builtin("pca_pair", [
            Parameter("a", .model, help: "The model whose tokens the components are fitted on (the source)."),
            Parameter("b", .model, help: "A second model reading the same text (the target)."),
            Parameter("text", textType, help: "What both read: a text, a list of texts or a corpus (positions paired by byte offset, as cka pairs them)."),
            Parameter("point", .string,
                      help: "a's point: a full name (blocks.10.q_proj.hook_in), or a per-layer name with layer. With cast, the "
                          + "input of a source module one of its CAST layers sits on."),
            Parameter("layer", .optional(.integer), default: Value.none, help: "The layer of a per-layer point name."),
            Parameter("cast", .optional(castOrFolderType), default: Value.none,
                      help: "A CAST adapter carrying a LoRA of a to b (cast(l, from: a, to: b)) or a CAST folder: b is read at the "
                          + "module input the point's CAST layer sits on and mapped into a's space by that layer's P_in. None: b "
                          + "is read at the same point, which must be as wide as a's."),
            Parameter("components", .integer, default: Value(10), help: "How many components to fit on a's tokens (at least 2: PC1 and PC2 are drawn)."),
        ] + readingParameters(tokens: Value(4096), tokensHelp: "Token budget: at most this many paired tokens per model (they are drawn)."),
        returns: "pca_pair",
        help: "PCA fitted on a's tokens at a point, with b's tokens on the same text projected on its components: shown as "
            + "both models' tokens on PC1 and PC2, coloured by model (SVG in a notebook, text graphics in a terminal). "
            + "With cast:, b's tokens are read where the CAST layer sits and mapped by its P_in, which shows how well P_in "
            + "lines the target up with the source. pp.projections_a and pp.projections_b hold the coordinates (row r of "
            + "both is the same place in the text); plot(pp) draws the scatter, plot(pp, kind: \"bar\") a's explained "
            + "variance; save(plot(pp), \"f.svg\") writes it. The same picture as cast pca --model-b.",
        example: "c = cast(lora(m, modules: [\"q_proj\"]), from: m, to: load(\"qwen2.5-0.5b\"))\n"
            + "pp = pca_pair(m, c.target, corpus(\"wiki\"), point: \"blocks.10.q_proj.hook_in\", cast: c, documents: 8, positions: \"skip-first\")\n"
            + "save(plot(pp), \"out/both.svg\")\n"
            + "pca_pair(m, m, \"The cat sat on the mat.\", point: \"hook_resid_post\", layer: 6)",
        usesEngine: true) { call in
            let a = call.object("a", as: ModelValue.self)!, b = call.object("b", as: ModelValue.self)!
            let point = try pairedPoint(call, model: a)
            let cast = try pairedCast(call, a: a, b: b)
            if let cast {
                do { _ = try CastSpaceMapping.layer(cast, mappingTo: point) } catch {
                    let covered = cast.layers.map { ActivationPoint(.linearInput($0.sourceSlot.module), layer: $0.sourceSlot.layer).name }
                    throw call.error("point", languageMessage(error) + Suggestions.hint(for: point.name, among: covered))
                }
            } else if let wa = PointCatalog(a.transformer).width(of: point), let wb = PointCatalog(b.transformer).width(of: point), wa != wb {
                throw call.error("b", "\(point.name) is \(wa) wide in \(a.transformer.name) but \(wb) in \(b.transformer.name); "
                                 + "give cast: (a CAST adapter from \(a.transformer.name) to \(b.transformer.name)) to map it into "
                                 + "\(a.transformer.name)'s space")
            } else if PointCatalog(b.transformer).width(of: point) == nil {
                throw call.error("b", "\(b.transformer.name) has no \(point.name) (its layers are 0...\(b.transformer.config.layerCount - 1))")
            }
            let components = try call.integer("components", in: 2...Int.max)
            let options = try captureOptions(call, keepRows: true, statistics: false)
            let texts = try pairedTexts(call, "text")
            let window = try call.integer("window", in: 2...Int.max)
            let interpreter = call.interpreter
            let sink = interpreter.progress
            sink?.begin(task: "pca_pair \(a.transformer.name) · \(b.transformer.name)", unit: "sequences", total: 2 * texts.count)
            defer { sink?.end() }
            do {
                let paired = try PairedComponents.run(a.transformer, b.transformer, texts: texts, point: point, cast: cast,
                                                      components: components, options: options, window: window,
                                                      progress: { done, total in
                    sink?.report(done: done, total: total, detail: "")
                    if done < total, interpreter.isCancelled() { throw CaptureStopped(done: done, total: total) }
                })
                return .object(try PairedPCAValue(paired))
            } catch let stop as CaptureStopped {
                throw interrupted(call, stop)
            } catch let error as AnalysisError {
                let message = languageMessage(error)
                let parameter = message.hasPrefix("no tokens were selected") ? "positions" : message.hasPrefix("PCA:") ? "components" : "text"
                throw call.error(parameter, message)
            }
        }
    }

    /// `point` (with `layer` for a per-layer name) in `model`, or a located error with the
    /// closest names.
    static func pairedPoint(_ call: Call, model: ModelValue) throws -> ActivationPoint {
        let catalog = PointCatalog(model.transformer)
        var layers: [Int] = []
        if call.value("layer") != Value.none {
            let count = catalog.layers.count
            let l = try call.integer("layer", in: -count...(count - 1))
            layers = [l < 0 ? l + count : l]
        }
        let name = call.string("point")
        let points: [ActivationPoint]
        do { points = try catalog.points([name], layers: layers) } catch {
            // A per-layer name without a layer: say how to name one.
            if layers.isEmpty, (try? catalog.points([name], layers: [0])) != nil {
                throw call.error("point", "\(name) is a per-layer name: give layer: (0...\(catalog.layers.count - 1)) or a full "
                                 + "name like blocks.\(catalog.layers.count - 1).\(name)")
            }
            throw call.error("point", languageMessage(error))
        }
        guard points.count == 1 else {
            throw call.error("point", "pca_pair draws one point; \(name) names \(points.count)")
        }
        return points[0]
    }

    /// The CAST adapter of `cast` (a value, or a folder loaded for `b`), checked to carry
    /// `a` to `b`; nil when none was given.
    static func pairedCast(_ call: Call, a: ModelValue, b: ModelValue) throws -> CastAdapter? {
        let adapter: CastAdapter
        switch call.value("cast") {
        case .object(let c as CastValue):
            adapter = c.cast
        case .string(let path):
            guard let folder = CastAdapterFolder.locate(path) else {
                throw call.error("cast", "\(Value.quote(path)) is not a CAST adapter folder (what save(c, …) and cast transfer write)")
            }
            do { adapter = try CastAdapterFolder.load(folder, target: b.transformer) } catch {
                throw call.error("cast", Interpreter.describe(error))
            }
        default:
            return nil
        }
        guard adapter.sourceName == a.transformer.name && adapter.targetName == b.transformer.name else {
            throw call.error("cast", "the CAST adapter carries \(adapter.sourceName) → \(adapter.targetName), not "
                             + "\(a.transformer.name) → \(b.transformer.name) (a → b)")
        }
        return adapter
    }
}
