import Foundation
import PerfMonitor
import PerfmondConfig
import Testing

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let noSystemFile = "/nonexistent/perfmond.yaml"

func temporaryFile(_ text: String) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("perfmond-\(UUID().uuidString).yaml").path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

func load(file: String? = nil, environment: [String: String] = [:], flags: [String: String] = [:]) throws -> DaemonConfiguration {
    let path = try file.map(temporaryFile)
    return try ConfigurationLoader.load(configFlag: path, environment: environment, flags: flags, systemFilePath: noSystemFile).configuration
}

func loadError(file: String? = nil, environment: [String: String] = [:], flags: [String: String] = [:]) -> String? {
    do {
        _ = try load(file: file, environment: environment, flags: flags)
        return nil
    } catch {
        return "\(error)"
    }
}

@Suite struct ConfigurationTests {
    /// A window longer than the retention would judge data that is never kept (issue 24, item 12):
    /// refused once every source is read, whichever comes first in the file.
    @Test func aThresholdWindowLongerThanTheRetentionIsRefused() throws {
        let thresholds = "alert_thresholds:\n  - {metric: error_rate, comparison: \">\", threshold: 5, severity: warning, window: 2h}\n"
        #expect(loadError(file: thresholds + "retention: 1h\n")
            == "invalid configuration: alert_thresholds[0].window: 2h is longer than the retention (1h); data that old is not kept")
        #expect(loadError(file: thresholds, environment: ["PERFMOND_RETENTION": "90m"])?.contains("longer than the retention (90m)") == true)
        #expect(try load(file: thresholds + "retention: 2h\n").alertThresholds.first?.window == .seconds(7200))
    }

    /// Keys the shipped file sets to something other than their built-in default: `make run` listens
    /// for StatsD, the built-in default (and so every test daemon) does not.
    static let shippedOtherwise = ["statsd_listen": "127.0.0.1:8125"]

    @Test func shippedFileDocumentsEveryKeyWithItsDefault() throws {
        let path = repositoryRoot.appendingPathComponent("Config/perfmond.yaml").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for setting in Setting.all {
            let index = try #require(lines.firstIndex { $0.hasPrefix(setting.key + ":") }, "\(setting.key) is not in Config/perfmond.yaml")
            // Its paragraph (the lines up to the previous blank one) explains it.
            let paragraph = lines[..<index].reversed().prefix { !$0.isEmpty }
            #expect(paragraph.contains { $0.hasPrefix("#") }, "\(setting.key) has a comment above it")
            // Each value shown is the default: loaded alone, it changes nothing (but what the file
            // turns on, whose comment says the built-in default).
            var single = DaemonConfiguration()
            try ConfigurationLoader.apply(fileText: lines[index], named: "line \(index + 1)", to: &single)
            if let shipped = Self.shippedOtherwise[setting.key] {
                #expect(setting.render(single) == shipped)
                #expect(paragraph.contains { $0.contains("built-in default is \"\"") }, "\(setting.key)'s comment gives the built-in default")
            } else {
                #expect(single == DaemonConfiguration(), "the file shows \(setting.key)'s default")
            }
        }
        let loaded = try ConfigurationLoader.load(configFlag: path, systemFilePath: noSystemFile)
        var expected = DaemonConfiguration()
        expected.statsd.listen = "127.0.0.1:8125"
        #expect(loaded.configuration == expected)
    }

    @Test func defaultsAreTheDocumentedOnes() throws {
        let config = try load()
        #expect(config.host == "127.0.0.1")
        #expect(config.port == 9470)
        #expect(config.maxBodyBytes == 1_048_576)
        #expect(config.connectionLimit == 1024)
        #expect(config.connectionTimeout == .seconds(30))
    }

    @Test func flagsBeatEnvironmentBeatsFileBeatsDefaults() throws {
        let file = "port: 1000\nhost: ::1\nlog_level: debug\n"
        #expect(try load(file: file).port == 1000)
        #expect(try load(file: file, environment: ["PERFMOND_PORT": "2000"]).port == 2000)
        #expect(try load(file: file, environment: ["PERFMOND_PORT": "2000"], flags: ["port": "3000"]).port == 3000)
        let mixed = try load(file: file, environment: ["PERFMOND_PORT": "2000"], flags: ["host": "127.0.0.1"])
        #expect(mixed.host == "127.0.0.1")
        #expect(mixed.port == 2000)
        #expect(mixed.logLevel == .debug)
    }

    @Test func fileComesFromFlagThenVariableThenSystemPath() throws {
        let fromVariable = try temporaryFile("port: 1111\n")
        let fromFlag = try temporaryFile("port: 2222\n")
        let system = try temporaryFile("port: 3333\n")
        let env = ["PERFMOND_CONFIG": fromVariable]
        #expect(try ConfigurationLoader.load(configFlag: fromFlag, environment: env, systemFilePath: system).configuration.port == 2222)
        #expect(try ConfigurationLoader.load(environment: env, systemFilePath: system).configuration.port == 1111)
        let systemLoaded = try ConfigurationLoader.load(systemFilePath: system)
        #expect(systemLoaded.configuration.port == 3333)
        #expect(systemLoaded.filePath == system)
        let none = try ConfigurationLoader.load(systemFilePath: noSystemFile)
        #expect(none.filePath == nil)
        #expect(none.configuration == DaemonConfiguration())
    }

    @Test func emptyFileMeansDefaults() throws {
        #expect(try load(file: "# nothing set\n") == DaemonConfiguration())
    }

    @Test(arguments: [
        ("port", "abc", "an integer from 0 to 65535"),
        ("remote_write_url", "https://user:pass@mimir.example/api/v1/push",
         "an http:// or https:// URL without user:password@ (remote_write_basic_auth_user), or \"\" for none"),
        ("remote_write_url", "ftp://mimir.example/", "an http:// or https:// URL without user:password@ (remote_write_basic_auth_user), or \"\" for none"),
        ("remote_write_queue_samples", "10", "an integer from 1000 to 100000000"),
        ("remote_write_tls_verify", "maybe", "true or false"),
        ("remote_write_interval", "0s", "a duration from 1s to 1h, " + TimeSpan.syntax),
        ("remote_write_basic_auth_user", "a:b", "a user name without ':', or \"\" for none"),
        ("instance_name", String(repeating: "x", count: 257), "\"\" (the host name) or a label value of up to 256 bytes"),
        ("port", "65536", "an integer from 0 to 65535"),
        ("port", "-1", "an integer from 0 to 65535"),
        ("threads", "1000", "an integer from 0 to 256 (0: one per core)"),
        ("host", "not a host!", "an IPv4 or IPv6 address or a host name"),
        ("host", "", "an IPv4 or IPv6 address or a host name"),
        ("max_body_bytes", "1MB", "a byte count, or a number with KiB, MiB or GiB (e.g. 1MiB), from 1KiB to 1GiB"),
        ("max_body_bytes", "2GiB", "a byte count, or a number with KiB, MiB or GiB (e.g. 1MiB), from 1KiB to 1GiB"),
        ("connection_limit", "0", "an integer from 1 to 1000000"),
        ("connection_timeout", "30", "a duration from 1s to 1h, a number with a unit: ms, s, m, h or d (e.g. 500ms, 5s, 10m, 24h)"),
        ("connection_timeout", "500ms", "a duration from 1s to 1h, a number with a unit: ms, s, m, h or d (e.g. 500ms, 5s, 10m, 24h)"),
        ("shutdown_grace_period", "2m", "a duration from 0s to 1m, a number with a unit: ms, s, m, h or d (e.g. 500ms, 5s, 10m, 24h)"),
        ("log_level", "loud", "one of trace, debug, info, notice, warning, error, critical"),
    ])
    func everyBadValueIsNamedWithWhatIsAllowed(key: String, value: String, allowed: String) throws {
        let variable = "PERFMOND_" + key.uppercased()
        #expect(loadError(environment: [variable: value])
            == "invalid configuration: \(key) = \"\(value)\" (from environment variable \(variable)); allowed: \(allowed)")
        #expect(loadError(flags: [key: value])
            == "invalid configuration: \(key) = \"\(value)\" (from flag --\(key.replacingOccurrences(of: "_", with: "-"))); allowed: \(allowed)")
        let fileError = try #require(loadError(file: "\(key): \"\(value)\"\n"))
        #expect(fileError.hasPrefix("invalid configuration: \(key) = \"\(value)\" (from /"))
        #expect(fileError.hasSuffix("); allowed: \(allowed)"))
    }

    @Test func unknownKeyInFileIsRefused() {
        let error = loadError(file: "prot: 9470\n")
        #expect(error?.hasPrefix("invalid configuration: unknown key 'prot' in /") == true)
        #expect(error?.contains("known keys: host, port,") == true)
    }

    @Test func fileProblemsAreOneClearLine() throws {
        #expect(loadError(file: "port: [1, 2]\n")?.contains("port in /") == true)
        #expect(loadError(file: "port:\n")?.contains("has no single value; allowed: an integer from 0 to 65535") == true)
        #expect(loadError(file: "- just\n- a list\n")?.hasSuffix("must be a mapping of keys to values") == true)
        let invalid = try #require(loadError(file: "port: 1\n  bad: indentation\n"))
        #expect(invalid.contains("is not valid YAML"))
        #expect(!invalid.contains("\n"))
        #expect(throws: ConfigurationError("invalid configuration: cannot read config file /nonexistent/x.yaml: No such file or directory")) {
            try ConfigurationLoader.load(configFlag: "/nonexistent/x.yaml", systemFilePath: noSystemFile)
        }
    }

    @Test func unknownEnvironmentVariablesAreWarnedAbout() throws {
        let loaded = try ConfigurationLoader.load(environment: ["PERFMOND_PROT": "1", "OTHER": "x"], systemFilePath: noSystemFile)
        #expect(loaded.warnings == ["ignoring unknown environment variable PERFMOND_PROT"])
    }

    @Test func valuesParse() throws {
        let config = try load(file: "max_body_bytes: 512KiB\nconnection_timeout: 2m\nhost: \"[::1]\"\nlog_level: WARNING\n")
        #expect(config.maxBodyBytes == 524_288)
        #expect(config.connectionTimeout == .seconds(120))
        #expect(config.host == "[::1]")
        #expect(config.logLevel == .warning)
        #expect(try load(environment: ["PERFMOND_MAX_BODY_BYTES": "4096"]).maxBodyBytes == 4096)
    }
}

@Suite struct TimeSpanTests {
    @Test(arguments: [("500ms", 500), ("5s", 5000), ("10m", 600_000), ("24h", 86_400_000), ("7d", 604_800_000), ("1.5s", 1500), (" 2s ", 2000)])
    func parses(text: String, milliseconds: Int64) {
        #expect(TimeSpan.parse(text) == TimeSpan(milliseconds: milliseconds))
    }

    @Test(arguments: ["", "5", "s", "-5s", "5x", "5 s", "1e3s", "nan s", "5sec"])
    func refuses(text: String) {
        #expect(TimeSpan.parse(text) == nil)
    }

    @Test func printsTheShortestExactSpelling() {
        #expect(TimeSpan(milliseconds: 90_000).description == "90s")
        #expect(TimeSpan(milliseconds: 3_600_000).description == "1h")
        #expect(TimeSpan(milliseconds: 1500).description == "1500ms")
        #expect(TimeSpan(milliseconds: 0).description == "0s")
    }
}

@Suite struct ByteSizeTests {
    @Test func parsesAndFormats() {
        #expect(ByteSize.parse("1MiB") == 1_048_576)
        #expect(ByteSize.parse("512 KiB") == 524_288)
        #expect(ByteSize.parse("100") == 100)
        #expect(ByteSize.parse("100B") == 100)
        #expect(ByteSize.parse("1MB") == nil)
        #expect(ByteSize.parse("-1") == nil)
        #expect(ByteSize.format(1_048_576) == "1MiB")
        #expect(ByteSize.format(1000) == "1000")
    }
}

@Suite struct ThresholdConfigurationTests {
    @Test func fileSetsThresholds() throws {
        let config = try load(file: """
            alert_thresholds:
              - metric: ttft_ms
                comparison: ">="
                threshold: 800
                severity: error
                scope: {provider: openai, model: gpt-4o}
                stat: p99
                window: 10m
                for_seconds: 30
                min_samples: 5
            """)
        var expected = AlertThreshold(metric: .ttftMs, comparison: .greaterOrEqual, threshold: 800, severity: .error)
        expected.scope = AlertThreshold.Scope(provider: "openai", model: "gpt-4o")
        expected.stat = .p99
        expected.window = .seconds(600)
        expected.forSeconds = 30
        expected.minSamples = 5
        #expect(config.alertThresholds == [expected])
    }

    @Test func plainScalarsAreTypedAsYAMLSpellsThem() throws {
        let config = try load(file: """
            alert_thresholds:
              - {metric: error_rate_percent, comparison: ">", threshold: 1_000.5, severity: warning, for_seconds: +30}
              - {metric: rss_mb, comparison: ">", threshold: 2e3, severity: info}
            """)
        #expect(config.alertThresholds.map(\.threshold) == [1000.5, 2000])
        #expect(config.alertThresholds.first?.forSeconds == 30)
        // Quoted, a number is a string; hexadecimal is not taken as a number either.
        let quoted = loadError(file: #"alert_thresholds: [{metric: rss_mb, comparison: ">", threshold: "90", severity: info}]"#)
        #expect(quoted?.contains(#"alert_thresholds[0].threshold: expected a number, got "90""#) == true)
        let hexadecimal = loadError(file: #"alert_thresholds: [{metric: rss_mb, comparison: ">", threshold: 0x10, severity: info}]"#)
        #expect(hexadecimal?.contains(#"alert_thresholds[0].threshold: expected a number, got "0x10""#) == true)
        #expect(loadError(file: "port: ~\n")?.contains("has no single value") == true)
        #expect(loadError(file: "port: null\n")?.contains("has no single value") == true)
        #expect(try load(file: "port: \"9999\"\n").port == 9999)
    }

    @Test func everyProblemIsListedOnOneLine() {
        let error = loadError(file: """
            alert_thresholds:
              - {metric: "bad name", comparison: "~", threshold: "high", severity: loud, color: red}
              - {metric: cpu_percent, comparison: ">", severity: warning, window: "0s"}
            """)
        #expect(error?.contains(#"alert_thresholds[0].color: unknown field"#) == true)
        #expect(error?.contains(#"alert_thresholds[0].metric: "bad name" is not a known metric"#) == true)
        #expect(error?.contains(#"alert_thresholds[0].threshold: expected a number, got "high""#) == true)
        #expect(error?.contains(#"alert_thresholds[0].comparison: "~" is not one of >, >=, <, <=, =="#) == true)
        #expect(error?.contains(#"alert_thresholds[0].severity: "loud" is not one of info, warning, error, critical"#) == true)
        #expect(error?.contains("alert_thresholds[1].threshold: required") == true)
        #expect(error?.contains(#"alert_thresholds[1].window: "0s" is not a duration of at least 1s"#) == true)
        #expect(error?.contains("\n") == false)
    }

    @Test func hugeNumbersAreRefusedNotTrapped() {
        let error = loadError(environment: ["PERFMOND_ALERT_THRESHOLDS": #"[{"metric": "rss_mb", "comparison": ">", "threshold": 1, "severity": "info", "min_samples": 6.5e25}]"#])
        #expect(error?.contains("alert_thresholds[0].min_samples: expected an integer from 0 to 1000000000, got 6.5e25") == true)
    }

    @Test func environmentTakesJSON() throws {
        let config = try load(environment: ["PERFMOND_ALERT_THRESHOLDS": #"[{"metric": "rss_mb", "comparison": ">", "threshold": 512, "severity": "warning"}]"#])
        #expect(config.alertThresholds.map(\.metric) == [.rssMb])
        #expect(loadError(environment: ["PERFMOND_ALERT_THRESHOLDS": "[{"])?.hasPrefix("invalid configuration: PERFMOND_ALERT_THRESHOLDS is not valid JSON") == true)
    }
}

/// Tokens, TLS files and persistence keys: read, checked together, never echoed.
@Suite struct SecurityConfigurationTests {
    @Test func tokensComeInlineOrFromAFileNotBoth() throws {
        let file = try temporaryFile("  admin-token-from-file-0001\n")
        let loaded = try load(file: "admin_token_file: \(file)\ningest_token: ingest-token-inline-0001\n")
        #expect(loaded.access.adminToken == "admin-token-from-file-0001", "the file's line end and spaces are trimmed")
        #expect(loaded.access.ingestToken == "ingest-token-inline-0001")
        let both = loadError(file: "admin_token_file: \(file)\nadmin_token: admin-token-inline-00001\n")
        #expect(both == "invalid configuration: set admin_token or admin_token_file, not both")
        let missing = loadError(file: "read_token_file: /nonexistent/token\n")
        #expect(missing?.contains("cannot read read_token_file /nonexistent/token") == true)
        let weak = try temporaryFile("short\n")
        let refused = loadError(file: "read_token_file: \(weak)\n")
        #expect(refused?.contains("(5 characters) is not allowed") == true && refused?.contains("short") == false)
    }

    @Test func aBadTokenIsNeverQuoted() {
        let error = loadError(environment: ["PERFMOND_READ_TOKEN": "has spaces in it, long enough"])
        #expect(error?.contains("read_token = <hidden, 29 characters>") == true, "\(error ?? "")")
        #expect(error?.contains("spaces") == false)
    }

    @Test func metricsAuthReadNeedsAReadToken() throws {
        #expect(loadError(file: "metrics_auth: read\n") == "invalid configuration: metrics_auth = read needs read_token or read_token_file")
        #expect(try load(file: "metrics_auth: read\nread_token: read-token-0123456789\n").access.metricsAuth == .read)
        #expect(loadError(file: "metrics_auth: sometimes\n")?.contains("allowed: open (any scraper) or read") == true)
    }

    @Test func tlsNeedsBothPEMFiles() throws {
        let certificate = try temporaryFile("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
        let key = try temporaryFile("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n")
        let loaded = try load(file: "tls_cert_file: \(certificate)\ntls_key_file: \(key)\n")
        #expect(loaded.tls.certificatePEM?.hasPrefix("-----BEGIN CERTIFICATE") == true)
        #expect(loaded.tls.keyPEM?.contains("PRIVATE KEY") == true)
        #expect(loadError(file: "tls_key_file: \(key)\n") == "invalid configuration: tls_cert_file and tls_key_file go together; set both or neither")
        let swapped = loadError(file: "tls_cert_file: \(key)\ntls_key_file: \(certificate)\n")
        #expect(swapped?.contains("holds no PEM certificate") == true, "\(swapped ?? "")")
    }

    @Test func persistenceKeys() throws {
        let loaded = try load(file: "state_file: /var/lib/perfmond/state.bin\nsnapshot_interval: 15s\n")
        #expect(loaded.stateFile == "/var/lib/perfmond/state.bin")
        #expect(loaded.snapshotInterval == .seconds(15))
        #expect(loadError(file: "snapshot_interval: 0s\n")?.contains("snapshot_interval") == true)
    }

    @Test func aReloadTakesOnlyWhatCanChangeWhileRunning() throws {
        let running = DaemonConfiguration()
        let live = LiveConfiguration(running, filePath: nil, startedAt: 0)
        var edited = running
        edited.logLevel = .debug
        edited.port = 9999
        edited.access.readToken = "read-token-0123456789"
        edited.alertThresholds = []
        let outcome = live.apply(edited, at: 10)
        #expect(outcome.applied.sorted() == ["alert_thresholds", "log_level", "read_token"])
        #expect(outcome.needRestart == ["port"])
        #expect(live.current.port == 9470 && live.current.logLevel == .debug && live.current.alertThresholds.isEmpty)
        live.refuse()
        let reloads = live.reloads
        #expect(reloads.succeeded == 1 && reloads.failed == 1 && !reloads.lastSucceeded && reloads.lastSuccessAt == 10)
    }

    /// The keys a reload applies are the ones the operator guide lists (log_level, the tokens,
    /// metrics_auth; alert_thresholds is not a one-line key), each marked on its setting.
    @Test func theReloadableKeysAreTheDocumentedOnes() {
        #expect(Setting.all.filter(\.isReloadable).map(\.key) == [
            "log_level", "ingest_token", "ingest_token_file", "admin_token", "admin_token_file",
            "read_token", "read_token_file", "metrics_auth",
        ])
    }
}

/// `recommendation_rules`: the recommendations' rules and targets (issue 23, item 2).
@Suite struct RecommendationRulesConfigurationTests {
    @Test func theDefaultsAreSeed000s() throws {
        let rules = try load().recommendationRules
        #expect(rules.rule(.highLatency, for: .component, "router")?.target == 100)
        #expect(rules.rule(.highLatency, for: .provider, "openai", "gpt-4o")?.target == 2000)
        #expect(rules.rule(.highErrorRate, for: .endpoint, "/v1/chat")?.target == 5)
        #expect(rules.rule(.lowThroughput, for: .component, "router") == nil, "no expected throughput unless configured")
    }

    @Test func theNarrowestRuleApplies() throws {
        let rules = try load(file: """
            recommendation_rules:
              - {type: high_latency, target: 250}
              - {type: high_latency, target: 50, scope: {kind: component}}
              - {type: high_latency, target: 10, scope: {component: parser}, min_samples: 5}
              - {type: low_throughput, target: 15, scope: {component: pool}}
            """).recommendationRules
        #expect(rules.rule(.highLatency, for: .component, "parser")?.target == 10)
        #expect(rules.rule(.highLatency, for: .component, "parser")?.minSamples == 5)
        #expect(rules.rule(.highLatency, for: .component, "router")?.target == 50)
        #expect(rules.rule(.highLatency, for: .provider, "openai", "gpt-4o")?.target == 250)
        #expect(rules.rule(.highErrorRate, for: .provider, "openai", "gpt-4o") == nil, "the list replaces the defaults")
        #expect(rules.rule(.lowThroughput, for: .component, "pool")?.target == 15)
        let fromEnvironment = try load(environment: ["PERFMOND_RECOMMENDATION_RULES": #"[{"type": "low_throughput", "target": 3}]"#]).recommendationRules
        #expect(fromEnvironment == [RecommendationRule(.lowThroughput, target: 3)])
    }

    @Test func everyBadFieldIsNamed() {
        let error = loadError(file: """
            recommendation_rules:
              - {type: fast, target: -1, scope: {kind: cache}}
              - {target: 3, speed: 3, min_samples: 1.5}
              - 7
            """)
        #expect(error?.hasPrefix("invalid configuration: recommendation_rules (from ") == true)
        #expect(error?.hasSuffix(".yaml): "
            + #"recommendation_rules[0].type: "fast" is not one of high_latency, high_error_rate, low_throughput, low_cache_hit_ratio, dominant_error_type; "#
            + "recommendation_rules[0].target: expected a number ≥ 0, got -1; "
            + #"recommendation_rules[0].scope.kind: "cache" is not one of provider, endpoint, component; "#
            + "recommendation_rules[1].speed: unknown field; known: type, target, scope, min_samples; "
            + "recommendation_rules[1].min_samples: expected an integer from 0 to 1000000000, got 1.5; "
            + "recommendation_rules[1].type: required; "
            + "recommendation_rules[2]: expected an object, got 7") == true, "\(error ?? "")")
        #expect(loadError(file: "recommendation_rules: {type: high_latency}\n")?.contains("recommendation_rules: expected a list of rules") == true)
    }
}
