import MicroHTTPD
import PerfJSON

/// The Grafana dashboards (seed 001's set), defined once as data. `docs/grafana/*.json` are their
/// rendering (a test keeps them equal) and `GET /grafana-dashboard` serves the overview (seed 003).
/// Every query uses the `perfmond_` names; a test runs each against a real Prometheus.
public enum GrafanaDashboards {
    struct Panel {
        let title: String
        let unit: String
        let queries: [(expr: String, legend: String)]
        var kind = "timeseries"
    }

    struct Dashboard {
        let file: String
        let uid: String
        let title: String
        let panels: [Panel]
    }

    static let all: [Dashboard] = [
        Dashboard(file: "perfmond-overview.json", uid: "perfmond-overview", title: "perfmond — overview", panels: [
            Panel(title: "Provider calls per second", unit: "reqps", queries: [
                ("sum by (provider) (rate(perfmond_provider_requests_total[5m]))", "{{provider}}")]),
            Panel(title: "Error ratio by provider", unit: "percentunit", queries: [
                ("sum by (provider) (rate(perfmond_provider_requests_total{outcome=\"error\"}[5m])) / sum by (provider) (rate(perfmond_provider_requests_total[5m]))", "{{provider}}")]),
            Panel(title: "p95 latency by provider", unit: "s", queries: [
                ("histogram_quantile(0.95, sum by (provider, le) (rate(perfmond_provider_request_duration_seconds_bucket[5m])))", "{{provider}}")]),
            Panel(title: "p95 time to first token by provider", unit: "s", queries: [
                ("histogram_quantile(0.95, sum by (provider, le) (rate(perfmond_provider_time_to_first_token_seconds_bucket[5m])))", "{{provider}}")]),
            Panel(title: "Cost per hour (USD)", unit: "currencyUSD", queries: [
                ("sum by (provider) (rate(perfmond_provider_cost_usd_total[1h])) * 3600", "{{provider}}")]),
            Panel(title: "In flight", unit: "short", queries: [("perfmond_requests_in_flight", "in flight")]),
        ]),
        Dashboard(file: "perfmond-providers.json", uid: "perfmond-providers", title: "perfmond — providers & models", panels: [
            Panel(title: "Calls per second by model", unit: "reqps", queries: [
                ("sum by (provider, model) (rate(perfmond_provider_requests_total[5m]))", "{{provider}}/{{model}}")]),
            Panel(title: "Latency percentiles by model", unit: "s", queries: [
                ("histogram_quantile(0.50, sum by (provider, model, le) (rate(perfmond_provider_request_duration_seconds_bucket[5m])))", "p50 {{provider}}/{{model}}"),
                ("histogram_quantile(0.95, sum by (provider, model, le) (rate(perfmond_provider_request_duration_seconds_bucket[5m])))", "p95 {{provider}}/{{model}}"),
                ("histogram_quantile(0.99, sum by (provider, model, le) (rate(perfmond_provider_request_duration_seconds_bucket[5m])))", "p99 {{provider}}/{{model}}")]),
            Panel(title: "Errors per second by type", unit: "reqps", queries: [
                ("sum by (provider, error_type) (rate(perfmond_provider_errors_total[5m]))", "{{provider}} {{error_type}}")]),
            Panel(title: "Rate-limit hits per second", unit: "reqps", queries: [
                ("sum by (provider, model) (rate(perfmond_provider_rate_limit_hits_total[5m]))", "{{provider}}/{{model}}")]),
            Panel(title: "Failovers per second", unit: "reqps", queries: [
                ("sum by (from_provider, to_provider) (rate(perfmond_provider_failovers_total[5m]))", "{{from_provider}} → {{to_provider}}")]),
        ]),
        // The same latencies from the native histograms (protobuf scrape or remote write, api.md §8):
        // exact across instances, within 1.09 %, where the classic buckets are as coarse as their bounds.
        Dashboard(file: "perfmond-fleet-native.json", uid: "perfmond-fleet-native", title: "perfmond — fleet latency (native histograms)", panels: [
            Panel(title: "Fleet latency percentiles by model", unit: "s", queries: [
                ("histogram_quantile(0.50, sum by (provider, model) (rate(perfmond_provider_request_duration_seconds[5m])))", "p50 {{provider}}/{{model}}"),
                ("histogram_quantile(0.95, sum by (provider, model) (rate(perfmond_provider_request_duration_seconds[5m])))", "p95 {{provider}}/{{model}}"),
                ("histogram_quantile(0.99, sum by (provider, model) (rate(perfmond_provider_request_duration_seconds[5m])))", "p99 {{provider}}/{{model}}")]),
            Panel(title: "Fleet p95 time to first token by model", unit: "s", queries: [
                ("histogram_quantile(0.95, sum by (provider, model) (rate(perfmond_provider_time_to_first_token_seconds[5m])))", "{{provider}}/{{model}}")]),
            Panel(title: "p95 latency by instance and provider", unit: "s", queries: [
                ("histogram_quantile(0.95, sum by (instance, provider) (rate(perfmond_provider_request_duration_seconds[5m])))", "{{instance}} {{provider}}")]),
            Panel(title: "Calls per second by instance", unit: "reqps", queries: [
                ("histogram_count(sum by (instance) (rate(perfmond_provider_request_duration_seconds[5m])))", "{{instance}}")]),
            Panel(title: "Fleet p95 by endpoint", unit: "s", queries: [
                ("histogram_quantile(0.95, sum by (endpoint, method) (rate(perfmond_endpoint_request_duration_seconds[5m])))", "{{method}} {{endpoint}}")]),
            Panel(title: "Remote write samples per second", unit: "short", queries: [
                ("sum by (instance, outcome) (rate(perfmond_remote_write_samples_total[5m]))", "{{instance}} {{outcome}}"),
                ("sum by (instance, reason) (rate(perfmond_remote_write_samples_dropped_total[5m]))", "{{instance}} dropped {{reason}}")]),
        ]),
        Dashboard(file: "perfmond-tokens-cost.json", uid: "perfmond-tokens-cost", title: "perfmond — tokens & cost", panels: [
            Panel(title: "Tokens per second by model and type", unit: "short", queries: [
                ("sum by (provider, model, type) (rate(perfmond_provider_tokens_total[5m]))", "{{provider}}/{{model}} {{type}}")]),
            Panel(title: "Cost per hour by model (USD)", unit: "currencyUSD", queries: [
                ("sum by (provider, model) (rate(perfmond_provider_cost_usd_total[1h])) * 3600", "{{provider}}/{{model}}")]),
            Panel(title: "Cost in the last 24 h by model (USD)", unit: "currencyUSD", queries: [
                ("sum by (provider, model) (increase(perfmond_provider_cost_usd_total[24h]))", "{{provider}}/{{model}}")]),
        ]),
        Dashboard(file: "perfmond-endpoints-components.json", uid: "perfmond-endpoints-components", title: "perfmond — endpoints & components", panels: [
            Panel(title: "Endpoint requests per second by status", unit: "reqps", queries: [
                ("sum by (endpoint, status_code) (rate(perfmond_endpoint_requests_total[5m]))", "{{endpoint}} {{status_code}}")]),
            Panel(title: "Endpoint p95 duration", unit: "s", queries: [
                ("histogram_quantile(0.95, sum by (endpoint, method, le) (rate(perfmond_endpoint_request_duration_seconds_bucket[5m])))", "{{method}} {{endpoint}}")]),
            Panel(title: "Component p95 duration", unit: "s", queries: [
                ("histogram_quantile(0.95, sum by (component, operation, le) (rate(perfmond_component_operation_duration_seconds_bucket[5m])))", "{{component}}/{{operation}}")]),
            Panel(title: "Component error ratio", unit: "percentunit", queries: [
                ("sum by (component) (rate(perfmond_component_operations_total{outcome=\"error\"}[5m])) / sum by (component) (rate(perfmond_component_operations_total[5m]))", "{{component}}")]),
            Panel(title: "Cache hit ratio", unit: "percentunit", queries: [
                ("sum by (scope) (rate(perfmond_cache_requests_total{result=\"hit\"}[5m])) / sum by (scope) (rate(perfmond_cache_requests_total[5m]))", "{{scope}}")]),
        ]),
        Dashboard(file: "perfmond-daemon.json", uid: "perfmond-daemon", title: "perfmond — daemon health", panels: [
            Panel(title: "Events received and rejected per second", unit: "short", queries: [
                ("sum by (route) (rate(perfmond_events_received_total[5m]))", "received: {{route}}"),
                ("sum by (route, reason) (rate(perfmond_events_rejected_total[5m]))", "rejected: {{route}} {{reason}}")]),
            Panel(title: "Ingest queue depth", unit: "short", queries: [
                ("perfmond_ingest_queue_depth", "depth"), ("perfmond_ingest_queue_capacity", "capacity")]),
            Panel(title: "Series by kind", unit: "short", queries: [("perfmond_series", "{{kind}}")]),
            Panel(title: "Values folded by cardinality limits per second", unit: "short", queries: [
                ("sum by (dimension) (rate(perfmond_series_folded_total[5m]))", "{{dimension}}")]),
            Panel(title: "Resident memory", unit: "bytes", queries: [("process_resident_memory_bytes{job=~\".*perfmond.*\"}", "{{instance}}")]),
            Panel(title: "CPU (cores)", unit: "short", queries: [("rate(process_cpu_seconds_total{job=~\".*perfmond.*\"}[5m])", "{{instance}}")]),
            Panel(title: "Alerts firing", unit: "short", queries: [("sum by (severity) (perfmond_alerts_firing)", "{{severity}}")]),
        ]),
    ]

    /// Every PromQL expression of every dashboard (checked against a real Prometheus in make test).
    public static var expressions: [String] { all.flatMap { $0.panels.flatMap { $0.queries.map(\.expr) } } }

    public static var files: [(name: String, json: String)] { all.map { ($0.file, render($0)) } }

    public static func register(in routes: inout Routes) {
        let overview = render(all[0])
        routes.get("/grafana-dashboard", access: .read) { _ in .json(overview) }
    }

    /// Importable dashboard JSON: a Prometheus data-source variable, 2 panels per row.
    static func render(_ dashboard: Dashboard) -> String {
        let datasource = JSONValue.object([("type", .string("prometheus")), ("uid", .string("${datasource}"))])
        let panels: [JSONValue] = dashboard.panels.enumerated().map { index, panel in
            .object([
                ("id", .int(index + 1)),
                ("type", .string(panel.kind)),
                ("title", .string(panel.title)),
                ("datasource", datasource),
                ("gridPos", .object([("h", .int(8)), ("w", .int(12)), ("x", .int(index % 2 * 12)), ("y", .int(index / 2 * 8))])),
                ("fieldConfig", .object([("defaults", .object([("unit", .string(panel.unit))])), ("overrides", .array([]))])),
                ("targets", .array(panel.queries.enumerated().map { position, query in
                    .object([("refId", .string(String(UnicodeScalar(UInt8(65 + position))))), ("datasource", datasource),
                             ("expr", .string(query.expr)), ("legendFormat", .string(query.legend))])
                })),
            ])
        }
        return JSONValue.object([
            ("uid", .string(dashboard.uid)),
            ("title", .string(dashboard.title)),
            ("tags", .array([.string("perfmond")])),
            ("schemaVersion", .int(39)),
            ("editable", .bool(true)),
            ("refresh", .string("10s")),
            ("time", .object([("from", .string("now-1h")), ("to", .string("now"))])),
            ("templating", .object([("list", .array([.object([
                ("name", .string("datasource")), ("label", .string("Prometheus")), ("type", .string("datasource")),
                ("query", .string("prometheus")),
            ])]))])),
            ("panels", .array(panels)),
        ]).rendered + "\n"
    }
}
