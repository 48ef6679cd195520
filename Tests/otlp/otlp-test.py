#!/usr/bin/env python3
"""Part of `make test`: the OpenTelemetry Python SDK from PyPI (opentelemetry-sdk with
opentelemetry-exporter-otlp-proto-http, at the versions the Makefile pins, in a virtual environment
in .build/) pointed at a real perfmond's /v1/metrics and /v1/traces. GenAI histograms and counters
with known values (explicit and exponential buckets, cumulative and delta temporality, exported
several times, an exporter restarted, a point sent twice) must give exact counts and token sums and
p95 within the stated resolution; GenAI and HTTP server spans with known durations must give
p50/p95/p99 within 1 %; a service sending both signals is counted once. The JSON encoding is the
SDK's own messages in OTLP's JSON mapping (the SDK has no JSON exporter on PyPI yet). Bad bodies
(truncated protobuf, a span ending before it starts, wrong JSON types, summaries, gzip bombs, unknown
encodings) are answered as OTLP says, counted, and change nothing else. `promtool check metrics`
stays clean.
Usage: otlp-test.py [PERFMOND_BINARY]   (run with the virtual environment's python)"""
import base64
import gzip
import json
import math
import os
import random
import re
import sys
import tempfile
import time
import urllib.error
import urllib.request

root = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
binary = os.path.realpath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, ".build/debug/perfmond"))
sys.path.insert(0, os.path.join(root, "Tests/lib"))
from daemon import free_port, get, promtool_problems, start_daemon  # noqa: E402
from exact import nearest_rank  # noqa: E402

from google.protobuf import json_format  # noqa: E402
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics  # noqa: E402
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans  # noqa: E402
from opentelemetry.exporter.otlp.proto.http import Compression  # noqa: E402
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter  # noqa: E402
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: E402
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse  # noqa: E402
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse  # noqa: E402
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider, UpDownCounter  # noqa: E402
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader, PeriodicExportingMetricReader  # noqa: E402
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, ExponentialBucketHistogramAggregation, View  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from opentelemetry.trace import SpanKind, Status, StatusCode  # noqa: E402

failures = []
# The GenAI conventions' advised buckets for gen_ai.client.operation.duration (seconds).
GENAI_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
DELTA = {Counter: AggregationTemporality.DELTA, Histogram: AggregationTemporality.DELTA, UpDownCounter: AggregationTemporality.CUMULATIVE}


def fail(message):
    failures.append(message)
    print(f"otlp-test: FAIL: {message}", file=sys.stderr)


def expect(condition, message):
    if not condition:
        fail(message)


def within(got, want, tolerance, what):
    expect(abs(got - want) <= tolerance * want, f"{what}: {got}, exact {want} (more than {tolerance:.1%} off)")


def provider(port, name):
    answer = json.loads(get(port, "/performance/providers"))
    return answer["providers"].get(name, {})


def series(port, name):
    answer = json.loads(get(port, f"/performance/metrics?name={urllib.request.quote(name)}"))
    return answer["metrics"].get(name, {}).get("series", [])


def one(port, name, labels):
    found = [s for s in series(port, name) if s["labels"] == labels]
    if len(found) != 1:
        fail(f"{name} {labels}: expected one series, got {series(port, name)}")
        return {}
    return found[0]


def counter_values(port, family):
    return {m.group(1): float(m.group(2)) for m in re.finditer(rf"^perfmond_{family}\{{([^}}]*)\}} (\S+)$", get(port, "/metrics"), re.M)}


def post(port, path, body, content_type="application/x-protobuf", encoding=None):
    """(status, headers, body) of a raw POST."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method="POST", headers={"Content-Type": content_type})
    if encoding:
        request.add_header("Content-Encoding", encoding)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def meter_provider(port, service, views=(), temporality=None, compression=None, exporter_class=OTLPMetricExporter):
    exporter = exporter_class(endpoint=f"http://127.0.0.1:{port}/v1/metrics", preferred_temporality=temporality, compression=compression)
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    return MeterProvider(resource=Resource.create({"service.name": service}), metric_readers=[reader], views=list(views)), reader


def tracer_provider(port, service, compression=None):
    provider_ = TracerProvider(resource=Resource.create({"service.name": service}))
    provider_.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"http://127.0.0.1:{port}/v1/traces", compression=compression)))
    return provider_


def lognormal(rng, count, median, sigma):
    return [median * math.exp(rng.gauss(0, sigma)) for _ in range(count)]


def run():
    with tempfile.TemporaryDirectory() as scratch:
        daemon, port = start_daemon(binary, [], os.path.join(scratch, "perfmond.log"))
        if port is None:
            fail("perfmond did not start: " + open(os.path.join(scratch, "perfmond.log")).read())
            return
        try:
            check_genai_metrics(port)
            check_custom_metrics(port)
            check_restart_and_replay(port)
            check_spans(port)
            check_one_signal_per_service(port)
            check_json(port)
            check_bad_bodies(port)
            check_promtool(port)
        finally:
            stopped(daemon)
        check_stream_older_than_perfmond(scratch)
        check_restart_of_perfmond(scratch)


def check_genai_metrics(port):
    rng = random.Random(20)
    # Explicit buckets, cumulative (the SDK's default), exported three times.
    views = [View(instrument_name="gen_ai.client.operation.duration", aggregation=ExplicitBucketHistogramAggregation(GENAI_BUCKETS))]
    meters, reader = meter_provider(port, "explicit-svc", views)
    duration = meters.get_meter("genai").create_histogram("gen_ai.client.operation.duration", unit="s")
    tokens = meters.get_meter("genai").create_histogram("gen_ai.client.token.usage", unit="{token}")
    values = lognormal(rng, 3000, 0.8, 0.6)
    failed = 0
    attributes = {"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.operation.name": "chat"}
    input_tokens = output_tokens = 0
    for third in range(3):
        for index, value in enumerate(values[third * 1000:(third + 1) * 1000]):
            if index % 50 == 0:
                duration.record(value, dict(attributes, **{"error.type": "timeout"}))
                failed += 1
            else:
                duration.record(value, attributes)
            sent_in, sent_out = rng.randint(10, 2000), rng.randint(1, 500)
            input_tokens += sent_in
            output_tokens += sent_out
            tokens.record(sent_in, dict(attributes, **{"gen_ai.token.type": "input"}))
            tokens.record(sent_out, dict(attributes, **{"gen_ai.token.type": "output"}))
        reader.force_flush()
    meters.shutdown()  # one more export of the same cumulative points: adds nothing
    openai = provider(port, "openai")
    expect(openai.get("total_requests") == 3000, f"explicit cumulative: calls {openai.get('total_requests')}, sent 3000")
    expect(openai.get("failed_requests") == failed, f"explicit cumulative: failures {openai.get('failed_requests')}, sent {failed}")
    expect(openai.get("error_types") == {"timeout": failed}, f"error types {openai.get('error_types')}")
    expect(openai.get("input_tokens") == input_tokens and openai.get("output_tokens") == output_tokens,
           f"tokens {openai.get('input_tokens')}/{openai.get('output_tokens')}, sent {input_tokens}/{output_tokens}")
    p95 = nearest_rank(values, 0.95)
    lower = max([b for b in GENAI_BUCKETS if b < p95], default=0)
    upper = min(b for b in GENAI_BUCKETS if b >= p95)
    got = openai.get("p95_response_time_ms", 0) / 1000
    expect(lower * 0.99 <= got <= upper * 1.01, f"explicit buckets: p95 {got} s outside the client's bucket ({lower}, {upper}] of the exact {p95}")
    print(f"otlp-test: explicit buckets, cumulative, 4 exports: 3000 calls, {failed} failures, tokens exact, p95 {got:.3f} s "
          f"in the bucket ({lower}, {upper}] of the exact {p95:.3f} s")

    # Exponential buckets (the SDK's 160), delta temporality, and TTFT.
    views = [View(instrument_name="gen_ai.client.operation.duration", aggregation=ExponentialBucketHistogramAggregation()),
             View(instrument_name="gen_ai.server.time_to_first_token", aggregation=ExponentialBucketHistogramAggregation())]
    meters, reader = meter_provider(port, "exponential-svc", views, temporality=DELTA, compression=Compression.Gzip)
    duration = meters.get_meter("genai").create_histogram("gen_ai.client.operation.duration", unit="s")
    ttft = meters.get_meter("genai").create_histogram("gen_ai.server.time_to_first_token", unit="s")
    values = lognormal(rng, 4000, 1.5, 0.7)
    firsts = lognormal(rng, 4000, 0.3, 0.5)
    attributes = {"gen_ai.system": "anthropic", "gen_ai.response.model": "claude-sonnet"}
    for half in range(2):
        for value, first in zip(values[half * 2000:(half + 1) * 2000], firsts[half * 2000:(half + 1) * 2000]):
            duration.record(value, attributes)
            ttft.record(first, attributes)
        reader.force_flush()
    meters.shutdown()
    anthropic = provider(port, "anthropic")
    expect(anthropic.get("total_requests") == 4000, f"exponential delta (gzip): calls {anthropic.get('total_requests')}, sent 4000")
    for q, field in [(0.5, "p50_response_time_ms"), (0.95, "p95_response_time_ms"), (0.99, "p99_response_time_ms")]:
        within(anthropic.get(field, 0) / 1000, nearest_rank(values, q), 0.03, f"exponential buckets {field}")
    within(anthropic.get("p95_ttft_ms", 0) / 1000, nearest_rank(firsts, 0.95), 0.03, "exponential TTFT p95")
    print(f"otlp-test: exponential buckets, delta, gzip: 4000 calls, p50/p95/p99 and TTFT p95 within 3 % "
          f"(p95 {anthropic.get('p95_response_time_ms', 0):.1f} ms, exact {nearest_rank(values, 0.95) * 1000:.1f} ms)")


def check_custom_metrics(port):
    meters, reader = meter_provider(port, "shop")
    meter = meters.get_meter("shop")
    orders = meter.create_counter("shop.orders", unit="1")
    queue = meter.create_up_down_counter("shop.queue")
    sizes = meter.create_histogram("shop.basket.size", unit="By")
    levels = {"value": 0.0}
    meter.create_observable_gauge("shop.temperature", callbacks=[lambda options: [__import__("opentelemetry.metrics", fromlist=["Observation"]).Observation(levels["value"], {"room": "a"})]])
    total = 0
    for round_ in range(3):
        for _ in range(7 + round_):
            orders.add(2, {"store": "north", "http.request.method": "POST"})
            total += 2
        queue.add(5)
        queue.add(-2)
        for size in range(1, 101):
            sizes.record(size * 10)
        levels["value"] = 20.5 + round_
        reader.force_flush()
    meters.shutdown()
    counted = one(port, "shop.orders", {"store": "north", "http_request_method": "POST", "service": "shop"})
    expect(counted.get("sum") == total, f"cumulative counter: {counted.get('sum')}, sent {total}")
    expect(one(port, "shop.queue", {"service": "shop"}).get("last") == 9, "an up-down counter is a gauge of its cumulative value")
    expect(one(port, "shop.temperature", {"room": "a", "service": "shop"}).get("last") == 22.5, "an observable gauge's last value")
    basket = one(port, "shop.basket.size", {"service": "shop"})
    expect(basket.get("count") == 300, f"custom histogram count {basket.get('count')}, sent 300")
    expect(basket.get("resolution") == "client_buckets", f"an explicit-bucket histogram says its resolution: {basket}")
    metrics = get(port, "/metrics")
    expect(f'shop_orders_total{{http_request_method="POST",service="shop",store="north"}} {total}' in metrics, "the counter on /metrics")
    print(f"otlp-test: custom metrics: cumulative counter {total} over 4 exports, up-down counter, gauge, histogram (client_buckets)")


class TwiceExporter(OTLPMetricExporter):
    """Sends every export twice, as a client retrying after a lost answer would."""

    def export(self, metrics_data, timeout_millis=10_000, **kwargs):
        super().export(metrics_data, timeout_millis=timeout_millis, **kwargs)
        return super().export(metrics_data, timeout_millis=timeout_millis, **kwargs)


def check_restart_and_replay(port):
    meters, reader = meter_provider(port, "restarting", exporter_class=TwiceExporter)
    counter = meters.get_meter("r").create_counter("jobs.done")
    counter.add(10)
    reader.force_flush()
    counter.add(4)
    reader.force_flush()
    meters.shutdown()
    time.sleep(0.01)  # the next provider's start time is later: a reset
    meters, reader = meter_provider(port, "restarting")
    meters.get_meter("r").create_counter("jobs.done").add(5)
    reader.force_flush()
    meters.shutdown()
    got = one(port, "jobs.done", {"service": "restarting"}).get("sum")
    expect(got == 19, f"every point sent twice, then a restarted exporter: {got}, sent 19")
    print("otlp-test: every export sent twice adds once; a restarted exporter (new start time) is counted from zero: 19 of 19")


def stopped(daemon):
    daemon.terminate()
    daemon.wait(timeout=10)


def check_stream_older_than_perfmond(scratch):
    # The service's counter started before this perfmond: its first point only sets the baseline.
    port = free_port()
    meters, reader = meter_provider(port, "older")
    counter = meters.get_meter("o").create_counter("old.counter")
    counter.add(100)
    time.sleep(0.05)
    daemon, port = start_daemon(binary, [], os.path.join(scratch, "second.log"), port=port)
    try:
        reader.force_flush()
        counter.add(7)
        reader.force_flush()
        got = one(port, "old.counter", {"service": "older"}).get("sum")
        expect(got == 7, f"a stream older than perfmond: {got}, expected 7 (what came after its first point)")
        print("otlp-test: a cumulative stream that started before perfmond counts from its first point: 7 of 107")
    finally:
        meters.shutdown()
        stopped(daemon)


def check_restart_of_perfmond(scratch):
    # The streams are in the snapshot: a restart of perfmond between two exports loses and repeats nothing.
    port, state = free_port(), os.path.join(scratch, "state.bin")
    meters, reader = meter_provider(port, "across")
    counter = meters.get_meter("a").create_counter("kept.counter")
    try:
        daemon, _ = start_daemon(binary, [], os.path.join(scratch, "third.log"), {"PERFMOND_STATE_FILE": state}, port=port)
        counter.add(10)
        reader.force_flush()
        stopped(daemon)
        counter.add(5)  # while perfmond is down: counted by the next cumulative point
        daemon, _ = start_daemon(binary, [], os.path.join(scratch, "fourth.log"), {"PERFMOND_STATE_FILE": state}, port=port)
        for _ in range(200):  # the snapshot is read back before /ready answers 200
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=5).status == 200:
                    break
            except urllib.error.HTTPError:
                time.sleep(0.025)
        counter.add(2)
        reader.force_flush()
        got = one(port, "kept.counter", {"service": "across"}).get("sum")
        expect(got == 17, f"across a restart of perfmond: {got}, sent 17")
        print("otlp-test: a restart of perfmond between exports (state_file): 17 of 17, nothing lost or repeated")
    finally:
        meters.shutdown()
        stopped(daemon)


def check_spans(port):
    tracer = tracer_provider(port, "span-gateway").get_tracer("genai")
    rng = random.Random(5)
    now = time.time_ns()
    durations, in_tokens, out_tokens, errors = [], 0, 0, 0
    for index in range(600):
        start = now - 60_000_000_000 + index * 50_000_000
        nanos = int(lognormal(rng, 1, 900e6, 0.5)[0])
        durations.append(nanos / 1e6)
        attributes = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "mistral", "gen_ai.request.model": "mistral-large",
                      "gen_ai.response.model": "mistral-large-2411", "gen_ai.usage.input_tokens": 100 + index,
                      "gen_ai.usage.output_tokens": 7, "gen_ai.prompt": "x" * 2000}
        in_tokens += 100 + index
        out_tokens += 7
        span = tracer.start_span("chat mistral-large", kind=SpanKind.CLIENT, start_time=start, attributes=attributes)
        if index % 20 == 0:
            span.set_status(Status(StatusCode.ERROR, "upstream 529"))
            errors += 1
        span.end(end_time=start + nanos)
    server = []
    for index in range(400):
        start = now - 30_000_000_000 + index * 10_000_000
        nanos = int(lognormal(rng, 1, 40e6, 0.8)[0])
        server.append(nanos / 1e6)
        span = tracer.start_span("POST /v1/chat", kind=SpanKind.SERVER, start_time=start,
                                 attributes={"http.route": "/v1/chat", "http.request.method": "POST",
                                             "http.response.status_code": 500 if index % 40 == 0 else 200})
        span.end(end_time=start + nanos)
    tracer.start_span("internal work", start_time=now - 1000).end(end_time=now)
    mistral = provider(port, "mistral")
    model = mistral.get("model_stats", {}).get("mistral-large-2411", {})
    expect(mistral.get("total_requests") == 600 and mistral.get("failed_requests") == errors,
           f"GenAI spans: {mistral.get('total_requests')} calls, {mistral.get('failed_requests')} failed; sent 600, {errors}")
    expect(model.get("input_tokens") == in_tokens and model.get("output_tokens") == out_tokens, f"span tokens {model}")
    for q, field in [(0.5, "p50_response_time_ms"), (0.95, "p95_response_time_ms"), (0.99, "p99_response_time_ms")]:
        within(mistral.get(field, 0), nearest_rank(durations, q), 0.01, f"GenAI spans {field}")
    chat = json.loads(get(port, "/performance/endpoints"))["endpoints"].get("/v1/chat", {}).get("methods", {}).get("POST", {})
    expect(chat.get("total_operations") == 400, f"server spans: {chat.get('total_operations')} requests, sent 400")
    within(chat.get("p95_duration_ms", 0), nearest_rank(server, 0.95), 0.01, "server spans p95")
    expect(chat.get("error_rate_percent") == 2.5, f"server spans with status 500: error rate {chat.get('error_rate_percent')}")
    spans = counter_values(port, "otlp_spans_total")
    expect(spans.get('outcome="ignored"') == 1, f"the internal span is ignored and counted: {spans}")

    # A span that ends before it starts: refused alone, in partialSuccess.
    memory = InMemorySpanExporter()
    local = TracerProvider(resource=Resource.create({"service.name": "span-gateway"}))
    local.add_span_processor(SimpleSpanProcessor(memory))
    backwards = local.get_tracer("t").start_span("chat", attributes={"gen_ai.provider.name": "mistral"}, start_time=now)
    backwards.end(end_time=now - 5_000_000)
    good = local.get_tracer("t").start_span("chat", attributes={"gen_ai.provider.name": "mistral"}, start_time=now - 2_000_000)
    good.end(end_time=now)
    status, headers, body = post(port, "/v1/traces", encode_spans(memory.get_finished_spans()).SerializeToString())
    answer = ExportTraceServiceResponse.FromString(body)
    expect(status == 200 and answer.partial_success.rejected_spans == 1 and "ends before it starts" in answer.partial_success.error_message,
           f"a negative duration: {status} {answer}")
    expect(provider(port, "mistral").get("total_requests") == 601, "the span beside it is kept")
    print(f"otlp-test: 600 GenAI spans (p50/p95/p99 within 1 %, tokens exact, {errors} errors), 400 server spans, "
          "1 internal span ignored, a span ending before its start refused in partialSuccess")


def check_one_signal_per_service(port):
    tracer = tracer_provider(port, "both-svc").get_tracer("openllmetry")
    now = time.time_ns()
    for index in range(3):
        tracer.start_span("chat", attributes={"gen_ai.system": "cohere", "gen_ai.request.model": "command-r"},
                          start_time=now - 2_000_000_000 + index).end(end_time=now - 1_000_000_000)
    meters, reader = meter_provider(port, "both-svc")
    duration = meters.get_meter("openllmetry").create_histogram("gen_ai.client.operation.duration", unit="s")
    for _ in range(3):
        duration.record(1.0, {"gen_ai.system": "cohere", "gen_ai.request.model": "command-r"})
    meters.shutdown()
    cohere = provider(port, "cohere")
    expect(cohere.get("total_requests") == 3, f"a service sending GenAI spans and metrics is counted once: {cohere.get('total_requests')}")
    shadow = one(port, "gen_ai.client.operation.duration", {"gen_ai_request_model": "command-r", "gen_ai_system": "cohere", "service": "both-svc"})
    expect(shadow.get("count") == 3, f"its GenAI metrics become a custom metric: {shadow}")
    print("otlp-test: otlp_genai_source auto: 3 calls sent as spans and metrics counted once (3 calls), the metrics kept as a custom metric")


def hex_ids(value):
    """OTLP's JSON writes trace and span ids in hex, where protobuf's JSON mapping writes base64."""
    if isinstance(value, dict):
        return {k: (base64.b64decode(v).hex() if k in ("traceId", "spanId", "parentSpanId") else hex_ids(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [hex_ids(v) for v in value]
    return value


def check_json(port):
    reader = InMemoryMetricReader()
    meters = MeterProvider(resource=Resource.create({"service.name": "json-svc"}), metric_readers=[reader])
    meters.get_meter("j").create_counter("json.calls").add(12, {"kind": "a"})
    meters.get_meter("j").create_histogram("gen_ai.client.operation.duration", unit="s").record(0.5, {"gen_ai.provider.name": "groq"})
    body = json.dumps(hex_ids(json_format.MessageToDict(encode_metrics(reader.get_metrics_data()), use_integers_for_enums=True))).encode()
    status, headers, answer = post(port, "/v1/metrics", body, "application/json")
    expect(status == 200 and headers.get("Content-Type") == "application/json" and json.loads(answer) == {},
           f"JSON metrics: {status} {headers.get('Content-Type')} {answer}")
    expect(one(port, "json.calls", {"kind": "a", "service": "json-svc"}).get("sum") == 12, "a JSON counter")
    expect(provider(port, "groq").get("total_requests") == 1, "a JSON GenAI histogram")
    memory = InMemorySpanExporter()
    local = TracerProvider(resource=Resource.create({"service.name": "json-svc"}))
    local.add_span_processor(SimpleSpanProcessor(memory))
    now = time.time_ns()
    local.get_tracer("t").start_span("chat", attributes={"gen_ai.provider.name": "groq"}, start_time=now - 250_000_000).end(end_time=now)
    body = json.dumps(hex_ids(json_format.MessageToDict(encode_spans(memory.get_finished_spans()), use_integers_for_enums=True))).encode()
    status, _, answer = post(port, "/v1/traces", gzip.compress(body), "application/json", encoding="gzip")
    groq = provider(port, "groq")
    expect(status == 200 and groq.get("total_requests") == 2 and groq.get("max_response_time_ms") == 500,
           f"JSON spans (gzip): {status} {answer} {groq.get('total_requests')} {groq.get('max_response_time_ms')}")
    print("otlp-test: OTLP JSON (the SDK's messages, lowerCamelCase, int64 as strings, hex ids): metrics and gzip spans read")


def check_bad_bodies(port):
    rejected_before = counter_values(port, "events_rejected_total")
    requests_before = counter_values(port, "ingest_requests_rejected_total")
    providers_before = json.loads(get(port, "/performance/providers"))["summary"]["total_requests"]
    metrics_before = json.loads(get(port, "/performance/metrics"))["metrics_count"]

    reader = InMemoryMetricReader()
    meters = MeterProvider(resource=Resource.create({"service.name": "bad"}), metric_readers=[reader])
    meters.get_meter("b").create_counter("never.kept").add(1)
    whole = encode_metrics(reader.get_metrics_data()).SerializeToString()
    status, headers, body = post(port, "/v1/metrics", whole[:-3])
    expect(status == 400 and headers.get("Content-Type") == "application/x-protobuf" and b"ends inside a field" in body,
           f"a truncated protobuf: {status} {headers.get('Content-Type')} {body}")
    status, headers, body = post(port, "/v1/metrics", b"{not json", "application/json")
    expect(status == 400 and json.loads(body).get("code") == 3, f"invalid JSON: {status} {body}")
    mixed = {"resourceMetrics": [{"scopeMetrics": [{"metrics": [
        {"name": "bad.level", "gauge": {"dataPoints": [{"asDouble": "abc"}, {"asDouble": 2.5}]}},
        {"name": "bad.summary", "summary": {"dataPoints": [{"count": "3", "sum": 6}]}},
        {"name": "bad.histogram", "histogram": {"aggregationTemporality": 1, "dataPoints": [{"count": "5", "bucketCounts": ["1", "1"], "explicitBounds": [1]}]}},
        {"name": "bad.counter", "sum": {"aggregationTemporality": 1, "isMonotonic": True, "dataPoints": [{"asInt": "-4"}]}},
        {"name": "bad.label", "gauge": {"dataPoints": [{"asDouble": 1, "attributes": [{"key": "le", "value": {"stringValue": "1"}}]}]}},
    ]}]}]}
    status, _, body = post(port, "/v1/metrics", json.dumps(mixed).encode(), "application/json")
    partial = json.loads(body).get("partialSuccess", {})
    expect(status == 200 and partial.get("rejectedDataPoints") == "5", f"five bad points refused, one kept: {status} {body}")
    expect(one(port, "bad.level", {}).get("last") == 2.5, "the good point beside them is kept")
    status, _, _ = post(port, "/v1/metrics", whole, "text/plain")
    expect(status == 415, f"text/plain: {status}")
    status, _, _ = post(port, "/v1/metrics", whole, encoding="br")
    expect(status == 415, f"Content-Encoding br: {status}")
    status, _, body = post(port, "/v1/traces", gzip.compress(b"\0" * (17 << 20)), encoding="gzip")
    expect(status == 413 and b"otlp_max_body_bytes" in body, f"a gzip body inflating past 16 MiB: {status} {body[:80]}")
    status, _, body = post(port, "/v1/traces", gzip.compress(b"\x0a\x00" * 10)[:-6], encoding="gzip")
    expect(status == 400, f"a cut gzip stream: {status} {body}")

    rejected = {k: v - rejected_before.get(k, 0) for k, v in counter_values(port, "events_rejected_total").items() if v != rejected_before.get(k, 0)}
    requests = {k: v - requests_before.get(k, 0) for k, v in counter_values(port, "ingest_requests_rejected_total").items() if v != requests_before.get(k, 0)}
    expect(rejected == {'route="otlp_metrics",reason="invalid"': 4, 'route="otlp_metrics",reason="unsupported"': 1},
           f"points refused, by reason: {rejected}")
    expect(requests == {'route="otlp_metrics",reason="malformed"': 2, 'route="otlp_metrics",reason="unsupported_media_type"': 2,
                        'route="otlp_traces",reason="inflated_too_large"': 1, 'route="otlp_traces",reason="malformed"': 1},
           f"requests refused, by reason: {requests}")
    expect(json.loads(get(port, "/performance/providers"))["summary"]["total_requests"] == providers_before, "no provider call came of them")
    expect(json.loads(get(port, "/performance/metrics"))["metrics_count"] == metrics_before + 1, "only bad.level's good point made a series")
    memory = json.loads(get(port, "/performance/memory"))["ingest"]
    expect(memory["by_route"]["otlp_traces"]["rejected_requests"]["inflated_too_large"] == 1 and memory["otlp"]["points"]["unsupported"] == 1,
           f"/performance/memory: {memory['otlp']}")
    print("otlp-test: truncated protobuf 400, invalid JSON 400, 5 bad points refused in partialSuccess beside a good one, "
          "415 twice, gzip bomb 413, cut gzip 400; each counted, nothing else changed")


def check_promtool(port):
    problems = promtool_problems(get(port, "/metrics"))
    expect(not problems, f"promtool check metrics: {problems}")
    print("otlp-test: promtool check metrics is clean")


run()
if failures:
    sys.exit(1)
print("otlp-test: OK")
