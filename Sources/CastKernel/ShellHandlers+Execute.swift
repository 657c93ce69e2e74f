import CastScript
import Foundation

extension ShellHandlers {
    /// execute_request: runs the code in the interpreter with this cell's outputs wired to
    /// IOPub (streams, displays, progress, the pager, input on stdin), then answers ok,
    /// error or interrupted. Variables keep their values whatever happens.
    func execute(_ request: WireMessage) -> Reply? {
        let code = request.content["code"]?.string ?? ""
        let silent = request.content["silent"]?.bool ?? false
        let storeHistory = silent ? false : (request.content["store_history"]?.bool ?? true)
        let allowStdin = request.content["allow_stdin"]?.bool ?? true
        let stopOnError = request.content["stop_on_error"]?.bool ?? true
        if storeHistory { executionCount += 1 }
        let count = executionCount
        if !silent {
            iopub.publish("execute_input", ["code": .string(code), "execution_count": .int(count)], parent: request)
        }
        cancellation.reset()
        InterruptSignal.reset()
        let output = CellOutput(iopub: iopub, parent: request, silent: silent)
        let progress = KernelProgress(iopub: iopub, parent: request, beforeFirstShow: { output.flushPending() })
        interpreter.output = { output.stream("stdout", $0) }
        interpreter.progress = silent ? nil : progress
        var hooks = FrontEndHooks()
        hooks.writeError = { output.stream("stderr", $0) }
        hooks.display = { output.display($0) }
        hooks.clearOutput = { output.clear(wait: $0) }
        // Paged values go back in the reply's payload, where Jupyter opens its pager.
        var pages: [JSON] = []
        hooks.page = { value in
            output.flushPending()
            pages.append(["source": "page", "data": JSON(value.display()), "start": 0])
        }
        hooks.readInput = { [stdin, interpreter] prompt, password in
            guard allowStdin else { throw KernelError("this front end does not accept input (allow_stdin is false)") }
            output.flushPending()
            return try stdin.ask(prompt: prompt, password: password, parent: request, isCancelled: interpreter.isCancelled)
        }
        interpreter.frontEnd = hooks
        defer {
            interpreter.output = { _ in }
            interpreter.progress = nil
            interpreter.frontEnd = FrontEndHooks()
        }

        var failure: ExecutionFailure?
        do {
            try interpreter.run(code, file: "In[\(count)]") { output.show($0) }
        } catch let error as ScriptError {
            failure = ExecutionFailure(error)
        } catch {
            failure = ExecutionFailure(name: "Error", value: "\(error)", traceback: ["error: \(error)"])
        }
        // A long builtin that was interrupted returns what it made; the cell still ends as
        // interrupted, so the person sees that it stopped early.
        // Whatever else went wrong after an interrupt (an input cut short), the cell ends as
        // interrupted; the other error's text stays in the traceback.
        if interpreter.isCancelled(), failure?.name != ExecutionFailure.interrupted.name {
            var interrupted = ExecutionFailure.interrupted
            if let other = failure { interrupted.traceback += [""] + other.traceback }
            failure = interrupted
        }
        // Values shown before an error still show (as plain outputs); only a cell that
        // finished has an execute_result.
        if failure == nil { output.finish(executionCount: count) } else { output.flushPending() }
        // The history keeps a result's beginning only: a 10 MB value would bloat every later start.
        if storeHistory { history.append(line: count, input: code, output: output.resultText.map { String($0.prefix(10_000)) }) }
        cancellation.reset()
        InterruptSignal.reset()

        if let failure {
            if !silent { iopub.publish("error", failure.content, parent: request) }
            abortQueued = stopOnError
            var content = failure.content
            if case .object(var fields) = content {
                fields["status"] = "error"
                fields["execution_count"] = .int(count)
                content = .object(fields)
            }
            return Reply(type: "execute_reply", content: content)
        }
        return Reply(type: "execute_reply", content: [
            "status": "ok", "execution_count": .int(count), "payload": .array(silent ? [] : pages),
            "user_expressions": .object(userExpressions(request.content["user_expressions"]?.object ?? [:])),
        ])
    }

    /// Each user expression's value as a MIME bundle, or its error.
    private func userExpressions(_ expressions: [String: JSON]) -> [String: JSON] {
        var results: [String: JSON] = [:]
        for (name, source) in expressions {
            guard let code = source.string else { continue }
            do {
                let value = try interpreter.evaluate(code)
                results[name] = ["status": "ok", "data": JSON(value.display()), "metadata": [:]]
            } catch {
                let failure = (error as? ScriptError).map(ExecutionFailure.init)
                    ?? ExecutionFailure(name: "Error", value: "\(error)", traceback: ["\(error)"])
                var content = failure.content.object ?? [:]
                content["status"] = "error"
                results[name] = .object(content)
            }
        }
        return results
    }
}
