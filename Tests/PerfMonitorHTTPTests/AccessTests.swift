import PerfJSON
import PerfMonitor
@testable import PerfMonitorHTTP
import PerfmondConfig
import Testing
import TestSupport

/// Bearer tokens per class of endpoint, checked on a real server.
@Suite struct AccessTests {
    static let ingest = "ingest-token-0123456789"
    static let admin = "admin-token-0123456789ab"
    static let read = "read-token-0123456789abc"
    static let event = #"{"type":"provider_request","provider":"openai","model":"gpt-4o","duration_ms":120,"success":true}"#

    static func guarded(metricsAuth: AccessConfiguration.MetricsAuth = .open) throws -> Harness {
        var access = AccessConfiguration()
        access.ingestToken = ingest
        access.adminToken = admin
        access.readToken = read
        access.metricsAuth = metricsAuth
        return try Harness(accessControl: access)
    }

    static func bearer(_ token: String) -> [(String, String)] { [("Authorization", "Bearer " + token)] }

    @Test func ingestNeedsItsToken() async throws {
        let harness = try Self.guarded()
        let missing = try await harness.request("POST", "/events", body: Self.event)
        #expect(missing.status == 401)
        #expect(missing.header("WWW-Authenticate") == #"Bearer realm="perfmond""#)
        #expect(try JSONParser.parse(missing.body)["status"]?.numberValue == 401)
        let wrong = try await harness.request("POST", "/events", body: Self.event, headers: Self.bearer(Self.read))
        #expect(wrong.status == 401)
        #expect(wrong.header("WWW-Authenticate") == #"Bearer realm="perfmond", error="invalid_token""#)
        // Nothing of a refused request reached the store.
        #expect(await harness.providerTotal() == 0)
        let accepted = try await harness.request("POST", "/events", body: Self.event, headers: [("Authorization", "bearer " + Self.ingest)])
        #expect(accepted.status == 202, "\(accepted.text)")
        #expect(await harness.providerTotal() == 1)
        await harness.stop()
    }

    @Test func readsTakeTheReadOrAdminTokenAndHealthIsOpen() async throws {
        let harness = try Self.guarded()
        #expect(try await harness.get("/health").status == 200)
        #expect(try await harness.get("/ready").status == 200)
        #expect(try await harness.get("/metrics").status == 200, "metrics_auth: open leaves /metrics open")
        #expect(try await harness.get("/performance/providers").status == 401)
        #expect(try await harness.get("/providers", headers: Self.bearer(Self.ingest)).status == 401, "the ingest token does not read")
        #expect(try await harness.get("/providers", headers: Self.bearer(Self.read)).status == 200)
        #expect(try await harness.get("/performance/providers", headers: Self.bearer(Self.admin)).status == 200)
        #expect(try await harness.get("/no-such-path").status == 401, "nothing about the paths is told without a token")
        await harness.stop()
    }

    @Test func configChangesNeedTheAdminToken() async throws {
        let harness = try Self.guarded()
        let body = #"{"alert_thresholds":[{"metric":"error_rate","threshold":9,"comparison":">","severity":"warning"}]}"#
        #expect(try await harness.request("POST", "/performance/config", body: body, headers: Self.bearer(Self.read)).status == 401)
        #expect(harness.rules.current == AlertThreshold.defaults, "a refused change changes nothing")
        let changed = try await harness.request("POST", "/config", body: body, headers: Self.bearer(Self.admin))
        #expect(changed.status == 200, "\(changed.text)")
        #expect(harness.rules.current.count == 1)
        // The effective configuration never shows a token.
        let shown = try await harness.get("/performance/config", headers: Self.bearer(Self.read))
        #expect(!shown.text.contains(Self.read) && !shown.text.contains(Self.admin) && !shown.text.contains(Self.ingest))
        #expect(try JSONParser.parse(shown.body)["read_token"] == .string("(set)"))
        // One threshold at a time needs the admin token too.
        let one = #"{"metric":"error_rate","threshold":9,"comparison":">","severity":"warning"}"#
        #expect(try await harness.request("PUT", "/performance/config/thresholds/x", body: one, headers: Self.bearer(Self.read)).status == 401)
        #expect(try await harness.request("DELETE", "/performance/config/thresholds/x", body: "", headers: Self.bearer(Self.read)).status == 401)
        #expect(try await harness.request("PUT", "/performance/config/thresholds/x", body: one, headers: Self.bearer(Self.admin)).status == 201)
        await harness.stop()
    }

    @Test func metricsCanRequireTheReadTokenAndRefusalsAreCounted() async throws {
        let harness = try Self.guarded(metricsAuth: .read)
        #expect(try await harness.get("/metrics").status == 401)
        _ = try await harness.request("POST", "/events", body: Self.event)
        let metrics = try await harness.get("/metrics", headers: Self.bearer(Self.read))
        #expect(metrics.status == 200)
        #expect(metrics.text.contains(#"perfmond_http_unauthorized_total{access="read"} 1"#), "\(metrics.text.prefix(200))")
        #expect(metrics.text.contains(#"perfmond_http_unauthorized_total{access="ingest"} 1"#))
        await harness.stop()
    }

    @Test func withoutTokensEverythingIsOpen() async throws {
        let harness = try Harness()
        #expect(try await harness.request("POST", "/events", body: Self.event).status == 202)
        #expect(try await harness.get("/providers").status == 200)
        await harness.stop()
    }

    @Test func aReadTokenAloneAlsoGuardsConfigChanges() async throws {
        var access = AccessConfiguration()
        access.readToken = Self.read
        let harness = try Harness(accessControl: access)
        let body = #"{"alert_thresholds":[]}"#
        #expect(try await harness.request("POST", "/config", body: body).status == 401)
        #expect(try await harness.request("POST", "/events", body: Self.event).status == 202, "no ingest token: ingest is open")
        await harness.stop()
    }

    @Test func tokensCompareWholly() {
        #expect(AccessPolicy.constantTimeEqual("abcdefgh", "abcdefgh"))
        #expect(!AccessPolicy.constantTimeEqual("abcdefgh", "abcdefgx"))
        #expect(!AccessPolicy.constantTimeEqual("abcdefgh", "abcdefghi"))
        #expect(!AccessPolicy.constantTimeEqual("", "a"))
        #expect(AccessPolicy.bearerToken("Bearer  abc ") == "abc")
        #expect(AccessPolicy.bearerToken("Basic abc") == nil)
        #expect(AccessPolicy.bearerToken("Bearer") == nil)
    }

    /// A route's class is the one it was registered with; HEAD is its GET; a path whose routes
    /// are all open stays open for any method (it answers 405 without a token); the rest is a read.
    @Test func routesCarryTheirAccessClass() {
        var routes = Routes()
        routes.get("/health", access: .open) { _ in .json("{}") }
        routes.add("POST", "/events", access: .ingest, handler: .sync { _ in .json("{}") })
        routes.get("/metrics", access: .scrape) { _ in .json("{}") }
        #expect(routes.access(method: "GET", path: "/health") == .open)
        #expect(routes.access(method: "POST", path: "/health") == .open)
        #expect(routes.access(method: "POST", path: "/events") == .ingest)
        #expect(routes.access(method: "GET", path: "/events") == .read)
        #expect(routes.access(method: "HEAD", path: "/metrics") == .scrape)
        #expect(routes.access(method: "GET", path: "/nope") == .read)
    }
}
