import Foundation

/// Asks the client for input on the stdin socket: an `input_request` to the identities of
/// the cell's execute_request, then waiting for the `input_reply` that names it, while the
/// cell can still be interrupted. Used only by the thread that runs cells.
final class StdinChannel: InputAsker {
    private let socket: ZMQSocket
    private let codec: WireCodec
    private let session: String

    init(socket: ZMQSocket, codec: WireCodec, session: String) {
        self.socket = socket
        self.codec = codec
        self.session = session
    }

    /// The line typed, or an error when interrupted (`isCancelled`) first.
    func ask(prompt: String, password: Bool, parent: WireMessage, isCancelled: () -> Bool) throws -> String {
        // Drop replies left over from an earlier, interrupted request.
        while socket.receiveNow() != nil {}
        let request = parent.reply("input_request", content: ["prompt": .string(prompt), "password": .bool(password)],
                                   session: session)
        socket.send(codec.encode(request))
        while true {
            if isCancelled() { throw KernelError("interrupted while waiting for input") }
            guard let frames = socket.receive(timeout: 100) else { continue }
            switch codec.decode(frames) {
            case .failure(let error):
                KernelLog.info("dropped a message on stdin: \(error)")
            case .success(let reply):
                // jupyter_client sends its input_reply without a parent: accept that, but not
                // a reply to another request.
                let parent = reply.parentHeader["msg_id"]?.string
                guard reply.type == "input_reply", parent == nil || parent == request.id else {
                    KernelLog.info("ignored \(reply.type) on stdin (not the reply to our input_request)")
                    continue
                }
                return reply.content["value"]?.string ?? ""
            }
        }
    }
}
