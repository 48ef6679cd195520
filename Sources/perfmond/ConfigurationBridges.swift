import MicroHTTPD
import PerfMonitor
import PerfmondConfig

extension DaemonConfiguration {
    var serverConfiguration: ServerConfiguration {
        ServerConfiguration(
            host: host, port: port, threads: threads, maxBodyBytes: maxBodyBytes,
            connectionLimit: connectionLimit,
            connectionTimeoutSeconds: Int((connectionTimeout.milliseconds + 999) / 1000),
            tlsKeyPEM: tls.keyPEM, tlsCertificatePEM: tls.certificatePEM)
    }
}

extension TimeSpan {
    var duration: Duration { .milliseconds(milliseconds) }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}
