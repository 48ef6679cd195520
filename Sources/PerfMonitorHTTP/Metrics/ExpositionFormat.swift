/// The format a scrape asked for in its `Accept` header: the media type with the highest `q`
/// among those `/metrics` speaks (the first listed on a tie), text 0.0.4 when none is named.
/// Prometheus with native histograms on asks for the protobuf exposition first.
enum ExpositionFormat: Equatable {
    case text, openMetrics, protobuf

    init(accept: String) {
        var best: (format: ExpositionFormat, q: Double)?
        for range in accept.split(separator: ",") {
            let parameters = range.split(separator: ";").map { $0.trimmingCharacters(in: " ") }
            guard let mediaType = parameters.first?.lowercased() else { continue }
            var q = 1.0
            var isDelimitedMetricFamily = (false, false)
            for parameter in parameters.dropFirst() {
                let parts = parameter.split(separator: "=", maxSplits: 1).map { String($0).trimmingCharacters(in: " ") }
                guard parts.count == 2 else { continue }
                switch parts[0].lowercased() {
                case "q": q = Double(parts[1]) ?? 0
                case "proto": isDelimitedMetricFamily.0 = parts[1] == "io.prometheus.client.MetricFamily"
                case "encoding": isDelimitedMetricFamily.1 = parts[1] == "delimited"
                default: break
                }
            }
            let format: ExpositionFormat
            switch mediaType {
            case "application/vnd.google.protobuf" where isDelimitedMetricFamily == (true, true): format = .protobuf
            case "application/openmetrics-text": format = .openMetrics
            case "text/plain": format = .text
            default: continue
            }
            if q > 0, q > best?.q ?? 0 { best = (format, q) }
        }
        self = best?.format ?? .text
    }

    var contentType: String {
        switch self {
        case .text: "text/plain; version=0.0.4; charset=utf-8"
        case .openMetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8"
        case .protobuf: ProtobufExposition.contentType
        }
    }
}

private extension Substring {
    func trimmingCharacters(in set: Character) -> String {
        String(drop { $0 == set }.reversed().drop { $0 == set }.reversed())
    }
}

private extension String {
    func trimmingCharacters(in set: Character) -> String {
        self[...].trimmingCharacters(in: set)
    }
}
