import PerfJSON
import PerfMonitor

#if canImport(Glibc)
import Glibc
#endif

/// One configuration key: how to read it from text, what it accepts, and how to show it.
/// File, environment (`PERFMOND_<KEY>`) and flags all go through the same entry, so a value
/// means the same thing and is refused with the same words wherever it comes from.
public struct Setting: Sendable {
    public let key: String
    /// What the key accepts, as said in error messages.
    public let allowed: String
    /// Sets the value; false when `text` is not allowed.
    let apply: @Sendable (inout DaemonConfiguration, String) -> Bool
    /// The value as it would be written in the file.
    public let render: @Sendable (DaemonConfiguration) -> String
    /// Whether the value is a whole number (shown as a JSON number rather than a string).
    public var isInteger = false
    /// A secret (a token): never shown, logged or quoted in an error message.
    public var isSecret = false
    /// A SIGHUP reload applies it to the running daemon; a change to any other key waits for a restart.
    public var isReloadable = false

    /// The environment variable that overrides this key.
    public var environmentName: String { "PERFMOND_" + key.uppercased() }
}

extension Setting {
    /// Every key perfmond knows, in the order `Config/perfmond.yaml` documents them.
    public static let all: [Setting] = [
        Setting(key: "host", allowed: "an IPv4 or IPv6 address or a host name",
                apply: { config, text in
                    guard isHost(text) else { return false }
                    config.host = text
                    return true
                }, render: { $0.host }),
        integer("port", 0...65535, \.port),
        integer("threads", 0...256, \.threads, meaning: " (0: one per core)"),
        byteSize("max_body_bytes", 1024...(1 << 30), \.maxBodyBytes),
        integer("connection_limit", 1...1_000_000, \.connectionLimit),
        byteSize("connection_memory", (16 << 10)...(1 << 20), \.connectionMemoryBytes),
        duration("connection_timeout", .seconds(1)...TimeSpan.seconds(3600), \.connectionTimeout),
        duration("shutdown_grace_period", .seconds(0)...TimeSpan.seconds(60), \.shutdownGracePeriod),
        integer("ingest_queue_capacity", 1000...10_000_000, \.ingestQueueCapacity),
        byteSize("litellm_max_body_bytes", 1024...(1 << 32), \.litellm.maxBodyBytes),
        duration("litellm_queue_wait", .seconds(0)...TimeSpan.seconds(60), \.litellm.queueWait),
        Setting(key: "litellm_model_field", allowed: "one of " + LiteLLMMapping.ModelField.allCases.map(\.rawValue).joined(separator: ", "),
                apply: { config, text in
                    guard let field = LiteLLMMapping.ModelField(rawValue: text.trimmingSpaces) else { return false }
                    config.litellm.modelField = field
                    return true
                }, render: { $0.litellm.modelField.rawValue }),
        byteSize("otlp_max_body_bytes", 1024...(1 << 32), \.otlp.maxBodyBytes),
        Setting(key: "otlp_genai_source", allowed: "one of " + OTLPOptions.GenAISource.allCases.map(\.rawValue).joined(separator: ", "),
                apply: { config, text in
                    guard let source = OTLPOptions.GenAISource(rawValue: text.trimmingSpaces) else { return false }
                    config.otlp.options.genAISource = source
                    return true
                }, render: { $0.otlp.options.genAISource.rawValue }),
        Setting(key: "otlp_spans", allowed: "genai, server, both (genai,server), all or none",
                apply: { config, text in
                    guard let selection = OTLPOptions.SpanSelection(text: text) else { return false }
                    config.otlp.options.spans = selection
                    return true
                }, render: { $0.otlp.options.spans.text }),
        integer("otlp_max_streams", 1000...10_000_000, \.otlp.options.maxStreams),
        Setting(key: "statsd_listen", allowed: "\"\" (off) or host:port ([::1]:8125 for IPv6; port 0 picks free ports)",
                apply: { config, text in
                    let trimmed = text.trimmingSpaces
                    guard trimmed.isEmpty || StatsDConfiguration.address(trimmed).map({ isHost($0.host) }) == true else { return false }
                    config.statsd.listen = trimmed
                    return true
                }, render: { $0.statsd.listen }),
        byteSize("statsd_read_buffer", (64 << 10)...(1 << 30), \.statsd.readBufferBytes),
        integer("statsd_max_tcp_connections", 1...65536, \.statsd.maxTCPConnections),
        duration("collection_interval", .seconds(1)...TimeSpan.seconds(60), \.store.collectionInterval),
        duration("retention", .seconds(300)...TimeSpan.seconds(30 * 86_400), \.store.retention),
        duration("request_timeout", .seconds(1)...TimeSpan.seconds(86_400), \.store.requestTimeout),
        integer("recent_events", 0...1_000_000, \.store.recentEventsCapacity),
        integer("max_open_requests", 1...10_000_000, \.store.maxOpenRequests),
        Setting(key: "component_label_keys", allowed: "\"\" or up to 4 metadata keys separated by commas ([a-zA-Z_][a-zA-Z0-9_]*)",
                apply: { config, text in
                    let keys = text.split(separator: ",").map { String($0).trimmingSpaces }.filter { !$0.isEmpty }
                    guard keys.count <= 4, keys.allSatisfy(MetricLabels.isName), Set(keys).count == keys.count else { return false }
                    config.store.componentLabelKeys = keys
                    return true
                }, render: { $0.store.componentLabelKeys.joined(separator: ", ") }),
        integer("max_providers", 1...100_000, \.store.limits.providers),
        integer("max_models_per_provider", 1...100_000, \.store.limits.modelsPerProvider),
        integer("max_endpoints", 1...100_000, \.store.limits.endpoints),
        integer("max_methods_per_endpoint", 1...1000, \.store.limits.methodsPerEndpoint),
        integer("max_components", 1...100_000, \.store.limits.components),
        integer("max_operations_per_component", 1...100_000, \.store.limits.operationsPerComponent),
        integer("max_custom_metrics", 1...100_000, \.store.limits.customMetrics),
        integer("max_series_per_metric", 1...1_000_000, \.store.limits.seriesPerMetric),
        integer("max_custom_series", 1...10_000_000, \.store.limits.customSeries),
        integer("max_cache_scopes", 1...100_000, \.store.limits.cacheScopes),
        prefix("metric_prefix", allowingEmpty: false, \.metrics.prefix),
        buckets("buckets_provider_duration_seconds", \.store.classicBounds.providerDuration),
        buckets("buckets_ttft_seconds", \.store.classicBounds.timeToFirstToken),
        buckets("buckets_endpoint_duration_seconds", \.store.classicBounds.endpointDuration),
        buckets("buckets_component_duration_seconds", \.store.classicBounds.componentDuration),
        buckets("buckets_custom_seconds", \.store.classicBounds.customSeconds),
        buckets("buckets_custom", \.store.classicBounds.custom),
        prefix("custom_metric_prefix", allowingEmpty: true, \.metrics.customPrefix),
        url("remote_write_url", \.remoteWrite.url, credentialsKey: "remote_write_basic_auth_user"),
        duration("remote_write_interval", .seconds(1)...TimeSpan.seconds(3600), \.remoteWrite.interval),
        duration("remote_write_timeout", .seconds(1)...TimeSpan.seconds(300), \.remoteWrite.timeout),
        path("remote_write_bearer_token_file", \.remoteWrite.bearerTokenFile),
        Setting(key: "remote_write_basic_auth_user", allowed: "a user name without ':', or \"\" for none",
                apply: { config, text in
                    guard !text.contains(":") else { return false }
                    config.remoteWrite.basicAuthUser = text.trimmingSpaces
                    return true
                }, render: { $0.remoteWrite.basicAuthUser }),
        path("remote_write_basic_auth_password_file", \.remoteWrite.basicAuthPasswordFile),
        path("remote_write_ca_file", \.remoteWrite.caFile),
        boolean("remote_write_tls_verify", \.remoteWrite.tlsVerify),
        integer("remote_write_queue_samples", 1000...100_000_000, \.remoteWrite.queueSamples),
        Setting(key: "instance_name", allowed: "\"\" (the host name) or a label value of up to 256 bytes",
                apply: { config, text in
                    let trimmed = text.trimmingSpaces
                    guard trimmed.utf8.count <= 256 else { return false }
                    config.instanceName = trimmed
                    return true
                }, render: { $0.instanceName }),
        path("alert_file", \.alertSinks.file),
        byteSize("alert_file_max_bytes", 4096...(1 << 30), \.alertSinks.fileMaxBytes),
        url("alert_webhook_url", \.alertSinks.webhookURL),
        duration("alert_webhook_timeout", .seconds(1)...TimeSpan.seconds(60), \.alertSinks.webhookTimeout),
        integer("alert_delivery_retries", 0...10, \.alertSinks.retries),
        url("alertmanager_url", \.alertSinks.alertmanagerURL),
        Setting(key: "log_level", allowed: "one of " + LogLevelName.allCases.map(\.rawValue).joined(separator: ", "),
                apply: { config, text in
                    guard let level = LogLevelName(rawValue: text.lowercased()) else { return false }
                    config.logLevel = level
                    return true
                }, render: { $0.logLevel.rawValue }, isReloadable: true),
        boolean("degradation_alert", \.degradation.enabled),
        Setting(key: "degradation_ratio", allowed: "a number from 1.01 to 100",
                apply: { config, text in
                    guard let value = Double(text.trimmingSpaces), value.isFinite, (1.01...100).contains(value) else { return false }
                    config.degradation.ratio = value
                    return true
                }, render: { JSONNumber.format($0.degradation.ratio) }),
        duration("degradation_recent_window", .seconds(60)...TimeSpan.seconds(6 * 3600), \.degradation.detection.recent),
        duration("degradation_baseline_window", .seconds(300)...TimeSpan.seconds(7 * 86_400), \.degradation.detection.baseline),
        Setting(key: "degradation_min_samples", allowed: "an integer from 1 to 1000000",
                apply: { config, text in
                    guard let value = Int(text.trimmingSpaces), (1...1_000_000).contains(value) else { return false }
                    config.degradation.detection.minimumSamples = Double(value)
                    return true
                }, render: { String(Int($0.degradation.detection.minimumSamples)) }, isInteger: true),
        path("state_file", \.stateFile),
        duration("snapshot_interval", .seconds(1)...TimeSpan.seconds(86_400), \.snapshotInterval),
        token("ingest_token", \.access.ingestToken),
        path("ingest_token_file", \.access.ingestTokenFile, reloadable: true),
        token("admin_token", \.access.adminToken),
        path("admin_token_file", \.access.adminTokenFile, reloadable: true),
        token("read_token", \.access.readToken),
        path("read_token_file", \.access.readTokenFile, reloadable: true),
        Setting(key: "metrics_auth", allowed: "open (any scraper) or read (the read token)",
                apply: { config, text in
                    guard let value = AccessConfiguration.MetricsAuth(rawValue: text.trimmingSpaces.lowercased()) else { return false }
                    config.access.metricsAuth = value
                    return true
                }, render: { $0.access.metricsAuth.rawValue }, isReloadable: true),
        path("tls_cert_file", \.tls.certificateFile),
        path("tls_key_file", \.tls.keyFile),
    ]

    public static func named(_ key: String) -> Setting? { all.first { $0.key == key } }

    private static func integer(
        _ key: String, _ range: ClosedRange<Int>, _ path: WritableKeyPath<DaemonConfiguration, Int> & Sendable,
        meaning: String = ""
    ) -> Setting {
        Setting(key: key, allowed: "an integer from \(range.lowerBound) to \(range.upperBound)" + meaning,
                apply: { config, text in
                    guard let value = Int(text.trimmingSpaces), range.contains(value) else { return false }
                    config[keyPath: path] = value
                    return true
                }, render: { String($0[keyPath: path]) }, isInteger: true)
    }

    /// A size in bytes (`1MiB`), within `range`, which the message spells in the same units.
    private static func byteSize(_ key: String, _ range: ClosedRange<Int>, _ path: WritableKeyPath<DaemonConfiguration, Int> & Sendable) -> Setting {
        Setting(key: key, allowed: ByteSize.syntax + ", from \(ByteSize.format(range.lowerBound)) to \(ByteSize.format(range.upperBound))",
                apply: { config, text in
                    guard let bytes = ByteSize.parse(text), range.contains(bytes) else { return false }
                    config[keyPath: path] = bytes
                    return true
                }, render: { ByteSize.format($0[keyPath: path]) })
    }

    private static func boolean(_ key: String, _ path: WritableKeyPath<DaemonConfiguration, Bool> & Sendable) -> Setting {
        Setting(key: key, allowed: "true or false",
                apply: { config, text in
                    guard let value = Bool(text.trimmingSpaces.lowercased()) else { return false }
                    config[keyPath: path] = value
                    return true
                }, render: { String($0[keyPath: path]) })
    }

    private static func duration(
        _ key: String, _ range: ClosedRange<TimeSpan>, _ path: WritableKeyPath<DaemonConfiguration, TimeSpan> & Sendable
    ) -> Setting {
        Setting(key: key, allowed: "a duration from \(range.lowerBound) to \(range.upperBound), " + TimeSpan.syntax,
                apply: { config, text in
                    guard let value = TimeSpan.parse(text), range.contains(value) else { return false }
                    config[keyPath: path] = value
                    return true
                }, render: { $0[keyPath: path].description })
    }

    /// A metric name prefix (`[a-zA-Z_:][a-zA-Z0-9_:]*`), or "" where `allowingEmpty`.
    private static func prefix(_ key: String, allowingEmpty: Bool, _ path: WritableKeyPath<DaemonConfiguration, String> & Sendable) -> Setting {
        Setting(key: key, allowed: (allowingEmpty ? "\"\" or " : "") + "a Prometheus metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)",
                apply: { config, text in
                    guard (allowingEmpty && text.isEmpty) || MetricsConfiguration.isPrefix(text) else { return false }
                    config[keyPath: path] = text
                    return true
                }, render: { $0[keyPath: path] })
    }

    /// A file path, or "" for none.
    private static func path(_ key: String, _ path: WritableKeyPath<DaemonConfiguration, String> & Sendable, reloadable: Bool = false) -> Setting {
        Setting(key: key, allowed: "a file path, or \"\" for none",
                apply: { config, text in
                    config[keyPath: path] = text.trimmingSpaces
                    return true
                }, render: { $0[keyPath: path] }, isReloadable: reloadable)
    }

    /// A bearer token, or "" for none; shown only as "(set)".
    private static func token(_ key: String, _ path: WritableKeyPath<DaemonConfiguration, String> & Sendable) -> Setting {
        Setting(key: key, allowed: AccessConfiguration.tokenSyntax + ", or \"\" for none",
                apply: { config, text in
                    let token = text.trimmingSpaces
                    guard token.isEmpty || AccessConfiguration.isToken(token) else { return false }
                    config[keyPath: path] = token
                    return true
                }, render: { $0[keyPath: path].isEmpty ? "" : "(set)" }, isSecret: true, isReloadable: true)
    }

    /// An http(s) URL; with `credentialsKey`, one without user:password@ (that key holds them, kept
    /// out of what /performance/config and the logs show).
    private static func url(_ key: String, _ path: WritableKeyPath<DaemonConfiguration, String> & Sendable,
                            credentialsKey: String? = nil) -> Setting {
        Setting(key: key, allowed: "an http:// or https:// URL" + (credentialsKey.map { " without user:password@ (\($0))" } ?? "") + ", or \"\" for none",
                apply: { config, text in
                    let trimmed = text.trimmingSpaces
                    let authority = trimmed.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false).dropFirst(2).first ?? ""
                    guard AlertSinkConfiguration.isURL(trimmed), credentialsKey == nil || !authority.contains("@") else { return false }
                    config[keyPath: path] = trimmed
                    return true
                }, render: { $0[keyPath: path] })
    }

    private static func buckets(_ key: String, _ path: WritableKeyPath<DaemonConfiguration, [Double]> & Sendable) -> Setting {
        Setting(key: key, allowed: "1 to 50 ascending positive numbers of seconds separated by commas (e.g. 0.1, 0.5, 1, 5)",
                apply: { config, text in
                    guard let bounds = MetricsConfiguration.parseBuckets(text) else { return false }
                    config[keyPath: path] = bounds
                    return true
                }, render: { MetricsConfiguration.formatBuckets($0[keyPath: path]) })
    }

    /// An address literal (`127.0.0.1`, `::1`, `[::1]`) or a syntactically valid host name.
    private static func isHost(_ text: String) -> Bool {
        var name = text
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        var v4 = in_addr(), v6 = in6_addr()
        if inet_pton(AF_INET, name, &v4) == 1 || inet_pton(AF_INET6, name, &v6) == 1 { return true }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        return !name.isEmpty && name.count <= 253 && labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63 && label.first != "-" && label.last != "-"
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }
}
