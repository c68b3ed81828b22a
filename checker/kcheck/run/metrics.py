"""`--metrics-port`: the run's counters as Prometheus metrics, served over HTTP while the run
lasts. A collector reads the live Counters on each scrape, so the loop never waits for it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector, CollectorRegistry

from kcheck.run.interpreter import Counters


class RunCollector(Collector):
    def __init__(self, counters: Counters, model: str, driver: str) -> None:
        self.counters = counters
        self.labels = {"model": model, "driver": driver}

    def collect(self) -> Iterator[Metric]:
        c = self.counters
        names = list(self.labels)
        values = list(self.labels.values())
        for name, help_text, value in (
            ("kcheck_run_reconciles", "Controller and scheduler steps fired.", c.reconciles),
            (
                "kcheck_run_engine_steps",
                "Steps the world performed itself, observed.",
                c.engine_steps,
            ),
            ("kcheck_run_faults", "Faults injected.", c.faults),
            (
                "kcheck_run_invariant_checks",
                "Invariant evaluations on observed states.",
                c.invariant_checks,
            ),
            ("kcheck_run_violations", "Violations found.", c.violations),
            ("kcheck_run_steps", "Steps committed to the trace.", c.steps),
        ):
            counter = CounterMetricFamily(name, help_text, labels=names)
            counter.add_metric(values, value)
            yield counter
        latency = SummaryMetricFamily(
            "kcheck_run_reconcile_latency_seconds",
            "From a controller step becoming enabled until the world carried it out.",
            labels=names,
        )
        latencies = list(c.reconcile_latencies)  # a copy: the loop appends as we read
        latency.add_metric(values, len(latencies), sum(latencies))
        yield latency
        converge = GaugeMetricFamily(
            "kcheck_run_time_to_converge_seconds",
            "Seconds from the last fault until every property was met (NaN before).",
            labels=names,
        )
        converge.add_metric(
            values, float("nan") if c.converged_after is None else c.converged_after
        )
        yield converge
        elapsed = GaugeMetricFamily("kcheck_run_elapsed_seconds", "Run time so far.", labels=names)
        elapsed.add_metric(values, c.time)
        yield elapsed


def serve(port: int, counters: Counters, model: str, driver: str) -> Callable[[], None]:
    """Start the exporter on `port` (all interfaces); returns the function that stops it."""
    registry = CollectorRegistry()
    registry.register(RunCollector(counters, model, driver))
    server, thread = start_http_server(port, registry=registry)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop
