import Logging
import PerfMonitor
import PerfMonitorHTTP

/// Keeps the store in `state_file`: reads it back at start, writes it every `snapshot_interval`
/// and once more at shutdown. An unusable file is moved aside with a warning and the daemon
/// starts fresh; a failed write is counted and logged, and the daemon goes on.
struct SnapshotKeeper: Sendable {
    let file: SnapshotFile
    let store: MetricsStore
    let counters: IngestCounters
    /// The OTLP cumulative streams, kept as a section of the snapshot.
    let otlpStreams: CumulativeStreams
    let status: SnapshotStatus
    let logger: Logger

    func restore() async {
        let clock = ContinuousClock()
        let started = clock.now
        let bytes: [UInt8]?
        do {
            bytes = try file.read()
        } catch {
            logger.warning("cannot read the snapshot; starting fresh", metadata: ["error": "\(error)"])
            return
        }
        guard let bytes else {
            logger.info("no snapshot yet; starting fresh", metadata: ["state_file": "\(file.path)"])
            return
        }
        do {
            let snapshot = try StoreSnapshot.decode(bytes)
            await store.restore(snapshot)
            counters.restore(from: snapshot)
            if let section = snapshot.sections[CumulativeStreams.snapshotSection] {
                do {
                    try otlpStreams.restore(section)
                } catch {  // the rest of the snapshot is sound: only the streams start over
                    logger.warning("cannot read the OTLP streams of the snapshot; their next points set new baselines", metadata: ["error": "\(error)"])
                }
            }
            status.update { $0.restoredSeries = snapshot.seriesCount }
            logger.info("snapshot restored", metadata: [
                "state_file": "\(file.path)", "series": "\(snapshot.seriesCount)", "bytes": "\(bytes.count)",
                "age_seconds": "\(Int64(max(0, WallClock.now() - snapshot.savedAt)))",
                "milliseconds": "\((clock.now - started).milliseconds)",
            ])
        } catch {
            status.update { $0.movedAside += 1 }
            let moved: String
            do {
                moved = try file.moveAside(at: WallClock.now())
            } catch {
                moved = "not moved: \(error)"
            }
            logger.warning("\(error); starting fresh", metadata: ["state_file": "\(file.path)", "moved_to": "\(moved)"])
        }
    }

    /// Writes the snapshot; false when it could not be written (counted and logged).
    @discardableResult
    func write() async -> Bool {
        var snapshot = await store.snapshot()
        snapshot.counters.merge(counters.named) { _, ingest in ingest }
        snapshot.sections[CumulativeStreams.snapshotSection] = otlpStreams.encoded()
        // Accepted events as the store counts them at this same instant (everything it applied),
        // not as the route counted them a moment later: after a kill -9 the restored counter and
        // the restored store then agree, instead of the counter running ahead by what was in flight.
        snapshot.counters["ingest.accepted_events"] = snapshot.appliedEvents
        let clock = ContinuousClock()
        let started = clock.now
        let bytes = snapshot.encoded()
        do {
            try file.write(bytes)
            let seconds = (clock.now - started).seconds
            status.update { figures in
                figures.writes += 1
                figures.lastSuccessAt = snapshot.savedAt
                figures.lastBytes = bytes.count
                figures.lastSeconds = seconds
            }
            logger.debug("snapshot written", metadata: ["bytes": "\(bytes.count)", "series": "\(snapshot.seriesCount)"])
            return true
        } catch {
            status.update { $0.failures += 1 }
            logger.error("cannot write the snapshot", metadata: ["error": "\(error)"])
            return false
        }
    }
}
