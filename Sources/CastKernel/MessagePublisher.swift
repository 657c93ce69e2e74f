/// Where the kernel's logic sends IOPub messages: the IOPub channel in the kernel, a
/// recorder in tests. Keeps the handlers free of sockets.
protocol MessagePublisher: AnyObject {
    /// Publishes `type` with `content`, as a child of `parent` when given.
    func publish(_ type: String, _ content: JSON, parent: WireMessage?, metadata: JSON)
}

extension MessagePublisher {
    func publish(_ type: String, _ content: JSON, parent: WireMessage?) {
        publish(type, content, parent: parent, metadata: [:])
    }
}

/// How the kernel's logic asks the client for a line of input: the stdin channel in the
/// kernel, a stub in tests.
protocol InputAsker: AnyObject {
    /// The line typed for `parent`'s cell; throws when `isCancelled` turns true first.
    func ask(prompt: String, password: Bool, parent: WireMessage, isCancelled: () -> Bool) throws -> String
}
