import Foundation

/// Ends the kernel when the process that started it dies without shutting it down (a
/// notebook server killed hard), so no orphan kernel keeps a model in memory. Jupyter names
/// its pid in `JPY_PARENT_PID`; without it nothing is watched.
enum ParentWatcher {
    static func start(environment: [String: String] = ProcessInfo.processInfo.environment) {
        guard let named = environment["JPY_PARENT_PID"].flatMap(Int32.init), named > 1 else { return }
        let parent = getppid()
        let thread = Thread {
            while true {
                sleep(1)
                // Reparented (to init or a subreaper): the parent is gone.
                if getppid() != parent || kill(named, 0) != 0 && errno == ESRCH {
                    KernelLog.info("the parent process \(named) is gone: exiting")
                    exit(0)
                }
            }
        }
        thread.name = "cast-kernel-parent-watcher"
        thread.start()
    }
}
