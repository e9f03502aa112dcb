// Tenant admission on the in-process CounterStore (bench/README.md says what each benchmark
// measures and lists the figures). The target: admission in embedded mode <= 20 us p99.
//
// One admission is what the admit phase does for a tenant with every limit set: the per-second
// and per-minute rate checks, a read of the daily request counter, and a concurrency lease that
// is acquired and (as settle would, later) released. Keys and the lease id are built per call
// and the clock is read per call, as the relay does. The limits are set so high that nothing is
// refused: the figures are the cost of deciding, not of refusing.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "limits/counter_store.hpp"
#include "limits/gcra.hpp"
#include "limits/in_process_counter_store.hpp"

namespace {

using boost::asio::awaitable;
using relay::limits::CounterStore;
using relay::limits::InProcessCounterStore;

// Limits that never bind.
constexpr std::int64_t kUnbound = 1'000'000'000;
constexpr std::int64_t kLeaseTtlMs = 30'000;
// Other tenants' keys already in the store, so the hash maps are not trivially small.
constexpr int kBackgroundTenants = 1000;

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

awaitable<bool> admit_once(CounterStore& store, std::string_view tenant, std::uint64_t seq) {
  const std::int64_t now = unix_ms();
  const std::string rps = relay::limits::rate_key(tenant, "s");
  const std::string rpm = relay::limits::rate_key(tenant, "m");
  const std::string daily = relay::limits::usage_key(tenant, "day:2026-11-27", "requests");
  const std::string lease = relay::limits::lease_key(tenant);
  const std::string id = std::to_string(seq);
  const relay::limits::RateResult s = co_await store.rate(rps, kUnbound, 1000, kUnbound, now);
  const relay::limits::RateResult m = co_await store.rate(rpm, kUnbound, 60'000, kUnbound, now);
  const std::int64_t used = co_await store.read_counter(daily, now);
  const relay::limits::LeaseResult l =
      co_await store.acquire_lease(lease, id, kUnbound, kLeaseTtlMs, now);
  co_await store.release_lease(lease, id);
  co_return s.allowed&& m.allowed&& used < kUnbound&& l.acquired;
}

// The store every thread of a benchmark shares (as the relay's io threads do), filled once with
// background tenants.
InProcessCounterStore& shared_store() {
  static InProcessCounterStore* store = [] {
    auto* s = new InProcessCounterStore();  // never destroyed: threads may still be using it
    const std::int64_t now = unix_ms();
    for (int i = 0; i < kBackgroundTenants; ++i) {
      const std::string t = "background-" + std::to_string(i);
      s->rate_now(relay::limits::rate_key(t, "s"), 10, 1000, 10, now);
      s->rate_now(relay::limits::rate_key(t, "m"), 100, 60'000, 10, now);
      s->add_counter_now(relay::limits::usage_key(t, "day:2026-11-27", "requests"), 1,
                         now + 86'400'000, now);
      s->acquire_lease_now(relay::limits::lease_key(t), "held", 10, 3'600'000, now);
    }
    return s;
  }();
  return *store;
}

// Arg 0: every thread admits its own tenant; arg 1: all threads admit the same tenant (they then
// contend for one shard's lock).
std::string tenant_for(const benchmark::State& state) {
  return state.range(0) == 0 ? "tenant-" + std::to_string(state.thread_index()) : "tenant-shared";
}

// Drives a benchmark body that is a coroutine: the io_context is this thread's, like an io
// thread of the relay.
void run_on_loop(awaitable<void> body) {
  boost::asio::io_context io;
  boost::asio::co_spawn(io, std::move(body), [](const std::exception_ptr& e) {
    if (e) std::rethrow_exception(e);
  });
  io.run();
}

awaitable<void> admission_loop(benchmark::State& state) {
  InProcessCounterStore& store = shared_store();
  const std::string tenant = tenant_for(state);
  std::uint64_t seq = 0;
  std::int64_t refused = 0;
  for (auto _ : state) {
    if (!co_await admit_once(store, tenant, seq++)) ++refused;
  }
  if (refused > 0) state.SkipWithError("an admission was refused: the limits bound");
}

void BM_Admission(benchmark::State& state) {
  run_on_loop(admission_loop(state));
}

// The same admission with per-iteration latency samples (steady_clock around each admission),
// reported as percentiles: Google Benchmark itself only reports means. With several threads each
// thread computes its own percentiles and the counters show their average.
awaitable<void> admission_latency_loop(benchmark::State& state) {
  InProcessCounterStore& store = shared_store();
  const std::string tenant = tenant_for(state);
  std::vector<std::int64_t> samples_ns;
  samples_ns.reserve(static_cast<std::size_t>(state.max_iterations));
  std::uint64_t seq = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    const bool ok = co_await admit_once(store, tenant, seq++);
    const auto stop = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(ok);
    samples_ns.push_back(
        std::chrono::duration_cast<std::chrono::nanoseconds>(stop - start).count());
  }
  if (samples_ns.empty()) co_return;
  std::sort(samples_ns.begin(), samples_ns.end());
  const auto pct_us = [&](double p) {
    const auto i = std::min(samples_ns.size() - 1,
                            static_cast<std::size_t>(p * static_cast<double>(samples_ns.size())));
    return static_cast<double>(samples_ns[i]) / 1000.0;
  };
  using benchmark::Counter;
  state.counters["p50_us"] = Counter(pct_us(0.50), Counter::kAvgThreads);
  state.counters["p99_us"] = Counter(pct_us(0.99), Counter::kAvgThreads);
  state.counters["p999_us"] = Counter(pct_us(0.999), Counter::kAvgThreads);
  state.counters["max_us"] =
      Counter(static_cast<double>(samples_ns.back()) / 1000.0, Counter::kAvgThreads);
}

void BM_AdmissionLatency(benchmark::State& state) {
  run_on_loop(admission_latency_loop(state));
}

// The admission without coroutines (the *_now calls): the difference to BM_Admission is what
// the five co_awaits cost.
void BM_AdmissionSync(benchmark::State& state) {
  InProcessCounterStore& store = shared_store();
  const std::string tenant = tenant_for(state);
  std::uint64_t seq = 0;
  for (auto _ : state) {
    const std::int64_t now = unix_ms();
    const std::string lease = relay::limits::lease_key(tenant);
    const std::string id = std::to_string(seq++);
    auto s = store.rate_now(relay::limits::rate_key(tenant, "s"), kUnbound, 1000, kUnbound, now);
    auto m = store.rate_now(relay::limits::rate_key(tenant, "m"), kUnbound, 60'000, kUnbound, now);
    auto used =
        store.read_counter_now(relay::limits::usage_key(tenant, "day:2026-11-27", "requests"), now);
    auto l = store.acquire_lease_now(lease, id, kUnbound, kLeaseTtlMs, now);
    store.release_lease_now(lease, id);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(m);
    benchmark::DoNotOptimize(used);
    benchmark::DoNotOptimize(l);
  }
}

// The pure GCRA decision, for scale.
void BM_GcraDecide(benchmark::State& state) {
  std::int64_t tat = 0;
  std::int64_t now = unix_ms();
  for (auto _ : state) {
    const relay::limits::gcra::Decision d = relay::limits::gcra::decide(tat, now, 7, 1000, 4);
    if (d.allowed) tat = d.tat_us;
    now += 50;
    benchmark::DoNotOptimize(d);
  }
}

BENCHMARK(BM_Admission)->ArgName("same_tenant")->Arg(0)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_Admission)->ArgName("same_tenant")->Arg(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_AdmissionLatency)
    ->ArgName("same_tenant")
    ->Arg(0)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();
BENCHMARK(BM_AdmissionLatency)->ArgName("same_tenant")->Arg(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_AdmissionSync)->ArgName("same_tenant")->Arg(0)->Threads(1)->UseRealTime();
BENCHMARK(BM_GcraDecide);

}  // namespace

BENCHMARK_MAIN();
