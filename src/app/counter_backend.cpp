#include "app/counter_backend.hpp"

#include <boost/asio/post.hpp>
#include <stdexcept>

#include "limits/redis_counter_store.hpp"
#include "redis/connection.hpp"

namespace relay::app {

CounterBackend::CounterBackend(const Config& cfg) : cfg_(cfg) {
  if (!shared()) return;
  auto parsed = redis::parse_url(cfg.redis.url);
  if (!parsed.endpoint) throw std::runtime_error(parsed.error);
  endpoint_ = std::move(parsed.endpoint);
}

CounterBackend::~CounterBackend() = default;

ThreadCounters CounterBackend::for_thread(boost::asio::io_context& io, int index) {
  ThreadCounters t;
  if (!shared()) {
    t.use_ = &local_;
    return t;
  }
  redis::ConnectionOptions opts;
  opts.call_timeout = std::chrono::milliseconds(cfg_.redis.timeout_ms);
  opts.name = "redis[" + std::to_string(index) + "]";
  t.connection_ = std::make_shared<redis::Connection>(io.get_executor(), *endpoint_, opts);
  boost::asio::post(io, [c = t.connection_] { c->start(); });
  t.shared_ = std::make_unique<limits::RedisCounterStore>(t.connection_, cfg_.redis.key_prefix);
  if (cfg_.redis.failure_mode == "closed") {
    t.use_ = t.shared_.get();
  } else {
    t.fallback_ = std::make_unique<limits::FallbackCounterStore>(*t.shared_, local_, stats_);
    t.use_ = t.fallback_.get();
  }
  return t;
}

}  // namespace relay::app
