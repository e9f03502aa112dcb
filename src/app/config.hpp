#pragma once
// Settings for every subcommand: built-in defaults, then the TOML file (--config), then
// CODEX_RELAY_<SECTION>_<KEY> environment variables, then command-line flags.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "pool/pool_config.hpp"

namespace relay::app {

struct ServerConfig {
  std::string listen = "127.0.0.1:8080";
  int threads = 0;                                        // 0: one io thread per core
  std::size_t max_header_bytes = std::size_t{32} * 1024;  // larger -> 431
  std::size_t max_body_bytes = 64ull * 1024 * 1024;       // larger -> 413
  std::int64_t header_timeout_ms = 10'000;                // headers not complete -> 408
  std::int64_t body_timeout_ms = 60'000;                  // body not complete -> 408
  std::int64_t keepalive_timeout_ms = 60'000;             // idle keep-alive connection closed
  // A client must read at least min_send_rate bytes/s of the time the relay waits on it, once
  // that wait passes send_rate_grace_ms over one response (slow readers hold upstream streams).
  std::int64_t min_send_rate = 1024;  // 0: no minimum
  std::int64_t send_rate_grace_ms = 10'000;
  // Open client connections: total, and per client address. Each can hold an upstream socket
  // too, so the total stays under half the 20,000 open-files limit (docs/configuration.md).
  std::int64_t max_connections = 9000;
  std::int64_t max_connections_per_ip = 256;
  // Invalid or missing relay keys per client address (IPv6: per /64) before 401 turns into 429:
  // a burst, then so many a minute (docs/limits.md). Valid keys are always served. 0: no limit.
  std::int64_t invalid_key_burst = 20;
  std::int64_t invalid_key_per_minute = 10;
  // PEM chain and private key; when set the listener speaks only TLS. Reloaded on SIGHUP.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string region;  // this node's region: its accounts' egresses there are preferred
  std::string node;    // this node's name in records and metrics; empty: the host name
};

struct UpstreamConfig {
  std::int64_t connect_timeout_ms = 10'000;
  std::int64_t first_byte_timeout_ms = 300'000;  // request sent -> response headers
  // The same for streaming requests, whose headers come at once; a shorter wait lets a hung
  // account fail over quickly.
  std::int64_t stream_first_byte_timeout_ms = 30'000;
  std::int64_t idle_timeout_ms = 300'000;       // gap between body bytes
  std::int64_t heartbeat_interval_ms = 15'000;  // silent Responses stream -> keepalive event
  std::size_t stream_buffer_bytes =
      std::size_t{256} * 1024;  // per stream; upstream pauses above this
};

// [store]: where config and records live. "sqlite": one process (or several on one host) on
// <data_dir>/relay.db. "postgres": cluster mode (docs/operations.md), config and records in
// PostgreSQL shared by every node; data_dir still holds the node's own journal and health view.
struct StoreConfig {
  std::string data_dir = "./data";
  std::string master_key_file;     // empty: <data_dir>/master.key (created 0600 on first run)
  std::string backend = "sqlite";  // "sqlite" or "postgres"
  std::string postgres_url;        // postgresql://user[:password]@host[:port]/db[?...]; a secret
};

// [redis]: shared counters for tenant limits across nodes (docs/limits.md). Empty url: each
// process keeps its own counters in memory.
struct RedisConfig {
  std::string url;                    // redis://[:PASSWORD@]IP[:PORT][/DB]
  std::string failure_mode = "open";  // "open": local limits; "closed": 503 limits_unavailable
  std::int64_t timeout_ms = 50;       // per call; hiredis has no timeout of its own
  std::string key_prefix = "codex-relay:";
};

// [egress]: health of the accounts' egress proxies (docs/egress.md).
struct EgressConfig {
  std::int64_t probe_interval_ms = 1000;  // CONNECT probe through every egress; 0: none
  std::int64_t probe_timeout_ms = 1000;
  std::int64_t down_retry_ms = 10'000;  // a down egress gets a real request after this long
};

struct AdminConfig {
  std::string listen = "127.0.0.1:9464";  // GET /metrics and /admin/v1/*; empty: none
  std::int64_t max_body_bytes = 1 << 20;  // an admin API request body; larger: 413
};

struct LimitsConfig {
  std::int64_t lease_ttl_ms = 60'000;  // a dead node's concurrency slots come back after this
};

struct LogConfig {
  std::string level = "info";
  std::string format = "json";  // "json": one JSON object per line; "text": for a terminal
};

// [records]: the metadata records and their daily aggregates (docs/records.md).
struct RecordsConfig {
  std::int64_t retention_days = 30;                // per-request records older than this go
  std::int64_t aggregate_retention_days = 400;     // daily aggregates older than this go
  std::int64_t retention_interval_ms = 3'600'000;  // how often the retention job runs
};

// [alerts]: quota threshold events (80 % and 100 %), logged and counted always, and POSTed to
// webhook_url when one is set (docs/limits.md#quota-alerts).
struct AlertsConfig {
  std::string webhook_url;  // http(s)://...; empty: no webhook
  std::int64_t webhook_timeout_ms = 5000;
};

struct Config {
  ServerConfig server;
  UpstreamConfig upstream;
  StoreConfig store;
  LogConfig log;
  RedisConfig redis;
  LimitsConfig limits;
  AdminConfig admin;
  EgressConfig egress;
  RecordsConfig records;
  AlertsConfig alerts;
  pool::PoolConfig pool;  // [pool]: durations as *_ms integers, cool-downs per failure class
};

// Throws std::runtime_error with a message naming the file, key and problem.
Config load_config(const std::string& path_or_empty);
// The same for TOML text; `origin` stands for the file name in error messages (fuzz target).
Config parse_config_text(std::string_view text, const std::string& origin);
// Applies CODEX_RELAY_* variables; unknown CODEX_RELAY_ names are ignored (listed in docs).
void apply_env_overrides(Config& cfg);

}  // namespace relay::app
