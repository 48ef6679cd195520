import AlertSinks
import Foundation
import PerfmondConfig
import ServiceLifecycle

/// Delivers alerts to the configured sinks until shutdown, then flushes what is queued.
struct AlertDeliveryService: Service {
    let dispatcher: AlertDispatcher

    func run() async throws {
        let dispatcher = self.dispatcher
        // A service that returns early stops the whole group: with no sink configured there is
        // nothing to run, but the service must still live until shutdown.
        guard !dispatcher.isEmpty else {
            try? await gracefulShutdown()
            return
        }
        await withGracefulShutdownHandler {
            await dispatcher.run()
        } onGracefulShutdown: {
            dispatcher.finish()
        }
    }
}

extension AlertSinkConfiguration {
    /// The sinks configured, in a fixed order.
    var sinks: [any AlertSink] {
        var sinks: [any AlertSink] = []
        if !file.isEmpty { sinks.append(FileSink(path: file, maxBytes: fileMaxBytes)) }
        if let url = URL(string: webhookURL), !webhookURL.isEmpty { sinks.append(WebhookSink(url: url, timeout: webhookTimeout.duration)) }
        if let url = URL(string: alertmanagerURL), !alertmanagerURL.isEmpty {
            sinks.append(AlertmanagerSink(baseURL: url, timeout: webhookTimeout.duration))
        }
        return sinks
    }
}
