"""The benchmark code itself must keep working (make bench runs it for real; here only tiny sizes)."""

from simulator.benchmarks import generation


def test_throughput_stages_report_rates() -> None:
    result = generation.throughput(n=300, warmup=50)
    for key in ("world_events_per_s", "rendered_messages_per_s", "signed_wire_records_per_s"):
        assert result[key] > 0


def test_peak_rss_runs_in_a_child_process() -> None:
    result = generation.peak_rss(200)
    assert result["records"] == 200 and result["peak_rss_mb"] > 10


def test_delivery_benchmark_modes_all_deliver() -> None:
    from simulator.benchmarks import delivery

    result = delivery.throughput(seconds=0.3, rounds=1)
    assert result["bare_aiohttp_fixed_body_per_s"] > 0
    assert result["fleetsim_transport_fixed_body_per_s"] > 0
    assert result["fleetsim_run_max_per_s"] > 0
