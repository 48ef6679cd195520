import Foundation
@testable import PerfMonitor
import Testing
import TestSupport

/// The store's snapshot: what goes in comes back, damage is detected, never a crash.
@Suite struct SnapshotTests {
    let clock = ManualClock()

    /// A store with every kind of series, windows in several tiers, an open request and a fold.
    func populatedStore(_ configuration: StoreConfiguration = StoreConfiguration()) async -> MetricsStore {
        var configuration = configuration
        configuration.limits.modelsPerProvider = 3
        let store = MetricsStore(configuration: configuration, clock: clock)
        let start = clock.now()
        for minute in 0..<90 {
            clock.advance(by: 60)
            let t = clock.now()
            await store.ingest([
                providerCall("openai", "gpt-4o", at: t, ms: 100 + Double(minute)) { $0.ttftMs = 40; $0.costUSD = 0.002; $0.statusCode = 200 },
                providerCall("anthropic", "claude-\(minute % 5)", at: t, ms: 900) { $0.success = false; $0.errorType = "timeout" },
                event(.request, at: t) {
                    $0.endpoint = "/v1/chat"; $0.method = "POST"; $0.durationMs = 250; $0.statusCode = 200
                    $0.retryCount = Double(minute % 3); $0.cacheHit = minute % 2 == 0
                },
                event(.operation, at: t) { $0.component = "router"; $0.operation = "route"; $0.durationMs = 3 },
                event(.cacheHit, at: t) { $0.component = "cache" },
                event(.metric, at: t) { $0.metric = "queue_depth"; $0.value = Double(minute) },
                event(.failover, at: t) { $0.provider = "openai"; $0.metadata = ["to_provider": "anthropic"] },
                event(.error, at: t) { $0.errorType = "oops" },
                event(.metric, at: t) { $0.metric = "llm.calls"; $0.kind = "counter"; $0.value = 2; $0.labels = ["route": "chat", "tier": "a\"b"] },
                event(.metric, at: t) { $0.metric = "latency"; $0.kind = "histogram"; $0.unit = "ms"; $0.value = Double(minute) },
                event(.metric, at: t) { $0.metric = "users"; $0.kind = "set"; $0.member = "u\(minute % 7)" },
                event(.metric, at: t) { $0.metric = "temperature"; $0.kind = "gauge"; $0.value = 1; $0.delta = minute > 0 },
            ])
            await store.maintain()
        }
        await store.ingest([event(.requestStart, at: clock.now()) { $0.requestID = "r-1"; $0.endpoint = "/v1/chat"; $0.provider = "openai" }])
        #expect(clock.now() - start == 5400)
        return store
    }

    /// Every query the API makes, for comparing two stores.
    func answers(_ store: MetricsStore) async -> [String] {
        var result: [String] = []
        for kind in SeriesKind.allCases {
            for window in [nil, TimeSpan.seconds(300), .seconds(3600), .seconds(86_400)] as [TimeSpan?] {
                for view in await store.series(kind, window: window) {
                    // A set's members in order: a Set's own order differs from instance to instance.
                    var aggregate = view.aggregate
                    let members = aggregate.distinct.exactMembers ?? []
                    aggregate.distinct = DistinctMembers()
                    result.append("\(kind) \(String(describing: window)) \(view.key) \(aggregate) \(members) \(view.firstSeen) \(view.lastSeen)")
                }
            }
        }
        let status = await store.currentStatus()
        result.append("\(status.appliedByType.sorted { $0.key.rawValue < $1.key.rawValue }) \(status.foldedByDimension) \(status.openRequests)")
        return result
    }

    /// Labelled custom metrics come back with their kinds and units: the restored store refuses a
    /// kind change and shows a time histogram in seconds, as the original did.
    @Test func customMetricsKeepTheirKindsAndUnitsAcrossARestart() async throws {
        let store = await populatedStore()
        let restored = MetricsStore(clock: clock)
        await restored.restore(try StoreSnapshot.decode(await store.snapshot().encoded()))
        #expect(restored.catalog.current["latency"] == MetricCatalog.Entry(kind: .histogram, unit: "ms",
                                                                          sampleNames: ["latency_seconds_bucket", "latency_seconds_sum", "latency_seconds_count"]))
        #expect(restored.catalog.admit(MetricSample(name: "users", .gauge(1))) != nil, "a set stays a set")
        let calls = await restored.series(.counter).first
        #expect(calls?.key.second == #"route="chat",tier="a\"b""# && calls?.aggregate.valueSum == 180)
        #expect(await restored.series(.set).first?.aggregate.distinct.count == 7)
        #expect(await restored.series(.gauge).first?.aggregate.lastValue == 90, "a delta adds to the gauge: 1 + 89 × 1")
    }

    /// A snapshot written by the previous version (format 1, committed as it was written) is read
    /// and converted: its untyped metrics stay untyped, nothing is moved aside.
    @Test func aVersionOneSnapshotIsReadAndConverted() async throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/snapshot-v1.bin")
        let bytes = Array(try Data(contentsOf: url))
        #expect(bytes[8] == 1, "the fixture is a version 1 file")
        let snapshot = try StoreSnapshot.decode(bytes)
        let store = MetricsStore(clock: ManualClock(snapshot.savedAt))
        await store.restore(snapshot)
        #expect(await store.series(.metric).map(\.key) == [SeriesKey(.metric, "queue_depth", "")])
        #expect(await store.series(.metric).first?.aggregate.lastValue == 9)
        #expect(await store.series(.provider).first?.aggregate.costUSD == 0.5)
        #expect(store.catalog.current["queue_depth"]?.kind == .untyped)
        let rewritten = try StoreSnapshot.decode(await store.snapshot().encoded())
        #expect(rewritten.seriesCount == snapshot.seriesCount, "written again as version 3")
    }

    @Test func aRoundTripGivesTheSameAnswers() async throws {
        let store = await populatedStore()
        let bytes = await store.snapshot().encoded()
        let restored = MetricsStore(clock: clock)
        await restored.restore(try StoreSnapshot.decode(bytes))
        let before = await answers(store), after = await answers(restored)
        #expect(before.count == after.count && before.count > 40)
        let differing = zip(before, after).first { $0 != $1 }
        #expect(differing == nil, "first difference: \(differing.map { "\($0.0.prefix(300))\n≠ \($0.1.prefix(300))" } ?? "")")
        #expect(await restored.currentStatus().foldedByDimension == ["model": 36])
        // Writing the restored store again gives the same bytes but for the time taken.
        clock.advance(by: 0)
        let again = await restored.snapshot()
        #expect(again.seriesCount == (try StoreSnapshot.decode(bytes)).seriesCount)
    }

    @Test func restoringIntoAStoreThatAlreadyHasEventsAddsUp() async throws {
        let store = await populatedStore()
        let snapshot = try StoreSnapshot.decode(await store.snapshot().encoded())
        let fresh = MetricsStore(clock: clock)
        await fresh.ingest([providerCall("openai", "gpt-4o", at: clock.now(), ms: 5000)])
        await fresh.restore(snapshot)
        let key = SeriesKey(.provider, "openai", "gpt-4o")
        let merged = await fresh.series(.provider).first { $0.key == key }!.aggregate
        let original = await store.series(.provider).first { $0.key == key }!.aggregate
        #expect(merged.total == original.total + 1)
        #expect(merged.distribution.max == 5000)
        let lastFiveMinutes = await fresh.series(.provider, window: .seconds(300)).first { $0.key == key }!.aggregate
        let originalFive = await store.series(.provider, window: .seconds(300)).first { $0.key == key }!.aggregate
        #expect(lastFiveMinutes.total == originalFive.total + 1)
    }

    @Test func anotherLayoutRecutsTheWindowsAndKeepsTheTotals() async throws {
        let store = await populatedStore()
        let snapshot = try StoreSnapshot.decode(await store.snapshot().encoded())
        var coarser = StoreConfiguration()
        coarser.collectionInterval = .seconds(30)
        let other = MetricsStore(configuration: coarser, clock: clock)
        await other.restore(snapshot)
        for kind in SeriesKind.allCases {
            let expected = await store.series(kind, window: .seconds(86_400)).map { [$0.key.first, $0.key.second, "\($0.aggregate.total)"] }
            let found = await other.series(kind, window: .seconds(86_400)).map { [$0.key.first, $0.key.second, "\($0.aggregate.total)"] }
            #expect(expected == found, "\(kind)")
        }
    }

    @Test func damageIsDetectedAndNamed() async throws {
        let bytes = await populatedStore().snapshot().encoded()
        #expect(throws: SnapshotError.self) { try StoreSnapshot.decode(Array(bytes.prefix(bytes.count / 2))) }
        var flipped = bytes
        flipped[bytes.count / 2] ^= 0x40
        #expect { try StoreSnapshot.decode(flipped) } throws: { error in
            (error as? SnapshotError).map { "\($0)".contains("checksum") } ?? false
        }
        var newer = bytes
        newer[8] = 99
        #expect { try StoreSnapshot.decode(newer) } throws: { error in
            if case .incompatible = error as? SnapshotError { return true }
            return false
        }
        #expect(throws: SnapshotError.self) { try StoreSnapshot.decode(Array("not a snapshot at all".utf8)) }
        #expect(throws: SnapshotError.self) { try StoreSnapshot.decode([]) }
    }

    /// Mutated bodies with a valid checksum still end in an error or a valid snapshot, never a trap
    /// or a runaway allocation.
    @Test func mutatedBodiesWithAValidChecksumNeverCrash() async throws {
        let bytes = await populatedStore().snapshot().encoded()
        // A hundred decodes of a large file: off the cooperative pool (the HTTP tests need it).
        let refused = try await onThread { () -> Int in
            var generator = SeededRandom(seed: 2026)  // the same hundred mutations every run
            var refused = 0
            for _ in 0..<100 {
                var body = Array(bytes[16...])
                for _ in 0..<Int.random(in: 1...8, using: &generator) {
                    body[Int.random(in: 0..<body.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
                if Bool.random(using: &generator) { body.removeLast(Int.random(in: 0..<min(64, body.count), using: &generator)) }
                var file = Array(bytes[0..<12])
                let checksum = crc32(body[...])
                withUnsafeBytes(of: checksum.littleEndian) { file.append(contentsOf: $0) }
                do {
                    _ = try StoreSnapshot.decode(file + body)
                } catch {
                    refused += 1
                }
            }
            return refused
        }
        #expect(refused > 0)
    }

    @Test func theFileIsReplacedWholeAndMissingIsNotAnError() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("perfmond-snap-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = SnapshotFile(path: directory.appendingPathComponent("state.bin").path)
        #expect(try file.read() == nil)
        try file.write([1, 2, 3])
        try file.write([4, 5])
        #expect(try file.read() == [4, 5])
        #expect(!FileManager.default.fileExists(atPath: file.path + ".tmp"))
        let moved = try file.moveAside(at: 1_800_000_000)
        #expect(moved == file.path + ".corrupt-1800000000")
        #expect(try file.read() == nil)
        let unwritable = SnapshotFile(path: directory.appendingPathComponent("no/such/dir/state.bin").path)
        #expect {
            try unwritable.write([1])
        } throws: { error in
            "\(error)" == "cannot create \(unwritable.path).tmp: No such file or directory"
        }
    }

    /// The one system-I/O helper: whole reads and writes of a file larger than one read's
    /// buffer, and errors that say what, where and why.
    @Test func systemIOReadsAndWritesWholeFilesAndNamesItsErrors() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sysio-\(UUID().uuidString)").path
        defer { unlink(path) }
        let bytes = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let descriptor = try SystemIO.open(path, O_WRONLY | O_CREAT | O_TRUNC, mode: 0o600)
        try SystemIO.writeAll(descriptor, bytes, path: path)
        SystemIO.close(descriptor)
        #expect(try SystemIO.readAll(path) == bytes)
        #expect {
            try SystemIO.readAll("/nonexistent/file")
        } throws: { error in
            (error as? SystemError)?.isMissing == true && "\(error)" == "cannot read /nonexistent/file: No such file or directory"
        }
        #expect(SystemIO.readIfPresent("/nonexistent/file") == nil)
    }
}
