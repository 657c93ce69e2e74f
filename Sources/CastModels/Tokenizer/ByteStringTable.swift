/// Open-addressing hash table from byte strings to ids, looked up by pointer range so that
/// tokenizers can probe a slice of their input without building a `String` or `Array`.
/// Inserting an existing key replaces its id (later tokens win, as in llama.cpp).
struct ByteStringTable: Sendable {
    private var storage: [UInt8] = []
    private var starts: [Int32] = []
    private var lengths: [Int32] = []
    private var ids: [Int32] = []
    private var slots: [Int32]          // index into entries, -1 = empty
    private var mask: Int

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = Array(repeating: -1, count: size)
        mask = size - 1
    }

    var count: Int { ids.count }

    static func hash(_ p: UnsafeBufferPointer<UInt8>) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in p { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }

    mutating func insert(_ bytes: [UInt8], id: Int32) {
        if ids.count * 2 >= slots.count { grow() }
        bytes.withUnsafeBufferPointer { key in
            var slot = Self.hash(key) & mask
            while true {
                let entry = Int(slots[slot])
                if entry < 0 {
                    slots[slot] = Int32(ids.count)
                    starts.append(Int32(storage.count))
                    lengths.append(Int32(key.count))
                    ids.append(id)
                    storage.append(contentsOf: key)
                    return
                }
                if matches(entry: entry, key) { ids[entry] = id; return }
                slot = (slot + 1) & mask
            }
        }
    }

    func lookup(_ key: UnsafeBufferPointer<UInt8>) -> Int32? {
        var slot = Self.hash(key) & mask
        while true {
            let entry = Int(slots[slot])
            if entry < 0 { return nil }
            if matches(entry: entry, key) { return ids[entry] }
            slot = (slot + 1) & mask
        }
    }

    func lookup(_ key: [UInt8]) -> Int32? { key.withUnsafeBufferPointer { lookup($0) } }

    private func matches(entry: Int, _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        let length = Int(lengths[entry])
        guard length == key.count else { return false }
        let start = Int(starts[entry])
        return storage.withUnsafeBufferPointer { s in
            for i in 0..<length where s[start + i] != key[i] { return false }
            return true
        }
    }

    private mutating func grow() {
        let size = slots.count * 2
        slots = Array(repeating: -1, count: size)
        mask = size - 1
        storage.withUnsafeBufferPointer { s in
            for entry in ids.indices {
                let key = UnsafeBufferPointer(rebasing: s[Int(starts[entry])..<Int(starts[entry] + lengths[entry])])
                var slot = Self.hash(key) & mask
                while slots[slot] >= 0 { slot = (slot + 1) & mask }
                slots[slot] = Int32(entry)
            }
        }
    }
}
