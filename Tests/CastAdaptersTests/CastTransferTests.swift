import CastAdapters
import CastModels
import CastTensor
import CastTestSupport
import Foundation
import Testing

/// CAST on tiny models: export equivalence, files, exact resume, and the end-to-end case
/// whose answer is known (a target that is the source with its residual stream rotated).
@Suite("CAST: export, files, resume, rotated target")
struct CastTransferTests {
    static func logits(_ model: Transformer, _ adapters: AdapterSet, _ sequences: [[Int32]]) throws -> Tensor {
        var pass = ForwardPass()
        try model.forward(sequences, options: ForwardOptions(adapters: adapters), pass: &pass)
        return pass.logits
    }

    /// A CAST adapter on the wide target with every P non-zero.
    static func trainedLooking() throws -> (source: Transformer, lora: LoRAAdapter, target: Transformer, cast: CastAdapter) {
        let (source, lora) = try CastTinyModels.source()
        let target = try CastTinyModels.widerTarget()
        let cast = try CastAdapter(lora: lora, source: source, target: target, layerMap: .relativeDepth, seed: 2)
        var rng = SeededGenerator(seed: 8)
        for layer in cast.layers { layer.cast.pOut = Tensor.randomNormal(layer.cast.pOut.shape, std: 0.5, using: &rng) }
        return (source, lora, target, cast)
    }

    /// The exported LoRA (in memory, through a PEFT folder and through a GGUF-LoRA file)
    /// gives the target the CAST layers' logits.
    @Test func exportGivesTheCastLayersLogits() throws {
        let (_, lora, target, cast) = try Self.trainedLooking()
        let sequences = TinyModels.sequences(batch: 2, tokens: 8, seed: 3)
        let bare = try Self.logits(target, .none, sequences)
        let expected = try Self.logits(target, cast.adapters, sequences)
        #expect(TestSupport.maxDifference(bare, expected) > 0.1, "the CAST layers must change the logits")
        let exported = try cast.exported()
        #expect(exported.config.rank == lora.config.rank)
        #expect(exported.modules.count == cast.layers.count)
        try #expect(TestSupport.maxDifference(try Self.logits(target, exported.adapters, sequences), expected) <= 1e-4)
        let folder = try TestSupport.temporaryFolder()
        try PEFTAdapterFolder.save(exported, for: target.config, to: folder.appendingPathComponent("peft"))
        let peft = try PEFTAdapterFolder.load(folder.appendingPathComponent("peft"), for: target.config)
        try #expect(TestSupport.maxDifference(try Self.logits(target, peft.adapters, sequences), expected) <= 1e-3)
        let gguf = folder.appendingPathComponent("lora.gguf")
        try GGUFLoRAFile.save(exported, for: target.config, to: gguf)
        let fromGGUF = try GGUFLoRAFile.load(gguf, for: target.config)
        try #expect(TestSupport.maxDifference(try Self.logits(target, fromGGUF.adapters, sequences), expected) <= 1e-3)
    }

    /// A CAST folder over a source LoRA saved as a PEFT folder, in a fresh temporary folder.
    static func savedFolder() throws -> (folder: URL, loraFolder: URL, target: Transformer, cast: CastAdapter) {
        let (source, lora, target, cast) = try Self.trainedLooking()
        let root = try TestSupport.temporaryFolder()
        let loraFolder = root.appendingPathComponent("source-lora")
        try PEFTAdapterFolder.save(lora, for: source.config, to: loraFolder)
        let folder = root.appendingPathComponent("cast")
        try CastAdapterFolder.save(cast, sourceAdapter: try SourceAdapterIdentity(of: loraFolder.path),
                                   training: .init(options: CastOptions(), step: 7, heldOutKL: .init(windows: 4, start: 0.5, end: 0.25)),
                                   to: folder)
        return (folder, loraFolder, target, cast)
    }

    /// Save and load keep every P, the head, the source factors (read back from the source
    /// adapter) and the logits; the config is plain JSON with the documented keys.
    @Test func adapterFolderRoundTrips() throws {
        let (folder, loraFolder, target, cast) = try Self.savedFolder()
        let loaded = try CastAdapterFolder.load(folder, target: target)
        let config = try CastAdapterFolder.config(folder)
        #expect(config.heldOutKL == .init(windows: 4, start: 0.5, end: 0.25) && config.options == CastOptions() && config.step == 7)
        #expect(loaded.layers.map(\.slot) == cast.layers.map(\.slot))
        for (a, b) in zip(loaded.layers, cast.layers) {
            #expect(a.cast.pIn.scalars == b.cast.pIn.scalars && a.cast.pOut.scalars == b.cast.pOut.scalars)
            try #expect(TestSupport.maxDifference(a.cast.source.a, b.cast.source.a) == 0 && a.cast.scale == b.cast.scale)
            #expect(a.sourceSlot == b.sourceSlot && a.cast.sourceRows == b.cast.sourceRows)
        }
        #expect(loaded.head.scalars == cast.head.scalars)
        let sequences = TinyModels.sequences(batch: 1, tokens: 6)
        try #expect(TestSupport.maxDifference(try Self.logits(target, loaded.adapters, sequences),
                                          try Self.logits(target, cast.adapters, sequences)) <= 1e-6)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent(CastAdapterFolder.configName))) as! [String: Any]
        #expect(json["format"] as? String == "cast-adapter" && json["version"] as? Int == 2 && json["step"] as? Int == 7)
        #expect((json["source_adapter"] as? [String: Any])?["path"] as? String == loraFolder.standardizedFileURL.path)
        #expect((json["held_out_kl"] as? [String: Any])?["end"] as? Double == 0.25)
        let layer = (json["layers"] as? [[String: Any]])?.first
        #expect(layer?["name"] as? String == cast.layers[0].slot.description && layer?["source_module"] != nil)
        // The files are in HF order: P_out (cast folder) · B (source PEFT folder) is the
        // exported PEFT folder's B, tensor for tensor as PyTorch would multiply them.
        let exported = try TestSupport.temporaryFolder().appendingPathComponent("export")
        try PEFTAdapterFolder.save(try cast.exported(), for: target.config, to: exported)
        let castFile = try SafetensorsFile(url: folder.appendingPathComponent(CastAdapterFolder.weightsName))
        let sourceFile = try SafetensorsFile(url: loraFolder.appendingPathComponent(PEFTAdapterFolder.weightsName))
        let exportFile = try SafetensorsFile(url: exported.appendingPathComponent(PEFTAdapterFolder.weightsName))
        for layer in cast.layers {
            let pOut = try castFile.tensor("\(layer.slot).p_out")
            let b = try sourceFile.tensor("base_model.model.\(layer.sourcePath).lora_B.weight")
            let path = HFLayout.modulePath(layer.slot, architecture: target.config.architecture)!
            let product = try Tensor.matmul(pOut, b)
            try #expect(TestSupport.maxDifference(product, try exportFile.tensor("base_model.model.\(path).lora_B.weight")) < 1e-5,
                        "\(layer.slot)")
        }
        #expect(CastAdapterFolder.locate(folder.path)?.path == folder.path)
        #expect(CastAdapterFolder.locate(folder.appendingPathComponent(CastAdapterFolder.configName).path)?.path == folder.path)
        #expect(CastAdapterFolder.locate(loraFolder.path) == nil)
        // Another target is refused, naming both.
        let other = try TinyModels.model(.qwen2)
        #expect { try CastAdapterFolder.load(folder, target: other) } throws: { error in
            "\(error)".contains("tiny-qwen2") && "\(error)".contains(folder.path)
        }
    }

    /// The source adapter moved: refused naming where it was; found again with
    /// `sourceAdapter:`; changed: refused naming the file and both SHA-256s.
    @Test func sourceAdapterMissingOrChangedIsRefused() throws {
        let (folder, loraFolder, target, _) = try Self.savedFolder()
        let moved = loraFolder.deletingLastPathComponent().appendingPathComponent("moved-lora")
        try FileManager.default.moveItem(at: loraFolder, to: moved)
        #expect { try CastAdapterFolder.load(folder, target: target) } throws: { error in
            "\(error)".contains("source adapter \(loraFolder.standardizedFileURL.path) is missing") && "\(error)".contains("--source-adapter")
        }
        _ = try CastAdapterFolder.load(folder, target: target, sourceAdapter: moved.path)
        let config = moved.appendingPathComponent(PEFTConfigFile.fileName)
        var text = try String(contentsOf: config, encoding: .utf8)
        text = text.replacingOccurrences(of: "\"r\"", with: "\"r\" ")
        try text.write(to: config, atomically: true, encoding: .utf8)
        #expect { try CastAdapterFolder.load(folder, target: target, sourceAdapter: moved.path) } throws: { error in
            "\(error)".contains("has changed since training: adapter_config.json has sha256")
        }
    }

    /// A config of another version, a malformed field, or tensors from another step than the
    /// config: clear errors naming the file.
    @Test func damagedFolderIsRefused() throws {
        let (folder, _, target, cast) = try Self.savedFolder()
        let configURL = folder.appendingPathComponent(CastAdapterFolder.configName)
        let good = try Data(contentsOf: configURL)
        func withConfig(_ edit: (inout [String: Any]) -> Void) throws {
            var json = try JSONSerialization.jsonObject(with: good) as! [String: Any]
            edit(&json)
            try JSONSerialization.data(withJSONObject: json).write(to: configURL)
        }
        try withConfig { $0["version"] = 1 }
        #expect { try CastAdapterFolder.load(folder, target: target) } throws: { "\($0)".contains("field 'version' is 1") }
        try withConfig { $0["layers"] = "none" }
        #expect { try CastAdapterFolder.load(folder, target: target) } throws: { "\($0)".contains(configURL.path) && "\($0)".contains("layers") }
        try withConfig { $0["step"] = 8 }
        #expect { try CastAdapterFolder.load(folder, target: target) } throws: { "\($0)".contains("holds step 7 but cast_config.json says step 8") }
        try good.write(to: configURL)
        let weights = folder.appendingPathComponent(CastAdapterFolder.weightsName)
        let bytes = try Data(contentsOf: weights)
        try bytes.prefix(bytes.count / 2).write(to: weights)
        #expect { try CastAdapterFolder.load(folder, target: target) } throws: { "\($0)".contains(weights.path) }
        _ = cast
    }

    static func trainer(steps: Int, objective: CastObjective = .paper, seed: UInt64 = 2) throws -> CastTrainer {
        let (source, lora) = try CastTinyModels.source()
        let target = try CastTinyModels.widerTarget()
        var options = CastTinyModels.options(steps: steps, objective: objective)
        options.training.seed = seed
        let cast = try CastAdapter(lora: lora, source: source, target: target, layerMap: options.layerMap, seed: seed)
        return try CastTrainer(teacher: source, lora: lora, student: target, cast: cast,
                               corpus: try CastTinyModels.corpus(), options: options)
    }

    static func parameters(_ t: CastTrainer) -> [Float] {
        t.cast.layers.flatMap { $0.cast.pIn.scalars + $0.cast.pOut.scalars } + t.cast.head.scalars
    }

    /// 3 steps, a checkpoint, a fresh trainer restored from it, 3 more: the same run as 6
    /// straight steps, bit for bit, for every objective.
    @Test(arguments: CastObjective.allCases)
    func resumeContinuesTheSameRun(_ objective: CastObjective) throws {
        let straight = try Self.trainer(steps: 6, objective: objective)
        var straightLosses: [Double] = []
        try straight.run(onStep: { straightLosses.append($0.loss) })
        #expect(straightLosses.count == 6 && straightLosses.allSatisfy { $0.isFinite })

        let first = try Self.trainer(steps: 6, objective: objective)
        for _ in 0..<3 { try first.step() }
        let url = try TestSupport.temporaryFolder().appendingPathComponent("checkpoint.safetensors")
        try first.saveCheckpoint(to: url)
        let resumed = try Self.trainer(steps: 6, objective: objective)
        #expect(Self.parameters(resumed) != Self.parameters(first), "a fresh trainer must start elsewhere")
        try resumed.restoreCheckpoint(from: url)
        #expect(resumed.completedSteps == 3)
        #expect(Self.parameters(resumed) == Self.parameters(first), "the checkpoint must restore the P's and H exactly")
        var resumedLosses: [Double] = []
        try resumed.run(onStep: { resumedLosses.append($0.loss) })
        #expect(resumedLosses.count == 3)
        #expect(resumedLosses == Array(straightLosses.suffix(3)))
        #expect(Self.parameters(resumed) == Self.parameters(straight), "the resumed run must end where the straight one does, bit for bit")
    }

    /// Restoring into a trainer with other options is refused.
    @Test func resumeRefusesOtherOptions() throws {
        let a = try Self.trainer(steps: 2)
        try a.step()
        let url = try TestSupport.temporaryFolder().appendingPathComponent("checkpoint.safetensors")
        try a.saveCheckpoint(to: url)
        let other = try Self.trainer(steps: 2, objective: .excess)
        #expect(throws: AdapterError.self) { try other.restoreCheckpoint(from: url) }
        // An adapter file is not a checkpoint.
        let (folder, _, _, _) = try Self.savedFolder()
        let adapterURL = folder.appendingPathComponent(CastAdapterFolder.weightsName)
        #expect { try a.restoreCheckpoint(from: adapterURL) } throws: { "\($0)".contains("not a cast training checkpoint") }
    }

    /// The rotated source: least squares finds the exact P's (KL to the teacher ≈ 0 and the
    /// exported LoRA reproduces the source adapter's logits); from the standard start,
    /// training with the paper's loss drives the KL down more than tenfold.
    @Test func rotatedTargetIsSolved() throws {
        let (source, lora) = try CastTinyModels.source()
        let (target, _) = try CastTinyModels.rotated(source, seed: 21)
        let sequences = TinyModels.sequences(batch: 2, tokens: 8, seed: 30)
        let bareSource = try Self.logits(source, .none, sequences)
        try #expect(TestSupport.maxDifference(try Self.logits(target, .none, sequences), bareSource) <= 1e-4,
                "the rotated model must compute the source's function")
        let teacher = try Self.logits(source, lora.adapters, sequences)
        let corpus = try CastTinyModels.corpus(train: 256, heldOut: 8, tokens: 12)
        func heldOut(_ cast: CastAdapter?) throws -> Double {
            try HeldOutKL.measure(teacher: source, teacherAdapters: lora.adapters, student: target,
                                  studentAdapters: cast?.adapters ?? .none, corpus: corpus, windows: 8)!
        }
        let floor = try heldOut(nil)
        #expect(floor > 0.05, "the LoRA must change the source's predictions (KL \(floor))")

        let solved = try CastAdapter(lora: lora, source: source, target: target, layerMap: .index, seed: 1)
        let fit = try #require(try solved.initializeByLeastSquares(source: source, target: target, corpus: corpus, windows: 32,
                                                                   seed: 0, ridge: 1e-6))
        // A rotation relates the two models exactly: every map explains all of its outputs.
        #expect(fit.inputs.count == solved.layers.count && fit.inputs.allSatisfy { ($0 ?? 0) > 0.999 }, "\(fit.summary)")
        #expect(fit.inputsThroughA.count == solved.layers.count && fit.inputsThroughA.allSatisfy { ($0 ?? 0) > 0.999 }, "\(fit.summary)")
        #expect(fit.outputs.allSatisfy { ($0 ?? 0) > 0.999 } && (fit.head ?? 0) > 0.999, "\(fit.summary)")
        let solvedKL = try heldOut(solved)
        let exported = try solved.exported()
        let worst = TestSupport.maxDifference(try Self.logits(target, exported.adapters, sequences), teacher)
        print("rotated target: KL floor \(floor), least squares \(solvedKL); exported LoRA vs source+LoRA logits \(worst)")
        #expect(solvedKL < 1e-4)
        #expect(worst < 1e-2)

        var options = CastTinyModels.options(steps: 200)
        options.training.learningRate = 3e-2
        options.training.minLearningRate = 3e-3
        options.training.batchSize = 8
        options.windowLength = 12
        options.beta = 0
        let cast = try CastAdapter(lora: lora, source: source, target: target, layerMap: .index, seed: 1)
        let trainer = try CastTrainer(teacher: source, lora: lora, student: target, cast: cast, corpus: corpus, options: options)
        var losses: [Double] = []
        try trainer.run(onStep: { losses.append($0.kl) })
        let trainedKL = try heldOut(cast)
        print("rotated target, paper loss from the standard init, \(options.training.steps) steps: train KL \(losses.first!) → \(losses.last!), held-out \(floor) → \(trainedKL)")
        #expect(trainedKL < floor / 10)
    }

    /// Cross-LoRA onto the source itself keeps B where the SVD spans the output space and
    /// A where it spans the input space.
    @Test func crossLoRAOntoItself() throws {
        let (source, lora) = try CastTinyModels.source()
        let onto = try CrossLoRA.transfer(lora, source: source, target: source)
        #expect(onto.modules.map(\.path) == lora.modules.map(\.path))
        for (a, b) in zip(onto.modules, lora.modules) {
            let slot = b.slots[0].slot
            let shape = slot.module.shape(in: source.config)
            let k = min(shape.input, shape.output)
            #expect(a.factors.a.shape == b.factors.a.shape && a.factors.b.shape == b.factors.b.shape)
            if k == shape.output { #expect(TestSupport.maxDifference(a.factors.b, b.factors.b) < 1e-4, "\(b.path) B") }
            if k == shape.input { #expect(TestSupport.maxDifference(a.factors.a, b.factors.a) < 1e-4, "\(b.path) A") }
        }
        // Onto the wider, deeper target: right shapes, finite, and it changes the logits.
        let target = try CastTinyModels.widerTarget()
        let wide = try CrossLoRA.transfer(lora, source: source, target: target)
        try wide.adapters.validate(for: target)
        let sequences = TinyModels.sequences(batch: 1, tokens: 6)
        let l = try Self.logits(target, wide.adapters, sequences)
        #expect(l.scalars.allSatisfy { $0.isFinite })
        try #expect(TestSupport.maxDifference(l, try Self.logits(target, .none, sequences)) > 1e-3)
    }
}

/// Bad input to CAST: a clear error naming what and where, never a crash.
@Suite("CAST: bad input")
struct CastBadInputTests {
    @Test func layerMapNamingMissingLayers() throws {
        let (source, lora) = try CastTinyModels.source()
        let target = try CastTinyModels.widerTarget()
        #expect { try CastAdapter(lora: lora, source: source, target: target, layerMap: try LayerMapping(parsing: "0:5")) }
            throws: { "\($0)".contains("source layer 5 does not exist") }
        #expect { try CastAdapter(lora: lora, source: source, target: target, layerMap: try LayerMapping(parsing: "9:0")) }
            throws: { "\($0)".contains("target layer 9 does not exist") }
        #expect { try LayerMapping(parsing: "0-1") } throws: { "\($0)".contains("at '0-1'") }
        #expect { try LayerMapping(parsing: "0:1,0:0") } throws: { "\($0)".contains("appears twice") }
    }

    @Test func adapterThatDoesNotFitTheSource() throws {
        let (source, _) = try CastTinyModels.source()
        let target = try CastTinyModels.widerTarget()
        // A LoRA made for the wide model, claimed to be the tiny llama's.
        let foreign = try LoRAAdapter(for: target.config, config: LoRAConfig(rank: 2, alpha: 2, targetModules: ["q_proj"]), seed: 1)
        #expect(throws: (any Error).self) { try CastAdapter(lora: foreign, source: source, target: target) }
    }

    @Test func corpusTooShortForOneBatch() throws {
        let (source, lora) = try CastTinyModels.source()
        let target = try CastTinyModels.widerTarget()
        let cast = try CastAdapter(lora: lora, source: source, target: target)
        let corpus = try CastTinyModels.corpus(train: 2, heldOut: 1)
        #expect { try CastTrainer(teacher: source, lora: lora, student: target, cast: cast, corpus: corpus, options: CastTinyModels.options()) }
            throws: { "\($0)".contains("fewer than one batch of 3") }
        var bad = CastTinyModels.options()
        bad.alpha = 0
        bad.beta = 0
        #expect { try CastTrainer(teacher: source, lora: lora, student: target, cast: cast, corpus: try CastTinyModels.corpus(), options: bad) }
            throws: { "\($0)".contains("α and β are both 0") }
    }

    /// A NaN in a P makes the step throw before anything moves: the adapter and the step
    /// count keep the last good step.
    @Test func nonFiniteLossKeepsTheLastGoodState() throws {
        let t = try CastTransferTests.trainer(steps: 4)
        try t.step()
        let good = CastTransferTests.parameters(t)
        t.cast.layers[0].cast.pOut.mutableData[0] = .nan
        #expect(throws: (any Error).self) { try t.step() }
        #expect(t.completedSteps == 1)
        var after = CastTransferTests.parameters(t)
        let index = t.cast.layers[0].cast.pIn.count
        #expect(after[index].isNaN)
        after[index] = good[index]
        #expect(after == good, "the failed step changed the adapter")
    }

    @Test func unknownVariant() {
        #expect { try CastOptions().variant("best") } throws: { "\($0)".contains("unknown CAST variant 'best'") }
    }
}
