import MicroHTTPD
import PerfJSON
import PerfMonitor
import PerfmondAPI
import PerfmondConfig

extension PerformanceQueries {
    /// `/performance/memory`: the process now, its trend, and what the store holds and refused.
    func memory(_ request: Request) async throws(QueryFailure) -> Response {
        _ = try QueryParameters(request, accepts: [], retention: retention)
        let latest = monitor.latest
        let memory = latest?.memory ?? ProcessMemory.read()
        let trends = monitor.trends
        let status = await store.currentStatus()
        let ingest = counters.current
        let refusals = serverRefusals()
        let tooLarge = refusals.tooLargeByPath
        let mb = { (bytes: Double) in JSONValue.double(bytes / ByteCount.mebibyte) }
        return answer([
            ("current", .object([
                ("heap_used_mb", mb(memory.heapUsedBytes)),
                ("stack_used_mb", mb(memory.stackBytes)),
                ("anonymous_mb", mb(memory.anonymousBytes)),
                ("file_cache_mb", mb(memory.fileCacheBytes)),
                ("rss_mb", mb(memory.rssBytes)),
                ("peak_rss_mb", mb(memory.peakRSSBytes)),
                ("memory_pressure_percent", .double(memory.pressurePercent)),
                ("page_faults", .double(memory.pageFaults)),
                ("cpu_percent", .double(latest?.cpuPercent ?? 0)),
            ] + (memory.stallPercent.map { [("memory_stall_percent", JSONValue.double($0))] } ?? []))),
            // Over the samples kept (one per collection interval, up to the retention); a single
            // sample is its own trend (api.md §0).
            ("trends", .object([
                ("hours_analyzed", .double(trends?.hoursAnalyzed ?? 0)),
                ("average_heap_mb", mb(trends?.averageHeapBytes ?? memory.heapUsedBytes)),
                ("min_heap_mb", mb(trends?.minHeapBytes ?? memory.heapUsedBytes)),
                ("max_heap_mb", mb(trends?.maxHeapBytes ?? memory.heapUsedBytes)),
                ("pressure_trend", .string(trends?.pressureTrend ?? "stable")),
            ])),
            ("store", .object([
                ("series", .int(status.seriesCount)),
                ("series_by_kind", .object(SeriesKind.allCases.map { ($0.rawValue, .int(status.seriesByKind[$0] ?? 0)) })),
                ("raw_events", .int(status.rawEvents)),
                ("bytes_estimate", .int(status.bytesEstimate)),
                ("dropped_series", .int(status.removedSeries)),
                ("folded_values", .double(status.foldedByDimension.values.reduce(0, +))),
                ("folded_by_dimension", Aggregate.counts(status.foldedByDimension)),
                ("open_requests", .int(status.openRequests + status.openProviderCalls)),
                ("abandoned_requests", .int(status.abandonedRequests + status.abandonedProviderCalls)),
                ("dropped_starts", .int(status.droppedStarts)),
                ("unmatched_ends", .int(status.unmatchedEnds)),
                ("folded_by_metric", Aggregate.counts(status.foldedByMetric)),
                ("dropped_metric_events", .int(status.droppedMetricEvents)),
            ])),
            // `/events` at the top (as before routes), every way in under `by_route`.
            ("ingest", .object(Self.ingestFields(ingest, tooLarge: tooLarge[IngestCounters.Route.events.path] ?? 0) + [
                ("by_route", .object(IngestCounters.Route.allCases.map { route in
                    (route.rawValue, .object(Self.ingestFields(counters.totals(route), tooLarge: tooLarge[route.path] ?? 0)))
                })),
                ("http_refused", .object(ServerRefusals.framingReasons.map { ($0, .int(refusals.framing[$0] ?? 0)) })),
                ("http_connections_closed", .object(ServerRefusals.closedWaitingReasons.map { ($0, .int(refusals.closedWaiting[$0] ?? 0)) })),
                ("http_refused_by_library", .object(refusals.libraryStatusesShown.map { (String($0), .int(refusals.byLibrary[$0] ?? 0)) })),
                ("statsd", statsdFields(status)),
                ("otlp", otlpFields()),
                ("event_followers", followerFields()),
                ("queue_depth", .int(buffer.depth)),
                ("queue_capacity", .int(buffer.capacity)),
            ])),
            ("persistence", persistence()),
            ("remote_write", remoteWriteFields()),
            ("alerts", .array(alertEngine.snapshot.firing.filter { AlertMetric.memoryMetrics.contains($0.metric) }.map { .string($0.text) })),
        ])
    }

    /// The StatsD listeners' figures, as `/metrics` has them.
    private func statsdFields(_ status: StoreStatus) -> JSONValue {
        let figures = statsd.current
        return .object([
            ("listen", .string(configuration.statsd.listen)),
            ("lines", .object(MetricsRoute.statsdLines(figures.tally, folded: status.foldedStatsDValues).map { ($0.0.rawValue, .int($0.1)) })),
            ("tags_dropped", .object([("no_value", .int(figures.tally.tagsWithoutValue)), ("too_many_labels", .int(figures.tally.tagsPastLimit))])),
            ("udp_drops", .int(figures.udpDrops)),
            ("udp_receive_buffer_bytes", .int(figures.receiveBufferBytes)),
            ("tcp_connections", .int(figures.tcpConnections)),
            ("tcp_connections_refused", .int(figures.tcpRefused)),
        ])
    }

    /// The followers of `/performance/events`, as `/metrics` has them.
    private func followerFields() -> JSONValue {
        let figures = followers.current
        return .object([
            ("open", .int(figures.open)), ("refused", .int(figures.refused)),
            ("events_sent", .int(figures.eventsSent)), ("events_missed", .int(figures.eventsMissed)),
            ("ended", .object(ResponseStream.End.allCases.map { ($0.rawValue, .int(figures.ended[$0] ?? 0)) })),
        ])
    }

    /// The OTLP routes' figures, as `/metrics` has them.
    private func otlpFields() -> JSONValue {
        let figures = otlp.counters.current
        return .object([
            ("points", .object(OTLPPointOutcome.allCases.map { ($0.rawValue, .int(figures.points[$0])) })),
            ("spans", .object(OTLPSpanOutcome.allCases.map { ($0.rawValue, .int(figures.spans[$0])) })),
            ("labels_dropped", .int(figures.labelsDropped)),
            ("streams", .int(otlp.streams.count)),
            ("stream_evictions", .int(otlp.streams.evicted)),
        ])
    }

    private static func ingestFields(_ totals: IngestCounters.Totals, tooLarge: Int) -> [(String, JSONValue)] {
        [
            ("accepted_events", .int(totals.acceptedEvents)),
            ("rejected_events", .object(IngestCounters.Reason.allCases.map { ($0.rawValue, .int(totals.rejectedEvents[$0] ?? 0)) })),
            ("rejected_requests", .object(IngestCounters.Reason.allCases.map { ($0.rawValue, .int(totals.rejectedRequests[$0] ?? 0)) }
                + [("too_large", .int(tooLarge))])),
        ]
    }

    /// Remote write's queue and samples, as `/metrics` has them (zeros while it is off).
    private func remoteWriteFields() -> JSONValue {
        let figures = remoteWrite?.current ?? RemoteWriteQueue.Figures()
        return .object([
            ("enabled", .bool(remoteWrite != nil)),
            ("url", .string(configuration.remoteWrite.url)),
            ("samples_sent", .int(figures.sent)),
            ("samples_retried", .int(figures.retried)),
            ("samples_dropped", .object(RemoteWriteQueue.DropReason.allCases.map { ($0.rawValue, .int(figures.dropped[$0] ?? 0)) })),
            ("failed_attempts", .int(figures.failedAttempts)),
            ("queue_samples", .int(figures.queuedSamples)),
            ("queue_requests", .int(figures.queuedRequests)),
            ("queue_capacity_samples", .int(remoteWrite?.capacity ?? configuration.remoteWrite.queueSamples)),
            ("last_success", .double(figures.lastSuccessAt ?? 0)),  // 0 before the first: no null (api.md §0)
            ("last_error", .string(figures.lastError)),
        ])
    }

    /// The snapshot's state: where it goes and how writing it has gone.
    private func persistence() -> JSONValue {
        let figures = snapshots.current
        return .object([
            ("state_file", .string(configuration.stateFile)),
            ("snapshot_interval_seconds", .double(configuration.snapshotInterval.seconds)),
            ("writes", .int(figures.writes)),
            ("write_failures", .int(figures.failures)),
            ("last_write", .double(figures.lastSuccessAt ?? 0)),  // 0 while `writes` is 0: no null (api.md §0)
            ("last_write_bytes", .int(figures.lastBytes)),
            ("last_write_seconds", .double(figures.lastSeconds)),
            ("restored_series", .int(figures.restoredSeries)),
            ("moved_aside", .int(figures.movedAside)),
        ])
    }

    /// `/performance/alerts`: what fires now and the recent history, as strings and objects.
    func alerts(_ request: Request) async throws(QueryFailure) -> Response {
        _ = try QueryParameters(request, accepts: [], retention: retention)
        let snapshot = alertEngine.snapshot
        return answer([
            ("active_alerts_count", .int(snapshot.firing.count)),
            ("system_health", .string(snapshot.systemHealth)),
            ("alerts", .array(snapshot.firing.map { .string($0.text) })),
            ("active", .array(snapshot.firing.map(\.json))),
            ("recent", .array(snapshot.recent.map(\.json))),
        ])
    }

    /// `GET /performance/config`: the effective configuration (no secret is ever shown).
    func config(_ request: Request) async throws(QueryFailure) -> Response {
        _ = try QueryParameters(request, accepts: [], retention: retention)
        return answer(effectiveConfiguration())
    }

    /// `POST /performance/config`: replaces the alert thresholds, validated as a whole.
    func updateConfig(_ request: Request) async throws(QueryFailure) -> Response {
        _ = try QueryParameters(request, accepts: [], retention: retention)
        let body = try jsonBody(request)
        guard case let .object(members) = body else {
            throw QueryFailure(response: problems(["the body must be an object like {\"alert_thresholds\": [...]}"]))
        }
        var found: [String] = []
        for (key, _) in members where key != ConfigurationLoader.thresholdsKey {
            found.append("\(key): cannot be changed at run time; only alert_thresholds can (edit the config file and restart for the rest)")
        }
        guard let list = body[ConfigurationLoader.thresholdsKey] else {
            throw QueryFailure(response: problems(found + ["alert_thresholds: required"]))
        }
        switch AlertThreshold.parseSet(list) {
        case let .success(thresholds) where !AlertThreshold.windowProblems(thresholds, retention: retention).isEmpty:
            throw QueryFailure(response: problems(found + AlertThreshold.windowProblems(thresholds, retention: retention)))
        case let .success(thresholds) where found.isEmpty:
            rules.replace(with: thresholds)
            return answer(effectiveConfiguration())
        case .success:
            throw QueryFailure(response: problems(found))
        case let .failure(invalid):
            throw QueryFailure(response: problems(found + invalid.messages))
        }
    }

    /// `PUT /performance/config/thresholds/{id}` (seed 002's `setAlertThreshold`): replaces the
    /// threshold of that id, or adds it; checked as the whole-set POST checks, and with the set it
    /// makes (at most 1,000, ids unique, windows within the retention). `201` when added.
    func putThreshold(_ request: Request) async throws(QueryFailure) -> Response {
        _ = try QueryParameters(request, accepts: [], retention: retention)
        let id = try thresholdID(request)
        let body = try jsonBody(request)
        var threshold: AlertThreshold
        switch AlertThreshold.parseOne(body) {
        case let .success(parsed): threshold = parsed
        case let .failure(invalid): throw QueryFailure(response: problems(invalid.messages))
        }
        if let sent = threshold.configuredID, sent != id {
            throw QueryFailure(response: problems(["threshold.id: \(JSONValue.string(sent).quoted) is not the path's id \(JSONValue.string(id).quoted)"]))
        }
        threshold.configuredID = id
        let retention = self.retention
        let outcome = rules.edit { thresholds -> Result<Bool, ThresholdEditRefused> in
            let position = thresholds.firstIndex { $0.id == id }
            if let position { thresholds[position] = threshold } else { thresholds.append(threshold) }
            var found = AlertThreshold.windowProblems([threshold], retention: retention, path: "threshold")
            if thresholds.count > AlertThreshold.maxCount { found.append("alert_thresholds: \(thresholds.count) thresholds; at most \(AlertThreshold.maxCount)") }
            if let other = thresholds.firstIndex(where: { $0.id == id && $0.configuredID == nil }) {
                found.append("threshold.id: \(JSONValue.string(id).quoted) is the id alert_thresholds[\(other)] has from what it judges; choose another")
            }
            return found.isEmpty ? .success(position == nil) : .failure(.problems(found))
        }
        switch outcome {
        case let .success(created):
            return .json(status: created ? 201 : 200, JSONValue.object([
                ("timestamp", .double(clock.now())), ("threshold", threshold.json), ("alert_thresholds_count", .int(rules.current.count)),
            ]).rendered)
        case let .failure(.problems(found)): throw QueryFailure(response: problems(found))
        case .failure(.unknown): throw .notFound("no threshold with id '\(id)'")
        }
    }

    /// `DELETE /performance/config/thresholds/{id}`: removes that threshold; `404` when none has it.
    func deleteThreshold(_ request: Request) async throws(QueryFailure) -> Response {
        _ = try QueryParameters(request, accepts: [], retention: retention)
        let id = try thresholdID(request)
        let outcome = rules.edit { thresholds -> Result<Void, ThresholdEditRefused> in
            guard let position = thresholds.firstIndex(where: { $0.id == id }) else { return .failure(.unknown(id: id)) }
            thresholds.remove(at: position)
            return .success(())
        }
        guard case .success = outcome else { throw .notFound("no threshold with id '\(id)'; GET /performance/config lists them") }
        return answer([("deleted", .string(id)), ("alert_thresholds_count", .int(rules.current.count))])
    }

    /// The request's body as JSON, or a `400` naming where it stops being JSON.
    private func jsonBody(_ request: Request) throws(QueryFailure) -> JSONValue {
        do {
            return try JSONParser.parse(request.body)
        } catch {
            throw .badRequest("invalid JSON at byte \(error.offset): \(error.message)")
        }
    }

    private func thresholdID(_ request: Request) throws(QueryFailure) -> String {
        let id = request.pathParameter ?? ""
        guard AlertThreshold.isValidID(id) else {
            throw .badRequest("\(JSONValue.string(id).quoted) is not a threshold id: \(AlertThreshold.idSyntax)")
        }
        return id
    }

    private func problems(_ list: [String]) -> Response {
        .json(status: 400, JSONValue.object([
            ("error", .string("invalid configuration: nothing was changed")),
            ("status", .int(400)),
            ("problems", .array(list.map(JSONValue.string))),
        ]).rendered)
    }

    private func effectiveConfiguration() -> [(String, JSONValue)] {
        var members: [(String, JSONValue)] = [("config_file", .string(live.filePath ?? ""))]
        for setting in Setting.all {
            let text = setting.render(configuration)
            members.append((setting.key, setting.isInteger ? .int(Int(text) ?? 0) : .string(text)))
        }
        members.append((ConfigurationLoader.thresholdsKey, .array(rules.current.map(\.json))))
        members.append((ConfigurationLoader.recommendationRulesKey, .array(configuration.recommendationRules.map(\.json))))
        members.append((ConfigurationLoader.statsdMappingsKey, configuration.statsd.mappings.json))
        return members
    }
}
