#include "relay/admit.hpp"

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
#include <utility>
#include <vector>

#include "base/unix_time.hpp"
#include "crypto/relay_key.hpp"
#include "relay/quota_alerts.hpp"

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
  return crypto::random_hex(8);
}

}  // namespace

// Renews the concurrency leases (the tenant's, the key's: one id under each lease key) every
// third of their TTL until settle says stop. It owns its timer, so it may outlive the request's
// frame by one wake-up.
struct Admission::LeaseKeeper {
  LeaseKeeper(const asio::any_io_executor& ex, limits::CounterStore& c) : timer(ex), counters(c) {}
  asio::steady_timer timer;
  limits::CounterStore& counters;
  std::vector<std::string> keys;
  std::string id;
  std::int64_t ttl_ms = 0;
  bool done = false;
};

namespace {

asio::awaitable<void> renew_leases(std::shared_ptr<Admission::LeaseKeeper> k);

// The wait for the next renewal is a plain timer callback: nearly every request settles long
// before its first renewal is due, and a coroutine spawned per request to wait for it cost a
// frame, a post and two resumptions. The coroutine starts only when a renewal is due.
void keep_lease(const std::shared_ptr<Admission::LeaseKeeper>& k) {
  k->timer.expires_after(std::chrono::milliseconds(k->ttl_ms / 3));
  k->timer.async_wait([k](boost::system::error_code ec) {
    if (ec || k->done) return;
    asio::co_spawn(k->timer.get_executor(), renew_leases(k), asio::detached);
  });
}

asio::awaitable<void> renew_leases(std::shared_ptr<Admission::LeaseKeeper> k) {
  for (const std::string& key : k->keys)
    co_await k->counters.renew_lease(key, k->id, k->ttl_ms, unix_now_ms());
  if (!k->done) keep_lease(k);
}

// Stops the keeper and gives every slot back now, not at the leases' expiry.
asio::awaitable<void> release_leases(std::shared_ptr<Admission::LeaseKeeper> k) {
  k->done = true;
  k->timer.cancel();
  for (const std::string& key : k->keys) co_await k->counters.release_lease(key, k->id);
}

// release_leases for a store that answers at once.
void release_leases_now(const std::shared_ptr<Admission::LeaseKeeper>& k,
                        limits::ImmediateCounterStore& at_once) {
  k->done = true;
  k->timer.cancel();
  for (const std::string& key : k->keys) at_once.release_lease_now(key, k->id);
}

}  // namespace

bool any_limit_set(const store::SnapshotKey& key) {
  for (const store::TenantLimits* l : {&key.limits, &key.key_limits})
    if (l->rps > 0 || l->rpm > 0 || l->concurrency > 0 || l->daily_requests > 0 ||
        l->daily_tokens > 0 || l->monthly_tokens > 0)
      return true;
  return false;
}

std::string counter_scope(std::string_view tenant, std::string_view key_id) {
  std::string out;
  out.reserve(tenant.size() + 1 + key_id.size());
  out.append(tenant).append("/").append(key_id);
  return out;
}

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

namespace {

// The quota counters' period names and ends, formatted once a UTC day per thread rather than
// per request (strftime and timegm were 1.5 % of the relay's CPU per small request).
struct QuotaPeriods {
  std::int64_t day_index = -1;
  std::string day, month;            // counter key parts: "day:YYYY-MM-DD", "month:YYYY-MM"
  std::string day_name, month_name;  // "YYYY-MM-DD", "YYYY-MM", as quota alerts name them
  std::int64_t day_end_ms = 0, month_end_ms = 0;
};

const QuotaPeriods& quota_periods(std::int64_t now_ms) {
  constexpr std::int64_t kDay = std::int64_t{86'400'000};
  thread_local QuotaPeriods cached;
  const std::int64_t index = now_ms >= 0 ? now_ms / kDay : (now_ms - kDay + 1) / kDay;
  if (index != cached.day_index) {
    cached.day_index = index;
    cached.day_name = utc_day(now_ms);
    cached.month_name = utc_month(now_ms);
    cached.day = "day:" + cached.day_name;
    cached.month = "month:" + cached.month_name;
    cached.day_end_ms = utc_day_end_ms(now_ms);
    cached.month_end_ms = utc_month_end_ms(now_ms);
  }
  return cached;
}

}  // namespace

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

// Where a request is limited and counted: its tenant, then its key.
struct Scope {
  const std::string* name;  // in counter keys
  const store::TenantLimits* limits;
  const char* who;          // for messages: "tenant" or "key"
  std::string_view key_id;  // for alerts: "" for the tenant's own quotas
};

struct RateLimiter {
  std::string key;
  std::int64_t limit;
  std::int64_t period_ms;
  const char* who;
};

// Per scope, per minute then per second; only those set.
std::vector<RateLimiter> rate_limiters(const std::vector<Scope>& scopes) {
  std::vector<RateLimiter> out;
  out.reserve(2 * scopes.size());
  for (const Scope& s : scopes) {
    if (s.limits->rpm > 0)
      out.push_back({limits::rate_key(*s.name, "m"), s.limits->rpm, 60'000, s.who});
    if (s.limits->rps > 0)
      out.push_back({limits::rate_key(*s.name, "s"), s.limits->rps, 1000, s.who});
  }
  return out;
}

void add_rate_headers(Admission& a, const limits::RateResult& r) {
  a.headers.reserve(a.headers.size() + 3);
  a.headers.push_back({"x-ratelimit-limit-requests", std::to_string(r.limit)});
  a.headers.push_back({"x-ratelimit-remaining-requests", std::to_string(r.remaining)});
  a.headers.push_back({"x-ratelimit-reset-requests", openai_duration(r.reset_ms)});
}

// The headers describe the limiter that lets the fewest more requests through right now (the
// first of equals), so a client pacing itself on them is never surprised by another. For
// responses refused by a quota or the concurrency limit they are read without consuming.
asio::awaitable<void> add_peeked_headers(Admission& a, const std::vector<RateLimiter>& limiters,
                                         limits::CounterStore& counters, std::int64_t now_ms) {
  std::optional<limits::RateResult> shown;
  for (const RateLimiter& l : limiters) {
    auto r = co_await counters.peek_rate(l.key, l.limit, l.period_ms, l.limit, now_ms);
    if (!shown || r.remaining < shown->remaining) shown = r;
  }
  if (shown) add_rate_headers(a, *shown);
}

std::string quota_message(const char* who, const char* what, std::int64_t limit) {
  return std::string("This ") + who + "'s " + what + " quota (" + std::to_string(limit) +
         ") is used up; it resets at the end of the UTC period.";
}

}  // namespace

asio::awaitable<Admission> admit(const store::SnapshotKey& key, limits::CounterStore& counters,
                                 const AdmitOptions& opts, std::int64_t now_ms) {
  // The in-process store answers at once: called directly, not through a coroutine per call.
  limits::ImmediateCounterStore* const at_once = counters.immediate();
  Admission a;
  a.tenant = key.tenant_name;
  a.limits = key.limits;
  a.key_limits = key.key_limits;
  a.alerts = opts.alerts;
  if (!key.key_id.empty()) {
    a.key_id = key.key_id;
    a.key_scope = counter_scope(key.tenant_name, key.key_id);
  }
  std::vector<Scope> scopes{{&a.tenant, &a.limits, "tenant", {}}};
  if (!a.key_scope.empty()) scopes.push_back({&a.key_scope, &a.key_limits, "key", a.key_id});
  const std::vector<RateLimiter> limiters = rate_limiters(scopes);

  // Quotas: checked here, charged at settle (tokens) or now (requests).
  const QuotaPeriods& periods = quota_periods(now_ms);
  // Copies (short enough to need no allocation): the cache may move to the next day while this
  // coroutine waits on the counters.
  const std::string day = periods.day;
  const std::string month = periods.month;
  const std::int64_t day_end = periods.day_end_ms, month_end = periods.month_end_ms;
  struct Quota {
    std::int64_t store::TenantLimits::*limit;
    const std::string* period;
    const char* counted;
    std::int64_t ends_ms;
    const char* what;
  };
  const std::array<Quota, 3> quotas{{
      {&store::TenantLimits::daily_requests, &day, "requests", day_end, "daily request"},
      {&store::TenantLimits::daily_tokens, &day, "tokens", day_end, "daily token"},
      {&store::TenantLimits::monthly_tokens, &month, "tokens", month_end, "monthly token"},
  }};
  for (const Scope& s : scopes)
    for (const Quota& q : quotas) {
      const std::int64_t limit = s.limits->*q.limit;
      if (limit <= 0) continue;
      const limits::UsageKey key(*s.name, *q.period, q.counted);
      std::int64_t used = 0;
      if (at_once)
        used = at_once->read_counter_now(key, now_ms);
      else
        used = co_await counters.read_counter(key, now_ms);
      if (used >= limit) {
        a.refused = ErrorCode::kTenantQuotaExceeded;
        a.retry_after_s = static_cast<int>(seconds_up(q.ends_ms - now_ms));
        a.message = quota_message(s.who, q.what, limit);
        co_await add_peeked_headers(a, limiters, counters, now_ms);
        co_return a;
      }
    }

  // Concurrency: the tenant's lease, then the key's; a refusal by the key's gives the tenant's
  // back at once.
  for (const Scope& s : scopes) {
    if (s.limits->concurrency <= 0) continue;
    if (!a.lease) {
      a.lease =
          std::make_shared<Admission::LeaseKeeper>(co_await asio::this_coro::executor, counters);
      a.lease->id = lease_id();
      a.lease->ttl_ms = opts.lease_ttl_ms;
    }
    std::string lkey = limits::lease_key(*s.name);
    limits::LeaseResult r;
    if (at_once)
      r = at_once->acquire_lease_now(lkey, a.lease->id, s.limits->concurrency, a.lease->ttl_ms,
                                     now_ms);
    else
      r = co_await counters.acquire_lease(lkey, a.lease->id, s.limits->concurrency, a.lease->ttl_ms,
                                          now_ms);
    if (!r.acquired) {
      a.refused = ErrorCode::kTenantConcurrencyLimited;
      a.retry_after_s = 1;
      a.message = std::string("This ") + s.who + " already has " +
                  std::to_string(s.limits->concurrency) + " requests in flight, its limit.";
      co_await release_leases(std::move(a.lease));
      co_await add_peeked_headers(a, limiters, counters, now_ms);
      co_return a;
    }
    a.lease->keys.push_back(std::move(lkey));
  }

  // Rates, last: a request refused by a quota or the concurrency limit must not spend a rate.
  // Every limiter after the first is peeked before any is consumed, so a request that a later
  // one refuses spends no earlier one's budget either: a key hammering its own limit must not
  // drain its tenant's rate for the tenant's other keys. One limiter costs no extra call.
  std::optional<limits::RateResult> refusal;
  const RateLimiter* refused_by = nullptr;
  for (std::size_t i = 1; i < limiters.size() && !refusal; ++i) {
    const RateLimiter& l = limiters[i];
    limits::RateResult r;
    if (at_once)
      r = at_once->peek_rate_now(l.key, l.limit, l.period_ms, l.limit, now_ms);
    else
      r = co_await counters.peek_rate(l.key, l.limit, l.period_ms, l.limit, now_ms);
    if (!r.allowed) {
      refusal = r;
      refused_by = &l;
    }
  }
  std::optional<limits::RateResult> shown;
  for (std::size_t i = 0; i < limiters.size() && !refusal; ++i) {
    const RateLimiter& l = limiters[i];
    limits::RateResult r;
    if (at_once)
      r = at_once->rate_now(l.key, l.limit, l.period_ms, l.limit, now_ms);
    else
      r = co_await counters.rate(l.key, l.limit, l.period_ms, l.limit, now_ms);
    // Another request may have taken the last one between the peek and here.
    if (!r.allowed) {
      refusal = r;
      refused_by = &l;
    }
    if (!shown || r.remaining < shown->remaining) shown = r;
  }
  if (refusal) {
    // Nothing remains under the refusing limiter: it is the one the headers describe.
    add_rate_headers(a, *refusal);
    a.refused = ErrorCode::kTenantRateLimited;
    a.retry_after_s = static_cast<int>(seconds_up(refusal->retry_after_ms));
    a.message = std::string("Rate limit reached for this ") + refused_by->who + ": " +
                std::to_string(refused_by->limit) +
                (refused_by->period_ms == 1000 ? " requests per second." : " requests per minute.");
    if (a.lease) co_await release_leases(std::move(a.lease));
    co_return a;
  }
  if (shown) add_rate_headers(a, *shown);

  // Every admitted request counts against the daily request quotas, answered or not. Usage is
  // counted in every scope, limited or not, so `tenant show` and `key show` have figures for
  // everyone and a quota set later counts the day's requests already made. The count is also
  // the quota's atomic check: requests admitted at the same moment (on any node) may all have
  // read the last free slot above, and only those whose own count stays within the limit keep
  // it; the others take their counts back and are refused.
  std::array<std::int64_t, 2> counted{};  // per scope, for the alerts
  for (std::size_t i = 0; i < scopes.size(); ++i) {
    const Scope& s = scopes[i];
    const limits::UsageKey key(*s.name, day, "requests");
    std::int64_t used = 0;
    if (at_once)
      used = at_once->add_counter_now(key, 1, day_end + 86'400'000, now_ms);
    else
      used = co_await counters.add_counter(key, 1, day_end + 86'400'000, now_ms);
    counted.at(i) = used;
    const std::int64_t limit = s.limits->daily_requests;
    if (limit <= 0 || used <= limit) continue;
    for (std::size_t j = 0; j <= i; ++j)
      co_await counters.add_counter(limits::usage_key(*scopes[j].name, day, "requests"), -1,
                                    day_end + 86'400'000, now_ms);
    a.refused = ErrorCode::kTenantQuotaExceeded;
    a.retry_after_s = static_cast<int>(seconds_up(day_end - now_ms));
    a.message = quota_message(s.who, "daily request", limit);
    if (a.lease) co_await release_leases(std::move(a.lease));
    co_return a;
  }
  // Only now: a count that a later scope's refusal took back crossed nothing.
  if (a.alerts)
    for (std::size_t i = 0; i < scopes.size(); ++i)
      a.alerts->on_count(a.tenant, scopes[i].key_id, "daily_requests", counted.at(i) - 1,
                         counted.at(i), scopes[i].limits->daily_requests,
                         quota_periods(now_ms).day_name);

  if (a.lease) keep_lease(a.lease);
  co_return a;
}

asio::awaitable<void> Admission::settle(limits::CounterStore& counters, std::int64_t tokens,
                                        std::int64_t now_ms) {
  limits::ImmediateCounterStore* const at_once = counters.immediate();
  if (lease) {
    if (at_once)
      release_leases_now(std::exchange(lease, nullptr), *at_once);
    else
      co_await release_leases(std::move(lease));
  }
  if (tokens <= 0 || refused) co_return;
  // Kept a day past the period, so `tenant show` can still read a period that just ended.
  // Copies, as in admit: the day may turn while this waits on the counters.
  const QuotaPeriods periods = quota_periods(now_ms);
  const std::string& day = periods.day_name;
  const std::string& month = periods.month_name;
  const std::string& day_key = periods.day;
  const std::string& month_key = periods.month;
  struct Charged {
    const std::string* scope;
    std::string_view key_id;
    const store::TenantLimits* limits;
  };
  const std::array<Charged, 2> scopes{{{&tenant, {}, &limits}, {&key_scope, key_id, &key_limits}}};
  for (const Charged& s : scopes) {
    if (s.scope->empty()) continue;
    const limits::UsageKey daily_key(*s.scope, day_key, "tokens");
    const limits::UsageKey monthly_key(*s.scope, month_key, "tokens");
    const std::int64_t daily_expiry = periods.day_end_ms + 86'400'000;
    const std::int64_t monthly_expiry = periods.month_end_ms + 86'400'000;
    std::int64_t daily = 0;
    std::int64_t monthly = 0;
    if (at_once) {
      daily = at_once->add_counter_now(daily_key, tokens, daily_expiry, now_ms);
      monthly = at_once->add_counter_now(monthly_key, tokens, monthly_expiry, now_ms);
    } else {
      daily = co_await counters.add_counter(daily_key, tokens, daily_expiry, now_ms);
      monthly = co_await counters.add_counter(monthly_key, tokens, monthly_expiry, now_ms);
    }
    if (!alerts) continue;
    alerts->on_count(tenant, s.key_id, "daily_tokens", daily - tokens, daily,
                     s.limits->daily_tokens, day);
    alerts->on_count(tenant, s.key_id, "monthly_tokens", monthly - tokens, monthly,
                     s.limits->monthly_tokens, month);
  }
}

Admission::~Admission() {
  // A request that ended without settle (an exception) must not pin a concurrency slot: the
  // keeper stops, and the leases expire after their TTL.
  if (lease) {
    lease->done = true;
    lease->timer.cancel();
  }
}

}  // namespace relay
