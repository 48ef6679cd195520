import MicroHTTPD
import PerfJSON
import PerfMonitor

/// `/health` (is the process alive) and `/ready` (should it get traffic): tiny, unauthenticated
/// answers for load balancers, Kubernetes probes and the Docker `HEALTHCHECK`.
public enum HealthRoutes {
    public static func register(in routes: inout Routes, readiness: Readiness) {
        routes.get("/health", access: .open) { _ in
            .json(#"{"status":"ok","timestamp":"# + JSONNumber.format(WallClock.now()) + "}")
        }
        routes.get("/ready", access: .open) { _ in
            switch readiness.current {
            case .serving:
                return .json(#"{"status":"ok","timestamp":"# + JSONNumber.format(WallClock.now()) + "}")
            case .starting:
                return notReady("starting")
            case .stopping:
                return notReady("shutting down")
            }
        }
    }

    private static func notReady(_ reason: String) -> Response {
        .json(status: 503, #"{"error":"not ready: "# + reason + #"","status":503,"timestamp":"# + JSONNumber.format(WallClock.now()) + "}")
    }
}
