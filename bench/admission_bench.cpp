// Tenant admission on the in-process CounterStore and on Redis (bench/README.md says what each
// benchmark measures and lists the figures). The targets: admission in embedded mode
// <= 20 us p99, and with Redis on loopback <= 1 ms p99.
//
// One admission is what the admit phase does for a tenant with every limit set: the per-second
// and per-minute rate checks, a read of the daily request counter, and a concurrency lease that
// is acquired and (as settle would, later) released. Keys and the lease id are built per call
// and the clock is read per call, as the relay does. The limits are set so high that nothing is
// refused: the figures are the cost of deciding, not of refusing.
#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "limits/counter_store.hpp"
#include "limits/gcra.hpp"
#include "limits/in_process_counter_store.hpp"
#include "limits/redis_counter_store.hpp"
#include "redis/connection.hpp"
#include "redis/url.hpp"

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

// Per-iteration latency samples as counters (Google Benchmark itself only reports means). With
// several threads each thread computes its own figures and the counters show their average.
// mean_us is the mean latency of one call, which with several threads the benchmark's own time
// (wall time per iteration over all threads, i.e. throughput) is not.
void report_latency(benchmark::State& state, std::vector<std::int64_t>& samples_ns) {
  if (samples_ns.empty()) return;
  std::sort(samples_ns.begin(), samples_ns.end());
  const auto pct_us = [&](double p) {
    const auto i = std::min(samples_ns.size() - 1,
                            static_cast<std::size_t>(p * static_cast<double>(samples_ns.size())));
    return static_cast<double>(samples_ns[i]) / 1000.0;
  };
  double sum_ns = 0;
  for (const std::int64_t ns : samples_ns) sum_ns += static_cast<double>(ns);
  using benchmark::Counter;
  state.counters["mean_us"] =
      Counter(sum_ns / static_cast<double>(samples_ns.size()) / 1000.0, Counter::kAvgThreads);
  state.counters["p50_us"] = Counter(pct_us(0.50), Counter::kAvgThreads);
  state.counters["p99_us"] = Counter(pct_us(0.99), Counter::kAvgThreads);
  state.counters["p999_us"] = Counter(pct_us(0.999), Counter::kAvgThreads);
  state.counters["max_us"] =
      Counter(static_cast<double>(samples_ns.back()) / 1000.0, Counter::kAvgThreads);
}

// The same admission with per-iteration latency samples (steady_clock around each admission),
// reported as percentiles by report_latency.
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
  report_latency(state, samples_ns);
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

// ---- Redis backend -------------------------------------------------------------------------
// The real RedisCounterStore, not a stand-in: both rate checks, the counter read and the lease
// acquire are its Lua scripts sent by EVALSHA, the release a plain ZREM. So one admission is
// five sequential round trips, as in the relay with `[redis]` configured. Each benchmark thread
// has its own io_context and its own Connection, as each io thread of the relay has.

constexpr const char* kRedisUrlEnv = "CODEX_RELAY_BENCH_REDIS_URL";
// Far above the relay's default `[redis] timeout_ms` (50): here a slow call must show up as a
// latency sample in the tail, not be cut short into an Unavailable.
constexpr std::chrono::milliseconds kRedisCallTimeout{1000};
constexpr std::chrono::seconds kRedisConnectWait{5};

// The endpoint from the environment, or nothing after SkipWithError.
std::optional<relay::redis::Endpoint> redis_endpoint(benchmark::State& state) {
  const char* url = std::getenv(kRedisUrlEnv);
  if (url == nullptr || *url == '\0') {
    state.SkipWithError("set CODEX_RELAY_BENCH_REDIS_URL (bench/run-redis-bench.sh does)");
    return std::nullopt;
  }
  relay::redis::UrlResult parsed = relay::redis::parse_url(url);
  if (!parsed.endpoint) {
    state.SkipWithError((std::string(kRedisUrlEnv) + ": " + parsed.error).c_str());
    return std::nullopt;
  }
  return std::move(parsed.endpoint);
}

// A connected Connection on the calling coroutine's io_context, or nullptr after
// SkipWithError: connecting is setup, so it happens before the timed loop.
awaitable<std::shared_ptr<relay::redis::Connection>> connect_redis(
    benchmark::State& state, const relay::redis::Endpoint& endpoint) {
  const auto executor = co_await boost::asio::this_coro::executor;
  relay::redis::ConnectionOptions opts;
  opts.call_timeout = kRedisCallTimeout;
  opts.name = "bench-redis[" + std::to_string(state.thread_index()) + "]";
  auto conn = std::make_shared<relay::redis::Connection>(executor, endpoint, opts);
  conn->start();
  boost::asio::steady_timer poll(executor);
  const auto deadline = std::chrono::steady_clock::now() + kRedisConnectWait;
  while (!conn->connected() && std::chrono::steady_clock::now() < deadline) {
    poll.expires_after(std::chrono::milliseconds(1));
    co_await poll.async_wait(boost::asio::use_awaitable);
  }
  if (!conn->connected()) {
    state.SkipWithError(("no connection to Redis at " + endpoint.where() + " within 5 s").c_str());
    co_return nullptr;
  }
  co_return conn;
}

// The same 1000 background tenants as shared_store(), once per process: the keys outlive the
// benchmark runs, since the throwaway server keeps them until it stops.
bool redis_background_filled = false;  // only thread 0 touches it; runs never overlap

awaitable<void> fill_redis_background(CounterStore& store) {
  const std::int64_t now = unix_ms();
  for (int i = 0; i < kBackgroundTenants; ++i) {
    const std::string t = "background-" + std::to_string(i);
    co_await store.rate(relay::limits::rate_key(t, "s"), 10, 1000, 10, now);
    co_await store.rate(relay::limits::rate_key(t, "m"), 100, 60'000, 10, now);
    co_await store.add_counter(relay::limits::usage_key(t, "day:2026-11-27", "requests"), 1,
                               now + 86'400'000, now);
    co_await store.acquire_lease(relay::limits::lease_key(t), "held", 10, 3'600'000, now);
  }
}

// One rate check alone, i.e. one EVALSHA round trip: the unit an admission costs five of.
awaitable<bool> rate_once(CounterStore& store, std::string_view tenant, std::uint64_t /*seq*/) {
  const relay::limits::RateResult r = co_await store.rate(relay::limits::rate_key(tenant, "s"),
                                                          kUnbound, 1000, kUnbound, unix_ms());
  co_return r.allowed;
}

using Step = awaitable<bool> (*)(CounterStore&, std::string_view, std::uint64_t);

awaitable<void> redis_latency_loop(benchmark::State& state, Step step) {
  const std::optional<relay::redis::Endpoint> endpoint = redis_endpoint(state);
  std::shared_ptr<relay::redis::Connection> conn;
  if (endpoint) conn = co_await connect_redis(state, *endpoint);
  std::optional<relay::limits::RedisCounterStore> store;
  if (conn) store.emplace(conn, "bench:");
  const std::string tenant = tenant_for(state);
  if (store) {
    try {
      if (state.thread_index() == 0 && !redis_background_filled) {
        co_await fill_redis_background(*store);
        redis_background_filled = true;
      }
      // Untimed: a script the server has not cached yet costs one extra EVAL round trip, once
      // per server, which is not what admission costs in steady state.
      co_await step(*store, tenant, 0);
    } catch (const relay::limits::Unavailable& e) {
      state.SkipWithError((std::string("Redis setup: ") + e.what()).c_str());
      store.reset();
    }
  }
  std::vector<std::int64_t> samples_ns;
  samples_ns.reserve(static_cast<std::size_t>(state.max_iterations));
  // Lease ids unique across threads, as the relay's are: a shared id would take the script's
  // "already held" path and let one thread release the other's lease.
  std::uint64_t seq = (static_cast<std::uint64_t>(state.thread_index()) << 40) + 1;
  std::int64_t refused = 0;
  std::int64_t unavailable = 0;
  std::string first_error;
  // After a SkipWithError above, the loop runs no iteration but still meets the other threads
  // at the start/stop barriers.
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    try {
      if (!co_await step(*store, tenant, seq++)) ++refused;
    } catch (const relay::limits::Unavailable& e) {
      if (unavailable++ == 0) first_error = e.what();
    }
    const auto stop = std::chrono::steady_clock::now();
    samples_ns.push_back(
        std::chrono::duration_cast<std::chrono::nanoseconds>(stop - start).count());
  }
  if (state.error_occurred()) co_return;
  if (unavailable > 0) {
    state.SkipWithError(
        (std::to_string(unavailable) + " calls failed with Unavailable, first: " + first_error)
            .c_str());
  } else if (refused > 0) {
    state.SkipWithError("an admission was refused: the limits bound");
  } else {
    report_latency(state, samples_ns);
  }
}

void BM_RedisAdmissionLatency(benchmark::State& state) {
  run_on_loop(redis_latency_loop(state, admit_once));
}

void BM_RedisRateLatency(benchmark::State& state) {
  run_on_loop(redis_latency_loop(state, rate_once));
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
BENCHMARK(BM_RedisAdmissionLatency)
    ->ArgName("same_tenant")
    ->Arg(0)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();
BENCHMARK(BM_RedisAdmissionLatency)->ArgName("same_tenant")->Arg(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_RedisRateLatency)->ArgName("same_tenant")->Arg(0)->Threads(1)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  // Every benchmark run opens fresh connections, and their "connected" info lines would be
  // interleaved with the results table. Warnings (a lost connection) still show.
  spdlog::set_level(spdlog::level::warn);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
