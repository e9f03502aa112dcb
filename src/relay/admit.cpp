#include "relay/admit.hpp"

#include <openssl/rand.h>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <ctime>
#include <tuple>

namespace relay {

namespace asio = boost::asio;

namespace {

std::int64_t seconds_up(std::int64_t ms) {
  return std::max<std::int64_t>(1, (ms + 999) / 1000);
}

std::tm utc_tm(std::int64_t now_ms) {
  std::time_t t = static_cast<std::time_t>(now_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

std::string lease_id() {
  unsigned char raw[8];
  RAND_bytes(raw, sizeof raw);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : raw) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// Renews the concurrency lease every third of its TTL until settle says stop. It owns its
// timer, so it may outlive the request's frame by one wake-up.
struct Admission::LeaseKeeper {
  LeaseKeeper(const asio::any_io_executor& ex, limits::CounterStore& c) : timer(ex), counters(c) {}
  asio::steady_timer timer;
  limits::CounterStore& counters;
  std::string key;
  std::string id;
  std::int64_t ttl_ms = 0;
  bool done = false;
};

namespace {

asio::awaitable<void> keep_lease(std::shared_ptr<Admission::LeaseKeeper> k) {
  while (!k->done) {
    k->timer.expires_after(std::chrono::milliseconds(k->ttl_ms / 3));
    co_await k->timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (k->done) break;
    co_await k->counters.renew_lease(k->key, k->id, k->ttl_ms, wall_ms());
  }
}

}  // namespace

std::string utc_day(std::int64_t now_ms) {
  auto tm = utc_tm(now_ms);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

std::string utc_month(std::int64_t now_ms) {
  auto tm = utc_tm(now_ms);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m", &tm);
  return buf;
}

std::int64_t utc_day_end_ms(std::int64_t now_ms) {
  constexpr std::int64_t kDay = std::int64_t{86'400'000};
  return (now_ms / kDay + 1) * kDay;
}

std::int64_t utc_month_end_ms(std::int64_t now_ms) {
  auto tm = utc_tm(now_ms);
  tm.tm_mday = 1;
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  if (++tm.tm_mon == 12) {
    tm.tm_mon = 0;
    ++tm.tm_year;
  }
  return static_cast<std::int64_t>(timegm(&tm)) * 1000;
}

std::string openai_duration(std::int64_t ms) {
  if (ms < 1000) return std::to_string(std::max<std::int64_t>(0, ms)) + "ms";
  if (ms < 60'000) {
    std::string s = std::to_string(ms / 1000);
    if (ms % 1000) {
      std::string frac = std::to_string(1000 + ms % 1000).substr(1);
      while (!frac.empty() && frac.back() == '0') frac.pop_back();
      s += "." + frac;
    }
    return s + "s";
  }
  return std::to_string(ms / 60'000) + "m" + std::to_string((ms % 60'000) / 1000) + "s";
}

namespace {

// The headers of the limiter the client is told about (per minute when set, else per second),
// read without consuming: for responses refused by a quota or the concurrency limit.
asio::awaitable<void> add_peeked_headers(Admission& a, const store::TenantLimits& l,
                                         const std::string& t, limits::CounterStore& counters,
                                         std::int64_t now_ms) {
  const bool per_minute = l.rpm > 0;
  const std::int64_t limit = per_minute ? l.rpm : l.rps;
  if (limit <= 0) co_return;
  auto r = co_await counters.peek_rate(limits::rate_key(t, per_minute ? "m" : "s"), limit,
                                       per_minute ? 60'000 : 1000, limit, now_ms);
  a.headers.push_back({"x-ratelimit-limit-requests", std::to_string(r.limit)});
  a.headers.push_back({"x-ratelimit-remaining-requests", std::to_string(r.remaining)});
  a.headers.push_back({"x-ratelimit-reset-requests", openai_duration(r.reset_ms)});
}

}  // namespace

asio::awaitable<Admission> admit(const store::SnapshotKey& key, limits::CounterStore& counters,
                                 const AdmitOptions& opts, std::int64_t now_ms) {
  Admission a;
  a.tenant = key.tenant_name;
  a.limits = key.limits;
  const auto& l = key.limits;
  const std::string& t = key.tenant_name;

  // Quotas: checked here, charged at settle (tokens) or now (requests).
  const std::string day = utc_day(now_ms), month = utc_month(now_ms);
  struct Quota {
    std::int64_t limit;
    std::string key;
    std::int64_t ends_ms;
    const char* what;
  };
  const Quota quotas[] = {
      {l.daily_requests, limits::usage_key(t, "day:" + day, "requests"), utc_day_end_ms(now_ms),
       "daily request"},
      {l.daily_tokens, limits::usage_key(t, "day:" + day, "tokens"), utc_day_end_ms(now_ms),
       "daily token"},
      {l.monthly_tokens, limits::usage_key(t, "month:" + month, "tokens"), utc_month_end_ms(now_ms),
       "monthly token"},
  };
  for (const auto& q : quotas) {
    if (q.limit <= 0) continue;
    auto used = co_await counters.read_counter(q.key, now_ms);
    if (used >= q.limit) {
      a.refused = ErrorCode::kTenantQuotaExceeded;
      a.retry_after_s = static_cast<int>(seconds_up(q.ends_ms - now_ms));
      a.message = std::string("This tenant's ") + q.what + " quota (" + std::to_string(q.limit) +
                  ") is used up; it resets at the end of the UTC period.";
      co_await add_peeked_headers(a, l, t, counters, now_ms);
      co_return a;
    }
  }

  if (l.concurrency > 0) {
    auto k = std::make_shared<Admission::LeaseKeeper>(co_await asio::this_coro::executor, counters);
    k->key = limits::lease_key(t);
    k->id = lease_id();
    k->ttl_ms = opts.lease_ttl_ms;
    auto r = co_await counters.acquire_lease(k->key, k->id, l.concurrency, k->ttl_ms, now_ms);
    if (!r.acquired) {
      a.refused = ErrorCode::kTenantConcurrencyLimited;
      a.retry_after_s = 1;
      a.message = "This tenant already has " + std::to_string(l.concurrency) +
                  " requests in flight, its limit.";
      co_await add_peeked_headers(a, l, t, counters, now_ms);
      co_return a;
    }
    a.lease = k;
  }

  // Rates, last: a request refused by a quota or the concurrency limit must not spend the
  // tenant's rate. The per-minute limiter, when set, is the one the client's headers describe.
  std::optional<limits::RateResult> shown;
  // A named array: g++ 12 cannot keep a braced list alive across a co_await (stack-notes.md).
  const std::array<std::tuple<std::int64_t, std::int64_t, const char*>, 2> windows{
      {{l.rpm, std::int64_t{60'000}, "m"}, {l.rps, std::int64_t{1000}, "s"}}};
  for (const auto& [limit, period, window] : windows) {
    if (limit <= 0) continue;
    std::string rkey = limits::rate_key(t, window);
    auto r = co_await counters.rate(rkey, limit, period, limit, now_ms);
    if (!shown || window == std::string_view("m")) shown = r;
    if (!r.allowed) {
      shown = r;
      a.refused = ErrorCode::kTenantRateLimited;
      a.retry_after_s = static_cast<int>(seconds_up(r.retry_after_ms));
      a.message =
          "Rate limit reached for this tenant: " + std::to_string(limit) +
          (window == std::string_view("s") ? " requests per second." : " requests per minute.");
      break;
    }
  }
  if (shown) {
    a.headers.push_back({"x-ratelimit-limit-requests", std::to_string(shown->limit)});
    a.headers.push_back({"x-ratelimit-remaining-requests", std::to_string(shown->remaining)});
    a.headers.push_back({"x-ratelimit-reset-requests", openai_duration(shown->reset_ms)});
  }
  if (a.refused) {
    if (a.lease) {
      // Refused after all: the slot goes back now, not at the lease's expiry.
      auto k = std::move(a.lease);
      k->done = true;
      k->timer.cancel();
      co_await counters.release_lease(k->key, k->id);
    }
    co_return a;
  }

  if (a.lease) asio::co_spawn(a.lease->timer.get_executor(), keep_lease(a.lease), asio::detached);

  // Every admitted request counts against the daily request quota, answered or not. Usage is
  // counted for unlimited tenants too, so `tenant show` has figures for everyone.
  co_await counters.add_counter(quotas[0].key, 1, utc_day_end_ms(now_ms) + 86'400'000, now_ms);
  co_return a;
}

asio::awaitable<void> Admission::settle(limits::CounterStore& counters, std::int64_t tokens,
                                        std::int64_t now_ms) {
  if (lease) {
    lease->done = true;
    lease->timer.cancel();
    auto k = std::move(lease);
    co_await counters.release_lease(k->key, k->id);
  }
  if (tokens <= 0 || refused) co_return;
  // Kept a day past the period, so `tenant show` can still read a period that just ended.
  co_await counters.add_counter(limits::usage_key(tenant, "day:" + utc_day(now_ms), "tokens"),
                                tokens, utc_day_end_ms(now_ms) + 86'400'000, now_ms);
  co_await counters.add_counter(limits::usage_key(tenant, "month:" + utc_month(now_ms), "tokens"),
                                tokens, utc_month_end_ms(now_ms) + 86'400'000, now_ms);
}

Admission::~Admission() {
  // A request that ended without settle (an exception) must not pin a concurrency slot: the
  // keeper stops, and the lease expires after its TTL.
  if (lease) {
    lease->done = true;
    lease->timer.cancel();
  }
}

}  // namespace relay
