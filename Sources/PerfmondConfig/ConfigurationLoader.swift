import PerfJSON
import PerfMonitor
import PerfmondAPI
import Yams

#if canImport(Glibc)
import Glibc
#endif

/// A configuration that cannot be used: one line naming the key, the value, where it came from
/// and what is allowed. The daemon prints it and exits with status 2.
public struct ConfigurationError: Error, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The configuration as loaded, with where it came from and what deserves a warning.
public struct LoadedConfiguration: Sendable {
    public let configuration: DaemonConfiguration
    /// The file that was read; nil when only defaults, environment and flags apply.
    public let filePath: String?
    /// Things that did not stop start-up but should be logged (unknown `PERFMOND_` variables).
    public let warnings: [String]
}

/// Builds the effective configuration: defaults, then the file, then `PERFMOND_<KEY>` variables,
/// then command-line flags — each later source overriding the earlier ones.
public enum ConfigurationLoader {
    /// Read when neither `--config` nor `PERFMOND_CONFIG` names a file and it exists.
    public static let systemFilePath = "/etc/perfmond/perfmond.yaml"
    /// The variable that names the file; not a key of the file itself.
    public static let fileVariable = "PERFMOND_CONFIG"
    /// The structured key of the alert thresholds, a list (JSON in its environment variable).
    public static let thresholdsKey = "alert_thresholds"
    /// The structured key of the recommendations' rules, a list (JSON in its variable).
    public static let recommendationRulesKey = "recommendation_rules"
    /// The structured key of the StatsD mappings, a list (JSON in its variable).
    public static let statsdMappingsKey = "statsd_mappings"

    /// A key whose value is a list, not a scalar: YAML in the file, JSON in its `PERFMOND_<KEY>`
    /// variable, read as a whole with every problem named.
    private struct StructuredKey: Sendable {
        let key: String
        /// Sets the key from a value; the problems when it is refused.
        let apply: @Sendable (JSONValue, inout DaemonConfiguration) -> ThresholdProblems?

        var variable: String { "PERFMOND_" + key.uppercased() }

        /// Sets the key from `value`, or says every problem in it on one line.
        func set(_ value: JSONValue, from source: String, in configuration: inout DaemonConfiguration) throws(ConfigurationError) {
            guard let problems = apply(value, &configuration) else { return }
            throw ConfigurationError("invalid configuration: \(key) (from \(source)): \(problems.messages.joined(separator: "; "))")
        }
    }

    private static let structuredKeys = [
        StructuredKey(key: thresholdsKey) { value, configuration in
            switch AlertThreshold.parseSet(value) {
            case let .success(thresholds): configuration.alertThresholds = thresholds; return nil
            case let .failure(problems): return problems
            }
        },
        StructuredKey(key: recommendationRulesKey) { value, configuration in
            switch RecommendationRule.parseList(value) {
            case let .success(rules): configuration.recommendationRules = rules; return nil
            case let .failure(problems): return problems
            }
        },
        StructuredKey(key: statsdMappingsKey) { value, configuration in
            switch StatsDMapping.parseList(value) {
            case let .success(mapping): configuration.statsd.mappings = mapping; return nil
            case let .failure(problems): return problems
            }
        },
    ]

    /// - Parameters:
    ///   - configFlag: the `--config` flag's value, if given.
    ///   - environment: the process environment.
    ///   - flags: other flags given, by configuration key (`port` → "9470").
    public static func load(
        configFlag: String? = nil, environment: [String: String] = [:], flags: [String: String] = [:],
        systemFilePath: String = systemFilePath
    ) throws(ConfigurationError) -> LoadedConfiguration {
        var configuration = DaemonConfiguration()
        var filePath: String?
        if let explicit = configFlag ?? environment[fileVariable] {
            filePath = explicit
        } else if access(systemFilePath, F_OK) == 0 {
            filePath = systemFilePath
        }
        if let filePath {
            try apply(fileText: try readFile(filePath), named: filePath, to: &configuration)
        }
        var warnings: [String] = []
        for (name, value) in environment.sorted(by: { $0.key < $1.key }) where name.hasPrefix("PERFMOND_") && name != fileVariable {
            if let structured = structuredKeys.first(where: { $0.variable == name }) {
                let parsed: JSONValue
                do {
                    parsed = try JSONParser.parse(Array(value.utf8))
                } catch {
                    throw ConfigurationError("invalid configuration: \(name) is not valid JSON: \(error.message) at byte \(error.offset)")
                }
                try structured.set(parsed, from: "environment variable \(name)", in: &configuration)
                continue
            }
            guard let setting = Setting.all.first(where: { $0.environmentName == name }) else {
                warnings.append("ignoring unknown environment variable \(name)")
                continue
            }
            try apply(setting, value, from: "environment variable \(name)", to: &configuration)
        }
        for (key, value) in flags.sorted(by: { $0.key < $1.key }) {
            guard let setting = Setting.named(key) else { throw ConfigurationError("invalid configuration: unknown flag --\(key)") }
            try apply(setting, value, from: "flag --\(key.replacingUnderscores)", to: &configuration)
        }
        try resolveFiles(in: &configuration)
        // Checked once every source is read: the retention may come after the thresholds.
        let tooLong = AlertThreshold.windowProblems(configuration.alertThresholds, retention: configuration.store.retention)
        if !tooLong.isEmpty { throw ConfigurationError("invalid configuration: \(tooLong.joined(separator: "; "))") }
        return LoadedConfiguration(configuration: configuration, filePath: filePath, warnings: warnings)
    }

    /// Applies the keys of a YAML document on top of `configuration`.
    public static func apply(fileText: String, named name: String, to configuration: inout DaemonConfiguration) throws(ConfigurationError) {
        let root: Node?
        do {
            // The basic resolver: plain scalars are typed below, by hand. Yams' default resolver
            // types them with NSRegularExpression, which brought ICU in: 3.5 MiB more RSS for good.
            root = try Yams.compose(yaml: fileText, Resolver.basic)
        } catch {
            throw ConfigurationError("invalid configuration: \(name) is not valid YAML: \(String(describing: error).replacingNewlines)")
        }
        guard let root else { return }  // an empty file: defaults
        guard let mapping = root.mapping else {
            throw ConfigurationError("invalid configuration: \(name) must be a mapping of keys to values")
        }
        for (keyNode, valueNode) in mapping {
            let key = keyNode.string ?? String(describing: keyNode)
            if let structured = structuredKeys.first(where: { $0.key == key }) {
                try structured.set(json(from: valueNode), from: name, in: &configuration)
                continue
            }
            guard let setting = Setting.named(key) else {
                throw ConfigurationError("invalid configuration: unknown key '\(key)' in \(name); known keys: \((Setting.all.map(\.key) + structuredKeys.map(\.key)).joined(separator: ", "))")
            }
            guard let scalar = valueNode.scalar, PlainScalar.value(of: scalar) != .null else {
                throw ConfigurationError("invalid configuration: \(key) in \(name) has no single value; allowed: \(setting.allowed)")
            }
            try apply(setting, scalar.string, from: name, to: &configuration)
        }
    }

    /// A YAML node as the JSON value it spells (plain scalars typed as `PlainScalar` says).
    static func json(from node: Node) -> JSONValue {
        switch node {
        case let .scalar(scalar):
            return PlainScalar.value(of: scalar)
        case let .mapping(mapping):
            return .object(mapping.map { (key, value) in (key.string ?? String(describing: key), json(from: value)) })
        case let .sequence(sequence):
            return .array(sequence.map(json(from:)))
        case let .alias(alias):
            return .string(String(describing: alias))
        }
    }

    private static func apply(_ setting: Setting, _ text: String, from source: String, to configuration: inout DaemonConfiguration) throws(ConfigurationError) {
        guard setting.apply(&configuration, text) else {
            let shown = setting.isSecret ? "<hidden, \(text.count) characters>" : "\"\(text)\""
            throw ConfigurationError("invalid configuration: \(setting.key) = \(shown) (from \(source)); allowed: \(setting.allowed)")
        }
    }

    /// Reads what the configuration names by file — tokens, TLS certificate and key — and checks
    /// the keys that only make sense together.
    static func resolveFiles(in configuration: inout DaemonConfiguration) throws(ConfigurationError) {
        var access = configuration.access
        access.ingestToken = try token(access.ingestToken, file: access.ingestTokenFile, key: "ingest_token")
        access.adminToken = try token(access.adminToken, file: access.adminTokenFile, key: "admin_token")
        access.readToken = try token(access.readToken, file: access.readTokenFile, key: "read_token")
        if access.metricsAuth == .read, access.readToken.isEmpty {
            throw ConfigurationError("invalid configuration: metrics_auth = read needs read_token or read_token_file")
        }
        configuration.access = access

        var tls = configuration.tls
        switch (tls.certificateFile.isEmpty, tls.keyFile.isEmpty) {
        case (true, true):
            tls.certificatePEM = nil
            tls.keyPEM = nil
        case (false, false):
            tls.certificatePEM = try pem(tls.certificateFile, key: "tls_cert_file", kind: "CERTIFICATE")
            tls.keyPEM = try pem(tls.keyFile, key: "tls_key_file", kind: "PRIVATE KEY")
        default:
            throw ConfigurationError("invalid configuration: tls_cert_file and tls_key_file go together; set both or neither")
        }
        configuration.tls = tls
    }

    private static func token(_ inline: String, file: String, key: String) throws(ConfigurationError) -> String {
        guard !file.isEmpty else { return inline }
        guard inline.isEmpty else {
            throw ConfigurationError("invalid configuration: set \(key) or \(key)_file, not both")
        }
        let text: String
        do {
            text = try SystemIO.readText(file).trimmingSpaces
        } catch {
            throw ConfigurationError("invalid configuration: cannot read \(key)_file \(file): \(error.reason)")
        }
        guard AccessConfiguration.isToken(text) else {
            throw ConfigurationError("invalid configuration: the token in \(key)_file \(file) (\(text.count) characters) is not allowed; allowed: \(AccessConfiguration.tokenSyntax)")
        }
        return text
    }

    private static func pem(_ path: String, key: String, kind: String) throws(ConfigurationError) -> String {
        let text: String
        do {
            text = try SystemIO.readText(path)
        } catch {
            throw ConfigurationError("invalid configuration: cannot read \(key) \(path): \(error.reason)")
        }
        guard text.contains("-----BEGIN"), text.contains(kind) else {
            throw ConfigurationError("invalid configuration: \(key) \(path) holds no PEM \(kind.lowercased()) (-----BEGIN ...\(kind)-----)")
        }
        return text
    }

    private static func readFile(_ path: String) throws(ConfigurationError) -> String {
        do {
            return try SystemIO.readText(path)
        } catch {
            throw ConfigurationError("invalid configuration: cannot read config file \(path): \(error.reason)")
        }
    }
}

extension String {
    var replacingUnderscores: String { replacing("_", with: "-") }
    var replacingNewlines: String { replacing("\n", with: " ") }
}

/// What a YAML scalar means: quoted, always a string; plain, null, a boolean, a decimal number or
/// else a string, as YAML 1.1 (Yams' default resolver) spells them. Hexadecimal, octal and
/// sexagesimal numbers stay strings (a setting then says what it expects).
enum PlainScalar {
    static func value(of scalar: Node.Scalar) -> JSONValue {
        let text = scalar.string
        guard scalar.style == .plain || scalar.style == .any else { return .string(text) }
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON": return .bool(true)
        case "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF": return .bool(false)
        default: return decimal(text).map { .number($0, text: text) } ?? .string(text)
        }
    }

    /// `[-+]digits[.digits][e[-+]digits]`, with `_` between digits allowed as YAML allows.
    static func decimal(_ text: String) -> Double? {
        var bytes = Array(text.utf8.filter { $0 != UInt8(ascii: "_") })
        if bytes.first == UInt8(ascii: "+") { bytes.removeFirst() }
        var index = bytes.first == UInt8(ascii: "-") ? 1 : 0
        func digits() -> Int {
            let start = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            return index - start
        }
        guard digits() > 0 else { return nil }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            _ = digits()
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { return nil }
        }
        guard index == bytes.count else { return nil }
        return Double(String(decoding: bytes, as: UTF8.self))
    }
}
