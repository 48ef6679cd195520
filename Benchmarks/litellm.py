#!/usr/bin/env python3
"""POST /ingest/litellm in `make bench` (issue 19's targets), against a release binary on loopback:
- payloads/s for LiteLLM batches of 512 payloads of ~11 KB (what its mock responses make) and of
  ~100 KB (real prompts), posted one after another on one keep-alive connection as LiteLLM's
  callback does, for ROUNDS rounds of SECONDS each;
- the MB/s of the same bodies posted to the raw libmicrohttpd server, which reads and discards
  them: the floor, in the same run, rounds alternating (targets: ≥ 50,000 payloads/s small,
  ≥ 0.5× the floor's MB/s large);
- RSS during a 50 MB batch, sampled every 2 ms, above the daemon's RSS before it (≤ 16 MiB).
Prints one JSON object. Usage: litellm.py BINARY RAW_SERVER [ROUNDS=3] [SECONDS=5]"""
import http.client
import json
import os
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import rss_kib, start  # noqa: E402

binary, raw_server = sys.argv[1], sys.argv[2]
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 5
def payload(index, now, padding):
    """A standard logging payload shaped as LiteLLM 1.110 writes it; `padding` bytes of prompt."""
    start = now - 1 - (index % 50) * 0.01
    return {
        "id": f"chatcmpl-{index}", "trace_id": "t", "call_type": "acompletion", "cache_hit": None, "stream": index % 4 == 0,
        "status": "success" if index % 10 else "failure", "custom_llm_provider": ["openai", "anthropic"][index % 2],
        "saved_cache_cost": 0.0, "startTime": start, "endTime": start + 0.2 + (index % 37) * 0.01,
        "completionStartTime": start + 0.05, "response_time": 0.2, "model": ["gpt-4o-mini", "gpt-4o", "claude-3-5-haiku"][index % 3],
        "model_id": None, "model_group": "", "api_base": "", "prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30,
        "response_cost": 1.35e-05, "metadata": {"user_api_key_hash": None, "tags": [], "spend_logs_metadata": None},
        "messages": [{"role": "user", "content": "x" * padding}],
        "response": {"id": f"chatcmpl-{index}", "choices": [{"finish_reason": "stop", "index": 0,
                     "message": {"content": "This is a mock request", "role": "assistant"}}], "usage": {"total_tokens": 30}},
        "error_str": None, "error_information": {"error_code": "" if index % 10 else "429", "error_class": "" if index % 10 else "RateLimitError",
                                                 "llm_provider": "", "traceback": "", "error_message": ""},
        "hidden_params": {"model_id": None, "additional_headers": {}}, "litellm_call_id": f"call-{index}",
    }


def batch(padding):
    now = time.time()
    return json.dumps([payload(i, now, padding) for i in range(512)]).encode()


def post_for(port, path, body, duration):
    """Posts `body` again and again on one connection for `duration` s, at least once; (requests, seconds)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    count, began = 0, time.perf_counter()
    while count == 0 or time.perf_counter() - began < duration:
        connection.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        answer = connection.getresponse()
        text = answer.read()
        if answer.status not in (200, 202):
            raise SystemExit(f"{path}: {answer.status} {text[:200]!r}")
        count += 1
    connection.close()
    return count, time.perf_counter() - began


def main():
    daemon, port = start([binary, "--port", "0"])
    floor, floor_port = start([raw_server])
    results = {}
    try:
        for name, padding in [("small", 10_400), ("large", 99_000)]:
            body = batch(padding)
            ours, theirs = [], []
            for _ in range(rounds):
                count, elapsed = post_for(port, "/ingest/litellm", body, seconds)
                ours.append(count * 512 / elapsed)
                count, elapsed = post_for(floor_port, "/events", body, seconds)
                theirs.append(count * len(body) / elapsed / 1e6)
            rate = statistics.median(ours)
            results[name] = {
                "payload_bytes": len(body) // 512, "body_bytes": len(body),
                "payloads_per_second": round(rate), "mb_per_second": round(rate * len(body) / 512 / 1e6, 1),
                "discard_mb_per_second": round(statistics.median(theirs), 1),
                "ratio_to_discard": round(rate * len(body) / 512 / 1e6 / statistics.median(theirs), 3),
                "rounds_payloads_per_second": [round(r) for r in ours],
            }
        # RSS while one 50 MB batch goes in, against the RSS just before it.
        body = batch(99_000)
        post_for(port, "/ingest/litellm", body, 0)  # once, so that what one batch leaves behind is there
        time.sleep(1)
        idle = rss_kib(daemon.pid)
        peak, done = idle, threading.Event()

        def sample():
            nonlocal peak
            while not done.is_set():
                peak = max(peak, rss_kib(daemon.pid))
                time.sleep(0.002)
        sampler = threading.Thread(target=sample)
        sampler.start()
        post_for(port, "/ingest/litellm", body, 0)
        done.set()
        sampler.join()
        results["rss_during_50mb_batch"] = {"body_bytes": len(body), "before_kib": idle, "peak_kib": peak,
                                            "above_before_mib": round((peak - idle) / 1024, 2)}
    finally:
        daemon.terminate()
        floor.terminate()
        daemon.wait(timeout=30)
    print(json.dumps(results))


main()
