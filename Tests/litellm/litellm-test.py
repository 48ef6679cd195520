#!/usr/bin/env python3
"""Part of `make test`: LiteLLM's own generic API logging callback (the `litellm` package from
PyPI, pinned in the Makefile, in a virtual environment in .build/) pointed at a real perfmond, in
each of its three log formats, with mock responses only (offline). A second callback sends the same
payloads to a receiver in this script, and perfmond's answers must equal what those payloads say:
calls, failures, error types, cost, tokens, p50/p95 duration (within 1 %), TTFT, cache lookups.
Then one batch of 512 payloads with 100 KB prompts (about 50 MB), which must be accepted whole.
Usage: litellm-test.py [PERFMOND_BINARY]   (run with the virtual environment's python)"""
import asyncio
import http.server
import json
import os
import random
import sys
import tempfile
import threading

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # or it fetches its price map
root = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
binary = os.path.realpath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, ".build/debug/perfmond"))
sys.path.insert(0, os.path.join(root, "Tests/lib"))
from daemon import get, start_daemon  # noqa: E402
from exact import nearest_rank  # noqa: E402

import litellm  # noqa: E402
from litellm.integrations.generic_api.generic_api_callback import GenericAPILogger  # noqa: E402

failures = []
random.seed(7)


def fail(message):
    failures.append(message)
    print(f"litellm-test: FAIL: {message}", file=sys.stderr)


class Receiver(http.server.BaseHTTPRequestHandler):
    """Keeps every payload LiteLLM posts, whatever the format."""
    payloads = []
    largest_body = 0

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        stripped = body.strip()
        if stripped.startswith("["):
            Receiver.payloads += json.loads(stripped)
        else:
            Receiver.payloads += [json.loads(line) for line in stripped.splitlines() if line.strip()]
        Receiver.largest_body = max(Receiver.largest_body, len(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *arguments):
        pass


def metric(text, line_start):
    for line in text.splitlines():
        if line.startswith(line_start + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def use(*loggers):
    """Only these callbacks from now on (LiteLLM keeps earlier ones in lists of its own)."""
    litellm.logging_callback_manager._reset_all_callbacks()
    litellm.callbacks = list(loggers)


MODELS = ["openai/gpt-4o-mini", "openai/gpt-4o", "anthropic/claude-3-5-haiku-20241022"]


async def calls(prompt_suffix):
    """Successes on three models, rate-limit and timeout failures, streamed calls. (Not a cache
    hit: LiteLLM 1.110.2's SDK imports its proxy's modules, fastapi and orjson, on that path; the
    mapping of `cache_hit` is tested in LiteLLMTests with payloads of the same shape.)"""
    messages = lambda i: [{"role": "user", "content": f"question {i} {prompt_suffix}"}]  # noqa: E731
    jobs = []
    for model in MODELS:
        for i in range(12):
            jobs.append(litellm.acompletion(model=model, messages=messages(i), mock_response=f"answer {i}",
                                            mock_delay=random.uniform(0.005, 0.08)))
    for i in range(3):
        jobs.append(litellm.acompletion(model=MODELS[2], messages=messages(i), mock_response=litellm.RateLimitError(
            "slow down", llm_provider="anthropic", model="claude-3-5-haiku-20241022")))
    jobs.append(litellm.acompletion(model=MODELS[1], messages=messages(99), mock_response=litellm.Timeout(
        "took too long", model="gpt-4o", llm_provider="openai")))
    await asyncio.gather(*jobs, return_exceptions=True)
    for i in range(4):
        stream = await litellm.acompletion(model=MODELS[1], messages=messages(100 + i), stream=True,
                                           mock_response="a streamed answer in several words", mock_delay=0.01)
        async for _ in stream:
            await asyncio.sleep(0.005)


def expected_by_provider(payloads):
    """What perfmond must say, worked out from the payloads as LiteLLM sent them (api.md §6.1)."""
    result = {}
    for p in payloads:
        if p.get("cache_hit") is True:
            continue
        provider = p["custom_llm_provider"]
        entry = result.setdefault(provider, {"total": 0, "failed": 0, "errors": {}, "cost": 0.0, "input": 0, "output": 0,
                                             "durations": [], "ttft": []})
        entry["total"] += 1
        if p["status"] != "success":
            entry["failed"] += 1
            error_class = p["error_information"]["error_class"]
            entry["errors"][error_class] = entry["errors"].get(error_class, 0) + 1
        entry["cost"] += p.get("response_cost") or 0
        entry["input"] += p.get("prompt_tokens") or 0
        entry["output"] += p.get("completion_tokens") or 0
        entry["durations"].append((p["endTime"] - p["startTime"]) * 1000)
        if p.get("stream") is True:
            entry["ttft"].append((p["completionStartTime"] - p["startTime"]) * 1000)
    return result


def compare(port, payloads, phase):
    providers = json.loads(get(port, "/performance/providers"))["providers"]
    for name, want in expected_by_provider(payloads).items():
        got = providers.get(name)
        if got is None:
            fail(f"{phase}: provider {name} missing")
            continue
        for key, value in [("total_requests", want["total"]), ("failed_requests", want["failed"])]:
            if got[key] != value:
                fail(f"{phase}: {name} {key} = {got[key]}, the payloads say {value}")
        if got["error_types"] != want["errors"]:
            fail(f"{phase}: {name} error_types = {got['error_types']}, the payloads say {want['errors']}")
        for key, value in [("total_cost_usd", want["cost"]), ("input_tokens", want["input"]), ("output_tokens", want["output"])]:
            if abs(got[key] - value) > 1e-9 * max(1, abs(value)):
                fail(f"{phase}: {name} {key} = {got[key]}, the payloads say {value}")
        for q, key in [(0.5, "p50_response_time_ms"), (0.95, "p95_response_time_ms")]:
            exact = nearest_rank(want["durations"], q)
            if abs(got[key] - exact) > 0.01 * exact:
                fail(f"{phase}: {name} {key} = {got[key]}, exact {exact} (more than 1 % off)")
        ttft = sum(want["ttft"]) / len(want["ttft"]) if want["ttft"] else 0
        if abs(got["avg_ttft_ms"] - ttft) > 1e-6 * max(1, ttft):
            fail(f"{phase}: {name} avg_ttft_ms = {got['avg_ttft_ms']}, the payloads say {ttft}")
    metrics = get(port, "/metrics")
    hits = sum(1 for p in payloads if p.get("cache_hit") is True)
    misses = sum(1 for p in payloads if p.get("cache_hit") is False)
    for result, count in [("hit", hits), ("miss", misses)]:
        seen = metric(metrics, f'perfmond_cache_requests_total{{scope="litellm",result="{result}"}}')
        if seen != count:
            fail(f"{phase}: cache {result}s = {seen}, the payloads say {count}")
    received = metric(metrics, 'perfmond_events_received_total{route="litellm"}')
    if received != len(payloads):
        fail(f"{phase}: perfmond accepted {received} payloads, LiteLLM sent {len(payloads)}")
    rejected = sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
                   if line.startswith('perfmond_ingest_requests_rejected_total{route="litellm"'))
    if rejected:
        fail(f"{phase}: {rejected} LiteLLM requests refused")
    print(f"litellm-test: {phase}: {len(payloads)} payloads ({hits} cache hits) agree")


async def main():
    capture = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=capture.serve_forever, daemon=True).start()
    work = tempfile.mkdtemp(prefix="perfmond-litellm-")
    daemon, port = start_daemon(binary, [], os.path.join(work, "perfmond.log"))
    if port is None:
        print(open(os.path.join(work, "perfmond.log")).read(), file=sys.stderr)
        sys.exit("litellm-test: perfmond did not start")
    try:
        for log_format in ["json_array", "ndjson", "single"]:
            ours = GenericAPILogger(endpoint=f"http://127.0.0.1:{port}/ingest/litellm", log_format=log_format, flush_interval=3600)
            theirs = GenericAPILogger(endpoint=f"http://127.0.0.1:{capture.server_port}/", log_format=log_format, flush_interval=3600)
            use(ours, theirs)
            await calls(log_format)
            await asyncio.sleep(0.5)  # LiteLLM logs from a background task
            for logger in (ours, theirs):
                await logger.async_send_batch()
            compare(port, Receiver.payloads, log_format)

        # 512 payloads of about 100 KB each: LiteLLM's default batch size, in one POST of ~50 MB.
        before = len(Receiver.payloads)
        ours = GenericAPILogger(endpoint=f"http://127.0.0.1:{port}/ingest/litellm", flush_interval=3600, batch_size=10_000)
        theirs = GenericAPILogger(endpoint=f"http://127.0.0.1:{capture.server_port}/", flush_interval=3600, batch_size=10_000)
        use(ours, theirs)
        prompt = "lorem ipsum \"dolor\" sit amet " * 3000
        await asyncio.gather(*[litellm.acompletion(model=MODELS[i % 3], messages=[{"role": "user", "content": f"{i} {prompt}"}],
                                                   mock_response="ok") for i in range(512)])
        await asyncio.sleep(0.5)
        for logger in (ours, theirs):
            await logger.async_send_batch()
        size = Receiver.largest_body
        if len(Receiver.payloads) - before != 512:
            fail(f"the large batch held {len(Receiver.payloads) - before} payloads, not 512")
        if size < 45_000_000:
            fail(f"the large batch was only {size} bytes")
        compare(port, Receiver.payloads, f"one batch of 512 payloads, {size / 1e6:.1f} MB")
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)
        capture.shutdown()


asyncio.run(main())
if failures:
    sys.exit(f"litellm-test: {len(failures)} failure(s)")
print("litellm-test: ok")
