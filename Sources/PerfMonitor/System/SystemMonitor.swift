import Synchronization

/// One reading of the process: its memory and the CPU it used since the reading before.
public struct ProcessSample: Sendable, Equatable {
    public var time: Double
    public var memory: ProcessMemory
    /// Percent of one core used since the previous sample.
    public var cpuPercent: Double

    public init(time: Double, memory: ProcessMemory, cpuPercent: Double) {
        self.time = time
        self.memory = memory
        self.cpuPercent = cpuPercent
    }
}

/// What the samples kept say about the trend.
public struct MemoryTrends: Sendable, Equatable {
    public var hoursAnalyzed: Double
    public var averageHeapBytes: Double
    public var minHeapBytes: Double
    public var maxHeapBytes: Double
    /// `increasing`, `stable` or `decreasing`, from the least-squares slope of the pressure.
    public var pressureTrend: String
}

/// Samples the daemon's own memory and CPU every collection interval (on the maintenance timer,
/// never on a query) and keeps them over the retention for trends. The alert engine judges the
/// sampled metrics (memory pressure, RSS, heap, CPU) on the latest sample.
public final class SystemMonitor: Sendable {
    /// A slope beyond ±1 percentage point of pressure per hour is a trend.
    static let trendSlopePerHour = 1.0

    private struct State {
        var samples: [ProcessSample] = []
        var next = 0
        var lastCPUSeconds: Double?
    }

    private let state = Mutex(State())
    private let capacity: Int

    /// Keeps `retention ÷ interval` samples (at most 17,280: a day of 5 s samples).
    public init(retention: TimeSpan, interval: TimeSpan) {
        capacity = Swift.max(1, Swift.min(17_280, Int(retention.milliseconds / Swift.max(1, interval.milliseconds))))
    }

    /// Reads /proc and the cgroup now and keeps the sample.
    @discardableResult
    public func sample(at time: Double) -> ProcessSample {
        let memory = ProcessMemory.read()
        let cpuSeconds = ProcessStats.cpuSeconds()
        let sample = state.withLock { state -> ProcessSample in
            let previous = state.samples.isEmpty ? nil : state.samples[(state.next - 1 + state.samples.count) % state.samples.count]
            var cpu = 0.0
            if let previous, let last = state.lastCPUSeconds, time > previous.time {
                cpu = Swift.max(0, (cpuSeconds - last) / (time - previous.time) * 100)
            }
            state.lastCPUSeconds = cpuSeconds
            return ProcessSample(time: time, memory: memory, cpuPercent: cpu)
        }
        record(sample)
        return sample
    }

    /// Keeps a sample (the ring drops the oldest when full).
    public func record(_ sample: ProcessSample) {
        state.withLock { state in
            if state.samples.count < capacity {
                state.samples.append(sample)
            } else {
                state.samples[state.next] = sample
            }
            state.next = (state.next + 1) % capacity
        }
    }

    public var latest: ProcessSample? {
        state.withLock { state in
            state.samples.isEmpty ? nil : state.samples[(state.next - 1 + state.samples.count) % state.samples.count]
        }
    }

    /// Trends over the samples kept; one sample is its own trend.
    public var trends: MemoryTrends? {
        let samples = state.withLock { $0.samples }
        guard let first = samples.min(by: { $0.time < $1.time }), let last = samples.max(by: { $0.time < $1.time }) else { return nil }
        let heaps = samples.map(\.memory.heapUsedBytes)
        // Least-squares slope of pressure (percentage points) against time (hours).
        let meanTime = samples.reduce(0) { $0 + $1.time } / Double(samples.count)
        let meanPressure = samples.reduce(0) { $0 + $1.memory.pressurePercent } / Double(samples.count)
        var covariance = 0.0, variance = 0.0
        for sample in samples {
            let hours = (sample.time - meanTime) / 3600
            covariance += hours * (sample.memory.pressurePercent - meanPressure)
            variance += hours * hours
        }
        let slope = variance > 0 ? covariance / variance : 0
        let trend = slope > Self.trendSlopePerHour ? "increasing" : slope < -Self.trendSlopePerHour ? "decreasing" : "stable"
        return MemoryTrends(hoursAnalyzed: (last.time - first.time) / 3600, averageHeapBytes: heaps.reduce(0, +) / Double(heaps.count),
                            minHeapBytes: heaps.min() ?? 0, maxHeapBytes: heaps.max() ?? 0, pressureTrend: trend)
    }
}
