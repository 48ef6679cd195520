import MicroHTTPD
import PerfMonitor
import PerfmondConfig

extension DaemonConfiguration {
    var serverConfiguration: ServerConfiguration {
        ServerConfiguration(
            host: host, port: port, threads: threads, maxBodyBytes: maxBodyBytes,
            connectionLimit: connectionLimit,
            connectionTimeoutSeconds: Int((connectionTimeout.milliseconds + 999) / 1000), connectionMemoryBytes: connectionMemoryBytes,
            tlsKeyPEM: tls.keyPEM, tlsCertificatePEM: tls.certificatePEM)
    }
}
