#include "app/server.hpp"

#include <curl/curl.h>
#include <signal.h>
#include <sys/resource.h>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <iostream>
#include <optional>
#include <thread>

#include "app/admin.hpp"
#include "app/connection_limiter.hpp"
#include "app/counter_backend.hpp"
#include "app/counter_persister.hpp"
#include "app/egress_prober.hpp"
#include "app/health_recorder.hpp"
#include "app/listener.hpp"
#include "app/metrics_page.hpp"
#include "app/prober.hpp"
#include "app/record_journal.hpp"
#include "app/shared_health.hpp"
#include "app/snapshot_poller.hpp"
#include "app/tls_context.hpp"
#include "app/webhook_sender.hpp"
#include "base/unix_time.hpp"
#include "limits/auth_failure_limiter.hpp"
#include "metrics/request_metrics.hpp"
#include "pool/account_pool.hpp"
#include "records/retention.hpp"
#include "records/stream_consumer.hpp"
#include "redis/url.hpp"
#include "relay/pipeline.hpp"
#include "relay/quota_alerts.hpp"
#include "relay/record.hpp"
#include "store/store_factory.hpp"
#include "upstream/client.hpp"

namespace relay::app {

namespace asio = boost::asio;

namespace {

// One io thread: its own io_context, listener, upstream connections and pipeline, so a request
// lives on one thread from accept to settle and no request state is shared between threads.
struct IoThread {
  IoThread(const Config& cfg, store::SnapshotSource& snapshots, pool::AccountPool& pool,
           pool::EgressPool& egresses, CounterBackend& backend, int index, PipelineStats& stats,
           PipelineSinks sinks)
      : upstreams(io),
        counters(backend.for_thread(io, index)),
        pipeline(cfg, snapshots, pool, egresses, counters.store(), upstreams, stats, sinks) {}
  // Only this thread runs io and starts operations on its sockets; other threads reach it by
  // posting (the scheduler keeps its lock for that), so asio's per-socket lock is dropped: it
  // was taken twice per socket operation (docs/architecture.md, "Threads").
  asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  upstream::Client upstreams;
  ThreadCounters counters;
  Pipeline pipeline;
  std::unique_ptr<Listener> listener;
  std::thread thread;
};

void print_first_run_help(const store::Snapshot& snap, const std::string& listen,
                          const Config& cfg) {
  if (!snap.keys_by_hash.empty() && !snap.accounts.empty()) return;
  std::string dd = "--data-dir " + cfg.store.data_dir;
  std::cout << "\nThe relay has no " << (snap.keys_by_hash.empty() ? "relay keys" : "")
            << (snap.keys_by_hash.empty() && snap.accounts.empty() ? " and no " : "")
            << (snap.accounts.empty() ? "upstream accounts" : "") << " yet. In another shell:\n"
            << "  build/codex-relay " << dd << " tenant add my-team\n"
            << "  build/codex-relay " << dd << " key add my-team        # prints the relay key\n"
            << "  export OPENAI_API_KEY=sk-...   # a key you are entitled to use\n"
            << "  build/codex-relay " << dd
            << " account add openai --base-url https://api.openai.com/v1 "
               "--api-key-env OPENAI_API_KEY\n"
            << "  build/codex-relay codex-config --url http://" << listen
            << "   # config.toml block for Codex\n"
            << "Changes are picked up within a second; no restart needed.\n\n"
            << std::flush;
}

// Client connections and their upstream sockets need file descriptors: raise the soft limit to
// the hard one, and say so when max_connections cannot fit (each may hold an upstream socket).
void raise_open_files_limit(std::size_t max_connections) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
    ::getrlimit(RLIMIT_NOFILE, &lim);
  }
  constexpr std::size_t kReserve = 1000;  // stores, logs, idle upstream connections, admin
  if (lim.rlim_cur != RLIM_INFINITY && 2 * max_connections + kReserve > lim.rlim_cur)
    spdlog::warn(
        "server.max_connections {} may exceed the open-files limit {} (each connection can hold "
        "an upstream socket too); lower it or raise the limit",
        max_connections, static_cast<std::uint64_t>(lim.rlim_cur));
}

}  // namespace

int run_server(const Config& cfg, std::unique_ptr<store::ConfigStore> store) {
  ::signal(SIGPIPE, SIG_IGN);
  curl_global_init(CURL_GLOBAL_DEFAULT);

  store::SnapshotSource snapshots;
  pool::AccountPool pool(cfg.pool);
  pool::EgressPool egresses(cfg.server.region, std::chrono::milliseconds(cfg.egress.down_retry_ms));
  HealthRecorder recorder(store::open_health_store(cfg), pool, egresses);
  CounterBackend counters(cfg);
  // With Redis the quota counters live there; the local ones only cover outages (fail-open)
  // and are not worth keeping.
  std::optional<CounterPersister> persister;
  if (!counters.shared()) {
    persister.emplace(store::open_counter_snapshot_store(cfg), counters.local());
    persister->restore();
  } else {
    spdlog::info("tenant limits: shared through redis (failure mode: fail-{})",
                 cfg.redis.failure_mode);
  }
  // With Redis, a cooling or disable one node finds is adopted by the others (docs/pool.md).
  std::optional<redis::Endpoint> redis_endpoint;
  std::optional<SharedHealth> shared_health;
  if (!cfg.redis.url.empty()) {
    auto parsed = redis::parse_url(cfg.redis.url);
    if (!parsed.endpoint) {
      spdlog::error("redis.url: {}", parsed.error);
      return 1;
    }
    redis_endpoint = *parsed.endpoint;
    redis::ConnectionOptions opts;
    opts.call_timeout = std::chrono::milliseconds(cfg.redis.timeout_ms);
    opts.name = "redis[health]";
    shared_health.emplace(*redis_endpoint, cfg.redis.key_prefix, pool, opts);
  }
  SnapshotPoller poller(std::move(store), snapshots);
  poller.on_snapshot = [&pool, &egresses](const store::Snapshot& s) {
    pool.sync(s, std::chrono::steady_clock::now());
    egresses.sync(s);
  };
  poller.on_tick = [&recorder, &persister, &shared_health] {
    if (shared_health) shared_health->tick();
    recorder.tick();
    if (persister) persister->tick();
  };
  poller.load_now();  // fail fast on a broken store, before any port opens

  // Metadata records: this process's journal, delivered into the usage store, or in cluster
  // mode into the Redis stream that every node's consumer drains into PostgreSQL
  // (docs/records.md).
  const std::string node = node_name(cfg);
  std::unique_ptr<records::JournalSink> journal_sink;
  std::unique_ptr<records::JournalQueue> journal;
  try {
    journal_sink = open_journal_sink(cfg, node);
    journal = open_record_journal(cfg.store.data_dir, *journal_sink,
                                  [&cfg, &node] { return open_journal_sink(cfg, node); });
  } catch (const std::exception& e) {
    spdlog::error("cannot open the metadata-record journal: {}", e.what());
    return 1;
  }
  std::optional<records::StreamConsumer> stream_consumer;
  if (redis_endpoint && cfg.store.backend == "postgres")
    stream_consumer.emplace(*redis_endpoint, cfg.redis.key_prefix, node,
                            [&cfg] { return store::open_usage_store(cfg); });
  // Old records and aggregates go on their own thread and connection (docs/records.md).
  records::RetentionJob retention(
      [&cfg] { return store::open_usage_store(cfg); },
      {cfg.records.retention_days, cfg.records.aggregate_retention_days},
      std::chrono::milliseconds(cfg.records.retention_interval_ms), [] { return unix_now_ms(); });
  metrics::RequestMetrics request_metrics;
  RecordSink records(
      journal.get(),
      [&request_metrics](const records::UsageRecord& r) { request_metrics.observe(r); }, node,
      cfg.server.region);
  // Quota threshold alerts (docs/limits.md#quota-alerts): logged and counted always, and posted
  // to the webhook from its own thread when one is set. Both outlive the io threads below.
  std::optional<WebhookSender> webhook;
  if (!cfg.alerts.webhook_url.empty())
    webhook.emplace(cfg.alerts.webhook_url,
                    std::chrono::milliseconds(cfg.alerts.webhook_timeout_ms));
  QuotaAlerts alerts(webhook ? std::function<void(std::string)>(
                                   [&webhook](std::string j) { webhook->post(std::move(j)); })
                             : std::function<void(std::string)>());
  PipelineSinks sinks;
  sinks.records = &records;
  sinks.alerts = &alerts;
  // Invalid keys per client address (docs/limits.md#invalid-keys-per-address).
  limits::AuthFailureLimiter auth_failures(
      {cfg.server.invalid_key_burst, cfg.server.invalid_key_per_minute});
  if (auth_failures.enabled()) sinks.auth_failures = &auth_failures;

  int n = cfg.server.threads > 0
              ? cfg.server.threads
              : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  PipelineStats stats;
  http::SessionLimits limits;
  limits.max_header_bytes = cfg.server.max_header_bytes;
  limits.max_body_bytes = cfg.server.max_body_bytes;
  limits.header_timeout = std::chrono::milliseconds(cfg.server.header_timeout_ms);
  limits.body_timeout = std::chrono::milliseconds(cfg.server.body_timeout_ms);
  limits.keepalive_timeout = std::chrono::milliseconds(cfg.server.keepalive_timeout_ms);
  limits.send_timeout = std::chrono::milliseconds(cfg.server.body_timeout_ms);
  limits.min_send_rate = static_cast<std::size_t>(cfg.server.min_send_rate);
  limits.send_rate_grace = std::chrono::milliseconds(cfg.server.send_rate_grace_ms);
  http::SessionCounters session_counters;
  limits.counters = &session_counters;
  raise_open_files_limit(static_cast<std::size_t>(cfg.server.max_connections));
  ConnectionLimiter connection_limiter(static_cast<std::size_t>(cfg.server.max_connections),
                                       static_cast<std::size_t>(cfg.server.max_connections_per_ip));
  std::unique_ptr<TlsContextStore> tls;
  if (cfg.server.tls_cert_file.empty() != cfg.server.tls_key_file.empty()) {
    spdlog::error("server.tls_cert_file and server.tls_key_file must be set together");
    return 1;
  }
  if (!cfg.server.tls_cert_file.empty()) {
    try {
      tls = std::make_unique<TlsContextStore>(cfg.server.tls_cert_file, cfg.server.tls_key_file);
    } catch (const std::exception& e) {
      spdlog::error("{}", e.what());
      return 1;
    }
  }
  const ListenerGuards guards{tls.get(), &connection_limiter};

  std::vector<std::unique_ptr<IoThread>> threads;
  Endpoint where = parse_endpoint(cfg.server.listen);
  try {
    for (int i = 0; i < n; ++i) {
      auto t =
          std::make_unique<IoThread>(cfg, snapshots, pool, egresses, counters, i, stats, sinks);
      t->listener = std::make_unique<Listener>(t->io, where, t->pipeline, limits, guards);
      where.port = t->listener->port();  // port 0: the others share the first one's port
      threads.push_back(std::move(t));
    }
  } catch (const std::exception& e) {
    spdlog::error("cannot listen on {}: {}", cfg.server.listen, e.what());
    return 1;
  }
  // The admin listener has a thread of its own: the admin API's store calls block. /metrics is
  // still rendered on the first io thread (admin.hpp, on_io_thread).
  const MetricSources sources{stats,
                              counters,
                              *journal,
                              request_metrics,
                              pool,
                              egresses,
                              alerts,
                              webhook ? &*webhook : nullptr,
                              shared_health ? &*shared_health : nullptr,
                              stream_consumer ? &*stream_consumer : nullptr,
                              &connection_limiter,
                              &session_counters};
  asio::io_context admin_io(1);
  std::thread admin_thread;
  AdminHandler admin(
      on_io_thread(threads.front()->io, [&sources] { return render_metrics(sources); }), &cfg);
  http::SessionLimits admin_limits = limits;
  admin_limits.max_body_bytes = static_cast<std::size_t>(cfg.admin.max_body_bytes);
  std::unique_ptr<Listener> admin_listener;
  if (!cfg.admin.listen.empty()) {
    try {
      admin_listener = std::make_unique<Listener>(admin_io, parse_endpoint(cfg.admin.listen), admin,
                                                  admin_limits);
    } catch (const std::exception& e) {
      spdlog::error("cannot listen on admin address {}: {}", cfg.admin.listen, e.what());
      return 1;
    }
  }
  std::string bound = where.host + ":" + std::to_string(where.port);
  spdlog::info("codex-relay {} serving with {} io threads; data dir {}; node {}; region {}",
               CODEX_RELAY_VERSION, n, cfg.store.data_dir, node,
               cfg.server.region.empty() ? "(none)" : cfg.server.region);
  print_first_run_help(*snapshots.get(), bound, cfg);
  // The admin line first: whoever waits for "listening on" has both once it appears.
  if (admin_listener) {
    std::cout << "codex-relay admin listening on http://" << parse_endpoint(cfg.admin.listen).host
              << ":" << admin_listener->port() << std::endl;
    admin_listener->start();
    admin_thread = std::thread([&admin_io] { admin_io.run(); });
  }
  std::cout << "codex-relay listening on " << (tls ? "https://" : "http://") << bound << std::endl;

  poller.start();
  bool stopping = false;
  asio::co_spawn(
      threads.front()->io,
      run_prober(cfg, pool, egresses, snapshots, threads.front()->upstreams, stats, stopping),
      asio::detached);
  asio::co_spawn(
      threads.front()->io,
      run_egress_prober(cfg, egresses, snapshots, threads.front()->upstreams, stats, stopping),
      asio::detached);
  for (auto& t : threads) {
    t->listener->start();
    t->thread = std::thread([io = &t->io] { io->run(); });
  }

  // Graceful drain: stop accepting, let in-flight requests finish (up to 30 s), then stop.
  // A second signal ends the drain at once.
  asio::io_context main_io(1);
  asio::signal_set signals(main_io, SIGINT, SIGTERM);
  // SIGHUP: new connections get the reloaded certificate, open ones keep theirs.
  asio::signal_set hangups(main_io, SIGHUP);
  std::function<void()> await_hangup = [&] {
    hangups.async_wait([&](boost::system::error_code ec, int) {
      if (ec) return;
      if (tls)
        tls->reload();
      else
        spdlog::info("SIGHUP: no TLS certificate to reload");
      await_hangup();
    });
  };
  await_hangup();
  asio::steady_timer drain_timer(main_io);
  auto drain_end = std::chrono::steady_clock::time_point::max();
  std::function<void()> check_drain = [&] {
    if (stats.active.load() == 0 || std::chrono::steady_clock::now() >= drain_end) {
      signals.cancel();  // the loop runs out of work and returns
      hangups.cancel();
      return;
    }
    drain_timer.expires_after(std::chrono::milliseconds(100));
    drain_timer.async_wait([&](boost::system::error_code ec) {
      if (!ec) check_drain();
    });
  };
  signals.async_wait([&](boost::system::error_code ec, int sig) {
    if (ec) return;
    spdlog::info("signal {}: draining {} in-flight requests", sig, stats.active.load());
    for (auto& t : threads) asio::post(t->io, [l = t->listener.get()] { l->stop(); });
    if (admin_listener) asio::post(admin_io, [l = admin_listener.get()] { l->stop(); });
    asio::post(threads.front()->io, [&stopping] { stopping = true; });
    drain_end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    signals.async_wait([&](boost::system::error_code ec2, int sig2) {
      if (ec2) return;
      spdlog::warn("signal {} again: stopping without waiting", sig2);
      main_io.stop();
    });
    check_drain();
  });
  main_io.run();
  admin_io.stop();  // before the io threads: a scrape may be waiting on the first one
  if (admin_thread.joinable()) admin_thread.join();
  for (auto& t : threads) t->io.stop();
  for (auto& t : threads) t->thread.join();
  poller.stop();
  recorder.flush();
  if (persister) persister->flush();
  if (stats.active.load() > 0) {
    // Requests still in flight hold transfers on their thread's upstream client; tearing the
    // threads down under them is unsafe, and the process is about to exit anyway.
    spdlog::warn("{} requests still in flight after the drain window; exiting",
                 stats.active.load());
    for (auto& t : threads) (void)t.release();
  }
  threads.clear();
  webhook.reset();  // stops its thread; its curl handle must go before curl_global_cleanup
  journal->stop();  // every settled request's record is in the store before the exit
  if (stream_consumer) stream_consumer->stop();
  retention.stop();
  curl_global_cleanup();
  spdlog::info("stopped");
  return 0;
}

}  // namespace relay::app
