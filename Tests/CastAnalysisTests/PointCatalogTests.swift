import CastModels
import Testing
@testable import CastAnalysis

@Suite struct PointCatalogTests {
    let llama = PointCatalog(modelName: "tiny-llama", config: TinyModels.config(.llama))
    let gpt2 = PointCatalog(modelName: "tiny-gpt2", config: TinyModels.config(.gpt2))

    @Test func namesRoundTripAndOrder() throws {
        for point in llama.allPoints {
            #expect(ActivationPoint(parsing: point.name) == point, "\(point.name)")
        }
        #expect(llama.allPoints == llama.allPoints.sorted())
        #expect(llama.allPoints.last?.name == "ln_final.hook_normalized")
        let l = llama.config.layerCount
        #expect(llama.allPoints.count == l * llama.kinds.filter(\.isPerLayer).count + 1)
    }

    @Test func widthsFollowTheConfig() throws {
        let c = llama.config
        #expect(llama.width(of: ActivationPoint(.residPost, layer: 0)) == c.hiddenSize)
        #expect(llama.width(of: ActivationPoint(.key, layer: 0)) == c.kvWidth)
        #expect(llama.width(of: ActivationPoint(.z, layer: 0)) == c.queryWidth)
        #expect(llama.width(of: ActivationPoint(.linearInput(.down), layer: 1)) == c.intermediateSize)
        // GPT-2's MLP has no gate: no hook_pre_linear and no gate_proj input.
        #expect(gpt2.width(of: ActivationPoint(.mlpPreLinear, layer: 0)) == nil)
        #expect(gpt2.width(of: ActivationPoint(.linearInput(.gate), layer: 0)) == nil)
        #expect(!gpt2.kinds.contains(.mlpPreLinear))
    }

    @Test func namesAndLayersResolve() throws {
        let l = llama.config.layerCount
        let points = try llama.points(["resid_post", "attn.hook_q", "blocks.0.mlp.hook_post", "ln_final.hook_normalized"],
                                      layers: llama.layers(parsing: "0,\(l - 1)"))
        #expect(points.map(\.name) == ["blocks.0.hook_resid_post", "blocks.\(l - 1).hook_resid_post", "blocks.0.attn.hook_q",
                                       "blocks.\(l - 1).attn.hook_q", "blocks.0.mlp.hook_post", "ln_final.hook_normalized"])
        #expect(try llama.layers(parsing: "all") == Array(0..<l))
        #expect(try llama.layers(parsing: "last") == [l - 1])
        #expect(try llama.layers(parsing: "0-1") == [0, 1])
    }

    @Test func unknownPointsSuggestAndListValidOnes() throws {
        let typo = #expect(throws: AnalysisError.self) { try llama.points(["hook_resid_pots"], layers: [0]) }
        #expect(typo?.description.contains("Did you mean hook_resid_post") == true, "\(typo?.description ?? "")")
        #expect(typo?.description.contains("hook_attn_out") == true)
        let inLayer = #expect(throws: AnalysisError.self) { try llama.points(["blocks.0.attn.hook_zz"], layers: [0]) }
        #expect(inLayer?.description.contains("Did you mean attn.hook_z") == true, "\(inLayer?.description ?? "")")
        let layer = #expect(throws: AnalysisError.self) { try llama.points(["blocks.99.hook_resid_post"], layers: [0]) }
        #expect(layer?.description.contains("no layer 99") == true)
        #expect(layer?.description.contains("0...\(llama.config.layerCount - 1)") == true, "\(layer?.description ?? "")")
        let badLayers = #expect(throws: AnalysisError.self) { try llama.layers(parsing: "0,40") }
        #expect(badLayers?.description.contains("no layer 40") == true)
        let gate = #expect(throws: AnalysisError.self) { try gpt2.points(["mlp.hook_pre_linear"], layers: [0]) }
        #expect(gate?.description.contains("gpt2") == true)
    }

    @Test func suggestionsAreClosestFirst() {
        #expect(Suggestions.distance("kitten", "sitting") == 3)
        #expect(Suggestions.closest(to: "hook_resid_pst", in: ["hook_resid_post", "hook_resid_pre", "hook_mlp_out"]).first == "hook_resid_post")
    }
}
