import Foundation

/// Runs blocking work (sockets, waiting for a process) on a thread of its own, so that it never
/// occupies one of the few threads of Swift's cooperative pool that the server's async handlers need.
public func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}

/// Runs `work` on `count` threads at once and returns their results in order.
public func onThreads<T: Sendable>(_ count: Int, _ work: @escaping @Sendable (Int) throws -> T) async throws -> [T] {
    try await withThrowingTaskGroup(of: (Int, T).self) { group in
        for index in 0..<count {
            group.addTask { (index, try await onThread { try work(index) }) }
        }
        var results = [T?](repeating: nil, count: count)
        for try await (index, value) in group { results[index] = value }
        return results.map { $0! }
    }
}

/// Runs `body` with `value`, then `stop(value)` whether `body` returned or threw: how a test
/// makes sure every live server it starts is stopped (there is no async `defer`).
public func withStopping<Value, Result>(_ value: Value, _ stop: (Value) async -> Void,
                                        _ body: (Value) async throws -> Result) async throws -> Result {
    do {
        let result = try await body(value)
        await stop(value)
        return result
    } catch {
        await stop(value)
        throw error
    }
}

/// Polls `condition` every 20 ms until it holds or `seconds` pass (the assertions after it say which).
public func waitUntil(_ condition: () -> Bool, seconds: Double = 10) async throws {
    let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int(seconds * 1000)))
    while !condition(), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
}
