import Foundation
import Testing
@testable import CastModels

@Suite struct CastHomeTests {
    @Test func layoutIsUnderRoot() {
        #expect(CastHome.models.path.hasPrefix(CastHome.root.path))
        #expect(CastHome.models.lastPathComponent == "models")
        #expect(CastHome.corpus.lastPathComponent == "corpus")
    }
}
