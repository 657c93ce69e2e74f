import Foundation

/// SIGINT as an interrupt (kernel.json's `interrupt_mode: signal`, or Ctrl-C in the terminal
/// that runs the notebook server): the handler only sets a flag, which the running cell
/// polls at its step boundaries like a message interrupt. The kernel never dies of it.
enum InterruptSignal {
    nonisolated(unsafe) private static var flag: sig_atomic_t = 0

    static var isRaised: Bool { flag != 0 }
    static func reset() { flag = 0 }

    static func install() {
        // A parent that started us with SIGINT blocked or ignored passes that on: undo both.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        signal(SIGINT) { _ in InterruptSignal.flag = 1 }
    }
}
